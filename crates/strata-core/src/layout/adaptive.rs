//! Adaptive granularity (LAYOUT-5): hourly files for busy partitions, monthly for quiet ones.
//!
//! The choice is a pure function of an observed event rate; the writer measures the rate.
//! Because date text names its own granularity, readers find every file whatever was chosen.

use serde::{Deserialize, Serialize};

use super::{Granularity, LayoutError};

/// Event-rate thresholds that pick a partition's granularity.
///
/// ```toml
/// [layout.adaptive]
/// hourly_above_events_per_day = 5_000_000
/// monthly_below_events_per_day = 10_000
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdaptiveGranularity {
    /// Above this many events per day a partition is written hourly.
    pub hourly_above_events_per_day: u64,
    /// Below this many events per day a partition is written monthly.
    pub monthly_below_events_per_day: u64,
}

impl Default for AdaptiveGranularity {
    /// Hourly above 5 million events a day (~1 GB of JSONL), monthly below 10 thousand.
    fn default() -> Self {
        AdaptiveGranularity {
            hourly_above_events_per_day: 5_000_000,
            monthly_below_events_per_day: 10_000,
        }
    }
}

/// A granularity and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GranularityChoice {
    /// The granularity to write with.
    pub granularity: Granularity,
    /// Why, in words, for dry runs and logs.
    pub reason: String,
}

impl AdaptiveGranularity {
    /// Checks that the monthly threshold is not above the hourly one.
    pub fn validate(&self) -> Result<(), LayoutError> {
        if self.monthly_below_events_per_day > self.hourly_above_events_per_day {
            return Err(LayoutError::InvalidConfig {
                key: "adaptive",
                reason: format!(
                    "monthly_below_events_per_day ({}) is above hourly_above_events_per_day \
                     ({}); a partition cannot be both quiet and busy",
                    self.monthly_below_events_per_day, self.hourly_above_events_per_day
                ),
            });
        }
        Ok(())
    }

    /// The granularity for a partition that sees `observed_events_per_day`, with the reason.
    ///
    /// ```
    /// use strata_core::layout::{AdaptiveGranularity, Granularity};
    ///
    /// let policy = AdaptiveGranularity::default();
    /// let choice = policy.choose(20_000_000);
    /// assert_eq!(choice.granularity, Granularity::Hourly);
    /// assert_eq!(
    ///     choice.reason,
    ///     "20000000 events/day > hourly_above_events_per_day 5000000: hourly files"
    /// );
    /// assert_eq!(policy.choose(50).granularity, Granularity::Monthly);
    /// ```
    pub fn choose(&self, observed_events_per_day: u64) -> GranularityChoice {
        let n = observed_events_per_day;
        let (granularity, reason) = if n > self.hourly_above_events_per_day {
            (
                Granularity::Hourly,
                format!(
                    "{n} events/day > hourly_above_events_per_day {}: hourly files",
                    self.hourly_above_events_per_day
                ),
            )
        } else if n < self.monthly_below_events_per_day {
            (
                Granularity::Monthly,
                format!(
                    "{n} events/day < monthly_below_events_per_day {}: monthly files",
                    self.monthly_below_events_per_day
                ),
            )
        } else {
            (
                Granularity::Daily,
                format!(
                    "{n} events/day is within [{}, {}]: daily files",
                    self.monthly_below_events_per_day, self.hourly_above_events_per_day
                ),
            )
        };
        GranularityChoice {
            granularity,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_exclusive() {
        let policy = AdaptiveGranularity {
            hourly_above_events_per_day: 1_000,
            monthly_below_events_per_day: 10,
        };
        assert_eq!(policy.choose(1_001).granularity, Granularity::Hourly);
        assert_eq!(policy.choose(1_000).granularity, Granularity::Daily);
        assert_eq!(policy.choose(10).granularity, Granularity::Daily);
        assert_eq!(policy.choose(9).granularity, Granularity::Monthly);
        assert_eq!(policy.choose(0).granularity, Granularity::Monthly);
        assert_eq!(
            policy.choose(500).reason,
            "500 events/day is within [10, 1000]: daily files"
        );
    }

    #[test]
    fn validate_rejects_crossed_thresholds() {
        let policy = AdaptiveGranularity {
            hourly_above_events_per_day: 10,
            monthly_below_events_per_day: 1_000,
        };
        let err = policy.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("invalid layout setting `adaptive`"),
            "{err}"
        );
        assert!(AdaptiveGranularity::default().validate().is_ok());
    }

    #[test]
    fn config_accepts_one_threshold_and_refuses_unknown_keys() {
        let policy: AdaptiveGranularity =
            toml::from_str("hourly_above_events_per_day = 42").unwrap();
        assert_eq!(policy.hourly_above_events_per_day, 42);
        assert_eq!(policy.monthly_below_events_per_day, 10_000);
        let err = toml::from_str::<AdaptiveGranularity>("hourly_above = 1").unwrap_err();
        assert!(
            err.to_string().contains("unknown field `hourly_above`"),
            "{err}"
        );
    }
}
