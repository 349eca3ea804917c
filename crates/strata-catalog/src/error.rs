//! [`Error`], the one error type of strata-catalog, and [`ManifestError`], why a manifest's
//! bytes are not a manifest.

use std::path::PathBuf;

/// Why a manifest's bytes (a sidecar, a line of `manifest.jsonl`, a row of the index) are not
/// a valid [`FileManifest`](crate::FileManifest).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not JSON, or JSON of the wrong shape (the message names the field, line and column).
    #[error("not a file manifest: {0}")]
    Json(#[from] serde_json::Error),
    /// A `manifest_version` this build does not read.
    #[error(
        "manifest_version {found} is not supported (this build reads version {supported}; \
         additive changes keep version {supported}, so another number means an incompatible format)"
    )]
    Version {
        /// The version in the manifest.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// A field holds a value strata refuses (an unsafe path, a malformed checksum, …).
    #[error("field `{field}` = {value:?}: {reason}")]
    Invalid {
        /// The field's name (`path`, `sha256`, `quality_score`, …).
        field: &'static str,
        /// The value, as text.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Everything that can go wrong in strata-catalog. Each variant names the file, folder or
/// index operation involved, so the message alone tells a user where to look.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file or folder failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A sidecar manifest file cannot be used.
    #[error("sidecar {}: {source}", path.display())]
    Sidecar {
        /// The sidecar file (`….manifest.json`).
        path: PathBuf,
        /// What is wrong with its content.
        source: ManifestError,
    },
    /// Manifest bytes or values given directly (not from a file) are not a valid manifest.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A row of the index holds a manifest this build cannot read (the index was damaged or
    /// written by an incompatible build); [`Catalog::rebuild`](crate::Catalog::rebuild)
    /// recreates it from the sidecars.
    #[error("catalog index row for {path} is not a valid manifest (rebuild the index): {source}")]
    IndexRow {
        /// The archive-relative path of the row.
        path: String,
        /// What is wrong with it.
        source: ManifestError,
    },
    /// A file's bytes do not have the SHA-256 its checksum says.
    #[error("{}: checksum mismatch: expected sha256 {expected}, the file has {actual}", path.display())]
    ChecksumMismatch {
        /// The data file.
        path: PathBuf,
        /// The checksum recorded for it.
        expected: String,
        /// The checksum of its bytes now.
        actual: String,
    },
    /// A checksum entry cannot be written in `sha256sum` format, or a line of
    /// `checksums.sha256` cannot be read.
    #[error("{}: checksum entry for {file_name:?}: {reason}", file.display())]
    ChecksumEntry {
        /// The `checksums.sha256` file.
        file: PathBuf,
        /// The data file name of the entry.
        file_name: String,
        /// What is wrong.
        reason: String,
    },
    /// The SQLite index failed.
    #[error("catalog index: {op}: {source}")]
    Sqlite {
        /// What the catalog was doing (`register data/x.jsonl`, `find`, `open`, …).
        op: String,
        /// The underlying error.
        source: rusqlite::Error,
    },
    /// The index file is not a usable SQLite index (damaged, or not written by strata).
    #[error("{}: the catalog index is damaged ({reason}); run `strata catalog rebuild` to rebuild it from the sidecars (nothing else is lost: the sidecars beside the data are the truth)", path.display())]
    IndexDamaged {
        /// The index file.
        path: PathBuf,
        /// What SQLite said.
        reason: String,
    },
    /// The archive has no index file (a reader does not create one).
    #[error("{}: the archive has no catalog index; run `strata catalog rebuild` to build it from the sidecars", path.display())]
    IndexMissing {
        /// The index file that should be there.
        path: PathBuf,
    },
    /// The registries given to
    /// [`Catalog::write_registries`](crate::Catalog::write_registries) are inconsistent.
    #[error("{}: {source}", file.display())]
    Registry {
        /// The registry file that would have been written (`sources.json`, `symbols.json`).
        file: PathBuf,
        /// The problem, naming the entry.
        source: strata_model::RegistryError,
    },
    /// A value could not be turned into JSON (cannot happen with strata's own types; kept so
    /// that no serializer failure is ever swallowed).
    #[error("cannot write {what} as JSON: {source}")]
    Json {
        /// What was being written.
        what: String,
        /// The underlying error.
        source: serde_json::Error,
    },
}

/// strata-catalog's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An [`Error::Sqlite`] for operation `op`.
    pub(crate) fn sqlite(op: impl Into<String>, source: rusqlite::Error) -> Error {
        Error::Sqlite {
            op: op.into(),
            source,
        }
    }
}
