//! Property: any key the rules accept comes back byte-for-byte from put, get, head and
//! list, on `memory://` and `file://` (the S3 suite covers `s3://` with fixed odd keys).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use proptest::prelude::*;
use strata_backend::key::validate_key;
use strata_backend::prelude::*;
use strata_backend::ObjectStoreBackend;

/// Segments mixing ASCII, characters that URLs and `object_store` escape, and unicode.
fn segment() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-zA-Z0-9 %=+~#@!$&'(),;._-]{1,12}|[üñ日本📈 %+]{1,4}")
        .unwrap()
}

fn key() -> impl Strategy<Value = String> {
    proptest::collection::vec(segment(), 1..4).prop_map(|segments| segments.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Regression: keys ending in `:` broke the local store (found by CI on a fresh clone).
    #[test]
    fn accepted_keys_round_trip(key in key()) {
        prop_assume!(validate_key(&key).is_ok());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        for backend in [ObjectStoreBackend::memory(), ObjectStoreBackend::local(dir.path()).unwrap()] {
            runtime.block_on(async {
                let full = format!("p/{key}");
                backend.put(&full, full.clone()).await.unwrap();
                assert_eq!(backend.get(&full).await.unwrap(), full.as_bytes());
                assert_eq!(backend.head(&full).await.unwrap().key, full);
                let listed: Vec<String> =
                    backend.list("p").await.unwrap().into_iter().map(|m| m.key).collect();
                assert_eq!(listed, [full.as_str()], "on {}", backend.url());
                backend.delete(&full).await.unwrap();
                assert!(backend.list("p").await.unwrap().is_empty());
            });
        }
    }
}
