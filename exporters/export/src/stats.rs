//! What an exporter did: counts any thread can read, mirrored into the
//! self-metrics of a registry when asked for.

use hotmetrics_core::{Buckets, Counter, Family, Gauge, GaugeF64, Histogram, Opts, Registry};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An exporter's counts so far ([`ExporterHandle::stats`](crate::ExporterHandle::stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Exports encoded (one per interval, flush and shutdown).
    pub exports: u64,
    /// Exports whose encoding failed.
    pub encode_failures: u64,
    /// Samples the receiver accepted.
    pub samples_sent: u64,
    /// Samples the receiver refused for good (a permanent error).
    pub samples_failed: u64,
    /// Samples dropped unsent: the queue was full (oldest first), or the
    /// shutdown deadline passed.
    pub samples_dropped: u64,
    /// Sends that failed and were tried again.
    pub retries: u64,
    /// Batches waiting to be sent.
    pub queued_batches: u64,
    /// The samples in them not sent yet.
    pub queued_samples: u64,
}

/// The counts, shared between the exporter's thread and its handle.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    exports: AtomicU64,
    encode_failures: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    retries: AtomicU64,
    queued: AtomicU64,
    queued_samples: AtomicU64,
}

impl Counts {
    pub(crate) fn get(&self) -> Stats {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            exports: load(&self.exports),
            encode_failures: load(&self.encode_failures),
            samples_sent: load(&self.sent),
            samples_failed: load(&self.failed),
            samples_dropped: load(&self.dropped),
            retries: load(&self.retries),
            queued_batches: load(&self.queued),
            queued_samples: load(&self.queued_samples),
        }
    }
}

/// The self-metrics families, one set per registry (shared by every
/// exporter reporting there; `sink` and `exporter` tell them apart).
struct Families {
    sent: Family<Counter>,
    failed: Family<Counter>,
    dropped: Family<Counter>,
    retries: Family<Counter>,
    encode_failures: Family<Counter>,
    last_success: Family<GaugeF64>,
    queued: Family<Gauge>,
    duration: Family<Histogram>,
}

/// What the exporters reporting into one registry share: the families,
/// and the `exporter` names in use (one running exporter each).
#[derive(Default)]
struct Shared(Mutex<SharedState>);

#[derive(Default)]
struct SharedState {
    families: Option<Arc<Families>>,
    names: HashSet<String>,
}

/// An exporter's hold on its name in a registry, given back when the
/// exporter's thread ends (so a restarted exporter may take it again).
struct Claim {
    shared: Arc<Shared>,
    name: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut state = self.shared.0.lock().unwrap_or_else(PoisonError::into_inner);
        state.names.remove(&self.name);
    }
}

/// An exporter's `exporter` label: the one given, or one derived.
#[derive(Debug, Clone)]
pub(crate) enum Name {
    /// Given with [`ExporterBuilder::name`](crate::ExporterBuilder::name):
    /// taken already in the registry is an error.
    Explicit(String),
    /// Derived from the sink: taken already, it gets a `#2`, `#3`...
    Derived(String),
}

/// Why an exporter cannot report into a registry.
#[derive(Debug)]
pub(crate) enum ClaimError {
    /// Another running exporter has this explicit name.
    Taken(String),
    /// The families could not be registered.
    Registry(hotmetrics_core::Error),
}

impl Families {
    /// The registry's families (registered by the first exporter), and
    /// `name` claimed there; the name actually claimed comes back.
    fn claim(registry: &Registry, name: Name) -> Result<(Arc<Self>, Claim), ClaimError> {
        let shared = registry.extension(Shared::default);
        let mut state = shared.0.lock().unwrap_or_else(PoisonError::into_inner);
        let families = match &state.families {
            Some(f) => Arc::clone(f),
            None => {
                let made = Arc::new(Self::register(registry).map_err(ClaimError::Registry)?);
                state.families = Some(Arc::clone(&made));
                made
            }
        };
        let name = match name {
            Name::Explicit(n) if state.names.contains(&n) => return Err(ClaimError::Taken(n)),
            Name::Explicit(n) => n,
            Name::Derived(base) => {
                let mut n = base.clone();
                let mut i = 1u64;
                while state.names.contains(&n) {
                    i += 1;
                    n = format!("{base}#{i}");
                }
                n
            }
        };
        state.names.insert(name.clone());
        drop(state);
        Ok((families, Claim { shared, name }))
    }

    fn register(r: &Registry) -> Result<Self, hotmetrics_core::Error> {
        let labels = &["sink", "exporter"];
        // Whatever the registry's default, an exporter's series stay.
        let opts = |name: &str, help: &str| Opts::new(name, help).never_expire();
        let counter = |name: &str, help: &str| r.counter_vec(opts(name, help), labels);
        // 1 ms to ~16 s.
        let buckets = Buckets::exponential(0.001, 4.0, 8)?;
        Ok(Self {
            sent: counter(
                "hotmetrics_export_samples_sent_total",
                "Samples the receiver accepted.",
            )?,
            failed: counter(
                "hotmetrics_export_samples_failed_total",
                "Samples the receiver refused for good (a 4xx other than 429).",
            )?,
            dropped: counter(
                "hotmetrics_export_samples_dropped_total",
                "Samples dropped unsent: the queue was full (oldest first) or the shutdown deadline passed.",
            )?,
            retries: counter(
                "hotmetrics_export_retries_total",
                "Sends that failed and were tried again (connection errors, timeouts, 5xx, 429).",
            )?,
            encode_failures: counter(
                "hotmetrics_export_encode_failures_total",
                "Exports that could not be encoded.",
            )?,
            last_success: r.gauge_f64_vec(
                opts(
                    "hotmetrics_export_last_success_timestamp_seconds",
                    "When a send last succeeded, seconds since the Unix epoch.",
                ),
                labels,
            )?,
            queued: r.gauge_vec(
                opts(
                    "hotmetrics_export_queue_batches",
                    "Batches waiting to be sent.",
                ),
                labels,
            )?,
            duration: r.histogram_vec(
                opts(
                    "hotmetrics_export_request_duration_seconds",
                    "Time of one send, success or not.",
                ),
                buckets,
                labels,
            )?,
        })
    }
}

/// One exporter's series of the self-metrics.
struct Series {
    /// Its name, held until the exporter stops.
    claim: Claim,
    sent: Counter,
    failed: Counter,
    dropped: Counter,
    retries: Counter,
    encode_failures: Counter,
    last_success: GaugeF64,
    queued: Gauge,
    duration: Histogram,
}

impl Series {
    fn new(registry: &Registry, sink: &str, name: Name) -> Result<Self, ClaimError> {
        let (f, claim) = Families::claim(registry, name)?;
        let name = claim.name.clone();
        let v = &[sink, name.as_str()];
        Ok(Self {
            sent: f.sent.get_or_create(v)?,
            failed: f.failed.get_or_create(v)?,
            dropped: f.dropped.get_or_create(v)?,
            retries: f.retries.get_or_create(v)?,
            encode_failures: f.encode_failures.get_or_create(v)?,
            last_success: f.last_success.get_or_create(v)?,
            queued: f.queued.get_or_create(v)?,
            duration: f.duration.get_or_create(v)?,
            claim,
        })
    }
}

impl From<hotmetrics_core::Error> for ClaimError {
    fn from(e: hotmetrics_core::Error) -> Self {
        Self::Registry(e)
    }
}

/// Where the exporter's thread records what it did.
pub(crate) struct Recorder {
    counts: Arc<Counts>,
    series: Option<Series>,
}

impl Recorder {
    /// Records into `counts`, and into `registry`'s self-metrics (labels
    /// `sink="{sink}"`, `exporter="{name}"`) if given.
    pub(crate) fn new(
        counts: Arc<Counts>,
        registry: Option<&Registry>,
        sink: &str,
        name: Name,
    ) -> Result<Self, ClaimError> {
        let series = registry.map(|r| Series::new(r, sink, name)).transpose()?;
        Ok(Self { counts, series })
    }

    /// The `exporter` label it records under (`None` without
    /// self-metrics).
    pub(crate) fn name(&self) -> Option<&str> {
        self.series.as_ref().map(|s| s.claim.name.as_str())
    }

    pub(crate) fn exported(&self) {
        self.counts.exports.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn encode_failed(&self) {
        self.counts.encode_failures.fetch_add(1, Ordering::Relaxed);
        if let Some(s) = &self.series {
            s.encode_failures.inc();
        }
    }

    pub(crate) fn sent(&self, samples: u64, took: Duration) {
        self.counts.sent.fetch_add(samples, Ordering::Relaxed);
        if let Some(s) = &self.series {
            s.sent.inc_by(samples);
            s.duration.observe(took.as_secs_f64());
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            s.last_success.set(now);
        }
    }

    pub(crate) fn failed(&self, samples: u64, took: Duration) {
        self.counts.failed.fetch_add(samples, Ordering::Relaxed);
        if let Some(s) = &self.series {
            s.failed.inc_by(samples);
            s.duration.observe(took.as_secs_f64());
        }
    }

    pub(crate) fn retried(&self, took: Duration) {
        self.counts.retries.fetch_add(1, Ordering::Relaxed);
        if let Some(s) = &self.series {
            s.retries.inc();
            s.duration.observe(took.as_secs_f64());
        }
    }

    pub(crate) fn dropped(&self, samples: u64) {
        self.counts.dropped.fetch_add(samples, Ordering::Relaxed);
        if let Some(s) = &self.series {
            s.dropped.inc_by(samples);
        }
    }

    pub(crate) fn queued(&self, batches: usize, samples: u64) {
        let n = batches as u64;
        self.counts.queued.store(n, Ordering::Relaxed);
        self.counts.queued_samples.store(samples, Ordering::Relaxed);
        if let Some(s) = &self.series {
            s.queued.set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
}
