//! The feed service of `examples/tokio_feed.rs` (`strata_examples::feed`), as a process the
//! tokio-feed kill test can SIGKILL: serves the archive at `ROOT` with the crash-test config
//! (group commit every 2 ms, hourly files of at most 64 KiB) and prints
//! `listening ADDRESS durability MODE`.
//!
//! Usage: `strata-test-feed ROOT`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test helper: panics are failures

use strata_core::config::DurabilityMode;

#[tokio::main]
async fn main() {
    let root = std::path::PathBuf::from(std::env::args().nth(1).expect("ROOT"));
    let archive = strata::archive::Archive::open(
        &root,
        strata_tests::crash_test_config(DurabilityMode::GroupCommit, 2),
    )
    .unwrap();
    let writer = strata::service::AsyncWriter::open(&archive, Default::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // The kill test checks the mode: acknowledgements in mode `none` would prove nothing.
    println!(
        "listening {} durability {:?}",
        listener.local_addr().unwrap(),
        writer.durability_mode()
    );
    strata_examples::feed::serve(listener, writer)
        .await
        .unwrap();
}
