//! [`ImportError`], the one error type of this crate, and [`Result`].
//!
//! These are *file-level* problems: the import of that file cannot start (or, for a zip entry,
//! cannot go on). Row-level problems never surface here; they become
//! [`Record::Rejected`](crate::Record::Rejected) and the import continues.

use std::io;

/// `Result` with this crate's [`ImportError`] as the default error.
pub type Result<T, E = ImportError> = std::result::Result<T, E>;

/// Why a file cannot be imported. Every variant about a file names it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file cannot be opened or read at all.
    #[error("{file}: cannot read: {source}")]
    Open {
        /// The file.
        file: String,
        /// The operating system's report.
        source: io::Error,
    },

    /// The file's compression (gzip, zstd, LZ4, recognised from its content) is broken, or its
    /// extension names another codec than its content. The codec's message names the file
    /// itself (the importer sets its path).
    #[error("{source}")]
    Codec {
        /// The file.
        file: String,
        /// The codec layer's report.
        source: strata_codec::Error,
    },

    /// A Lean file is not a readable zip archive.
    #[error("{file}: not a zip archive: {source}")]
    NotAZip {
        /// The file.
        file: String,
        /// The zip reader's report.
        source: zip::result::ZipError,
    },

    /// A zip archive is readable but holds nothing this importer can read (no file entry, an
    /// encrypted entry, an unsupported compression method).
    #[error("{file}: {reason}")]
    ZipContent {
        /// The archive (or `archive.zip:entry.csv`).
        file: String,
        /// What is wrong.
        reason: String,
    },

    /// What a Lean file holds cannot be told from its path, and the options do not say.
    #[error("{file}: {reason}")]
    LeanPath {
        /// The file.
        file: String,
        /// What could not be inferred, and which option supplies it.
        reason: String,
    },

    /// A DBN file's header or metadata is not valid DBN.
    #[error("{file}: not a readable DBN stream: {reason}")]
    Dbn {
        /// The file.
        file: String,
        /// The `dbn` crate's report (or the check that failed).
        reason: String,
    },

    /// A CSV import was asked for without a column mapping.
    #[error("{file}: CSV import needs a column mapping (e.g. `time=ts:ms,price=px,size=qty`)")]
    CsvMappingRequired {
        /// The file.
        file: String,
    },

    /// A CSV file's header row is missing or unreadable.
    #[error("{file}: cannot read the CSV header row: {reason}")]
    CsvHeader {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },

    /// A column the mapping names is not in the CSV header.
    #[error("{file}: the mapping's {role} column `{column}` is not in the header (columns: {available})")]
    MissingColumn {
        /// The file.
        file: String,
        /// The mapping key (`price`, `time`, …).
        role: &'static str,
        /// The column name the mapping gave.
        column: String,
        /// The header's columns, comma separated.
        available: String,
    },

    /// A CSV column mapping is invalid (bad syntax, unknown key, or incomplete for its kind).
    #[error("invalid CSV column mapping `{spec}`: {reason}")]
    InvalidCsvMapping {
        /// The mapping text (or a rendering of the mapping).
        spec: String,
        /// What is wrong, naming the key.
        reason: String,
    },

    /// A Tardis.dev file's header row is none of the data types strata reads.
    #[error("{file}:{line}: {reason}")]
    TardisHeader {
        /// The file.
        file: String,
        /// The header's line.
        line: u64,
        /// What is wrong.
        reason: String,
    },

    /// An import format name that is not one of `jsonl`, `csv`, `lean`, `dbn`, `binance`,
    /// `tardis`.
    #[error(
        "unknown import format `{name}`; expected one of: jsonl, csv, lean, dbn, binance, tardis"
    )]
    UnknownFormat {
        /// The name given.
        name: String,
    },

    /// An option does not apply to this format or file (for example `--kind l2_snapshot` for a
    /// Lean file).
    #[error("{file}: {reason}")]
    InvalidOption {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
}

impl ImportError {
    /// Wraps a codec error, naming `file`.
    pub fn codec(file: &str, source: strata_codec::Error) -> Self {
        ImportError::Codec {
            file: file.to_string(),
            source: source.with_path(file),
        }
    }

    /// The file this error is about, when it is about one.
    pub fn file(&self) -> Option<&str> {
        match self {
            ImportError::Open { file, .. }
            | ImportError::Codec { file, .. }
            | ImportError::NotAZip { file, .. }
            | ImportError::ZipContent { file, .. }
            | ImportError::LeanPath { file, .. }
            | ImportError::Dbn { file, .. }
            | ImportError::CsvMappingRequired { file }
            | ImportError::CsvHeader { file, .. }
            | ImportError::TardisHeader { file, .. }
            | ImportError::MissingColumn { file, .. }
            | ImportError::InvalidOption { file, .. } => Some(file),
            ImportError::InvalidCsvMapping { .. } | ImportError::UnknownFormat { .. } => None,
        }
    }
}
