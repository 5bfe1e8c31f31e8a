//! The hot path: every metric update ends here.
//!
//! A thread's first update leases an arena from the global engine and keeps
//! it in a thread-local until the thread exits. Every later update is a
//! thread-local read, a bucket pointer load and a plain load + store on a
//! cell no other thread writes.

use crate::arena::Arena;
use crate::chunked::Loc;
use crate::engine::{Engine, Lease};
use std::sync::LazyLock;

static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::new);

thread_local! {
    static LEASE: Lease<'static> = ENGINE.lease();
}

/// The process-wide engine that every metric writes into.
pub(crate) fn engine() -> &'static Engine {
    &ENGINE
}

/// Where the calling thread writes: its own arena, or the shared one when the
/// thread-local is already destroyed (an update from another thread-local's
/// destructor while the thread exits). Nothing is dropped either way.
#[derive(Clone, Copy)]
pub(crate) enum Writer {
    Owned(&'static Arena),
    Shared(&'static Arena),
}

#[inline]
pub(crate) fn writer() -> Writer {
    match LEASE.try_with(|l| l.arena()) {
        Ok(a) => Writer::Owned(a),
        Err(_) => Writer::Shared(ENGINE.shared()),
    }
}

impl Writer {
    #[inline]
    pub(crate) fn add_u64(self, loc: Loc, n: u64) {
        match self {
            Writer::Owned(a) => a.add_u64_owned(loc, n),
            Writer::Shared(a) => a.add_u64_atomic(loc, n),
        }
    }

    /// Adds `n` to a narrow slot's count (`spill.rs`).
    #[inline]
    pub(crate) fn add_narrow(self, loc: Loc, n: u64) {
        match self {
            Writer::Owned(a) => a.add_narrow_owned(loc, n, || ENGINE.spill()),
            Writer::Shared(_) => ENGINE.spill().add(loc.index(), n),
        }
    }

    #[inline]
    pub(crate) fn add_f64(self, loc: Loc, v: f64) {
        match self {
            Writer::Owned(a) => a.add_f64_owned(loc, v),
            Writer::Shared(a) => a.add_f64_atomic(loc, v),
        }
    }
}
