//! The shared conformance suite on `memory://`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use strata_backend::prelude::*;

#[cfg(feature = "conformance")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_backend_passes_the_conformance_suite() {
    use strata_backend::{conformance, BackendKind};

    let backend = strata_backend::open("memory://").unwrap();
    assert_eq!(backend.kind(), BackendKind::Memory);
    let ran = conformance::run_all(&*backend)
        .await
        .unwrap_or_else(|failure| panic!("memory://: {failure}"));
    assert_eq!(ran, conformance::SCENARIOS);
    println!("conformance: {} scenarios passed on memory", ran.len());
}

#[tokio::test]
async fn each_memory_open_is_a_fresh_store() {
    let first = strata_backend::open("memory://").unwrap();
    first.put("k", "v").await.unwrap();
    let second = strata_backend::open("memory://").unwrap();
    assert!(!second.exists("k").await.unwrap());
    // Clones share the store.
    assert!(first.clone().exists("k").await.unwrap());
}
