//! [`Pusher`]: pushes registries to one group of a Pushgateway.

use std::fmt;
use std::time::Duration;

use std::io::Write;

use bytes::BytesMut;
use flate2::Compression;
use flate2::write::GzEncoder;
use hotmetrics_core::MetricSource;
use hotmetrics_exposition::ScrapeEncoder;
use ureq::http::Method;

use crate::client::Client;
use crate::{Error, Format, PusherBuilder, grouping};

/// Pushes registries to one group of a Pushgateway. Made by
/// [`Pusher::builder`]; keep it between pushes, it reuses its encoder and
/// body buffer.
///
/// Every call blocks the calling thread until the gateway has answered
/// (at most the [timeout](PusherBuilder::timeout)). From tokio code, use
/// `AsyncPusher` (feature `tokio`), which runs these calls on tokio's
/// blocking pool.
pub struct Pusher {
    client: Client,
    /// The group's full URL.
    url: String,
    grouping: Vec<(String, String)>,
    format: Format,
    encoder: ScrapeEncoder,
    body: BytesMut,
    /// The gzip-compressed body, when pushes are compressed.
    gzipped: Option<Vec<u8>>,
}

impl Pusher {
    /// Starts configuring a pusher to the gateway at `url`
    /// (`http[s]://host[:port][/path-prefix]`, port 80 or 443 if none is
    /// given) for the job `job`.
    pub fn builder(url: impl Into<String>, job: impl Into<String>) -> PusherBuilder {
        PusherBuilder::new(url.into(), job.into())
    }

    pub(crate) fn new(
        url: String,
        client: Client,
        grouping: Vec<(String, String)>,
        format: Format,
        gzip: bool,
    ) -> Self {
        Self {
            client,
            url,
            grouping,
            format,
            encoder: ScrapeEncoder::new(),
            body: BytesMut::new(),
            gzipped: gzip.then(Vec::new),
        }
    }

    /// Replaces everything in the group with `registry`'s metrics (`PUT`).
    /// Families no longer in the registry disappear from the group.
    /// `registry` is a [`Registry`](hotmetrics_core::Registry) or any other
    /// [`MetricSource`].
    pub fn push(&mut self, registry: &dyn MetricSource) -> Result<(), Error> {
        self.send(Method::PUT, registry)
    }

    /// Replaces the group's families that `registry` also has, keeping the
    /// others (`POST`).
    pub fn push_add(&mut self, registry: &dyn MetricSource) -> Result<(), Error> {
        self.send(Method::POST, registry)
    }

    /// Deletes the group and all its metrics (`DELETE`). The Pushgateway
    /// answers 202 Accepted and applies the deletion from its write queue,
    /// so a scrape of the gateway right after may still show the group for
    /// a moment.
    pub fn delete(&mut self) -> Result<(), Error> {
        self.client.send_empty(Method::DELETE)
    }

    /// The group's URL: the gateway's, then `/metrics/job/<job>...`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The body format.
    pub fn format(&self) -> Format {
        self.format
    }

    #[cfg(test)]
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Encodes `source` and checks it for grouping-label conflicts in one
    /// visit; sends only a body that passed.
    fn send(&mut self, method: Method, source: &dyn MetricSource) -> Result<(), Error> {
        let checked = grouping::Checked::new(source, &self.grouping);
        self.body.clear();
        self.encoder.encode(self.format, &checked, &mut self.body);
        checked.result()?;
        let content_type = self.format.content_type();
        match &mut self.gzipped {
            None => self
                .client
                .send_body(method, content_type, None, &self.body),
            Some(gzipped) => {
                gzipped.clear();
                // Level 1: exposition is repetitive enough that the fastest
                // level already shrinks it most of the way.
                let mut gz = GzEncoder::new(&mut *gzipped, Compression::fast());
                gz.write_all(&self.body)
                    .and_then(|()| gz.finish().map(drop))
                    .map_err(Error::Io)?;
                self.client
                    .send_body(method, content_type, Some("gzip"), gzipped)
            }
        }
    }
}

/// Shows header names only: values may hold credentials.
impl fmt::Debug for Pusher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let timeout: Duration = self.client.timeout();
        f.debug_struct("Pusher")
            .field("url", &self.url)
            .field("format", &self.format)
            .field("gzip", &self.gzipped.is_some())
            .field("timeout", &timeout)
            .field("headers", &self.client.headers().keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushers_move_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Pusher>();
        send_sync::<PusherBuilder>();
        send_sync::<Error>();
    }

    #[test]
    fn builds_the_group_url() {
        let p = Pusher::builder("http://127.0.0.1:9091/pg/", "a/b")
            .grouping("instance", "w 1")
            .grouping("empty", "")
            .build()
            .unwrap();
        assert_eq!(
            p.url(),
            "http://127.0.0.1:9091/pg/metrics/job@base64/YS9i/instance/w%201/empty@base64/="
        );
        assert_eq!(p.format(), Format::Protobuf);
        // The scheme's default port is left out, as in the Host header.
        let p = Pusher::builder("HTTP://GW:80", "j").build().unwrap();
        assert_eq!(p.url(), "http://gw/metrics/job/j");
    }
}
