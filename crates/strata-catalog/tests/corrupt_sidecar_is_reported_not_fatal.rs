//! A damaged or misplaced sidecar does not stop a rebuild: it is reported with its path and
//! reason and left out; every other file is indexed. Sidecars under `_catalog/` and
//! `_quarantine/` are not data and are skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use strata_catalog::{Catalog, Error, ManifestError};

#[test]
fn rebuild_reports_bad_sidecars_and_indexes_the_rest() {
    let archive = tempfile::tempdir().unwrap();
    let files = common::build_archive(archive.path());
    let root = archive.path();

    // 1. A torn sidecar (half its bytes).
    let torn = &files[4].manifest;
    let torn_sidecar = torn.sidecar_path(root);
    let bytes = std::fs::read(&torn_sidecar).unwrap();
    std::fs::write(&torn_sidecar, &bytes[..bytes.len() / 2]).unwrap();

    // 2. A sidecar whose manifest says another path (copied beside the wrong file).
    let moved = &files[9].manifest;
    let moved_sidecar = moved.sidecar_path(root);
    let stray = moved_sidecar.with_file_name("stray.jsonl.manifest.json");
    std::fs::rename(&moved_sidecar, &stray).unwrap();

    // 3. A sidecar whose data file is gone: indexed, and listed as missing data.
    let gone = &files[17].manifest;
    std::fs::remove_file(gone.data_path(root)).unwrap();

    // 4. Copies of valid sidecars inside _quarantine/ and _catalog/ are not data.
    for reserved in ["_quarantine", "_catalog/old"] {
        let dir = root.join(reserved).join("hot");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            files[20].manifest.sidecar_path(root),
            dir.join("x.jsonl.manifest.json"),
        )
        .unwrap();
    }

    let catalog = Catalog::open(root).unwrap();
    let report = catalog.rebuild(root).unwrap();
    assert_eq!(report.sidecars_found, 50);
    assert_eq!(report.registered, 48);
    assert_eq!(report.missing_data, vec![gone.path.clone()]);

    let mut problems: Vec<_> = report.problems.iter().map(|p| p.path.clone()).collect();
    problems.sort();
    let mut expected = vec![torn_sidecar.clone(), stray.clone()];
    expected.sort();
    assert_eq!(problems, expected);
    for problem in &report.problems {
        let message = problem.error.to_string();
        assert!(
            message.contains(&problem.path.display().to_string()),
            "{message}"
        );
        match &problem.error {
            Error::Sidecar {
                source: ManifestError::Json(_),
                path,
            } => assert_eq!(path, &torn_sidecar),
            Error::Sidecar {
                source: ManifestError::Invalid { field: "path", .. },
                path,
            } => {
                assert_eq!(path, &stray);
                assert!(message.contains(&moved.path), "{message}");
            }
            other => panic!("unexpected problem {other}"),
        }
    }

    // The index holds exactly the 48 good files: the same rows as registering them directly.
    let direct_dir = tempfile::tempdir().unwrap();
    let direct = Catalog::open(direct_dir.path()).unwrap();
    for file in &files {
        if file.manifest.path != torn.path && file.manifest.path != moved.path {
            direct.register(&file.manifest).unwrap();
        }
    }
    assert_eq!(catalog.dump().unwrap(), direct.dump().unwrap());
}

#[test]
fn an_unreadable_root_is_an_error_and_keeps_the_old_index() {
    let archive = tempfile::tempdir().unwrap();
    let files = common::build_archive(archive.path());
    let catalog = common::register_all(archive.path(), &files);
    let before = catalog.dump().unwrap();
    let err = catalog
        .rebuild(archive.path().join("no-such-folder"))
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("no-such-folder"), "{err}");
    assert_eq!(catalog.dump().unwrap(), before);
}
