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
    let mut converter = Converter::new();
    converter.push_jsonl(name, input)?;
    converter.finish(options)
}

/// Events of several inputs gathered as columns, one [`FileBuilder`] per kind, then written as
/// one Parquet file per kind ([`finish`](Self::finish)): a consolidation feeds its sources one
/// at a time, so only the columns and one input are in memory, never every input's text.
#[derive(Default)]
pub struct Converter {
    files: BTreeMap<EventKind, FileBuilder>,
}

impl std::fmt::Debug for Converter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Converter")
            .field("kinds", &self.files.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Converter {
    /// Nothing gathered yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the events of a JSONL text (see [`jsonl_to_parquet`]).
    pub fn push_jsonl(&mut self, name: &str, input: &[u8]) -> Result<()> {
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
            let file = self.files.entry(kind).or_insert_with(|| {
                // Room for as many events as lines of this length fit the input (at most
                // 2^26): growing the columns by doubling would copy and fault in every page
                // twice.
                let rows = (input.len() / (line.len() + 1)).min(1 << 26);
                FileBuilder::with_capacity(kind, rows)
            });
            if canonical {
                file.push_canonical(&event, line)?;
            } else {
                file.push(&event)?;
            }
        }
        Ok(())
    }

    /// Adds one event.
    pub fn push(&mut self, event: &Event) -> Result<()> {
        let kind = event.kind();
        self.files
            .entry(kind)
            .or_insert_with(|| FileBuilder::new(kind))
            .push(event)
    }

    /// One Parquet file per kind gathered, each sorted by event time.
    pub fn finish(self, options: &ParquetOptions) -> Result<Vec<Converted>> {
        self.files
            .into_values()
            .map(|file| {
                let (bytes, summary) = file.finish(Vec::new(), options)?;
                Ok(Converted { bytes, summary })
            })
            .collect()
    }
}
