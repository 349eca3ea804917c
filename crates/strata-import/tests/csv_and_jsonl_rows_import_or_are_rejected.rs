//! Mapped CSV and strata JSONL files: good rows become exact events; a bad value or a missing
//! column is rejected with its line (and, for CSV, the column) while the rows after it import; a
//! mapped column missing from the header is a file-level error naming it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use strata_import::csv::CsvMapping;
use strata_import::{import_file, Format, ImportError, ImportOptions};
use strata_model::{EventKind, Payload, Side};

use common::import;

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

const TRADES_CSV: &str = "\
ts,sym,px,qty,side,id
1723161256298,BTCUSDT,60123.10,0.005,buy,1
1723161256299,BTCUSDT,60123.2O,0.001,sell,2
1723161256300,BTCUSDT,60123.30
1723161256301,ETHUSDT,2500.00,1.000,S,4
";

fn trade_options() -> ImportOptions {
    ImportOptions {
        csv: Some(
            "time=ts:ms,price=px,size=qty,side=side,symbol=sym,trade_id=id"
                .parse()
                .unwrap(),
        ),
        ..ImportOptions::default()
    }
}

#[test]
fn csv_rows_import_and_bad_rows_name_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "trades.csv", TRADES_CSV.as_bytes());
    let imported = import(&path, Format::Csv, &trade_options());
    assert_eq!(
        imported.summary.to_string(),
        "4 rows: 2 events (trade 2), 2 rejected, 0 skipped, 0 gaps"
    );
    let rejected: Vec<(u64, &str)> = imported
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(rejected[0].0, 3);
    assert!(
        rejected[0].1.starts_with("column `px` (price): `60123.2O`"),
        "{}",
        rejected[0].1
    );
    assert_eq!(rejected[1].0, 4);
    assert!(
        rejected[1]
            .1
            .contains("column `qty` (size) is missing: the row has 3 fields"),
        "{}",
        rejected[1].1
    );
    assert_eq!(
        imported.rejected[0].raw,
        "1723161256299,BTCUSDT,60123.2O,0.001,sell,2"
    );
    assert_eq!(imported.rejected[0].file, path.display().to_string());

    let last = &imported.events[1];
    let trade = last.payload.trade().unwrap();
    assert_eq!(
        (last.symbol.as_str(), last.source.as_str()),
        ("ETHUSDT", "csv")
    );
    assert_eq!(
        (trade.price.to_string(), trade.size.to_string(), trade.side),
        ("2500.00".into(), "1.000".into(), Some(Side::Sell))
    );
    assert_eq!(last.event_time.as_nanos(), 1_723_161_256_301_000_000);
    assert_eq!(
        imported.events[0]
            .payload
            .trade()
            .unwrap()
            .price
            .to_string(),
        "60123.10"
    );
}

#[test]
fn a_gzipped_csv_imports_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let plain = write(&dir, "trades.csv", TRADES_CSV.as_bytes());
    let packed = strata_codec::compress("gzip:6".parse().unwrap(), TRADES_CSV.as_bytes()).unwrap();
    let gz = write(&dir, "trades.csv.gz", &packed);
    let a = import(&plain, Format::Csv, &trade_options());
    let mut b = import(&gz, Format::Csv, &trade_options());
    assert_eq!(a.events, b.events);
    assert_eq!(b.summary.rejected, 2);
    // Each rejected row names the file it came from: the gzipped one, not the plain one.
    for tally in b.summary.rejected_by_reason.values_mut() {
        assert!(
            tally.first_file.ends_with("trades.csv.gz"),
            "{}",
            tally.first_file
        );
        tally.first_file = plain.display().to_string();
    }
    assert_eq!(a.summary, b.summary);
}

#[test]
fn csv_file_level_errors_name_the_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "trades.csv", TRADES_CSV.as_bytes());
    let options = ImportOptions {
        csv: Some(
            "time=ts:ms,price=price,size=qty,symbol=sym"
                .parse()
                .unwrap(),
        ),
        ..ImportOptions::default()
    };
    let err = import_file(&path, Format::Csv, &options).err().unwrap();
    assert!(
        matches!(&err, ImportError::MissingColumn { role: "price", column, .. } if column == "price"),
        "{err}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "{}: the mapping's price column `price`",
            path.display()
        )),
        "{err}"
    );

    let err = import_file(&path, Format::Csv, &ImportOptions::default())
        .err()
        .unwrap();
    assert!(
        matches!(err, ImportError::CsvMappingRequired { .. }),
        "{err}"
    );

    let no_symbol = ImportOptions {
        csv: Some("time=ts:ms,price=px,size=qty".parse().unwrap()),
        ..ImportOptions::default()
    };
    let err = import_file(&path, Format::Csv, &no_symbol).err().unwrap();
    assert!(err.to_string().contains("--symbol"), "{err}");

    let empty = write(&dir, "empty.csv", b"");
    let err = import_file(&empty, Format::Csv, &trade_options())
        .err()
        .unwrap();
    assert!(matches!(err, ImportError::CsvHeader { .. }), "{err}");
}

#[test]
fn csv_quotes_and_bars_map_their_columns() {
    let dir = tempfile::tempdir().unwrap();
    let quotes = write(&dir, "q.csv", b"time,bid,bid_qty,ask,ask_qty,seq\n2024-08-08T00:00:00.5Z,1.10,5,1.20,6,9\n2024-08-08T00:00:01Z,,,1.21,3,10\n");
    let options = ImportOptions {
        symbol: Some("EURUSD".into()),
        venue: Some("FXCM".into()),
        csv: Some("time=time:rfc3339,bid_price=bid,bid_size=bid_qty,ask_price=ask,ask_size=ask_qty,sequence=seq".parse().unwrap()),
        ..ImportOptions::default()
    };
    let imported = import(&quotes, Format::Csv, &options);
    assert_eq!(imported.events.len(), 2);
    let Payload::BboQuote(second) = &imported.events[1].payload else {
        panic!()
    };
    assert_eq!(
        (second.bid, second.ask.map(|l| l.price.to_string())),
        (None, Some("1.21".into()))
    );
    assert_eq!(
        (
            imported.events[1].sequence,
            imported.events[1].venue.as_deref()
        ),
        (Some(10), Some("FXCM"))
    );

    let bars = write(
        &dir,
        "b.csv",
        b"start,o,h,l,c,v\n1723161240,1.0,2.0,0.5,1.5,100.25\n",
    );
    let options = ImportOptions {
        symbol: Some("X".into()),
        csv: Some(
            "time=start:s,interval=60,open=o,high=h,low=l,close=c,volume=v"
                .parse()
                .unwrap(),
        ),
        ..ImportOptions::default()
    };
    let imported = import(&bars, Format::Csv, &options);
    let Payload::Bar(bar) = &imported.events[0].payload else {
        panic!()
    };
    assert_eq!(
        (bar.interval_s, bar.volume.to_string()),
        (60, "100.25".into())
    );
}

#[test]
fn csv_kind_option_overrides_and_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "trades.csv", TRADES_CSV.as_bytes());
    let options = ImportOptions {
        kind: Some(EventKind::Bar),
        ..trade_options()
    };
    let err = import_file(&path, Format::Csv, &options).err().unwrap();
    assert!(
        matches!(err, ImportError::InvalidCsvMapping { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("kind `bar` needs `open=COLUMN`"),
        "{err}"
    );
}

#[test]
fn csv_mapping_strings_are_checked_before_reading() {
    let err = "time=ts:ms,price=px".parse::<CsvMapping>().unwrap_err();
    assert!(err.to_string().contains("needs `size=COLUMN`"), "{err}");
}

const JSONL: &str = r#"{"v":"1.0","kind":"trade","source":"binance","symbol":"BTCUSDT","venue":"BINANCE","ts":1723075200000000000,"recv_ts":1723075200000100000,"seq":4611,"price":"60123.10","size":"0.005","side":"buy","trade_id":"5127439283"}

{"v":"1.0","kind":"trade","source":"binance","symbol":"BTCUSDT","ts":1,"price":1.5,"size":"1"}
{"v":"2.0","kind":"trade","source":"binance","symbol":"BTCUSDT","ts":1,"price":"1","size":"1"}
{"v":"1.0","kind":"bbo_quote","source":"binance","symbol":"BTCUSDT","ts":2,"bid_price":"1","bid_size":"2"}
"#;

#[test]
fn jsonl_lines_decode_and_bad_lines_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "events.jsonl", JSONL.as_bytes());
    let imported = import(&path, Format::Jsonl, &ImportOptions::default());
    assert_eq!(
        imported.summary.to_string(),
        "4 rows: 2 events (trade 1, bbo_quote 1), 2 rejected, 0 skipped, 0 gaps"
    );
    let lines: Vec<u64> = imported.rejected.iter().map(|r| r.line).collect();
    assert_eq!(
        lines,
        [3, 4],
        "the blank line 2 is not a row, but it counts for line numbers"
    );
    assert!(
        imported.rejected[0].reason.contains("binary float"),
        "{}",
        imported.rejected[0].reason
    );
    assert!(
        imported.rejected[1].reason.contains("schema version 2.0"),
        "{}",
        imported.rejected[1].reason
    );
    assert_eq!(
        imported.events[0]
            .payload
            .trade()
            .unwrap()
            .price
            .to_string(),
        "60123.10"
    );
    assert_eq!(imported.events[0].source, "binance");

    let options = ImportOptions {
        source: Some("replay".into()),
        symbol: Some("BTC-PERP".into()),
        kind: Some(EventKind::BboQuote),
        ..ImportOptions::default()
    };
    let imported = import(&path, Format::Jsonl, &options);
    assert_eq!(imported.events.len(), 1);
    assert_eq!(
        (
            imported.events[0].source.as_str(),
            imported.events[0].symbol.as_str()
        ),
        ("replay", "BTC-PERP")
    );
    assert_eq!(
        imported.skipped,
        [(1, "trade event not selected (--kind bbo_quote)".to_string())]
    );
}

#[test]
fn a_codec_error_names_the_file_once() {
    let dir = tempfile::tempdir().unwrap();
    // A `.zst` file whose content is gzip.
    let gz = strata_codec::compress("gzip:6".parse().unwrap(), b"{}\n").unwrap();
    let path = write(&dir, "events.jsonl.zst", &gz);
    let err = import_file(&path, Format::Jsonl, &ImportOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, ImportError::Codec { .. }), "{err}");
    let message = err.to_string();
    let name = path.display().to_string();
    assert_eq!(message.matches(&name).count(), 1, "{message}");
    assert!(
        message.contains("extension says zstd but content is gzip"),
        "{message}"
    );
}
