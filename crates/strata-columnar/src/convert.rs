//! JSONL → Parquet: the conversion the cold tier is made of.

use crate::error::{Error, Result};
use crate::write::{FileBuilder, FileSummary, ParquetOptions};
use std::collections::BTreeMap;
use strata_model::{jsonl, Event, EventKind, Payload, Timestamp};

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
    input: &[u8],
    options: &ParquetOptions,
) -> Result<Vec<Converted>> {
    let mut files: BTreeMap<EventKind, FileBuilder> = BTreeMap::new();
    // One event refilled line after line: no allocation per line.
    let mut event = Event::new("", "", Timestamp::from_nanos(0), Payload::Heartbeat);
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', input).chain(std::iter::once(input.len()));
    for (i, end) in ends.enumerate() {
        let line = &input[start..end];
        start = end + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let canonical = jsonl::decode_canonical_into(line, &mut event);
        if !canonical {
            event = jsonl::decode_line(line).map_err(|e| Error::Jsonl {
                source_name: name.to_string(),
                line: i as u64 + 1,
                message: e.to_string(),
            })?;
        }
        let kind = event.kind();
        let file = files.entry(kind).or_insert_with(|| {
            // Room for as many events as lines of this length fit the input (at most 2^26):
            // growing the columns by doubling would copy and fault in every page twice.
            let rows = (input.len() / (line.len() + 1)).min(1 << 26);
            FileBuilder::with_capacity(kind, rows)
        });
        if canonical {
            file.push_canonical(&event, line)?;
        } else {
            file.push(&event)?;
        }
    }
    files
        .into_values()
        .map(|file| {
            let (bytes, summary) = file.finish(Vec::new(), options)?;
            Ok(Converted { bytes, summary })
        })
        .collect()
}
