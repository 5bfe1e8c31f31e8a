//! How receiving and publishing end, and the label values they write.

/// The exception type recorded when a guard is dropped unfinished while its
/// thread is panicking.
pub const PANIC: &str = "Panic";

/// The exception type recorded when a guard is dropped unfinished without a
/// panic (early return, `?`, a cancelled future).
pub const DROPPED: &str = "Dropped";

/// How processing a received message ended: the `status` label, and for
/// `Error` the `exception_type` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome<'a> {
    /// `acked`.
    Acked,
    /// `nacked`.
    Nacked,
    /// `rejected`.
    Rejected,
    /// `skipped`.
    Skipped,
    /// `error`, with the exception type.
    Error(&'a str),
}

impl Outcome<'_> {
    /// The `status` label value.
    pub fn status(&self) -> &'static str {
        Status::from(*self).as_str()
    }
}

/// A received message's ack state: how it was settled with the broker
/// (FastStream's `AckStatus`). Once settled, a message stays settled: the
/// first state given counts, and it is the processed `status`, whatever
/// happened after (an exception raised after an ack is `status="acked"`
/// and one exception).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AckState {
    /// Acknowledged: `acked`.
    Acked,
    /// Negatively acknowledged (maybe requeued): `nacked`.
    Nacked,
    /// Rejected (dead-lettered or dropped): `rejected`.
    Rejected,
}

impl From<AckState> for Status {
    fn from(state: AckState) -> Self {
        match state {
            AckState::Acked => Self::Acked,
            AckState::Nacked => Self::Nacked,
            AckState::Rejected => Self::Rejected,
        }
    }
}

/// The receive `status` label: an [`Outcome`] without its exception type.
///
/// Each status is one series of `received_processed_messages_total` per
/// handler; [`Status::ALL`] lists them in declaration order, so
/// `status as usize` indexes a per-status array:
///
/// ```
/// use hotmetrics_broker::{Outcome, Status};
///
/// let mut by_status = [0u64; Status::ALL.len()];
/// for outcome in [Outcome::Acked, Outcome::Error("ValueError"), Outcome::Acked] {
///     by_status[Status::from(outcome) as usize] += 1;
/// }
/// let counts: Vec<String> = Status::ALL
///     .iter()
///     .zip(by_status)
///     .map(|(s, n)| format!("{s} {n}"))
///     .collect();
/// assert_eq!(counts, ["acked 2", "nacked 0", "rejected 0", "skipped 0", "error 1"]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// `acked`.
    Acked,
    /// `nacked`.
    Nacked,
    /// `rejected`.
    Rejected,
    /// `skipped`.
    Skipped,
    /// `error`.
    Error,
}

impl Status {
    /// Every status, in declaration order (`Status::ALL[s as usize] == s`).
    pub const ALL: [Status; 5] = [
        Self::Acked,
        Self::Nacked,
        Self::Rejected,
        Self::Skipped,
        Self::Error,
    ];

    /// The `status` label value, as FastStream writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Acked => "acked",
            Self::Nacked => "nacked",
            Self::Rejected => "rejected",
            Self::Skipped => "skipped",
            Self::Error => "error",
        }
    }
}

impl From<Outcome<'_>> for Status {
    fn from(outcome: Outcome<'_>) -> Self {
        match outcome {
            Outcome::Acked => Self::Acked,
            Outcome::Nacked => Self::Nacked,
            Outcome::Rejected => Self::Rejected,
            Outcome::Skipped => Self::Skipped,
            Outcome::Error(_) => Self::Error,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How publishing ended: the `status` label, and for `Error` the
/// `exception_type` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PublishOutcome<'a> {
    /// `success`.
    Success,
    /// `error`, with the exception type.
    Error(&'a str),
}

impl PublishOutcome<'_> {
    /// The `status` label value.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error(_) => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_status_at_its_index() {
        for (i, s) in Status::ALL.into_iter().enumerate() {
            assert_eq!(s as usize, i, "{s}");
        }
        let labels = Status::ALL.map(Status::as_str);
        assert_eq!(labels, ["acked", "nacked", "rejected", "skipped", "error"]);
    }

    #[test]
    fn outcomes_write_faststream_status_values() {
        let receive = [
            (Outcome::Acked, Status::Acked, "acked"),
            (Outcome::Nacked, Status::Nacked, "nacked"),
            (Outcome::Rejected, Status::Rejected, "rejected"),
            (Outcome::Skipped, Status::Skipped, "skipped"),
            (Outcome::Error("KeyError"), Status::Error, "error"),
        ];
        for (outcome, status, label) in receive {
            assert_eq!(Status::from(outcome), status, "{outcome:?}");
            assert_eq!(outcome.status(), label, "{outcome:?}");
            assert_eq!(status.to_string(), label);
        }
        assert_eq!(PublishOutcome::Success.status(), "success");
        assert_eq!(PublishOutcome::Error("KeyError").status(), "error");
    }
}
