//! Lean's other security types — futures, equity options, index options, options on futures,
//! indices, crypto futures — at each resolution and file kind (trade, quote, open interest).
//!
//! `../shared/data` holds Lean equity and forex files only, so these zips are synthetic: each
//! is written here in Lean's own layout, as `LeanData.GenerateZipFilePath` and
//! `GenerateZipEntryName` name them (one CSV per contract, the contract in the entry's name) and
//! with the columns Lean's readers (`TradeBar`, `QuoteBar`, `Tick`, `OpenInterest`) parse.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use strata_import::{asset_class_of, import_file, Format, ImportError, ImportOptions};
use strata_model::{AssetClass, Contract, Event, OptionRight, OptionStyle, Payload, Timestamp};

use common::{collect, Imported};

/// Writes a zip at `dir/rel` with one CSV per `(entry name, rows)`.
fn write_zip(dir: &Path, rel: &str, entries: &[(&str, &[&str])]) -> PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for (name, rows) in entries {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(rows.join("\r\n").as_bytes()).unwrap();
    }
    writer.finish().unwrap();
    path
}

fn import(path: &Path) -> Imported {
    collect(import_file(path, Format::Lean, &ImportOptions::default()).unwrap())
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y%m%d").unwrap()
}

fn at(rfc3339: &str) -> Timestamp {
    rfc3339.parse().unwrap()
}

/// The instruments the import described, by symbol.
fn contracts(imported: &Imported) -> Vec<(String, Contract)> {
    imported
        .summary
        .instruments
        .values()
        .map(|i| (i.symbol.clone(), i.contract.clone().unwrap()))
        .collect()
}

fn bar(e: &Event) -> (String, String, String, String, String) {
    let Payload::Bar(b) = &e.payload else {
        panic!("not a bar: {e:?}")
    };
    (
        b.open.to_string(),
        b.high.to_string(),
        b.low.to_string(),
        b.close.to_string(),
        b.volume.to_string(),
    )
}

#[test]
fn future_zips_hold_one_contract_per_entry_in_utc_with_plain_prices() {
    let dir = tempfile::tempdir().unwrap();
    let zip = write_zip(
        dir.path(),
        "future/cme/minute/es/20240102_trade.zip",
        &[
            (
                "20240102_es_minute_trade_202403_20240315.csv",
                &[
                    "0,4780.25,4781,4780,4780.75,1200",
                    "60000,4780.75,4782.5,4780.5,4782,900",
                ],
            ),
            (
                "20240102_es_minute_trade_202406_20240621.csv",
                &["0,4830,4830.25,4829.75,4830,15"],
            ),
        ],
    );
    let got = import(&zip);
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert_eq!(
        contracts(&got),
        [
            (
                "ES-20240315".to_string(),
                Contract::future("ES", date("20240315"))
            ),
            (
                "ES-20240621".to_string(),
                Contract::future("ES", date("20240621"))
            ),
        ]
    );
    assert_eq!(
        got.order,
        [
            "instrument:ES-20240315",
            "bar",
            "bar",
            "instrument:ES-20240621",
            "bar"
        ]
    );
    let e = &got.events[0];
    assert_eq!(e.symbol, "ES-20240315");
    // Futures data is in UTC; a bar is stamped at its end.
    assert_eq!(e.event_time, at("2024-01-02T00:01:00Z"));
    assert_eq!(
        bar(e),
        (
            "4780.25".into(),
            "4781".into(),
            "4780".into(),
            "4780.75".into(),
            "1200".into()
        )
    );
    assert_eq!(got.events[2].symbol, "ES-20240621");
    let info = &got.summary.instruments["ES-20240315"];
    assert_eq!(info.asset_class, AssetClass::Future);
    assert_eq!(info.exchange.as_deref(), Some("CME"));
    assert_eq!(
        asset_class_of(
            &zip.display().to_string(),
            Format::Lean,
            &ImportOptions::default()
        ),
        Some(AssetClass::Future)
    );
}

#[test]
fn future_ticks_quotes_and_open_interest() {
    let dir = tempfile::tempdir().unwrap();
    let trades = write_zip(
        dir.path(),
        "future/cme/tick/es/20240102_trade.zip",
        &[(
            "20240102_es_tick_trade_202403_20240315.csv",
            &["34200000,4780.25,3,CME,,0", "34200001.5,4780.5,1,CME,X,1"],
        )],
    );
    let got = import(&trades);
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    let Payload::Trade(t) = &got.events[1].payload else {
        panic!()
    };
    assert_eq!(
        (t.price.to_string(), t.size.to_string()),
        ("4780.5".into(), "1".into())
    );
    assert_eq!(t.conditions.as_deref(), Some("X;suspicious"));
    assert_eq!(got.events[1].venue.as_deref(), Some("CME"));
    assert_eq!(got.events[1].event_time, at("2024-01-02T09:30:00.0015Z"));

    let quotes = write_zip(
        dir.path(),
        "future/cme/tick/es/20240102_quote.zip",
        &[(
            "20240102_es_tick_quote_202403_20240315.csv",
            &["34200000,4780.25,12,4780.5,8,CME,0"],
        )],
    );
    let got = import(&quotes);
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    let Payload::BboQuote(q) = &got.events[0].payload else {
        panic!()
    };
    assert_eq!(q.bid.unwrap().price.to_string(), "4780.25");
    assert_eq!(q.ask.unwrap().size.to_string(), "8");
    assert_eq!(got.events[0].symbol, "ES-20240315");

    let oi = write_zip(
        dir.path(),
        "future/cme/minute/es/20240102_openinterest.zip",
        &[(
            "20240102_es_minute_openinterest_202403_20240315.csv",
            &["57600000,2250000"],
        )],
    );
    let got = import(&oi);
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    let Payload::OpenInterest(v) = &got.events[0].payload else {
        panic!()
    };
    assert_eq!(v.value.to_string(), "2250000");
    // Open interest is a value as of its time, not a bar: not moved to an end.
    assert_eq!(got.events[0].event_time, at("2024-01-02T16:00:00Z"));

    let daily_oi = write_zip(
        dir.path(),
        "future/cme/daily/es_openinterest.zip",
        &[(
            "es_openinterest_202403_20240315.csv",
            &["20240102 00:00,2250000", "20240103 00:00,2251234"],
        )],
    );
    let got = import(&daily_oi);
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert_eq!(got.events.len(), 2);
    assert_eq!(got.events[1].event_time, at("2024-01-03T00:00:00Z"));
    assert_eq!(got.events[1].symbol, "ES-20240315");

    let hourly = write_zip(
        dir.path(),
        "future/cme/hour/es_trade.zip",
        &[(
            "es_trade_202403_20240315.csv",
            &["20240102 14:00,4780.25,4790,4770,4785.5,120000"],
        )],
    );
    let got = import(&hourly);
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert_eq!(got.events[0].event_time, at("2024-01-02T15:00:00Z"));
}

#[test]
fn equity_options_keep_right_strike_expiry_and_scaled_prices_in_new_york_time() {
    let dir = tempfile::tempdir().unwrap();
    let zip = write_zip(
        dir.path(),
        "option/usa/minute/aapl/20210104_trade_american.zip",
        &[
            (
                "20210104_aapl_minute_trade_american_call_1400000_20210115.csv",
                &["34260000,15000,16000,14000,15500,10"],
            ),
            (
                "20210104_aapl_minute_trade_american_put_1352500_20210115.csv",
                &["34260000,21000,21000,21000,21000,1"],
            ),
        ],
    );
    let got = import(&zip);
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    let call = Contract::option(
        "AAPL",
        date("20210115"),
        OptionRight::Call,
        "140".parse().unwrap(),
        Some(OptionStyle::American),
    );
    let put = Contract::option(
        "AAPL",
        date("20210115"),
        OptionRight::Put,
        "135.25".parse().unwrap(),
        Some(OptionStyle::American),
    );
    assert_eq!(
        contracts(&got),
        [
            ("AAPL-20210115-C-140".to_string(), call),
            ("AAPL-20210115-P-135.25".to_string(), put),
        ]
    );
    assert_eq!(
        got.summary.instruments["AAPL-20210115-C-140"].asset_class,
        AssetClass::Option
    );
    let e = &got.events[0];
    // 09:31 New York (EST, UTC-5) plus the minute: 14:32Z.
    assert_eq!(e.event_time, at("2021-01-04T14:32:00Z"));
    assert_eq!(
        bar(e),
        (
            "1.5000".into(),
            "1.6000".into(),
            "1.4000".into(),
            "1.5500".into(),
            "10".into()
        )
    );

    let ticks = write_zip(
        dir.path(),
        "option/usa/tick/aapl/20210104_trade_american.zip",
        &[(
            "20210104_aapl_tick_trade_american_put_1352500_20210115.csv",
            &["34200500,12300,5,C,I,0"],
        )],
    );
    let got = import(&ticks);
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    let Payload::Trade(t) = &got.events[0].payload else {
        panic!()
    };
    assert_eq!(
        (t.price.to_string(), t.conditions.as_deref()),
        ("1.2300".into(), Some("I"))
    );
    assert_eq!(got.events[0].venue.as_deref(), Some("C"));
    assert_eq!(got.events[0].symbol, "AAPL-20210115-P-135.25");

    let oi = write_zip(
        dir.path(),
        "option/usa/daily/aapl_2021_openinterest_american.zip",
        &[(
            "aapl_openinterest_american_call_1400000_20210115.csv",
            &["20210104 00:00,5123"],
        )],
    );
    let got = import(&oi);
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert_eq!(got.events[0].symbol, "AAPL-20210115-C-140");
    assert_eq!(got.events[0].event_time, at("2021-01-04T05:00:00Z"));
}

#[test]
fn index_options_futures_options_indices_and_crypto_futures() {
    let dir = tempfile::tempdir().unwrap();
    // Index option quote bars: bid OHLC, bid size, ask OHLC, ask size; prices ×10,000.
    let spx = write_zip(
        dir.path(),
        "indexoption/usa/minute/spx/20210104_quote_european.zip",
        &[(
            "20210104_spx_minute_quote_european_call_37000000_20210115.csv",
            &["34260000,100000,101000,99000,100500,5,102000,103000,101000,102500,7"],
        )],
    );
    let got = import(&spx);
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert_eq!(contracts(&got)[0].0, "SPX-20210115-C-3700");
    assert_eq!(contracts(&got)[0].1.style, Some(OptionStyle::European));
    let Payload::BboQuote(q) = &got.events[0].payload else {
        panic!()
    };
    assert_eq!(q.bid.unwrap().price.to_string(), "10.0500");
    assert_eq!(q.ask.unwrap().size.to_string(), "7");

    // Options on futures: the underlying future's expiry is the folder above the zip; prices
    // are plain; the times are UTC.
    let fop = write_zip(
        dir.path(),
        "futureoption/cme/minute/es/20210319/20210104_trade_american.zip",
        &[(
            "20210104_es_minute_trade_american_call_37000000_20210115.csv",
            &["34260000,12.25,13,12,12.5,3"],
        )],
    );
    let got = import(&fop);
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    let (symbol, contract) = &contracts(&got)[0];
    assert_eq!(symbol, "ES-20210319-20210115-C-3700");
    assert_eq!(contract.underlying, "ES-20210319");
    assert_eq!(
        Contract::parse_symbol(symbol).unwrap().underlying,
        "ES-20210319"
    );
    assert_eq!(got.events[0].event_time, at("2021-01-04T09:32:00Z"));
    assert_eq!(bar(&got.events[0]).0, "12.25");
    // Without the expiry folder the path cannot say which future the options are on.
    let bare = write_zip(
        dir.path(),
        "futureoption/cme/minute/es/20210104_trade_american.zip",
        &[("x.csv", &["0,1,1,1,1,1"])],
    );
    let err = import_file(&bare, Format::Lean, &ImportOptions::default())
        .err()
        .unwrap();
    assert!(
        matches!(&err, ImportError::LeanPath { reason, .. } if reason.contains("underlying future's expiry")),
        "{err}"
    );

    // Indices: plain prices, Chicago time (Lean's market-hours database), no contract.
    let index = write_zip(
        dir.path(),
        "index/usa/minute/spx/20210104_trade.zip",
        &[(
            "20210104_spx_minute_trade.csv",
            &["34260000,3700.65,3701,3699.5,3700,0"],
        )],
    );
    let got = import(&index);
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert!(got.summary.instruments.is_empty());
    assert_eq!(got.events[0].symbol, "SPX");
    // 09:31 Chicago (CST, UTC-6) plus the minute: 15:32Z.
    assert_eq!(got.events[0].event_time, at("2021-01-04T15:32:00Z"));

    // Crypto perpetuals: plain symbol (no expiry in the name), UTC.
    let perp = write_zip(
        dir.path(),
        "cryptofuture/binance/minute/btcusdt/20230101_trade.zip",
        &[(
            "20230101_btcusdt_minute_trade.csv",
            &["60000,16500.1,16510,16490,16505.5,12.345"],
        )],
    );
    let got = import(&perp);
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert!(got.summary.instruments.is_empty());
    assert_eq!(got.events[0].symbol, "BTCUSDT");
    assert_eq!(got.events[0].event_time, at("2023-01-01T00:02:00Z"));
    assert_eq!(bar(&got.events[0]).4, "12.345");
    assert_eq!(
        asset_class_of(
            &perp.display().to_string(),
            Format::Lean,
            &ImportOptions::default()
        ),
        Some(AssetClass::Crypto)
    );
}

#[test]
fn an_entry_naming_no_contract_is_refused_whole_and_the_others_import() {
    let dir = tempfile::tempdir().unwrap();
    let zip = write_zip(
        dir.path(),
        "future/cme/minute/es/20240102_trade.zip",
        &[
            ("readme_trade.csv", &["0,1,1,1,1,1"]),
            (
                "20240102_es_minute_trade_202403_20240315.csv",
                &["0,4780.25,4781,4780,4780.75,1200"],
            ),
        ],
    );
    let got = import(&zip);
    assert_eq!(got.rejected.len(), 1);
    let r = &got.rejected[0];
    assert!(r.file.ends_with(":readme_trade.csv"), "{}", r.file);
    assert!(
        r.reason.contains("not a Lean future contract file name"),
        "{}",
        r.reason
    );
    assert_eq!(got.events.len(), 1);
    assert_eq!(got.events[0].symbol, "ES-20240315");
}

#[test]
fn a_csv_taken_out_of_its_zip_still_names_its_contract() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("future/cme/minute/es/20240102_es_minute_trade_202403_20240315.csv");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "0,4780.25,4781,4780,4780.75,1200\n").unwrap();
    let got = import(&path);
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert_eq!(got.order, ["instrument:ES-20240315", "bar"]);
    // A CSV whose name says nothing: an error that says what to do.
    let vague = dir.path().join("future/cme/minute/es/20240102_trade.csv");
    std::fs::write(&vague, "0,1,1,1,1,1\n").unwrap();
    let err = import_file(&vague, Format::Lean, &ImportOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("--symbol"), "{err}");
    let options = ImportOptions {
        symbol: Some("ESH4".into()),
        ..ImportOptions::default()
    };
    let got = collect(import_file(&vague, Format::Lean, &options).unwrap());
    assert_eq!(got.events[0].symbol, "ESH4");
}
