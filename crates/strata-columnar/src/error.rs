//! What can go wrong between events and Parquet.

use strata_model::EventKind;

/// An error writing or reading strata's Parquet form.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Parquet library refused (a damaged file, an I/O error while writing).
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow refused an array (a bug in strata's column building, or a damaged file).
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A file writer was handed an event of another kind than the file holds.
    #[error("a {expected} file cannot hold a {found} event (row {row})")]
    WrongKind {
        /// The kind the file holds.
        expected: EventKind,
        /// The kind of the event offered.
        found: EventKind,
        /// The event's row in the file.
        row: u64,
    },
    /// A writer promised sorted output was handed an event earlier than the one before.
    #[error("event at row {row} has ts {ts}, earlier than the previous row's {previous}: a file's events must be in event-time order")]
    OutOfOrder {
        /// The row.
        row: u64,
        /// Its event time (ns).
        ts: i64,
        /// The previous row's event time (ns).
        previous: i64,
    },
    /// A decimal does not fit the plan its column was written with (a plan that did not see
    /// every event of the file).
    #[error("column `{column}`: {value} does not fit the column's plan ({plan}); plan the file over every event it will hold")]
    OutsidePlan {
        /// The column.
        column: &'static str,
        /// The value.
        value: String,
        /// What the plan allows.
        plan: String,
    },
    /// A JSONL input line did not decode.
    #[error("{source_name} line {line}: {message}")]
    Jsonl {
        /// The input's name.
        source_name: String,
        /// The 1-based line number.
        line: u64,
        /// Why.
        message: String,
    },
    /// Reading a JSONL input failed.
    #[error("{source_name}: {error}")]
    Io {
        /// The input's name.
        source_name: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The file is Parquet but not one strata wrote, or a column strata needs is missing or has
    /// another type.
    #[error("not a strata Parquet file: {0}")]
    NotStrata(String),
    /// A value read back is not a valid event field (a damaged or hand-edited file).
    #[error("row {row}, column `{column}`: {message}")]
    BadValue {
        /// The row in the file.
        row: u64,
        /// The column.
        column: String,
        /// Why.
        message: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
