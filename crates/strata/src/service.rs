//! Embedding strata in an async service (EXT-4): [`AsyncWriter`], a tokio handle whose appends
//! never block the runtime and whose durability is awaited.
//!
//! An append runs on tokio's blocking pool (it may write buffers out, or fsync in `per_batch`
//! mode); waiting for durability holds no thread at all — the writer's commit wakes the waiting
//! tasks through a [`tokio::sync::watch`] channel when the durable watermark passes their ticket.
//!
//! Every wait ends: [`AsyncWriter::durable`] is an error — never a hang — for a ticket this handle
//! never issued, once the writer is closed or abandoned, and once a commit failed (after which
//! nothing more becomes durable in the session). In durability mode `none` nothing is ever
//! fsynced, so `durable` refuses outright instead of acknowledging what a crash would lose.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use strata::model::{Decimal, Event, Payload, Timestamp, Trade};
//!
//! let dir = tempfile::tempdir()?;
//! let archive = strata::archive::Archive::open_dir(dir.path())?;
//! let writer = strata::service::AsyncWriter::open(&archive, Default::default())?;
//! let trade = Event::new(
//!     "feed",
//!     "SPY",
//!     Timestamp::from_nanos(1_705_323_600_000_000_000),
//!     Payload::Trade(Trade {
//!         price: Decimal::from_int(470),
//!         size: Decimal::from_int(100),
//!         side: None,
//!         trade_id: Some("1".into()),
//!         conditions: None,
//!     }),
//! );
//! // Resolves once the batch survives a crash.
//! let outcome = writer.append_durable(vec![trade]).await?;
//! assert_eq!(outcome.accepted, 1);
//! assert!(writer.writer().durable_watermark() >= outcome.last_ticket);
//! writer.close().await?;
//! # Ok(())
//! # }
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use strata_core::config::DurabilityMode;
use strata_ingest::session::SessionReport;
use strata_ingest::writer::{BatchOutcome, WriterOptions};
use strata_ingest::{Ticket, Writer};
use strata_model::Event;
use tokio::sync::watch;

use crate::archive::Archive;
use crate::{Error, Result};

/// Why no ticket above the watermark will become durable any more.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    /// The writer was closed or abandoned (how, for the message).
    Closed(&'static str),
    /// A commit failed (why): nothing more becomes durable in this session.
    Failed(Arc<str>),
}

/// The durable watermark as the async side sees it, and its end once there is one.
#[derive(Debug, Clone, Default)]
struct Durable {
    watermark: Ticket,
    end: Option<End>,
}

/// What the clones of one handle share. The writer's listener holds it only weakly, so once
/// every clone is dropped the channel is gone and the listener does nothing.
#[derive(Debug)]
struct Shared {
    durable: watch::Sender<Durable>,
    /// The highest ticket this handle's appends were given (or the watermark it started from).
    issued: AtomicU64,
}

impl Shared {
    /// Publishes the end (the first one stays): every waiter above the watermark resolves.
    fn end(&self, end: End) {
        self.durable.send_modify(|state| {
            state.end.get_or_insert(end);
        });
    }
}

/// An async handle to a [`Writer`]; clone it freely (clones share the writer).
#[derive(Clone)]
pub struct AsyncWriter {
    writer: Writer,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AsyncWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncWriter")
            .field("session", &self.writer.session_id())
            .field("mode", &self.durability_mode())
            .field("durable", &*self.shared.durable.borrow())
            .finish()
    }
}

fn joined<T>(outcome: std::result::Result<Result<T>, tokio::task::JoinError>) -> Result<T> {
    outcome.unwrap_or_else(|e| {
        Err(Error::Async(format!(
            "the writer task ended without an answer: {e}"
        )))
    })
}

impl AsyncWriter {
    /// Opens a writer session on `archive` ([`Archive::writer`]) and wraps it.
    pub fn open(archive: &Archive, options: WriterOptions) -> Result<AsyncWriter> {
        Ok(AsyncWriter::new(archive.writer(options)?))
    }

    /// Wraps `writer`. From now on the writer's commits wake the tasks waiting for durability;
    /// in the writer's durability mode `none` nothing is ever called durable.
    ///
    /// Tickets are those this handle's appends return: a ticket the writer issued to another
    /// handle and that is not durable yet when [`durable`](Self::durable) is called is refused
    /// as never issued. Closing or abandoning the [`Writer`] underneath directly (not through
    /// this handle) is not seen until its final commit, so close through this handle.
    pub fn new(writer: Writer) -> AsyncWriter {
        let watermark = writer.durable_watermark();
        let (tx, _) = watch::channel(Durable {
            watermark,
            end: None,
        });
        let shared = Arc::new(Shared {
            durable: tx,
            issued: AtomicU64::new(watermark),
        });
        let weak = Arc::downgrade(&shared);
        // The writer has no way to unregister a listener: once every clone of this handle is
        // gone the weak reference is dead and the listener returns at once.
        writer.on_durable(move |ticket, failed| {
            let Some(shared) = weak.upgrade() else {
                return;
            };
            shared.durable.send_modify(|state| {
                state.watermark = state.watermark.max(ticket);
                if let Some(message) = failed {
                    state.end.get_or_insert(End::Failed(Arc::from(message)));
                }
            });
        });
        AsyncWriter { writer, shared }
    }

    /// The writer underneath (for what has no async form: reports, imports).
    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// The durability mode the writer was opened with.
    pub fn durability_mode(&self) -> DurabilityMode {
        self.writer.durability_mode()
    }

    /// Refuses in mode `none`: nothing is fsynced, so nothing may be called durable.
    fn refuse_unsynced(&self, what: &str) -> Result<()> {
        if self.durability_mode() == DurabilityMode::None {
            return Err(Error::Async(format!(
                "{what}: the writer's durability mode is `none` (config key durability.mode), \
                 which never fsyncs, so nothing it writes is durable and nothing may be \
                 acknowledged as such; use `per_batch` or `group_commit`"
            )));
        }
        Ok(())
    }

    /// Records what an error of the writer means for the waiters: a closed writer or a failed
    /// state (a failed fsync, a panic of the caller's code) ends every wait above the watermark.
    fn note(&self, error: &strata_ingest::Error) {
        match error {
            strata_ingest::Error::Closed => self.shared.end(End::Closed("was closed")),
            strata_ingest::Error::SyncFailed { .. } | strata_ingest::Error::Panicked { .. } => {
                self.shared.end(End::Failed(Arc::from(error.to_string())));
            }
            _ => {}
        }
    }

    /// Appends `events` on the blocking pool; resolves once they are written (not yet durable):
    /// await [`durable`](Self::durable) with the outcome's `last_ticket` for that.
    pub async fn append(&self, events: Vec<Event>) -> Result<BatchOutcome> {
        let writer = self.writer.clone();
        let outcome = tokio::task::spawn_blocking(move || writer.append_batch(&events)).await;
        match outcome {
            Ok(Ok(outcome)) => {
                self.shared
                    .issued
                    .fetch_max(outcome.last_ticket, Ordering::AcqRel);
                Ok(outcome)
            }
            Ok(Err(e)) => {
                self.note(&e);
                Err(e.into())
            }
            Err(e) => joined(Err(e)),
        }
    }

    /// Resolves once every event up to `ticket` is durable (survives a crash). An error, never
    /// a hang: at once for a ticket this handle never issued and in durability mode `none`;
    /// when a commit failed first, or the writer was closed or abandoned first.
    pub async fn durable(&self, ticket: Ticket) -> Result<()> {
        self.refuse_unsynced(&format!("ticket {ticket} cannot be awaited as durable"))?;
        let issued = self
            .shared
            .issued
            .load(Ordering::Acquire)
            .max(self.writer.durable_watermark());
        if ticket > issued {
            return Err(Error::Async(format!(
                "ticket {ticket} was never issued (the last this handle's appends got is \
                 {issued}), so it would never become durable"
            )));
        }
        let mut rx = self.shared.durable.subscribe();
        let state = rx
            .wait_for(|state| state.watermark >= ticket || state.end.is_some())
            .await
            .map_err(|_| {
                Error::Async(format!(
                    "the writer went away before ticket {ticket} was durable"
                ))
            })?
            .clone();
        if state.watermark >= ticket {
            return Ok(());
        }
        Err(Error::Async(match state.end {
            Some(End::Failed(reason)) => format!(
                "ticket {ticket} will not become durable (durable up to {}): a commit failed: \
                 {reason}",
                state.watermark
            ),
            Some(End::Closed(how)) => format!(
                "ticket {ticket} will not become durable (durable up to {}): the writer {how} \
                 first",
                state.watermark
            ),
            None => format!("ticket {ticket} is not durable"),
        }))
    }

    /// [`append`](Self::append), then [`durable`](Self::durable): resolves once the batch
    /// survives a crash — the moment to acknowledge it to whoever sent it. Refused before
    /// anything is written in durability mode `none`.
    pub async fn append_durable(&self, events: Vec<Event>) -> Result<BatchOutcome> {
        self.refuse_unsynced("a batch cannot be appended durably")?;
        let outcome = self.append(events).await?;
        self.durable(outcome.last_ticket).await?;
        Ok(outcome)
    }

    /// Makes everything appended so far durable now, instead of at the next group commit (in
    /// mode `none`: hands it to the OS, nothing is fsynced). A failed commit ends every wait
    /// above the watermark.
    pub async fn flush(&self) -> Result<Ticket> {
        let writer = self.writer.clone();
        match tokio::task::spawn_blocking(move || writer.flush()).await {
            Ok(Ok(watermark)) => Ok(watermark),
            Ok(Err(e)) => {
                self.shared
                    .end(End::Failed(Arc::from(format!("the commit failed: {e}"))));
                Err(e.into())
            }
            Err(e) => joined(Err(e)),
        }
    }

    /// Closes the writer (seals every open file, makes everything durable) on the blocking pool.
    /// Every wait for a ticket that did not become durable ends with an error.
    pub async fn close(&self) -> Result<SessionReport> {
        let writer = self.writer.clone();
        let closed = tokio::task::spawn_blocking(move || writer.close()).await;
        match &closed {
            Ok(Ok(_)) => self.shared.end(End::Closed("was closed")),
            Ok(Err(e)) => self.shared.end(End::Failed(Arc::from(format!(
                "closing the writer failed: {e}"
            )))),
            Err(_) => self
                .shared
                .end(End::Closed("closing task ended without an answer")),
        }
        joined(closed.map(|r| r.map_err(Error::from)))
    }

    /// Stops the writer without flushing or sealing — what a crash does — and ends every wait
    /// for a ticket not yet durable with an error. For tests of recovery.
    #[doc(hidden)]
    pub fn abandon(&self) {
        self.writer.clone().abandon();
        self.shared.end(End::Closed("was abandoned"));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::Path;
    use std::time::Duration;

    use strata_core::config::{Config, DurabilityMode};
    use strata_model::{Decimal, Event, Payload, Timestamp, Trade};

    use super::*;

    fn trade(i: i64) -> Event {
        Event::new(
            "feed",
            "SPY",
            Timestamp::from_nanos(1_705_323_600_000_000_000 + i * 1_000_000),
            Payload::Trade(Trade {
                price: Decimal::from_int(470 + i),
                size: Decimal::from_int(100),
                side: None,
                trade_id: Some(i.to_string()),
                conditions: None,
            }),
        )
    }

    /// A handle whose group commit is an hour away: nothing becomes durable unless flushed.
    fn handle(root: &Path, mode: DurabilityMode) -> AsyncWriter {
        let mut config = Config::default();
        config.durability.mode = mode;
        config.durability.group_commit_interval_ms = 3_600_000;
        let archive = Archive::open(root, config).unwrap();
        AsyncWriter::open(&archive, WriterOptions::default()).unwrap()
    }

    /// Resolves `wait` within 10 s, or fails the test (a hang).
    async fn within<T>(what: &str, wait: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("{what} hung"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_ticket_never_issued_is_an_error_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let writer = handle(dir.path(), DurabilityMode::GroupCommit);
        let err = within("durable(5) on a fresh writer", writer.durable(5))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("never issued"), "{err}");
        let outcome = writer.append(vec![trade(1), trade(2)]).await.unwrap();
        assert_eq!(outcome.last_ticket, 2);
        let err = within("durable(3)", writer.durable(3)).await.unwrap_err();
        assert!(
            err.to_string().contains("ticket 3 was never issued"),
            "{err}"
        );
        writer.close().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closing_resolves_waiters_and_later_waits_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let writer = handle(dir.path(), DurabilityMode::GroupCommit);
        let outcome = writer.append(vec![trade(1)]).await.unwrap();
        let waiter = {
            let writer = writer.clone();
            tokio::spawn(async move { writer.durable(outcome.last_ticket).await })
        };
        writer.close().await.unwrap();
        // close() makes everything durable: the waiter's ticket is covered.
        within("the waiter", waiter).await.unwrap().unwrap();
        within("durable(1) after close", writer.durable(1))
            .await
            .unwrap();
        let err = within("durable(2) after close", writer.durable(2))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("never issued"), "{err}");
        let err = writer.append(vec![trade(2)]).await.unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn abandoning_ends_every_wait_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let writer = handle(dir.path(), DurabilityMode::GroupCommit);
        let outcome = writer.append(vec![trade(1), trade(2)]).await.unwrap();
        assert!(writer.writer().durable_watermark() < outcome.last_ticket);
        let waiter = {
            let writer = writer.clone();
            tokio::spawn(async move { writer.durable(outcome.last_ticket).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer.abandon();
        let err = within("the waiter after abandon", waiter)
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            err.to_string().contains("the writer was abandoned"),
            "{err}"
        );
        let err = within("durable after abandon", writer.durable(1))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("abandoned"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_commit_ends_every_wait_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let writer = handle(dir.path(), DurabilityMode::GroupCommit);
        let first = writer.append(vec![trade(1)]).await.unwrap();
        writer.flush().await.unwrap();
        within("durable(1)", writer.durable(first.last_ticket))
            .await
            .unwrap();
        // A new partition folder is fsynced at the next commit; removed, that fsync fails.
        let mut other = trade(2);
        other.symbol = "QQQ".into();
        let second = writer.append(vec![other]).await.unwrap();
        let waiter = {
            let writer = writer.clone();
            tokio::spawn(async move { writer.durable(second.last_ticket).await })
        };
        std::fs::remove_dir_all(dir.path().join("hot")).unwrap();
        let err = writer.flush().await.unwrap_err();
        let err = format!("{err}");
        let waited = within("the waiter after a failed commit", waiter)
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            waited.to_string().contains("a commit failed"),
            "{waited} (flush: {err})"
        );
        // What was durable before stays so.
        within("durable(1) after the failure", writer.durable(1))
            .await
            .unwrap();
        writer.abandon();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mode_none_refuses_to_call_anything_durable() {
        let dir = tempfile::tempdir().unwrap();
        let writer = handle(dir.path(), DurabilityMode::None);
        let err = writer.append_durable(vec![trade(1)]).await.unwrap_err();
        assert!(err.to_string().contains("`none`"), "{err}");
        assert!(err.to_string().contains("durability.mode"), "{err}");
        // Refused before anything was written.
        assert_eq!(writer.writer().report().events, 0);
        let outcome = writer.append(vec![trade(1)]).await.unwrap();
        writer.flush().await.unwrap();
        assert!(writer.writer().durable_watermark() >= outcome.last_ticket);
        let err = writer.durable(outcome.last_ticket).await.unwrap_err();
        assert!(err.to_string().contains("never fsyncs"), "{err}");
        writer.close().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_listener_lets_go_of_the_channel_when_the_handle_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let writer = handle(dir.path(), DurabilityMode::GroupCommit);
        let sync = writer.writer().clone();
        let rx = writer.shared.durable.subscribe();
        let shared = Arc::downgrade(&writer.shared);
        drop(writer);
        // The writer lives on (and its listener with it), but the channel is gone...
        assert!(shared.upgrade().is_none());
        assert!(rx.has_changed().is_err(), "the sender is still alive");
        // ...and the listener, called by every commit, does nothing.
        sync.append(&trade(1)).unwrap();
        sync.flush().unwrap();
        sync.close().unwrap();
    }
}
