//! One encoder over every compiled-in format.

use bytes::BytesMut;
use hotmetrics_core::{Encoder, Escaping, MetricSource};

use crate::{Format, Negotiated, negotiate};

/// Encodes a registry in any compiled-in [`Format`].
///
/// It holds one encoder per compiled-in format, created up front (they are
/// small and allocate nothing until used), and each keeps its scratch space
/// between scrapes: keep one `ScrapeEncoder` per server (behind a `Mutex`
/// if scrapes run concurrently) and a reused [`BytesMut`], and a warmed-up
/// scrape allocates nothing.
///
/// ```
/// # #[cfg(feature = "text")] {
/// use bytes::BytesMut;
/// use hotmetrics_core::Registry;
/// use hotmetrics_exposition::{Format, ScrapeEncoder};
///
/// let registry = Registry::new();
/// registry.gauge(("queue_depth", "Messages waiting.")).unwrap().set(7);
///
/// let mut encoder = ScrapeEncoder::new();
/// let mut body = BytesMut::new();
/// encoder.encode(Format::Text, &registry, &mut body);
/// assert_eq!(
///     &body[..],
///     b"# HELP queue_depth Messages waiting.\n\
///       ## TYPE queue_depth gauge\n\
///       queue_depth 7\n"
/// );
/// # }
/// ```
#[derive(Debug, Default)]
pub struct ScrapeEncoder {
    #[cfg(feature = "text")]
    text: hotmetrics_text::TextEncoder,
    #[cfg(feature = "openmetrics")]
    openmetrics: hotmetrics_text::OpenMetricsEncoder,
    #[cfg(feature = "protobuf")]
    protobuf: hotmetrics_protobuf::ProtobufEncoder,
}

impl ScrapeEncoder {
    /// An encoder for every compiled-in format.
    pub fn new() -> Self {
        Self::default()
    }

    /// The encoder of `format`, through the format seam every server and
    /// client uses, escaping names with the default scheme
    /// ([`Escaping::Underscores`]).
    pub fn encoder(&mut self, format: Format) -> &mut dyn Encoder {
        self.escaping_encoder(format, Escaping::default())
    }

    /// The encoder of `format`, set to write names as `escaping` says.
    // With no format compiled in, `Format` is uninhabited.
    #[cfg_attr(
        not(any(feature = "text", feature = "openmetrics", feature = "protobuf")),
        allow(unused_variables)
    )]
    fn escaping_encoder(&mut self, format: Format, escaping: Escaping) -> &mut dyn Encoder {
        match format {
            #[cfg(feature = "text")]
            Format::Text => {
                self.text.set_escaping(escaping);
                &mut self.text
            }
            #[cfg(feature = "openmetrics")]
            Format::OpenMetrics => {
                self.openmetrics.set_escaping(escaping);
                &mut self.openmetrics
            }
            #[cfg(feature = "protobuf")]
            Format::Protobuf => {
                self.protobuf.set_escaping(escaping);
                &mut self.protobuf
            }
        }
    }

    /// Appends the exposition of `source` (a
    /// [`Registry`](hotmetrics_core::Registry)) in `format` to `out` (clear
    /// `out` first to reuse it for a new scrape), names that are not
    /// legacy-valid escaped with underscores (as for a scrape that names
    /// no scheme); returns the number of series written.
    // With no format compiled in, `Format` is uninhabited.
    #[cfg_attr(
        not(any(feature = "text", feature = "openmetrics", feature = "protobuf")),
        allow(unreachable_code, unused_variables)
    )]
    pub fn encode(
        &mut self,
        format: Format,
        source: &dyn MetricSource,
        out: &mut BytesMut,
    ) -> usize {
        self.encode_escaped(format, Escaping::default(), source, out)
    }

    /// [`encode`](Self::encode), with names that are not legacy-valid
    /// written as `escaping` says ([`Negotiated::escaping`]).
    #[cfg_attr(
        not(any(feature = "text", feature = "openmetrics", feature = "protobuf")),
        allow(unreachable_code, unused_variables)
    )]
    pub fn encode_escaped(
        &mut self,
        format: Format,
        escaping: Escaping,
        source: &dyn MetricSource,
        out: &mut BytesMut,
    ) -> usize {
        self.escaping_encoder(format, escaping).encode(source, out)
    }

    /// What an HTTP handler needs in one call: [`negotiate`] a format and
    /// an escaping scheme from the `Accept` header, append the source's
    /// exposition in them to `out`, and return the choice, whose
    /// [`content_type`](Negotiated::content_type) goes in the
    /// `Content-Type` header. `None`, with nothing written, only when no
    /// format is compiled in.
    ///
    /// ```
    /// # #[cfg(feature = "text")] {
    /// use bytes::BytesMut;
    /// use hotmetrics_core::Registry;
    /// use hotmetrics_exposition::{Format, ScrapeEncoder};
    ///
    /// let registry = Registry::new();
    /// registry.counter(("scrapes", "Scrapes served.")).unwrap().inc();
    ///
    /// // Once per server:
    /// let mut encoder = ScrapeEncoder::new();
    /// let mut body = BytesMut::new();
    ///
    /// // Per request:
    /// let accept = Some("text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
    /// body.clear();
    /// let chosen = encoder.encode_negotiated(accept, &registry, &mut body).unwrap();
    /// assert_eq!(chosen.format(), Format::Text);
    /// assert_eq!(chosen.content_type(), "text/plain; version=0.0.4; charset=utf-8");
    /// assert_eq!(
    ///     &body[..],
    ///     b"# HELP scrapes_total Scrapes served.\n\
    ///       ## TYPE scrapes_total counter\n\
    ///       scrapes_total 1\n"
    /// );
    /// # }
    /// ```
    // With no format compiled in, `Format` is uninhabited and so is the
    // code after reading one.
    #[cfg_attr(
        not(any(feature = "text", feature = "openmetrics", feature = "protobuf")),
        allow(unreachable_code, unused_variables)
    )]
    pub fn encode_negotiated(
        &mut self,
        accept: Option<&str>,
        source: &dyn MetricSource,
        out: &mut BytesMut,
    ) -> Option<Negotiated> {
        let chosen = negotiate(accept)?;
        self.encode_escaped(chosen.format(), chosen.escaping(), source, out);
        Some(chosen)
    }
}
