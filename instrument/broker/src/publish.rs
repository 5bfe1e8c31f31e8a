//! The publish side: a destination's series resolved once, the guard that
//! records how a send ended, and the one-shot records.

use crate::families::{BrokerMetrics, OwnedLabels};
use crate::guard::{Finish, RecordOnce};
use crate::outcome::PublishOutcome;
use crate::per_thread::PerThread;
use hotmetrics_core::{Counter, Error, Family, Histogram};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

impl BrokerMetrics {
    /// The series of the destination called `destination`, resolved once:
    /// both status counters are created now. Fails when a family is at its
    /// series limit, or with [`Error::LabelCount`] when the builder
    /// declared per-message labels (use
    /// [`destination_with`](Self::destination_with)).
    pub fn destination(&self, destination: &str) -> Result<DestinationMetrics, Error> {
        self.destination_with(destination, &[])
    }

    /// [`destination`](Self::destination) with the values of the
    /// per-message custom labels, in the order the builder declared them.
    /// A wrong number of values is an [`Error::LabelCount`].
    pub fn destination_with(
        &self,
        destination: &str,
        values: &[&str],
    ) -> Result<DestinationMetrics, Error> {
        let f = self.families();
        let labels = self.labels(destination, values)?;
        let status = |s: &str| f.published.get_or_create(&labels.with(s));
        Ok(DestinationMetrics(Arc::new(PerThread::new(
            DestinationSeries {
                success: status("success")?,
                error: status("error")?,
                duration: f.publish_duration.get_or_create(&labels.plain())?,
                exceptions: f.publish_exceptions.clone(),
                labels: labels.owned(),
            },
        ))))
    }

    /// Records one send to `destination` without a guard and without a
    /// handle, as [`DestinationMetrics::record`] does. Errors at a family's
    /// series limit, and with [`Error::LabelCount`] when the builder
    /// declared per-message labels.
    pub fn record_published(
        &self,
        destination: &str,
        elapsed: Duration,
        outcome: PublishOutcome<'_>,
    ) -> Result<(), Error> {
        let f = self.families();
        let labels = self.labels(destination, &[])?;
        f.publish_duration
            .with(&labels.plain(), |h| h.observe_duration(elapsed))?;
        f.published
            .with(&labels.with(outcome.status()), |c| c.inc())?;
        if let PublishOutcome::Error(ty) = outcome {
            f.publish_exceptions.with(&labels.with(ty), |c| c.inc())?;
        }
        Ok(())
    }
}

/// One destination's series, resolved; from
/// [`BrokerMetrics::destination`]. Cheap to clone; clones share the series.
///
/// Its guards own what they record into, as [`HandlerMetrics`]'s do
/// (each thread keeps a copy of the series handles), so a send can finish
/// in another task.
///
/// [`HandlerMetrics`]: crate::HandlerMetrics
#[derive(Clone)]
pub struct DestinationMetrics(Arc<PerThread<DestinationSeries>>);

#[derive(Clone, Debug)]
pub(crate) struct DestinationSeries {
    success: Counter,
    error: Counter,
    duration: Histogram,
    exceptions: Family<Counter>,
    labels: OwnedLabels,
}

impl fmt::Debug for DestinationMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DestinationMetrics")
            .field("labels", &self.0.series().labels)
            .finish_non_exhaustive()
    }
}

impl Finish for DestinationSeries {
    type Outcome<'a> = PublishOutcome<'a>;

    #[inline]
    fn finish(&self, count: u64, elapsed: Duration, outcome: PublishOutcome<'_>) {
        self.duration.observe_duration(elapsed);
        match outcome {
            PublishOutcome::Success => self.success.inc_by(count),
            PublishOutcome::Error(ty) => {
                self.error.inc_by(count);
                // Only a full family can refuse; the send is still counted
                // under `status="error"`.
                let _ = self
                    .labels
                    .with_extra(ty, |l| self.exceptions.with(l, |c| c.inc()));
            }
        }
    }

    fn error(exception_type: &str) -> PublishOutcome<'_> {
        PublishOutcome::Error(exception_type)
    }
}

impl DestinationMetrics {
    /// The destination label value.
    pub fn name(&self) -> &str {
        self.0.series().labels.name()
    }

    /// A send starts: the clock runs until the guard is finished. The
    /// guard is `Send + 'static`: it can finish in another task or thread.
    #[inline]
    #[must_use = "dropping the guard records the send as an error"]
    pub fn publish(&self) -> PublishGuard {
        self.publish_batch(1)
    }

    /// A send of `count` messages at once: `published_messages_total`
    /// moves by `count`, the duration is observed once, an error counts one
    /// exception.
    #[inline]
    #[must_use = "dropping the guard records the send as an error"]
    pub fn publish_batch(&self, count: u64) -> PublishGuard {
        PublishGuard(RecordOnce::start(self.0.owned(), count))
    }

    /// Records one send after the fact, for code that times it itself.
    #[inline]
    pub fn record(&self, elapsed: Duration, outcome: PublishOutcome<'_>) {
        self.0.series().finish(1, elapsed, outcome);
    }
}

/// A send in progress; from [`DestinationMetrics::publish`]. Finish it with
/// [`success`](Self::success) or [`error`](Self::error); dropped
/// unfinished, it records status `error` with exception type
/// [`PANIC`](crate::PANIC) or [`DROPPED`](crate::DROPPED). It owns what it
/// records into (`Send + 'static`) and records on the thread that
/// finishes it.
#[derive(Debug)]
pub struct PublishGuard(RecordOnce<DestinationSeries>);

impl PublishGuard {
    /// Time since the send started.
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }

    /// Records `outcome` and the duration.
    #[inline]
    pub fn finish(self, outcome: PublishOutcome<'_>) {
        self.0.finish(outcome);
    }

    /// Status `success`.
    #[inline]
    pub fn success(self) {
        self.finish(PublishOutcome::Success);
    }

    /// Status `error`, and one exception of `exception_type`.
    #[inline]
    pub fn error(self, exception_type: &str) {
        self.finish(PublishOutcome::Error(exception_type));
    }
}
