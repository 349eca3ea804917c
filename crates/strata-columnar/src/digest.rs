//! An order-independent digest of a set of events, the same whatever form holds them.

use std::fmt;
use strata_model::{jsonl, Event};
use xxhash_rust::xxh3::xxh3_128;

/// The number of events and an order-independent digest of them: the wrapping sum of the
/// XXH3-128 of each event's canonical JSONL line.
///
/// A migration compares the digest of its source (JSONL, in arrival order) with that of its
/// target (Parquet, sorted by event time): equal digests and counts mean the same multiset of
/// events, because each event's line is its exact content (prices at their written scale, every
/// field). A sum, not an XOR, so that an event written twice does not cancel out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EventDigest {
    /// How many events.
    pub events: u64,
    /// The wrapping sum of the events' line hashes.
    pub sum: u128,
}

impl EventDigest {
    /// Adds one event.
    pub fn add(&mut self, event: &Event) {
        let mut line = Vec::with_capacity(256);
        // Encoding into a Vec cannot fail (see `jsonl::encode_into`).
        let _ = jsonl::encode_into(event, &mut line);
        self.add_line(&line);
    }

    /// Adds one event given as its canonical JSONL line (with or without its newline).
    pub fn add_line(&mut self, line: &[u8]) {
        self.add_canonical(line.strip_suffix(b"\n").unwrap_or(line));
    }

    pub(crate) fn add_canonical(&mut self, line_without_newline: &[u8]) {
        self.events += 1;
        self.sum = self.sum.wrapping_add(xxh3_128(line_without_newline));
    }

    /// Adds every event of another digest.
    pub fn merge(&mut self, other: EventDigest) {
        self.events += other.events;
        self.sum = self.sum.wrapping_add(other.sum);
    }

    /// The digest of some events.
    pub fn of<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut digest = EventDigest::default();
        let mut line = Vec::with_capacity(256);
        for event in events {
            line.clear();
            let _ = jsonl::encode_into(event, &mut line);
            digest.add_line(&line);
        }
        digest
    }

    /// The sum as 32 hex digits.
    pub fn hex(&self) -> String {
        format!("{:032x}", self.sum)
    }

    /// Parses what [`hex`](Self::hex) wrote, with the event count beside it.
    pub fn from_hex(events: u64, hex: &str) -> Option<Self> {
        (hex.len() == 32)
            .then(|| u128::from_str_radix(hex, 16).ok())
            .flatten()
            .map(|sum| EventDigest { events, sum })
    }
}

impl fmt::Display for EventDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} events, xxh3-sum {}", self.events, self.hex())
    }
}
