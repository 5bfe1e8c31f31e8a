//! prost mirror of metrics.proto (in progress).
