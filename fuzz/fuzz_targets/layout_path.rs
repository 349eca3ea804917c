//! Any path given to every layout's parser: an error, or a key that renders back to the same stem
//! (so one key has one path, and stray files never alias real partitions).
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_core::layout::{Granularity, Layout, NamingConvention, KNOWN_EXTENSIONS};

fuzz_target!(|path: &str| {
    for &naming in NamingConvention::ALL {
        let layout = Layout::new(naming, Granularity::Daily);
        if let Ok(key) = layout.parse(path) {
            let stem = KNOWN_EXTENSIONS
                .iter()
                .find_map(|ext| path.strip_suffix(ext))
                .unwrap_or(path);
            assert_eq!(layout.render(&key).expect("a parsed key renders"), stem);
        }
    }
});
