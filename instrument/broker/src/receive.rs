//! The receive side: a handler's series resolved once, the guard that
//! records how processing a message ended, and the one-shot records.

use crate::families::BrokerMetrics;
use crate::guard::{Finish, RecordOnce};
use crate::outcome::{Outcome, Status};
use crate::per_thread::PerThread;
use hotmetrics_core::{Counter, Error, Family, Gauge, Histogram};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

impl BrokerMetrics {
    /// The series of the handler (topic, queue, subject) called `handler`,
    /// resolved once: the status counters are created now and appear in
    /// scrapes at 0. Calling it again for the same name shares the series.
    /// Fails only when a family is at its series limit.
    pub fn handler(&self, handler: &str) -> Result<HandlerMetrics, Error> {
        let f = self.families();
        let labels = self.labels(handler);
        let received = f.received.get_or_create(&labels)?;
        let size = f.size.get_or_create(&labels)?;
        let in_process = f.in_process.get_or_create(&labels)?;
        let duration = f.duration.get_or_create(&labels)?;
        let [a, b, h] = labels;
        let [acked, nacked, rejected, skipped, error] =
            Status::ALL.map(|s| f.processed.get_or_create(&[a, b, h, s.as_str()]));
        Ok(HandlerMetrics(Arc::new(PerThread::new(HandlerSeries {
            received,
            size,
            in_process,
            duration,
            processed: [acked?, nacked?, rejected?, skipped?, error?],
            exceptions: f.exceptions.clone(),
            labels: labels.map(Box::from),
        }))))
    }

    /// Records one message of `handler`, start to end, without a guard and
    /// without a handle: everything [`HandlerMetrics::record`] records, with
    /// each series looked up in the calling thread's cache. Errors only at a
    /// family's series limit.
    pub fn record_processed(
        &self,
        handler: &str,
        size_bytes: usize,
        elapsed: Duration,
        outcome: Outcome<'_>,
    ) -> Result<(), Error> {
        let f = self.families();
        let l = self.labels(handler);
        f.received.with(&l, |c| c.inc())?;
        f.size.with(&l, |h| h.observe(size_bytes as f64))?;
        f.duration.with(&l, |h| h.observe_duration(elapsed))?;
        f.processed
            .with(&[l[0], l[1], l[2], outcome.status()], |c| c.inc())?;
        if let Outcome::Error(ty) = outcome {
            f.exceptions.with(&[l[0], l[1], l[2], ty], |c| c.inc())?;
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
    /// app_name, broker, handler.
    labels: [Box<str>; 3],
}

impl fmt::Debug for HandlerMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerMetrics")
            .field("labels", &self.0.series().labels)
            .finish_non_exhaustive()
    }
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
    fn processed(&self, count: u64, elapsed: Duration, outcome: Outcome<'_>) {
        if let Outcome::Error(ty) = outcome {
            self.exception(ty);
        }
        self.duration.observe_duration(elapsed);
        self.processed[Status::from(outcome) as usize].inc_by(count);
    }

    fn exception(&self, ty: &str) {
        let [a, b, h] = &self.labels;
        // Only a full family can refuse, and then the error is still
        // counted under `status="error"`.
        let _ = self.exceptions.with(&[&**a, &**b, &**h, ty], |c| c.inc());
    }
}

impl Finish for HandlerSeries {
    type Outcome<'a> = Outcome<'a>;

    #[inline]
    fn finish(&self, count: u64, elapsed: Duration, outcome: Outcome<'_>) {
        self.processed(count, elapsed, outcome);
        self.in_process.sub(count as i64);
    }

    fn error(exception_type: &str) -> Outcome<'_> {
        Outcome::Error(exception_type)
    }
}

impl HandlerMetrics {
    /// The handler label value.
    pub fn name(&self) -> &str {
        &self.0.series().labels[2]
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
        ProcessingGuard(RecordOnce::start(series, count))
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
        series.processed(1, elapsed, outcome);
    }
}

/// A message being processed; from [`HandlerMetrics::receive`]. Finish it
/// with one of [`ack`](Self::ack), [`nack`](Self::nack),
/// [`reject`](Self::reject), [`skip`](Self::skip), [`error`](Self::error)
/// or [`finish`](Self::finish). Dropped unfinished, it records status
/// `error` with exception type [`PANIC`](crate::PANIC) or
/// [`DROPPED`](crate::DROPPED).
///
/// It owns what it records into (`Send + 'static`), so it can move into a
/// spawned task or thread and outlive the [`HandlerMetrics`] it came from;
/// it records on the thread that finishes it.
#[derive(Debug)]
pub struct ProcessingGuard(RecordOnce<HandlerSeries>);

impl ProcessingGuard {
    /// Time since the message was received.
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }

    /// Records `outcome`, the duration, and lowers the in-process gauge.
    #[inline]
    pub fn finish(self, outcome: Outcome<'_>) {
        self.0.finish(outcome);
    }

    /// Status `acked`.
    #[inline]
    pub fn ack(self) {
        self.finish(Outcome::Acked);
    }

    /// Status `nacked`.
    #[inline]
    pub fn nack(self) {
        self.finish(Outcome::Nacked);
    }

    /// Status `rejected`.
    #[inline]
    pub fn reject(self) {
        self.finish(Outcome::Rejected);
    }

    /// Status `skipped`.
    #[inline]
    pub fn skip(self) {
        self.finish(Outcome::Skipped);
    }

    /// Status `error`, and one exception of `exception_type`.
    #[inline]
    pub fn error(self, exception_type: &str) {
        self.finish(Outcome::Error(exception_type));
    }
}
