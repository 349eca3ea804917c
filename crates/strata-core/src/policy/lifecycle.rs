//! The lifecycle plan (TIER-1..4, POL-1..4, QUOTA-2, ARCH-1..2): every stored file's facts and
//! the policies in, one decision per file out — stay, migrate (to which tier, format and codec),
//! consolidate, delete or protect — each with the rule that caused it and why.
//!
//! Pure: no clock (the caller passes `now`), no I/O. The executor (`strata-lifecycle`) carries a
//! plan out; `strata lifecycle plan` prints it. Four passes:
//!
//! 1. placement: the [`TierPolicy`] (the built-in is the retention table with its
//!    classification) decides each file from its age, tier, kind and class;
//! 2. protection, whatever the policy said: a file that is classified critical, under a legal
//!    [`Hold`], or under a write-once retention that has not ended is never deleted — a delete
//!    becomes [`LifecycleAction::Protect`] naming what protects it. The engine enforces this
//!    itself, so a custom [`TierPolicy`] cannot break it;
//! 3. quotas over their byte or file limit: `drop_oldest` deletes the scope's oldest unprotected
//!    files until the scope fits; `soft_limit` starts cleanup by deleting its transient files,
//!    then its derived (rebuildable) ones,
//!    oldest first; both report what stays over because the rest is protected. The files of one
//!    consolidation group (pass 4 over the placed files) count as the one file they become;
//! 4. consolidation (TIER-4), over what the quotas left, where a tier asks for it
//!    ([`Consolidation`]): once a period has
//!    ended, the files that will be in that tier for it, per kind, source and symbol — those
//!    there already and those arriving — become one file. Files of a
//!    write-once tier are never rewritten, so a file bound for a write-once tier that
//!    consolidates waits until its whole period is due (pass 1) and the period arrives at once.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use strata_codec::CodecSpec;
use strata_model::{AssetClass, EventKind, Timestamp};

use super::classification::{Classification, ClassificationPolicy};
use super::placement::{FileFacts, TierAction, TierPolicy};
use super::quota::{EnforcementMode, QuotaRule, QuotaScope};
use super::rules::{AutomationRule, RuleAction, RuleRequest, RuleState};
use super::tier::{Consolidation, FileFormat, TierName, Tiers};

/// Nanoseconds in a day.
const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// One stored file, as the catalog knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFile {
    /// Its path (relative to its tier's root), which names it in the plan.
    pub path: String,
    /// The tier it is in.
    pub tier: TierName,
    /// Its format.
    pub format: FileFormat,
    /// Its codec.
    pub codec: CodecSpec,
    /// The event kind it holds.
    pub kind: EventKind,
    /// Source id, when the partition names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Canonical symbol, when the partition names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// Asset class, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_class: Option<AssetClass>,
    /// Bytes on storage.
    pub size_bytes: u64,
    /// Events in it.
    pub events: u64,
    /// Its first event time.
    pub first_event: Timestamp,
    /// Its last event time (the file's age counts from it).
    pub last_event: Timestamp,
    /// Its data-quality score (0–100), when scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<f64>,
    /// The end of its write-once retention, when it is under one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worm_until: Option<Timestamp>,
    /// When deleting it needs approvals (ARCH-4: protected archive data), how many and who has
    /// given one for this very version of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<Approvals>,
    /// Sequence numbers missing between its lowest and highest, when its events carry them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_gaps: Option<u64>,
}

/// The approvals a deletion needs, and those given (ARCH-4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approvals {
    /// How many distinct approvers must approve.
    pub needed: u32,
    /// Who has approved (distinct approvers).
    pub given: Vec<String>,
}

impl Approvals {
    /// Enough distinct approvers have approved.
    pub fn granted(&self) -> bool {
        let mut given: Vec<&String> = self.given.iter().collect();
        given.sort();
        given.dedup();
        u32::try_from(given.len()).unwrap_or(u32::MAX) >= self.needed
    }
}

impl StoredFile {
    /// Whole days from its last event to `now` (0 for data from the future).
    pub fn age_days(&self, now: Timestamp) -> u64 {
        days_between(self.last_event, now)
    }
}

/// What a legal hold covers: every file matching all of its given fields (an empty list or an
/// absent date matches anything).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldScope {
    /// Symbols (exact canonical names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<String>,
    /// Sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Event kinds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<EventKind>,
    /// First UTC date covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    /// Last UTC date covered (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
}

impl HoldScope {
    /// True when the scope covers (part of) the file. A file that does not name the symbol or
    /// source a scope lists is covered: a hold errs on the side of keeping data.
    pub fn covers(&self, file: &StoredFile) -> bool {
        let listed = |list: &[String], value: &Option<String>| {
            list.is_empty() || value.as_ref().is_none_or(|v| list.contains(v))
        };
        listed(&self.symbols, &file.symbol)
            && listed(&self.sources, &file.source)
            && (self.kinds.is_empty() || self.kinds.contains(&file.kind))
            && self
                .from
                .is_none_or(|from| file.last_event.utc_date() >= from)
            && self.to.is_none_or(|to| file.first_event.utc_date() <= to)
    }
}

impl fmt::Display for HoldScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.symbols.is_empty() {
            parts.push(format!("symbols {}", self.symbols.join(",")));
        }
        if !self.sources.is_empty() {
            parts.push(format!("sources {}", self.sources.join(",")));
        }
        if !self.kinds.is_empty() {
            let kinds: Vec<&str> = self.kinds.iter().map(|k| k.as_str()).collect();
            parts.push(format!("kinds {}", kinds.join(",")));
        }
        match (self.from, self.to) {
            (Some(a), Some(b)) => parts.push(format!("{a}..={b}")),
            (Some(a), None) => parts.push(format!("from {a}")),
            (None, Some(b)) => parts.push(format!("until {b}")),
            (None, None) => {}
        }
        if parts.is_empty() {
            f.write_str("everything")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// A named legal hold (ARCH-2): while it is in force, nothing in its scope is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hold {
    /// Its name (unique among the holds in force).
    pub name: String,
    /// What it covers.
    pub scope: HoldScope,
    /// Why it was placed (a matter or case reference).
    #[serde(default)]
    pub reason: String,
}

/// Why a file that would otherwise be deleted is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// Its kind is classified critical (POL-1).
    Critical,
    /// A legal hold covers it (ARCH-2).
    Hold(String),
    /// Its write-once retention has not ended (ARCH-1).
    WormUntil(Timestamp),
    /// Its deletion needs approvals that have not all been given (ARCH-4).
    Approvals(Approvals),
}

impl fmt::Display for Protection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protection::Critical => f.write_str("classified critical"),
            Protection::Hold(name) => write!(f, "under legal hold `{name}`"),
            Protection::WormUntil(t) if t.as_nanos() == i64::MAX => {
                f.write_str("write-once, for good")
            }
            Protection::WormUntil(t) => write!(f, "write-once until {t}"),
            Protection::Approvals(a) if a.given.is_empty() => {
                write!(f, "its deletion needs {} approvals, none given", a.needed)
            }
            Protection::Approvals(a) => write!(
                f,
                "its deletion needs {} approvals, {} given ({})",
                a.needed,
                a.given.len(),
                a.given.join(", ")
            ),
        }
    }
}

/// What the lifecycle does with one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum LifecycleAction {
    /// Leave it where it is.
    Stay,
    /// Move it to a colder tier, converting it to that tier's format and codec.
    Migrate {
        /// The tier.
        to: TierName,
        /// The tier's format.
        format: FileFormat,
        /// The tier's codec for the file's kind.
        codec: CodecSpec,
    },
    /// Delete it.
    Delete,
    /// Merge it with the other files of its period into one file (TIER-4) in `to` — its own
    /// tier, or the colder one it migrates to — in that tier's format and codec.
    Consolidate {
        /// The tier the merged file is in.
        to: TierName,
        /// The tier's format.
        format: FileFormat,
        /// The tier's codec for the file's kind.
        codec: CodecSpec,
        /// The period's label (`2024-W03`), which names the merged file.
        period: String,
        /// What every file merged into the same one shares (tier, kind, source, symbol,
        /// period), as JSON.
        group: String,
        /// How many files become one.
        members: usize,
    },
    /// Keep it although a rule would delete it.
    Protect {
        /// What protects it (the first that applies, in the order critical, hold, write-once).
        by: Protection,
    },
}

impl fmt::Display for LifecycleAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LifecycleAction::Stay => f.write_str("stay"),
            LifecycleAction::Migrate { to, format, codec } => {
                write!(f, "migrate to {to} ({format}, {codec})")
            }
            LifecycleAction::Delete => f.write_str("delete"),
            LifecycleAction::Consolidate {
                to,
                period,
                members,
                ..
            } => write!(f, "consolidate into {to} ({period}, {members} files)"),
            LifecycleAction::Protect { .. } => f.write_str("protect"),
        }
    }
}

/// One file's decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The file.
    pub path: String,
    /// Its tier now.
    pub tier: TierName,
    /// What to do.
    #[serde(flatten)]
    pub action: LifecycleAction,
    /// The rule that decided (`retention.by_kind.trade`, `quota.symbol=SPY`, `hold`, …).
    pub rule: String,
    /// Why, in words.
    pub reason: String,
    /// The file's size, for what a plan frees or moves.
    pub size_bytes: u64,
}

/// A quota's state after the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaState {
    /// The quota's scope (`symbol=SPY`).
    pub scope: String,
    /// Its mode.
    pub mode: EnforcementMode,
    /// Bytes in scope before the plan.
    pub bytes_before: u64,
    /// Bytes in scope once the plan's deletions are done.
    pub bytes_after: u64,
    /// Files in scope before the plan.
    pub files_before: u64,
    /// Files in scope once the plan's deletions are done.
    pub files_after: u64,
    /// The byte limit, if any.
    pub max_bytes: Option<u64>,
    /// The file limit, if any.
    pub max_files: Option<u64>,
    /// What the plan could not do, when the scope stays over its limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortfall: Option<String>,
}

/// A tier's size cap after the plan (`tiers.<tier>.max_bytes`, TIER-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierCapState {
    /// The tier.
    pub tier: TierName,
    /// Bytes the tier would hold after the plan without its cap.
    pub bytes_before: u64,
    /// Bytes it holds once the files the cap moves on have gone.
    pub bytes_after: u64,
    /// The cap.
    pub max_bytes: u64,
    /// What the plan could not do, when the tier stays over its cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortfall: Option<String>,
}

/// The plan: one decision per file, in path order, and the state of every quota and tier cap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LifecyclePlan {
    /// The clock the plan was made at.
    pub now: Timestamp,
    /// One per file, sorted by tier then path.
    pub decisions: Vec<Decision>,
    /// One per quota with a byte or file limit.
    pub quotas: Vec<QuotaState>,
    /// One per automation rule: due or not, and how many files it matched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleState>,
    /// What the due rules ask for (backfill, repair, notify, report), per file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<RuleRequest>,
    /// One per tier with a size cap.
    #[serde(default)]
    pub tier_caps: Vec<TierCapState>,
}

impl LifecyclePlan {
    /// The decisions that do something (not stay, not protect).
    pub fn actions(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|d| {
            matches!(
                d.action,
                LifecycleAction::Migrate { .. }
                    | LifecycleAction::Delete
                    | LifecycleAction::Consolidate { .. }
            )
        })
    }

    /// How many decisions of each action (`stay`, `migrate to cold`, `delete`, `protect`).
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for d in &self.decisions {
            let key = match &d.action {
                LifecycleAction::Migrate { to, .. } => format!("migrate to {to}"),
                LifecycleAction::Consolidate { to, .. } => format!("consolidate into {to}"),
                other => other.to_string(),
            };
            *counts.entry(key).or_insert(0) += 1;
        }
        counts
    }
}

/// What the plan is made from besides the files.
#[derive(Debug, Clone, Copy)]
pub struct LifecyclePolicies<'a> {
    /// Where files belong (the built-in: `RetentionPlacement`).
    pub placement: &'a dyn TierPolicy,
    /// Each kind's class (critical data is never deleted).
    pub classification: &'a ClassificationPolicy,
    /// Each tier's format and codec, for migrations.
    pub tiers: &'a Tiers,
    /// The quotas (`drop_oldest` and `soft_limit` act here; the others are reported).
    pub quotas: &'a [QuotaRule],
    /// The automation rules (POL-6), in the config's order.
    pub rules: &'a [AutomationRule],
    /// When a run last evaluated each rule, by name.
    pub rule_runs: &'a BTreeMap<String, Timestamp>,
}

/// What protects a file, if anything: critical class, then a hold, then write-once retention,
/// then approvals its deletion needs and does not have.
pub fn protection(
    file: &StoredFile,
    class: Classification,
    holds: &[Hold],
    now: Timestamp,
) -> Option<Protection> {
    if class.is_protected() {
        return Some(Protection::Critical);
    }
    if let Some(hold) = holds.iter().find(|h| h.scope.covers(file)) {
        return Some(Protection::Hold(hold.name.clone()));
    }
    if let Some(until) = file.worm_until.filter(|&until| until > now) {
        return Some(Protection::WormUntil(until));
    }
    file.approvals
        .as_ref()
        .filter(|a| !a.granted())
        .map(|a| Protection::Approvals(a.clone()))
}

/// The plan for `files` at `now`: the same facts always give the same plan, whatever their
/// order.
pub fn plan(
    policies: LifecyclePolicies<'_>,
    files: &[StoredFile],
    holds: &[Hold],
    now: Timestamp,
) -> LifecyclePlan {
    let mut files: Vec<&StoredFile> = files.iter().collect();
    files.sort_by(|a, b| (a.tier, &a.path).cmp(&(b.tier, &b.path)));
    let mut decisions: Vec<Decision> = files
        .iter()
        .map(|file| place(policies, file, holds, now))
        .collect();
    let (rules, requests) = apply_rules(policies, &files, &mut decisions, holds, now);
    let tier_caps = cap_tiers(policies.tiers, &files, &mut decisions);
    // What consolidation would make of the files as placed: a quota counts each group as the
    // one file it becomes, so no file is deleted to get under `max_files` that consolidation
    // would have merged anyway.
    let mut merged = decisions.clone();
    consolidate(policies.tiers, &files, &mut merged, now);
    let groups: Vec<Option<&str>> = merged
        .iter()
        .map(|d| match &d.action {
            LifecycleAction::Consolidate { group, .. } => Some(group.as_str()),
            _ => None,
        })
        .collect();
    let quotas = policies
        .quotas
        .iter()
        .filter(|q| q.max_bytes.is_some() || q.max_files.is_some())
        .map(|quota| enforce(policies, quota, &files, &groups, &mut decisions, holds, now))
        .collect();
    // Then the groups again, without what the quotas deleted.
    consolidate(policies.tiers, &files, &mut decisions, now);
    LifecyclePlan {
        now,
        decisions,
        quotas,
        tier_caps,
        rules,
        requests,
    }
}

/// Pass 1b, the automation rules (POL-6): for each file, the first due rule that matches and
/// places files takes over its decision — protections still standing — and every due rule that
/// matches and asks for work makes a request.
fn apply_rules(
    policies: LifecyclePolicies<'_>,
    files: &[&StoredFile],
    decisions: &mut [Decision],
    holds: &[Hold],
    now: Timestamp,
) -> (Vec<RuleState>, Vec<RuleRequest>) {
    let mut states = Vec::with_capacity(policies.rules.len());
    let mut requests = Vec::new();
    let mut placed = vec![false; files.len()];
    for rule in policies.rules {
        let last_run = policies.rule_runs.get(&rule.name).copied();
        let (due, next_due) = rule.due(last_run, now);
        let mut matched = 0;
        if due {
            for (i, file) in files.iter().enumerate() {
                let Some(facts) = rule.matches(file, now) else {
                    continue;
                };
                matched += 1;
                let name = format!("rules.{}", rule.name);
                if rule.action.is_request() {
                    requests.push(RuleRequest {
                        rule: name,
                        action: rule.action,
                        path: file.path.clone(),
                        reason: facts,
                    });
                } else if !placed[i] {
                    if let Some(decision) = rule_decision(policies, file, rule, &facts, holds, now)
                    {
                        decisions[i] = decision;
                        placed[i] = true;
                    }
                }
            }
        }
        states.push(RuleState {
            name: rule.name.clone(),
            due,
            last_run,
            next_due,
            matched,
        });
    }
    (states, requests)
}

/// What a placing rule makes of a file it matched (`None`: the rule does not apply to it — a
/// move to a tier no colder than the file's, a file of a write-once tier, a codec it already
/// has).
fn rule_decision(
    policies: LifecyclePolicies<'_>,
    file: &StoredFile,
    rule: &AutomationRule,
    facts: &str,
    holds: &[Hold],
    now: Timestamp,
) -> Option<Decision> {
    let decision = |action, reason: String| Decision {
        path: file.path.clone(),
        tier: file.tier,
        action,
        rule: format!("rules.{}", rule.name),
        reason,
        size_bytes: file.size_bytes,
    };
    let reason = format!("{facts}: {}", rule.action);
    let writable = !policies.tiers.get(file.tier).worm;
    match rule.action {
        RuleAction::Move(_) | RuleAction::Archive if writable => {
            let to = match rule.action {
                RuleAction::Move(to) => to,
                _ => TierName::Archive,
            };
            (to > file.tier).then(|| {
                let target = policies.tiers.get(to);
                decision(
                    LifecycleAction::Migrate {
                        to,
                        format: target.format,
                        codec: target.codec_for(file.kind),
                    },
                    reason,
                )
            })
        }
        // The hot tier belongs to the writer: a rule rewrites files of the other tiers only.
        RuleAction::Compress(codec)
            if writable && file.tier != TierName::Hot && file.codec != codec =>
        {
            Some(decision(
                LifecycleAction::Migrate {
                    to: file.tier,
                    format: file.format,
                    codec,
                },
                reason,
            ))
        }
        RuleAction::Delete => {
            let class = policies.classification.classify(file.kind);
            Some(match protection(file, class, holds, now) {
                Some(by) => decision(
                    LifecycleAction::Protect { by: by.clone() },
                    format!("{reason}; kept: {by}"),
                ),
                None => decision(LifecycleAction::Delete, reason),
            })
        }
        _ => None,
    }
}

/// Passes 1 and 2 for one file.
fn place(
    policies: LifecyclePolicies<'_>,
    file: &StoredFile,
    holds: &[Hold],
    now: Timestamp,
) -> Decision {
    let class = policies.classification.classify(file.kind);
    let protected = protection(file, class, holds, now);
    let facts = FileFacts {
        kind: file.kind,
        classification: class,
        age_days: file.age_days(now),
        tier: file.tier,
        held: matches!(protected, Some(Protection::Hold(_))),
        worm_locked: matches!(protected, Some(Protection::WormUntil(_))),
    };
    let (mut action, mut said) = policies.placement.decide(&facts);
    // Bound for a write-once tier that consolidates: the file goes when its whole period
    // would, so that the period arrives there at once and becomes one file (what is there is
    // never rewritten); until then, to the coldest tier its whole period is due for (each
    // tier's own period checked the same way), or nowhere.
    while let TierAction::Migrate(to) = action {
        let target = policies.tiers.get(to);
        let Some(period) = target.consolidate.filter(|_| to > file.tier && target.worm) else {
            break;
        };
        let bucket = period.bucket(file.first_event);
        let last = Timestamp::from_nanos(bucket.end.as_nanos().saturating_sub(1));
        let whole = FileFacts {
            age_days: days_between(last, now),
            ..facts
        };
        let waiting = format!(
            "{said}; waits until all of {} is due for {to}, to arrive there as one {period} file",
            bucket.label
        );
        match policies.placement.decide(&whole) {
            (TierAction::Migrate(t), _) if t >= to => break,
            (TierAction::Migrate(t), why) if t > file.tier => {
                action = TierAction::Migrate(t);
                said = format!("tiers.{to}.consolidate: {waiting}; to {t} meanwhile ({why})");
            }
            _ => {
                action = TierAction::Stay;
                said = format!("tiers.{to}.consolidate: {waiting}");
            }
        }
    }
    // The built-in's reasons start with the rule (`retention.default: age 3d < …`).
    let (rule, reason) = match said.split_once(": ") {
        Some((rule, why)) if !rule.contains(' ') => (rule.to_string(), why.to_string()),
        _ => (policies.placement.name(), said),
    };
    let decision = |action, rule: String, reason: String| Decision {
        path: file.path.clone(),
        tier: file.tier,
        action,
        rule,
        reason,
        size_bytes: file.size_bytes,
    };
    match action {
        TierAction::Stay => decision(LifecycleAction::Stay, rule, reason),
        TierAction::Migrate(to) if to > file.tier => {
            let target = policies.tiers.get(to);
            decision(
                LifecycleAction::Migrate {
                    to,
                    format: target.format,
                    codec: target.codec_for(file.kind),
                },
                rule,
                reason,
            )
        }
        TierAction::Migrate(to) => decision(
            LifecycleAction::Stay,
            "lifecycle".into(),
            format!(
                "{reason}; but {to} is not colder than {}: files never move back",
                file.tier
            ),
        ),
        TierAction::Delete | TierAction::Protect => match protected {
            Some(by) => {
                let why = if action == TierAction::Protect {
                    // The policy said why it keeps the file; name what protects it.
                    format!("{reason} ({by})")
                } else {
                    format!("{reason}; kept: {by}")
                };
                let rule = match &by {
                    Protection::Critical => "classification".to_string(),
                    Protection::Hold(name) => format!("hold.{name}"),
                    Protection::WormUntil(_) => "worm".to_string(),
                    Protection::Approvals(_) => "compliance.approvals".to_string(),
                };
                decision(LifecycleAction::Protect { by }, rule, why)
            }
            None if action == TierAction::Delete => decision(LifecycleAction::Delete, rule, reason),
            // A policy that protects what nothing protects: it stays.
            None => decision(LifecycleAction::Stay, rule, reason),
        },
    }
}

/// The tier a decision leaves its file in (`None`: deleted).
fn destination(file: &StoredFile, decision: &Decision) -> Option<TierName> {
    match &decision.action {
        LifecycleAction::Migrate { to, .. } | LifecycleAction::Consolidate { to, .. } => Some(*to),
        LifecycleAction::Delete => None,
        LifecycleAction::Stay | LifecycleAction::Protect { .. } => Some(file.tier),
    }
}

/// Pass 1b, tier caps (TIER-1): a tier that would hold more than its `max_bytes` sends its
/// oldest files staying there on to the next colder tier until it fits. Files of a write-once
/// tier never move, and nothing is ever deleted for a cap.
fn cap_tiers(
    tiers: &Tiers,
    files: &[&StoredFile],
    decisions: &mut [Decision],
) -> Vec<TierCapState> {
    let mut states = Vec::new();
    for (n, &tier) in TierName::ALL.iter().enumerate() {
        let def = tiers.get(tier);
        let Some(cap) = def.max_bytes else {
            continue;
        };
        let held = |decisions: &[Decision]| {
            (0..files.len())
                .filter(|&i| destination(files[i], &decisions[i]) == Some(tier))
                .fold(0u64, |sum, i| sum.saturating_add(files[i].size_bytes))
        };
        let before = held(decisions);
        let next = TierName::ALL.get(n + 1).copied();
        let mut staying: Vec<usize> = (0..files.len())
            .filter(|&i| {
                files[i].tier == tier
                    && decisions[i].action == LifecycleAction::Stay
                    && files[i].worm_until.is_none()
            })
            .collect();
        staying.sort_by(|&a, &b| {
            (files[a].last_event, &files[a].path).cmp(&(files[b].last_event, &files[b].path))
        });
        let mut bytes = before;
        // Into a write-once tier that consolidates, files go as whole periods (pass 1), never
        // one by one for a cap: what arrives there is never merged again.
        let next_takes_singles = next.is_some_and(|t| {
            let d = tiers.get(t);
            !(d.worm && d.consolidate.is_some())
        });
        if let (Some(next), false, true) = (next, def.worm, next_takes_singles) {
            let target = tiers.get(next);
            for i in staying {
                if bytes <= cap {
                    break;
                }
                decisions[i] = Decision {
                    path: files[i].path.clone(),
                    tier,
                    action: LifecycleAction::Migrate {
                        to: next,
                        format: target.format,
                        codec: target.codec_for(files[i].kind),
                    },
                    rule: format!("tiers.{tier}.max_bytes"),
                    reason: format!(
                        "the {tier} tier would hold {bytes} bytes, over its cap of {cap}: its \
                         oldest files move on to {next}"
                    ),
                    size_bytes: files[i].size_bytes,
                };
                bytes = bytes.saturating_sub(files[i].size_bytes);
            }
        }
        let shortfall = (bytes > cap).then(|| match (next, def.worm) {
            (_, true) => format!("over its cap of {cap}: a write-once tier's files never move"),
            (None, _) => format!("over its cap of {cap}: there is no colder tier to move to"),
            (Some(next), _) if !next_takes_singles => format!(
                "over its cap of {cap}: {next} is write-once and consolidates, so files go there \
                 only as whole periods"
            ),
            _ => format!("over its cap of {cap}: the rest arrives or is kept by other rules"),
        });
        states.push(TierCapState {
            tier,
            bytes_before: before,
            bytes_after: bytes,
            max_bytes: cap,
            shortfall,
        });
    }
    states
}

/// Whole days from `from` to `now` (0 when `now` is earlier).
fn days_between(from: Timestamp, now: Timestamp) -> u64 {
    let ns = now.as_nanos().saturating_sub(from.as_nanos());
    u64::try_from(ns / DAY_NS).unwrap_or(0)
}

/// Pass 4: the files each consolidating tier will hold for one ended period, kind, source and
/// symbol become one file, when there are two or more.
fn consolidate(tiers: &Tiers, files: &[&StoredFile], decisions: &mut [Decision], now: Timestamp) {
    type Key<'f> = (
        TierName,
        EventKind,
        Option<&'f str>,
        Option<&'f str>,
        String,
    );
    let mut groups: BTreeMap<Key<'_>, (Consolidation, Vec<usize>)> = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        // A write-once tier's files are never rewritten, nor moved.
        if tiers.get(file.tier).worm {
            continue;
        }
        let to = match decisions[i].action {
            // A rewrite in its own tier (a rule's `compress`) keeps the codec it asked for.
            LifecycleAction::Migrate { to, .. } if to != file.tier => to,
            // Written files of an ended period, where they may be rewritten.
            LifecycleAction::Stay
                if file.tier != TierName::Hot
                    && file.worm_until.is_none_or(|until| until <= now) =>
            {
                file.tier
            }
            _ => continue,
        };
        let Some(period) = tiers.get(to).consolidate else {
            continue;
        };
        let bucket = period.bucket(file.first_event);
        // Merged once the period has ended (else every run would rewrite a growing file);
        // into a write-once tier when they arrive, which they do as a whole period.
        if bucket.end > now && !tiers.get(to).worm {
            continue;
        }
        let key = (
            to,
            file.kind,
            file.source.as_deref(),
            file.symbol.as_deref(),
            bucket.label,
        );
        groups.entry(key).or_insert((period, Vec::new())).1.push(i);
    }
    for ((to, kind, source, symbol, label), (period, members)) in groups {
        if members.len() < 2 {
            continue;
        }
        let target = tiers.get(to);
        // JSON keeps the parts apart whatever characters the names hold.
        let group = serde_json::json!([to, kind, source, symbol, label]).to_string();
        let n = members.len();
        for i in members {
            let file = files[i];
            let arriving = file.tier != to;
            let reason = if arriving {
                format!(
                    "{}; {label} arrives with {} other file(s): one {period} file in {to}",
                    decisions[i].reason,
                    n - 1
                )
            } else {
                format!("{label} has ended: its {n} {kind} files in {to} become one ({period})")
            };
            decisions[i] = Decision {
                path: file.path.clone(),
                tier: file.tier,
                action: LifecycleAction::Consolidate {
                    to,
                    format: target.format,
                    codec: target.codec_for(kind),
                    period: label.clone(),
                    group: group.clone(),
                    members: n,
                },
                rule: format!("tiers.{to}.consolidate"),
                reason,
                size_bytes: file.size_bytes,
            };
        }
    }
}

/// True when a quota of `scope` counts the file.
pub(crate) fn in_scope(scope: &QuotaScope, file: &StoredFile) -> bool {
    match scope {
        QuotaScope::Global => true,
        QuotaScope::Source(s) => file.source.as_deref() == Some(s.as_str()),
        QuotaScope::AssetClass(a) => file.asset_class == Some(*a),
        QuotaScope::Symbol(s) => file.symbol.as_deref() == Some(s.as_str()),
        QuotaScope::EventKind(k) => file.kind == *k,
    }
}

/// Pass 3 for one quota: deletes what its mode allows until the scope fits. A scope's files
/// of one consolidation group (`groups`, by index) count as the one file they become, with the
/// bytes they hold now.
fn enforce(
    policies: LifecyclePolicies<'_>,
    quota: &QuotaRule,
    files: &[&StoredFile],
    groups: &[Option<&str>],
    decisions: &mut [Decision],
    holds: &[Hold],
    now: Timestamp,
) -> QuotaState {
    let scope_name = quota.scope.to_string();
    // Files in scope, by index into `files` (= into `decisions`).
    let members: Vec<usize> = (0..files.len())
        .filter(|&i| in_scope(&quota.scope, files[i]))
        .collect();
    let before = members.iter().fold((0u64, 0u64), |(bytes, n), &i| {
        (bytes.saturating_add(files[i].size_bytes), n + 1)
    });
    // What the plan leaves: bytes, and files with each group counted once (its members left).
    let mut left: BTreeMap<&str, u64> = BTreeMap::new();
    let mut usage = (0u64, 0u64);
    for &i in &members {
        if decisions[i].action == LifecycleAction::Delete {
            continue;
        }
        usage.0 = usage.0.saturating_add(files[i].size_bytes);
        match groups[i] {
            Some(group) => {
                let n = left.entry(group).or_insert(0);
                *n += 1;
                usage.1 += u64::from(*n == 1);
            }
            None => usage.1 += 1,
        }
    }
    let over = |(bytes, n): (u64, u64)| {
        quota.max_bytes.is_some_and(|m| bytes > m) || quota.max_files.is_some_and(|m| n > m)
    };
    let deletable = |i: usize| match quota.mode {
        EnforcementMode::DropOldest => true,
        EnforcementMode::SoftLimit => matches!(
            policies.classification.classify(files[i].kind),
            Classification::Transient | Classification::Derived
        ),
        EnforcementMode::Warn | EnforcementMode::HardLimit => false,
    };
    let mut candidates: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&i| {
            decisions[i].action != LifecycleAction::Delete
                && deletable(i)
                && protection(
                    files[i],
                    policies.classification.classify(files[i].kind),
                    holds,
                    now,
                )
                .is_none()
        })
        .collect();
    // Cleanup (soft_limit) takes transient data before derived data (which can be rebuilt),
    // each oldest first; drop_oldest takes the oldest, whatever its class.
    let first = |i: usize| {
        quota.mode == EnforcementMode::SoftLimit
            && policies.classification.classify(files[i].kind) != Classification::Transient
    };
    candidates.sort_by(|&a, &b| {
        (first(a), files[a].last_event, &files[a].path).cmp(&(
            first(b),
            files[b].last_event,
            &files[b].path,
        ))
    });
    let limits = match (quota.max_bytes, quota.max_files) {
        (Some(b), Some(f)) => format!("max_bytes {b}, max_files {f}"),
        (Some(b), None) => format!("max_bytes {b}"),
        (None, Some(f)) => format!("max_files {f}"),
        (None, None) => String::new(),
    };
    let mode = match quota.mode {
        EnforcementMode::DropOldest => "drop_oldest",
        EnforcementMode::SoftLimit => "soft_limit",
        EnforcementMode::Warn => "warn",
        EnforcementMode::HardLimit => "hard_limit",
    };
    for i in candidates {
        if !over(usage) {
            break;
        }
        let what = if quota.mode == EnforcementMode::SoftLimit {
            "cleanup deletes its transient files, then its derived ones, oldest first"
        } else {
            "the oldest unprotected file goes first"
        };
        decisions[i] = Decision {
            path: files[i].path.clone(),
            tier: files[i].tier,
            action: LifecycleAction::Delete,
            rule: format!("quota.{scope_name}"),
            reason: format!(
                "quota {scope_name} ({mode}) holds {} bytes in {} files, over {limits}: {what}",
                usage.0, usage.1
            ),
            size_bytes: files[i].size_bytes,
        };
        usage.0 = usage.0.saturating_sub(files[i].size_bytes);
        match groups[i].and_then(|group| left.get_mut(group)) {
            Some(n) => {
                *n -= 1;
                usage.1 -= u64::from(*n == 0);
            }
            None => usage.1 -= 1,
        }
    }
    let after = usage;
    let shortfall = over(after).then(|| match quota.mode {
        EnforcementMode::DropOldest | EnforcementMode::SoftLimit => format!(
            "still over {limits}: the rest of the scope is protected{}",
            if quota.mode == EnforcementMode::SoftLimit {
                " or neither transient nor derived (soft_limit deletes only those)"
            } else {
                ""
            }
        ),
        EnforcementMode::Warn => format!("over {limits} (warn: nothing is deleted)"),
        EnforcementMode::HardLimit => {
            format!("over {limits}: writes in scope are refused until space is freed")
        }
    });
    QuotaState {
        scope: scope_name,
        mode: quota.mode,
        bytes_before: before.0,
        bytes_after: after.0,
        files_before: before.1,
        files_after: after.1,
        max_bytes: quota.max_bytes,
        max_files: quota.max_files,
        shortfall,
    }
}

#[cfg(test)]
mod tests;
