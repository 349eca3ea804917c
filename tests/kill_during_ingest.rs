//! INGEST-2/INGEST-3: a writer process is SIGKILLed at random moments; after recovery every
//! acknowledged event is found exactly once, no event appears twice, every file parses and every
//! `checksums.sha256` verifies. 50 rounds by default; `STRATA_KILL_ROUNDS=N` for more.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use strata_core::config::DurabilityMode;

#[test]
fn every_acknowledged_event_survives_sigkill_exactly_once() {
    let rounds: u64 = std::env::var("STRATA_KILL_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let seed: u64 = std::env::var("STRATA_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut rng = seed;
    let mut next_id = 1u64;
    let mut acked_total = 0u64;
    // Acknowledged id ranges, one per round (ids a round wrote but never acknowledged may be lost).
    let mut acked_ranges: Vec<std::ops::RangeInclusive<u64>> = Vec::new();
    let mut kills_with_ack = 0;
    for round in 0..rounds {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata-test-writer"))
            .arg(root)
            .arg(next_id.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut last_ack = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(n) = line.strip_prefix("ACK ") {
                    last_ack = Some(n.parse::<u64>().unwrap());
                }
            }
            last_ack
        });
        // Kill anywhere from during start-up (recovery) to well into writing.
        std::thread::sleep(Duration::from_millis(
            5 + strata_tests::next(&mut rng) % 250,
        ));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acked = reader.join().unwrap();
        if let Some(acked) = acked {
            assert!(acked >= next_id);
            acked_total = acked_total.max(acked);
            acked_ranges.push(next_id..=acked);
            kills_with_ack += 1;
        }

        // Recover in this process, then check the whole archive.
        let writer = strata_tests::open_writer(
            root,
            strata_tests::crash_test_config(DurabilityMode::GroupCommit, 2),
        );
        writer.close().unwrap();
        // The killed run's report (if it got as far as writing one) is now `interrupted`;
        // nothing is left `running`.
        for report in strata_ingest::session::SessionReport::list(root).unwrap() {
            let report = report.unwrap();
            assert_ne!(
                report.state,
                strata_ingest::session::SessionState::Running,
                "round {round} (seed {seed}): session {} still running",
                report.id
            );
        }
        let ids = strata_tests::assert_acknowledged_exactly_once(root, &acked_ranges, &|| {
            format!("round {round} (seed {seed})")
        });
        next_id = ids.keys().next_back().map_or(1, |max| max + 1).max(next_id);
    }
    let ids = strata_tests::stored_ids(root);
    let files = strata_ingest::reader::hot_files(root).unwrap().len();
    let checked = strata_tests::verify_all_checksums(root);
    let interrupted = strata_ingest::session::SessionReport::list(root)
        .unwrap()
        .into_iter()
        .filter(|r| r.as_ref().unwrap().state == strata_ingest::session::SessionState::Interrupted)
        .count() as u64;
    println!(
        "kill test: {rounds} SIGKILL rounds ({kills_with_ack} after at least one ACK), {} events stored, {} acknowledged (ids up to {acked_total}), {files} files, {checked} checksums verified, {interrupted} killed sessions found interrupted",
        ids.len(),
        acked_ranges.iter().map(|r| r.end() - r.start() + 1).sum::<u64>()
    );
    assert!(
        interrupted >= kills_with_ack,
        "every killed run that acknowledged events had written its report and was found interrupted"
    );
    assert!(
        kills_with_ack * 2 >= rounds,
        "most rounds should be killed after writing began"
    );
    assert!(acked_total > 0);
}
