//! The logging sensor emits one `tracing` event per sampled callback, at
//! its level, and none with sampling off.

use hotmetrics_sensors::{LoggingSensor, Sensor, TopicPartition};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::{Event, Level, Metadata, Subscriber, span};

/// Counts the events it is given and keeps the last one's level.
#[derive(Default)]
struct Count {
    events: AtomicU64,
    levels: Mutex<Vec<Level>>,
}

impl Subscriber for &'static Count {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &Event<'_>) {
        assert_eq!(event.metadata().target(), "hotmetrics_sensors");
        self.events.fetch_add(1, Ordering::Relaxed);
        self.levels.lock().unwrap().push(*event.metadata().level());
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

fn drive(sensor: &LoggingSensor, n: usize) {
    let tp = TopicPartition::new("t", 0);
    for i in 0..n {
        sensor.on_message_in(tp, i as i64);
    }
}

#[test]
fn samples_one_in_n_at_its_level() {
    let count: &'static Count = Box::leak(Box::default());
    tracing::subscriber::with_default(count, || {
        drive(&LoggingSensor::new(Level::WARN).one_in(10), 100);
        assert_eq!(count.events.load(Ordering::Relaxed), 10);
        drive(&LoggingSensor::new(Level::INFO).one_in(0), 100);
        assert_eq!(count.events.load(Ordering::Relaxed), 10, "off logs nothing");
        let every = LoggingSensor::new(Level::INFO);
        let s = every.on_send_initiated("out", 1, 2);
        every.on_send_completed("out", s);
        every.on_send_error("out", &"refused", s);
        assert_eq!(count.events.load(Ordering::Relaxed), 13);
    });
    let levels = count.levels.lock().unwrap();
    assert!(levels[..10].iter().all(|l| *l == Level::WARN));
    assert!(levels[10..].iter().all(|l| *l == Level::INFO));
}
