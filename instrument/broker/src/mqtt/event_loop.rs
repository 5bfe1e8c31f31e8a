//! The event loop: incoming Publishes as metered messages, and the
//! broker's acks of the metered publishes in flight.

use super::{Error, exception_type};
use crate::wrappers::{InProcess, Meter};
use crate::{AckState, BrokerMetrics, PublishGuard};
use rumqttc::{AsyncClient, ConnectionError, Event, EventLoop, Incoming, Outgoing, Publish, QoS};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// Computes a message's per-message custom label values.
type Labels = dyn Fn(&Publish) -> Vec<String> + Send + Sync;

/// The metered QoS 1 and 2 publishes handed to the client and not yet
/// sent by the event loop, in the order it gets them.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    /// Held by a metered publish from queueing until the client has it.
    pub(super) order: tokio::sync::Mutex<()>,
    queue: Mutex<VecDeque<(QoS, PublishGuard)>>,
}

impl InFlight {
    pub(super) fn push(&self, qos: QoS, send: PublishGuard) {
        self.lock().push_back((qos, send));
    }

    pub(super) fn pop_last(&self) -> Option<PublishGuard> {
        self.lock().pop_back().map(|(_, send)| send)
    }

    fn pop_first(&self) -> Option<(QoS, PublishGuard)> {
        self.lock().pop_front()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(QoS, PublishGuard)>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What [`MeteredEventLoop::poll`] yields: an incoming Publish, metered,
/// or any other event as the event loop gave it.
#[derive(Debug)]
pub enum MeteredEvent {
    /// An incoming Publish.
    Publish(MeteredMqttMessage),
    /// Any other event.
    Other(Event),
}

/// A `rumqttc::EventLoop` whose incoming Publishes are
/// [`MeteredMqttMessage`]s and which finishes the metered publishes at
/// the broker's acks; from [`metered`](super::metered). Poll it as the
/// event loop: errors are the connection's, and polling again reconnects.
pub struct MeteredEventLoop {
    inner: EventLoop,
    client: AsyncClient,
    meter: Meter<Labels>,
    in_flight: Arc<InFlight>,
    /// Sent QoS 1 and 2 publishes by packet id, until their PubAck /
    /// PubComp.
    sent: HashMap<u16, (QoS, PublishGuard)>,
}

impl fmt::Debug for MeteredEventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredEventLoop")
            .field("unacked_publishes", &self.sent.len())
            .finish_non_exhaustive()
    }
}

impl MeteredEventLoop {
    pub(super) fn new(
        inner: EventLoop,
        client: AsyncClient,
        metrics: &BrokerMetrics,
        in_flight: Arc<InFlight>,
    ) -> Self {
        Self {
            inner,
            client,
            meter: Meter::new(metrics),
            in_flight,
            sent: HashMap::new(),
        }
    }

    /// The values of the builder's
    /// [per-message labels](crate::BrokerMetricsBuilder::per_message_label),
    /// computed from each incoming Publish. A wrong number of values makes
    /// [`poll`](Self::poll) return [`Error::Metrics`] for that message
    /// (which is then acked by nobody).
    pub fn per_message_labels(
        mut self,
        labels: impl Fn(&Publish) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.meter.set_labels(Box::new(labels));
        self
    }

    /// The event loop (its options and state).
    pub fn event_loop(&self) -> &EventLoop {
        &self.inner
    }

    /// The next event; an incoming Publish counts as received.
    pub async fn poll(&mut self) -> Result<MeteredEvent, PollError> {
        let event = self.inner.poll().await.map_err(PollError::Connection)?;
        match event {
            Event::Incoming(Incoming::Publish(publish)) => self
                .receive(publish)
                .map(MeteredEvent::Publish)
                .map_err(PollError::Metrics),
            event => {
                self.track(&event);
                Ok(MeteredEvent::Other(event))
            }
        }
    }

    fn track(&mut self, event: &Event) {
        match *event {
            // A publish sent again after a reconnect keeps its packet id.
            Event::Outgoing(Outgoing::Publish(pkid))
                if pkid != 0 && !self.sent.contains_key(&pkid) =>
            {
                if let Some(publish) = self.in_flight.pop_first() {
                    self.sent.insert(pkid, publish);
                }
            }
            Event::Incoming(Incoming::PubAck(ref ack)) => self.acked(ack.pkid, QoS::AtLeastOnce),
            Event::Incoming(Incoming::PubComp(ref comp)) => self.acked(comp.pkid, QoS::ExactlyOnce),
            _ => {}
        }
    }

    fn acked(&mut self, pkid: u16, qos: QoS) {
        if self.sent.get(&pkid).is_some_and(|(q, _)| *q == qos)
            && let Some((_, send)) = self.sent.remove(&pkid)
        {
            send.success();
        }
    }

    /// `publish`, counted as received; it must be settled when the client
    /// acks manually and its QoS has an ack.
    fn receive(&mut self, publish: Publish) -> Result<MeteredMqttMessage, Error> {
        let guard = self
            .meter
            .receive(&publish.topic, publish.payload.len(), |f| f(&publish))?;
        let manual = self.inner.mqtt_options.manual_acks() && publish.qos != QoS::AtMostOnce;
        Ok(MeteredMqttMessage {
            in_process: InProcess::new(guard, manual),
            client: manual.then(|| self.client.clone()),
            publish,
        })
    }
}

/// What [`MeteredEventLoop::poll`] can fail with.
#[derive(Debug)]
pub enum PollError {
    /// The connection's (poll again to reconnect).
    Connection(ConnectionError),
    /// The metrics' for an incoming Publish.
    Metrics(Error),
}

impl fmt::Display for PollError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connection(e) => write!(f, "MQTT connection: {e}"),
            Self::Metrics(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for PollError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connection(e) => Some(e),
            Self::Metrics(e) => Some(e),
        }
    }
}

/// An incoming Publish being processed; settle it with
/// [`ack`](Self::ack) (or [`try_ack`](Self::try_ack)), [`nack`](Self::nack)
/// or [`reject`](Self::reject); processing ends when it is dropped.
pub struct MeteredMqttMessage {
    /// First, so processing ends before the Publish is dropped.
    in_process: InProcess,
    publish: Publish,
    /// The client that sends its ack: QoS 1 or 2 under manual acks only.
    client: Option<AsyncClient>,
}

impl fmt::Debug for MeteredMqttMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredMqttMessage")
            .field("topic", &self.publish.topic)
            .field("qos", &self.publish.qos)
            .finish_non_exhaustive()
    }
}

impl MeteredMqttMessage {
    /// The Publish (topic, QoS, retain, payload, packet id).
    pub fn publish(&self) -> &Publish {
        &self.publish
    }

    /// The topic it was published on.
    pub fn topic(&self) -> &str {
        &self.publish.topic
    }

    /// The payload.
    pub fn payload(&self) -> &[u8] {
        &self.publish.payload
    }

    /// Counts one exception of `exception_type`; processing goes on.
    pub fn exception(&mut self, exception_type: &str) {
        self.in_process.exception(exception_type);
    }

    /// Sends its ack (QoS 1 PubAck, QoS 2 PubRec; nothing for QoS 0 or
    /// when the client acks by itself): the ack state `acked`. An ack the
    /// client cannot take (its event loop is gone) counts one exception,
    /// `Request`, and is returned.
    ///
    /// It waits for room in the client's request channel (the capacity
    /// given to `AsyncClient::new`), which only
    /// [`MeteredEventLoop::poll`] drains. Awaited in a task of its own (the
    /// message moved into a spawned task while another polls), that is
    /// back-pressure; awaited in the task that polls the event loop, with
    /// the channel full, it waits for itself forever. There, use
    /// [`try_ack`](Self::try_ack).
    pub async fn ack(&mut self) -> Result<(), Error> {
        self.send_ack(AckState::Acked).await
    }

    /// Sends its ack as [`ack`](Self::ack) does, without waiting (rumqttc's
    /// `AsyncClient::try_ack`): for the task that polls the event loop. A
    /// full request channel returns the error (`ClientError::TryRequest`)
    /// and records nothing: the message is not settled, so poll the event
    /// loop (which drains the channel) and call it again. rumqttc reports
    /// an event loop that is gone with the same error; a message never
    /// acked is counted as dropped unsettled ([`DROPPED`](crate::DROPPED))
    /// when it is dropped.
    pub fn try_ack(&mut self) -> Result<(), Error> {
        if let Some(client) = self.client_to_ack() {
            client.try_ack(&self.publish).map_err(Error::Client)?;
        }
        self.in_process.settle(AckState::Acked);
        Ok(())
    }

    /// Records `nacked` and sends nothing (MQTT has no negative ack): under
    /// manual acks the broker delivers it again on the next session.
    pub fn nack(&mut self) {
        self.in_process.settle(AckState::Nacked);
    }

    /// Acks it (MQTT has no reject: acked, it is not delivered again) and
    /// records `rejected`.
    pub async fn reject(&mut self) -> Result<(), Error> {
        self.send_ack(AckState::Rejected).await
    }

    async fn send_ack(&mut self, state: AckState) -> Result<(), Error> {
        let sent = match self.client_to_ack() {
            Some(client) => client.ack(&self.publish).await,
            None => Ok(()),
        };
        self.in_process
            .settled(sent, state, exception_type)
            .map_err(Error::Client)
    }

    /// The client that sends its ack, while one is due: under manual acks,
    /// for QoS 1 and 2, and not settled yet.
    fn client_to_ack(&self) -> Option<&AsyncClient> {
        self.client
            .as_ref()
            .filter(|_| !self.in_process.is_settled())
    }

    /// Processing ends now (as on drop).
    pub fn finish(self) {}
}
