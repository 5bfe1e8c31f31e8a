//! Why a sink could not be built.

use std::fmt;
use std::io;

/// A configuration that cannot work, found by
/// [`StatsdBuilder::build`](crate::StatsdBuilder::build).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The UDP address is not `host:port`, or does not resolve.
    Address {
        /// The address as given.
        address: String,
        /// Why it does not resolve (`None`: it resolved to nothing).
        source: Option<io::Error>,
    },
    /// The Unix socket path is empty or longer than a socket address holds.
    Path(String),
    /// The packet size is zero or over what one datagram carries.
    PacketSize(usize),
    /// The UDP socket could not be made or connected.
    Socket(io::Error),
    /// A constant tag ([`StatsdBuilder::tags`](crate::StatsdBuilder::tags))
    /// that cannot be sent.
    Tag {
        /// Its name, as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A timer name ([`Timings::timer`](crate::Timings::timer)) that
    /// cannot be sent as it is.
    TimerName {
        /// The name, as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A [`Timings`](crate::Timings) set given to a sink that another
    /// sink (or the same builder, twice) already has: each sample is sent
    /// by one sink.
    TimingsShared,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address {
                address,
                source: Some(e),
            } => write!(f, "statsd address {address:?} (want host:port): {e}"),
            Self::Address { address, .. } => {
                write!(f, "statsd address {address:?} resolves to no address")
            }
            Self::Path(m) => write!(f, "statsd socket path: {m}"),
            Self::PacketSize(n) => write!(
                f,
                "statsd packet size {n}: must be 1 to {} bytes",
                crate::MAX_PACKET_SIZE
            ),
            Self::Socket(e) => write!(f, "statsd UDP socket: {e}"),
            Self::Tag { name, reason } => write!(f, "statsd constant tag {name:?}: {reason}"),
            Self::TimerName { name, reason } => write!(f, "statsd timer name {name:?}: {reason}"),
            Self::TimingsShared => write!(
                f,
                "statsd timings: the set is sent by another sink already (each sample goes once)"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Address {
                source: Some(e), ..
            }
            | Self::Socket(e) => Some(e),
            _ => None,
        }
    }
}
