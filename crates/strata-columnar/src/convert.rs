//! JSONL → Parquet: the conversion the cold tier is made of.

use crate::error::{Error, Result};
use crate::write::{write_events, FileSummary, ParquetOptions};
use std::collections::BTreeMap;
use std::io::BufRead;
use strata_model::{jsonl, Event, EventKind};

/// One Parquet file made from a JSONL input: the events of one kind.
#[derive(Debug)]
pub struct Converted {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// What it holds.
    pub summary: FileSummary,
}

/// Reads JSONL events (one per line, blank lines skipped) from `input`, named `name` in
/// errors, and writes one Parquet file per event kind, each sorted by event time.
///
/// A line that does not decode stops the conversion with its line number: a hot-tier file is
/// strata's own, written and checksummed, so a bad line means damage to look at, not input to
/// skip.
pub fn jsonl_to_parquet(
    name: &str,
    input: impl BufRead,
    options: &ParquetOptions,
) -> Result<Vec<Converted>> {
    let mut by_kind: BTreeMap<EventKind, Vec<Event>> = BTreeMap::new();
    for (i, line) in input.split(b'\n').enumerate() {
        let line = line.map_err(|error| Error::Io {
            source_name: name.to_string(),
            error,
        })?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let event = jsonl::decode_line(&line).map_err(|e| Error::Jsonl {
            source_name: name.to_string(),
            line: i as u64 + 1,
            message: e.to_string(),
        })?;
        by_kind.entry(event.kind()).or_default().push(event);
    }
    by_kind
        .into_iter()
        .map(|(kind, mut events)| {
            let (bytes, summary) = write_events(kind, &mut events, Vec::new(), options)?;
            Ok(Converted { bytes, summary })
        })
        .collect()
}
