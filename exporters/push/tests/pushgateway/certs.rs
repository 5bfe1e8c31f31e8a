//! Certificates made for the test: a CA, and a leaf it signs for
//! `localhost` and 127.0.0.1.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// A CA and the server certificate it signed.
pub struct Pki {
    /// The CA certificate, PEM.
    pub ca: String,
    /// The server's certificate, PEM.
    pub leaf: String,
    /// The server's private key, PEM.
    pub leaf_key: String,
}

impl Pki {
    /// A leaf for `localhost` and 127.0.0.1.
    pub fn generate() -> Self {
        Self::generate_for(&["localhost", "127.0.0.1"])
    }

    /// A leaf for `names` only.
    pub fn generate_for(names: &[&str]) -> Self {
        let ca_key = KeyPair::generate().expect("a CA key");
        let ca_params = ca_params("hotmetrics-push test CA");
        let ca = ca_params.self_signed(&ca_key).expect("a CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().expect("a server key");
        let names: Vec<String> = names.iter().map(|&n| n.to_owned()).collect();
        let mut leaf_params =
            CertificateParams::new(names.clone()).expect("server certificate parameters");
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, names[0].as_str());
        let leaf = leaf_params
            .signed_by(&leaf_key, &issuer)
            .expect("a server certificate");
        Self {
            ca: ca.pem(),
            leaf: leaf.pem(),
            leaf_key: leaf_key.serialize_pem(),
        }
    }
}

/// A self-signed CA certificate that signed nothing here.
pub fn unrelated_ca() -> String {
    let key = KeyPair::generate().expect("a CA key");
    ca_params("another CA")
        .self_signed(&key)
        .expect("a CA certificate")
        .pem()
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.distinguished_name.push(DnType::CommonName, name);
    params
}
