//! Pushes a hotmetrics [`Registry`](hotmetrics_core::Registry) to a
//! Prometheus [Pushgateway](https://github.com/prometheus/pushgateway), for
//! batch jobs and consumers that Prometheus cannot scrape.
//!
//! ```no_run
//! use std::time::Duration;
//! use hotmetrics_core::Registry;
//! use hotmetrics_push::{Format, Pusher};
//!
//! let registry = Registry::new();
//! let done = registry.counter(("batches_done", "Batches processed."))?;
//!
//! let mut pusher = Pusher::builder("https://pushgateway:9091", "nightly_import")
//!     .grouping("instance", "worker-1")
//!     .grouping("source", "s3://bucket/path") // has '/': sent as base64
//!     .format(Format::Protobuf) // the default
//!     .timeout(Duration::from_secs(5))
//!     .basic_auth("pusher", "secret")
//!     .build()?;
//!
//! done.inc();
//! pusher.push(&registry)?; // PUT: the group now holds exactly this registry
//! pusher.push_add(&registry)?; // POST: replaces only the families pushed
//! pusher.delete()?; // DELETE: the group is gone
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The grouping key
//! A group is named by the job and the grouping labels, in the path
//! `/metrics/job/<job>{/<label>/<value>}`. Values are percent-encoded; a
//! value the path cannot carry as is (one holding `/`, an empty one, `.`
//! and `..`) is sent as `<label>@base64/<base64url of the value>`, with
//! `=` padding (`@base64/=` for the empty value). The gateway adds the
//! grouping labels to every pushed series, and `instance=""` when the key
//! has no `instance`.
//!
//! ```
//! use hotmetrics_push::Pusher;
//!
//! let pusher = Pusher::builder("http://127.0.0.1:9091/pg", "a/b")
//!     .grouping("instance", "w 1")
//!     .grouping("empty", "")
//!     .build()?;
//! assert_eq!(
//!     pusher.url(),
//!     "http://127.0.0.1:9091/pg/metrics/job@base64/YS9i/instance/w%201/empty@base64/="
//! );
//! # Ok::<(), hotmetrics_push::Error>(())
//! ```
//!
//! [`PusherBuilder::build`] checks the key: the job must not be empty;
//! grouping label names must be valid Prometheus label names (not `__*`),
//! not `job`, and unique. Each push also checks that no pushed series
//! carries `job` or a grouping label itself ([`Error::LabelConflict`]): the
//! gateway would silently overwrite it. The check rides along with the
//! encoding (one visit of the registry), so what is checked is what would
//! be sent; a push that fails it sends nothing. Anything that is a
//! [`MetricSource`](hotmetrics_core::MetricSource) can be pushed, not only
//! a `Registry`.
//!
//! # Formats
//! Pushes are encoded by [`hotmetrics_exposition::ScrapeEncoder`] in
//! [`Format::Protobuf`] (the default, what the Go client sends) or
//! [`Format::Text`]. The Pushgateway does not parse OpenMetrics:
//! `Format::OpenMetrics`, which exists when a crate of the build turns on
//! `hotmetrics-exposition/openmetrics`, is refused by
//! [`PusherBuilder::build`] ([`Error::UnsupportedFormat`]).
//!
//! # From async code
//! [`Pusher::push`] **blocks the calling thread** until the gateway has
//! answered (up to the [timeout](PusherBuilder::timeout), 10 s by
//! default): called in an async task, it stalls every other task of that
//! runtime thread meanwhile. Feature `tokio` adds [`AsyncPusher`] (made
//! by `PusherBuilder::build_async`), whose pushes run on tokio's blocking
//! pool and are awaited; it takes the source by value (a `Registry`
//! clone, an `Arc`) because the source travels to that pool:
//!
//! ```
//! async fn report(registry: hotmetrics_core::Registry) -> Result<(), hotmetrics_push::Error> {
//!     let pusher = hotmetrics_push::Pusher::builder("http://127.0.0.1:9091", "importer")
//!         .build_async()?;
//!     pusher.push(registry).await // the runtime thread stays free
//! }
//! ```
//!
//! # The client
//! A blocking HTTP/1.1 client, [`ureq`]: pushes are infrequent and most
//! consumer loops are not async, so it needs no runtime. Each request
//! opens its own connection (`Connection: close`); proxy environment
//! variables (`HTTP_PROXY`, ...) are not used.
//!
//! - **Timeout**: one deadline (default 10 s, [`PusherBuilder::timeout`])
//!   covers the whole request: name resolution (ureq resolves on a helper
//!   thread, so a hanging resolver is bounded too), connecting, the TLS
//!   handshake, sending and reading the whole response.
//! - **https**: `https://` URLs speak TLS through rustls (the `ring`
//!   provider, or the process default if the application installed one).
//!   The gateway's certificate is checked against the system's root
//!   certificates (`/etc/ssl/certs` on Debian, the `ca-certificates`
//!   package; `SSL_CERT_FILE`/`SSL_CERT_DIR` override), loaded by
//!   [`PusherBuilder::build`], plus the CAs given with
//!   [`PusherBuilder::ca_pem`]. There is no switch to skip the check. A
//!   certificate the roots do not vouch for is [`Error::Tls`].
//! - **Responses**: any 2xx is success; every other status (redirects
//!   included: they are not followed) is [`Error::Status`] with the
//!   gateway's message. At most 64 KiB of a response body is read.
//!   A refusal sent before the body was read (nginx's 413, the gateway's
//!   401) is that error too when the server then reads or discards the
//!   body: nginx reads all of it, the Pushgateway up to 256 KiB (both
//!   tested with 2 MB pushes, the gateway's gzip-compressed). A server that
//!   closes the connection under a larger body makes it
//!   [`Error::ClosedEarly`]: the client cannot read an answer sent before
//!   its body was written.
//! - **Compression**: [`PusherBuilder::gzip`] sends bodies gzip-compressed.
//! - **Buffers**: the [`Pusher`] keeps its encoder and body buffers, so
//!   steady-state pushes reuse their memory (a gzip push also sets up a
//!   compressor each time: a few hundred KiB, freed after the push).
//!
//! A gateway behind a private CA:
//!
//! ```no_run
//! use hotmetrics_push::Pusher;
//!
//! let ca = std::fs::read("/etc/pushgateway/ca.pem")?;
//! let pusher = Pusher::builder("https://pushgateway.internal:9091", "nightly_import")
//!     .ca_pem(ca)
//!     .build()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//! - `tokio`: [`AsyncPusher`] and `PusherBuilder::build_async`, pushes
//!   awaited from tokio code.
//!
#![cfg_attr(feature = "tokio", doc = "[`AsyncPusher`]: crate::AsyncPusher")]
#![cfg_attr(
    not(feature = "tokio"),
    doc = "[`AsyncPusher`]: https://docs.rs/hotmetrics-push/latest/hotmetrics_push/struct.AsyncPusher.html"
)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "tokio")]
mod async_pusher;
mod builder;
mod client;
mod error;
mod gateway;
mod grouping;
mod pusher;
mod tls;

use std::time::Duration;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use async_pusher::AsyncPusher;
pub use builder::PusherBuilder;
pub use error::Error;
pub use hotmetrics_exposition::Format;
pub use pusher::Pusher;

/// The default [`PusherBuilder::timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
