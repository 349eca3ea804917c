//! A deterministic event feed: event number `id` is always the same trade.

use strata_model::{Decimal, Event, Payload, Side, Timestamp, Trade};

/// Symbols the feed cycles through.
pub const SYMBOLS: [&str; 3] = ["SPY", "BRK/B", "ES H4"];

/// A small deterministic generator (xorshift) so a failing crash-test round can be replayed by
/// its seed.
pub fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Event number `id` of the deterministic feed: a trade whose `trade_id` and sequence are `id`.
/// Times advance 7 ms per event from 2024-01-15 13:00 UTC, so hourly partitions roll over.
pub fn event(id: u64) -> Event {
    let t0 = 1_705_323_600_000_000_000i64; // 2024-01-15T13:00:00Z
    let mut e = Event::new(
        "feed",
        SYMBOLS[(id % 3) as usize],
        Timestamp::from_nanos(t0 + id as i64 * 7_000_000),
        Payload::Trade(Trade {
            price: Decimal::new(4_700_000 + (id % 977) as i64, 4).unwrap(),
            size: Decimal::new((id % 50 + 1) as i64, 0).unwrap(),
            side: Some(if id.is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            }),
            trade_id: Some(id.to_string()),
            conditions: None,
        }),
    );
    e.sequence = Some(id);
    e
}
