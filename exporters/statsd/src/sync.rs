//! Where the timing rings take their atomics from: `std` normally, `loom`
//! under `cfg(loom)`, so the model in `loom_models.rs` explores every
//! interleaving of the real ring (as `hotmetrics-core`'s `sync` does).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
