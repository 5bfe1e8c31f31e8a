//! A StatsD and DogStatsD [`Sink`](hotmetrics_export::Sink) for the
//! hotmetrics export runtime: every interval, what changed in a registry
//! goes to a StatsD daemon or a Datadog agent, over UDP or a Unix
//! datagram socket, packed into datagrams.
//!
//! ```
//! use hotmetrics_core::{Buckets, Registry};
//! use hotmetrics_export::{Batch, Exporter, Sink};
//! use hotmetrics_statsd::{Dialect, StatsdSink};
//! use std::time::Duration;
//!
//! let registry = Registry::new();
//! let jobs = registry.counter_vec(("jobs", "Jobs done."), &["queue"])?;
//! let depth = registry.gauge(("queue_depth", "Jobs waiting."))?;
//! let took = registry.histogram(("job_seconds", "Job time."), Buckets::new(vec![0.5, 1.0])?)?;
//! jobs.get_or_create(&["mail"])?.inc_by(3);
//! depth.set(-2);
//! took.observe(0.25);
//! took.observe(0.75);
//!
//! // What one export sends (the exporter calls `encode` every interval).
//! let mut sink = StatsdSink::udp("127.0.0.1:8125").prefix("app").build()?;
//! let mut batch = Batch::default();
//! sink.encode(&registry, &mut batch)?;
//! assert_eq!(
//!     String::from_utf8_lossy(&batch.payloads()[0].bytes),
//!     "app.job_seconds_count:2|c\n\
//!      app.job_seconds_sum:1|c\n\
//!      app.job_seconds_bucket.le.0_5:1|c\n\
//!      app.job_seconds_bucket.le.1:2|c\n\
//!      app.jobs.queue.mail:3|c\n\
//!      app.queue_depth:0|g\napp.queue_depth:-2|g" // StatsD reads -2 as "subtract": 0 first
//! );
//! // Nothing changed: nothing to send.
//! batch = Batch::default();
//! sink.encode(&registry, &mut batch)?;
//! assert!(batch.is_empty());
//! // Counters go as their increase since the last export.
//! jobs.get_or_create(&["mail"])?.inc();
//! sink.encode(&registry, &mut batch)?;
//! assert_eq!(batch.payloads()[0].bytes, b"app.jobs.queue.mail:1|c");
//!
//! // DogStatsD: labels as tags, and constant tags on every line.
//! let mut dog = StatsdSink::udp("127.0.0.1:8125")
//!     .dialect(Dialect::DogStatsd)
//!     .tags([("env", "prod")])
//!     .build()?;
//! let mut batch = Batch::default();
//! dog.encode(&registry, &mut batch)?;
//! let lines = String::from_utf8_lossy(&batch.payloads()[0].bytes).into_owned();
//! assert!(lines.ends_with("jobs:4|c|#queue:mail,env:prod\nqueue_depth:-2|g|#env:prod"), "{lines}");
//! // Plain StatsD has no tags: a build-time error.
//! assert!(StatsdSink::udp("127.0.0.1:8125").tags([("env", "prod")]).build().is_err());
//!
//! // In a service: a background thread, an export every 10 s.
//! let exporter = Exporter::builder(registry.clone(), sink)
//!     .interval(Duration::from_secs(10))
//!     .start()?;
//! exporter.shutdown()?; // a final export
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The mapping
//! StatsD daemons aggregate what they receive over their own flush
//! interval, so the sink sends **what changed since its last export**
//! (it is a delta sink): it keeps each series' last values and its
//! labels as sent, found by the series' place in the last export (a
//! comparison of its identity, no hashing; a series that moved is looked
//! up by hash), without allocating once known, and forgets series that
//! left the registry (one that comes back is new again). A series that
//! did not change sends nothing.
//!
//! A series removed and made again under the same labels between two
//! exports is told apart by its creation time (the one OpenMetrics
//! exposes as `_created`): a counter, histogram or summary whose creation
//! time changed is a new series, and all of its value is sent. Where the
//! time cannot tell (a collector's summary without one, or a series made
//! again within the clock's resolution, about a quarter of a microsecond),
//! a total or count that went down still means the series started again.
//! A collector should report a series' real creation time (a constant),
//! not the time of each scrape: one that changes every export makes every
//! export send the whole total.
//!
//! An export cut short (a collector that panicked while the registry was
//! visited: the runtime drops that export and logs it) commits nothing:
//! the next export sends every change since the last complete one, and
//! nothing of what the cut-short one had packed.
//!
//! | hotmetrics | StatsD lines |
//! | --- | --- |
//! | counter | `<name>:<increase>\|c` (the name without `_total`); a series made again (a new creation time) or a total that went down is all new |
//! | gauge, untyped | `<name>:<value>\|g` when the value changed |
//! | histogram | `<name>_count` and `<name>_sum` increases `\|c`, and for each finite bucket `<name>_bucket` with label `le`: the increase of its cumulative count (observations ≤ `le`), `\|c`; `+Inf` is `_count` |
//! | summary | `_count`, `_sum` increases `\|c`; each quantile `\|g` with label `quantile`, when it changed |
//! | info | `<name>_info:1\|g`, once |
//! | state set | one `<name>:0\|g` or `1\|g` per state, label `<name>=<state>`, when it changed |
//!
//! Histograms are counters, not timers (`|ms`) or DogStatsD distributions
//! (`|d`): those take individual observations, and a registry holds only
//! bucket counts; sending each bucket's bound once per observation would
//! invent values. Bucket counters keep exactly what the registry knows,
//! summed by the daemon over any interval, as Prometheus' `le` buckets.
//! A registry's lines carry no sample rate (`|@0.1`): each is an exact
//! aggregate, rate 1. NaN and infinite values are not sent (StatsD
//! daemons refuse them). A label with an empty value is no label.
//!
//! # Timers
//! For StatsD's own timers (`name:12.5|ms`, from which the daemon computes
//! count, mean, upper, lower, percentiles and rates), record samples into
//! the [`Timer`]s of a [`Timings`] set and give the set to the sink
//! ([`timings`](StatsdBuilder::timings)): each export sends every sample
//! recorded since the last one, one line each, after the registry's
//! lines. Recording is lock-free and allocation-free (a bounded ring per
//! thread and timer); a full ring drops and counts, and the timer's next
//! lines carry sample rates `|@<1/w>` of whole weights `w` summing to the
//! samples recorded, so the daemon's count stays exact (etsy's statsd and
//! the Datadog agent alike). Samples leave their rings only when the export is
//! complete, as the registry's values are committed.
//!
//! # Dialects
//! [`Dialect::Plain`] folds labels into the name
//! (`jobs.queue.mail:3|c`), [`Dialect::DogStatsd`] sends them as tags
//! (`jobs:3|c|#queue:mail`); see [`Dialect`] for the characters each
//! keeps. DogStatsD takes constant tags too
//! ([`tags`](StatsdBuilder::tags): `env:prod` on every line); plain
//! StatsD refuses them at build time rather than fold them into every
//! name (use a [`prefix`](StatsdBuilder::prefix)). Every character the protocol uses (`:`, `|`, `@`, `#`, `,`,
//! newlines) becomes `_` in names, label names and values, so no value
//! can cut a line.
//!
//! # Datagrams and failures
//! Lines are packed, `\n`-separated, into datagrams of at most
//! [`max_packet_size`](StatsdBuilder::max_packet_size) bytes, never split;
//! each datagram is one [`Payload`](hotmetrics_export::Payload) of the
//! export. Sends never block (non-blocking sockets). A full socket
//! buffer, nothing listening (the kernel's "port unreachable" on our
//! connected UDP socket), or a Unix socket not there yet are retryable
//! [`SendError`](hotmetrics_export::SendError)s: the runtime retries with
//! backoff and keeps at most its queue capacity of exports, dropping the
//! oldest (counted), so a dead receiver costs bounded memory and the
//! deltas of a short outage still arrive. UDP itself may lose datagrams
//! silently; nothing can tell.

#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![forbid(unsafe_code)]
// Under `--cfg loom` only the timing ring and its model are compiled
// (the registry crates have no loom build).
#![cfg_attr(loom, allow(dead_code))]

#[cfg(not(loom))]
mod dialect;
#[cfg(not(loom))]
mod encode;
#[cfg(not(loom))]
mod error;
#[cfg(not(loom))]
mod packet;
#[cfg(not(loom))]
mod previous;
mod ring;
#[cfg(not(loom))]
mod sink;
mod sync;
#[cfg(not(loom))]
mod timing;
#[cfg(not(loom))]
mod transport;

#[cfg(all(test, loom))]
mod loom_models;

#[cfg(not(loom))]
pub use dialect::Dialect;
#[cfg(not(loom))]
pub use error::Error;
#[cfg(not(loom))]
pub use sink::{
    DEFAULT_UDP_PACKET_SIZE, DEFAULT_UNIX_PACKET_SIZE, MAX_PACKET_SIZE, StatsdBuilder, StatsdSink,
};
#[cfg(not(loom))]
pub use timing::{DEFAULT_TIMER_CAPACITY, MAX_TIMER_CAPACITY, Timer, TimerGuard, Timings};
