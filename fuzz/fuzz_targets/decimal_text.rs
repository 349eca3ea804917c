//! Any text given to the decimal parser: an error, or a value whose text parses to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_model::Decimal;

fuzz_target!(|text: &str| {
    if let Ok(d) = text.parse::<Decimal>() {
        assert_eq!(d.to_string().parse::<Decimal>().expect("printed decimal parses"), d);
    }
});
