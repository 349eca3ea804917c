//! Regulatory retention presets (POL-3).
//!
//! The figures below are strata's reading of the rules, to start a policy from — not legal
//! advice; confirm them with your compliance team. A preset fills the retention table where the
//! user wrote nothing, and [`RegulatoryPreset::check`] refuses a table that keeps regulated data
//! for less than the preset requires.
//!
//! | category | SEC 17a-4 | MiFID II | FINRA |
//! |---|---|---|---|
//! | tick data | 6 y (2 accessible) | 5 y | 6 y (2 accessible) |
//! | order book | 6 y (2) | 5 y | 6 y (2) |
//! | orders | 3 y (2) — 17a-4(b)(1) memoranda | 5 y | 3 y (2) |
//! | executions | 6 y (2) — 17a-4(a) blotters | 5 y | 6 y (2) |
//! | positions | 6 y (2) — 17a-4(a) ledgers | 5 y | 6 y (2) |
//! | performance | 3 y (2) | 5 y | 3 y (2) |
//! | logs | 3 y (2) | 5 y | 3 y (2) |
//! | audit trail | 6 y (2) — 17a-4(f) audit-trail | 5 y | 6 y (2) |

use std::fmt;

use serde::{Deserialize, Serialize};
use strata_model::EventKind;

use super::retention::{ArchiveRetention, RetentionPolicy, RetentionRule};

/// Days in a year for retention arithmetic (365; leap days are covered by rounding up elsewhere).
const YEAR: u32 = 365;

/// A regulatory regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegulatoryPreset {
    /// SEC Rule 17a-4: 6 years, the first 2 readily accessible.
    Sec17a4,
    /// MiFID II (Art. 16(6), RTS 24/25): 5 years.
    Mifid2,
    /// FINRA Rule 4511 with 17a-4's periods: 3 or 6 years.
    Finra,
}

strata_model::named_enum! {
    /// The kinds of records the retention table covers.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum DataCategory [what = "data category", serde] {
        /// Trades, quotes, bars.
        Tick = "tick",
        /// Book snapshots and deltas.
        OrderBook = "order_book",
        /// Order records.
        Orders = "orders",
        /// Executions / blotters.
        Executions = "executions",
        /// Positions / ledgers.
        Positions = "positions",
        /// Performance reports.
        Performance = "performance",
        /// System and application logs.
        Logs = "logs",
        /// The audit trail of lifecycle actions.
        AuditTrail = "audit_trail",
    }
}

impl DataCategory {
    /// The category a market event falls in.
    pub const fn of_kind(kind: EventKind) -> DataCategory {
        match kind {
            EventKind::L2Snapshot | EventKind::OrderBookDelta => DataCategory::OrderBook,
            EventKind::Trade
            | EventKind::BboQuote
            | EventKind::Bar
            | EventKind::Heartbeat
            | EventKind::OpenInterest
            | EventKind::DerivativeTicker => DataCategory::Tick,
        }
    }
}

impl fmt::Display for RegulatoryPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegulatoryPreset::Sec17a4 => "SEC 17a-4",
            RegulatoryPreset::Mifid2 => "MiFID II",
            RegulatoryPreset::Finra => "FINRA",
        })
    }
}

/// One row of a preset's retention table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionRequirement {
    /// What is kept.
    pub category: DataCategory,
    /// Minimum years kept in all.
    pub years: u32,
    /// Of those, years readily accessible (hot, warm or cold tier).
    pub accessible_years: u32,
}

impl RegulatoryPreset {
    /// The preset's requirement for one category.
    pub const fn requirement(self, category: DataCategory) -> RetentionRequirement {
        use DataCategory::*;
        let (years, accessible_years) = match self {
            RegulatoryPreset::Mifid2 => (5, 5),
            RegulatoryPreset::Sec17a4 | RegulatoryPreset::Finra => match category {
                Orders | Performance | Logs => (3, 2),
                Tick | OrderBook | Executions | Positions | AuditTrail => (6, 2),
            },
        };
        RetentionRequirement {
            category,
            years,
            accessible_years,
        }
    }

    /// The whole table.
    pub fn table(self) -> Vec<RetentionRequirement> {
        DataCategory::ALL
            .iter()
            .map(|&c| self.requirement(c))
            .collect()
    }

    /// The retention rule the preset suggests for market events of `kind`: accessible years split
    /// into 7 hot days, warm up to 90 days, the rest cold; then archived for the remaining years.
    pub fn rule_for(self, kind: EventKind) -> RetentionRule {
        let req = self.requirement(DataCategory::of_kind(kind));
        let accessible = req.accessible_years * YEAR;
        RetentionRule {
            hot_days: 7,
            warm_days: 83,
            cold_days: accessible.saturating_sub(90),
            archive: ArchiveRetention::Days((req.years - req.accessible_years) * YEAR),
        }
    }

    /// A retention table meeting the preset for every market event kind.
    pub fn retention_policy(self) -> RetentionPolicy {
        RetentionPolicy {
            default: self.rule_for(EventKind::Trade),
            by_kind: EventKind::ALL
                .iter()
                .map(|&k| (k, self.rule_for(k)))
                .collect(),
        }
    }

    /// Checks that `policy` keeps every market event kind at least as long, and as accessible, as
    /// the preset requires. Errors name the kind and both figures.
    pub fn check(self, policy: &RetentionPolicy) -> Result<(), String> {
        for &kind in EventKind::ALL {
            let req = self.requirement(DataCategory::of_kind(kind));
            let rule = policy.rule(kind);
            let key = if policy.by_kind.contains_key(&kind) {
                format!("retention.by_kind.{kind}")
            } else {
                "retention.default".to_string()
            };
            let need_total = u64::from(req.years * YEAR);
            if let Some(total) = rule.total_days() {
                if total < need_total {
                    return Err(format!(
                        "{key}: keeps {kind} {total} days in all; {self} requires {} years ({need_total} days)",
                        req.years
                    ));
                }
            }
            let need_accessible = u64::from(req.accessible_years * YEAR);
            if rule.accessible_days() < need_accessible {
                return Err(format!(
                    "{key}: keeps {kind} readily accessible (hot+warm+cold) {} days; {self} requires {} years ({need_accessible} days)",
                    rule.accessible_days(),
                    req.accessible_years
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_meet_themselves_and_the_default_table_does_not() {
        for preset in [
            RegulatoryPreset::Sec17a4,
            RegulatoryPreset::Mifid2,
            RegulatoryPreset::Finra,
        ] {
            preset.check(&preset.retention_policy()).unwrap();
            let err = preset.check(&RetentionPolicy::default()).unwrap_err();
            assert!(
                err.contains("heartbeat") || err.contains("retention.default"),
                "{err}"
            );
        }
        let sec = RegulatoryPreset::Sec17a4.rule_for(EventKind::Trade);
        assert_eq!(sec.total_days(), Some(6 * 365));
        assert_eq!(sec.accessible_days(), 2 * 365);
        assert_eq!(
            RegulatoryPreset::Mifid2
                .rule_for(EventKind::OrderBookDelta)
                .total_days(),
            Some(5 * 365)
        );
        assert_eq!(
            RegulatoryPreset::Finra
                .requirement(DataCategory::Orders)
                .years,
            3
        );
        assert_eq!(RegulatoryPreset::Sec17a4.table().len(), 8);
    }
}
