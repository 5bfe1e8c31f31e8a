//! The client against fake gateways on loopback: what goes on the wire,
//! and how refusals, silence, slow answers and odd answers come out.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use hotmetrics_core::Registry;
use hotmetrics_push::{Error, Format, Pusher};

/// A request as the fake gateway saw it.
#[derive(Debug)]
struct Seen {
    head: Vec<String>,
    body: Vec<u8>,
}

/// Reads one request (head, then `Content-Length` bytes of body).
fn read_request(stream: &mut TcpStream) -> Seen {
    let mut reader = BufReader::new(stream);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end_matches("\r\n").to_owned();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let len = head
        .iter()
        .find_map(|h| h.strip_prefix("Content-Length: "))
        .map_or(0, |n| n.parse().unwrap());
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    Seen { head, body }
}

/// Serves one connection with `answer`, returns what it was sent.
fn serve_once(answer: impl FnOnce(&mut TcpStream) + Send + 'static) -> (String, JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
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
        match format {
            Format::Text => hotmetrics_text::TextEncoder::new().encode(&registry, &mut want_body),
            Format::Protobuf => {
                hotmetrics_protobuf::ProtobufEncoder::new().encode(&registry, &mut want_body)
            }
        };
        assert_eq!(
            seen.head,
            [
                format!("{method} /prefix/metrics/job/j/instance/i HTTP/1.1"),
                format!("Host: {host}"),
                format!("User-Agent: hotmetrics-push/{}", env!("CARGO_PKG_VERSION")),
                format!("Content-Type: {}", format.content_type()),
                format!("Content-Length: {}", want_body.len()),
                "Connection: close".to_owned(),
                "X-Scope-OrgID: t1".to_owned(),
                "Authorization: Bearer tok".to_owned(),
            ]
        );
        assert_eq!(seen.body, &want_body[..]);
    }

    let (url, server) = serve_once(|s| {
        s.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    });
    Pusher::builder(url, "j").build().unwrap().delete().unwrap();
    let seen = server.join().unwrap();
    assert_eq!(seen.head[0], "DELETE /metrics/job/j HTTP/1.1");
    assert!(
        !seen.head.iter().any(|h| h.starts_with("Content-")),
        "{seen:?}"
    );
}

#[test]
fn reused_pushers_send_fresh_bodies() {
    let registry = registry();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
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

#[test]
fn an_answer_before_the_body_is_read_is_still_reported() {
    // A body of a few MB that the server never reads: it answers 413 right
    // after the head and closes, so the client's write fails.
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
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(&mut s);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        s.write_all(b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 8\r\n\r\ntoo big\n")
            .unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        thread::sleep(Duration::from_millis(200));
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
