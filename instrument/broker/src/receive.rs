//! The receive side: a handler's series resolved once, the guard that
//! records how processing a message ended (its ack state and its
//! exceptions, apart), and the one-shot records.

use crate::families::{BrokerMetrics, OwnedLabels};
use crate::guard::{Finish, RecordOnce};
use crate::outcome::{AckState, DROPPED, Outcome, PANIC, Status};
use crate::per_thread::PerThread;
use hotmetrics_core::{Counter, Error, Family, Gauge, Histogram};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

impl BrokerMetrics {
    /// The series of the handler (topic, queue, subject) called `handler`,
    /// resolved once: the status counters are created now and appear in
    /// scrapes at 0. Calling it again for the same name shares the series.
    /// Fails when a family is at its series limit, or with
    /// [`Error::LabelCount`] when the builder declared
    /// [per-message labels](crate::BrokerMetricsBuilder::per_message_label)
    /// (use [`handler_with`](Self::handler_with)).
    pub fn handler(&self, handler: &str) -> Result<HandlerMetrics, Error> {
        self.handler_with(handler, &[])
    }

    /// [`handler`](Self::handler) with the values of the per-message custom
    /// labels, in the order the builder declared them. A wrong number of
    /// values is an [`Error::LabelCount`].
    ///
    /// ```
    /// use hotmetrics_broker::{Broker, BrokerMetrics};
    /// use hotmetrics_core::{Error, Registry};
    ///
    /// # fn main() -> Result<(), Error> {
    /// let registry = Registry::new();
    /// let metrics = BrokerMetrics::builder(Broker::Nats)
    ///     .label("env", "prod")
    ///     .per_message_label("tenant")
    ///     .build(&registry)?;
    /// metrics.handler_with("orders", &["acme"])?.receive(10).ack();
    /// let labels = [
    ///     ("app_name", "faststream"), ("broker", "nats"), ("handler", "orders"),
    ///     ("env", "prod"), ("tenant", "acme"),
    /// ];
    /// assert_eq!(registry.snapshot().counter("faststream_received_messages", &labels), Some(1.0));
    /// let err = metrics.handler("orders").unwrap_err();
    /// assert!(matches!(err, Error::LabelCount { got: 0, .. }), "{err}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn handler_with(&self, handler: &str, values: &[&str]) -> Result<HandlerMetrics, Error> {
        let f = self.families();
        let labels = self.labels(handler, values)?;
        let plain = labels.plain();
        let received = f.received.get_or_create(&plain)?;
        let size = f.size.get_or_create(&plain)?;
        let in_process = f.in_process.get_or_create(&plain)?;
        let duration = f.duration.get_or_create(&plain)?;
        let [acked, nacked, rejected, skipped, error] =
            Status::ALL.map(|s| f.processed.get_or_create(&labels.with(s.as_str())));
        Ok(HandlerMetrics(Arc::new(PerThread::new(HandlerSeries {
            received,
            size,
            in_process,
            duration,
            processed: [acked?, nacked?, rejected?, skipped?, error?],
            exceptions: f.exceptions.clone(),
            labels: labels.owned(),
        }))))
    }

    /// Records one message of `handler`, start to end, without a guard and
    /// without a handle: everything [`HandlerMetrics::record`] records, with
    /// each series looked up in the calling thread's cache. Errors at a
    /// family's series limit, and with [`Error::LabelCount`] when the
    /// builder declared per-message labels.
    pub fn record_processed(
        &self,
        handler: &str,
        size_bytes: usize,
        elapsed: Duration,
        outcome: Outcome<'_>,
    ) -> Result<(), Error> {
        let f = self.families();
        let labels = self.labels(handler, &[])?;
        let l = labels.plain();
        f.received.with(&l, |c| c.inc())?;
        f.size.with(&l, |h| h.observe(size_bytes as f64))?;
        f.duration.with(&l, |h| h.observe_duration(elapsed))?;
        f.processed
            .with(&labels.with(outcome.status()), |c| c.inc())?;
        if let Outcome::Error(ty) = outcome {
            f.exceptions.with(&labels.with(ty), |c| c.inc())?;
        }
        Ok(())
    }
}

/// One handler's series, resolved; from [`BrokerMetrics::handler`]. Cheap
/// to clone (one reference count); clones share the series.
///
/// The guards it hands out own what they record into, so a message can be
/// received in a poll loop and finished in a task of its own: each thread
/// keeps a copy of the series handles, made on its first
/// [`receive`](Self::receive), and a guard takes a reference to the copy of
/// the thread that received it (no reference count shared between the
/// threads that receive; a guard finished on another thread releases its
/// reference from there, once).
#[derive(Clone)]
pub struct HandlerMetrics(Arc<PerThread<HandlerSeries>>);

#[derive(Clone, Debug)]
pub(crate) struct HandlerSeries {
    received: Counter,
    size: Histogram,
    in_process: Gauge,
    duration: Histogram,
    /// By `Status as usize`.
    processed: [Counter; 5],
    exceptions: Family<Counter>,
    labels: OwnedLabels,
}

impl fmt::Debug for HandlerMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerMetrics")
            .field("labels", &self.0.series().labels)
            .finish_non_exhaustive()
    }
}

/// How processing ended, as the handler's series record it: the status,
/// and an exception not counted before.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settled<'a> {
    status: Status,
    exception: Option<&'a str>,
}

impl HandlerSeries {
    #[inline]
    fn start(&self, count: u64, size_bytes: usize) {
        self.received.inc_by(count);
        self.size.observe(size_bytes as f64);
        self.in_process.add(count as i64);
    }

    /// Everything but the in-process gauge.
    #[inline]
    fn processed(&self, count: u64, elapsed: Duration, outcome: Settled<'_>) {
        if let Some(ty) = outcome.exception {
            self.exception(ty);
        }
        self.duration.observe_duration(elapsed);
        self.processed[outcome.status as usize].inc_by(count);
    }

    fn exception(&self, ty: &str) {
        // Only a full family can refuse, and then the message is still
        // counted under its status.
        let _ = self
            .labels
            .with_extra(ty, |l| self.exceptions.with(l, |c| c.inc()));
    }
}

impl Finish for HandlerSeries {
    type Outcome<'a> = Settled<'a>;

    #[inline]
    fn finish(&self, count: u64, elapsed: Duration, outcome: Settled<'_>) {
        self.processed(count, elapsed, outcome);
        self.in_process.sub(count as i64);
    }

    fn error(exception_type: &str) -> Settled<'_> {
        Settled {
            status: Status::Error,
            exception: Some(exception_type),
        }
    }
}

impl From<Outcome<'_>> for Settled<'_> {
    fn from(outcome: Outcome<'_>) -> Self {
        Settled {
            status: outcome.into(),
            exception: None,
        }
    }
}

impl HandlerMetrics {
    /// The handler label value.
    pub fn name(&self) -> &str {
        self.0.series().labels.name()
    }

    /// A message of `size_bytes` arrived: counts it, observes its size,
    /// raises the in-process gauge and starts the clock. Finish the guard
    /// with the outcome; dropping it unfinished records `error`. The guard
    /// is `Send + 'static`: it can finish in another task or thread.
    #[inline]
    #[must_use = "dropping the guard records the message as an error"]
    pub fn receive(&self, size_bytes: usize) -> ProcessingGuard {
        self.receive_batch(1, size_bytes)
    }

    /// A batch of `count` messages of `total_size_bytes` arrived, handled
    /// in one go (FastStream's batch subscribers): received, in-process and
    /// processed move by `count`, the size and the duration are observed
    /// once, an error counts one exception.
    #[inline]
    #[must_use = "dropping the guard records the batch as an error"]
    pub fn receive_batch(&self, count: u64, total_size_bytes: usize) -> ProcessingGuard {
        let series = self.0.owned();
        series.start(count, total_size_bytes);
        ProcessingGuard {
            record: RecordOnce::start(series, count),
            ack: None,
            raised: false,
        }
    }

    /// Records one message after the fact, for code that times processing
    /// itself: received, size, processed with the outcome's status,
    /// duration, and the exception for an error. The in-process gauge is
    /// not touched (it only means something while processing).
    #[inline]
    pub fn record(&self, size_bytes: usize, elapsed: Duration, outcome: Outcome<'_>) {
        let series = self.0.series();
        series.received.inc();
        series.size.observe(size_bytes as f64);
        let exception = match outcome {
            Outcome::Error(ty) => Some(ty),
            _ => None,
        };
        let status = outcome.into();
        series.processed(1, elapsed, Settled { status, exception });
    }
}

/// A message being processed; from [`HandlerMetrics::receive`].
///
/// It keeps the two things FastStream records apart: the message's **ack
/// state** ([`settle`](Self::settle), or [`ack`](Self::ack) and the like)
/// and the **exceptions** raised while processing it
/// ([`exception`](Self::exception), or [`error`](Self::error)), and
/// records the processed status when processing ends ([`end`](Self::end),
/// or any of the consuming methods), as FastStream does:
///
/// | ack state | exception | `status` | `exceptions_total` |
/// |---|---|---|---|
/// | acked / nacked / rejected | none | `acked` / `nacked` / `rejected` | — |
/// | acked (say) | raised after the ack | `acked` | +1 of its type |
/// | none | raised | `error` | +1 of its type |
/// | none | none, [`skip`](Self::skip) | `skipped` | — |
/// | none | none | `acked` (FastStream's default: nothing went wrong) | — |
///
/// ```
/// use hotmetrics_broker::{AckState, Broker, BrokerMetrics};
/// use hotmetrics_core::Registry;
///
/// # fn main() -> Result<(), hotmetrics_core::Error> {
/// let registry = Registry::new();
/// let orders = BrokerMetrics::new(&registry, Broker::Rabbit)?.handler("default.orders")?;
/// let mut msg = orders.receive(12);
/// msg.settle(AckState::Acked); // acked with the broker first ...
/// msg.error("ValueError"); // ... then the handler failed
///
/// let snap = registry.snapshot();
/// let l = [("app_name", "faststream"), ("broker", "rabbitmq"), ("handler", "default.orders")];
/// let [a, b, h] = l;
/// let processed = |s| snap.counter("faststream_received_processed_messages", &[a, b, h, ("status", s)]);
/// assert_eq!((processed("acked"), processed("error")), (Some(1.0), Some(0.0)));
/// let exc = [a, b, h, ("exception_type", "ValueError")];
/// assert_eq!(snap.counter("faststream_received_processed_messages_exceptions", &exc), Some(1.0));
/// # Ok(())
/// # }
/// ```
///
/// Dropped unfinished (an early return, `?`, a cancelled future, a panic),
/// it counts one exception of type [`PANIC`](crate::PANIC) when the
/// thread is panicking and [`DROPPED`](crate::DROPPED) otherwise, and ends:
/// status `error`, or the ack state if the message was settled.
///
/// It owns what it records into (`Send + 'static`), so it can move into a
/// spawned task or thread and outlive the [`HandlerMetrics`] it came from;
/// it records on the thread that finishes it.
#[derive(Debug)]
pub struct ProcessingGuard {
    record: RecordOnce<HandlerSeries>,
    ack: Option<AckState>,
    /// Whether an exception was counted.
    raised: bool,
}

impl ProcessingGuard {
    /// Time since the message was received.
    pub fn elapsed(&self) -> Duration {
        self.record.elapsed()
    }

    /// The message's ack state, once settled.
    pub fn ack_state(&self) -> Option<AckState> {
        self.ack
    }

    /// Whether an exception was counted (so that, unsettled, the status
    /// will be `error`).
    pub fn raised(&self) -> bool {
        self.raised
    }

    /// Records the message's ack state; the first one given counts (a
    /// settled message stays settled, as with the broker).
    #[inline]
    pub fn settle(&mut self, state: AckState) {
        self.ack.get_or_insert(state);
    }

    /// Counts one exception of `exception_type` now; processing goes on.
    /// Unless the message is settled, its status will be `error`.
    #[inline]
    pub fn exception(&mut self, exception_type: &str) {
        if let Some(series) = self.record.target() {
            series.exception(exception_type);
            self.raised = true;
        }
    }

    /// Processing ends: records the status the table above gives, the
    /// duration, and lowers the in-process gauge.
    #[inline]
    pub fn end(mut self) {
        let status = self.status(Status::Acked);
        self.record_status(status, None);
    }

    /// The status now: the ack state, else `error` after an exception,
    /// else `otherwise`.
    fn status(&self, otherwise: Status) -> Status {
        match (self.ack, self.raised) {
            (Some(state), _) => state.into(),
            (None, true) => Status::Error,
            (None, false) => otherwise,
        }
    }

    #[inline]
    fn record_status(&mut self, status: Status, exception: Option<&str>) {
        self.record.record(Settled { status, exception });
    }

    /// Records `outcome` and ends: `Acked`, `Nacked`, `Rejected` settle the
    /// message first, `Error` counts its exception first, `Skipped` is the
    /// status unless the message was settled or raised.
    #[inline]
    pub fn finish(mut self, outcome: Outcome<'_>) {
        let status = match outcome {
            Outcome::Acked => self.settled(AckState::Acked),
            Outcome::Nacked => self.settled(AckState::Nacked),
            Outcome::Rejected => self.settled(AckState::Rejected),
            Outcome::Skipped => self.status(Status::Skipped),
            Outcome::Error(ty) => {
                self.raised = true;
                let status = self.status(Status::Error);
                self.record_status(status, Some(ty));
                return;
            }
        };
        self.record_status(status, None);
    }

    fn settled(&mut self, state: AckState) -> Status {
        self.settle(state);
        self.status(Status::Acked)
    }

    /// Settles the message as acked and ends.
    #[inline]
    pub fn ack(self) {
        self.finish(Outcome::Acked);
    }

    /// Settles the message as nacked and ends.
    #[inline]
    pub fn nack(self) {
        self.finish(Outcome::Nacked);
    }

    /// Settles the message as rejected and ends.
    #[inline]
    pub fn reject(self) {
        self.finish(Outcome::Rejected);
    }

    /// Ends with status `skipped` (FastStream's `SkipMessage`), unless the
    /// message was settled or raised.
    #[inline]
    pub fn skip(self) {
        self.finish(Outcome::Skipped);
    }

    /// Counts one exception of `exception_type` and ends: status `error`,
    /// or the ack state if the message was settled (an exception after an
    /// ack).
    #[inline]
    pub fn error(self, exception_type: &str) {
        self.finish(Outcome::Error(exception_type));
    }
}

impl Drop for ProcessingGuard {
    fn drop(&mut self) {
        if self.record.target().is_some() {
            let ty = if std::thread::panicking() {
                PANIC
            } else {
                DROPPED
            };
            self.raised = true;
            let status = self.status(Status::Error);
            self.record_status(status, Some(ty));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{AckState, Broker, BrokerMetrics, DROPPED, PANIC};
    use hotmetrics_core::Registry;

    /// processed by status, and exceptions by type, of handler `h`.
    fn counts(registry: &Registry, types: &[&str]) -> (Vec<f64>, Vec<f64>) {
        let snap = registry.snapshot();
        let base = [
            ("app_name", "faststream"),
            ("broker", "kafka"),
            ("handler", "h"),
        ];
        let [a, b, h] = base;
        let processed = crate::Status::ALL
            .iter()
            .map(|s| {
                snap.counter(
                    "faststream_received_processed_messages",
                    &[a, b, h, ("status", s.as_str())],
                )
                .unwrap_or(-1.0)
            })
            .collect();
        let exceptions = types
            .iter()
            .map(|t| {
                snap.counter(
                    "faststream_received_processed_messages_exceptions",
                    &[a, b, h, ("exception_type", t)],
                )
                .unwrap_or(0.0)
            })
            .collect();
        (processed, exceptions)
    }

    #[test]
    fn ack_state_and_exceptions_are_recorded_apart() {
        let registry = Registry::new();
        let h = BrokerMetrics::new(&registry, Broker::Kafka)
            .unwrap()
            .handler("h")
            .unwrap();
        // ack then error: acked + 1 exception.
        let mut m = h.receive(1);
        m.settle(AckState::Acked);
        m.error("AfterAck");
        // error then ack (the order does not matter): acked + 1.
        let mut m = h.receive(1);
        m.exception("BeforeAck");
        m.ack();
        // two exceptions, then nack: nacked + 2.
        let mut m = h.receive(1);
        m.exception("BeforeAck");
        m.exception("AfterAck");
        m.nack();
        // first settlement wins: rejected.
        let mut m = h.receive(1);
        m.settle(AckState::Rejected);
        m.settle(AckState::Acked);
        assert_eq!(m.ack_state(), Some(AckState::Rejected));
        m.end();
        // an exception, never settled: error + 1.
        let mut m = h.receive(1);
        m.exception("Plain");
        m.end();
        // nothing at all: acked (FastStream's default).
        h.receive(1).end();
        // skip after an exception: error; plain skip: skipped.
        let mut m = h.receive(1);
        m.exception("Plain");
        m.skip();
        h.receive(1).skip();
        // settled and dropped: acked + Dropped.
        let mut m = h.receive(1);
        m.settle(AckState::Acked);
        drop(m);
        // dropped unsettled: error + Dropped.
        drop(h.receive(1));
        // panicking after a nack: nacked + Panic.
        let h2 = h.clone();
        let r = std::panic::catch_unwind(move || {
            let mut m = h2.receive(1);
            m.settle(AckState::Nacked);
            panic!("after the nack");
        });
        assert!(r.is_err());
        let (processed, exceptions) = counts(
            &registry,
            &["AfterAck", "BeforeAck", "Plain", DROPPED, PANIC],
        );
        // acked, nacked, rejected, skipped, error
        assert_eq!(processed, [4.0, 2.0, 1.0, 1.0, 3.0]);
        assert_eq!(exceptions, [2.0, 2.0, 2.0, 2.0, 1.0]);
        let gauge = registry.snapshot().gauge(
            "faststream_received_messages_in_process",
            &[
                ("app_name", "faststream"),
                ("broker", "kafka"),
                ("handler", "h"),
            ],
        );
        assert_eq!(gauge, Some(0.0));
    }
}
