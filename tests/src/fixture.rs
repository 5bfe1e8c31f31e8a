//! The registry every format test encodes (in progress).
