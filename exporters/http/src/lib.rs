//! The `/metrics` HTTP endpoint for a hotmetrics registry, on hyper 1 and
//! tokio: content negotiation (Prometheus text, OpenMetrics, protobuf),
//! gzip, optional Basic or bearer authentication, optional TLS, and
//! request limits that keep a slow or hostile client away from your
//! application.
//!
//! Two ways in:
//! - [`Server`]: for an application that is not async (most broker
//!   consumer loops). It runs on a thread of its own with its own tokio
//!   runtime and stops when its [`ServerHandle`] is shut down or dropped.
//! - [`MetricsService`]: the scrape as a `tower` service (feature
//!   `tower`), a `hyper` service and a plain async method, for an
//!   application that already runs an HTTP server such as axum. It
//!   answers on whatever path it is mounted on.
//!
//! ```
//! use hotmetrics_core::Registry;
//! use hotmetrics_http::Server;
//! use std::io::{Read, Write};
//!
//! let registry = Registry::new();
//! let processed = registry.counter(("processed", "Messages processed.")).unwrap();
//! let server = Server::builder(registry.clone())
//!     .addr("127.0.0.1:0".parse().unwrap()) // the default is 127.0.0.1:9464
//!     .start()?;
//!
//! processed.inc_by(3); // the consumer loop goes on as before
//!
//! // What Prometheus (or curl) does:
//! let mut conn = std::net::TcpStream::connect(server.local_addr()).unwrap();
//! conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
//! let mut response = String::new();
//! conn.read_to_string(&mut response).unwrap();
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.contains("content-type: text/plain; version=0.0.4; charset=utf-8\r\n"));
//! assert!(response.ends_with("processed_total 3\n"));
//!
//! server.shutdown()?; // or drop it
//! # Ok::<(), hotmetrics_http::Error>(())
//! ```
//!
//! On the default address, with authentication and TLS (`no_run`: it
//! binds port 9464):
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # #[cfg(feature = "tls")] {
//! let registry = hotmetrics_core::Registry::new();
//! let handle = hotmetrics_http::Server::builder(registry)
//!     .addr("0.0.0.0:9464".parse()?)
//!     .path("/internal/metrics") // the default is /metrics
//!     .bearer_token("s3cr3t-token")
//!     .tls_pem(&std::fs::read("cert.pem")?, &std::fs::read("key.pem")?)
//!     .self_metrics(true)
//!     .start()?;
//! // ... run the consumer; `handle` stops the server when dropped.
//! # drop(handle);
//! # }
//! # Ok(())
//! # }
//! ```
//!
//! # In axum
//! With feature `tower`, a [`MetricsService`] is a `tower::Service` and
//! mounts in a `Router` as it is, at the path your platform scrapes; the
//! application's other routes are untouched. Settings such as
//! authentication come from
//! [`ServerBuilder::build_service`]; [`MetricsService::new`] has the
//! defaults.
//!
//! ```
//! use hotmetrics_core::Registry;
//! use hotmetrics_http::MetricsService;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let registry = Registry::new();
//!     registry.counter(("orders", "Orders taken."))?.inc();
//!
//!     let app = axum::Router::new()
//!         .route("/", axum::routing::get(|| async { "the shop" }))
//!         .route_service("/internal/metrics", MetricsService::new(registry.clone()));
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     tokio::spawn(async move { axum::serve(listener, app).await });
//!
//!     // What Prometheus (or curl) does:
//!     let mut conn = tokio::net::TcpStream::connect(addr).await?;
//!     conn.write_all(b"GET /internal/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
//!         .await?;
//!     let mut response = String::new();
//!     conn.read_to_string(&mut response).await?;
//!     assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//!     assert!(response.ends_with("orders_total 1\n"));
//!     Ok(())
//! }
//! ```
//!
//! # Routes of the standalone server
//! `/metrics` (negotiated exposition; another path with
//! [`ServerBuilder::path`]), `/` (an HTML page linking it), `/health`
//! (`200 OK`, open even when authentication is required, for liveness
//! probes; with a [`HealthCheck`] set by [`ServerBuilder::health`], its
//! JSON report with `200` or `503`), `/stats` (only with a [`StatsJson`]
//! set by [`ServerBuilder::stats`]: its JSON, behind the same
//! authentication as the scrape); 404 elsewhere, 405 with
//! `Allow: GET, HEAD` for other methods.
//! A [`MetricsService`] mounted in a server of your own has no routes: it
//! scrapes wherever it is mounted.
//!
//! # Format and compression
//! The format is chosen from the `Accept` header by
//! [`hotmetrics_exposition::negotiate`], the rules of Prometheus' own
//! client libraries: Prometheus 2.x and 3.x get OpenMetrics (protobuf
//! with native histograms enabled), curl and browsers get text 0.0.4.
//! `Content-Type` is always set. With `Accept-Encoding: gzip` (weights
//! honoured: `gzip;q=0` means no), the body is gzipped, with
//! `Content-Encoding: gzip`; a scrape always sends
//! `Vary: Accept-Encoding`.
//!
//! # Connections
//! The standalone server accepts every connection at once and keeps at
//! most [`max_connections`](ServerBuilder::max_connections) (64): over
//! that, a newcomer takes the place of the connection idle longest (or
//! stuck longest on its request head or its response), or, when every
//! connection is busy answering, gets `503` with `Retry-After: 1` at
//! once. Idle sockets, slow request heads and idle keep-alive
//! connections cannot keep Prometheus out, and no client waits in the
//! listen backlog. Request heads have 10 s, idle connections 90 s (see
//! the table on [`ServerBuilder`]).
//!
//! # Cost to the application
//! None on its threads: updates are per-thread and a scrape reads them
//! without blocking writers. Scrapes are encoded on the server's threads
//! into pooled buffers that are reused from one scrape to the next.
//!
//! # Features
//! - `text`, `openmetrics`, `protobuf` (all default): the formats offered.
//! - `tls`: `ServerBuilder::tls_pem` (HTTPS), rustls with the *ring* provider.
//! - `tower`: `tower::Service` for [`MetricsService`] (the small
//!   `tower-service` crate), for axum and other tower stacks.
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod connections;
mod error;
mod gzip;
mod limits;
mod probes;
mod routes;
mod self_metrics;
mod server;
mod service;
#[cfg(feature = "tls")]
mod tls;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

pub use error::Error;
pub use probes::{HealthAnswer, HealthCheck, StatsJson};
pub use server::{Server, ServerBuilder, ServerHandle};
pub use service::{MetricsService, ResponseFuture};

/// Where a [`Server`] listens unless told otherwise: `127.0.0.1:9464`,
/// loopback only (9464 is the port OpenTelemetry's Prometheus exporters
/// use by default).
pub const DEFAULT_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9464));
