//! A layout strata does not ship, named from TOML: `[layout] naming = "venue_first"` selects the
//! venue-first naming of `strata_examples::venue_first`, registered on the archive builder.
//!
//! Real data: the committed cuts of a Binance capture (venue BINANCE), Databento CME trades
//! (venue from the DBN publisher) and Lean SPY trades (no venue: filed under its source), each
//! imported through the facade, then the files listed as the naming laid them out.
//! Run it with `cargo run -p strata-examples --example custom_naming` (add a folder to keep it).

// An example may stop on the first error with a readable message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use strata::archive::Archive;
use strata::import::{Format, ImportOptions};
use strata::ingest::WriterOptions;
use strata::layout::Naming;
use strata_examples::venue_first::VenueFirst;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scratch = tempfile::tempdir()?;
    let root = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| scratch.path().to_path_buf());
    std::fs::create_dir_all(&root)?;
    std::fs::write(
        root.join("strata.toml"),
        "archive.root = \".\"\n\n[layout]\nnaming = \"venue_first\"\ngranularity = \"daily\"\n",
    )?;

    // Without the extension registered, the config cannot be used, and says why.
    let refused = Archive::builder(&root)
        .open()
        .err()
        .expect("unregistered naming refused");
    println!("without registering it: {refused}");

    let archive = Archive::builder(&root)
        .register_naming(VenueFirst::NAME, |layout| {
            Ok(Arc::new(VenueFirst::from_config(layout)?) as Arc<dyn Naming>)
        })?
        .open()?;
    println!(
        "naming: {} — {}",
        archive.naming().name(),
        archive.naming().template()
    );

    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    let writer = archive.writer(WriterOptions::default())?;
    for (file, format) in [
        ("binance/btcusdt_20240808_first3000.txt.gz", Format::Binance),
        (
            "databento/futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst",
            Format::Dbn,
        ),
        ("lean/equity/usa/tick/spy/20131007_trade.zip", Format::Lean),
    ] {
        let import = archive.import_file(
            &writer,
            &testdata.join(file),
            format,
            &ImportOptions::default(),
            &mut |_| {},
        )?;
        println!("{file}: {} events stored", import.accepted);
    }
    writer.close()?;

    let mut files: Vec<String> = archive
        .catalog()
        .find(&Default::default())?
        .into_iter()
        .map(|manifest| manifest.path)
        .collect();
    files.sort();
    println!("{} files, laid out venue first:", files.len());
    for file in files.iter().take(12) {
        println!("  {file}");
    }
    Ok(())
}
