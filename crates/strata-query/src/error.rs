//! What can go wrong in a query; each error names the file.

use std::path::PathBuf;

/// A query's error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The catalog could not be read.
    #[error(transparent)]
    Catalog(#[from] strata_catalog::Error),
    /// A tier's storage failed.
    #[error("{path}: {source}")]
    Backend {
        /// The file.
        path: String,
        /// Why.
        source: strata_backend::Error,
    },
    /// A file could not be read from the local disk.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file's content is not what its name and manifest say.
    #[error("{path}: {message}")]
    Damaged {
        /// The file.
        path: String,
        /// What is wrong (with the line for JSONL).
        message: String,
    },
    /// The query cannot be run in the form asked for (a columnar query of several kinds).
    #[error("{0}")]
    Selection(String),
    /// Stopped by the caller (a signal): what was begun is undone.
    #[error("stopped before the end; nothing of it was kept")]
    Stopped,
    /// No storage is open for a tier a file is in (a local tier whose folder is gone).
    #[error("no storage for the {0} tier (a local tier's folder that does not exist), yet the catalog lists files in it")]
    NoTier(strata_core::policy::TierName),
}

/// A query's result.
pub type Result<T> = std::result::Result<T, Error>;
