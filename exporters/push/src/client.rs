//! A minimal blocking HTTP/1.1 client: one request per connection
//! (`Connection: close`) over `std::net::TcpStream`, bounded in time by one
//! deadline for connect, send and response together, and in memory by caps
//! on the response's lines and body.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::Error;
use crate::url::Gateway;

/// The longest status or header line read.
const MAX_LINE: usize = 8 * 1024;
/// The most header lines read.
const MAX_HEADERS: usize = 100;
/// The most body bytes read; the rest is left unread.
pub(crate) const MAX_BODY: usize = 64 * 1024;
/// The most bytes of the body an [`Error::Status`] keeps.
const MAX_ERROR_BODY: usize = 4 * 1024;

/// One request.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub(crate) method: &'static str,
    pub(crate) path: &'a str,
    /// Content type and body; `None` sends no body (DELETE).
    pub(crate) body: Option<(&'static str, &'a [u8])>,
    /// Extra headers, validated by the builder.
    pub(crate) headers: &'a [(String, String)],
}

/// A response as far as it was read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    /// The body, at most [`MAX_BODY`] bytes of it.
    pub(crate) body: Vec<u8>,
}

/// Sends `req` to the gateway and returns `Ok` on a 2xx answer.
/// `head` is scratch space for the request head.
pub(crate) fn send(
    gateway: &Gateway,
    req: &Request<'_>,
    timeout: Duration,
    head: &mut Vec<u8>,
) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    let timed_out = || Error::Timeout { timeout };
    let stream = connect(gateway, deadline).map_err(|e| e.unwrap_or_else(timed_out))?;
    let mut conn = Conn { stream, deadline };
    let io_error = |e: io::Error| match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => timed_out(),
        _ => Error::Io(e),
    };
    write_head(head, &gateway.authority, req);
    let sent = conn.write_all(head).and_then(|()| match req.body {
        Some((_, body)) => conn.write_all(body),
        None => Ok(()),
    });
    let response = match sent {
        Ok(()) => read_response(&mut conn).map_err(|e| match e {
            Error::Io(e) => io_error(e),
            e => e,
        })?,
        // A server may answer and close before reading the whole body (a
        // 413, say): its answer says more than the broken pipe.
        Err(e) => match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => return Err(timed_out()),
            _ => read_response(&mut conn).map_err(|_| Error::Io(e))?,
        },
    };
    if (200..300).contains(&response.status) {
        Ok(())
    } else {
        Err(Error::Status {
            code: response.status,
            body: error_text(&response.body),
        })
    }
}

/// Opens a connection to the first of the gateway's addresses that
/// accepts one. `Err(None)` means the deadline passed.
fn connect(gateway: &Gateway, deadline: Instant) -> Result<TcpStream, Option<Error>> {
    let addrs = (gateway.host.as_str(), gateway.port)
        .to_socket_addrs()
        .map_err(|source| {
            Some(Error::Resolve {
                host: gateway.host.clone(),
                source,
            })
        })?;
    let mut last: Option<io::Error> = None;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(None);
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => {
                // Head and body go out as two writes; without this, Nagle's
                // algorithm would hold the body until the head is acked.
                stream.set_nodelay(true).map_err(|e| Some(Error::Io(e)))?;
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e)
            if matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            Err(None)
        }
        Some(source) => Err(Some(Error::Connect {
            addr: gateway.authority.clone(),
            source,
        })),
        None => Err(Some(Error::Resolve {
            host: gateway.host.clone(),
            source: io::Error::new(io::ErrorKind::NotFound, "the name has no addresses"),
        })),
    }
}

/// A stream whose every read and write gives up at the deadline, so the
/// deadline bounds the whole exchange, not each call.
struct Conn {
    stream: TcpStream,
    deadline: Instant,
}

impl Conn {
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::ErrorKind::TimedOut.into())
        } else {
            Ok(left)
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.left()?))?;
        self.stream.read(buf)
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.left()?))?;
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// Writes the request line and headers into `out` (cleared first).
pub(crate) fn write_head(out: &mut Vec<u8>, authority: &str, req: &Request<'_>) {
    out.clear();
    let mut line = |parts: &[&[u8]]| {
        for part in parts {
            out.extend_from_slice(part);
        }
        out.extend_from_slice(b"\r\n");
    };
    line(&[
        req.method.as_bytes(),
        b" ",
        req.path.as_bytes(),
        b" HTTP/1.1",
    ]);
    line(&[b"Host: ", authority.as_bytes()]);
    line(&[
        b"User-Agent: hotmetrics-push/",
        env!("CARGO_PKG_VERSION").as_bytes(),
    ]);
    if let Some((content_type, body)) = req.body {
        line(&[b"Content-Type: ", content_type.as_bytes()]);
        let len = body.len().to_string();
        line(&[b"Content-Length: ", len.as_bytes()]);
    }
    line(&[b"Connection: close"]);
    for (name, value) in req.headers {
        line(&[name.as_bytes(), b": ", value.as_bytes()]);
    }
    line(&[]);
}

/// How the body's end is marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    Close,
}

/// Reads one response (after any 1xx interim responses).
pub(crate) fn read_response(r: impl Read) -> Result<Response, Error> {
    let mut r = BufReader::with_capacity(4096, r);
    let mut line = Vec::new();
    let mut first = true;
    loop {
        if !read_line(&mut r, &mut line)? {
            return Err(if first {
                Error::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the gateway closed the connection without answering",
                ))
            } else {
                malformed("the connection closed after an interim response")
            });
        }
        first = false;
        let status = parse_status_line(&line)?;
        let framing = read_headers(&mut r, &mut line)?;
        match status {
            101 => return Err(malformed("unexpected 101 Switching Protocols")),
            100..=199 => continue,
            204 | 304 => {
                return Ok(Response {
                    status,
                    body: Vec::new(),
                });
            }
            _ => {}
        }
        let body = read_body(&mut r, framing, &mut line)?;
        return Ok(Response { status, body });
    }
}

fn malformed(why: impl Into<String>) -> Error {
    Error::MalformedResponse(why.into())
}

/// Reads one line, without its `\n` or `\r\n`, into `line`. `Ok(false)` at
/// end of stream before any byte.
fn read_line(r: &mut impl BufRead, line: &mut Vec<u8>) -> Result<bool, Error> {
    line.clear();
    loop {
        let buf = match r.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Io(e)),
        };
        if buf.is_empty() {
            return if line.is_empty() {
                Ok(false)
            } else {
                Err(malformed("the connection closed in the middle of a line"))
            };
        }
        let (used, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + used > MAX_LINE {
            return Err(malformed(format!("a line longer than {MAX_LINE} bytes")));
        }
        line.extend_from_slice(&buf[..used]);
        r.consume(used);
        if done {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(true);
        }
    }
}

/// `HTTP/1.x NNN[ reason]` → `NNN`.
fn parse_status_line(line: &[u8]) -> Result<u16, Error> {
    let bad = || {
        malformed(format!(
            "not an HTTP/1.x status line: {:?}",
            String::from_utf8_lossy(&line[..line.len().min(80)])
        ))
    };
    let rest = line
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| line.strip_prefix(b"HTTP/1.0 "))
        .ok_or_else(bad)?;
    match rest {
        [a @ b'1'..=b'5', b, c, tail @ ..]
            if b.is_ascii_digit()
                && c.is_ascii_digit()
                && matches!(tail.first(), None | Some(b' ')) =>
        {
            Ok(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => Err(bad()),
    }
}

/// Reads the header lines up to the empty one; returns the body framing
/// (RFC 9112 §6.3: chunked wins over Content-Length).
fn read_headers(r: &mut impl BufRead, line: &mut Vec<u8>) -> Result<Framing, Error> {
    let mut length = None;
    let mut chunked = None;
    for _ in 0..=MAX_HEADERS {
        if !read_line(r, line)? {
            return Err(malformed("the connection closed before the headers ended"));
        }
        if line.is_empty() {
            return Ok(match (chunked, length) {
                (Some(true), _) => Framing::Chunked,
                (Some(false), _) => Framing::Close,
                (None, Some(n)) => Framing::Length(n),
                (None, None) => Framing::Close,
            });
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .filter(|&i| i > 0 && line[..i].iter().all(|&b| is_token(b)))
            .ok_or_else(|| {
                malformed(format!(
                    "not a header line: {:?}",
                    String::from_utf8_lossy(&line[..line.len().min(80)])
                ))
            })?;
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = std::str::from_utf8(value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| malformed("an invalid Content-Length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(malformed("two different Content-Lengths"));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // The last coding decides; any other than chunked is read to
            // the end of the connection.
            let last = value.rsplit(|&b| b == b',').next().unwrap_or_default();
            chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        }
    }
    Err(malformed(format!("more than {MAX_HEADERS} header lines")))
}

/// RFC 9110 `tchar`.
pub(crate) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Reads up to [`MAX_BODY`] bytes of body; what lies beyond is left unread
/// (the connection is closed anyway).
fn read_body(r: &mut impl BufRead, framing: Framing, line: &mut Vec<u8>) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    match framing {
        Framing::Length(n) => {
            let want = usize::try_from(n).unwrap_or(usize::MAX).min(MAX_BODY);
            let got = read_up_to(r, &mut body, want)?;
            if got < want {
                return Err(malformed(format!(
                    "the body ended after {got} of {n} bytes"
                )));
            }
        }
        Framing::Close => {
            read_up_to(r, &mut body, MAX_BODY)?;
        }
        Framing::Chunked => loop {
            if !read_line(r, line)? {
                return Err(malformed("the connection closed before the last chunk"));
            }
            let size = line
                .split(|&b| b == b';')
                .next()
                .unwrap_or_default()
                .trim_ascii();
            let size = std::str::from_utf8(size)
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|s| u64::from_str_radix(s, 16).ok())
                .ok_or_else(|| {
                    malformed(format!(
                        "an invalid chunk size line: {:?}",
                        String::from_utf8_lossy(&line[..line.len().min(80)])
                    ))
                })?;
            if size == 0 {
                // Trailers, up to the empty line; a server that closes
                // right after the last chunk has still sent the whole body.
                while read_line(r, line)? && !line.is_empty() {}
                break;
            }
            let room = MAX_BODY - body.len();
            let want = usize::try_from(size).unwrap_or(usize::MAX).min(room);
            if read_up_to(r, &mut body, want)? < want {
                return Err(malformed("the connection closed in the middle of a chunk"));
            }
            if body.len() == MAX_BODY {
                break;
            }
            if !read_line(r, line)? || !line.is_empty() {
                return Err(malformed("a chunk not followed by CRLF"));
            }
        },
    }
    Ok(body)
}

/// Appends up to `n` bytes, fewer if the stream ends first; returns how
/// many.
fn read_up_to(r: &mut impl BufRead, out: &mut Vec<u8>, n: usize) -> Result<usize, Error> {
    r.take(n as u64).read_to_end(out).map_err(Error::Io)
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

    /// Hands out one byte per read, to exercise every split point.
    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((&b, rest)), Some(slot)) => {
                    *slot = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    /// Parses `raw` whole and one byte at a time; both must agree.
    fn parse(raw: &[u8]) -> Result<Response, Error> {
        let whole = read_response(raw);
        let split = read_response(OneByte(raw));
        assert_eq!(format!("{whole:?}"), format!("{split:?}"));
        whole
    }

    fn ok(raw: &str) -> (u16, String) {
        let r = parse(raw.as_bytes()).unwrap();
        (r.status, String::from_utf8(r.body).unwrap())
    }

    fn bad(raw: &[u8], want: &str) {
        match parse(raw) {
            Err(Error::MalformedResponse(why)) => assert!(why.contains(want), "{why}"),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(raw)),
        }
    }

    #[test]
    fn content_length_bodies() {
        assert_eq!(
            ok("HTTP/1.1 200 OK\r\nDate: x\r\nContent-Length: 0\r\n\r\n"),
            (200, "".into())
        );
        assert_eq!(
            ok("HTTP/1.1 400 Bad Request\r\ncontent-LENGTH:  5 \r\n\r\nhello and more"),
            (400, "hello".into())
        );
        // Bare LF line ends, HTTP/1.0, no reason phrase.
        assert_eq!(
            ok("HTTP/1.0 202\nContent-Length: 2\n\nok"),
            (202, "ok".into())
        );
        // A repeated, equal Content-Length is fine.
        assert_eq!(
            ok("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
            (200, "x".into())
        );
    }

    #[test]
    fn chunked_bodies() {
        assert_eq!(
            ok("HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n\
                5\r\nhello\r\n1;ext=\"a\"\r\n \r\nA \r\n0123456789\r\n0\r\nTrailer: t\r\n\r\n"),
            (500, "hello 0123456789".into())
        );
        // Chunked wins over Content-Length; the last coding decides.
        assert_eq!(
            ok(
                "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n\
                3\r\nabc\r\n0\r\n\r\n"
            ),
            (200, "abc".into())
        );
        // A server closing right after the last chunk still sent it all.
        assert_eq!(
            ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n"),
            (200, "ab".into())
        );
        // Upper-case hex.
        let body = "x".repeat(0x1f);
        let raw = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1F\r\n{body}\r\n0\r\n\r\n"
        );
        assert_eq!(ok(&raw), (200, body));
    }

    #[test]
    fn close_delimited_and_empty_bodies() {
        assert_eq!(
            ok("HTTP/1.1 500 Oops\r\n\r\nto the end\n"),
            (500, "to the end\n".into())
        );
        assert_eq!(
            ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\nall of it"),
            (200, "all of it".into())
        );
        // 204 and 304 have no body whatever the headers say.
        assert_eq!(
            ok("HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n"),
            (204, "".into())
        );
    }

    #[test]
    fn interim_responses_are_skipped() {
        assert_eq!(
            ok(
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n\
                HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
            ),
            (202, "".into())
        );
        bad(
            b"HTTP/1.1 100 Continue\r\n\r\n",
            "after an interim response",
        );
        bad(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "101");
    }

    #[test]
    fn large_bodies_are_capped() {
        let big = "y".repeat(MAX_BODY + 10);
        let raw = format!(
            "HTTP/1.1 500 Oops\r\nContent-Length: {}\r\n\r\n{big}",
            big.len()
        );
        assert_eq!(parse(raw.as_bytes()).unwrap().body.len(), MAX_BODY);
        // Only the cap is read: a declared length far beyond it is no error.
        let raw = format!("HTTP/1.1 500 Oops\r\nContent-Length: 99999999999\r\n\r\n{big}");
        assert_eq!(parse(raw.as_bytes()).unwrap().body.len(), MAX_BODY);
        let raw = format!("HTTP/1.1 500 Oops\r\n\r\n{big}");
        assert_eq!(parse(raw.as_bytes()).unwrap().body.len(), MAX_BODY);
        let raw = format!(
            "HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{}\r\n{:x}\r\n{big}",
            "z".repeat(16),
            big.len()
        );
        let body = parse(raw.as_bytes()).unwrap().body;
        assert_eq!(body.len(), MAX_BODY);
        assert!(body.starts_with(&[b'z'; 16]));
    }

    #[test]
    fn malformed_responses() {
        bad(b"SSH-2.0-OpenSSH\r\n", "not an HTTP/1.x status line");
        bad(b"HTTP/2 200\r\n\r\n", "not an HTTP/1.x status line");
        bad(b"HTTP/1.1 2000 OK\r\n\r\n", "status line");
        bad(b"HTTP/1.1 20 OK\r\n\r\n", "status line");
        bad(b"HTTP/1.1 600 Odd\r\n\r\n", "status line");
        bad(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
            "before the headers ended",
        );
        bad(b"HTTP/1.1 200 OK\r\nContent-Len", "in the middle of a line");
        bad(
            b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            "not a header line",
        );
        bad(
            b"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
            "not a header line",
        );
        bad(
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "invalid Content-Length",
        );
        bad(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
            "invalid Content-Length",
        );
        bad(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
            "two different",
        );
        bad(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            "after 5 of 10 bytes",
        );
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (tail, want) in [
            (&b"zz\r\n"[..], "invalid chunk size"),
            (b"\r\n", "invalid chunk size"),
            (b"5\r\nabc", "in the middle of a chunk"),
            (b"3\r\nabcX\r\n0\r\n\r\n", "not followed by CRLF"),
            (b"3\r\nabc\r\n", "before the last chunk"),
        ] {
            bad(&[&chunked[..], tail].concat(), want);
        }
        let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(MAX_LINE));
        bad(long.as_bytes(), "longer than");
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_HEADERS + 1)
        );
        bad(many.as_bytes(), "header lines");
        assert!(matches!(
            read_response(&b""[..]),
            Err(Error::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof
        ));
    }

    #[test]
    fn request_heads() {
        let headers = vec![("Authorization".to_owned(), "Bearer t".to_owned())];
        let mut out = Vec::new();
        write_head(
            &mut out,
            "gw:9091",
            &Request {
                method: "PUT",
                path: "/metrics/job/j",
                body: Some(("text/plain", b"abc")),
                headers: &headers,
            },
        );
        let ua = concat!("User-Agent: hotmetrics-push/", env!("CARGO_PKG_VERSION"));
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            format!(
                "PUT /metrics/job/j HTTP/1.1\r\nHost: gw:9091\r\n{ua}\r\n\
                 Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\
                 Authorization: Bearer t\r\n\r\n"
            )
        );
        write_head(
            &mut out,
            "[::1]:1",
            &Request {
                method: "DELETE",
                path: "/p/metrics/job/j",
                body: None,
                headers: &[],
            },
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "DELETE /p/metrics/job/j HTTP/1.1\r\nHost: [::1]:1\r\n{ua}\r\nConnection: close\r\n\r\n"
            )
        );
    }

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
}
