//! JSONL → Parquet: the conversion the cold tier is made of.

use crate::error::{Error, Result};
use crate::write::{EventWriter, FilePlan, FileSummary, ParquetOptions};
use std::collections::BTreeMap;
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
pub fn jsonl_to_parquet(name: &str, input: &[u8], options: &ParquetOptions) -> Result<Vec<Converted>> {
    // Each event with its line when the line is canonical (the digest hashes it as it is).
    let mut by_kind: BTreeMap<EventKind, Vec<(Event, Option<&[u8]>)>> = BTreeMap::new();
    // Lines are 100 to 300 bytes: room for most files' events at once.
    let expected = input.len() / 128;
    for (i, line) in input.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let decoded = match jsonl::decode_canonical(line) {
            Some(event) => (event, Some(line)),
            None => (
                jsonl::decode_line(line).map_err(|e| Error::Jsonl {
                    source_name: name.to_string(),
                    line: i as u64 + 1,
                    message: e.to_string(),
                })?,
                None,
            ),
        };
        by_kind
            .entry(decoded.0.kind())
            .or_insert_with(|| Vec::with_capacity(expected))
            .push(decoded);
    }
    by_kind
        .into_iter()
        .map(|(kind, events)| {
            let mut plan = FilePlan::new(kind);
            for (e, _) in &events {
                plan.observe(e)?;
            }
            // Sorted through an index (a stable sort: events at the same time keep their order),
            // so that events are not moved around.
            let mut order: Vec<(i64, u32)> = Vec::with_capacity(events.len());
            for (i, (e, _)) in events.iter().enumerate() {
                let i = u32::try_from(i)
                    .map_err(|_| Error::NotStrata(format!("{name}: more than 2^32 events")))?;
                order.push((e.event_time.as_nanos(), i));
            }
            order.sort_unstable();
            let mut writer = EventWriter::new(&plan, Vec::new(), options)?;
            for &(_, i) in &order {
                let (e, line) = &events[i as usize];
                match line {
                    Some(line) => writer.write_canonical(e, line)?,
                    None => writer.write(e)?,
                }
            }
            let (bytes, summary) = writer.finish()?;
            Ok(Converted { bytes, summary })
        })
        .collect()
}
