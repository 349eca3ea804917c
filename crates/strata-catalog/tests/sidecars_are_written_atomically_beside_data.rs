//! INGEST-5 / CAT-1: a sidecar lands beside its data file as `<name>.manifest.json`, is
//! replaced whole (no temp file left behind), reads back equal, and a manifest strata could
//! not read back (or that points outside the root) is never written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use strata_catalog::{read_sidecar, sidecar_path_for, write_sidecar, Error, ManifestError};

#[test]
fn sidecar_round_trip_replace_and_refusal() {
    let archive = tempfile::tempdir().unwrap();
    let root = archive.path();
    let files = common::build_archive(root);
    let manifest = files[0].manifest.clone();
    let data = manifest.data_path(root);
    let sidecar = sidecar_path_for(&data);
    assert_eq!(
        sidecar.file_name().unwrap().to_str().unwrap(),
        format!("{}.manifest.json", manifest.file_name())
    );
    assert_eq!(sidecar.parent(), data.parent());
    assert_eq!(read_sidecar(&sidecar).unwrap(), manifest);

    // Re-sealing replaces the sidecar whole.
    let mut resealed = manifest.clone();
    resealed.seal_reason = "recovery".into();
    resealed.quality_score = Some(0.5);
    assert_eq!(write_sidecar(root, &resealed).unwrap(), sidecar);
    assert_eq!(read_sidecar(&sidecar).unwrap(), resealed);
    let mut names: Vec<String> = std::fs::read_dir(data.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(
        names.iter().all(|n| !n.contains(".tmp-strata-")),
        "{names:?}"
    );
    assert!(names.contains(&"checksums.sha256".to_string()));

    // Refused before anything is written: an escaping path, a malformed checksum.
    let mut outside = manifest.clone();
    outside.path = "../escaped.jsonl".into();
    let err = write_sidecar(root, &outside).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Manifest(ManifestError::Invalid { field: "path", .. })
        ),
        "{err}"
    );
    assert!(!root
        .parent()
        .unwrap()
        .join("escaped.jsonl.manifest.json")
        .exists());
    let mut bad = manifest.clone();
    bad.sha256 = "xyz".into();
    assert!(write_sidecar(root, &bad).is_err());
    assert_eq!(read_sidecar(&sidecar).unwrap(), resealed);

    // Reading errors name the sidecar.
    std::fs::write(&sidecar, b"{\"path\": 1}").unwrap();
    let err = read_sidecar(&sidecar).unwrap_err();
    assert!(matches!(err, Error::Sidecar { .. }));
    assert!(
        err.to_string().contains(&sidecar.display().to_string()),
        "{err}"
    );
    let err = read_sidecar(&root.join("nope.manifest.json")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("nope.manifest.json"));
}
