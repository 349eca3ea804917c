//! proptest strategies for strata's types (feature `proptest`): the one definition of "any event"
//! that every encode/decode round trip in the workspace draws from.

#![allow(clippy::expect_used)]

use crate::decimal::{MAX_SCALE, POW10};
use crate::event::{
    Bar, BboQuote, BookAction, BookSide, DerivativeTicker, L2Snapshot, Level, OpenInterest,
    OrderBookDelta, Payload, SchemaVersion, Side, TimeBasis, Trade,
};
use crate::{Decimal, Event, EventKind, Timestamp};
use proptest::prelude::*;

/// Any mantissa a `Decimal` can have, biased towards the edges of 64 and 128 bits.
pub fn any_mantissa() -> impl Strategy<Value = i128> {
    let bound = POW10[38];
    prop_oneof![
        any::<i64>().prop_map(i128::from),
        (-bound + 1)..bound,
        (0i128..1000).prop_map(move |k| bound - 1 - k),
        (0i128..1000).prop_map(move |k| 1 - bound + k),
        (-1000i128..1000).prop_map(|k| i128::from(u64::MAX) + k),
        (-1000i128..1000).prop_map(|k| i128::from(i64::MIN) + k),
    ]
}

/// Canonical decimal text: optional minus (never on zero), no leading zeros, 0..=9 fraction digits.
pub fn decimal_text() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        0u64..=9_223_372_036u64,
        proptest::option::of("[0-9]{1,9}"),
    )
        .prop_map(|(neg, int, frac)| {
            let mut s = String::new();
            let zero = int == 0 && frac.as_deref().is_none_or(|f| f.bytes().all(|b| b == b'0'));
            if neg && !zero {
                s.push('-');
            }
            s.push_str(&int.to_string());
            if let Some(frac) = frac {
                s.push('.');
                s.push_str(&frac);
            }
            s
        })
}

/// A decimal as feeds write them (canonical text, at most 9 fraction digits) four times in five,
/// and any decimal strata holds (38 digits, scale 0..=38) otherwise.
pub fn decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        4 => decimal_text().prop_map(|t| t.parse().expect("a canonical decimal text parses")),
        1 => (any_mantissa(), 0u8..=MAX_SCALE)
            .prop_map(|(m, s)| Decimal::new(m, s).expect("a mantissa below 10^38 is a decimal")),
    ]
}

/// A price level.
pub fn level_s() -> impl Strategy<Value = Level> {
    (decimal(), decimal()).prop_map(|(price, size)| Level { price, size })
}

/// Hostile text.
pub fn text() -> impl Strategy<Value = String> {
    // Hostile text: quotes, backslashes, control characters, unicode.
    "(\\PC|[\"\\\\\n\t\u{0}/])*"
}

/// A payload of any kind.
pub fn payload() -> impl Strategy<Value = Payload> {
    proptest::sample::select(EventKind::ALL).prop_flat_map(payload_of)
}

/// A payload of one kind.
pub fn payload_of(kind: EventKind) -> BoxedStrategy<Payload> {
    match kind {
        EventKind::Trade => (
            decimal(),
            decimal(),
            proptest::option::of(prop_oneof![Just(Side::Buy), Just(Side::Sell)]),
            proptest::option::of(text()),
            proptest::option::of(text()),
        )
            .prop_map(|(price, size, side, trade_id, conditions)| {
                Payload::Trade(Trade {
                    price,
                    size,
                    side,
                    trade_id,
                    conditions,
                })
            })
            .boxed(),
        EventKind::BboQuote => (
            proptest::option::of(level_s()),
            proptest::option::of(level_s()),
        )
            .prop_map(|(bid, ask)| Payload::BboQuote(BboQuote { bid, ask }))
            .boxed(),
        EventKind::L2Snapshot => (
            proptest::collection::vec(level_s(), 0..6),
            proptest::collection::vec(level_s(), 0..6),
        )
            .prop_map(|(bids, asks)| Payload::L2Snapshot(L2Snapshot { bids, asks }))
            .boxed(),
        EventKind::OrderBookDelta => (
            proptest::sample::select(BookAction::ALL),
            proptest::option::of(proptest::sample::select(BookSide::ALL)),
            proptest::option::of(decimal()),
            proptest::option::of(decimal()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u8>()),
        )
            .prop_map(|(action, side, price, size, order_id, flags)| {
                Payload::OrderBookDelta(OrderBookDelta {
                    action,
                    side,
                    price,
                    size,
                    order_id,
                    flags,
                })
            })
            .boxed(),
        EventKind::Bar => (
            any::<u32>(),
            decimal(),
            decimal(),
            decimal(),
            decimal(),
            decimal(),
            proptest::option::of(any::<u64>()),
            proptest::option::of(decimal()),
        )
            .prop_map(
                |(interval_s, open, high, low, close, volume, trades, vwap)| {
                    Payload::Bar(Bar {
                        interval_s,
                        open,
                        high,
                        low,
                        close,
                        volume,
                        trades,
                        vwap,
                    })
                },
            )
            .boxed(),
        EventKind::Heartbeat => Just(Payload::Heartbeat).boxed(),
        EventKind::OpenInterest => decimal()
            .prop_map(|value| Payload::OpenInterest(OpenInterest { value }))
            .boxed(),
        EventKind::DerivativeTicker => (
            proptest::option::of(decimal()),
            proptest::option::of(decimal()),
            proptest::option::of(decimal()),
            proptest::option::of(decimal()),
            proptest::option::of(decimal()),
            proptest::option::of(decimal()),
            proptest::option::of(any::<i64>()),
        )
            .prop_map(|(last, mark, index, oi, rate, predicted, at)| {
                Payload::DerivativeTicker(DerivativeTicker {
                    last_price: last,
                    mark_price: mark,
                    index_price: index,
                    open_interest: oi,
                    funding_rate: rate,
                    predicted_funding_rate: predicted,
                    funding_time: at.map(Timestamp::from_nanos),
                })
            })
            .boxed(),
    }
}

/// An event of any kind with hostile text, any times and any minor schema version.
pub fn event() -> impl Strategy<Value = Event> {
    (
        text(),
        text(),
        proptest::option::of(text()),
        any::<i64>(),
        any::<i64>(),
        proptest::option::of(any::<u64>()),
        payload(),
        0u16..50,
        proptest::sample::select(TimeBasis::ALL),
    )
        .prop_map(
            |(source, symbol, venue, ts, rts, sequence, payload, minor, time_basis)| Event {
                schema: SchemaVersion { major: 1, minor },
                source,
                symbol,
                venue,
                event_time: Timestamp::from_nanos(ts),
                receive_time: Timestamp::from_nanos(rts),
                time_basis,
                sequence,
                payload,
            },
        )
}

/// An event of one kind, at the current schema version.
pub fn event_of(kind: EventKind) -> impl Strategy<Value = Event> {
    (event(), payload_of(kind)).prop_map(|(mut e, payload)| {
        e.schema = SchemaVersion::CURRENT;
        e.payload = payload;
        e
    })
}
