//! The client against fake gateways on loopback: what goes on the wire,
//! and how refusals, silence, slow answers and odd answers come out; and
//! how `AsyncPusher` shares a runtime thread, a cancelled push, a panic.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use hotmetrics_core::Registry;
use hotmetrics_exposition::ScrapeEncoder;
use hotmetrics_push::{Error, Format, Pusher};

/// A request as the fake gateway saw it.
#[derive(Debug)]
struct Seen {
    /// The request line.
    line: String,
    /// The headers, names lower-cased, sorted.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a request head: the request line and the headers.
fn read_head(reader: &mut impl BufRead) -> (String, Vec<(String, String)>) {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end_matches("\r\n").to_owned();
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    let mut headers: Vec<(String, String)> = lines[1..]
        .iter()
        .map(|h| {
            let (name, value) = h.split_once(':').unwrap();
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    headers.sort();
    (lines.swap_remove(0), headers)
}

/// Reads one request (head, then `Content-Length` bytes of body).
fn read_request(stream: &mut TcpStream) -> Seen {
    let mut reader = BufReader::new(stream);
    let (line, headers) = read_head(&mut reader);
    let mut seen = Seen {
        line,
        headers,
        body: Vec::new(),
    };
    let len = seen
        .header("content-length")
        .map_or(0, |n| n.parse().unwrap());
    seen.body = vec![0; len];
    reader.read_exact(&mut seen.body).unwrap();
    seen
}

/// A loopback listener and the gateway URL that reaches it.
fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// Serves one connection with `answer`, returns what it was sent.
fn serve_once(answer: impl FnOnce(&mut TcpStream) + Send + 'static) -> (String, JoinHandle<Seen>) {
    let (listener, url) = listen();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let seen = read_request(&mut stream);
        answer(&mut stream);
        seen
    });
    (url, handle)
}

fn registry() -> Registry {
    let registry = Registry::new();
    registry.gauge(("up", "Up.")).unwrap().set(1);
    registry
}

#[test]
fn requests_carry_the_method_path_headers_and_body() {
    let registry = registry();
    for (format, method) in [(Format::Text, "PUT"), (Format::Protobuf, "POST")] {
        let (url, server) = serve_once(|s| {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
        });
        let mut pusher = Pusher::builder(format!("{url}/prefix"), "j")
            .grouping("instance", "i")
            .format(format)
            .bearer_token("tok")
            .header("X-Scope-OrgID", "t1")
            .build()
            .unwrap();
        match method {
            "PUT" => pusher.push(&registry).unwrap(),
            _ => pusher.push_add(&registry).unwrap(),
        }
        let seen = server.join().unwrap();
        let host = url.trim_start_matches("http://");
        let mut want_body = BytesMut::new();
        ScrapeEncoder::new().encode(format, &registry, &mut want_body);
        assert_eq!(
            seen.line,
            format!("{method} /prefix/metrics/job/j/instance/i HTTP/1.1")
        );
        let mut want = [
            ("host", host.to_owned()),
            (
                "user-agent",
                format!("hotmetrics-push/{}", env!("CARGO_PKG_VERSION")),
            ),
            ("content-type", format.content_type().to_owned()),
            ("content-length", want_body.len().to_string()),
            ("connection", "close".to_owned()),
            ("x-scope-orgid", "t1".to_owned()),
            ("authorization", "Bearer tok".to_owned()),
        ]
        .map(|(n, v)| (n.to_owned(), v));
        want.sort();
        assert_eq!(seen.headers, want);
        assert_eq!(seen.body, &want_body[..]);
    }

    let (url, server) = serve_once(|s| {
        s.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    });
    Pusher::builder(url, "j").build().unwrap().delete().unwrap();
    let seen = server.join().unwrap();
    assert_eq!(seen.line, "DELETE /metrics/job/j HTTP/1.1");
    assert!(
        !seen.headers.iter().any(|(h, _)| h.starts_with("content-")),
        "{seen:?}"
    );
}

#[test]
fn reused_pushers_send_fresh_bodies() {
    let registry = registry();
    let (listener, url) = listen();
    let server = thread::spawn(move || {
        (0..2)
            .map(|_| {
                let (mut s, _) = listener.accept().unwrap();
                let seen = read_request(&mut s);
                s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
                String::from_utf8(seen.body).unwrap()
            })
            .collect::<Vec<_>>()
    });
    let mut pusher = Pusher::builder(url, "j")
        .format(Format::Text)
        .build()
        .unwrap();
    pusher.push(&registry).unwrap();
    registry.unregister("up");
    registry.gauge(("down", "Down.")).unwrap().set(2);
    pusher.push(&registry).unwrap();
    let bodies = server.join().unwrap();
    assert_eq!(bodies[0], "# HELP up Up.\n# TYPE up gauge\nup 1\n");
    assert_eq!(bodies[1], "# HELP down Down.\n# TYPE down gauge\ndown 2\n");
}

#[test]
fn error_answers_become_status_errors() {
    let (url, server) = serve_once(|s| {
        s.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n\
              6\r\n\n busy\r\n7\r\n, later\r\n2\r\n\n\n\r\n0\r\n\r\n",
        )
        .unwrap();
    });
    let err = Pusher::builder(url, "j")
        .build()
        .unwrap()
        .push(&registry())
        .unwrap_err();
    server.join().unwrap();
    assert!(
        matches!(&err, Error::Status { code: 503, body } if body == "busy, later"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "the Pushgateway answered 503: busy, later");

    // A redirect is not followed.
    let (url, server) = serve_once(|s| {
        s.write_all(b"HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    });
    let err = Pusher::builder(url, "j")
        .build()
        .unwrap()
        .delete()
        .unwrap_err();
    server.join().unwrap();
    assert!(
        matches!(&err, Error::Status { code: 301, body } if body.is_empty()),
        "{err:?}"
    );
}

#[test]
fn odd_answers_are_malformed_or_io_errors() {
    let (url, server) = serve_once(|s| s.write_all(b"hello\r\n\r\n").unwrap());
    let err = Pusher::builder(url, "j")
        .build()
        .unwrap()
        .delete()
        .unwrap_err();
    server.join().unwrap();
    assert!(matches!(err, Error::MalformedResponse(_)), "{err:?}");

    let (url, server) = serve_once(|_| {});
    let err = Pusher::builder(url, "j")
        .build()
        .unwrap()
        .delete()
        .unwrap_err();
    server.join().unwrap();
    assert!(matches!(err, Error::Io(_)), "{err:?}");
}

#[test]
fn an_unreachable_gateway_is_a_connect_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The listener is gone: nothing listens on the port.
    let mut pusher = Pusher::builder(format!("http://127.0.0.1:{port}"), "j")
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = pusher.push(&registry()).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    match &err {
        Error::Connect { addr, source } => {
            assert_eq!(addr, &format!("127.0.0.1:{port}"));
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("{other:?}"),
    }
    assert!(std::error::Error::source(&err).is_some());

    // An unresolvable name is its own error.
    let err = Pusher::builder("http://no-such-host.invalid:9091", "j")
        .build()
        .unwrap()
        .delete()
        .unwrap_err();
    assert!(matches!(err, Error::Resolve { .. }), "{err:?}");
}

#[test]
fn a_silent_gateway_times_out() {
    // Connections complete in the kernel's backlog, but nobody answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let timeout = Duration::from_millis(300);
    let mut pusher = Pusher::builder(format!("http://{}", listener.local_addr().unwrap()), "j")
        .timeout(timeout)
        .build()
        .unwrap();
    let start = Instant::now();
    let err = pusher.push(&registry()).unwrap_err();
    let took = start.elapsed();
    assert!(
        matches!(err, Error::Timeout { timeout: t } if t == timeout),
        "{err:?}"
    );
    assert!(took >= timeout && took < Duration::from_secs(3), "{took:?}");
    drop(listener);
}

#[test]
fn the_timeout_bounds_the_whole_response_not_each_read() {
    // A byte every 50 ms never trips a per-read timeout of 300 ms.
    let (url, server) = serve_once(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Slow: ");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) && s.write_all(b"a").is_ok() {
            thread::sleep(Duration::from_millis(50));
        }
    });
    let timeout = Duration::from_millis(300);
    let start = Instant::now();
    let err = Pusher::builder(url, "j")
        .timeout(timeout)
        .build()
        .unwrap()
        .delete()
        .unwrap_err();
    let took = start.elapsed();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(took >= timeout && took < Duration::from_secs(2), "{took:?}");
    server.join().unwrap();
}

#[test]
fn conflicting_labels_are_refused_before_connecting() {
    let registry = Registry::new();
    let g = registry
        .gauge_vec(("by_instance", "b"), &["instance"])
        .unwrap();
    g.with(&["x"], |g| g.set(1)).unwrap();
    // Port 9 on loopback: nothing is sent, so nothing needs to listen.
    let mut pusher = Pusher::builder("http://127.0.0.1:9", "j")
        .grouping("instance", "y")
        .build()
        .unwrap();
    let err = pusher.push(&registry).unwrap_err();
    assert!(
        matches!(&err, Error::LabelConflict { family, label } if family == "by_instance" && label == "instance"),
        "{err:?}"
    );
}

/// A registry whose text exposition is a few MB.
fn big_registry() -> Registry {
    let registry = Registry::new();
    let big = registry
        .gauge_vec(
            hotmetrics_core::Opts::new("big", "b").max_series(20_000),
            &["v"],
        )
        .unwrap();
    let pad = "p".repeat(200);
    for i in 0..20_000 {
        big.with(&[&format!("{i}{pad}")], |g| g.set(1)).unwrap();
    }
    registry
}

#[test]
fn an_answer_before_the_body_is_read_is_still_reported() {
    // A body of a few MB: the server answers 413 right after the head,
    // then reads and drops the body before closing, as nginx does.
    let registry = big_registry();
    let (listener, url) = listen();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(s.try_clone().unwrap());
        read_head(&mut reader);
        s.write_all(b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 8\r\n\r\ntoo big\n")
            .unwrap();
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let err = Pusher::builder(url, "j")
        .format(Format::Text)
        .build()
        .unwrap()
        .push(&registry)
        .unwrap_err();
    server.join().unwrap();
    assert!(
        matches!(&err, Error::Status { code: 413, body } if body == "too big"),
        "{err:?}"
    );
}

#[test]
fn a_gateway_that_closes_under_the_body_is_closed_early() {
    // The server reads the head and closes with the body unread: the
    // client's writes fail under it (a reset or a broken pipe).
    let registry = big_registry();
    let (listener, url) = listen();
    let server = thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(s);
        read_head(&mut reader);
        // Dropping the stream with unread input sends a reset.
    });
    let err = Pusher::builder(url, "j")
        .format(Format::Text)
        .build()
        .unwrap()
        .push(&registry)
        .unwrap_err();
    server.join().unwrap();
    assert!(matches!(&err, Error::ClosedEarly(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("closed the connection on the push before answering"),
        "{err}"
    );
}

#[test]
fn gzip_bodies_are_compressed_and_marked() {
    let (url, server) = serve_once(|s| {
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    });
    let registry = big_registry();
    Pusher::builder(url, "j")
        .format(Format::Text)
        .gzip(true)
        .build()
        .unwrap()
        .push(&registry)
        .unwrap();
    let seen = server.join().unwrap();
    assert_eq!(seen.header("content-encoding"), Some("gzip"));
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&seen.body[..])
        .read_to_end(&mut plain)
        .unwrap();
    let mut want = BytesMut::new();
    ScrapeEncoder::new().encode(Format::Text, &registry, &mut want);
    assert_eq!(plain, &want[..]);
    assert!(
        seen.body.len() * 10 < plain.len(),
        "{} of {}",
        seen.body.len(),
        plain.len()
    );
}

#[test]
fn at_most_64_kib_of_an_answer_is_read() {
    // The answer claims 10 MB, sends a little over 64 KiB and then nothing,
    // keeping the connection open: a client reading past the cap would
    // wait for the timeout.
    let (url, server) = serve_once(|s| {
        s.write_all(b"HTTP/1.1 500 Oops\r\nContent-Length: 10000000\r\n\r\n")
            .unwrap();
        s.write_all(&[b'y'; 64 * 1024 + 100]).unwrap();
        let mut rest = Vec::new();
        // Returns when the client closes.
        let _ = s.read_to_end(&mut rest);
    });
    let start = Instant::now();
    let err = Pusher::builder(url, "j")
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .delete()
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    match &err {
        // The message keeps 4 KiB of it.
        Error::Status { code: 500, body } => {
            assert_eq!(body.trim_end_matches('…'), "y".repeat(4096))
        }
        other => panic!("{other:?}"),
    }
    server.join().unwrap();
}

#[test]
fn https_to_a_plain_http_port_is_a_tls_error() {
    // The server answers the ClientHello in plain HTTP.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut hello = [0; 512];
        let _ = s.read(&mut hello).unwrap();
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = params.self_signed(&key).unwrap().pem();
    let start = Instant::now();
    let err = Pusher::builder(format!("https://127.0.0.1:{port}"), "j")
        .ca_pem(ca)
        .build()
        .unwrap()
        .delete()
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    server.join().unwrap();
    match &err {
        Error::Tls { addr, .. } => assert_eq!(addr, &format!("127.0.0.1:{port}")),
        other => panic!("{other:?}"),
    }
    assert!(std::error::Error::source(&err).is_some());
}

/// Runs the test `name` of this binary again in a child process with
/// `env` set, `PUSH_TEST_CHILD=1` marking it; panics if the child fails.
fn in_child(name: &str, env: &[(&str, &str)]) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("PUSH_TEST_CHILD", "1")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} in a child failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "the child ran no test"
    );
}

#[test]
fn https_without_any_root_is_a_build_error() {
    if std::env::var_os("PUSH_TEST_CHILD").is_none() {
        // The system's roots come from these variables when they are set.
        return in_child(
            "https_without_any_root_is_a_build_error",
            &[
                ("SSL_CERT_FILE", "/nonexistent/ca.pem"),
                ("SSL_CERT_DIR", "/nonexistent"),
            ],
        );
    }
    let err = Pusher::builder("https://127.0.0.1:9", "j")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::NoRootCertificates { .. }), "{err:?}");
    assert!(err.to_string().contains("ca-certificates"), "{err}");
    // Plain http needs no roots.
    Pusher::builder("http://127.0.0.1:9", "j").build().unwrap();
}

/// A gateway that answers each of `n` connections `delay` after reading
/// its request; the request lines, in order.
fn serve_slowly(n: usize, delay: Duration) -> (String, JoinHandle<Vec<String>>) {
    let (listener, url) = listen();
    let handle = thread::spawn(move || {
        (0..n)
            .map(|_| {
                let (mut stream, _) = listener.accept().unwrap();
                let seen = read_request(&mut stream);
                thread::sleep(delay);
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                seen.line
            })
            .collect()
    });
    (url, handle)
}

#[tokio::test]
async fn an_async_push_leaves_the_runtime_thread_free() {
    // One runtime thread: a tick task runs only while the push awaits.
    let delay = Duration::from_millis(600);
    let (url, server) = serve_slowly(1, delay);
    let pusher = Pusher::builder(url, "j").build_async().unwrap();
    let ticker = tokio::spawn(async {
        let mut ticks = 0u32;
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            ticks += 1;
            if ticks == 10 {
                return Instant::now();
            }
        }
    });
    let start = Instant::now();
    pusher.push(registry()).await.unwrap();
    let pushed = Instant::now();
    let ticked = ticker.await.unwrap();
    assert!(pushed - start >= delay, "{:?}", pushed - start);
    // Ten 20 ms ticks ran to the end while the push was out.
    assert!(ticked < pushed, "the ticks waited for the push");
    assert_eq!(
        server.join().unwrap(),
        ["PUT /metrics/job/j HTTP/1.1".to_owned()]
    );
}

#[tokio::test]
async fn a_dropped_async_push_finishes_and_the_next_one_follows() {
    let (url, server) = serve_slowly(2, Duration::from_millis(300));
    let pusher = Pusher::builder(url, "j").build_async().unwrap();
    // Given up on after 50 ms: the request is out, it completes on the
    // blocking pool, and the pusher comes back for the next push.
    let gave_up = tokio::time::timeout(Duration::from_millis(50), pusher.push(registry())).await;
    assert!(gave_up.is_err(), "the push was not cut short: {gave_up:?}");
    pusher.delete().await.unwrap();
    assert_eq!(
        server.join().unwrap(),
        [
            "PUT /metrics/job/j HTTP/1.1".to_owned(),
            "DELETE /metrics/job/j HTTP/1.1".to_owned()
        ]
    );
}

#[test]
fn an_async_push_outside_a_runtime_is_an_error() {
    use std::task::{Context, Poll, Waker};
    let pusher = Pusher::builder("http://127.0.0.1:9", "j")
        .build_async()
        .unwrap();
    let mut push = std::pin::pin!(pusher.push(registry()));
    match push.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Err(err @ Error::Runtime(_))) => {
            assert_eq!(
                err.to_string(),
                "an AsyncPusher push was awaited outside a tokio runtime"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// A source whose visit panics, as a broken collector would.
struct Broken;

impl hotmetrics_core::MetricSource for Broken {
    fn visit(&self, _: &mut dyn hotmetrics_core::MetricVisitor) {
        panic!("the source broke");
    }
}

#[tokio::test]
async fn a_panic_in_an_async_push_reaches_the_awaiting_task() {
    let (url, server) = serve_once(|s| {
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    });
    let pusher = Pusher::builder(url, "j").build_async().unwrap();
    let broken = pusher.clone();
    let err = tokio::spawn(async move { broken.push(Broken).await })
        .await
        .unwrap_err();
    let panic = err.into_panic();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"the source broke"));
    // The pusher is still there for the next push.
    pusher.push(registry()).await.unwrap();
    assert_eq!(server.join().unwrap().line, "PUT /metrics/job/j HTTP/1.1");
}
