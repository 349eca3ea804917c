//! A tier policy strata does not ship: a desk that keeps everything forever, but sends order-book
//! data (the bulk of a capture) from the hot tier straight to the archive tier, while trades,
//! quotes and bars go to warm. It never deletes, and never moves a file back.

use std::sync::Arc;

use strata::extension::ExtensionSettings;
use strata::model::EventKind;
use strata::policy::{FileFacts, TierAction, TierName, TierPolicy};

/// Hot for `hot_days`; then books to archive, the rest to warm; never deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BooksToArchive {
    /// Days every file stays hot.
    pub hot_days: u64,
}

impl BooksToArchive {
    /// The factory a program registers (`ArchiveBuilder::register_tier_policy`):
    /// `[extensions.settings.<name>]` gives `hot_days`.
    pub fn from_settings(settings: &ExtensionSettings) -> Result<Arc<dyn TierPolicy>, String> {
        let hot_days = settings
            .get("hot_days")
            .and_then(|v| v.as_u64())
            .ok_or("`hot_days` (a whole number) is required")?;
        Ok(Arc::new(BooksToArchive { hot_days }))
    }
}

impl TierPolicy for BooksToArchive {
    fn name(&self) -> String {
        format!("books to archive after {} days", self.hot_days)
    }

    fn decide(&self, file: &FileFacts) -> (TierAction, String) {
        let book = matches!(file.kind, EventKind::L2Snapshot | EventKind::OrderBookDelta);
        let (target, why) = if file.age_days < self.hot_days {
            (
                TierName::Hot,
                format!("{} days old, hot for {}", file.age_days, self.hot_days),
            )
        } else if book {
            (
                TierName::Archive,
                format!(
                    "{} data older than {} days goes to archive",
                    file.kind, self.hot_days
                ),
            )
        } else {
            (
                TierName::Warm,
                format!(
                    "{} data older than {} days goes to warm",
                    file.kind, self.hot_days
                ),
            )
        };
        if target == file.tier {
            (TierAction::Stay, why)
        } else if target < file.tier {
            (
                TierAction::Stay,
                format!(
                    "{why}; it is in {} already, and files never move back",
                    file.tier
                ),
            )
        } else {
            (TierAction::Migrate(target), why)
        }
    }
}
