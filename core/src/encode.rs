//! The format seam: what a server, a push client or a third-party exporter
//! crate needs from an exposition format.
//!
//! An exposition format is an [`Encoder`]; its docs show a complete
//! third-party one. What it encodes is a [`MetricSource`].

use bytes::BytesMut;

use crate::visit::MetricVisitor;

/// Anything that can walk a merged view of metrics into a
/// [`MetricVisitor`]: a [`Registry`](crate::Registry), or a wrapper that
/// filters, relabels or checks what another source visits on its way to
/// an encoder.
pub trait MetricSource {
    /// Hands every family and series to `visitor`.
    fn visit(&self, visitor: &mut dyn MetricVisitor);
}

/// Sources behind a reference or a smart pointer are sources, so a
/// `static REGISTRY: LazyLock<Registry>` or an `Arc<Registry>` is encoded
/// and pushed as it is.
macro_rules! forward_source {
    ($($(#[$attr:meta])* [$($generics:tt)*] $ty:ty;)*) => {$(
        $(#[$attr])*
        impl<$($generics)*> MetricSource for $ty {
            fn visit(&self, visitor: &mut dyn MetricVisitor) {
                (**self).visit(visitor);
            }
        }
    )*};
}

forward_source! {
    [S: MetricSource + ?Sized] &S;
    [S: MetricSource + ?Sized] Box<S>;
    [S: MetricSource + ?Sized] std::sync::Arc<S>;
    [S: MetricSource + ?Sized] std::rc::Rc<S>;
    [S: MetricSource, F: FnOnce() -> S] std::sync::LazyLock<S, F>;
}

/// An exposition format: a `Content-Type` and a way to append the
/// exposition of a [`MetricSource`] (a [`Registry`], or anything
/// else that can walk a merged view into a [`MetricVisitor`]) to a
/// caller-owned [`BytesMut`]. The text, OpenMetrics and protobuf encoders
/// implement it; so can a format of your own, in a crate of your own,
/// against this crate's public API only:
///
/// ```
/// use bytes::{BufMut, BytesMut};
/// use hotmetrics_core::{
///     Encoder, FamilyDesc, LabelSet, MetricSource, MetricVisitor, Registry, SeriesValue,
/// };
///
/// /// One `name{labels} value` line per counter or gauge; other types skipped.
/// #[derive(Debug, Default)]
/// struct CompactEncoder;
///
/// struct Lines<'a> {
///     out: &'a mut BytesMut,
///     family: String,
///     suffix: &'static str,
///     series: usize,
/// }
///
/// impl MetricVisitor for Lines<'_> {
///     fn begin_family(&mut self, family: &FamilyDesc<'_>) {
///         self.family.clear();
///         self.family.push_str(family.name);
///         self.suffix = family.metric_type.value_suffix();
///     }
///     fn series(&mut self, labels: &dyn LabelSet, value: &SeriesValue<'_>) {
///         let value = match value {
///             SeriesValue::Counter { value, .. } | SeriesValue::Gauge(value) => value.as_f64(),
///             _ => return,
///         };
///         self.series += 1;
///         self.out.put_slice(self.family.as_bytes());
///         self.out.put_slice(self.suffix.as_bytes());
///         let mut first = true;
///         labels.for_each(&mut |name, v| {
///             self.out.put_slice(if first { b"{" } else { b"," });
///             first = false;
///             self.out.put_slice(format!("{name}={v:?}").as_bytes());
///         });
///         if !first {
///             self.out.put_u8(b'}');
///         }
///         self.out.put_slice(format!(" {value}\n").as_bytes());
///     }
/// }
///
/// impl Encoder for CompactEncoder {
///     fn content_type(&self) -> &'static str {
///         "text/x-compact; charset=utf-8"
///     }
///     fn encode(&mut self, source: &dyn MetricSource, out: &mut BytesMut) -> usize {
///         let mut lines = Lines { out, family: String::new(), suffix: "", series: 0 };
///         source.visit(&mut lines);
///         lines.series
///     }
/// }
///
/// let registry = Registry::new();
/// let jobs = registry.counter_vec(("jobs", "Jobs done."), &["queue"]).unwrap();
/// jobs.with(&["fast"], |c| c.inc_by(2)).unwrap();
/// registry.gauge(("workers", "Workers.")).unwrap().set(3);
///
/// let mut encoder = CompactEncoder;
/// let mut body = BytesMut::new();
/// // Held as the format seam holds the built-in ones.
/// let format: &mut dyn Encoder = &mut encoder;
/// assert_eq!(format.encode(&registry, &mut body), 2);
/// assert_eq!(&body[..], b"jobs_total{queue=\"fast\"} 2\nworkers 3\n");
/// ```
///
/// Keep one encoder per scraper or pusher: encoders hold scratch space, so
/// a steady-state encode into a reused buffer allocates nothing.
///
/// [`Registry`]: crate::Registry
pub trait Encoder {
    /// The value of the `Content-Type` header for what
    /// [`encode`](Self::encode) writes.
    fn content_type(&self) -> &'static str;

    /// Appends the exposition of everything `source` visits to `out`
    /// (clear `out` first to reuse it for a new scrape); returns the number
    /// of series written.
    fn encode(&mut self, source: &dyn MetricSource, out: &mut BytesMut) -> usize;
}
