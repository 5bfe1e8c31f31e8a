use super::{Metric, Scratch, Sealed};
use crate::error::Error;
use crate::family::Desc;
use crate::labels::{NameValidation, Origin, validate_label_names};
use crate::visit::{LabelSet, MetricType, MetricVisitor, SeriesValue};
use std::sync::{Arc, PoisonError, RwLock};

type Pairs = Arc<[(Box<str>, Box<str>)]>;

#[derive(Debug)]
struct InfoCell {
    /// The family's name as registered, for messages.
    family: Box<str>,
    /// The label names every series of the family already carries.
    taken: Box<[(Box<str>, Origin)]>,
    /// The registry's name validation.
    validation: NameValidation,
    /// The information; replaced whole by `set`, cloned out by scrapes.
    labels: RwLock<Pairs>,
}

/// An info metric (OpenMetrics `info`, Python's `Info`): a constant `1`
/// whose labels carry the information, such as a build's version.
///
/// The name is given with or without `_info`: `build_info` and `build` are
/// both the family `build`, exposed as `build_info{version="1.2.3"} 1`
/// (OpenMetrics type `info`; a gauge in text 0.0.4 and protobuf).
/// [`set`](Self::set) replaces the labels; it takes a lock, as writes are
/// rare (scrapes take it only to clone a pointer). Info metrics take no
/// unit.
///
/// ```
/// let registry = hotmetrics_core::Registry::builder().const_label("service", "api").build().unwrap();
/// let build = registry.info(("build_info", "Build information"), &[("version", "1.2.3")]).unwrap();
/// build.set(&[("version", "1.2.4"), ("commit", "a1b2c3")]).unwrap();
/// assert_eq!(build.get(), [("version".to_owned(), "1.2.4".to_owned()), ("commit".to_owned(), "a1b2c3".to_owned())]);
///
/// // A label the series already carries is refused, naming both.
/// let e = build.set(&[("service", "web")]).unwrap_err();
/// assert_eq!(
///     e.to_string(),
///     r#""build_info": label "service" is given twice, as a constant label of the registry and as an info label"#
/// );
/// ```
///
/// A labeled family of them ([`Registry::info_vec`](crate::Registry::info_vec))
/// holds one info per label values, each with labels of its own.
#[derive(Clone, Debug)]
pub struct Info(Arc<InfoCell>);

impl Info {
    /// Replaces the information with `labels`: valid label names, each
    /// once, none that the series already carries (constant labels, the
    /// family's label names). On an error nothing changes.
    pub fn set(&self, labels: &[(&str, &str)]) -> Result<(), Error> {
        // Syntax, duplicates (with the labels the series carries too),
        // and in a UTF-8 registry names that clash once escaped.
        validate_label_names(
            self.0.validation,
            MetricType::Info,
            &self.0.family,
            &self.0.family,
            self.0
                .taken
                .iter()
                .map(|(n, origin)| (&**n, *origin))
                .chain(labels.iter().map(|(n, _)| (*n, Origin::Info))),
        )?;
        let pairs: Pairs = labels
            .iter()
            .map(|&(n, v)| (Box::from(n), Box::from(v)))
            .collect();
        *self
            .0
            .labels
            .write()
            .unwrap_or_else(PoisonError::into_inner) = pairs;
        Ok(())
    }

    /// The information, in the order it was set.
    pub fn get(&self) -> Vec<(String, String)> {
        self.pairs()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn pairs(&self) -> Pairs {
        Arc::clone(&self.0.labels.read().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Metric for Info {
    type Config = ();
    const TYPE: MetricType = MetricType::Info;
}

impl Sealed for Info {
    fn references(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    fn is_unique(&mut self) -> bool {
        Arc::get_mut(&mut self.0).is_some()
    }

    fn create(_: &(), desc: &Desc) -> Result<Self, Error> {
        Ok(Self(Arc::new(InfoCell {
            family: desc.given.clone(),
            taken: desc
                .label_origins()
                .map(|(n, origin)| (Box::from(n), origin))
                .collect(),
            validation: desc.validation,
            labels: RwLock::new(Arc::new([])),
        })))
    }

    fn visit_series(&self, labels: &dyn LabelSet, _: &mut Scratch, out: &mut dyn MetricVisitor) {
        // Cloned out, so the lock is not held while the visitor runs.
        let extra = self.pairs();
        out.series(
            &Extended {
                labels,
                extra: &extra,
            },
            &SeriesValue::Info,
        );
    }
}

/// A series' labels followed by an info's own.
struct Extended<'a> {
    labels: &'a dyn LabelSet,
    extra: &'a [(Box<str>, Box<str>)],
}

impl LabelSet for Extended<'_> {
    fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        self.labels.for_each(f);
        for (n, v) in self.extra {
            f(n, v);
        }
    }
}
