//! Ctrl-C during `strata lifecycle run`: the first SIGINT stops the run between two operations
//! (exit 130, the operation under way finished and journaled), and running it again carries
//! out the rest: every event is there once, `verify --deep` passes.

// Test helpers may panic: a failure here is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{copy_dir, strata, text};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn events(root: &str) -> u64 {
    let out = strata(&["--root", root, "--json", "ls"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let files: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    files
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["stats"]["event_count"].as_u64().unwrap())
        .sum()
}

#[test]
fn a_first_sigint_stops_between_operations_and_a_rerun_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template");
    let root = template.to_str().unwrap().to_string();
    assert!(strata(&["init", &root, "-q"]).status.success());
    let config = template.join("strata.toml");
    let toml = std::fs::read_to_string(&config)
        .unwrap()
        .replace("granularity = \"daily\"", "granularity = \"hourly\"");
    std::fs::write(&config, toml).unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/lean");
    for file in [
        "equity/usa/tick/spy/20131007_trade.zip",
        "equity/usa/tick/aig/20131009_quote.zip",
        "forex/fxcm/tick/eurusd/20140501_quote.zip",
    ] {
        let path = data.join(file);
        let out = strata(&[
            "--root",
            &root,
            "-q",
            "ingest",
            "--format",
            "lean",
            path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let total = events(&root);

    let mut stopped = 0;
    let mut delay_ms = 30u64;
    for attempt in 0..16 {
        let copy = dir.path().join(format!("attempt{attempt}"));
        copy_dir(&template, &copy);
        let root = copy.to_str().unwrap().to_string();
        let child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["--root", &root, "--now", "2014-06-01", "lifecycle", "run"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let out = child.wait_with_output().unwrap();
        match out.status.code() {
            Some(130) => {
                stopped += 1;
                assert!(
                    text(&out.stderr).contains("stopped by a signal between two operations"),
                    "{}",
                    text(&out.stderr)
                );
                // Nothing left open: the operation under way was finished.
                let journal = std::fs::read_to_string(copy.join("_lifecycle/journal.jsonl"))
                    .unwrap_or_default();
                assert_eq!(
                    journal.matches("\"op\":\"begin\"").count(),
                    journal.matches("\"op\":\"done\"").count(),
                    "{journal}"
                );
            }
            // Finished before the signal: signal sooner next time.
            Some(0) => delay_ms = delay_ms.saturating_sub(8).max(1),
            // Killed before its handler was installed: later next time.
            None => delay_ms += 10,
            Some(code) => panic!("exit {code}: {}", text(&out.stderr)),
        }
        let again = strata(&["--root", &root, "--now", "2014-06-01", "lifecycle", "run"]);
        assert!(again.status.success(), "{}", text(&again.stderr));
        assert_eq!(events(&root), total, "attempt {attempt}");
        let verify = strata(&["--root", &root, "verify", "--deep"]);
        assert!(verify.status.success(), "{}", text(&verify.stdout));
        let nothing = strata(&[
            "--root",
            &root,
            "--now",
            "2014-06-01",
            "--json",
            "lifecycle",
            "run",
        ]);
        let report: serde_json::Value = serde_json::from_slice(&nothing.stdout).unwrap();
        assert_eq!(report["report"]["migrated"].as_array().unwrap().len(), 0);
        if stopped >= 2 {
            break;
        }
    }
    assert!(
        stopped >= 1,
        "no SIGINT landed mid-run (last delay {delay_ms} ms)"
    );
}
