//! The usage ledger that enforces quotas at write time (QUOTA-1, QUOTA-2).
//!
//! The writer asks the ledger about a whole batch before it writes any of it, under the same lock
//! that orders writes, so concurrent writers can never pass a HardLimit together. The decisions
//! themselves are the pure [`QuotaPolicy::evaluate`] of each policy — the config's
//! [`QuotaRule`](strata_core::policy::QuotaRule)s, or a caller's own.

use std::sync::Arc;

use chrono::NaiveDate;
use strata_catalog::FileManifest;
use strata_core::policy::{QuotaDecision, QuotaPolicy, QuotaSubject, QuotaUsage};
use strata_model::{AssetClass, SymbolRegistry};

/// What the ledger decided for a batch that may be written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Signals {
    /// Warn-mode messages (logged by the writer).
    pub warnings: Vec<String>,
    /// SoftLimit: the lifecycle should start cleanup.
    pub cleanup: Vec<String>,
    /// DropOldest: each rule's reason (a byte, file or daily-event limit passed).
    pub drop_oldest: Vec<String>,
    /// DropOldest: bytes of the oldest non-protected data the lifecycle should delete (0 when
    /// only file or daily-event limits were passed).
    pub drop_oldest_bytes: u64,
    /// Of all the above, the reasons of rules saying so for the first time since the ledger
    /// was made: what is worth logging (a scope over its limit says so on every batch).
    pub first: Vec<String>,
}

/// What a batch over a SoftLimit or DropOldest quota asks of the lifecycle: to start cleaning up
/// now, while the writer keeps writing (QUOTA-2). [`crate::Writer::on_quota_cleanup`] hands it
/// to whoever runs the cleanup (the facade's `Archive` does, on a thread of its own).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CleanupRequest {
    /// Each SoftLimit and DropOldest rule's reason.
    pub reasons: Vec<String>,
    /// Bytes the DropOldest rules want freed (0 when only SoftLimits, or only file or
    /// daily-event limits, asked).
    pub bytes_to_free: u64,
}

impl CleanupRequest {
    /// The request `signals` make, if they make one.
    pub fn from_signals(signals: &Signals) -> Option<CleanupRequest> {
        if signals.cleanup.is_empty() && signals.drop_oldest.is_empty() {
            return None;
        }
        Some(CleanupRequest {
            reasons: signals
                .cleanup
                .iter()
                .chain(&signals.drop_oldest)
                .cloned()
                .collect(),
            bytes_to_free: signals.drop_oldest_bytes,
        })
    }
}

/// What a catalogued file counts against `rule`, if it counts: its bytes, one file, and its
/// events of `today` (`YYYY-MM-DD`). A file counts when any of its (source, symbol, kind)
/// matches the rule.
pub fn file_usage(
    manifest: &FileManifest,
    rule: &dyn QuotaPolicy,
    symbols: &SymbolRegistry,
    today: &str,
) -> Option<QuotaUsage> {
    let stats = &manifest.stats;
    let matches = stats.sources.iter().any(|source| {
        stats.symbols.iter().any(|symbol| {
            let asset_class = symbols
                .resolve(symbol)
                .map_or(AssetClass::Other, |s| s.asset_class);
            stats.kinds.keys().any(|&kind| {
                rule.applies_to(&QuotaSubject {
                    source,
                    asset_class,
                    symbol,
                    kind,
                })
            })
        })
    });
    matches.then(|| QuotaUsage {
        bytes: manifest.size_bytes,
        files: 1,
        events_today: stats
            .events_by_hour
            .iter()
            .filter(|(h, _)| h.starts_with(today))
            .map(|(_, n)| n)
            .sum(),
    })
}

/// Usage per quota rule, kept in step with what the writer writes.
#[derive(Debug, Clone)]
pub struct QuotaLedger {
    rules: Vec<Arc<dyn QuotaPolicy>>,
    usage: Vec<QuotaUsage>,
    day: NaiveDate,
    /// Whether each rule has signalled yet (see [`Signals::first`]).
    signalled: Vec<bool>,
}

/// One event's (or new file's) charge against the ledger.
#[derive(Debug, Clone, Copy)]
pub struct Charge<'a> {
    /// Who it counts against.
    pub subject: QuotaSubject<'a>,
    /// What it adds.
    pub usage: QuotaUsage,
}

impl QuotaLedger {
    /// A ledger for `rules`, starting from `usage` (one entry per rule, e.g. from the catalog).
    pub fn new(rules: Vec<Arc<dyn QuotaPolicy>>, usage: Vec<QuotaUsage>, today: NaiveDate) -> Self {
        let usage = if usage.len() == rules.len() {
            usage
        } else {
            vec![QuotaUsage::default(); rules.len()]
        };
        QuotaLedger {
            signalled: vec![false; rules.len()],
            rules,
            usage,
            day: today,
        }
    }

    /// The rules and their current usage.
    pub fn usage(&self) -> impl Iterator<Item = (&dyn QuotaPolicy, &QuotaUsage)> {
        self.rules.iter().map(|r| &**r).zip(&self.usage)
    }

    /// True when there is nothing to enforce.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Takes the bytes and files of `files` off each rule's usage (files the lifecycle deleted
    /// while the writer was open), so a byte or file HardLimit refuses no longer once space is
    /// freed. Events written today stay counted: a daily event limit is about writes, not what
    /// is kept. Files sealed in this session were charged by their JSONL bytes and are taken off
    /// by their stored size, so after compression the ledger stays at or above the truth.
    pub fn release(&mut self, files: &[FileManifest], symbols: &SymbolRegistry) {
        let today = self.day.format("%Y-%m-%d").to_string();
        for manifest in files {
            for (rule, used) in self.rules.iter().zip(self.usage.iter_mut()) {
                if let Some(freed) = file_usage(manifest, &**rule, symbols, &today) {
                    used.bytes = used.bytes.saturating_sub(freed.bytes);
                    used.files = used.files.saturating_sub(freed.files);
                }
            }
        }
    }

    /// Checks a batch's charges and, when no HardLimit refuses, records them. On refusal nothing
    /// is recorded and the refusing rule's decision is returned.
    pub fn charge_batch(
        &mut self,
        today: NaiveDate,
        charges: &[Charge<'_>],
    ) -> Result<Signals, QuotaDecision> {
        if today != self.day {
            // A new day: daily counts start again, and each rule says so again when it signals.
            self.day = today;
            for u in &mut self.usage {
                u.events_today = 0;
            }
            self.signalled.iter_mut().for_each(|s| *s = false);
        }
        let mut incoming = vec![QuotaUsage::default(); self.rules.len()];
        for charge in charges {
            for (rule, inc) in self.rules.iter().zip(incoming.iter_mut()) {
                if rule.applies_to(&charge.subject) {
                    inc.bytes += charge.usage.bytes;
                    inc.files += charge.usage.files;
                    inc.events_today += charge.usage.events_today;
                }
            }
        }
        let mut signals = Signals::default();
        let mut signalling = Vec::new();
        for (i, ((rule, used), inc)) in self
            .rules
            .iter()
            .zip(&self.usage)
            .zip(&incoming)
            .enumerate()
        {
            let reason = match rule.evaluate(*used, *inc) {
                QuotaDecision::Allow => continue,
                QuotaDecision::Warn { reason } => {
                    signals.warnings.push(reason.clone());
                    reason
                }
                QuotaDecision::StartCleanup { reason } => {
                    signals.cleanup.push(reason.clone());
                    reason
                }
                QuotaDecision::DropOldest {
                    bytes_to_free,
                    reason,
                } => {
                    signals.drop_oldest.push(reason.clone());
                    signals.drop_oldest_bytes += bytes_to_free;
                    reason
                }
                refuse @ QuotaDecision::Refuse { .. } => return Err(refuse),
            };
            if !self.signalled[i] {
                signalling.push(i);
                signals.first.push(reason);
            }
        }
        for i in signalling {
            self.signalled[i] = true;
        }
        for (used, inc) in self.usage.iter_mut().zip(&incoming) {
            used.bytes += inc.bytes;
            used.files += inc.files;
            used.events_today += inc.events_today;
        }
        Ok(signals)
    }
}
