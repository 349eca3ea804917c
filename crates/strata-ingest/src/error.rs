//! The error type of the ingest path, and the two helpers every module uses to build it.

use std::path::PathBuf;

/// Errors of the ingest path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A quota in HardLimit mode refuses the write; nothing of the batch was written.
    #[error("quota exceeded for {scope}: {limit_name} limit {limit}, used {used}; nothing of this batch was written, free space or raise the quota")]
    QuotaExceeded {
        /// The quota that refused, by name (its scope for a built-in rule: `symbol=AAPL`).
        scope: String,
        /// Which limit.
        limit_name: &'static str,
        /// The limit.
        limit: u64,
        /// Usage before the refused write.
        used: u64,
    },
    /// A file operation failed on a path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The layout could not place an event.
    #[error(transparent)]
    Layout(#[from] strata_core::layout::LayoutError),
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] strata_catalog::Error),
    /// A codec failed.
    #[error(transparent)]
    Codec(#[from] strata_codec::Error),
    /// The config cannot be used for writing.
    #[error("config: {0}")]
    Config(String),
    /// A file does not hold valid events.
    #[error("{path}: line {line}: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A stored file does not hold the bytes that were written to it; it was not sealed.
    #[error("{path}: the stored file differs from what was written (expected {expected}, read {actual}); it was not sealed")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was written.
        expected: crate::seal::ContentCheck,
        /// What was read back.
        actual: crate::seal::ContentCheck,
    },
    /// A file was sealed (its sidecar is written) but later steps failed; the next open's
    /// recovery finishes them.
    #[error("{path}: sealed, but not {}; the next open finishes it", .steps.join("; nor "))]
    SealUnfinished {
        /// The sealed file.
        path: PathBuf,
        /// What failed, with the reason.
        steps: Vec<String>,
    },
    /// Sealing failed on the writer's background sealer.
    #[error("sealing failed for {count} file(s); first: {first}")]
    Seal {
        /// Failures so far.
        count: usize,
        /// The first failure.
        first: Box<Error>,
    },
    /// The writer was closed.
    #[error("the writer is closed")]
    Closed,
    /// Another writer holds the archive's lock (one writer per archive, INGEST-7).
    #[error("{}: the archive is being written by another writer ({holder}){}; only one writer may write an archive at a time — wait for it to finish, or pass --wait DURATION", .root.display(), if .waited.is_zero() { String::new() } else { format!(", still held after waiting {:?}", .waited) })]
    Locked {
        /// The archive root.
        root: PathBuf,
        /// Who holds the lock (pid, session, since), as far as its label tells.
        holder: String,
        /// How long this writer waited for it.
        waited: std::time::Duration,
    },
    /// An fsync failed: the bytes it covered may be lost (a later fsync of the same file can
    /// report success), so this writer moves its durable watermark no more and commits no
    /// import; open the archive again (recovery keeps every complete line on disk).
    #[error("an fsync failed ({reason}); this writer acknowledges nothing more: close it and open the archive again")]
    SyncFailed {
        /// The error.
        reason: String,
    },
    /// Code of the caller's that the writer runs (a seal schedule, a durability listener)
    /// panicked: like after [`Error::SyncFailed`], this writer moves its durable watermark no
    /// more and commits no import; close it and open the archive again.
    #[error("{what} panicked ({message}); this writer acknowledges nothing more: close it and open the archive again")]
    Panicked {
        /// What panicked: the seal schedule (by its name) or a durability listener.
        what: String,
        /// The panic's message.
        message: String,
    },
    /// An append or commit named an import that is not in progress on this writer.
    #[error("no such import in progress on this writer")]
    NoSuchImport,
    /// An import was started while another is in progress on the same writer.
    #[error("another import is in progress on this writer; commit or abort it first")]
    ImportInProgress,
    /// A symlink inside the archive, where strata writes only real files and folders.
    #[error("{}: is a symbolic link; strata does not follow links inside an archive (replace it with a real file or folder)", .path.display())]
    Symlink {
        /// The link.
        path: PathBuf,
    },
}

/// The ingest result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Locks `m`. A panic while holding a lock leaves the state as consistent as any crash would
/// (recovery on the next open repairs files), so continuing is safer than poisoning every user.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}
