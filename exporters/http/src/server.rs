//! [`Server`]: the endpoint on its own thread and tokio runtime, for
//! applications that are not async.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hotmetrics_core::Registry;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::connections::{BUSY_RESPONSE, ConnectionTable, Slot, answer_busy};
use crate::limits::{Activity, Limits, Watched};
use crate::routes::Routes;
use crate::self_metrics::ConnectionMetrics;
use crate::service::{MetricsService, ServiceConfig};
use crate::{DEFAULT_ADDR, Error};

/// Entry point: [`Server::builder`].
///
/// ```
/// use hotmetrics_core::Registry;
/// use hotmetrics_http::Server;
///
/// let registry = Registry::new();
/// let handle = Server::builder(registry.clone())
///     .addr("127.0.0.1:0".parse().unwrap())
///     .start()?;
/// println!("scrape http://{}/metrics", handle.local_addr());
/// handle.shutdown()?;
/// # Ok::<(), hotmetrics_http::Error>(())
/// ```
#[derive(Debug)]
pub struct Server {
    _private: (),
}

impl Server {
    /// A builder serving `registry`, with the safe defaults:
    /// [`DEFAULT_ADDR`] (loopback only), the scrape at `/metrics`, no
    /// authentication, no TLS, gzip on, the limits listed on
    /// [`ServerBuilder`]. An application that registers into the
    /// process-wide registry passes it too:
    /// `Server::builder(hotmetrics_core::default_registry().clone())`.
    pub fn builder(registry: Registry) -> ServerBuilder {
        ServerBuilder {
            registry,
            routes: Routes::default(),
            addr: DEFAULT_ADDR,
            service: ServiceConfig::default(),
            limits: Limits::default(),
            #[cfg(feature = "tls")]
            tls: None,
            config_error: None,
            path_error: None,
        }
    }
}

/// Configures and starts a [`Server`], or builds a [`MetricsService`] with
/// the same settings for a server of your own.
///
/// | setting | default |
/// |---|---|
/// | [`addr`](Self::addr) | [`DEFAULT_ADDR`], `127.0.0.1:9464`: reachable from this host only |
/// | [`path`](Self::path) | `/metrics` |
/// | [`max_connections`](Self::max_connections) | 64; a newcomer over it takes the place of the connection idle longest (or stuck longest on its request head or response), else gets 503 with `Retry-After: 1`; never a queue |
/// | [`max_concurrent_scrapes`](Self::max_concurrent_scrapes) | 4; further scrapes get 503 with `Retry-After: 1` |
/// | [`max_header_bytes`](Self::max_header_bytes) | 16 KiB; larger request heads get 431 |
/// | [`max_request_body`](Self::max_request_body) | 1 KiB declared `Content-Length`; larger gets 413 |
/// | [`header_read_timeout`](Self::header_read_timeout) | 10 s from connect (or from the first byte after a response) to a complete request head |
/// | [`idle_timeout`](Self::idle_timeout) | 90 s without traffic, then the connection is closed |
/// | [`shutdown_timeout`](Self::shutdown_timeout) | 5 s for in-flight requests at shutdown |
#[derive(Debug)]
#[must_use = "a builder does nothing until `start` or `build_service`"]
pub struct ServerBuilder {
    registry: Registry,
    /// The standalone server's routes; a built service has none.
    routes: Routes,
    addr: SocketAddr,
    service: ServiceConfig,
    limits: Limits,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsPem>,
    /// The first invalid setting, reported by `start`.
    config_error: Option<String>,
    /// An invalid [`path`](ServerBuilder::path), reported by `start` only
    /// (a `build_service` service has no path).
    path_error: Option<String>,
}

impl ServerBuilder {
    /// The address to listen on (default [`DEFAULT_ADDR`]). Port 0 picks a
    /// free port; [`ServerHandle::local_addr`] tells which. Use
    /// `0.0.0.0:9464` to be reachable from other hosts, preferably with
    /// authentication and TLS.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The path the server scrapes on (default `/metrics`): the one your
    /// platform scrapes, `/internal/metrics` say. It must start with `/`
    /// and hold only letters, digits, `/` and `-._~!$&'()*+,;=:@` (no
    /// query, fragment or percent-escapes); it is compared with the
    /// request's path exactly, the query string left out. `/health` stays
    /// the liveness route and cannot be chosen; `/` replaces the landing
    /// page. [`start`](Self::start) reports a bad path as
    /// [`Error::Config`].
    ///
    /// A [`build_service`](Self::build_service) service has no routes: it
    /// scrapes on whatever path your router mounts it on.
    pub fn path(mut self, path: impl AsRef<str>) -> Self {
        match Routes::new(path.as_ref()) {
            Ok(routes) => self.routes = routes,
            Err(reason) => {
                self.path_error.get_or_insert(reason);
            }
        }
        self
    }

    /// Registers the server's own metrics into the served registry
    /// (default off). Names are fixed (the registry's prefix, if any, goes
    /// in front):
    /// - `hotmetrics_http_scrapes_total{format="text|openmetrics|protobuf"}`:
    ///   scrapes served, counted as they start (a scrape includes itself);
    /// - `hotmetrics_http_scrapes_rejected_total{reason="busy|unauthorized"}`;
    /// - `hotmetrics_http_scrape_duration_seconds`: histogram of encode
    ///   (and compression) time;
    /// - `hotmetrics_http_scrape_bytes_total`: exposition bytes encoded,
    ///   before compression;
    /// - `hotmetrics_http_scrape_series`: series in the last scrape;
    ///
    /// and, for the standalone server only (not a
    /// [`build_service`](Self::build_service) service):
    /// - `hotmetrics_http_connections_open`: connections holding one of
    ///   the [`max_connections`](Self::max_connections) slots;
    /// - `hotmetrics_http_connections_closed_total{reason="evicted|rejected|header_timeout|idle_timeout"}`:
    ///   connections the server closed on its own: to make room for a
    ///   newcomer, a newcomer answered 503 because none could be made, a
    ///   request head (or TLS handshake) over
    ///   [`header_read_timeout`](Self::header_read_timeout), no traffic
    ///   for [`idle_timeout`](Self::idle_timeout).
    ///
    /// Registering twice in one registry fails with
    /// [`Error::SelfMetrics`].
    pub fn self_metrics(mut self, enabled: bool) -> Self {
        self.service.self_metrics = enabled;
        self
    }

    /// Requires HTTP Basic authentication (RFC 7617) on every path except
    /// the server's `/health`, which stays open for liveness probes (a
    /// [`build_service`](Self::build_service) service asks on every
    /// path). Compared in constant time. Without TLS the password crosses
    /// the network in clear text. The user name may not contain `:`.
    pub fn basic_auth(mut self, user: impl AsRef<str>, password: impl AsRef<str>) -> Self {
        if let Err(e) = self
            .service
            .auth
            .set_basic(user.as_ref(), password.as_ref())
        {
            self.config_error.get_or_insert(e.to_string());
        }
        self
    }

    /// Requires `Authorization: Bearer <token>` (RFC 6750) on every path
    /// except `/health`; with [`basic_auth`](Self::basic_auth) too, either
    /// one is accepted. The token uses the RFC 6750 character set
    /// (`A-Z a-z 0-9 - . _ ~ + / =`).
    pub fn bearer_token(mut self, token: impl AsRef<str>) -> Self {
        if let Err(e) = self.service.auth.set_bearer(token.as_ref()) {
            self.config_error.get_or_insert(e.to_string());
        }
        self
    }

    /// Serves HTTPS with this certificate chain (PEM, leaf first) and
    /// private key (PEM: PKCS#8, PKCS#1 or SEC1). Checked by
    /// [`start`](Self::start), which fails with [`Error::Tls`] if they are
    /// unusable. TLS 1.2 and 1.3 through rustls with the *ring* provider.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls_pem(mut self, cert_chain_pem: &[u8], key_pem: &[u8]) -> Self {
        self.tls = Some(crate::tls::TlsPem {
            cert_chain: cert_chain_pem.to_vec(),
            key: key_pem.to_vec(),
        });
        self
    }

    /// Whether `/metrics` may answer with gzip when the request's
    /// `Accept-Encoding` allows it (default on).
    pub fn gzip(mut self, enabled: bool) -> Self {
        self.service.gzip = enabled;
        self
    }

    /// The most connections served at once (default 64, at least 1).
    ///
    /// The server accepts every connection at once, so no client waits in
    /// the kernel's listen backlog (1024 asked for, capped by
    /// `net.core.somaxconn`). A newcomer over the limit takes the place
    /// of, in this order:
    /// 1. the idle keep-alive connection idle longest;
    /// 2. the connection reading its request head (TLS handshake
    ///    included) longest, if for at least 250 ms;
    /// 3. the connection sending its response longest (a client that
    ///    reads slowly or not at all), if for at least 250 ms.
    ///
    /// The closed connection's client sees end of file. A connection
    /// computing a response is never closed: when every connection is
    /// computing one or has only just begun (less than 250 ms, so that
    /// clients connecting at the same moment do not cut each other off),
    /// the newcomer gets `503 Service Unavailable` with `Retry-After: 1`
    /// and `Connection: close`, written without reading its request, and
    /// is closed within a second (over TLS it is closed without an
    /// answer, which would only fail its handshake).
    ///
    /// So idle, slow or stalled connections, however many, cannot keep a
    /// scrape out: to crowd one out, a client has to open
    /// `max_connections` new connections every 250 ms. With
    /// [`self_metrics`](Self::self_metrics),
    /// `hotmetrics_http_connections_closed_total` counts evictions and
    /// rejections.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::TcpStream;
    ///
    /// let server = hotmetrics_http::Server::builder(hotmetrics_core::Registry::new())
    ///     .addr("127.0.0.1:0".parse().unwrap())
    ///     .max_connections(1)
    ///     .start()?;
    /// let health = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    /// let mut response = [0u8; 17];
    /// // A keep-alive connection, idle after its request...
    /// let mut first = TcpStream::connect(server.local_addr()).unwrap();
    /// first.write_all(health).unwrap();
    /// first.read_exact(&mut response).unwrap();
    /// assert_eq!(&response, b"HTTP/1.1 200 OK\r\n");
    /// // ...makes room for the next client...
    /// let mut second = TcpStream::connect(server.local_addr()).unwrap();
    /// second.write_all(health).unwrap();
    /// second.read_exact(&mut response).unwrap();
    /// assert_eq!(&response, b"HTTP/1.1 200 OK\r\n");
    /// // ...and is closed.
    /// let mut rest = Vec::new();
    /// first.read_to_end(&mut rest).unwrap();
    /// assert!(rest.ends_with(b"OK\n"), "the rest of the first response, then end of file");
    /// # Ok::<(), hotmetrics_http::Error>(())
    /// ```
    pub fn max_connections(mut self, max: usize) -> Self {
        self.limits.max_connections = max;
        self
    }

    /// The most scrapes encoded at once (default 4, at least 1); more get
    /// `503 Service Unavailable` with `Retry-After: 1` right away.
    pub fn max_concurrent_scrapes(mut self, max: usize) -> Self {
        self.limits.max_concurrent_scrapes = max;
        self.service.max_concurrent_scrapes = max;
        self
    }

    /// The largest request head, request line included (default 16 KiB,
    /// at least 1 KiB); a larger one gets `431 Request Header Fields Too
    /// Large` and the connection is closed.
    pub fn max_header_bytes(mut self, max: usize) -> Self {
        self.limits.max_header_bytes = max;
        self
    }

    /// The largest `Content-Length` a request may declare (default 1 KiB);
    /// more gets `413 Content Too Large`. Bodies are never read.
    pub fn max_request_body(mut self, max: u64) -> Self {
        self.service.max_request_body = max;
        self
    }

    /// How long a request head may take to arrive, counted from the
    /// connection's start (or the end of its TLS handshake, which has as
    /// long) or from the first byte after the previous response (default
    /// 10 s); then the connection is closed. Over
    /// [`max_connections`](Self::max_connections), a newcomer may close a
    /// slow one sooner.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// How long a connection may go without reading or writing a byte,
    /// outside the computing of a response, before it is closed (default
    /// 90 s). This closes idle keep-alive connections and clients that
    /// stopped reading their response.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// How long [`ServerHandle::shutdown`] lets in-flight requests finish
    /// (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.limits.shutdown_timeout = timeout;
        self
    }

    /// A readiness check behind `/health` (standalone server only): its
    /// [`HealthAnswer`](crate::HealthAnswer) is sent as JSON with `200 OK`
    /// when healthy and `503 Service Unavailable` when not. Without one,
    /// `/health` answers a plain `200 OK`. `/health` stays open when
    /// authentication is required (probes carry no credentials), so the
    /// report should hold nothing secret.
    pub fn health(mut self, check: std::sync::Arc<dyn crate::HealthCheck>) -> Self {
        self.service.probes.health = Some(check);
        self
    }

    /// A JSON view served at `/stats` (standalone server only), behind the
    /// same authentication as the scrape. Without one, `/stats` is `404`.
    /// The scrape [`path`](Self::path) cannot be `/stats` then.
    pub fn stats(mut self, stats: std::sync::Arc<dyn crate::StatsJson>) -> Self {
        self.service.probes.stats = Some(stats);
        self
    }

    fn check(&self) -> Result<(), Error> {
        if let Some(reason) = &self.config_error {
            return Err(Error::Config(reason.clone()));
        }
        self.limits.validate()
    }

    /// A [`MetricsService`] with these settings (authentication, gzip,
    /// scrape and body limits, self-metrics), for an HTTP server of your
    /// own. It scrapes on every path (your router chose it); the address,
    /// [`path`](Self::path), TLS, connection limits and timeouts are the
    /// standalone server's business and play no part.
    pub fn build_service(self) -> Result<MetricsService, Error> {
        self.check()?;
        MetricsService::with_config(self.registry, self.service)
    }

    /// Binds the address and starts serving on a new thread
    /// (`hotmetrics-http`) with its own single-threaded tokio runtime;
    /// scrapes are encoded on up to
    /// [`max_concurrent_scrapes`](Self::max_concurrent_scrapes) helper
    /// threads of that runtime, started on demand, and `/health` and
    /// `/stats` answered on as many more. The application's
    /// threads do no work for the server.
    ///
    /// Returns once the socket listens, so a scrape can follow at once.
    pub fn start(self) -> Result<ServerHandle, Error> {
        self.check()?;
        if self.service.probes.stats.is_some() && self.routes.scrapes_at(crate::routes::STATS_PATH)
        {
            return Err(Error::Config(format!(
                "the metrics path cannot be {}: a stats view is set",
                crate::routes::STATS_PATH
            )));
        }
        if let Some(reason) = &self.path_error {
            return Err(Error::Config(reason.clone()));
        }
        #[cfg(feature = "tls")]
        let tls = self
            .tls
            .as_ref()
            .map(crate::tls::TlsPem::acceptor)
            .transpose()?;
        let addr = self.addr;
        let limits = Arc::new(self.limits.clone());
        let listener = bind(addr).map_err(|source| Error::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let mut config = self.service;
        config.routes = Some(self.routes);
        let self_metrics = config.self_metrics;
        let service = MetricsService::with_config(self.registry, config)?;
        // After the service's: a registry that has those already (another
        // server's) is refused before anything is registered.
        let connection_metrics = if self_metrics {
            Some(ConnectionMetrics::register(service.registry())?)
        } else {
            None
        };
        let table = ConnectionTable::new(limits.max_connections, connection_metrics);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            // The scrapes' slots and as many for /health and /stats: a slow
            // probe never queues a scrape behind it.
            .max_blocking_threads(limits.max_concurrent_scrapes.saturating_mul(2).max(1))
            .thread_name("hotmetrics-http-encode")
            .build()
            .map_err(Error::Runtime)?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let serving = Serving {
            service: service.clone(),
            http: Arc::new(limits.http1()),
            limits,
            table,
            #[cfg(feature = "tls")]
            tls,
        };
        let thread = std::thread::Builder::new()
            .name("hotmetrics-http".into())
            .spawn(move || {
                let result = runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener).map_err(Error::Runtime)?;
                    serving.run(listener, shutdown_rx).await
                });
                // Encodes still running (a stuck collector) are abandoned.
                runtime.shutdown_timeout(Duration::from_millis(100));
                result
            })
            .map_err(Error::Runtime)?;
        Ok(ServerHandle {
            local_addr,
            service,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        })
    }
}

/// A running [`Server`]. Dropping it shuts the server down, as
/// [`shutdown`](Self::shutdown) does, and waits for it.
#[derive(Debug)]
#[must_use = "dropping the handle stops the server"]
pub struct ServerHandle {
    local_addr: SocketAddr,
    service: MetricsService,
    shutdown: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<Result<(), Error>>>,
}

impl ServerHandle {
    /// The address the server listens on (with the real port when port 0
    /// was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The service answering the requests (to look at its buffer pool).
    pub fn service(&self) -> &MetricsService {
        &self.service
    }

    /// Stops accepting connections, lets requests in flight finish (up to
    /// [`shutdown_timeout`](ServerBuilder::shutdown_timeout), then closes
    /// the connections still busy), closes idle keep-alive connections,
    /// and waits for the server thread to end. Blocks for at most about
    /// the shutdown timeout.
    ///
    /// Errors: [`Error::ShutdownTimeout`] if connections had to be cut,
    /// [`Error::ServerPanicked`], or the error that had already stopped
    /// the server.
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.stop()
    }

    /// Whether the server thread has ended (it only does on its own if its
    /// runtime failed).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    fn stop(&mut self) -> Result<(), Error> {
        if let Some(tx) = self.shutdown.take() {
            // The server may already be gone; `thread` tells why.
            let _ = tx.send(true);
        }
        match self.thread.take() {
            Some(thread) => thread.join().unwrap_or(Err(Error::ServerPanicked)),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The listen backlog asked for: connections the kernel completes before
/// the server accepts them. The server accepts at once and answers or
/// closes what it cannot serve, so this only has to absorb a burst of
/// connects; the kernel caps it at `net.core.somaxconn` (4096 on Linux
/// since 5.4, 128 before).
const LISTEN_BACKLOG: i32 = 1024;

/// A non-blocking listener on `addr` with [`LISTEN_BACKLOG`] (std's
/// `TcpListener::bind` takes 128).
fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // As std does: a restarted server can bind while old connections of
    // the port linger in TIME_WAIT.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// What the server thread needs.
struct Serving {
    service: MetricsService,
    http: Arc<http1::Builder>,
    limits: Arc<Limits>,
    table: Arc<ConnectionTable>,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Resolves when shutdown is asked for (or the handle is gone).
async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

impl Serving {
    async fn run(
        self,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), Error> {
        let mut connections = JoinSet::new();
        // Rejected newcomers being answered `503`; at most
        // `max_connections` of them linger for the client to read it.
        let mut rejections = JoinSet::new();
        loop {
            while connections.try_join_next().is_some() {}
            while rejections.try_join_next().is_some() {}
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = shutdown_requested(&mut shutdown) => break,
            };
            let stream = match accepted {
                Ok((stream, _peer)) => stream,
                Err(_) => {
                    // Out of file descriptors, a connection reset before
                    // accept, ...: back off briefly instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            match self.table.admit(Instant::now()) {
                Some((slot, evicted)) => {
                    let connection = Connection {
                        service: self.service.clone(),
                        http: Arc::clone(&self.http),
                        limits: Arc::clone(&self.limits),
                        shutdown: shutdown.clone(),
                        slot,
                    };
                    #[cfg(feature = "tls")]
                    let tls = self.tls.clone();
                    connections.spawn(async move {
                        tokio::select! {
                            () = evicted.wait() => {}
                            () = async move {
                                #[cfg(feature = "tls")]
                                if let Some(tls) = tls {
                                    connection.serve_tls(stream, tls).await;
                                    return;
                                }
                                connection.serve(stream).await;
                            } => {}
                        }
                        // Either way the connection is dropped: closed.
                    });
                }
                None => self.reject(stream, &mut rejections),
            }
            // Lets the new connection read the request it may have sent
            // already before the next accept, and keeps a flood of
            // connects from holding the thread.
            tokio::task::yield_now().await;
        }
        drop(listener);
        rejections.shutdown().await;
        let drained = tokio::time::timeout(self.limits.shutdown_timeout, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        match drained {
            Ok(()) => Ok(()),
            Err(_) => {
                let closed = connections.len();
                connections.shutdown().await;
                Err(Error::ShutdownTimeout { closed })
            }
        }
    }

    /// A newcomer no connection can make room for: `503` with
    /// `Retry-After: 1` and `Connection: close`, its request unread. Over
    /// TLS it is closed instead (a plain-text answer would only fail its
    /// handshake).
    fn reject(&self, stream: TcpStream, rejections: &mut JoinSet<()>) {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return;
        }
        if rejections.len() < self.limits.max_connections {
            rejections.spawn(answer_busy(stream));
        } else {
            // Too many answers lingering already: what fits in the socket
            // buffer (all of it, for a new connection), then close.
            let _ = stream.try_write(BUSY_RESPONSE);
        }
    }
}

/// One accepted connection.
struct Connection {
    service: MetricsService,
    http: Arc<http1::Builder>,
    limits: Arc<Limits>,
    shutdown: watch::Receiver<bool>,
    slot: Slot,
}

impl Connection {
    /// The handshake counts as reading the request head: it has
    /// `header_read_timeout`, and the connection can be evicted meanwhile.
    #[cfg(feature = "tls")]
    async fn serve_tls(self, stream: TcpStream, tls: tokio_rustls::TlsAcceptor) {
        let handshake = tokio::time::timeout(self.limits.header_read_timeout, tls.accept(stream));
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            done = handshake => match done {
                Ok(Ok(stream)) => self.serve(stream).await,
                Ok(Err(_)) => {}
                Err(_) => self
                    .slot
                    .closing(crate::self_metrics::CloseReason::HeaderTimeout),
            },
            () = shutdown_requested(&mut shutdown) => {}
        }
    }

    /// Serves HTTP/1.1 on `io` until the client closes, a limit closes it,
    /// or shutdown drains it.
    async fn serve<IO>(self, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            service,
            http,
            limits,
            mut shutdown,
            slot,
        } = self;
        let activity = Activity::new(slot);
        let io = TokioIo::new(Watched::new(io, Arc::clone(&activity)));
        let tracked = Arc::clone(&activity);
        let handler = hyper::service::service_fn(move |request| {
            let guard = tracked.request_started();
            let response = service.handle(request);
            async move {
                let response = response.await;
                drop(guard);
                Ok::<_, Infallible>(response)
            }
        });
        let mut connection = pin!(http.serve_connection(io, handler));
        let mut watchdog = tokio::time::interval(limits.watchdog_tick());
        watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut draining = false;
        loop {
            tokio::select! {
                // Finished, or failed (client gone, malformed request
                // already answered by hyper): either way, done.
                _ = connection.as_mut() => return,
                _ = watchdog.tick() => {
                    if let Some(expired) = activity.expired(&limits) {
                        activity.slot().closing(expired.reason());
                        // Dropping the connection closes the socket.
                        return;
                    }
                }
                () = shutdown_requested(&mut shutdown), if !draining => {
                    // Finishes a request in flight, then closes; closes an
                    // idle connection at once.
                    connection.as_mut().graceful_shutdown();
                    draining = true;
                }
            }
        }
    }
}
