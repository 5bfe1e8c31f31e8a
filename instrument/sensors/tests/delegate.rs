//! Sensors added and removed while events flow: the ones present all along
//! see every event; one that comes and goes sees no more than were sent;
//! nothing is lost or doubled; an end goes only to the sensors that saw
//! its start, so no sensor's level goes below zero.

use hotmetrics_sensors::{
    ManualClock, Monitor, MonitorSnapshot, Sensor, SensorDelegate, Started, StreamTask,
    TopicPartition,
};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

/// Counts what it sees and keeps its levels: message, stream event and
/// send starts up, their ends down; notes a level that went below zero.
#[derive(Default)]
struct Counting {
    messages: AtomicU64,
    sends: AtomicU64,
    active_messages: AtomicI64,
    active_events: AtomicI64,
    active_sends: AtomicI64,
    below_zero: AtomicBool,
    /// When set, the first `is_enabled` waits on it twice (reached, then
    /// released): an add held in the sensor's own code.
    gate: Option<Arc<Barrier>>,
    asked: AtomicBool,
}

impl Counting {
    fn down(&self, level: &AtomicI64) {
        if level.fetch_sub(1, Ordering::Relaxed) < 1 {
            self.below_zero.store(true, Ordering::Relaxed);
        }
    }

    fn levels(&self) -> [i64; 3] {
        [
            self.active_messages.load(Ordering::Relaxed),
            self.active_events.load(Ordering::Relaxed),
            self.active_sends.load(Ordering::Relaxed),
        ]
    }
}

impl Sensor for Counting {
    fn is_enabled(&self) -> bool {
        if let Some(gate) = &self.gate
            && !self.asked.swap(true, Ordering::Relaxed)
        {
            gate.wait();
            gate.wait();
        }
        true
    }
    fn on_message_in(&self, _: TopicPartition<'_>, _: i64) -> Started {
        self.messages.fetch_add(1, Ordering::Relaxed);
        self.active_messages.fetch_add(1, Ordering::Relaxed);
        Started::UNSET
    }
    fn on_message_out(&self, _: TopicPartition<'_>, _: i64, _: Started) {
        self.down(&self.active_messages);
    }
    fn on_stream_event_in(&self, _: TopicPartition<'_>, _: i64, _: StreamTask<'_>) -> Started {
        self.active_events.fetch_add(1, Ordering::Relaxed);
        Started::UNSET
    }
    fn on_stream_event_out(&self, _: TopicPartition<'_>, _: i64, _: StreamTask<'_>, _: Started) {
        self.down(&self.active_events);
    }
    fn on_send_initiated(&self, _: &str, _: usize, _: usize) -> Started {
        self.active_sends.fetch_add(1, Ordering::Relaxed);
        Started::UNSET
    }
    fn on_send_completed(&self, _: &str, _: Started) {
        self.sends.fetch_add(1, Ordering::Relaxed);
        self.down(&self.active_sends);
    }
}

#[test]
fn add_and_remove_race_events() {
    const THREADS: u64 = 4;
    const EVENTS: u64 = 20_000;
    let delegate = SensorDelegate::new();
    let monitor = Monitor::new();
    let steady = Arc::new(Counting::default());
    delegate.add(Arc::new(monitor.clone()));
    delegate.add(steady.clone());
    let comers: Vec<Arc<Counting>> = (0..8).map(|_| Arc::default()).collect();
    // Added once and removed once while events flow.
    let late = Arc::new(Counting::default());
    // Added while events flow, and kept.
    let stayer = Arc::new(Counting::default());
    let done = AtomicBool::new(false);
    // Workers go on past EVENTS until the swapper is through its schedule,
    // so that it can wait for rounds after an add.
    let scheduled = AtomicBool::new(false);
    // Rounds done, all threads (SeqCst, with the list swaps: a round
    // counted after the swapper read it started after its add).
    let rounds = AtomicU64::new(0);
    let wait_for_rounds = || {
        let from = rounds.load(Ordering::SeqCst);
        // Each thread may have one round in flight across the add.
        while rounds.load(Ordering::SeqCst) < from + 2 * THREADS {
            std::thread::yield_now();
        }
    };
    let total = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (delegate, scheduled, rounds) = (&delegate, &scheduled, &rounds);
                s.spawn(move || {
                    let tp = TopicPartition::new("in", t as i32);
                    let stream = StreamTask::new("in", "agent");
                    let mut i = 0u64;
                    while i < EVENTS || !scheduled.load(Ordering::Relaxed) {
                        let message = delegate.on_message_in(tp, i as i64);
                        let event = delegate.on_stream_event_in(tp, i as i64, stream);
                        let send = delegate.on_send_initiated("out", 1, 1);
                        delegate.on_send_completed("out", send);
                        delegate.on_stream_event_out(tp, i as i64, stream, event);
                        delegate.on_message_out(tp, i as i64, message);
                        i += 1;
                        rounds.fetch_add(1, Ordering::SeqCst);
                    }
                    i
                })
            })
            .collect();
        s.spawn(|| {
            let mut swaps = 0u64;
            while !done.load(Ordering::Relaxed) || swaps < 100 {
                for c in &comers {
                    delegate.add(c.clone());
                }
                for c in &comers {
                    let c: Arc<dyn Sensor> = c.clone();
                    assert!(delegate.remove(&c));
                }
                swaps += 1;
                if swaps == 10 {
                    delegate.add(late.clone());
                    wait_for_rounds();
                }
                if swaps == 30 {
                    delegate.add(stayer.clone());
                    wait_for_rounds();
                }
                if swaps == 50 {
                    let l: Arc<dyn Sensor> = late.clone();
                    assert!(delegate.remove(&l));
                }
                if swaps == 100 {
                    scheduled.store(true, Ordering::Relaxed);
                }
            }
        });
        let total = workers.into_iter().map(|w| w.join().unwrap()).sum::<u64>();
        done.store(true, Ordering::Relaxed);
        total
    });
    assert!(total >= THREADS * EVENTS);
    assert_eq!(delegate.len(), 3, "only the steady sensors are left");
    assert_eq!(steady.messages.load(Ordering::Relaxed), total);
    assert_eq!(steady.sends.load(Ordering::Relaxed), total);
    assert_eq!(steady.levels(), [0; 3]);
    let snap = monitor.snapshot();
    assert_eq!(snap.messages_received_total, total);
    assert_eq!(snap.messages_sent, total);
    assert_eq!((snap.messages_active, snap.events_active), (0, 0));
    assert_eq!(
        snap.sensor_errors.unpaired, 0,
        "every send got its monitor's token"
    );
    for c in comers.iter().chain([&late, &stayer]) {
        assert!(c.messages.load(Ordering::Relaxed) <= total);
        assert!(c.sends.load(Ordering::Relaxed) <= total);
        assert!(
            !c.below_zero.load(Ordering::Relaxed),
            "an end it never saw start: {:?}",
            c.levels()
        );
        // Removed ones keep the starts whose ends came after the remove.
        assert!(c.levels().iter().all(|&l| l >= 0), "{:?}", c.levels());
    }
    // Added mid-flight and still there: every end it got had its start,
    // every start it saw has ended.
    assert_eq!(stayer.levels(), [0; 3], "levels of the sensor added late");
    assert!(
        stayer.messages.load(Ordering::Relaxed) > 0,
        "rounds ran after its add"
    );
    assert!(late.messages.load(Ordering::Relaxed) > 0);
    // Each thread's events reach it from one list on: only the round cut
    // by the add (a send without its message) and the one cut by the
    // remove (a message without its send) can differ, per thread.
    let (m, s) = (
        late.messages.load(Ordering::Relaxed),
        late.sends.load(Ordering::Relaxed),
    );
    assert!(m.abs_diff(s) <= THREADS, "{m} messages, {s} sends");
    let steady: Arc<dyn Sensor> = steady;
    assert!(delegate.remove(&steady));
    assert!(!delegate.remove(&steady), "removed already");
}

/// Starts of every paired kind, in flight.
struct InFlight {
    message: Started,
    event: Started,
    commit: Started,
    send: Started,
    error_send: Started,
    assignment: Started,
    rebalance: Started,
    request: Started,
}

const TP: TopicPartition<'static> = TopicPartition::new("orders", 0);
const STREAM: StreamTask<'static> = StreamTask::new("orders", "orders.totals");

fn starts(s: &dyn Sensor) -> InFlight {
    InFlight {
        message: s.on_message_in(TP, 1),
        event: s.on_stream_event_in(TP, 1, STREAM),
        commit: s.on_commit_initiated(),
        send: s.on_send_initiated("out", 1, 1),
        error_send: s.on_send_initiated("out", 1, 1),
        assignment: s.on_assignment_start(),
        rebalance: s.on_rebalance_start(),
        request: s.on_web_request_start("GET", "/"),
    }
}

/// The ends of `f`, the rebalance's return and end apart (`between` runs
/// between them).
fn ends(s: &dyn Sensor, f: InFlight, between: impl FnOnce()) {
    s.on_rebalance_return(f.rebalance);
    between();
    s.on_rebalance_end(f.rebalance);
    s.on_send_completed("out", f.send);
    s.on_send_error("out", &"refused", f.error_send);
    s.on_commit_completed(f.commit);
    s.on_assignment_completed(f.assignment);
    s.on_web_request_end("GET", "/", 200, f.request);
    s.on_stream_event_out(TP, 1, STREAM, f.event);
    s.on_message_out(TP, 1, f.message);
}

/// What a monitor that saw `rounds` whole rounds of `starts` + `ends`
/// and no other event holds.
#[track_caller]
fn saw_rounds(s: &MonitorSnapshot, rounds: usize) {
    let n = rounds as u64;
    assert_eq!((s.messages_active, s.events_active), (0, 0), "levels");
    assert_eq!(s.rebalances_recovering, 0);
    assert_eq!(s.messages_received_total, n);
    assert_eq!(s.events_total, n);
    assert_eq!(s.rebalances, rounds as i64);
    assert_eq!(s.events_runtime.len(), rounds);
    assert_eq!(s.commit_latency.len(), rounds);
    assert_eq!(s.send_latency.len(), rounds);
    assert_eq!(s.send_errors, n);
    assert_eq!(s.assignment_latency.len(), rounds);
    assert_eq!(s.rebalance_return_latency.len(), rounds);
    assert_eq!(s.rebalance_end_latency.len(), rounds);
    assert_eq!(s.http_response_latency.len(), rounds);
    assert_eq!(
        s.sensor_errors.unpaired + s.sensor_errors.invalid_latency,
        0
    );
}

fn monitor(manual: &ManualClock) -> Arc<Monitor> {
    Arc::new(
        Monitor::builder()
            .clock(manual.clock())
            .build(&hotmetrics_core::Registry::new())
            .unwrap(),
    )
}

#[test]
fn a_sensor_added_mid_flight_gets_no_end_it_did_not_see_start() {
    let manual = ManualClock::new();
    let delegate = SensorDelegate::new();
    let first = monitor(&manual);
    delegate.add(first.clone());
    let in_flight = starts(&delegate);
    manual.advance(Duration::from_millis(3));
    let added = monitor(&manual);
    delegate.add(added.clone());
    // Added between the rebalance's return and its end: gets neither.
    let at_return = monitor(&manual);
    ends(&delegate, in_flight, || delegate.add(at_return.clone()));
    saw_rounds(&first.snapshot(), 1);
    for late in [&added, &at_return] {
        let s = late.snapshot();
        saw_rounds(&s, 0);
        assert_eq!(s.send_errors, 0, "an error of a send it never saw");
    }
    assert_eq!(first.snapshot().latency.send.max, Some(0.003));

    // The next round goes to all three, start and end.
    let in_flight = starts(&delegate);
    ends(&delegate, in_flight, || {});
    saw_rounds(&first.snapshot(), 2);
    saw_rounds(&added.snapshot(), 1);
    saw_rounds(&at_return.snapshot(), 1);
}

#[test]
fn an_unset_token_still_goes_to_every_sensor() {
    let delegate = SensorDelegate::new();
    let first = Arc::new(Monitor::new());
    delegate.add(first.clone());
    let event = delegate.on_stream_event_in(TP, 1, STREAM);
    let added = Arc::new(Monitor::new());
    delegate.add(added.clone());
    delegate.on_stream_event_out(TP, 1, STREAM, event);
    // A manual ack (no token): every sensor gets it, as Faust's delegate.
    delegate.on_stream_event_out(TP, 1, STREAM, Started::UNSET);
    assert_eq!(first.snapshot().events_active, -1);
    assert_eq!(first.snapshot().sensor_errors.unpaired, 1);
    assert_eq!(added.snapshot().events_active, -1);
    assert_eq!(added.snapshot().sensor_errors.unpaired, 1);
}

#[test]
fn a_removed_sensor_gets_no_more_events() {
    let manual = ManualClock::new();
    let delegate = SensorDelegate::new();
    let (kept, removed) = (monitor(&manual), monitor(&manual));
    delegate.add(kept.clone());
    delegate.add(removed.clone());
    let in_flight = starts(&delegate);
    let r: Arc<dyn Sensor> = removed.clone();
    assert!(delegate.remove(&r));
    ends(&delegate, in_flight, || {});
    delegate.on_table_get("totals");
    saw_rounds(&kept.snapshot(), 1);
    let s = removed.snapshot();
    assert_eq!((s.messages_active, s.events_active), (1, 1));
    assert!(s.send_latency.is_empty() && s.tables.is_empty());
}

#[test]
fn a_sensor_added_again_is_a_new_sensor_and_keeps_what_was_in_flight() {
    let manual = ManualClock::new();
    let delegate = SensorDelegate::new();
    let (kept, again) = (monitor(&manual), monitor(&manual));
    delegate.add(kept.clone());
    delegate.add(again.clone());
    let r: Arc<dyn Sensor> = again.clone();
    // Started while it is held, ended after it was removed and added
    // again: the end no longer reaches it (the new entry did not see the
    // start), so its level keeps the event in flight at the remove.
    let event = delegate.on_stream_event_in(TP, 1, STREAM);
    assert!(delegate.remove(&r));
    delegate.add(again.clone());
    delegate.on_stream_event_out(TP, 1, STREAM, event);
    assert_eq!(again.snapshot().events_active, 1, "stays high for good");
    assert_eq!(kept.snapshot().events_active, 0);
    // A round started after the add pairs as usual.
    let in_flight = starts(&delegate);
    ends(&delegate, in_flight, || {});
    assert_eq!(again.snapshot().events_active, 1);
    assert_eq!(again.snapshot().events_total, 2);
}

#[test]
fn an_add_held_in_the_sensors_own_code_draws_no_generation_early() {
    // The old race: inner.add(Y) drew its generation, then ran Y's
    // is_enabled; outer.add(Z) published a later one; a start through
    // the outer delegate read the outer list (Z's generation) and the
    // inner one without Y; Y then came in under the start's generation
    // and got its end: a level below zero.
    let gate = Arc::new(Barrier::new(2));
    let outer = SensorDelegate::new();
    let inner = Arc::new(SensorDelegate::new());
    outer.add(inner.clone());
    inner.add(Arc::new(Counting::default()));
    let y = Arc::new(Counting {
        gate: Some(gate.clone()),
        ..Counting::default()
    });
    let z = Arc::new(Counting::default());
    std::thread::scope(|s| {
        let adding = s.spawn(|| inner.add(y.clone()));
        gate.wait(); // Y's is_enabled is running
        outer.add(z.clone());
        let event = outer.on_stream_event_in(TP, 1, STREAM);
        gate.wait(); // Y's add goes on
        adding.join().unwrap();
        outer.on_stream_event_out(TP, 1, STREAM, event);
    });
    assert!(!y.below_zero.load(Ordering::Relaxed), "{:?}", y.levels());
    assert_eq!(y.levels(), [0; 3]);
    assert_eq!(z.levels(), [0; 3], "Z saw both");
    // Later rounds reach both.
    let event = outer.on_stream_event_in(TP, 2, STREAM);
    outer.on_stream_event_out(TP, 2, STREAM, event);
    assert_eq!(y.levels(), [0; 3]);
}

#[test]
fn adds_on_nested_delegates_race_events() {
    const THREADS: usize = 2;
    const EVENTS: usize = 20_000;
    let outer = SensorDelegate::new();
    let inner = Arc::new(SensorDelegate::new());
    let steady = Arc::new(Counting::default());
    outer.add(inner.clone());
    inner.add(steady.clone());
    let added: Vec<Arc<Counting>> = (0..200).map(|_| Arc::default()).collect();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let outer = &outer;
                s.spawn(move || {
                    let tp = TopicPartition::new("in", t as i32);
                    for i in 0..EVENTS as i64 {
                        let message = outer.on_message_in(tp, i);
                        let event = outer.on_stream_event_in(tp, i, STREAM);
                        let send = outer.on_send_initiated("out", 1, 1);
                        outer.on_send_completed("out", send);
                        outer.on_stream_event_out(tp, i, STREAM, event);
                        outer.on_message_out(tp, i, message);
                    }
                })
            })
            .collect();
        // Two adders, one per delegate, at once; half the sensors are
        // removed again.
        let (to_outer, to_inner) = added.split_at(added.len() / 2);
        for (delegate, sensors) in [(&outer, to_outer), (&*inner, to_inner)] {
            let done = &done;
            s.spawn(move || {
                for (n, c) in sensors.iter().enumerate() {
                    delegate.add(c.clone());
                    if n % 2 == 1 {
                        let c: Arc<dyn Sensor> = c.clone();
                        assert!(delegate.remove(&c));
                    }
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::yield_now();
                }
            });
        }
        for w in workers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    assert_eq!(steady.levels(), [0; 3]);
    assert_eq!(
        steady.messages.load(Ordering::Relaxed),
        (THREADS * EVENTS) as u64
    );
    for (n, c) in added.iter().enumerate() {
        assert!(
            !c.below_zero.load(Ordering::Relaxed),
            "{n}: {:?}",
            c.levels()
        );
        // Kept ones saw every end of the starts they saw, but for the
        // documented leak upward (an add between a start's two loads).
        assert!(c.levels().iter().all(|&l| l >= 0), "{n}: {:?}", c.levels());
    }
}

/// A sensor that borrows from its scope: sensors need not be `'static`.
struct Borrowing<'a>(&'a AtomicU64);

impl Sensor for Borrowing<'_> {
    fn on_table_get(&self, _: &str) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn a_sensor_may_borrow_its_scope() {
    let gets = AtomicU64::new(0);
    let sensor = Borrowing(&gets);
    let sensors: [&dyn Sensor; 2] = [&sensor, &sensor];
    for s in sensors {
        s.on_table_get("t");
    }
    assert_eq!(gets.load(Ordering::Relaxed), 2);
}

#[test]
fn delegates_nest() {
    let manual = ManualClock::new();
    let outer = SensorDelegate::new();
    let inner = Arc::new(SensorDelegate::new());
    let (m0, m1) = (monitor(&manual), monitor(&manual));
    outer.add(m0.clone());
    outer.add(inner.clone());
    inner.add(m1.clone());
    // The inner list changed last: its generation is newer than the
    // outer one's, and the token must carry it.
    let m2 = monitor(&manual);
    inner.add(m2.clone());
    let in_flight = starts(&outer);
    // Added to either while the round is in flight: they see none of it.
    let (m3, m4) = (monitor(&manual), monitor(&manual));
    outer.add(m3.clone());
    inner.add(m4.clone());
    ends(&outer, in_flight, || {});
    for m in [&m0, &m1, &m2] {
        saw_rounds(&m.snapshot(), 1);
    }
    for m in [&m3, &m4] {
        saw_rounds(&m.snapshot(), 0);
    }
    // The outer delegate's token, ended on the inner one directly.
    let event = outer.on_stream_event_in(TP, 1, STREAM);
    let m5 = monitor(&manual);
    inner.add(m5.clone());
    inner.on_stream_event_out(TP, 1, STREAM, event);
    assert_eq!(m4.snapshot().events_active, 0);
    assert_eq!(m5.snapshot().events_active, 0);
}
