//! The catalog is `Send + Sync`: threads sharing one `Catalog` (or opening their own on the
//! same archive) register files concurrently and end with the same index as one thread.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use strata_catalog::Catalog;

#[test]
fn threads_sharing_a_catalog_and_separate_connections_agree_with_one_thread() {
    let archive = tempfile::tempdir().unwrap();
    let files = common::build_archive(archive.path());
    let expected = {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(dir.path()).unwrap();
        for f in &files {
            catalog.register(&f.manifest).unwrap();
        }
        catalog.dump().unwrap()
    };

    let shared = Arc::new(Catalog::open(archive.path()).unwrap());
    std::thread::scope(|scope| {
        for chunk in files.chunks(13) {
            let shared = Arc::clone(&shared);
            scope.spawn(move || {
                for f in chunk {
                    shared.register(&f.manifest).unwrap();
                }
            });
        }
        // A second connection to the same index (as a second process would have), in WAL mode.
        let root = archive.path();
        let files = &files;
        scope.spawn(move || {
            let own = Catalog::open(root).unwrap();
            for f in files.iter().rev() {
                own.register(&f.manifest).unwrap();
            }
        });
    });
    assert_eq!(shared.dump().unwrap(), expected);
}
