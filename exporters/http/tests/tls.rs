//! HTTPS with a certificate generated here, checked by a rustls client
//! that trusts only that certificate.

mod common;

use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use hotmetrics_core::Registry;
use hotmetrics_http::{Error, Server};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, ClientConnection, RootCertStore, StreamOwned};

fn self_signed() -> (rcgen::Certificate, rcgen::KeyPair) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    (params.self_signed(&key).unwrap(), key)
}

fn client_config(trusted: &CertificateDer<'static>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

type TlsStream = StreamOwned<ClientConnection, TcpStream>;

fn connect(addr: std::net::SocketAddr, config: Arc<ClientConfig>) -> Client<TlsStream> {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let connection = ClientConnection::new(config, name).unwrap();
    Client::new(StreamOwned::new(connection, tcp))
}

#[test]
fn serves_https_with_a_self_signed_certificate() {
    let (cert, key) = self_signed();
    let registry = Registry::new();
    registry.counter(("secure", "Over TLS.")).unwrap().inc();
    let server = Server::builder(registry)
        .addr("127.0.0.1:0".parse().unwrap())
        .tls_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
        .bearer_token("tok")
        .start()
        .unwrap();
    let addr = server.local_addr();
    let config = client_config(cert.der());

    let mut client = connect(addr, Arc::clone(&config));
    let response = client
        .request(
            "GET",
            "/metrics",
            &[
                ("accept", PROMETHEUS_3),
                ("accept-encoding", "gzip"),
                ("authorization", "Bearer tok"),
            ],
        )
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some(OPENMETRICS_UTF8));
    let body = String::from_utf8(gunzip(&response.body)).unwrap();
    assert!(
        body.contains("secure_total 1\n") && body.ends_with("# EOF\n"),
        "{body}"
    );
    // Keep-alive over TLS.
    assert_eq!(client.request("GET", "/health", &[]).unwrap().status, 200);
    assert_eq!(client.request("GET", "/metrics", &[]).unwrap().status, 401);

    // A plain-HTTP client gets no answer it could mistake for metrics.
    let mut plain = Client::connect(addr);
    plain.send("GET", "/metrics", &[]).unwrap();
    assert!(plain.read_response(false).map_or(true, |r| r.status != 200));

    // A client that trusts another certificate refuses the server.
    let (other, _) = self_signed();
    let mut wrong = connect(addr, client_config(other.der()));
    assert!(wrong.request("GET", "/health", &[]).is_err());

    server.shutdown().unwrap();
}

#[test]
fn unusable_pem_is_a_tls_error() {
    let (cert, key) = self_signed();
    let cert_pem = cert.pem();
    let key_pem = key.serialize_pem();
    for (cert, key) in [
        ("", key_pem.as_str()),
        ("not pem", key_pem.as_str()),
        (cert_pem.as_str(), ""),
        (cert_pem.as_str(), cert_pem.as_str()),
    ] {
        let err = Server::builder(Registry::new())
            .addr("127.0.0.1:0".parse().unwrap())
            .tls_pem(cert.as_bytes(), key.as_bytes())
            .start()
            .unwrap_err();
        assert!(matches!(err, Error::Tls(_)), "{err:?}");
    }
    // A key that does not match the certificate.
    let (_, other_key) = self_signed();
    let err = Server::builder(Registry::new())
        .addr("127.0.0.1:0".parse().unwrap())
        .tls_pem(cert_pem.as_bytes(), other_key.serialize_pem().as_bytes())
        .start()
        .unwrap_err();
    assert!(matches!(err, Error::Tls(_)), "{err:?}");
}

#[test]
fn an_unfinished_handshake_makes_room_for_a_newcomer() {
    let (cert, key) = self_signed();
    let server = Server::builder(Registry::new())
        .addr("127.0.0.1:0".parse().unwrap())
        .tls_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
        .max_connections(1)
        .start()
        .unwrap();
    let addr = server.local_addr();
    let config = client_config(cert.der());
    // Takes the only slot and never says hello.
    let mut stalled = Client::connect(addr);
    // A newcomer while the handshake has only just begun is closed: a
    // plain-text 503 would only fail its handshake.
    let mut early = connect(addr, Arc::clone(&config));
    assert!(early.request("GET", "/health", &[]).is_err());
    // Once the grace (250 ms) is over, the stalled one makes room.
    std::thread::sleep(Duration::from_millis(400));
    let mut newcomer = connect(addr, config);
    assert_eq!(newcomer.request("GET", "/health", &[]).unwrap().status, 200);
    assert!(stalled.is_closed_by_server());
}
