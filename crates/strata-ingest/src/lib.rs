//! # strata-ingest — capture without loss
//!
//! The hot-tier writer and everything that keeps it honest:
//!
//! - [`writer`]: [`Writer`] — append one event or a batch from many threads; events are routed by
//!   the configured layout to hot segments (JSONL) and acknowledged with a ticket; [`Writer::flush`]
//!   returns the durable watermark (INGEST-1, INGEST-2).
//! - [`recovery`]: on open, torn tails and unreadable lines of unsealed segments are cut into
//!   `_quarantine/` with a reason, half-finished seals are completed, and leftovers are sealed
//!   (INGEST-3).
//! - [`seal`]: sealing a segment — fsync, optional compression, SHA-256, sidecar manifest,
//!   `checksums.sha256` line, catalog entry (INGEST-5).
//! - [`integrity`]: schema validation, out-of-order rejection, sequence-gap alerts and duplicate
//!   detection at write (INGEST-4).
//! - [`quota`]: the usage ledger that enforces quotas at write time (QUOTA-1, QUOTA-2).
//! - [`quarantine`]: where rejected events and torn bytes go, with their reasons.
//! - [`session`]: each writer run is a session with a `report.json` (SESSION-1).
//! - [`reader`]: reading events back from hot files (used by recovery checks, tests and the CLI).
//!
//! Durability, mode by mode, is stated in `docs/DURABILITY.md`.

pub mod imports;
pub mod integrity;
pub mod lock;
pub mod quarantine;
pub mod quota;
pub mod reader;
pub mod recovery;
pub mod seal;
pub mod session;
pub mod writer;

mod error;
mod sealer;
mod segment;

pub use error::Error;
pub use error::Result;
pub(crate) use error::{io_err, lock};
pub use imports::{CommittedImport, HashingReader, ImportKey, Ledger};
pub use lock::{LockHolder, WriterLock};
pub use quota::CleanupRequest;
pub use writer::{
    AppendOptions, Components, ImportEnd, ImportId, ImportStart, ImportTally, Resolved, Ticket,
    Writer, WriterOptions, WriterSettings,
};

/// Folder names inside an archive root.
pub mod paths {
    /// Hot-tier data.
    pub const HOT: &str = "hot";
    /// Rejected events and torn bytes.
    pub const QUARANTINE: &str = "_quarantine";
    /// Session reports.
    pub const SESSIONS: &str = "_sessions";
    /// Extension of unsealed and sealed-uncompressed hot segments.
    pub const JSONL: &str = ".jsonl";
}
