//! https: the roots a receiver's certificate is checked against (the
//! system's, `rustls-native-certs`: on Debian `/etc/ssl/certs`, or
//! `SSL_CERT_FILE` / `SSL_CERT_DIR`; plus the CAs given), and the client
//! certificate for receivers that ask for one (mutual TLS). Everything is
//! checked when the sink is built, as the HTTP client would at its first
//! connection.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use ureq::tls::{
    Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig, TlsProvider, parse_pem,
};

use crate::Error;

/// The certificates of `pem`, in order; `invalid` makes the error.
fn certificates(
    pem: &[u8],
    invalid: impl Fn(String) -> Error,
) -> Result<Vec<Certificate<'static>>, Error> {
    let mut certs = Vec::new();
    for (i, item) in parse_pem(pem).enumerate() {
        let item = item.map_err(|e| invalid(format!("PEM section {}: {e}", i + 1)))?;
        // Keys and other sections are not certificates: skipped.
        if let PemItem::Certificate(cert) = item {
            certs.push(cert);
        }
    }
    if certs.is_empty() {
        return Err(invalid(
            "no \"-----BEGIN CERTIFICATE-----\" section found".into(),
        ));
    }
    Ok(certs)
}

/// The CA certificates of `pem` (one or more sections), each checked to
/// parse as an X.509 certificate a trust anchor can be made of (whether
/// it may sign others is the handshake's question).
pub(crate) fn parse_ca(pem: &[u8]) -> Result<Vec<Certificate<'static>>, Error> {
    let certs = certificates(pem, Error::InvalidCaCertificate)?;
    let mut store = RootCertStore::empty();
    for (i, cert) in certs.iter().enumerate() {
        store.add(CertificateDer::from(cert.der())).map_err(|e| {
            Error::InvalidCaCertificate(format!(
                "certificate {} cannot be read as an X.509 certificate: {e}",
                i + 1
            ))
        })?;
    }
    Ok(certs)
}

/// The client certificate chain of `cert_pem` (the sink's certificate
/// first) and the private key of `key_pem`, checked to belong together.
pub(crate) fn parse_client(cert_pem: &[u8], key_pem: &[u8]) -> Result<ClientCert, Error> {
    let invalid = Error::InvalidClientCertificate;
    let chain = certificates(cert_pem, invalid)?;
    let key =
        PrivateKey::from_pem(key_pem).map_err(|e| invalid(format!("the private key: {e}")))?;
    // The same PEM as rustls reads it (the HTTP client's key kinds are
    // its own).
    let key_der = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| invalid(format!("the private key: {e}")))?;
    let chain_der = chain
        .iter()
        .map(|c| CertificateDer::from(c.der().to_vec()))
        .collect();
    // What the HTTP client's rustls does with them at its first
    // connection (where a failure would be a panic), done now.
    CertifiedKey::from_der(
        chain_der,
        key_der,
        &rustls::crypto::ring::default_provider(),
    )
    .map_err(|e| invalid(format!("the private key does not fit the certificate: {e}")))?;
    Ok(ClientCert::new_with_certs(&chain, key))
}

/// The TLS configuration: rustls, the system's roots and `extra`, and the
/// client certificate if any.
pub(crate) fn config(
    extra: &[Certificate<'static>],
    client: Option<ClientCert>,
) -> Result<TlsConfig, Error> {
    let system = rustls_native_certs::load_native_certs();
    let roots: Vec<Certificate<'static>> = system
        .certs
        .iter()
        .map(|der| Certificate::from_der(der).to_owned())
        .chain(extra.iter().cloned())
        .collect();
    let detail = || {
        let all: Vec<String> = system.errors.iter().map(ToString::to_string).collect();
        all.join("; ")
    };
    if roots.is_empty() {
        return Err(Error::NoRootCertificates(detail()));
    }
    if !system.errors.is_empty() {
        // Some roots (or all the system's, with a CA given) are missing:
        // receivers they would vouch for will fail verification.
        log::warn!(
            "hotmetrics remote write: some of the system's root certificates could not be \
             loaded, using the {} that could and the {} CA certificates given: {}",
            system.certs.len(),
            extra.len(),
            detail()
        );
    }
    Ok(TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::Specific(Arc::new(roots)))
        .client_cert(client)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    fn ca_pem() -> String {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    fn leaf() -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["client".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn reason(e: Error) -> String {
        match e {
            Error::InvalidCaCertificate(r) | Error::InvalidClientCertificate(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ca_pems_hold_one_or_more_certificates() {
        let one = ca_pem();
        assert_eq!(parse_ca(one.as_bytes()).unwrap().len(), 1);
        let two = format!("# first\n{one}\n# second\n{}", ca_pem());
        assert_eq!(parse_ca(two.as_bytes()).unwrap().len(), 2);
    }

    #[test]
    fn invalid_ca_pems_say_why() {
        let good = ca_pem();
        let body = good.find('\n').unwrap() + 1;
        let mut corrupt = good.clone();
        // Valid base64, but not DER any more.
        corrupt.replace_range(body..body + 8, "AAAAAAAA");
        let key = KeyPair::generate().unwrap().serialize_pem();
        for (pem, want) in [
            ("", "no \"-----BEGIN CERTIFICATE-----\" section"),
            ("not a pem", "no \"-----BEGIN CERTIFICATE-----\" section"),
            (key.as_str(), "no \"-----BEGIN CERTIFICATE-----\" section"),
            (&good[..good.len() / 2], "PEM section 1"),
            (
                corrupt.as_str(),
                "certificate 1 cannot be read as an X.509 certificate",
            ),
        ] {
            let got = reason(parse_ca(pem.as_bytes()).unwrap_err());
            assert!(got.contains(want), "{pem:?}: {got}");
        }
    }

    #[test]
    fn client_certificates_need_their_own_key() {
        let (cert, key) = leaf();
        assert!(parse_client(cert.as_bytes(), key.as_bytes()).is_ok());
        let (_, other_key) = leaf();
        let got = reason(parse_client(cert.as_bytes(), other_key.as_bytes()).unwrap_err());
        assert!(got.contains("does not fit the certificate"), "{got}");
        let got = reason(parse_client(cert.as_bytes(), cert.as_bytes()).unwrap_err());
        assert!(got.contains("the private key"), "{got}");
        let got = reason(parse_client(key.as_bytes(), key.as_bytes()).unwrap_err());
        assert!(got.contains("no \"-----BEGIN CERTIFICATE-----\""), "{got}");
    }
}
