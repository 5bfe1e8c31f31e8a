//! Pushes over https, through nginx terminating TLS in front of the
//! gateway; the groups are read back from the gateway itself.

use std::time::{Duration, Instant};

use hotmetrics_core::Registry;
use hotmetrics_push::{Error, Format, Pusher};

use crate::big_registry;
use crate::certs::{Pki, unrelated_ca};
use crate::gateway::{Gateway, PASSWORD, USER, lines};
use crate::nginx::Nginx;

fn registry(value: i64) -> Registry {
    let registry = Registry::new();
    registry.gauge(("up", "Up.")).unwrap().set(value);
    registry
}

#[test]
fn put_post_and_delete_over_https() {
    let gw = Gateway::start();
    let pki = Pki::generate();
    let nginx = Nginx::start(gw.port, &pki);
    // By name (the certificate's DNS name) and by address (its IP name).
    for (host, format) in [("localhost", Format::Protobuf), ("127.0.0.1", Format::Text)] {
        let job = format!("tls_{}", host.replace('.', "_"));
        let mut pusher = Pusher::builder(nginx.url(host), &job)
            .grouping("instance", "w1")
            .format(format)
            .ca_pem(pki.ca.as_bytes())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        assert!(pusher.url().starts_with("https://"), "{}", pusher.url());

        pusher.push(&registry(1)).unwrap();
        let up = |v| format!("up{{instance=\"w1\",job=\"{job}\"}} {v}");
        assert_eq!(gw.group(&job), [up(1)], "{host}");

        let other = Registry::new();
        other.gauge(("queued", "Queued.")).unwrap().set(5);
        pusher.push_add(&other).unwrap();
        let mut both = vec![format!("queued{{instance=\"w1\",job=\"{job}\"}} 5"), up(1)];
        both.sort();
        assert_eq!(gw.group(&job), both, "{host}");

        // PUT replaces the group whole.
        pusher.push(&registry(2)).unwrap();
        assert_eq!(gw.group(&job), [up(2)], "{host}");

        pusher.delete().unwrap();
        assert_eq!(
            gw.group_after_delete(&job, &[]),
            Vec::<String>::new(),
            "{host}"
        );
    }
}

#[test]
fn a_certificate_for_another_name_is_a_tls_error() {
    let gw = Gateway::start();
    // Signed by the CA we trust, but for another host.
    let pki = Pki::generate_for(&["gateway.test"]);
    let nginx = Nginx::start(gw.port, &pki);
    let err = Pusher::builder(nginx.url("localhost"), "misnamed")
        .ca_pem(pki.ca.as_bytes())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .push(&registry(1))
        .unwrap_err();
    assert!(matches!(&err, Error::Tls { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("certificate not valid for name \"localhost\""),
        "{err}"
    );
    assert_eq!(gw.group("misnamed"), Vec::<String>::new());
}

#[test]
fn a_certificate_no_trusted_root_signed_is_a_tls_error() {
    let gw = Gateway::start();
    let pki = Pki::generate();
    let nginx = Nginx::start(gw.port, &pki);
    let timeout = Duration::from_secs(10);
    let wrong_ca = Pusher::builder(nginx.url("localhost"), "untrusted")
        .ca_pem(unrelated_ca())
        .timeout(timeout);
    // The system's roots alone do not know the test's CA either.
    let system_only = Pusher::builder(nginx.url("localhost"), "untrusted").timeout(timeout);
    for (what, builder) in [("another CA", wrong_ca), ("system roots", system_only)] {
        let start = Instant::now();
        let err = builder.build().unwrap().push(&registry(1)).unwrap_err();
        let took = start.elapsed();
        assert!(took < Duration::from_secs(2), "{what}: took {took:?}");
        match &err {
            Error::Tls { addr, .. } => assert_eq!(addr, &format!("localhost:{}", nginx.port)),
            other => panic!("{what}: {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("TLS with localhost:")
                && message.contains("certificate")
                && message.contains("UnknownIssuer"),
            "{what}: {message}"
        );
    }
    assert_eq!(gw.group("untrusted"), Vec::<String>::new());
}

#[test]
fn basic_auth_over_https_reaches_the_gateway() {
    // The gateway checks the credentials; nginx passes the header through.
    let gw = Gateway::start_with_basic_auth();
    let pki = Pki::generate();
    let nginx = Nginx::start(gw.port, &pki);
    let builder = || {
        Pusher::builder(nginx.url("localhost"), "authed")
            .ca_pem(pki.ca.as_bytes())
            .timeout(Duration::from_secs(10))
    };

    builder()
        .basic_auth(USER, PASSWORD)
        .build()
        .unwrap()
        .push(&registry(1))
        .unwrap();
    assert_eq!(
        gw.group("authed"),
        lines(&["up{instance=\"\",job=\"authed\"} 1"])
    );

    for (what, builder) in [
        ("wrong password", builder().basic_auth(USER, "open barley")),
        ("no credentials", builder()),
    ] {
        let err = builder.build().unwrap().push(&registry(2)).unwrap_err();
        assert!(
            matches!(&err, Error::Status { code: 401, .. }),
            "{what}: {err:?}"
        );
    }
    assert_eq!(
        gw.group("authed"),
        lines(&["up{instance=\"\",job=\"authed\"} 1"])
    );
}

#[test]
fn a_push_over_the_proxys_body_limit_is_its_413() {
    // nginx answers 413 to a body over 1 MiB as soon as it has the head,
    // then reads and drops the body; the pusher reports the answer.
    let gw = Gateway::start();
    let pki = Pki::generate();
    let nginx = Nginx::start(gw.port, &pki);
    let registry = big_registry();
    let err = Pusher::builder(nginx.url("localhost"), "big")
        .ca_pem(pki.ca.as_bytes())
        .format(Format::Text)
        .build()
        .unwrap()
        .push(&registry)
        .unwrap_err();
    match &err {
        Error::Status { code: 413, body } => {
            assert!(body.contains("413 Request Entity Too Large"), "{body}")
        }
        other => panic!("{other:?}\n{}", nginx.logs()),
    }
    assert_eq!(gw.group("big"), Vec::<String>::new());
}
