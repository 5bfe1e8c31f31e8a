//! A strict parser for text 0.0.4 and OpenMetrics (in progress).
