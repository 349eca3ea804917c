//! INGEST-7 under hostile use: several writer processes race to open one archive at the same
//! moment, some waiting for the lock and some not, and every one is SIGKILLed at a random time.
//! Only one ever writes at a time; a writer that cannot get the lock says who holds it; and every
//! event any of them acknowledged is stored exactly once. 15 rounds of 4 processes by default;
//! `STRATA_RACE_ROUNDS=N` for more.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use strata_core::config::DurabilityMode;

/// What one racing process said before it was killed.
#[derive(Default)]
struct Said {
    ready: bool,
    last_ack: Option<u64>,
    locked: Option<String>,
}

#[test]
fn racing_writers_are_one_at_a_time_and_lose_nothing_acknowledged() {
    let rounds: u64 = std::env::var("STRATA_RACE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let seed: u64 = 0x0dd_ba11;
    let mut rng = seed;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let racers = 4u64;
    // Ids are handed out in blocks far apart, so every process writes ids of its own.
    let mut base = 1u64;
    let mut acked: Vec<std::ops::RangeInclusive<u64>> = Vec::new();
    let (mut refused, mut wrote, mut waited_and_wrote) = (0u64, 0u64, 0u64);
    for round in 0..rounds {
        let mut children = Vec::new();
        for k in 0..racers {
            let start = base + k * 1_000_000;
            // Half the racers wait for the lock (up to 2 s), half give up at once.
            let wait_ms = if strata_tests::next(&mut rng).is_multiple_of(2) {
                2000
            } else {
                0
            };
            let mut child = Command::new(env!("CARGO_BIN_EXE_strata-test-writer"))
                .arg(root)
                .arg(start.to_string())
                .arg(wait_ms.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let reader = std::thread::spawn(move || {
                let mut said = Said::default();
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if line == "READY" {
                        said.ready = true;
                    } else if let Some(n) = line.strip_prefix("ACK ") {
                        said.last_ack = Some(n.parse::<u64>().unwrap());
                    } else if let Some(msg) = line.strip_prefix("LOCKED ") {
                        said.locked = Some(msg.to_string());
                    }
                }
                said
            });
            children.push((child, reader, start, wait_ms));
        }
        // Kill them one by one at random moments (a waiting racer may take over in between).
        for (child, _, _, _) in &mut children {
            std::thread::sleep(Duration::from_millis(
                20 + strata_tests::next(&mut rng) % 300,
            ));
            let _ = child.kill(); // SIGKILL (or already exited, refused)
        }
        for (mut child, reader, start, wait_ms) in children {
            let status = child.wait().unwrap();
            let said = reader.join().unwrap();
            // Killed, or refused the lock: nothing else (no panic, no "database is locked").
            assert!(
                status.code().is_none() || status.code() == Some(3),
                "round {round}: a racer ended with {status}"
            );
            if let Some(msg) = &said.locked {
                refused += 1;
                assert_eq!(status.code(), Some(3), "round {round}: {msg}");
                assert!(
                    msg.contains("another writer (pid ") && msg.contains("session "),
                    "round {round}: the refusal names the holder: {msg}"
                );
                assert!(!said.ready && said.last_ack.is_none());
            }
            if said.ready {
                wrote += 1;
                waited_and_wrote += u64::from(wait_ms > 0);
            }
            if let Some(last) = said.last_ack {
                assert!(last >= start);
                acked.push(start..=last);
            }
        }
        // Recover in this process, then check the whole archive.
        let writer = strata_tests::open_writer(
            root,
            strata_tests::crash_test_config(DurabilityMode::GroupCommit, 2),
        );
        writer.close().unwrap();
        strata_tests::assert_acknowledged_exactly_once(root, &acked, &|| {
            format!("round {round} (seed {seed})")
        });
        base += racers * 1_000_000;
    }
    let stored = strata_tests::stored_ids(root).len();
    let acknowledged: u64 = acked.iter().map(|r| r.end() - r.start() + 1).sum();
    println!(
        "race test: {rounds} rounds of {racers} racing writers, all SIGKILLed: {wrote} got the lock ({waited_and_wrote} after waiting), {refused} refused naming the holder; {acknowledged} events acknowledged, {stored} stored, every acknowledged one exactly once"
    );
    assert!(refused > 0, "some racers must have been refused");
    assert!(wrote * 2 >= rounds, "most rounds have a writer");
    assert!(acknowledged > 0);
}
