//! Any text given to the Binance capture-line parser: an error or events that survive JSONL —
//! never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_import::binance::{parse_line, BinanceContext, BinanceMessage};
use strata_model::jsonl;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ctx = BinanceContext {
        symbol: Some("BTCUSDT".into()),
        ..BinanceContext::default()
    };
    let events = match parse_line(text, &ctx) {
        Ok(BinanceMessage::DepthUpdate { events, .. }) => events,
        Ok(BinanceMessage::Event(event)) => vec![event],
        Ok(BinanceMessage::Other(_)) | Err(_) => return,
    };
    for event in events {
        let line = jsonl::encode_line(&event).expect("an imported event encodes");
        assert_eq!(jsonl::decode_line(&line).expect("re-decodes"), event);
    }
});
