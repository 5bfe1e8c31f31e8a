//! The sink itself and its builder.

use crate::dialect::Dialect;
use crate::encode::Encoder;
use crate::error::Error;
use crate::transport::Transport;
use hotmetrics_core::MetricSource;
use hotmetrics_export::{Batch, EncodeError, Payload, SendError, Sink};
use std::net::{SocketAddr, ToSocketAddrs};
#[cfg(unix)]
use std::path::PathBuf;

/// Default [`StatsdBuilder::max_packet_size`] over UDP: an Ethernet
/// frame's 1,500 bytes less the IP and UDP headers, with room for
/// options (what Datadog's clients use).
pub const DEFAULT_UDP_PACKET_SIZE: usize = 1432;
/// Default [`StatsdBuilder::max_packet_size`] over a Unix socket (what
/// Datadog's clients use there).
pub const DEFAULT_UNIX_PACKET_SIZE: usize = 8192;
/// The largest [`StatsdBuilder::max_packet_size`]: what one IPv4 UDP
/// datagram carries.
pub const MAX_PACKET_SIZE: usize = 65_507;

/// A StatsD or DogStatsD [`Sink`] for the export runtime
/// ([`hotmetrics_export::Exporter`]): [`StatsdSink::udp`] or
/// [`StatsdSink::unix`], then [`build`](StatsdBuilder::build).
#[derive(Debug)]
pub struct StatsdSink {
    encoder: Encoder,
    transport: Transport,
    /// Whether a line too long for any datagram was logged already.
    warned_oversized: bool,
}

impl StatsdSink {
    /// Sends to a StatsD daemon or Datadog agent at `address`
    /// (`host:port`, e.g. `127.0.0.1:8125`), resolved once, at
    /// [`build`](StatsdBuilder::build): the first IPv4 address it
    /// resolves to, else the first.
    pub fn udp(address: impl Into<String>) -> StatsdBuilder {
        StatsdBuilder::new(Target::Udp(address.into()))
    }

    /// Sends to the Unix datagram socket at `path` (the Datadog agent's
    /// `dogstatsd_socket`). It is connected at the first send, and again
    /// whenever the receiver went away, so the agent may start later.
    #[cfg(unix)]
    pub fn unix(path: impl Into<PathBuf>) -> StatsdBuilder {
        StatsdBuilder::new(Target::Unix(path.into()))
    }
}

#[derive(Debug)]
enum Target {
    Udp(String),
    #[cfg(unix)]
    Unix(PathBuf),
}

/// Configures a [`StatsdSink`].
#[derive(Debug)]
pub struct StatsdBuilder {
    target: Target,
    dialect: Dialect,
    prefix: String,
    max_packet_size: Option<usize>,
}

impl StatsdBuilder {
    fn new(target: Target) -> Self {
        Self {
            target,
            dialect: Dialect::default(),
            prefix: String::new(),
            max_packet_size: None,
        }
    }

    /// Plain StatsD (the default: labels folded into names) or DogStatsD
    /// (labels as tags).
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// Put before every name, with a `.` (`myapp` makes `myapp.jobs`);
    /// sanitised as names are.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The largest datagram, in bytes (default
    /// [`DEFAULT_UDP_PACKET_SIZE`] or [`DEFAULT_UNIX_PACKET_SIZE`]; 1 to
    /// [`MAX_PACKET_SIZE`]). Lines are packed into datagrams up to it,
    /// never split; a line longer on its own is dropped (and logged once).
    pub fn max_packet_size(mut self, bytes: usize) -> Self {
        self.max_packet_size = Some(bytes);
        self
    }

    /// The sink, for [`Exporter::builder`](hotmetrics_export::Exporter::builder).
    ///
    /// Fails on an address that does not resolve, a Unix socket path
    /// that is empty or too long, a packet size of 0 or over
    /// [`MAX_PACKET_SIZE`], or a UDP socket that cannot be made.
    pub fn build(self) -> Result<StatsdSink, Error> {
        let (transport, default_size) = match self.target {
            Target::Udp(address) => (
                Transport::udp(resolve(&address)?).map_err(Error::Socket)?,
                DEFAULT_UDP_PACKET_SIZE,
            ),
            #[cfg(unix)]
            Target::Unix(path) => (Transport::unix(check_path(path)?), DEFAULT_UNIX_PACKET_SIZE),
        };
        let size = self.max_packet_size.unwrap_or(default_size);
        if size == 0 || size > MAX_PACKET_SIZE {
            return Err(Error::PacketSize(size));
        }
        Ok(StatsdSink {
            encoder: Encoder::new(self.dialect, &self.prefix, size),
            transport,
            warned_oversized: false,
        })
    }
}

fn resolve(address: &str) -> Result<SocketAddr, Error> {
    let fail = |source| Error::Address {
        address: address.to_owned(),
        source,
    };
    let all: Vec<SocketAddr> = address
        .to_socket_addrs()
        .map_err(|e| fail(Some(e)))?
        .collect();
    all.iter()
        .find(|a| a.is_ipv4())
        .or(all.first())
        .copied()
        .ok_or_else(|| fail(None))
}

/// `sun_path` holds 108 bytes on Linux, its terminating NUL included.
#[cfg(unix)]
fn check_path(path: PathBuf) -> Result<PathBuf, Error> {
    let len = path.as_os_str().len();
    if len == 0 {
        return Err(Error::Path("empty".into()));
    }
    if len > 107 {
        return Err(Error::Path(format!(
            "{} is {len} bytes, over the 107 a socket address holds",
            path.display()
        )));
    }
    Ok(path)
}

impl Sink for StatsdSink {
    fn name(&self) -> &str {
        "statsd"
    }

    fn encode(&mut self, source: &dyn MetricSource, batch: &mut Batch) -> Result<(), EncodeError> {
        let oversized = self.encoder.encode(source, batch);
        if oversized > 0 && !self.warned_oversized {
            self.warned_oversized = true;
            log::warn!(
                "hotmetrics statsd: {oversized} lines longer than the packet size were dropped \
                 (raise max_packet_size or shorten the labels); further ones are not logged"
            );
        }
        Ok(())
    }

    fn send(&mut self, payload: &Payload) -> Result<(), SendError> {
        self.transport.send(&payload.bytes)
    }
}
