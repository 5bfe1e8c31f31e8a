//! The one error type of this crate.

use std::{fmt, io, time::Duration};

use hotmetrics_exposition::Format;

/// Why building a [`Pusher`](crate::Pusher) or talking to the Pushgateway
/// failed.
///
/// Configuration mistakes (`Invalid*`, [`EmptyJob`](Self::EmptyJob),
/// [`UnsupportedFormat`](Self::UnsupportedFormat),
/// [`NoRootCertificates`](Self::NoRootCertificates)) come from
/// [`PusherBuilder::build`](crate::PusherBuilder::build);
/// [`LabelConflict`](Self::LabelConflict) is found before anything is sent;
/// the rest describe one request.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The gateway URL is not `http[s]://host[:port][/path-prefix]`.
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The job name is empty; the Pushgateway requires one.
    EmptyJob,
    /// A grouping label name that is not a valid Prometheus label name, is
    /// `job`, or is given twice.
    InvalidGroupingLabel {
        /// The label name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An extra header whose name is not an HTTP token, whose value holds a
    /// control character, or that this client writes itself.
    InvalidHeader {
        /// The header name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A zero timeout.
    InvalidTimeout,
    /// A format the Pushgateway does not parse (OpenMetrics); it takes
    /// [`Format::Protobuf`] and [`Format::Text`].
    UnsupportedFormat {
        /// The format asked for.
        format: Format,
    },
    /// The PEM given to [`ca_pem`](crate::PusherBuilder::ca_pem) holds no
    /// certificate, is malformed, or holds a certificate that cannot be a
    /// trust anchor.
    InvalidCaCertificate {
        /// What is wrong with it.
        reason: String,
    },
    /// An `https://` gateway, but nothing to check its certificate against:
    /// the system has no root certificates (the `ca-certificates` package,
    /// or `SSL_CERT_FILE`/`SSL_CERT_DIR`) and no
    /// [`ca_pem`](crate::PusherBuilder::ca_pem) was given.
    NoRootCertificates {
        /// What loading the system's roots reported, if anything.
        detail: String,
    },
    /// A pushed series carries a label the grouping key sets (`job` or a
    /// grouping label). The Pushgateway would silently overwrite it with
    /// the grouping key's value, so nothing was sent.
    LabelConflict {
        /// The family whose series carries the label.
        family: String,
        /// The label name.
        label: String,
    },
    /// The gateway's host name did not resolve.
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's error.
        source: io::Error,
    },
    /// No connection to the gateway could be opened (refused, unreachable).
    Connect {
        /// `host:port` of the gateway.
        addr: String,
        /// The error of the last address tried.
        source: io::Error,
    },
    /// The TLS session with an `https://` gateway failed: most often its
    /// certificate is not signed by a trusted root (see
    /// [`ca_pem`](crate::PusherBuilder::ca_pem)) or does not name the
    /// host, or the port does not speak TLS.
    Tls {
        /// `host:port` of the gateway.
        addr: String,
        /// The TLS library's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The request did not complete within the configured timeout (name
    /// resolution, connect, TLS handshake, send and response together).
    Timeout {
        /// The configured timeout.
        timeout: Duration,
    },
    /// The connection failed after it was opened.
    Io(io::Error),
    /// The gateway closed the connection (reset, broken pipe) on a push
    /// before its answer could be read. A gateway or proxy that refuses a push before
    /// reading it (wrong credentials, a body limit) and does not read the
    /// rest does this; the client cannot read an answer sent before the
    /// body was written in full. Its answer comes through when the body
    /// fits the server's read-ahead: the Pushgateway reads up to 256 KiB of
    /// an unread body, nginx reads all of it ([`PusherBuilder::gzip`]
    /// shrinks bodies 10-30 times).
    ///
    /// [`PusherBuilder::gzip`]: crate::PusherBuilder::gzip
    ClosedEarly(io::Error),
    /// The gateway's answer is not a well-formed HTTP/1.x response.
    MalformedResponse(String),
    /// The gateway answered with a status other than 2xx.
    Status {
        /// The HTTP status code.
        code: u16,
        /// The gateway's message: the response body, lossily decoded as
        /// UTF-8, trimmed and cut to at most 4 KiB.
        body: String,
    },
    /// An [`AsyncPusher`](crate::AsyncPusher) call could not run on
    /// tokio's blocking pool: it was awaited outside a tokio runtime, or
    /// the runtime shut down first. Nothing was sent.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    Runtime(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl { url, reason } => {
                write!(f, "invalid Pushgateway URL {url:?}: {reason}")
            }
            Self::EmptyJob => f.write_str("the job name is empty; the Pushgateway requires one"),
            Self::InvalidGroupingLabel { name, reason } => {
                write!(f, "invalid grouping label {name:?}: {reason}")
            }
            Self::InvalidHeader { name, reason } => write!(f, "invalid header {name:?}: {reason}"),
            Self::InvalidTimeout => f.write_str("the timeout must be greater than zero"),
            Self::UnsupportedFormat { format } => write!(
                f,
                "the Pushgateway does not parse {format:?}; push Protobuf or Text"
            ),
            Self::InvalidCaCertificate { reason } => {
                write!(f, "invalid CA certificate PEM: {reason}")
            }
            Self::NoRootCertificates { detail } => {
                f.write_str(
                    "no root certificates to check the gateway's against: the system has none \
                     (install ca-certificates, or set SSL_CERT_FILE) and no ca_pem was given",
                )?;
                if !detail.is_empty() {
                    write!(f, " ({detail})")?;
                }
                Ok(())
            }
            Self::LabelConflict { family, label } => write!(
                f,
                "a series of {family:?} has the label {label:?}, which the grouping key sets; \
                 the Pushgateway would overwrite it, so nothing was pushed"
            ),
            Self::Resolve { host, source } => write!(f, "cannot resolve {host:?}: {source}"),
            Self::Connect { addr, source } => write!(f, "cannot connect to {addr}: {source}"),
            Self::Tls { addr, source } => write!(f, "TLS with {addr} failed: {source}"),
            Self::Timeout { timeout } => {
                write!(f, "the Pushgateway did not answer within {timeout:?}")
            }
            Self::Io(e) => write!(f, "connection to the Pushgateway failed: {e}"),
            Self::ClosedEarly(e) => write!(
                f,
                "the Pushgateway closed the connection on the push before answering ({e}); \
                 it may have refused it early (credentials, body limit): a smaller or \
                 gzip-compressed push gets its answer"
            ),
            Self::MalformedResponse(why) => {
                write!(f, "malformed response from the Pushgateway: {why}")
            }
            Self::Status { code, body } if body.is_empty() => {
                write!(f, "the Pushgateway answered {code}")
            }
            Self::Status { code, body } => write!(f, "the Pushgateway answered {code}: {body}"),
            #[cfg(feature = "tokio")]
            Self::Runtime(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Resolve { source, .. }
            | Self::Connect { source, .. }
            | Self::Io(source)
            | Self::ClosedEarly(source) => Some(source),
            Self::Tls { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}
