//! An import process for the killed-import test: imports each FILE into the archive at ROOT
//! through the facade, exactly as `strata ingest` does (ledger, staging, commit), and prints
//! `DONE <file> <events>` or `ALREADY <file>` per file. The format follows the name
//! (`.zip` Lean, `.dbn.zst` DBN, `.txt.gz` Binance).
//!
//! Usage: `strata-test-import ROOT FILE...`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test helper: panics are failures

use std::io::Write;

use strata_core::config::DurabilityMode;
use strata_import::{Format, ImportOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let root = std::path::PathBuf::from(args.next().expect("ROOT"));
    let mut config = strata_tests::crash_test_config(DurabilityMode::GroupCommit, 2);
    // Whole vendor days: 1 MiB files still give dozens of seals per day to be killed in.
    config.storage.max_file_bytes = 1 << 20;
    let archive = strata::archive::Archive::open(&root, config).unwrap();
    let writer = archive
        .writer(strata_ingest::WriterOptions::default())
        .unwrap();
    let stdout = std::io::stdout();
    for file in args {
        let path = std::path::PathBuf::from(&file);
        let format = if file.ends_with(".zip") {
            Format::Lean
        } else if file.contains(".dbn") {
            Format::Dbn
        } else {
            Format::Binance
        };
        let done = archive
            .import_file(
                &writer,
                &path,
                format,
                &ImportOptions::default(),
                &mut |_| {},
            )
            .unwrap();
        let mut out = stdout.lock();
        match done.already_imported {
            Some(_) => writeln!(out, "ALREADY {file}").unwrap(),
            None => writeln!(out, "DONE {file} {}", done.accepted).unwrap(),
        }
        out.flush().unwrap();
    }
    writer.close().unwrap();
}
