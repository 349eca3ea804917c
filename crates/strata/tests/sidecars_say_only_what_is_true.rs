//! CAT-1 / issue 8: a sealed file's sidecar says only what is true of the file. Its partition
//! holds only the dimensions the layout partitions by (a day of SPY trades from many venues
//! names no venue there); the venues, symbols and sources the file holds are listed in its
//! statistics; the asset class is what the importer knows (a Lean `equity/` path), not
//! `other`. On a real cut of a Lean SPY trade day (`testdata/README.md`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use strata::archive::Archive;
use strata::catalog::{read_sidecar, sidecar_path_for, FileManifest};
use strata::config::Config;
use strata::import::{Format, ImportOptions};
use strata::ingest::{reader, WriterOptions};
use strata::layout::NamingConvention;
use strata::model::{AssetClass, EventKind};

fn spy_cut() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/lean/equity/usa/tick/spy/20131007_trade.zip")
}

fn import(root: &Path, naming: NamingConvention) -> Vec<(String, FileManifest)> {
    let mut config = Config::default();
    config.layout.naming = Some(naming.into());
    let archive = Archive::open(root, config).unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let done = archive
        .import_file(
            &writer,
            &spy_cut(),
            Format::Lean,
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(done.accepted, 2_000);
    writer.close().unwrap();
    let hot = root.join("hot");
    reader::hot_files(root)
        .unwrap()
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&hot).unwrap().display().to_string();
            (rel, read_sidecar(&sidecar_path_for(&path)).unwrap())
        })
        .collect()
}

#[test]
fn a_partition_holds_only_the_layouts_dimensions_and_the_stats_list_the_venues() {
    let dir = tempfile::tempdir().unwrap();
    let files = import(dir.path(), NamingConvention::BySymbol);
    assert_eq!(files.len(), 1, "{files:?}");
    let (path, manifest) = &files[0];
    assert!(path.starts_with("SPY/trade/2013-10-07"), "{path}");
    let p = &manifest.partition;
    assert_eq!(p.symbol.as_deref(), Some("SPY"));
    assert_eq!(p.kind, Some(EventKind::Trade));
    assert!(p.period.is_some());
    // `{symbol}/{type}/{date}` partitions by none of these: the file holds many venues.
    assert_eq!(p.exchange, None, "{p:?}");
    assert_eq!(p.source, None, "{p:?}");
    assert_eq!(p.asset_class, None, "{p:?}");
    let venues = &manifest.stats.venues;
    assert!(
        venues.len() >= 5,
        "the cut holds prints of many venues: {venues:?}"
    );
    assert!(venues.contains("P") && venues.contains("Q"), "{venues:?}");
    assert_eq!(
        manifest.stats.symbols.iter().collect::<Vec<_>>(),
        vec!["SPY"]
    );
    assert_eq!(
        manifest.stats.sources.iter().collect::<Vec<_>>(),
        vec!["lean"]
    );
}

#[test]
fn the_asset_class_is_what_the_importer_knows() {
    let dir = tempfile::tempdir().unwrap();
    let files = import(dir.path(), NamingConvention::ByAssetClass);
    assert_eq!(files.len(), 1, "{files:?}");
    let (path, manifest) = &files[0];
    assert!(path.starts_with("equity/SPY/trade/"), "{path}");
    assert_eq!(manifest.partition.asset_class, Some(AssetClass::Equity));
    assert_eq!(manifest.partition.exchange, None);
}

/// Writes a Lean futures zip (Lean's layout: one CSV per contract, the contract in its name).
fn write_futures_zip(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("lean/future/cme/minute/es/20240102_trade.zip");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for (name, row) in [
        (
            "20240102_es_minute_trade_202403_20240315.csv",
            "0,4780.25,4781,4780,4780.75,1200",
        ),
        (
            "20240102_es_minute_trade_202406_20240621.csv",
            "0,4830,4830.25,4829.75,4830,15",
        ),
    ] {
        w.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(row.as_bytes()).unwrap();
    }
    w.finish().unwrap();
    path
}

#[test]
fn futures_contracts_join_the_symbol_registry_and_their_files_are_futures() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    let zip = write_futures_zip(dir.path());
    let mut config = Config::default();
    config.layout.naming = Some(NamingConvention::ByAssetClass.into());
    let archive = Archive::open(&root, config).unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let done = archive
        .import_file(
            &writer,
            &zip,
            Format::Lean,
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(done.accepted, 2);
    writer.close().unwrap();
    let (_, symbols) = archive.catalog().read_registries().unwrap();
    let names: Vec<&str> = symbols.iter().map(|s| s.symbol.as_str()).collect();
    assert_eq!(names, ["ES-20240315", "ES-20240621"]);
    let es = &symbols[0];
    assert_eq!(es.asset_class, AssetClass::Future);
    let contract = es.contract.as_ref().unwrap();
    assert_eq!(
        (contract.underlying.as_str(), contract.expiry.to_string()),
        ("ES", "2024-03-15".to_string())
    );
    let hot = reader::hot_files(&root).unwrap();
    assert_eq!(hot.len(), 2);
    for path in hot {
        let rel = path
            .strip_prefix(root.join("hot"))
            .unwrap()
            .display()
            .to_string();
        assert!(rel.starts_with("future/ES-20240"), "{rel}");
        let m = read_sidecar(&sidecar_path_for(&path)).unwrap();
        assert_eq!(
            m.partition.asset_class,
            Some(AssetClass::Future),
            "{}",
            path.display()
        );
    }
    drop(archive);
    // Opening the archive again (the config lists no symbols) keeps the learned contracts;
    // importing again adds nothing twice.
    let archive = Archive::open(&root, Config::default()).unwrap();
    let (_, again) = archive.catalog().read_registries().unwrap();
    assert_eq!(again, symbols);
    assert_eq!(archive.catalog().add_symbols(&symbols).unwrap(), 0);
}
