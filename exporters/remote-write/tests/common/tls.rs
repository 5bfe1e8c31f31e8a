//! https in front of a loopback receiver: certificates made for the test
//! (rcgen) and nginx terminating TLS with them, asking for a client
//! certificate on a second port, in a scratch directory of its own
//! (`daemon off`, one process), on free loopback ports; killed on drop.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use super::{TempDir, free_port};

/// A CA, and a certificate with its key that the CA signed.
pub struct Ca {
    /// The CA certificate, PEM.
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate and its private key, PEM.
pub struct Leaf {
    pub cert: String,
    pub key: String,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("a CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.distinguished_name.push(DnType::CommonName, name);
        let pem = params.self_signed(&key).expect("a CA certificate").pem();
        Self {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for `names` (the first is also its common name).
    pub fn sign(&self, names: &[&str]) -> Leaf {
        let key = KeyPair::generate().expect("a key");
        let names: Vec<String> = names.iter().map(|&n| n.to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("parameters");
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].as_str());
        let cert = params.signed_by(&key, &self.issuer).expect("a certificate");
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// nginx serving `https://127.0.0.1:{port}` (any client) and
/// `https://127.0.0.1:{mtls_port}` (only clients with a certificate
/// `client_ca` signed, its subject passed on as `X-Client-DN`), both
/// proxying to the plain-http server on `upstream`.
pub struct Nginx {
    child: Child,
    pub port: u16,
    pub mtls_port: u16,
    dir: TempDir,
}

impl Nginx {
    pub fn start(upstream: u16, server: &Leaf, client_ca: &Ca) -> Self {
        let bin = binary();
        for _ in 0..5 {
            let (port, mtls_port) = (free_port(), free_port());
            let dir = TempDir::new("nginx");
            let d = dir.0.display().to_string();
            let write = |name: &str, text: &str| {
                std::fs::write(dir.0.join(name), text).expect("write an nginx file")
            };
            write("server.pem", &server.cert);
            write("server.key", &server.key);
            write("client-ca.pem", &client_ca.pem);
            let conf = format!(
                "daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    ssl_certificate {d}/server.pem;
    ssl_certificate_key {d}/server.key;
    server {{
        listen 127.0.0.1:{port} ssl;
        location / {{ proxy_pass http://127.0.0.1:{upstream}; }}
    }}
    server {{
        listen 127.0.0.1:{mtls_port} ssl;
        ssl_client_certificate {d}/client-ca.pem;
        ssl_verify_client on;
        location / {{
            proxy_set_header X-Client-DN $ssl_client_s_dn;
            proxy_pass http://127.0.0.1:{upstream};
        }}
    }}
}}
"
            );
            write("nginx.conf", &conf);
            let child = Command::new(&bin)
                .arg("-p")
                .arg(&dir.0)
                .arg("-e")
                .arg(dir.0.join("error.log"))
                .arg("-c")
                .arg(dir.0.join("nginx.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let mut nginx = Nginx {
                child,
                port,
                mtls_port,
                dir,
            };
            if nginx.wait_listening() {
                return nginx;
            }
        }
        panic!("nginx did not start on any of 5 pairs of ports");
    }

    /// Waits until both ports accept connections; false if nginx exits
    /// first (a port taken meanwhile).
    fn wait_listening(&mut self) -> bool {
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().expect("nginx's status") {
                eprintln!("nginx exited ({status}):\n{}", self.logs());
                return false;
            }
            let up = |p: u16| TcpStream::connect(("127.0.0.1", p)).is_ok();
            if up(self.port) && up(self.mtls_port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("nginx was not listening within 30 s:\n{}", self.logs());
    }

    /// Its error log, for failure messages.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$NGINX`, else `nginx` on the PATH, else Debian's `/usr/sbin/nginx`.
fn binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("nginx"))
            .find(|p| p.is_file())
    });
    let bin = std::env::var_os("NGINX")
        .map(PathBuf::from)
        .or(on_path)
        .unwrap_or_else(|| "/usr/sbin/nginx".into());
    assert!(
        bin.is_file(),
        "the nginx binary {} is missing: ./test.sh installs it (Debian package nginx), \
         or set NGINX=/path/to/nginx",
        bin.display()
    );
    bin
}
