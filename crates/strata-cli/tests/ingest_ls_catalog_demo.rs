//! `strata demo`, `ingest`, `ls` and `catalog rebuild|stats` through the real binary.

// Test helpers may panic: a failure here is a test failure.
#![allow(clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .output()
        .expect("run strata")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

fn testdata(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn demo_builds_a_verified_archive_and_rebuild_reproduces_its_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("demo");
    let root = root.to_str().unwrap();
    let demo = json(&strata(&["--json", "demo", root]));
    assert_eq!(demo["ok"], true);
    assert!(demo["events"].as_u64().unwrap() > 30_000, "{demo}");
    assert_eq!(
        demo["checksums_verified"], demo["files"],
        "every file's checksum verified"
    );
    // The demo ages its archive through every tier: warm, cold and archive each hold files at
    // some stage, every migration verified, and all of it ends in the archive tier.
    let stages = demo["lifecycle"].as_array().unwrap();
    assert_eq!(stages.len(), 3, "{demo}");
    for tier in ["warm", "cold", "archive"] {
        assert!(
            stages.iter().any(|s| s["tiers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["tier"] == tier && t["files"].as_u64().unwrap() > 0)),
            "no stage had files in {tier}: {demo}"
        );
    }
    assert!(stages.iter().all(|s| s["failed"] == 0));
    let last = stages[2]["tiers"].as_array().unwrap();
    let archive = last.iter().find(|t| t["tier"] == "archive").unwrap();
    assert_eq!(archive["files"], demo["files"]);
    assert_eq!(archive["events"], demo["events"]);
    // Run again: nothing new, nothing moved.
    let again = json(&strata(&["--json", "demo", root]));
    assert_eq!(again["ok"], true);
    assert!(again["lifecycle"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["migrated"] == 0));

    let before = json(&strata(&["--root", root, "--json", "catalog", "stats"]));
    std::fs::remove_file(Path::new(root).join("_catalog/index.sqlite")).unwrap();
    let rebuilt = json(&strata(&["--root", root, "--json", "catalog", "rebuild"]));
    assert_eq!(rebuilt["registered"], demo["files"]);
    let after = json(&strata(&["--root", root, "--json", "catalog", "stats"]));
    assert_eq!(
        before, after,
        "the index rebuilt from sidecars alone answers the same"
    );

    let spy = json(&strata(&[
        "--root", root, "--json", "ls", "--symbol", "SPY", "--kind", "trade",
    ]));
    let files = spy.as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["stats"]["event_count"], 2000);
    let none = json(&strata(&[
        "--root",
        root,
        "--json",
        "ls",
        "--symbol",
        "SPY",
        "--from",
        "2020-01-01",
    ]));
    assert!(
        none.as_array().unwrap().is_empty(),
        "time filter excludes 2013 data"
    );
}

#[test]
fn ingest_quarantines_bad_rows_with_file_and_line_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a");
    let root = root.to_str().unwrap();
    let csv = dir.path().join("trades.csv");
    std::fs::write(
        &csv,
        "ts,sym,px,qty\n1717421400000,AAPL,190.01,100\n1717421400001,AAPL,not-a-price,5\n1717421400002,AAPL,190.02,0.5\n",
    )
    .unwrap();
    let out = json(&strata(&[
        "--root",
        root,
        "--json",
        "ingest",
        "--create",
        "--max-reject-rate",
        "0.5",
        "--format",
        "csv",
        "--csv-map",
        "time=ts:ms,symbol=sym,price=px,size=qty",
        csv.to_str().unwrap(),
    ]));
    assert_eq!(out["events"], 2);
    assert_eq!(out["quarantined"], 1);
    assert_eq!(out["files"][0]["rejected_rows"], 1);
    let session = out["session"].as_str().unwrap();
    // An import's rejects are kept under its import id (they are committed with it).
    let import_id = out["files"][0]["import_id"].as_str().unwrap();
    assert!(import_id.starts_with(session), "{import_id}");
    let rejected = std::fs::read_to_string(
        Path::new(root).join(format!("_quarantine/rejected/{import_id}.jsonl")),
    )
    .unwrap();
    assert!(
        rejected.contains("trades.csv")
            && rejected.contains("\"line\":3")
            && rejected.contains("not-a-price"),
        "{rejected}"
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(root).join(format!("_sessions/{session}/report.json")))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(report["events"], 2);
    assert_eq!(report["by_symbol"]["AAPL"], 2);
    assert_eq!(report["files_verified"], report["files_sealed"]);

    // Exact decimals survive the whole path: the stored size is "0.5", the price "190.02".
    let listed = json(&strata(&[
        "--root", root, "--json", "ls", "--symbol", "AAPL",
    ]));
    let path = listed[0]["path"].as_str().unwrap();
    let stored = strata::ingest::reader::read_events(&Path::new(root).join(path)).unwrap();
    let last = stored.last().unwrap().payload.trade().unwrap();
    assert_eq!(
        (last.price.to_string(), last.size.to_string()),
        ("190.02".into(), "0.5".into())
    );
}

#[test]
fn ingest_real_lean_and_dbn_cuts_and_fail_on_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("b");
    let root = root.to_str().unwrap();
    let lean = json(&strata(&[
        "--root",
        root,
        "--json",
        "ingest",
        "--create",
        "--format",
        "lean",
        &testdata("lean/equity/usa/tick/spy/20131007_trade.zip"),
    ]));
    assert_eq!(lean["events"], 2000);
    let dbn = json(&strata(&[
        "--root",
        root,
        "--json",
        "ingest",
        "--format",
        "dbn",
        &testdata("databento/esh4-glbx-mdp3-20231225.mbo.first2000.dbn.zst"),
    ]));
    assert!(dbn["events"].as_u64().unwrap() > 1000, "{dbn}");
    let stats = json(&strata(&["--root", root, "--json", "catalog", "stats"]));
    assert_eq!(
        stats["events"].as_u64().unwrap(),
        2000 + dbn["events"].as_u64().unwrap()
    );
    // Match event 28915 of the same file: three byte-identical fills, all kept.
    let repeats = json(&strata(&[
        "--root",
        root,
        "--json",
        "ingest",
        "--format",
        "dbn",
        &testdata("databento/esh4-glbx-mdp3-20231225.mbo.records33680-33699.dbn.zst"),
    ]));
    assert_eq!(
        (repeats["events"].as_u64(), repeats["quarantined"].as_u64()),
        (Some(20), Some(0)),
        "{repeats}"
    );

    // Three ingest runs, three closed sessions.
    let sessions = json(&strata(&["--root", root, "--json", "sessions"]));
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    assert!(
        sessions.iter().all(|s| s["state"] == "closed"),
        "{sessions:?}"
    );
    assert_eq!(sessions[0]["events"], 2000);
    assert_eq!(sessions[2]["events"], 20);
    let text = strata(&["--root", root, "sessions"]);
    assert!(text.status.success());
    assert_eq!(
        String::from_utf8_lossy(&text.stdout)
            .matches(" closed ")
            .count(),
        3
    );

    let out = strata(&[
        "--root",
        root,
        "ingest",
        "--format",
        "dbn",
        "/nonexistent/x.dbn.zst",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.dbn.zst"));
}

#[test]
fn an_import_prints_a_data_quality_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a");
    let root = root.to_str().unwrap();
    let csv = dir.path().join("trades.csv");
    // Two symbols; a float-artifact size with 19 decimals (kept exactly); two bad prices (one
    // reason, two rows); one bad time; one exact duplicate row (same trade id).
    std::fs::write(
        &csv,
        "ts,sym,px,qty,id\n\
         1717421400000,AAPL,190.01,0.0038217599999999996,1\n\
         1717421400001,AAPL,x,5,2\n\
         1717421400002,MSFT,410.5,1,3\n\
         1717421400003,AAPL,y,5,4\n\
         soon,AAPL,190.02,1,5\n\
         1717421400002,MSFT,410.5,1,3\n\
         1717421400009,AAPL,190.03,2,6\n",
    )
    .unwrap();
    let args = |json: bool| {
        let mut v = vec!["--root", root];
        if json {
            v.push("--json");
        }
        v.extend([
            "ingest",
            "--create",
            "--max-reject-rate",
            "0.9",
            "--format",
            "csv",
            "--csv-map",
            "time=ts:ms,symbol=sym,price=px,size=qty,trade_id=id",
        ]);
        v
    };
    let mut a = args(false);
    a.push(csv.to_str().unwrap());
    let out = strata(&a);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("7 rows: 4 events"), "{text}");
    assert!(
        text.contains("1 refused by integrity checks (1 duplicates, 0 out of order, 0 invalid)"),
        "{text}"
    );
    assert!(
        text.contains("time range: 2024-06-03T13:30:00Z .. 2024-06-03T13:30:00.009Z"),
        "{text}"
    );
    // The importer's count: MSFT's duplicate row is an event the writer then refused.
    assert!(text.contains("symbols: 2: AAPL 2, MSFT 2"), "{text}");
    assert!(text.contains("2 × column `px` (price): `…`"), "{text}");
    assert!(
        text.contains("rejected: 3 row(s), 2 kind(s) of reason"),
        "{text}"
    );
    // The commonest reason first, with its count and where it first happened.
    let price = text.find("  2 × ").expect("the price reason, twice");
    let time = text.find("  1 × ").expect("the time reason, once");
    assert!(price < time, "{text}");
    assert!(text.contains("trades.csv:3"), "{text}");

    // The same as JSON, on another file (the first is imported already).
    let csv2 = dir.path().join("more.csv");
    std::fs::write(
        &csv2,
        "ts,sym,px,qty,id\n1717421500000,AAPL,x,1,7\n1717421500001,AAPL,1.5,1,8\n",
    )
    .unwrap();
    let mut a = args(true);
    a.push(csv2.to_str().unwrap());
    let out = json(&strata(&a));
    let f = &out["files"][0];
    assert_eq!(f["rejected_rows"], 1);
    let reason = &f["rejected_by_reason"][0];
    assert_eq!(reason["count"], 1);
    assert_eq!(reason["first"]["first_line"], 2);
    assert!(
        reason["reason"].as_str().unwrap().contains("`…`"),
        "{reason}"
    );
    assert!(
        reason["first"]["first_raw"]
            .as_str()
            .unwrap()
            .contains("AAPL"),
        "{reason}"
    );
    assert_eq!(f["symbols"]["AAPL"], 1);
    assert_eq!(f["first_event_time"], "2024-06-03T13:31:40.001Z");

    // The 19-decimal size is stored as written.
    let listed = json(&strata(&[
        "--root", root, "--json", "ls", "--symbol", "AAPL",
    ]));
    let mut sizes = Vec::new();
    for file in listed.as_array().unwrap() {
        let path = Path::new(root).join(file["path"].as_str().unwrap());
        for e in strata::ingest::reader::read_events(&path).unwrap() {
            sizes.push(e.payload.trade().unwrap().size.to_string());
        }
    }
    assert!(
        sizes.contains(&"0.0038217599999999996".to_string()),
        "{sizes:?}"
    );
}

#[test]
fn tardis_downloads_ingest_once_and_are_listed_by_kind() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("t");
    let root = root.to_str().unwrap();
    // Three Tardis.dev daily files as downloaded (gzipped, Tardis.dev's names and headers).
    let files = [
        (
            "deribit_trades_2020-04-01_BTC-PERPETUAL.csv.gz",
            "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n\
             deribit,BTC-PERPETUAL,1585699209920000,1585699209934201,4157432,sell,6423,2040\n\
             deribit,BTC-PERPETUAL,1585699210920000,1585699210934201,4157433,buy,6423.5,10\n",
        ),
        (
            "deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv.gz",
            "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n\
             deribit,BTC-PERPETUAL,1585699200245000,1585699200355684,true,ask,6421.5,18640\n\
             deribit,BTC-PERPETUAL,1585699200245000,1585699200355684,true,bid,6421,560\n\
             deribit,BTC-PERPETUAL,1585699200400000,1585699200401000,false,ask,6421.5,0\n",
        ),
        (
            "binance-futures_derivative_ticker_2020-04-01_BTCUSDT.csv.gz",
            "exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,predicted_funding_rate,open_interest,last_price,index_price,mark_price\n\
             binance-futures,BTCUSDT,1585699500000000,1585699501000000,1585728000000000,-5e-7,,34653.577,6420.51,6419.2,6420.0\n",
        ),
    ];
    let paths: Vec<String> = files
        .iter()
        .map(|(name, text)| {
            let path = dir.path().join(name);
            let packed =
                strata::codec::compress("gzip:6".parse().unwrap(), text.as_bytes()).expect("gzip");
            std::fs::write(&path, packed).unwrap();
            path.display().to_string()
        })
        .collect();
    let mut args = vec![
        "--root", root, "--json", "ingest", "--create", "--format", "tardis",
    ];
    args.extend(paths.iter().map(String::as_str));
    let first = json(&strata(&args));
    let events: Vec<u64> = first["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["stored"].as_u64().unwrap())
        .collect();
    // The book file: a clear before its snapshot, two adds, one cancel.
    assert_eq!(events, [2, 4, 1], "{first}");
    // The same downloads again: already imported, nothing added.
    let again = json(&strata(&args));
    assert!(
        again["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["already_imported"].is_null()),
        "{again}"
    );
    let stats = json(&strata(&["--root", root, "--json", "catalog", "stats"]));
    assert_eq!(stats["events"], 7, "{stats}");

    let tickers = json(&strata(&[
        "--root",
        root,
        "--json",
        "ls",
        "--kind",
        "derivative_ticker",
    ]));
    let tickers = tickers.as_array().unwrap();
    assert_eq!(tickers.len(), 1, "{tickers:?}");
    assert_eq!(tickers[0]["partition"]["symbol"], "BTCUSDT");
    assert_eq!(tickers[0]["stats"]["sources"][0], "tardis");
    assert_eq!(tickers[0]["stats"]["venues"][0], "binance-futures");
    // The mark price is the ticker's price in the file's statistics.
    let kind = &tickers[0]["stats"]["kinds"]["derivative_ticker"];
    assert_eq!(kind["close"], "6420.0", "{kind}");
    // The stored line keeps the funding rate exactly, as written in scientific notation.
    let stored = Path::new(root).join(tickers[0]["path"].as_str().unwrap());
    let bytes = std::fs::read(&stored).unwrap();
    let text = String::from_utf8(strata::codec::decompress(&bytes).unwrap()).unwrap();
    assert!(text.contains(r#""funding_rate":"-0.0000005""#), "{text}");
    assert!(text.contains(r#""kind":"derivative_ticker""#), "{text}");
}
