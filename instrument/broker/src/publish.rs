//! The publish side: a destination's series resolved once, the guard that
//! records how a send ended, and the one-shot records.

use crate::families::BrokerMetrics;
use crate::guard::{Finish, RecordOnce};
use crate::outcome::PublishOutcome;
use crate::per_thread::PerThread;
use hotmetrics_core::{Counter, Error, Family, Histogram};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

impl BrokerMetrics {
    /// The series of the destination called `destination`, resolved once:
    /// both status counters are created now. Fails only when a family is at
    /// its series limit.
    pub fn destination(&self, destination: &str) -> Result<DestinationMetrics, Error> {
        let f = self.families();
        let labels = self.labels(destination);
        let status = |s: &str| {
            f.published
                .get_or_create(&[labels[0], labels[1], labels[2], s])
        };
        Ok(DestinationMetrics(Arc::new(PerThread::new(
            DestinationSeries {
                success: status("success")?,
                error: status("error")?,
                duration: f.publish_duration.get_or_create(&labels)?,
                exceptions: f.publish_exceptions.clone(),
                labels: labels.map(Box::from),
            },
        ))))
    }

    /// Records one send to `destination` without a guard and without a
    /// handle, as [`DestinationMetrics::record`] does. Errors only at a
    /// family's series limit.
    pub fn record_published(
        &self,
        destination: &str,
        elapsed: Duration,
        outcome: PublishOutcome<'_>,
    ) -> Result<(), Error> {
        let f = self.families();
        let l = self.labels(destination);
        f.publish_duration
            .with(&l, |h| h.observe_duration(elapsed))?;
        f.published
            .with(&[l[0], l[1], l[2], outcome.status()], |c| c.inc())?;
        if let PublishOutcome::Error(ty) = outcome {
            f.publish_exceptions
                .with(&[l[0], l[1], l[2], ty], |c| c.inc())?;
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
    /// app_name, broker, destination.
    labels: [Box<str>; 3],
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
                let [a, b, d] = &self.labels;
                // Only a full family can refuse; the send is still counted
                // under `status="error"`.
                let _ = self.exceptions.with(&[&**a, &**b, &**d, ty], |c| c.inc());
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
        &self.0.series().labels[2]
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
