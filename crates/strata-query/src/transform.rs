//! Transforms on the way out (EXPORT-5), over a stream of events in event-time order:
//!
//! - [`bars`]: OHLCV bars from trades at any interval, per symbol and source — open, high, low,
//!   close, volume (exact), trade count and VWAP (rounded half to even at the price scale + 4);
//!   a bar is stamped with the end of its interval, as strata's importers stamp the bars they
//!   read (Lean, DBN): no bar is visible before it is complete. Intervals are aligned to the
//!   epoch (UTC), so every symbol's bars share one grid; a bar comes once its interval has ended
//!   for the whole stream, so bars come in time order too;
//! - [`dedup`]: drops an event identical to one already seen at the same instant (a feed
//!   delivered twice, an overlapping import);
//! - [`quality_filter`]: drops events that are wrong on their face: a trade at price zero, of a
//!   size that is not positive, or flagged suspicious by its venue; a quote with a negative
//!   size, a price of zero with a size, or crossed (bid above ask; a locked book, bid equal to
//!   ask, stays); a snapshot with a negative size or crossed best levels; a book delta of
//!   negative size; a bar whose high is below its low, whose open or close is outside them, or
//!   whose volume is negative ([`flaw`] says why). Negative prices stay (spreads, crude oil in
//!   April 2020), as do empty sides (size zero) and empty books;
//! - [`align`]: state on a regular time grid: quotes, book snapshots, open interest and
//!   tickers sampled at the end of each interval — the last of the interval, per symbol, source
//!   and kind, stamped at the interval's end (an interval without one gives none: nothing is
//!   made up); trades, bars and book deltas, which are not states, pass unchanged (bars are
//!   the aligned form of trades).

use std::collections::{BTreeMap, HashSet};

use strata_model::{jsonl, Bar, Decimal, Event, Payload, Timestamp};

use crate::{Error, Result};

/// The transforms to apply, in this order: the quality filter, dedup, alignment, bars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Steps {
    /// Drop repeated events ([`dedup`]).
    #[serde(default)]
    pub dedup: bool,
    /// OHLCV bars of this many seconds from the trades ([`bars`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bars_s: Option<u32>,
    /// States sampled on a grid of this many seconds ([`align`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub align_s: Option<u32>,
    /// Drop events that are wrong on their face ([`quality_filter`]).
    #[serde(default)]
    pub quality_filter: bool,
}

impl Steps {
    /// `events` through the steps: the quality filter, dedup, alignment, bars.
    pub fn apply<'a>(
        self,
        events: impl Iterator<Item = Result<Event>> + 'a,
    ) -> Box<dyn Iterator<Item = Result<Event>> + 'a> {
        let events: Box<dyn Iterator<Item = Result<Event>> + 'a> = if self.quality_filter {
            Box::new(quality_filter(events))
        } else {
            Box::new(events)
        };
        let events: Box<dyn Iterator<Item = Result<Event>> + 'a> = if self.dedup {
            Box::new(dedup(events))
        } else {
            Box::new(events)
        };
        let events: Box<dyn Iterator<Item = Result<Event>> + 'a> = match self.align_s {
            Some(interval) => Box::new(align(events, interval)),
            None => events,
        };
        match self.bars_s {
            Some(interval) => Box::new(bars(events, interval)),
            None => events,
        }
    }
}

/// Why an event is wrong on its face, if it is (see [`quality_filter`]). Negative prices are
/// not flaws (calendar spreads, crude oil on 2020-04-20, power); a zero price with a size is.
/// A quote level of size zero is an empty side as some feeds send it, not a flaw.
pub fn flaw(e: &Event) -> Option<&'static str> {
    let positive = |d: Decimal| !d.is_negative() && !d.is_zero();
    match &e.payload {
        Payload::Trade(t) => {
            if t.price.is_zero() {
                Some("a trade at price zero")
            } else if !positive(t.size) {
                Some("a trade size that is not positive")
            } else if t
                .conditions
                .as_deref()
                .is_some_and(|c| c.contains("suspicious"))
            {
                Some("a trade its venue flagged suspicious")
            } else {
                None
            }
        }
        Payload::BboQuote(q) => {
            // Sides with a size: the book's real levels.
            let sides: Vec<&strata_model::Level> = [&q.bid, &q.ask]
                .into_iter()
                .flatten()
                .filter(|l| !l.size.is_zero())
                .collect();
            if [&q.bid, &q.ask]
                .into_iter()
                .flatten()
                .any(|l| l.size.is_negative())
            {
                Some("a negative quote size")
            } else if sides.iter().any(|l| l.price.is_zero()) {
                Some("a quote at price zero with a size")
            } else if let (Some(b), Some(a)) = (
                q.bid.filter(|l| !l.size.is_zero()),
                q.ask.filter(|l| !l.size.is_zero()),
            ) {
                b.price
                    .cmp_value(a.price)
                    .is_gt()
                    .then_some("a crossed quote (bid above ask)")
            } else {
                None
            }
        }
        Payload::L2Snapshot(s) => {
            if s.bids.iter().chain(&s.asks).any(|l| l.size.is_negative()) {
                Some("a negative book size")
            } else if let (Some(b), Some(a)) = (s.bids.first(), s.asks.first()) {
                b.price
                    .cmp_value(a.price)
                    .is_gt()
                    .then_some("a crossed book (best bid above best ask)")
            } else {
                None
            }
        }
        Payload::OrderBookDelta(d) => d
            .size
            .is_some_and(|s| s.is_negative())
            .then_some("a negative book delta size"),
        Payload::Bar(b) => {
            let inside = |v: Decimal| !v.cmp_value(b.low).is_lt() && !v.cmp_value(b.high).is_gt();
            if b.high.cmp_value(b.low).is_lt() {
                Some("a bar whose high is below its low")
            } else if !inside(b.open) || !inside(b.close) {
                Some("a bar whose open or close is outside its high and low")
            } else if b.volume.is_negative() {
                Some("a bar of negative volume")
            } else {
                None
            }
        }
        Payload::Heartbeat | Payload::OpenInterest(_) | Payload::DerivativeTicker(_) => None,
    }
}

/// `events` without those [`flaw`] finds wrong.
pub fn quality_filter<I>(events: I) -> impl Iterator<Item = Result<Event>>
where
    I: Iterator<Item = Result<Event>>,
{
    events.filter(|e| e.as_ref().map_or(true, |e| flaw(e).is_none()))
}

/// Whether a kind is a state (a value that holds until the next one), which [`align`]
/// samples.
fn is_state(kind: strata_model::EventKind) -> bool {
    use strata_model::EventKind as K;
    matches!(
        kind,
        K::BboQuote | K::L2Snapshot | K::OpenInterest | K::DerivativeTicker
    )
}

/// The states of `events` sampled every `interval_s` seconds (see the module's
/// documentation); other events pass unchanged, in time order with the samples.
pub fn align<I>(events: I, interval_s: u32) -> Align<I>
where
    I: Iterator<Item = Result<Event>>,
{
    Align {
        events,
        interval_ns: i64::from(interval_s.max(1)) * 1_000_000_000,
        last: BTreeMap::new(),
        ready: std::collections::VecDeque::new(),
        done: false,
    }
}

/// The iterator [`align`] returns.
pub struct Align<I> {
    events: I,
    interval_ns: i64,
    /// The last state of the current interval, by interval end, symbol, source and kind.
    last: BTreeMap<(i64, String, String, strata_model::EventKind), Event>,
    ready: std::collections::VecDeque<Event>,
    done: bool,
}

impl<I> Align<I> {
    /// Moves the samples of every interval ending at or before `now` to `ready`, in time
    /// order.
    fn close_until(&mut self, now: i64) {
        let later = self.last.split_off(&(
            now.saturating_add(1),
            String::new(),
            String::new(),
            strata_model::EventKind::Trade,
        ));
        for ((end, ..), mut event) in std::mem::replace(&mut self.last, later) {
            event.event_time = Timestamp::from_nanos(end);
            self.ready.push_back(event);
        }
    }
}

impl<I: Iterator<Item = Result<Event>>> Iterator for Align<I> {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            match self.events.next() {
                None => {
                    self.done = true;
                    self.close_until(i64::MAX);
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(event)) => {
                    let ts = event.event_time.as_nanos();
                    // Intervals ending at or before this event are complete.
                    self.close_until(ts);
                    if !is_state(event.kind()) {
                        self.ready.push_back(event);
                        continue;
                    }
                    // The interval [start, end) holding `ts`, stamped at `end`.
                    let end = ts
                        .div_euclid(self.interval_ns)
                        .saturating_add(1)
                        .saturating_mul(self.interval_ns);
                    let key = (
                        end,
                        event.symbol.clone(),
                        event.source.clone(),
                        event.kind(),
                    );
                    self.last.insert(key, event);
                }
            }
        }
    }
}

/// Extra digits of a VWAP beyond the prices' scale.
pub const VWAP_EXTRA_SCALE: u8 = 4;

/// One bar being built.
#[derive(Debug, Clone)]
struct Building {
    open: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
    /// Sizes summed at `size_scale`.
    volume: i128,
    size_scale: u8,
    /// Σ price × size, at `price_scale + size_scale`; `None` once it overflowed.
    notional: Option<i128>,
    price_scale: u8,
    trades: u64,
}

/// `value` at `scale` (at least its own), or `None` when it does not fit.
fn at_scale(value: Decimal, scale: u8) -> Option<i128> {
    value.rescaled(scale)
}

impl Building {
    fn new(price: Decimal, size: Decimal) -> Self {
        Building {
            open: price,
            high: price,
            low: price,
            close: price,
            volume: size.mantissa(),
            size_scale: size.scale(),
            notional: price.mantissa().checked_mul(size.mantissa()),
            price_scale: price.scale(),
            trades: 1,
        }
    }

    fn add(&mut self, price: Decimal, size: Decimal) -> Result<()> {
        if price.cmp_value(self.high).is_gt() {
            self.high = price;
        }
        if price.cmp_value(self.low).is_lt() {
            self.low = price;
        }
        self.close = price;
        self.trades += 1;
        // Volume and notional at the largest scales seen.
        let size_scale = self.size_scale.max(size.scale());
        let price_scale = self.price_scale.max(price.scale());
        let rescale = |m: i128, from: u8, to: u8| {
            strata_model::decimal::POW10
                .get(usize::from(to - from))
                .and_then(|p| m.checked_mul(*p))
        };
        let overflow = || Error::Damaged {
            path: "bars".into(),
            message: format!(
                "the volume of a bar overflows 38 digits at trade {}",
                self.trades
            ),
        };
        self.volume = rescale(self.volume, self.size_scale, size_scale)
            .and_then(|v| v.checked_add(at_scale(size, size_scale)?))
            .ok_or_else(overflow)?;
        let old = self.price_scale + self.size_scale;
        self.notional = self.notional.and_then(|n| {
            let n = rescale(n, old, price_scale + size_scale)?;
            let p = at_scale(price, price_scale)?;
            let s = at_scale(size, size_scale)?;
            n.checked_add(p.checked_mul(s)?)
        });
        self.size_scale = size_scale;
        self.price_scale = price_scale;
        Ok(())
    }

    fn finish(&self, first: &Event, end: Timestamp, interval_s: u32) -> Result<Event> {
        let volume = Decimal::new(self.volume, self.size_scale).map_err(|e| Error::Damaged {
            path: "bars".into(),
            message: format!("a bar's volume: {e}"),
        })?;
        // VWAP = Σ p·s / Σ s, at the price scale + 4, half to even.
        let vwap = self.notional.and_then(|n| {
            if self.volume == 0 {
                return None;
            }
            let scaled =
                n.checked_mul(strata_model::decimal::POW10[usize::from(VWAP_EXTRA_SCALE)])?;
            let q = strata_model::decimal::div_rounded_i128(
                scaled,
                self.volume,
                strata_model::decimal::Rounding::HalfEven,
            )?;
            Decimal::new(q, self.price_scale + VWAP_EXTRA_SCALE).ok()
        });
        let mut bar = Event::new(
            first.source.clone(),
            first.symbol.clone(),
            end,
            Payload::Bar(Bar {
                interval_s,
                open: self.open,
                high: self.high,
                low: self.low,
                close: self.close,
                volume,
                trades: Some(self.trades),
                vwap,
            }),
        );
        bar.receive_time = end;
        Ok(bar)
    }
}

/// OHLCV bars of `interval_s` seconds from the trades of `events`; other kinds pass through,
/// in time order with the bars (see the module's documentation).
pub fn bars<I>(events: I, interval_s: u32) -> Bars<I>
where
    I: Iterator<Item = Result<Event>>,
{
    Bars {
        events,
        interval_ns: i64::from(interval_s.max(1)) * 1_000_000_000,
        interval_s: interval_s.max(1),
        open: BTreeMap::new(),
        ready: Vec::new(),
        done: false,
    }
}

/// The iterator [`bars`] returns.
pub struct Bars<I> {
    events: I,
    interval_ns: i64,
    interval_s: u32,
    /// Bars being built, by interval start, symbol and source (with the first trade, which
    /// names them).
    open: BTreeMap<(i64, String, String), (Building, Event)>,
    /// Bars whose interval has ended, in reverse order of output.
    ready: Vec<Event>,
    done: bool,
}

impl<I: Iterator<Item = Result<Event>>> Bars<I> {
    /// Moves every bar of an interval starting before `before` to `ready`.
    fn close_before(&mut self, before: i64) -> Result<()> {
        let later = self.open.split_off(&(before, String::new(), String::new()));
        let ended = std::mem::replace(&mut self.open, later);
        let mut out = Vec::with_capacity(ended.len());
        for ((start, _, _), (building, first)) in ended {
            let end = start.saturating_add(self.interval_ns);
            out.push(building.finish(&first, Timestamp::from_nanos(end), self.interval_s)?);
        }
        out.reverse();
        out.append(&mut self.ready);
        self.ready = out;
        Ok(())
    }
}

impl<I: Iterator<Item = Result<Event>>> Iterator for Bars<I> {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        loop {
            if let Some(bar) = self.ready.pop() {
                return Some(Ok(bar));
            }
            if self.done {
                return None;
            }
            match self.events.next() {
                None => {
                    self.done = true;
                    if let Err(e) = self.close_before(i64::MAX) {
                        return Some(Err(e));
                    }
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(event)) => {
                    let Payload::Trade(t) = &event.payload else {
                        // Another kind passes, after the bars that ended before it.
                        let ts = event.event_time.as_nanos();
                        let start = ts.div_euclid(self.interval_ns) * self.interval_ns;
                        if let Err(e) = self.close_before(start) {
                            self.done = true;
                            return Some(Err(e));
                        }
                        self.ready.insert(0, event);
                        continue;
                    };
                    let (price, size) = (t.price, t.size);
                    let ts = event.event_time.as_nanos();
                    let start = ts.div_euclid(self.interval_ns) * self.interval_ns;
                    // Every interval before this one has ended, for every symbol.
                    if let Err(e) = self.close_before(start) {
                        self.done = true;
                        return Some(Err(e));
                    }
                    let key = (start, event.symbol.clone(), event.source.clone());
                    match self.open.get_mut(&key) {
                        Some((building, _)) => {
                            if let Err(e) = building.add(price, size) {
                                self.done = true;
                                return Some(Err(e));
                            }
                        }
                        None => {
                            self.open.insert(key, (Building::new(price, size), event));
                        }
                    }
                }
            }
        }
    }
}

/// Drops each event whose canonical JSONL line equals that of an event already seen at the
/// same instant.
pub fn dedup<I>(events: I) -> impl Iterator<Item = Result<Event>>
where
    I: Iterator<Item = Result<Event>>,
{
    let mut instant = i64::MIN;
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    events.filter(move |event| {
        let Ok(event) = event else {
            return true;
        };
        let ts = event.event_time.as_nanos();
        if ts != instant {
            instant = ts;
            seen.clear();
        }
        let mut line = Vec::with_capacity(256);
        // Encoding into a Vec cannot fail (see `jsonl::encode_into`).
        let _ = jsonl::encode_into(event, &mut line);
        seen.insert(line)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use strata_model::Trade;

    fn trade(symbol: &str, s: i64, price: &str, size: &str) -> Result<Event> {
        Ok(Event::new(
            "lean",
            symbol,
            Timestamp::from_nanos(s * 1_000_000_000),
            Payload::Trade(Trade {
                price: price.parse().unwrap(),
                size: size.parse().unwrap(),
                side: None,
                trade_id: None,
                conditions: None,
            }),
        ))
    }

    fn bar(
        e: &Event,
    ) -> (
        &str,
        i64,
        String,
        String,
        String,
        String,
        String,
        Option<u64>,
        String,
    ) {
        let Payload::Bar(b) = &e.payload else {
            panic!()
        };
        (
            e.symbol.as_str(),
            e.event_time.as_nanos() / 1_000_000_000,
            b.open.to_string(),
            b.high.to_string(),
            b.low.to_string(),
            b.close.to_string(),
            b.volume.to_string(),
            b.trades,
            b.vwap.map(|v| v.to_string()).unwrap_or_default(),
        )
    }

    fn quote(symbol: &str, s: i64, bid: &str, ask: &str) -> Event {
        let level = |p: &str| strata_model::Level {
            price: p.parse().unwrap(),
            size: "1".parse().unwrap(),
        };
        Event::new(
            "feed",
            symbol,
            Timestamp::from_nanos(s * 1_000_000_000),
            Payload::BboQuote(strata_model::BboQuote {
                bid: Some(level(bid)),
                ask: Some(level(ask)),
            }),
        )
    }

    #[test]
    fn states_are_sampled_at_the_end_of_each_interval() {
        let events = vec![
            quote("A", 0, "1.0", "1.1"),
            quote("A", 30, "1.2", "1.3"),
            trade("A", 45, "1.25", "5").unwrap(),
            quote("B", 59, "5.0", "5.1"),
            quote("A", 60, "1.4", "1.5"),
            // 120..180 has none: no sample for it.
            quote("A", 185, "1.6", "1.7"),
        ];
        let out: Vec<Event> = align(events.into_iter().map(Ok), 60)
            .map(Result::unwrap)
            .collect();
        let got: Vec<(String, i64, String)> = out
            .iter()
            .map(|e| {
                let what = match &e.payload {
                    Payload::BboQuote(q) => q.bid.unwrap().price.to_string(),
                    Payload::Trade(t) => format!("trade {}", t.price),
                    _ => unreachable!(),
                };
                (
                    e.symbol.clone(),
                    e.event_time.as_nanos() / 1_000_000_000,
                    what,
                )
            })
            .collect();
        let want = [
            ("A", 45, "trade 1.25"),
            ("A", 60, "1.2"),
            ("B", 60, "5.0"),
            ("A", 120, "1.4"),
            ("A", 240, "1.6"),
        ];
        assert_eq!(
            got,
            want.iter()
                .map(|(s, t, w)| (s.to_string(), *t, w.to_string()))
                .collect::<Vec<_>>()
        );
        assert!(out.windows(2).all(|w| w[0].event_time <= w[1].event_time));
    }

    #[test]
    fn the_quality_filter_drops_what_is_wrong_on_its_face() {
        let mut suspicious = trade("A", 1, "1.0", "1").unwrap();
        if let Payload::Trade(t) = &mut suspicious.payload {
            t.conditions = Some("20002000;suspicious".into());
        }
        let events = vec![
            trade("A", 0, "1.0", "1").unwrap(),
            trade("A", 1, "0", "1").unwrap(),
            trade("A", 1, "1.0", "-1").unwrap(),
            suspicious,
            quote("A", 2, "1.0", "1.1"),
            quote("A", 2, "1.1", "1.1"),
            quote("A", 3, "1.2", "1.1"),
            quote("A", 3, "0", "1.1"),
            // Crude oil on 2020-04-20: a negative price is a price.
            trade("A", 4, "-37.63", "1").unwrap(),
        ];
        let reasons: Vec<Option<&str>> = events.iter().map(flaw).collect();
        assert_eq!(
            reasons,
            [
                None,
                Some("a trade at price zero"),
                Some("a trade size that is not positive"),
                Some("a trade its venue flagged suspicious"),
                None,
                None,
                Some("a crossed quote (bid above ask)"),
                Some("a quote at price zero with a size"),
                None,
            ]
        );
        let kept: Vec<Event> = quality_filter(events.clone().into_iter().map(Ok))
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            kept,
            vec![
                events[0].clone(),
                events[4].clone(),
                events[5].clone(),
                events[8].clone()
            ]
        );
    }

    #[test]
    fn other_kinds_pass_through_bars_in_time_order() {
        let events = vec![
            Ok(quote("A", 10, "1.0", "1.1")),
            trade("A", 20, "1.05", "3"),
            Ok(quote("A", 70, "1.2", "1.3")),
        ];
        let out: Vec<(i64, &str)> = bars(events.into_iter(), 60)
            .map(Result::unwrap)
            .map(|e| {
                let what = match e.payload {
                    Payload::Bar(_) => "bar",
                    _ => "quote",
                };
                (e.event_time.as_nanos() / 1_000_000_000, what)
            })
            .collect();
        assert_eq!(out, [(10, "quote"), (60, "bar"), (70, "quote")]);
    }

    #[test]
    fn trades_become_bars_in_time_order() {
        let events = vec![
            trade("SPY", 0, "10.00", "100"),
            trade("AAA", 5, "1.5", "10"),
            trade("SPY", 30, "10.50", "100"),
            trade("SPY", 59, "9.75", "200"),
            trade("SPY", 61, "10.25", "0.5"),
            trade("AAA", 125, "1.6", "10"),
        ];
        let out: Vec<Event> = bars(events.into_iter(), 60).map(Result::unwrap).collect();
        // Each bar at the end of its minute.
        let got: Vec<_> = out.iter().map(bar).collect();
        assert_eq!(
            got,
            vec![
                (
                    "AAA",
                    60,
                    "1.5".into(),
                    "1.5".into(),
                    "1.5".into(),
                    "1.5".into(),
                    "10".into(),
                    Some(1),
                    "1.50000".into()
                ),
                // VWAP (10·100 + 10.5·100 + 9.75·200) / 400 = 10.0000
                (
                    "SPY",
                    60,
                    "10.00".into(),
                    "10.50".into(),
                    "9.75".into(),
                    "9.75".into(),
                    "400".into(),
                    Some(3),
                    "10.000000".into()
                ),
                (
                    "SPY",
                    120,
                    "10.25".into(),
                    "10.25".into(),
                    "10.25".into(),
                    "10.25".into(),
                    "0.5".into(),
                    Some(1),
                    "10.250000".into()
                ),
                (
                    "AAA",
                    180,
                    "1.6".into(),
                    "1.6".into(),
                    "1.6".into(),
                    "1.6".into(),
                    "10".into(),
                    Some(1),
                    "1.60000".into()
                ),
            ]
        );
        assert!(out.windows(2).all(|w| w[0].event_time <= w[1].event_time));
    }

    #[test]
    fn vwap_rounds_half_to_even() {
        // (1·1 + 2·2) / 3 = 1.6666…: 1.6667 at scale 0 + 4.
        let events = vec![trade("X", 0, "1", "1"), trade("X", 1, "2", "2")];
        let out: Vec<Event> = bars(events.into_iter(), 60).map(Result::unwrap).collect();
        assert_eq!(bar(&out[0]).8, "1.6667");
    }

    #[test]
    fn a_repeated_event_is_dropped_once_at_its_instant() {
        let events = vec![
            trade("X", 0, "1", "1"),
            trade("X", 0, "1", "1"),
            trade("X", 0, "1", "2"),
            trade("X", 1, "1", "1"),
        ];
        let out: Vec<Event> = dedup(events.into_iter()).map(Result::unwrap).collect();
        assert_eq!(out.len(), 3);
    }
}
