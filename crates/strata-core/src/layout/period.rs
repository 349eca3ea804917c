//! Date granularity and the periods files cover (LAYOUT-2).
//!
//! A period's text names its own granularity — `2024-01` (month), `2024-01-15` (day),
//! `2024-01-15T13` (hour, UTC) — so a reader parses any file whatever granularity wrote it.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use strata_model::Timestamp;

use super::LayoutError;

strata_model::named_enum! {
    /// How much time one file covers; named in config by [`as_str`](Self::as_str).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
    pub enum Granularity [what = "granularity", serde] {
        /// No date in the path: one file (stream) per partition for all time.
        None = "none",
        /// One file per UTC hour (`2024-01-15T13`).
        Hourly = "hourly",
        /// One file per UTC day (`2024-01-15`), or per exchange-local day with a session split.
        #[default]
        Daily = "daily",
        /// One file per UTC month (`2024-01`).
        Monthly = "monthly",
    }
}

/// The span of time one file covers, in UTC.
///
/// With a session split, a layout's daily periods are exchange-local days instead; use
/// [`Layout::time_range`](super::Layout::time_range) for the instants such a file holds.
///
/// Only periods with years 0–9999, hours 0–23 and months 1–12 can be written as text
/// ([`Period::is_valid`]); the bounds of any other period are those of the nearest valid one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// One UTC hour: the date and the hour of day (0–23).
    Hour(NaiveDate, u8),
    /// One day.
    Day(NaiveDate),
    /// One UTC month: the year and the month (1–12).
    Month(i32, u32),
}

impl Period {
    /// The period of `granularity` that contains `time`; `None` for [`Granularity::None`].
    pub fn containing(time: Timestamp, granularity: Granularity) -> Option<Period> {
        let at = time.to_datetime();
        let date = at.date_naive();
        match granularity {
            Granularity::None => None,
            // An hour of day is below 24, so it fits a u8.
            Granularity::Hourly => Some(Period::Hour(date, u8::try_from(at.hour()).unwrap_or(0))),
            Granularity::Daily => Some(Period::Day(date)),
            Granularity::Monthly => Some(Period::Month(date.year(), date.month())),
        }
    }

    /// The granularity of this period.
    pub const fn granularity(self) -> Granularity {
        match self {
            Period::Hour(..) => Granularity::Hourly,
            Period::Day(_) => Granularity::Daily,
            Period::Month(..) => Granularity::Monthly,
        }
    }

    /// Whether this period can be written as date text: year 0–9999, hour 0–23, month 1–12.
    pub fn is_valid(self) -> bool {
        let year_ok = |year: i32| (0..=9999).contains(&year);
        match self {
            Period::Hour(date, hour) => year_ok(date.year()) && hour < 24,
            Period::Day(date) => year_ok(date.year()),
            Period::Month(year, month) => year_ok(year) && (1..=12).contains(&month),
        }
    }

    /// The first instant of the period.
    ///
    /// Saturates at the ends of the [`Timestamp`] range (years 1677 and 2262).
    pub fn start(self) -> Timestamp {
        match self.first_naive() {
            Some(start) => saturating_timestamp(start),
            None => extreme_for_year(self.year()),
        }
    }

    /// The first instant after the period (the bound is exclusive).
    ///
    /// Saturates at the ends of the [`Timestamp`] range, so the last period a timestamp can
    /// fall in ends at `i64::MAX` nanoseconds; [`Period::contains`] is exact even there.
    pub fn end(self) -> Timestamp {
        match self.next() {
            Some(next) => next.start(),
            None => Timestamp::from_nanos(i64::MAX),
        }
    }

    /// Whether `time` falls in this period.
    pub fn contains(self, time: Timestamp) -> bool {
        Period::containing(time, self.granularity()) == Some(self)
    }

    /// Whether the period shares an instant with the half-open range `[from, to)`.
    pub fn overlaps(self, from: Timestamp, to: Timestamp) -> bool {
        from < to && self.start() < to && from < self.end()
    }

    /// The period right after this one, of the same granularity; `None` past chrono's last date.
    pub fn next(self) -> Option<Period> {
        match self.clamped() {
            Period::Hour(date, 23) => date.succ_opt().map(|d| Period::Hour(d, 0)),
            Period::Hour(date, hour) => Some(Period::Hour(date, hour + 1)),
            Period::Day(date) => date.succ_opt().map(Period::Day),
            Period::Month(year, 12) => year.checked_add(1).map(|y| Period::Month(y, 1)),
            Period::Month(year, month) => Some(Period::Month(year, month + 1)),
        }
    }

    /// The periods of `granularity` that overlap `[from, to)`, in time order; none for
    /// [`Granularity::None`] or an empty range.
    pub fn covering(
        from: Timestamp,
        to: Timestamp,
        granularity: Granularity,
    ) -> impl Iterator<Item = Period> {
        let first = if from < to {
            Period::containing(from, granularity)
        } else {
            None
        };
        std::iter::successors(first, |period| period.next()).take_while(move |p| p.start() < to)
    }

    /// Invalid hours and months moved to the nearest valid value.
    fn clamped(self) -> Period {
        match self {
            Period::Hour(date, hour) => Period::Hour(date, hour.min(23)),
            Period::Month(year, month) => Period::Month(year, month.clamp(1, 12)),
            day @ Period::Day(_) => day,
        }
    }

    fn year(self) -> i32 {
        match self {
            Period::Hour(date, _) | Period::Day(date) => date.year(),
            Period::Month(year, _) => year,
        }
    }

    fn first_naive(self) -> Option<NaiveDateTime> {
        match self.clamped() {
            Period::Hour(date, hour) => {
                NaiveTime::from_hms_opt(u32::from(hour), 0, 0).map(|t| date.and_time(t))
            }
            Period::Day(date) => Some(date.and_time(NaiveTime::MIN)),
            Period::Month(year, month) => {
                NaiveDate::from_ymd_opt(year, month, 1).map(|d| d.and_time(NaiveTime::MIN))
            }
        }
    }

    /// Parses date text (`2024-01`, `2024-01-15`, `2024-01-15T13`); the reason on failure.
    pub(super) fn parse_text(text: &str) -> Result<Period, String> {
        let number = |from: usize, to: usize| -> Option<u32> {
            let digits = text.get(from..to)?;
            if digits.bytes().all(|b| b.is_ascii_digit()) {
                digits.parse().ok()
            } else {
                None
            }
        };
        let separator = |at: usize, expected: u8| text.as_bytes().get(at) == Some(&expected);
        let shape_ok = match text.len() {
            7 => separator(4, b'-'),
            10 => separator(4, b'-') && separator(7, b'-'),
            13 => separator(4, b'-') && separator(7, b'-') && separator(10, b'T'),
            _ => false,
        };
        let year = number(0, 4).and_then(|y| i32::try_from(y).ok());
        let month = number(5, 7);
        let (Some(year), Some(month), true) = (year, month, shape_ok) else {
            return Err(
                "expected YYYY-MM (monthly), YYYY-MM-DD (daily) or YYYY-MM-DDTHH \
                        (hourly, UTC)"
                    .into(),
            );
        };
        if text.len() == 7 {
            return if (1..=12).contains(&month) {
                Ok(Period::Month(year, month))
            } else {
                Err(format!("month {month} is not 01-12"))
            };
        }
        let date = number(8, 10)
            .and_then(|day| NaiveDate::from_ymd_opt(year, month, day))
            .ok_or_else(|| "no such calendar date".to_string())?;
        if text.len() == 10 {
            return Ok(Period::Day(date));
        }
        match number(11, 13).and_then(|h| u8::try_from(h).ok()) {
            Some(hour) if hour < 24 => Ok(Period::Hour(date, hour)),
            _ => Err("the hour must be 00-23".into()),
        }
    }
}

/// The date text: `2024-01` (month), `2024-01-15` (day), `2024-01-15T13` (hour).
impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Period::Hour(date, hour) => write!(f, "{}T{hour:02}", date.format("%Y-%m-%d")),
            Period::Day(date) => write!(f, "{}", date.format("%Y-%m-%d")),
            Period::Month(year, month) => write!(f, "{year:04}-{month:02}"),
        }
    }
}

/// Parses date text of any granularity, exactly as [`Display`](fmt::Display) writes it.
impl FromStr for Period {
    type Err = LayoutError;
    fn from_str(text: &str) -> Result<Self, LayoutError> {
        Period::parse_text(text).map_err(|reason| LayoutError::InvalidPeriod {
            text: text.to_string(),
            reason,
        })
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A UTC date-time as a timestamp, clamped to the representable range.
pub(crate) fn saturating_timestamp(at: NaiveDateTime) -> Timestamp {
    match at.and_utc().timestamp_nanos_opt() {
        Some(nanos) => Timestamp::from_nanos(nanos),
        None => extreme_for_year(at.year()),
    }
}

fn extreme_for_year(year: i32) -> Timestamp {
    if year < 1970 {
        Timestamp::from_nanos(i64::MIN)
    } else {
        Timestamp::from_nanos(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn date_text_names_its_granularity() {
        let at = ts("2024-01-15T13:45:00Z");
        let text = |g| Period::containing(at, g).map(|p| p.to_string());
        assert_eq!(text(Granularity::Hourly).as_deref(), Some("2024-01-15T13"));
        assert_eq!(text(Granularity::Daily).as_deref(), Some("2024-01-15"));
        assert_eq!(text(Granularity::Monthly).as_deref(), Some("2024-01"));
        assert_eq!(text(Granularity::None), None);
        for t in ["2024-01-15T13", "2024-01-15", "2024-01"] {
            assert_eq!(t.parse::<Period>().unwrap().to_string(), t);
        }
    }

    #[test]
    fn rejects_malformed_date_text() {
        for bad in [
            "",
            "2024",
            "2024-1",
            "2024-13",
            "2024-00",
            "2024-02-30",
            "2024-01-15T24",
            "2024-01-15 13",
            "2024/01/15",
            "+024-01",
            "2024-01-1٣",
            "２０２４-01",
            "2024-01-15T13:00",
        ] {
            let err = bad.parse::<Period>().unwrap_err();
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn bounds_are_half_open_and_exact() {
        let hour = Period::Hour(day(2024, 1, 15), 23);
        assert_eq!(hour.start(), ts("2024-01-15T23:00:00Z"));
        assert_eq!(hour.end(), ts("2024-01-16T00:00:00Z"));
        let month = Period::Month(2023, 12);
        assert_eq!(month.start(), ts("2023-12-01T00:00:00Z"));
        assert_eq!(month.end(), ts("2024-01-01T00:00:00Z"));
        let leap = Period::Day(day(2024, 2, 29));
        assert!(leap.contains(ts("2024-02-29T23:59:59.999999999Z")));
        assert!(!leap.contains(ts("2024-03-01T00:00:00Z")));
    }

    #[test]
    fn overlaps_uses_half_open_ranges() {
        let d = Period::Day(day(2024, 1, 15));
        assert!(d.overlaps(ts("2024-01-15T23:00:00Z"), ts("2024-01-16T01:00:00Z")));
        assert!(!d.overlaps(ts("2024-01-16T00:00:00Z"), ts("2024-01-17T00:00:00Z")));
        assert!(!d.overlaps(ts("2024-01-14T00:00:00Z"), ts("2024-01-15T00:00:00Z")));
        assert!(!d.overlaps(ts("2024-01-15T10:00:00Z"), ts("2024-01-15T10:00:00Z")));
    }

    #[test]
    fn covering_lists_every_overlapping_period() {
        let periods: Vec<String> = Period::covering(
            ts("2024-01-30T12:00:00Z"),
            ts("2024-02-02T00:00:00Z"),
            Granularity::Daily,
        )
        .map(|p| p.to_string())
        .collect();
        assert_eq!(periods, ["2024-01-30", "2024-01-31", "2024-02-01"]);
        let months = Period::covering(
            ts("2023-12-31T00:00:00Z"),
            ts("2024-01-01T00:00:01Z"),
            Granularity::Monthly,
        );
        assert_eq!(months.count(), 2);
        assert_eq!(
            Period::covering(ts("2024-01-01"), ts("2024-02-01"), Granularity::None).count(),
            0
        );
    }

    #[test]
    fn bounds_saturate_at_the_ends_of_time() {
        let last = Timestamp::from_nanos(i64::MAX);
        let first = Timestamp::from_nanos(i64::MIN);
        for g in [
            Granularity::Hourly,
            Granularity::Daily,
            Granularity::Monthly,
        ] {
            let p = Period::containing(last, g).unwrap();
            assert!(p.contains(last) && p.start() <= last && p.end() == last);
            let p = Period::containing(first, g).unwrap();
            assert!(p.contains(first) && p.start() == first && p.end() > first);
        }
    }

    #[test]
    fn invalid_periods_are_flagged_and_have_total_bounds() {
        assert!(!Period::Hour(day(2024, 1, 1), 24).is_valid());
        assert!(!Period::Month(2024, 13).is_valid());
        assert!(!Period::Month(10_000, 1).is_valid());
        assert_eq!(
            Period::Month(2024, 13).start(),
            Period::Month(2024, 12).start()
        );
        assert_eq!(
            Period::Month(i32::MAX, 1).end(),
            Timestamp::from_nanos(i64::MAX)
        );
    }
}
