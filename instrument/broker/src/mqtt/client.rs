//! Publishing: QoS 0 recorded once the event loop has it, QoS 1 and 2
//! left open for the event loop to finish at the broker's ack.

use super::event_loop::InFlight;
use super::{Error, INVALID_TOPIC, exception_type};
use crate::BrokerMetrics;
use crate::wrappers::DestinationCache;
use rumqttc::{AsyncClient, QoS, valid_topic};
use std::fmt;
use std::sync::Arc;

/// An `AsyncClient` whose publishes record FastStream's `published_*`
/// families (destination: the topic); from [`metered`](super::metered).
/// Share it (`&self` methods).
pub struct MeteredMqttClient {
    client: AsyncClient,
    metrics: BrokerMetrics,
    destinations: DestinationCache,
    in_flight: Arc<InFlight>,
}

impl fmt::Debug for MeteredMqttClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredMqttClient").finish_non_exhaustive()
    }
}

impl MeteredMqttClient {
    pub(super) fn new(
        client: AsyncClient,
        metrics: &BrokerMetrics,
        in_flight: Arc<InFlight>,
    ) -> Self {
        Self {
            client,
            metrics: metrics.clone(),
            destinations: DestinationCache::default(),
            in_flight,
        }
    }

    /// The client (subscribe, disconnect, ...; publish through
    /// [`publish`](Self::publish)).
    pub fn client(&self) -> &AsyncClient {
        &self.client
    }

    /// Hands a publish of `payload` to `topic` to the event loop: QoS 0
    /// records `success` now; QoS 1 and 2 when the event loop sees the
    /// broker's PubAck / PubComp. A topic MQTT refuses is `error`
    /// `InvalidTopic`; an event loop that is gone, `Request`.
    pub async fn publish(
        &self,
        topic: &str,
        qos: QoS,
        retain: bool,
        payload: impl Into<Vec<u8>>,
    ) -> Result<(), Error> {
        let send = self.destinations.get(&self.metrics, topic)?.publish();
        if !valid_topic(topic) {
            send.error(INVALID_TOPIC);
            return Err(Error::Client(rumqttc::ClientError::Request(
                rumqttc::Request::Publish(rumqttc::Publish::new(topic, qos, payload)),
            )));
        }
        let handed = if qos == QoS::AtMostOnce {
            self.client.publish(topic, qos, retain, payload).await
        } else {
            // Queued before the client has it, so that the event loop finds
            // it when it sends it; one metered publish at a time, so that
            // the queue's order is the event loop's.
            let _order = self.in_flight.order.lock().await;
            self.in_flight.push(qos, send);
            let handed = self.client.publish(topic, qos, retain, payload).await;
            return match handed {
                Ok(()) => Ok(()),
                Err(e) => {
                    // Never sent, so not taken by the event loop: the last.
                    if let Some(send) = self.in_flight.pop_last() {
                        send.error(&exception_type(&e));
                    }
                    Err(Error::Client(e))
                }
            };
        };
        match handed {
            Ok(()) => {
                send.success();
                Ok(())
            }
            Err(e) => {
                send.error(&exception_type(&e));
                Err(Error::Client(e))
            }
        }
    }
}
