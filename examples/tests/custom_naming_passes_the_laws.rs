//! The example's venue-first naming passes the naming laws every `Naming` must pass (EXT-2), and
//! a config file selects it by name once it is registered (EXT-3), through the facade, on the
//! committed real data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use strata::archive::Archive;
use strata::import::{Format, ImportOptions};
use strata::ingest::WriterOptions;
use strata::layout::{Granularity, Naming};
use strata_examples::venue_first::VenueFirst;

#[test]
fn venue_first_passes_the_naming_laws_at_every_granularity() {
    for granularity in [
        Granularity::Hourly,
        Granularity::Daily,
        Granularity::Monthly,
    ] {
        strata_core::laws::naming::run_all(&VenueFirst::new(granularity).unwrap());
    }
    assert!(VenueFirst::new(Granularity::None).is_err());
}

fn venue_first_config(root: &Path) {
    std::fs::write(
        root.join("strata.toml"),
        "archive.root = \".\"\n[layout]\nnaming = \"venue_first\"\ngranularity = \"daily\"\n",
    )
    .unwrap();
}

#[test]
fn a_config_names_the_registered_naming_and_files_are_laid_out_by_it() {
    let dir = tempfile::tempdir().unwrap();
    venue_first_config(dir.path());

    // Unregistered: refused, naming the extension and what is registered.
    let refused = Archive::builder(dir.path())
        .open()
        .err()
        .unwrap()
        .to_string();
    assert!(refused.contains("no naming `venue_first`"), "{refused}");
    assert!(
        refused.contains("registered extensions are: none"),
        "{refused}"
    );

    let archive = Archive::builder(dir.path())
        .register_naming(VenueFirst::NAME, |layout| {
            Ok(Arc::new(VenueFirst::from_config(layout)?) as Arc<dyn Naming>)
        })
        .unwrap()
        .open()
        .unwrap();
    assert_eq!(archive.naming().name(), "venue_first (daily)");
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let mut stored = 0;
    for (file, format) in [
        ("binance/btcusdt_20240808_first3000.txt.gz", Format::Binance),
        // Tick trades name their exchange (`P`, NYSE Arca, …); minute bars name none.
        ("lean/equity/usa/tick/spy/20131007_trade.zip", Format::Lean),
        (
            "lean/equity/usa/minute/spy/20131007_trade.zip",
            Format::Lean,
        ),
    ] {
        let import = archive
            .import_file(
                &writer,
                &testdata.join(file),
                format,
                &ImportOptions::default(),
                &mut |_| {},
            )
            .unwrap();
        assert!(import.accepted > 0, "{file}");
        stored += import.accepted;
    }
    writer.close().unwrap();

    let files: Vec<String> = archive
        .catalog()
        .find(&Default::default())
        .unwrap()
        .into_iter()
        .map(|m| m.path)
        .collect();
    assert!(!files.is_empty());
    let mut counted = 0;
    for manifest in archive.catalog().find(&Default::default()).unwrap() {
        counted += manifest.stats.event_count;
        let path = &manifest.path;
        let stem = path.strip_prefix("hot/").unwrap();
        // Every file is where the naming puts it (plus the writer's `_NNNNNN` segment number),
        // and its manifest's partition is what the naming parses from that path.
        let name = stem.split('.').take(2).collect::<Vec<_>>().join(".");
        let (partition, number) = name.rsplit_once('_').unwrap();
        assert!(number.bytes().all(|b| b.is_ascii_digit()), "{path}");
        let parsed = archive.naming().parse(partition).unwrap();
        assert_eq!(manifest.partition, parsed, "{path}");
        let spy_by_venue =
            stem.starts_with("venue/") && stem.contains("/SPY/2013/trade.2013-10-07_");
        assert!(
            stem.starts_with("venue/BINANCE/BTCUSDT/2024/")
                || spy_by_venue
                || stem.starts_with("source/lean/SPY/2013/bar.2013-10-0"),
            "{path}"
        );
    }
    assert_eq!(counted, stored);
    for expected in [
        "hot/venue/BINANCE/BTCUSDT/2024/",
        "hot/venue/P/SPY/2013/trade.2013-10-07_",
        "hot/source/lean/SPY/2013/bar.2013-10-07_",
    ] {
        assert!(
            files.iter().any(|f| f.starts_with(expected)),
            "no {expected}* in {files:?}"
        );
    }
}

#[test]
fn a_naming_that_refuses_its_settings_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("strata.toml"),
        "archive.root = \".\"\n[layout]\nnaming = \"venue_first\"\ngranularity = \"none\"\n",
    )
    .unwrap();
    let refused = Archive::builder(dir.path())
        .register_naming(VenueFirst::NAME, |layout| {
            Ok(Arc::new(VenueFirst::from_config(layout)?) as Arc<dyn Naming>)
        })
        .unwrap()
        .open()
        .err()
        .unwrap()
        .to_string();
    assert!(
        refused.contains("naming extension `venue_first`: needs a granularity"),
        "{refused}"
    );
}

#[test]
fn a_dimension_of_ones_own_is_a_level_and_is_kept_in_the_manifest() {
    use strata_examples::venue_first::RootSymbol;
    for granularity in [Granularity::Hourly, Granularity::Daily] {
        let naming = VenueFirst::new(granularity)
            .unwrap()
            .with_dimension(Arc::new(RootSymbol));
        strata_core::laws::naming::run_all(&naming);
    }
    assert_eq!(
        RootSymbol::root_of("ESU4", Some(strata::model::AssetClass::Future)),
        "ES"
    );
    assert_eq!(
        RootSymbol::root_of("ESZ24", Some(strata::model::AssetClass::Future)),
        "ES"
    );
    assert_eq!(
        RootSymbol::root_of("ES-20240315", Some(strata::model::AssetClass::Future)),
        "ES"
    );
    assert_eq!(RootSymbol::root_of("ESU4", None), "ESU4");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("strata.toml"),
        "archive.root = \".\"\n[layout]\nnaming = \"venue_root_first\"\ngranularity = \"daily\"\n",
    )
    .unwrap();
    let archive = Archive::builder(dir.path())
        .register_naming(VenueFirst::WITH_ROOT, |layout| {
            Ok(
                Arc::new(VenueFirst::from_config(layout)?.with_dimension(Arc::new(RootSymbol)))
                    as Arc<dyn Naming>,
            )
        })
        .unwrap()
        .open()
        .unwrap();
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let import = archive
        .import_file(
            &writer,
            &testdata.join("databento/futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst"),
            Format::Dbn,
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert!(import.accepted > 0);
    writer.close().unwrap();
    let manifests = archive.catalog().find(&Default::default()).unwrap();
    assert!(!manifests.is_empty());
    for manifest in &manifests {
        let root = manifest
            .partition
            .extra
            .get("root")
            .unwrap_or_else(|| panic!("{manifest:?}"));
        let symbol = manifest.partition.symbol.as_deref().unwrap();
        assert!(symbol.starts_with(root.as_str()), "{symbol} {root}");
        assert!(
            manifest.path.contains(&format!("/root={root}/{symbol}/")),
            "{}",
            manifest.path
        );
    }
    eprintln!(
        "{}",
        manifests
            .iter()
            .map(|m| m.path.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
