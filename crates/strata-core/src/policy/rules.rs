//! Automation rules (POL-6), as data: conditions on a stored file's facts (age, tier, kind,
//! symbol, source, quality, size, sequence gaps) and one action, each evaluated at most once per
//! its `every`.
//!
//! ```toml
//! [[rules]]
//! name = "poor-quality-to-cold"
//! when = { min_age_days = 7, max_quality = 60.0, tier = "warm" }
//! action = { move = "cold" }
//! every = "1d"
//!
//! [[rules]]
//! name = "gaps-need-a-backfill"
//! when = { min_sequence_gaps = 1 }
//! action = "backfill"
//! ```
//!
//! Actions that place a file — `move` (to a colder tier), `archive`, `compress` (the same tier
//! in another codec) and `delete` — take over the file's decision in the lifecycle plan from
//! the retention table (the first due rule that matches, in the config's order); the plan's
//! protections still stand (a critical, held or write-once file is never deleted, a write-once
//! tier's files never moved). Actions that ask for work — `backfill`, `repair`, `notify`,
//! `report` — leave the decision alone and become [`RuleRequest`]s in the plan, which a run
//! records (`_lifecycle/requests.jsonl`) for whatever carries them out. Pure: the caller passes
//! the time and when each rule last ran.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use strata_codec::CodecSpec;
use strata_model::{EventKind, Timestamp};

use super::lifecycle::StoredFile;
use super::tier::TierName;

/// One automation rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomationRule {
    /// Its name: unique, named in every decision and request it makes (`rules.<name>`).
    pub name: String,
    /// What a file must be for the rule to act on it (every given field must hold).
    #[serde(default)]
    pub when: RuleCondition,
    /// What it does.
    pub action: RuleAction,
    /// How often it is evaluated (`30m`, `6h`, `1d`, `7d`; [`parse_every`]); absent: at every
    /// run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
}

/// Conditions on a file's facts; an absent field or empty list matches anything.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleCondition {
    /// At least this many whole days since its last event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_age_days: Option<u64>,
    /// At most this many whole days since its last event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<u64>,
    /// In this tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<TierName>,
    /// Of one of these kinds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<EventKind>,
    /// Of one of these symbols.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<String>,
    /// From one of these sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// A quality score (0–100) of at least this (an unscored file does not match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_quality: Option<f64>,
    /// A quality score of at most this (an unscored file does not match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_quality: Option<f64>,
    /// At least this many bytes on storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_size_bytes: Option<u64>,
    /// At most this many bytes on storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_bytes: Option<u64>,
    /// At least this many sequence numbers missing between its lowest and highest (a file
    /// without sequence numbers does not match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_sequence_gaps: Option<u64>,
}

/// What a rule does with a file that matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleAction {
    /// Move it to a colder tier (stored as that tier stores files).
    Move(TierName),
    /// Rewrite it in its tier with this codec (not in the hot tier, which the writer owns).
    Compress(CodecSpec),
    /// Move it to the archive tier.
    Archive,
    /// Delete it (unless protected).
    Delete,
    /// Ask for its time range to be fetched again from the source.
    Backfill,
    /// Ask for it to be repaired.
    Repair,
    /// Notify whoever watches the archive.
    Notify,
    /// Name it in the run's report.
    Report,
}

// Quality bounds are finite (the config check refuses NaN), so equality is an equivalence.
impl Eq for RuleCondition {}
impl Eq for AutomationRule {}

impl RuleAction {
    /// True for the actions that ask for work rather than place the file.
    pub fn is_request(self) -> bool {
        matches!(
            self,
            RuleAction::Backfill | RuleAction::Repair | RuleAction::Notify | RuleAction::Report
        )
    }
}

impl fmt::Display for RuleAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleAction::Move(to) => write!(f, "move to {to}"),
            RuleAction::Compress(codec) => write!(f, "compress with {codec}"),
            RuleAction::Archive => f.write_str("archive"),
            RuleAction::Delete => f.write_str("delete"),
            RuleAction::Backfill => f.write_str("backfill"),
            RuleAction::Repair => f.write_str("repair"),
            RuleAction::Notify => f.write_str("notify"),
            RuleAction::Report => f.write_str("report"),
        }
    }
}

/// A request a rule made for a file (backfill, repair, notify, report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRequest {
    /// `rules.<name>`.
    pub rule: String,
    /// What is asked.
    pub action: RuleAction,
    /// The file.
    pub path: String,
    /// Why: the facts that matched.
    pub reason: String,
}

/// Whether a rule is due at a run, and when it last ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleState {
    /// Its name.
    pub name: String,
    /// Evaluated in this plan.
    pub due: bool,
    /// When a run last evaluated it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<Timestamp>,
    /// When it is due next (absent: at every run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due: Option<Timestamp>,
    /// Files it matched (0 when not due).
    pub matched: usize,
}

/// Reads an interval: a whole number and a unit, `s`, `m`, `h` or `d` (`30s`, `30m`, `6h`,
/// `7d`), in nanoseconds.
pub fn parse_every(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit: write it as 30s, 30m, 6h or 1d"))?;
    let (n, unit) = text.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| format!("`{text}` does not start with a whole number"))?;
    let unit_ns: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("`{text}`: the unit is s, m, h or d")),
    } * 1_000_000_000;
    if n == 0 {
        return Err(format!(
            "`{text}` is no interval: it must be at least 1{unit}"
        ));
    }
    n.checked_mul(unit_ns)
        .ok_or_else(|| format!("`{text}` is too long"))
}

impl AutomationRule {
    /// Whether the rule is due at `now`, having last run at `last` (a rule whose `every` does
    /// not parse is never due; the config check refuses it), and when it is due next.
    pub fn due(&self, last: Option<Timestamp>, now: Timestamp) -> (bool, Option<Timestamp>) {
        let Some(every) = &self.every else {
            return (true, None);
        };
        let Ok(every) = parse_every(every) else {
            return (false, None);
        };
        match last {
            None => (true, Some(now)),
            Some(last) => {
                let next = Timestamp::from_nanos(last.as_nanos().saturating_add(every));
                (next <= now, Some(next))
            }
        }
    }

    /// The facts of `file` that make the rule act on it at `now`, said in words, or `None`
    /// when a condition does not hold.
    pub fn matches(&self, file: &StoredFile, now: Timestamp) -> Option<String> {
        let w = &self.when;
        let mut said = Vec::new();
        let age = file.age_days(now);
        if let Some(min) = w.min_age_days {
            (age >= min).then(|| said.push(format!("age {age}d ≥ {min}d")))?;
        }
        if let Some(max) = w.max_age_days {
            (age <= max).then(|| said.push(format!("age {age}d ≤ {max}d")))?;
        }
        if let Some(tier) = w.tier {
            (file.tier == tier).then(|| said.push(format!("in {tier}")))?;
        }
        if !w.kinds.is_empty() {
            w.kinds
                .contains(&file.kind)
                .then(|| said.push(format!("kind {}", file.kind)))?;
        }
        if !w.symbols.is_empty() {
            let symbol = file.symbol.as_ref().filter(|s| w.symbols.contains(s))?;
            said.push(format!("symbol {symbol}"));
        }
        if !w.sources.is_empty() {
            let source = file.source.as_ref().filter(|s| w.sources.contains(s))?;
            said.push(format!("source {source}"));
        }
        if let Some(min) = w.min_quality {
            let q = file.quality.filter(|q| *q >= min)?;
            said.push(format!("quality {q:.1} ≥ {min}"));
        }
        if let Some(max) = w.max_quality {
            let q = file.quality.filter(|q| *q <= max)?;
            said.push(format!("quality {q:.1} ≤ {max}"));
        }
        let size = file.size_bytes;
        if let Some(min) = w.min_size_bytes {
            (size >= min).then(|| said.push(format!("{size} bytes ≥ {min}")))?;
        }
        if let Some(max) = w.max_size_bytes {
            (size <= max).then(|| said.push(format!("{size} bytes ≤ {max}")))?;
        }
        if let Some(min) = w.min_sequence_gaps {
            let gaps = file.sequence_gaps.filter(|g| *g >= min)?;
            said.push(format!("{gaps} sequence numbers missing ≥ {min}"));
        }
        Some(if said.is_empty() {
            "every file".to_string()
        } else {
            said.join(", ")
        })
    }
}

/// Checks rules as the config check does: names present and unique, intervals that parse, no
/// move into the hot tier. The error names the rule's key (`rules[2].every`).
pub fn check(rules: &[AutomationRule]) -> Result<(), (String, String)> {
    let mut seen = BTreeMap::new();
    for (i, rule) in rules.iter().enumerate() {
        if rule.name.trim().is_empty() {
            return Err((format!("rules[{i}].name"), "must not be empty".into()));
        }
        if let Some(j) = seen.insert(rule.name.as_str(), i) {
            return Err((
                format!("rules[{i}].name"),
                format!("`{}` is also the name of rules[{j}]", rule.name),
            ));
        }
        if let Some(every) = &rule.every {
            parse_every(every).map_err(|e| (format!("rules[{i}].every"), e))?;
        }
        if rule.action == RuleAction::Move(TierName::Hot) {
            return Err((
                format!("rules[{i}].action"),
                "files never move back to the hot tier".into(),
            ));
        }
        if let RuleAction::Compress(codec) = rule.action {
            codec
                .validate()
                .map_err(|e| (format!("rules[{i}].action"), e.to_string()))?;
        }
        let w = &rule.when;
        for q in [w.min_quality, w.max_quality].into_iter().flatten() {
            if !(0.0..=100.0).contains(&q) {
                return Err((
                    format!("rules[{i}].when"),
                    format!("a quality score is 0 to 100, not {q}"),
                ));
            }
        }
        if let (Some(a), Some(b)) = (w.min_age_days, w.max_age_days) {
            if a > b {
                return Err((
                    format!("rules[{i}].when"),
                    format!("min_age_days {a} > max_age_days {b}: nothing matches"),
                ));
            }
        }
    }
    Ok(())
}
