//! INGEST-5 / EXPORT-3: every data folder's `checksums.sha256` is what `sha256sum -c` checks,
//! names with spaces and percent signs included; tampering is detected both by
//! `verify_checksums` and by `sha256sum -c`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use strata_catalog::{
    append_checksum_line, sha256_bytes, sha256_file, verify_checksums, ChecksumStatus,
    CHECKSUMS_FILE,
};

fn sha256sum_available() -> bool {
    Command::new("sha256sum")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `sha256sum -c checksums.sha256` inside `folder`; `None` when sha256sum is not installed.
fn sha256sum_check(folder: &Path) -> Option<bool> {
    if !sha256sum_available() {
        eprintln!("sha256sum not installed: skipping the external check");
        return None;
    }
    let out = Command::new("sha256sum")
        .args(["-c", CHECKSUMS_FILE])
        .current_dir(folder)
        .output()
        .unwrap();
    Some(out.status.success())
}

fn data_folders(root: &Path, files: &[common::SealedFile]) -> BTreeSet<PathBuf> {
    files
        .iter()
        .map(|f| f.manifest.data_path(root).parent().unwrap().to_path_buf())
        .collect()
}

#[test]
fn every_folder_of_the_generated_archive_passes() {
    let archive = tempfile::tempdir().unwrap();
    let files = common::build_archive(archive.path());
    let folders = data_folders(archive.path(), &files);
    let mut lines = 0;
    for folder in &folders {
        let results = verify_checksums(folder).unwrap();
        assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
        lines += results.len();
        if let Some(ok) = sha256sum_check(folder) {
            assert!(ok, "sha256sum -c failed in {}", folder.display());
        }
    }
    assert_eq!(lines, files.len(), "one line per sealed file");
    // The overnight folder's names hold spaces and percent signs.
    assert!(files
        .iter()
        .any(|f| f.manifest.path.contains("%25/") && f.manifest.file_name().contains(' ')));
}

#[test]
fn names_with_spaces_and_percent_signs() {
    let dir = tempfile::tempdir().unwrap();
    let names = [
        "a b.jsonl",
        "100%.jsonl",
        "  leading spaces.jsonl",
        "BRK%2FB trade %20.jsonl",
        "ünïcode.jsonl",
        "*star.jsonl",
    ];
    for (i, name) in names.iter().enumerate() {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("content {i}\n")).unwrap();
        append_checksum_line(dir.path(), name, &sha256_file(&path).unwrap()).unwrap();
    }
    let results = verify_checksums(dir.path()).unwrap();
    assert_eq!(
        results
            .iter()
            .map(|r| r.file_name.as_str())
            .collect::<Vec<_>>(),
        names
    );
    assert!(results.iter().all(|r| r.is_ok()));
    if let Some(ok) = sha256sum_check(dir.path()) {
        assert!(ok);
    }
}

#[test]
fn mismatch_and_missing_are_reported_and_sha256sum_agrees() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["kept.jsonl", "tampered.jsonl", "deleted.jsonl"] {
        let path = dir.path().join(name);
        std::fs::write(&path, name.as_bytes()).unwrap();
        append_checksum_line(dir.path(), name, &sha256_file(&path).unwrap()).unwrap();
    }
    if let Some(ok) = sha256sum_check(dir.path()) {
        assert!(ok);
    }
    std::fs::write(dir.path().join("tampered.jsonl"), b"changed").unwrap();
    std::fs::remove_file(dir.path().join("deleted.jsonl")).unwrap();

    let results = verify_checksums(dir.path()).unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].status, ChecksumStatus::Ok);
    assert_eq!(
        results[1].status,
        ChecksumStatus::Mismatch {
            actual: sha256_bytes(b"changed")
        }
    );
    assert_eq!(results[1].expected, sha256_bytes(b"tampered.jsonl"));
    assert_eq!(results[2].status, ChecksumStatus::Missing);
    assert_eq!(
        results.iter().map(|r| r.line).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    if let Some(ok) = sha256sum_check(dir.path()) {
        assert!(!ok, "sha256sum -c must fail too");
    }
}

#[test]
fn lines_written_by_sha256sum_are_read() {
    if !sha256sum_available() {
        eprintln!("sha256sum not installed: skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A backslash in the name makes GNU sha256sum write its escaped form.
    for name in ["plain.txt", "back\\slash.txt", "sp ace.txt"] {
        std::fs::write(dir.path().join(name), name).unwrap();
    }
    let out = Command::new("sha256sum")
        .args(["plain.txt", "back\\slash.txt", "sp ace.txt"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(dir.path().join(CHECKSUMS_FILE), &out.stdout).unwrap();
    let results = verify_checksums(dir.path()).unwrap();
    assert_eq!(
        results
            .iter()
            .map(|r| (r.file_name.as_str(), r.is_ok()))
            .collect::<Vec<_>>(),
        [
            ("plain.txt", true),
            ("back\\slash.txt", true),
            ("sp ace.txt", true)
        ]
    );
}
