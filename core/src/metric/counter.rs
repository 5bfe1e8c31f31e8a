use super::{Metric, Scratch, Sealed};
use crate::error::Error;
use crate::exemplar::{Checked, Exemplar, ExemplarSlots};
use crate::family::Desc;
use crate::local::{engine, writer};
use crate::slots::{Slots, created_now};
use crate::visit::{LabelSet, MetricType, MetricVisitor, Number, SeriesValue};
use triomphe::Arc;

/// A counter's cell: a 64-bit slot (`u64` count or `f64` sum). Not a narrow
/// one (`spill.rs`): the overflow check before the store made `inc` two to
/// three times as slow as the plain 64-bit add (compare runner,
/// `counter_inc`, 2-core VM).
///
/// The exemplars live beside it: an empty `OnceBox` (one word) until the
/// first `*_with_exemplar` call, then one cell per thread that records
/// exemplars (`exemplar.rs`), never read or written by the plain
/// increments.
#[derive(Debug)]
struct CounterCell {
    slots: Slots,
    created: f64,
    exemplar: ExemplarSlots,
}

impl CounterCell {
    fn new() -> Result<Self, Error> {
        crate::exemplar::warm_clocks();
        Ok(Self {
            slots: Slots::alloc()?,
            created: created_now(),
            exemplar: ExemplarSlots::default(),
        })
    }

    /// Hands the series to `out` with its latest exemplar, held for the
    /// call, and the value `read` gives: the merged value, or `fresh` (a
    /// read of every thread's cell) when the series has an exemplar.
    ///
    /// The exemplar is read before the value: the read's Acquire load of
    /// the cell's sequence count synchronizes with the Release store that
    /// closed the writer's exemplar, which followed its add, so that add
    /// happens-before the value read and the value covers the exemplar's
    /// increment. The scrape's merged blocks may have been
    /// summed before this load (for a neighbouring series), so a series
    /// with an exemplar reads its cells afresh.
    fn visit(
        &self,
        labels: &dyn LabelSet,
        merged: impl FnOnce() -> Number,
        fresh: impl FnOnce() -> Number,
        bytes: &mut Vec<u8>,
        out: &mut dyn MetricVisitor,
    ) {
        let exemplar = self.exemplar.latest(0, bytes);
        let value = if exemplar.is_some() {
            fresh()
        } else {
            merged()
        };
        out.series(
            labels,
            &SeriesValue::Counter {
                value,
                created: self.created,
                exemplar: exemplar.as_ref(),
            },
        );
    }
}

/// A monotonic `u64` counter.
///
/// `inc` writes a cell only the calling thread writes: no lock, no atomic
/// read-modify-write, no allocation after the thread's first update. Clones
/// are handles to the same series.
///
/// ```
/// let registry = hotmetrics_core::Registry::new();
/// let messages = registry.counter(("messages_total", "Messages handled")).unwrap();
/// messages.inc();
/// messages.inc_by(2);
/// assert_eq!(messages.get(), 3);
/// ```
#[derive(Clone, Debug)]
pub struct Counter(Arc<CounterCell>);

impl Counter {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `n`.
    #[inline]
    pub fn inc_by(&self, n: u64) {
        writer().add_u64(self.0.slots.loc(), n);
    }

    /// Adds one and records an exemplar with `labels` (a trace id,
    /// usually), value 1 and the current time, replacing the previous one.
    ///
    /// The increment always counts; `Err(`[`Error::InvalidExemplar`]`)` says
    /// only that the exemplar was refused (a label name outside
    /// `[a-zA-Z_][a-zA-Z0-9_]*`, a repeated name, or names and values longer
    /// than [`MAX_EXEMPLAR_CHARS`](crate::MAX_EXEMPLAR_CHARS) characters
    /// together), and the previous exemplar stays.
    ///
    /// Costs what [`inc`](Self::inc) does plus checking the labels, reading
    /// the TSC and copying the labels into the calling thread's own
    /// exemplar cell: no lock, no allocation (after the thread's first
    /// exemplar on the series), no write another thread shares. A scrape
    /// reports the newest exemplar over all threads, whole.
    ///
    /// ```
    /// let registry = hotmetrics_core::Registry::new();
    /// let orders = registry.counter(("orders_total", "Orders placed")).unwrap();
    /// orders.inc_with_exemplar(&[("trace_id", "4bf92f3577b34da6")]).unwrap();
    /// let e = orders.exemplar().unwrap();
    /// assert_eq!(e.labels().collect::<Vec<_>>(), [("trace_id", "4bf92f3577b34da6")]);
    /// assert_eq!(e.value(), 1.0);
    ///
    /// // Refused (a `-` in the name), but the order still counts.
    /// assert!(orders.inc_with_exemplar(&[("trace-id", "x")]).is_err());
    /// assert_eq!(orders.get(), 2);
    /// ```
    pub fn inc_with_exemplar(&self, labels: &[(&str, &str)]) -> Result<(), Error> {
        self.inc_by_with_exemplar(1, labels)
    }

    /// Adds `n` and records an exemplar with `labels`, value `n` (the
    /// increment, as OpenMetrics defines a counter exemplar's value) and the
    /// current time. As [`inc_with_exemplar`](Self::inc_with_exemplar):
    /// the increment always counts, `Err` only refuses the exemplar.
    pub fn inc_by_with_exemplar(&self, n: u64, labels: &[(&str, &str)]) -> Result<(), Error> {
        self.inc_by(n);
        self.0
            .exemplar
            .write(1, 0, &Checked::new(labels)?, n as f64);
        Ok(())
    }

    /// The latest exemplar over all threads, if one was recorded.
    pub fn exemplar(&self) -> Option<Exemplar> {
        self.0.exemplar.latest(0, &mut Vec::new())
    }

    /// The merged value over all threads (a scrape-time read: it visits every
    /// thread's cell).
    pub fn get(&self) -> u64 {
        engine().sum_u64(self.0.slots.start())
    }

    /// Runs `f` and counts one if it returns `Err` (the Python clients'
    /// `count_exceptions`). The result is passed through untouched.
    ///
    /// ```
    /// let registry = hotmetrics_core::Registry::new();
    /// let failures = registry.counter(("parse_failures_total", "Bad messages")).unwrap();
    /// let r: Result<u32, _> = failures.count_errors(|| "x".parse::<u32>());
    /// assert!(r.is_err());
    /// assert_eq!(failures.get(), 1);
    /// ```
    pub fn count_errors<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let r = f();
        if r.is_err() {
            self.inc();
        }
        r
    }

    /// When the series was created, in seconds since the Unix epoch (whole
    /// microseconds).
    pub fn created(&self) -> f64 {
        self.0.created
    }
}

impl Metric for Counter {
    type Config = ();
    const TYPE: MetricType = MetricType::Counter;
}

impl Sealed for Counter {
    fn references(&self) -> usize {
        Arc::count(&self.0)
    }

    fn is_unique(&mut self) -> bool {
        Arc::get_mut(&mut self.0).is_some()
    }

    fn create(_: &(), _: &Desc) -> Result<Self, Error> {
        CounterCell::new().map(|c| Self(Arc::new(c)))
    }

    fn visit_series(
        &self,
        labels: &dyn LabelSet,
        scratch: &mut Scratch,
        out: &mut dyn MetricVisitor,
    ) {
        let slot = self.0.slots.start();
        self.0.visit(
            labels,
            || Number::UInt(scratch.cells.u64(engine(), slot)),
            || Number::UInt(engine().sum_u64(slot)),
            &mut scratch.exemplar_bytes,
            out,
        );
    }
}

/// A monotonic `f64` counter (seconds spent, bytes as fractions, ...).
///
/// Increments that are negative, NaN or infinite are refused with
/// [`Error::InvalidIncrement`] and leave the counter unchanged.
///
/// ```
/// let registry = hotmetrics_core::Registry::new();
/// let busy = registry.counter_f64(("busy_seconds_total", "Time spent busy")).unwrap();
/// busy.inc_by(0.25).unwrap();
/// assert!(busy.inc_by(-1.0).is_err());
/// assert_eq!(busy.get(), 0.25);
/// ```
#[derive(Clone, Debug)]
pub struct CounterF64(Arc<CounterCell>);

impl CounterF64 {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        writer().add_f64(self.0.slots.loc(), 1.0);
    }

    /// Adds `v`, which must be finite and non-negative.
    #[inline]
    pub fn inc_by(&self, v: f64) -> Result<(), Error> {
        // One integer compare of the bits: below +Inf's are exactly the
        // finite non-negative values (+0.0 included); negatives, NaNs and
        // infinities are at or above it, -0.0 (which adds nothing) aside.
        // LLVM turns float compares (`is_finite() && v >= 0.0`, or a range
        // check) into a class test of a dozen integer operations.
        let bits = v.to_bits();
        if bits >= f64::INFINITY.to_bits() && bits != (-0.0f64).to_bits() {
            return Err(Error::InvalidIncrement(v));
        }
        writer().add_f64(self.0.slots.loc(), v);
        Ok(())
    }

    /// Adds `v` and records an exemplar with `labels`, value `v` and the
    /// current time, replacing the previous one.
    ///
    /// An invalid increment (negative, NaN, infinite) is refused with
    /// [`Error::InvalidIncrement`]: nothing counted, no exemplar recorded.
    /// A valid one always counts; `Err(`[`Error::InvalidExemplar`]`)` then
    /// says only that the exemplar was refused (see
    /// [`Counter::inc_with_exemplar`]).
    ///
    /// ```
    /// let registry = hotmetrics_core::Registry::new();
    /// let busy = registry.counter_f64(("busy_seconds_total", "Time spent busy")).unwrap();
    /// busy.inc_by_with_exemplar(0.25, &[("trace_id", "abc")]).unwrap();
    /// assert!(busy.inc_by_with_exemplar(-1.0, &[("trace_id", "def")]).is_err());
    /// assert_eq!(busy.get(), 0.25);
    /// assert_eq!(busy.exemplar().unwrap().value(), 0.25);
    /// ```
    pub fn inc_by_with_exemplar(&self, v: f64, labels: &[(&str, &str)]) -> Result<(), Error> {
        self.inc_by(v)?;
        self.0.exemplar.write(1, 0, &Checked::new(labels)?, v);
        Ok(())
    }

    /// The latest exemplar over all threads, if one was recorded.
    pub fn exemplar(&self) -> Option<Exemplar> {
        self.0.exemplar.latest(0, &mut Vec::new())
    }

    /// The merged value over all threads.
    pub fn get(&self) -> f64 {
        engine().sum_f64(self.0.slots.start())
    }

    /// When the series was created, in seconds since the Unix epoch (whole
    /// microseconds).
    pub fn created(&self) -> f64 {
        self.0.created
    }
}

impl Metric for CounterF64 {
    type Config = ();
    const TYPE: MetricType = MetricType::Counter;
}

impl Sealed for CounterF64 {
    fn references(&self) -> usize {
        Arc::count(&self.0)
    }

    fn is_unique(&mut self) -> bool {
        Arc::get_mut(&mut self.0).is_some()
    }

    fn create(_: &(), _: &Desc) -> Result<Self, Error> {
        CounterCell::new().map(|c| Self(Arc::new(c)))
    }

    fn visit_series(
        &self,
        labels: &dyn LabelSet,
        scratch: &mut Scratch,
        out: &mut dyn MetricVisitor,
    ) {
        let slot = self.0.slots.start();
        self.0.visit(
            labels,
            || Number::Float(scratch.cells.f64(engine(), slot)),
            || Number::Float(engine().sum_f64(slot)),
            &mut scratch.exemplar_bytes,
            out,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exemplar_slots_cost_a_plain_counter_one_word() {
        assert_eq!(
            std::mem::size_of::<ExemplarSlots>(),
            std::mem::size_of::<usize>()
        );
        // Slots, `created`, the exemplar slots: 24 B behind the `Arc`.
        assert_eq!(std::mem::size_of::<CounterCell>(), 24);
    }
}
