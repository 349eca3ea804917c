//! CAT-1 / D-3: the index is derived data. Registering 50 sealed files one by one and
//! rebuilding a catalog from the sidecars alone give the very same rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use strata_catalog::{
    parse_manifest, Catalog, FileQuery, CATALOG_DIR, INDEX_FILE, MANIFEST_LIST_FILE,
};

#[test]
fn rebuild_from_sidecars_equals_incremental_registration() {
    let archive = tempfile::tempdir().unwrap();
    let files = common::build_archive(archive.path());
    let incremental = common::register_all(archive.path(), &files);
    let expected = incremental.dump().unwrap();
    assert_eq!(incremental.stats().unwrap().files, 50);

    // A second catalog elsewhere, filled from the archive's sidecars only.
    let elsewhere = tempfile::tempdir().unwrap();
    let rebuilt = Catalog::open(elsewhere.path()).unwrap();
    let report = rebuilt.rebuild(archive.path()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.missing_data.is_empty());
    assert_eq!((report.sidecars_found, report.registered), (50, 50));
    assert_eq!(rebuilt.dump().unwrap(), expected);

    // Rebuilding in place replaces the rows rather than adding to them.
    let report = incremental.rebuild(archive.path()).unwrap();
    assert_eq!(report.registered, 50);
    assert_eq!(incremental.dump().unwrap(), expected);
}

#[test]
fn a_lost_index_is_rebuilt_identically() {
    let archive = tempfile::tempdir().unwrap();
    let files = common::build_archive(archive.path());
    let expected = common::register_all(archive.path(), &files).dump().unwrap();

    let catalog_dir = archive.path().join(CATALOG_DIR);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(catalog_dir.join(format!("{INDEX_FILE}{suffix}")));
    }
    let reopened = Catalog::open(archive.path()).unwrap();
    assert_eq!(reopened.stats().unwrap().files, 0);
    reopened.rebuild(reopened.root()).unwrap();
    assert_eq!(reopened.dump().unwrap(), expected);
}

#[test]
fn registration_order_and_re_registration_do_not_change_the_index() {
    let archive = tempfile::tempdir().unwrap();
    let files = common::build_archive(archive.path());
    let expected = common::register_all(archive.path(), &files).dump().unwrap();

    let other = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(other.path()).unwrap();
    for file in files.iter().rev() {
        catalog.register(&file.manifest).unwrap();
    }
    // Registering a path again is an upsert, not a duplicate.
    for file in files.iter().step_by(7) {
        catalog.register(&file.manifest).unwrap();
    }
    assert_eq!(catalog.dump().unwrap(), expected);
}

#[test]
fn manifest_jsonl_lists_every_registered_file() {
    let archive = tempfile::tempdir().unwrap();
    let files = common::build_archive(archive.path());
    let catalog = common::register_all(archive.path(), &files);
    assert_eq!(catalog.export_manifest().unwrap(), 50);

    let text =
        std::fs::read_to_string(archive.path().join(CATALOG_DIR).join(MANIFEST_LIST_FILE)).unwrap();
    let listed: Vec<_> = text
        .lines()
        .map(|l| parse_manifest(l.as_bytes()).unwrap())
        .collect();
    let mut expected: Vec<_> = files.iter().map(|f| f.manifest.clone()).collect();
    expected.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(listed, expected);

    // Rewritten from the index: a removed file disappears from the list.
    assert!(catalog.remove(&expected[0].path).unwrap());
    assert_eq!(catalog.export_manifest().unwrap(), 49);
    let text =
        std::fs::read_to_string(archive.path().join(CATALOG_DIR).join(MANIFEST_LIST_FILE)).unwrap();
    assert!(!text.contains(&format!("\"path\":\"{}\"", expected[0].path)));
    assert_eq!(catalog.find(&FileQuery::all()).unwrap().len(), 49);
}
