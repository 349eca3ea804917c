//! Where a stored file belongs (EXT-1): the [`TierPolicy`] trait and its built-in,
//! [`RetentionPlacement`]: the config's retention table with its classification.

use std::fmt;

use strata_model::EventKind;

use super::{Classification, ClassificationPolicy, Placement, RetentionPolicy, TierName};

/// The facts of one stored file that placement decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// The event kind it holds.
    pub kind: EventKind,
    /// Its classification.
    pub classification: Classification,
    /// Age of its newest event, in whole days.
    pub age_days: u64,
    /// The tier it is in.
    pub tier: TierName,
    /// Under a legal hold.
    pub held: bool,
    /// Under a write-once retention that has not ended.
    pub worm_locked: bool,
}

/// What to do with a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TierAction {
    /// Leave it where it is.
    Stay,
    /// Move it to this tier.
    Migrate(TierName),
    /// Delete it (its retention has ended).
    Delete,
    /// Keep it where it is although its retention has ended: it is held or write-once.
    Protect,
}

impl fmt::Display for TierAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TierAction::Stay => f.write_str("stay"),
            TierAction::Migrate(t) => write!(f, "migrate to {t}"),
            TierAction::Delete => f.write_str("delete"),
            TierAction::Protect => f.write_str("protect"),
        }
    }
}

/// Decides where a stored file belongs and what to do about it, with the reason (EXT-1). Pure;
/// the laws (`strata_core::laws::tier`, feature `laws`) check that it never deletes critical,
/// held or write-once data and never sends a file back to a hotter tier as it ages.
pub trait TierPolicy: fmt::Debug + Send + Sync {
    /// A short name for reports.
    fn name(&self) -> String;

    /// What to do with a file with these facts, and why.
    fn decide(&self, file: &FileFacts) -> (TierAction, String);
}

/// The built-in placement: the retention table (days per tier per kind) and the classification
/// policy, as the config holds them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetentionPlacement {
    /// Days per tier per event kind.
    pub retention: RetentionPolicy,
    /// Which kinds are critical (never deleted).
    pub classification: ClassificationPolicy,
}

impl TierPolicy for RetentionPlacement {
    fn name(&self) -> String {
        "retention".into()
    }

    fn decide(&self, file: &FileFacts) -> (TierAction, String) {
        let (placement, why) = self
            .retention
            .place(file.kind, file.classification, file.age_days);
        match placement {
            Placement::Delete if file.held => (
                TierAction::Protect,
                format!("{why}, but it is under a legal hold: kept"),
            ),
            Placement::Delete if file.worm_locked => (
                TierAction::Protect,
                format!("{why}, but its write-once retention has not ended: kept"),
            ),
            Placement::Delete => (TierAction::Delete, why),
            Placement::Tier(tier) if tier == file.tier => (TierAction::Stay, why),
            Placement::Tier(tier) if tier < file.tier => (
                TierAction::Stay,
                format!(
                    "{why}; it is in {} already, and files never move back",
                    file.tier
                ),
            ),
            Placement::Tier(tier) => (TierAction::Migrate(tier), why),
        }
    }
}
