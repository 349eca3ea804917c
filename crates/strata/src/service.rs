//! Embedding strata in an async service (EXT-4): [`AsyncWriter`], a tokio handle whose appends
//! never block the runtime and whose durability is awaited.
//!
//! An append runs on tokio's blocking pool (it may write buffers out, or fsync in `per_batch`
//! mode); waiting for durability holds no thread at all — the writer's commit wakes the waiting
//! tasks through a [`tokio::sync::watch`] channel when the durable watermark passes their ticket.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use strata::model::{Decimal, Event, Payload, Timestamp, Trade};
//!
//! let dir = tempfile::tempdir()?;
//! let archive = strata::archive::Archive::open_dir(dir.path())?;
//! let writer = strata::service::AsyncWriter::new(archive.writer(Default::default())?);
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

use std::sync::Arc;

use strata_ingest::session::SessionReport;
use strata_ingest::writer::BatchOutcome;
use strata_ingest::{Ticket, Writer};
use strata_model::Event;
use tokio::sync::watch;

use crate::{Error, Result};

/// The durable watermark as the async side sees it, with the error that stopped it, if any.
type Durable = (Ticket, Option<Arc<str>>);

/// An async handle to a [`Writer`]; clone it freely (clones share the writer).
#[derive(Clone)]
pub struct AsyncWriter {
    writer: Writer,
    durable: watch::Receiver<Durable>,
}

impl std::fmt::Debug for AsyncWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncWriter")
            .field("session", &self.writer.session_id())
            .field("durable", &*self.durable.borrow())
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
    /// Wraps `writer`; from now on its commits wake the tasks waiting for durability.
    pub fn new(writer: Writer) -> AsyncWriter {
        let (tx, rx) = watch::channel((writer.durable_watermark(), None));
        writer.on_durable(move |ticket, failed| {
            tx.send_modify(|state| {
                state.0 = state.0.max(ticket);
                if let Some(message) = failed {
                    state.1.get_or_insert_with(|| Arc::from(message));
                }
            });
        });
        AsyncWriter {
            writer,
            durable: rx,
        }
    }

    /// The writer underneath (for what has no async form: reports, imports).
    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// Appends `events` on the blocking pool; resolves once they are written (not yet durable):
    /// await [`durable`](Self::durable) with the outcome's `last_ticket` for that.
    pub async fn append(&self, events: Vec<Event>) -> Result<BatchOutcome> {
        let writer = self.writer.clone();
        joined(
            tokio::task::spawn_blocking(move || writer.append_batch(&events).map_err(Error::from))
                .await,
        )
    }

    /// Resolves once every event up to `ticket` is durable (survives a crash); an error when a
    /// commit failed first, or the writer went away before.
    pub async fn durable(&self, ticket: Ticket) -> Result<()> {
        let mut rx = self.durable.clone();
        let state = rx
            .wait_for(|(watermark, failed)| *watermark >= ticket || failed.is_some())
            .await
            .map_err(|_| {
                Error::Async(format!(
                    "the writer closed before ticket {ticket} was durable"
                ))
            })?;
        match (&state.1, state.0 >= ticket) {
            (_, true) => Ok(()),
            (Some(failed), false) => Err(Error::Async(format!(
                "ticket {ticket} will not become durable: a commit failed: {failed}"
            ))),
            (None, false) => Err(Error::Async(format!("ticket {ticket} is not durable"))),
        }
    }

    /// [`append`](Self::append), then [`durable`](Self::durable): resolves once the batch
    /// survives a crash — the moment to acknowledge it to whoever sent it.
    pub async fn append_durable(&self, events: Vec<Event>) -> Result<BatchOutcome> {
        let outcome = self.append(events).await?;
        self.durable(outcome.last_ticket).await?;
        Ok(outcome)
    }

    /// Makes everything appended so far durable now, instead of at the next group commit.
    pub async fn flush(&self) -> Result<Ticket> {
        let writer = self.writer.clone();
        joined(tokio::task::spawn_blocking(move || writer.flush().map_err(Error::from)).await)
    }

    /// Closes the writer (seals every open file, makes everything durable) on the blocking pool.
    pub async fn close(&self) -> Result<SessionReport> {
        let writer = self.writer.clone();
        joined(tokio::task::spawn_blocking(move || writer.close().map_err(Error::from)).await)
    }
}
