//! Any text given to the decimal parsers: an error, or a value whose text parses to itself; the
//! scientific-notation reader agrees with the plain one on plain text and never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_model::Decimal;

fuzz_target!(|text: &str| {
    let plain = text.parse::<Decimal>();
    if let Ok(d) = plain {
        assert_eq!(d.to_string().parse::<Decimal>().expect("printed decimal parses"), d);
    }
    match Decimal::parse_scientific(text) {
        Ok(d) => {
            assert_eq!(d.to_string().parse::<Decimal>().expect("printed decimal parses"), d);
            if !text.contains(['e', 'E']) {
                assert_eq!(plain.ok(), Some(d), "plain text reads the same both ways");
            }
        }
        Err(_) => assert!(plain.is_err() || text.contains(['e', 'E'])),
    }
});
