//! Any bytes given to the content-sniffing decoder: an error or data — never a panic or a hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = strata_codec::decompress(data);
});
