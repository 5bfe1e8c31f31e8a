//! What the client wrappers share: the metered consumer's core (the
//! families, the handler handles by name, the per-message label closure),
//! a received message's processing until it is dropped, and the
//! publishers' destination handles.

use crate::{
    AckState, BrokerMetrics, DROPPED, DestinationMetrics, HandlerMetrics, Outcome, PANIC,
    ProcessingGuard,
};
use hotmetrics_core::Error;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};

/// What every metered consumer holds to count a message as received: the
/// families, its handler handles, and the closure that computes a
/// message's per-message label values (`L`, its `dyn Fn` type: over a
/// lapin `Delivery`, a Redis channel and payload, a Kafka
/// `BorrowedMessage<'_>`, ...).
pub(crate) struct Meter<L: ?Sized> {
    metrics: BrokerMetrics,
    handlers: HandlerCache,
    labels: Option<Box<L>>,
}

impl<L: ?Sized> Meter<L> {
    /// Counts into `metrics`, without per-message labels.
    pub(crate) fn new(metrics: &BrokerMetrics) -> Self {
        Self {
            metrics: metrics.clone(),
            handlers: HandlerCache::default(),
            labels: None,
        }
    }

    /// The families it counts into (for the lag, where the wrapper reads
    /// it: lapin's; unused with the other wrappers alone).
    #[cfg_attr(not(feature = "lapin"), allow(dead_code))]
    pub(crate) fn metrics(&self) -> &BrokerMetrics {
        &self.metrics
    }

    /// From now on each message's per-message label values come from
    /// `labels`.
    pub(crate) fn set_labels(&mut self, labels: Box<L>) {
        self.labels = Some(labels);
    }

    /// Counts a message of `handler`, `size_bytes` long, as received and
    /// starts its processing; `values` calls the label closure, if one was
    /// set, on the message. A wrong number of values is an
    /// [`Error::LabelCount`], and nothing is counted.
    pub(crate) fn receive(
        &mut self,
        handler: &str,
        size_bytes: usize,
        values: impl FnOnce(&L) -> Vec<String>,
    ) -> Result<ProcessingGuard, Error> {
        let values = self.labels.as_deref().map(values);
        let handler = self.handlers.get(&self.metrics, handler, values)?;
        Ok(handler.receive(size_bytes))
    }
}

/// A received message's processing, from its receipt until the wrapper
/// that holds it is dropped. On drop, a panic counts one [`PANIC`]; a
/// message that had to be settled and was neither settled nor raised
/// counts one [`DROPPED`] (the broker will deliver it again); any other
/// ends with its ack state, else `error` after an exception, else
/// `acked`.
#[derive(Debug)]
pub(crate) struct InProcess {
    /// `None` for an RPC reply, which is not counted, and once ended.
    guard: Option<ProcessingGuard>,
    /// Whether the broker waits for it to be settled (dropping it
    /// unsettled is then an error).
    must_settle: bool,
}

// Each wrapper calls what its broker needs (uncounted RPC replies, the
// result of a settle call, skips): built with some of them only, the
// others' calls are unused.
#[cfg_attr(
    not(all(
        feature = "lapin",
        feature = "async-nats",
        feature = "redis",
        feature = "rumqttc",
        feature = "rdkafka"
    )),
    allow(dead_code)
)]
impl InProcess {
    /// The processing `guard` started; `must_settle` says whether the
    /// broker waits for the message to be settled.
    pub(crate) fn new(guard: ProcessingGuard, must_settle: bool) -> Self {
        Self {
            guard: Some(guard),
            must_settle,
        }
    }

    /// A message not counted (an RPC reply): every call records nothing.
    pub(crate) fn uncounted() -> Self {
        Self {
            guard: None,
            must_settle: false,
        }
    }

    /// Whether the message is counted.
    pub(crate) fn is_counted(&self) -> bool {
        self.guard.is_some()
    }

    /// Whether it was settled already.
    pub(crate) fn is_settled(&self) -> bool {
        self.guard.as_ref().is_some_and(|g| g.ack_state().is_some())
    }

    /// Counts one exception of `exception_type`; processing goes on.
    pub(crate) fn exception(&mut self, exception_type: &str) {
        if let Some(g) = &mut self.guard {
            g.exception(exception_type);
        }
    }

    /// Records the ack state `state` (the first one given counts).
    pub(crate) fn settle(&mut self, state: AckState) {
        if let Some(g) = &mut self.guard {
            g.settle(state);
        }
    }

    /// Records how the client's settle call went: the ack state `state`
    /// when it succeeded, else one exception, named by `exception_type`;
    /// gives the call's result back.
    pub(crate) fn settled<T, E>(
        &mut self,
        result: Result<T, E>,
        state: AckState,
        exception_type: impl FnOnce(&E) -> String,
    ) -> Result<T, E> {
        match &result {
            Ok(_) => self.settle(state),
            Err(e) => self.exception(&exception_type(e)),
        }
        result
    }

    /// Processing ends with status `skipped` (FastStream's
    /// `SkipMessage`), unless the message was settled or raised.
    pub(crate) fn skip(&mut self) {
        if let Some(g) = self.guard.take() {
            g.finish(Outcome::Skipped);
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        if std::thread::panicking() {
            guard.exception(PANIC);
        } else if self.must_settle && guard.ack_state().is_none() && !guard.raised() {
            guard.exception(DROPPED);
        }
        guard.end();
    }
}

/// A consumer's handler handles by name and per-message label values: one
/// hash lookup per delivery, no allocation once the key was seen.
#[derive(Debug, Default)]
struct HandlerCache {
    handlers: HashMap<String, HandlerMetrics>,
    /// The key at hand, reused: the handler name, then each label value
    /// after a unit separator (so no value is taken for the name's tail).
    key: String,
}

impl HandlerCache {
    /// The handle of `handler` with the per-message label `values`.
    fn get(
        &mut self,
        metrics: &BrokerMetrics,
        handler: &str,
        values: Option<Vec<String>>,
    ) -> Result<&HandlerMetrics, Error> {
        // Each part with its length first: no value, whatever it holds,
        // can run into the next.
        self.key.clear();
        for part in std::iter::once(handler).chain(values.iter().flatten().map(String::as_str)) {
            let _ = write!(self.key, "{}\u{1f}{part}", part.len());
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
    fn len(&self) -> usize {
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
        // Values holding the separator cannot run into each other.
        let two = crate::BrokerMetrics::builder(crate::Broker::Nats)
            .prefix("two")
            .per_message_label("t")
            .per_message_label("u")
            .build(&registry)
            .unwrap();
        let mut cache = HandlerCache::default();
        cache
            .get(&two, "a", Some(vec!["b\u{1f}c".into(), "d".into()]))
            .unwrap();
        cache
            .get(&two, "a", Some(vec!["b".into(), "c\u{1f}d".into()]))
            .unwrap();
        assert_eq!(cache.len(), 2);
        let err = cache.get(&metrics, "a", None).unwrap_err();
        assert!(matches!(err, Error::LabelCount { .. }), "{err}");
    }

    /// Label values from a message that is a `&str`.
    type StrLabels = dyn Fn(&str) -> Vec<String>;

    /// A meter on a NATS family set with one per-message label, `tenant`.
    fn tenant_meter(registry: &hotmetrics_core::Registry) -> Meter<StrLabels> {
        let metrics = crate::BrokerMetrics::builder(crate::Broker::Nats)
            .per_message_label("tenant")
            .build(registry)
            .unwrap();
        Meter::new(&metrics)
    }

    /// The processed count of handler `h` with status `status`, and the
    /// exception count of type `ty`, for tenant `t`.
    fn counts(registry: &hotmetrics_core::Registry, status: &str, ty: &str) -> (f64, f64) {
        let snap = registry.snapshot();
        let base = [
            ("app_name", "faststream"),
            ("broker", "nats"),
            ("handler", "h"),
        ];
        let get = |name, (k, v)| {
            let mut labels = base.to_vec();
            labels.extend([(k, v), ("tenant", "t")]);
            snap.counter(name, &labels).unwrap_or(0.0)
        };
        (
            get("faststream_received_processed_messages", ("status", status)),
            get(
                "faststream_received_processed_messages_exceptions",
                ("exception_type", ty),
            ),
        )
    }

    fn received(registry: &hotmetrics_core::Registry, tenant: &str) -> Option<f64> {
        let labels = [
            ("app_name", "faststream"),
            ("broker", "nats"),
            ("handler", "h"),
            ("tenant", tenant),
        ];
        registry
            .snapshot()
            .counter("faststream_received_messages", &labels)
    }

    #[test]
    fn a_meter_counts_with_the_label_closure_and_refuses_a_wrong_count() {
        let registry = hotmetrics_core::Registry::new();
        let mut meter = tenant_meter(&registry);
        // No closure set: no values, one label short.
        let err = meter.receive("h", 3, |f| f("t")).unwrap_err();
        assert!(matches!(err, Error::LabelCount { got: 0, .. }), "{err}");
        meter.set_labels(Box::new(|msg: &str| {
            msg.split(',').map(str::to_owned).collect()
        }));
        meter.receive("h", 3, |f| f("t")).unwrap().ack();
        let err = meter.receive("h", 3, |f| f("t,u")).unwrap_err();
        assert!(matches!(err, Error::LabelCount { got: 2, .. }), "{err}");
        assert_eq!(received(&registry, "t"), Some(1.0));
        assert_eq!(counts(&registry, "acked", ""), (1.0, 0.0));
    }

    #[test]
    fn dropped_in_process_ends_as_its_broker_needs() {
        let registry = hotmetrics_core::Registry::new();
        let mut meter = tenant_meter(&registry);
        meter.set_labels(Box::new(|_: &str| vec!["t".to_owned()]));
        let mut receive =
            |must_settle| InProcess::new(meter.receive("h", 1, |f| f("")).unwrap(), must_settle);

        // Unsettled, not raised: an error where it had to be settled...
        drop(receive(true));
        assert_eq!(counts(&registry, "error", DROPPED), (1.0, 1.0));
        // ... and acked where there is nothing to settle.
        drop(receive(false));
        assert_eq!(counts(&registry, "acked", DROPPED), (1.0, 1.0));
        // Raised: error, the one exception.
        let mut raised = receive(true);
        raised.exception("ValueError");
        drop(raised);
        assert_eq!(counts(&registry, "error", "ValueError"), (2.0, 1.0));
        // Settled, then raised: the ack state plus the exception.
        let mut settled = receive(true);
        assert!(!settled.is_settled());
        settled.settle(AckState::Nacked);
        settled.settle(AckState::Acked);
        assert!(settled.is_settled());
        settled.exception("AfterNack");
        drop(settled);
        assert_eq!(counts(&registry, "nacked", "AfterNack"), (1.0, 1.0));
        // Skipped: skipped, nothing more on drop.
        let mut skipped = receive(true);
        skipped.skip();
        assert!(!skipped.is_settled());
        drop(skipped);
        assert_eq!(counts(&registry, "skipped", DROPPED), (1.0, 1.0));
        // A panic while it is held: Panic.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _held = receive(false);
            panic!("handler failed");
        }));
        assert!(panicked.is_err());
        assert_eq!(counts(&registry, "error", PANIC), (3.0, 1.0));
        assert_eq!(received(&registry, "t"), Some(6.0));
    }

    #[test]
    fn settled_records_the_state_or_one_exception() {
        let registry = hotmetrics_core::Registry::new();
        let mut meter = tenant_meter(&registry);
        meter.set_labels(Box::new(|_: &str| vec!["t".to_owned()]));
        let mut ok = InProcess::new(meter.receive("h", 1, |f| f("")).unwrap(), true);
        assert_eq!(
            ok.settled(Ok::<u8, ()>(7), AckState::Rejected, |_| unreachable!()),
            Ok(7)
        );
        drop(ok);
        assert_eq!(counts(&registry, "rejected", "goneError"), (1.0, 0.0));
        let mut failed = InProcess::new(meter.receive("h", 1, |f| f("")).unwrap(), true);
        let r = failed.settled(Err::<(), _>("gone"), AckState::Acked, |e| {
            format!("{e}Error")
        });
        assert_eq!(r, Err("gone"));
        assert!(!failed.is_settled());
        drop(failed);
        assert_eq!(counts(&registry, "error", "goneError"), (1.0, 1.0));
    }

    #[test]
    fn an_uncounted_message_is_never_settled() {
        let mut reply = InProcess::uncounted();
        assert!(!reply.is_counted());
        reply.exception("ValueError");
        reply.settle(AckState::Acked);
        assert!(!reply.is_settled());
        reply.skip();
    }
}
