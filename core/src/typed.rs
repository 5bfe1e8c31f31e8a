//! Typed label sets: a label set declared as a Rust type, looked up by a
//! dense index instead of hashing its strings.
//!
//! A struct whose fields are label values ([`LabelValue`]: enums with the
//! derive, `bool`, integers, `&'static str`) implements [`Labels`] with
//! `#[derive(Labels)]` (crate `hotmetrics-derive`, re-exported by the
//! `hotmetrics` facade). When every field has finitely many values (enums
//! and `bool`), the set maps to an index in `0..CARDINALITY`, and a
//! [`TypedFamily`] finds the series there, in a table of the calling
//! thread's own: no string is hashed or compared after a thread's first
//! use of a label set. Other sets go through the family's string lookup.

use crate::error::Error;
use crate::family::Family;
use crate::metric::Metric;
use crossbeam_utils::CachePadded;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use thread_local::ThreadLocal;

/// Label sets with at most this many combinations get a dense table per
/// thread (8 bytes a slot); larger ones use the string lookup.
pub const MAX_DENSE: usize = 4096;

/// One label's value as a Rust type. Derived for fieldless enums
/// (`#[derive(LabelValue)]`: each variant's name in snake_case, or
/// `#[label(rename = "...")]`); implemented for `bool`, the integer types
/// and `&'static str`.
pub trait LabelValue {
    /// How many values the type has, when it has finitely many (`Some` for
    /// enums and `bool`): what makes a dense index possible.
    const CARDINALITY: Option<usize>;

    /// This value's index in `0..CARDINALITY` (anything when
    /// `CARDINALITY` is `None`).
    fn index(&self) -> usize;

    /// Calls `f` with the value as exported.
    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R;
}

/// A label set as a Rust type: usually `#[derive(Labels)]` on a struct
/// whose fields, in order, are the family's labels (field name = label
/// name, or `#[label(rename = "...")]`).
pub trait Labels {
    /// The label names, in order.
    const NAMES: &'static [&'static str];

    /// How many label sets the type has, when finite (every field's
    /// cardinality multiplied); `None` otherwise.
    const CARDINALITY: Option<usize>;

    /// This set's index in `0..CARDINALITY` (anything when `CARDINALITY`
    /// is `None`): the fields' indexes in mixed radix.
    fn index(&self) -> usize;

    /// Calls `f` with the label values, in order.
    fn with_values<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R;
}

impl LabelValue for bool {
    const CARDINALITY: Option<usize> = Some(2);

    fn index(&self) -> usize {
        usize::from(*self)
    }

    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(if *self { "true" } else { "false" })
    }
}

impl LabelValue for &str {
    const CARDINALITY: Option<usize> = None;

    fn index(&self) -> usize {
        0
    }

    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(self)
    }
}

macro_rules! integer_label_values {
    ($($t:ty)*) => {$(
        impl LabelValue for $t {
            const CARDINALITY: Option<usize> = None;

            fn index(&self) -> usize {
                0
            }

            fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
                f(itoa::Buffer::new().format(*self))
            }
        }
    )*};
}

integer_label_values!(u8 u16 u32 u64 usize i8 i16 i32 i64 isize);

/// The product of label cardinalities, `None` if any is unbounded or the
/// product overflows; for the derive's `CARDINALITY`.
#[doc(hidden)]
pub const fn cardinality_product(factors: &[Option<usize>]) -> Option<usize> {
    let mut product: usize = 1;
    let mut i = 0;
    while i < factors.len() {
        match factors[i] {
            Some(n) => match product.checked_mul(n) {
                Some(p) => product = p,
                None => return None,
            },
            None => return None,
        }
        i += 1;
    }
    Some(product)
}

/// Every thread's table, each padded to its own cache lines.
type Tables<M> = ThreadLocal<CachePadded<RefCell<Dense<M>>>>;

/// A thread's table: the series of each label set it used, by index.
struct Dense<M> {
    /// The family's generation the table was filled in.
    generation: u64,
    slots: Box<[Option<M>]>,
}

/// A [`Family`] looked up by a typed label set `L`; from
/// [`Family::typed`]. Cheap to clone (it shares its tables).
///
/// ```
/// use hotmetrics_core::{Labels, LabelValue, Registry};
///
/// #[derive(Clone, Copy)]
/// enum Status { Acked, Nacked }
///
/// impl LabelValue for Status {
///     const CARDINALITY: Option<usize> = Some(2);
///     fn index(&self) -> usize { *self as usize }
///     fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
///         f(match self { Status::Acked => "acked", Status::Nacked => "nacked" })
///     }
/// }
///
/// struct Processed { status: Status, redelivered: bool }
///
/// impl Labels for Processed {
///     const NAMES: &'static [&'static str] = &["status", "redelivered"];
///     const CARDINALITY: Option<usize> = Some(4);
///     fn index(&self) -> usize { self.status.index() * 2 + self.redelivered.index() }
///     fn with_values<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
///         self.status.with_str(|s| self.redelivered.with_str(|r| f(&[s, r])))
///     }
/// }
///
/// let registry = Registry::new();
/// let processed = registry
///     .counter_vec(("processed_total", "Processed."), Processed::NAMES)?
///     .typed::<Processed>()?;
/// processed.with(&Processed { status: Status::Acked, redelivered: false }, |c| c.inc())?;
/// let family = processed.family();
/// assert_eq!(family.get_or_create(&["acked", "false"])?.get(), 1);
/// # Ok::<(), hotmetrics_core::Error>(())
/// ```
///
/// With `hotmetrics-derive`, both impls are one line each:
/// `#[derive(LabelValue)] enum Status { .. }` and
/// `#[derive(Labels)] struct Processed { .. }`.
pub struct TypedFamily<M: Metric, L> {
    family: Family<M>,
    /// `Some` when `L` has a dense index of at most [`MAX_DENSE`].
    dense: Option<Arc<Tables<M>>>,
    labels: PhantomData<fn(&L)>,
}

impl<M: Metric, L> Clone for TypedFamily<M, L> {
    fn clone(&self) -> Self {
        Self {
            family: self.family.clone(),
            dense: self.dense.clone(),
            labels: PhantomData,
        }
    }
}

impl<M: Metric, L> fmt::Debug for TypedFamily<M, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedFamily")
            .field("family", &self.family)
            .field("dense", &self.dense.is_some())
            .finish()
    }
}

impl<M: Metric> Family<M> {
    /// This family looked up by the typed label set `L`, whose
    /// [`NAMES`](Labels::NAMES) must be the family's label names, in
    /// order (else [`Error::LabelNames`]).
    pub fn typed<L: Labels>(&self) -> Result<TypedFamily<M, L>, Error> {
        if !self.label_names().eq(L::NAMES.iter().copied()) {
            return Err(Error::LabelNames {
                family: self.given_name().to_owned(),
                expected: self.label_names().map(str::to_owned).collect(),
                got: L::NAMES.iter().map(|n| (*n).to_owned()).collect(),
            });
        }
        let dense = L::CARDINALITY
            .filter(|&n| n <= MAX_DENSE)
            .map(|_| Arc::new(ThreadLocal::new()));
        Ok(TypedFamily {
            family: self.clone(),
            dense,
            labels: PhantomData,
        })
    }
}

impl<M: Metric, L: Labels> TypedFamily<M, L> {
    /// Runs `f` on the series for `labels`, created on first use: what
    /// [`Family::with`] does, without hashing a string when `L` has a
    /// dense index (a thread's first use of a label set looks it up once).
    /// Errors when the family is at its series limit.
    #[inline]
    pub fn with<R>(&self, labels: &L, f: impl FnOnce(&M) -> R) -> Result<R, Error> {
        let Some(dense) = &self.dense else {
            return labels.with_values(|values| self.family.with(values, f));
        };
        let generation = self.family.generation();
        let cell = dense.get_or(|| {
            let slots = (0..L::CARDINALITY.unwrap_or(0)).map(|_| None).collect();
            CachePadded::new(RefCell::new(Dense { generation, slots }))
        });
        // A nested lookup of the same family from inside `f`, or an index
        // out of range (a hand-written `Labels` with a bug): the string
        // lookup.
        let Ok(mut table) = cell.try_borrow_mut() else {
            return labels.with_values(|values| self.family.with(values, f));
        };
        if table.generation != generation {
            table.slots.iter_mut().for_each(|s| *s = None);
            table.generation = generation;
        }
        let Some(slot) = table.slots.get_mut(labels.index()) else {
            drop(table);
            return labels.with_values(|values| self.family.with(values, f));
        };
        if let Some(metric) = slot {
            return Ok(f(metric));
        }
        let metric = labels.with_values(|values| self.family.get_or_create(values))?;
        Ok(f(slot.insert(metric)))
    }

    /// The series for `labels`, created on first use, to keep (see
    /// [`Family::get_or_create`]).
    pub fn get_or_create(&self, labels: &L) -> Result<M, Error> {
        labels.with_values(|values| self.family.get_or_create(values))
    }

    /// Removes the series for `labels` (see [`Family::remove`]).
    pub fn remove(&self, labels: &L) -> Result<bool, Error> {
        labels.with_values(|values| self.family.remove(values))
    }

    /// The family, for its string-keyed API.
    pub fn family(&self) -> &Family<M> {
        &self.family
    }
}
