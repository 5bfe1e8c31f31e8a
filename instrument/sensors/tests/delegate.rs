//! Sensors added and removed while events flow: the ones present all along
//! see every event; one that comes and goes sees no more than were sent;
//! nothing is lost or doubled.

use hotmetrics_sensors::{Monitor, Sensor, SensorDelegate, TopicPartition};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Default)]
struct Counting {
    messages: AtomicU64,
    sends: AtomicU64,
}

impl Sensor for Counting {
    fn on_message_in(&self, _: TopicPartition<'_>, _: i64) {
        self.messages.fetch_add(1, Ordering::Relaxed);
    }
    fn on_send_completed(&self, _: &str, _: hotmetrics_sensors::Started) {
        self.sends.fetch_add(1, Ordering::Relaxed);
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
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let delegate = &delegate;
                s.spawn(move || {
                    let tp = TopicPartition::new("in", t as i32);
                    for i in 0..EVENTS {
                        delegate.on_message_in(tp, i as i64);
                        let send = delegate.on_send_initiated("out", 1, 1);
                        delegate.on_send_completed("out", send);
                    }
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
                }
                if swaps == 50 {
                    let l: Arc<dyn Sensor> = late.clone();
                    assert!(delegate.remove(&l));
                }
            }
        });
        for w in workers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    let total = THREADS * EVENTS;
    assert_eq!(delegate.len(), 2, "only the steady sensors are left");
    assert_eq!(steady.messages.load(Ordering::Relaxed), total);
    assert_eq!(steady.sends.load(Ordering::Relaxed), total);
    let snap = monitor.snapshot();
    assert_eq!(snap.messages_received_total, total);
    assert_eq!(snap.messages_sent, total);
    assert_eq!(
        snap.sensor_errors.unpaired, 0,
        "every send got its monitor's token"
    );
    for c in &comers {
        assert!(c.messages.load(Ordering::Relaxed) <= total);
        assert!(c.sends.load(Ordering::Relaxed) <= total);
    }
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
