//! [`LoggingSensor`]: a `tracing` event per callback, sampled.

use crate::clock::{Clock, Started};
use crate::sensor::{Sensor, TopicPartition};
use std::cell::Cell;
use std::fmt;
use tracing::Level;

thread_local! {
    /// Callbacks this thread made to logging sensors: the sampling tick.
    static TICK: Cell<u64> = const { Cell::new(0) };
}

/// Emits a `tracing` event (target `hotmetrics_sensors`, field `event` =
/// the callback's name, the rest in the message) for one callback in
/// every [`one_in`](Self::one_in) on each thread, at a chosen level; end
/// callbacks say the latency. With sampling off (`one_in(0)`) a callback
/// costs one branch, so it can stay in the delegate in production.
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
}

impl LoggingSensor {
    /// Every callback logged at `level`.
    pub fn new(level: Level) -> Self {
        Self {
            level,
            one_in: 1,
            clock: Clock::monotonic(),
        }
    }

    /// Logs one callback in `n` on each thread (the first, then every
    /// `n`-th); `0` logs none, `1` (the default) all.
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
    fn sampled(&self) -> bool {
        if self.one_in == 0 {
            return false;
        }
        TICK.with(|t| {
            let n = t.get();
            t.set(n.wrapping_add(1));
            n % self.one_in == 0
        })
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
    fn log(&self, event: &'static str, args: impl FnOnce(&dyn Fn(fmt::Arguments<'_>))) {
        if self.sampled() {
            args(&|a| self.emit(event, a));
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
    fn on_message_in(&self, tp: TopicPartition<'_>, offset: i64) {
        self.log("message_in", |w| w(format_args!("{tp} offset {offset}")));
    }

    fn on_message_out(&self, tp: TopicPartition<'_>, offset: i64) {
        self.log("message_out", |w| w(format_args!("{tp} offset {offset}")));
    }

    fn on_stream_event_in(&self, tp: TopicPartition<'_>, offset: i64, stream: &str) -> Started {
        self.log("stream_event_in", |w| {
            w(format_args!("{stream} {tp} offset {offset}"))
        });
        self.start()
    }

    fn on_stream_event_out(
        &self,
        tp: TopicPartition<'_>,
        offset: i64,
        stream: &str,
        state: Started,
    ) {
        self.log("stream_event_out", |w| {
            w(format_args!(
                "{stream} {tp} offset {offset} {}",
                self.took(state)
            ))
        });
    }

    fn on_topic_buffer_full(&self, tp: TopicPartition<'_>) {
        self.log("topic_buffer_full", |w| w(format_args!("{tp}")));
    }

    fn on_table_get(&self, table: &str) {
        self.log("table_get", |w| w(format_args!("{table}")));
    }

    fn on_table_set(&self, table: &str) {
        self.log("table_set", |w| w(format_args!("{table}")));
    }

    fn on_table_del(&self, table: &str) {
        self.log("table_del", |w| w(format_args!("{table}")));
    }

    fn on_commit_initiated(&self) -> Started {
        self.log("commit_initiated", |w| w(format_args!("")));
        self.start()
    }

    fn on_commit_completed(&self, state: Started) {
        self.log("commit_completed", |w| {
            w(format_args!("{}", self.took(state)))
        });
    }

    fn on_tp_commit(&self, offsets: &[(TopicPartition<'_>, i64)]) {
        self.log("tp_commit", |w| {
            w(format_args!("{} partitions", offsets.len()))
        });
    }

    fn on_partition_end_offset(&self, tp: TopicPartition<'_>, high_watermark: i64) {
        self.log("partition_end_offset", |w| {
            w(format_args!("{tp} high watermark {high_watermark}"))
        });
    }

    fn on_send_initiated(&self, topic: &str, key_size: usize, value_size: usize) -> Started {
        self.log("send_initiated", |w| {
            w(format_args!(
                "{topic} key {key_size} B value {value_size} B"
            ))
        });
        self.start()
    }

    fn on_send_completed(&self, topic: &str, state: Started) {
        self.log("send_completed", |w| {
            w(format_args!("{topic} {}", self.took(state)))
        });
    }

    fn on_send_error(&self, topic: &str, error: &dyn fmt::Display, state: Started) {
        self.log("send_error", |w| {
            w(format_args!("{topic} {error} {}", self.took(state)))
        });
    }

    fn on_assignment_start(&self) -> Started {
        self.log("assignment_start", |w| w(format_args!("")));
        self.start()
    }

    fn on_assignment_completed(&self, state: Started) {
        self.log("assignment_completed", |w| {
            w(format_args!("{}", self.took(state)))
        });
    }

    fn on_assignment_error(&self, error: &dyn fmt::Display, state: Started) {
        self.log("assignment_error", |w| {
            w(format_args!("{error} {}", self.took(state)))
        });
    }

    fn on_rebalance_start(&self) -> Started {
        self.log("rebalance_start", |w| w(format_args!("")));
        self.start()
    }

    fn on_rebalance_return(&self, state: Started) {
        self.log("rebalance_return", |w| {
            w(format_args!("{}", self.took(state)))
        });
    }

    fn on_rebalance_end(&self, state: Started) {
        self.log("rebalance_end", |w| w(format_args!("{}", self.took(state))));
    }

    fn on_web_request_start(&self, method: &str, path: &str) -> Started {
        self.log("web_request_start", |w| w(format_args!("{method} {path}")));
        self.start()
    }

    fn on_web_request_end(&self, method: &str, path: &str, status: u16, state: Started) {
        self.log("web_request_end", |w| {
            w(format_args!(
                "{method} {path} {status} {}",
                self.took(state)
            ))
        });
    }

    fn count(&self, name: &str, n: u64) {
        self.log("count", |w| w(format_args!("{name} +{n}")));
    }
}
