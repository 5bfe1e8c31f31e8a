//! What the processing and publish guards share: the clock started at
//! creation, the message count, and recording exactly once, as an error
//! when dropped unfinished.

use crate::outcome::{DROPPED, PANIC};
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
/// [`DROPPED`].
#[derive(Debug)]
pub(crate) struct RecordOnce<'t, T: Finish> {
    target: &'t T,
    start: Instant,
    count: u64,
}

impl<'t, T: Finish> RecordOnce<'t, T> {
    /// Starts the clock.
    #[inline]
    pub(crate) fn start(target: &'t T, count: u64) -> Self {
        Self {
            target,
            start: Instant::now(),
            count,
        }
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    #[inline]
    pub(crate) fn finish(self, outcome: T::Outcome<'_>) {
        let (target, start, count) = (self.target, self.start, self.count);
        // Recorded here, so not again on drop.
        std::mem::forget(self);
        target.finish(count, start.elapsed(), outcome);
    }
}

impl<T: Finish> Drop for RecordOnce<'_, T> {
    fn drop(&mut self) {
        let ty = if std::thread::panicking() {
            PANIC
        } else {
            DROPPED
        };
        self.target
            .finish(self.count, self.start.elapsed(), T::error(ty));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

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
        fn take(&self) -> Vec<(u64, String)> {
            std::mem::take(&mut self.0.lock().unwrap())
        }
    }

    #[test]
    fn finish_records_once_and_drop_adds_nothing() {
        let calls = Calls::default();
        RecordOnce::start(&calls, 3).finish("done");
        assert_eq!(calls.take(), [(3, "done".to_owned())]);
    }

    #[test]
    fn dropped_unfinished_records_dropped_once() {
        let calls = Calls::default();
        drop(RecordOnce::start(&calls, 1));
        assert_eq!(calls.take(), [(1, DROPPED.to_owned())]);
    }

    #[test]
    fn dropped_while_panicking_records_panic_once() {
        let calls = Calls::default();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = RecordOnce::start(&calls, 2);
            panic!("handler failed");
        }));
        assert!(r.is_err());
        assert_eq!(calls.take(), [(2, PANIC.to_owned())]);
    }

    #[test]
    fn elapsed_runs_from_start() {
        let calls = Calls::default();
        let guard = RecordOnce::start(&calls, 1);
        std::thread::sleep(Duration::from_millis(2));
        assert!(guard.elapsed() >= Duration::from_millis(2));
        guard.finish("done");
    }
}
