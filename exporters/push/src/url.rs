//! The gateway URL, and the two encodings of path segments: percent
//! encoding and base64 (RFC 4648).

use crate::Error;

/// Where the gateway listens, parsed from `http://host[:port][/prefix]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Gateway {
    /// The host to connect to: a name or an IP address (IPv6 without
    /// brackets).
    pub(crate) host: String,
    /// The port (80 when the URL has none).
    pub(crate) port: u16,
    /// The `Host` header: the URL's authority as given.
    pub(crate) authority: String,
    /// The path prefix, without a trailing `/`; empty or starting with `/`.
    pub(crate) prefix: String,
}

impl Gateway {
    /// Parses `http://host[:port][/prefix]`.
    pub(crate) fn parse(url: &str) -> Result<Self, Error> {
        let bad = |reason| Error::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let scheme_end = url
            .find("://")
            .ok_or_else(|| bad("expected http://host:port"))?;
        match url[..scheme_end].to_ascii_lowercase().as_str() {
            "http" => {}
            "https" => {
                return Err(bad(
                    "https is not supported: this client speaks plain HTTP; \
                     reach a TLS gateway through a local TLS proxy",
                ));
            }
            _ => return Err(bad("the scheme must be http")),
        }
        let rest = &url[scheme_end + 3..];
        if rest.contains(['?', '#']) {
            return Err(bad("a query or fragment is not allowed"));
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.contains('@') {
            return Err(bad(
                "credentials in the URL are not supported; use basic_auth",
            ));
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let end = bracketed
                .find(']')
                .ok_or_else(|| bad("unclosed '[' in the host"))?;
            let host = &bracketed[..end];
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad("the bracketed host is not an IPv6 address"));
            }
            match &bracketed[end + 1..] {
                "" => (host, None),
                p => (
                    host,
                    Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
                ),
            }
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        if !authority.starts_with('[')
            && !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        {
            return Err(bad("the host holds characters a host name cannot"));
        }
        let port = match port {
            None => 80,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
        };
        if !path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad(
                "the path prefix holds spaces, control or non-ASCII characters; percent-encode them",
            ));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            authority: authority.to_owned(),
            prefix: path.trim_end_matches('/').to_owned(),
        })
    }
}

/// Appends `s` to `out` with every byte outside RFC 3986's unreserved set
/// (`A-Z a-z 0-9 - . _ ~`) written as `%XX`.
pub(crate) fn percent_encode(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// RFC 4648 §5, "URL and filename safe".
pub(crate) const BASE64_URL: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// RFC 4648 §4, the standard alphabet (HTTP basic auth).
pub(crate) const BASE64_STD: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends the base64 encoding of `data` in `alphabet` to `out`, padded
/// with `=` to a multiple of four characters.
pub(crate) fn base64_encode(out: &mut String, data: &[u8], alphabet: &[u8; 64]) {
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(alphabet[(n >> (18 - 6 * i) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gw(host: &str, port: u16, authority: &str, prefix: &str) -> Gateway {
        Gateway {
            host: host.into(),
            port,
            authority: authority.into(),
            prefix: prefix.into(),
        }
    }

    #[test]
    fn parses_gateway_urls() {
        let cases = [
            (
                "http://localhost:9091",
                gw("localhost", 9091, "localhost:9091", ""),
            ),
            (
                "http://localhost:9091/",
                gw("localhost", 9091, "localhost:9091", ""),
            ),
            ("HTTP://gw.example", gw("gw.example", 80, "gw.example", "")),
            (
                "http://127.0.0.1:1/pg/",
                gw("127.0.0.1", 1, "127.0.0.1:1", "/pg"),
            ),
            ("http://h:9/a/b//", gw("h", 9, "h:9", "/a/b")),
            ("http://[::1]:9091/x", gw("::1", 9091, "[::1]:9091", "/x")),
            ("http://[::1]", gw("::1", 80, "[::1]", "")),
            ("http://h:9/p%20q", gw("h", 9, "h:9", "/p%20q")),
        ];
        for (url, want) in cases {
            assert_eq!(Gateway::parse(url).unwrap(), want, "{url}");
        }
    }

    #[test]
    fn rejects_bad_urls_with_a_reason() {
        let cases = [
            ("localhost:9091", "expected http://host:port"),
            ("https://gw:9091", "https is not supported"),
            ("ftp://gw", "the scheme must be http"),
            ("http://", "the host is empty"),
            ("http://:9091", "the host is empty"),
            ("http://gw:0", "the port"),
            ("http://gw:70000", "the port"),
            ("http://gw:x", "the port"),
            ("http://gw:9091?a=b", "query"),
            ("http://gw/#x", "query or fragment"),
            ("http://u:p@gw", "basic_auth"),
            ("http://[::1", "unclosed"),
            ("http://[::1]x", "junk"),
            ("http://[gw]:1", "not an IPv6"),
            ("http://a:1:2", "the port"),
            ("http://g w", "host"),
            ("http://gw/a b", "percent-encode"),
            ("http://gw/é", "percent-encode"),
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

    #[test]
    fn percent_encodes_all_but_unreserved() {
        let mut s = String::new();
        percent_encode(&mut s, "aZ09-._~ %?#&=+@:;é\u{0}");
        assert_eq!(s, "aZ09-._~%20%25%3F%23%26%3D%2B%40%3A%3B%C3%A9%00");
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (data, want) in vectors {
            let mut s = String::new();
            base64_encode(&mut s, data.as_bytes(), BASE64_URL);
            assert_eq!(s, want);
        }
    }

    #[test]
    fn base64_alphabets_differ_in_the_last_two_letters() {
        let mut url = String::new();
        base64_encode(&mut url, &[0xfb, 0xff, 0xbf], BASE64_URL);
        assert_eq!(url, "-_-_");
        let mut std = String::new();
        base64_encode(&mut std, &[0xfb, 0xff, 0xbf], BASE64_STD);
        assert_eq!(std, "+/+/");
        let mut s = String::new();
        base64_encode(&mut s, b"/var/tmp", BASE64_URL);
        assert_eq!(s, "L3Zhci90bXA=");
    }
}
