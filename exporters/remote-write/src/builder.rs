//! The sink's configuration, checked when it is built: the URL, the
//! protocol, external labels, authentication, headers, timeouts, batching.

use std::fmt;
use std::time::Duration;

use crate::http::Client;
use crate::sink::RemoteWriteSink;
use crate::tls;
use base64::Engine as _;
use ureq::http::Uri;
use ureq::http::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

/// Default [`RemoteWriteBuilder::timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`RemoteWriteBuilder::max_samples_per_request`]: Prometheus'
/// own `max_samples_per_send`.
pub const DEFAULT_MAX_SAMPLES_PER_REQUEST: usize = 2000;

/// The remote write protocol version a sink speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// Remote write 1.0: `prometheus.WriteRequest`, what every receiver
    /// takes (Prometheus, VictoriaMetrics, Mimir, Thanos).
    #[default]
    V1,
    /// Remote write 2.0: `io.prometheus.write.v2.Request` (a symbol table,
    /// metadata and start timestamps per series). A receiver that answers
    /// 415 makes the sink fall back to 1.0 for good, re-encoding what it
    /// had encoded for 2.0. Use it only with a receiver that speaks 2.0:
    /// one that predates it without checking the version header (seen with
    /// Prometheus 2.42) decodes the body as an empty 1.0 request, answers
    /// 204 and stores nothing, and the sink cannot tell.
    V2,
}

impl Protocol {
    /// The request's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::V1 => "application/x-protobuf",
            Self::V2 => "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        }
    }

    /// The request's `X-Prometheus-Remote-Write-Version`.
    pub fn version_header(self) -> &'static str {
        match self {
            Self::V1 => "0.1.0",
            Self::V2 => "2.0.0",
        }
    }
}

/// Makes [`RemoteWriteSink`]s: [`RemoteWrite::builder`].
#[derive(Debug)]
pub struct RemoteWrite;

impl RemoteWrite {
    /// A sink sending to `url`, the receiver's write endpoint
    /// (Prometheus: `http://host:9090/api/v1/write`; VictoriaMetrics:
    /// `http://host:8428/api/v1/write`; Mimir: `http://host/api/v1/push`).
    pub fn builder(url: impl Into<String>) -> RemoteWriteBuilder {
        RemoteWriteBuilder {
            url: url.into(),
            protocol: Protocol::V1,
            external_labels: Vec::new(),
            headers: Vec::new(),
            auth: None,
            timeout: DEFAULT_TIMEOUT,
            max_samples: DEFAULT_MAX_SAMPLES_PER_REQUEST,
            ca_pems: Vec::new(),
            client_pem: None,
            native: false,
            exemplars: false,
        }
    }
}

enum Auth {
    Basic { user: String, password: String },
    Bearer(String),
}

/// Configures a remote write sink; from [`RemoteWrite::builder`].
pub struct RemoteWriteBuilder {
    url: String,
    protocol: Protocol,
    external_labels: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    auth: Option<Auth>,
    timeout: Duration,
    max_samples: usize,
    ca_pems: Vec<Vec<u8>>,
    /// The client certificate chain and its key, PEM.
    client_pem: Option<(Vec<u8>, Vec<u8>)>,
    native: bool,
    exemplars: bool,
}

impl fmt::Debug for RemoteWriteBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Credentials stay out of logs.
        f.debug_struct("RemoteWriteBuilder")
            .field("url", &self.url)
            .field("protocol", &self.protocol)
            .field("external_labels", &self.external_labels)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("auth", &self.auth.is_some())
            .field("timeout", &self.timeout)
            .field("max_samples", &self.max_samples)
            .field("ca_certificates", &self.ca_pems.len())
            .field("client_certificate", &self.client_pem.is_some())
            .field("send_native_histograms", &self.native)
            .field("send_exemplars", &self.exemplars)
            .finish()
    }
}

impl RemoteWriteBuilder {
    /// The protocol version (default [`Protocol::V1`]).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// A label added to every series (`job`, `instance`, `region`...),
    /// unless the series has a label of that name itself.
    pub fn external_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.external_labels.push((name.into(), value.into()));
        self
    }

    /// HTTP basic authentication.
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Some(Auth::Basic {
            user: user.into(),
            password: password.into(),
        });
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.auth = Some(Auth::Bearer(token.into()));
        self
    }

    /// A header sent with every request (`X-Scope-OrgID` for a Mimir or
    /// Cortex tenant). Not `Content-Type`, `Content-Encoding`,
    /// `X-Prometheus-Remote-Write-Version` nor `Authorization`, which the
    /// sink sets.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The limit of one request, connecting included (default 10 s); a
    /// request that runs past it is retried.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Trusts the CA certificates in `pem` (one or more `-----BEGIN
    /// CERTIFICATE-----` sections) for an `https://` receiver, besides the
    /// system's roots: for a receiver whose certificate a private CA
    /// signed. May be given more than once.
    ///
    /// The system's roots are loaded at [`build`](Self::build)
    /// (`rustls-native-certs`: the platform's store, or `SSL_CERT_FILE` /
    /// `SSL_CERT_DIR` when set). When none load and no CA is given, `build`
    /// fails ([`Error::NoRootCertificates`]); when some fail to load, the
    /// sink goes on with the rest and the CAs given, and logs a warning
    /// saying what failed (receivers those roots vouch for will not
    /// verify).
    pub fn ca_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pems.push(pem.into());
        self
    }

    /// Presents this client certificate to an `https://` receiver that
    /// asks for one (mutual TLS: Mimir or Thanos behind a proxy with
    /// `ssl_verify_client`, Prometheus' `client_auth_type`):
    /// `certificate_pem` holds the sink's certificate first, then any
    /// intermediates; `key_pem` its private key (PKCS#8, PKCS#1 or SEC1,
    /// unencrypted).
    pub fn client_certificate(
        mut self,
        certificate_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.client_pem = Some((certificate_pem.into(), key_pem.into()));
        self
    }

    /// The most samples in one request (default 2000): an export of more
    /// is sent as several requests. A native histogram counts as one
    /// sample; exemplars ride with their series' sample and are not
    /// counted (Prometheus' own sender counts them toward its
    /// `max_samples_per_send`), so a request may carry, besides its
    /// samples, up to one exemplar per float sample and a native
    /// histogram's few.
    pub fn max_samples_per_request(mut self, samples: usize) -> Self {
        self.max_samples = samples;
        self
    }

    /// Sends native histograms as native histograms (default false), as
    /// Prometheus' `remote_write` setting of this name does: a histogram
    /// with native buckets becomes one `Histogram` sample (1.0:
    /// `TimeSeries.histograms`; 2.0: the same, with its start timestamp) on
    /// the series `<name>`, no suffix, beside its classic `_bucket`, `_sum`
    /// and `_count` series when it has classic bounds; a native-only
    /// histogram sends only the native sample. Integer counts, schema, zero
    /// bucket, spans and deltas of both signs, `reset_hint` `UNKNOWN`, the
    /// export's timestamp. It counts as one sample in
    /// [`samples_sent`](hotmetrics_export::Stats::samples_sent) and
    /// in [`max_samples_per_request`](Self::max_samples_per_request).
    ///
    /// Off, a native histogram goes as its classic view only (a
    /// native-only one as `_bucket{le="+Inf"}`, `_sum`, `_count`) and the
    /// export skips merging native buckets. Turn it on only for a receiver
    /// that stores native histograms: Prometheus 2.42 without
    /// `--enable-feature=native-histograms` answers such a request with a
    /// 500 (`native histograms are disabled`) and stores nothing of it;
    /// the exporter retries it, and later exports queue behind it.
    /// VictoriaMetrics 1.79 drops the native samples without a word (it
    /// answers 204 and stores the float samples). See the crate docs.
    pub fn send_native_histograms(mut self, on: bool) -> Self {
        self.native = on;
        self
    }

    /// Sends exemplars (default false), as Prometheus' `remote_write`
    /// setting of this name does: a counter's latest on its `_total`
    /// series, a classic bucket's on its `_bucket{le=...}` series (a
    /// native-only histogram's on `le="+Inf"` while native histograms are
    /// not sent), a native histogram's latest few
    /// (`NativeOpts::max_exemplars`, oldest first) on its native series
    /// (with [`send_native_histograms`](Self::send_native_histograms); in
    /// 1.0 a `TimeSeries` of their own right after the histogram's, since
    /// Prometheus appends a `TimeSeries`' exemplars before its histograms
    /// and a new series' first exemplars would otherwise be refused).
    /// Labels sorted by name (an empty value left out), the value, the
    /// timestamp in milliseconds (the export's for an exemplar recorded
    /// without one). Exemplars ride with their series' sample and are not
    /// counted as samples.
    ///
    /// Each exemplar is sent once: an export sends those recorded since
    /// the previous completed export's time (its millisecond included:
    /// Prometheus ignores such a repeat as a duplicate), so an unchanged
    /// exemplar is not sent again and a native histogram's older ones are
    /// not re-sent out of order (Prometheus refuses those, logging a
    /// warning per request). An exemplar without a timestamp takes the
    /// export's and is sent every export. Prometheus needs `--enable-feature=exemplar-storage`
    /// (without it exemplars are dropped, the samples stored);
    /// VictoriaMetrics 1.79 drops them. See the crate docs.
    pub fn send_exemplars(mut self, on: bool) -> Self {
        self.exemplars = on;
        self
    }

    /// The sink, for [`Exporter::builder`](hotmetrics_export::Exporter::builder).
    ///
    /// Fails on a URL that is not `http://` or `https://` with a host, an
    /// external label whose name is not a valid, non-reserved label name
    /// or whose value is empty, a header that is malformed or one the sink
    /// sets itself, a zero timeout or batch size, a CA or client
    /// certificate that is malformed, a private key that does not belong
    /// to its certificate, TLS settings for an `http://` URL, and for
    /// `https://` when there is no root certificate at all.
    pub fn build(self) -> Result<RemoteWriteSink, Error> {
        let url = url::Url::parse(&self.url).map_err(|e| Error::InvalidUrl {
            url: self.url.clone(),
            reason: e.to_string(),
        })?;
        let invalid_url = |reason: &str| Error::InvalidUrl {
            url: self.url.clone(),
            reason: reason.to_owned(),
        };
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            _ => return Err(invalid_url("the scheme must be http or https")),
        };
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid_url("no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid_url(
                "credentials in the URL: give them to basic_auth instead",
            ));
        }
        let uri = Uri::try_from(url.as_str())
            .map_err(|_| invalid_url("the HTTP client does not accept this URL"))?;
        if self.timeout.is_zero() {
            return Err(Error::Config("the timeout must not be zero".into()));
        }
        if self.max_samples == 0 {
            return Err(Error::Config(
                "max_samples_per_request must be at least 1".into(),
            ));
        }
        check_labels(&self.external_labels)?;
        let headers = headers(&self.headers, self.auth.as_ref())?;
        let mut extra_roots = Vec::new();
        for pem in &self.ca_pems {
            extra_roots.extend(tls::parse_ca(pem)?);
        }
        let client_cert = self
            .client_pem
            .as_ref()
            .map(|(cert, key)| tls::parse_client(cert, key))
            .transpose()?;
        let tls = if https {
            Some(tls::config(&extra_roots, client_cert)?)
        } else if !self.ca_pems.is_empty() || self.client_pem.is_some() {
            return Err(invalid_url(
                "a CA or client certificate was given, but the URL is not https://",
            ));
        } else {
            None
        };
        // Where it sends, for the exporter's default name: no query (it
        // may hold a token) nor fragment.
        let mut target = url.clone();
        target.set_query(None);
        target.set_fragment(None);
        let user_agent = concat!("hotmetrics-remote-write/", env!("CARGO_PKG_VERSION"));
        let client = Client::new(uri, headers, self.timeout, user_agent, tls);
        Ok(RemoteWriteSink::new(
            client,
            target.into(),
            self.protocol,
            self.external_labels,
            self.max_samples as u64,
            self.native,
            self.exemplars,
        ))
    }
}

fn check_labels(labels: &[(String, String)]) -> Result<(), Error> {
    for (i, (name, value)) in labels.iter().enumerate() {
        let invalid = |reason: &str| Error::InvalidLabel {
            name: name.clone(),
            reason: reason.to_owned(),
        };
        if name.starts_with("__") {
            return Err(invalid("names starting with \"__\" are reserved"));
        }
        if hotmetrics_core::validate_label_name(name).is_err() {
            return Err(invalid("not a label name ([a-zA-Z_][a-zA-Z0-9_]*)"));
        }
        if value.is_empty() {
            return Err(invalid("an empty value (Prometheus drops such a label)"));
        }
        if labels[..i].iter().any(|(n, _)| n == name) {
            return Err(invalid("given twice"));
        }
    }
    Ok(())
}

/// Headers the sink sets itself; the user's may not replace them.
const OWN_HEADERS: [&str; 4] = [
    "content-type",
    "content-encoding",
    "x-prometheus-remote-write-version",
    "authorization",
];

fn headers(given: &[(String, String)], auth: Option<&Auth>) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::new();
    for (name, value) in given {
        let invalid = |reason: &str| Error::InvalidHeader {
            name: name.clone(),
            reason: reason.to_owned(),
        };
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid("not a valid header name"))?;
        if OWN_HEADERS.contains(&n.as_str()) {
            return Err(invalid("set by the sink itself"));
        }
        let v = HeaderValue::from_str(value)
            .map_err(|_| invalid("the value holds a character a header cannot"))?;
        map.append(n, v);
    }
    if let Some(auth) = auth {
        let text = match auth {
            Auth::Basic { user, password } => {
                let pair = format!("{user}:{password}");
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            Auth::Bearer(token) => format!("Bearer {token}"),
        };
        let mut v = HeaderValue::from_str(&text).map_err(|_| Error::InvalidHeader {
            name: "Authorization".into(),
            reason: "the credentials hold a character a header cannot".into(),
        })?;
        v.set_sensitive(true);
        map.insert(AUTHORIZATION, v);
    }
    Ok(map)
}

/// A configuration [`RemoteWriteBuilder::build`] refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The receiver's URL.
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An external label.
    InvalidLabel {
        /// Its name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A header (or the credentials, as `Authorization`).
    InvalidHeader {
        /// Its name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A timeout or batch size that cannot work.
    Config(String),
    /// `https://`, and no root certificate could be loaded (what failed).
    NoRootCertificates(String),
    /// A [`ca_certificate`](RemoteWriteBuilder::ca_certificate) that holds
    /// no certificate or one that cannot be a trust anchor (what is wrong).
    InvalidCaCertificate(String),
    /// A [`client_certificate`](RemoteWriteBuilder::client_certificate)
    /// or its key that is malformed, or a key that is not the
    /// certificate's (what is wrong).
    InvalidClientCertificate(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl { url, reason } => {
                write!(f, "invalid remote write URL {url:?}: {reason}")
            }
            Self::InvalidLabel { name, reason } => {
                write!(f, "invalid external label {name:?}: {reason}")
            }
            Self::InvalidHeader { name, reason } => write!(f, "invalid header {name:?}: {reason}"),
            Self::Config(m) => write!(f, "remote write configuration: {m}"),
            Self::NoRootCertificates(detail) => {
                write!(
                    f,
                    "https: no root certificates found on this system ({detail})"
                )
            }
            Self::InvalidCaCertificate(m) => write!(f, "invalid CA certificate: {m}"),
            Self::InvalidClientCertificate(m) => write!(f, "invalid client certificate: {m}"),
        }
    }
}

impl std::error::Error for Error {}
