pub use hotmetrics_core::*;
