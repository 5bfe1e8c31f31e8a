//! Request and connection limits, and the per-connection watchdog that
//! enforces the timeouts hyper does not (or not separately) and keeps the
//! connection's phase in the connection table up to date.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::Error;
use crate::connections::{Phase, Slot};
use crate::self_metrics::CloseReason;

/// The limits a [`crate::ServerBuilder`] starts with.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) max_connections: usize,
    pub(crate) max_concurrent_scrapes: usize,
    pub(crate) max_header_bytes: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
}

/// Default [`Limits::max_connections`].
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 64;
/// Default [`Limits::max_concurrent_scrapes`].
pub(crate) const DEFAULT_MAX_CONCURRENT_SCRAPES: usize = 4;
/// Default [`Limits::max_header_bytes`].
pub(crate) const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;
/// Default request-body limit (the service enforces it).
pub(crate) const DEFAULT_MAX_REQUEST_BODY: u64 = 1024;
/// Smallest [`Limits::max_header_bytes`]: a request line plus a
/// Prometheus scrape's headers fit comfortably.
pub(crate) const MIN_HEADER_BYTES: usize = 1024;
/// hyper's smallest read buffer.
const MIN_BUF_SIZE: usize = 8192;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_concurrent_scrapes: DEFAULT_MAX_CONCURRENT_SCRAPES,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(90),
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

impl Limits {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let bad = |what: &str| Err(Error::Config(what.to_owned()));
        if self.max_connections == 0 {
            return bad("max_connections must be at least 1");
        }
        if self.max_concurrent_scrapes == 0 {
            return bad("max_concurrent_scrapes must be at least 1");
        }
        if self.max_header_bytes < MIN_HEADER_BYTES {
            return bad("max_header_bytes must be at least 1024");
        }
        if self.header_read_timeout.is_zero() || self.idle_timeout.is_zero() {
            return bad("timeouts must be positive");
        }
        Ok(())
    }

    /// hyper's HTTP/1 settings for these limits.
    pub(crate) fn http1(&self) -> hyper::server::conn::http1::Builder {
        let mut http = hyper::server::conn::http1::Builder::new();
        http.max_header_size(self.max_header_bytes)
            .max_buf_size(self.max_header_bytes.max(MIN_BUF_SIZE))
            .max_headers(100)
            // The watchdog below times request heads and idle connections.
            .header_read_timeout(None)
            .keep_alive(true);
        http
    }

    /// How often a connection's watchdog looks at its clock.
    pub(crate) fn watchdog_tick(&self) -> Duration {
        (self.header_read_timeout.min(self.idle_timeout) / 4)
            .clamp(Duration::from_millis(10), Duration::from_secs(1))
    }
}

/// What a connection has been doing, for its watchdog and its
/// [`Slot`] in the connection table. Written by the connection's own task
/// only (its IO and its requests), so `Relaxed` everywhere: nothing else
/// is published through these values.
#[derive(Debug)]
pub(crate) struct Activity {
    epoch: Instant,
    /// Last byte read or written, ms since `epoch`.
    last_io: AtomicU64,
    /// 1 + the ms since `epoch` when the request head now being read began
    /// (connection accepted, or first byte after the last response); 0 when
    /// no head is being read.
    head_started: AtomicU64,
    /// Requests whose response is being computed.
    in_flight: AtomicUsize,
    /// A response is computed and being sent: set when its request ends,
    /// cleared by the next completed flush.
    sending: AtomicBool,
    slot: Slot,
}

/// Why a connection's watchdog closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    /// A request head took longer than `header_read_timeout`.
    Head,
    /// No traffic for `idle_timeout`.
    Idle,
}

impl Expired {
    pub(crate) fn reason(self) -> CloseReason {
        match self {
            Expired::Head => CloseReason::HeaderTimeout,
            Expired::Idle => CloseReason::IdleTimeout,
        }
    }
}

impl Activity {
    /// A connection ready for HTTP (accepted, TLS handshake done): its
    /// first request head is being read.
    pub(crate) fn new(slot: Slot) -> Arc<Self> {
        Arc::new(Self {
            epoch: Instant::now(),
            last_io: AtomicU64::new(0),
            head_started: AtomicU64::new(1),
            in_flight: AtomicUsize::new(0),
            sending: AtomicBool::new(false),
            slot,
        })
    }

    /// The connection's slot in the table.
    pub(crate) fn slot(&self) -> &Slot {
        &self.slot
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn on_read(&self) {
        let now = self.now();
        self.last_io.store(now, Relaxed);
        if self.in_flight.load(Relaxed) == 0 && self.head_started.load(Relaxed) == 0 {
            self.head_started.store(now.saturating_add(1), Relaxed);
            // A request read while the last response is still being sent
            // (pipelining) leaves the connection in the sending phase.
            if !self.sending.load(Relaxed) {
                self.slot.set(Phase::Head(Instant::now()));
            }
        }
    }

    fn on_write(&self) {
        self.last_io.store(self.now(), Relaxed);
    }

    /// Everything written so far has been flushed: a response being sent
    /// is out, and the connection idles (or reads its next head).
    fn on_flushed(&self) {
        if self.sending.swap(false, Relaxed) {
            let head_started = self.head_started.load(Relaxed);
            let phase = if head_started == 0 {
                Phase::Idle(Instant::now())
            } else {
                Phase::Head(self.epoch + Duration::from_millis(head_started - 1))
            };
            self.slot.set(phase);
        }
    }

    /// A request head arrived and its response is being computed, until
    /// the guard drops.
    pub(crate) fn request_started(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Relaxed);
        self.head_started.store(0, Relaxed);
        self.slot.set(Phase::Computing);
        RequestGuard(Arc::clone(self))
    }

    /// Whether the connection should be closed, and why: a request head
    /// taking longer than `header_read_timeout`, or no traffic for
    /// `idle_timeout` (which also catches a client that stopped reading
    /// its response). Never while a response is being computed.
    pub(crate) fn expired(&self, limits: &Limits) -> Option<Expired> {
        if self.in_flight.load(Relaxed) > 0 {
            return None;
        }
        let now = self.now();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let head_started = self.head_started.load(Relaxed);
        if head_started != 0
            && now.saturating_sub(head_started - 1) >= ms(limits.header_read_timeout)
        {
            return Some(Expired::Head);
        }
        (now.saturating_sub(self.last_io.load(Relaxed)) >= ms(limits.idle_timeout))
            .then_some(Expired::Idle)
    }
}

/// Ends a request's in-flight state on drop (also when the response
/// future is cancelled): its response is being sent from then.
#[derive(Debug)]
pub(crate) struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.on_write();
        if activity.in_flight.fetch_sub(1, Relaxed) == 1 {
            activity.sending.store(true, Relaxed);
            activity.slot.set(Phase::Sending(Instant::now()));
        }
    }
}

/// An IO stream that reports its traffic to an [`Activity`].
#[derive(Debug)]
pub(crate) struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    pub(crate) fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.on_read();
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.on_write();
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.on_write();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // hyper flushes once all it has buffered is written.
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        if matches!(poll, Poll::Ready(Ok(()))) {
            self.activity.on_flushed();
        }
        poll
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connections::ConnectionTable;

    #[test]
    fn defaults_validate() {
        Limits::default().validate().unwrap();
        for broken in [
            Limits {
                max_connections: 0,
                ..Limits::default()
            },
            Limits {
                max_concurrent_scrapes: 0,
                ..Limits::default()
            },
            Limits {
                max_header_bytes: 100,
                ..Limits::default()
            },
            Limits {
                idle_timeout: Duration::ZERO,
                ..Limits::default()
            },
        ] {
            assert!(broken.validate().is_err());
        }
    }

    #[test]
    fn activity() {
        let limits = Limits {
            header_read_timeout: Duration::from_millis(30),
            idle_timeout: Duration::from_millis(60),
            ..Limits::default()
        };
        let table = ConnectionTable::new(1, None);
        let (slot, _evicted) = table.admit(Instant::now()).unwrap();
        let a = Activity::new(slot);
        assert_eq!(a.expired(&limits), None);
        std::thread::sleep(Duration::from_millis(40));
        // The first head did not arrive in time.
        assert_eq!(a.expired(&limits), Some(Expired::Head));
        let guard = a.request_started();
        assert!(
            table
                .admit(Instant::now() + Duration::from_secs(1))
                .is_none(),
            "a computing connection is never evicted"
        );
        std::thread::sleep(Duration::from_millis(70));
        assert_eq!(
            a.expired(&limits),
            None,
            "never while a response is computed"
        );
        drop(guard);
        assert!(a.sending.load(Relaxed));
        assert_eq!(a.expired(&limits), None);
        a.on_flushed();
        assert!(!a.sending.load(Relaxed));
        std::thread::sleep(Duration::from_millis(70));
        assert_eq!(a.expired(&limits), Some(Expired::Idle));
        // Idle: the first newcomer takes its place.
        assert!(table.admit(Instant::now()).is_some());
    }
}
