//! Integrity checks at write (INGEST-4): the writer keeps each stream's [`StreamFacts`] and asks
//! its [`IntegrityPolicy`] (by default the config's
//! [`IntegrityChecks`](strata_core::policy::IntegrityChecks)) for a verdict on every event.
//!
//! Refused (the event goes to the quarantine with the reason): what the policy rejects — with the
//! built-in, events that fail schema validation, exact duplicates and, when asked, out-of-order
//! events. Reported (written, counted and logged): sequence gaps larger than the threshold.

use strata_model::{jsonl, Event};

pub use strata_core::policy::integrity::{validate, Gap, Rejection};
use strata_core::policy::integrity::{Candidate, IntegrityPolicy, StreamFacts, Verdict};

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

/// One stream's (source, symbol, kind) facts, kept by the writer between events.
#[derive(Debug, Default)]
pub struct StreamChecks {
    facts: StreamFacts,
}

impl StreamChecks {
    /// Checks one event of this stream; on success the event counts as accepted. Returns a gap
    /// when the policy reports one.
    pub fn check(
        &mut self,
        policy: &dyn IntegrityPolicy,
        event: &Event,
    ) -> Result<Option<Gap>, Rejection> {
        self.check_hashed(policy, event, || content_hash(event), false)
    }

    /// [`StreamChecks::check`] for an event whose JSONL line (as `jsonl::encode_into` wrote
    /// it) the caller has already: the writer's path, which saves encoding it again. With
    /// `keep_identical` (its source says records are distinct by position, see
    /// `AppendOptions`), the built-in policy accepts an event identical to a recent one as
    /// another event when it carries the stream's highest sequence number so far — the group in
    /// progress; it still enters the window, so a replay of it after the stream moved on is
    /// refused.
    pub(crate) fn check_encoded(
        &mut self,
        policy: &dyn IntegrityPolicy,
        event: &Event,
        line: &[u8],
        keep_identical: bool,
    ) -> Result<Option<Gap>, Rejection> {
        self.check_hashed(policy, event, || line_hash(line), keep_identical)
    }

    fn check_hashed(
        &mut self,
        policy: &dyn IntegrityPolicy,
        event: &Event,
        content_hash: impl FnOnce() -> u64,
        keep_identical: bool,
    ) -> Result<Option<Gap>, Rejection> {
        let memory = policy.memory();
        let candidate = Candidate {
            event,
            content: if memory > 0 { content_hash() } else { 0 },
            keep_identical,
        };
        match policy.verdict(&self.facts, &candidate) {
            Verdict::Reject(rejection) => Err(rejection),
            Verdict::Accept { gap } => {
                self.facts.accept(&candidate, memory);
                Ok(gap)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_core::policy::IntegrityChecks;
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
        let policy = IntegrityChecks {
            reject_out_of_order: true,
            out_of_order_tolerance_ms: 1,
            sequence_gap_alert_threshold: Some(5),
            ..IntegrityChecks::default()
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
        let policy = IntegrityChecks::default();
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
        let policy = IntegrityChecks {
            duplicate_window: 2,
            sequence_gap_alert_threshold: None,
            ..IntegrityChecks::default()
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
        let policy = IntegrityChecks {
            duplicate_window: 3,
            sequence_gap_alert_threshold: None,
            ..IntegrityChecks::default()
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
