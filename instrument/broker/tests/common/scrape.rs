//! Exact values of one scrape, by FastStream's label conventions.

use hotmetrics_core::{Registry, Snapshot, ValueSnapshot};

/// Exact values of one scrape, by FastStream's label conventions.
pub struct Scrape {
    snap: Snapshot,
    broker: &'static str,
}

impl Scrape {
    pub fn of(registry: &Registry, broker: &'static str) -> Self {
        Self {
            snap: registry.snapshot(),
            broker,
        }
    }

    fn value(&self, name: &str, key: &str, value: &str, extra: Option<(&str, &str)>) -> f64 {
        let mut labels = vec![
            ("app_name", "faststream"),
            ("broker", self.broker),
            (key, value),
        ];
        labels.extend(extra);
        match self.snap.value(&format!("faststream_{name}"), &labels) {
            Some(ValueSnapshot::Counter(v)) | Some(ValueSnapshot::Gauge(v)) => *v,
            Some(ValueSnapshot::Histogram { count, .. }) => *count as f64,
            None => 0.0,
            Some(other) => panic!("{name}: unexpected {other:?}"),
        }
    }

    pub fn received(&self, handler: &str) -> f64 {
        self.value("received_messages", "handler", handler, None)
    }

    pub fn in_process(&self, handler: &str) -> f64 {
        self.value("received_messages_in_process", "handler", handler, None)
    }

    pub fn sizes(&self, handler: &str) -> f64 {
        self.value("received_messages_size_bytes", "handler", handler, None)
    }

    pub fn durations(&self, handler: &str) -> f64 {
        self.value(
            "received_processed_messages_duration_seconds",
            "handler",
            handler,
            None,
        )
    }

    pub fn processed(&self, handler: &str, status: &str) -> f64 {
        let extra = Some(("status", status));
        self.value("received_processed_messages", "handler", handler, extra)
    }

    pub fn exceptions(&self, handler: &str, ty: &str) -> f64 {
        let extra = Some(("exception_type", ty));
        self.value(
            "received_processed_messages_exceptions",
            "handler",
            handler,
            extra,
        )
    }

    pub fn published(&self, destination: &str, status: &str) -> f64 {
        let extra = Some(("status", status));
        self.value("published_messages", "destination", destination, extra)
    }

    pub fn publish_durations(&self, destination: &str) -> f64 {
        self.value(
            "published_messages_duration_seconds",
            "destination",
            destination,
            None,
        )
    }

    pub fn publish_exceptions(&self, destination: &str, ty: &str) -> f64 {
        let extra = Some(("exception_type", ty));
        self.value(
            "published_messages_exceptions",
            "destination",
            destination,
            extra,
        )
    }

    pub fn lag(&self, handler: &str) -> f64 {
        self.value("consumer_lag_messages", "handler", handler, None)
    }

    /// Every (exception type, count) of `family`, all handlers together.
    pub fn exception_types(&self, family: &str) -> Vec<(String, f64)> {
        self.exception_series(family, |_| true)
    }

    /// Every (exception type, count) of `handler`'s processing exceptions.
    pub fn exception_types_of(&self, handler: &str) -> Vec<(String, f64)> {
        self.exception_series("received_processed_messages_exceptions", |labels| {
            label(labels, "handler") == Some(handler)
        })
    }

    /// The (exception type, count) of the series of `family` whose labels
    /// `keep` takes, by type.
    fn exception_series(
        &self,
        family: &str,
        keep: impl Fn(&[(String, String)]) -> bool,
    ) -> Vec<(String, f64)> {
        let name = format!("faststream_{family}");
        let mut out = Vec::new();
        for f in self.snap.families.iter().filter(|f| f.name == name) {
            for s in f.series.iter().filter(|s| keep(&s.labels)) {
                let ty = label(&s.labels, "exception_type").unwrap_or_default();
                if let ValueSnapshot::Counter(v) = s.value {
                    out.push((ty.to_owned(), v));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The handlers that received messages, sorted.
    pub fn handlers(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .series()
            .filter(|(name, ..)| *name == "faststream_received_messages")
            .filter_map(|(_, labels, _)| label(labels, "handler").map(str::to_owned))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Fails unless every series of `before` (an earlier scrape of the
    /// same registry) is still here, none of its counts lower.
    pub fn assert_kept(&self, before: &Scrape) {
        for (name, labels, was) in before.series() {
            let now = self
                .series()
                .find(|(n, l, _)| *n == name && *l == labels)
                .map(|(.., v)| v);
            let Some(now) = now else {
                panic!("{name}{labels:?} is gone (was {was:?})");
            };
            if let (Some(was), Some(now)) = (growing(was), growing(now)) {
                assert!(now >= was, "{name}{labels:?} went from {was} down to {now}");
            }
        }
    }

    /// Every series: family name, labels, value.
    fn series(&self) -> impl Iterator<Item = (&str, &[(String, String)], &ValueSnapshot)> {
        self.snap.families.iter().flat_map(|f| {
            f.series
                .iter()
                .map(|s| (f.name.as_str(), s.labels.as_slice(), &s.value))
        })
    }
}

/// The value of label `name`.
fn label<'a>(labels: &'a [(String, String)], name: &str) -> Option<&'a str> {
    labels
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The part of a value that only grows: a counter's total, a histogram's
/// count; `None` for a gauge.
fn growing(value: &ValueSnapshot) -> Option<f64> {
    match value {
        ValueSnapshot::Counter(v) => Some(*v),
        ValueSnapshot::Histogram { count, .. } => Some(*count as f64),
        _ => None,
    }
}
