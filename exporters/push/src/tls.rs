//! The root certificates an `https://` gateway's certificate is checked
//! against: the system's (`rustls-native-certs`: on Linux the OpenSSL
//! locations, `/etc/ssl/certs` on Debian, or `SSL_CERT_FILE` and
//! `SSL_CERT_DIR`), plus any CA given in PEM.

use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use crate::Error;

/// The certificates of `pem`, each checked to be usable as a trust anchor.
pub(crate) fn parse_ca_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let invalid = |reason: String| Error::InvalidCaCertificate { reason };
    let mut certs = Vec::new();
    for (i, cert) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let cert = cert.map_err(|e| invalid(format!("PEM section {}: {e}", i + 1)))?;
        webpki::anchor_from_trusted_cert(&cert).map_err(|e| {
            invalid(format!(
                "certificate {} is not a usable X.509 CA certificate: {e}",
                i + 1
            ))
        })?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(invalid(
            "no \"-----BEGIN CERTIFICATE-----\" section found".into(),
        ));
    }
    Ok(certs)
}

/// The TLS configuration: rustls, the system's roots and `extra`.
pub(crate) fn config(extra: &[CertificateDer<'static>]) -> Result<TlsConfig, Error> {
    let system = rustls_native_certs::load_native_certs();
    let roots: Vec<Certificate<'static>> = system
        .certs
        .iter()
        .chain(extra)
        .map(|der| Certificate::from_der(der).to_owned())
        .collect();
    if roots.is_empty() {
        let detail = system
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(Error::NoRootCertificates { detail });
    }
    Ok(TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::Specific(Arc::new(roots)))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn ca_pems_hold_one_or_more_certificates() {
        let one = ca_pem();
        assert_eq!(parse_ca_pem(one.as_bytes()).unwrap().len(), 1);
        // A bundle, with text around the sections as in ca-certificates.crt.
        let two = format!("# first\n{one}\n# second\n{}", ca_pem());
        assert_eq!(parse_ca_pem(two.as_bytes()).unwrap().len(), 2);
    }

    #[test]
    fn invalid_ca_pems_say_why() {
        let good = ca_pem();
        let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
        let body_start = good.find('\n').unwrap() + 1;
        let mut corrupt = good.clone();
        // Valid base64, but not DER any more.
        corrupt.replace_range(body_start..body_start + 8, "AAAAAAAA");
        let truncated = &good[..good.len() / 2];
        for (pem, want) in [
            ("", "no \"-----BEGIN CERTIFICATE-----\" section"),
            (
                "not a pem at all",
                "no \"-----BEGIN CERTIFICATE-----\" section",
            ),
            (key.as_str(), "no \"-----BEGIN CERTIFICATE-----\" section"),
            (truncated, "PEM section 1"),
            (
                corrupt.as_str(),
                "certificate 1 is not a usable X.509 CA certificate",
            ),
        ] {
            match parse_ca_pem(pem.as_bytes()) {
                Err(err @ Error::InvalidCaCertificate { .. }) => {
                    assert!(err.to_string().contains(want), "{pem:?}: {err}")
                }
                other => panic!("{pem:?}: {other:?}"),
            }
        }
    }
}
