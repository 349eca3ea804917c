//! The shared conformance suite on `file://`, plus what only a local directory can show:
//! no in-flight or staged files are left on disk, and the root is created on open.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use strata_backend::prelude::*;
use strata_backend::{Error, ObjectStoreBackend};

/// The suite itself (cargo feature `conformance`).
#[cfg(feature = "conformance")]
mod suite {
    use std::path::Path;

    use strata_backend::prelude::*;
    use strata_backend::{conformance, BackendKind, OpenOptions};

    fn file_url(dir: &Path) -> String {
        format!("file://{}", dir.display())
    }

    /// Every file under `dir`, relative to it.
    fn files_on_disk(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(current) = pending.pop() {
            for entry in std::fs::read_dir(&current).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    out.push(path.strip_prefix(dir).unwrap().display().to_string());
                }
            }
        }
        out.sort();
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn file_backend_passes_the_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let backend = strata_backend::open(&file_url(dir.path())).unwrap();
        assert_eq!(backend.kind(), BackendKind::Local);
        let ran = conformance::run_all(&*backend)
            .await
            .unwrap_or_else(|failure| panic!("file://: {failure}"));
        assert_eq!(ran, conformance::SCENARIOS);
        // Scenarios clean up after themselves, and nothing half-written stays on disk.
        assert_eq!(files_on_disk(dir.path()), Vec::<String>::new());
        println!("conformance: {} scenarios passed on file", ran.len());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn file_backend_without_fsync_passes_the_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let backend = OpenOptions::new()
            .fsync(false)
            .open(&file_url(dir.path()))
            .unwrap();
        let ran = conformance::run_all(&*backend)
            .await
            .unwrap_or_else(|failure| panic!("file:// (no fsync): {failure}"));
        println!(
            "conformance: {} scenarios passed on file (fsync off)",
            ran.len()
        );
    }
}

#[tokio::test]
async fn the_root_directory_is_created_and_keys_are_files_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive").join("cold tier");
    let backend = ObjectStoreBackend::local(&root).unwrap();
    backend.put("AAPL/2024 01/ü+%.bin", "x").await.unwrap();
    assert_eq!(
        std::fs::read(root.join("AAPL").join("2024 01").join("ü+%.bin")).unwrap(),
        b"x"
    );
    // Opening by URL (percent-encoded) finds the same directory.
    let url = format!(
        "file://{}",
        dir.path().join("archive").join("cold%20tier").display()
    );
    let reopened = strata_backend::open(&url).unwrap();
    assert_eq!(reopened.get("AAPL/2024 01/ü+%.bin").await.unwrap(), "x");
}

#[tokio::test]
async fn a_key_below_an_object_is_not_found_rather_than_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let backend = ObjectStoreBackend::local(dir.path()).unwrap();
    backend.put("plain", "file").await.unwrap();
    assert!(matches!(
        backend.get("plain/below").await,
        Err(Error::NotFound { key }) if key == "plain/below"
    ));
    assert!(matches!(
        backend.head("plain/below").await,
        Err(Error::NotFound { .. })
    ));
    backend.delete("plain/below").await.unwrap();
}

#[tokio::test]
async fn a_root_that_cannot_be_created_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let err = ObjectStoreBackend::local(blocker.join("root")).unwrap_err();
    assert!(matches!(err, Error::CreateRoot { .. }), "{err}");
    assert!(err.to_string().contains("file/root"), "{err}");
}
