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

/// Why one row (a line, a CSV record, a DBN record, a capture message) cannot be turned into
/// events: what every row parser returns. It never stops an import: the row becomes a
/// [`Record::Rejected`](crate::Record::Rejected) whose reason is this error's text (the
/// quarantine stores it, and [`reason_class`](crate::record::reason_class) groups rows by it),
/// so each variant's text is fixed — a change of wording is a change of every receipt.
///
/// A `field` is the name of the field as the format's messages write it: `` column `px`
/// (price) `` in CSV, `` column `price` `` in Tardis.dev files, `` `p` `` in Binance messages,
/// `price` in Lean rows.
///
/// ```
/// use strata_import::RowError;
///
/// let err = RowError::BadValue {
///     field: Some("column `side`".into()),
///     value: "hold".into(),
///     reason: "is not buy, sell or unknown".into(),
/// };
/// assert_eq!(err.to_string(), "column `side`: `hold` is not buy, sell or unknown");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RowError {
    /// A field's text is not a value it can hold: `` {field}: `{value}` {reason} ``, or
    /// `` `{value}` {reason} `` when the field is not (yet) named.
    #[error("{}`{value}` {reason}", field_prefix(.field))]
    BadValue {
        /// The field, when known (a value parser leaves it to its caller: [`RowError::in_field`]).
        field: Option<String>,
        /// The text found.
        value: String,
        /// What is wrong with it, as a predicate (`is not a number of ms`).
        reason: String,
    },

    /// A field holds text that is not an exact decimal: `{field}: {source}`.
    #[error("{field}: {source}")]
    Decimal {
        /// The field.
        field: String,
        /// The decimal parser's report (it quotes the text).
        source: strata_model::DecimalError,
    },

    /// A field that must have a value is empty: `{field} is empty`.
    #[error("{field} is empty")]
    Empty {
        /// The field.
        field: String,
    },

    /// A CSV record ends before a mapped column: `{field} is missing: the row has {fields} fields`.
    #[error("{field} is missing: the row has {fields} fields")]
    ShortRecord {
        /// The column.
        field: String,
        /// Fields the record has.
        fields: usize,
    },

    /// A Lean row ends before a column: `missing column {index} ({name})`.
    #[error("missing column {index} ({name})")]
    MissingColumn {
        /// The column's position (0-based).
        index: usize,
        /// Its name.
        name: String,
    },

    /// A message lacks a key its type needs: `` `{message}` message has no `{key}` ``.
    #[error("`{message}` message has no `{key}`")]
    MissingKey {
        /// The message's type (`?` when it names none).
        message: String,
        /// The key.
        key: String,
    },

    /// A row has another number of fields than the header:
    /// `the row has {row} fields, the header {header}`.
    #[error("the row has {row} fields, the header {header}")]
    FieldCount {
        /// Fields in the row.
        row: usize,
        /// Fields in the header.
        header: usize,
    },

    /// Neither the row nor the options name the instrument: `{why}; pass --symbol`.
    #[error("{why}; pass --symbol")]
    NoSymbol {
        /// Why the row names none.
        why: String,
    },

    /// A value (a time, mostly) is outside what strata can store: `{what} is out of range`.
    #[error("{what} is out of range")]
    OutOfRange {
        /// The value and its unit (`1723161256322 ms`).
        what: String,
    },

    /// A field's bytes are not UTF-8 text: `{field} is not UTF-8`.
    #[error("{field} is not UTF-8")]
    NotUtf8 {
        /// The field.
        field: String,
    },

    /// A field's text holds a control character: `{field}: {value:?} holds a control character`.
    #[error("{field}: {value:?} holds a control character")]
    ControlCharacter {
        /// The field.
        field: String,
        /// The text found.
        value: String,
    },

    /// One of a pair of fields (a book level's price and size) is empty and the other is not:
    /// `` column `{empty}` is empty but `{other}` is not ``.
    #[error("column `{empty}` is empty but `{other}` is not")]
    HalfLevel {
        /// The empty column.
        empty: String,
        /// The column with a value.
        other: String,
    },

    /// A price the format marks as undefined where one is needed:
    /// `{field} is undefined (UNDEF_PRICE)`.
    #[error("{field} is undefined (UNDEF_PRICE)")]
    UndefinedPrice {
        /// The field.
        field: String,
    },

    /// A JSON document (or a part of one) does not parse as expected: `{what}: {error}`.
    #[error("{what}: {error}")]
    Json {
        /// What was read (`` invalid `data` JSON ``).
        what: String,
        /// The JSON parser's report.
        error: String,
    },

    /// A strata JSONL line does not decode.
    #[error(transparent)]
    Jsonl(#[from] strata_model::DecodeError),

    /// Any other problem of one format's rows, in words.
    #[error("{0}")]
    Invalid(String),
}

/// `{field}: ` before a value, or nothing.
fn field_prefix(field: &Option<String>) -> String {
    field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default()
}

impl RowError {
    /// A problem given in words ([`RowError::Invalid`]).
    pub fn invalid(reason: impl Into<String>) -> RowError {
        RowError::Invalid(reason.into())
    }

    /// A [`RowError::BadValue`] not yet tied to a field.
    pub fn bad_value(value: impl Into<String>, reason: impl Into<String>) -> RowError {
        RowError::BadValue {
            field: None,
            value: value.into(),
            reason: reason.into(),
        }
    }

    /// The same error about `field`: names the field of a [`RowError::BadValue`] that has
    /// none; any other error is prefixed as `{field}: {error}` ([`RowError::Invalid`]).
    pub fn in_field(self, field: impl Into<String>) -> RowError {
        match self {
            RowError::BadValue {
                field: None,
                value,
                reason,
            } => RowError::BadValue {
                field: Some(field.into()),
                value,
                reason,
            },
            other => RowError::Invalid(format!("{}: {other}", field.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// Each variant's text, as the row parsers wrote it when they returned strings: the
    /// quarantine, reason classes and receipts depend on it staying the same.
    #[test]
    fn row_errors_read_as_the_messages_they_replace() {
        let decimal_error = "1,5".parse::<strata_model::Decimal>().unwrap_err();
        let decimal_text = decimal_error.to_string();
        let jsonl_error = strata_model::jsonl::decode_line(b"{").unwrap_err();
        let jsonl_text = jsonl_error.to_string();
        let cases: Vec<(RowError, String)> = vec![
            (
                RowError::bad_value("1.5", "ns is finer than a nanosecond")
                    .in_field("column `ts` (time)"),
                "column `ts` (time): `1.5` ns is finer than a nanosecond".into(),
            ),
            (
                RowError::bad_value("x", "is not a receive time in nanoseconds"),
                "`x` is not a receive time in nanoseconds".into(),
            ),
            (
                RowError::Decimal {
                    field: "column `price`".into(),
                    source: decimal_error,
                },
                format!("column `price`: {decimal_text}"),
            ),
            (
                RowError::Empty {
                    field: "column `bs` (bid_size)".into(),
                },
                "column `bs` (bid_size) is empty".into(),
            ),
            (
                RowError::ShortRecord {
                    field: "column `qty` (size)".into(),
                    fields: 2,
                },
                "column `qty` (size) is missing: the row has 2 fields".into(),
            ),
            (
                RowError::MissingColumn {
                    index: 3,
                    name: "size".into(),
                },
                "missing column 3 (size)".into(),
            ),
            (
                RowError::MissingKey {
                    message: "trade".into(),
                    key: "q".into(),
                },
                "`trade` message has no `q`".into(),
            ),
            (
                RowError::FieldCount { row: 4, header: 11 },
                "the row has 4 fields, the header 11".into(),
            ),
            (
                RowError::NoSymbol {
                    why: "the message names no symbol (`s`)".into(),
                },
                "the message names no symbol (`s`); pass --symbol".into(),
            ),
            (
                RowError::OutOfRange {
                    what: "event time 9 ms".into(),
                },
                "event time 9 ms is out of range".into(),
            ),
            (
                RowError::NotUtf8 {
                    field: "column `px` (price)".into(),
                },
                "column `px` (price) is not UTF-8".into(),
            ),
            (
                RowError::ControlCharacter {
                    field: "column `symbol`".into(),
                    value: "BTC\0".into(),
                },
                "column `symbol`: \"BTC\\0\" holds a control character".into(),
            ),
            (
                RowError::HalfLevel {
                    empty: "bid_amount".into(),
                    other: "bid_price".into(),
                },
                "column `bid_amount` is empty but `bid_price` is not".into(),
            ),
            (
                RowError::UndefinedPrice {
                    field: "trade price".into(),
                },
                "trade price is undefined (UNDEF_PRICE)".into(),
            ),
            (
                RowError::Json {
                    what: "invalid message JSON".into(),
                    error: "EOF".into(),
                },
                "invalid message JSON: EOF".into(),
            ),
            (RowError::Jsonl(jsonl_error), jsonl_text),
            (
                RowError::invalid("a quoted cell is not closed"),
                "a quoted cell is not closed".into(),
            ),
            (
                RowError::invalid("gone").in_field("column `x`"),
                "column `x`: gone".into(),
            ),
        ];
        for (err, text) in cases {
            assert_eq!(err.to_string(), text, "{err:?}");
        }
    }
}
