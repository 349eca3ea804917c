//! The plan over an archive: its catalog's files, its holds and its config, at a given time.

use strata_catalog::{Catalog, FileManifest, FileQuery};
use strata_core::policy::lifecycle::{self, LifecyclePlan, LifecyclePolicies, StoredFile};
use strata_core::policy::{RetentionPlacement, TierName, TierPolicy, Tiers};
use strata_core::Config;
use strata_model::{EventKind, Timestamp};

use crate::approvals::{ApprovalPolicy, ApprovalRecord};
use crate::error::Result;
use crate::holds::HoldStore;

/// A catalogued file as the plan sees it. A file that names no kind in its partition takes the
/// kind of most of its events; one with no event times takes its seal time for both ends. A
/// file in a write-once tier is under write-once retention: until its seal time plus the tier's
/// `retain_days`, or for good without them.
pub fn stored_file(m: &FileManifest, tiers: &Tiers) -> StoredFile {
    let tier = tiers.get(m.tier);
    let worm_until = tier.worm.then(|| match tier.retain_days {
        Some(days) => Timestamp::from_nanos(
            m.sealed_at
                .as_nanos()
                .saturating_add(i64::from(days).saturating_mul(86_400 * 1_000_000_000)),
        ),
        None => Timestamp::from_nanos(i64::MAX),
    });
    let kind = m.partition.kind.unwrap_or_else(|| {
        m.stats
            .kinds
            .iter()
            .max_by_key(|(_, s)| s.count)
            .map_or(EventKind::Trade, |(k, _)| *k)
    });
    StoredFile {
        path: m.path.clone(),
        tier: m.tier,
        format: m.format,
        codec: m.codec,
        kind,
        source: m
            .partition
            .source
            .clone()
            .or_else(|| only(&m.stats.sources)),
        symbol: file_symbol(m),
        asset_class: m.partition.asset_class,
        size_bytes: m.size_bytes,
        events: m.stats.event_count,
        first_event: m.stats.first_event_time.unwrap_or(m.sealed_at),
        last_event: m.stats.last_event_time.unwrap_or(m.sealed_at),
        quality: m.quality_score,
        worm_until,
        approvals: None,
        // Sequence numbers missing between the file's lowest and highest.
        sequence_gaps: match (m.stats.min_sequence, m.stats.max_sequence) {
            (Some(low), Some(high)) if high >= low => Some(
                (high - low)
                    .saturating_add(1)
                    .saturating_sub(m.stats.event_count),
            ),
            _ => None,
        },
    }
}

/// The one value of a set, if it has exactly one.
fn only(set: &std::collections::BTreeSet<String>) -> Option<String> {
    (set.len() == 1)
        .then(|| set.iter().next().cloned())
        .flatten()
}

/// A file's symbol: its partition's, else the only one its events have.
pub(crate) fn file_symbol(m: &FileManifest) -> Option<String> {
    m.partition
        .symbol
        .clone()
        .or_else(|| only(&m.stats.symbols))
}

/// Every file in `catalog`, as the plan sees them, with the tiers' write-once settings.
pub fn stored_files(catalog: &Catalog, tiers: &Tiers) -> Result<Vec<StoredFile>> {
    Ok(catalog
        .find(&FileQuery::all())?
        .iter()
        .map(|m| stored_file(m, tiers))
        .collect())
}

/// The plan for the files of `catalog` under `config` and the holds of `holds` at `now`, with
/// the config's placement (its retention table and classification) or the one given. With
/// `approvals`, deleting an archive-tier file needs the policy's approvals, counted from the
/// records given. `rule_runs`: when each automation rule last ran ([`crate::RuleLog`]).
pub fn plan(
    catalog: &Catalog,
    holds: &HoldStore,
    config: &Config,
    placement: Option<&dyn TierPolicy>,
    approvals: Option<(&ApprovalPolicy, &[ApprovalRecord])>,
    rule_runs: &std::collections::BTreeMap<String, Timestamp>,
    now: Timestamp,
) -> Result<LifecyclePlan> {
    let manifests = catalog.find(&FileQuery::all())?;
    let files: Vec<StoredFile> = manifests
        .iter()
        .map(|m| {
            let mut file = stored_file(m, &config.tiers);
            if let (TierName::Archive, Some((policy, records))) = (m.tier, approvals) {
                if policy.required > 0 {
                    file.approvals = Some(policy.approvals(m, records));
                }
            }
            file
        })
        .collect();
    let holds = holds.holds()?;
    let built_in = RetentionPlacement {
        retention: config.retention.clone(),
        classification: config.classification.clone(),
    };
    let policies = LifecyclePolicies {
        placement: placement.unwrap_or(&built_in),
        classification: &config.classification,
        tiers: &config.tiers,
        quotas: &config.quotas,
        rules: &config.rules,
        rule_runs,
    };
    Ok(lifecycle::plan(policies, &files, &holds, now))
}
