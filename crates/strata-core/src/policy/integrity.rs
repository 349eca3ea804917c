//! What the writer checks before it accepts an event (INGEST-4). Rejected events go to the
//! quarantine with the reason; nothing is dropped silently.

use serde::{Deserialize, Serialize};

/// The integrity policy at write time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntegrityPolicy {
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

impl Default for IntegrityPolicy {
    fn default() -> Self {
        IntegrityPolicy {
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
