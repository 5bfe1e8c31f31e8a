//! What the processing and publish guards share: the clock started at
//! creation, the message count, the series they own, and recording exactly
//! once, as an error when dropped unfinished.

use crate::outcome::{DROPPED, PANIC};
use crate::per_thread::Owned;
use quanta::Instant;
use std::time::Duration;

/// Series that record how a timed operation on `count` messages ended.
pub(crate) trait Finish {
    /// How the operation can end.
    type Outcome<'a>;

    /// Records `outcome` after `elapsed`, for `count` messages.
    fn finish(&self, count: u64, elapsed: Duration, outcome: Self::Outcome<'_>);

    /// The error outcome with exception type `exception_type`.
    fn error(exception_type: &str) -> Self::Outcome<'_>;
}

/// Records into `target` exactly once: with the outcome given to
/// [`finish`](Self::finish), or on drop as an error of type [`PANIC`] or
/// [`DROPPED`]. Owns its target, so it is `'static`, and `Send` when the
/// target is `Send + Sync`.
#[derive(Debug)]
pub(crate) struct RecordOnce<T: Finish> {
    /// `None` once recorded.
    target: Option<Owned<T>>,
    start: Instant,
    count: u64,
}

impl<T: Finish> RecordOnce<T> {
    /// Starts the clock.
    #[inline]
    pub(crate) fn start(target: Owned<T>, count: u64) -> Self {
        Self {
            target: Some(target),
            start: Instant::now(),
            count,
        }
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    #[inline]
    pub(crate) fn finish(mut self, outcome: T::Outcome<'_>) {
        self.record(outcome);
    }

    /// What it records into; `None` once recorded.
    #[inline]
    pub(crate) fn target(&self) -> Option<&T> {
        self.target.as_deref().map(|t| &**t)
    }

    /// Records `outcome` unless recorded already.
    #[inline]
    pub(crate) fn record(&mut self, outcome: T::Outcome<'_>) {
        // Taken here, so not recorded again on drop.
        if let Some(target) = self.target.take() {
            target.finish(self.count, self.start.elapsed(), outcome);
        }
    }
}

impl<T: Finish> Drop for RecordOnce<T> {
    fn drop(&mut self) {
        if self.target.is_some() {
            let ty = if std::thread::panicking() {
                PANIC
            } else {
                DROPPED
            };
            self.record(T::error(ty));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_utils::CachePadded;
    use std::sync::{Arc, Mutex};

    /// Every `finish` call, as (count, outcome).
    #[derive(Debug, Default)]
    struct Calls(Mutex<Vec<(u64, String)>>);

    impl Finish for Calls {
        type Outcome<'a> = &'a str;

        fn finish(&self, count: u64, _elapsed: Duration, outcome: &str) {
            self.0.lock().unwrap().push((count, outcome.to_owned()));
        }

        fn error(exception_type: &str) -> &str {
            exception_type
        }
    }

    impl Calls {
        fn new() -> Owned<Self> {
            Arc::new(CachePadded::new(Self::default()))
        }

        fn take(&self) -> Vec<(u64, String)> {
            std::mem::take(&mut self.0.lock().unwrap())
        }
    }

    #[test]
    fn finish_records_once_and_drop_adds_nothing() {
        let calls = Calls::new();
        RecordOnce::start(Arc::clone(&calls), 3).finish("done");
        assert_eq!(calls.take(), [(3, "done".to_owned())]);
    }

    #[test]
    fn dropped_unfinished_records_dropped_once() {
        let calls = Calls::new();
        drop(RecordOnce::start(Arc::clone(&calls), 1));
        assert_eq!(calls.take(), [(1, DROPPED.to_owned())]);
    }

    #[test]
    fn dropped_while_panicking_records_panic_once() {
        let calls = Calls::new();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = RecordOnce::start(Arc::clone(&calls), 2);
            panic!("handler failed");
        }));
        assert!(r.is_err());
        assert_eq!(calls.take(), [(2, PANIC.to_owned())]);
    }

    #[test]
    fn finishes_on_another_thread_and_lets_go_of_its_target() {
        let calls = Calls::new();
        let guard = RecordOnce::start(Arc::clone(&calls), 4);
        assert_eq!(Arc::strong_count(&calls), 2);
        // `thread::spawn` takes only what is `Send + 'static`.
        std::thread::spawn(move || guard.finish("moved"))
            .join()
            .unwrap();
        assert_eq!(calls.take(), [(4, "moved".to_owned())]);
        assert_eq!(Arc::strong_count(&calls), 1);
    }

    #[test]
    fn elapsed_runs_from_start() {
        let calls = Calls::new();
        let guard = RecordOnce::start(Arc::clone(&calls), 1);
        std::thread::sleep(Duration::from_millis(2));
        assert!(guard.elapsed() >= Duration::from_millis(2));
        guard.finish("done");
    }
}
