//! HTTP request metrics for tower services (axum routers, tonic servers,
//! hyper services): aioprometheus' ASGI middleware, for Rust.
//!
//! [`HttpMetricsLayer`] is a [`tower_layer::Layer`]; every request through
//! it is counted, labelled by method and **route template**, and its
//! response by status code:
//!
//! | metric | type | labels | aioprometheus' name |
//! |---|---|---|---|
//! | `requests_total` | counter | `method`, `path` | `requests_total_counter` |
//! | `responses_total` | counter | `method`, `path` | `responses_total_counter` |
//! | `exceptions_total` | counter | `method`, `path` | `exceptions_total_counter` |
//! | `status_codes_total` | counter | `method`, `path`, `status_code` | `status_codes_counter` |
//! | `request_duration_seconds` | histogram | `method`, `path` | (none) |
//! | `requests_in_flight` | gauge | `method`, `path` | (none) |
//!
//! Names, labels and help texts are aioprometheus', but for the counters'
//! suffix: a counter's samples end in `_total` (OpenMetrics requires it;
//! the engine appends it), so `requests_total_counter` would be exported
//! as `requests_total_counter_total`; the `_counter` is dropped instead.
//! A dashboard querying `requests_total_counter` queries `requests_total`.
//! The histogram and the gauge are this crate's additions, named as
//! Prometheus' conventions ask.
//!
//! - `path` is the route template: axum's `MatchedPath` (feature `axum`,
//!   with `Router::layer` or `route_layer`, so the layer runs after
//!   routing) when the request carries one; only without it, what the
//!   builder's [`route_fn`] names; else [`UNMATCHED`] (`<unmatched>`).
//!   Never the raw path, whose values are unbounded (`/users/1`,
//!   `/users/2`, ...).
//! - `method` is one of the nine standard methods, or [`OTHER_METHOD`]
//!   (`_OTHER`) for any other token a client sends.
//! - `status_code` is the response's code (`200`), or its class (`2xx`)
//!   with [`group_status_codes`].
//! - Requests whose template (or, without one, whose path) is in the
//!   exclude list are passed through uncounted: aioprometheus' list by
//!   default ([`DEFAULT_EXCLUDE_PATHS`]: `/metrics`, `/metrics/`, `/docs`,
//!   `/openapi.json`, `/docs/oauth2-redirect`, `/redoc`, `/favicon.ico`).
//!
//! # When each is counted
//! `requests_total` and `requests_in_flight` when the request reaches the
//! layer; `responses_total`, `status_codes_total` and the duration when
//! the inner service returns the response (its head: streaming the body
//! is not timed), as aioprometheus counts at `http.response.start`. An
//! inner service's `Err`, or a **panic** in the handler, counts one
//! `exceptions_total` and a response with status `500`, as aioprometheus
//! counts an exception (the panic then goes on unwinding). A request
//! dropped before it ends (the client went away, a timeout layer gave up)
//! counts no response and no duration. A panic in the inner service's
//! `call` itself (before it returns a future) counts as a panic in the
//! handler. `requests_in_flight` goes back down in every case: a guard
//! lowers it when the request's future ends or is dropped. It ends with
//! the response's head, not its body: a streaming response that takes a
//! minute to send is in flight only until its head is returned. Its
//! series never expire (a registry's
//! [`expire_after`](hotmetrics_core::RegistryBuilder::expire_after) does
//! not apply to them), so a long request is never dropped from the gauge.
//!
//! # Where to put it
//! The layer counts what the service inside it returns, not what the
//! client receives:
//! - An `Err` from the inner service counts as a `500`; what the client
//!   gets is decided outside the layer (axum's `HandleErrorLayer`, hyper
//!   closing the connection). Put the layer outside `HandleErrorLayer` (and
//!   outside tower's `TimeoutLayer` handled by it) to count the response
//!   the error handler makes, inside to count the errors themselves.
//! - A timeout outside the layer drops the request's future: no response,
//!   no duration, in flight no more (see above), not a `408` or `503`.
//! - With axum's `Router::route_layer` the layer wraps only the routes:
//!   requests no route matches (axum's `404`, a `405` for a method the
//!   route lacks) never reach it and are not counted. `Router::layer`
//!   counts them too, as [`UNMATCHED`].
//!
//! # Cost
//! No allocation per request once a thread has seen a method and route,
//! while the method, route (and status code) combinations a thread sees
//! fit its cache (512 series per family; a thread that sees more empties
//! its cache and allocates the entries again, 256 B each):
//! the series are found in each thread's own cache of the families
//! (hashing the label values, no lock), the route template is axum's
//! reference-counted string, the status code a static string. Per
//! request, besides the updates: one increment each of the reference
//! counts of the layer's shared state and of axum's template string
//! (words every thread handling that route writes; axum's own clone of
//! the service per request takes another), and two handles (the
//! in-flight guard, the timer) out of the calling thread's cache, whose
//! counts no other thread writes.
//!
//! A lookup refused because a family is at its series limit
//! ([`Opts::max_series`](hotmetrics_core::Opts::max_series), 10,000)
//! leaves that update out; the request is served all the same.
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use hotmetrics_core::{Registry, testing::assert_value};
//! use hotmetrics_tower::HttpMetricsLayer;
//! use tower::ServiceExt;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Registry::new();
//! let app: Router = Router::new()
//!     .route("/users/{id}", get(|| async { "a user" }))
//!     .layer(HttpMetricsLayer::new(&registry)?);
//!
//! let rt = tokio::runtime::Builder::new_current_thread().build()?;
//! let request = http::Request::get("/users/42").body(Body::empty())?;
//! let response = rt.block_on(app.oneshot(request))?;
//! assert_eq!(response.status(), 200);
//!
//! let route = [("method", "GET"), ("path", "/users/{id}")];
//! assert_value(&registry, "requests_total", &route, 1.0);
//! assert_value(&registry, "status_codes_total", &[route[0], route[1], ("status_code", "200")], 1.0);
//! assert_value(&registry, "requests_in_flight", &route, 0.0);
//! assert_value(&registry, "request_duration_seconds_count", &route, 1.0);
//! # Ok(())
//! # }
//! ```
//!
//! Several layers built on one registry (two routers, say) share the six
//! families; the first one registers them, and a later one asking for
//! other buckets or constant labels fails to build
//! ([`BuildError::SettingsDiffer`]). A family of the six unregistered
//! since ([`Registry::unregister`](hotmetrics_core::Registry::unregister))
//! makes the next build register all six again.
//!
//! [`route_fn`]: HttpMetricsLayerBuilder::route_fn
//! [`group_status_codes`]: HttpMetricsLayerBuilder::group_status_codes
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod families;
mod future;
mod labels;
mod layer;

pub use families::BuildError;
pub use future::ResponseFuture;
pub use labels::{OTHER_METHOD, UNMATCHED};
pub use layer::{
    DEFAULT_EXCLUDE_PATHS, HttpMetrics, HttpMetricsLayer, HttpMetricsLayerBuilder, RouteFn,
};
