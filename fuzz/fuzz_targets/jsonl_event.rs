//! Any bytes given to the JSONL event parser: an error or an event that re-encodes and decodes
//! to itself — never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_model::jsonl;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = jsonl::decode_line(data) {
        let line = jsonl::encode_line(&event).expect("a decoded event encodes");
        assert_eq!(jsonl::decode_line(&line).expect("re-decodes"), event);
    }
});
