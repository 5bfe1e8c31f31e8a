//! Requests to the gateway: one blocking `ureq` agent per pusher, one
//! connection per request (`Connection: close`), one deadline over the
//! whole request, and a cap on what is read of the answer.

use std::io::{self, Read};
use std::time::Duration;

use ureq::http::header::{CONNECTION, CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue};
use ureq::http::{Method, Request, Uri};
use ureq::tls::TlsConfig;
use ureq::{Agent, AsSendBody};

use crate::Error;
use crate::gateway::Gateway;

/// The most body bytes read; the rest is left unread.
const MAX_BODY: usize = 64 * 1024;
/// The most bytes of the body an [`Error::Status`] keeps.
const MAX_ERROR_BODY: usize = 4 * 1024;

/// The agent and what every request to the group carries.
pub(crate) struct Client {
    agent: Agent,
    /// The group's URL.
    uri: Uri,
    /// Extra headers, `Authorization` included, and `Connection: close`.
    headers: HeaderMap,
    timeout: Duration,
    /// For messages: the host name and `host:port`.
    host: String,
    addr: String,
    https: bool,
}

impl Client {
    /// A client for `url` (the group's, made from `gateway`); `tls` is
    /// `Some` for `https://`.
    pub(crate) fn new(
        gateway: &Gateway,
        url: &str,
        mut headers: HeaderMap,
        timeout: Duration,
        tls: Option<TlsConfig>,
    ) -> Result<Self, Error> {
        let uri = Uri::try_from(url).map_err(|_| Error::InvalidUrl {
            url: url.to_owned(),
            reason: "the HTTP client does not accept this URL",
        })?;
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
        let mut config = Agent::config_builder()
            .timeout_global(Some(timeout))
            // 4xx and 5xx are answers with a message, not errors to ureq.
            .http_status_as_error(false)
            // A redirect is returned as the answer, not followed.
            .max_redirects(0)
            .max_redirects_will_error(false)
            // Straight to the gateway, whatever HTTP(S)_PROXY says.
            .proxy(None)
            .user_agent(concat!("hotmetrics-push/", env!("CARGO_PKG_VERSION")))
            .accept("");
        if let Some(tls) = tls {
            config = config.tls_config(tls);
        }
        Ok(Self {
            agent: config.build().new_agent(),
            uri,
            headers,
            timeout,
            host: gateway.host.clone(),
            addr: gateway.addr.clone(),
            https: gateway.https,
        })
    }

    /// The extra headers sent with every request.
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The timeout of one request.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `body` (of type `content_type`, compressed as `encoding`
    /// says) with `method`.
    pub(crate) fn send_body(
        &self,
        method: Method,
        content_type: &'static str,
        encoding: Option<&'static str>,
        body: &[u8],
    ) -> Result<(), Error> {
        let mut request = self.request(method, body);
        let headers = request.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Some(encoding) = encoding {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        self.run(request).map_err(|e| match e {
            // The gateway closed the connection on a push before answering:
            // what a server that answered early and did not read the rest
            // of the body does (the answer is lost with the connection).
            Error::Io(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                ) =>
            {
                Error::ClosedEarly(e)
            }
            e => e,
        })
    }

    /// Sends a request without a body.
    pub(crate) fn send_empty(&self, method: Method) -> Result<(), Error> {
        self.run(self.request(method, ()))
    }

    fn request<B>(&self, method: Method, body: B) -> Request<B> {
        let mut request = Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }

    /// Runs `request`, reads at most [`MAX_BODY`] of the answer, and
    /// returns `Ok` on a 2xx.
    fn run(&self, request: Request<impl AsSendBody>) -> Result<(), Error> {
        let response = self.agent.run(request).map_err(|e| self.error(e))?;
        let status = response.status();
        let mut body = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(MAX_BODY as u64)
            .read_to_end(&mut body)
            .map_err(|e| self.error(e.into()))?;
        if status.is_success() {
            Ok(())
        } else {
            Err(Error::Status {
                code: status.as_u16(),
                body: error_text(&body),
            })
        }
    }

    /// This crate's error for what ureq reported.
    fn error(&self, e: ureq::Error) -> Error {
        match e {
            ureq::Error::Timeout(_) => Error::Timeout {
                timeout: self.timeout,
            },
            ureq::Error::HostNotFound => Error::Resolve {
                host: self.host.clone(),
                source: io::Error::new(io::ErrorKind::NotFound, "the name has no addresses"),
            },
            ureq::Error::Io(e) => self.io_error(e),
            e @ (ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::TlsRequired) => {
                Error::Tls {
                    addr: self.addr.clone(),
                    source: Box::new(e),
                }
            }
            e @ (ureq::Error::Protocol(_)
            | ureq::Error::LargeResponseHeader(..)
            | ureq::Error::BodyStalled) => Error::MalformedResponse(e.to_string()),
            ureq::Error::ConnectionFailed => Error::Connect {
                addr: self.addr.clone(),
                source: io::Error::new(io::ErrorKind::NotConnected, "no address could be reached"),
            },
            e => Error::Io(io::Error::other(e)),
        }
    }

    fn io_error(&self, e: io::Error) -> Error {
        use io::ErrorKind::*;
        match e.kind() {
            ConnectionRefused | HostUnreachable | NetworkUnreachable | NetworkDown
            | AddrNotAvailable => Error::Connect {
                addr: self.addr.clone(),
                source: e,
            },
            TimedOut | WouldBlock => Error::Timeout {
                timeout: self.timeout,
            },
            // rustls reports a failed handshake or a bad record as
            // InvalidData, its own error inside.
            InvalidData if self.https => Error::Tls {
                addr: self.addr.clone(),
                source: Box::new(e),
            },
            _ if is_lookup_failure(&e) => Error::Resolve {
                host: self.host.clone(),
                source: e,
            },
            _ => Error::Io(e),
        }
    }
}

/// Whether `e` is the standard library's resolver failing: ureq resolves
/// with `ToSocketAddrs` and passes its error on as is. On Unix that error
/// has no OS code and says "failed to lookup address information"; on
/// Windows it is a `WSAHOST_NOT_FOUND`-class OS error (11001 to 11004).
fn is_lookup_failure(e: &io::Error) -> bool {
    match e.raw_os_error() {
        Some(code) => cfg!(windows) && (11001..=11004).contains(&code),
        None => e
            .to_string()
            .starts_with("failed to lookup address information"),
    }
}

/// The gateway's message: lossy UTF-8, trimmed, at most
/// [`MAX_ERROR_BODY`] bytes (cut at a character boundary, `…` marks a cut).
pub(crate) fn error_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.len() <= MAX_ERROR_BODY {
        return text.to_owned();
    }
    let mut end = MAX_ERROR_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", text[..end].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_is_trimmed_and_capped() {
        assert_eq!(error_text(b"  bad push\n"), "bad push");
        assert_eq!(error_text(b"\xff ok"), "\u{fffd} ok");
        let long = "é".repeat(MAX_ERROR_BODY);
        let text = error_text(long.as_bytes());
        assert!(text.ends_with('…'));
        assert!(text.len() <= MAX_ERROR_BODY + '…'.len_utf8());
        assert!(text.trim_end_matches('…').chars().all(|c| c == 'é'));
    }

    #[test]
    fn resolver_failures_are_told_from_other_io_errors() {
        // `.invalid` never resolves (RFC 6761).
        let lookup =
            std::net::ToSocketAddrs::to_socket_addrs("no-such-host.invalid:1").unwrap_err();
        assert!(is_lookup_failure(&lookup), "{lookup:?}");
        for other in [
            io::Error::from(io::ErrorKind::ConnectionReset),
            io::Error::new(io::ErrorKind::UnexpectedEof, "Peer disconnected"),
        ] {
            assert!(!is_lookup_failure(&other), "{other:?}");
        }
    }
}
