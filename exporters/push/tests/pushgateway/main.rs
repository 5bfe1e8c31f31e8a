//! Pushes to the real Pushgateway (Debian package `prometheus-pushgateway`;
//! `./test.sh` installs it) and reads the groups back from its `/metrics`.
//! Each test starts its own gateway on a free loopback port, without
//! persistence, and kills it when done. The https tests put nginx (Debian
//! package `nginx`) in front of it as the TLS front, with certificates made
//! by the test.

mod certs;
mod gateway;
mod https;
mod nginx;
mod plain;
mod scratch;
mod tokio_push;

use std::path::PathBuf;

use hotmetrics_core::{Opts, Registry};

/// `name` in a directory of `PATH`, if there is one.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A registry whose text exposition is about 2 MB.
fn big_registry() -> Registry {
    let registry = Registry::new();
    let big = registry
        .gauge_vec(Opts::new("big", "b").max_series(10_000), &["v"])
        .unwrap();
    let pad = "p".repeat(200);
    for i in 0..10_000 {
        big.with(&[&format!("{i}{pad}")], |g| g.set(1)).unwrap();
    }
    registry
}
