//! Any text given to the Lean row parsers (trade ticks, quote ticks with carried sides, forex
//! quotes, minute and daily bars): an error or an event that survives JSONL — never a panic.
#![no_main]
use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use strata_import::lean::{
    LeanContext, LeanFile, LeanResolution, LeanSecurityType, LeanTickType, QuoteCarry,
};
use strata_model::jsonl;

fn contexts() -> Vec<LeanContext> {
    let day = NaiveDate::from_ymd_opt(2013, 11, 3).expect("a date"); // a clock-change day
    let mut out = Vec::new();
    for (resolution, tick_type) in [
        (LeanResolution::Tick, LeanTickType::Trade),
        (LeanResolution::Tick, LeanTickType::Quote),
        (LeanResolution::Minute, LeanTickType::Trade),
        (LeanResolution::Minute, LeanTickType::Quote),
        (LeanResolution::Daily, LeanTickType::Trade),
    ] {
        out.push(LeanContext::us_equity("SPY", day, resolution, tick_type));
    }
    let forex = LeanFile {
        security_type: LeanSecurityType::Forex,
        market: "fxcm".into(),
        resolution: LeanResolution::Tick,
        symbol: "EURUSD".into(),
        date: Some(day),
        tick_type: LeanTickType::Quote,
        underlying_expiry: None,
    };
    out.push(LeanContext::new(forex, "lean", None, None).expect("forex has a zone"));
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut carry = QuoteCarry::default();
    for ctx in contexts() {
        for line in text.lines() {
            if let Ok(event) = ctx.parse_row(line, 1, &mut carry) {
                let line = jsonl::encode_line(&event).expect("an imported event encodes");
                assert_eq!(jsonl::decode_line(&line).expect("re-decodes"), event);
            }
        }
    }
});
