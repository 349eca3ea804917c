//! Tiered retention per event kind (POL-2) and the pure placement decision.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use strata_model::EventKind;

use super::classification::Classification;
use super::tier::TierName;

/// How long data stays in the archive tier once it gets there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveRetention {
    /// Kept forever.
    Perpetual,
    /// Not archived: deleted when it leaves the cold tier.
    None,
    /// Kept this many days in the archive, then deleted.
    Days(u32),
}

/// Days spent in each tier for one kind of data; age counts from the file's last event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    /// Days in the hot tier.
    pub hot_days: u32,
    /// Days in the warm tier after that.
    pub warm_days: u32,
    /// Days in the cold tier after that.
    pub cold_days: u32,
    /// What happens after the cold tier.
    pub archive: ArchiveRetention,
}

impl RetentionRule {
    /// Days the data stays readily accessible (hot + warm + cold).
    pub const fn accessible_days(&self) -> u64 {
        self.hot_days as u64 + self.warm_days as u64 + self.cold_days as u64
    }

    /// Total days kept, `None` when perpetual.
    pub const fn total_days(&self) -> Option<u64> {
        match self.archive {
            ArchiveRetention::Perpetual => None,
            ArchiveRetention::None => Some(self.accessible_days()),
            ArchiveRetention::Days(d) => Some(self.accessible_days() + d as u64),
        }
    }
}

/// The retention table: a default rule and per-kind rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    /// The rule for kinds not in `by_kind`.
    pub default: RetentionRule,
    /// Per-kind rules.
    #[serde(default)]
    pub by_kind: BTreeMap<EventKind, RetentionRule>,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            default: RetentionRule {
                hot_days: 2,
                warm_days: 30,
                cold_days: 365,
                archive: ArchiveRetention::Perpetual,
            },
            by_kind: BTreeMap::from([(
                EventKind::Heartbeat,
                RetentionRule {
                    hot_days: 2,
                    warm_days: 5,
                    cold_days: 0,
                    archive: ArchiveRetention::None,
                },
            )]),
        }
    }
}

/// Where a file belongs now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// It belongs in this tier.
    Tier(TierName),
    /// Its retention has ended; it may be deleted.
    Delete,
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placement::Tier(t) => write!(f, "{t}"),
            Placement::Delete => f.write_str("delete"),
        }
    }
}

impl RetentionPolicy {
    /// The rule for a kind.
    pub fn rule(&self, kind: EventKind) -> &RetentionRule {
        self.by_kind.get(&kind).unwrap_or(&self.default)
    }

    /// Where a file of `kind` and `class`, whose newest event is `age_days` old, belongs — and why.
    /// Critical data is never deleted: where the table says delete, it stays in the archive.
    pub fn place(
        &self,
        kind: EventKind,
        class: Classification,
        age_days: u64,
    ) -> (Placement, String) {
        let rule = self.rule(kind);
        let source = if self.by_kind.contains_key(&kind) {
            format!("retention.by_kind.{kind}")
        } else {
            "retention.default".to_string()
        };
        let hot = u64::from(rule.hot_days);
        let warm = hot + u64::from(rule.warm_days);
        let cold = warm + u64::from(rule.cold_days);
        let (placement, why) = if age_days < hot {
            (
                Placement::Tier(TierName::Hot),
                format!("age {age_days}d < hot_days {hot}"),
            )
        } else if age_days < warm {
            (
                Placement::Tier(TierName::Warm),
                format!("age {age_days}d < hot+warm {warm}d"),
            )
        } else if age_days < cold {
            (
                Placement::Tier(TierName::Cold),
                format!("age {age_days}d < hot+warm+cold {cold}d"),
            )
        } else {
            match rule.archive {
                ArchiveRetention::Perpetual => (
                    Placement::Tier(TierName::Archive),
                    format!("age {age_days}d ≥ {cold}d and archive is perpetual"),
                ),
                ArchiveRetention::Days(d) if age_days < cold + u64::from(d) => (
                    Placement::Tier(TierName::Archive),
                    format!("age {age_days}d < {cold}d + archive {d}d"),
                ),
                ArchiveRetention::Days(d) => (
                    Placement::Delete,
                    format!("age {age_days}d ≥ {cold}d + archive {d}d"),
                ),
                ArchiveRetention::None => (
                    Placement::Delete,
                    format!("age {age_days}d ≥ {cold}d and archive is none"),
                ),
            }
        };
        if placement == Placement::Delete && class.is_protected() {
            return (
                Placement::Tier(TierName::Archive),
                format!("{source}: {why}, but {kind} is classified critical and is never deleted"),
            );
        }
        (placement, format!("{source}: {why}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_walks_the_tiers_and_explains_itself() {
        let policy = RetentionPolicy::default();
        let std = Classification::Standard;
        let at = |days| policy.place(EventKind::Trade, std, days).0;
        assert_eq!(at(0), Placement::Tier(TierName::Hot));
        assert_eq!(at(2), Placement::Tier(TierName::Warm));
        assert_eq!(at(32), Placement::Tier(TierName::Cold));
        assert_eq!(at(397), Placement::Tier(TierName::Archive));
        assert_eq!(at(100_000), Placement::Tier(TierName::Archive));
        let (p, why) = policy.place(EventKind::Heartbeat, Classification::Transient, 7);
        assert_eq!(p, Placement::Delete);
        assert_eq!(
            why,
            "retention.by_kind.heartbeat: age 7d ≥ 7d and archive is none"
        );
    }

    #[test]
    fn critical_data_is_never_deleted() {
        let policy = RetentionPolicy::default();
        let (p, why) = policy.place(EventKind::Heartbeat, Classification::Critical, 10_000);
        assert_eq!(p, Placement::Tier(TierName::Archive));
        assert!(why.contains("classified critical"), "{why}");
    }
}
