use super::{Metric, Scratch, Sealed};
use crate::error::Error;
use crate::family::Desc;
use crate::visit::{LabelSet, MetricType, MetricVisitor, SeriesValue};
use std::sync::{Arc, Mutex, PoisonError};

/// The states of a [`StateSet`], validated: at least one, none empty, each
/// once. Any string is a valid label value, so that is all a state needs.
///
/// ```
/// use hotmetrics_core::States;
/// assert!(States::new(&["starting", "running", "stopped"]).is_ok());
/// assert!(States::new(&[]).is_err());
/// assert!(States::new(&["on", ""]).is_err());
/// let e = States::new(&["on", "off", "on"]).unwrap_err();
/// assert_eq!(e.to_string(), r#"invalid state set: state "on" is given twice"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct States(Arc<StatesInner>);

#[derive(Debug, PartialEq, Eq)]
struct StatesInner {
    names: Box<[Box<str>]>,
    /// The state enabled in a new series; `None`: all start disabled.
    initial: Option<usize>,
}

impl States {
    /// The states of an enum (Python's `Enum`): a new series is in the
    /// first state.
    pub fn new(states: &[&str]) -> Result<Self, Error> {
        Self::with_initial(states, Some(0))
    }

    /// The states of a set of independent flags: every state of a new
    /// series is disabled.
    pub fn flags(states: &[&str]) -> Result<Self, Error> {
        Self::with_initial(states, None)
    }

    fn with_initial(states: &[&str], initial: Option<usize>) -> Result<Self, Error> {
        if states.is_empty() {
            return Err(Error::InvalidStates("no states given".into()));
        }
        for (i, s) in states.iter().enumerate() {
            if s.is_empty() {
                return Err(Error::InvalidStates(format!("state {} is empty", i + 1)));
            }
            if states[..i].contains(s) {
                return Err(Error::InvalidStates(format!("state {s:?} is given twice")));
            }
        }
        Ok(Self(Arc::new(StatesInner {
            names: states.iter().map(|&s| Box::from(s)).collect(),
            initial,
        })))
    }

    /// The states, in the order given.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.0.names.iter().map(|s| &**s)
    }
}

#[derive(Debug)]
struct StateSetCell {
    states: States,
    /// The family's name as registered, for messages.
    family: Box<str>,
    /// One flag per state; behind a lock so that `set` changes all of them
    /// at once for every scrape.
    enabled: Mutex<Box<[bool]>>,
}

/// A state set (OpenMetrics `stateset`, Python's `Enum`): a fixed list of
/// named states, each enabled or not, exposed as one sample per state
/// labelled with the family's own name
/// (`task_state{task_state="running"} 1`; gauges in text 0.0.4 and
/// protobuf).
///
/// As an enum, [`set`](Self::set) makes exactly one state enabled, in one
/// step that no scrape sees half done; [`set_state`](Self::set_state) turns
/// single states on or off, for sets of flags. Writes take a lock, as they
/// are rare. The name must also be a valid label name (no `:`), and state
/// sets take no unit.
///
/// ```
/// let registry = hotmetrics_core::Registry::new();
/// let task = registry
///     .state_set(("task_state", "Where the task is"), &["starting", "running", "stopped"])
///     .unwrap();
/// assert_eq!(task.is_enabled("starting"), Ok(true), "an enum starts in its first state");
/// task.set("running").unwrap();
/// assert_eq!(task.is_enabled("starting"), Ok(false));
/// let e = task.set("paused").unwrap_err();
/// assert_eq!(
///     e.to_string(),
///     r#""task_state" has no state "paused"; its states are "starting", "running", "stopped""#
/// );
/// ```
///
/// A set of flags, all disabled at first, and a labeled family:
///
/// ```
/// use hotmetrics_core::{Registry, StateSet, States};
/// let registry = Registry::new();
/// let features = registry
///     .metric::<StateSet>(("features", "Enabled features"), States::flags(&["tls", "gzip"]).unwrap())
///     .unwrap();
/// features.set_state("gzip", true).unwrap();
/// assert_eq!(features.is_enabled("tls"), Ok(false));
///
/// let breakers = registry
///     .state_set_vec(("breaker", "Circuit breakers"), &["closed", "open", "half_open"], &["upstream"])
///     .unwrap();
/// breakers.with(&["payments"], |b| b.set("open")).unwrap().unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct StateSet(Arc<StateSetCell>);

impl StateSet {
    fn index(&self, state: &str) -> Result<usize, Error> {
        self.0
            .states
            .names()
            .position(|s| s == state)
            .ok_or_else(|| Error::UnknownState {
                family: self.0.family.to_string(),
                state: state.to_owned(),
                states: self.0.states.names().map(str::to_owned).collect(),
            })
    }

    fn enabled(&self) -> std::sync::MutexGuard<'_, Box<[bool]>> {
        self.0
            .enabled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Enables `state` and disables every other one; an
    /// [`Error::UnknownState`] (and no change) for a state the set does not
    /// have.
    pub fn set(&self, state: &str) -> Result<(), Error> {
        let i = self.index(state)?;
        let mut enabled = self.enabled();
        enabled.fill(false);
        enabled[i] = true;
        Ok(())
    }

    /// Enables or disables `state` alone, leaving the others as they are.
    pub fn set_state(&self, state: &str, enabled: bool) -> Result<(), Error> {
        let i = self.index(state)?;
        self.enabled()[i] = enabled;
        Ok(())
    }

    /// Whether `state` is enabled.
    pub fn is_enabled(&self, state: &str) -> Result<bool, Error> {
        let i = self.index(state)?;
        Ok(self.enabled()[i])
    }
}

impl Metric for StateSet {
    type Config = States;
    const TYPE: MetricType = MetricType::StateSet;
}

impl Sealed for StateSet {
    fn references(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    fn is_unique(&mut self) -> bool {
        Arc::get_mut(&mut self.0).is_some()
    }

    fn create(states: &States, desc: &Desc) -> Result<Self, Error> {
        let mut enabled: Box<[bool]> = vec![false; states.0.names.len()].into();
        if let Some(i) = states.0.initial {
            enabled[i] = true;
        }
        Ok(Self(Arc::new(StateSetCell {
            states: states.clone(),
            family: desc.given.clone(),
            enabled: Mutex::new(enabled),
        })))
    }

    fn visit_series(
        &self,
        labels: &dyn LabelSet,
        scratch: &mut Scratch,
        out: &mut dyn MetricVisitor,
    ) {
        let mut pairs: Vec<(&str, bool)> = std::mem::take(&mut scratch.states);
        {
            let enabled = self.enabled();
            pairs.extend(self.0.states.names().zip(enabled.iter().copied()));
        }
        // The lock is released before the visitor runs.
        out.series(labels, &SeriesValue::StateSet(&pairs));
        scratch.states = recycle(pairs);
    }
}

/// Empties `pairs` and gives its allocation back for the next series. The
/// names borrowed from this series' states cannot outlive it, so the
/// empty vector is rebuilt for `'static` names; collecting a vector's own
/// iterator into elements of the same layout reuses its allocation (the
/// scrape tests count allocations and see none).
fn recycle(mut pairs: Vec<(&str, bool)>) -> Vec<(&'static str, bool)> {
    pairs.clear();
    pairs.into_iter().map(|(_, on)| ("", on)).collect()
}

#[cfg(test)]
mod tests {
    use super::recycle;

    #[test]
    fn recycling_keeps_the_allocation() {
        let owned = String::from("state");
        let mut pairs: Vec<(&str, bool)> = Vec::with_capacity(8);
        pairs.push((&owned, true));
        let ptr = pairs.as_ptr() as usize;
        let back = recycle(pairs);
        assert!(back.is_empty());
        assert_eq!(back.capacity(), 8);
        assert_eq!(back.as_ptr() as usize, ptr);
    }
}
