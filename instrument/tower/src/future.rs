//! The response future: records how each request ended, exactly once.

use crate::labels::{Route, status_label};
use crate::layer::LayerState;
use hotmetrics_core::{HistogramTimer, InProgressGuard};
use http::{Response, StatusCode};
use pin_project_lite::pin_project;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// One request being recorded: counted as received, in flight, timed.
pub(crate) struct Recording {
    shared: Arc<LayerState>,
    method: &'static str,
    route: Route,
    /// Taken when the request ends with a response (observed) and left
    /// to [`Drop`] otherwise (discarded).
    timer: Option<HistogramTimer<'static>>,
    /// Lowers `requests_in_flight` when dropped, whatever happened.
    _in_flight: Option<InProgressGuard<'static>>,
}

/// How a request ended.
pub(crate) enum Outcome {
    /// The inner service answered.
    Response(StatusCode),
    /// It returned an error, or panicked: counted as aioprometheus counts
    /// an exception, with a `500` response.
    Exception,
}

impl Recording {
    /// Counts the request and starts its clock. A lookup refused (a
    /// family at its series limit) leaves that metric out: the request
    /// still goes through.
    pub(crate) fn start(shared: Arc<LayerState>, method: &'static str, route: Route) -> Self {
        let f = &shared.families;
        let labels = [method, route.label()];
        let _ = f.requests.with(&labels, |c| c.inc());
        let in_flight = f.in_flight.track_in_progress(&labels).ok();
        let timer = f.duration.start_timer(&labels).ok();
        Recording {
            method,
            route,
            timer,
            _in_flight: in_flight,
            shared,
        }
    }

    /// Counts the response (or the exception) and observes the duration.
    pub(crate) fn finish(mut self, outcome: Outcome) {
        let f = &self.shared.families;
        let labels = [self.method, self.route.label()];
        let status = match outcome {
            Outcome::Response(status) => status,
            Outcome::Exception => {
                let _ = f.exceptions.with(&labels, |c| c.inc());
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let code = status_label(&status, self.shared.group_status_codes);
        let _ = f.responses.with(&labels, |c| c.inc());
        let _ = f
            .status_codes
            .with(&[labels[0], labels[1], code], |c| c.inc());
        // Observes the duration; the in-flight guard goes with `self`.
        drop(self.timer.take());
    }
}

impl Drop for Recording {
    /// A request dropped before it ended (the client went away, a timeout
    /// layer gave up): no response, no duration; in flight no more.
    fn drop(&mut self) {
        if let Some(timer) = self.timer.take() {
            timer.discard();
        }
    }
}

pin_project! {
    /// The future of [`HttpMetrics`](crate::HttpMetrics): the inner
    /// service's, recording how the request ended when it does (a
    /// response, an error, a panic in the handler, or being dropped
    /// unfinished).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        recording: Option<Recording>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, recording: Option<Recording>) -> Self {
        Self { inner, recording }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("recorded", &self.recording.is_some())
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        // The panic is recorded here, where it happens, and goes on
        // unwinding. The future is dropped afterwards, by whatever owns
        // it: during the unwind itself when it lives on the unwinding
        // stack (pinned in a frame, in `join!`), later when a task or a
        // CatchPanic layer holds it. Either way `recording` is taken
        // already, so the drop records nothing more.
        let polled = match catch_unwind(AssertUnwindSafe(move || inner.poll(cx))) {
            Ok(polled) => polled,
            Err(panic) => {
                if let Some(recording) = this.recording.take() {
                    recording.finish(Outcome::Exception);
                }
                resume_unwind(panic)
            }
        };
        let Poll::Ready(result) = polled else {
            return Poll::Pending;
        };
        if let Some(recording) = this.recording.take() {
            recording.finish(match &result {
                Ok(response) => Outcome::Response(response.status()),
                Err(_) => Outcome::Exception,
            });
        }
        Poll::Ready(result)
    }
}
