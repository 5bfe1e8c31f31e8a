//! After warm-up, events allocate nothing: the monitor alone, and a
//! delegate holding the monitor and a logging sensor with sampling off.

use hotmetrics_sensors::{
    LoggingSensor, Monitor, Sensor, SensorDelegate, StreamTask, TopicPartition,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

// The counting allocator of exporters/statsd/tests/allocations.rs, per thread.
struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

fn count() {
    // `try_with`: allocations during thread teardown are not counted.
    let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees hold; counting touches only a
// const-initialised thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded verbatim; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded verbatim; `ptr` came from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// One round of every per-message callback, over 4 partitions, 2 streams,
/// 3 tasks, 2 tables and 2 sent-to topics.
fn round(sensor: &dyn Sensor, i: i64) {
    let tp = TopicPartition::new("orders", (i % 4) as i32);
    let stream = StreamTask::new(
        if i % 2 == 0 { "orders" } else { "orders-dlq" },
        ["count", "audit", "forward"][(i % 3) as usize],
    );
    let table = if i % 3 == 0 { "totals" } else { "counts" };
    let topic = if i % 2 == 0 { "invoices" } else { "audit" };
    let m = sensor.on_message_in(tp, i);
    let e = sensor.on_stream_event_in(tp, i, stream);
    sensor.on_table_get(table);
    sensor.on_table_set(table);
    let s = sensor.on_send_initiated(topic, 8, 64);
    sensor.on_send_completed(topic, s);
    sensor.on_stream_event_out(tp, i, stream, e);
    sensor.on_message_out(tp, i, m);
    sensor.on_partition_end_offset(tp, i + 1);
    sensor.count("checked", 1);
    if i % 100 == 0 {
        let c = sensor.on_commit_initiated();
        sensor.on_tp_commit(&[(tp, i + 1)]);
        sensor.on_commit_completed(c);
        let w = sensor.on_web_request_start("GET", "/");
        sensor.on_web_request_end("GET", "/", 200, w);
    }
}

fn steady_state_allocations(sensor: &dyn Sensor) -> u64 {
    // Warm-up: every key seen, every ring and cache made on this thread.
    for i in 0..1_000 {
        round(sensor, i);
    }
    let before = allocations();
    for i in 1_000..11_000 {
        round(sensor, i);
    }
    allocations() - before
}

#[test]
fn the_monitor_allocates_nothing_per_event() {
    let monitor = Monitor::prometheus(&hotmetrics_core::Registry::new()).unwrap();
    assert_eq!(steady_state_allocations(&monitor), 0);
}

#[test]
fn a_delegate_with_monitor_and_quiet_logging_allocates_nothing() {
    let delegate = SensorDelegate::new();
    delegate.add(Arc::new(
        Monitor::prometheus(&hotmetrics_core::Registry::new()).unwrap(),
    ));
    delegate.add(Arc::new(LoggingSensor::new(tracing::Level::INFO).one_in(0)));
    assert_eq!(steady_state_allocations(&delegate), 0);
}

#[test]
fn events_on_refused_keys_allocate_nothing() {
    // `table_operations` holds 3 series per table and 10,000 series: the
    // tables past the 3,333rd are refused by the family (their `make`
    // fails), and the partitions past `max_keys` by the monitor's map.
    let monitor = Monitor::builder()
        .max_keys(5_000)
        .build(&hotmetrics_core::Registry::new())
        .unwrap();
    let tables: Vec<String> = (0..3_400).map(|t| format!("table{t}")).collect();
    let topics: Vec<String> = (0..5_100).map(|t| format!("topic{t}")).collect();
    let each = |f: &dyn Fn(&str, &str)| {
        for (table, topic) in tables.iter().zip(&topics).chain(
            // The refused ones again and again.
            tables[3_334..]
                .iter()
                .cycle()
                .zip(topics[5_000..].iter().cycle())
                .take(20_000),
        ) {
            f(table, topic);
        }
    };
    let event = |table: &str, topic: &str| {
        monitor.on_table_get(table);
        monitor.on_message_in(TopicPartition::new(topic, 0), 1);
    };
    // Warm-up: every key met once on this thread.
    each(&event);
    for topic in &topics[3_400..] {
        event("table0", topic);
    }
    let before = allocations();
    each(&event);
    assert_eq!(allocations() - before, 0);
    let s = monitor.snapshot();
    assert_eq!(s.tables.len(), 3_333);
    assert_eq!(s.topic_read_offsets.len(), 5_000);
}

#[test]
fn the_allocator_counts() {
    let before = allocations();
    drop(std::hint::black_box(vec![1u8; 64]));
    assert_eq!(allocations() - before, 1, "the counter sees allocations");
}

#[test]
fn the_statsd_monitor_allocates_nothing_per_event() {
    let statsd = hotmetrics_sensors::StatsdMonitor::new(100);
    assert_eq!(steady_state_allocations(&statsd), 0);
    assert!(
        statsd.timings().dropped() > 0,
        "the latency rings filled (no export): drops allocate nothing either"
    );
    // A revoke makes every cache start over; once the revoked partition's
    // gauges are made again, events allocate nothing again.
    statsd.on_partitions_revoked(&[TopicPartition::new("orders", 3)]);
    assert_eq!(steady_state_allocations(&statsd), 0);
}

/// Keys refused (the map full) stay refused without allocating across a
/// revoke that another thread follows by making its key again: the
/// refusals stand, and re-remembering one reuses the thread's buffer.
#[test]
fn refused_keys_allocate_nothing_across_a_revoke() {
    let statsd = hotmetrics_sensors::StatsdMonitor::new(2);
    let tp = |p| TopicPartition::new("orders", p);
    let events = |statsd: &hotmetrics_sensors::StatsdMonitor| {
        for p in 0..4 {
            statsd.on_message_in(tp(p), 1);
        }
    };
    // Warm-up: partitions 0 and 1 made, 2 and 3 refused.
    events(&statsd);
    events(&statsd);
    std::thread::scope(|s| {
        s.spawn(|| {
            statsd.on_partitions_revoked(&[tp(0)]);
            statsd.on_message_in(tp(0), 2);
        });
    });
    let before = allocations();
    events(&statsd);
    events(&statsd);
    assert_eq!(allocations() - before, 0);
    // Room again: 1 is made anew (allocating), 2 and 3 still refused.
    statsd.on_partitions_revoked(&[tp(1)]);
    events(&statsd);
    let before = allocations();
    for _ in 0..3 {
        events(&statsd);
    }
    assert_eq!(allocations() - before, 0);
}
