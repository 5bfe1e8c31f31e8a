//! Consumer lag: one gauge family that FastStream does not have, for the
//! backlog a broker reports (a RabbitMQ queue's message count, a JetStream
//! consumer's pending messages).

use crate::families::BrokerMetrics;
use hotmetrics_core::{Error, Gauge};
use std::sync::PoisonError;

/// The lag family's name after the prefix:
/// `faststream_consumer_lag_messages` by default. Our extension, named so
/// that it cannot clash with FastStream's nine (none of which starts with
/// `consumer_`); dashboard 22130 does not show it.
pub const LAG_SUFFIX: &str = "consumer_lag_messages";

impl BrokerMetrics {
    /// The lag gauge of `handler`: messages the broker holds for it that
    /// it has not delivered yet, as the broker reports them; labels
    /// `app_name`, `broker`, `handler` and the custom ones. The family
    /// (`{prefix}_consumer_lag_messages`, see [`LAG_SUFFIX`]) is
    /// registered on the first call, once for all the `BrokerMetrics` that
    /// share the families. Fails as
    /// [`handler`](Self::handler) does, or when the name is taken.
    ///
    /// ```
    /// use hotmetrics_broker::{Broker, BrokerMetrics};
    /// use hotmetrics_core::Registry;
    ///
    /// # fn main() -> Result<(), hotmetrics_core::Error> {
    /// let registry = Registry::new();
    /// let metrics = BrokerMetrics::new(&registry, Broker::Rabbit)?;
    /// metrics.lag("orders")?.set(42);
    /// let labels = [("app_name", "faststream"), ("broker", "rabbitmq"), ("handler", "orders")];
    /// assert_eq!(registry.snapshot().gauge("faststream_consumer_lag_messages", &labels), Some(42.0));
    /// # Ok(())
    /// # }
    /// ```
    pub fn lag(&self, handler: &str) -> Result<Gauge, Error> {
        self.lag_with(handler, &[])
    }

    /// [`lag`](Self::lag) with the values of the per-message custom labels.
    pub fn lag_with(&self, handler: &str, values: &[&str]) -> Result<Gauge, Error> {
        let labels = self.labels(handler, values)?;
        let families = self.families();
        let mut lag = families.lag.lock().unwrap_or_else(PoisonError::into_inner);
        let family = match &*lag {
            Some(f) => f,
            None => {
                let names: Vec<&str> = ["app_name", "broker", "handler"]
                    .into_iter()
                    .chain(families.custom.iter().map(|c| &**c))
                    .collect();
                // Never expires: the broker reports the same lag for hours.
                let family = self.registry().gauge_vec(
                    hotmetrics_core::Opts::new(
                        format!("{}_{LAG_SUFFIX}", self.prefix()),
                        "Messages the broker holds for a handler, not delivered yet, by broker and handler",
                    )
                    .never_expire(),
                    &names,
                )?;
                lag.insert(family)
            }
        };
        family.get_or_create(&labels.plain())
    }
}
