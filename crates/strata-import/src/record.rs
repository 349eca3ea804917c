//! What an import yields ([`Record`]) and the tally of an import ([`ImportSummary`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use strata_model::{Event, EventKind, SymbolInfo, Timestamp};

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
    /// Rejected rows by kind of reason ([`reason_class`]), each with its count and first
    /// example; at most [`MAX_REASON_CLASSES`] classes, the rest under [`OTHER_REASONS`].
    pub rejected_by_reason: BTreeMap<String, ReasonTally>,
    /// Skipped rows by kind of reason, as [`ImportSummary::rejected_by_reason`].
    pub skipped_by_reason: BTreeMap<String, ReasonTally>,
    /// The earliest and latest event time yielded.
    pub time_range: Option<(Timestamp, Timestamp)>,
    /// Events yielded, by symbol.
    pub events_by_symbol: BTreeMap<String, u64>,
}

/// How many distinct reason classes a summary keeps apart.
pub const MAX_REASON_CLASSES: usize = 50;

/// The class that counts reasons beyond [`MAX_REASON_CLASSES`].
pub const OTHER_REASONS: &str = "(other reasons)";

/// Bytes of a row kept as the example of its reason.
const EXAMPLE_BYTES: usize = 200;

/// The rows of one kind of reason: how many, and the first of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReasonTally {
    /// Rows with a reason of this class.
    pub count: u64,
    /// The first such row's file.
    pub first_file: String,
    /// The first such row's line.
    pub first_line: u64,
    /// The first such row's reason, in full.
    pub first_reason: String,
    /// The first such row (its first 200 bytes; empty for skipped rows).
    pub first_raw: String,
}

/// The kind of a reason: the reason with its particulars (the quoted values, in backticks, and
/// numbers of four or more digits) replaced by `…`, so that `price: `x` is not a decimal` and
/// `price: `y` is not a decimal` count together. A quoted column name (after `column `) and a
/// quoted single punctuation mark (`` `.` ``) are part of the reason and stay.
///
/// ```
/// use strata_import::record::reason_class;
/// assert_eq!(reason_class("price: `x` is not a decimal number"), "price: `…` is not a decimal number");
/// assert_eq!(reason_class("column `px` (price): `x` has one `.` too many"), "column `px` (price): `…` has one `.` too many");
/// assert_eq!(reason_class("86400001 ms after midnight is out of range"), "… ms after midnight is out of range");
/// assert_eq!(reason_class("missing column 4 (price)"), "missing column 4 (price)");
/// ```
pub fn reason_class(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut rest = reason;
    while let Some(open) = rest.find('`') {
        push_masking_numbers(&mut out, &rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else {
            out.push_str("`…");
            return out;
        };
        let quoted = &after[..close];
        let keep = out.ends_with("column ")
            || (quoted.chars().count() == 1 && quoted.chars().all(|c| c.is_ascii_punctuation()));
        out.push('`');
        out.push_str(if keep { quoted } else { "…" });
        out.push('`');
        rest = &after[close + 1..];
    }
    push_masking_numbers(&mut out, rest);
    out
}

/// Appends `text` with every run of four or more digits replaced by `…`.
fn push_masking_numbers(out: &mut String, text: &str) {
    let mut digits = 0usize;
    let mut start = 0usize;
    for (i, c) in text.char_indices() {
        if c.is_ascii_digit() {
            if digits == 0 {
                start = i;
            }
            digits += 1;
            continue;
        }
        if digits > 0 {
            out.push_str(if digits >= 4 { "…" } else { &text[start..i] });
            digits = 0;
        }
        out.push(c);
    }
    if digits > 0 {
        out.push_str(if digits >= 4 { "…" } else { &text[start..] });
    }
}

fn tally(
    by_reason: &mut BTreeMap<String, ReasonTally>,
    file: &str,
    line: u64,
    reason: &str,
    raw: &str,
) {
    let mut class = reason_class(reason);
    if !by_reason.contains_key(&class) && is_full(by_reason) {
        class = OTHER_REASONS.to_string();
    }
    let entry = by_reason.entry(class).or_insert_with(|| {
        let mut cut = raw.len().min(EXAMPLE_BYTES);
        while !raw.is_char_boundary(cut) {
            cut -= 1;
        }
        ReasonTally {
            count: 0,
            first_file: file.to_string(),
            first_line: line,
            first_reason: reason.to_string(),
            first_raw: raw[..cut].to_string(),
        }
    });
    entry.count += 1;
}

/// True when `by_reason` holds [`MAX_REASON_CLASSES`] classes besides [`OTHER_REASONS`].
fn is_full(by_reason: &BTreeMap<String, ReasonTally>) -> bool {
    by_reason.len() - usize::from(by_reason.contains_key(OTHER_REASONS)) >= MAX_REASON_CLASSES
}

fn merge_tallies(into: &mut BTreeMap<String, ReasonTally>, from: &BTreeMap<String, ReasonTally>) {
    for (class, t) in from {
        let class = if !into.contains_key(class) && class != OTHER_REASONS && is_full(into) {
            OTHER_REASONS
        } else {
            class.as_str()
        };
        match into.get_mut(class) {
            Some(existing) => existing.count += t.count,
            None => {
                into.insert(class.to_string(), t.clone());
            }
        }
    }
}

impl ImportSummary {
    /// Counts one record.
    pub fn add(&mut self, record: &Record) {
        match record {
            Record::Event(event) => {
                *self.events_by_kind.entry(event.kind()).or_default() += 1;
                match self.events_by_symbol.get_mut(event.symbol.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        self.events_by_symbol.insert(event.symbol.clone(), 1);
                    }
                }
                let t = event.event_time;
                self.time_range = Some(match self.time_range {
                    None => (t, t),
                    Some((a, b)) => (a.min(t), b.max(t)),
                });
            }
            Record::Rejected(rejected) => {
                self.rejected += 1;
                self.stopped_early |= rejected.stopped_import();
                tally(
                    &mut self.rejected_by_reason,
                    &rejected.file,
                    rejected.line,
                    &rejected.reason,
                    &rejected.raw,
                );
            }
            Record::Skipped { line, reason } => {
                self.skipped += 1;
                tally(&mut self.skipped_by_reason, "", *line, reason, "");
            }
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
        merge_tallies(&mut self.rejected_by_reason, &other.rejected_by_reason);
        merge_tallies(&mut self.skipped_by_reason, &other.skipped_by_reason);
        for (symbol, n) in &other.events_by_symbol {
            *self.events_by_symbol.entry(symbol.clone()).or_default() += n;
        }
        self.time_range = match (self.time_range, other.time_range) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, None) | (None, x) => x,
        };
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

    /// The reason classes of `by_reason`, most rows first (ties by class), at most `n`.
    pub fn top_reasons(
        by_reason: &BTreeMap<String, ReasonTally>,
        n: usize,
    ) -> Vec<(&str, &ReasonTally)> {
        let mut all: Vec<(&str, &ReasonTally)> =
            by_reason.iter().map(|(c, t)| (c.as_str(), t)).collect();
        all.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        all.truncate(n);
        all
    }

    /// The data-quality lines of this summary, to print under its one-line form: the time
    /// range, the symbols, and the top `n` reasons rows were rejected and skipped for, each
    /// with its count and first example.
    pub fn receipt_lines(&self, n: usize) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some((a, b)) = self.time_range {
            lines.push(format!("time range: {a} .. {b}"));
        }
        if !self.events_by_symbol.is_empty() {
            let shown: Vec<String> = self
                .events_by_symbol
                .iter()
                .take(5)
                .map(|(s, k)| format!("{s} {k}"))
                .collect();
            let more = self.events_by_symbol.len().saturating_sub(5);
            lines.push(format!(
                "symbols: {}: {}{}",
                self.events_by_symbol.len(),
                shown.join(", "),
                if more > 0 {
                    format!(", … {more} more")
                } else {
                    String::new()
                }
            ));
        }
        for (what, by_reason, total) in [
            ("rejected", &self.rejected_by_reason, self.rejected),
            ("skipped", &self.skipped_by_reason, self.skipped),
        ] {
            if total == 0 {
                continue;
            }
            let top = Self::top_reasons(by_reason, n);
            lines.push(format!(
                "{what}: {total} row(s), {} kind(s) of reason{}",
                by_reason.len(),
                if by_reason.len() > top.len() {
                    format!(", top {}", top.len())
                } else {
                    String::new()
                }
            ));
            for (class, t) in top {
                let at = if t.first_file.is_empty() {
                    format!("line {}", t.first_line)
                } else {
                    format!("{}:{}", t.first_file, t.first_line)
                };
                let example = if t.first_raw.is_empty() {
                    String::new()
                } else {
                    format!(" `{}`", t.first_raw)
                };
                lines.push(format!("  {} × {class} — first at {at}{example}", t.count));
            }
        }
        lines
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(line: u64, reason: &str) -> Record {
        Record::Rejected(Rejected {
            file: "f.csv".into(),
            line,
            reason: reason.into(),
            raw: "é".repeat(300),
        })
    }

    #[test]
    fn reasons_are_tallied_by_class_capped_and_merged() {
        let mut s = ImportSummary::default();
        s.add(&rejected(2, "price: `x` is not a decimal"));
        s.add(&rejected(5, "price: `y` is not a decimal"));
        let t = &s.rejected_by_reason["price: `…` is not a decimal"];
        assert_eq!((t.count, t.first_line), (2, 2));
        assert_eq!(t.first_reason, "price: `x` is not a decimal");
        // The example is cut at 200 bytes, on a character boundary.
        assert_eq!(t.first_raw.len(), 200);
        for i in 0..60 {
            s.add(&rejected(10 + i, &format!("column {i} is odd")));
        }
        assert_eq!(
            s.rejected_by_reason.len(),
            MAX_REASON_CLASSES + 1,
            "50 and the rest"
        );
        assert_eq!(s.rejected_by_reason[OTHER_REASONS].count, 11);
        let mut total = ImportSummary::default();
        total.merge(&s);
        total.merge(&s);
        assert_eq!(total.rejected, 2 * 62);
        assert_eq!(
            total.rejected_by_reason["price: `…` is not a decimal"].count,
            4
        );
        let top = ImportSummary::top_reasons(&total.rejected_by_reason, 2);
        assert_eq!(top[0].0, OTHER_REASONS);
        assert_eq!(top[1].0, "price: `…` is not a decimal");
        let counted: u64 = total.rejected_by_reason.values().map(|t| t.count).sum();
        assert_eq!(counted, total.rejected);
    }
}
