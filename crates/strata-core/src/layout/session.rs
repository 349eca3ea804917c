//! Trading-session partitions (LAYOUT-4): pre-market, regular and after-hours files per day,
//! cut on the exchange's own wall clock, so daylight-saving changes move the UTC cut points.

use std::ops::Range;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use strata_model::Timestamp;

use super::LayoutError;

strata_model::named_enum! {
    /// The part of an exchange-local day an instant falls in; its name
    /// ([`as_str`](Self::as_str)) is used in paths (`2024-01-15.regular`) and config. `ALL` is in
    /// the order of the day (closed last).
    ///
    /// The split is by wall clock only: weekends and holidays are the trading calendar's business
    /// (SCHED-1), so a Saturday 10:00 is `regular` here.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    pub enum TradingSession [what = "trading session", serde] {
        /// From `pre_open` to `regular_open`.
        Pre = "pre",
        /// From `regular_open` to `regular_close`.
        Regular = "regular",
        /// From `regular_close` to `after_close`.
        After = "after",
        /// Before `pre_open` or from `after_close` to midnight, local time: events still arrive
        /// then (late prints, futures, crypto) and get a file of their own instead of being
        /// dropped.
        Closed = "closed",
    }
}

/// Where an exchange's day is cut into sessions. Defaults to US equities in New York:
/// 04:00 / 09:30 / 16:00 / 20:00.
///
/// In config the time zone is an IANA name and times are `HH:MM` (or `HH:MM:SS`):
///
/// ```toml
/// [layout.session_split]
/// timezone = "America/New_York"
/// pre_open = "04:00"
/// regular_open = "09:30"
/// regular_close = "16:00"
/// after_close = "20:00"
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionSplit {
    /// The exchange's time zone; every cut is made on its wall clock.
    #[serde(with = "tz_name")]
    pub timezone: Tz,
    /// Pre-market opens (local time).
    #[serde(with = "clock_time")]
    pub pre_open: NaiveTime,
    /// The regular session opens.
    #[serde(with = "clock_time")]
    pub regular_open: NaiveTime,
    /// The regular session closes.
    #[serde(with = "clock_time")]
    pub regular_close: NaiveTime,
    /// After-hours trading ends.
    #[serde(with = "clock_time")]
    pub after_close: NaiveTime,
}

impl Default for SessionSplit {
    fn default() -> Self {
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
        SessionSplit {
            timezone: Tz::America__New_York,
            pre_open: at(4, 0),
            regular_open: at(9, 30),
            regular_close: at(16, 0),
            after_close: at(20, 0),
        }
    }
}

impl SessionSplit {
    /// Checks the cut points are in order (`pre_open ≤ regular_open ≤ regular_close ≤
    /// after_close`; equal times leave a session empty).
    pub fn validate(&self) -> Result<(), LayoutError> {
        let cuts = [
            ("pre_open", self.pre_open),
            ("regular_open", self.regular_open),
            ("regular_close", self.regular_close),
            ("after_close", self.after_close),
        ];
        for pair in cuts.windows(2) {
            let [(earlier, a), (later, b)] = pair else {
                continue;
            };
            if a > b {
                return Err(LayoutError::InvalidConfig {
                    key: "session_split",
                    reason: format!(
                        "{earlier} ({a}) is after {later} ({b}); the cut points must be in the \
                         order pre_open, regular_open, regular_close, after_close"
                    ),
                });
            }
        }
        Ok(())
    }

    /// The exchange-local date and session of `time`.
    pub fn session_of(&self, time: Timestamp) -> (NaiveDate, TradingSession) {
        let local = time.to_datetime().with_timezone(&self.timezone);
        let clock = local.time();
        let session = if clock < self.pre_open {
            TradingSession::Closed
        } else if clock < self.regular_open {
            TradingSession::Pre
        } else if clock < self.regular_close {
            TradingSession::Regular
        } else if clock < self.after_close {
            TradingSession::After
        } else {
            TradingSession::Closed
        };
        (local.date_naive(), session)
    }

    /// The instants whose [`session_of`](Self::session_of) is `(date, session)`, as a half-open
    /// UTC range; for [`TradingSession::Closed`], the whole local day (which covers both of its
    /// closed stretches). When a cut falls in a daylight-saving gap or fold, the range widens to
    /// cover every instant whose wall clock lies inside the session.
    pub fn bounds(&self, date: NaiveDate, session: TradingSession) -> Range<Timestamp> {
        let (from, to) = match session {
            TradingSession::Pre => (self.pre_open, self.regular_open),
            TradingSession::Regular => (self.regular_open, self.regular_close),
            TradingSession::After => (self.regular_close, self.after_close),
            TradingSession::Closed => {
                let start = self.instant(date.and_time(NaiveTime::MIN), Fold::Earliest);
                let end = match date.succ_opt() {
                    Some(next) => self.instant(next.and_time(NaiveTime::MIN), Fold::Latest),
                    None => Timestamp::from_nanos(i64::MAX),
                };
                return start..end;
            }
        };
        self.instant(date.and_time(from), Fold::Earliest)
            ..self.instant(date.and_time(to), Fold::Latest)
    }

    /// The first instant whose local wall clock reads `local` (in a fold, the earlier or later
    /// of the two); in a gap, the first instant after it.
    fn instant(&self, local: NaiveDateTime, fold: Fold) -> Timestamp {
        const MINUTES_PER_DAY: u32 = 24 * 60;
        let mut probe = local;
        for _ in 0..MINUTES_PER_DAY {
            let found = match self.timezone.from_local_datetime(&probe) {
                LocalResult::Single(at) => Some(at),
                LocalResult::Ambiguous(earlier, later) => Some(match fold {
                    Fold::Earliest => earlier,
                    Fold::Latest => later,
                }),
                LocalResult::None => None,
            };
            if let Some(at) = found {
                return saturating(&at, local);
            }
            match probe.checked_add_signed(TimeDelta::minutes(1)) {
                Some(next) => probe = next,
                None => break,
            }
        }
        // No offset change lasts a day; only the ends of chrono's calendar get here.
        super::period::saturating_timestamp(local)
    }
}

#[derive(Clone, Copy)]
enum Fold {
    Earliest,
    Latest,
}

fn saturating(at: &DateTime<Tz>, local: NaiveDateTime) -> Timestamp {
    Timestamp::from_datetime(at).unwrap_or_else(|| super::period::saturating_timestamp(local))
}

/// Serde for a time zone as its IANA name.
mod tz_name {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(tz: &Tz, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(tz.name())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "`{name}` is not an IANA time zone name (like America/New_York or Europe/London)"
            ))
        })
    }
}

/// Serde for a wall-clock time as `HH:MM`, or `HH:MM:SS` when it has seconds.
mod clock_time {
    use chrono::{NaiveTime, Timelike};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        time: &NaiveTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        if time.second() == 0 && time.nanosecond() == 0 {
            serializer.collect_str(&time.format("%H:%M"))
        } else {
            serializer.collect_str(time)
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<NaiveTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "`{text}` is not a time of day; write HH:MM, like 09:30"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn regular_open_follows_daylight_saving_time() {
        let ny = SessionSplit::default();
        // EDT from 2024-03-10: 09:30 New York is 13:30 UTC.
        assert_eq!(
            ny.session_of(ts("2024-03-11T13:30:00Z")),
            (date("2024-03-11"), TradingSession::Regular)
        );
        assert_eq!(
            ny.session_of(ts("2024-03-11T13:29:59Z")),
            (date("2024-03-11"), TradingSession::Pre)
        );
        // EST before: 09:30 New York is 14:30 UTC.
        assert_eq!(
            ny.session_of(ts("2024-03-08T14:30:00Z")),
            (date("2024-03-08"), TradingSession::Regular)
        );
        assert_eq!(
            ny.session_of(ts("2024-03-08T14:29:59Z")),
            (date("2024-03-08"), TradingSession::Pre)
        );
        assert_eq!(
            ny.session_of(ts("2024-03-08T13:30:00Z")),
            (date("2024-03-08"), TradingSession::Pre)
        );
    }

    #[test]
    fn the_local_date_is_the_exchange_date() {
        let ny = SessionSplit::default();
        // 19:30 EST on the 15th is already the 16th in UTC.
        assert_eq!(
            ny.session_of(ts("2024-01-16T00:30:00Z")),
            (date("2024-01-15"), TradingSession::After)
        );
        assert_eq!(
            ny.session_of(ts("2024-01-16T01:00:00Z")),
            (date("2024-01-15"), TradingSession::Closed)
        );
        assert_eq!(
            ny.session_of(ts("2024-01-16T08:59:00Z")),
            (date("2024-01-16"), TradingSession::Closed)
        );
        assert_eq!(
            ny.session_of(ts("2024-01-16T09:00:00Z")),
            (date("2024-01-16"), TradingSession::Pre)
        );
        assert_eq!(
            ny.session_of(ts("2024-01-16T21:00:00Z")),
            (date("2024-01-16"), TradingSession::After)
        );
    }

    #[test]
    fn bounds_are_the_utc_range_of_a_local_session() {
        let ny = SessionSplit::default();
        assert_eq!(
            ny.bounds(date("2024-03-11"), TradingSession::Regular),
            ts("2024-03-11T13:30:00Z")..ts("2024-03-11T20:00:00Z")
        );
        assert_eq!(
            ny.bounds(date("2024-03-08"), TradingSession::Regular),
            ts("2024-03-08T14:30:00Z")..ts("2024-03-08T21:00:00Z")
        );
        // The spring-forward day is 23 hours long in New York.
        assert_eq!(
            ny.bounds(date("2024-03-10"), TradingSession::Closed),
            ts("2024-03-10T05:00:00Z")..ts("2024-03-11T04:00:00Z")
        );
    }

    #[test]
    fn cuts_in_a_dst_gap_move_to_the_end_of_the_gap() {
        // 02:30 does not exist in New York on 2024-03-10; the session starts at 03:00 EDT.
        let split = SessionSplit {
            pre_open: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            ..SessionSplit::default()
        };
        let range = split.bounds(date("2024-03-10"), TradingSession::Pre);
        assert_eq!(range.start, ts("2024-03-10T07:00:00Z"));
        assert_eq!(
            split.session_of(ts("2024-03-10T06:59:59Z")).1,
            TradingSession::Closed
        );
        assert_eq!(
            split.session_of(ts("2024-03-10T07:00:00Z")).1,
            TradingSession::Pre
        );
    }

    #[test]
    fn validate_wants_the_cuts_in_order() {
        let bad = SessionSplit {
            regular_open: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            ..SessionSplit::default()
        };
        let err = bad.validate().unwrap_err().to_string();
        assert!(
            err.contains("regular_open (17:00:00) is after regular_close (16:00:00)"),
            "{err}"
        );
        assert!(SessionSplit::default().validate().is_ok());
    }

    #[test]
    fn config_form_uses_iana_names_and_clock_times() {
        let json = serde_json::to_value(SessionSplit::default()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "timezone": "America/New_York",
                "pre_open": "04:00",
                "regular_open": "09:30",
                "regular_close": "16:00",
                "after_close": "20:00",
            })
        );
        let london: SessionSplit = toml::from_str(
            "timezone = \"Europe/London\"\npre_open = \"07:00\"\nregular_open = \"08:00\"\n\
             regular_close = \"16:30\"\nafter_close = \"17:15:30\"\n",
        )
        .unwrap();
        assert_eq!(london.timezone, Tz::Europe__London);
        assert_eq!(
            london.after_close,
            NaiveTime::from_hms_opt(17, 15, 30).unwrap()
        );
        assert_eq!(
            serde_json::to_value(london).unwrap()["after_close"],
            "17:15:30"
        );

        let err = toml::from_str::<SessionSplit>("timezone = \"Mars/Olympus\"").unwrap_err();
        assert!(
            err.to_string()
                .contains("`Mars/Olympus` is not an IANA time zone"),
            "{err}"
        );
        let err = toml::from_str::<SessionSplit>("pre_open = \"4am\"").unwrap_err();
        assert!(
            err.to_string().contains("`4am` is not a time of day"),
            "{err}"
        );
        let err = toml::from_str::<SessionSplit>("open = \"09:30\"").unwrap_err();
        assert!(err.to_string().contains("unknown field `open`"), "{err}");
    }
}
