//! The outcome plan the mix-of-outcomes tests drive: what the handler
//! does with each message, by the index in its body, and the exact counts
//! the wrapper must then have recorded.

use super::Scrape;
use hotmetrics_broker::DROPPED;
use std::collections::BTreeMap;

/// The exception a planned handler raises, leaving the message unsettled.
pub const RAISED: &str = "ValueError";
/// The exception a planned handler raises after acking the message.
pub const AFTER_ACK: &str = "AfterAck";

/// FastStream's receive statuses.
const STATUSES: [&str; 5] = ["acked", "nacked", "rejected", "skipped", "error"];

/// What the handler does with one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Acks it: `acked`.
    Ack,
    /// Nacks it: `nacked`. Where the plan redelivers nacks, it is received
    /// once more and acked then: `acked` too.
    Nack,
    /// Rejects (terminates) it: `rejected`, unless the plan records a
    /// reject as another status.
    Reject,
    /// Raises [`RAISED`] and leaves it unsettled: `error`.
    Raise,
    /// Acks it, then raises [`AFTER_ACK`]: `acked`, and the exception.
    AckThenRaise,
    /// Skips it: `skipped`.
    Skip,
    /// Drops it, neither settled nor raising: `error` of type [`DROPPED`].
    Drop,
}

impl Outcome {
    /// Every outcome (rdkafka has them all).
    pub const ALL: &[Outcome] = &[
        Self::Ack,
        Self::Nack,
        Self::Reject,
        Self::Raise,
        Self::AckThenRaise,
        Self::Skip,
        Self::Drop,
    ];

    /// Every outcome but a skip, which some clients do not have (lapin,
    /// JetStream, rumqttc).
    pub const WITHOUT_SKIP: &[Outcome] = &[
        Self::Ack,
        Self::Nack,
        Self::Reject,
        Self::Raise,
        Self::AckThenRaise,
        Self::Drop,
    ];

    /// Every outcome but a drop: a skip where the others drop (redis,
    /// whose dropped entries have tests of their own).
    pub const WITHOUT_DROP: &[Outcome] = &[
        Self::Ack,
        Self::Nack,
        Self::Reject,
        Self::Raise,
        Self::AckThenRaise,
        Self::Skip,
    ];
}

/// A client's received message, as the plan settles it. Each settling
/// method asserts that the client took the settlement.
pub trait Settle {
    /// The body, which holds the message's index ([`OutcomePlan::body`]).
    fn body(&self) -> &[u8];
    /// Acks it.
    async fn ack(&mut self);
    /// Acks it the way that waits for the broker's answer, where the client
    /// has one besides [`ack`](Self::ack) (rdkafka's `ack_sync`): the ack
    /// before [`AFTER_ACK`] is raised. By default [`ack`](Self::ack).
    async fn ack_waiting(&mut self) {
        self.ack().await;
    }
    /// Nacks it: not delivered again while the test runs, unless the plan
    /// [redelivers nacks](OutcomePlan::redelivering_nacks).
    async fn nack(&mut self);
    /// Rejects (terminates) it, never delivered again.
    async fn reject(&mut self);
    /// Counts one exception of `exception_type`.
    fn raise(&mut self, exception_type: &str);
    /// Skips it. Only for clients with a skip: the others' plans have none.
    fn skip(self)
    where
        Self: Sized,
    {
        panic!("{} has no skip", std::any::type_name::<Self>());
    }
}

/// Outcomes by message index: message `i` gets `outcomes[i % len]`, each
/// outcome `rounds` times in all; and where brokers differ, what this
/// one's client does with a nack and records for a reject.
#[derive(Clone, Copy, Debug)]
pub struct OutcomePlan {
    outcomes: &'static [Outcome],
    rounds: usize,
    /// A nacked message is received once more (and acked then).
    nacks_redelivered: bool,
    /// The status a reject records.
    reject_status: &'static str,
}

impl OutcomePlan {
    /// Each of `outcomes`, `rounds` times; a nacked message is not received
    /// again, a reject records `rejected`.
    pub const fn new(outcomes: &'static [Outcome], rounds: usize) -> Self {
        Self {
            outcomes,
            rounds,
            nacks_redelivered: false,
            reject_status: "rejected",
        }
    }

    /// This plan, where the consumer receives each nacked message once
    /// more (rdkafka's nack seeks back to it), and the plan acks it then.
    pub const fn redelivering_nacks(self) -> Self {
        Self {
            nacks_redelivered: true,
            ..self
        }
    }

    /// This plan, where a reject records `status` (rdkafka's reject is a
    /// commit, `acked` as in FastStream).
    pub const fn rejects_recorded_as(self, status: &'static str) -> Self {
        Self {
            reject_status: status,
            ..self
        }
    }

    /// How many messages the plan takes.
    pub fn messages(&self) -> usize {
        self.outcomes.len() * self.rounds
    }

    /// How many deliveries the consumer receives: each message once, a
    /// nacked one twice where nacks are redelivered.
    pub fn deliveries(&self) -> usize {
        let again = if self.nacks_redelivered {
            self.count(Outcome::Nack)
        } else {
            0
        };
        self.messages() + again
    }

    /// How many messages get `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.outcomes.iter().filter(|o| **o == outcome).count() * self.rounds
    }

    /// The body of message `i`.
    pub fn body(i: usize) -> String {
        format!("m{i}")
    }

    /// A driver that settles the deliveries of one run of the plan.
    pub fn driver(&self) -> Driver {
        Driver {
            plan: *self,
            received: BTreeMap::new(),
        }
    }

    /// The counts once every delivery was received and ended.
    pub fn expected(&self) -> Counts {
        self.outcomes.iter().fold(Counts::default(), |c, o| {
            let n = self.rounds as u32;
            let c = match o {
                Outcome::Nack if self.nacks_redelivered => c.ended(n, "acked", None),
                _ => c,
            };
            let (status, exception) = self.recorded(*o);
            c.ended(n, status, exception)
        })
    }

    /// The status and the exception the wrapper records for `outcome`.
    fn recorded(&self, outcome: Outcome) -> (&'static str, Option<&'static str>) {
        match outcome {
            Outcome::Ack => ("acked", None),
            Outcome::Nack => ("nacked", None),
            Outcome::Reject => (self.reject_status, None),
            Outcome::Raise => ("error", Some(RAISED)),
            Outcome::AckThenRaise => ("acked", Some(AFTER_ACK)),
            Outcome::Skip => ("skipped", None),
            Outcome::Drop => ("error", Some(DROPPED)),
        }
    }
}

/// Settles the deliveries of one run of an [`OutcomePlan`], knowing which
/// messages it received before.
#[derive(Debug)]
pub struct Driver {
    plan: OutcomePlan,
    /// How many times each message index was received.
    received: BTreeMap<usize, u32>,
}

impl Driver {
    /// Does with `msg` what the plan says for the index in its body, and
    /// ends its processing (drops it). A nacked message received again (a
    /// plan that redelivers nacks) is acked; any other message received
    /// again fails the test.
    pub async fn settle(&mut self, mut msg: impl Settle) {
        let i = index(msg.body());
        let outcome = self.plan.outcomes[i % self.plan.outcomes.len()];
        if self.received_again(i, outcome) {
            msg.ack().await;
            return;
        }
        match outcome {
            Outcome::Ack => msg.ack().await,
            Outcome::Nack => msg.nack().await,
            Outcome::Reject => msg.reject().await,
            Outcome::Raise => msg.raise(RAISED),
            Outcome::AckThenRaise => {
                msg.ack_waiting().await;
                msg.raise(AFTER_ACK);
            }
            Outcome::Skip => msg.skip(),
            Outcome::Drop => {}
        }
    }

    /// Counts a delivery of message `i`: whether it is the redelivery of a
    /// nacked one, the test failing for any other message received again.
    fn received_again(&mut self, i: usize, outcome: Outcome) -> bool {
        let times = self.received.entry(i).or_default();
        *times += 1;
        match *times {
            1 => false,
            2 if outcome == Outcome::Nack && self.plan.nacks_redelivered => true,
            n => panic!("{} ({outcome:?}) received {n} times", OutcomePlan::body(i)),
        }
    }

    /// How many deliveries it settled.
    pub fn received(&self) -> usize {
        self.received.values().map(|n| *n as usize).sum()
    }
}

/// The index in a planned message's body ([`OutcomePlan::body`]).
fn index(body: &[u8]) -> usize {
    let body = String::from_utf8_lossy(body);
    body.strip_prefix('m')
        .and_then(|i| i.parse().ok())
        .unwrap_or_else(|| panic!("{body:?} is not a planned message's body"))
}

/// What a handler's series hold once every message it received ended:
/// built up by [`ended`](Self::ended), checked against a scrape by
/// [`assert_scraped`](Self::assert_scraped).
#[derive(Clone, Debug, Default)]
pub struct Counts {
    received: u32,
    statuses: BTreeMap<&'static str, u32>,
    exceptions: BTreeMap<String, u32>,
}

impl Counts {
    /// `n` more messages received and ended with `status`, each raising
    /// `exception` once.
    pub fn ended(mut self, n: u32, status: &'static str, exception: Option<&str>) -> Self {
        assert!(STATUSES.contains(&status), "{status} is no receive status");
        self.received += n;
        *self.statuses.entry(status).or_default() += n;
        if let Some(ty) = exception {
            *self.exceptions.entry(ty.to_owned()).or_default() += n;
        }
        self
    }

    /// Fails unless `handler`'s series in `s` hold exactly these counts:
    /// received, sizes and durations (one each per message), nothing in
    /// process, each status (those not named: zero) and each exception
    /// type (no other).
    pub fn assert_scraped(&self, s: &Scrape, handler: &str) {
        let received = f64::from(self.received);
        assert_eq!(
            (s.received(handler), s.sizes(handler), s.durations(handler)),
            (received, received, received),
            "{handler}: received, sizes, durations"
        );
        assert_eq!(s.in_process(handler), 0.0, "{handler}: in process");
        for status in STATUSES {
            let n = self.statuses.get(status).copied().unwrap_or(0);
            assert_eq!(
                s.processed(handler, status),
                f64::from(n),
                "{handler}: status {status}"
            );
        }
        let exceptions: Vec<(String, f64)> = self
            .exceptions
            .iter()
            .map(|(ty, n)| (ty.clone(), f64::from(*n)))
            .collect();
        assert_eq!(
            s.exception_types_of(handler),
            exceptions,
            "{handler}: exceptions"
        );
    }

    /// [`assert_scraped`](Self::assert_scraped), and `handler` is the only
    /// one that received anything: no exception anywhere else either.
    pub fn assert_sole_handler(&self, s: &Scrape, handler: &str) {
        assert_eq!(s.handlers(), [handler], "the handlers that received");
        self.assert_scraped(s, handler);
    }
}
