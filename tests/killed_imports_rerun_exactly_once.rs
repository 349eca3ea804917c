//! INGEST-8: an import of real vendor files (Lean tick and minute zips, Databento DBN) is
//! SIGKILLed at a random moment — while hashing, staging, committing, moving files into `hot/` or
//! sealing — and then run again to the end. Every round's archive must then hold exactly the
//! events of a clean import, each once: no event lost, none doubled, no staging left behind,
//! every checksum verified. 30 rounds by default; `STRATA_IMPORT_KILL_ROUNDS=N` for more.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The shared full data set (`$STRATA_DATA_DIR`, else `../shared/data` beside the workspace),
/// when it is present — as it is in CI, which runs beside `shared/`.
fn shared_data() -> Option<PathBuf> {
    let dir = match std::env::var_os("STRATA_DATA_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    dir.join("MANIFEST.tsv").is_file().then_some(dir)
}

/// The real-data inputs: whole vendor days from the shared data set — a full Lean SPY trade day
/// (250,601 trades), a full FXCM EURUSD quote day (51,053 quotes), a Lean minute day and both
/// Databento files whole (68,792 MBO and 2,288 MBP-1 records) — or, without it (a fresh clone
/// elsewhere), the committed cuts of the same files (see `testdata/README.md`).
fn inputs() -> (Vec<PathBuf>, &'static str) {
    if let Some(shared) = shared_data() {
        let files = [
            "lean/equity/usa/tick/spy/20131007_trade.zip",
            "lean/forex/fxcm/tick/eurusd/20140501_quote.zip",
            "lean/equity/usa/minute/spy/20131007_trade.zip",
            "nautilus/databento/esh4-glbx-mdp3-20231225.mbo.dbn.zst",
            "nautilus/databento/historical_bars_catalog/databento/futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst",
        ];
        return (
            files.iter().map(|p| shared.join(p)).collect(),
            "whole vendor days from the shared data set",
        );
    }
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    let files = [
        "lean/equity/usa/tick/spy/20131007_trade.zip",
        "lean/equity/usa/tick/aig/20131009_quote.zip",
        "lean/forex/fxcm/tick/eurusd/20140501_quote.zip",
        "lean/equity/usa/minute/spy/20131007_trade.zip",
        "databento/esh4-glbx-mdp3-20231225.mbo.first2000.dbn.zst",
        "databento/futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst",
    ];
    (
        files.iter().map(|p| testdata.join(p)).collect(),
        "committed cuts (the shared data set is absent)",
    )
}

fn import(root: &Path, inputs: &[PathBuf]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata-test-import"));
    cmd.arg(root)
        .args(inputs)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

/// Every stored event, as its JSONL line, sorted: the archive's content as a multiset.
fn content(root: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for file in strata_ingest::reader::hot_files(root).unwrap() {
        for event in strata_ingest::reader::read_events(&file).unwrap() {
            lines.push(
                String::from_utf8(strata_model::jsonl::encode_line(&event).unwrap()).unwrap(),
            );
        }
    }
    lines.sort();
    lines
}

#[test]
fn killed_imports_run_again_store_every_event_exactly_once() {
    let rounds: u64 = std::env::var("STRATA_IMPORT_KILL_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let seed: u64 = 0x1a2b_3c4d;
    let mut rng = seed;
    let (inputs, which) = inputs();
    let dir = tempfile::tempdir().unwrap();

    // The reference: one clean import.
    let clean_root = dir.path().join("clean");
    let started = Instant::now();
    let out = import(&clean_root, &inputs).output().unwrap();
    assert!(out.status.success());
    let clean_time = started.elapsed();
    let clean = content(&clean_root);
    assert!(clean.len() > 10_000, "{} events", clean.len());

    let (mut killed_mid, mut rolled_back, mut finished) = (0u64, 0u64, 0u64);
    // Anywhere from start-up to the end of a clean run. The clean run read the inputs from a
    // cold page cache (on a fresh CI machine much slower than the warm re-runs), so the window
    // shrinks by a quarter each time a run finishes before its kill.
    let mut budget = clean_time.as_millis() as u64 + 1;
    for round in 0..rounds {
        let root = dir.path().join(format!("round{round}"));
        let mut child = import(&root, &inputs).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(strata_tests::next(&mut rng) % budget));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        killed_mid += u64::from(!status.success());
        if status.success() {
            budget = (budget * 3 / 4).max(20);
        }

        // Run it again, to the end.
        let again = import(&root, &inputs).output().unwrap();
        assert!(again.status.success(), "round {round}: the re-run failed");
        let said = String::from_utf8_lossy(&again.stdout);
        finished += said.lines().filter(|l| l.starts_with("ALREADY ")).count() as u64;
        let ctx = format!("round {round} (seed {seed})");
        assert_eq!(
            content(&root),
            clean,
            "{ctx}: the archive differs from a clean import"
        );
        assert!(
            !root.join("_staging").exists()
                || std::fs::read_dir(root.join("_staging"))
                    .unwrap()
                    .next()
                    .is_none(),
            "{ctx}: staging left behind"
        );
        let ledger = strata_ingest::Ledger::load(&root).unwrap();
        assert_eq!(ledger.len(), inputs.len(), "{ctx}: one commit per input");
        let reports = strata_ingest::session::SessionReport::list(&root).unwrap();
        rolled_back += reports
            .iter()
            .map(|r| r.as_ref().unwrap().recovery.iter())
            .flat_map(|notes| notes.filter(|n| n.contains("rolled back")))
            .count() as u64;
        strata_tests::verify_all_checksums(&root);
        // The same import once more is a no-op.
        if round == 0 {
            let once_more = import(&root, &inputs).output().unwrap();
            let said = String::from_utf8_lossy(&once_more.stdout);
            assert_eq!(
                said.lines().filter(|l| l.starts_with("ALREADY ")).count(),
                inputs.len(),
                "{said}"
            );
            assert_eq!(content(&root), clean);
        }
    }
    println!(
        "killed imports of {which}: {rounds} SIGKILL rounds ({killed_mid} killed before the end, {rolled_back} unfinished imports rolled back by the next open, {finished} inputs found already imported by the re-run), {} events per archive, every round equal to a clean import",
        clean.len()
    );
    assert!(killed_mid * 2 >= rounds, "most rounds are killed mid-run");
    assert!(rolled_back > 0, "some kills land inside an import");
}
