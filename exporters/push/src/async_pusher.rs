//! [`AsyncPusher`]: a [`Pusher`] for tokio code, run on tokio's blocking
//! pool so that pushes never block a runtime thread.

use std::fmt;
use std::sync::Arc;

use hotmetrics_core::MetricSource;
use tokio::sync::Mutex;

use crate::{Error, Format, Pusher};

/// A [`Pusher`] for async code on tokio: each push runs the blocking
/// client on tokio's blocking pool ([`spawn_blocking`]), so the task that
/// awaits it leaves its runtime thread free for other tasks, even when the
/// gateway takes the whole timeout to answer.
///
/// Made by [`PusherBuilder::build_async`](crate::PusherBuilder::build_async)
/// or from a [`Pusher`]. The source is taken by value, because it travels
/// to the blocking thread: a [`Registry`](hotmetrics_core::Registry) (a
/// clone is an `Arc` clone), an `Arc` of any
/// [`MetricSource`], or a `&'static` one. The pusher keeps its encoder and
/// body buffers from one push to the next, as [`Pusher`] does.
///
/// Cloning is cheap and the clones share the one pusher: their pushes run
/// one at a time, in the order they were first awaited. A push whose future is
/// dropped before it got its turn sends nothing; once it runs on the
/// blocking pool it completes there (a blocking request cannot be
/// interrupted), within the pusher's timeout, and the next push waits for
/// it.
///
/// Awaited outside a tokio runtime, a push fails with [`Error::Runtime`]. A
/// panic in a collector during a push is resumed in the awaiting task, as
/// it would be with [`Pusher::push`].
///
/// ```no_run
/// # async fn job() -> Result<(), hotmetrics_push::Error> {
/// use hotmetrics_core::Registry;
/// use hotmetrics_push::Pusher;
///
/// let registry = Registry::new();
/// let done = registry.counter(("batches_done", "Batches processed.")).unwrap();
///
/// let pusher = Pusher::builder("http://pushgateway:9091", "nightly_import")
///     .grouping("instance", "worker-1")
///     .build_async()?;
/// done.inc();
/// pusher.push(registry.clone()).await?; // PUT, on the blocking pool
/// pusher.push_add(registry).await?; // POST
/// pusher.delete().await?; // DELETE
/// # Ok(())
/// # }
/// ```
///
/// [`spawn_blocking`]: tokio::task::spawn_blocking
#[derive(Clone)]
pub struct AsyncPusher {
    pusher: Arc<Mutex<Pusher>>,
    /// Copies of the pusher's, readable without waiting for a push.
    url: Arc<str>,
    format: Format,
}

impl From<Pusher> for AsyncPusher {
    fn from(pusher: Pusher) -> Self {
        Self {
            url: pusher.url().into(),
            format: pusher.format(),
            pusher: Arc::new(Mutex::new(pusher)),
        }
    }
}

impl AsyncPusher {
    /// [`Pusher::push`] on the blocking pool: replaces everything in the
    /// group with `source`'s metrics (`PUT`).
    pub async fn push<S>(&self, source: S) -> Result<(), Error>
    where
        S: MetricSource + Send + 'static,
    {
        self.run(move |pusher| pusher.push(&source)).await
    }

    /// [`Pusher::push_add`] on the blocking pool: replaces the group's
    /// families that `source` also has, keeping the others (`POST`).
    pub async fn push_add<S>(&self, source: S) -> Result<(), Error>
    where
        S: MetricSource + Send + 'static,
    {
        self.run(move |pusher| pusher.push_add(&source)).await
    }

    /// [`Pusher::delete`] on the blocking pool: deletes the group
    /// (`DELETE`).
    pub async fn delete(&self) -> Result<(), Error> {
        self.run(Pusher::delete).await
    }

    /// The group's URL: the gateway's, then `/metrics/job/<job>...`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The body format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Waits for the pusher, then runs `request` with it on the blocking
    /// pool; the lock goes with it, so it is released when the request
    /// ends even if the awaiting future was dropped.
    async fn run<F>(&self, request: F) -> Result<(), Error>
    where
        F: FnOnce(&mut Pusher) -> Result<(), Error> + Send + 'static,
    {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Runtime("an AsyncPusher push was awaited outside a tokio runtime")
        })?;
        let mut pusher = Arc::clone(&self.pusher).lock_owned().await;
        match runtime.spawn_blocking(move || request(&mut pusher)).await {
            Ok(result) => result,
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => Err(Error::Runtime(
                    "the tokio runtime shut down before the push could run",
                )),
            },
        }
    }
}

/// The group's URL and the format; the rest is behind the lock.
impl fmt::Debug for AsyncPusher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncPusher")
            .field("url", &self.url)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn async_pushers_move_between_tasks() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<AsyncPusher>();
    }

    #[test]
    fn keeps_the_pushers_url_and_format() {
        let pusher = Pusher::builder("http://gw:9091", "j")
            .grouping("instance", "a")
            .format(Format::Text)
            .build_async()
            .unwrap();
        assert_eq!(pusher.url(), "http://gw:9091/metrics/job/j/instance/a");
        assert_eq!(pusher.format(), Format::Text);
        assert_eq!(
            format!("{pusher:?}"),
            "AsyncPusher { url: \"http://gw:9091/metrics/job/j/instance/a\", format: Text, .. }"
        );
    }
}
