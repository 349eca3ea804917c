//! `strata query` through the binary, on real Lean trades and quotes (SPY 2013-10-07 trades,
//! AIG 2013-10-09 quotes), some moved to the cold tier: JSONL that `strata ingest` reads back,
//! CSV with exact decimals, a table, `--limit`, an alias, `| head`, and clear errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};

use common::{strata, testdata, text};

/// An archive with the SPY trades (moved to cold Parquet) and the AIG quotes (hot); SPY has
/// the alias SPDR.
fn archive(dir: &std::path::Path) -> String {
    let root = dir.join("a");
    let root = root.to_str().unwrap().to_string();
    assert!(strata(&["init", &root, "-q"]).status.success());
    let config = std::path::Path::new(&root).join("strata.toml");
    let toml = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{toml}\n[[symbols]]\nsymbol = \"SPY\"\naliases = [\"SPDR\"]\nasset_class = \"equity\"\n"),
    )
    .unwrap();
    let ingest = |file: &str| {
        let out = strata(&[
            "--root",
            &root,
            "-q",
            "ingest",
            "--format",
            "lean",
            testdata(file).to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    ingest("lean/equity/usa/tick/spy/20131007_trade.zip");
    let run = strata(&[
        "--root",
        &root,
        "--now",
        "2013-12-01",
        "-q",
        "lifecycle",
        "run",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    ingest("lean/equity/usa/tick/aig/20131009_quote.zip");
    root
}

#[test]
fn query_prints_events_in_time_order_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path());
    let q = |args: &[&str]| {
        let out = strata(&[&["--root", root.as_str(), "query"][..], args].concat());
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        out
    };
    // JSONL: every SPY trade, in time order, through the alias.
    let out = q(&["--symbol", "SPDR"]);
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() > 100, "{}", lines.len());
    assert!(lines
        .iter()
        .all(|l| l["symbol"] == "SPY" && l["kind"] == "trade"));
    let times: Vec<i64> = lines.iter().map(|l| l["ts"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(
        text(&out.stderr).contains(&format!("{} event(s)", lines.len())),
        "{}",
        text(&out.stderr)
    );
    // What it prints, `strata ingest` reads back: the same events in a new archive.
    let file = dir.path().join("spy.jsonl");
    std::fs::write(&file, &out.stdout).unwrap();
    let copy = dir.path().join("b");
    let copy = copy.to_str().unwrap();
    assert!(strata(&["init", copy, "-q"]).status.success());
    let back = strata(&[
        "--root",
        copy,
        "-q",
        "ingest",
        "--format",
        "jsonl",
        file.to_str().unwrap(),
    ]);
    assert!(back.status.success(), "{}", text(&back.stderr));
    let again = strata(&["--root", copy, "query", "--symbol", "SPY"]);
    assert_eq!(again.stdout, out.stdout);

    // A time slice and a limit.
    let (from, to) = (times[times.len() / 4], times[times.len() / 2]);
    let iso = |ns: i64| strata::model::Timestamp::from_nanos(ns).to_string();
    let slice = q(&["--symbol", "SPY", "--from", &iso(from), "--to", &iso(to)]);
    let sliced: Vec<i64> = text(&slice.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["ts"]
                .as_i64()
                .unwrap()
        })
        .collect();
    let expected: Vec<i64> = times
        .iter()
        .copied()
        .filter(|t| *t >= from && *t < to)
        .collect();
    assert_eq!(sliced, expected);
    let limited = q(&["--symbol", "SPY", "--limit", "3"]);
    assert_eq!(text(&limited.stdout).lines().count(), 3);

    // CSV: a header, exact decimals, one row per event.
    let csv = q(&[
        "--symbol",
        "AIG",
        "--kind",
        "bbo_quote",
        "--format",
        "csv",
        "--limit",
        "5",
    ]);
    let csv = text(&csv.stdout);
    let mut rows = csv.lines();
    assert_eq!(
        rows.next().unwrap(),
        "ts,recv_ts,source,symbol,venue,seq,bid_price,bid_size,ask_price,ask_size"
    );
    let first: Vec<&str> = rows.next().unwrap().split(',').collect();
    assert_eq!(first[3], "AIG");
    assert!(first[6].contains('.'), "{csv}");
    assert_eq!(csv.lines().count(), 6);
    // A table.
    let table = q(&[
        "--symbol", "SPY", "--kind", "trade", "--format", "table", "--limit", "4",
    ]);
    let table = text(&table.stdout);
    assert!(table.lines().next().unwrap().starts_with("ts "), "{table}");
    assert_eq!(table.lines().count(), 5);

    // CSV without one kind: refused with what to do.
    let mixed = strata(&[
        "--root", &root, "query", "--symbol", "SPY", "--symbol", "AIG", "--format", "csv",
    ]);
    assert_eq!(mixed.status.code(), Some(2));
    assert!(mixed.stdout.is_empty(), "refused before any row");
    assert!(
        text(&mixed.stderr).contains("--kind"),
        "{}",
        text(&mixed.stderr)
    );
    // A bad time: a usage error naming it.
    let bad = strata(&[
        "--root",
        &root,
        "query",
        "--symbol",
        "SPY",
        "--from",
        "yesterday",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("yesterday"),
        "{}",
        text(&bad.stderr)
    );
    // Nothing selected: no output (a CSV header alone), success.
    let none = q(&["--symbol", "MSFT"]);
    assert!(none.stdout.is_empty());
    let none = q(&["--symbol", "MSFT", "--kind", "trade", "--format", "csv"]);
    assert_eq!(text(&none.stdout).lines().count(), 1);

    // Reads were counted per file (CAT-5): the cold SPY file by each of the 4 SPY queries above, the
    // AIG file by the CSV one; `catalog usage` lists the least read first.
    let usage = common::json(&strata(&["--root", &root, "--json", "catalog", "usage"]));
    let files = usage["files"].as_array().unwrap();
    let reads_of = |needle: &str| {
        files
            .iter()
            .filter(|f| f["path"].as_str().unwrap().contains(needle))
            .map(|f| f["reads"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert!(reads_of("symbol=SPY") >= 4, "{usage}");
    assert!(reads_of("AIG") >= 1, "{usage}");
    let counts: Vec<u64> = files.iter().map(|f| f["reads"].as_u64().unwrap()).collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{usage}");
    assert!(files
        .iter()
        .filter(|f| f["reads"].as_u64() > Some(0))
        .all(|f| f["last_read"].is_string()));
}

#[test]
fn query_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["--root", &root, "query", "--symbol", "AIG"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe, as `| head -1` does.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_cut_or_missing_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path());
    let ls = common::json(&strata(&[
        "--root", &root, "--json", "ls", "--symbol", "SPY", "--tier", "cold",
    ]));
    let path = ls[0]["path"].as_str().unwrap().to_string();
    assert!(path.ends_with(".parquet"), "{path}");
    let file = std::path::Path::new(&root).join(&path);
    // Cut: the footer is gone.
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let out = strata(&["--root", &root, "query", "--symbol", "SPY"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(&path), "{}", text(&out.stderr));
    // Gone behind strata's back.
    std::fs::remove_file(&file).unwrap();
    let out = strata(&["--root", &root, "query", "--symbol", "SPY"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&path) || text(&out.stderr).contains(file.to_str().unwrap()),
        "{}",
        text(&out.stderr)
    );
    // The other symbol still reads.
    let aig = strata(&["--root", &root, "query", "--symbol", "AIG", "--limit", "2"]);
    assert!(aig.status.success(), "{}", text(&aig.stderr));
}
