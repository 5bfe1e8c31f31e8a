//! The standalone server's table of live connections: what each one is
//! doing and since when, so that a newcomer over `max_connections` takes
//! the slot of the connection that has been waiting longest instead of
//! queueing behind it, and the `503` for a newcomer when none can make
//! room.
//!
//! Every operation is a hash-map and an ordered-set step under one
//! uncontended lock (all connections run on the server's one thread):
//! O(log n) per accept, eviction or change of phase, never a scan.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::self_metrics::{CloseReason, ConnectionMetrics};

/// How long a connection that is reading a request head (TLS handshake
/// included) or sending a response is safe from eviction. Clients that
/// connect at the same moment thus get `503` rather than cutting each
/// other off before their requests arrive; to crowd a scrape out, an
/// attacker has to open `max_connections` connections every 250 ms, a
/// flood rather than idle sockets.
pub(crate) const EVICTION_GRACE: Duration = Duration::from_millis(250);

/// What a rejected newcomer gets: written without reading its request.
pub(crate) const BUSY_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: text/plain; charset=utf-8\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 21\r\n\
\r\n\
Too many connections\n";

/// How long a rejected newcomer may take to receive [`BUSY_RESPONSE`]
/// and close its end; then its socket is closed regardless.
pub(crate) const REJECT_TIMEOUT: Duration = Duration::from_secs(1);

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Idle keep-alive since the instant: its response is sent, no next
    /// request has begun. Evicted first, whatever its age.
    Idle(Instant),
    /// Reading a request head (or the TLS handshake) since the instant.
    Head(Instant),
    /// Sending a response since the instant (the client reads slowly, or
    /// not at all).
    Sending(Instant),
    /// Computing a response: never evicted.
    Computing,
}

impl Phase {
    /// The eviction queue this phase waits in (lower goes first) and its
    /// key, or `None` for a phase that is never evicted.
    fn queue(self) -> Option<(usize, Instant)> {
        match self {
            Phase::Idle(since) => Some((0, since)),
            Phase::Head(since) => Some((1, since)),
            Phase::Sending(since) => Some((2, since)),
            Phase::Computing => None,
        }
    }
}

/// The connections of one server, at most `max` of them.
#[derive(Debug)]
pub(crate) struct ConnectionTable {
    max: usize,
    table: Mutex<Table>,
    metrics: Option<ConnectionMetrics>,
}

#[derive(Debug)]
struct Table {
    next_id: u64,
    entries: HashMap<u64, Entry>,
    /// The evictable connections as `(since, id)`, one set per
    /// [`Phase::queue`], oldest first.
    queues: [BTreeSet<(Instant, u64)>; 3],
}

#[derive(Debug)]
struct Entry {
    phase: Phase,
    /// Tells the connection's task to close it.
    evict: oneshot::Sender<()>,
}

impl Table {
    fn insert(&mut self, id: u64, phase: Phase, evict: oneshot::Sender<()>) {
        if let Some((queue, since)) = phase.queue() {
            self.queues[queue].insert((since, id));
        }
        self.entries.insert(id, Entry { phase, evict });
    }

    fn remove(&mut self, id: u64) -> Option<Entry> {
        let entry = self.entries.remove(&id)?;
        if let Some((queue, since)) = entry.phase.queue() {
            self.queues[queue].remove(&(since, id));
        }
        Some(entry)
    }

    /// The connection a newcomer at `now` may replace: the longest idle
    /// one; else the one reading its head longest, else the one sending
    /// longest, if that began at least [`EVICTION_GRACE`] ago.
    fn victim(&self, now: Instant) -> Option<u64> {
        let [idle, head, sending] = &self.queues;
        if let Some(&(_, id)) = idle.first() {
            return Some(id);
        }
        [head, sending].into_iter().find_map(|queue| {
            let &(since, id) = queue.first()?;
            (now.saturating_duration_since(since) >= EVICTION_GRACE).then_some(id)
        })
    }
}

/// A connection's place in the table, given back on drop.
#[derive(Debug)]
pub(crate) struct Slot {
    table: Arc<ConnectionTable>,
    id: u64,
}

/// Resolves when the connection has been evicted: its task then drops
/// the connection, which closes the socket.
#[derive(Debug)]
pub(crate) struct Evicted(oneshot::Receiver<()>);

impl Evicted {
    pub(crate) async fn wait(self) {
        // An error means the table is gone: the server is stopping.
        let _ = self.0.await;
    }
}

impl ConnectionTable {
    pub(crate) fn new(max: usize, metrics: Option<ConnectionMetrics>) -> Arc<Self> {
        Arc::new(Self {
            max,
            table: Mutex::new(Table {
                next_id: 0,
                entries: HashMap::new(),
                queues: Default::default(),
            }),
            metrics,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a connection accepted at `now` (reading its first head
    /// from then), after evicting another connection if the table is
    /// full; `None` when nothing can be evicted: the newcomer is to be
    /// rejected (counted here).
    pub(crate) fn admit(self: &Arc<Self>, now: Instant) -> Option<(Slot, Evicted)> {
        let mut table = self.lock();
        if table.entries.len() >= self.max {
            let Some(victim) = table.victim(now) else {
                self.closed(CloseReason::Rejected);
                return None;
            };
            if let Some(entry) = table.remove(victim) {
                // The receiver is gone if the task is already ending.
                let _ = entry.evict.send(());
                self.closed(CloseReason::Evicted);
            }
        }
        let id = table.next_id;
        table.next_id += 1;
        let (evict, evicted) = oneshot::channel();
        table.insert(id, Phase::Head(now), evict);
        self.set_open(table.entries.len());
        let slot = Slot {
            table: Arc::clone(self),
            id,
        };
        Some((slot, Evicted(evicted)))
    }

    pub(crate) fn closed(&self, reason: CloseReason) {
        if let Some(metrics) = &self.metrics {
            metrics.closed(reason);
        }
    }

    fn set_open(&self, open: usize) {
        if let Some(metrics) = &self.metrics {
            metrics.set_open(open);
        }
    }
}

impl Slot {
    /// The connection moved on to `phase` (nothing if it was evicted).
    pub(crate) fn set(&self, phase: Phase) {
        let mut table = self.table.lock();
        if let Some(entry) = table.remove(self.id) {
            table.insert(self.id, phase, entry.evict);
        }
    }

    /// The server closes the connection for `reason`: it leaves the table
    /// now and is counted, unless it was evicted already (counted then).
    pub(crate) fn closing(&self, reason: CloseReason) {
        let mut table = self.table.lock();
        if table.remove(self.id).is_some() {
            self.table.set_open(table.entries.len());
            self.table.closed(reason);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.table.lock();
        if table.remove(self.id).is_some() {
            self.table.set_open(table.entries.len());
        }
    }
}

/// Answers a rejected newcomer with [`BUSY_RESPONSE`], then reads and
/// discards what it sends until it closes, so that closing does not
/// reset the connection before the client has read the answer; all
/// within [`REJECT_TIMEOUT`].
pub(crate) async fn answer_busy(mut stream: TcpStream) {
    let answered = async {
        stream.write_all(BUSY_RESPONSE).await?;
        stream.shutdown().await?;
        let mut discard = [0u8; 1024];
        while stream.read(&mut discard).await? != 0 {}
        Ok::<(), io::Error>(())
    };
    // Whatever happened, dropping the stream closes it.
    let _ = tokio::time::timeout(REJECT_TIMEOUT, answered).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_response_declares_its_body_length() {
        let text = std::str::from_utf8(BUSY_RESPONSE).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("\r\ncontent-length: {}", body.len())));
    }

    #[test]
    fn evicts_idle_first_then_stale_heads_never_computing() {
        let table = ConnectionTable::new(3, None);
        let t0 = Instant::now();
        let (a, _a) = table.admit(t0).unwrap();
        let (b, _b) = table.admit(t0).unwrap();
        let (c, _c) = table.admit(t0).unwrap();
        a.set(Phase::Computing);
        b.set(Phase::Sending(t0));
        // c reads its head since t0: all three too young or computing.
        let soon = t0 + EVICTION_GRACE / 2;
        assert!(table.admit(soon).is_none(), "rejected");
        // Once the grace is over, the head goes before the sender.
        let later = t0 + EVICTION_GRACE;
        let (d, mut d_evicted) = table.admit(later).unwrap();
        assert_eq!(table.lock().entries.len(), 3);
        assert!(!table.lock().entries.contains_key(&c.id));
        let (e, _e) = table.admit(later).unwrap();
        assert!(!table.lock().entries.contains_key(&b.id), "then the sender");
        // An idle connection goes at once, however young.
        d.set(Phase::Idle(later));
        let (_f, _f_evicted) = table.admit(later).unwrap();
        assert!(d_evicted.0.try_recv().is_ok(), "d was told to close");
        // Only a is left of the first ones (computing), then e and f.
        let table_ids: Vec<u64> = {
            let mut ids: Vec<u64> = table.lock().entries.keys().copied().collect();
            ids.sort_unstable();
            ids
        };
        assert_eq!(table_ids, [a.id, e.id, e.id + 1]);
        // Dropping an evicted slot changes nothing; a live one frees room.
        drop((b, c, d));
        assert_eq!(table.lock().entries.len(), 3);
        drop(e);
        assert_eq!(table.lock().entries.len(), 2);
        assert!(table.lock().queues.iter().all(|q| q.len() <= 1));
    }
}
