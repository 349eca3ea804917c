//! When an open hot-tier segment is sealed (EXT-1): the [`SealSchedule`] trait and its built-in,
//! [`SealRules`] (the `storage.max_file_bytes` and `storage.max_file_age_secs` settings).
//!
//! A segment also ends when its stream moves on to the next partition (period or session); that
//! is the naming's decision, not the schedule's: a file holds one partition.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What the writer knows of one open segment when it asks the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SegmentFacts {
    /// Bytes written to it so far.
    pub bytes: u64,
    /// Events written to it so far.
    pub events: u64,
    /// How long it has been open, when the writer read its clock for this question: `None` on
    /// the append path (the writer does not read the clock per event), `Some` on its periodic
    /// check, which runs at least every [`SealSchedule::check_every`].
    pub open_for: Option<Duration>,
}

/// Why the schedule seals a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SealCause {
    /// It is big enough.
    Size,
    /// It has been open long enough.
    Age,
}

/// The schedule's answer: seal now, for this cause, for this reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealDecision {
    /// The cause recorded in the file's manifest.
    pub cause: SealCause,
    /// Why, in words (`4194400 bytes ≥ max_file_bytes 4194304`).
    pub reason: String,
}

/// Decides which open segments to seal (EXT-1). Pure; the laws
/// (`strata_core::laws::seal`, feature `laws`) check that every segment is eventually sealed.
pub trait SealSchedule: fmt::Debug + Send + Sync {
    /// A short name for reports.
    fn name(&self) -> String;

    /// Whether to seal a segment with these facts now, and why; `None` keeps it open.
    fn decide(&self, segment: &SegmentFacts) -> Option<SealDecision>;

    /// How often the writer must ask about every open segment with its age.
    fn check_every(&self) -> Duration;
}

/// The built-in schedule: seal at a size and at an age. A segment that holds nothing yet is never
/// sealed (there is nothing to seal), so an age of 0 means "at the first periodic check after
/// something was written", and the seal laws hold for every setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealRules {
    /// Seal once a segment holds this many bytes (`storage.max_file_bytes`).
    pub max_file_bytes: u64,
    /// Seal once a segment has been open this long (`storage.max_file_age_secs`).
    pub max_file_age: Duration,
}

impl SealSchedule for SealRules {
    fn name(&self) -> String {
        format!(
            "size {} bytes, age {} s",
            self.max_file_bytes,
            self.max_file_age.as_secs()
        )
    }

    fn decide(&self, segment: &SegmentFacts) -> Option<SealDecision> {
        if segment.bytes == 0 && segment.events == 0 {
            return None;
        }
        if segment.bytes >= self.max_file_bytes {
            return Some(SealDecision {
                cause: SealCause::Size,
                reason: format!(
                    "{} bytes ≥ max_file_bytes {}",
                    segment.bytes, self.max_file_bytes
                ),
            });
        }
        match segment.open_for {
            Some(age) if age >= self.max_file_age => Some(SealDecision {
                cause: SealCause::Age,
                reason: format!(
                    "open {:.1} s ≥ max_file_age_secs {}",
                    age.as_secs_f64(),
                    self.max_file_age.as_secs()
                ),
            }),
            _ => None,
        }
    }

    fn check_every(&self) -> Duration {
        // Half the age (at least a second, at most a minute): no segment outlives its age by
        // more than that.
        (self.max_file_age / 2).clamp(Duration::from_secs(1), Duration::from_secs(60))
    }
}
