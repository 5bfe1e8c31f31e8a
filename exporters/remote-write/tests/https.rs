//! https to a receiver whose certificate a private CA signed
//! (`ca_certificate`), and mutual TLS (`client_certificate`): nginx
//! terminates TLS in front of a scripted loopback receiver, with
//! certificates made for the test.

mod common;

use common::scripted::Scripted;
use common::tls::{Ca, Nginx};
use common::{decode, fixture, fixture_series};
use hotmetrics_export::{Batch, Exporter, SendError, Sink};
use hotmetrics_remote_write::{Error, RemoteWrite, RemoteWriteBuilder, RemoteWriteSink};
use std::time::Duration;

struct Setup {
    receiver: Scripted,
    nginx: Nginx,
    server_ca: Ca,
    client_ca: Ca,
}

impl Setup {
    fn new() -> Self {
        let receiver = Scripted::start(vec![]);
        let server_ca = Ca::new("receiver CA");
        let client_ca = Ca::new("client CA");
        let server = server_ca.sign(&["localhost", "127.0.0.1"]);
        let nginx = Nginx::start(receiver.addr.port(), &server, &client_ca);
        Self {
            receiver,
            nginx,
            server_ca,
            client_ca,
        }
    }

    fn url(&self, port: u16) -> String {
        format!("https://127.0.0.1:{port}/api/v1/write")
    }
}

/// One export of the fixture through `sink`'s own send.
fn send(mut sink: RemoteWriteSink) -> Result<(), SendError> {
    let mut batch = Batch::default();
    sink.encode(&fixture(), &mut batch).unwrap();
    assert_eq!(batch.len(), 1);
    sink.send(&batch.payloads()[0])
}

/// The external labels `fixture_series` expects.
fn builder(url: String) -> RemoteWriteBuilder {
    RemoteWrite::builder(url)
        .external_label("job", "rw-test")
        .external_label("instance", "host-1")
        .timeout(Duration::from_secs(10))
}

#[test]
fn a_private_ca_is_trusted_once_given() {
    let s = Setup::new();
    // Without it the receiver's certificate is unknown: a TLS error,
    // retried (a receiver may get a new certificate), nothing arrives.
    let err = send(builder(s.url(s.nginx.port)).build().unwrap()).unwrap_err();
    assert!(
        matches!(&err, SendError::Retryable { message, .. } if message.to_lowercase().contains("certificate")),
        "{err:?}"
    );
    assert!(s.receiver.requests().is_empty());
    // Trusted: sent, and what arrived through nginx is the registry.
    let sink = builder(s.url(s.nginx.port))
        .ca_certificate(s.server_ca.pem.clone())
        .build()
        .unwrap();
    send(sink).unwrap_or_else(|e| panic!("{e:?}\n{}", s.nginx.logs()));
    let requests = s.receiver.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(decode::v1(&requests[0].body).0, fixture_series());
    // Another CA's certificate does not stand in for it.
    let other = Ca::new("unrelated CA");
    let err = send(
        builder(s.url(s.nginx.port))
            .ca_certificate(other.pem)
            .build()
            .unwrap(),
    )
    .unwrap_err();
    assert!(matches!(err, SendError::Retryable { .. }), "{err:?}");
    assert_eq!(s.receiver.requests().len(), 1);
}

/// Every warning logged in this process.
static WARNINGS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

struct Warnings;

impl log::Log for Warnings {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            WARNINGS.lock().unwrap().push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

#[test]
fn an_unknown_ca_is_retried_and_warned_about_once() {
    log::set_logger(&Warnings).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let s = Setup::new();
    let exporter = Exporter::builder(fixture(), builder(s.url(s.nginx.port)).build().unwrap())
        .name("untrusted")
        .interval(Duration::from_secs(3600))
        .backoff(Duration::from_millis(5), Duration::from_millis(20))
        .shutdown_timeout(Duration::from_millis(100))
        .start()
        .unwrap();
    // Refused at every try: the flush runs out of time, nothing arrives.
    assert!(exporter.flush(Duration::from_millis(600)).is_err());
    let stats = exporter.stats();
    assert!(stats.retries >= 2, "retried: {stats:?}");
    assert!(s.receiver.requests().is_empty());
    let warned: Vec<String> = WARNINGS
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.contains("exporter untrusted:"))
        .cloned()
        .collect();
    assert_eq!(warned.len(), 1, "once, however many retries: {warned:#?}");
    assert!(
        warned[0].to_lowercase().contains("certificate") && warned[0].contains("retrying"),
        "{}",
        warned[0]
    );
    drop(exporter);
}

#[test]
fn mutual_tls_presents_the_client_certificate() {
    let s = Setup::new();
    let url = s.url(s.nginx.mtls_port);
    // No client certificate: nginx refuses the request (400, for good).
    let err = send(
        builder(url.clone())
            .ca_certificate(s.server_ca.pem.clone())
            .build()
            .unwrap(),
    )
    .unwrap_err();
    match &err {
        SendError::Permanent { message } => {
            assert!(message.contains("400"), "{message}");
            assert!(message.contains("No required SSL certificate"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // One the client CA did not sign: refused too.
    let stranger = Ca::new("stranger CA").sign(&["intruder"]);
    let err = send(
        builder(url.clone())
            .ca_certificate(s.server_ca.pem.clone())
            .client_certificate(stranger.cert, stranger.key)
            .build()
            .unwrap(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, SendError::Permanent { message } if message.contains("400")),
        "{err:?}"
    );
    assert!(s.receiver.requests().is_empty());
    // Its own: through an exporter, the receiver sees who sent it.
    let client = s.client_ca.sign(&["worker-7"]);
    let sink = builder(url)
        .ca_certificate(s.server_ca.pem.clone())
        .client_certificate(client.cert, client.key)
        .build()
        .unwrap();
    let exporter = Exporter::builder(fixture(), sink)
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    exporter
        .flush(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", s.nginx.logs()));
    exporter.shutdown().unwrap();
    let requests = s.receiver.requests();
    assert_eq!(requests.len(), 2, "the flush and the final export");
    assert_eq!(requests[0].header("x-client-dn"), Some("CN=worker-7"));
    assert_eq!(decode::v1(&requests[0].body).0, fixture_series());
}

#[test]
fn tls_settings_are_checked_at_build() {
    let ca = Ca::new("a CA");
    let leaf = ca.sign(&["client"]);
    let other = ca.sign(&["other"]);
    let https = "https://localhost:1/api/v1/write";
    let cases: Vec<(RemoteWriteBuilder, &str)> = vec![
        (
            RemoteWrite::builder(https).ca_certificate("not a pem"),
            "invalid CA certificate: no \"-----BEGIN CERTIFICATE-----\"",
        ),
        (
            RemoteWrite::builder(https).ca_certificate(leaf.key.clone()),
            "invalid CA certificate",
        ),
        (
            RemoteWrite::builder(https).client_certificate(leaf.cert.clone(), other.key.clone()),
            "does not fit the certificate",
        ),
        (
            RemoteWrite::builder(https).client_certificate(leaf.cert.clone(), "no key"),
            "invalid client certificate: the private key",
        ),
        (
            RemoteWrite::builder("http://localhost:1/api/v1/write").ca_certificate(ca.pem.clone()),
            "not https://",
        ),
        (
            RemoteWrite::builder("http://localhost:1/api/v1/write")
                .client_certificate(leaf.cert.clone(), leaf.key.clone()),
            "not https://",
        ),
    ];
    for (builder, want) in cases {
        let err = builder.build().unwrap_err();
        assert!(err.to_string().contains(want), "{want}: {err}");
        assert!(
            matches!(
                err,
                Error::InvalidCaCertificate(_)
                    | Error::InvalidClientCertificate(_)
                    | Error::InvalidUrl { .. }
            ),
            "{err:?}"
        );
    }
    assert!(
        RemoteWrite::builder(https)
            .ca_certificate(ca.pem.clone())
            .client_certificate(leaf.cert, leaf.key)
            .build()
            .is_ok()
    );
}
