//! The requests: one blocking `ureq` agent (connections kept alive), one
//! deadline over each request, and the receiver's answer mapped to what
//! the export runtime does next.

use std::io::Read;
use std::time::{Duration, SystemTime};

use ureq::http::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use ureq::http::{Method, Request, Uri};
use ureq::tls::TlsConfig;
use ureq::{Agent, Body};

use crate::Protocol;
use hotmetrics_export::SendError;

/// The most bytes of a refusal's body kept in its message.
pub(crate) const MAX_ERROR_BODY: usize = 512;
/// The most bytes of an answer read (the rest is left unread).
const MAX_BODY: u64 = 64 * 1024;

/// The agent and what every request carries.
pub(crate) struct Client {
    agent: Agent,
    uri: Uri,
    /// Authorization and the user's own headers.
    headers: HeaderMap,
    timeout: Duration,
}

/// How a send went, as the sink sees it.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A 2xx.
    Accepted,
    /// A 415: the receiver does not take this protocol version.
    Unsupported(String),
    /// Anything else.
    Failed(SendError),
}

impl Client {
    pub(crate) fn new(
        uri: Uri,
        headers: HeaderMap,
        timeout: Duration,
        user_agent: &str,
        tls: Option<TlsConfig>,
    ) -> Self {
        let mut config = Agent::config_builder()
            .timeout_global(Some(timeout))
            // 4xx and 5xx are answers with a message, not errors.
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            // Straight to the receiver, whatever HTTP(S)_PROXY says.
            .proxy(None)
            .user_agent(user_agent)
            .accept("");
        if let Some(tls) = tls {
            config = config.tls_config(tls);
        }
        Self {
            agent: config.build().new_agent(),
            uri,
            headers,
            timeout,
        }
    }

    /// POSTs one compressed request of `protocol`.
    pub(crate) fn send(&self, protocol: Protocol, body: &[u8]) -> Answer {
        let mut request = Request::new(body);
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.uri.clone();
        let headers = request.headers_mut();
        headers.clone_from(&self.headers);
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(protocol.content_type()),
        );
        headers.insert(
            HeaderName::from_static("x-prometheus-remote-write-version"),
            HeaderValue::from_static(protocol.version_header()),
        );
        match self.agent.run(request) {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, SystemTime::now()));
                let text = read_text(response.into_body());
                classify(status, retry_after, &self.uri, &text)
            }
            Err(ureq::Error::Timeout(_)) => Answer::Failed(SendError::retryable(format!(
                "no answer from {} within {:?}",
                self.uri, self.timeout
            ))),
            Err(e) => Answer::Failed(SendError::retryable(format!(
                "cannot send to {}: {e}",
                self.uri
            ))),
        }
    }
}

/// What a receiver's status means: 2xx accepted; 429 and 5xx retried
/// (after `Retry-After` when given); 415 the protocol refused; any other
/// status refused for good, with the receiver's message.
pub(crate) fn classify(
    status: u16,
    retry_after: Option<Duration>,
    uri: &impl std::fmt::Display,
    body: &str,
) -> Answer {
    let message = || {
        let body = body.trim();
        if body.is_empty() {
            format!("{uri} answered {status}")
        } else {
            format!("{uri} answered {status}: {body}")
        }
    };
    match status {
        200..=299 => Answer::Accepted,
        415 => Answer::Unsupported(message()),
        429 | 500..=599 => Answer::Failed(SendError::Retryable {
            message: message(),
            retry_after,
        }),
        _ => Answer::Failed(SendError::permanent(message())),
    }
}

/// The body's first [`MAX_ERROR_BODY`] bytes, as text (cut at a char
/// boundary, `…` when cut).
fn read_text(body: Body) -> String {
    let mut bytes = Vec::new();
    // A body that cannot be read says nothing more than its status.
    let _ = body.into_reader().take(MAX_BODY).read_to_end(&mut bytes);
    truncate(&String::from_utf8_lossy(&bytes))
}

pub(crate) fn truncate(text: &str) -> String {
    if text.len() <= MAX_ERROR_BODY {
        return text.to_owned();
    }
    let mut end = MAX_ERROR_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// A `Retry-After` value: delay-seconds or an HTTP date (RFC 9110
/// §10.2.3); a date in the past is no wait.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn statuses_map_to_what_the_runtime_does() {
        let u = "http://r/api/v1/write";
        assert!(matches!(classify(204, None, &u, ""), Answer::Accepted));
        assert!(matches!(
            classify(415, None, &u, ""),
            Answer::Unsupported(_)
        ));
        for s in [429, 500, 503, 599] {
            let wait = Some(Duration::from_secs(2));
            match classify(s, wait, &u, "busy") {
                Answer::Failed(SendError::Retryable {
                    retry_after,
                    message,
                }) => {
                    assert_eq!(retry_after, wait);
                    assert_eq!(message, format!("{u} answered {s}: busy"));
                }
                other => panic!("{s}: {other:?}"),
            }
        }
        for s in [400, 401, 403, 404, 413, 302] {
            assert!(
                matches!(classify(s, None, &u, "out of order sample"), Answer::Failed(SendError::Permanent { ref message }) if message.ends_with("out of order sample")),
                "{s}"
            );
        }
    }

    #[test]
    fn long_bodies_are_cut_at_a_char_boundary() {
        let long = "é".repeat(MAX_ERROR_BODY);
        let cut = truncate(&long);
        assert!(cut.len() <= MAX_ERROR_BODY + '…'.len_utf8());
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("short"), "short");
    }
}
