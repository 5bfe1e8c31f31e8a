//! [`PusherBuilder`]: a pusher's configuration, checked all at once by
//! [`PusherBuilder::build`].

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ureq::http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::client::Client;
use crate::gateway::Gateway;
use crate::{DEFAULT_TIMEOUT, Error, Format, Pusher, grouping, tls};

/// How pushes authenticate.
#[derive(Clone)]
enum Auth {
    Basic { user: String, password: String },
    Bearer(String),
    Header(String),
}

/// Headers this client writes itself.
/// `Expect` is refused too: ureq 3.5 reads an early final answer to
/// `Expect: 100-continue` wrongly (it waits for more input until the
/// timeout).
const RESERVED_HEADERS: [HeaderName; 8] = [
    header::HOST,
    header::CONTENT_LENGTH,
    header::CONTENT_TYPE,
    header::CONTENT_ENCODING,
    header::TRANSFER_ENCODING,
    header::CONNECTION,
    header::USER_AGENT,
    header::EXPECT,
];

/// Configures a [`Pusher`]; made by [`Pusher::builder`]. Nothing is checked
/// before [`build`](Self::build).
#[derive(Clone)]
pub struct PusherBuilder {
    url: String,
    job: String,
    grouping: Vec<(String, String)>,
    format: Format,
    gzip: bool,
    timeout: Duration,
    auth: Option<Auth>,
    headers: Vec<(String, String)>,
    ca_pems: Vec<Vec<u8>>,
}

impl PusherBuilder {
    pub(crate) fn new(url: String, job: String) -> Self {
        Self {
            url,
            job,
            grouping: Vec::new(),
            format: Format::Protobuf,
            gzip: false,
            timeout: DEFAULT_TIMEOUT,
            auth: None,
            headers: Vec::new(),
            ca_pems: Vec::new(),
        }
    }

    /// Adds a grouping label: the group becomes
    /// `/metrics/job/<job>/.../<name>/<value>`, and the gateway adds
    /// `name="value"` to every series pushed to it.
    pub fn grouping(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.grouping.push((name.into(), value.into()));
        self
    }

    /// The body format: [`Format::Protobuf`] (the default) or
    /// [`Format::Text`]. The Pushgateway does not parse OpenMetrics, so
    /// [`build`](Self::build) refuses `Format::OpenMetrics` where cargo
    /// features make it exist.
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// Compresses push bodies with gzip (`Content-Encoding: gzip`; off by
    /// default). The Pushgateway decompresses them (checked with 1.5);
    /// exposition text shrinks 10-30 times, so large pushes travel faster
    /// and stay under proxies' body limits. A gateway or proxy that refuses
    /// a push before reading it (bad credentials, a body limit) gets its
    /// answer to the client reliably only when the body fits its read-ahead
    /// (256 KiB for the Pushgateway): see [`Error::ClosedEarly`].
    pub fn gzip(mut self, gzip: bool) -> Self {
        self.gzip = gzip;
        self
    }

    /// The time one request may take, from name resolution through the
    /// TLS handshake and sending to the end of the response;
    /// [`DEFAULT_TIMEOUT`] by default. Must not be zero.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Trusts the CA certificates in `pem` (one or more `-----BEGIN
    /// CERTIFICATE-----` sections) for an `https://` gateway, besides the
    /// system's roots: for a gateway whose certificate a private CA signed.
    /// May be given more than once. [`build`](Self::build) fails with
    /// [`Error::InvalidCaCertificate`] if `pem` holds no certificate or a
    /// malformed one.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pems.push(pem.into());
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
    /// `Content-Type`, `Content-Encoding` (see [`gzip`](Self::gzip)),
    /// `Transfer-Encoding`, `Connection`, `User-Agent` and `Expect` are this
    /// client's own and refused by [`build`](Self::build).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        if name.eq_ignore_ascii_case("authorization") {
            self.auth = Some(Auth::Header(value));
        } else {
            self.headers.push((name, value));
        }
        self
    }

    /// Checks the configuration and makes the [`Pusher`]. For an
    /// `https://` gateway this loads the system's root certificates.
    pub fn build(self) -> Result<Pusher, Error> {
        let gateway = Gateway::parse(&self.url)?;
        grouping::validate(&self.job, &self.grouping)?;
        if self.timeout.is_zero() {
            return Err(Error::InvalidTimeout);
        }
        match self.format {
            Format::Protobuf | Format::Text => {}
            format => return Err(Error::UnsupportedFormat { format }),
        }
        let headers = header_map(self.headers, self.auth)?;
        let mut extra_roots = Vec::new();
        for pem in &self.ca_pems {
            extra_roots.extend(tls::parse_ca_pem(pem)?);
        }
        let tls = if gateway.https {
            Some(tls::config(&extra_roots)?)
        } else {
            None
        };
        let url = format!(
            "{}{}",
            gateway.origin,
            grouping::path(&gateway.prefix, &self.job, &self.grouping)
        );
        let client = Client::new(&gateway, &url, headers, self.timeout, tls)?;
        Ok(Pusher::new(
            url,
            client,
            self.grouping,
            self.format,
            self.gzip,
        ))
    }
}

#[cfg(feature = "tokio")]
impl PusherBuilder {
    /// [`build`](Self::build), for tokio code: an [`AsyncPusher`] whose
    /// pushes run on tokio's blocking pool instead of blocking the task's
    /// runtime thread.
    ///
    /// [`AsyncPusher`]: crate::AsyncPusher
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn build_async(self) -> Result<crate::AsyncPusher, Error> {
        self.build().map(crate::AsyncPusher::from)
    }
}

/// The extra headers and the `Authorization` one, checked.
fn header_map(headers: Vec<(String, String)>, auth: Option<Auth>) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::with_capacity(headers.len() + 2);
    for (name, value) in &headers {
        let (name, value) = check_header(name, value)?;
        map.append(name, value);
    }
    if let Some(auth) = auth {
        let value = match auth {
            Auth::Basic { user, password } => {
                if user.contains(':') {
                    return Err(Error::InvalidHeader {
                        name: "Authorization".into(),
                        reason: "a basic-auth user name cannot contain ':'",
                    });
                }
                format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
            }
            Auth::Bearer(token) => format!("Bearer {token}"),
            Auth::Header(value) => value,
        };
        let (name, mut value) = check_header("Authorization", &value)?;
        value.set_sensitive(true);
        map.insert(name, value);
    }
    Ok(map)
}

fn check_header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let invalid = |reason| Error::InvalidHeader {
        name: name.to_owned(),
        reason,
    };
    let header_name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| invalid("the name is not an HTTP token"))?;
    if RESERVED_HEADERS.contains(&header_name) {
        return Err(invalid("this client writes that header itself"));
    }
    let value = HeaderValue::from_bytes(value.as_bytes())
        .map_err(|_| invalid("the value holds a control character"))?;
    Ok((header_name, value))
}

/// Shows header names only: values may hold credentials.
impl fmt::Debug for PusherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PusherBuilder")
            .field("url", &self.url)
            .field("job", &self.job)
            .field("grouping", &self.grouping)
            .field("format", &self.format)
            .field("gzip", &self.gzip)
            .field("timeout", &self.timeout)
            .field("auth", &self.auth.as_ref().map(|_| "<redacted>"))
            .field("headers", &HeaderNames(&self.headers))
            .field("ca_pems", &self.ca_pems.len())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The headers a pusher sends, as (name, value) strings.
    fn headers(p: &Pusher) -> Vec<(String, String)> {
        p.client()
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect()
    }

    #[test]
    fn build_reports_the_first_problem() {
        let b = || Pusher::builder("http://gw:9091", "j");
        assert!(matches!(
            Pusher::builder("ftp://gw", "j").build(),
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
            ("X-A", "a\u{7f}", "control character"),
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
        // Tabs and UTF-8 are fine in values.
        assert!(b().header("X-A", "a\tb é").build().is_ok());
        // A bad CA is an error even for plain http: it is a mistake either way.
        assert!(matches!(
            b().ca_pem("nope").build(),
            Err(Error::InvalidCaCertificate { .. })
        ));
    }

    #[test]
    fn openmetrics_is_refused() {
        // The dev-dependencies turn OpenMetrics on, as another crate of a
        // build could.
        let err = Pusher::builder("http://gw", "j")
            .format(Format::OpenMetrics)
            .build()
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnsupportedFormat {
                    format: Format::OpenMetrics
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "the Pushgateway does not parse OpenMetrics; push Protobuf or Text"
        );
        for format in [Format::Protobuf, Format::Text] {
            let p = Pusher::builder("http://gw", "j")
                .format(format)
                .build()
                .unwrap();
            assert_eq!(p.format(), format);
        }
    }

    #[test]
    fn authorization_is_one_header_and_redacted_in_debug() {
        let p = Pusher::builder("http://gw", "j")
            .bearer_token("t0ken")
            .header("X-Scope-OrgID", "tenant-secret")
            .header("X-Two", "1")
            .header("x-two", "2")
            .basic_auth("Aladdin", "open sesame")
            .build()
            .unwrap();
        assert_eq!(
            headers(&p),
            [
                ("x-scope-orgid".to_owned(), "tenant-secret".to_owned()),
                ("x-two".to_owned(), "1".to_owned()),
                ("x-two".to_owned(), "2".to_owned()),
                // RFC 7617's example.
                (
                    "authorization".to_owned(),
                    "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==".to_owned()
                ),
                ("connection".to_owned(), "close".to_owned()),
            ]
        );
        let p = Pusher::builder("http://gw", "j")
            .basic_auth("u", "p")
            .header("authorization", "ApiKey k")
            .build()
            .unwrap();
        assert_eq!(
            headers(&p),
            [
                ("authorization".to_owned(), "ApiKey k".to_owned()),
                ("connection".to_owned(), "close".to_owned()),
            ]
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
            shown.contains("X-Key") && shown.contains("x-key") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
