//! What can go wrong in the lifecycle.

use std::path::PathBuf;

/// A lifecycle error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The catalog could not be read or written.
    #[error(transparent)]
    Catalog(#[from] strata_catalog::Error),
    /// A tier's storage refused or failed.
    #[error(transparent)]
    Backend(#[from] strata_backend::Error),
    /// A file's content is not what it should be: a source whose checksum or events do not
    /// match its manifest, a target that does not hold its source's events.
    #[error("{path}: {message}")]
    Verify {
        /// The file (archive-relative).
        path: String,
        /// What does not match.
        message: String,
    },
    /// A deletion a hold placed after the plan was made stopped: the file is kept.
    #[error("{path}: hold `{hold}`, placed after the plan was made, covers it: kept")]
    Held {
        /// The file (archive-relative).
        path: String,
        /// The hold's name.
        hold: String,
    },
    /// A file of the lifecycle's own could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The hold register is damaged.
    #[error("{path}: {message}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Another lifecycle run holds the archive's lifecycle lock.
    #[error("another lifecycle run is in progress on this archive (it holds {0}); wait for it to finish")]
    Busy(PathBuf),
    /// A hold of that name is already in force.
    #[error("a hold named `{0}` is already in force; release it first or choose another name")]
    HoldExists(String),
    /// No hold of that name is in force.
    #[error("no hold named `{name}` is in force (in force: {in_force})")]
    NoSuchHold {
        /// The name asked for.
        name: String,
        /// The names in force, comma separated, or `none`.
        in_force: String,
    },
    /// A request the archive's settings do not allow (an approval where none is needed, or
    /// from a key that is not an approver's).
    #[error("{0}")]
    Refused(String),
    /// A hold's name or scope is not acceptable.
    #[error("hold `{name}`: {message}")]
    BadHold {
        /// The name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |error| Error::Io { path, error }
}
