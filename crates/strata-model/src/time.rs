//! Event and receive times: nanoseconds since the Unix epoch, UTC.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// A point in time as nanoseconds since 1970-01-01T00:00:00Z (covers years 1677–2262).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

/// Why a text is not a time strata understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a time: use RFC 3339 (2024-01-15T14:30:00Z) or a plain date (2024-01-15, read as UTC midnight)")]
pub struct TimestampError {
    /// The rejected text.
    pub text: String,
}

impl Timestamp {
    /// From nanoseconds since the epoch.
    pub const fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// From milliseconds since the epoch; `None` when out of range.
    pub fn from_millis(millis: i64) -> Option<Self> {
        millis.checked_mul(1_000_000).map(Timestamp)
    }

    /// As a chrono UTC date-time.
    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_nanos(self.0)
    }

    /// From a chrono date-time; `None` outside the representable range.
    pub fn from_datetime<Tz: TimeZone>(dt: &DateTime<Tz>) -> Option<Self> {
        dt.timestamp_nanos_opt().map(Timestamp)
    }

    /// The system clock's time (the latest representable instant past 2262).
    pub fn now() -> Self {
        Self::from_datetime(&chrono::Utc::now()).unwrap_or(Timestamp(i64::MAX))
    }

    /// UTC midnight at the start of `date`.
    pub fn from_date(date: NaiveDate) -> Option<Self> {
        date.and_hms_opt(0, 0, 0)
            .and_then(|dt| dt.and_utc().timestamp_nanos_opt())
            .map(Timestamp)
    }

    /// The UTC calendar date.
    pub fn utc_date(self) -> NaiveDate {
        self.to_datetime().date_naive()
    }

    /// Parses RFC 3339 or a plain `YYYY-MM-DD` (UTC midnight), as the CLI's `--from`/`--to`/`--now`.
    pub fn parse_flexible(text: &str) -> Result<Self, TimestampError> {
        let err = || TimestampError {
            text: text.to_string(),
        };
        if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
            return Timestamp::from_datetime(&dt).ok_or_else(err);
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(Timestamp::from_date)
            .ok_or_else(err)
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse_flexible(s)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            &self
                .to_datetime()
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_and_dates() {
        let t = Timestamp::parse_flexible("2024-01-15").unwrap();
        assert_eq!(t.to_string(), "2024-01-15T00:00:00Z");
        let t = Timestamp::parse_flexible("2024-01-15T09:30:00.000000001-05:00").unwrap();
        assert_eq!(t.to_string(), "2024-01-15T14:30:00.000000001Z");
        assert_eq!(Timestamp::parse_flexible(&t.to_string()).unwrap(), t);
        let err = Timestamp::parse_flexible("15/01/2024").unwrap_err();
        assert!(err.to_string().contains("`15/01/2024`"));
    }
}
