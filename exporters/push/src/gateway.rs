//! The gateway URL, `http[s]://host[:port][/prefix]`, parsed by the `url`
//! crate (WHATWG URL rules: lower-case scheme and host, IDNA host names,
//! bracketed IPv6, percent-encoded path).

use ureq::http::Uri;
use url::{ParseError, Position, Url};

use crate::Error;

/// Where the gateway listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Gateway {
    /// `scheme://host[:port]` as normalised by `url` (the scheme's default
    /// port is left out).
    pub(crate) origin: String,
    /// The host: a name, an IPv4 address or a bracketed IPv6 address.
    pub(crate) host: String,
    /// `host:port`, the port filled in, for messages.
    pub(crate) addr: String,
    /// Whether the scheme is `https`.
    pub(crate) https: bool,
    /// The path prefix, without a trailing `/`; empty or starting with `/`.
    pub(crate) prefix: String,
}

impl Gateway {
    /// Parses `http[s]://host[:port][/prefix]`.
    pub(crate) fn parse(url: &str) -> Result<Self, Error> {
        let bad = |reason| Error::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let parsed = Url::parse(url).map_err(|e| bad(parse_error_reason(e)))?;
        let https = match parsed.scheme() {
            "http" => false,
            "https" => true,
            _ => return Err(bad("the scheme must be http or https")),
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad(
                "credentials in the URL are not supported; use basic_auth",
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("a query or fragment is not allowed"));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("the host is empty"))?;
        let port = parsed
            .port_or_known_default()
            .filter(|&p| p != 0)
            .ok_or_else(|| bad(PORT))?;
        // The HTTP client parses URIs by RFC 3986, stricter than WHATWG
        // about hosts (`http://a{b` is a URL but not a URI): refuse here,
        // naming the URL given, what it would refuse for every group.
        if Uri::try_from(&parsed[..Position::AfterPath]).is_err() {
            return Err(bad(
                "the host holds characters an HTTP request cannot carry",
            ));
        }
        Ok(Self {
            origin: parsed[..Position::BeforePath].to_owned(),
            host: host.to_owned(),
            addr: format!("{host}:{port}"),
            https,
            prefix: parsed.path().trim_end_matches('/').to_owned(),
        })
    }
}

const PORT: &str = "the port is not a number from 1 to 65535";

fn parse_error_reason(e: ParseError) -> &'static str {
    match e {
        ParseError::RelativeUrlWithoutBase => "expected http[s]://host[:port][/path-prefix]",
        ParseError::EmptyHost => "the host is empty",
        ParseError::InvalidPort => PORT,
        ParseError::InvalidIpv4Address => "the host is not a valid IPv4 address",
        ParseError::InvalidIpv6Address => "the bracketed host is not an IPv6 address",
        ParseError::InvalidDomainCharacter => "the host holds characters a host name cannot",
        ParseError::IdnaError => "the host is not a valid internationalised domain name",
        _ => "not a URL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gw(origin: &str, addr: &str, prefix: &str) -> Gateway {
        Gateway {
            origin: origin.into(),
            host: addr[..addr.rfind(':').unwrap()].into(),
            addr: addr.into(),
            https: origin.starts_with("https:"),
            prefix: prefix.into(),
        }
    }

    #[test]
    fn parses_gateway_urls() {
        let cases = [
            (
                "http://localhost:9091",
                gw("http://localhost:9091", "localhost:9091", ""),
            ),
            (
                "http://localhost:9091/",
                gw("http://localhost:9091", "localhost:9091", ""),
            ),
            (
                "HTTP://GW.example",
                gw("http://gw.example", "gw.example:80", ""),
            ),
            (
                "https://gw.example",
                gw("https://gw.example", "gw.example:443", ""),
            ),
            ("https://gw:443/pg", gw("https://gw", "gw:443", "/pg")),
            (
                "http://127.0.0.1:1/pg/",
                gw("http://127.0.0.1:1", "127.0.0.1:1", "/pg"),
            ),
            ("http://h:9/a/b//", gw("http://h:9", "h:9", "/a/b")),
            (
                "http://[::1]:9091/x",
                gw("http://[::1]:9091", "[::1]:9091", "/x"),
            ),
            ("http://[::1]", gw("http://[::1]", "[::1]:80", "")),
            ("http://h:9/p%20q", gw("http://h:9", "h:9", "/p%20q")),
            // What the path cannot carry as is gets percent-encoded.
            ("http://h:9/a b/é", gw("http://h:9", "h:9", "/a%20b/%C3%A9")),
            // Host names are IDNA-mapped.
            (
                "http://bücher.example",
                gw(
                    "http://xn--bcher-kva.example",
                    "xn--bcher-kva.example:80",
                    "",
                ),
            ),
        ];
        for (url, want) in cases {
            assert_eq!(Gateway::parse(url).unwrap(), want, "{url}");
        }
    }

    #[test]
    fn rejects_bad_urls_with_a_reason() {
        let cases = [
            ("gw", "expected http[s]://host"),
            ("localhost:9091", "the scheme must be http or https"),
            ("ftp://gw", "the scheme must be http or https"),
            ("http://", "the host is empty"),
            ("http://:9091", "the host is empty"),
            ("http://gw:0", "the port"),
            ("http://gw:70000", "the port"),
            ("http://gw:x", "the port"),
            ("http://gw:9091?a=b", "query"),
            ("http://gw:9091?", "query"),
            ("http://gw/#x", "query or fragment"),
            ("http://u:p@gw", "basic_auth"),
            ("https://u@gw", "basic_auth"),
            ("http://[::1", "not an IPv6"),
            ("http://[::1]x", "not an IPv6"),
            ("http://[gw]:1", "not an IPv6"),
            ("http://a:1:2", "the port"),
            ("http://g w", "host"),
            ("http://1.2.3.256", "IPv4"),
            // Found by fuzz/fuzz_targets/push_url.rs: a WHATWG host that
            // is no RFC 3986 host was refused only when the group URL was
            // built, with that URL in the error instead of the one given.
            ("http:\u{434}E%2E0X{{{{{{{", "an HTTP request cannot carry"),
            ("http://a{b}:9091/pg", "an HTTP request cannot carry"),
        ];
        for (url, want) in cases {
            let err = Gateway::parse(url).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidUrl { url: u, .. } if u == url),
                "{url}: {err:?}"
            );
            assert!(err.to_string().contains(want), "{url}: {err}");
        }
    }
}
