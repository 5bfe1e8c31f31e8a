//! The exposition formats this build can write.

/// An exposition format. A variant exists only when its cargo feature is on,
/// so a format that is not compiled in cannot be named, chosen or encoded.
///
/// The enum is `#[non_exhaustive]`: cargo unifies features across a build,
/// so another crate turning on `protobuf` must not break your `match`, and
/// new formats (OpenMetrics 2.0) can come in a minor release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Prometheus text format 0.0.4 (feature `text`, on by default).
    #[cfg(feature = "text")]
    #[cfg_attr(docsrs, doc(cfg(feature = "text")))]
    Text,
    /// OpenMetrics text 1.0.0 (feature `openmetrics`).
    #[cfg(feature = "openmetrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "openmetrics")))]
    OpenMetrics,
    /// Length-delimited `io.prometheus.client.MetricFamily` protobuf
    /// messages (feature `protobuf`).
    #[cfg(feature = "protobuf")]
    #[cfg_attr(docsrs, doc(cfg(feature = "protobuf")))]
    Protobuf,
}

/// Every compiled-in format, most preferred first.
const AVAILABLE: &[Format] = &[
    #[cfg(feature = "text")]
    Format::Text,
    #[cfg(feature = "openmetrics")]
    Format::OpenMetrics,
    #[cfg(feature = "protobuf")]
    Format::Protobuf,
];

impl Format {
    /// The value of the `Content-Type` response header for a body in this
    /// format, taken from the encoder crate.
    ///
    /// ```
    /// # #[cfg(feature = "text")] {
    /// use hotmetrics_exposition::Format;
    ///
    /// assert_eq!(Format::Text.content_type(), "text/plain; version=0.0.4; charset=utf-8");
    /// # }
    /// ```
    pub fn content_type(self) -> &'static str {
        match self {
            #[cfg(feature = "text")]
            Format::Text => hotmetrics_text::TextEncoder::CONTENT_TYPE,
            #[cfg(feature = "openmetrics")]
            Format::OpenMetrics => hotmetrics_text::OpenMetricsEncoder::CONTENT_TYPE,
            #[cfg(feature = "protobuf")]
            Format::Protobuf => hotmetrics_protobuf::ProtobufEncoder::CONTENT_TYPE,
        }
    }

    /// A short lowercase name for labels and logs: `text`, `openmetrics`,
    /// `protobuf`.
    ///
    /// ```
    /// # #[cfg(feature = "text")] {
    /// use hotmetrics_exposition::Format;
    ///
    /// assert_eq!(Format::Text.name(), "text");
    /// # }
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "text")]
            Format::Text => "text",
            #[cfg(feature = "openmetrics")]
            Format::OpenMetrics => "openmetrics",
            #[cfg(feature = "protobuf")]
            Format::Protobuf => "protobuf",
        }
    }

    /// Every compiled-in format, in the server's order of preference: text
    /// 0.0.4, OpenMetrics, protobuf. Empty when no format feature is on.
    ///
    /// The first one is the fallback of [`negotiate`](crate::negotiate).
    pub fn available() -> &'static [Format] {
        AVAILABLE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_matches_features() {
        let want = usize::from(cfg!(feature = "text"))
            + usize::from(cfg!(feature = "openmetrics"))
            + usize::from(cfg!(feature = "protobuf"));
        assert_eq!(Format::available().len(), want);
        #[cfg(feature = "text")]
        assert_eq!(Format::available()[0], Format::Text);
    }

    #[test]
    #[cfg(any(feature = "text", feature = "openmetrics", feature = "protobuf"))]
    fn content_types() {
        for &format in Format::available() {
            let media_type = format.content_type().split(';').next().unwrap();
            let want: &str = match format {
                #[cfg(feature = "text")]
                Format::Text => "text/plain",
                #[cfg(feature = "openmetrics")]
                Format::OpenMetrics => "application/openmetrics-text",
                #[cfg(feature = "protobuf")]
                Format::Protobuf => "application/vnd.google.protobuf",
            };
            assert_eq!(media_type, want);
        }
        #[cfg(feature = "text")]
        assert_eq!(
            Format::Text.content_type(),
            "text/plain; version=0.0.4; charset=utf-8"
        );
        #[cfg(feature = "openmetrics")]
        assert_eq!(
            Format::OpenMetrics.content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        #[cfg(feature = "protobuf")]
        assert_eq!(
            Format::Protobuf.content_type(),
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
        );
    }
}
