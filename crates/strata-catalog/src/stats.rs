//! Per-file statistics (INGEST-5): counts, sequence and time ranges, and per-kind price and
//! volume figures, all in exact decimal arithmetic.
//!
//! A [`StatsAccumulator`] sees every event of a file as it is written ([`StatsAccumulator::add`])
//! and is turned into the [`FileStats`] of the sealed file ([`StatsAccumulator::finish`]).
//! Accumulators of consecutive pieces of a file can be [merged](StatsAccumulator::merge), which
//! is what compaction and consolidation need.
//!
//! What each kind contributes to its [`KindStats`]:
//!
//! | kind | `price_min` / `price_max` | `open` / `close` | `volume` | `buy_volume` / `sell_volume` | `notional` / `vwap` |
//! |---|---|---|---|---|---|
//! | trade | trade prices | first / last trade price | Σ size | Σ size by aggressor side (trades without a side in neither) | Σ price × size |
//! | bar | lowest `low` / highest `high` | first bar's `open` / last bar's `close` | Σ volume | — | Σ bar vwap × volume (undefined if a bar with volume has no vwap) |
//! | bbo_quote | lowest **bid** / highest **ask** | — | — | — | — |
//! | l2_snapshot | lowest best bid / highest best ask | — | — | — | — |
//! | order_book_delta | prices of deltas that have one | — | Σ size of `execute` deltas | — | Σ price × size of executes (undefined if an execute has no price) |
//! | heartbeat | — | — | — | — | — |
//! | open_interest | — | first / last open interest | — | — | — |
//!
//! Quotes have no traded price: a mid-price (`(bid + ask) / 2`) is not a price anyone dealt at
//! and is not always exact at the quotes' scale, so the range of a quote file is the range the
//! book's top was quoted in, from the lowest bid to the highest ask.
//!
//! # Exactness
//!
//! Sums (volumes, notional) are kept as `i128` integers at a common decimal scale (the largest
//! scale seen; a product's scale is the sum of its factors' scales), so no digit is lost while
//! adding. A term finer than a [`Decimal`] can be (a product of two prices with 20 decimals
//! each has 40) is rounded half-even to 38 decimals as it is added, and the figure is flagged
//! [`KindStats::rounded`]. When a sum is finished it becomes a [`Decimal`] at that scale; if it
//! does not fit one (38 digits, at most 38 decimals) trailing zeros are dropped first, and only
//! if that is not enough is the value rounded half-even to the largest scale that fits, and
//! [`KindStats::rounded`] is set. If a sum or a product overflows `i128` the figure is left out
//! (`None`) and [`KindStats::overflow`] is set: a figure is either exact, or rounded and flagged,
//! or absent and flagged — never silently wrong. The VWAP is `notional / volume`, rounded
//! half-even to 9 decimals (fewer only for prices of more than 29 integer digits).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use strata_core::layout::{Granularity, Period};
use strata_model::decimal::{div_rounded_i128, Rounding, POW10};
use strata_model::{BookAction, Decimal, Event, EventKind, Payload, Side, Timestamp};

/// Decimals of a [`KindStats::vwap`].
pub const VWAP_SCALE: u8 = 9;

const NANOS_PER_HOUR: i64 = 3_600_000_000_000;
const NANOS_PER_DAY: i64 = 24 * NANOS_PER_HOUR;

fn is_false(value: &bool) -> bool {
    !*value
}

/// Statistics of one event kind in one file. See the [module docs](self) for what each kind
/// contributes; a figure that does not apply to the kind is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KindStats {
    /// Events of this kind.
    pub count: u64,
    /// Lowest price (for quotes: lowest bid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_min: Option<Decimal>,
    /// Highest price (for quotes: highest ask).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_max: Option<Decimal>,
    /// First price in file order (trades: first trade; bars: first bar's open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<Decimal>,
    /// Last price in file order (trades: last trade; bars: last bar's close).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close: Option<Decimal>,
    /// Total traded size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<Decimal>,
    /// Size of trades whose aggressor was the buyer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buy_volume: Option<Decimal>,
    /// Size of trades whose aggressor was the seller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sell_volume: Option<Decimal>,
    /// `notional / volume`, rounded half-even to [`VWAP_SCALE`] decimals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vwap: Option<Decimal>,
    /// Σ price × size, exact unless [`rounded`](Self::rounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notional: Option<Decimal>,
    /// A volume or the notional was too large for an exact [`Decimal`] and was rounded
    /// half-even to the largest scale that fits.
    #[serde(default, skip_serializing_if = "is_false")]
    pub rounded: bool,
    /// A sum overflowed 128-bit arithmetic; the figures it feeds are left out.
    #[serde(default, skip_serializing_if = "is_false")]
    pub overflow: bool,
}

/// Events of one symbol, source and kind on one UTC date within a file: what the catalog
/// index stores as facet rows, so queries stay exact when a file holds several symbols,
/// sources, kinds or days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SliceStats {
    /// Canonical symbol.
    pub symbol: String,
    /// Source id.
    pub source: String,
    /// Event kind.
    pub kind: EventKind,
    /// UTC date of the events' event times.
    pub date: NaiveDate,
    /// Number of events.
    pub events: u64,
    /// Earliest event time.
    pub first_event_time: Timestamp,
    /// Latest event time.
    pub last_event_time: Timestamp,
}

/// The statistics of one sealed file (INGEST-5), stored in its manifest.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FileStats {
    /// Number of events.
    pub event_count: u64,
    /// Sequence number of the first event (in file order) that has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_sequence: Option<u64>,
    /// Sequence number of the last event (in file order) that has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sequence: Option<u64>,
    /// Lowest sequence number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_sequence: Option<u64>,
    /// Highest sequence number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_sequence: Option<u64>,
    /// Earliest event time (the minimum, whatever the file order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_event_time: Option<Timestamp>,
    /// Latest event time (the maximum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_time: Option<Timestamp>,
    /// Every symbol in the file.
    #[serde(default)]
    pub symbols: BTreeSet<String>,
    /// Every source in the file.
    #[serde(default)]
    pub sources: BTreeSet<String>,
    /// Every venue (exchange code) its events name — a file of a layout that does not
    /// partition by exchange holds the prints of many (events without a venue add none).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub venues: BTreeSet<String>,
    /// Events per UTC hour of event time, keyed `2024-01-15T13`.
    #[serde(default)]
    pub events_by_hour: BTreeMap<String, u64>,
    /// Statistics per event kind.
    #[serde(default)]
    pub kinds: BTreeMap<EventKind, KindStats>,
    /// Events per (symbol, source, kind, UTC date), sorted by those keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slices: Vec<SliceStats>,
}

/// An exact sum: `value × 10^-scale`, or "overflowed".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct ExactSum {
    value: i128,
    scale: u8,
    overflowed: bool,
    /// A term had to be rounded to [`MAX_SCALE`](strata_model::decimal::MAX_SCALE) decimals.
    rounded: bool,
}

impl ExactSum {
    #[inline]
    fn add(&mut self, value: i128, scale: u8) {
        if self.overflowed {
            return;
        }
        if scale == self.scale {
            // The common case: every term at the sum's scale.
            match self.value.checked_add(value) {
                Some(v) => self.value = v,
                None => self.overflowed = true,
            }
            return;
        }
        if self.try_add(value, scale).is_none() {
            self.overflowed = true;
        }
    }

    fn try_add(&mut self, mut value: i128, mut scale: u8) -> Option<()> {
        let max = strata_model::decimal::MAX_SCALE;
        if scale > max {
            let unit = *POW10.get(usize::from(scale - max))?;
            let rounded = div_rounded_i128(value, unit, Rounding::HalfEven)?;
            self.rounded |= rounded.checked_mul(unit)? != value;
            (value, scale) = (rounded, max);
        }
        if scale > self.scale {
            self.value = self
                .value
                .checked_mul(*POW10.get(usize::from(scale - self.scale))?)?;
            self.scale = scale;
        }
        let value = value.checked_mul(*POW10.get(usize::from(self.scale - scale))?)?;
        self.value = self.value.checked_add(value)?;
        Some(())
    }

    fn add_decimal(&mut self, d: Decimal) {
        self.add(d.mantissa(), d.scale());
    }

    /// Adds `a × b` exactly; a product beyond 128 bits marks the sum overflowed.
    #[inline]
    fn add_product(&mut self, a: Decimal, b: Decimal) {
        if let (Some(x), Some(y)) = (a.mantissa_i64(), b.mantissa_i64()) {
            // Two 64-bit mantissas: the product always fits 128 bits.
            self.add(i128::from(x) * i128::from(y), a.scale() + b.scale());
            return;
        }
        match a.mantissa().checked_mul(b.mantissa()) {
            Some(product) => self.add(product, a.scale() + b.scale()),
            None => self.overflowed = true,
        }
    }

    fn add_sum(&mut self, other: ExactSum) {
        self.rounded |= other.rounded;
        if other.overflowed {
            self.overflowed = true;
        } else {
            self.add(other.value, other.scale);
        }
    }

    /// The sum as a decimal and whether it had to be rounded; `None` when it overflowed.
    fn to_decimal(self) -> Option<(Decimal, bool)> {
        if self.overflowed {
            return None;
        }
        fit_decimal(self.value, self.scale).map(|(d, rounded)| (d, rounded || self.rounded))
    }
}

/// `value × 10^-scale` as a [`Decimal`]: exactly when it fits (dropping trailing zeros if
/// needed), else rounded half-even to the largest scale that fits (flag `true`); `None` when
/// not even the integer part fits.
fn fit_decimal(value: i128, scale: u8) -> Option<(Decimal, bool)> {
    Decimal::fitting(value, scale, Rounding::Exact)
        .map(|d| (d, false))
        .or_else(|| Decimal::fitting(value, scale, Rounding::HalfEven).map(|d| (d, true)))
}

/// `notional / volume` rounded half-even to [`VWAP_SCALE`] decimals; `None` when the volume
/// is not positive or the division does not fit 128 bits.
fn vwap_of(notional: ExactSum, volume: ExactSum) -> Option<Decimal> {
    if notional.overflowed || volume.overflowed || volume.value <= 0 {
        return None;
    }
    // vwap × 10^9 = N × 10^-sn × 10^9 / (V × 10^-sv) = N × 10^(9 + sv - sn) / V
    let exponent = i32::from(VWAP_SCALE) + i32::from(volume.scale) - i32::from(notional.scale);
    let shift = *POW10.get(usize::try_from(exponent.unsigned_abs()).ok()?)?;
    let (num, den) = if exponent >= 0 {
        (notional.value.checked_mul(shift)?, volume.value)
    } else {
        (notional.value, volume.value.checked_mul(shift)?)
    };
    let scaled = div_rounded_i128(num, den, Rounding::HalfEven)?;
    match Decimal::new(scaled, VWAP_SCALE) {
        Ok(d) => Some(d),
        // Prices of more than 29 integer digits do not fit 9 decimals: keep as many as fit.
        Err(_) => fit_decimal(scaled, VWAP_SCALE).map(|(d, _)| d),
    }
}

fn min_value(current: Option<Decimal>, candidate: Decimal) -> Option<Decimal> {
    match current {
        Some(c) if c.cmp_value(candidate) != Ordering::Greater => Some(c),
        _ => Some(candidate),
    }
}

fn max_value(current: Option<Decimal>, candidate: Decimal) -> Option<Decimal> {
    match current {
        Some(c) if c.cmp_value(candidate) != Ordering::Less => Some(c),
        _ => Some(candidate),
    }
}

fn merge_min(a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    match b {
        Some(b) => min_value(a, b),
        None => a,
    }
}

fn merge_max(a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    match b {
        Some(b) => max_value(a, b),
        None => a,
    }
}

fn merge_sum(a: &mut Option<ExactSum>, b: Option<ExactSum>) {
    if let Some(b) = b {
        a.get_or_insert_with(ExactSum::default).add_sum(b);
    }
}

/// Running figures of one kind.
#[derive(Debug, Clone, Default)]
struct KindAccumulator {
    count: u64,
    price_min: Option<Decimal>,
    price_max: Option<Decimal>,
    open: Option<Decimal>,
    close: Option<Decimal>,
    volume: Option<ExactSum>,
    buy_volume: Option<ExactSum>,
    sell_volume: Option<ExactSum>,
    notional: Option<ExactSum>,
    /// Some volume came without a price: the notional (and VWAP) are undefined.
    notional_incomplete: bool,
}

impl KindAccumulator {
    fn price(&mut self, price: Decimal) {
        self.price_min = min_value(self.price_min, price);
        self.price_max = max_value(self.price_max, price);
    }

    fn first_last(&mut self, open: Decimal, close: Decimal) {
        if self.open.is_none() {
            self.open = Some(open);
        }
        self.close = Some(close);
    }

    /// Starts the sums of a kind that trades (trades, bars, deltas) at zero, so a file of such
    /// events always reports a volume, even "0".
    fn start_sums(&mut self) {
        self.volume.get_or_insert_with(ExactSum::default);
        self.notional.get_or_insert_with(ExactSum::default);
    }

    /// Traded `size` at `price` (`None`: price unknown, so the notional is undefined).
    fn traded(&mut self, price: Option<Decimal>, size: Decimal) {
        self.volume
            .get_or_insert_with(ExactSum::default)
            .add_decimal(size);
        match price {
            Some(price) => self
                .notional
                .get_or_insert_with(ExactSum::default)
                .add_product(price, size),
            None => {
                if !size.is_zero() {
                    self.notional_incomplete = true;
                }
            }
        }
    }

    fn add(&mut self, payload: &Payload) {
        self.count += 1;
        match payload {
            Payload::Trade(trade) => {
                self.start_sums();
                self.buy_volume.get_or_insert_with(ExactSum::default);
                self.sell_volume.get_or_insert_with(ExactSum::default);
                self.price(trade.price);
                self.first_last(trade.price, trade.price);
                self.traded(Some(trade.price), trade.size);
                let by_side = match trade.side {
                    Some(Side::Buy) => &mut self.buy_volume,
                    Some(Side::Sell) => &mut self.sell_volume,
                    None => &mut None,
                };
                if let Some(sum) = by_side {
                    sum.add_decimal(trade.size);
                }
            }
            Payload::Bar(bar) => {
                self.start_sums();
                self.price_min = min_value(self.price_min, bar.low);
                self.price_max = max_value(self.price_max, bar.high);
                self.first_last(bar.open, bar.close);
                self.traded(bar.vwap, bar.volume);
            }
            Payload::BboQuote(quote) => {
                if let Some(bid) = quote.bid {
                    self.price_min = min_value(self.price_min, bid.price);
                }
                if let Some(ask) = quote.ask {
                    self.price_max = max_value(self.price_max, ask.price);
                }
            }
            Payload::L2Snapshot(book) => {
                let best_bid = book.bids.iter().map(|l| l.price).reduce(|a, b| {
                    if b.cmp_value(a) == Ordering::Greater {
                        b
                    } else {
                        a
                    }
                });
                let best_ask = book.asks.iter().map(|l| l.price).reduce(|a, b| {
                    if b.cmp_value(a) == Ordering::Less {
                        b
                    } else {
                        a
                    }
                });
                if let Some(bid) = best_bid {
                    self.price_min = min_value(self.price_min, bid);
                }
                if let Some(ask) = best_ask {
                    self.price_max = max_value(self.price_max, ask);
                }
            }
            Payload::OrderBookDelta(delta) => {
                self.start_sums();
                if let Some(price) = delta.price {
                    self.price(price);
                }
                if delta.action == BookAction::Execute {
                    if let Some(size) = delta.size {
                        self.traded(delta.price, size);
                    }
                }
            }
            Payload::Heartbeat => {}
            Payload::OpenInterest(oi) => self.first_last(oi.value, oi.value),
            // The mark price is the ticker's price: its range, first and last (one series only:
            // last prices would mix another into it).
            Payload::DerivativeTicker(t) => {
                if let Some(mark) = t.mark_price {
                    self.price(mark);
                    self.first_last(mark, mark);
                }
            }
        }
    }

    /// Appends the figures of `later`, which covers events after this one's.
    fn merge(&mut self, later: KindAccumulator) {
        self.count += later.count;
        self.price_min = merge_min(self.price_min, later.price_min);
        self.price_max = merge_max(self.price_max, later.price_max);
        self.open = self.open.or(later.open);
        self.close = later.close.or(self.close);
        merge_sum(&mut self.volume, later.volume);
        merge_sum(&mut self.buy_volume, later.buy_volume);
        merge_sum(&mut self.sell_volume, later.sell_volume);
        merge_sum(&mut self.notional, later.notional);
        self.notional_incomplete |= later.notional_incomplete;
    }

    fn finish(self) -> KindStats {
        let mut rounded = false;
        let mut overflow = false;
        let mut exact = |sum: Option<ExactSum>| -> Option<Decimal> {
            let sum = sum?;
            match sum.to_decimal() {
                Some((d, was_rounded)) => {
                    rounded |= was_rounded;
                    Some(d)
                }
                None => {
                    overflow = true;
                    None
                }
            }
        };
        let volume = exact(self.volume);
        let buy_volume = exact(self.buy_volume);
        let sell_volume = exact(self.sell_volume);
        let complete_notional = self.notional.filter(|_| !self.notional_incomplete);
        let notional = exact(complete_notional);
        let vwap = match (complete_notional, self.volume) {
            (Some(n), Some(v)) if !n.overflowed && !v.overflowed => vwap_of(n, v),
            _ => None,
        };
        // A VWAP left out only because 128 bits were not enough is an overflow too.
        if let (Some(n), Some(v), None) = (complete_notional, self.volume, vwap) {
            if !n.overflowed && !v.overflowed && v.value > 0 {
                overflow = true;
            }
        }
        KindStats {
            count: self.count,
            price_min: self.price_min,
            price_max: self.price_max,
            open: self.open,
            close: self.close,
            volume,
            buy_volume,
            sell_volume,
            vwap,
            notional,
            rounded,
            overflow,
        }
    }
}

/// Events counted in one hour or day, with one event time inside it (to name it without
/// re-deriving the bucket's start, which may lie outside the timestamp range).
#[derive(Debug, Clone, Copy)]
struct Bucket {
    at: Timestamp,
    events: u64,
}

#[derive(Debug, Clone, Copy)]
struct SliceAccumulator {
    events: u64,
    first: Timestamp,
    last: Timestamp,
}

impl SliceAccumulator {
    fn merge(&mut self, other: SliceAccumulator) {
        self.events += other.events;
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
    }
}

/// (kind, UTC day number) → slice, for one symbol and source.
type KindDaySlices = BTreeMap<(EventKind, i64), (Timestamp, SliceAccumulator)>;

/// Collects the [`FileStats`] of a file, one event at a time, in file order.
///
/// ```
/// use strata_catalog::StatsAccumulator;
/// use strata_model::{Event, EventKind, Payload, Side, Timestamp, Trade};
///
/// let trade = |ns: i64, price: &str, size: &str| -> Result<Event, Box<dyn std::error::Error>> {
///     Ok(Event::new("nasdaq", "AAPL", Timestamp::from_nanos(ns), Payload::Trade(Trade {
///         price: price.parse()?,
///         size: size.parse()?,
///         side: Some(Side::Buy),
///         trade_id: None,
///         conditions: None,
///     })))
/// };
/// let mut stats = StatsAccumulator::new();
/// stats.add(&trade(1, "100.00", "10")?);
/// stats.add(&trade(2, "101.00", "30")?);
/// let stats = stats.finish();
/// let trades = &stats.kinds[&EventKind::Trade];
/// assert_eq!(trades.volume.map(|v| v.to_string()).as_deref(), Some("40"));
/// // (100 × 10 + 101 × 30) / 40 = 100.75
/// assert_eq!(trades.vwap.map(|v| v.to_string()).as_deref(), Some("100.750000000"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct StatsAccumulator {
    event_count: u64,
    first_sequence: Option<u64>,
    last_sequence: Option<u64>,
    min_sequence: Option<u64>,
    max_sequence: Option<u64>,
    min_time: Option<Timestamp>,
    max_time: Option<Timestamp>,
    /// UTC hour number → events.
    hours: BTreeMap<i64, Bucket>,
    kinds: BTreeMap<EventKind, KindAccumulator>,
    /// symbol → source → (kind, UTC day number) → (an event time that day, slice).
    slices: BTreeMap<String, BTreeMap<String, KindDaySlices>>,
    /// Every venue seen.
    venues: BTreeSet<String>,
}

impl StatsAccumulator {
    /// An accumulator that has seen no event.
    pub fn new() -> StatsAccumulator {
        StatsAccumulator::default()
    }

    /// Events seen so far.
    pub fn event_count(&self) -> u64 {
        self.event_count
    }

    /// Counts one event; call in file order.
    pub fn add(&mut self, event: &Event) {
        self.event_count += 1;
        if let Some(seq) = event.sequence {
            self.first_sequence.get_or_insert(seq);
            self.last_sequence = Some(seq);
            self.min_sequence = Some(self.min_sequence.map_or(seq, |m| m.min(seq)));
            self.max_sequence = Some(self.max_sequence.map_or(seq, |m| m.max(seq)));
        }
        let time = event.event_time;
        self.min_time = Some(self.min_time.map_or(time, |t| t.min(time)));
        self.max_time = Some(self.max_time.map_or(time, |t| t.max(time)));

        let hour = time.as_nanos().div_euclid(NANOS_PER_HOUR);
        self.hours
            .entry(hour)
            .or_insert(Bucket {
                at: time,
                events: 0,
            })
            .events += 1;

        self.kinds
            .entry(event.kind())
            .or_default()
            .add(&event.payload);

        if let Some(venue) = event.venue.as_deref() {
            if !self.venues.contains(venue) {
                self.venues.insert(venue.to_string());
            }
        }
        // Look up by reference first: the writer calls this for every event, and the symbol
        // and source are almost always known already.
        let by_source = match self.slices.get_mut(event.symbol.as_str()) {
            Some(map) => map,
            None => self.slices.entry(event.symbol.clone()).or_default(),
        };
        let by_kind_day = match by_source.get_mut(event.source.as_str()) {
            Some(map) => map,
            None => by_source.entry(event.source.clone()).or_default(),
        };
        let day = time.as_nanos().div_euclid(NANOS_PER_DAY);
        let (_, slice) = by_kind_day.entry((event.kind(), day)).or_insert((
            time,
            SliceAccumulator {
                events: 0,
                first: time,
                last: time,
            },
        ));
        slice.merge(SliceAccumulator {
            events: 1,
            first: time,
            last: time,
        });
    }

    /// Appends the statistics of `later`, an accumulator over the events that follow this
    /// one's in file order (as when two files are compacted into one). Counts, ranges and sums
    /// do not depend on the order of merging; first/last sequence and open/close do.
    pub fn merge(&mut self, later: StatsAccumulator) {
        self.event_count += later.event_count;
        self.first_sequence = self.first_sequence.or(later.first_sequence);
        self.last_sequence = later.last_sequence.or(self.last_sequence);
        self.min_sequence = match (self.min_sequence, later.min_sequence) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max_sequence = match (self.max_sequence, later.max_sequence) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.min_time = match (self.min_time, later.min_time) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max_time = match (self.max_time, later.max_time) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        for (hour, bucket) in later.hours {
            self.hours
                .entry(hour)
                .or_insert(Bucket {
                    at: bucket.at,
                    events: 0,
                })
                .events += bucket.events;
        }
        for (kind, acc) in later.kinds {
            self.kinds.entry(kind).or_default().merge(acc);
        }
        self.venues.extend(later.venues);
        for (symbol, by_source) in later.slices {
            let mine = self.slices.entry(symbol).or_default();
            for (source, by_kind_day) in by_source {
                let mine = mine.entry(source).or_default();
                for (key, (at, slice)) in by_kind_day {
                    match mine.get_mut(&key) {
                        Some((_, existing)) => existing.merge(slice),
                        None => {
                            mine.insert(key, (at, slice));
                        }
                    }
                }
            }
        }
    }

    /// The statistics of everything added.
    pub fn finish(self) -> FileStats {
        let events_by_hour = self
            .hours
            .values()
            .map(|bucket| (hour_name(bucket.at), bucket.events))
            .collect();
        let mut symbols = BTreeSet::new();
        let mut sources = BTreeSet::new();
        let mut slices = Vec::new();
        for (symbol, by_source) in self.slices {
            for (source, by_kind_day) in by_source {
                for ((kind, _), (at, slice)) in by_kind_day {
                    slices.push(SliceStats {
                        symbol: symbol.clone(),
                        source: source.clone(),
                        kind,
                        date: at.utc_date(),
                        events: slice.events,
                        first_event_time: slice.first,
                        last_event_time: slice.last,
                    });
                }
                sources.insert(source);
            }
            symbols.insert(symbol);
        }
        // Keyed by (symbol, source, kind, day number) above; dates sort as day numbers do,
        // but sort by the published key to make the order a documented fact, not an accident.
        slices.sort_by(|a, b| {
            (&a.symbol, &a.source, a.kind, a.date).cmp(&(&b.symbol, &b.source, b.kind, b.date))
        });
        FileStats {
            event_count: self.event_count,
            first_sequence: self.first_sequence,
            last_sequence: self.last_sequence,
            min_sequence: self.min_sequence,
            max_sequence: self.max_sequence,
            first_event_time: self.min_time,
            last_event_time: self.max_time,
            symbols,
            sources,
            venues: self.venues,
            events_by_hour,
            kinds: self
                .kinds
                .into_iter()
                .map(|(kind, acc)| (kind, acc.finish()))
                .collect(),
            slices,
        }
    }
}

/// `2024-01-15T13`: the UTC hour of `time`, named as hourly partitions are.
fn hour_name(time: Timestamp) -> String {
    match Period::containing(time, Granularity::Hourly) {
        Some(period) => period.to_string(),
        // `containing` answers for every granularity but `None`; keep a name regardless.
        None => time.to_datetime().format("%Y-%m-%dT%H").to_string(),
    }
}

impl FileStats {
    /// The statistics of `events`, in order.
    pub fn of<'a>(events: impl IntoIterator<Item = &'a Event>) -> FileStats {
        let mut acc = StatsAccumulator::new();
        for event in events {
            acc.add(event);
        }
        acc.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use strata_model::{Bar, BboQuote, L2Snapshot, Level, OrderBookDelta, Trade};

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn event(symbol: &str, time: &str, seq: Option<u64>, payload: Payload) -> Event {
        let mut e = Event::new("nasdaq", symbol, ts(time), payload);
        e.sequence = seq;
        e
    }

    fn trade(price: &str, size: &str, side: Option<Side>) -> Payload {
        Payload::Trade(Trade {
            price: d(price),
            size: d(size),
            side,
            trade_id: None,
            conditions: None,
        })
    }

    fn text(d: Option<Decimal>) -> Option<String> {
        d.map(|d| d.to_string())
    }

    #[test]
    fn trades_worked_example() {
        let events = [
            event(
                "AAPL",
                "2024-01-15T13:59:59Z",
                Some(7),
                trade("185.10", "100", Some(Side::Buy)),
            ),
            event(
                "AAPL",
                "2024-01-15T14:00:00Z",
                Some(5),
                trade("185.05", "50", Some(Side::Sell)),
            ),
            event(
                "AAPL",
                "2024-01-15T13:30:00Z",
                None,
                trade("185.2", "25.5", None),
            ),
            event(
                "AAPL",
                "2024-01-15T14:10:00Z",
                Some(9),
                trade("184.99", "10", Some(Side::Buy)),
            ),
        ];
        let stats = FileStats::of(&events);
        assert_eq!(stats.event_count, 4);
        assert_eq!(
            (stats.first_sequence, stats.last_sequence),
            (Some(7), Some(9))
        );
        assert_eq!((stats.min_sequence, stats.max_sequence), (Some(5), Some(9)));
        assert_eq!(stats.first_event_time, Some(ts("2024-01-15T13:30:00Z")));
        assert_eq!(stats.last_event_time, Some(ts("2024-01-15T14:10:00Z")));
        assert_eq!(
            stats.events_by_hour,
            BTreeMap::from([
                ("2024-01-15T13".to_string(), 2),
                ("2024-01-15T14".to_string(), 2)
            ])
        );
        let t = &stats.kinds[&EventKind::Trade];
        assert_eq!(t.count, 4);
        assert_eq!(text(t.price_min).as_deref(), Some("184.99"));
        assert_eq!(text(t.price_max).as_deref(), Some("185.2"));
        assert_eq!(text(t.open).as_deref(), Some("185.10"));
        assert_eq!(text(t.close).as_deref(), Some("184.99"));
        // 100 + 50 + 25.5 + 10 at the common scale 1
        assert_eq!(text(t.volume).as_deref(), Some("185.5"));
        assert_eq!(text(t.buy_volume).as_deref(), Some("110"));
        assert_eq!(text(t.sell_volume).as_deref(), Some("50"));
        // 18510.00 + 9252.50 + 4722.60 + 1849.90 = 34335.00: every product has scale 2
        // (185.10 × 100, 185.2 × 25.5, …), so the sum has scale 2.
        assert_eq!(text(t.notional).as_deref(), Some("34335.00"));
        // 34335 / 185.5 = 185.0943396226415... → 185.094339623 (half-even at 9 decimals)
        assert_eq!(text(t.vwap).as_deref(), Some("185.094339623"));
        assert!(!t.rounded && !t.overflow);
        assert_eq!(stats.slices.len(), 1);
        assert_eq!(stats.slices[0].events, 4);
        assert_eq!(stats.slices[0].date.to_string(), "2024-01-15");
    }

    #[test]
    fn bars_quotes_books_deltas_heartbeats() {
        let bar = |o: &str, h: &str, l: &str, c: &str, v: &str, vwap: Option<&str>| {
            Payload::Bar(Bar {
                interval_s: 60,
                open: d(o),
                high: d(h),
                low: d(l),
                close: d(c),
                volume: d(v),
                trades: None,
                vwap: vwap.map(d),
            })
        };
        let quote = |bid: Option<&str>, ask: Option<&str>| {
            Payload::BboQuote(BboQuote {
                bid: bid.map(|p| Level {
                    price: d(p),
                    size: d("1"),
                }),
                ask: ask.map(|p| Level {
                    price: d(p),
                    size: d("1"),
                }),
            })
        };
        let level = |p: &str| Level {
            price: d(p),
            size: d("3"),
        };
        let delta = |action, price: Option<&str>, size: Option<&str>| {
            Payload::OrderBookDelta(OrderBookDelta {
                action,
                side: None,
                price: price.map(d),
                size: size.map(d),
                order_id: None,
                flags: None,
            })
        };
        let t = "2024-01-15T10:00:00Z";
        let events = [
            event(
                "SPY",
                t,
                None,
                bar("10", "12", "9", "11", "100", Some("10.5")),
            ),
            event(
                "SPY",
                t,
                None,
                bar("11", "15", "10", "14", "300", Some("12.5")),
            ),
            event("SPY", t, None, quote(Some("99.5"), Some("100.5"))),
            event("SPY", t, None, quote(Some("99.0"), None)),
            event("SPY", t, None, quote(None, Some("101"))),
            event(
                "SPY",
                t,
                None,
                Payload::L2Snapshot(L2Snapshot {
                    bids: vec![level("98"), level("98.5")],
                    asks: vec![level("102"), level("101.5")],
                }),
            ),
            event(
                "SPY",
                t,
                None,
                delta(BookAction::Add, Some("100"), Some("5")),
            ),
            event(
                "SPY",
                t,
                None,
                delta(BookAction::Execute, Some("100.25"), Some("2")),
            ),
            event(
                "SPY",
                t,
                None,
                delta(BookAction::Execute, Some("99.75"), Some("2")),
            ),
            event("SPY", t, None, delta(BookAction::Clear, None, None)),
            event("SPY", t, None, Payload::Heartbeat),
        ];
        let stats = FileStats::of(&events);
        assert_eq!(stats.event_count, 11);

        let b = &stats.kinds[&EventKind::Bar];
        assert_eq!(b.count, 2);
        assert_eq!(
            (text(b.price_min), text(b.price_max)),
            (Some("9".into()), Some("15".into()))
        );
        assert_eq!(
            (text(b.open), text(b.close)),
            (Some("10".into()), Some("14".into()))
        );
        assert_eq!(text(b.volume).as_deref(), Some("400"));
        // (10.5 × 100 + 12.5 × 300) / 400 = (1050 + 3750) / 400 = 12
        assert_eq!(text(b.notional).as_deref(), Some("4800.0"));
        assert_eq!(text(b.vwap).as_deref(), Some("12.000000000"));
        assert_eq!(b.buy_volume, None);

        let q = &stats.kinds[&EventKind::BboQuote];
        assert_eq!(q.count, 3);
        // Lowest bid and highest ask, not a mid.
        assert_eq!(
            (text(q.price_min), text(q.price_max)),
            (Some("99.0".into()), Some("101".into()))
        );
        assert_eq!((q.open, q.volume, q.vwap), (None, None, None));

        let l2 = &stats.kinds[&EventKind::L2Snapshot];
        // Best bid 98.5 (whatever the order), best ask 101.5.
        assert_eq!(
            (text(l2.price_min), text(l2.price_max)),
            (Some("98.5".into()), Some("101.5".into()))
        );

        let del = &stats.kinds[&EventKind::OrderBookDelta];
        assert_eq!(del.count, 4);
        assert_eq!(
            (text(del.price_min), text(del.price_max)),
            (Some("99.75".into()), Some("100.25".into()))
        );
        // Only executes trade: 2 + 2 at (100.25 + 99.75) → vwap 100.
        assert_eq!(text(del.volume).as_deref(), Some("4"));
        assert_eq!(text(del.notional).as_deref(), Some("400.00"));
        assert_eq!(text(del.vwap).as_deref(), Some("100.000000000"));

        let hb = &stats.kinds[&EventKind::Heartbeat];
        assert_eq!(
            hb,
            &KindStats {
                count: 1,
                ..KindStats::default()
            }
        );
    }

    #[test]
    fn bar_without_vwap_leaves_vwap_undefined_but_keeps_volume() {
        let bar = Payload::Bar(Bar {
            interval_s: 60,
            open: d("1"),
            high: d("2"),
            low: d("1"),
            close: d("2"),
            volume: d("5"),
            trades: None,
            vwap: None,
        });
        let stats = FileStats::of(&[event("X", "2024-01-15T00:00:00Z", None, bar)]);
        let b = &stats.kinds[&EventKind::Bar];
        assert_eq!(text(b.volume).as_deref(), Some("5"));
        assert_eq!((b.notional, b.vwap), (None, None));
    }

    #[test]
    fn vwap_rounds_half_even() {
        // 1 × 1 + 2 × 1 + 2 × 1 ... choose values where the 10th decimal is exactly 5:
        // notional 0.0000000005 × 2 over volume 2 → 0.0000000005 → rounds to even 0.000000000
        // and 0.0000000015 → 0.000000002.
        let one = |price: &str| event("X", "2024-01-15T00:00:00Z", None, trade(price, "1", None));
        let stats = FileStats::of(&[one("0.0000000005")]);
        assert_eq!(
            text(stats.kinds[&EventKind::Trade].vwap).as_deref(),
            Some("0.000000000")
        );
        let stats = FileStats::of(&[one("0.0000000015")]);
        assert_eq!(
            text(stats.kinds[&EventKind::Trade].vwap).as_deref(),
            Some("0.000000002")
        );
        let stats = FileStats::of(&[one("-0.0000000015")]);
        assert_eq!(
            text(stats.kinds[&EventKind::Trade].vwap).as_deref(),
            Some("-0.000000002")
        );
        // 1/3: 0.333333333(3) rounds down.
        let stats = FileStats::of(&[one("0"), one("0"), one("1")]);
        assert_eq!(
            text(stats.kinds[&EventKind::Trade].vwap).as_deref(),
            Some("0.333333333")
        );
    }

    #[test]
    fn large_sums_are_rounded_or_flagged_never_wrong() {
        // Volume 2 × (38 nines at scale 0): does not fit 38 digits at scale 0 → rounding is
        // impossible (no decimals to drop) → volume absent and overflow flagged.
        let big = "9".repeat(38);
        let e = |size: &str| event("X", "2024-01-15T00:00:00Z", None, trade("1", size, None));
        let stats = FileStats::of(&[e(&big), e(&big)]);
        let t = &stats.kinds[&EventKind::Trade];
        assert_eq!(t.volume, None);
        assert!(t.overflow);
        // The price figures are still exact.
        assert_eq!(text(t.price_min).as_deref(), Some("1"));

        // A notional at scale 36 (18 + 18) is kept exactly.
        let stats = FileStats::of(&[event(
            "X",
            "2024-01-15T00:00:00Z",
            None,
            trade("0.000000000000000003", "0.333333333333333333", None),
        )]);
        let t = &stats.kinds[&EventKind::Trade];
        assert_eq!(
            text(t.notional).as_deref(),
            Some("0.000000000000000000999999999999999999")
        );
        assert!(!t.rounded && !t.overflow);

        // A notional at scale 40 (20 + 20) is rounded to 38 decimals and flagged.
        let stats = FileStats::of(&[event(
            "X",
            "2024-01-15T00:00:00Z",
            None,
            trade("0.00000000000000000003", "0.33333333333333333333", None),
        )]);
        let t = &stats.kinds[&EventKind::Trade];
        // 3e-20 × 0.33333333333333333333 = 9.9999999999999999999e-21 → 38 decimals
        // 99999999999999999999e-40 → 999999999999999999.99e-38 → 10^18 × 10^-38 = 10^-20.
        assert_eq!(
            text(t.notional),
            Some(format!("0.{}1{}", "0".repeat(19), "0".repeat(18)))
        );
        assert!(t.rounded);
        assert!(!t.overflow);

        // A product beyond 128 bits: notional absent and flagged; the volume is still exact.
        let stats = FileStats::of(&[event(
            "X",
            "2024-01-15T00:00:00Z",
            None,
            trade(&"9".repeat(30), &"9".repeat(30), None),
        )]);
        let t = &stats.kinds[&EventKind::Trade];
        assert_eq!(t.notional, None);
        assert!(t.overflow);
        assert_eq!(text(t.volume), Some("9".repeat(30)));
    }

    #[test]
    fn fit_decimal_prefers_exact() {
        assert_eq!(
            fit_decimal(12_300, 40).map(|(d, r)| (d.to_string(), r)),
            Some((format!("0.{}123", "0".repeat(35)), false))
        );
        assert_eq!(
            fit_decimal(125, 40).map(|(d, r)| (d.to_string(), r)),
            Some((format!("0.{}1", "0".repeat(37)), true))
        );
        // 39 digits: a trailing zero dropped makes it fit exactly …
        let e38 = 10i128.pow(38);
        assert_eq!(
            fit_decimal(e38, 1).map(|(d, r)| (d.to_string(), r)),
            Some((format!("1{}", "0".repeat(37)), false))
        );
        // … else the last decimal is rounded away (half-even: …0.5 → …0).
        assert_eq!(
            fit_decimal(e38 + 5, 1).map(|(d, r)| (d.to_string(), r)),
            Some((format!("1{}", "0".repeat(37)), true))
        );
        assert_eq!(fit_decimal(i128::MAX, 0), None);
    }

    #[test]
    fn empty_file_has_empty_stats() {
        let stats = StatsAccumulator::new().finish();
        assert_eq!(stats, FileStats::default());
    }

    fn any_event() -> impl Strategy<Value = Event> {
        let price = (1i64..1_000_000, 0u8..=4).prop_map(|(m, s)| Decimal::new(m, s).unwrap());
        let size = (0i64..100_000, 0u8..=3).prop_map(|(m, s)| Decimal::new(m, s).unwrap());
        let side = prop_oneof![Just(None), Just(Some(Side::Buy)), Just(Some(Side::Sell))];
        let payload = prop_oneof![
            (price.clone(), size.clone(), side).prop_map(|(price, size, side)| Payload::Trade(
                Trade {
                    price,
                    size,
                    side,
                    trade_id: None,
                    conditions: None
                }
            )),
            (price.clone(), price.clone(), size.clone(), any::<bool>()).prop_map(
                |(a, b, size, has_vwap)| {
                    let (low, high) = if a.cmp_value(b) == Ordering::Greater {
                        (b, a)
                    } else {
                        (a, b)
                    };
                    Payload::Bar(Bar {
                        interval_s: 60,
                        open: low,
                        high,
                        low,
                        close: high,
                        volume: size,
                        trades: None,
                        vwap: has_vwap.then_some(low),
                    })
                }
            ),
            (
                proptest::option::of(price.clone()),
                proptest::option::of(price.clone())
            )
                .prop_map(|(bid, ask)| Payload::BboQuote(BboQuote {
                    bid: bid.map(|price| Level {
                        price,
                        size: Decimal::from_int(1)
                    }),
                    ask: ask.map(|price| Level {
                        price,
                        size: Decimal::from_int(1)
                    }),
                })),
            (price, size, any::<bool>()).prop_map(|(price, size, execute)| {
                Payload::OrderBookDelta(OrderBookDelta {
                    action: if execute {
                        BookAction::Execute
                    } else {
                        BookAction::Add
                    },
                    side: None,
                    price: Some(price),
                    size: Some(size),
                    order_id: None,
                    flags: None,
                })
            }),
            Just(Payload::Heartbeat),
        ];
        (
            prop::sample::select(vec!["AAPL", "MSFT", "BRK/B"]),
            prop::sample::select(vec!["nasdaq", "iex"]),
            // Three days around 2024-01-15.
            1_705_190_400_000_000_000i64..1_705_449_600_000_000_000,
            proptest::option::of(0u64..1_000),
            payload,
        )
            .prop_map(|(symbol, source, nanos, sequence, payload)| {
                let mut e = Event::new(source, symbol, Timestamp::from_nanos(nanos), payload);
                e.sequence = sequence;
                e
            })
    }

    fn accumulate(events: &[Event]) -> StatsAccumulator {
        let mut acc = StatsAccumulator::new();
        for e in events {
            acc.add(e);
        }
        acc
    }

    /// Everything that must not depend on order: counts, ranges, sums (values compared
    /// exactly, representations normalized since `1.10` and `1.1` tie in a min).
    fn order_free(stats: &FileStats) -> impl PartialEq + std::fmt::Debug {
        let n = |d: Option<Decimal>| d.map(Decimal::normalized);
        let kinds: Vec<_> = stats
            .kinds
            .iter()
            .map(|(kind, k)| {
                (
                    *kind,
                    k.count,
                    n(k.price_min),
                    n(k.price_max),
                    k.volume,
                    k.buy_volume,
                    k.sell_volume,
                    k.notional,
                    k.vwap,
                )
            })
            .collect();
        (
            stats.event_count,
            stats.min_sequence,
            stats.max_sequence,
            stats.first_event_time,
            stats.last_event_time,
            stats.symbols.clone(),
            stats.sources.clone(),
            stats.events_by_hour.clone(),
            stats.slices.clone(),
            kinds,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Splitting a file and merging the halves in file order gives the same stats as one
        /// pass; merging them the other way round changes only the order-dependent fields.
        #[test]
        fn merging_order_does_not_matter(events in prop::collection::vec(any_event(), 0..60), cut in 0usize..60) {
            let cut = cut.min(events.len());
            let whole = accumulate(&events).finish();

            let mut forward = accumulate(&events[..cut]);
            forward.merge(accumulate(&events[cut..]));
            prop_assert_eq!(&forward.finish(), &whole);

            let mut backward = accumulate(&events[cut..]);
            backward.merge(accumulate(&events[..cut]));
            prop_assert_eq!(order_free(&backward.finish()), order_free(&whole));
        }

        /// Any permutation of the events gives the same counts, ranges and sums.
        #[test]
        fn event_order_does_not_matter_for_ranges_and_sums(
            events in prop::collection::vec(any_event(), 0..60),
            seed in any::<u64>(),
        ) {
            let mut shuffled = events.clone();
            // A deterministic Fisher–Yates from the seed (no rand dependency).
            let mut state = seed | 1;
            for i in (1..shuffled.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let j = usize::try_from(state % (i as u64 + 1)).unwrap();
                shuffled.swap(i, j);
            }
            prop_assert_eq!(
                order_free(&accumulate(&shuffled).finish()),
                order_free(&accumulate(&events).finish())
            );
        }

        /// Volumes and notional equal a plain i128 sum at a fixed scale.
        #[test]
        fn sums_are_exact(trades in prop::collection::vec((1i64..10_000_000, 0u8..=6, 0i64..1_000_000, 0u8..=6), 1..50)) {
            let events: Vec<Event> = trades.iter().map(|&(p, ps, s, ss)| {
                Event::new("x", "X", Timestamp::from_nanos(0), Payload::Trade(Trade {
                    price: Decimal::new(p, ps).unwrap(),
                    size: Decimal::new(s, ss).unwrap(),
                    side: None,
                    trade_id: None,
                    conditions: None,
                }))
            }).collect();
            let stats = FileStats::of(&events);
            let t = &stats.kinds[&EventKind::Trade];
            let volume: i128 = trades.iter().map(|&(_, _, s, ss)| i128::from(s) * POW10[usize::from(6 - ss)]).sum();
            let notional: i128 = trades.iter().map(|&(p, ps, s, ss)| i128::from(p) * i128::from(s) * POW10[usize::from(12 - ps - ss)]).sum();
            prop_assert!(t.volume.unwrap().eq_value(Decimal::new(i64::try_from(volume).unwrap(), 6).unwrap()));
            let n = t.notional.unwrap();
            if t.rounded {
                // Too large for an exact Decimal: rounded half-even at n's scale, so within
                // half a unit of its last digit.
                let unit = POW10[usize::from(12 - n.scale())];
                prop_assert!((n.rescaled(12).unwrap() - notional).abs() * 2 <= unit);
            } else {
                prop_assert_eq!(n.rescaled(12).unwrap(), notional);
            }
            if volume > 0 {
                // vwap = round_half_even(notional / volume × 10^3) at scale 9 (notional at 12, volume at 6).
                let expect = div_rounded_i128(notional * 1_000, volume, Rounding::HalfEven).unwrap();
                prop_assert_eq!(t.vwap.unwrap().mantissa(), expect);
            }
        }
    }
}
