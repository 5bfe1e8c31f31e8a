//! The sink itself and its builder.

use crate::dialect::{Dialect, is_tag_name};
use crate::encode::Encoder;
use crate::error::Error;
use crate::timing::{Claimed, Timings};
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
    /// `udp://address` or `unix://path`, for the exporter's name.
    target: String,
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
    tags: Vec<(String, String)>,
    max_packet_size: Option<usize>,
    timings: Vec<Timings>,
}

impl StatsdBuilder {
    fn new(target: Target) -> Self {
        Self {
            target,
            dialect: Dialect::default(),
            prefix: String::new(),
            tags: Vec::new(),
            max_packet_size: None,
            timings: Vec::new(),
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

    /// Tags added to every line (DogStatsD only), after the series' own
    /// labels: `[("env", "prod"), ("service", "billing")]` makes
    /// `jobs:1|c|#queue:mail,env:prod,service:billing`. A series with a
    /// label of the same name keeps its own value (as remote write's
    /// external labels). Several calls add up.
    ///
    /// Checked at [`build`](Self::build): a name starts with a letter and
    /// holds only `[A-Za-z0-9_./-]`, appears once, and is not `le` or
    /// `quantile` (the sink's own tags for histogram buckets and summary
    /// quantiles); a value is not empty, and is sanitised as label values
    /// are (see [`Dialect::DogStatsd`]).
    ///
    /// Plain StatsD has no tags, and folding them into every name would
    /// rename every metric: with [`Dialect::Plain`], `build` refuses
    /// constant tags ([`prefix`](Self::prefix) is plain StatsD's way to
    /// tell senders apart).
    pub fn tags<I, K, V>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.tags
            .extend(tags.into_iter().map(|(k, v)| (k.into(), v.into())));
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

    /// Sends the samples of `timings`' timers, each as a StatsD timer
    /// line, `<prefix>.<name>:<ms>|ms` (DogStatsD: with the constant
    /// tags), after the registry's lines, packed into the same datagrams;
    /// each sample once, in the export after it was recorded. Lines of a
    /// timer that dropped samples since the last export (a full ring)
    /// carry sample rates `|@<1/w>`: `K` lines sent for `T` recorded
    /// weigh `⌊T/K⌋` or `⌈T/K⌉` each, `T` in all, so the daemon counts
    /// every sample recorded (etsy's statsd adds `1/rate` per line, the
    /// Datadog agent `int64(1/rate)`: a fractional `T/K` would lose the
    /// drops there). A sample leaves its ring only when the
    /// export that read it is complete: an export cut short (see the
    /// crate docs) loses none. Several calls add several sets.
    ///
    /// A set is sent by one sink: [`build`](Self::build) fails on a set
    /// another live sink has (or given twice); dropping the sink gives it
    /// back.
    pub fn timings(mut self, timings: Timings) -> Self {
        self.timings.push(timings);
        self
    }

    /// The sink, for [`Exporter::builder`](hotmetrics_export::Exporter::builder).
    ///
    /// Fails on an address that does not resolve, a Unix socket path
    /// that is empty or too long, a packet size of 0 or over
    /// [`MAX_PACKET_SIZE`], a constant tag that [`tags`](Self::tags)
    /// refuses (any, in plain StatsD), a [`timings`](Self::timings) set
    /// another sink has, or a UDP socket that cannot be made.
    pub fn build(self) -> Result<StatsdSink, Error> {
        check_tags(self.dialect, &self.tags)?;
        let mut claimed = Vec::with_capacity(self.timings.len());
        for set in self.timings {
            if !set.claim() {
                // `claimed` gives back the ones taken so far.
                return Err(Error::TimingsShared);
            }
            claimed.push(Claimed(set));
        }
        let (transport, default_size, target) = match self.target {
            Target::Udp(address) => {
                let to = resolve(&address)?;
                (
                    Transport::udp(to).map_err(Error::Socket)?,
                    DEFAULT_UDP_PACKET_SIZE,
                    format!("udp://{to}"),
                )
            }
            #[cfg(unix)]
            Target::Unix(path) => {
                let path = check_path(path)?;
                let target = format!("unix://{}", path.display());
                (Transport::unix(path), DEFAULT_UNIX_PACKET_SIZE, target)
            }
        };
        let size = self.max_packet_size.unwrap_or(default_size);
        if size == 0 || size > MAX_PACKET_SIZE {
            return Err(Error::PacketSize(size));
        }
        Ok(StatsdSink {
            encoder: Encoder::new(self.dialect, &self.prefix, self.tags, size, claimed),
            transport,
            target,
            warned_oversized: false,
        })
    }
}

fn check_tags(dialect: Dialect, tags: &[(String, String)]) -> Result<(), Error> {
    for (i, (name, value)) in tags.iter().enumerate() {
        let refuse = |reason| {
            Err(Error::Tag {
                name: name.clone(),
                reason,
            })
        };
        if dialect == Dialect::Plain {
            return refuse(
                "plain StatsD has no tags (use Dialect::DogStatsd, or a prefix to tell senders apart)",
            );
        }
        if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return refuse("a tag name starts with a letter");
        }
        if !name.bytes().all(is_tag_name) {
            return refuse("a tag name holds only letters, digits, '_', '-', '.' and '/'");
        }
        if name == "le" || name == "quantile" {
            return refuse("the sink's own tag (histogram buckets, summary quantiles)");
        }
        if value.is_empty() {
            return refuse("an empty value");
        }
        if tags[..i].iter().any(|(n, _)| n == name) {
            return refuse("given twice");
        }
    }
    Ok(())
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

    fn target(&self) -> Option<String> {
        Some(self.target.clone())
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
