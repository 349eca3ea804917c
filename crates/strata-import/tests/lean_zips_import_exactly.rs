//! QuantConnect Lean zips (committed cuts of Lean's sample data) import with exact prices,
//! exchange-time-zone times (daylight-saving correct), row-number sequences, carried quote
//! sides and end-stamped bars; a broken row is rejected with `file.zip:entry.csv` and its line,
//! and the rows after it still import.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::path::Path;

use chrono::NaiveDate;
use strata_import::lean::{
    parse_trade_row, LeanContext, LeanResolution, LeanSecurityType, LeanTickType,
};
use strata_import::{import_file, Format, ImportError, ImportOptions, LeanOverrides};
use strata_model::{Payload, Timestamp};

use common::{import, testdata};

const SPY_TICKS: &str = "lean/equity/usa/tick/spy/20131007_trade.zip";
const AIG_QUOTES: &str = "lean/equity/usa/tick/aig/20131009_quote.zip";
const EURUSD_QUOTES: &str = "lean/forex/fxcm/tick/eurusd/20140501_quote.zip";
const SPY_MINUTE_TRADES: &str = "lean/equity/usa/minute/spy/20131007_trade.zip";
const SPY_MINUTE_QUOTES: &str = "lean/equity/usa/minute/spy/20131007_quote.zip";
const SPY_DAILY: &str = "lean/equity/usa/daily/spy.zip";

/// The rows of the one CSV inside a Lean zip, read with the `zip` crate alone.
fn zip_rows(path: &Path) -> (String, Vec<String>) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut entry = archive.by_index(0).unwrap();
    let mut text = String::new();
    entry.read_to_string(&mut text).unwrap();
    let rows = text
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect();
    (entry.name().to_string(), rows)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn trade_ticks_keep_every_field_of_every_row() {
    let path = testdata(SPY_TICKS);
    let (_, rows) = zip_rows(&path);
    let imported = import(&path, Format::Lean, &ImportOptions::default());
    assert_eq!(
        imported.summary.to_string(),
        "2000 rows: 2000 events (trade 2000), 0 rejected, 0 skipped, 0 gaps"
    );
    // 2013-10-07 is summer time in New York (UTC-4).
    let midnight_utc = 1_381_118_400_000_000_000i64;
    for (i, (row, event)) in rows.iter().zip(&imported.events).enumerate() {
        let f: Vec<&str> = row.split(',').collect();
        let trade = event.payload.trade().unwrap();
        assert_eq!(
            (event.source.as_str(), event.symbol.as_str()),
            ("lean", "SPY")
        );
        assert_eq!(
            event.event_time.as_nanos(),
            midnight_utc + f[0].parse::<i64>().unwrap() * 1_000_000
        );
        assert_eq!(
            (trade.price.mantissa(), trade.price.scale()),
            (f[1].parse().unwrap(), 4)
        );
        assert_eq!(trade.size.to_string(), f[2]);
        assert_eq!(event.venue.as_deref(), Some(f[3]));
        assert_eq!(trade.conditions.as_deref(), Some(f[4]));
        assert_eq!(f[5], "0");
        assert_eq!(event.sequence, Some(i as u64 + 1));
    }
    let first = imported.events[0].payload.trade().unwrap();
    assert_eq!(first.price.to_string(), "167.4100"); // raw 1674100
    assert_eq!(
        imported.events[0].event_time.to_string(),
        "2013-10-07T08:00:00.464Z"
    );
}

#[test]
fn prices_are_the_integer_over_ten_thousand_exactly() {
    let ctx = LeanContext::us_equity(
        "SPY",
        date(2013, 10, 7),
        LeanResolution::Tick,
        LeanTickType::Trade,
    );
    for (raw, text) in [
        ("1234500", "123.4500"),
        ("1674100", "167.4100"),
        ("1", "0.0001"),
        ("0", "0.0000"),
    ] {
        let event = parse_trade_row(&format!("34200000,{raw},100,P,0,0"), 1, &ctx).unwrap();
        assert_eq!(event.payload.trade().unwrap().price.to_string(), text);
    }
}

#[test]
fn new_york_times_follow_daylight_saving() {
    let at_0930 = |d: NaiveDate| {
        let ctx = LeanContext::us_equity("SPY", d, LeanResolution::Tick, LeanTickType::Trade);
        parse_trade_row("34200000,1674100,100,P,0,0", 1, &ctx)
            .unwrap()
            .event_time
            .to_string()
    };
    assert_eq!(at_0930(date(2013, 10, 7)), "2013-10-07T13:30:00Z"); // EDT, UTC-4
    assert_eq!(at_0930(date(2013, 12, 2)), "2013-12-02T14:30:00Z"); // EST, UTC-5
    assert_eq!(at_0930(date(2013, 11, 3)), "2013-11-03T14:30:00Z"); // the fall-back day itself
    assert_eq!(at_0930(date(2014, 3, 9)), "2014-03-09T13:30:00Z"); // the spring-forward day
}

#[test]
fn quote_ticks_carry_the_side_that_did_not_change() {
    let path = testdata(AIG_QUOTES);
    let (_, rows) = zip_rows(&path);
    let imported = import(&path, Format::Lean, &ImportOptions::default());
    assert_eq!(imported.events.len(), 2_000);
    assert!(imported.rejected.is_empty());
    // Replay the rule on the raw rows, independently.
    let mut bid: Option<(i64, i64)> = None;
    let mut ask: Option<(i64, i64)> = None;
    for (row, event) in rows.iter().zip(&imported.events) {
        let f: Vec<i64> = row.split(',').take(5).map(|v| v.parse().unwrap()).collect();
        if (f[1], f[2]) != (0, 0) {
            bid = Some((f[1], f[2]));
        }
        if (f[3], f[4]) != (0, 0) {
            ask = Some((f[3], f[4]));
        }
        let Payload::BboQuote(q) = &event.payload else {
            panic!()
        };
        assert_eq!(
            q.bid.map(|l| (
                l.price.mantissa_i64().unwrap(),
                l.size.mantissa_i64().unwrap()
            )),
            bid,
            "{row}"
        );
        assert_eq!(
            q.ask.map(|l| (
                l.price.mantissa_i64().unwrap(),
                l.size.mantissa_i64().unwrap()
            )),
            ask,
            "{row}"
        );
        assert!(q.bid.is_none_or(|l| l.price.scale() == 4));
        assert_eq!(event.venue.as_deref(), row.split(',').nth(5));
    }
    // The file opens with a bid-only tick: no ask yet.
    let Payload::BboQuote(first) = &imported.events[0].payload else {
        panic!()
    };
    assert_eq!(
        (first.bid.map(|l| l.price.to_string()), first.ask),
        (Some("47.5000".into()), None)
    );
}

#[test]
fn fxcm_forex_quotes_are_at_utc_minus_5_with_decimal_prices() {
    let path = testdata(EURUSD_QUOTES);
    let (_, rows) = zip_rows(&path);
    let imported = import(&path, Format::Lean, &ImportOptions::default());
    assert_eq!(imported.events.len(), 2_000);
    // Lean's market-hours database: FXCM data is at `UTC-05` (a fixed offset, no daylight
    // saving), so the file's midnight is 05:00Z — also in May, when New York is at UTC-04.
    let midnight = Timestamp::parse_flexible("2014-05-01T05:00:00Z")
        .unwrap()
        .as_nanos();
    for (row, event) in rows.iter().zip(&imported.events) {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(event.symbol, "EURUSD");
        assert_eq!(
            event.event_time.as_nanos(),
            midnight + f[0].parse::<i64>().unwrap() * 1_000_000
        );
        let Payload::BboQuote(q) = &event.payload else {
            panic!()
        };
        assert_eq!(q.bid.unwrap().price.to_string(), f[1]);
        assert_eq!(q.ask.unwrap().price.to_string(), f[2]);
        assert!(q.bid.unwrap().size.is_zero(), "FXCM publishes no sizes");
    }
}

#[test]
fn minute_and_daily_bars_are_stamped_at_their_end() {
    let path = testdata(SPY_MINUTE_TRADES);
    let (_, rows) = zip_rows(&path);
    let imported = import(&path, Format::Lean, &ImportOptions::default());
    assert_eq!(
        imported.summary.to_string(),
        "828 rows: 828 events (bar 828), 0 rejected, 0 skipped, 0 gaps"
    );
    let first = &imported.events[0];
    assert_eq!(rows[0], "14400000,1674100,1674100,1672500,1672700,3197");
    assert_eq!(first.event_time.to_string(), "2013-10-07T08:01:00Z"); // 04:00 EDT + 1 minute
    let Payload::Bar(bar) = &first.payload else {
        panic!()
    };
    assert_eq!(
        (
            bar.interval_s,
            bar.open.to_string(),
            bar.low.to_string(),
            bar.volume.to_string()
        ),
        (60, "167.4100".into(), "167.2500".into(), "3197".into())
    );

    let quotes = import(
        &testdata(SPY_MINUTE_QUOTES),
        Format::Lean,
        &ImportOptions::default(),
    );
    assert_eq!(
        quotes.summary.to_string(),
        "908 rows: 908 events (bbo_quote 908), 0 rejected, 0 skipped, 0 gaps"
    );
    let Payload::BboQuote(q) = &quotes.events[0].payload else {
        panic!()
    };
    assert_eq!(
        q.bid.map(|l| (l.price.to_string(), l.size.to_string())),
        Some(("167.2500".into(), "300".into()))
    );

    let daily = import(
        &testdata(SPY_DAILY),
        Format::Lean,
        &ImportOptions::default(),
    );
    assert_eq!(
        daily.summary.to_string(),
        "5849 rows: 5849 events (bar 5849), 0 rejected, 0 skipped, 0 gaps"
    );
    let (first, last) = (&daily.events[0], daily.events.last().unwrap());
    assert_eq!(first.event_time.to_string(), "1998-01-03T05:00:00Z"); // next New York midnight, EST
    assert_eq!(last.event_time.to_string(), "2021-04-01T04:00:00Z"); // EDT
    let Payload::Bar(bar) = &last.payload else {
        panic!()
    };
    assert_eq!(
        (
            bar.interval_s,
            bar.close.to_string(),
            bar.volume.to_string()
        ),
        (86_400, "396.3300".into(), "90673494".into())
    );
}

/// Writes a Lean-layout zip under `dir` holding `rows` as `inner`.
fn write_zip(dir: &Path, rel: &str, inner: &str, rows: &[String]) -> std::path::PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    writer
        .start_file(inner, zip::write::SimpleFileOptions::default())
        .unwrap();
    writer.write_all(rows.join("\n").as_bytes()).unwrap();
    writer.finish().unwrap();
    path
}

#[test]
fn a_broken_row_is_rejected_with_file_and_line_and_the_rest_imports() {
    let (inner, mut rows) = zip_rows(&testdata(SPY_TICKS));
    rows[999] = "34200000,16741x0,100,P,20002000,0".into(); // bad number, line 1000
    rows[1499] = "34200000,1674100".into(); // missing columns, line 1500
    let dir = tempfile::tempdir().unwrap();
    let path = write_zip(
        dir.path(),
        "equity/usa/tick/spy/20131007_trade.zip",
        &inner,
        &rows,
    );
    let imported = import(&path, Format::Lean, &ImportOptions::default());
    assert_eq!(imported.events.len(), 1_998);
    assert_eq!(imported.summary.rows, 2_000);
    let file = format!("{}:20131007_spy_Trade_Tick.csv", path.display());
    let lines: Vec<(String, u64)> = imported
        .rejected
        .iter()
        .map(|r| (r.file.clone(), r.line))
        .collect();
    assert_eq!(lines, [(file.clone(), 1_000), (file, 1_500)]);
    assert!(
        imported.rejected[0].reason.contains("price: `16741x0`"),
        "{}",
        imported.rejected[0].reason
    );
    assert_eq!(imported.rejected[0].raw, rows[999]);
    assert!(
        imported.rejected[1]
            .reason
            .contains("missing column 3 (size)"),
        "{}",
        imported.rejected[1].reason
    );
    // The rows after each rejection import, with their own line numbers as sequence.
    let after = imported
        .events
        .iter()
        .find(|e| e.sequence == Some(1_001))
        .unwrap();
    assert_eq!(
        after.payload.trade().unwrap().price.mantissa(),
        rows[1000]
            .split(',')
            .nth(1)
            .unwrap()
            .parse::<i128>()
            .unwrap()
    );
    assert_eq!(imported.events.last().unwrap().sequence, Some(2_000));
}

#[test]
fn file_level_problems_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("equity/usa/tick/spy/20131007_trade.zip");
    std::fs::create_dir_all(fake.parent().unwrap()).unwrap();
    std::fs::write(&fake, b"14400464,1674100,100,P,20002000,0\n").unwrap();
    let err = import_file(&fake, Format::Lean, &ImportOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, ImportError::NotAZip { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{}: not a zip archive", fake.display())),
        "{err}"
    );

    let missing = dir.path().join("equity/usa/tick/spy/20131008_trade.zip");
    let err = import_file(&missing, Format::Lean, &ImportOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, ImportError::Open { .. }), "{err}");
    assert_eq!(err.file(), Some(missing.display().to_string().as_str()));

    let err = import_file(
        &dir.path().join("trades.zip"),
        Format::Lean,
        &ImportOptions::default(),
    )
    .err()
    .unwrap();
    assert!(matches!(err, ImportError::LeanPath { .. }), "{err}");
    assert!(
        err.to_string().contains("cannot tell the security type"),
        "{err}"
    );
}

#[test]
fn options_describe_files_outside_leans_tree() {
    // The benches' flat CSV cut: the same rows as the zip cut, described by options.
    let options = ImportOptions {
        symbol: Some("SPY".into()),
        lean: LeanOverrides {
            security_type: Some(LeanSecurityType::Equity),
            market: Some("usa".into()),
            resolution: Some(LeanResolution::Tick),
            date: Some(date(2013, 10, 7)),
            tick_type: Some(LeanTickType::Trade),
            time_zone: None,
            underlying_expiry: None,
        },
        ..ImportOptions::default()
    };
    let flat = import(
        &testdata("lean/spy_20131007_trade_first5000.csv"),
        Format::Lean,
        &options,
    );
    assert_eq!(flat.events.len(), 5_000);
    let zipped = import(
        &testdata(SPY_TICKS),
        Format::Lean,
        &ImportOptions::default(),
    );
    assert_eq!(flat.events[..2_000], zipped.events[..]);
}
