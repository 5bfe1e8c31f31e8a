//! The hotmetrics engine: metrics updated from the hottest loops at close to
//! the cost of a thread-local variable, merged exactly at scrape time.
//!
//! Most users depend on the `hotmetrics` facade crate, which re-exports this
//! one and adds the exporters.
//!
//! # How an update is stored
//! Every series owns a few *slots*. Every thread that updates metrics leases
//! its own *arena* of cells, one per slot, and writes them with a plain load
//! and store: one writer per cell, so no lock, no atomic read-modify-write on
//! a contended cache line, no allocation after the thread's first touch. A
//! scrape adds up the cells of every arena (`merge.rs`). Arenas of exited
//! threads are handed, counts and all, to the next new thread, so a thread
//! that exits loses nothing and a scrape racing it double-counts nothing.
//!
//! ```
//! use hotmetrics_core::{Buckets, Registry};
//!
//! let registry = Registry::new();
//! let received = registry.counter(("received_messages_total", "Messages received")).unwrap();
//! let latency = registry
//!     .histogram_vec(("handle_seconds", "Handling time"), Buckets::default(), &["handler"])
//!     .unwrap();
//!
//! std::thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| {
//!             for i in 0..1000 {
//!                 received.inc();
//!                 latency.with(&["orders"], |h| h.observe(i as f64 / 1e4)).unwrap();
//!             }
//!         });
//!     }
//! });
//!
//! let snap = registry.snapshot();
//! assert_eq!(snap.counter("received_messages", &[]), Some(4000.0));
//! ```
//!
//! # Modules in one line each
//! `local` is the hot path, `arena` one thread's cells, `engine` the arena
//! pool and slot allocator, `merge` the scrape-time sum, `metric` the types
//! users update, `family` labeled lookup, `handle` the owned handles out
//! of a family's per-thread cache, `expiry` how idle series expire
//! (`family/sweep.rs` runs it), `registry` registration and
//! visiting, `visit` the seam exporters implement, `encode` the format
//! seam servers and push clients use, `metric_type` how each format
//! spells each type, `testing` (feature `test-util`) helpers that read,
//! assert and diff a registry's samples in tests.
//!
//! # Writing an exporter
//! An exposition format is an [`Encoder`]: a content type, and an
//! `encode` that walks a [`MetricSource`] (a [`Registry`]) through a
//! [`MetricVisitor`] into a reused `bytes::BytesMut`. [`MetricType`]'s
//! methods say how each type is named and which sample suffixes it uses.
//! [`Encoder`]'s docs show a complete third-party format.
#![deny(missing_docs)]
#![warn(unsafe_op_in_unsafe_fn)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Under `--cfg loom` only the engine and its models are compiled; the
// parts of it that the rest of the crate uses are idle there.
#![cfg_attr(loom, allow(dead_code))]

mod arena;
mod chunked;
mod engine;
#[cfg(not(loom))]
mod exemplar;
mod exemplar_cell;
mod expiry;
mod extensions;
#[cfg(not(loom))]
mod go_float;
mod merge;
mod seqlock;
mod spill;
mod sync;

#[cfg(all(test, loom))]
mod loom_models;

#[cfg(not(loom))]
mod collector;
#[cfg(not(loom))]
mod encode;
#[cfg(not(loom))]
mod error;
#[cfg(not(loom))]
mod escaping;
#[cfg(not(loom))]
mod family;
#[cfg(not(loom))]
mod handle;
#[cfg(not(loom))]
mod labels;
#[cfg(not(loom))]
mod local;
#[cfg(not(loom))]
mod metric;
#[cfg(not(loom))]
mod metric_type;
#[cfg(all(not(loom), target_os = "linux"))]
mod process;
#[cfg(not(loom))]
mod registry;
#[cfg(not(loom))]
mod slots;
#[cfg(not(loom))]
mod snapshot;
#[cfg(all(not(loom), feature = "test-util"))]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;
#[cfg(not(loom))]
mod typed;
#[cfg(not(loom))]
mod visit;

/// The `bytes` crate the [`Encoder`] seam writes into, re-exported so an
/// exporter crate names the same `BytesMut`.
#[cfg(not(loom))]
pub use bytes;

#[cfg(not(loom))]
pub use {
    collector::{Collector, Described},
    encode::{Encoder, MetricSource},
    error::Error,
    escaping::{Escaping, is_legacy_label_name, is_legacy_metric_name},
    exemplar::{Exemplar, MAX_EXEMPLAR_CHARS},
    family::{DEFAULT_MAX_SERIES, Family},
    go_float::{GoFloat, Integral},
    handle::Handle,
    labels::{NameValidation, validate_label_name, validate_metric_name},
    metric::{
        Buckets, Counter, CounterF64, DEFAULT_BUCKETS, Gauge, GaugeF64, Histogram,
        HistogramSnapshot, HistogramTimer, InProgressGuard, Info, Metric, NativeOpts,
        NativeSnapshot, StateSet, States, Summary, SummaryOpts, SummarySnapshot, SummaryTimer,
        Timer,
    },
    registry::{CollectorId, Opts, Registry, RegistryBuilder, default_registry},
    snapshot::{FamilySnapshot, SeriesSnapshot, Snapshot, ValueSnapshot},
    typed::{LabelValue, Labels, MAX_DENSE, TypedFamily, cardinality_product},
    visit::{
        BucketSpan, FamilyDesc, HistogramValue, LabelSet, MetricType, MetricVisitor, NativeBuckets,
        Number, SeriesValue, SummaryValue,
    },
};

#[cfg(all(not(loom), target_os = "linux"))]
pub use process::ProcessCollector;

/// A labeled `u64` counter family.
#[cfg(not(loom))]
pub type CounterVec = Family<Counter>;
/// A labeled `i64` gauge family.
#[cfg(not(loom))]
pub type GaugeVec = Family<Gauge>;
/// A labeled histogram family.
#[cfg(not(loom))]
pub type HistogramVec = Family<Histogram>;
/// A labeled summary family.
#[cfg(not(loom))]
pub type SummaryVec = Family<Summary>;
/// A labeled family of info metrics.
#[cfg(not(loom))]
pub type InfoVec = Family<Info>;
/// A labeled family of state sets.
#[cfg(not(loom))]
pub type StateSetVec = Family<StateSet>;

/// Number of per-thread arenas created so far: the most threads that were
/// alive at once and updated a metric. Arenas of exited threads are reused.
/// An engine internal for the engine's own tests, not part of the API.
#[cfg(not(loom))]
#[doc(hidden)]
pub fn arena_count() -> usize {
    local::engine().arena_count()
}

/// Number of engine slots in use (allocated and not freed). An engine
/// internal for the engine's own tests, not part of the API.
#[cfg(not(loom))]
#[doc(hidden)]
pub fn slots_in_use() -> usize {
    local::engine().slots_in_use()
}
