//! The layer, its builder and the service it wraps around the application.

use crate::families::{BuildError, Families};
use crate::future::{Outcome, Recording, ResponseFuture};
use crate::labels::{Route, method_label};
use hotmetrics_core::{Buckets, Registry};
use http::request::Parts;
use http::{Request, Response};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::task::{Context, Poll};

/// aioprometheus' default exclude list: requests whose route template (or,
/// unrouted, whose path) is one of these are not counted.
pub const DEFAULT_EXCLUDE_PATHS: &[&str] = &[
    "/metrics",
    "/metrics/",
    "/docs",
    "/openapi.json",
    "/docs/oauth2-redirect",
    "/redoc",
    "/favicon.ico",
];

/// Names a request's route when axum's `MatchedPath` does not (a tonic or
/// hyper service, a router of your own): a template such as
/// `"/users/{id}"`, one of a fixed set, never the raw path. Called only
/// for requests that carry no `MatchedPath` (feature `axum`); `None`
/// counts the request as [`UNMATCHED`](crate::UNMATCHED).
pub type RouteFn = fn(&Parts) -> Option<&'static str>;

/// What every service of one layer shares.
pub(crate) struct LayerState {
    pub(crate) families: Arc<Families>,
    exclude: Box<[Box<str>]>,
    pub(crate) group_status_codes: bool,
    route_fn: Option<RouteFn>,
}

impl LayerState {
    /// Starts recording `parts`' request, unless its route is excluded.
    fn start(self: &Arc<Self>, parts: &Parts) -> Option<Recording> {
        // axum's template first; the route function only without one.
        let route = match Route::matched(&parts.extensions) {
            Route::Unmatched => self
                .route_fn
                .and_then(|f| f(parts))
                .map_or(Route::Unmatched, Route::Static),
            matched => matched,
        };
        let key = route.template().unwrap_or(parts.uri.path());
        if self.exclude.iter().any(|p| **p == *key) {
            return None;
        }
        Some(Recording::start(
            Arc::clone(self),
            method_label(&parts.method),
            route,
        ))
    }
}

/// Builds an [`HttpMetricsLayer`]: the exclude list, status-code grouping,
/// buckets, constant labels and a route function.
#[derive(Clone)]
pub struct HttpMetricsLayerBuilder {
    registry: Registry,
    exclude: Vec<String>,
    group_status_codes: bool,
    buckets: Buckets,
    const_labels: Vec<(String, String)>,
    route_fn: Option<RouteFn>,
}

impl fmt::Debug for HttpMetricsLayerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpMetricsLayerBuilder")
            .field("exclude", &self.exclude)
            .field("group_status_codes", &self.group_status_codes)
            .field("buckets", &self.buckets)
            .field("const_labels", &self.const_labels)
            .field("route_fn", &self.route_fn.is_some())
            .finish()
    }
}

impl HttpMetricsLayerBuilder {
    /// Replaces the exclude list ([`DEFAULT_EXCLUDE_PATHS`]): requests
    /// whose route template is one of `paths`, or whose path is when no
    /// template names it, are passed through uncounted. An empty list
    /// counts everything.
    pub fn exclude_paths<I, P>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.exclude = paths.into_iter().map(Into::into).collect();
        self
    }

    /// Counts status codes by class, `2xx` for `200`, `201`, ...
    /// (aioprometheus' `group_status_codes`); off by default.
    pub fn group_status_codes(mut self, group: bool) -> Self {
        self.group_status_codes = group;
        self
    }

    /// The buckets of `request_duration_seconds`
    /// ([`Buckets::default`], 5 ms to 10 s, unless set).
    pub fn buckets(mut self, buckets: Buckets) -> Self {
        self.buckets = buckets;
        self
    }

    /// Adds a label with a fixed value to the six families (aioprometheus'
    /// `const_labels`).
    pub fn const_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.const_labels.push((name.into(), value.into()));
        self
    }

    /// Names routes that axum's `MatchedPath` does not ([`RouteFn`]): a
    /// request with a `MatchedPath` is labelled with it, whatever the
    /// function would say.
    ///
    /// ```
    /// use hotmetrics_tower::HttpMetricsLayer;
    /// use http::request::Parts;
    ///
    /// /// A tonic server's methods, a fixed set.
    /// fn grpc_method(parts: &Parts) -> Option<&'static str> {
    ///     match parts.uri.path() {
    ///         "/shop.Orders/Place" => Some("/shop.Orders/Place"),
    ///         "/shop.Orders/Cancel" => Some("/shop.Orders/Cancel"),
    ///         _ => None, // counted as `<unmatched>`
    ///     }
    /// }
    ///
    /// let registry = hotmetrics_core::Registry::new();
    /// let layer = HttpMetricsLayer::builder(&registry).route_fn(grpc_method).build().unwrap();
    /// # let _ = layer;
    /// ```
    pub fn route_fn(mut self, route: RouteFn) -> Self {
        self.route_fn = Some(route);
        self
    }

    /// Registers the six families, or finds them: layers built on one
    /// registry share them, so a later layer must ask for the buckets and
    /// constant labels of the first ([`BuildError::SettingsDiffer`]
    /// otherwise). Fails when a family's name is taken by another of the
    /// registry's families, or when a constant label or the buckets are
    /// invalid ([`BuildError::Registry`]); nothing is left registered
    /// then. If any of the six was unregistered since, all six are
    /// registered again, with this builder's settings.
    pub fn build(self) -> Result<HttpMetricsLayer, BuildError> {
        let families = Families::of(&self.registry, &self.buckets, &self.const_labels)?;
        Ok(HttpMetricsLayer {
            shared: Arc::new(LayerState {
                families,
                exclude: self
                    .exclude
                    .into_iter()
                    .map(String::into_boxed_str)
                    .collect(),
                group_status_codes: self.group_status_codes,
                route_fn: self.route_fn,
            }),
        })
    }
}

/// A [`tower_layer::Layer`] that counts every HTTP request of the services
/// it wraps (axum routers, tonic servers, hyper services): see the
/// [crate docs](crate) for the metrics.
#[derive(Clone)]
pub struct HttpMetricsLayer {
    shared: Arc<LayerState>,
}

impl fmt::Debug for HttpMetricsLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpMetricsLayer")
            .field("exclude", &self.shared.exclude)
            .field("group_status_codes", &self.shared.group_status_codes)
            .finish_non_exhaustive()
    }
}

impl HttpMetricsLayer {
    /// A layer with aioprometheus' defaults, on `registry`.
    pub fn new(registry: &Registry) -> Result<Self, BuildError> {
        Self::builder(registry).build()
    }

    /// A builder, on `registry`.
    pub fn builder(registry: &Registry) -> HttpMetricsLayerBuilder {
        HttpMetricsLayerBuilder {
            registry: registry.clone(),
            exclude: DEFAULT_EXCLUDE_PATHS
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            group_status_codes: false,
            buckets: Buckets::default(),
            const_labels: Vec::new(),
            route_fn: None,
        }
    }
}

impl<S> tower_layer::Layer<S> for HttpMetricsLayer {
    type Service = HttpMetrics<S>;

    fn layer(&self, inner: S) -> HttpMetrics<S> {
        HttpMetrics {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service [`HttpMetricsLayer`] wraps around `S`.
#[derive(Clone)]
pub struct HttpMetrics<S> {
    inner: S,
    shared: Arc<LayerState>,
}

impl<S: fmt::Debug> fmt::Debug for HttpMetrics<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpMetrics")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S> HttpMetrics<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for HttpMetrics<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (parts, body) = request.into_parts();
        let recording = self.shared.start(&parts);
        let request = Request::from_parts(parts, body);
        // A panic in the inner `call` itself (before any future exists) is
        // an exception too: recorded here, then it goes on unwinding.
        match catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(inner) => ResponseFuture::new(inner, recording),
            Err(panic) => {
                if let Some(recording) = recording {
                    recording.finish(Outcome::Exception);
                }
                resume_unwind(panic)
            }
        }
    }
}
