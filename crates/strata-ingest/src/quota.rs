//! The usage ledger that enforces quotas at write time (QUOTA-1, QUOTA-2).
//!
//! The writer asks the ledger about a whole batch before it writes any of it, under the same lock
//! that orders writes, so concurrent writers can never pass a HardLimit together. The decisions
//! themselves are the pure [`QuotaPolicy::evaluate`] of each policy — the config's
//! [`QuotaRule`](strata_core::policy::QuotaRule)s, or a caller's own.

use std::sync::Arc;

use chrono::NaiveDate;
use strata_core::policy::{QuotaDecision, QuotaPolicy, QuotaSubject, QuotaUsage};

/// What the ledger decided for a batch that may be written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Signals {
    /// Warn-mode messages (logged by the writer).
    pub warnings: Vec<String>,
    /// SoftLimit: the lifecycle should start cleanup.
    pub cleanup: Vec<String>,
    /// DropOldest: bytes of the oldest non-protected data the lifecycle should delete.
    pub drop_oldest_bytes: u64,
}

/// Usage per quota rule, kept in step with what the writer writes.
#[derive(Debug, Clone)]
pub struct QuotaLedger {
    rules: Vec<Arc<dyn QuotaPolicy>>,
    usage: Vec<QuotaUsage>,
    day: NaiveDate,
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

    /// Checks a batch's charges and, when no HardLimit refuses, records them. On refusal nothing
    /// is recorded and the refusing rule's decision is returned.
    pub fn charge_batch(
        &mut self,
        today: NaiveDate,
        charges: &[Charge<'_>],
    ) -> Result<Signals, QuotaDecision> {
        if today != self.day {
            self.day = today;
            for u in &mut self.usage {
                u.events_today = 0;
            }
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
        for ((rule, used), inc) in self.rules.iter().zip(&self.usage).zip(&incoming) {
            match rule.evaluate(*used, *inc) {
                QuotaDecision::Allow => {}
                QuotaDecision::Warn { reason } => signals.warnings.push(reason),
                QuotaDecision::StartCleanup { reason } => signals.cleanup.push(reason),
                QuotaDecision::DropOldest { bytes_to_free, .. } => {
                    signals.drop_oldest_bytes += bytes_to_free
                }
                refuse @ QuotaDecision::Refuse { .. } => return Err(refuse),
            }
        }
        for (used, inc) in self.usage.iter_mut().zip(&incoming) {
            used.bytes += inc.bytes;
            used.files += inc.files;
            used.events_today += inc.events_today;
        }
        Ok(signals)
    }
}
