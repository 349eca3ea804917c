//! [`Format`] and [`ImportOptions`]: what to read and how.

use std::str::FromStr;

use chrono::NaiveDate;
use strata_model::EventKind;

use crate::csv::CsvMapping;
use crate::error::ImportError;
use crate::lean::{LeanResolution, LeanSecurityType, LeanTickType};

strata_model::named_enum! {
    /// An input format; [`as_str`](Self::as_str) is the lower-case name used by the CLI
    /// (`--format lean`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Format {
        /// strata JSONL v1, one event per line (`docs/SCHEMA.md`).
        Jsonl = "jsonl",
        /// CSV with a header row and a [`CsvMapping`] from columns to event fields.
        Csv = "csv",
        /// QuantConnect Lean tick and bar zips.
        Lean = "lean",
        /// Databento DBN (plain or zstd-compressed).
        Dbn = "dbn",
        /// Binance websocket captures: `<local receive ns> <websocket JSON>` per line.
        Binance = "binance",
        /// Tardis.dev normalized CSV (trades, quotes, book snapshots, incremental L2, derivative
        /// tickers, liquidations), gzipped as downloaded.
        Tardis = "tardis",
    }
}

impl Format {
    /// True when the format's records are distinct by their position in the file even when
    /// their content is identical, so a writer must not refuse identical ones as duplicates.
    /// DBN: CME's MBO feed, as Databento records it, holds byte-identical records (e.g. 12 fills
    /// in the ESH4 file of 2023-12-25 each repeat the record before it: one resting order filled
    /// twice for the same size in one match event; the writer keeps such repeats only within the
    /// sequence group in progress, see `AppendOptions`). Lean rows get their line number as the
    /// sequence, and the other formats carry ids, so identical records there are duplicates.
    pub const fn records_distinct_by_position(self) -> bool {
        matches!(self, Format::Dbn)
    }

    /// The source id events get when [`ImportOptions::source`] is not set (`None` for JSONL,
    /// whose events carry their own).
    pub const fn default_source(self) -> Option<&'static str> {
        match self {
            Format::Jsonl => None,
            Format::Csv => Some("csv"),
            Format::Lean => Some("lean"),
            Format::Dbn => Some("databento"),
            Format::Binance => Some("binance"),
            Format::Tardis => Some("tardis"),
        }
    }
}

impl FromStr for Format {
    type Err = ImportError;
    fn from_str(s: &str) -> Result<Self, ImportError> {
        Format::ALL
            .iter()
            .copied()
            .find(|format| format.as_str() == s)
            .ok_or_else(|| ImportError::UnknownFormat {
                name: s.to_string(),
            })
    }
}

/// How to import; every field is optional and `Default` suits every format.
///
/// How each option acts, per format:
///
/// | option | jsonl | csv | lean | dbn | binance | tardis |
/// |---|---|---|---|---|---|---|
/// | `source` (default) | overrides (events' own) | sets (`csv`) | sets (`lean`) | sets (`databento`) | sets (`binance`) | sets (`tardis`) |
/// | `symbol` | overrides | fills when no `symbol` column | overrides the path's | fallback when the symbology has no mapping | fallback for messages without `s` (REST depth snapshots) | renames a one-symbol file's instrument (a second symbol is refused); names it when there is no `symbol` column |
/// | `kind` | filter: other kinds are skipped | overrides the mapping's kind | tick type: `trade`/`bar` → trade file, `bbo_quote` → quote file | filter | filter | filter |
/// | `venue` | fills absent venues | fills when no `venue` column | fills when a row has no exchange (bars) | fills (dataset code is used first) | fills (`BINANCE` is used first) | fills an empty `exchange` cell |
/// | `csv` | — | the column mapping (required) | — | — | — | — |
/// | `lean` | — | — | overrides what the path says | — | — | — |
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportOptions {
    /// The source id events are stored under (see the table above).
    pub source: Option<String>,
    /// The canonical symbol (see the table above).
    pub symbol: Option<String>,
    /// An event kind (see the table above).
    pub kind: Option<EventKind>,
    /// A venue for events whose input names none.
    pub venue: Option<String>,
    /// The CSV column mapping (required for [`Format::Csv`]).
    pub csv: Option<CsvMapping>,
    /// Overrides for what a Lean path says.
    pub lean: LeanOverrides,
    /// When the input turns out cut short (not damaged inside), keep the events read before the
    /// cut instead of storing nothing (used by the archive's import; parsers ignore it).
    pub keep_readable_prefix: bool,
    /// The largest share (0..=1) of an input's rows that may be rejected or refused before the
    /// archive's import rolls the whole input back instead of storing the rest (used by the
    /// archive's import; parsers ignore it). `None`: no limit.
    pub max_reject_share: Option<f64>,
}

impl ImportOptions {
    /// The source id for `format`: the option when given, else the format's default.
    pub(crate) fn source_for(&self, format: Format) -> String {
        self.source.clone().unwrap_or_else(|| {
            // Every format but JSONL has a default; JSONL events name their own source.
            format
                .default_source()
                .unwrap_or(format.as_str())
                .to_string()
        })
    }
}

/// Overrides for what a Lean path (`equity/usa/tick/spy/20131007_trade.zip`) says, for files
/// outside Lean's data tree or named otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeanOverrides {
    /// Security type (`equity`, `forex`, `crypto`, `cfd`, `future`, `option`, `index`,
    /// `indexoption`, `futureoption`, `cryptofuture`).
    pub security_type: Option<LeanSecurityType>,
    /// Market (`usa`, `fxcm`, `oanda`, `coinbase`, …).
    pub market: Option<String>,
    /// Resolution (`tick`, `second`, `minute`, `hour`, `daily`).
    pub resolution: Option<LeanResolution>,
    /// Trading date of a tick/second/minute file.
    pub date: Option<NaiveDate>,
    /// Tick type (`trade`, `quote`, `openinterest`).
    pub tick_type: Option<LeanTickType>,
    /// For options on futures: the underlying future's expiry, when the path does not say.
    pub underlying_expiry: Option<NaiveDate>,
    /// The IANA time zone of the file's times (e.g. `America/New_York`), when the market is one
    /// strata does not know.
    pub time_zone: Option<chrono_tz::Tz>,
}
