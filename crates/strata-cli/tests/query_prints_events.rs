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
    let bytes = std::fs::read(&file).unwrap();
    // One flipped byte in the middle, where Parquet would decode it into wrong values: the
    // SHA-256 the file was sealed with says so, for the query, the columnar form's users and
    // an export alike; nothing is written.
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    std::fs::write(&file, &flipped).unwrap();
    let out = strata(&["--root", &root, "query", "--symbol", "SPY"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("{path}: its SHA-256 is")),
        "{}",
        text(&out.stderr)
    );
    let export_dir = std::path::Path::new(&root).with_file_name("x-flipped");
    let out = strata(&[
        "--root",
        &root,
        "export",
        "--format",
        "jsonl",
        "--symbol",
        "SPY",
        "--out",
        export_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!export_dir.exists());
    // A whole zstd frame appended to a sealed hot file (decodable, one made-up trade): refused
    // too.
    let hot = common::json(&strata(&[
        "--root", &root, "--json", "ls", "--symbol", "AIG", "--tier", "hot",
    ]));
    let hot_path = hot[0]["path"].as_str().unwrap().to_string();
    let hot_file = std::path::Path::new(&root).join(&hot_path);
    let original = std::fs::read(&hot_file).unwrap();
    let mut appended = original.clone();
    appended.extend(
        strata::codec::compress(
            strata::codec::CodecSpec::Zstd {
                level: 1,
                long: false,
            },
            b"{\"v\":\"1.3\",\"kind\":\"bbo_quote\",\"source\":\"lean\",\"symbol\":\"AIG\",\"ts\":1381325400000000001}\n",
        )
        .unwrap(),
    );
    std::fs::write(&hot_file, &appended).unwrap();
    let out = strata(&["--root", &root, "query", "--symbol", "AIG"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&hot_path),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(&hot_file, &original).unwrap();
    // Cut: the footer is gone.
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

#[test]
fn exports_hold_the_query_and_verify_against_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path());
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let export = |args: &[&str]| {
        let o = strata(&[&["--root", root.as_str(), "--json", "export"][..], args].concat());
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["manifest"].clone()
    };
    let selection = ["--symbol", "SPY", "--symbol", "AIG"];
    let count = |args: &[&str]| {
        let o = strata(&[&["--root", root.as_str(), "query"][..], args].concat());
        text(&o.stdout).lines().count() as u64
    };
    let trades = count(&["--symbol", "SPY", "--kind", "trade"]);
    let quotes = count(&["--symbol", "AIG", "--kind", "bbo_quote"]);
    for (format, gzip, ext) in [
        ("jsonl", false, "jsonl"),
        ("jsonl", true, "jsonl.gz"),
        ("csv", true, "csv.gz"),
        ("parquet", false, "parquet"),
        ("arrow", false, "arrow"),
    ] {
        let folder = if gzip && format == "jsonl" {
            out("x-jsonl-gz")
        } else {
            out(&format!("x-{format}"))
        };
        let mut args = vec!["--format", format, "--out", folder.as_str()];
        if gzip {
            args.push("--gzip");
        }
        args.extend_from_slice(&selection);
        let manifest = export(&args);
        assert_eq!(
            manifest["events"].as_u64(),
            Some(trades + quotes),
            "{manifest}"
        );
        let files = manifest["files"].as_array().unwrap();
        let names: Vec<&str> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [format!("trade.{ext}"), format!("bbo_quote.{ext}")],
            "{manifest}"
        );
        // sha256sum accepts the list, as it is.
        let sums = Command::new("sha256sum")
            .args(["-c", "checksums.sha256"])
            .current_dir(&folder)
            .output()
            .unwrap();
        assert!(sums.status.success(), "{}", text(&sums.stdout));
        // The Python loader snippet runs and reads every file whole.
        let python = std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".into());
        let loaded = Command::new(&python)
            .arg(format!("{folder}/load.py"))
            .output()
            .unwrap();
        assert!(
            loaded.status.success(),
            "{format}: {}",
            text(&loaded.stderr)
        );
        assert_eq!(
            text(&loaded.stdout),
            format!("trade.{ext} {trades}\nbbo_quote.{ext} {quotes}\n"),
            "{format}"
        );
        // The R loader too, where R's packages come from Debian (`r-base-core`,
        // `r-cran-jsonlite`, installed by `.ci/run`): CSV and JSONL. R's `arrow` package,
        // which Parquet and Arrow files need, is not in Debian's archive.
        if matches!(format, "jsonl" | "csv") {
            let rscript = std::env::var("STRATA_RSCRIPT").unwrap_or_else(|_| "Rscript".into());
            let loaded = Command::new(&rscript)
                .arg(format!("{folder}/load.R"))
                .output()
                .unwrap_or_else(|e| panic!("{rscript} does not run ({e}); `apt-get install r-base-core r-cran-jsonlite` or set STRATA_RSCRIPT"));
            assert!(
                loaded.status.success(),
                "{format}: {}",
                text(&loaded.stderr)
            );
            let words: Vec<String> = text(&loaded.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            assert_eq!(
                words,
                [
                    format!("trade.{ext}"),
                    trades.to_string(),
                    format!("bbo_quote.{ext}"),
                    quotes.to_string()
                ],
                "{format}"
            );
        } else {
            assert!(std::path::Path::new(&folder).join("load.R").exists());
        }
        assert!(manifest["quality"]["sequence_gaps"].is_u64(), "{manifest}");
        assert_eq!(
            manifest["quality"]["repeated"].as_u64(),
            Some(0),
            "{manifest}"
        );
        assert!(
            !manifest["sources"].as_array().unwrap().is_empty(),
            "{manifest}"
        );
        let check = strata(&["--root", &root, "export", "verify", &folder]);
        assert!(check.status.success(), "{format}: {}", text(&check.stdout));
        assert!(
            text(&check.stdout).contains("as the archive holds"),
            "{}",
            text(&check.stdout)
        );
        // No `DIR.partial-<pid>` folder is left beside the export.
        let name = std::path::Path::new(&folder)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            !std::fs::read_dir(dir.path()).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(&format!("{name}.partial"))),
            "{folder}: a partial folder is left"
        );
    }
    // The JSONL export is the query's output, kind by kind.
    let jsonl = std::fs::read_to_string(dir.path().join("x-jsonl/trade.jsonl")).unwrap();
    let queried = strata(&[
        "--root", &root, "query", "--symbol", "SPY", "--kind", "trade",
    ]);
    assert_eq!(jsonl, text(&queried.stdout));

    // A changed file is named; an existing folder is refused.
    let csv = dir.path().join("x-csv/trade.csv.gz");
    let mut bytes = std::fs::read(&csv).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&csv, bytes).unwrap();
    let check = strata(&["--root", &root, "export", "verify", &out("x-csv")]);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        text(&check.stdout).contains("trade.csv.gz"),
        "{}",
        text(&check.stdout)
    );
    let again = strata(&[
        "--root",
        &root,
        "export",
        "--format",
        "jsonl",
        "--out",
        &out("x-jsonl"),
        "--symbol",
        "SPY",
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("exists already"),
        "{}",
        text(&again.stderr)
    );

    // More data in the export's range: verify says the archive holds more than the export.
    let extra = dir.path().join("extra.jsonl");
    std::fs::write(
        &extra,
        "{\"v\":\"1.3\",\"kind\":\"trade\",\"source\":\"lean\",\"symbol\":\"SPY\",\"ts\":1381152600000000001,\"price\":\"170.00\",\"size\":\"1\"}\n",
    )
    .unwrap();
    let ingest = strata(&[
        "--root",
        &root,
        "-q",
        "ingest",
        "--format",
        "jsonl",
        extra.to_str().unwrap(),
    ]);
    assert!(ingest.status.success(), "{}", text(&ingest.stderr));
    let check = strata(&["--root", &root, "export", "verify", &out("x-parquet")]);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        text(&check.stdout).contains("the archive now holds"),
        "{}",
        text(&check.stdout)
    );
}

/// The exports as DuckDB, pyarrow and pandas (installed by `.ci/run`) read them — Parquet
/// single files and Hive-partitioned folders, Arrow IPC (Feather v2), CSV — the same counts and
/// the exact price sums of the JSONL export (Python's `decimal`), prices as decimals.
#[test]
fn duckdb_and_pyarrow_read_the_exports_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path());
    for format in ["jsonl", "csv", "parquet", "arrow"] {
        let folder = dir.path().join(format!("x-{format}"));
        let o = strata(&[
            "--root",
            &root,
            "-q",
            "export",
            "--format",
            format,
            "--out",
            folder.to_str().unwrap(),
            "--symbol",
            "SPY",
            "--kind",
            "trade",
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    // Hive-partitioned Parquet too, checked by `export verify`.
    let hive = dir.path().join("x-hive");
    let o = strata(&[
        "--root",
        &root,
        "-q",
        "export",
        "--format",
        "parquet",
        "--partition",
        "--out",
        hive.to_str().unwrap(),
        "--symbol",
        "SPY",
        "--kind",
        "trade",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(hive
        .join("kind=trade/symbol=SPY/date=2013-10-07/part.parquet")
        .exists());
    let check = strata(&["--root", &root, "export", "verify", hive.to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check.stdout));
    let script = r#"
import decimal, json, sys
import duckdb, pyarrow.parquet as pq, pyarrow.compute as pc
base = sys.argv[1]
lines = [json.loads(l) for l in open(f"{base}/x-jsonl/trade.jsonl")]
count = len(lines)
total = sum(decimal.Decimal(l["price"]) for l in lines)
con = duckdb.connect()
n, s, t = con.execute(f"SELECT count(*), sum(price), typeof(any_value(price)) FROM read_parquet('{base}/x-parquet/trade.parquet')").fetchone()
assert (n, decimal.Decimal(s)) == (count, total), ("duckdb parquet", n, s, count, total)
assert t.startswith("DECIMAL"), t
n, s = con.execute(f"SELECT count(*), sum(price) FROM read_csv('{base}/x-csv/trade.csv', header=true, types={{'price': 'DECIMAL(18,4)'}})").fetchone()
assert (n, decimal.Decimal(s)) == (count, total), ("duckdb csv", n, s, count, total)
n, s, sym = con.execute(f"SELECT count(*), sum(price), any_value(symbol) FROM read_parquet('{base}/x-hive/**/*.parquet', hive_partitioning=true)").fetchone()
assert (n, decimal.Decimal(s), sym) == (count, total, "SPY"), ("duckdb hive", n, s, sym)
import pyarrow.dataset as ds
hive = ds.dataset(f"{base}/x-hive/kind=trade", partitioning="hive")
assert hive.count_rows() == count
table = pq.read_table(f"{base}/x-parquet/trade.parquet")
assert table.num_rows == count
assert str(table.schema.field("price").type).startswith("decimal128")
assert decimal.Decimal(str(pc.sum(table["price"]).as_py())) == total
# Arrow IPC (Feather v2): pyarrow, pandas, and DuckDB over the Arrow table.
import pyarrow as pa, pandas as pd
arrow = pa.ipc.open_file(f"{base}/x-arrow/trade.arrow").read_all()
assert arrow.num_rows == count
assert str(arrow.schema.field("price").type).startswith("decimal128")
assert decimal.Decimal(str(pc.sum(arrow["price"]).as_py())) == total
n, s = con.execute("SELECT count(*), sum(price) FROM arrow").fetchone()
assert (n, decimal.Decimal(s)) == (count, total), ("duckdb arrow", n, s)
# pandas: prices as decimal.Decimal objects from Arrow and Parquet, as text from CSV.
for frame, what in [(pd.read_feather(f"{base}/x-arrow/trade.arrow"), "feather"),
                    (pd.read_parquet(f"{base}/x-parquet/trade.parquet"), "parquet"),
                    (pd.read_csv(f"{base}/x-csv/trade.csv", dtype={"price": str}), "csv")]:
    prices = [decimal.Decimal(str(p)) for p in frame["price"].tolist()]
    assert (len(frame), sum(prices)) == (count, total), ("pandas", what, len(frame), sum(prices))
    if what != "csv":
        assert isinstance(frame["price"].iloc[0], decimal.Decimal), (what, type(frame["price"].iloc[0]))
print("ok", count, total)
"#;
    let python = std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .args(["-c", script, dir.path().to_str().unwrap()])
        .output()
        .unwrap_or_else(|e| panic!("{python} does not run ({e}); set STRATA_PYTHON"));
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).starts_with("ok "),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn trades_become_bars_on_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path());
    let trades = text(
        &strata(&[
            "--root", &root, "query", "--symbol", "SPY", "--kind", "trade",
        ])
        .stdout,
    )
    .lines()
    .count() as u64;
    // One-minute bars as CSV: the bar columns, trade counts adding up to the trades.
    let out = strata(&[
        "--root", &root, "query", "--symbol", "SPY", "--bars", "1m", "--format", "csv",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    let mut rows = csv.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    assert_eq!(
        &header[6..],
        [
            "interval_s",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "trades",
            "vwap"
        ]
    );
    let mut counted = 0u64;
    let mut minutes = 0;
    for row in rows {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells[6], "60");
        counted += cells[12].parse::<u64>().unwrap();
        minutes += 1;
    }
    assert_eq!(counted, trades);
    assert!(minutes > 1);
    // Five-minute bars exported as Parquet verify against the archive (the steps are in the
    // manifest and applied again).
    let folder = dir.path().join("bars");
    let exported = strata(&[
        "--root",
        &root,
        "-q",
        "export",
        "--format",
        "parquet",
        "--out",
        folder.to_str().unwrap(),
        "--symbol",
        "SPY",
        "--bars",
        "5m",
    ]);
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    assert!(folder.join("bar.parquet").exists());
    let check = strata(&[
        "--root",
        &root,
        "export",
        "verify",
        folder.to_str().unwrap(),
    ]);
    assert!(check.status.success(), "{}", text(&check.stdout));
    let bad = strata(&["--root", &root, "query", "--symbol", "SPY", "--bars", "1w"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn one_sessions_events_are_queried_and_exported_as_a_unit() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path());
    // Two imports, two sessions: SPY's (its file now cold) and AIG's.
    let sessions = common::json(&strata(&["--root", &root, "--json", "sessions"]));
    let ids: Vec<String> = sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{sessions}");
    let count = |args: &[&str]| {
        let o = strata(&[&["--root", root.as_str(), "query"][..], args].concat());
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["symbol"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect::<Vec<_>>()
    };
    let mut seen = Vec::new();
    for id in &ids {
        let symbols = count(&["--session", id]);
        assert!(!symbols.is_empty(), "{id}");
        let first = symbols[0].clone();
        assert!(
            symbols.iter().all(|s| *s == first),
            "one symbol per session here: {id}"
        );
        seen.push(first);
    }
    seen.sort();
    assert_eq!(seen, ["AIG", "SPY"]);
    // Exported as a unit, and verified.
    let folder = dir.path().join("session");
    let o = strata(&[
        "--root",
        &root,
        "-q",
        "export",
        "--format",
        "jsonl",
        "--out",
        folder.to_str().unwrap(),
        "--session",
        &ids[0],
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let check = strata(&[
        "--root",
        &root,
        "export",
        "verify",
        folder.to_str().unwrap(),
    ]);
    assert!(check.status.success(), "{}", text(&check.stdout));
    // An unknown session is a mistake, named.
    let o = strata(&["--root", &root, "query", "--session", "no-such-session"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("no session `no-such-session`"),
        "{}",
        text(&o.stderr)
    );
    // So is a range that holds nothing, and a flag the format has no use for.
    for (args, why) in [
        (
            vec![
                "query",
                "--symbol",
                "SPY",
                "--from",
                "2014-01-01",
                "--to",
                "2013-01-01",
            ],
            "is not before",
        ),
        (
            vec![
                "export", "--format", "parquet", "--gzip", "--symbol", "SPY", "--out", "x-gz",
            ],
            "--gzip applies",
        ),
        (
            vec![
                "export",
                "--format",
                "csv",
                "--timescaledb",
                "--symbol",
                "SPY",
                "--out",
                "x-ts",
            ],
            "--timescaledb applies",
        ),
        (
            vec![
                "export",
                "--format",
                "csv",
                "--lean-market",
                "usa",
                "--symbol",
                "SPY",
                "--out",
                "x-lm",
            ],
            "applies to lean",
        ),
    ] {
        let o = strata(&[&["--root", root.as_str()][..], &args].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(why),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
}

#[test]
fn lineage_names_where_a_file_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path());
    let ls = common::json(&strata(&[
        "--root", &root, "--json", "ls", "--symbol", "SPY", "--tier", "cold",
    ]));
    let cold = ls[0]["path"].as_str().unwrap().to_string();
    let lineage = common::json(&strata(&["--root", &root, "--json", "lineage", &cold]));
    let parents = lineage["parents"].as_array().unwrap();
    assert_eq!(parents.len(), 1, "{lineage}");
    assert!(
        parents[0]["parent_path"]
            .as_str()
            .unwrap()
            .starts_with("hot/SPY/"),
        "{lineage}"
    );
    assert!(
        parents[0]["operation"]
            .as_str()
            .unwrap()
            .starts_with("migrate hot -> cold"),
        "{lineage}"
    );
    assert_eq!(lineage["made_into"].as_array().unwrap().len(), 0);
    let text_out = strata(&["--root", &root, "lineage", &cold]);
    assert!(
        text(&text_out.stdout).contains("made from: hot/SPY/"),
        "{}",
        text(&text_out.stdout)
    );
    let missing = strata(&["--root", &root, "lineage", "cold/no/such.parquet"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("cold/no/such.parquet"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn two_exports_to_one_folder_at_once_leave_one_whole_export() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path());
    let out = dir.path().join("x");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_strata"))
            .args([
                "--root", &root, "-q", "export", "--format", "parquet", "--out",
            ])
            .arg(&out)
            .args(["--symbol", "AIG"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(
        a.status.success() || b.status.success(),
        "{}{}",
        text(&a.stderr),
        text(&b.stderr)
    );
    let check = strata(&["--root", &root, "export", "verify", out.to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check.stdout));
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("x.partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // A folder an export killed by -9 left (its process gone) is removed by the next export
    // to the same place.
    let stale = dir.path().join("x-stale.partial-999999");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("trade.jsonl"), "half").unwrap();
    let out = dir.path().join("x-stale");
    let o = strata(&[
        "--root",
        &root,
        "-q",
        "export",
        "--format",
        "jsonl",
        "--symbol",
        "SPY",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(!stale.exists(), "the stale folder is still there");
    assert!(out.join("manifest.json").exists());
}

/// The SQL exports as PostgreSQL (Debian's package, started on loopback) loads them with their
/// DDL: `pg-copy` (COPY … FROM stdin) and `sql` (INSERT, gzipped), through the export's own
/// `load.py`, give the counts and the exact NUMERIC sums of the JSONL export, and a trade id
/// holding a tab, a line break, a quote and a backslash comes back as it went in.
#[test]
fn postgresql_loads_the_sql_exports_exactly() {
    use strata::model::Decimal;
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path());
    // A trade whose id holds every character the formats escape.
    let odd = dir.path().join("odd.jsonl");
    std::fs::write(
        &odd,
        "{\"v\":\"1.3\",\"kind\":\"trade\",\"source\":\"lean\",\"symbol\":\"ODD\",\"ts\":1381152600000000001,\"price\":\"1.5\",\"size\":\"2\",\"trade_id\":\"a\\tb\\nc'd\\\\e\\r\"}\n",
    )
    .unwrap();
    let o = strata(&[
        "--root",
        &root,
        "-q",
        "ingest",
        "--format",
        "jsonl",
        odd.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let selection = ["--symbol", "SPY", "--symbol", "AIG", "--symbol", "ODD"];
    let export = |format: &str, extra: &[&str]| {
        let folder = dir.path().join(format!("x-{format}"));
        let o = strata(
            &[
                &[
                    "--root",
                    root.as_str(),
                    "-q",
                    "export",
                    "--format",
                    format,
                    "--out",
                ][..],
                &[folder.to_str().unwrap()],
                extra,
                &selection,
            ]
            .concat(),
        );
        assert!(o.status.success(), "{format}: {}", text(&o.stderr));
        folder
    };
    // The reference: counts and exact sums from the JSONL export.
    let reference = export("jsonl", &[]);
    let sum = |file: &str, fields: &[&str]| {
        let body = std::fs::read_to_string(reference.join(file)).unwrap();
        let mut sums = vec![Decimal::new(0, 0).unwrap(); fields.len()];
        let mut n = 0u64;
        for line in body.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            n += 1;
            for (s, f) in sums.iter_mut().zip(fields) {
                if let Some(d) = v[f].as_str() {
                    *s = s.checked_add(d.parse().unwrap()).unwrap();
                }
            }
        }
        (n, sums)
    };
    let (trades, trade_sums) = sum("trade.jsonl", &["price", "size"]);
    let (quotes, quote_sums) = sum("bbo_quote.jsonl", &["bid_price", "ask_size"]);
    assert!(trades > 1000 && quotes > 1000);

    let pg = common::postgres::Postgres::start();
    let python = std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".into());
    for (format, extra, ext) in [
        ("pg-copy", &[][..], "sql"),
        ("sql", &["--gzip"][..], "sql.gz"),
    ] {
        let folder = export(format, extra);
        let db = format.replace('-', "_");
        let made = pg.psql("postgres", &["-c", &format!("CREATE DATABASE {db}")]);
        assert!(made.status.success(), "{}", text(&made.stderr));
        // The export's own loader runs psql on each file.
        let mut path = std::env::var_os("PATH").unwrap_or_default();
        let psql_dir = pg.psql_program().parent().unwrap().to_path_buf();
        path = std::env::join_paths(std::iter::once(psql_dir).chain(std::env::split_paths(&path)))
            .unwrap();
        let loaded = Command::new(&python)
            .arg(folder.join("load.py"))
            .env("DATABASE_URL", pg.url(&db))
            .env("PATH", path)
            .output()
            .unwrap();
        assert!(
            loaded.status.success(),
            "{format}: {}",
            text(&loaded.stderr)
        );
        assert_eq!(
            text(&loaded.stdout),
            format!("trade.{ext} {trades}\nbbo_quote.{ext} {quotes}\n"),
            "{format}"
        );
        // And R's loader, into a database of its own.
        let r_db = format!("{db}_r");
        let made = pg.psql("postgres", &["-c", &format!("CREATE DATABASE {r_db}")]);
        assert!(made.status.success(), "{}", text(&made.stderr));
        let rscript = std::env::var("STRATA_RSCRIPT").unwrap_or_else(|_| "Rscript".into());
        let r_path = std::env::join_paths(
            std::iter::once(pg.psql_program().parent().unwrap().to_path_buf()).chain(
                std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
            ),
        )
        .unwrap();
        let loaded = Command::new(&rscript)
            .arg(folder.join("load.R"))
            .env("DATABASE_URL", pg.url(&r_db))
            .env("PATH", r_path)
            .output()
            .unwrap_or_else(|e| panic!("{rscript} does not run ({e}); set STRATA_RSCRIPT"));
        assert!(
            loaded.status.success(),
            "{format}: {}",
            text(&loaded.stderr)
        );
        let words: Vec<String> = text(&loaded.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert_eq!(
            words,
            [
                format!("trade.{ext}"),
                trades.to_string(),
                format!("bbo_quote.{ext}"),
                quotes.to_string()
            ],
            "{format}"
        );
        let row = pg.row(
            &db,
            "SELECT count(*), sum(price), sum(size), pg_typeof(min(price)) FROM trade",
        );
        assert_eq!(row[0], trades.to_string(), "{format}");
        let exact = |text: &str, want: &Decimal| {
            let got: Decimal = text.parse().unwrap();
            assert!(got.eq_value(*want), "{format}: {got} against {want}");
        };
        exact(&row[1], &trade_sums[0]);
        exact(&row[2], &trade_sums[1]);
        assert_eq!(row[3], "numeric");
        let row = pg.row(
            &db,
            "SELECT count(*), sum(bid_price), sum(ask_size) FROM bbo_quote",
        );
        assert_eq!(row[0], quotes.to_string(), "{format}");
        exact(&row[1], &quote_sums[0]);
        exact(&row[2], &quote_sums[1]);
        // Exact times, a price at the scale it was written, and the odd id as it went in.
        let row = pg.row(
            &db,
            "SELECT ts_ns, ts, price::text, encode(convert_to(trade_id, 'UTF8'), 'hex') FROM trade WHERE symbol = 'ODD'",
        );
        assert_eq!(row[0], "1381152600000000001", "{format}");
        assert_eq!(row[1], "2013-10-07 13:30:00+00", "{format}");
        assert_eq!(row[2], "1.5", "{format}");
        // a, tab, b, line feed, c, quote, d, backslash, e, carriage return.
        assert_eq!(row[3], "6109620a6327645c650d", "{format}");
        // The file counts as the manifest says.
        let check = strata(&[
            "--root",
            &root,
            "export",
            "verify",
            folder.to_str().unwrap(),
        ]);
        assert!(check.status.success(), "{format}: {}", text(&check.stdout));
    }
    // TimescaleDB: the DDL asks for a hypertable on ts (TimescaleDB is not in Debian's archive,
    // so the script itself is not run here).
    std::fs::rename(
        dir.path().join("x-pg-copy"),
        dir.path().join("x-pg-copy-loaded"),
    )
    .unwrap();
    let folder = export("pg-copy", &["--timescaledb", "--kind", "trade"]);
    let script = std::fs::read_to_string(folder.join("trade.sql")).unwrap();
    assert!(
        script.contains("CREATE EXTENSION IF NOT EXISTS timescaledb;"),
        "{script:.400}"
    );
    assert!(
        script.contains("SELECT create_hypertable('trade', 'ts'"),
        "{script:.400}"
    );
    // SQL scripts are one per table: no partitions.
    let o = strata(&[
        "--root",
        &root,
        "export",
        "--format",
        "sql",
        "--partition",
        "--out",
        dir.path().join("x-part").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("cannot be partitioned"),
        "{}",
        text(&o.stderr)
    );
}

/// The one entry of a zip: its name and bytes.
fn zip_entry(path: &std::path::Path) -> (String, Vec<u8>) {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    assert_eq!(zip.len(), 1, "{}", path.display());
    let mut entry = zip.by_index(0).unwrap();
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).unwrap();
    (entry.name().to_string(), bytes)
}

/// Lean exports in Lean's layouts: SPY tick trades, the minute bars and the daily bars come
/// out byte for byte as the sample zips they were imported from, with Lean's zip and entry
/// names; AIG tick quotes keep every column Lean defines and strata stores (a side Lean wrote
/// as `0,0`, unchanged, is written in full); every export imports back through strata's Lean
/// importer to the very events; quote bars close on each minute's last quote; a price Lean
/// cannot hold is an error naming the event; `export verify` and `load.py` run.
#[test]
fn lean_exports_match_the_samples_and_import_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path());
    for file in [
        "lean/equity/usa/minute/spy/20131007_trade.zip",
        "lean/equity/usa/daily/spy.zip",
    ] {
        let o = strata(&[
            "--root",
            &root,
            "-q",
            "ingest",
            "--format",
            "lean",
            testdata(file).to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{file}: {}", text(&o.stderr));
    }
    let export = |name: &str, args: &[&str]| {
        let folder = dir.path().join(name);
        let o = strata(
            &[
                &[
                    "--root",
                    root.as_str(),
                    "-q",
                    "export",
                    "--format",
                    "lean",
                    "--lean-security",
                    "equity",
                    "--out",
                ][..],
                &[folder.to_str().unwrap()],
                args,
            ]
            .concat(),
        );
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        let check = strata(&[
            "--root",
            &root,
            "export",
            "verify",
            folder.to_str().unwrap(),
        ]);
        assert!(check.status.success(), "{args:?}: {}", text(&check.stdout));
        folder
    };
    // Tick trades, minute bars and daily bars: Lean's names and the sample's bytes.
    let trades = export("lean-trades", &["--symbol", "SPY", "--kind", "trade"]);
    let bars = export("lean-bars", &["--symbol", "SPY", "--kind", "bar"]);
    for (folder, path, sample) in [
        (
            &trades,
            "equity/usa/tick/spy/20131007_trade.zip",
            "lean/equity/usa/tick/spy/20131007_trade.zip",
        ),
        (
            &bars,
            "equity/usa/minute/spy/20131007_trade.zip",
            "lean/equity/usa/minute/spy/20131007_trade.zip",
        ),
        (
            &bars,
            "equity/usa/daily/spy.zip",
            "lean/equity/usa/daily/spy.zip",
        ),
    ] {
        let (name, bytes) = zip_entry(&folder.join(path));
        let (sample_name, sample_bytes) = zip_entry(&testdata(sample));
        assert_eq!(name, sample_name, "{path}");
        // Lean's files end without a line break; the committed cuts of the tick files with one.
        let trim = |b: &[u8]| b.strip_suffix(b"\n").unwrap_or(b).to_vec();
        assert!(!bytes.ends_with(b"\n"), "{path}");
        assert!(
            trim(&bytes) == trim(&sample_bytes),
            "{path}: the rows differ from the sample's"
        );
    }
    // The Python loader counts every row.
    let python = std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".into());
    let loaded = Command::new(&python)
        .arg(trades.join("load.py"))
        .output()
        .unwrap();
    assert!(loaded.status.success(), "{}", text(&loaded.stderr));
    let rows =
        String::from_utf8(zip_entry(&trades.join("equity/usa/tick/spy/20131007_trade.zip")).1)
            .unwrap()
            .lines()
            .count();
    assert_eq!(
        text(&loaded.stdout),
        format!("equity/usa/tick/spy/20131007_trade.zip {rows}\n")
    );
    let rscript = std::env::var("STRATA_RSCRIPT").unwrap_or_else(|_| "Rscript".into());
    let loaded = Command::new(&rscript)
        .arg(trades.join("load.R"))
        .output()
        .unwrap();
    assert!(loaded.status.success(), "{}", text(&loaded.stderr));
    assert_eq!(
        text(&loaded.stdout).split_whitespace().collect::<Vec<_>>(),
        [
            "equity/usa/tick/spy/20131007_trade.zip".to_string(),
            rows.to_string()
        ]
    );

    // Minute bars made from the trades on the way out start on the minute their trades are in.
    let made = export(
        "lean-made-bars",
        &["--symbol", "SPY", "--kind", "trade", "--bars", "1m"],
    );
    let (entry, rows) = zip_entry(&made.join("equity/usa/minute/spy/20131007_trade.zip"));
    assert_eq!(entry, "20131007_spy_minute_trade.csv");
    let first_trade_ms: i64 =
        String::from_utf8(zip_entry(&trades.join("equity/usa/tick/spy/20131007_trade.zip")).1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
    let first_bar_ms: i64 = String::from_utf8(rows)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(first_bar_ms, first_trade_ms - first_trade_ms % 60_000);

    // Tick quotes: the columns strata keeps, row for row; a `0,0` side of the sample is the
    // side's last value written in full.
    let quotes = export("lean-quotes", &["--symbol", "AIG", "--kind", "bbo_quote"]);
    let quote_zip = quotes.join("equity/usa/tick/aig/20131009_quote.zip");
    let (name, ours) = zip_entry(&quote_zip);
    let (sample_name, sample) = zip_entry(&testdata("lean/equity/usa/tick/aig/20131009_quote.zip"));
    assert_eq!(name, sample_name);
    let (ours, sample) = (
        String::from_utf8(ours).unwrap(),
        String::from_utf8(sample).unwrap(),
    );
    assert_eq!(ours.lines().count(), sample.lines().count());
    let mut last = [("0", "0"), ("0", "0")];
    for (mine, theirs) in ours.lines().zip(sample.lines()) {
        let (m, t): (Vec<&str>, Vec<&str>) =
            (mine.split(',').collect(), theirs.split(',').collect());
        assert_eq!((m[0], m[5]), (t[0], t[5]), "{mine} / {theirs}");
        for (side, at) in [(0, 1), (1, 3)] {
            if (t[at], t[at + 1]) != ("0", "0") {
                last[side] = (t[at], t[at + 1]);
            }
            assert_eq!((m[at], m[at + 1]), last[side], "{mine} / {theirs}");
        }
    }

    // Each export imports back to the very events the archive holds.
    let query = |root: &str, args: &[&str]| {
        let o = strata(&[&["--root", root, "query"][..], args].concat());
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout)
    };
    for (name, zip, args) in [
        (
            "b-trades",
            trades.join("equity/usa/tick/spy/20131007_trade.zip"),
            &["--symbol", "SPY", "--kind", "trade"][..],
        ),
        (
            "b-quotes",
            quote_zip.clone(),
            &["--symbol", "AIG", "--kind", "bbo_quote"],
        ),
        (
            "b-minute",
            bars.join("equity/usa/minute/spy/20131007_trade.zip"),
            &[
                "--symbol",
                "SPY",
                "--kind",
                "bar",
                "--from",
                "2013-10-07T05:00:00Z",
                "--to",
                "2013-10-08",
            ],
        ),
    ] {
        let back = dir.path().join(name);
        assert!(strata(&["init", back.to_str().unwrap(), "-q"])
            .status
            .success());
        let o = strata(&[
            "--root",
            back.to_str().unwrap(),
            "-q",
            "ingest",
            "--format",
            "lean",
            zip.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{name}: {}", text(&o.stderr));
        let (original, again) = (query(&root, args), query(back.to_str().unwrap(), args));
        assert!(!original.is_empty());
        assert!(
            original == again,
            "{name}: the events differ after the round trip"
        );
    }

    // Quote bars: each minute's bar closes on the minute's last quote, which is what the
    // importer reads back (at the bar's end).
    let minute = export(
        "lean-quote-bars",
        &[
            "--symbol",
            "AIG",
            "--kind",
            "bbo_quote",
            "--lean-resolution",
            "minute",
        ],
    );
    let bar_zip = minute.join("equity/usa/minute/aig/20131009_quote.zip");
    assert_eq!(zip_entry(&bar_zip).0, "20131009_aig_minute_quote.csv");
    let back = dir.path().join("b-quote-bars");
    assert!(strata(&["init", back.to_str().unwrap(), "-q"])
        .status
        .success());
    let o = strata(&[
        "--root",
        back.to_str().unwrap(),
        "-q",
        "ingest",
        "--format",
        "lean",
        bar_zip.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut closes: std::collections::BTreeMap<i64, (serde_json::Value, serde_json::Value)> =
        Default::default();
    for line in query(&root, &["--symbol", "AIG", "--kind", "bbo_quote"]).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let ts = v["ts"].as_i64().unwrap();
        let end = (ts / 60_000_000_000 + 1) * 60_000_000_000;
        let entry = closes
            .entry(end)
            .or_insert((serde_json::Value::Null, serde_json::Value::Null));
        for (side, price, size) in [(0, "bid_price", "bid_size"), (1, "ask_price", "ask_size")] {
            if !v[price].is_null() {
                let level = serde_json::json!([v[price], v[size]]);
                if side == 0 {
                    entry.0 = level
                } else {
                    entry.1 = level
                }
            }
        }
    }
    let bars_back: Vec<serde_json::Value> = query(back.to_str().unwrap(), &["--symbol", "AIG"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(bars_back.len(), closes.len());
    for v in &bars_back {
        let (bid, ask) = &closes[&v["ts"].as_i64().unwrap()];
        assert_eq!(
            &serde_json::json!([v["bid_price"], v["bid_size"]]),
            bid,
            "{v}"
        );
        assert_eq!(
            &serde_json::json!([v["ask_price"], v["ask_size"]]),
            ask,
            "{v}"
        );
    }

    // Forex (FXCM quote ticks, UTC-5) and crypto (trade and quote ticks, plain decimals with
    // their trailing zeros): imported, exported, the same rows and names.
    let crypto = dir.path().join("crypto/coinbase/tick/btcusd");
    std::fs::create_dir_all(&crypto).unwrap();
    for (zip_name, entry, rows) in [
        (
            "20140501_trade.zip",
            "20140501_btcusd_tick_trade.csv",
            "1787,445.10,0.0150,0\n86399999.5,445.2,1,1",
        ),
        (
            "20140501_quote.zip",
            "20140501_btcusd_tick_quote.csv",
            "1787,445.00,1.5,445.30,2,0\n3600000,445.01,0.5,445.30,2,0",
        ),
    ] {
        let mut w = zip::ZipWriter::new(std::fs::File::create(crypto.join(zip_name)).unwrap());
        w.start_file(entry, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut w, rows.as_bytes()).unwrap();
        w.finish().unwrap();
    }
    for file in [
        testdata("lean/forex/fxcm/tick/eurusd/20140501_quote.zip"),
        crypto.join("20140501_trade.zip"),
        crypto.join("20140501_quote.zip"),
    ] {
        let o = strata(&[
            "--root",
            &root,
            "-q",
            "ingest",
            "--format",
            "lean",
            file.to_str().unwrap(),
        ]);
        assert!(
            o.status.success(),
            "{}: {}",
            file.display(),
            text(&o.stderr)
        );
    }
    for (name, security, market, symbol, files) in [
        (
            "lean-fx",
            "forex",
            "fxcm",
            "EURUSD",
            vec![(
                "forex/fxcm/tick/eurusd/20140501_quote.zip",
                testdata("lean/forex/fxcm/tick/eurusd/20140501_quote.zip"),
            )],
        ),
        (
            "lean-btc",
            "crypto",
            "coinbase",
            "BTCUSD",
            vec![
                (
                    "crypto/coinbase/tick/btcusd/20140501_trade.zip",
                    crypto.join("20140501_trade.zip"),
                ),
                (
                    "crypto/coinbase/tick/btcusd/20140501_quote.zip",
                    crypto.join("20140501_quote.zip"),
                ),
            ],
        ),
    ] {
        let folder = dir.path().join(name);
        let o = strata(&[
            "--root",
            &root,
            "-q",
            "export",
            "--format",
            "lean",
            "--lean-security",
            security,
            "--lean-market",
            market,
            "--symbol",
            symbol,
            "--out",
            folder.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{name}: {}", text(&o.stderr));
        for (path, sample) in files {
            let (entry, bytes) = zip_entry(&folder.join(path));
            let (sample_entry, sample_bytes) = zip_entry(&sample);
            assert_eq!(entry, sample_entry, "{path}");
            // The FXCM sample ends its lines with CR LF; Lean today writes LF.
            let rows = |b: Vec<u8>| -> Vec<String> {
                String::from_utf8(b)
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect()
            };
            assert_eq!(rows(bytes), rows(sample_bytes), "{path}");
        }
    }

    // A price Lean cannot hold is an error naming the event; nothing is left behind.
    let odd = dir.path().join("odd.jsonl");
    std::fs::write(
        &odd,
        "{\"v\":\"1.3\",\"kind\":\"trade\",\"source\":\"lean\",\"symbol\":\"ODD\",\"ts\":1381152600000000000,\"price\":\"1.23456\",\"size\":\"2\"}\n",
    )
    .unwrap();
    let o = strata(&[
        "--root",
        &root,
        "-q",
        "ingest",
        "--format",
        "jsonl",
        odd.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = dir.path().join("lean-odd");
    let o = strata(&[
        "--root",
        &root,
        "export",
        "--format",
        "lean",
        "--lean-security",
        "equity",
        "--symbol",
        "ODD",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("ODD trade at 2013-10-07T13:30:00Z")
            && text(&o.stderr).contains("more than four decimals"),
        "{}",
        text(&o.stderr)
    );
    assert!(!out.exists());
    // Crypto needs its market; futures are not written.
    let o = strata(&[
        "--root",
        &root,
        "export",
        "--format",
        "lean",
        "--lean-security",
        "crypto",
        "--symbol",
        "SPY",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("--lean-market"),
        "{}",
        text(&o.stderr)
    );
}

/// Export profiles (EXPORT-2) set the format and its options, the manifest names the profile,
/// flags beside a profile win, and an unknown profile lists the known ones.
#[test]
fn export_profiles_set_their_formats() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path());
    let export = |name: &str, args: &[&str]| {
        let folder = dir.path().join(name);
        let o = strata(
            &[
                &[
                    "--root",
                    root.as_str(),
                    "--json",
                    "export",
                    "--symbol",
                    "SPY",
                    "--kind",
                    "trade",
                    "--out",
                ][..],
                &[folder.to_str().unwrap()],
                args,
            ]
            .concat(),
        );
        (folder, o)
    };
    for (i, (profile, extra, format, file)) in [
        ("python", &[][..], "parquet", "trade.parquet"),
        (
            "research",
            &[][..],
            "parquet",
            "kind=trade/symbol=SPY/date=2013-10-07/part.parquet",
        ),
        ("timescaledb", &[][..], "postgres", "trade.sql"),
        (
            "lean",
            &[][..],
            "lean",
            "equity/usa/tick/spy/20131007_trade.zip",
        ),
        (
            "research",
            &["--format", "csv"][..],
            "csv",
            "kind=trade/symbol=SPY/date=2013-10-07/part.csv",
        ),
        ("python", &["--no-dedup"][..], "parquet", "trade.parquet"),
        (
            "timescaledb",
            &["--format", "parquet"][..],
            "parquet",
            "trade.parquet",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let (folder, o) = export(
            &format!("p-{i}-{profile}-{format}"),
            &[&["--profile", profile][..], extra].concat(),
        );
        let manifest = common::json(&o)["manifest"].clone();
        assert_eq!(manifest["profile"], profile, "{manifest}");
        assert_eq!(manifest["format"], format, "{manifest}");
        assert!(folder.join(file).exists(), "{profile}: no {file}");
        let dedup = matches!(profile, "python" | "research") && !extra.contains(&"--no-dedup");
        assert_eq!(manifest["steps"]["dedup"], dedup, "{manifest}");
        // Hypertables only where the format is SQL.
        assert_eq!(
            manifest["timescaledb"].as_bool().unwrap_or(false),
            format == "postgres",
            "{manifest}"
        );
        let check = strata(&[
            "--root",
            &root,
            "export",
            "verify",
            folder.to_str().unwrap(),
        ]);
        assert!(check.status.success(), "{profile}: {}", text(&check.stdout));
    }
    let script =
        std::fs::read_to_string(dir.path().join("p-2-timescaledb-postgres/trade.sql")).unwrap();
    assert!(
        script.contains("create_hypertable('trade', 'ts'"),
        "{script:.300}"
    );
    let (_, o) = export("p-nope", &["--profile", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("python, lean, timescaledb, research"),
        "{}",
        text(&o.stderr)
    );
}

/// Time alignment and the quality filter on the way out (EXPORT-5), on real AIG quotes and SPY
/// trades: one quote per minute that had quotes, at the minute's end, the minute's last; a
/// suspicious trade and a crossed quote dropped, everything else kept; an export with both
/// steps verifies against the archive.
#[test]
fn quotes_align_to_a_grid_and_the_quality_filter_drops_bad_events() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path());
    let lines = |args: &[&str]| -> Vec<serde_json::Value> {
        let o = strata(&[&["--root", root.as_str(), "query"][..], args].concat());
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        text(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let quotes = lines(&["--symbol", "AIG", "--kind", "bbo_quote"]);
    let mut last_by_minute: std::collections::BTreeMap<i64, serde_json::Value> = Default::default();
    for q in &quotes {
        let end = (q["ts"].as_i64().unwrap() / 60_000_000_000 + 1) * 60_000_000_000;
        last_by_minute.insert(end, q.clone());
    }
    let aligned = lines(&["--symbol", "AIG", "--kind", "bbo_quote", "--align", "1m"]);
    assert_eq!(aligned.len(), last_by_minute.len());
    for a in &aligned {
        let ts = a["ts"].as_i64().unwrap();
        let last = &last_by_minute[&ts];
        assert_eq!(
            (&a["bid_price"], &a["ask_price"], &a["seq"]),
            (&last["bid_price"], &last["ask_price"], &last["seq"]),
            "{a}"
        );
    }

    // A suspicious trade and a crossed quote join the real ones; the filter drops just them.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"v\":\"1.3\",\"kind\":\"trade\",\"source\":\"lean\",\"symbol\":\"SPY\",\"ts\":1381152600000000007,\"price\":\"170.00\",\"size\":\"5\",\"conditions\":\"suspicious\"}\n\
         {\"v\":\"1.3\",\"kind\":\"bbo_quote\",\"source\":\"lean\",\"symbol\":\"AIG\",\"ts\":1381325400000000007,\"bid_price\":\"48.10\",\"bid_size\":\"1\",\"ask_price\":\"48.00\",\"ask_size\":\"1\"}\n",
    )
    .unwrap();
    let o = strata(&[
        "--root",
        &root,
        "-q",
        "ingest",
        "--format",
        "jsonl",
        bad.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for (symbol, kind) in [("SPY", "trade"), ("AIG", "bbo_quote")] {
        let all = lines(&["--symbol", symbol, "--kind", kind]);
        let kept = lines(&["--symbol", symbol, "--kind", kind, "--quality-filter"]);
        let flagged: Vec<&serde_json::Value> = all
            .iter()
            .filter(|e| {
                e["conditions"]
                    .as_str()
                    .is_some_and(|c| c.contains("suspicious"))
                    || (e["bid_price"].is_string()
                        && e["ask_price"].is_string()
                        && e["bid_price"].as_str().unwrap().parse::<f64>().unwrap()
                            > e["ask_price"].as_str().unwrap().parse::<f64>().unwrap())
            })
            .collect();
        assert!(
            flagged
                .iter()
                .any(|e| e["ts"].as_i64().unwrap() % 1000 == 7),
            "{symbol}"
        );
        assert_eq!(kept.len(), all.len() - flagged.len(), "{symbol}");
        assert!(
            kept.iter().all(|e| e["ts"].as_i64().unwrap() % 1000 != 7),
            "{symbol}"
        );
    }
    let folder = dir.path().join("x-aligned");
    let o = strata(&[
        "--root",
        &root,
        "-q",
        "export",
        "--format",
        "parquet",
        "--symbol",
        "AIG",
        "--kind",
        "bbo_quote",
        "--align",
        "1m",
        "--quality-filter",
        "--out",
        folder.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["steps"]["align_s"], 60, "{manifest}");
    assert_eq!(manifest["steps"]["quality_filter"], true, "{manifest}");
    let check = strata(&[
        "--root",
        &root,
        "export",
        "verify",
        folder.to_str().unwrap(),
    ]);
    assert!(check.status.success(), "{}", text(&check.stdout));
}

/// Sessions as a unit (SESSION-2) on real Lean trades and quotes: a session verifies against
/// its report (files read and checked, counts by kind, symbol and source) and a damaged file is
/// named; two captures of the same trades compare as fully shared and unrelated sessions as
/// disjoint; a merged session stands for its members in `query`, `export` and `verify`.
/// SESSION-2 through a consolidation: two imports of one symbol's trades on one day, their
/// times interleaved, become one warm file; each session's query, verification and export still
/// hold exactly its own events.
#[test]
fn sessions_keep_their_events_through_a_consolidation() {
    let (dir, root) = empty_archive();
    let config = std::path::Path::new(&root).join("strata.toml");
    let text_of = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text_of
            .replace("[tiers.warm]\n", "[tiers.warm]\nconsolidate = \"daily\"\n")
            .replace("[tiers.cold]\n", "[tiers.cold]\nconsolidate = \"daily\"\n"),
    )
    .unwrap();
    // Trade i of 400 at 14:30 + i seconds; the even ones in one file, the odd in the other.
    let mut halves = [String::new(), String::new()];
    for i in 0..400u64 {
        halves[(i % 2) as usize].push_str(&format!(
            "{{\"v\":\"1.3\",\"kind\":\"trade\",\"source\":\"feed\",\"symbol\":\"SPY\",\"ts\":{},\"price\":\"168.{:02}\",\"size\":\"{}\"}}\n",
            1_381_156_200_000_000_000u64 + i * 1_000_000_000,
            i % 100,
            1 + i
        ));
    }
    let mut ids = Vec::new();
    for (k, half) in halves.iter().enumerate() {
        let file = dir.path().join(format!("half-{k}.jsonl"));
        std::fs::write(&file, half).unwrap();
        let o = strata(&[
            "--root",
            &root,
            "--json",
            "ingest",
            "--format",
            "jsonl",
            file.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let report = common::json(&o);
        ids.push(report["session"].as_str().unwrap().to_string());
    }
    // Hot -> one warm JSONL file of the day, then -> one cold Parquet file of the day.
    for (now, tier) in [("2013-10-12", "warm/"), ("2013-11-30", "cold/")] {
        let o = strata(&["--root", &root, "--now", now, "lifecycle", "run"]);
        assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
        let usage = common::json(&strata(&["--root", &root, "--json", "catalog", "usage"]));
        let paths: Vec<&str> = usage["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths.len(), 1, "{usage}");
        assert!(paths[0].starts_with(tier), "{usage}");
        for (k, id) in ids.iter().enumerate() {
            let o = strata(&["--root", &root, "query", "--session", id]);
            assert!(o.status.success(), "{}", text(&o.stderr));
            let got: Vec<u64> = text(&o.stdout)
                .lines()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(l).unwrap()["size"]
                        .as_str()
                        .unwrap()
                        .parse()
                        .unwrap()
                })
                .collect();
            let expected: Vec<u64> = (0..400u64)
                .filter(|i| i % 2 == k as u64)
                .map(|i| 1 + i)
                .collect();
            assert_eq!(got, expected, "{tier} {id}");
            let o = strata(&["--root", &root, "sessions", "verify", id]);
            assert!(
                o.status.success(),
                "{tier} {id}: {}{}",
                text(&o.stdout),
                text(&o.stderr)
            );
            let out = dir.path().join(format!("export-{tier}{k}"));
            let o = strata(&[
                "--root",
                &root,
                "-q",
                "export",
                "--format",
                "csv",
                "--session",
                id,
                "--out",
                out.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{}", text(&o.stderr));
            let check = strata(&["--root", &root, "export", "verify", out.to_str().unwrap()]);
            assert!(check.status.success(), "{}", text(&check.stdout));
        }
    }
}

#[test]
fn sessions_verify_compare_and_merge() {
    let (dir, root) = empty_archive();
    let spy = testdata("lean/equity/usa/tick/spy/20131007_trade.zip");
    let aig = testdata("lean/equity/usa/tick/aig/20131009_quote.zip");
    for args in [
        vec!["ingest", "--format", "lean", spy.to_str().unwrap()],
        vec![
            "ingest",
            "--format",
            "lean",
            "--source",
            "second-capture",
            spy.to_str().unwrap(),
        ],
        vec!["ingest", "--format", "lean", aig.to_str().unwrap()],
    ] {
        let o = strata(&[&["--root", root.as_str(), "-q"][..], &args].concat());
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
    }
    let ids: Vec<String> = common::json(&strata(&["--root", &root, "--json", "sessions"]))
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    let (spy1, spy2, quotes) = (&ids[0], &ids[1], &ids[2]);
    let count = |args: &[&str]| {
        let o = strata(&[&["--root", root.as_str(), "query"][..], args].concat());
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout).lines().count() as u64
    };
    let trades = count(&["--symbol", "SPY", "--source", "lean"]);

    // Verify: every file and count as the report says.
    for id in &ids {
        let check = common::json(&strata(&[
            "--root", &root, "--json", "sessions", "verify", id,
        ]));
        assert_eq!(check["problems"], serde_json::json!([]), "{check}");
        assert!(check["files"].as_u64().unwrap() >= 1, "{check}");
        assert_eq!(check["events"], check["reported"], "{check}");
    }
    // Compare: the two captures of SPY share every trade; SPY and AIG share nothing.
    let cmp = common::json(&strata(&[
        "--root", &root, "--json", "sessions", "compare", spy1, spy2,
    ]));
    assert_eq!(cmp["total"]["a"], trades, "{cmp}");
    assert_eq!(cmp["total"]["b"], trades, "{cmp}");
    assert_eq!(cmp["total"]["shared"], trades, "{cmp}");
    let cmp = common::json(&strata(&[
        "--root", &root, "--json", "sessions", "compare", spy1, quotes,
    ]));
    assert_eq!(cmp["total"]["shared"], 0, "{cmp}");
    assert!(
        cmp["by_stream"]["bbo_quote AIG"]["b"].as_u64().unwrap() > 0,
        "{cmp}"
    );

    // Merge: one session standing for two; query, export and verify take it whole.
    let merged = common::json(&strata(&[
        "--root", &root, "--json", "sessions", "merge", spy1, quotes, "--into", "day-set",
    ]));
    assert_eq!(
        merged["merged_from"].as_array().unwrap().len(),
        2,
        "{merged}"
    );
    let quotes_n = count(&["--symbol", "AIG"]);
    assert_eq!(count(&["--session", "day-set"]), trades + quotes_n);
    let check = common::json(&strata(&[
        "--root", &root, "--json", "sessions", "verify", "day-set",
    ]));
    assert_eq!(check["problems"], serde_json::json!([]), "{check}");
    assert_eq!(check["events"], trades + quotes_n, "{check}");
    let folder = dir.path().join("x-set");
    let o = strata(&[
        "--root",
        &root,
        "-q",
        "export",
        "--format",
        "jsonl",
        "--session",
        "day-set",
        "--out",
        folder.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let check = strata(&[
        "--root",
        &root,
        "export",
        "verify",
        folder.to_str().unwrap(),
    ]);
    assert!(check.status.success(), "{}", text(&check.stdout));
    let listed = text(&strata(&["--root", &root, "sessions"]).stdout);
    assert!(listed.contains("merged from"), "{listed}");
    for (args, why) in [
        (
            vec!["merge", spy1.as_str(), quotes.as_str(), "--into", "day-set"],
            "exists already",
        ),
        (
            vec!["merge", spy1.as_str(), spy1.as_str(), "--into", "again"],
            "two different",
        ),
        (
            vec!["merge", "day-set", spy1.as_str(), "--into", "again"],
            "in the merge twice",
        ),
        (
            vec!["merge", spy1.as_str(), "nope", "--into", "again"],
            "no session `nope`",
        ),
        (vec!["verify", "nope"], "no session `nope`"),
    ] {
        let o = strata(&[&["--root", root.as_str(), "sessions"][..], &args].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(why),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }

    // A damaged file of the first session is named (the default layout numbers the day's
    // files in the order they were written: the first import's is `_000001`).
    let file = std::path::Path::new(&root).join("hot/SPY/trade/2013-10-07_000001.jsonl.zst");
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let o = strata(&["--root", &root, "sessions", "verify", spy1]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("hot/SPY/trade/2013-10-07_000001.jsonl.zst: its SHA-256"),
        "{}",
        text(&o.stdout)
    );
}

/// SIGINT or SIGTERM during an export (the full SPY day of ../shared/data when it is there,
/// else the committed cut): the export stops between two events with 130 or 143 and removes its
/// folder, so nothing is left beside `--out`; had it finished before the signal, its folder is
/// whole.
#[test]
fn a_signal_stops_an_export_and_leaves_nothing_behind() {
    let (dir, root) = empty_archive();
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/lean/equity/usa/tick/spy");
    let days = ["20131007_trade.zip", "20131008_trade.zip"].map(|d| shared.join(d));
    let files: Vec<std::path::PathBuf> = if days.iter().all(|d| d.exists()) {
        days.to_vec()
    } else {
        vec![testdata("lean/equity/usa/tick/spy/20131007_trade.zip")]
    };
    for spy in &files {
        let o = strata(&[
            "--root",
            &root,
            "-q",
            "ingest",
            "--format",
            "lean",
            spy.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let out = dir.path().join(format!("x-{signal}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args([
                // gzipped CSV: the slowest format, so the signal comes while it runs.
                "--root", &root, "-q", "export", "--format", "csv", "--gzip", "--symbol", "SPY",
                "--out",
            ])
            .arg(&out)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let sent = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!("x-{signal}.partial")))
            .collect();
        assert!(left.is_empty(), "{signal}: {left:?} left behind");
        eprintln!("{signal}: {status:?}");
        match status.code() {
            // Finished before the signal came: a whole export.
            Some(0) => assert!(out.join("manifest.json").exists() || !sent.success()),
            Some(c) => {
                assert_eq!(c, code, "{signal}");
                assert!(!out.exists(), "{signal}: {} exists", out.display());
            }
            // Killed before its handler was installed: nothing was begun.
            None => assert!(!out.exists()),
        }
    }
}

/// A new archive (`strata init`) in a temporary folder, and its root's path.
fn empty_archive() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a").to_str().unwrap().to_string();
    assert!(strata(&["init", &root, "-q"]).status.success());
    (dir, root)
}

/// Every entry of a zip: names and bytes, in the zip's order.
fn zip_entries(path: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (entry.name().to_string(), bytes)
        })
        .collect()
}

/// Writes each Lean zip of `files` (its path under `dir/in`, its entries' names and rows) and
/// ingests it into the archive at `root`.
fn ingest_lean_zips(dir: &std::path::Path, root: &str, files: &[(&str, Vec<(&str, &str)>)]) {
    for (path, entries) in files {
        let path = dir.join("in").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut w = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        for (name, rows) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut w, rows.as_bytes()).unwrap();
        }
        w.finish().unwrap();
        let o = strata(&[
            "--root",
            root,
            "-q",
            "ingest",
            "--format",
            "lean",
            path.to_str().unwrap(),
        ]);
        assert!(
            o.status.success(),
            "{}: {}",
            path.display(),
            text(&o.stderr)
        );
    }
}

/// The export in `out` holds the zip `path` with the very entries (names and rows) imported.
fn assert_as_imported(out: &std::path::Path, path: &str, entries: &[(&str, &str)]) {
    let written = zip_entries(&out.join(path));
    let names: Vec<&str> = written.iter().map(|(n, _)| n.as_str()).collect();
    let expected: Vec<&str> = entries.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, expected, "{path}");
    for ((name, bytes), (_, rows)) in written.iter().zip(entries) {
        assert_eq!(text(bytes), *rows, "{path}: {name}");
    }
}

/// `strata export --format lean` of `symbols`' events of `kinds` into `out`.
fn export_lean(
    root: &str,
    out: &std::path::Path,
    security: &str,
    market: &str,
    kinds: &[&str],
    symbols: &[&str],
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "--root",
        root,
        "export",
        "--format",
        "lean",
        "--lean-security",
        security,
        "--lean-market",
        market,
        "--out",
        out.to_str().unwrap(),
    ];
    for kind in kinds {
        args.extend(["--kind", kind]);
    }
    for symbol in symbols {
        args.extend(["--symbol", symbol]);
    }
    args.extend(extra);
    strata(&args)
}

/// A contract written as JSONL (so strata never learned from a Lean file what Lean names it by)
/// is refused by a Lean export, naming it and `why`, and nothing is left behind.
fn refused_without_lean_names(
    dir: &std::path::Path,
    root: &str,
    security: &str,
    market: &str,
    (symbol, ts, price): (&str, u64, &str),
    why: &str,
) {
    let jsonl = dir.join(format!("{symbol}.jsonl"));
    std::fs::write(
        &jsonl,
        format!("{{\"v\":\"1.3\",\"kind\":\"trade\",\"source\":\"feed\",\"symbol\":\"{symbol}\",\"ts\":{ts},\"price\":\"{price}\",\"size\":\"1\"}}\n"),
    )
    .unwrap();
    let o = strata(&[
        "--root",
        root,
        "-q",
        "ingest",
        "--format",
        "jsonl",
        jsonl.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = dir.join(format!("refused-{symbol}"));
    let o = export_lean(root, &out, security, market, &["trade"], &[symbol], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let stderr = text(&o.stderr);
    assert!(stderr.contains(symbol) && stderr.contains(why), "{stderr}");
    assert!(!out.exists());
}

/// Lean index options (prices ×10⁴, New York time, zips named by the option's own ticker) and
/// options on futures (plain prices, UTC, filed under the future's root and a folder of its
/// expiry at every resolution): the names and rows come back byte for byte as imported.
#[test]
fn lean_index_option_and_future_option_exports_keep_each_contract() {
    let (dir, root) = empty_archive();
    let index = [
        (
            "indexoption/usa/tick/spxw/20210104_trade_european.zip",
            vec![
                (
                    "20210104_spxw_tick_trade_european_call_37000000_20210108.csv",
                    "34200000,452500,2,C,,0\n34200750,453000,1,C,,0",
                ),
                (
                    "20210104_spxw_tick_trade_european_put_37000000_20210108.csv",
                    "34201000,310000,3,C,,0",
                ),
            ],
        ),
        (
            "indexoption/usa/tick/spxw/20210104_quote_european.zip",
            vec![(
                "20210104_spxw_tick_quote_european_call_37000000_20210108.csv",
                "34200000,451000,5,454000,7,C,0",
            )],
        ),
        (
            "indexoption/usa/daily/spxw_2021_trade_european.zip",
            vec![(
                "spxw_trade_european_call_37000000_20210108.csv",
                "20210104 00:00,452500,470000,440000,461000,350",
            )],
        ),
    ];
    let future = [
        (
            "futureoption/cme/tick/es/20210319/20210104_trade_american.zip",
            vec![(
                "20210104_es_tick_trade_american_call_37000000_20210115.csv",
                "50400000,45.25,2,CME,,0\n50400500,45.5,1,CME,,0",
            )],
        ),
        (
            "futureoption/cme/tick/es/20210319/20210104_openinterest_american.zip",
            vec![(
                "20210104_es_tick_openinterest_american_call_37000000_20210115.csv",
                "0,1200",
            )],
        ),
        (
            "futureoption/cme/minute/es/20210319/20210104_trade_american.zip",
            vec![(
                "20210104_es_minute_trade_american_call_37000000_20210115.csv",
                "50400000,45.25,45.5,45.25,45.5,3",
            )],
        ),
        (
            "futureoption/cme/daily/es/20210319/es_2021_trade_american.zip",
            vec![(
                "es_trade_american_call_37000000_20210115.csv",
                "20210104 00:00,44,46.75,43.5,45.5,800\n20210105 00:00,45.5,48,45,47.25,650",
            )],
        ),
    ];
    ingest_lean_zips(dir.path(), &root, &index);
    ingest_lean_zips(dir.path(), &root, &future);
    let kinds = ["trade", "bbo_quote", "open_interest", "bar"];
    for (name, security, market, symbols, files) in [
        (
            "index",
            "indexoption",
            "usa",
            vec!["SPXW-20210108-C-3700", "SPXW-20210108-P-3700"],
            &index[..],
        ),
        (
            "future",
            "futureoption",
            "cme",
            vec!["ES-20210319-20210115-C-3700"],
            &future[..],
        ),
    ] {
        let out = dir.path().join(name);
        let o = export_lean(&root, &out, security, market, &kinds, &symbols, &[]);
        assert!(o.status.success(), "{name}: {}", text(&o.stderr));
        for (path, entries) in files {
            assert_as_imported(&out, path, entries);
        }
        let check = strata(&["--root", &root, "export", "verify", out.to_str().unwrap()]);
        assert!(
            check.status.success(),
            "{name}: {}{}",
            text(&check.stdout),
            text(&check.stderr)
        );
    }
    // The same bytes under another future's expiry folder are another contract's file, not an
    // input already imported (the entries do not name the future; the folder does).
    let (path, entries) = &future[0];
    let other = [(path.replace("/20210319/", "/20210618/"), entries.clone())];
    let other: Vec<(&str, Vec<(&str, &str)>)> =
        other.iter().map(|(p, e)| (p.as_str(), e.clone())).collect();
    ingest_lean_zips(dir.path(), &root, &other);
    let o = strata(&[
        "--root",
        &root,
        "query",
        "--symbol",
        "ES-20210618-20210115-C-3700",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).lines().count(), 2, "{}", text(&o.stderr));
    // An option on a future exported as an option (or an index option) is refused: its
    // underlying `ES-20210319` cannot name Lean's files.
    for security in ["option", "indexoption"] {
        let out = dir.path().join(format!("as-{security}"));
        let o = export_lean(
            &root,
            &out,
            security,
            "usa",
            &["trade"],
            &["ES-20210319-20210115-C-3700"],
            &[],
        );
        assert_eq!(o.status.code(), Some(1), "{security}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains("upper-case letters and digits"),
            "{}",
            text(&o.stderr)
        );
        assert!(!out.exists());
    }
    // An equity option is no option on a future: refused, naming the form it needs.
    let out = dir.path().join("wrong");
    let o = export_lean(
        &root,
        &out,
        "futureoption",
        "cme",
        &kinds,
        &["SPXW-20210108-C-3700"],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains("SPXW-20210108-C-3700") && stderr.contains("the future's expiry"),
        "{stderr}"
    );
    assert!(!out.exists());
}

/// A session's Lean export without `--symbol` writes one contract at a time (split by the
/// symbols its files hold), so 120 contracts export under `ulimit -n 48`.
#[test]
fn a_sessions_lean_export_opens_one_contract_at_a_time() {
    let (dir, root) = empty_archive();
    let rows: Vec<(String, String)> = (0..120)
        .map(|k| {
            (
                format!(
                    "20210104_spxw_tick_trade_european_call_{}_20210108.csv",
                    30_000_000 + k * 50_000
                ),
                format!("{},452500,2,C,,0", 34_200_000 + k),
            )
        })
        .collect();
    let entries: Vec<(&str, &str)> = rows.iter().map(|(n, r)| (n.as_str(), r.as_str())).collect();
    let zip = dir
        .path()
        .join("in/indexoption/usa/tick/spxw/20210104_trade_european.zip");
    std::fs::create_dir_all(zip.parent().unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
    for (name, rows) in &entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut w, rows.as_bytes()).unwrap();
    }
    w.finish().unwrap();
    let o = strata(&[
        "--root",
        &root,
        "--json",
        "ingest",
        "--format",
        "lean",
        zip.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let session = common::json(&o)["session"].as_str().unwrap().to_string();
    let out = dir.path().join("out");
    let o = Command::new("sh")
        .args([
            "-c",
            "ulimit -n 48 && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_strata"),
            "--root",
            &root,
            "export",
            "--format",
            "lean",
            "--lean-security",
            "indexoption",
            "--lean-market",
            "usa",
            "--session",
            &session,
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_as_imported(
        &out,
        "indexoption/usa/tick/spxw/20210104_trade_european.zip",
        &entries,
    );
}

/// Lean futures exports: one zip per root and day (hour and daily: per root), one entry per
/// contract named by its contract month and expiry, plain prices, UTC times. The contract month
/// is the one the imported entry named — crude oil's December contract expires in November —
/// and a contract whose month strata never learned is refused, naming it.
#[test]
fn lean_futures_exports_keep_each_contract_and_its_month() {
    let (dir, root) = empty_archive();
    // Two ES contracts in one day's zip, a CL contract whose month is not its expiry's, and
    // ES minute bars.
    let files = [
        (
            "future/cme/tick/es/20131007_trade.zip",
            vec![
                (
                    "20131007_es_tick_trade_201312_20131220.csv",
                    "34200000,1685.25,3,CME,,0\n34200500.25,1685.5,1,CME,,1",
                ),
                (
                    "20131007_es_tick_trade_201403_20140321.csv",
                    "34201000,1678.75,2,CME,,0",
                ),
            ],
        ),
        (
            "future/cme/tick/es/20131007_quote.zip",
            vec![(
                "20131007_es_tick_quote_201312_20131220.csv",
                "34200000,1685,10,1685.25,12,CME,0\n34200100,1685,9,1685.25,14,CME,0",
            )],
        ),
        (
            "future/cme/tick/es/20131007_openinterest.zip",
            vec![
                (
                    "20131007_es_tick_openinterest_201312_20131220.csv",
                    "0,2750000\n86000000,2751500",
                ),
                ("20131007_es_tick_openinterest_201403_20140321.csv", "0,40210"),
            ],
        ),
        (
            "future/nymex/tick/cl/20131007_trade.zip",
            vec![(
                "20131007_cl_tick_trade_201312_20131119.csv",
                "50400000,103.52,4,NYMEX,,0\n50400001,103.53,1,NYMEX,,0",
            )],
        ),
        (
            "future/cme/minute/es/20131007_trade.zip",
            vec![(
                "20131007_es_minute_trade_201312_20131220.csv",
                "34200000,1685.25,1685.75,1685,1685.5,120\n34260000,1685.5,1686,1685.25,1686,80",
            )],
        ),
        (
            "future/cme/daily/es_trade.zip",
            vec![(
                "es_trade_201312_20131220.csv",
                "20131007 00:00,1680,1690,1675.5,1688.25,150000\n20131008 00:00,1688.25,1689,1660,1662.5,180000",
            )],
        ),
    ];
    // Open interest at hour and daily resolution, on days the tick files leave alone: one
    // file per root, stamped `yyyymmdd HH:mm`.
    let later = [
        (
            "future/cme/hour/es_openinterest.zip",
            vec![(
                "es_openinterest_201403_20140321.csv",
                "20131010 13:00,40500\n20131010 14:00,40650",
            )],
        ),
        (
            "future/cme/daily/es_openinterest.zip",
            vec![(
                "es_openinterest_201403_20140321.csv",
                "20131014 00:00,41000\n20131015 00:00,41225",
            )],
        ),
    ];
    ingest_lean_zips(dir.path(), &root, &files);
    ingest_lean_zips(dir.path(), &root, &later);
    for ((path, entries), (resolution, from, to)) in later.iter().zip([
        ("hour", "2013-10-10T00:00:00Z", "2013-10-11T00:00:00Z"),
        ("daily", "2013-10-14T00:00:00Z", "2013-10-16T00:00:00Z"),
    ]) {
        let out = dir.path().join(format!("oi-{resolution}"));
        let o = export_lean(
            &root,
            &out,
            "future",
            "cme",
            &["open_interest"],
            &["ES-20140321"],
            &["--lean-resolution", resolution, "--from", from, "--to", to],
        );
        assert!(o.status.success(), "{resolution}: {}", text(&o.stderr));
        assert_as_imported(&out, path, entries);
    }
    let export = |name: &str, market: &str, symbols: &[&str], bars: bool| {
        let out = dir.path().join(name);
        let kinds: &[&str] = if bars {
            &["bar"]
        } else {
            &["trade", "bbo_quote", "open_interest"]
        };
        let o = export_lean(&root, &out, "future", market, kinds, symbols, &[]);
        (out, o)
    };
    let (es, o) = export("es", "cme", &["ES-20131220", "ES-20140321"], false);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let (cl, o) = export("cl", "nymex", &["CL-20131119"], false);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let (bars, o) = export("bars", "cme", &["ES-20131220"], true);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for (out, (path, entries)) in [&es, &es, &es, &cl, &bars, &bars].into_iter().zip(&files) {
        assert_as_imported(out, path, entries);
        let check = strata(&["--root", &root, "export", "verify", out.to_str().unwrap()]);
        assert!(
            check.status.success(),
            "{}{}",
            text(&check.stdout),
            text(&check.stderr)
        );
    }
    // A contract strata has no month for: refused, naming it.
    refused_without_lean_names(
        dir.path(),
        &root,
        "future",
        "cme",
        ("ES-20140620", 1_381_152_600_000_000_000, "1670.5"),
        "contract month",
    );
}

/// Lean option exports: one zip per underlying, day (hour and daily: year) and style, one entry
/// per contract named by style, right, strike ×10⁴ and expiry, prices ×10⁴ as for equities —
/// the names and rows of trades, quotes, open interest and bars come back byte for byte as
/// imported; a contract whose style strata never learned is refused, naming it.
#[test]
fn lean_option_exports_keep_each_contract_and_its_style() {
    let (dir, root) = empty_archive();
    let files = [
        (
            "option/usa/tick/aapl/20210104_trade_american.zip",
            vec![
                (
                    "20210104_aapl_tick_trade_american_call_1400000_20210115.csv",
                    "34200000,12350,5,C,,0\n34200250,12400,1,C,,0",
                ),
                (
                    "20210104_aapl_tick_trade_american_put_1400000_20210115.csv",
                    "34201000,156000,2,X,,0",
                ),
            ],
        ),
        (
            "option/usa/tick/aapl/20210104_quote_american.zip",
            vec![(
                "20210104_aapl_tick_quote_american_call_1400000_20210115.csv",
                "34200000,12300,10,12400,12,C,0\n34200500,12300,8,12450,12,C,0",
            )],
        ),
        (
            "option/usa/tick/aapl/20210104_openinterest_american.zip",
            vec![
                (
                    "20210104_aapl_tick_openinterest_american_call_1400000_20210115.csv",
                    "34200000,1520",
                ),
                (
                    "20210104_aapl_tick_openinterest_american_put_1400000_20210115.csv",
                    "34200000,877",
                ),
            ],
        ),
        (
            "option/usa/minute/aapl/20210104_trade_american.zip",
            vec![(
                "20210104_aapl_minute_trade_american_call_1400000_20210115.csv",
                "34200000,12350,12400,12300,12400,6",
            )],
        ),
        (
            "option/usa/daily/aapl_2021_trade_american.zip",
            vec![(
                "aapl_trade_american_call_1400000_20210115.csv",
                "20210104 00:00,12350,12600,12000,12500,900\n20210105 00:00,12500,13000,12400,12900,700",
            )],
        ),
    ];
    ingest_lean_zips(dir.path(), &root, &files);
    let out = dir.path().join("out");
    let o = export_lean(
        &root,
        &out,
        "option",
        "usa",
        &["trade", "bbo_quote", "open_interest", "bar"],
        &["AAPL-20210115-C-140", "AAPL-20210115-P-140"],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    for (path, entries) in &files {
        assert_as_imported(&out, path, entries);
    }
    let check = strata(&["--root", &root, "export", "verify", out.to_str().unwrap()]);
    assert!(
        check.status.success(),
        "{}{}",
        text(&check.stdout),
        text(&check.stderr)
    );
    // A contract strata has no style for: refused, naming it.
    refused_without_lean_names(
        dir.path(),
        &root,
        "option",
        "usa",
        ("AAPL-20210219-C-150", 1_609_770_600_000_000_000, "2.5"),
        "exercise style",
    );
}
