//! Capacity forecast (QUOTA-3): growth per day, usage projected at a horizon, the date each
//! quota fills, and growth by source — pure, from the stored files' facts.
//!
//! Growth is measured over a trailing window ending at `now`: the bytes and events of the
//! files whose last event falls in it, divided by its days. A file counts by its event time
//! (for a live capture, the day its data arrived); data imported long after the fact counts on
//! the days it covers, so the window then shows no growth from it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use strata_model::Timestamp;

use super::lifecycle::{in_scope, StoredFile};
use super::quota::{EnforcementMode, QuotaRule};

const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// Growth of one slice of the data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Growth {
    /// Bytes stored now.
    pub bytes: u64,
    /// Files stored now.
    pub files: u64,
    /// Bytes per day over the window.
    pub bytes_per_day: f64,
    /// Events per day over the window.
    pub events_per_day: f64,
}

/// One quota's outlook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaOutlook {
    /// The quota's scope (`symbol=SPY`).
    pub scope: String,
    /// Its mode.
    pub mode: EnforcementMode,
    /// Its byte limit.
    pub max_bytes: Option<u64>,
    /// Its file limit.
    pub max_files: Option<u64>,
    /// Bytes in scope now.
    pub used_bytes: u64,
    /// Files in scope now.
    pub used_files: u64,
    /// Share of the limit used now (0–1, more when over).
    pub used_share: Option<f64>,
    /// Bytes in scope at the horizon, at the window's growth.
    pub projected_bytes: u64,
    /// The day the scope reaches its byte limit at that growth (today when it is over already;
    /// none without a byte limit or without growth).
    pub full_on: Option<NaiveDate>,
}

/// The forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// The clock.
    pub now: Timestamp,
    /// The trailing window growth is measured over, in days.
    pub window_days: u32,
    /// How far ahead usage is projected, in days.
    pub horizon_days: u32,
    /// The whole archive.
    pub total: Growth,
    /// Bytes stored at the horizon, at the window's growth.
    pub projected_bytes: u64,
    /// Growth by source (`-` for files that name none).
    pub by_source: BTreeMap<String, Growth>,
    /// Each quota with a byte or file limit.
    pub quotas: Vec<QuotaOutlook>,
}

fn growth<'a>(
    files: impl Iterator<Item = &'a StoredFile>,
    now: Timestamp,
    window_days: u32,
) -> Growth {
    let since = now
        .as_nanos()
        .saturating_sub(i64::from(window_days).saturating_mul(DAY_NS));
    let mut g = Growth {
        bytes: 0,
        files: 0,
        bytes_per_day: 0.0,
        events_per_day: 0.0,
    };
    let (mut recent_bytes, mut recent_events) = (0u64, 0u64);
    for f in files {
        g.bytes = g.bytes.saturating_add(f.size_bytes);
        g.files += 1;
        let at = f.last_event.as_nanos();
        if at > since && at <= now.as_nanos() {
            recent_bytes = recent_bytes.saturating_add(f.size_bytes);
            recent_events = recent_events.saturating_add(f.events);
        }
    }
    let days = f64::from(window_days.max(1));
    g.bytes_per_day = recent_bytes as f64 / days;
    g.events_per_day = recent_events as f64 / days;
    g
}

/// The forecast at `now` for `files` under `quotas`: growth over the last `window_days`,
/// usage projected `horizon_days` ahead.
pub fn forecast(
    files: &[StoredFile],
    quotas: &[QuotaRule],
    now: Timestamp,
    window_days: u32,
    horizon_days: u32,
) -> Forecast {
    let total = growth(files.iter(), now, window_days);
    let project = |g: &Growth| {
        g.bytes
            .saturating_add((g.bytes_per_day * f64::from(horizon_days)).round() as u64)
    };
    let mut sources: BTreeMap<String, Vec<&StoredFile>> = BTreeMap::new();
    for f in files {
        sources
            .entry(f.source.clone().unwrap_or_else(|| "-".into()))
            .or_default()
            .push(f);
    }
    let by_source = sources
        .into_iter()
        .map(|(s, fs)| (s, growth(fs.into_iter(), now, window_days)))
        .collect();
    let today = now.utc_date();
    let quotas = quotas
        .iter()
        .filter(|q| q.max_bytes.is_some() || q.max_files.is_some())
        .map(|q| {
            let g = growth(
                files.iter().filter(|f| in_scope(&q.scope, f)),
                now,
                window_days,
            );
            let full_on = q.max_bytes.and_then(|max| {
                if g.bytes >= max {
                    return Some(today);
                }
                if g.bytes_per_day <= 0.0 {
                    return None;
                }
                let days = ((max - g.bytes) as f64 / g.bytes_per_day).ceil();
                // Beyond chrono's calendar: never, as far as a forecast can tell.
                (days < 1e6).then(|| today.checked_add_days(chrono::Days::new(days as u64)))?
            });
            QuotaOutlook {
                scope: q.scope.to_string(),
                mode: q.mode,
                max_bytes: q.max_bytes,
                max_files: q.max_files,
                used_bytes: g.bytes,
                used_files: g.files,
                used_share: q.max_bytes.map(|m| g.bytes as f64 / m.max(1) as f64),
                projected_bytes: project(&g),
                full_on,
            }
        })
        .collect();
    Forecast {
        now,
        window_days,
        horizon_days,
        projected_bytes: project(&total),
        total,
        by_source,
        quotas,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::quota::QuotaScope;
    use crate::policy::tier::{FileFormat, TierName};
    use strata_codec::CodecSpec;
    use strata_model::EventKind;

    fn file(source: &str, days_ago: i64, bytes: u64, now: Timestamp) -> StoredFile {
        let at = Timestamp::from_nanos(now.as_nanos() - days_ago * DAY_NS);
        StoredFile {
            path: format!("{source}/{days_ago}"),
            tier: TierName::Hot,
            format: FileFormat::Jsonl,
            codec: CodecSpec::None,
            kind: EventKind::Trade,
            source: Some(source.into()),
            symbol: Some("SPY".into()),
            asset_class: None,
            size_bytes: bytes,
            events: bytes / 100,
            first_event: at,
            last_event: at,
            quality: None,
            worm_until: None,
            approvals: None,
            sequence_gaps: None,
        }
    }

    #[test]
    fn growth_projection_and_full_date() {
        let now = Timestamp::from_nanos(1_796_342_400 * 1_000_000_000); // 2026-12-04
                                                                        // 10 days of 1,000 bytes a day from `live`, plus an old 50,000-byte import.
        let mut files: Vec<StoredFile> = (0..10).map(|d| file("live", d, 1_000, now)).collect();
        files.push(file("import", 400, 50_000, now));
        let quota = QuotaRule {
            scope: QuotaScope::Global,
            max_bytes: Some(100_000),
            max_files: None,
            max_events_per_day: None,
            mode: EnforcementMode::SoftLimit,
        };
        let f = forecast(&files, std::slice::from_ref(&quota), now, 10, 30);
        assert_eq!(f.total.bytes, 60_000);
        assert!((f.total.bytes_per_day - 1_000.0).abs() < 1e-9);
        assert_eq!(f.projected_bytes, 90_000);
        assert!((f.by_source["import"].bytes_per_day).abs() < 1e-9);
        assert_eq!(f.by_source["live"].bytes, 10_000);
        let q = &f.quotas[0];
        assert_eq!(q.used_bytes, 60_000);
        // 40,000 bytes left at 1,000 a day: full in 40 days.
        assert_eq!(
            q.full_on,
            Some(NaiveDate::from_ymd_opt(2027, 1, 13).unwrap())
        );
        // Over already: full today; no growth: never.
        let tight = QuotaRule {
            max_bytes: Some(10),
            ..quota.clone()
        };
        assert_eq!(
            forecast(&files, &[tight], now, 10, 30).quotas[0].full_on,
            Some(now.utc_date())
        );
        let old = [file("import", 400, 50_000, now)];
        assert_eq!(
            forecast(&old, std::slice::from_ref(&quota), now, 10, 30).quotas[0].full_on,
            None
        );
    }
}
