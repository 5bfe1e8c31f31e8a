//! The logging sensor emits one `tracing` event per sampled callback, at
//! its level, and none with sampling off.

use hotmetrics_sensors::{LoggingSensor, Sensor, StreamTask, TopicPartition};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::{Event, Level, Metadata, Subscriber, span};

/// Counts the events it is given and keeps their levels and messages.
#[derive(Default)]
struct Count {
    events: AtomicU64,
    levels: Mutex<Vec<Level>>,
    messages: Mutex<Vec<String>>,
}

/// Keeps an event's `message` field.
struct Message<'a>(&'a mut String);

impl tracing::field::Visit for Message<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        }
    }
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
        let mut message = String::new();
        event.record(&mut Message(&mut message));
        self.messages.lock().unwrap().push(message);
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

#[test]
fn each_sensor_samples_on_its_own_and_errors_always_log() {
    let count: &'static Count = Box::leak(Box::default());
    tracing::subscriber::with_default(count, || {
        let warn = LoggingSensor::new(Level::WARN).one_in(2);
        let info = LoggingSensor::new(Level::INFO).one_in(2);
        let tp = TopicPartition::new("t", 0);
        // In turn: one shared tick would give every even call to `warn`.
        for i in 0..10 {
            warn.on_message_in(tp, i);
            info.on_message_in(tp, i);
        }
        let levels = count.levels.lock().unwrap().clone();
        let n = |l| levels.iter().filter(|&&x| x == l).count();
        assert_eq!((n(Level::WARN), n(Level::INFO)), (5, 5), "{levels:?}");
        // A rare kind between frequent ones still gets its first logged.
        let rare = LoggingSensor::new(Level::ERROR).one_in(3);
        for i in 0..9 {
            rare.on_message_in(tp, i);
            if i == 4 {
                rare.on_rebalance_start();
            }
        }
        let errors = |c: &Count| {
            c.levels
                .lock()
                .unwrap()
                .iter()
                .filter(|&&x| x == Level::ERROR)
                .count()
        };
        assert_eq!(errors(count), 3 + 1, "3 of 9 messages and the rebalance");
        // Errors are not sampled.
        let sampled = LoggingSensor::new(Level::DEBUG).one_in(1_000);
        let before = count.events.load(Ordering::Relaxed);
        for _ in 0..5 {
            sampled.on_send_error("out", &"refused", hotmetrics_sensors::Started::UNSET);
        }
        sampled.on_assignment_error(&"no leader", hotmetrics_sensors::Started::UNSET);
        assert_eq!(count.events.load(Ordering::Relaxed) - before, 6);
    });
}

#[test]
fn stream_events_name_their_stream_and_task() {
    let count: &'static Count = Box::leak(Box::default());
    tracing::subscriber::with_default(count, || {
        let sensor = LoggingSensor::new(Level::INFO);
        let tp = TopicPartition::new("orders", 2);
        let stream = StreamTask::new("orders", "orders.totals");
        let e = sensor.on_stream_event_in(tp, 7, stream);
        sensor.on_stream_event_out(tp, 7, stream, e);
    });
    let messages = count.messages.lock().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0], "orders task orders.totals orders:2 offset 7");
    assert!(
        messages[1].starts_with("orders task orders.totals orders:2 offset 7 after "),
        "{}",
        messages[1]
    );
}
