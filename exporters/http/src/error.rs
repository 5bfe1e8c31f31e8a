//! The crate's error type.

use std::fmt;
use std::io;
use std::net::SocketAddr;

/// What can go wrong building, starting or stopping a server.
///
/// Nothing a client sends produces an `Error`: bad requests are answered
/// with an HTTP status and the server goes on.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be bound (address in use, no
    /// permission for a low port, an address this host does not have).
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why it failed.
        source: io::Error,
    },
    /// The certificate chain or private key given to
    /// `ServerBuilder::tls_pem` is unusable.
    Tls(String),
    /// The server's thread or its tokio runtime could not be started.
    Runtime(io::Error),
    /// A builder setting is out of range (a limit of zero, a user name
    /// with `:`, ...).
    Config(String),
    /// The self-metrics could not be registered in the served registry
    /// (usually: another server already registered them there).
    SelfMetrics(hotmetrics_core::Error),
    /// Graceful shutdown ran past its deadline and closed connections that
    /// were still busy.
    ShutdownTimeout {
        /// Connections closed before their response was complete.
        closed: usize,
    },
    /// The server thread panicked (a bug in this crate or in a collector).
    ServerPanicked,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Error::Tls(reason) => write!(f, "invalid TLS configuration: {reason}"),
            Error::Runtime(source) => write!(f, "cannot start the metrics server thread: {source}"),
            Error::Config(reason) => write!(f, "invalid metrics server setting: {reason}"),
            Error::SelfMetrics(source) => {
                write!(
                    f,
                    "cannot register the metrics server's own metrics: {source}"
                )
            }
            Error::ShutdownTimeout { closed } => write!(
                f,
                "metrics server shutdown timed out; closed {closed} busy connection(s)"
            ),
            Error::ServerPanicked => f.write_str("the metrics server thread panicked"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Bind { source, .. } | Error::Runtime(source) => Some(source),
            Error::SelfMetrics(source) => Some(source),
            _ => None,
        }
    }
}
