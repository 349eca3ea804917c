//! TIER-2, TIER-3, TIER-4: a lifecycle run — JSONL hot files recompressed into the warm tier
//! and converted to Parquet in the cold tier, hourly files consolidated into one per month
//! there, then cold Parquet rewritten into the write-once archive tier — is SIGKILLed at a random moment and run again to the end. After every round
//! the archive holds exactly the events it held before (no event lost, none twice), every
//! catalogued file exists with its checksum, no data file or sidecar is outside the catalog,
//! the index equals one rebuilt from the sidecars, the journal has no open operation, and the
//! plan has nothing left to do. 50 rounds of two kills each by default
//! (`STRATA_LIFECYCLE_KILL_ROUNDS=N` for more); in odd rounds the killed run consolidates in
//! two passes (`lifecycle.in_memory_events = 0`) and the re-run in one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use strata_catalog::{Catalog, FileQuery};
use strata_core::policy::FileFormat;

const STAGES: [&str; 2] = ["2014-06-01", "2015-03-01"];

fn testdata(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(path)
}

fn lifecycle(root: &Path, now: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata-test-lifecycle"));
    cmd.arg(root)
        .arg(now)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

/// Every catalogued event as its JSONL line, sorted: the archive's content as a multiset.
fn content(root: &Path) -> Vec<String> {
    let catalog = Catalog::open_read_only(root).unwrap();
    let mut lines = Vec::new();
    for m in catalog.find(&FileQuery::all()).unwrap() {
        let bytes = std::fs::read(root.join(&m.path)).unwrap();
        let events: Vec<strata_model::Event> = match m.format {
            FileFormat::Jsonl => {
                let plain = strata_codec::decompress(&bytes).unwrap();
                plain
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .map(|l| strata_model::jsonl::decode_line(l).unwrap())
                    .collect()
            }
            FileFormat::Parquet => {
                strata_columnar::read_events(bytes::Bytes::from(bytes))
                    .unwrap()
                    .1
            }
        };
        lines.extend(
            events
                .iter()
                .map(|e| String::from_utf8(strata_model::jsonl::encode_line(e).unwrap()).unwrap()),
        );
    }
    lines.sort();
    lines
}

/// Every data file and sidecar under the tier folders.
fn files_on_disk(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if rel.contains(".jsonl") || rel.contains(".parquet") {
                    out.push(rel);
                }
            }
        }
    }
    let mut out = Vec::new();
    for tier in ["hot", "warm", "cold", "archive"] {
        walk(&root.join(tier), root, &mut out);
    }
    out.sort();
    out
}

fn check_converged(root: &Path, expected: &[String], now: &str, ctx: &str) {
    assert_eq!(content(root), expected, "{ctx}: the events differ");
    let catalog = Catalog::open(root).unwrap();
    let manifests = catalog.find(&FileQuery::all()).unwrap();
    let mut catalogued = Vec::new();
    for m in &manifests {
        let data = root.join(&m.path);
        strata_catalog::verify_sha256(&data, &m.sha256)
            .unwrap_or_else(|e| panic!("{ctx}: {}: {e}", m.path));
        catalogued.push(m.path.clone());
        catalogued.push(strata_catalog::manifest::sidecar_key(&m.path));
    }
    catalogued.sort();
    assert_eq!(
        files_on_disk(root),
        catalogued,
        "{ctx}: files outside the catalog"
    );
    let before = catalog.dump().unwrap();
    catalog.rebuild(root).unwrap();
    assert_eq!(
        catalog.dump().unwrap(),
        before,
        "{ctx}: the index differs from the sidecars"
    );
    drop(catalog);
    let journal = std::fs::read_to_string(root.join("_lifecycle/journal.jsonl")).unwrap();
    let begun = journal.matches("\"op\":\"begin\"").count();
    let done = journal.matches("\"op\":\"done\"").count();
    assert_eq!(begun, done, "{ctx}: open operations in the journal");
    // Every operation audited exactly once, the chain intact (a kill between the audit record
    // and the journal's `done` must not record it twice).
    let audit = strata::lifecycle::AuditLog::new(root).verify().unwrap();
    assert_eq!(audit.broken, None, "{ctx}");
    let trail = std::fs::read_to_string(root.join("_lifecycle/audit.jsonl")).unwrap();
    let mut ops: Vec<u64> = trail
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["op"]
                .as_u64()
                .unwrap()
        })
        .collect();
    ops.sort_unstable();
    let before = ops.len();
    ops.dedup();
    assert_eq!(ops.len(), before, "{ctx}: an operation audited twice");
    assert_eq!(ops.len(), begun, "{ctx}: every operation audited");
    // Nothing left to do.
    let again = lifecycle(root, now).output().unwrap();
    assert!(again.status.success(), "{ctx}: a further run failed");
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "DONE 0 0 0 0",
        "{ctx}"
    );
    strata_tests::verify_all_checksums(root);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn killed_migrations_rerun_to_the_same_events_and_a_matching_catalog() {
    let rounds: u64 = std::env::var("STRATA_LIFECYCLE_KILL_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let seed: u64 = 0x5eed_11fe;
    let mut rng = seed;
    let dir = tempfile::tempdir().unwrap();

    // The archive every round starts from: real trades and quotes of several days in many files.
    let template = dir.path().join("template");
    let inputs = [
        "lean/equity/usa/tick/spy/20131007_trade.zip",
        "lean/equity/usa/tick/aig/20131009_quote.zip",
        "lean/forex/fxcm/tick/eurusd/20140501_quote.zip",
        "databento/esh4-glbx-mdp3-20231225.mbo.first2000.dbn.zst",
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_strata-test-import"))
        .arg(&template)
        .args(inputs.iter().map(|p| testdata(p)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = content(&template);
    assert!(expected.len() > 5_000, "{} events", expected.len());

    // A clean run of both stages: its time bounds where kills land, and it must converge too.
    let clean = dir.path().join("clean");
    copy_dir(&template, &clean);
    let mut budgets = Vec::new();
    for now in STAGES {
        let started = Instant::now();
        let out = lifecycle(&clean, now).output().unwrap();
        assert!(out.status.success());
        budgets.push(started.elapsed().as_millis() as u64 + 1);
        check_converged(&clean, &expected, now, &format!("clean run to {now}"));
    }
    // Consolidation ran: the cold and archive tiers hold one file per month, kind and symbol,
    // each made from the hourly hot files of its month.
    let catalog = Catalog::open_read_only(&clean).unwrap();
    let mut periods = std::collections::BTreeMap::new();
    let mut consolidated = 0;
    for m in catalog.find(&FileQuery::all()).unwrap() {
        if m.tier >= strata_core::policy::TierName::Cold {
            let first = m.stats.first_event_time.unwrap().utc_date();
            let key = (
                m.partition.kind,
                m.partition.symbol.clone(),
                first.format("%Y-%m").to_string(),
            );
            *periods.entry(key).or_insert(0) += 1;
            let parents = m
                .lineage
                .iter()
                .filter(|l| l.parent_path.starts_with("hot/"))
                .count();
            consolidated += usize::from(parents > 1);
        }
    }
    drop(catalog);
    assert!(
        consolidated >= 2,
        "{consolidated} consolidated files: {periods:?}"
    );
    assert!(periods.values().all(|&n| n == 1), "{periods:?}");
    let tiers_used: std::collections::BTreeSet<String> = files_on_disk(&clean)
        .iter()
        .map(|p| p.split('/').next().unwrap().to_string())
        .collect();
    assert!(
        tiers_used.contains("archive") && tiers_used.contains("cold"),
        "{tiers_used:?}"
    );

    let (mut kills, mut killed_mid, mut resumed) = (0u64, 0u64, 0u64);
    for round in 0..rounds {
        let root = dir.path().join(format!("round{round}"));
        copy_dir(&template, &root);
        for (stage, now) in STAGES.iter().enumerate() {
            // Odd rounds' killed runs consolidate in two passes, and their re-runs in one: a
            // target left by one way is recognised by the other by its events.
            let mut killed = lifecycle(&root, now);
            if round % 2 == 1 {
                killed.env("STRATA_TEST_IN_MEMORY_EVENTS", "0");
            }
            let mut child = killed.spawn().unwrap();
            std::thread::sleep(Duration::from_millis(
                strata_tests::next(&mut rng) % (budgets[stage] + 20),
            ));
            let _ = child.kill(); // SIGKILL
            let status = child.wait().unwrap();
            kills += 1;
            killed_mid += u64::from(!status.success());
            let again = lifecycle(&root, now).output().unwrap();
            let said = String::from_utf8_lossy(&again.stdout).to_string();
            assert!(
                again.status.success(),
                "round {round} stage {now}: the re-run failed: {said}"
            );
            resumed += said
                .split_whitespace()
                .nth(3)
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
            check_converged(
                &root,
                &expected,
                now,
                &format!("round {round} to {now} (seed {seed})"),
            );
        }
        std::fs::remove_dir_all(&root).unwrap();
    }
    println!(
        "killed migrations: {rounds} rounds, {kills} SIGKILLs ({killed_mid} before the run ended, {resumed} begun operations finished by the re-run), {} events, every round equal to the start",
        expected.len()
    );
    assert!(killed_mid * 2 >= kills, "most kills land mid-run");
    assert!(resumed > 0, "some kills land inside an operation");
}
