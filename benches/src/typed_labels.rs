//! The labeled cases' label sets declared as a type (`#[derive(Labels)]`
//! on a struct of enums), for the typed lookups of hotmetrics.

#[cfg(doc)]
use crate::hot_path::LABEL_SETS;
use ::hotmetrics::{LabelValue, Labels};

/// The `handler` label.
#[derive(Clone, Copy, Debug, LabelValue)]
pub enum Handler {
    /// `orders`.
    Orders,
    /// `payments`.
    Payments,
}

/// The `broker` label.
#[derive(Clone, Copy, Debug, LabelValue)]
pub enum Broker {
    /// `kafka`.
    Kafka,
    /// `rabbit`.
    Rabbit,
}

/// The `status` label.
#[derive(Clone, Copy, Debug, LabelValue)]
pub enum Status {
    /// `acked`.
    Acked,
    /// `nacked`.
    Nacked,
    /// `error`.
    Error,
}

/// [`LABEL_SETS`] as a type.
#[derive(Clone, Copy, Debug, Labels)]
pub struct Processed {
    /// `handler`.
    pub handler: Handler,
    /// `broker`.
    pub broker: Broker,
    /// `status`.
    pub status: Status,
}

/// [`LABEL_SETS`] in order, as values of [`Processed`].
pub const TYPED_SETS: [Processed; 4] = [
    Processed {
        handler: Handler::Orders,
        broker: Broker::Kafka,
        status: Status::Acked,
    },
    Processed {
        handler: Handler::Orders,
        broker: Broker::Kafka,
        status: Status::Nacked,
    },
    Processed {
        handler: Handler::Payments,
        broker: Broker::Rabbit,
        status: Status::Acked,
    },
    Processed {
        handler: Handler::Payments,
        broker: Broker::Rabbit,
        status: Status::Error,
    },
];
