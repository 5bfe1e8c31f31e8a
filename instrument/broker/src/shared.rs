//! One set of the nine families per registry and prefix, shared by every
//! [`BrokerMetrics`](crate::BrokerMetrics) built on them, as FastStream
//! reuses the collectors a registry already has: a Kafka and a RabbitMQ
//! consumer in one process write the same families, `broker` tells them
//! apart.
//!
//! The sets are kept with the registry itself
//! ([`Registry::extension`]), by prefix: they live as long as it does, and
//! no other registry can see them.

use crate::families::Families;
use hotmetrics_core::{Error, Registry};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A registry's family sets by prefix.
#[derive(Default)]
struct ByPrefix(Mutex<HashMap<Box<str>, Arc<Families>>>);

/// The families with `prefix` that `registry` already holds, or those
/// `register` makes. Holds the registry's set lock throughout, so two
/// threads building at once make one set.
pub(crate) fn families(
    registry: &Registry,
    prefix: &str,
    register: impl FnOnce() -> Result<Families, Error>,
) -> Result<Arc<Families>, Error> {
    let sets = registry.extension(ByPrefix::default);
    let mut sets = sets.0.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(families) = sets.get(prefix) {
        return Ok(Arc::clone(families));
    }
    let families = Arc::new(register()?);
    sets.insert(prefix.into(), Arc::clone(&families));
    Ok(families)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Broker, BrokerMetrics};

    #[test]
    fn a_dropped_registry_frees_its_families() {
        let registry = Registry::new();
        let metrics = BrokerMetrics::new(&registry, Broker::Nats).unwrap();
        let weak = Arc::downgrade(metrics.families_arc());
        drop(metrics);
        assert!(weak.upgrade().is_some(), "the registry keeps them");
        drop(registry);
        assert!(weak.upgrade().is_none(), "gone with the registry");
    }

    #[test]
    fn one_set_per_registry_and_prefix() {
        let (a, b) = (Registry::new(), Registry::new());
        let set = |r: &Registry, broker, prefix: &str| {
            let m = BrokerMetrics::builder(broker)
                .prefix(prefix)
                .build(r)
                .unwrap();
            Arc::clone(m.families_arc())
        };
        let kafka = set(&a, Broker::Kafka, "faststream");
        assert!(Arc::ptr_eq(
            &kafka,
            &set(&a.clone(), Broker::Rabbit, "faststream")
        ));
        assert!(!Arc::ptr_eq(&kafka, &set(&b, Broker::Kafka, "faststream")));
        assert!(!Arc::ptr_eq(&kafka, &set(&a, Broker::Kafka, "other")));
        let names: Vec<String> = a
            .snapshot()
            .families
            .iter()
            .map(|f| f.name.clone())
            .collect();
        assert_eq!(names.len(), 18, "nine per prefix, nothing else: {names:?}");
    }

    #[test]
    fn threads_building_at_once_make_one_set() {
        let registry = Registry::new();
        let sets: Vec<Arc<Families>> = std::thread::scope(|s| {
            let handles: Vec<_> = [Broker::Kafka, Broker::Rabbit, Broker::Nats, Broker::Redis]
                .into_iter()
                .map(|broker| {
                    let registry = &registry;
                    s.spawn(move || {
                        let m = BrokerMetrics::new(registry, broker).unwrap();
                        Arc::clone(m.families_arc())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(sets.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
    }
}
