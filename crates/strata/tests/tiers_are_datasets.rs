//! The cold and archive tiers are datasets outside tools open as they are (issue 11, TIER-6):
//! after `Archive::lifecycle_run`, DuckDB 2.0.1 and pyarrow 26.0.1 (installed by `.ci/run`) read
//! each tier's `kind=<kind>/symbol=<symbol>/date=<date>` folders as Hive-partitioned datasets and
//! get, per symbol, the event count and the exact price and size sums strata has — prices and
//! sizes as DECIMAL. The archive holds real data: the Lean SPY trades of 2013-10-07 imported
//! twice under two sources (whose hot files share a name, so their Parquet files must not
//! collide), AIG quotes of 2013-10-09 and FXCM EURUSD quotes of 2014-05-01.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use strata::archive::Archive;
use strata::catalog::FileQuery;
use strata::import::{Format, ImportOptions};
use strata::ingest::WriterOptions;
use strata::model::{Decimal, Payload, Timestamp};
use strata::policy::FileFormat;

#[test]
fn duckdb_and_pyarrow_open_the_cold_and_archive_tiers_as_datasets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("strata.toml"),
        "[layout]\nnaming = \"by_source\"\ngranularity = \"daily\"\n",
    )
    .unwrap();
    let archive = Archive::open_dir(dir.path()).unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let lean = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/lean");
    for (file, source) in [
        ("equity/usa/tick/spy/20131007_trade.zip", "lean"),
        ("equity/usa/tick/spy/20131007_trade.zip", "mirror"),
        ("equity/usa/tick/aig/20131009_quote.zip", "lean"),
        ("forex/fxcm/tick/eurusd/20140501_quote.zip", "lean"),
    ] {
        let options = ImportOptions {
            source: Some(source.into()),
            ..ImportOptions::default()
        };
        archive
            .import_file(
                &writer,
                &lean.join(file),
                Format::Lean,
                &options,
                &mut |_| {},
            )
            .unwrap();
    }
    writer.close().unwrap();
    // 2014-12-01: the 2013 days go to the archive tier, the EURUSD day to the cold tier.
    let report = archive
        .lifecycle_run(Timestamp::parse_flexible("2014-12-01").unwrap(), |_, _| {})
        .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.migrated.len(), 4, "{report:?}");

    // strata's own figures, per (tier, kind, symbol): events, price sum, size sum.
    type Sums = (u64, Decimal, Decimal);
    let mut expected: BTreeMap<(String, String, String), Sums> = BTreeMap::new();
    for m in archive.catalog().find(&FileQuery::all()).unwrap() {
        assert_eq!(m.format, FileFormat::Parquet, "{}", m.path);
        assert!(
            m.path.contains("/kind=") && m.path.contains("/symbol="),
            "{}",
            m.path
        );
        let bytes = std::fs::read(archive.root().join(&m.path)).unwrap();
        let (_, events) = strata::columnar::read_events(bytes::Bytes::from(bytes)).unwrap();
        for e in events {
            let (price, size) = match &e.payload {
                Payload::Trade(t) => (t.price, t.size),
                Payload::BboQuote(q) => match q.bid {
                    Some(l) => (l.price, l.size),
                    None => (Decimal::ZERO, Decimal::ZERO),
                },
                other => panic!("unexpected {other:?}"),
            };
            let key = (m.tier.to_string(), e.kind().to_string(), e.symbol.clone());
            let sums = expected
                .entry(key)
                .or_insert((0, Decimal::ZERO, Decimal::ZERO));
            sums.0 += 1;
            sums.1 = sums.1.checked_add(price).unwrap();
            sums.2 = sums.2.checked_add(size).unwrap();
        }
    }
    let spy = &expected[&("archive".into(), "trade".into(), "SPY".into())];
    assert_eq!(
        spy.0, 4000,
        "both sources' SPY trades are kept, in two files"
    );

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tiers_are_datasets.py");
    let python = std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(&python)
        .arg(&script)
        .arg(archive.root().join("cold"))
        .arg(archive.root().join("archive"))
        .output()
        .unwrap_or_else(|e| panic!("{python} does not run ({e}); set STRATA_PYTHON"));
    assert!(
        output.status.success(),
        "{} failed (DuckDB and pyarrow are installed by .ci/run): {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let key = (
            v["tier"].as_str().unwrap().to_string(),
            v["kind"].as_str().unwrap().to_string(),
            v["symbol"].as_str().unwrap().to_string(),
        );
        let (events, price, size) = expected
            .get(&key)
            .unwrap_or_else(|| panic!("{key:?} is not strata's: {line}"));
        let tool = if v["tool"] == "duckdb" {
            "duckdb"
        } else {
            "pyarrow"
        };
        *seen.entry(tool).or_insert(0) += 1;
        assert_eq!(v["events"].as_u64(), Some(*events), "{line}");
        let theirs = |f: &str| v[f].as_str().unwrap().parse::<Decimal>().unwrap();
        assert!(
            theirs("price").eq_value(*price),
            "{line}: strata's price sum is {price}"
        );
        assert!(
            theirs("size").eq_value(*size),
            "{line}: strata's size sum is {size}"
        );
        assert_eq!(v["partition_kind"], key.1, "{line}");
        let ty = v["price_type"].as_str().unwrap().to_lowercase();
        assert!(ty.starts_with("decimal"), "{line}");
    }
    assert_eq!(
        seen.get("duckdb"),
        Some(&expected.len()),
        "DuckDB saw every symbol"
    );
    assert_eq!(
        seen.get("pyarrow"),
        Some(&expected.len()),
        "pyarrow saw every symbol"
    );
}
