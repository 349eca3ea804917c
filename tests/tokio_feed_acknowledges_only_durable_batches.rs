//! EXT-4: the tokio feed service of `examples/tokio_feed.rs` acknowledges a batch only once it is
//! durable. A sender streams the deterministic feed over TCP in batches; the service process is
//! SIGKILLed at a random moment; after recovery every acknowledged event is stored exactly once.
//! 12 rounds by default over one archive (each round recovers the last); `STRATA_FEED_ROUNDS=N`
//! for more. The service reports its durability mode and the test requires `group_commit` (in
//! mode `none` the service refuses to start); that an acknowledgement waits for the durable
//! watermark, not merely for the OS, is shown in-process by
//! `examples/tests/feed_acknowledges_after_the_watermark.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use strata_model::jsonl;

#[test]
fn every_acknowledged_batch_survives_sigkill_exactly_once() {
    let rounds: u64 = std::env::var("STRATA_FEED_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut rng = 0xfeed_5eedu64;
    let mut next_id = 1u64;
    let mut acked_ranges: Vec<std::ops::RangeInclusive<u64>> = Vec::new();
    let (mut acked_events, mut killed_mid_batch) = (0u64, 0u64);
    for round in 0..rounds {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata-test-feed"))
            .arg(root)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        // `listening ADDRESS durability MODE`: an acknowledgement only means durable when the
        // service fsyncs (in mode `none` it would be sent once the batch reached the OS).
        let (address, mode) = first
            .trim()
            .strip_prefix("listening ")
            .and_then(|rest| rest.split_once(" durability "))
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        assert_eq!(mode, "GroupCommit", "the service must fsync: {first:?}");
        let address = address.to_string();
        let socket = TcpStream::connect(&address).unwrap();
        socket.set_nodelay(true).unwrap();

        // The sender runs until the connection breaks; it records what was acknowledged.
        let stop = Arc::new(AtomicBool::new(false));
        let start = next_id;
        let sender = {
            let stop = Arc::clone(&stop);
            let mut write = socket.try_clone().unwrap();
            let mut replies = BufReader::new(socket);
            let mut batch_rng = rng ^ round;
            std::thread::spawn(move || {
                let mut id = start;
                let mut acked: Option<u64> = None;
                let mut in_flight = false;
                while !stop.load(Ordering::Relaxed) {
                    let size = 1 + strata_tests::next(&mut batch_rng) % 300;
                    let mut text = Vec::new();
                    for i in id..id + size {
                        text.extend(jsonl::encode_line(&strata_tests::event(i)).unwrap());
                    }
                    text.extend_from_slice(b".\n");
                    in_flight = true;
                    if write.write_all(&text).is_err() {
                        break;
                    }
                    let mut reply = String::new();
                    match replies.read_line(&mut reply) {
                        Ok(n) if n > 0 => {}
                        _ => break,
                    }
                    in_flight = false;
                    assert_eq!(reply.trim(), format!("ok {size} 0"), "batch {id}..");
                    id += size;
                    acked = Some(id - 1);
                }
                (acked, id, in_flight)
            })
        };
        std::thread::sleep(Duration::from_millis(
            20 + strata_tests::next(&mut rng) % 400,
        ));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        let (acked, sent_up_to, in_flight) = sender.join().unwrap();
        if let Some(last) = acked {
            acked_ranges.push(start..=last);
            acked_events += last - start + 1;
        }
        killed_mid_batch += u64::from(in_flight);
        // Ids sent but never acknowledged may or may not be stored; the next round starts past
        // them so that the exactly-once check stays exact.
        next_id = sent_up_to + 1_000;
    }
    // Recovery (a writer opened and closed), then every acknowledged event exactly once.
    strata_tests::open_writer(
        root,
        strata_tests::crash_test_config(strata_core::config::DurabilityMode::GroupCommit, 2),
    )
    .close()
    .unwrap();
    let ids = strata_tests::assert_acknowledged_exactly_once(root, &acked_ranges, &|| {
        format!("after {rounds} rounds")
    });
    eprintln!(
        "tokio feed: {rounds} SIGKILL rounds ({killed_mid_batch} with a batch in flight), \
         {acked_events} events acknowledged, {} stored",
        ids.len()
    );
    assert!(acked_events > 0, "no round got a batch acknowledged");
    assert!(ids.len() as u64 >= acked_events);
}
