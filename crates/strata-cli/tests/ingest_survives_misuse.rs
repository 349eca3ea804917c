//! `strata ingest` and the readers as careless people and real machines use them (INGEST-7,
//! INGEST-8, INGEST-9, OPS-2): the same input twice, damaged and cut inputs, too many rejected
//! rows, a mistyped root, a missing config, a closed pipe, a damaged index, a BOM — through the
//! real binary, each named after the behaviour it shows.

// Test helpers may panic: a failure here is a test failure.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .output()
        .expect("run strata")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The one JSON document on stdout (whatever the exit code).
fn doc(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel)
}

/// A fresh archive (`strata init`) in `dir`.
fn archive(dir: &Path) -> String {
    let root = dir.join("archive");
    let root = root.to_str().expect("utf-8 path").to_string();
    assert!(strata(&["init", &root, "-q"]).status.success());
    root
}

fn ingest(root: &str, format: &str, files: &[&str], extra: &[&str]) -> Output {
    let mut args = vec!["--root", root, "--json", "ingest", "--format", format];
    args.extend_from_slice(extra);
    args.extend_from_slice(files);
    strata(&args)
}

fn stored_events(root: &str) -> u64 {
    let out = strata(&["--root", root, "--json", "catalog", "stats"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    doc(&out)["events"].as_u64().expect("events")
}

const SPY: &str = "lean/equity/usa/tick/spy/20131007_trade.zip";

#[test]
fn the_same_input_imported_twice_is_stored_once_and_reported_as_done() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let spy = testdata(SPY);
    let spy = spy.to_str().expect("utf-8");
    let first = ingest(&root, "lean", &[spy], &[]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let first = doc(&first);
    assert_eq!(first["events"], 2000);
    // Again, and listed twice on one command line: nothing more is stored.
    let again = ingest(&root, "lean", &[spy, spy], &[]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let again = doc(&again);
    assert_eq!(again["events"], 0);
    for file in again["files"].as_array().expect("files") {
        assert_eq!(file["already_imported"]["events"], 2000, "{again}");
        assert_eq!(file["already_imported"]["session"], first["session"]);
    }
    assert_eq!(stored_events(&root), 2000);
    // The same bytes under another name are the same input.
    let copy = dir.path().join("equity/usa/tick/spy/20131007_trade.zip");
    std::fs::create_dir_all(copy.parent().expect("parent")).expect("mkdir");
    std::fs::copy(testdata(SPY), &copy).expect("copy");
    let out = ingest(&root, "lean", &[copy.to_str().expect("utf-8")], &[]);
    assert!(out.status.success());
    assert_eq!(doc(&out)["files"][0]["already_imported"]["events"], 2000);
    // Other settings make another import (here: another source id).
    let out = ingest(&root, "lean", &[spy], &["--source", "lean-copy"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stored_events(&root), 4000);
}

/// `bytes` with 64 zeroed bytes in the middle.
fn zero_middle(mut bytes: Vec<u8>) -> Vec<u8> {
    let at = bytes.len() / 2;
    bytes[at..at + 64].iter_mut().for_each(|b| *b = 0);
    bytes
}

#[test]
fn a_damaged_zip_stores_nothing_and_exits_1_naming_file_entry_and_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let bad = dir.path().join("in/equity/usa/tick/spy/20131007_trade.zip");
    std::fs::create_dir_all(bad.parent().expect("parent")).expect("mkdir");
    std::fs::write(
        &bad,
        zero_middle(std::fs::read(testdata(SPY)).expect("read")),
    )
    .expect("write");
    let out = ingest(&root, "lean", &[bad.to_str().expect("utf-8")], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = doc(&out);
    assert_eq!(report["ok"], false);
    let error = report["failed"][0]["error"].as_str().expect("error");
    assert!(
        error.contains("20131007_trade.zip:20131007_spy_Trade_Tick.csv")
            && error.contains("line ")
            && error.contains("damaged")
            && error.contains("nothing of it was stored"),
        "{error}"
    );
    assert_eq!(stored_events(&root), 0);
    assert!(
        !Path::new(&root).join("_quarantine/rejected").exists()
            || std::fs::read_dir(Path::new(&root).join("_quarantine/rejected"))
                .expect("dir")
                .next()
                .is_none(),
        "rows decoded from damaged bytes are not kept as rejects either"
    );
}

#[test]
fn cut_streams_store_nothing_unless_the_readable_prefix_is_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let cut = |rel: &str, name: &str| {
        let bytes = std::fs::read(testdata(rel)).expect("read");
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
        path.to_str().expect("utf-8").to_string()
    };
    let gz = cut("binance/btcusdt_20240808_first3000.txt.gz", "cut.txt.gz");
    let dbn = cut(
        "databento/futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst",
        "cut.dbn.zst",
    );
    for (format, file) in [("binance", &gz), ("dbn", &dbn)] {
        let out = ingest(&root, format, &[file], &[]);
        assert_eq!(out.status.code(), Some(1), "{format}");
        let error = doc(&out)["failed"][0]["error"]
            .as_str()
            .expect("error")
            .to_string();
        assert!(
            error.contains(file.as_str())
                && error.contains("cut short")
                && error.contains("--keep-readable-prefix"),
            "{error}"
        );
        assert_eq!(stored_events(&root), 0, "{format}: nothing stored");
    }
    let out = ingest(&root, "dbn", &[&dbn], &["--keep-readable-prefix"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = doc(&out);
    let kept = report["files"][0]["kept_prefix"].as_str().expect("note");
    assert!(kept.contains("cut short"), "{kept}");
    let stored = report["events"].as_u64().expect("events");
    assert!(stored > 0, "{report}");
    assert_eq!(stored_events(&root), stored);
}

#[test]
fn too_many_rejected_rows_roll_the_input_back_so_the_corrected_file_imports_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let csv = dir.path().join("t.csv");
    let good = "ts,sym,px,qty\n1717421400000,AAPL,190.01,100\n1717421400002,AAPL,190.02,7\n";
    std::fs::write(&csv, format!("{good}1717421400001,AAPL,bad,5\n")).expect("write");
    let map = ["--csv-map", "time=ts:ms,symbol=sym,price=px,size=qty"];
    let csv = csv.to_str().expect("utf-8");
    let run = || {
        strata(&[
            "--root", &root, "ingest", "--format", "csv", map[0], map[1], csv,
        ])
    };
    let out = run();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    // The receipt names the reason with its first example, then why nothing was stored.
    assert!(stderr.contains("1 × column `px` (price)"), "{stderr}");
    assert!(
        stderr.contains("33.33% of it was rejected (1 rows of 3 rejected, 0 events of 2 refused), more than the limit 1.00%")
            && stderr.contains("nothing of it was stored")
            && stderr.contains("--max-reject-rate"),
        "{stderr}"
    );
    assert_eq!(stored_events(&root), 0, "the input was rolled back whole");
    // Run again: still refused the same way — not "already imported", not exit 0.
    let again = run();
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stderr));
    assert!(!text(&again.stderr).contains("already imported"));
    // The corrected file imports whole, once.
    std::fs::write(csv, good).expect("write");
    let fixed = run();
    assert!(fixed.status.success(), "{}", text(&fixed.stderr));
    assert_eq!(stored_events(&root), 2);
    // With --json the rolled-back file's receipt is in the document.
    let bad = dir.path().join("u.csv");
    std::fs::write(&bad, "ts,sym,px,qty\n1717421500000,AAPL,x,1\n").expect("write");
    let out = ingest(&root, "csv", &[bad.to_str().expect("utf-8")], &map);
    assert_eq!(out.status.code(), Some(1));
    let report = doc(&out);
    assert_eq!(
        report["rolled_back_for_rejects"][0]["rejected_rows"], 1,
        "{report}"
    );
    assert_eq!(report["failed"].as_array().map(Vec::len), Some(1));
    // A higher limit lets the same input through, the bad row quarantined.
    let out = ingest(
        &root,
        "csv",
        &[bad.to_str().expect("utf-8")],
        &[map[0], map[1], "--max-reject-rate", "1"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(doc(&out)["quarantined"], 1);
}

#[test]
fn a_failing_command_prints_one_json_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let out = ingest(&root, "dbn", &["/nonexistent/x.dbn.zst"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let report = doc(&out);
    assert_eq!(report["ok"], false);
    assert!(report["failed"][0]["file"] == "/nonexistent/x.dbn.zst");
}

#[test]
fn a_missing_config_is_a_usage_error_and_a_mistyped_root_is_not_made_an_archive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = strata(&["--config", "/nonexistent/strata.toml", "ls"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("/nonexistent/strata.toml"));
    let typo = dir.path().join("archvie");
    let typo = typo.to_str().expect("utf-8");
    let spy = testdata(SPY);
    for args in [
        vec!["--root", typo, "ls"],
        vec!["--root", typo, "sessions"],
        vec!["--root", typo, "catalog", "stats"],
        vec![
            "--root",
            typo,
            "ingest",
            "--format",
            "lean",
            spy.to_str().expect("utf-8"),
        ],
    ] {
        let out = strata(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("is not a strata archive"),
            "{}",
            text(&out.stderr)
        );
        assert!(!Path::new(typo).exists(), "{args:?} created {typo}");
    }
    // `--create` is the way to start one with ingest.
    let out = strata(&[
        "--root",
        typo,
        "ingest",
        "--create",
        "--format",
        "lean",
        spy.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let spy = testdata(SPY);
    assert!(ingest(&root, "lean", &[spy.to_str().expect("utf-8")], &[])
        .status
        .success());
    for args in [
        vec!["--root", &root, "ls"],
        vec!["--root", &root, "sessions"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // `| head -0`: the reader is gone before anything is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(
            !text(&out.stderr).contains("panicked"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_closed_standard_error_loses_messages_not_the_ingest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    // Over a quota, the ingest warns on standard error (then describes the import there).
    let config = Path::new(&root).join("strata.toml");
    let toml = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        format!("{toml}\n[[quotas]]\nscope = \"global\"\nmax_bytes = 1\nmode = \"soft_limit\"\n"),
    )
    .expect("config");
    let spy = testdata(SPY);
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["--root", &root, "ingest", "--format", "lean"])
        .arg(&spy)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // `2>&1 | head -0` on standard error alone: its reader is gone before anything is written.
    drop(child.stderr.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).starts_with("ingested 2000 events"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(stored_events(&root), 2000);
}

/// Every file under `root` with its length, but SQLite's shared-memory files of the index
/// (`-shm`, `-wal`): a reader's SQLite makes them where the folder lets it, and reads the index
/// as immutable where it does not.
fn tree(root: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let entry = entry.expect("entry");
            let meta = entry.metadata().expect("metadata");
            let name = entry.file_name().to_string_lossy().into_owned();
            if meta.is_dir() {
                stack.push(entry.path());
            } else if !name.ends_with("-shm") && !name.ends_with("-wal") {
                out.push((entry.path(), meta.len()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn readers_write_nothing_and_a_damaged_index_is_rebuilt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let spy = testdata(SPY);
    assert!(ingest(&root, "lean", &[spy.to_str().expect("utf-8")], &[])
        .status
        .success());
    // Readers take no lock and write nothing (so an archive the user can only read works).
    let before = tree(Path::new(&root));
    for args in [
        vec!["--root", &root, "ls"],
        vec!["--root", &root, "sessions"],
        vec!["--root", &root, "catalog", "stats"],
    ] {
        let out = strata(&args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    assert_eq!(
        tree(Path::new(&root)),
        before,
        "a reader changed the archive"
    );

    // A garbage index: every command says so and what to do; rebuild mends it.
    let index = Path::new(&root).join("_catalog/index.sqlite");
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", index.display()));
    }
    std::fs::write(&index, vec![0x5a; 8192]).expect("write");
    for args in [
        vec!["--root", &root, "ls"],
        vec!["--root", &root, "catalog", "stats"],
        vec![
            "--root",
            &root,
            "ingest",
            "--format",
            "lean",
            spy.to_str().expect("utf-8"),
        ],
    ] {
        let out = strata(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("index is damaged") && stderr.contains("strata catalog rebuild"),
            "{args:?}: {stderr}"
        );
    }
    let out = strata(&["--root", &root, "--json", "catalog", "rebuild"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(doc(&out)["registered"], 1);
    assert!(text(&out.stderr).contains("moved it to"));
    assert_eq!(stored_events(&root), 2000);
    // A missing index is noticed by readers too.
    std::fs::remove_file(&index).expect("remove");
    let out = strata(&["--root", &root, "ls"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("catalog rebuild"));
}

#[test]
fn a_byte_order_mark_does_not_lose_the_first_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let jsonl = dir.path().join("e.jsonl");
    let line = r#"{"v":"1.0","kind":"trade","source":"s","symbol":"AAPL","ts":1717421400000000000,"price":"190.01","size":"100"}"#;
    std::fs::write(&jsonl, format!("\u{feff}{line}\n")).expect("write");
    let csv = dir.path().join("t.csv");
    std::fs::write(
        &csv,
        "\u{feff}ts,sym,px,qty\n1717421400000,MSFT,190.01,100\n",
    )
    .expect("write");
    let out = ingest(&root, "jsonl", &[jsonl.to_str().expect("utf-8")], &[]);
    let report = doc(&out);
    assert_eq!(report["files"][0]["rejected_rows"], 0, "{report}");
    let out = ingest(
        &root,
        "csv",
        &[csv.to_str().expect("utf-8")],
        &["--csv-map", "time=ts:ms,symbol=sym,price=px,size=qty"],
    );
    let report = doc(&out);
    assert_eq!(report["events"], 1, "{report}");
}

/// A JSONL trade line of the strata schema.
fn trade_line(source: &str, symbol: &str, ts: i64) -> String {
    serde_json::json!({
        "v": "1.0", "kind": "trade", "source": source, "symbol": symbol,
        "ts": ts, "price": "1.5", "size": "2"
    })
    .to_string()
}

#[test]
fn many_symbols_import_completely_under_a_low_open_file_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let input = dir.path().join("many.jsonl");
    let symbols = 3000;
    let mut lines = String::new();
    // Every symbol twice, interleaved: each segment is closed and opened again in between.
    for round in 0..2i64 {
        for s in 0..symbols {
            lines.push_str(&trade_line(
                "s",
                &format!("S{s:05}"),
                1_717_421_400_000_000_000 + round,
            ));
            lines.push('\n');
        }
    }
    std::fs::write(&input, lines).expect("write");
    let script = format!(
        "ulimit -n 128 && exec '{}' --root '{}' --json ingest --format jsonl '{}'",
        env!("CARGO_BIN_EXE_strata"),
        root,
        input.display()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("sh");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = doc(&out);
    assert_eq!(report["events"], 2 * symbols, "{report}");
    assert_eq!(report["files_sealed"], symbols);
    assert_eq!(stored_events(&root), 2 * symbols as u64);
}

#[test]
fn hostile_symbol_lengths_are_quarantined_and_the_import_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let input = dir.path().join("long.jsonl");
    let lines = [
        trade_line("s", &"A".repeat(5000), 1),
        trade_line("s", &"B".repeat(4000), 2),
        trade_line(&"s".repeat(3000), "MSFT", 3),
        trade_line("s", &format!("{}/../..", "X".repeat(300)), 4),
        trade_line("s", "AAPL", 5),
    ];
    std::fs::write(&input, lines.join("\n") + "\n").expect("write");
    let out = ingest(
        &root,
        "jsonl",
        &[input.to_str().expect("utf-8")],
        &["--max-reject-rate", "0.5"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = doc(&out);
    assert_eq!(report["events"], 3, "{report}");
    assert_eq!(report["quarantined"], 2);
    assert!(text(&out.stderr).len() < 4000, "no path is echoed whole");
    // The archive keeps working: another import seals fine.
    let other = dir.path().join("more.jsonl");
    std::fs::write(&other, trade_line("s", "IBM", 6) + "\n").expect("write");
    let out = ingest(&root, "jsonl", &[other.to_str().expect("utf-8")], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stored_events(&root), 4);
}

#[test]
fn sigint_stops_reading_keeps_what_was_committed_and_closes_the_session() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let first = dir.path().join("first.jsonl");
    std::fs::write(&first, trade_line("s", "IBM", 1) + "\n").expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["--root", &root, "--json", "ingest", "--format", "jsonl"])
        .arg(&first)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    for i in 0..100 {
        writeln!(stdin, "{}", trade_line("s", "AAPL", 10 + i)).expect("write");
    }
    stdin.flush().expect("flush");
    // Let it commit the first file and start on standard input, then interrupt it.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    std::thread::sleep(std::time::Duration::from_millis(200));
    // More input: the importer reads it, sees the signal and stops.
    for i in 0..100 {
        let _ = writeln!(stdin, "{}", trade_line("s", "AAPL", 200 + i));
    }
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let report = doc(&out);
    assert_eq!(report["ok"], false);
    assert_eq!(report["stopped_by"], "signal");
    assert_eq!(
        report["events"], 1,
        "only the committed first file: {report}"
    );
    let session: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&root).join(format!(
            "_sessions/{}/report.json",
            report["session"].as_str().expect("session")
        )))
        .expect("report"),
    )
    .expect("json");
    assert_eq!(session["state"], "closed");
    assert_eq!(session["stopped_by"], "signal");
    assert_eq!(stored_events(&root), 1);
}

#[test]
fn corrupt_and_cut_streams_of_every_codec_store_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let plain = testdata("binance/btcusdt_20240808_first3000.txt");
    let plain = std::fs::read(plain).expect("read");
    for codec in ["gzip:6", "zstd:3", "lz4"] {
        let packed = strata::codec::compress(codec.parse().expect("codec"), &plain).expect("pack");
        let ext = match codec {
            "gzip:6" => "gz",
            "zstd:3" => "zst",
            _ => "lz4",
        };
        let cut = dir.path().join(format!("cut.txt.{ext}"));
        std::fs::write(&cut, &packed[..packed.len() * 2 / 3]).expect("write");
        let flipped = dir.path().join(format!("flipped.txt.{ext}"));
        let mut bad = packed.clone();
        let at = bad.len() / 2;
        bad[at] ^= 0x55;
        bad[at + 1] ^= 0xaa;
        std::fs::write(&flipped, &bad).expect("write");
        for file in [&cut, &flipped] {
            let out = ingest(&root, "binance", &[file.to_str().expect("utf-8")], &[]);
            assert_eq!(out.status.code(), Some(1), "{codec} {}", file.display());
            let error = doc(&out)["failed"][0]["error"]
                .as_str()
                .expect("error")
                .to_string();
            assert!(
                error.contains(file.to_str().expect("utf-8")) && error.contains("damaged"),
                "{codec}: {error}"
            );
            assert_eq!(stored_events(&root), 0, "{codec} {}", file.display());
        }
    }
}

#[test]
fn a_second_sigint_exits_at_once_and_the_next_open_recovers() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["--root", &root, "ingest", "--format", "jsonl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{}", trade_line("s", "AAPL", 1)).expect("write");
    stdin.flush().expect("flush");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // Blocked reading standard input: the first signal only asks it to stop, the second ends it.
    for _ in 0..2 {
        let kill = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(kill.success());
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let out = child.wait_with_output().expect("wait");
    drop(stdin);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    // Nothing stored, the session is found interrupted by the next writer, staging rolled back.
    let again = dir.path().join("again.jsonl");
    std::fs::write(&again, trade_line("s", "IBM", 2) + "\n").expect("write");
    let out = ingest(&root, "jsonl", &[again.to_str().expect("utf-8")], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stored_events(&root), 1);
    let sessions = doc(&strata(&["--root", &root, "--json", "sessions"]));
    let states: Vec<&str> = sessions
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| s["state"].as_str().expect("state"))
        .collect();
    assert_eq!(states, ["interrupted", "closed"], "{sessions}");
}

#[test]
fn a_symlinked_folder_inside_the_archive_is_refused_never_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::create_dir_all(Path::new(&root).join("hot")).expect("mkdir");
    std::os::unix::fs::symlink(&outside, Path::new(&root).join("hot/BTCUSDT")).expect("link");
    let gz = testdata("binance/btcusdt_20240808_first3000.txt.gz");
    let gz = gz.to_str().expect("utf-8");
    let out = ingest(&root, "binance", &[gz], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let error = doc(&out)["failed"][0]["error"]
        .as_str()
        .expect("error")
        .to_string();
    assert!(error.contains("symbolic link"), "{error}");
    assert_eq!(
        std::fs::read_dir(&outside).expect("dir").count(),
        0,
        "nothing written through the link"
    );
    // `catalog rebuild` names the link as a problem instead of passing over it.
    let out = strata(&["--root", &root, "--json", "catalog", "rebuild"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(doc(&out)["problems"][0]
        .as_str()
        .expect("problem")
        .contains("symbolic link"));
    // With the link gone, the same input imports (it was never committed).
    std::fs::remove_file(Path::new(&root).join("hot/BTCUSDT")).expect("unlink");
    let out = ingest(&root, "binance", &[gz], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stored_events(&root) > 10_000);
}

#[test]
fn the_same_content_compressed_otherwise_or_piped_is_the_same_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let gz = testdata("binance/btcusdt_20240808_first3000.txt.gz");
    let plain = testdata("binance/btcusdt_20240808_first3000.txt");
    let out = ingest(&root, "binance", &[gz.to_str().expect("utf-8")], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stored = stored_events(&root);
    let out = ingest(&root, "binance", &[plain.to_str().expect("utf-8")], &[]);
    assert!(out.status.success());
    assert!(doc(&out)["files"][0]["already_imported"].is_object());
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "--root", &root, "--json", "ingest", "--format", "binance", "-",
        ])
        .stdin(std::fs::File::open(&gz).expect("open"))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(doc(&out)["files"][0]["already_imported"].is_object());
    assert_eq!(stored_events(&root), stored);
}

#[test]
fn a_usage_error_with_json_prints_one_document() {
    for args in [
        vec!["--json", "ingest", "--format", "bogus", "x"],
        vec!["--json", "ls", "--bogus"],
        vec![
            "--json", "ingest", "--format", "lean", "--wait", "banana", "x",
        ],
    ] {
        let out = strata(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let report = doc(&out);
        assert_eq!(report["ok"], false, "{args:?}");
    }
}

#[test]
fn the_demo_run_twice_adds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("demo");
    let root = root.to_str().expect("utf-8");
    let first = strata(&["--json", "demo", root]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let again = strata(&["--json", "demo", root]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let (first, again) = (doc(&first), doc(&again));
    assert_eq!(first["events"], again["events"], "{again}");
    assert_eq!(again["live_events"], 0);
    assert_eq!(first["files"], again["files"]);
}

/// Runs `strata args` as a user who may only read the archive: as root (which file modes do
/// not bind), as `nobody` through `runuser`, from a copy of the binary anyone may run; as
/// anyone else, as that user over an archive made read-only.
fn as_reader(bin: &Path, args: &[&str]) -> Output {
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    command.args(args).output().expect("run strata as a reader")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Every folder and file under `root` (and `root`) to `dir_mode` / `file_mode`.
fn chmod_tree(root: &Path, dir_mode: u32, file_mode: u32) {
    set_mode(root, dir_mode);
    for entry in std::fs::read_dir(root).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            chmod_tree(&path, dir_mode, file_mode);
        } else {
            set_mode(&path, file_mode);
        }
    }
}

#[test]
fn an_archive_the_user_may_only_read_is_queried_verified_and_exported_and_writes_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = archive(dir.path());
    let spy = testdata(SPY);
    assert!(ingest(&root, "lean", &[spy.to_str().expect("utf-8")], &[])
        .status
        .success());
    // What the reader may use: a copy of the binary and of the input, and a folder for output.
    let bin = dir.path().join("strata");
    std::fs::copy(env!("CARGO_BIN_EXE_strata"), &bin).expect("copy the binary");
    set_mode(&bin, 0o755);
    let input = dir.path().join("spy_trade.zip");
    std::fs::copy(&spy, &input).expect("copy the input");
    set_mode(&input, 0o644);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).expect("out");
    set_mode(&out_dir, 0o777);
    set_mode(dir.path(), 0o755);
    chmod_tree(Path::new(&root), 0o555, 0o444);
    let before = tree(Path::new(&root));

    let export = out_dir.join("spy");
    let export = export.to_str().expect("utf-8");
    for args in [
        vec![
            "--root", &root, "--json", "query", "--symbol", "SPY", "--limit", "5",
        ],
        vec!["--root", &root, "verify", "--deep"],
        vec![
            "--root", &root, "export", "--format", "csv", "--symbol", "SPY", "--out", export,
        ],
        vec!["--root", &root, "export", "verify", export],
        vec!["--root", &root, "ls"],
    ] {
        let out = as_reader(&bin, &args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    let query = as_reader(
        &bin,
        &[
            "--root", &root, "query", "--symbol", "SPY", "--format", "csv", "--kind", "trade",
        ],
    );
    assert_eq!(
        text(&query.stdout).lines().count(),
        2001,
        "a header and every trade"
    );

    // Writes are refused with the path that cannot be written, and leave everything as it was.
    for args in [
        vec![
            "--root",
            &root,
            "ingest",
            "--format",
            "lean",
            input.to_str().expect("utf-8"),
        ],
        vec!["--root", &root, "hold", "add", "x", "--symbol", "SPY"],
        vec!["--root", &root, "lifecycle", "run"],
    ] {
        let out = as_reader(&bin, &args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(stderr.contains(&root), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert_eq!(tree(Path::new(&root)), before, "the archive changed");
    chmod_tree(Path::new(&root), 0o755, 0o644);
    assert_eq!(stored_events(&root), 2000);
}
