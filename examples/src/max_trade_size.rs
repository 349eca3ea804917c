//! An integrity policy strata does not ship, the one `examples/custom_policies.rs` names from
//! `strata.toml`: the built-in checks, and no trade larger than a fat-finger limit. An oversize
//! print goes to the quarantine under the class `oversize_trade`, with the size and the limit.

use std::sync::Arc;

use strata::extension::ExtensionSettings;
use strata::model::{Decimal, Payload};
use strata::policy::integrity::{Candidate, Rejection, StreamFacts, Verdict};
use strata::policy::{IntegrityChecks, IntegrityPolicy};

/// The built-in checks, and no trade larger than `max_size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxTradeSize {
    /// The checks every event passes first.
    pub checks: IntegrityChecks,
    /// The largest trade size accepted.
    pub max_size: Decimal,
}

impl MaxTradeSize {
    /// The factory a program registers (`ArchiveBuilder::register_integrity`): its
    /// `[extensions.settings.<name>]` gives `max_size`, a decimal written as a string (so that
    /// TOML does not turn it into a binary float).
    ///
    /// ```
    /// use strata::extension::serde_json::json;
    /// use strata_examples::max_trade_size::MaxTradeSize;
    ///
    /// let policy = MaxTradeSize::from_settings(&json!({ "max_size": "2.5" })).unwrap();
    /// assert_eq!(policy.name(), "integrity_checks, trades up to 2.5");
    /// let refused = MaxTradeSize::from_settings(&json!({ "max_size": 2.5 }));
    /// assert_eq!(refused.err().as_deref(), Some("`max_size` (a decimal as a string, \"2.5\") is required"));
    /// ```
    pub fn from_settings(settings: &ExtensionSettings) -> Result<Arc<dyn IntegrityPolicy>, String> {
        let text = settings
            .get("max_size")
            .and_then(|v| v.as_str())
            .ok_or("`max_size` (a decimal as a string, \"2.5\") is required")?;
        let max_size = text
            .parse::<Decimal>()
            .map_err(|e| format!("`max_size` = \"{text}\": {e}"))?;
        if max_size.is_negative() {
            return Err(format!("`max_size` = \"{text}\" is negative"));
        }
        Ok(Arc::new(MaxTradeSize {
            checks: IntegrityChecks::default(),
            max_size,
        }))
    }
}

impl IntegrityPolicy for MaxTradeSize {
    fn name(&self) -> String {
        format!("{}, trades up to {}", self.checks.name(), self.max_size)
    }

    fn memory(&self) -> usize {
        self.checks.memory()
    }

    fn verdict(&self, stream: &StreamFacts, candidate: &Candidate<'_>) -> Verdict {
        match &candidate.event.payload {
            Payload::Trade(trade) if trade.size.cmp_value(self.max_size).is_gt() => {
                Verdict::Reject(Rejection::Other {
                    class: "oversize_trade".into(),
                    reason: format!("trade size {} is over {}", trade.size, self.max_size),
                })
            }
            _ => self.checks.verdict(stream, candidate),
        }
    }
}
