//! INGEST-2/INGEST-3 under simulated power loss: data written after the last fsync may vanish or
//! be torn. After each crash, every unsealed segment's bytes past the durable watermark are
//! truncated, zeroed, garbled or kept, at random; recovery must then find every acknowledged event
//! exactly once, quarantine the damage with a reason, and leave every file parseable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use strata_core::config::DurabilityMode;
use strata_model::jsonl;

/// Damages the part of `path` after `synced` bytes the way a power loss may; returns what it did.
fn damage(path: &std::path::Path, synced: usize, rng: &mut u64) -> &'static str {
    let mut bytes = std::fs::read(path).unwrap();
    if bytes.len() <= synced {
        return "nothing unsynced";
    }
    let cut = synced + (strata_tests::next(rng) as usize) % (bytes.len() - synced + 1);
    let what = match strata_tests::next(rng) % 4 {
        0 => {
            bytes.truncate(cut);
            "truncated"
        }
        1 => {
            bytes[cut..].iter_mut().for_each(|b| *b = 0);
            "zeroed"
        }
        2 => {
            for b in &mut bytes[cut..] {
                *b = (strata_tests::next(rng) & 0xff) as u8;
            }
            "garbled"
        }
        _ => "kept",
    };
    std::fs::write(path, bytes).unwrap();
    what
}

#[test]
fn acknowledged_events_survive_lost_and_torn_unsynced_data() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut rng = 0x0bad_cafe_u64;
    let mut next_id = 1u64;
    let mut acked_total = 0u64;
    // Acknowledged id ranges, one per round: ids between rounds that were never acknowledged may
    // be lost.
    let mut acked_ranges: Vec<std::ops::RangeInclusive<u64>> = Vec::new();
    let mut damages = std::collections::BTreeMap::new();
    let rounds = 30;
    for round in 0..rounds {
        // A long interval: only our own flush() calls commit.
        let writer = strata_tests::open_writer(
            root,
            strata_tests::crash_test_config(DurabilityMode::GroupCommit, 600_000),
        );
        let first = next_id;
        let batches = 5 + strata_tests::next(&mut rng) % 40;
        let flush_after = strata_tests::next(&mut rng) % batches;
        for b in 0..batches {
            let batch: Vec<_> = (next_id..next_id + 50).map(strata_tests::event).collect();
            writer.append_batch(&batch).unwrap();
            next_id += 50;
            if b == flush_after {
                writer.flush().unwrap();
            }
        }
        let watermark = writer.durable_watermark();
        let acked_id = first + watermark - 1; // tickets count this session's accepted events from 1
        if watermark > 0 {
            acked_total = acked_total.max(acked_id);
            acked_ranges.push(first..=acked_id);
        }
        // Some unsynced bytes reach the OS (as when a buffer fills between commits)…
        if !strata_tests::next(&mut rng).is_multiple_of(4) {
            writer.hand_buffers_to_os().unwrap();
        }
        writer.abandon();

        // Power loss: every unsealed segment may lose or tear what came after its synced prefix.
        for file in strata_ingest::reader::hot_files(root).unwrap() {
            if strata_catalog::sidecar_path_for(&file).exists() {
                continue; // sealed files were fsynced before their sidecar existed
            }
            let bytes = std::fs::read(&file).unwrap();
            let mut synced = 0;
            let mut offset = 0;
            for line in bytes.split_inclusive(|&b| b == b'\n') {
                offset += line.len();
                if let Ok(e) = jsonl::decode_line(line) {
                    if acked_ranges
                        .iter()
                        .any(|r| r.contains(&e.sequence.unwrap()))
                    {
                        synced = offset;
                    }
                }
            }
            *damages.entry(damage(&file, synced, &mut rng)).or_insert(0) += 1;
        }

        let writer = strata_tests::open_writer(
            root,
            strata_tests::crash_test_config(DurabilityMode::GroupCommit, 600_000),
        );
        let report = writer.close().unwrap();
        let ids = strata_tests::assert_acknowledged_exactly_once(root, &acked_ranges, &|| {
            format!("round {round}; recovery: {:?}", report.recovery)
        });
        next_id = ids
            .keys()
            .next_back()
            .map_or(next_id, |max| max + 1)
            .max(next_id);
    }
    let torn = std::fs::read_dir(root.join("_quarantine/torn"))
        .map(|d| d.count())
        .unwrap_or(0);
    let acked: u64 = acked_ranges.iter().map(|r| r.end() - r.start() + 1).sum();
    println!("power-loss test: {rounds} rounds, damage applied {damages:?}, {torn} quarantine files, {acked} acknowledged events (ids up to {acked_total}) all present once");
    assert!(acked_total > 0);
    assert!(
        damages.get("zeroed").copied().unwrap_or(0) + damages.get("garbled").copied().unwrap_or(0)
            > 0,
        "the damage modes were exercised"
    );
}
