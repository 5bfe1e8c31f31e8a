//! [`LoggingSensor`]: a `tracing` event per callback, sampled.

use crate::clock::{Clock, Started};
use crate::sensor::{Sensor, StreamTask, TopicPartition};
use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use thread_local::ThreadLocal;
use tracing::Level;

/// A callback: its index among the sampling ticks, and its name.
#[derive(Clone, Copy)]
struct Event(usize, &'static str);

/// Every callback, each with a tick of its own.
mod ev {
    use super::Event;
    pub(super) const MESSAGE_IN: Event = Event(0, "message_in");
    pub(super) const MESSAGE_OUT: Event = Event(1, "message_out");
    pub(super) const STREAM_EVENT_IN: Event = Event(2, "stream_event_in");
    pub(super) const STREAM_EVENT_OUT: Event = Event(3, "stream_event_out");
    pub(super) const TOPIC_BUFFER_FULL: Event = Event(4, "topic_buffer_full");
    pub(super) const TABLE_GET: Event = Event(5, "table_get");
    pub(super) const TABLE_SET: Event = Event(6, "table_set");
    pub(super) const TABLE_DEL: Event = Event(7, "table_del");
    pub(super) const COMMIT_INITIATED: Event = Event(8, "commit_initiated");
    pub(super) const COMMIT_COMPLETED: Event = Event(9, "commit_completed");
    pub(super) const TP_COMMIT: Event = Event(10, "tp_commit");
    pub(super) const PARTITION_END_OFFSET: Event = Event(11, "partition_end_offset");
    pub(super) const SEND_INITIATED: Event = Event(12, "send_initiated");
    pub(super) const SEND_COMPLETED: Event = Event(13, "send_completed");
    pub(super) const SEND_ERROR: Event = Event(14, "send_error");
    pub(super) const ASSIGNMENT_START: Event = Event(15, "assignment_start");
    pub(super) const ASSIGNMENT_COMPLETED: Event = Event(16, "assignment_completed");
    pub(super) const ASSIGNMENT_ERROR: Event = Event(17, "assignment_error");
    pub(super) const REBALANCE_START: Event = Event(18, "rebalance_start");
    pub(super) const PARTITIONS_REVOKED: Event = Event(19, "partitions_revoked");
    pub(super) const REBALANCE_RETURN: Event = Event(20, "rebalance_return");
    pub(super) const REBALANCE_END: Event = Event(21, "rebalance_end");
    pub(super) const WEB_REQUEST_START: Event = Event(22, "web_request_start");
    pub(super) const WEB_REQUEST_END: Event = Event(23, "web_request_end");
    pub(super) const COUNT: Event = Event(24, "count");
    /// How many.
    pub(super) const KINDS: usize = 25;
}

/// One thread's sampling ticks: callbacks of each kind made on it.
type Ticks = [Cell<u64>; ev::KINDS];

/// Emits a `tracing` event (target `hotmetrics_sensors`, field `event` =
/// the callback's name, the rest in the message) for one callback in
/// every [`one_in`](Self::one_in) of each kind on each thread, at a chosen
/// level; end callbacks say the latency. Each callback kind is sampled on
/// its own (per sensor, per thread), so a rare callback is not drowned by
/// a frequent one, and the errors (`send_error`, `assignment_error`) are
/// logged every time unless logging is off. With sampling off
/// (`one_in(0)`) a callback costs one branch, and a
/// [`SensorDelegate`](crate::SensorDelegate) does not call it at all
/// ([`Sensor::is_enabled`] is false), so it can stay in the delegate in
/// production. Clones share their ticks.
///
/// ```
/// use hotmetrics_sensors::{LoggingSensor, Sensor};
/// let sensor = LoggingSensor::new(tracing::Level::DEBUG).one_in(100);
/// sensor.on_table_get("counts"); // the first of each 100 on this thread is logged
/// ```
#[derive(Debug, Clone)]
pub struct LoggingSensor {
    level: Level,
    one_in: u64,
    clock: Clock,
    ticks: Arc<ThreadLocal<Ticks>>,
}

impl LoggingSensor {
    /// Every callback logged at `level`.
    pub fn new(level: Level) -> Self {
        Self {
            level,
            one_in: 1,
            clock: Clock::monotonic(),
            ticks: Arc::new(ThreadLocal::new()),
        }
    }

    /// Logs one callback in `n` of each kind on each thread (the first,
    /// then every `n`-th); `0` logs none (errors neither), `1` (the
    /// default) all.
    pub fn one_in(mut self, n: u64) -> Self {
        self.one_in = n;
        self
    }

    /// The clock of the start tokens it returns (share the delegate's).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Whether this callback is one to log.
    #[inline]
    fn sampled(&self, event: Event) -> bool {
        if self.one_in == 0 {
            return false;
        }
        let ticks = self.ticks.get_or(|| std::array::from_fn(|_| Cell::new(0)));
        let t = &ticks[event.0];
        let n = t.get();
        t.set(n.wrapping_add(1));
        n.is_multiple_of(self.one_in)
    }

    #[inline]
    fn start(&self) -> Started {
        if self.one_in == 0 {
            Started::UNSET
        } else {
            self.clock.now()
        }
    }

    #[cold]
    fn emit(&self, event: &'static str, args: fmt::Arguments<'_>) {
        macro_rules! at {
            ($level:expr) => {
                tracing::event!(target: "hotmetrics_sensors", $level, event, "{}", args)
            };
        }
        match self.level {
            Level::ERROR => at!(Level::ERROR),
            Level::WARN => at!(Level::WARN),
            Level::INFO => at!(Level::INFO),
            Level::DEBUG => at!(Level::DEBUG),
            _ => at!(Level::TRACE),
        }
    }

    #[inline]
    fn log(&self, event: Event, args: impl FnOnce(&dyn Fn(fmt::Arguments<'_>))) {
        if self.sampled(event) {
            args(&|a| self.emit(event.1, a));
        }
    }

    /// An error: logged every time (unless logging is off).
    fn log_error(&self, event: Event, args: impl FnOnce(&dyn Fn(fmt::Arguments<'_>))) {
        if self.one_in != 0 {
            args(&|a| self.emit(event.1, a));
        }
    }

    /// The latency from `state` to now, for the message.
    fn took(&self, state: Started) -> Took {
        Took(state.seconds_until(self.clock.now()))
    }
}

/// A latency as the log message says it.
struct Took(Option<f64>);

impl fmt::Display for Took {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => write!(f, "after {:.3} ms", s * 1000.0),
            None => f.write_str("(no start)"),
        }
    }
}

impl Sensor for LoggingSensor {
    /// False with sampling off (`one_in(0)`, fixed when it is built).
    fn is_enabled(&self) -> bool {
        self.one_in != 0
    }

    fn on_message_in(&self, tp: TopicPartition<'_>, offset: i64) -> Started {
        self.log(ev::MESSAGE_IN, |w| w(format_args!("{tp} offset {offset}")));
        self.start()
    }

    fn on_message_out(&self, tp: TopicPartition<'_>, offset: i64, state: Started) {
        self.log(ev::MESSAGE_OUT, |w| {
            w(format_args!("{tp} offset {offset} {}", self.took(state)))
        });
    }

    fn on_stream_event_in(
        &self,
        tp: TopicPartition<'_>,
        offset: i64,
        stream: StreamTask<'_>,
    ) -> Started {
        self.log(ev::STREAM_EVENT_IN, |w| {
            w(format_args!(
                "{} task {} {tp} offset {offset}",
                stream.stream, stream.task
            ))
        });
        self.start()
    }

    fn on_stream_event_out(
        &self,
        tp: TopicPartition<'_>,
        offset: i64,
        stream: StreamTask<'_>,
        state: Started,
    ) {
        self.log(ev::STREAM_EVENT_OUT, |w| {
            w(format_args!(
                "{} task {} {tp} offset {offset} {}",
                stream.stream,
                stream.task,
                self.took(state)
            ))
        });
    }

    fn on_topic_buffer_full(&self, tp: TopicPartition<'_>) {
        self.log(ev::TOPIC_BUFFER_FULL, |w| w(format_args!("{tp}")));
    }

    fn on_table_get(&self, table: &str) {
        self.log(ev::TABLE_GET, |w| w(format_args!("{table}")));
    }

    fn on_table_set(&self, table: &str) {
        self.log(ev::TABLE_SET, |w| w(format_args!("{table}")));
    }

    fn on_table_del(&self, table: &str) {
        self.log(ev::TABLE_DEL, |w| w(format_args!("{table}")));
    }

    fn on_commit_initiated(&self) -> Started {
        self.log(ev::COMMIT_INITIATED, |w| w(format_args!("")));
        self.start()
    }

    fn on_commit_completed(&self, state: Started) {
        self.log(ev::COMMIT_COMPLETED, |w| {
            w(format_args!("{}", self.took(state)))
        });
    }

    fn on_tp_commit(&self, offsets: &[(TopicPartition<'_>, i64)]) {
        self.log(ev::TP_COMMIT, |w| {
            w(format_args!("{} partitions", offsets.len()))
        });
    }

    fn on_partition_end_offset(&self, tp: TopicPartition<'_>, high_watermark: i64) {
        self.log(ev::PARTITION_END_OFFSET, |w| {
            w(format_args!("{tp} high watermark {high_watermark}"))
        });
    }

    fn on_send_initiated(&self, topic: &str, key_size: usize, value_size: usize) -> Started {
        self.log(ev::SEND_INITIATED, |w| {
            w(format_args!(
                "{topic} key {key_size} B value {value_size} B"
            ))
        });
        self.start()
    }

    fn on_send_completed(&self, topic: &str, state: Started) {
        self.log(ev::SEND_COMPLETED, |w| {
            w(format_args!("{topic} {}", self.took(state)))
        });
    }

    fn on_send_error(&self, topic: &str, error: &dyn fmt::Display, state: Started) {
        self.log_error(ev::SEND_ERROR, |w| {
            w(format_args!("{topic} {error} {}", self.took(state)))
        });
    }

    fn on_assignment_start(&self) -> Started {
        self.log(ev::ASSIGNMENT_START, |w| w(format_args!("")));
        self.start()
    }

    fn on_assignment_completed(&self, state: Started) {
        self.log(ev::ASSIGNMENT_COMPLETED, |w| {
            w(format_args!("{}", self.took(state)))
        });
    }

    fn on_assignment_error(&self, error: &dyn fmt::Display, state: Started) {
        self.log_error(ev::ASSIGNMENT_ERROR, |w| {
            w(format_args!("{error} {}", self.took(state)))
        });
    }

    fn on_rebalance_start(&self) -> Started {
        self.log(ev::REBALANCE_START, |w| w(format_args!("")));
        self.start()
    }

    fn on_partitions_revoked(&self, partitions: &[TopicPartition<'_>]) {
        self.log(ev::PARTITIONS_REVOKED, |w| {
            w(format_args!("{} partitions", partitions.len()))
        });
    }

    fn on_rebalance_return(&self, state: Started) {
        self.log(ev::REBALANCE_RETURN, |w| {
            w(format_args!("{}", self.took(state)))
        });
    }

    fn on_rebalance_end(&self, state: Started) {
        self.log(ev::REBALANCE_END, |w| {
            w(format_args!("{}", self.took(state)))
        });
    }

    fn on_web_request_start(&self, method: &str, path: &str) -> Started {
        self.log(ev::WEB_REQUEST_START, |w| {
            w(format_args!("{method} {path}"))
        });
        self.start()
    }

    fn on_web_request_end(&self, method: &str, path: &str, status: u16, state: Started) {
        self.log(ev::WEB_REQUEST_END, |w| {
            w(format_args!(
                "{method} {path} {status} {}",
                self.took(state)
            ))
        });
    }

    fn count(&self, name: &str, n: u64) {
        self.log(ev::COUNT, |w| w(format_args!("{name} +{n}")));
    }
}
