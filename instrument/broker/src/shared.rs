//! One set of the nine families per registry and prefix, shared by every
//! [`BrokerMetrics`](crate::BrokerMetrics) built on them, as FastStream
//! reuses the collectors a registry already has: a Kafka and a RabbitMQ
//! consumer in one process write the same families, `broker` tells them
//! apart.
//!
//! The registry has no lookup of a family by name, so the families are
//! found again through a marker: with the families, a collector is
//! registered under a name unique in the process
//! (`hotmetrics_broker_families_{n}`); it emits nothing, so scrapes never
//! show it, and it owns the families, so they live as long as the
//! registry. A process-wide table maps each marker to its families
//! (weakly: a dropped registry drops its entry). Whether a registry holds a
//! marker is asked the registry itself: registering a collector under the
//! marker's name fails there, and nowhere else (where the probe is
//! unregistered at once). Only building a `BrokerMetrics` does this.

use crate::families::Families;
use hotmetrics_core::{Collector, Described, Error, MetricType, MetricVisitor, Registry};
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// What a marker in some registry stands for.
struct Entry {
    /// The families' name prefix.
    prefix: Box<str>,
    /// The marker's name, unique in the process.
    marker: Box<str>,
    families: Weak<Families>,
}

/// Every marker registered so far whose registry may still be alive.
static TABLE: Mutex<Table> = Mutex::new(Table {
    entries: Vec::new(),
    next: 0,
});

struct Table {
    entries: Vec<Entry>,
    /// The next marker number.
    next: u64,
}

/// Registered with the families; owns them and emits nothing.
struct Marker {
    name: Box<str>,
    families: Arc<Families>,
}

impl Collector for Marker {
    fn describe(&self) -> Vec<Described> {
        vec![Described::new(&*self.name, MetricType::Gauge)]
    }

    fn collect(&self, _out: &mut dyn MetricVisitor) {
        // The families are registered in the registry themselves; the
        // marker only keeps them alive and findable.
        let _ = &self.families;
    }
}

/// A probe for a marker's name: emits nothing, unregistered at once.
struct Probe(Box<str>);

impl Collector for Probe {
    fn describe(&self) -> Vec<Described> {
        vec![Described::new(&*self.0, MetricType::Gauge)]
    }

    fn collect(&self, _out: &mut dyn MetricVisitor) {}
}

/// The families with `prefix` that `registry` already holds, or those
/// `register` makes, registered with a marker. Holds the table's lock
/// throughout, so two threads building at once make one set.
pub(crate) fn families(
    registry: &Registry,
    prefix: &str,
    register: impl FnOnce() -> Result<Families, Error>,
) -> Result<Arc<Families>, Error> {
    let mut table = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
    table.entries.retain(|e| e.families.strong_count() > 0);
    for entry in table.entries.iter().filter(|e| &*e.prefix == prefix) {
        let Some(families) = entry.families.upgrade() else {
            continue;
        };
        match registry.register_collector(Probe(entry.marker.clone())) {
            Ok(id) => {
                registry.unregister_collector(id);
            }
            Err(Error::AlreadyRegistered { .. }) => return Ok(families),
            Err(e) => return Err(e),
        }
    }
    let families = Arc::new(register()?);
    let marker: Box<str> = format!("hotmetrics_broker_families_{}", table.next).into();
    table.next += 1;
    let registered = registry.register_collector(Marker {
        name: marker.clone(),
        families: Arc::clone(&families),
    });
    if let Err(e) = registered {
        families.unregister(registry);
        return Err(e);
    }
    table.entries.push(Entry {
        prefix: prefix.into(),
        marker,
        families: Arc::downgrade(&families),
    });
    Ok(families)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_registry_frees_its_families() {
        let registry = Registry::new();
        let metrics = crate::BrokerMetrics::new(&registry, crate::Broker::Nats).unwrap();
        let weak = Arc::downgrade(metrics.families_arc());
        drop(metrics);
        assert!(weak.upgrade().is_some(), "the registry keeps them");
        drop(registry);
        // Another test building `BrokerMetrics` meanwhile upgrades every
        // entry while it probes, under the table's lock: once we hold the
        // lock, nothing but the dropped registry could have kept them.
        let _table = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(weak.upgrade().is_none(), "gone with the registry");
    }

    #[test]
    fn the_marker_shows_in_no_scrape() {
        let registry = Registry::new();
        let _m = crate::BrokerMetrics::new(&registry, crate::Broker::Nats).unwrap();
        let names: Vec<String> = registry
            .snapshot()
            .families
            .iter()
            .map(|f| f.name.clone())
            .collect();
        assert_eq!(names.len(), 9, "{names:?}");
        assert!(
            names.iter().all(|n| n.starts_with("faststream_")),
            "{names:?}"
        );
    }
}
