//! What the writer checks before it accepts an event (INGEST-4). Rejected events go to the
//! quarantine with the reason; nothing is dropped silently.
//!
//! The extension point is the [`IntegrityPolicy`] trait (EXT-1): given what a stream (source,
//! symbol, kind) accepted so far — its [`StreamFacts`] — and one event, a pure [`Verdict`]. The
//! built-in is [`IntegrityChecks`], the `[integrity]` section of the config: schema rules,
//! order, duplicates and sequence gaps. The writer keeps the facts and asks the policy; the laws
//! are in `strata_core::laws::integrity` (feature `laws`).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};
use strata_model::{Event, Payload};

/// The built-in integrity policy: the `[integrity]` section of the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntegrityChecks {
    /// Check every event against the schema (non-negative sizes, non-empty symbol, book sides
    /// ordered, bar high ≥ low) before writing.
    pub validate_schema: bool,
    /// Refuse events older than the newest already written to the same partition.
    pub reject_out_of_order: bool,
    /// Tolerance for out-of-order events, in milliseconds, when rejecting them.
    pub out_of_order_tolerance_ms: u64,
    /// Alert when a stream's sequence number jumps by more than this (unset, the default: no
    /// alert). Only for feeds whose sequence numbers are contiguous per (source, symbol, kind);
    /// venue-wide sequences (CME channels) or update ids that skip (Binance depth `u`) would raise
    /// false alarms — their importers check the venue's own continuity rule instead.
    pub sequence_gap_alert_threshold: Option<u64>,
    /// Detect exact duplicates (same source, symbol, sequence and content).
    pub detect_duplicates: bool,
    /// How many recent events per partition the duplicate check remembers.
    pub duplicate_window: usize,
    /// Put the whole file in quarantine instead of the single event on a checksum mismatch.
    pub quarantine_whole_file_on_checksum_mismatch: bool,
}

impl Default for IntegrityChecks {
    fn default() -> Self {
        IntegrityChecks {
            validate_schema: true,
            reject_out_of_order: false,
            out_of_order_tolerance_ms: 0,
            sequence_gap_alert_threshold: None,
            detect_duplicates: true,
            duplicate_window: 10_000,
            quarantine_whole_file_on_checksum_mismatch: true,
        }
    }
}

/// Decides whether the writer accepts an event (INGEST-4, EXT-1). Pure: the same facts and event
/// give the same verdict; the writer updates the facts ([`StreamFacts::accept`]) only for
/// accepted events, so a rejected event changes nothing.
pub trait IntegrityPolicy: fmt::Debug + Send + Sync {
    /// A short name for reports (`integrity_checks`).
    fn name(&self) -> String;

    /// How many recent events per stream the policy wants remembered for
    /// [`StreamFacts::has_recent`]; 0 when it never asks (the writer then skips hashing).
    fn memory(&self) -> usize;

    /// The verdict on `candidate`, given what its stream accepted so far.
    fn verdict(&self, stream: &StreamFacts, candidate: &Candidate<'_>) -> Verdict;
}

/// One event as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The event.
    pub event: &'a Event,
    /// A 64-bit hash of its exact encoding (equal events, equal hashes); 0 when the policy's
    /// [`memory`](IntegrityPolicy::memory) is 0.
    pub content: u64,
    /// Its source says identical records are distinct by position (a vendor file that repeats a
    /// record within one sequence group).
    pub keep_identical: bool,
}

/// What the policy says of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Write it; `gap` reports a sequence jump worth an alert (written all the same).
    Accept {
        /// The gap this event's sequence number jumps over, if the policy reports one.
        gap: Option<Gap>,
    },
    /// Quarantine it, for this reason.
    Reject(Rejection),
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// It breaks the schema's rules.
    Invalid(String),
    /// It is older than the newest event of its stream by more than the tolerance.
    OutOfOrder {
        /// The newest event time already accepted in the stream (ns).
        newest_ns: i64,
        /// This event's time (ns).
        event_ns: i64,
    },
    /// The same event was already accepted.
    Duplicate,
    /// A policy of the user's own refused it.
    Other {
        /// The class it is counted under in reports (`rejected_by_reason`).
        class: String,
        /// Why.
        reason: String,
    },
}

impl Rejection {
    /// The class a rejection is counted under (`invalid`, `out_of_order`, `duplicate`, …).
    pub fn class(&self) -> &str {
        match self {
            Rejection::Invalid(_) => "invalid",
            Rejection::OutOfOrder { .. } => "out_of_order",
            Rejection::Duplicate => "duplicate",
            Rejection::Other { class, .. } => class,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Invalid(why) => write!(f, "invalid: {why}"),
            Rejection::OutOfOrder { newest_ns, event_ns } => write!(
                f,
                "out of order: event time {event_ns} is {} ns before the newest accepted ({newest_ns})",
                newest_ns.saturating_sub(*event_ns)
            ),
            Rejection::Duplicate => f.write_str("duplicate of an accepted event"),
            Rejection::Other { class, reason } => write!(f, "{class}: {reason}"),
        }
    }
}

/// A sequence gap larger than the policy's threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// Source id.
    pub source: String,
    /// Symbol.
    pub symbol: String,
    /// Event kind.
    pub kind: String,
    /// The last sequence number before the gap.
    pub after: u64,
    /// The first sequence number after it.
    pub next: u64,
}

/// What one stream (source, symbol, kind) accepted so far: the facts a policy decides on.
#[derive(Debug, Default, Clone)]
pub struct StreamFacts {
    /// The newest event time accepted (ns).
    pub newest_ns: Option<i64>,
    /// The highest sequence number accepted.
    pub last_sequence: Option<u64>,
    /// Content hashes of the last accepted events, with how many of them have each (more than
    /// one only when identical events were kept on purpose).
    recent: HashMap<u64, u32, BuildHasherDefault<AlreadyHashed>>,
    order: VecDeque<u64>,
}

/// The keys of [`StreamFacts::recent`] are content hashes, already well mixed: a set of them
/// needs no second hash.
#[derive(Debug, Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (the set holds u64); fold anything else in all the same.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl StreamFacts {
    /// Whether an event with this content hash is among the remembered recent ones.
    pub fn has_recent(&self, content: u64) -> bool {
        self.recent.contains_key(&content)
    }

    /// How many content hashes are remembered.
    pub fn remembered(&self) -> usize {
        self.order.len()
    }

    /// Records an accepted event: its time, its sequence number and (when `memory` > 0) its
    /// content, forgetting the oldest beyond `memory`.
    pub fn accept(&mut self, candidate: &Candidate<'_>, memory: usize) {
        let event = candidate.event;
        if memory > 0 {
            *self.recent.entry(candidate.content).or_insert(0) += 1;
            self.order.push_back(candidate.content);
            while self.order.len() > memory {
                if let Some(old) = self.order.pop_front() {
                    if let Some(n) = self.recent.get_mut(&old) {
                        *n -= 1;
                        if *n == 0 {
                            self.recent.remove(&old);
                        }
                    }
                }
            }
        }
        let ts = event.event_time.as_nanos();
        self.newest_ns = Some(self.newest_ns.map_or(ts, |n| n.max(ts)));
        if let Some(seq) = event.sequence {
            self.last_sequence = Some(self.last_sequence.map_or(seq, |l| l.max(seq)));
        }
    }
}

impl IntegrityPolicy for IntegrityChecks {
    fn name(&self) -> String {
        "integrity_checks".into()
    }

    fn memory(&self) -> usize {
        if self.detect_duplicates {
            self.duplicate_window
        } else {
            0
        }
    }

    fn verdict(&self, stream: &StreamFacts, candidate: &Candidate<'_>) -> Verdict {
        let event = candidate.event;
        if self.validate_schema {
            if let Err(why) = validate(event) {
                return Verdict::Reject(Rejection::Invalid(why));
            }
        }
        let ts = event.event_time.as_nanos();
        if self.reject_out_of_order {
            if let Some(newest) = stream.newest_ns {
                let tolerance = i64::try_from(self.out_of_order_tolerance_ms)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1_000_000);
                if ts < newest.saturating_sub(tolerance) {
                    return Verdict::Reject(Rejection::OutOfOrder {
                        newest_ns: newest,
                        event_ns: ts,
                    });
                }
            }
        }
        if self.detect_duplicates && self.duplicate_window > 0 {
            // An identical record is another event only when its source says records are
            // distinct by position and it belongs to the sequence group in progress (the same
            // venue packet or match event); one from an earlier group is a replay.
            let same_group = candidate.keep_identical
                && event.sequence.is_some()
                && event.sequence == stream.last_sequence;
            if !same_group && stream.has_recent(candidate.content) {
                return Verdict::Reject(Rejection::Duplicate);
            }
        }
        let mut gap = None;
        if let (Some(seq), Some(last), Some(threshold)) = (
            event.sequence,
            stream.last_sequence,
            self.sequence_gap_alert_threshold,
        ) {
            if seq > last && seq - last > threshold {
                gap = Some(Gap {
                    source: event.source.clone(),
                    symbol: event.symbol.clone(),
                    kind: event.kind().to_string(),
                    after: last,
                    next: seq,
                });
            }
        }
        Verdict::Accept { gap }
    }
}

/// Schema rules every event must meet. Crossed quotes and negative prices are real market states
/// (locked markets, negative oil futures) and are accepted; negative sizes and inverted bars are
/// not.
pub fn validate(event: &Event) -> Result<(), String> {
    if event.source.is_empty() {
        return Err("empty source".into());
    }
    if event.symbol.is_empty() {
        return Err("empty symbol".into());
    }
    let negative = |what: &str, d: &strata_model::Decimal| -> Result<(), String> {
        if d.is_negative() {
            Err(format!("negative {what} {d}"))
        } else {
            Ok(())
        }
    };
    match &event.payload {
        Payload::Trade(t) => negative("size", &t.size)?,
        Payload::BboQuote(q) => {
            for level in q.bid.iter().chain(q.ask.iter()) {
                negative("size", &level.size)?;
            }
        }
        Payload::L2Snapshot(s) => {
            for level in s.bids.iter().chain(s.asks.iter()) {
                negative("size", &level.size)?;
            }
            let sorted_desc = s
                .bids
                .windows(2)
                .all(|w| w[0].price.cmp_value(w[1].price).is_gt());
            let sorted_asc = s
                .asks
                .windows(2)
                .all(|w| w[0].price.cmp_value(w[1].price).is_lt());
            if !sorted_desc {
                return Err("bids are not strictly descending by price".into());
            }
            if !sorted_asc {
                return Err("asks are not strictly ascending by price".into());
            }
        }
        Payload::OrderBookDelta(d) => {
            if let Some(size) = &d.size {
                negative("size", size)?;
            }
        }
        Payload::Bar(b) => {
            negative("volume", &b.volume)?;
            if b.low.cmp_value(b.high).is_gt() {
                return Err(format!("bar low {} is above high {}", b.low, b.high));
            }
            for (name, p) in [("open", b.open), ("close", b.close)] {
                if p.cmp_value(b.high).is_gt() || p.cmp_value(b.low).is_lt() {
                    return Err(format!(
                        "bar {name} {p} is outside low..high {}..{}",
                        b.low, b.high
                    ));
                }
            }
        }
        Payload::Heartbeat => {}
        Payload::OpenInterest(oi) => negative("open interest", &oi.value)?,
        Payload::DerivativeTicker(t) => {
            if let Some(oi) = &t.open_interest {
                negative("open interest", oi)?;
            }
        }
    }
    Ok(())
}
