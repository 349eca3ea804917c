//! Sidecar manifests are outside input (CAT-1): any bytes given to `parse_manifest` either fail
//! with an error or give a manifest that re-encodes and parses back equal. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_catalog::{encode_manifest, parse_manifest};

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = parse_manifest(data) {
        let line = encode_manifest(&manifest).expect("a parsed manifest encodes");
        let again = parse_manifest(line.as_bytes()).expect("an encoded manifest parses");
        assert_eq!(again, manifest);
    }
});
