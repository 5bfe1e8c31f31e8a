//! The runtime: a background thread that exports every interval, and the
//! handle that flushes and stops it.

use crate::backoff::Backoff;
use crate::sink::{Batch, EncodeError, SendError, Sink};
use crate::stats::{ClaimError, Counts, Name, Recorder, Stats};
use hotmetrics_core::{MetricSource, Registry};
use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Default [`ExporterBuilder::interval`].
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
/// Default [`ExporterBuilder::queue_capacity`].
pub const DEFAULT_QUEUE_CAPACITY: usize = 16;
/// Default [`ExporterBuilder::backoff`]: Prometheus' remote write
/// defaults.
pub const DEFAULT_MIN_BACKOFF: Duration = Duration::from_millis(30);
/// Default maximum of [`ExporterBuilder::backoff`].
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Default [`ExporterBuilder::shutdown_timeout`].
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts periodic exports: [`Exporter::builder`].
#[derive(Debug)]
pub struct Exporter;

impl Exporter {
    /// Exports `source` (a [`Registry`], or any [`MetricSource`]) to
    /// `sink`, once configured and [`start`](ExporterBuilder::start)ed.
    pub fn builder<S: Sink>(
        source: impl MetricSource + Send + Sync + 'static,
        sink: S,
    ) -> ExporterBuilder<S> {
        ExporterBuilder {
            source: Box::new(source),
            sink,
            interval: DEFAULT_INTERVAL,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            min_backoff: DEFAULT_MIN_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            self_metrics: None,
            name: None,
        }
    }
}

/// Configures an exporter; from [`Exporter::builder`].
pub struct ExporterBuilder<S> {
    source: Box<dyn MetricSource + Send + Sync>,
    sink: S,
    interval: Duration,
    queue_capacity: usize,
    min_backoff: Duration,
    max_backoff: Duration,
    shutdown_timeout: Duration,
    self_metrics: Option<Registry>,
    name: Option<String>,
}

impl<S> fmt::Debug for ExporterBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExporterBuilder")
            .field("interval", &self.interval)
            .field("queue_capacity", &self.queue_capacity)
            .field("min_backoff", &self.min_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("self_metrics", &self.self_metrics.is_some())
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<S: Sink> ExporterBuilder<S> {
    /// Time between exports (default 15 s; not zero).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Exports kept while the receiver does not take them (default 16;
    /// at least 1). When one more is made, the oldest is dropped and its
    /// samples counted as dropped: a dead receiver costs at most this many
    /// exports' worth of memory.
    pub fn queue_capacity(mut self, batches: usize) -> Self {
        self.queue_capacity = batches;
        self
    }

    /// The wait before the first retry of a failed send and its upper
    /// bound (default 30 ms to 5 s): it doubles with each failure, each
    /// wait drawn from the upper half of the nominal one (jitter), never
    /// shorter than the receiver's `Retry-After`.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.min_backoff = min;
        self.max_backoff = max;
        self
    }

    /// How long [`ExporterHandle::shutdown`] (and dropping the handle)
    /// keeps sending the final export and what is queued (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Records the exporter's own metrics in `registry`:
    /// `hotmetrics_export_samples_sent_total`,
    /// `..._samples_failed_total`, `..._samples_dropped_total`,
    /// `..._retries_total`, `..._encode_failures_total`,
    /// `..._last_success_timestamp_seconds`, `..._queue_batches`,
    /// `..._request_duration_seconds`, labelled `sink` (the sink's kind,
    /// [`Sink::name`]) and `exporter` (this exporter, [`name`](Self::name)).
    /// Several exporters share the families of one registry, each with
    /// series of its own.
    ///
    /// An exporter's series stay in the registry after it stops (they
    /// never expire either): its final counts, such as the samples its
    /// shutdown had to drop, can still be scraped or exported by another
    /// exporter, and an exporter started again under the same name goes
    /// on counting in the same series (no reset for `rate()` to see). A
    /// process that starts exporters under ever new names keeps a set of
    /// series for each.
    pub fn self_metrics(mut self, registry: &Registry) -> Self {
        self.self_metrics = Some(registry.clone());
        self
    }

    /// The exporter's `exporter` label in its self-metrics, and its name in
    /// log messages. Not empty; two running exporters reporting into one
    /// registry may not share a name ([`start`](Self::start) fails with
    /// [`Error::NameTaken`]; the name is free again once the first one's
    /// thread has stopped).
    ///
    /// Without it, the name is the sink's [`target`](Sink::target) (the
    /// receiver's URL or address), else its [`name`](Sink::name); when
    /// another running exporter on the registry has it already, `#2`,
    /// `#3`... is appended: two exporters to one receiver stay apart.
    /// Those numbers follow the order the exporters were started in (the
    /// first free one is taken), so which exporter is `#2` can change
    /// from one run of the process to the next, or when one of them is
    /// restarted: when several exporters share a target, give each a
    /// name, or their self-metrics' series swap owners between runs.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Starts the exporter's thread; its first export is one interval
    /// from now (call [`flush`](ExporterHandle::flush) for one at once).
    ///
    /// Fails on a zero interval or queue capacity, a minimum backoff over
    /// the maximum, an empty [`name`](Self::name) or one another running
    /// exporter of the self-metrics registry has, self-metrics that cannot
    /// be registered, or when the thread cannot be spawned.
    pub fn start(self) -> Result<ExporterHandle, Error> {
        if self.interval.is_zero() {
            return Err(Error::Config("the export interval must not be zero".into()));
        }
        if self.queue_capacity == 0 {
            return Err(Error::Config(
                "the queue capacity must be at least 1".into(),
            ));
        }
        if self.min_backoff > self.max_backoff || self.min_backoff.is_zero() {
            return Err(Error::Config(format!(
                "the backoff must grow from a non-zero minimum to its maximum, got {:?} to {:?}",
                self.min_backoff, self.max_backoff
            )));
        }
        let name = match self.name {
            Some(n) if n.is_empty() => {
                return Err(Error::Config(
                    "the exporter's name must not be empty".into(),
                ));
            }
            Some(n) => Name::Explicit(n),
            None => Name::Derived(
                self.sink
                    .target()
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| self.sink.name().to_owned()),
            ),
        };
        let fallback_name = match &name {
            Name::Explicit(n) | Name::Derived(n) => n.clone(),
        };
        let counts = Arc::new(Counts::default());
        let recorder = Recorder::new(
            Arc::clone(&counts),
            self.self_metrics.as_ref(),
            self.sink.name(),
            name,
        )
        .map_err(|e| match e {
            ClaimError::Taken(n) => Error::NameTaken(n),
            ClaimError::Registry(e) => Error::SelfMetrics(e),
        })?;
        let name: Arc<str> = recorder.name().unwrap_or(&fallback_name).into();
        let (commands, inbox) = mpsc::channel();
        let worker = Worker {
            source: self.source,
            sink: self.sink,
            interval: self.interval,
            capacity: self.queue_capacity,
            queue: VecDeque::new(),
            spare: Vec::new(),
            backoff: Backoff::new(self.min_backoff, self.max_backoff),
            retry_at: None,
            recorder,
            last_logged: None,
            retry_warned: Vec::new(),
            name: Arc::clone(&name),
        };
        let thread = std::thread::Builder::new()
            .name("hotmetrics-export".into())
            .spawn(move || worker.run(&inbox))
            .map_err(Error::Spawn)?;
        Ok(ExporterHandle {
            commands,
            thread: Some(thread),
            counts,
            shutdown_timeout: self.shutdown_timeout,
            name,
        })
    }
}

/// A running exporter. Dropping it shuts it down as
/// [`shutdown`](Self::shutdown) does (a final export, sent within the
/// shutdown timeout).
pub struct ExporterHandle {
    commands: Sender<Command>,
    thread: Option<JoinHandle<()>>,
    counts: Arc<Counts>,
    shutdown_timeout: Duration,
    name: Arc<str>,
}

impl fmt::Debug for ExporterHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExporterHandle")
            .field("name", &self.name)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl ExporterHandle {
    /// Exports now and sends everything queued, retrying as usual, for at
    /// most `timeout`. `Err(Error::Timeout)` when something is still
    /// queued then (it stays queued and is sent later).
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        let (reply, answer) = mpsc::channel();
        let deadline = after(Instant::now(), timeout);
        self.commands
            .send(Command::Flush {
                deadline,
                reply: Reply::Blocking(reply),
            })
            .map_err(|_| Error::Stopped)?;
        wait_for(&answer, deadline, &self.counts)
    }

    /// [`flush`](Self::flush), awaited: the task waits, the runtime's
    /// thread does not (feature `tokio`; needs tokio's time driver, as
    /// `#[tokio::main]` enables).
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn flush_async(&self, timeout: Duration) -> Result<(), Error> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let deadline = after(Instant::now(), timeout);
        self.commands
            .send(Command::Flush {
                deadline,
                reply: Reply::Async(reply),
            })
            .map_err(|_| Error::Stopped)?;
        wait_for_async(answer, deadline, &self.counts).await
    }

    /// [`shutdown`](Self::shutdown), awaited (feature `tokio`): the final
    /// export and what is queued are sent within the shutdown timeout
    /// while the task waits. Dropping a handle in async code blocks the
    /// runtime's thread for as long: call this instead.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn shutdown_async(mut self) -> Result<(), Error> {
        // The thread answers once it has let go of everything (the sink,
        // its name in the registry) and ends right after: not joined.
        if self.thread.take().is_none() {
            return Ok(());
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        let deadline = after(Instant::now(), self.shutdown_timeout);
        self.commands
            .send(Command::Shutdown {
                deadline,
                reply: Reply::Async(reply),
            })
            .map_err(|_| Error::Stopped)?;
        wait_for_async(answer, deadline, &self.counts).await
    }

    /// What the exporter did so far.
    pub fn stats(&self) -> Stats {
        self.counts.get()
    }

    /// Its name: the `exporter` label of its self-metrics
    /// ([`ExporterBuilder::name`], or the one derived from its sink, with
    /// its `#2` if it got one).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops the exporter: a final export, then sending it and what is
    /// queued for at most the shutdown timeout; what is left then is
    /// dropped (counted) and `Err(Error::Timeout)` says how much.
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), Error> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let (reply, answer) = mpsc::channel();
        let deadline = after(Instant::now(), self.shutdown_timeout);
        if self
            .commands
            .send(Command::Shutdown {
                deadline,
                reply: Reply::Blocking(reply),
            })
            .is_err()
        {
            return Err(Error::Stopped);
        }
        let result = wait_for(&answer, deadline, &self.counts);
        // A thread still inside a send past the deadline (a sink whose own
        // timeout is longer) is left to finish on its own, not waited for.
        if !matches!(result, Err(Error::Timeout { .. })) && thread.join().is_err() {
            return Err(Error::Stopped);
        }
        result
    }
}

impl Drop for ExporterHandle {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The thread's answer to a command, waited for until `deadline` (and a
/// little slack for a send under way): past it, a timeout with what is
/// queued.
fn wait_for(
    answer: &Receiver<Result<(), Error>>,
    deadline: Instant,
    counts: &Counts,
) -> Result<(), Error> {
    let wait = after(deadline, REPLY_SLACK).saturating_duration_since(Instant::now());
    match answer.recv_timeout(wait) {
        Ok(result) => result,
        Err(RecvTimeoutError::Timeout) => Err(Error::Timeout {
            samples: counts.get().queued_samples,
        }),
        Err(RecvTimeoutError::Disconnected) => Err(Error::Stopped),
    }
}

/// [`wait_for`], awaited.
#[cfg(feature = "tokio")]
async fn wait_for_async(
    answer: tokio::sync::oneshot::Receiver<Result<(), Error>>,
    deadline: Instant,
    counts: &Counts,
) -> Result<(), Error> {
    let wait = after(deadline, REPLY_SLACK).saturating_duration_since(Instant::now());
    match tokio::time::timeout(wait, answer).await {
        Ok(Ok(result)) => result,
        Err(_) => Err(Error::Timeout {
            samples: counts.get().queued_samples,
        }),
        Ok(Err(_)) => Err(Error::Stopped),
    }
}

/// Why an exporter could not start, flush or stop cleanly.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A setting that cannot work.
    Config(String),
    /// The self-metrics could not be registered.
    SelfMetrics(hotmetrics_core::Error),
    /// Another running exporter reporting into the self-metrics registry
    /// has this [`name`](ExporterBuilder::name).
    NameTaken(String),
    /// The exporter's thread could not be spawned.
    Spawn(std::io::Error),
    /// The deadline passed with batches still unsent.
    Timeout {
        /// Samples not yet sent (queued after a flush; dropped after a
        /// shutdown).
        samples: u64,
    },
    /// The exporter's thread is gone (it panicked: a sink's bug).
    Stopped,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(m) => write!(f, "exporter configuration: {m}"),
            Self::SelfMetrics(e) => write!(f, "exporter self-metrics: {e}"),
            Self::NameTaken(n) => write!(
                f,
                "another running exporter reports into this registry as {n:?}: give each a name of its own"
            ),
            Self::Spawn(e) => write!(f, "cannot spawn the exporter's thread: {e}"),
            Self::Timeout { samples } => {
                write!(f, "deadline passed with {samples} samples unsent")
            }
            Self::Stopped => f.write_str("the exporter's thread has stopped"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::SelfMetrics(e) => Some(e),
            Self::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

/// `from + d`, or far in the future when that overflows the clock
/// (`flush(Duration::MAX)` waits as long as it takes).
fn after(from: Instant, d: Duration) -> Instant {
    from.checked_add(d)
        .or_else(|| from.checked_add(FOREVER))
        .unwrap_or(from)
}

/// What "no deadline" means: a century.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The most distinct retryable failures warned about in one outage (a
/// receiver whose every 5xx says something else logs no more than this);
/// the rest go to debug.
const MAX_RETRY_WARNINGS: usize = 8;

/// How long a handle waits for the thread past its deadline (a send that
/// was under way when the command came).
const REPLY_SLACK: Duration = Duration::from_secs(1);

enum Command {
    Flush { deadline: Instant, reply: Reply },
    Shutdown { deadline: Instant, reply: Reply },
}

/// Where the thread answers a command: a blocked caller, or an awaiting
/// one.
enum Reply {
    Blocking(Sender<Result<(), Error>>),
    #[cfg(feature = "tokio")]
    Async(tokio::sync::oneshot::Sender<Result<(), Error>>),
}

impl Reply {
    /// Answers; a caller that stopped waiting is no error.
    fn send(self, result: Result<(), Error>) {
        match self {
            Self::Blocking(reply) => {
                let _ = reply.send(result);
            }
            #[cfg(feature = "tokio")]
            Self::Async(reply) => {
                let _ = reply.send(result);
            }
        }
    }
}

/// A batch being sent: the payloads before `next` were sent (or refused
/// for good).
struct Pending {
    batch: Batch,
    next: usize,
}

/// The exporter's thread.
struct Worker<S> {
    source: Box<dyn MetricSource + Send + Sync>,
    sink: S,
    interval: Duration,
    capacity: usize,
    queue: VecDeque<Pending>,
    /// Batches sent, kept for their buffers.
    spare: Vec<Batch>,
    backoff: Backoff,
    /// When the front payload may be tried again, after a failure.
    retry_at: Option<Instant>,
    recorder: Recorder,
    /// The last permanent error logged, so each is logged once.
    last_logged: Option<String>,
    /// The retryable failures logged as warnings since the last send that
    /// succeeded (at most [`MAX_RETRY_WARNINGS`]), so each is warned about
    /// once per outage.
    retry_warned: Vec<String>,
    /// Its name, for messages.
    name: Arc<str>,
}

impl<S: Sink> Worker<S> {
    fn run(mut self, inbox: &Receiver<Command>) {
        let mut next_export = after(Instant::now(), self.interval);
        loop {
            let now = Instant::now();
            let wake = match self.retry_at {
                Some(retry) if !self.queue.is_empty() => retry.min(next_export),
                _ => next_export,
            };
            match inbox.recv_timeout(wake.saturating_duration_since(now)) {
                Ok(Command::Flush { deadline, reply }) => {
                    self.export();
                    reply.send(self.send_until(deadline));
                }
                Ok(Command::Shutdown { deadline, reply }) => {
                    let result = self.finish(deadline);
                    // The sink and the exporter's name go before the
                    // answer: a caller that starts another at once finds
                    // the name free.
                    drop(self);
                    reply.send(result);
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    let now = Instant::now();
                    if now >= next_export {
                        self.export();
                        // Missed intervals are skipped, not caught up.
                        next_export = after(next_export, self.interval);
                        if next_export <= now {
                            next_export = after(now, self.interval);
                        }
                    }
                    self.send_queued(None);
                }
                // The handle is gone without a shutdown (it always sends
                // one; only a panic unwinding past it gets here).
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// The final export, sent with the rest until `deadline`; what is left
    /// then is dropped.
    fn finish(&mut self, deadline: Instant) -> Result<(), Error> {
        self.export();
        let result = self.send_until(deadline);
        let left: u64 = self
            .queue
            .iter()
            .map(|p| p.batch.samples_from(p.next))
            .sum();
        if left > 0 {
            self.recorder.dropped(left);
        }
        self.queue.clear();
        self.recorder.queued(0, 0);
        result
    }

    /// Encodes an export into the queue, dropping the oldest batch when it
    /// is full.
    fn export(&mut self) {
        let mut batch = self.spare.pop().unwrap_or_default();
        batch.clear();
        self.recorder.exported();
        let encoded = catch_unwind(AssertUnwindSafe(|| {
            self.sink.encode(&*self.source, &mut batch)
        }))
        .unwrap_or_else(|_| Err(EncodeError("the sink panicked while encoding".into())));
        if let Err(e) = encoded {
            self.recorder.encode_failed();
            log::warn!(
                "hotmetrics {} exporter {}: cannot encode an export: {e}",
                self.sink.name(),
                self.name
            );
            self.spare.push(batch);
            return;
        }
        if batch.is_empty() {
            self.spare.push(batch);
            return;
        }
        self.queue.push_back(Pending { batch, next: 0 });
        while self.queue.len() > self.capacity {
            if let Some(oldest) = self.queue.pop_front() {
                self.recorder
                    .dropped(oldest.batch.samples_from(oldest.next));
                self.spare.push(oldest.batch);
                // A pending retry stays: the wait is the receiver's, not
                // the dropped payload's.
            }
        }
        self.note_queue();
    }

    /// Records the queue's length and the samples it still holds.
    fn note_queue(&self) {
        let samples = self
            .queue
            .iter()
            .map(|p| p.batch.samples_from(p.next))
            .sum();
        self.recorder.queued(self.queue.len(), samples);
    }

    /// Sends queued payloads in order until the queue is empty, a send
    /// fails and must wait for its retry, or `deadline` passes; `true` when
    /// empty.
    fn send_queued(&mut self, deadline: Option<Instant>) -> bool {
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            return false;
        }
        self.retry_at = None;
        while let Some(front) = self.queue.front_mut() {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            let Some(payload) = front.batch.payloads().get(front.next) else {
                if let Some(done) = self.queue.pop_front() {
                    self.spare.push(done.batch);
                }
                self.note_queue();
                continue;
            };
            let started = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| self.sink.send(payload)))
                .unwrap_or_else(|_| Err(SendError::permanent("the sink panicked while sending")));
            let took = started.elapsed();
            match outcome {
                Ok(()) => {
                    self.recorder.sent(payload.samples, took);
                    self.backoff.reset();
                    self.retry_warned.clear();
                    front.next += 1;
                }
                Err(SendError::Permanent { message }) => {
                    self.recorder.failed(payload.samples, took);
                    front.next += 1;
                    if self.last_logged.as_deref() != Some(&message) {
                        log::warn!(
                            "hotmetrics {} exporter {}: the receiver refused {} samples, dropped: {message}",
                            self.sink.name(),
                            self.name,
                            payload.samples
                        );
                        self.last_logged = Some(message);
                    }
                }
                Err(SendError::Retryable {
                    message,
                    retry_after,
                }) => {
                    self.recorder.retried(took);
                    let wait = self.backoff.next(retry_after);
                    if self.retry_warned.len() < MAX_RETRY_WARNINGS
                        && !self.retry_warned.contains(&message)
                    {
                        log::warn!(
                            "hotmetrics {} exporter {}: send failed, retrying with backoff \
                             until it succeeds: {message} (logged once until a send succeeds; \
                             each retry at debug)",
                            self.sink.name(),
                            self.name
                        );
                        self.retry_warned.push(message);
                    } else {
                        log::debug!(
                            "hotmetrics {} exporter {}: send failed, retrying in {wait:?}: {message}",
                            self.sink.name(),
                            self.name
                        );
                    }
                    self.retry_at = Some(after(Instant::now(), wait));
                    return false;
                }
            }
        }
        true
    }

    /// Sends until the queue is empty or `deadline` passed (waiting out
    /// retries that fall before it).
    fn send_until(&mut self, deadline: Instant) -> Result<(), Error> {
        loop {
            if self.send_queued(Some(deadline)) {
                return Ok(());
            }
            match self.retry_at {
                Some(retry) if retry <= deadline && Instant::now() < deadline => {
                    std::thread::sleep(retry.saturating_duration_since(Instant::now()));
                }
                _ => {
                    let samples = self
                        .queue
                        .iter()
                        .map(|p| p.batch.samples_from(p.next))
                        .sum();
                    return Err(Error::Timeout { samples });
                }
            }
        }
    }
}
