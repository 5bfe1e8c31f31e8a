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
    /// Nacks it, not to be delivered again while the test runs: `nacked`.
    Nack,
    /// Rejects (terminates) it: `rejected`.
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

    /// The status and the exception the wrapper records for it.
    fn recorded(self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::Ack => ("acked", None),
            Self::Nack => ("nacked", None),
            Self::Reject => ("rejected", None),
            Self::Raise => ("error", Some(RAISED)),
            Self::AckThenRaise => ("acked", Some(AFTER_ACK)),
            Self::Skip => ("skipped", None),
            Self::Drop => ("error", Some(DROPPED)),
        }
    }
}

/// A client's received message, as the plan settles it. Each settling
/// method asserts that the client took the settlement.
pub trait Settle {
    /// The body, which holds the message's index ([`OutcomePlan::body`]).
    fn body(&self) -> &[u8];
    /// Acks it.
    async fn ack(&mut self);
    /// Nacks it, not to be delivered again while the test runs.
    async fn nack(&mut self);
    /// Rejects (terminates) it, never delivered again.
    async fn reject(&mut self);
    /// Counts one exception of `exception_type`.
    fn raise(&mut self, exception_type: &str);
    /// Skips it. Only for clients with a skip: the others' plans have none.
    fn skip(&mut self) {
        panic!("{} has no skip", std::any::type_name::<Self>());
    }
}

/// Outcomes by message index: message `i` gets `outcomes[i % len]`, each
/// outcome `rounds` times in all.
#[derive(Clone, Copy, Debug)]
pub struct OutcomePlan {
    outcomes: &'static [Outcome],
    rounds: usize,
}

impl OutcomePlan {
    /// Each of `outcomes`, `rounds` times.
    pub const fn new(outcomes: &'static [Outcome], rounds: usize) -> Self {
        Self { outcomes, rounds }
    }

    /// How many messages the plan takes.
    pub fn messages(&self) -> usize {
        self.outcomes.len() * self.rounds
    }

    /// How many messages get `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.outcomes.iter().filter(|o| **o == outcome).count() * self.rounds
    }

    /// The body of message `i`.
    pub fn body(i: usize) -> String {
        format!("m{i}")
    }

    /// Does with `msg` what the plan says for the index in its body.
    pub async fn settle(&self, msg: &mut impl Settle) {
        let body = String::from_utf8_lossy(msg.body()).into_owned();
        let i: usize = body
            .strip_prefix('m')
            .and_then(|i| i.parse().ok())
            .unwrap_or_else(|| panic!("{body:?} is not a planned message's body"));
        match self.outcomes[i % self.outcomes.len()] {
            Outcome::Ack => msg.ack().await,
            Outcome::Nack => msg.nack().await,
            Outcome::Reject => msg.reject().await,
            Outcome::Raise => msg.raise(RAISED),
            Outcome::AckThenRaise => {
                msg.ack().await;
                msg.raise(AFTER_ACK);
            }
            Outcome::Skip => msg.skip(),
            Outcome::Drop => {}
        }
    }

    /// The counts once every message was received once and ended.
    pub fn expected(&self) -> Counts {
        self.outcomes.iter().fold(Counts::default(), |c, o| {
            let (status, exception) = o.recorded();
            c.ended(self.rounds as u32, status, exception)
        })
    }
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
