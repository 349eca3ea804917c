//! Any bytes given to the DBN import path (codec sniffing, prelude check, the `dbn` decoder,
//! record conversion): a file-level error, or records ending with `End` — never a panic or a
//! huge allocation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_import::{import_reader, Format, ImportOptions, Record};

fuzz_target!(|data: &[u8]| {
    let Ok(records) = import_reader(
        std::io::Cursor::new(data.to_vec()),
        "fuzz.dbn",
        Format::Dbn,
        &ImportOptions::default(),
    ) else {
        return;
    };
    let mut ended = false;
    for record in records {
        assert!(!ended, "a record after End");
        ended = matches!(record, Record::End { .. });
    }
    assert!(ended, "an import ends with End");
});
