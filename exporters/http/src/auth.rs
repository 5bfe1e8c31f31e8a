//! Optional client authentication: HTTP Basic (RFC 7617) or a bearer token
//! (RFC 6750), compared in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;
use http::header::{AUTHORIZATION, HeaderMap};

use crate::Error;

/// The credentials a request must carry; empty means no authentication.
#[derive(Clone, Default)]
pub(crate) struct Auth {
    /// `user:password`, as a Basic credential decodes to.
    basic: Option<Vec<u8>>,
    bearer: Option<Vec<u8>>,
}

// Never print secrets.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("basic", &self.basic.as_ref().map(|_| "<redacted>"))
            .field("bearer", &self.bearer.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The `WWW-Authenticate` challenges of a 401.
pub(crate) const BASIC_CHALLENGE: HeaderValue =
    HeaderValue::from_static("Basic realm=\"metrics\", charset=\"UTF-8\"");
pub(crate) const BEARER_CHALLENGE: HeaderValue =
    HeaderValue::from_static("Bearer realm=\"metrics\"");

impl Auth {
    /// Requires HTTP Basic credentials.
    pub(crate) fn set_basic(&mut self, user: &str, password: &str) -> Result<(), Error> {
        if user.contains(':') {
            return Err(Error::Config(
                "a basic auth user name cannot contain ':' (RFC 7617)".into(),
            ));
        }
        if user.chars().chain(password.chars()).any(char::is_control) {
            return Err(Error::Config(
                "basic auth credentials cannot contain control characters".into(),
            ));
        }
        self.basic = Some(format!("{user}:{password}").into_bytes());
        Ok(())
    }

    /// Requires a bearer token.
    pub(crate) fn set_bearer(&mut self, token: &str) -> Result<(), Error> {
        // RFC 6750 `b64token`.
        let token68 = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b);
        if token.is_empty() || !token.bytes().all(token68) {
            return Err(Error::Config(
                "a bearer token must be non-empty and use only A-Z a-z 0-9 - . _ ~ + / =".into(),
            ));
        }
        self.bearer = Some(token.as_bytes().to_vec());
        Ok(())
    }

    /// Whether any authentication is required.
    pub(crate) fn is_required(&self) -> bool {
        self.basic.is_some() || self.bearer.is_some()
    }

    /// The challenges to send with a 401, one `WWW-Authenticate` each.
    pub(crate) fn challenges(&self) -> impl Iterator<Item = HeaderValue> + '_ {
        let basic = self.basic.as_ref().map(|_| BASIC_CHALLENGE);
        let bearer = self.bearer.as_ref().map(|_| BEARER_CHALLENGE);
        basic.into_iter().chain(bearer)
    }

    /// Whether `headers` carry acceptable credentials (always, when none
    /// are required). Any `Authorization` header may carry them.
    pub(crate) fn allows(&self, headers: &HeaderMap) -> bool {
        if !self.is_required() {
            return true;
        }
        headers
            .get_all(AUTHORIZATION)
            .iter()
            .any(|value| self.allows_value(value.as_bytes()))
    }

    fn allows_value(&self, value: &[u8]) -> bool {
        let Some((scheme, credentials)) = split_scheme(value) else {
            return false;
        };
        if scheme.eq_ignore_ascii_case(b"basic") {
            let Some(expected) = &self.basic else {
                return false;
            };
            // The decoded credentials are bounded by the header size limit.
            match STANDARD.decode(credentials) {
                Ok(given) => constant_time_eq(&given, expected),
                Err(_) => false,
            }
        } else if scheme.eq_ignore_ascii_case(b"bearer") {
            match &self.bearer {
                Some(expected) => constant_time_eq(credentials, expected),
                None => false,
            }
        } else {
            false
        }
    }
}

/// `Scheme credentials` → (scheme, credentials), whitespace trimmed.
fn split_scheme(value: &[u8]) -> Option<(&[u8], &[u8])> {
    let value = value.trim_ascii();
    let space = value.iter().position(|&b| b == b' ' || b == b'\t')?;
    Some((&value[..space], value[space + 1..].trim_ascii()))
}

/// Compares a client's secret with ours in time that depends only on the
/// two lengths, never on where the first differing byte is.
fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, &e) in expected.iter().enumerate() {
        // Past the end of `given`, compare against a byte that differs.
        let g = given.get(i).copied().unwrap_or(!e);
        diff |= g ^ e;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn constant_time_eq_is_eq() {
        for (a, b) in [("", ""), ("a", "a"), ("abc", "abc")] {
            assert!(constant_time_eq(a.as_bytes(), b.as_bytes()));
        }
        for (a, b) in [
            ("", "a"),
            ("a", ""),
            ("ab", "abc"),
            ("abc", "ab"),
            ("abd", "abc"),
        ] {
            assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()), "{a} {b}");
        }
    }

    #[test]
    fn basic() {
        let mut auth = Auth::default();
        assert!(auth.allows(&HeaderMap::new()));
        auth.set_basic("prom", "s3cret:x").unwrap();
        let good = format!("Basic {}", STANDARD.encode("prom:s3cret:x"));
        assert!(auth.allows(&headers(&good)));
        assert!(auth.allows(&headers(&good.replace("Basic", "bAsIc  "))));
        assert!(!auth.allows(&HeaderMap::new()));
        assert!(!auth.allows(&headers(&format!(
            "Basic {}",
            STANDARD.encode("prom:s3cret")
        ))));
        assert!(!auth.allows(&headers("Basic !!!")));
        assert!(!auth.allows(&headers("Basic")));
        assert!(!auth.allows(&headers("Bearer prom:s3cret:x")));
        assert!(auth.set_basic("a:b", "c").is_err());
        assert_eq!(auth.challenges().count(), 1);
    }

    #[test]
    fn bearer() {
        let mut auth = Auth::default();
        auth.set_bearer("tok.en-1").unwrap();
        assert!(auth.allows(&headers("Bearer tok.en-1")));
        assert!(auth.allows(&headers("bearer tok.en-1 ")));
        assert!(!auth.allows(&headers("Bearer tok.en-2")));
        assert!(!auth.allows(&headers("Bearer tok.en-1x")));
        assert!(!auth.allows(&headers("Basic tok.en-1")));
        assert!(auth.set_bearer("").is_err());
        assert!(auth.set_bearer("a b").is_err());
        assert!(!format!("{auth:?}").contains("tok"));
    }
}
