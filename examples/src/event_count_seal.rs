//! A seal schedule strata does not ship: files of a fixed number of events (so every file of a
//! replay holds the same count, whatever the line lengths), no file open longer than an age,
//! and — as the seal laws demand of every schedule — no file past a size either.

use std::sync::Arc;
use std::time::Duration;

use strata::extension::ExtensionSettings;
use strata::policy::{SealCause, SealDecision, SealSchedule, SegmentFacts};

/// Seal at `max_events` events or `max_bytes` bytes, or once a segment holding anything is
/// `max_age` old.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCountSeal {
    /// Events per file.
    pub max_events: u64,
    /// The largest file, whatever its event count.
    pub max_bytes: u64,
    /// The longest a file stays open.
    pub max_age: Duration,
}

/// The size bound when the settings give none: 1 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

impl EventCountSeal {
    /// The factory a program registers (`ArchiveBuilder::register_seal_schedule`):
    /// `[extensions.settings.<name>]` gives `max_events` (≥ 1), `max_age_secs` and, optionally,
    /// `max_file_bytes` (default [`DEFAULT_MAX_BYTES`]).
    ///
    /// ```
    /// use strata::extension::serde_json::json;
    /// use strata_examples::event_count_seal::EventCountSeal;
    ///
    /// let s = EventCountSeal::from_settings(&json!({ "max_events": 1000, "max_age_secs": 60 }));
    /// assert_eq!(s.unwrap().name(), "1000 events, age 60 s");
    /// let refused = EventCountSeal::from_settings(&json!({ "max_events": 0, "max_age_secs": 60 }));
    /// assert_eq!(refused.err().as_deref(), Some("`max_events` must be at least 1"));
    /// ```
    pub fn from_settings(settings: &ExtensionSettings) -> Result<Arc<dyn SealSchedule>, String> {
        let whole = |key: &str| {
            settings
                .get(key)
                .and_then(|v| v.as_u64())
                .ok_or_else(|| format!("`{key}` (a whole number) is required"))
        };
        let max_events = whole("max_events")?;
        if max_events == 0 {
            return Err("`max_events` must be at least 1".into());
        }
        let max_bytes = match settings.get("max_file_bytes") {
            None => DEFAULT_MAX_BYTES,
            Some(_) => whole("max_file_bytes")?,
        };
        Ok(Arc::new(EventCountSeal {
            max_events,
            max_bytes,
            max_age: Duration::from_secs(whole("max_age_secs")?),
        }))
    }
}

impl SealSchedule for EventCountSeal {
    fn name(&self) -> String {
        format!(
            "{} events, age {} s",
            self.max_events,
            self.max_age.as_secs()
        )
    }

    fn decide(&self, segment: &SegmentFacts) -> Option<SealDecision> {
        if segment.events == 0 && segment.bytes == 0 {
            return None; // nothing to seal
        }
        if segment.events >= self.max_events {
            return Some(SealDecision {
                cause: SealCause::Size,
                reason: format!("{} events ≥ max_events {}", segment.events, self.max_events),
            });
        }
        if segment.bytes >= self.max_bytes {
            return Some(SealDecision {
                cause: SealCause::Size,
                reason: format!(
                    "{} bytes ≥ max_file_bytes {}",
                    segment.bytes, self.max_bytes
                ),
            });
        }
        match segment.open_for {
            Some(age) if age >= self.max_age => Some(SealDecision {
                cause: SealCause::Age,
                reason: format!(
                    "open {:.1} s ≥ max_age {} s",
                    age.as_secs_f64(),
                    self.max_age.as_secs()
                ),
            }),
            _ => None,
        }
    }

    fn check_every(&self) -> Duration {
        self.max_age
            .clamp(Duration::from_millis(100), Duration::from_secs(60))
    }
}
