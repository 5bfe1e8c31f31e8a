//! Pushes a hotmetrics [`Registry`] to a Prometheus
//! [Pushgateway](https://github.com/prometheus/pushgateway), for batch jobs
//! and consumers that Prometheus cannot scrape.
//!
//! ```no_run
//! use std::time::Duration;
//! use hotmetrics_core::Registry;
//! use hotmetrics_push::{Format, Pusher};
//!
//! let registry = Registry::new();
//! let done = registry.counter(("batches_done", "Batches processed."))?;
//!
//! let mut pusher = Pusher::builder("http://pushgateway:9091", "nightly_import")
//!     .grouping("instance", "worker-1")
//!     .grouping("source", "s3://bucket/path") // has '/': sent as base64
//!     .format(Format::Protobuf) // the default
//!     .timeout(Duration::from_secs(5))
//!     .basic_auth("pusher", "secret")
//!     .build()?;
//!
//! done.inc();
//! pusher.push(&registry)?; // PUT: the group now holds exactly this registry
//! pusher.push_add(&registry)?; // POST: replaces only the families pushed
//! pusher.delete()?; // DELETE: the group is gone
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The grouping key
//! A group is named by the job and the grouping labels, in the path
//! `/metrics/job/<job>{/<label>/<value>}`. Values are percent-encoded; a
//! value the path cannot carry as is (one holding `/`, an empty one, `.`
//! and `..`) is sent as `<label>@base64/<base64url of the value>`, with
//! `=` padding (`@base64/=` for the empty value). The gateway adds the
//! grouping labels to every pushed series, and `instance=""` when the key
//! has no `instance`.
//!
//! [`PusherBuilder::build`] checks the key: the job must not be empty;
//! grouping label names must be valid Prometheus label names (not `__*`),
//! not `job`, and unique. Each push also checks that no pushed series
//! carries `job` or a grouping label itself ([`Error::LabelConflict`]): the
//! gateway would silently overwrite it.
//!
//! # The client
//! A small blocking HTTP/1.1 client over [`std::net::TcpStream`]: pushes are
//! infrequent and most consumer loops are not async, so it opens one
//! connection per request (`Connection: close`) and needs no runtime and no
//! dependency. From async code, call it on a blocking thread
//! (`spawn_blocking`).
//!
//! - **Timeout**: one deadline (default 10 s, [`PusherBuilder::timeout`])
//!   covers connecting, sending and reading the whole response. Name
//!   resolution happens before it and is not bounded by it (the standard
//!   library's resolver has no timeout); use an IP address where that
//!   matters.
//! - **TLS**: `https://` URLs are refused with [`Error::InvalidUrl`];
//!   reach a TLS gateway through a local TLS-terminating proxy.
//! - **Responses**: any 2xx is success; every other status (redirects
//!   included: they are not followed) is [`Error::Status`] with the
//!   gateway's message. At most 64 KiB of a response body is read.
//! - **Buffers**: the [`Pusher`] keeps its encoders and buffers, so
//!   steady-state pushes reuse their memory.
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![forbid(unsafe_code)]

mod client;
mod error;
mod grouping;
mod url;

use std::fmt;
use std::time::Duration;

use bytes::BytesMut;
use hotmetrics_core::Registry;
use hotmetrics_protobuf::ProtobufEncoder;
use hotmetrics_text::TextEncoder;

pub use error::Error;

use client::Request;
use url::Gateway;

/// The default [`PusherBuilder::timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The body format of pushes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// Length-delimited `io.prometheus.client.MetricFamily` messages
    /// ([`hotmetrics_protobuf`]); what the Go client sends.
    #[default]
    Protobuf,
    /// Prometheus text format 0.0.4 ([`hotmetrics_text`]).
    Text,
}

impl Format {
    /// The `Content-Type` of pushes in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => hotmetrics_protobuf::CONTENT_TYPE,
            Self::Text => hotmetrics_text::CONTENT_TYPE,
        }
    }
}

/// How pushes authenticate.
#[derive(Clone)]
enum Auth {
    Basic { user: String, password: String },
    Bearer(String),
    Header(String),
}

/// Headers this client writes itself.
const RESERVED_HEADERS: [&str; 6] = [
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "user-agent",
];

/// Configures a [`Pusher`]; made by [`Pusher::builder`]. Nothing is checked
/// before [`build`](Self::build).
#[derive(Clone)]
pub struct PusherBuilder {
    url: String,
    job: String,
    grouping: Vec<(String, String)>,
    format: Format,
    timeout: Duration,
    auth: Option<Auth>,
    headers: Vec<(String, String)>,
}

impl PusherBuilder {
    /// Adds a grouping label: the group becomes
    /// `/metrics/job/<job>/.../<name>/<value>`, and the gateway adds
    /// `name="value"` to every series pushed to it.
    pub fn grouping(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.grouping.push((name.into(), value.into()));
        self
    }

    /// The body format; [`Format::Protobuf`] by default.
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// The time one request may take, connecting, sending and reading the
    /// response together; [`DEFAULT_TIMEOUT`] by default. Must not be zero.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends `Authorization: Basic ...` (the user name must not contain
    /// `:`). Replaces an earlier [`bearer_token`](Self::bearer_token) or
    /// `Authorization` [`header`](Self::header).
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Some(Auth::Basic {
            user: user.into(),
            password: password.into(),
        });
        self
    }

    /// Sends `Authorization: Bearer <token>`. Replaces an earlier
    /// [`basic_auth`](Self::basic_auth) or `Authorization`
    /// [`header`](Self::header).
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.auth = Some(Auth::Bearer(token.into()));
        self
    }

    /// Sends an extra header with every request. An `Authorization` header
    /// replaces [`basic_auth`](Self::basic_auth) and
    /// [`bearer_token`](Self::bearer_token); `Host`, `Content-Length`,
    /// `Content-Type`, `Transfer-Encoding`, `Connection` and `User-Agent`
    /// are this client's own and refused by [`build`](Self::build).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        if name.eq_ignore_ascii_case("authorization") {
            self.auth = Some(Auth::Header(value));
        } else {
            self.headers.push((name, value));
        }
        self
    }

    /// Checks the configuration and makes the [`Pusher`].
    pub fn build(self) -> Result<Pusher, Error> {
        let gateway = Gateway::parse(&self.url)?;
        grouping::validate(&self.job, &self.grouping)?;
        if self.timeout.is_zero() {
            return Err(Error::InvalidTimeout);
        }
        let mut headers = Vec::with_capacity(self.headers.len() + 1);
        for (name, value) in self.headers {
            check_header(&name, &value)?;
            headers.push((name, value));
        }
        if let Some(auth) = self.auth {
            let value = match auth {
                Auth::Basic { user, password } => {
                    if user.contains(':') {
                        return Err(Error::InvalidHeader {
                            name: "Authorization".into(),
                            reason: "a basic-auth user name cannot contain ':'",
                        });
                    }
                    let mut value = String::from("Basic ");
                    let credentials = format!("{user}:{password}");
                    url::base64_encode(&mut value, credentials.as_bytes(), url::BASE64_STD);
                    value
                }
                Auth::Bearer(token) => format!("Bearer {token}"),
                Auth::Header(value) => value,
            };
            check_header("Authorization", &value)?;
            headers.push(("Authorization".into(), value));
        }
        let path = grouping::path(&gateway.prefix, &self.job, &self.grouping);
        Ok(Pusher {
            url: format!("http://{}{path}", gateway.authority),
            gateway,
            path,
            grouping: self.grouping,
            format: self.format,
            timeout: self.timeout,
            headers,
            text: TextEncoder::new(),
            protobuf: ProtobufEncoder::new(),
            body: BytesMut::new(),
            head: Vec::new(),
        })
    }
}

fn check_header(name: &str, value: &str) -> Result<(), Error> {
    let reason = if name.is_empty() || !name.bytes().all(client::is_token) {
        "the name is not an HTTP token"
    } else if RESERVED_HEADERS
        .iter()
        .any(|r| name.eq_ignore_ascii_case(r))
    {
        "this client writes that header itself"
    } else if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        "the value holds a control character"
    } else {
        return Ok(());
    };
    Err(Error::InvalidHeader {
        name: name.to_owned(),
        reason,
    })
}

/// Shows header names only: values may hold credentials.
impl fmt::Debug for PusherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PusherBuilder")
            .field("url", &self.url)
            .field("job", &self.job)
            .field("grouping", &self.grouping)
            .field("format", &self.format)
            .field("timeout", &self.timeout)
            .field("auth", &self.auth.as_ref().map(|_| "<redacted>"))
            .field("headers", &HeaderNames(&self.headers))
            .finish()
    }
}

struct HeaderNames<'a>(&'a [(String, String)]);

impl fmt::Debug for HeaderNames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

/// Pushes registries to one group of a Pushgateway. Made by
/// [`Pusher::builder`]; keep it between pushes, it reuses its buffers.
pub struct Pusher {
    gateway: Gateway,
    /// The group's path, prefix included.
    path: String,
    /// The group's full URL, for messages.
    url: String,
    grouping: Vec<(String, String)>,
    format: Format,
    timeout: Duration,
    /// Extra headers, `Authorization` included.
    headers: Vec<(String, String)>,
    text: TextEncoder,
    protobuf: ProtobufEncoder,
    body: BytesMut,
    head: Vec<u8>,
}

impl Pusher {
    /// Starts configuring a pusher to the gateway at `url`
    /// (`http://host[:port][/path-prefix]`, port 80 if none is given) for
    /// the job `job`.
    pub fn builder(url: impl Into<String>, job: impl Into<String>) -> PusherBuilder {
        PusherBuilder {
            url: url.into(),
            job: job.into(),
            grouping: Vec::new(),
            format: Format::default(),
            timeout: DEFAULT_TIMEOUT,
            auth: None,
            headers: Vec::new(),
        }
    }

    /// Replaces everything in the group with `registry`'s metrics (`PUT`).
    /// Families no longer in the registry disappear from the group.
    pub fn push(&mut self, registry: &Registry) -> Result<(), Error> {
        self.send_registry("PUT", registry)
    }

    /// Replaces the group's families that `registry` also has, keeping the
    /// others (`POST`).
    pub fn push_add(&mut self, registry: &Registry) -> Result<(), Error> {
        self.send_registry("POST", registry)
    }

    /// Deletes the group and all its metrics (`DELETE`). The Pushgateway
    /// answers 202 Accepted and applies the deletion from its write queue,
    /// so a scrape of the gateway right after may still show the group for
    /// a moment.
    pub fn delete(&mut self) -> Result<(), Error> {
        self.send("DELETE", false)
    }

    /// The group's URL: the gateway's, then `/metrics/job/<job>...`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The body format.
    pub fn format(&self) -> Format {
        self.format
    }

    fn send_registry(&mut self, method: &'static str, registry: &Registry) -> Result<(), Error> {
        grouping::find_conflict(registry, &self.grouping)?;
        self.body.clear();
        match self.format {
            Format::Protobuf => self.protobuf.encode(registry, &mut self.body),
            Format::Text => self.text.encode(registry, &mut self.body),
        };
        self.send(method, true)
    }

    fn send(&mut self, method: &'static str, with_body: bool) -> Result<(), Error> {
        let request = Request {
            method,
            path: &self.path,
            body: with_body.then(|| (self.format.content_type(), &self.body[..])),
            headers: &self.headers,
        };
        client::send(&self.gateway, &request, self.timeout, &mut self.head)
    }
}

/// Shows header names only: values may hold credentials.
impl fmt::Debug for Pusher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pusher")
            .field("url", &self.url)
            .field("format", &self.format)
            .field("timeout", &self.timeout)
            .field("headers", &HeaderNames(&self.headers))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushers_move_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Pusher>();
        send_sync::<PusherBuilder>();
        send_sync::<Error>();
    }

    #[test]
    fn builds_the_group_url() {
        let p = Pusher::builder("http://127.0.0.1:9091/pg/", "a/b")
            .grouping("instance", "w 1")
            .grouping("empty", "")
            .build()
            .unwrap();
        assert_eq!(
            p.url(),
            "http://127.0.0.1:9091/pg/metrics/job@base64/YS9i/instance/w%201/empty@base64/="
        );
        assert_eq!(p.format(), Format::Protobuf);
    }

    #[test]
    fn build_reports_the_first_problem() {
        let b = || Pusher::builder("http://gw:9091", "j");
        assert!(matches!(
            Pusher::builder("https://gw", "j").build(),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(
            Pusher::builder("http://gw", "").build(),
            Err(Error::EmptyJob)
        ));
        assert!(matches!(
            b().grouping("job", "x").build(),
            Err(Error::InvalidGroupingLabel { .. })
        ));
        assert!(matches!(
            b().timeout(Duration::ZERO).build(),
            Err(Error::InvalidTimeout)
        ));
        for (name, value, why) in [
            ("X Y", "v", "not an HTTP token"),
            ("", "v", "not an HTTP token"),
            ("content-TYPE", "v", "writes that header itself"),
            ("Host", "v", "writes that header itself"),
            ("X-A", "a\r\nInjected: 1", "control character"),
            ("Authorization", "a\nb", "control character"),
        ] {
            match b().header(name, value).build() {
                Err(Error::InvalidHeader { reason, .. }) => assert!(reason.contains(why)),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(matches!(
            b().basic_auth("a:b", "c").build(),
            Err(Error::InvalidHeader { .. })
        ));
    }

    #[test]
    fn authorization_is_one_header_and_redacted_in_debug() {
        let p = Pusher::builder("http://gw", "j")
            .bearer_token("t0ken")
            .header("X-Scope-OrgID", "tenant-secret")
            .basic_auth("Aladdin", "open sesame")
            .build()
            .unwrap();
        assert_eq!(
            p.headers,
            [
                ("X-Scope-OrgID".to_owned(), "tenant-secret".to_owned()),
                // RFC 7617's example.
                (
                    "Authorization".to_owned(),
                    "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==".to_owned()
                ),
            ]
        );
        let p = Pusher::builder("http://gw", "j")
            .basic_auth("u", "p")
            .header("authorization", "ApiKey k")
            .build()
            .unwrap();
        assert_eq!(
            p.headers,
            [("Authorization".to_owned(), "ApiKey k".to_owned())]
        );

        let builder = Pusher::builder("http://gw", "j")
            .basic_auth("u", "hunter2")
            .header("X-Key", "s3cret");
        let shown = format!("{builder:?} {:?}", builder.clone().build().unwrap());
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret"),
            "{shown}"
        );
        assert!(
            shown.contains("X-Key") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
