//! A [`metrics`] facade recorder on the hotmetrics engine: every crate
//! instrumented with `metrics::counter!`, `gauge!` and `histogram!` lands
//! in a hotmetrics [`Registry`], in per-thread sharded cells, and is
//! scraped with the registry's own families in every format.
//!
//! ```
//! use hotmetrics_core::{Buckets, Registry};
//! use hotmetrics_recorder::MetricsRecorder;
//!
//! let registry = Registry::new();
//! let recorder = MetricsRecorder::builder(&registry)
//!     .buckets(Buckets::new(vec![0.1, 1.0]).unwrap())
//!     .build()
//!     .unwrap();
//! // `install_on(&registry)` sets a recorder as the process' global one;
//! // here it is set for this closure on this thread only.
//! metrics::with_local_recorder(&recorder, || {
//!     metrics::describe_counter!("jobs_total", "Jobs done.");
//!     metrics::describe_histogram!("job_seconds", metrics::Unit::Seconds, "Time per job.");
//!     metrics::counter!("jobs_total", "queue" => "emails").increment(3);
//!     metrics::gauge!("workers").set(4.0);
//!     metrics::histogram!("job.seconds").record(0.02); // sanitized: job_seconds
//! });
//!
//! let mut text = hotmetrics_core::bytes::BytesMut::new();
//! hotmetrics_text::TextEncoder::new().encode(&registry, &mut text);
//! let lines = [
//!     "# HELP hotmetrics_recorder_refused_total Registrations through the metrics facade that \
//!      got a handle recording nothing, by reason (label_names, const_label, type, cardinality, \
//!      registration).",
//!     "# TYPE hotmetrics_recorder_refused_total counter",
//!     "# HELP jobs_total Jobs done.",
//!     "# TYPE jobs_total counter",
//!     "jobs_total{queue=\"emails\"} 3",
//!     "# TYPE workers gauge", // not described: no HELP
//!     "workers 4.0",
//!     "# HELP job_seconds Time per job.",
//!     "# TYPE job_seconds histogram",
//!     "job_seconds_bucket{le=\"0.1\"} 1",
//!     "job_seconds_bucket{le=\"1\"} 1",
//!     "job_seconds_bucket{le=\"+Inf\"} 1",
//!     "job_seconds_sum 0.02",
//!     "job_seconds_count 1",
//! ];
//! assert_eq!(std::str::from_utf8(&text).unwrap(), lines.join("\n") + "\n");
//! ```
//!
//! The registry's own families come first (sorted by name), then the
//! recorder's self-metric, then the facade's families, in the order they
//! were first registered. In OpenMetrics the histogram also gets
//! `# UNIT job_seconds seconds`.
//!
//! # The hot path
//! `register_counter` (what every `counter!(..)` call does) resolves a key
//! (name and labels) to a series once per thread: each thread keeps a map
//! of the keys it used to its own `Arc` of a handle over the series, keyed
//! by the hash the facade's [`Key`](metrics::Key) already carries. A
//! `counter!("x", "k" => "v").increment(1)` on every call is a probe of
//! that map and a reference count on the thread's own `Arc`, and
//! allocates nothing once the thread has used the key (label values that
//! are not literals make the facade build an owned key on each call,
//! before the recorder is asked); a kept
//! `metrics::Counter` is the engine's per-thread increment behind the
//! facade's `dyn CounterFn`. A key of 8 labels or more allocates on every
//! lookup that finds it (every `counter!` after the thread's first): the
//! map compares keys of equal hash with the facade's `Key::eq`, which
//! sorts the labels of both keys through two `Vec`s once they are 8 or
//! more (fewer are sorted on the stack); keep such a handle rather than
//! calling `counter!` each time. Histograms `observe` per thread as well.
//! Gauges are the facade's `f64` gauges, so they are hotmetrics
//! [`GaugeF64`](hotmetrics_core::GaugeF64)s: one shared atomic word
//! (`increment` and `decrement` a compare-and-swap, `set` a store).
//!
//! # Names, labels and types
//! - Names are sanitized as `metrics-exporter-prometheus` does: a character
//!   a Prometheus metric name may not hold becomes `_`
//!   (`http.server.duration` → `http_server_duration`); so do those of
//!   label names (`http.method` → `http_method`). Label values are
//!   written as they are (each format escapes them). Names are sanitized
//!   in a registry that takes UTF-8 names too, so the facade's metrics
//!   read the same under Prometheus 2 and 3.
//! - One family per name, made at the first registration of the name with
//!   the label names of that key. A counter's `_total` is the registry's:
//!   `counter!("jobs")` and `counter!("jobs_total")` are one family,
//!   exported `jobs_total` (`metrics-exporter-prometheus` writes `jobs`
//!   for the first unless told to use the recommended naming).
//! - The registry's prefix and constant labels apply, as to its own
//!   families; the facade's `Metadata` (target, level) is not used.
//!
//! # Descriptions
//! `describe_counter!` & co. give the family its HELP, whether they come
//! before or after the first registration (a scrape reads the description
//! as it is then); the first description of a type and name stays. A
//! description is for its type only: `describe_counter!("x_total", ..)`
//! describes `counter!("x")`, not a `gauge!("x")`. The unit
//! becomes the family's unit (OpenMetrics `# UNIT`) spelled as
//! [`Unit::as_str`](metrics::Unit::as_str) gives it (`seconds`, `bytes`,
//! `milliseconds`, `count_per_second`, ...) when the name, without a
//! counter's `_total`, ends in `_<unit>`: `job_seconds` with
//! `Unit::Seconds` has the unit `seconds`, `job_latency` with it has none
//! (names are never changed to fit a unit).
//!
//! # What is refused
//! A registration the registry cannot take gets a handle that records
//! nothing, never a panic, is logged once per name and reason
//! (`log::warn!`), and counts one in
//! `hotmetrics_recorder_refused_total{reason}`, registered in the registry
//! with the first recorder:
//! - `label_names`: the key's label names (sanitized, in any order) are
//!   not those of the family's first key;
//! - `const_label`: the first key of a name has a label (sanitized) named
//!   as one of the registry's constant labels, which every series it
//!   exports carries already (`counter!("x", "region" => "us")` on a
//!   registry with `region="eu"` would write `x{region="eu",region="us"}`);
//!   the name gets its family at its first key without such a label;
//! - `type`: the name is a metric of another type (`gauge!("jobs")` after
//!   `counter!("jobs")`), or would write the `_total` sample of a facade
//!   counter (`gauge!("jobs_total")` after `counter!("jobs")`, and the
//!   reverse);
//! - `cardinality`: the family holds its most series
//!   ([`DEFAULT_MAX_SERIES`](hotmetrics_core::DEFAULT_MAX_SERIES));
//! - `registration`: the registry refused the family: an empty name, a
//!   reserved label name (`le` on a histogram, `__`-prefixed), or a name
//!   one of the registry's own families has.
//!
//! Refused keys are not cached: every registration of one is refused and
//! counted again, so `counter!` called on every update counts every update
//! dropped.
//!
//! # Values
//! As the facade defines them: a counter's `increment` adds, `absolute`
//! raises it to the value if it is below (reading the merged value: not
//! for hot loops). `absolute` is not atomic with increments: it reads the
//! merged value and adds the difference (calls to `absolute` take turns,
//! increments do not wait), so an increment between the read and the add
//! lands on top: `absolute(10)` racing `increment(1)` on a counter at 5
//! can leave 11 with the increment counted before the `absolute`, where
//! the facade's own `fetch_max` counter leaves 10. Mirror an external
//! total with `absolute` only, or count with `increment` only; a gauge's `increment`/`decrement` add and subtract,
//! `set` stores; NaN and infinities are stored as given (a NaN observation
//! lands in the `+Inf` bucket and makes the sum NaN). Nothing panics on a
//! value.
//!
//! # One registry, several recorders
//! The families made for the facade's names are kept with the registry,
//! so every recorder on one registry (the global one, a test's
//! [`with_local_recorder`](metrics::with_local_recorder)) finds the same
//! series for a key; only the bucket configuration and the per-thread
//! caches belong to a recorder.
//!
//! Each facade family, and the self-metric, reaches the registry as a
//! collector claiming its name: [`Registry::family_names`] does not list
//! them, and the registry's default
//! [`expire_after`](hotmetrics_core::RegistryBuilder::expire_after) does
//! not apply to them.
//!
//! # After [`Registry::clear`]
//! The facade starts over as on a new registry, for the recorders built
//! before the clear and after it: the next registration through any of
//! them (or the next recorder built) registers the self-metric again,
//! from zero, and a facade name gets a new family, from zero, at its next
//! `counter!` & co. on any thread (each thread drops its cached handles
//! at its next registration). A `metrics::Counter` (or gauge, histogram)
//! kept from before the clear keeps writing the old series, which are no
//! longer scraped, as a core handle does after a clear. Descriptions are
//! kept: a crate describes its metrics once. Until that next registration
//! the facade's families and the self-metric are absent from scrapes.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod handles;
mod names;
mod recorder;
mod state;

pub use recorder::{InstallError, Matcher, MetricsRecorder, RecorderBuilder};

use hotmetrics_core::{Registry, default_registry};

/// Installs a recorder on [`default_registry`] as the `metrics` facade's
/// global recorder; an error if one is set already.
pub fn install() -> Result<(), InstallError> {
    install_on(default_registry())
}

/// Installs a recorder on `registry`, with the default buckets, as the
/// `metrics` facade's global recorder; an error if one is set already.
/// [`MetricsRecorder::builder`]`(registry)..install()` configures it
/// first.
///
/// ```
/// let registry = hotmetrics_core::Registry::new();
/// hotmetrics_recorder::install_on(&registry).unwrap();
/// metrics::counter!("started_total").increment(1);
/// assert_eq!(registry.snapshot().counter("started", &[]), Some(1.0));
/// assert!(matches!(
///     hotmetrics_recorder::install_on(&registry),
///     Err(hotmetrics_recorder::InstallError::AlreadyInstalled)
/// ));
/// ```
pub fn install_on(registry: &Registry) -> Result<(), InstallError> {
    MetricsRecorder::builder(registry).install()
}
