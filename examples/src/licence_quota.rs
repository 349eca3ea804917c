//! A quota strata does not ship, the one `examples/custom_quota.rs` plugs in: a vendor's trial
//! licence that allows so many messages a day from one source. Past 80 % it warns; past the
//! allowance it refuses the batch (the caller keeps its events, as with a built-in hard limit).

use std::sync::Arc;

use strata::extension::ExtensionSettings;
use strata::policy::{QuotaDecision, QuotaPolicy, QuotaSubject, QuotaUsage};

/// At most `events_per_day` events a day from `source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceQuota {
    /// The licensed source.
    pub source: String,
    /// The daily allowance.
    pub events_per_day: u64,
}

impl LicenceQuota {
    /// The factory a program registers (`ArchiveBuilder::register_quota`) so that a config file
    /// can name the quota: its `[extensions.settings.<name>]` gives `source` (a string) and
    /// `events_per_day` (a whole number).
    ///
    /// ```
    /// use strata::extension::serde_json::json;
    /// use strata_examples::licence_quota::LicenceQuota;
    ///
    /// let quota = LicenceQuota::from_settings(&json!({ "source": "binance", "events_per_day": 5 }));
    /// assert_eq!(quota.map(|q| q.name()).as_deref(), Ok("licence=binance"));
    /// let refused = LicenceQuota::from_settings(&json!({ "source": "binance" }));
    /// assert_eq!(refused.err().as_deref(), Some("`events_per_day` (a whole number) is required"));
    /// ```
    pub fn from_settings(settings: &ExtensionSettings) -> Result<Arc<dyn QuotaPolicy>, String> {
        let source = settings
            .get("source")
            .and_then(|v| v.as_str())
            .ok_or("`source` (a string) is required")?;
        let events_per_day = settings
            .get("events_per_day")
            .and_then(|v| v.as_u64())
            .ok_or("`events_per_day` (a whole number) is required")?;
        Ok(Arc::new(LicenceQuota {
            source: source.to_string(),
            events_per_day,
        }))
    }
}

impl QuotaPolicy for LicenceQuota {
    fn name(&self) -> String {
        format!("licence={}", self.source)
    }

    fn applies_to(&self, subject: &QuotaSubject<'_>) -> bool {
        subject.source == self.source
    }

    fn evaluate(&self, used: QuotaUsage, incoming: QuotaUsage) -> QuotaDecision {
        let after = used.events_today.saturating_add(incoming.events_today);
        if after > self.events_per_day {
            QuotaDecision::Refuse {
                scope: self.name(),
                limit_name: "max_events_per_day",
                limit: self.events_per_day,
                used: used.events_today,
            }
        } else if after.saturating_mul(5) > self.events_per_day.saturating_mul(4) {
            QuotaDecision::Warn {
                reason: format!(
                    "licence {}: {after} of {} events today (over 80 %)",
                    self.source, self.events_per_day
                ),
            }
        } else {
            QuotaDecision::Allow
        }
    }
}
