//! Quotas per scope (QUOTA-1) and the pure decision an incoming write meets (QUOTA-2).
//!
//! The ledger of usage lives with the writer; this module only decides.

use std::fmt;

use serde::{Deserialize, Serialize};
use strata_model::{AssetClass, EventKind};

/// What a quota counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum QuotaScope {
    /// The whole archive.
    Global,
    /// One source id.
    Source(String),
    /// One asset class.
    AssetClass(AssetClass),
    /// One canonical symbol.
    Symbol(String),
    /// One event kind.
    EventKind(EventKind),
}

impl fmt::Display for QuotaScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuotaScope::Global => f.write_str("global"),
            QuotaScope::Source(s) => write!(f, "source={s}"),
            QuotaScope::AssetClass(a) => write!(f, "asset_class={a}"),
            QuotaScope::Symbol(s) => write!(f, "symbol={s}"),
            QuotaScope::EventKind(k) => write!(f, "event_kind={k}"),
        }
    }
}

/// What happens when a write would pass a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnforcementMode {
    /// Log a warning and write.
    Warn,
    /// Write, and signal the lifecycle to start cleanup.
    SoftLimit,
    /// Refuse the write until space is freed; the caller keeps its events.
    HardLimit,
    /// Write, and delete the oldest non-protected data in scope to make room.
    DropOldest,
}

/// One quota rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaRule {
    /// What it counts (`"global"`, `{ symbol = "AAPL" }`, `{ source = "binance" }`, …).
    pub scope: QuotaScope,
    /// Maximum stored bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// Maximum number of files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_files: Option<u64>,
    /// Maximum events written per UTC day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_events_per_day: Option<u64>,
    /// Enforcement mode.
    pub mode: EnforcementMode,
}

/// The facts of a write that scopes match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaSubject<'a> {
    /// Source id.
    pub source: &'a str,
    /// Asset class of the symbol.
    pub asset_class: AssetClass,
    /// Canonical symbol.
    pub symbol: &'a str,
    /// Event kind.
    pub kind: EventKind,
}

/// Usage counters of one scope (or a write's increment of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QuotaUsage {
    /// Bytes stored.
    pub bytes: u64,
    /// Files stored.
    pub files: u64,
    /// Events written today (UTC).
    pub events_today: u64,
}

/// What a write meets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaDecision {
    /// Within every limit.
    Allow,
    /// Over a limit in Warn mode: write and log.
    Warn {
        /// Why.
        reason: String,
    },
    /// Over a limit in SoftLimit mode: write and start cleanup.
    StartCleanup {
        /// Why.
        reason: String,
    },
    /// Over a limit in DropOldest mode: write after freeing this much of the scope's oldest
    /// non-protected data.
    DropOldest {
        /// Bytes to free (0 when only a file or event count is over).
        bytes_to_free: u64,
        /// Why.
        reason: String,
    },
    /// Over a limit in HardLimit mode: refuse.
    Refuse {
        /// The quota that refuses, by its [`QuotaPolicy::name`] (`symbol=AAPL`).
        scope: String,
        /// Which limit (`max_bytes`, `max_files`, `max_events_per_day`).
        limit_name: &'static str,
        /// The limit.
        limit: u64,
        /// Usage before the write.
        used: u64,
    },
}

/// A quota (QUOTA-1, QUOTA-2, EXT-1): which writes it counts, and what a write adding
/// `incoming` to a scope that holds `used` meets. Pure: the writer keeps each policy's usage
/// (charged only for writes that are not refused) and asks.
///
/// The built-in is [`QuotaRule`] (the `[[quotas]]` entries of the config, in four modes); the
/// laws are in `strata_core::laws::quota` (feature `laws`).
pub trait QuotaPolicy: fmt::Debug + Send + Sync {
    /// A short name for reports and refusals (`symbol=AAPL`).
    fn name(&self) -> String;

    /// True when the policy counts this write.
    fn applies_to(&self, subject: &QuotaSubject<'_>) -> bool;

    /// The decision for a write adding `incoming` to a scope whose usage is `used`.
    fn evaluate(&self, used: QuotaUsage, incoming: QuotaUsage) -> QuotaDecision;
}

impl QuotaPolicy for QuotaRule {
    fn name(&self) -> String {
        self.scope.to_string()
    }

    fn applies_to(&self, subject: &QuotaSubject<'_>) -> bool {
        QuotaRule::applies_to(self, subject)
    }

    fn evaluate(&self, used: QuotaUsage, incoming: QuotaUsage) -> QuotaDecision {
        QuotaRule::evaluate(self, used, incoming)
    }
}

impl QuotaRule {
    /// True when the rule counts this write.
    pub fn applies_to(&self, subject: &QuotaSubject<'_>) -> bool {
        match &self.scope {
            QuotaScope::Global => true,
            QuotaScope::Source(s) => s == subject.source,
            QuotaScope::AssetClass(a) => *a == subject.asset_class,
            QuotaScope::Symbol(s) => s == subject.symbol,
            QuotaScope::EventKind(k) => *k == subject.kind,
        }
    }

    /// True when at least one limit is set.
    pub fn has_limit(&self) -> bool {
        self.max_bytes.is_some() || self.max_files.is_some() || self.max_events_per_day.is_some()
    }

    /// The decision for a write adding `incoming` to a scope whose usage is `used`.
    pub fn evaluate(&self, used: QuotaUsage, incoming: QuotaUsage) -> QuotaDecision {
        let checks = [
            ("max_bytes", self.max_bytes, used.bytes, incoming.bytes),
            ("max_files", self.max_files, used.files, incoming.files),
            (
                "max_events_per_day",
                self.max_events_per_day,
                used.events_today,
                incoming.events_today,
            ),
        ];
        let Some((limit_name, limit, used_n, add)) =
            checks.into_iter().find_map(|(name, limit, used, add)| {
                limit
                    .filter(|&l| used.saturating_add(add) > l)
                    .map(|l| (name, l, used, add))
            })
        else {
            return QuotaDecision::Allow;
        };
        let reason = format!(
            "quota {}: {limit_name} {limit} would be passed ({used_n} used + {add} incoming)",
            self.scope
        );
        match self.mode {
            EnforcementMode::Warn => QuotaDecision::Warn { reason },
            EnforcementMode::SoftLimit => QuotaDecision::StartCleanup { reason },
            EnforcementMode::HardLimit => QuotaDecision::Refuse {
                scope: self.scope.to_string(),
                limit_name,
                limit,
                used: used_n,
            },
            EnforcementMode::DropOldest => QuotaDecision::DropOldest {
                bytes_to_free: self.max_bytes.map_or(0, |l| {
                    used.bytes.saturating_add(incoming.bytes).saturating_sub(l)
                }),
                reason,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(mode: EnforcementMode) -> QuotaRule {
        QuotaRule {
            scope: QuotaScope::Symbol("AAPL".into()),
            max_bytes: Some(1000),
            max_files: None,
            max_events_per_day: Some(10),
            mode,
        }
    }

    #[test]
    fn each_mode_decides() {
        let used = QuotaUsage {
            bytes: 900,
            files: 3,
            events_today: 2,
        };
        let small = QuotaUsage {
            bytes: 100,
            files: 0,
            events_today: 1,
        };
        let big = QuotaUsage {
            bytes: 150,
            files: 0,
            events_today: 1,
        };
        assert_eq!(
            rule(EnforcementMode::HardLimit).evaluate(used, small),
            QuotaDecision::Allow
        );
        assert_eq!(
            rule(EnforcementMode::HardLimit).evaluate(used, big),
            QuotaDecision::Refuse {
                scope: "symbol=AAPL".into(),
                limit_name: "max_bytes",
                limit: 1000,
                used: 900
            }
        );
        assert!(matches!(
            rule(EnforcementMode::DropOldest).evaluate(used, big),
            QuotaDecision::DropOldest {
                bytes_to_free: 50,
                ..
            }
        ));
        let QuotaDecision::Warn { reason } = rule(EnforcementMode::Warn).evaluate(used, big) else {
            panic!("warn expected")
        };
        assert_eq!(
            reason,
            "quota symbol=AAPL: max_bytes 1000 would be passed (900 used + 150 incoming)"
        );
        let many = QuotaUsage {
            bytes: 0,
            files: 0,
            events_today: 9,
        };
        assert!(matches!(
            rule(EnforcementMode::SoftLimit).evaluate(
                many,
                QuotaUsage {
                    events_today: 2,
                    ..Default::default()
                }
            ),
            QuotaDecision::StartCleanup { .. }
        ));
    }

    #[test]
    fn scopes_match_their_subjects() {
        let subject = QuotaSubject {
            source: "binance",
            asset_class: AssetClass::Crypto,
            symbol: "BTCUSDT",
            kind: EventKind::Trade,
        };
        let mk = |scope| QuotaRule {
            scope,
            max_bytes: Some(1),
            max_files: None,
            max_events_per_day: None,
            mode: EnforcementMode::Warn,
        };
        assert!(mk(QuotaScope::Global).applies_to(&subject));
        assert!(mk(QuotaScope::Source("binance".into())).applies_to(&subject));
        assert!(!mk(QuotaScope::Source("lean".into())).applies_to(&subject));
        assert!(mk(QuotaScope::AssetClass(AssetClass::Crypto)).applies_to(&subject));
        assert!(!mk(QuotaScope::Symbol("ETHUSDT".into())).applies_to(&subject));
        assert!(mk(QuotaScope::EventKind(EventKind::Trade)).applies_to(&subject));
    }
}
