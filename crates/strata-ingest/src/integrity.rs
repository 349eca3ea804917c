//! Integrity checks at write (INGEST-4): what a writer refuses, and what it only reports.
//!
//! Refused (the event goes to the quarantine with the reason): events that fail schema
//! validation, exact duplicates, and — when the policy asks — out-of-order events.
//! Reported (written, counted and logged): sequence gaps larger than the threshold.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use strata_core::policy::IntegrityPolicy;
use strata_model::{jsonl, Event, Payload};

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
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Invalid(why) => write!(f, "invalid: {why}"),
            Rejection::OutOfOrder { newest_ns, event_ns } => write!(
                f,
                "out of order: event time {event_ns} is {} ns before the newest accepted ({newest_ns})",
                newest_ns - event_ns
            ),
            Rejection::Duplicate => f.write_str("duplicate of an accepted event"),
        }
    }
}

/// A sequence gap larger than the policy's threshold.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// Schema rules every event must meet. Crossed quotes and negative prices are real market states
/// (locked markets, negative oil futures) and are accepted; negative sizes and inverted bars are not.
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

/// Per-stream (source, symbol, kind) state the checks need.
#[derive(Debug, Default)]
pub struct StreamChecks {
    newest_ns: Option<i64>,
    last_sequence: Option<u64>,
    /// Content hashes ([`line_hash`]) of the last `duplicate_window` accepted events, with how
    /// many of them have each hash (more than one only when identical events were kept on
    /// purpose, see [`StreamChecks::check_encoded`]).
    recent: HashMap<u64, u32, BuildHasherDefault<AlreadyHashed>>,
    order: VecDeque<u64>,
}

/// The keys of [`StreamChecks::recent`] are [`line_hash`]es, already well mixed: a set of them
/// needs no second hash.
#[derive(Debug, Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (the set holds u64); fold anything else in all the same.
        self.0 = line_hash(bytes) ^ self.0.rotate_left(17);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A 64-bit hash of an event's JSONL line, the key of duplicate detection. The line is an exact,
/// one-to-one encoding of the event (decoding it gives the event back, see
/// `strata_model::jsonl`), so equal lines mean equal events and vice versa; the writer has the
/// line already, so hashing it is cheaper than hashing the event's fields again. XXH3 (the
/// xxhash-rust crate): fast and well mixed, not meant to resist chosen collisions (neither was
/// the fixed-key SipHash it replaced); a collision would send an event to the quarantine as a
/// duplicate, where it is kept, not lost.
fn line_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// The duplicate-detection key of an event: the [`line_hash`] of its JSONL line.
fn content_hash(event: &Event) -> u64 {
    let mut line = Vec::with_capacity(256);
    // Encoding into a Vec cannot fail (see `jsonl::encode_into`).
    let _ = jsonl::encode_into(event, &mut line);
    line_hash(&line)
}

impl StreamChecks {
    /// Checks one event of this stream; on success the event counts as accepted. Returns a gap
    /// when its sequence jumps past the threshold.
    pub fn check(
        &mut self,
        policy: &IntegrityPolicy,
        event: &Event,
    ) -> Result<Option<Gap>, Rejection> {
        self.check_hashed(policy, event, || content_hash(event), false)
    }

    /// [`StreamChecks::check`] for an event whose JSONL line (as `jsonl::encode_into` wrote
    /// it) the caller has already: the writer's path, which saves encoding it again. With
    /// `keep_identical` (its source says records are distinct by position, see
    /// `AppendOptions`), an event identical to a recent one is accepted as another event when it
    /// carries the stream's highest sequence number so far — the group in progress; it still
    /// enters the window, so a replay of it after the stream moved on is refused.
    pub(crate) fn check_encoded(
        &mut self,
        policy: &IntegrityPolicy,
        event: &Event,
        line: &[u8],
        keep_identical: bool,
    ) -> Result<Option<Gap>, Rejection> {
        self.check_hashed(policy, event, || line_hash(line), keep_identical)
    }

    fn check_hashed(
        &mut self,
        policy: &IntegrityPolicy,
        event: &Event,
        content_hash: impl FnOnce() -> u64,
        keep_identical: bool,
    ) -> Result<Option<Gap>, Rejection> {
        if policy.validate_schema {
            validate(event).map_err(Rejection::Invalid)?;
        }
        let ts = event.event_time.as_nanos();
        if policy.reject_out_of_order {
            if let Some(newest) = self.newest_ns {
                let tolerance = i64::try_from(policy.out_of_order_tolerance_ms)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1_000_000);
                if ts < newest.saturating_sub(tolerance) {
                    return Err(Rejection::OutOfOrder {
                        newest_ns: newest,
                        event_ns: ts,
                    });
                }
            }
        }
        let hash = if policy.detect_duplicates {
            let hash = content_hash();
            // An identical record is another event only when its source says records are
            // distinct by position and it belongs to the sequence group in progress (the same
            // venue packet or match event); one from an earlier group is a replay.
            let same_group =
                keep_identical && event.sequence.is_some() && event.sequence == self.last_sequence;
            if !same_group && self.recent.contains_key(&hash) {
                return Err(Rejection::Duplicate);
            }
            Some(hash)
        } else {
            None
        };
        // Accepted from here on.
        if let Some(hash) = hash {
            *self.recent.entry(hash).or_insert(0) += 1;
            self.order.push_back(hash);
            while self.order.len() > policy.duplicate_window {
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
        self.newest_ns = Some(self.newest_ns.map_or(ts, |n| n.max(ts)));
        let mut gap = None;
        if let Some(seq) = event.sequence {
            if let (Some(last), Some(threshold)) =
                (self.last_sequence, policy.sequence_gap_alert_threshold)
            {
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
            self.last_sequence = Some(self.last_sequence.map_or(seq, |l| l.max(seq)));
        }
        Ok(gap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_model::{Bar, Decimal, Payload, Timestamp, Trade};

    fn trade(ts: i64, seq: u64, size: &str) -> Event {
        let mut e = Event::new(
            "s",
            "X",
            Timestamp::from_nanos(ts),
            Payload::Trade(Trade {
                price: "10.5".parse().unwrap(),
                size: size.parse().unwrap(),
                side: None,
                trade_id: None,
                conditions: None,
            }),
        );
        e.sequence = Some(seq);
        e
    }

    #[test]
    fn validation_refuses_negative_sizes_and_inverted_bars() {
        assert!(validate(&trade(1, 1, "-1"))
            .unwrap_err()
            .contains("negative size -1"));
        let bar = Event::new(
            "s",
            "X",
            Timestamp::from_nanos(1),
            Payload::Bar(Bar {
                interval_s: 60,
                open: Decimal::from_int(5),
                high: Decimal::from_int(4),
                low: Decimal::from_int(6),
                close: Decimal::from_int(5),
                volume: Decimal::from_int(1),
                trades: None,
                vwap: None,
            }),
        );
        assert!(validate(&bar)
            .unwrap_err()
            .contains("low 6 is above high 4"));
        let mut empty = trade(1, 1, "1");
        empty.symbol.clear();
        assert_eq!(validate(&empty).unwrap_err(), "empty symbol");
    }

    #[test]
    fn duplicates_out_of_order_and_gaps() {
        let policy = IntegrityPolicy {
            reject_out_of_order: true,
            out_of_order_tolerance_ms: 1,
            sequence_gap_alert_threshold: Some(5),
            ..IntegrityPolicy::default()
        };
        let mut s = StreamChecks::default();
        assert_eq!(s.check(&policy, &trade(10_000_000, 1, "1")), Ok(None));
        assert_eq!(
            s.check(&policy, &trade(10_000_000, 1, "1")),
            Err(Rejection::Duplicate)
        );
        // 0.5 ms late is within the 1 ms tolerance; 2 ms late is not.
        assert_eq!(s.check(&policy, &trade(9_500_000, 2, "1")), Ok(None));
        assert!(matches!(
            s.check(&policy, &trade(8_000_000, 3, "1")),
            Err(Rejection::OutOfOrder { .. })
        ));
        // A jump of 5 is at the threshold; a jump of 7 passes it.
        assert_eq!(s.check(&policy, &trade(11_000_000, 7, "1")), Ok(None));
        let gap = s
            .check(&policy, &trade(12_000_000, 14, "1"))
            .unwrap()
            .unwrap();
        assert_eq!((gap.after, gap.next), (7, 14));
    }

    #[test]
    fn the_writer_path_and_the_event_path_find_the_same_duplicates() {
        let policy = IntegrityPolicy::default();
        let mut s = StreamChecks::default();
        let event = trade(10_000_000, 1, "1");
        let line = jsonl::encode_line(&event).unwrap();
        assert_eq!(content_hash(&event), line_hash(&line));
        assert_eq!(s.check_encoded(&policy, &event, &line, false), Ok(None));
        assert_eq!(s.check(&policy, &event), Err(Rejection::Duplicate));
        // Any field that differs makes another event.
        let mut other = event.clone();
        other.venue = Some("P".into());
        assert_eq!(s.check(&policy, &other), Ok(None));
    }

    #[test]
    fn duplicate_window_forgets_the_oldest() {
        let policy = IntegrityPolicy {
            duplicate_window: 2,
            sequence_gap_alert_threshold: None,
            ..IntegrityPolicy::default()
        };
        let mut s = StreamChecks::default();
        for seq in 1..=3 {
            assert_eq!(s.check(&policy, &trade(seq, seq as u64, "1")), Ok(None));
        }
        assert_eq!(s.check(&policy, &trade(1, 1, "1")), Ok(None), "forgotten");
        assert_eq!(
            s.check(&policy, &trade(3, 3, "1")),
            Err(Rejection::Duplicate)
        );
    }

    #[test]
    fn identical_records_kept_on_purpose_are_remembered_until_the_last_leaves_the_window() {
        let policy = IntegrityPolicy {
            duplicate_window: 3,
            sequence_gap_alert_threshold: None,
            ..IntegrityPolicy::default()
        };
        let mut s = StreamChecks::default();
        let a = trade(1, 1, "1");
        let line = jsonl::encode_line(&a).unwrap();
        // A vendor file holds the same record twice in one sequence group: both are kept.
        assert_eq!(s.check_encoded(&policy, &a, &line, true), Ok(None));
        assert_eq!(s.check_encoded(&policy, &a, &line, true), Ok(None));
        // A replay of it from a live feed is still refused.
        assert_eq!(
            s.check_encoded(&policy, &a, &line, false),
            Err(Rejection::Duplicate)
        );
        // Once the stream has moved on to sequence 2, a third copy is a replay even from a
        // vendor file (the same file imported twice, say).
        assert_eq!(s.check(&policy, &trade(2, 2, "1")), Ok(None));
        assert_eq!(
            s.check_encoded(&policy, &a, &line, true),
            Err(Rejection::Duplicate)
        );
        // Window [a, a, 2] → [a, 2, 3]: the first copy leaves, the second is still
        // remembered.
        assert_eq!(s.check(&policy, &trade(3, 3, "1")), Ok(None));
        assert_eq!(s.check(&policy, &a), Err(Rejection::Duplicate));
        // [2, 3, 4]: the second copy leaves too.
        assert_eq!(s.check(&policy, &trade(4, 4, "1")), Ok(None));
        assert_eq!(s.check(&policy, &a), Ok(None), "forgotten");
    }

    #[test]
    fn line_hash_sees_every_byte_and_the_length() {
        use std::collections::HashSet;
        let base: Vec<u8> = (0u8..=40).collect();
        let mut seen = HashSet::new();
        for len in 0..base.len() {
            assert!(seen.insert(line_hash(&base[..len])), "prefix {len}");
        }
        for i in 0..base.len() {
            let mut flipped = base.clone();
            flipped[i] ^= 1;
            assert!(seen.insert(line_hash(&flipped)), "byte {i}");
        }
        assert_ne!(line_hash(b"\0"), line_hash(b""));
    }
}
