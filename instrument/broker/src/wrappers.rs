//! What the client wrappers share: handles cached by name, and how a
//! delivery's processing ends when the wrapper is dropped.

use crate::{BrokerMetrics, DROPPED, DestinationMetrics, HandlerMetrics, PANIC, ProcessingGuard};
use hotmetrics_core::Error;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// A consumer's handler handles by name and per-message label values: one
/// hash lookup per delivery, no allocation once the key was seen.
#[derive(Debug, Default)]
pub(crate) struct HandlerCache {
    handlers: HashMap<String, HandlerMetrics>,
    /// The key at hand, reused: the handler name, then each label value
    /// after a unit separator (so no value is taken for the name's tail).
    key: String,
}

impl HandlerCache {
    /// The handle of `handler` with the per-message label `values`.
    pub(crate) fn get(
        &mut self,
        metrics: &BrokerMetrics,
        handler: &str,
        values: Option<Vec<String>>,
    ) -> Result<&HandlerMetrics, Error> {
        self.key.clear();
        self.key.push_str(handler);
        for v in values.iter().flatten() {
            self.key.push('\u{1f}');
            self.key.push_str(v);
        }
        if !self.handlers.contains_key(&self.key) {
            let values: Vec<&str> = values.iter().flatten().map(String::as_str).collect();
            let h = metrics.handler_with(handler, &values)?;
            self.handlers.insert(self.key.clone(), h);
        }
        Ok(&self.handlers[&self.key])
    }

    /// How many handles it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.handlers.len()
    }
}

/// A publisher's destination handles by name, shared by `&self` calls: a
/// lock per publish, held for one hash lookup, next to a broker round trip.
#[derive(Debug, Default)]
pub(crate) struct DestinationCache(Mutex<HashMap<String, DestinationMetrics>>);

impl DestinationCache {
    pub(crate) fn get(
        &self,
        metrics: &BrokerMetrics,
        destination: &str,
    ) -> Result<DestinationMetrics, Error> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(d) = map.get(destination) {
            return Ok(d.clone());
        }
        let d = metrics.destination(destination)?;
        map.insert(destination.to_owned(), d.clone());
        Ok(d)
    }
}

/// Ends a delivery's processing as its wrapper is dropped: a panic counts
/// one [`PANIC`]; a delivery that had to be settled and was neither settled
/// nor raised counts one [`DROPPED`] (the broker will deliver it again).
pub(crate) fn end_on_drop(mut guard: ProcessingGuard, must_settle: bool) {
    if std::thread::panicking() {
        guard.exception(PANIC);
    } else if must_settle && guard.ack_state().is_none() && !guard.raised() {
        guard.exception(DROPPED);
    }
    guard.end();
}

/// An error's kind as an exception type: the variant name of its `Debug`
/// (`InvalidChannelState(..)` is `InvalidChannelState`).
pub(crate) fn kind_name(kind: &dyn std::fmt::Debug) -> String {
    let mut name = format!("{kind:?}");
    let end = name
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    name.truncate(end);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_variant_names() {
        assert_eq!(kind_name(&std::io::ErrorKind::NotFound), "NotFound");
        assert_eq!(kind_name(&Some(1)), "Some");
        assert_eq!(kind_name(&std::ops::Bound::Included(2)), "Included");
    }

    #[test]
    fn handler_keys_keep_names_and_values_apart() {
        let registry = hotmetrics_core::Registry::new();
        let metrics = crate::BrokerMetrics::builder(crate::Broker::Nats)
            .per_message_label("t")
            .build(&registry)
            .unwrap();
        let mut cache = HandlerCache::default();
        cache.get(&metrics, "a", Some(vec!["b".into()])).unwrap();
        cache
            .get(&metrics, "a\u{1f}b", Some(vec![String::new()]))
            .unwrap();
        cache.get(&metrics, "a", Some(vec!["b".into()])).unwrap();
        assert_eq!(cache.len(), 2);
        let err = cache.get(&metrics, "a", None).unwrap_err();
        assert!(matches!(err, Error::LabelCount { .. }), "{err}");
    }
}
