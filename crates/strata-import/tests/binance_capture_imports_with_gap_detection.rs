//! The Binance capture (committed cut of hftbacktest's BTCUSDT file) imports message by message
//! with exact decimal text, plain or gzip-compressed; depth-update sequence breaks are reported
//! as gaps; a broken line is rejected with its line and the rest imports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;

use serde_json::Value;
use strata_import::{import_reader, Format, ImportOptions, Record};
use strata_model::{EventKind, Payload};

use common::{collect, import, testdata, Imported};

const CAPTURE: &str = "binance/btcusdt_20240808_first3000.txt";

fn capture_lines() -> Vec<String> {
    std::fs::read_to_string(testdata(CAPTURE))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn json_of(line: &str) -> Value {
    let v: Value = serde_json::from_str(line.split_once(' ').unwrap().1).unwrap();
    v.get("data").cloned().unwrap_or(v)
}

fn import_lines(lines: &[String], options: &ImportOptions) -> (tempfile::TempDir, Imported) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.txt");
    let mut file = std::fs::File::create(&path).unwrap();
    for line in lines {
        writeln!(file, "{line}").unwrap();
    }
    drop(file);
    let imported = import(&path, Format::Binance, options);
    (dir, imported)
}

#[test]
fn every_message_becomes_its_events_with_the_text_as_sent() {
    let lines = capture_lines();
    let imported = import(
        &testdata(CAPTURE),
        Format::Binance,
        &ImportOptions::default(),
    );
    assert!(
        imported.rejected.is_empty(),
        "{:?}",
        imported.rejected.first()
    );
    assert!(imported.gaps.is_empty());
    assert_eq!(imported.summary.rows, 3_000);

    // Expected events, counted from the raw JSON independently.
    let (mut deltas, mut quotes, mut trades, mut snapshots) = (0, 0, 0, 0);
    let mut trade_prices = Vec::new();
    for line in &lines {
        let v = json_of(line);
        match v["e"].as_str() {
            Some("depthUpdate") => {
                deltas += v["b"].as_array().unwrap().len() + v["a"].as_array().unwrap().len()
            }
            Some("bookTicker") => quotes += 1,
            Some("trade") => {
                trades += 1;
                trade_prices.push((
                    v["p"].as_str().unwrap().to_string(),
                    v["q"].as_str().unwrap().to_string(),
                    v["t"].as_u64().unwrap(),
                ));
            }
            None if v.get("lastUpdateId").is_some() => snapshots += 1,
            other => panic!("unexpected message {other:?}"),
        }
    }
    let kinds = imported.kinds();
    assert_eq!(
        kinds.get("order_book_delta").copied().unwrap_or(0),
        deltas as u64
    );
    assert_eq!(kinds.get("bbo_quote").copied().unwrap_or(0), quotes);
    assert_eq!(kinds.get("trade").copied().unwrap_or(0), trades);
    assert_eq!(kinds.get("l2_snapshot").copied().unwrap_or(0), snapshots);
    assert_eq!(snapshots, 1);

    let got: Vec<(String, String, u64)> = imported
        .events
        .iter()
        .filter_map(|e| {
            e.payload
                .trade()
                .map(|t| (t.price.to_string(), t.size.to_string(), e.sequence.unwrap()))
        })
        .collect();
    assert_eq!(
        got, trade_prices,
        "prices and sizes keep their text (\"61800.30\" stays \"61800.30\")"
    );

    // The snapshot has no `s`: it takes the symbol seen before it.
    let snapshot = imported
        .events
        .iter()
        .find(|e| e.kind() == EventKind::L2Snapshot)
        .unwrap();
    assert_eq!(
        (
            snapshot.symbol.as_str(),
            snapshot.venue.as_deref(),
            snapshot.source.as_str()
        ),
        ("BTCUSDT", Some("BINANCE"), "binance")
    );
}

#[test]
fn the_gzip_copy_imports_identically() {
    let plain = import(
        &testdata(CAPTURE),
        Format::Binance,
        &ImportOptions::default(),
    );
    let gz = import(
        &testdata("binance/btcusdt_20240808_first3000.txt.gz"),
        Format::Binance,
        &ImportOptions::default(),
    );
    assert_eq!(plain.events, gz.events);
    assert_eq!(plain.summary, gz.summary);
}

#[test]
fn a_depth_sequence_break_is_reported_as_a_gap() {
    let mut lines = capture_lines();
    let depth: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("\"depthUpdate\""))
        .map(|(i, _)| i)
        .collect();
    let (before, at) = (depth[9], depth[10]);
    let previous_u = json_of(&lines[before])["u"].as_u64().unwrap();
    let pu = json_of(&lines[at])["pu"].as_u64().unwrap();
    assert_eq!(pu, previous_u, "the capture itself has no gap here");
    lines[at] = lines[at].replace(&format!("\"pu\":{pu}"), &format!("\"pu\":{}", pu - 5));
    let (_dir, imported) = import_lines(&lines, &ImportOptions::default());
    assert_eq!(imported.gaps.len(), 1);
    let gap = &imported.gaps[0];
    assert_eq!(
        (gap.line, gap.expected, gap.found, gap.symbol.as_str()),
        (at as u64 + 1, previous_u, pu - 5, "BTCUSDT")
    );
    assert!(gap.to_string().contains("sequence gap"), "{gap}");
    assert_eq!(imported.summary.gaps.len(), 1);
    assert!(
        imported
            .summary
            .to_string()
            .ends_with("0 rejected, 0 skipped, 1 gaps"),
        "{}",
        imported.summary
    );
    // The message after the break is still imported.
    let events_at: usize = json_of(&lines[at])["b"].as_array().unwrap().len()
        + json_of(&lines[at])["a"].as_array().unwrap().len();
    let u_at = json_of(&lines[at])["u"].as_u64().unwrap();
    assert_eq!(
        imported
            .events
            .iter()
            .filter(|e| e.sequence == Some(u_at) && e.kind() == EventKind::OrderBookDelta)
            .count(),
        events_at
    );
}

#[test]
fn a_broken_line_is_rejected_and_the_rest_imports() {
    let mut lines = capture_lines();
    let trade_at = lines
        .iter()
        .position(|l| l.contains("\"e\":\"trade\""))
        .unwrap()
        + 200;
    let trade_at = trade_at
        + lines[trade_at..]
            .iter()
            .position(|l| l.contains("\"e\":\"trade\""))
            .unwrap();
    let p = json_of(&lines[trade_at])["p"].as_str().unwrap().to_string();
    lines[trade_at] = lines[trade_at].replace(&format!("\"p\":\"{p}\""), "\"p\":\"61,800.30\"");
    lines.insert(1_500, "1723161255088176367 {\"stream\":\"btcusdt@markPrice\",\"data\":{\"e\":\"markPriceUpdate\",\"E\":1723161256322,\"s\":\"BTCUSDT\",\"p\":\"61800.1\"}}".into());
    lines.insert(
        2_000,
        "1723161255088176367 {\"stream\":\"btcusdt@trade\",\"data\":".into(),
    );
    let (_dir, imported) = import_lines(&lines, &ImportOptions::default());
    let rejected: Vec<u64> = imported.rejected.iter().map(|r| r.line).collect();
    assert_eq!(rejected, [trade_at as u64 + 1, 2_001]);
    assert!(
        imported.rejected[0].reason.contains("`p`"),
        "{}",
        imported.rejected[0].reason
    );
    assert!(imported.rejected[0].file.ends_with("capture.txt"));
    assert_eq!(imported.rejected[1].raw, lines[2_000]);
    assert_eq!(imported.skipped.len(), 1);
    assert_eq!(imported.skipped[0].0, 1_501);
    assert!(
        imported.skipped[0].1.contains("markPriceUpdate"),
        "{:?}",
        imported.skipped[0]
    );
    assert_eq!(imported.summary.rows, 3_002);
    let last_line = imported.order.last().unwrap();
    assert!(
        !last_line.starts_with("rejected"),
        "rows after the broken ones imported"
    );
}

#[test]
fn kind_filter_and_reader_entry_point() {
    let bytes = std::fs::read(testdata(CAPTURE)).unwrap();
    let options = ImportOptions {
        kind: Some(EventKind::Trade),
        ..ImportOptions::default()
    };
    let records: Vec<Record> = import_reader(
        std::io::Cursor::new(bytes),
        "stdin",
        Format::Binance,
        &options,
    )
    .unwrap()
    .collect();
    let imported = collect(records.into_iter());
    assert!(imported
        .events
        .iter()
        .all(|e| matches!(e.payload, Payload::Trade(_))));
    assert!(!imported.events.is_empty());
    assert!(imported
        .skipped
        .iter()
        .all(|(_, reason)| reason.contains("not selected (--kind trade)")));
}
