//! The hot path allocates nothing once a thread has made its first update
//! (and, for labeled lookups, once the series exists): counter, gauge,
//! histogram, timer guard, `Family::with` cache hits, owned handles, timers
//! and in-progress guards from a family's cache, and the broker guards.

use hotmetrics::broker::{Broker, BrokerMetrics};
use hotmetrics::{Buckets, Registry};
use hotmetrics_tests::{CountingAlloc, allocations};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn updates_allocate_nothing_after_the_first_touch() {
    let r = Registry::new();
    let counter = r.counter(("c_total", "c")).unwrap();
    let gauge = r.gauge(("g", "g")).unwrap();
    let histogram = r.histogram(("h_seconds", "h"), Buckets::default()).unwrap();
    let family = r
        .counter_vec(("l_total", "l"), &["handler", "status"])
        .unwrap();
    let latency = r
        .histogram_vec(("lat_seconds", "l"), Buckets::default(), &["route"])
        .unwrap();
    let in_flight = r.gauge_vec(("in_flight", "i"), &["route"]).unwrap();
    let sets = [
        ["orders", "acked"],
        ["orders", "nacked"],
        ["a-rather-long-handler-name-0001", "x"],
    ];
    let broker = BrokerMetrics::new(&r, Broker::Kafka).unwrap();
    let handler = broker.handler("orders").unwrap();
    let destination = broker.destination("payments").unwrap();
    // In a fresh thread, so its first touch (the arena lease, the lookup
    // cache) is part of the warm-up below and not of the counted loop.
    std::thread::spawn(move || {
        let round = |i: u64| {
            counter.inc();
            gauge.inc();
            gauge.dec();
            histogram.observe(i as f64 / 100.0);
            drop(histogram.start_timer());
            for set in &sets {
                family.with(set, |c| c.inc()).unwrap();
                family.handle(set).unwrap().inc();
            }
            for route in ["/orders", "/users/profile/settings"] {
                let _busy = in_flight.track_in_progress(&[route]).unwrap();
                let _timer = latency.start_timer(&[route]).unwrap();
            }
            handler.receive(64).ack();
            destination.publish().success();
        };
        round(0);
        let before = allocations();
        for i in 1..10_000 {
            round(i);
        }
        assert_eq!(allocations() - before, 0, "allocations in 9,999 rounds");
        assert_eq!(counter.get(), 10_000);
        assert_eq!(family.handle(&sets[0]).unwrap().get(), 20_000);
        let timed = latency.get_or_create(&["/orders"]).unwrap().snapshot();
        assert_eq!(timed.count, 10_000);
    })
    .join()
    .unwrap();
}
