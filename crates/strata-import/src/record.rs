//! What an import yields ([`Record`]) and the tally of an import ([`ImportSummary`]).

use std::collections::BTreeMap;
use std::fmt;

use strata_model::{Event, EventKind, SymbolInfo};

/// The reason prefix of the [`Rejected`] record an import yields when the input cannot be read
/// any further (a truncated `.gz`, a zip entry failing its CRC): the import stops after it.
pub const READ_ERROR_PREFIX: &str = "input unreadable from here on, import stopped: ";

/// Follows [`READ_ERROR_PREFIX`] when the input ends before its format says it is complete (a cut
/// download, a file still being written): what came before passed the format's own framing. Any
/// other read error (a failed CRC, a corrupt block) means no part of the stream is proven.
pub const CUT_MARK: &str = "the input is cut short: ";

/// The reason of the [`Rejected`] record that stops an import on the read error `err`.
pub(crate) fn read_error_reason(err: &std::io::Error) -> String {
    if err.kind() == std::io::ErrorKind::UnexpectedEof {
        format!("{READ_ERROR_PREFIX}{CUT_MARK}{err}")
    } else {
        format!("{READ_ERROR_PREFIX}{err}")
    }
}

/// One item of an import, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A market event to store.
    Event(Event),
    /// A row that could not be turned into events: goes to quarantine with its reason.
    Rejected(Rejected),
    /// Valid input that holds nothing strata stores (a Binance `markPrice`, a DBN status
    /// record, an event of a kind `--kind` did not select): counted, not quarantined.
    Skipped {
        /// 1-based line (DBN: record index) in the input.
        line: u64,
        /// Why nothing was stored.
        reason: String,
    },
    /// An instrument the input names and describes (a futures or options contract in a Lean
    /// zip entry's name): its events carry `info.symbol`; the archive adds it to the symbol
    /// registry. Yielded before the first event of that instrument.
    Instrument(SymbolInfo),
    /// A break in the source's own sequence numbers (Binance `pu` ≠ the previous `u`): the
    /// events around it are still yielded; the gap is a notice for the summary and quality.
    Gap(Gap),
    /// The input is exhausted (or unreadable past this point, see [`READ_ERROR_PREFIX`]); always
    /// the last record of an import.
    End {
        /// Rows (lines, CSV records, DBN records) read, blank lines not counted.
        rows: u64,
    },
}

/// A row that was not imported, with what the quarantine needs to show a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The input file; `archive.zip:entry.csv` for a row inside a zip.
    pub file: String,
    /// 1-based line number (DBN: 1-based record index).
    pub line: u64,
    /// What is wrong, naming the column or field.
    pub reason: String,
    /// The row as read (CSV: the fields re-joined; DBN: the record's debug form).
    pub raw: String,
}

impl Rejected {
    /// True when this rejection ended the import because the input could not be read further.
    pub fn stopped_import(&self) -> bool {
        self.reason.starts_with(READ_ERROR_PREFIX)
    }

    /// True when this rejection stopped the import because the input is cut short (see
    /// [`CUT_MARK`]), not damaged inside.
    pub fn input_is_cut(&self) -> bool {
        self.reason
            .strip_prefix(READ_ERROR_PREFIX)
            .is_some_and(|rest| rest.starts_with(CUT_MARK))
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// A break in a source's sequence numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The input file.
    pub file: String,
    /// 1-based line of the message after the break.
    pub line: u64,
    /// The symbol whose sequence broke.
    pub symbol: String,
    /// The sequence number the message should have continued from.
    pub expected: u64,
    /// The sequence number it continued from instead.
    pub found: u64,
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} sequence gap: expected previous update id {}, found {}",
            self.file, self.line, self.symbol, self.expected, self.found
        )
    }
}

/// Counts of an import, accumulated from its [`Record`]s with [`ImportSummary::add`] (or
/// `Extend`); summaries of several files [`merge`](ImportSummary::merge).
///
/// ```
/// use strata_import::{ImportSummary, Record};
///
/// let mut summary = ImportSummary::default();
/// summary.add(&Record::Skipped { line: 1, reason: "markPrice".into() });
/// summary.add(&Record::End { rows: 1 });
/// assert_eq!(summary.to_string(), "1 rows: 0 events, 0 rejected, 1 skipped, 0 gaps");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Rows read (from [`Record::End`]).
    pub rows: u64,
    /// Events yielded, by kind.
    pub events_by_kind: BTreeMap<EventKind, u64>,
    /// Rows rejected.
    pub rejected: u64,
    /// Rows or events skipped.
    pub skipped: u64,
    /// Sequence gaps, in input order.
    pub gaps: Vec<Gap>,
    /// True when an import stopped early because its input became unreadable.
    pub stopped_early: bool,
    /// The instruments the input described ([`Record::Instrument`]), by symbol.
    pub instruments: BTreeMap<String, SymbolInfo>,
}

impl ImportSummary {
    /// Counts one record.
    pub fn add(&mut self, record: &Record) {
        match record {
            Record::Event(event) => *self.events_by_kind.entry(event.kind()).or_default() += 1,
            Record::Rejected(rejected) => {
                self.rejected += 1;
                self.stopped_early |= rejected.stopped_import();
            }
            Record::Skipped { .. } => self.skipped += 1,
            Record::Gap(gap) => self.gaps.push(gap.clone()),
            Record::Instrument(info) => {
                self.instruments
                    .entry(info.symbol.clone())
                    .or_insert_with(|| info.clone());
            }
            Record::End { rows } => self.rows += rows,
        }
    }

    /// Adds another summary's counts to this one.
    pub fn merge(&mut self, other: &ImportSummary) {
        self.rows += other.rows;
        for (kind, n) in &other.events_by_kind {
            *self.events_by_kind.entry(*kind).or_default() += n;
        }
        self.rejected += other.rejected;
        self.skipped += other.skipped;
        self.gaps.extend(other.gaps.iter().cloned());
        self.stopped_early |= other.stopped_early;
        for (symbol, info) in &other.instruments {
            self.instruments
                .entry(symbol.clone())
                .or_insert_with(|| info.clone());
        }
    }

    /// Events yielded, all kinds together.
    pub fn events(&self) -> u64 {
        self.events_by_kind.values().sum()
    }
}

impl<'a> Extend<&'a Record> for ImportSummary {
    fn extend<I: IntoIterator<Item = &'a Record>>(&mut self, records: I) {
        for record in records {
            self.add(record);
        }
    }
}

impl fmt::Display for ImportSummary {
    /// `250601 rows: 250601 events (trade 250601), 0 rejected, 0 skipped, 0 gaps`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rows: {} events", self.rows, self.events())?;
        if !self.events_by_kind.is_empty() {
            f.write_str(" (")?;
            for (i, (kind, n)) in self.events_by_kind.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{kind} {n}")?;
            }
            f.write_str(")")?;
        }
        write!(
            f,
            ", {} rejected, {} skipped, {} gaps",
            self.rejected,
            self.skipped,
            self.gaps.len()
        )?;
        if self.stopped_early {
            f.write_str(" (stopped early: input unreadable)")?;
        }
        Ok(())
    }
}
