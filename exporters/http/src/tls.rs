//! HTTPS: a rustls server configuration (ring provider, TLS 1.2 and 1.3)
//! from PEM.

use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{ServerConfig, crypto::ring};

use crate::Error;

/// The certificate chain and key as given, parsed when the server starts.
#[derive(Clone)]
pub(crate) struct TlsPem {
    pub(crate) cert_chain: Vec<u8>,
    pub(crate) key: Vec<u8>,
}

// The key never goes into logs.
impl std::fmt::Debug for TlsPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsPem")
            .field(
                "cert_chain",
                &format_args!("{} bytes", self.cert_chain.len()),
            )
            .field("key", &"<redacted>")
            .finish()
    }
}

impl TlsPem {
    /// Builds the acceptor: the leaf certificate first in the chain, a
    /// PKCS#8, PKCS#1 or SEC1 key, `http/1.1` offered by ALPN.
    pub(crate) fn acceptor(&self) -> Result<TlsAcceptor, Error> {
        let certs = CertificateDer::pem_slice_iter(&self.cert_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Tls(format!("reading the certificate chain: {e}")))?;
        if certs.is_empty() {
            return Err(Error::Tls("no certificate in the PEM chain".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(&self.key)
            .map_err(|e| Error::Tls(format!("reading the private key: {e}")))?;
        let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| Error::Tls(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}
