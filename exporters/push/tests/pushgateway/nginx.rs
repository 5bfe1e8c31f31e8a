//! nginx as the TLS front of a gateway: its own configuration in a scratch
//! directory (`daemon off`, one process, pid, logs and temp files there),
//! so it runs as root and as any other user, on a free loopback port.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::certs::Pki;
use crate::gateway::free_port;
use crate::scratch::Scratch;

/// A running nginx terminating TLS for `127.0.0.1:<upstream>`, killed on
/// drop.
pub struct Nginx {
    child: Child,
    pub port: u16,
    dir: Scratch,
}

impl Nginx {
    /// Serves https with `pki`'s leaf certificate and proxies everything to
    /// the plain-http server on `upstream`. Request bodies are capped at
    /// 1 MiB (`client_max_body_size`), nginx's default, set explicitly.
    pub fn start(upstream: u16, pki: &Pki) -> Self {
        let bin = binary();
        for _ in 0..5 {
            let port = free_port();
            let dir = Scratch::new();
            dir.write("leaf.pem", &pki.leaf);
            dir.write("leaf.key", &pki.leaf_key);
            let d = dir.path().display();
            let conf = dir.write(
                "nginx.conf",
                format!(
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
    client_max_body_size 1m;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {d}/leaf.pem;
        ssl_certificate_key {d}/leaf.key;
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
        }}
    }}
}}
"
                ),
            );
            let child = Command::new(&bin)
                .arg("-p")
                .arg(dir.path())
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let mut nginx = Nginx { child, port, dir };
            if nginx.wait_listening() {
                return nginx;
            }
        }
        panic!("nginx did not start listening on any of 5 ports");
    }

    /// Waits until the port accepts connections; false if nginx exits
    /// first (port taken).
    fn wait_listening(&mut self) -> bool {
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().expect("child status") {
                eprintln!("nginx exited ({status}):\n{}", self.dir.read("error.log"));
                return false;
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "nginx on port {} was not listening within 30 s; its log:\n{}",
            self.port,
            self.dir.read("error.log")
        );
    }

    /// The error and access logs, for failure messages.
    pub fn logs(&self) -> String {
        format!(
            "nginx error.log:\n{}\nnginx access.log:\n{}",
            self.dir.read("error.log"),
            self.dir.read("access.log")
        )
    }

    /// `https://<host>:<port>`.
    pub fn url(&self, host: &str) -> String {
        format!("https://{host}:{}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The nginx binary: `$NGINX`, else `nginx` on `PATH`, else
/// `/usr/sbin/nginx` (Debian's, off a user's `PATH`). Missing is a failure.
fn binary() -> PathBuf {
    let bin = std::env::var_os("NGINX")
        .map(PathBuf::from)
        .or_else(|| crate::on_path("nginx"))
        .unwrap_or_else(|| "/usr/sbin/nginx".into());
    assert!(
        bin.is_file(),
        "the nginx binary {} is missing: run ./test.sh, which installs it (Debian package \
         nginx), or set NGINX=/path/to/nginx",
        bin.display()
    );
    bin
}
