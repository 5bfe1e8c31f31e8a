//! [`MetricsService`]: the scrape (and, for the standalone server, its
//! routes), for any server that speaks `http` types.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use hotmetrics_core::Registry;
use hotmetrics_exposition::{Negotiated, ScrapeEncoder, negotiate_bytes};
use http::header::{
    ACCEPT, ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE,
    HeaderMap, HeaderValue, RETRY_AFTER, VARY, WWW_AUTHENTICATE,
};
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;

use crate::Error;
use crate::auth::Auth;
use crate::gzip::{GzipEncoder, accepts_gzip};
use crate::limits::{DEFAULT_MAX_CONCURRENT_SCRAPES, DEFAULT_MAX_REQUEST_BODY};
use crate::probes::Probes;
use crate::routes::{Route, Routes};
use crate::self_metrics::SelfMetrics;

/// The response body type of every route.
type Body = Full<Bytes>;

const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const GET_HEAD: HeaderValue = HeaderValue::from_static("GET, HEAD");

/// The scrape endpoint as a service, for an application that already
/// runs an HTTP server: a [`tower::Service`] (feature `tower`, what axum
/// and other tower stacks mount), a [`hyper::service::Service`], and a
/// plain async [`handle`](Self::handle) method.
///
/// [`tower::Service`]: https://docs.rs/tower-service/0.3/tower_service/trait.Service.html
///
/// It answers the scrape on **whatever path it is mounted on**: choosing
/// the path is the router's job. (The standalone [`Server`](crate::Server)
/// routes for itself: `/metrics` or its
/// [`path`](crate::ServerBuilder::path), `/`, `/health`.)
///
/// | method | answer |
/// |---|---|
/// | `GET`, `HEAD` | the registry, in the format the `Accept` header negotiates, gzip if `Accept-Encoding` allows; `HEAD` without the body |
/// | other methods | 405, `Allow: GET, HEAD` |
///
/// With credentials configured
/// ([`ServerBuilder::build_service`](crate::ServerBuilder::build_service)),
/// a request without them gets 401 (with `WWW-Authenticate`). A declared
/// `Content-Length` above the body limit gets 413; request bodies are
/// otherwise never read. More concurrent scrapes than the limit get 503
/// with `Retry-After: 1` at once instead of queueing.
///
/// Encoding runs on tokio's blocking pool when called inside a tokio
/// runtime (so a slow collector never stalls the connections of the
/// runtime's worker), inline otherwise. Encoders and buffers are pooled:
/// a steady stream of scrapes reuses the same allocations.
///
/// Cloning is cheap (an `Arc`); clones share the pool and the limits.
///
/// ```
/// use bytes::Bytes;
/// use hotmetrics_core::Registry;
/// use hotmetrics_http::MetricsService;
/// use http::Request;
/// use http_body_util::BodyExt;
///
/// let registry = Registry::new();
/// registry.counter(("jobs", "Jobs done.")).unwrap().inc();
/// let service = MetricsService::new(registry);
///
/// let request = Request::get("/any/path").header("accept", "text/plain").body(()).unwrap();
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let response = runtime.block_on(service.handle(request));
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
/// let body: Bytes = runtime.block_on(response.into_body().collect()).unwrap().to_bytes();
/// assert_eq!(&body[..], b"# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 1\n");
/// ```
///
/// # In axum (or any tower stack)
/// With feature `tower`, the service is a `tower::Service` for requests
/// with any body type that never fails, so it mounts as it is:
/// `Router::route_service("/internal/metrics", service)`, or
/// `nest_service`, or `fallback_service`. The [crate docs](crate) have a
/// complete axum application.
#[derive(Clone)]
pub struct MetricsService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MetricsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = &self.inner;
        f.debug_struct("MetricsService")
            .field("registry", &inner.registry)
            .field("auth", &inner.config.auth)
            .field("gzip", &inner.config.gzip)
            .field(
                "max_concurrent_scrapes",
                &inner.config.max_concurrent_scrapes,
            )
            .field("max_request_body", &inner.config.max_request_body)
            .field("self_metrics", &inner.self_metrics.is_some())
            .finish_non_exhaustive()
    }
}

/// The settings of a [`MetricsService`], filled in by the server builder.
#[derive(Debug, Clone)]
pub(crate) struct ServiceConfig {
    pub(crate) auth: Auth,
    pub(crate) gzip: bool,
    pub(crate) max_concurrent_scrapes: usize,
    pub(crate) max_request_body: u64,
    pub(crate) self_metrics: bool,
    /// The standalone server's routes; `None` scrapes on every path.
    pub(crate) routes: Option<Routes>,
    /// What `/health` and `/stats` answer (standalone server only).
    pub(crate) probes: Probes,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            auth: Auth::default(),
            gzip: true,
            max_concurrent_scrapes: DEFAULT_MAX_CONCURRENT_SCRAPES,
            max_request_body: DEFAULT_MAX_REQUEST_BODY,
            self_metrics: false,
            routes: None,
            probes: Probes::default(),
        }
    }
}

struct Inner {
    registry: Registry,
    config: ServiceConfig,
    /// Scrapes being encoded.
    busy: AtomicUsize,
    /// `/health` and `/stats` answers being computed (their own slots, so
    /// that a busy scrape never fails a readiness probe).
    probes_busy: AtomicUsize,
    /// Idle encoders and buffers; at most `max_concurrent_scrapes`.
    pool: Mutex<Vec<Scratch>>,
    self_metrics: Option<SelfMetrics>,
}

/// What one scrape works in, reused by the next.
struct Scratch {
    encoder: ScrapeEncoder,
    /// The exposition; frozen into the response unless it gets compressed.
    body: BytesMut,
    gzip: Option<GzipEncoder>,
    /// The compressed exposition, frozen into the response.
    compressed: BytesMut,
    /// The allocation sizes of `body` and `compressed`: each scrape
    /// reserves them up front, which takes the whole allocation back once
    /// the previous response is gone (or makes a new one of the same size
    /// while it is still being sent).
    body_alloc: usize,
    compressed_alloc: usize,
}

impl Scratch {
    fn new() -> Self {
        Self {
            encoder: ScrapeEncoder::new(),
            body: BytesMut::new(),
            gzip: None,
            compressed: BytesMut::new(),
            body_alloc: 0,
            compressed_alloc: 0,
        }
    }
}

impl MetricsService {
    /// A service for `registry` with the defaults: no authentication, gzip
    /// on, 4 concurrent scrapes, 1 KiB of declared request body, no
    /// self-metrics; it scrapes on every path.
    /// [`ServerBuilder::build_service`](crate::ServerBuilder::build_service)
    /// sets the rest.
    pub fn new(registry: Registry) -> Self {
        Self::with_config(registry, ServiceConfig::default())
            .unwrap_or_else(|_| unreachable!("without self-metrics nothing can fail"))
    }

    pub(crate) fn with_config(registry: Registry, config: ServiceConfig) -> Result<Self, Error> {
        let self_metrics = if config.self_metrics {
            Some(SelfMetrics::register(&registry)?)
        } else {
            None
        };
        Ok(Self {
            inner: Arc::new(Inner {
                registry,
                config,
                busy: AtomicUsize::new(0),
                probes_busy: AtomicUsize::new(0),
                pool: Mutex::new(Vec::new()),
                self_metrics,
            }),
        })
    }

    /// The registry served.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Bytes allocated by the idle pooled scrape buffers (responses still
    /// being sent are not counted). Buffers are reused, not regrown, from
    /// one scrape to the next, so this stays near one exposition (plus its
    /// gzip) per pooled buffer, at most
    /// [`max_concurrent_scrapes`](crate::ServerBuilder::max_concurrent_scrapes)
    /// of them.
    pub fn pooled_bytes(&self) -> usize {
        self.inner
            .lock_pool()
            .iter()
            .map(|s| s.body_alloc + s.compressed_alloc)
            .sum()
    }

    /// Answers one request. The body is dropped unread, so any body type
    /// will do, and the future holds neither it nor `self`.
    pub fn handle<B>(
        &self,
        request: Request<B>,
    ) -> impl Future<Output = Response<Full<Bytes>>> + Send + 'static + use<B> {
        let (parts, body) = request.into_parts();
        drop(body);
        let inner = Arc::clone(&self.inner);
        async move { inner.respond(parts).await }
    }
}

/// The future of [`MetricsService`]'s `Service::call` (hyper's and
/// tower's); it never fails.
pub struct ResponseFuture {
    inner: Pin<Box<dyn Future<Output = Response<Body>> + Send>>,
}

impl std::fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx).map(Ok)
    }
}

impl MetricsService {
    /// What both `Service::call`s return.
    fn call_boxed<B>(&self, request: Request<B>) -> ResponseFuture {
        ResponseFuture {
            inner: Box::pin(self.handle(request)),
        }
    }
}

/// Any request body type: the body is dropped unread.
impl<B> hyper::service::Service<Request<B>> for MetricsService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<B>) -> ResponseFuture {
        self.call_boxed(request)
    }
}

/// Always ready, never fails; any request body type (axum's included):
/// the body is dropped unread.
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
impl<B> tower_service::Service<Request<B>> for MetricsService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> ResponseFuture {
        self.call_boxed(request)
    }
}

/// One of the `max_concurrent_scrapes` slots, given back on drop: when
/// the encode is over, or when it never ran.
struct ScrapePermit(Arc<Inner>);

impl Drop for ScrapePermit {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One of the `max_concurrent_scrapes` slots of `/health` and `/stats`
/// (counted apart from the scrapes'), given back on drop.
struct ProbePermit(Arc<Inner>);

impl Drop for ProbePermit {
    fn drop(&mut self) {
        self.0.probes_busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A probe's answer: computed, all slots taken, or the probe panicked.
enum ProbeRun<T> {
    Done(T),
    Busy,
    Failed,
}

/// `503` with `Retry-After: 1`.
fn busy(message: &'static str, head: bool) -> Response<Body> {
    let mut response = text(StatusCode::SERVICE_UNAVAILABLE, message, head);
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

impl Inner {
    fn lock_pool(&self) -> std::sync::MutexGuard<'_, Vec<Scratch>> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn respond(self: Arc<Self>, parts: Parts) -> Response<Body> {
        let route = match &self.config.routes {
            // Mounted: the router chose this path.
            None => Route::Metrics,
            Some(routes) => routes.route(parts.uri.path()),
        };
        let get_or_head = parts.method == Method::GET || parts.method == Method::HEAD;
        let head = parts.method == Method::HEAD;
        if route == Route::Health {
            return match (&self.config.probes.health, get_or_head) {
                (_, false) => method_not_allowed(head),
                (None, true) => text(StatusCode::OK, "OK\n", head),
                (Some(check), true) => {
                    let check = Arc::clone(check);
                    match self.probe(move || check.check()).await {
                        ProbeRun::Done(answer) => {
                            let status = if answer.healthy {
                                StatusCode::OK
                            } else {
                                StatusCode::SERVICE_UNAVAILABLE
                            };
                            json(status, answer.json, head)
                        }
                        ProbeRun::Busy => busy("Too many concurrent health checks\n", head),
                        ProbeRun::Failed => text(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "Health check failed\n",
                            head,
                        ),
                    }
                }
            };
        }
        if declared_body(&parts.headers).is_some_and(|n| n > self.config.max_request_body) {
            let mut response = text(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body too large\n",
                head,
            );
            // The body is never read: the connection cannot be reused.
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
        if !self.config.auth.allows(&parts.headers) {
            if let Some(m) = &self.self_metrics
                && route == Route::Metrics
            {
                m.rejected_unauthorized();
            }
            let mut response = text(StatusCode::UNAUTHORIZED, "Unauthorized\n", head);
            for challenge in self.config.auth.challenges() {
                response.headers_mut().append(WWW_AUTHENTICATE, challenge);
            }
            return response;
        }
        match route {
            Route::NotFound => text(StatusCode::NOT_FOUND, "Not Found\n", head),
            Route::Stats => match &self.config.probes.stats {
                None => text(StatusCode::NOT_FOUND, "Not Found\n", head),
                Some(_) if !get_or_head => method_not_allowed(head),
                Some(stats) => {
                    let stats = Arc::clone(stats);
                    match self.probe(move || stats.stats_json()).await {
                        ProbeRun::Done(body) => json(StatusCode::OK, body, head),
                        ProbeRun::Busy => busy("Too many concurrent stats requests\n", head),
                        ProbeRun::Failed => {
                            text(StatusCode::INTERNAL_SERVER_ERROR, "Stats failed\n", head)
                        }
                    }
                }
            },
            _ if !get_or_head => method_not_allowed(head),
            Route::Landing(page) => {
                let mut response = reply(StatusCode::OK, page.clone(), head);
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                response
            }
            _ => self.scrape(&parts.headers, head).await,
        }
    }

    /// Runs a probe (`/health`, `/stats`: application code that may read
    /// files, take locks and serialise) on the blocking pool, off the
    /// async workers, in one of at most `max_concurrent_scrapes` slots;
    /// inline when there is no runtime.
    async fn probe<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> ProbeRun<T> {
        let max = self.config.max_concurrent_scrapes;
        if self
            .probes_busy
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .is_err()
        {
            return ProbeRun::Busy;
        }
        let permit = ProbePermit(Arc::clone(self));
        let job = move || {
            let _permit = permit;
            f()
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => match runtime.spawn_blocking(job).await {
                Ok(v) => ProbeRun::Done(v),
                Err(_) => ProbeRun::Failed,
            },
            Err(_) => ProbeRun::Done(job()),
        }
    }

    fn try_begin_scrape(self: &Arc<Self>) -> Option<ScrapePermit> {
        let max = self.config.max_concurrent_scrapes;
        self.busy
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| ScrapePermit(Arc::clone(self)))
    }

    async fn scrape(self: Arc<Self>, headers: &HeaderMap, head: bool) -> Response<Body> {
        let Some(permit) = self.try_begin_scrape() else {
            if let Some(m) = &self.self_metrics {
                m.rejected_busy();
            }
            return busy("Too many concurrent scrapes\n", head);
        };
        let accept = joined_accept(headers);
        let Some(chosen) = negotiate_bytes(accept.as_deref()) else {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "No exposition format compiled in\n",
                head,
            );
        };
        let gzip = self.config.gzip && accepts_gzip(headers);
        let job = move || {
            let permit = permit;
            permit.0.encode(chosen, gzip)
        };
        let encoded = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => match runtime.spawn_blocking(job).await {
                Ok(encoded) => encoded,
                // A collector panicked.
                Err(_) => {
                    return text(StatusCode::INTERNAL_SERVER_ERROR, "Scrape failed\n", head);
                }
            },
            Err(_) => job(),
        };
        let mut response = reply(StatusCode::OK, encoded.body, head);
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(chosen.content_type()),
        );
        headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if encoded.gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    }

    /// Encodes a scrape with pooled scratch space; runs on the blocking
    /// pool.
    fn encode(&self, chosen: Negotiated, gzip: bool) -> Encoded {
        let format = chosen.format();
        let mut scratch = self.lock_pool().pop().unwrap_or_else(Scratch::new);
        if let Some(m) = &self.self_metrics {
            m.scrape_started(format);
        }
        let started = Instant::now();
        let Scratch {
            encoder,
            body,
            gzip: gzip_encoder,
            compressed,
            body_alloc,
            compressed_alloc,
        } = &mut scratch;
        body.clear();
        body.reserve(*body_alloc);
        let series = encoder.encode_escaped(format, chosen.escaping(), &self.registry, body);
        // The buffer starts at its allocation's start here, so this is the
        // allocation's size.
        *body_alloc = body.capacity();
        let encoded_len = body.len();
        let mut compressed_ok = false;
        if gzip {
            compressed.clear();
            compressed.reserve(*compressed_alloc);
            compressed_ok = gzip_encoder
                .get_or_insert_with(GzipEncoder::new)
                .compress(body, compressed);
            *compressed_alloc = compressed.capacity();
        }
        let out = if compressed_ok {
            body.clear();
            compressed.split().freeze()
        } else {
            body.split().freeze()
        };
        if let Some(m) = &self.self_metrics {
            m.scrape_done(started.elapsed(), encoded_len, series as u64);
        }
        {
            let mut pool = self.lock_pool();
            if pool.len() < self.config.max_concurrent_scrapes {
                pool.push(scratch);
            }
        }
        Encoded {
            body: out,
            gzip: compressed_ok,
        }
    }
}

struct Encoded {
    body: Bytes,
    gzip: bool,
}

/// The request's `Accept` headers joined with `,` (RFC 9110 allows a
/// list to be split over several header lines).
fn joined_accept(headers: &HeaderMap) -> Option<std::borrow::Cow<'_, [u8]>> {
    let mut values = headers.get_all(ACCEPT).iter();
    let first = values.next()?;
    let Some(second) = values.next() else {
        return Some(std::borrow::Cow::Borrowed(first.as_bytes()));
    };
    let mut joined = first.as_bytes().to_vec();
    for value in std::iter::once(second).chain(values) {
        joined.push(b',');
        joined.extend_from_slice(value.as_bytes());
    }
    Some(std::borrow::Cow::Owned(joined))
}

/// The declared `Content-Length`, if any (hyper has already refused
/// malformed or conflicting ones).
fn declared_body(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A response with `body`, or, for `HEAD`, no body but the same
/// `Content-Length`.
fn reply(status: StatusCode, body: Bytes, head: bool) -> Response<Body> {
    let len = HeaderValue::from(body.len());
    let mut response = Response::new(Full::new(if head { Bytes::new() } else { body }));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_LENGTH, len);
    response
}

fn text(status: StatusCode, body: &'static str, head: bool) -> Response<Body> {
    let mut response = reply(status, Bytes::from_static(body.as_bytes()), head);
    response.headers_mut().insert(CONTENT_TYPE, TEXT_PLAIN);
    response
}

/// A JSON document, never cached (it is the state of the moment).
fn json(status: StatusCode, body: Vec<u8>, head: bool) -> Response<Body> {
    let mut response = reply(status, Bytes::from(body), head);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn method_not_allowed(head: bool) -> Response<Body> {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n", head);
    response.headers_mut().insert(ALLOW, GET_HEAD);
    response
}
