//! Events ⇄ Arrow columns, one layout per event kind.
//!
//! Every file holds one kind. Its columns, in order: `ts` and `recv_ts` (timestamps, ns, UTC),
//! `source`, `symbol`, `venue` (strings), `seq` (UInt64), the kind's own columns (below), then
//! `ts_basis` (`venue`/`receive`) and `schema_version` (the JSONL schema version the event
//! carries, `1.3`). Decimal columns are stored as their [`DecimalStorage`] says, each followed by
//! its `<name>_scale` column when it has one.
//!
//! | kind | its columns |
//! |---|---|
//! | trade | `price`, `size`, `side`, `trade_id`, `conditions` |
//! | bbo_quote | `bid_price`, `bid_size`, `ask_price`, `ask_size` |
//! | l2_snapshot | `bids`, `asks`: lists of `{price, size}`, best first |
//! | order_book_delta | `action`, `side`, `price`, `size`, `order_id` (UInt64), `flags` (UInt8) |
//! | bar | `interval_s` (UInt32), `open`, `high`, `low`, `close`, `volume`, `trades` (UInt64), `vwap` |
//! | heartbeat | none |
//! | open_interest | `open_interest` |
//! | derivative_ticker | `last_price`, `mark_price`, `index_price`, `open_interest`, `funding_rate`, `predicted_funding_rate`, `funding_time` (timestamp) |

use crate::error::{Error, Result};
use crate::plan::{DecimalObservation, DecimalStorage};
use arrow_array::builder::{
    StringBuilder, TimestampNanosecondBuilder, UInt32Builder, UInt64Builder, UInt8Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, TimestampNanosecondType, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{
    Array, ArrayRef, Decimal128Array, ListArray, RecordBatch, StructArray, UInt8Array,
};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use std::sync::Arc;
use strata_model::decimal::POW10;
use strata_model::{
    Bar, BboQuote, BookAction, BookSide, Decimal, DerivativeTicker, Event, EventKind, L2Snapshot,
    Level, OpenInterest, OrderBookDelta, Payload, SchemaVersion, Side, TimeBasis, Timestamp, Trade,
};

/// The decimal columns of a kind, in the order [`visit_decimals`] visits them. Level columns of
/// snapshots are named `bids.price` etc.
pub fn decimal_columns(kind: EventKind) -> &'static [&'static str] {
    match kind {
        EventKind::Trade => &["price", "size"],
        EventKind::BboQuote => &["bid_price", "bid_size", "ask_price", "ask_size"],
        EventKind::L2Snapshot => &["bids.price", "bids.size", "asks.price", "asks.size"],
        EventKind::OrderBookDelta => &["price", "size"],
        EventKind::Bar => &["open", "high", "low", "close", "volume", "vwap"],
        EventKind::Heartbeat => &[],
        EventKind::OpenInterest => &["open_interest"],
        EventKind::DerivativeTicker => &[
            "last_price",
            "mark_price",
            "index_price",
            "open_interest",
            "funding_rate",
            "predicted_funding_rate",
        ],
    }
}

/// Calls `f(slot, value)` for every decimal of a payload, slots as in [`decimal_columns`]
/// (every level of a snapshot; `None` for an absent optional value).
pub fn visit_decimals(payload: &Payload, mut f: impl FnMut(usize, Option<Decimal>)) {
    match payload {
        Payload::Trade(t) => {
            f(0, Some(t.price));
            f(1, Some(t.size));
        }
        Payload::BboQuote(q) => {
            f(0, q.bid.map(|l| l.price));
            f(1, q.bid.map(|l| l.size));
            f(2, q.ask.map(|l| l.price));
            f(3, q.ask.map(|l| l.size));
        }
        Payload::L2Snapshot(s) => {
            for l in &s.bids {
                f(0, Some(l.price));
                f(1, Some(l.size));
            }
            for l in &s.asks {
                f(2, Some(l.price));
                f(3, Some(l.size));
            }
        }
        Payload::OrderBookDelta(d) => {
            f(0, d.price);
            f(1, d.size);
        }
        Payload::Bar(b) => {
            for (i, v) in [b.open, b.high, b.low, b.close, b.volume]
                .into_iter()
                .enumerate()
            {
                f(i, Some(v));
            }
            f(5, b.vwap);
        }
        Payload::Heartbeat => {}
        Payload::OpenInterest(o) => f(0, Some(o.value)),
        Payload::DerivativeTicker(t) => {
            let values = [
                t.last_price,
                t.mark_price,
                t.index_price,
                t.open_interest,
                t.funding_rate,
                t.predicted_funding_rate,
            ];
            for (i, v) in values.into_iter().enumerate() {
                f(i, v);
            }
        }
    }
}

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// One decimal column being built: each value's mantissa and scale as written, stored as a
/// plan says at the end. The mantissas are kept as the `Decimal128` buffer they become: when
/// every value has the column's scale (nearly always), that buffer is handed to Arrow as it is.
struct DecimalColumn {
    name: &'static str,
    /// Each row's mantissa (0 for an absent value).
    mantissas: Vec<i128>,
    /// Each row's own scale, kept from the first value whose scale differs from the first one's
    /// (until then every value has `first_scale`).
    scales: Option<Vec<u8>>,
    first_scale: Option<u8>,
    nulls: NullBufferBuilder,
    /// What the values need ([`ColumnsBuilder::observations`]).
    observation: DecimalObservation,
}

impl DecimalColumn {
    fn with_capacity(name: &'static str, rows: usize) -> Self {
        DecimalColumn {
            name,
            mantissas: Vec::with_capacity(rows),
            scales: None,
            first_scale: None,
            nulls: NullBufferBuilder::new(rows),
            observation: DecimalObservation::default(),
        }
    }

    #[inline]
    fn push(&mut self, value: Option<Decimal>) {
        let Some(d) = value else {
            self.mantissas.push(0);
            if let Some(scales) = &mut self.scales {
                scales.push(0);
            }
            self.nulls.append_null();
            return;
        };
        self.observation.observe(d);
        let scale = d.scale();
        match (&mut self.scales, self.first_scale) {
            (Some(scales), _) => scales.push(scale),
            (None, Some(first)) if first == scale => {}
            (None, None) => self.first_scale = Some(scale),
            (None, Some(first)) => {
                let mut scales = Vec::with_capacity(self.mantissas.capacity());
                scales.resize(self.mantissas.len(), first);
                scales.push(scale);
                self.scales = Some(scales);
            }
        }
        self.mantissas.push(d.mantissa());
        self.nulls.append_non_null();
    }

    fn outside(&self, mantissa: i128, scale: u8, storage: DecimalStorage) -> Error {
        Error::OutsidePlan {
            column: self.name,
            value: Decimal::new(mantissa, scale)
                .map_or_else(|_| format!("{mantissa}e-{scale}"), |d| d.to_string()),
            plan: storage.to_string(),
        }
    }

    /// The value column's field and array, then the scale column's when there is one; the
    /// column is empty again.
    fn finish(
        &mut self,
        storage: DecimalStorage,
        nullable: bool,
        out: &mut Vec<(Field, ArrayRef)>,
    ) -> Result<()> {
        let leaf = self.name.rsplit('.').next().unwrap_or(self.name);
        let mut mantissas = std::mem::take(&mut self.mantissas);
        let scales = self.scales.take();
        let first_scale = self.first_scale.take().unwrap_or(0);
        let nulls = self.nulls.finish();
        self.observation = DecimalObservation::default();
        let own = |i: usize| scales.as_ref().map_or(first_scale, |s| s[i]);
        let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
        let DecimalStorage::Numeric {
            precision,
            scale,
            scale_column,
        } = storage
        else {
            let text: arrow_array::StringArray = (0..mantissas.len())
                .map(|i| {
                    valid(i)
                        .then(|| Decimal::new(mantissas[i], own(i)).map(|d| d.to_string()))
                        .transpose()
                })
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| Error::NotStrata(format!("column `{}`: {e}", self.name)))?;
            out.push((
                Field::new(leaf, storage.data_type(), nullable),
                Arc::new(text),
            ));
            return Ok(());
        };
        let bound = POW10[usize::from(precision)].unsigned_abs();
        let uniform = scales.is_none() && first_scale == scale;
        if uniform {
            // Every value at the column's scale: only the digits to check (absent values are 0).
            if let Some(i) = mantissas.iter().position(|m| m.unsigned_abs() >= bound) {
                return Err(self.outside(mantissas[i], scale, storage));
            }
        } else {
            for (i, m) in mantissas.iter_mut().enumerate() {
                let own = own(i);
                if !valid(i) || own == scale {
                    if m.unsigned_abs() >= bound {
                        return Err(self.outside(*m, own, storage));
                    }
                    continue;
                }
                let shifted = scale
                    .checked_sub(own)
                    .filter(|_| scale_column)
                    .and_then(|shift| m.checked_mul(POW10[usize::from(shift)]))
                    .filter(|s| s.unsigned_abs() < bound);
                *m = shifted.ok_or_else(|| self.outside(*m, own, storage))?;
            }
        }
        let rows = mantissas.len();
        let numbers = Decimal128Array::new(ScalarBuffer::from(mantissas), nulls.clone())
            .with_precision_and_scale(precision, scale as i8)?;
        out.push((
            Field::new(leaf, storage.data_type(), nullable),
            Arc::new(numbers),
        ));
        if scale_column {
            // A row's own scale where it differs from the column's; null elsewhere.
            let column: UInt8Array = (0..rows)
                .map(|i| {
                    let own = own(i);
                    (valid(i) && own != scale).then_some(own)
                })
                .collect();
            out.push((
                Field::new(format!("{leaf}_scale"), DataType::UInt8, true),
                Arc::new(column),
            ));
        }
        Ok(())
    }
}

/// Columns of one kind being built from events.
pub(crate) struct ColumnsBuilder {
    kind: EventKind,
    rows: u64,
    ts: TimestampNanosecondBuilder,
    recv_ts: TimestampNanosecondBuilder,
    source: StringBuilder,
    symbol: StringBuilder,
    venue: StringBuilder,
    seq: UInt64Builder,
    ts_basis: StringBuilder,
    schema_version: StringBuilder,
    /// The last schema version seen and its text.
    version: (SchemaVersion, String),
    decimals: Vec<DecimalColumn>,
    /// side (trade, delta), action (delta)
    side: StringBuilder,
    action: StringBuilder,
    trade_id: StringBuilder,
    conditions: StringBuilder,
    /// order_id (delta), trades (bar)
    count: UInt64Builder,
    flags: UInt8Builder,
    interval_s: UInt32Builder,
    funding_time: TimestampNanosecondBuilder,
    bid_offsets: Vec<i32>,
    ask_offsets: Vec<i32>,
}

impl ColumnsBuilder {
    pub(crate) fn new(kind: EventKind) -> Self {
        Self::with_capacity(kind, 0)
    }

    /// A builder with room for `rows` events (reserved, not touched: room a file does not use
    /// costs no memory).
    pub(crate) fn with_capacity(kind: EventKind, rows: usize) -> Self {
        let decimals = decimal_columns(kind)
            .iter()
            .map(|name| DecimalColumn::with_capacity(name, rows))
            .collect();
        let strings = || StringBuilder::with_capacity(rows, rows * 8);
        ColumnsBuilder {
            kind,
            rows: 0,
            ts: TimestampNanosecondBuilder::with_capacity(rows),
            recv_ts: TimestampNanosecondBuilder::with_capacity(rows),
            source: strings(),
            symbol: strings(),
            venue: strings(),
            seq: UInt64Builder::with_capacity(rows),
            ts_basis: strings(),
            schema_version: strings(),
            version: (SchemaVersion::CURRENT, SchemaVersion::CURRENT.to_string()),
            decimals,
            side: strings(),
            action: strings(),
            trade_id: strings(),
            conditions: strings(),
            count: UInt64Builder::with_capacity(rows),
            flags: UInt8Builder::with_capacity(rows),
            interval_s: UInt32Builder::with_capacity(rows),
            funding_time: TimestampNanosecondBuilder::with_capacity(rows),
            bid_offsets: vec![0],
            ask_offsets: vec![0],
        }
    }

    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// What each decimal column's values since the last [`finish`](Self::finish) need, in
    /// [`decimal_columns`] order.
    pub(crate) fn observations(&self) -> impl Iterator<Item = &DecimalObservation> {
        self.decimals.iter().map(|d| &d.observation)
    }

    /// Appends one event (of this builder's kind; `row` names it in errors).
    pub(crate) fn append(&mut self, e: &Event, row: u64) -> Result<()> {
        if e.kind() != self.kind {
            return Err(Error::WrongKind {
                expected: self.kind,
                found: e.kind(),
                row,
            });
        }
        let decimals = &mut self.decimals;
        visit_decimals(&e.payload, |slot, value| decimals[slot].push(value));
        self.ts.append_value(e.event_time.as_nanos());
        self.recv_ts.append_value(e.receive_time.as_nanos());
        self.source.append_value(&e.source);
        self.symbol.append_value(&e.symbol);
        self.venue.append_option(e.venue.as_deref());
        self.seq.append_option(e.sequence);
        self.ts_basis.append_value(e.time_basis.as_str());
        if self.version.0 != e.schema {
            self.version = (e.schema, e.schema.to_string());
        }
        self.schema_version.append_value(&self.version.1);
        match &e.payload {
            Payload::Trade(t) => {
                self.side.append_option(t.side.map(Side::as_str));
                self.trade_id.append_option(t.trade_id.as_deref());
                self.conditions.append_option(t.conditions.as_deref());
            }
            Payload::L2Snapshot(s) => {
                let next = |offsets: &mut Vec<i32>, n: usize| -> Result<()> {
                    let last = offsets.last().copied().unwrap_or(0);
                    let n = i32::try_from(n).ok().and_then(|n| last.checked_add(n));
                    offsets.push(n.ok_or_else(|| {
                        Error::NotStrata("more than 2^31 book levels in one batch".into())
                    })?);
                    Ok(())
                };
                next(&mut self.bid_offsets, s.bids.len())?;
                next(&mut self.ask_offsets, s.asks.len())?;
            }
            Payload::OrderBookDelta(d) => {
                self.action.append_value(d.action.as_str());
                self.side.append_option(d.side.map(BookSide::as_str));
                self.count.append_option(d.order_id);
                self.flags.append_option(d.flags);
            }
            Payload::Bar(b) => {
                self.interval_s.append_value(b.interval_s);
                self.count.append_option(b.trades);
            }
            Payload::DerivativeTicker(t) => {
                self.funding_time
                    .append_option(t.funding_time.map(Timestamp::as_nanos));
            }
            Payload::BboQuote(_) | Payload::Heartbeat | Payload::OpenInterest(_) => {}
        }
        self.rows += 1;
        Ok(())
    }

    /// The rows appended so far as a record batch, decimals stored as `storages` say (in
    /// [`decimal_columns`] order); the builder is empty again.
    pub(crate) fn finish(&mut self, storages: &[DecimalStorage]) -> Result<RecordBatch> {
        let mut cols: Vec<(Field, ArrayRef)> = Vec::with_capacity(24);
        let ts = |b: &mut TimestampNanosecondBuilder| -> ArrayRef {
            Arc::new(b.finish().with_timezone("UTC"))
        };
        let s = |b: &mut StringBuilder| -> ArrayRef { Arc::new(b.finish()) };
        cols.push((Field::new("ts", ts_type(), false), ts(&mut self.ts)));
        cols.push((
            Field::new("recv_ts", ts_type(), false),
            ts(&mut self.recv_ts),
        ));
        cols.push((
            Field::new("source", DataType::Utf8, false),
            s(&mut self.source),
        ));
        cols.push((
            Field::new("symbol", DataType::Utf8, false),
            s(&mut self.symbol),
        ));
        cols.push((
            Field::new("venue", DataType::Utf8, true),
            s(&mut self.venue),
        ));
        cols.push((
            Field::new("seq", DataType::UInt64, true),
            Arc::new(self.seq.finish()),
        ));
        let mut dec = |cols: &mut Vec<(Field, ArrayRef)>, i: usize, nullable: bool| {
            self.decimals[i].finish(storages[i], nullable, cols)
        };
        match self.kind {
            EventKind::Trade => {
                dec(&mut cols, 0, false)?;
                dec(&mut cols, 1, false)?;
                cols.push((Field::new("side", DataType::Utf8, true), s(&mut self.side)));
                cols.push((
                    Field::new("trade_id", DataType::Utf8, true),
                    s(&mut self.trade_id),
                ));
                cols.push((
                    Field::new("conditions", DataType::Utf8, true),
                    s(&mut self.conditions),
                ));
            }
            EventKind::BboQuote => {
                for i in 0..4 {
                    dec(&mut cols, i, true)?;
                }
            }
            EventKind::L2Snapshot => {
                for (side, first, offsets) in [
                    ("bids", 0, &mut self.bid_offsets),
                    ("asks", 2, &mut self.ask_offsets),
                ] {
                    let mut level = Vec::new();
                    self.decimals[first].finish(storages[first], false, &mut level)?;
                    self.decimals[first + 1].finish(storages[first + 1], false, &mut level)?;
                    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = level.into_iter().unzip();
                    let fields = Fields::from(fields);
                    let levels = StructArray::try_new(fields.clone(), arrays, None)?;
                    let element = Arc::new(Field::new("element", DataType::Struct(fields), false));
                    let taken = std::mem::replace(offsets, vec![0]);
                    let list = ListArray::try_new(
                        element.clone(),
                        OffsetBuffer::new(taken.into()),
                        Arc::new(levels),
                        None,
                    )?;
                    cols.push((
                        Field::new(side, DataType::List(element), false),
                        Arc::new(list),
                    ));
                }
            }
            EventKind::OrderBookDelta => {
                cols.push((
                    Field::new("action", DataType::Utf8, false),
                    s(&mut self.action),
                ));
                cols.push((Field::new("side", DataType::Utf8, true), s(&mut self.side)));
                dec(&mut cols, 0, true)?;
                dec(&mut cols, 1, true)?;
                cols.push((
                    Field::new("order_id", DataType::UInt64, true),
                    Arc::new(self.count.finish()),
                ));
                cols.push((
                    Field::new("flags", DataType::UInt8, true),
                    Arc::new(self.flags.finish()),
                ));
            }
            EventKind::Bar => {
                cols.push((
                    Field::new("interval_s", DataType::UInt32, false),
                    Arc::new(self.interval_s.finish()),
                ));
                for i in 0..5 {
                    dec(&mut cols, i, false)?;
                }
                cols.push((
                    Field::new("trades", DataType::UInt64, true),
                    Arc::new(self.count.finish()),
                ));
                dec(&mut cols, 5, true)?;
            }
            EventKind::Heartbeat => {}
            EventKind::OpenInterest => dec(&mut cols, 0, false)?,
            EventKind::DerivativeTicker => {
                for i in 0..6 {
                    dec(&mut cols, i, true)?;
                }
                cols.push((
                    Field::new("funding_time", ts_type(), true),
                    ts(&mut self.funding_time),
                ));
            }
        }
        cols.push((
            Field::new("ts_basis", DataType::Utf8, false),
            s(&mut self.ts_basis),
        ));
        cols.push((
            Field::new("schema_version", DataType::Utf8, false),
            s(&mut self.schema_version),
        ));
        let rows = usize::try_from(self.rows).unwrap_or(usize::MAX);
        self.rows = 0;
        let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = cols.into_iter().unzip();
        let schema = Arc::new(Schema::new(fields));
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(schema, arrays, &options)?)
    }
}

/// Events of one kind as one record batch in the layout a file of theirs would have (each
/// decimal column stored as its values need, [`DecimalObservation::storage`]), in the order
/// given: the columnar form of events that were not read from Parquet.
pub fn events_to_batch(kind: EventKind, events: &[Event]) -> Result<RecordBatch> {
    let mut builder = ColumnsBuilder::with_capacity(kind, events.len());
    for (row, e) in (0u64..).zip(events) {
        builder.append(e, row)?;
    }
    let storages: Vec<DecimalStorage> = builder
        .observations()
        .map(DecimalObservation::storage)
        .collect();
    builder.finish(&storages)
}

/// The events of a record batch in strata's layout (a batch of a strata Parquet file, of
/// [`events_to_batch`], or of a query): each event as it was written.
pub fn batch_to_events(kind: EventKind, batch: &RecordBatch) -> Result<Vec<Event>> {
    let mut events = Vec::with_capacity(batch.num_rows());
    events_from_batch(kind, batch, 0, &mut events)?;
    Ok(events)
}

/// The Arrow schema of a kind's file with these decimal storages.
pub fn schema(kind: EventKind, storages: &[DecimalStorage]) -> Result<SchemaRef> {
    Ok(ColumnsBuilder::new(kind).finish(storages)?.schema())
}

/// Reads events back from a record batch strata wrote.
pub(crate) fn events_from_batch(
    kind: EventKind,
    batch: &RecordBatch,
    first_row: u64,
    out: &mut Vec<Event>,
) -> Result<()> {
    let cols = BatchColumns { batch, first_row };
    let ts = cols.timestamps("ts")?;
    let recv_ts = cols.timestamps("recv_ts")?;
    let source = cols.strings("source")?;
    let symbol = cols.strings("symbol")?;
    let venue = cols.strings("venue")?;
    let seq = cols.primitive::<UInt64Type>("seq")?;
    let ts_basis = cols.strs("ts_basis")?;
    let version = cols.strs("schema_version")?;
    let payloads = payloads(kind, &cols)?;
    out.reserve(batch.num_rows());
    // The last text of each and what it parsed to: these columns hold one value nearly always.
    let mut last_basis: Option<(&str, TimeBasis)> = None;
    let mut last_version: Option<(&str, SchemaVersion)> = None;
    for (i, payload) in payloads.into_iter().enumerate() {
        let required = |v: Option<String>, column: &str| {
            v.ok_or_else(|| cols.bad(i, column, "null in a required column".into()))
        };
        let null = |column: &str| cols.bad(i, column, "null in a required column".into());
        let basis_text = ts_basis.get(i).ok_or_else(|| null("ts_basis"))?;
        let time_basis = match last_basis {
            Some((text, basis)) if text == basis_text => basis,
            _ => {
                let basis: TimeBasis = basis_text
                    .parse()
                    .map_err(|e| cols.bad(i, "ts_basis", format!("{e}")))?;
                last_basis = Some((basis_text, basis));
                basis
            }
        };
        let version_text = version.get(i).ok_or_else(|| null("schema_version"))?;
        let schema = match last_version {
            Some((text, schema)) if text == version_text => schema,
            _ => {
                let schema: SchemaVersion = version_text
                    .parse()
                    .map_err(|e| cols.bad(i, "schema_version", e))?;
                last_version = Some((version_text, schema));
                schema
            }
        };
        out.push(Event {
            schema,
            source: required(source.get(i), "source")?,
            symbol: required(symbol.get(i), "symbol")?,
            venue: venue.get(i),
            event_time: Timestamp::from_nanos(required_i64(ts.get(i), &cols, i, "ts")?),
            receive_time: Timestamp::from_nanos(required_i64(recv_ts.get(i), &cols, i, "recv_ts")?),
            time_basis,
            sequence: seq.get(i),
            payload,
        });
    }
    Ok(())
}

fn required_i64(v: Option<i64>, cols: &BatchColumns<'_>, i: usize, column: &str) -> Result<i64> {
    v.ok_or_else(|| cols.bad(i, column, "null in a required column".into()))
}

/// The payloads of a batch's rows.
fn payloads(kind: EventKind, cols: &BatchColumns<'_>) -> Result<Vec<Payload>> {
    let n = cols.batch.num_rows();
    let mut out = Vec::with_capacity(n);
    let names = decimal_columns(kind);
    match kind {
        EventKind::L2Snapshot => {
            let bids = cols.levels("bids")?;
            let asks = cols.levels("asks")?;
            for i in 0..n {
                out.push(Payload::L2Snapshot(L2Snapshot {
                    bids: bids.get(i, cols)?,
                    asks: asks.get(i, cols)?,
                }));
            }
            return Ok(out);
        }
        EventKind::Heartbeat => return Ok(vec![Payload::Heartbeat; n]),
        _ => {}
    }
    let decs = names
        .iter()
        .map(|name| DecimalReader::new(cols.batch, name, cols))
        .collect::<Result<Vec<_>>>()?;
    let dec = |slot: usize, i: usize| decs[slot].get(i, cols);
    let req = |slot: usize, i: usize| -> Result<Decimal> {
        dec(slot, i)?.ok_or_else(|| cols.bad(i, names[slot], "null in a required column".into()))
    };
    match kind {
        EventKind::Trade => {
            let side = cols.strings("side")?;
            let trade_id = cols.strings("trade_id")?;
            let conditions = cols.strings("conditions")?;
            for i in 0..n {
                out.push(Payload::Trade(Trade {
                    price: req(0, i)?,
                    size: req(1, i)?,
                    side: side
                        .get(i)
                        .map(|s| s.parse::<Side>())
                        .transpose()
                        .map_err(|e| cols.bad(i, "side", e.to_string()))?,
                    trade_id: trade_id.get(i),
                    conditions: conditions.get(i),
                }));
            }
        }
        EventKind::BboQuote => {
            for i in 0..n {
                let level = |p: usize, s: usize| -> Result<Option<Level>> {
                    match (dec(p, i)?, dec(s, i)?) {
                        (Some(price), Some(size)) => Ok(Some(Level { price, size })),
                        (None, None) => Ok(None),
                        _ => Err(cols.bad(i, names[p], "a price without its size".into())),
                    }
                };
                out.push(Payload::BboQuote(BboQuote {
                    bid: level(0, 1)?,
                    ask: level(2, 3)?,
                }));
            }
        }
        EventKind::OrderBookDelta => {
            let action = cols.strings("action")?;
            let side = cols.strings("side")?;
            let order_id = cols.primitive::<UInt64Type>("order_id")?;
            let flags = cols.primitive::<UInt8Type>("flags")?;
            for i in 0..n {
                let action: BookAction = action
                    .get(i)
                    .ok_or_else(|| cols.bad(i, "action", "null in a required column".into()))?
                    .parse()
                    .map_err(|e| cols.bad(i, "action", format!("{e}")))?;
                out.push(Payload::OrderBookDelta(OrderBookDelta {
                    action,
                    side: side
                        .get(i)
                        .map(|s| s.parse::<BookSide>())
                        .transpose()
                        .map_err(|e| cols.bad(i, "side", e.to_string()))?,
                    price: dec(0, i)?,
                    size: dec(1, i)?,
                    order_id: order_id.get(i),
                    flags: flags.get(i),
                }));
            }
        }
        EventKind::Bar => {
            let interval = cols.primitive::<UInt32Type>("interval_s")?;
            let trades = cols.primitive::<UInt64Type>("trades")?;
            for i in 0..n {
                out.push(Payload::Bar(Bar {
                    interval_s: interval.get(i).ok_or_else(|| {
                        cols.bad(i, "interval_s", "null in a required column".into())
                    })?,
                    open: req(0, i)?,
                    high: req(1, i)?,
                    low: req(2, i)?,
                    close: req(3, i)?,
                    volume: req(4, i)?,
                    trades: trades.get(i),
                    vwap: dec(5, i)?,
                }));
            }
        }
        EventKind::OpenInterest => {
            for i in 0..n {
                out.push(Payload::OpenInterest(OpenInterest { value: req(0, i)? }));
            }
        }
        EventKind::DerivativeTicker => {
            let funding_time = cols.timestamps("funding_time")?;
            for i in 0..n {
                out.push(Payload::DerivativeTicker(DerivativeTicker {
                    last_price: dec(0, i)?,
                    mark_price: dec(1, i)?,
                    index_price: dec(2, i)?,
                    open_interest: dec(3, i)?,
                    funding_rate: dec(4, i)?,
                    predicted_funding_rate: dec(5, i)?,
                    funding_time: funding_time.get(i).map(Timestamp::from_nanos),
                }));
            }
        }
        EventKind::L2Snapshot | EventKind::Heartbeat => {}
    }
    Ok(out)
}

struct BatchColumns<'a> {
    batch: &'a RecordBatch,
    first_row: u64,
}

/// An optional-valued view of one column.
struct Col<'a, T> {
    get: Box<dyn Fn(usize) -> Option<T> + 'a>,
}

impl<T> Col<'_, T> {
    fn get(&self, i: usize) -> Option<T> {
        (self.get)(i)
    }
}

impl<'a> BatchColumns<'a> {
    fn bad(&self, i: usize, column: &str, message: String) -> Error {
        Error::BadValue {
            row: self.first_row + i as u64,
            column: column.to_string(),
            message,
        }
    }

    fn column(&self, name: &str) -> Result<&'a ArrayRef> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| Error::NotStrata(format!("no column `{name}`")))
    }

    /// A string column's values, borrowed.
    fn strs(&self, name: &str) -> Result<Col<'a, &'a str>> {
        let a = self.column(name)?;
        let a = a.as_string_opt::<i32>().ok_or_else(|| {
            Error::NotStrata(format!("column `{name}` is {}, not Utf8", a.data_type()))
        })?;
        Ok(Col {
            get: Box::new(move |i| a.is_valid(i).then(|| a.value(i))),
        })
    }

    fn strings(&self, name: &str) -> Result<Col<'a, String>> {
        let a = self.column(name)?;
        let a = a.as_string_opt::<i32>().ok_or_else(|| {
            Error::NotStrata(format!("column `{name}` is {}, not Utf8", a.data_type()))
        })?;
        Ok(Col {
            get: Box::new(move |i| a.is_valid(i).then(|| a.value(i).to_string())),
        })
    }

    fn primitive<T: arrow_array::ArrowPrimitiveType>(
        &self,
        name: &str,
    ) -> Result<Col<'a, T::Native>> {
        let a = self.column(name)?;
        let a = a.as_primitive_opt::<T>().ok_or_else(|| {
            Error::NotStrata(format!(
                "column `{name}` is {}, not {}",
                a.data_type(),
                T::DATA_TYPE
            ))
        })?;
        Ok(Col {
            get: Box::new(move |i| a.is_valid(i).then(|| a.value(i))),
        })
    }

    fn timestamps(&self, name: &str) -> Result<Col<'a, i64>> {
        self.primitive::<TimestampNanosecondType>(name)
    }

    fn levels(&self, name: &'static str) -> Result<LevelsReader<'a>> {
        let a = self.column(name)?;
        let list = a.as_list_opt::<i32>().ok_or_else(|| {
            Error::NotStrata(format!("column `{name}` is {}, not a list", a.data_type()))
        })?;
        let levels = list
            .values()
            .as_struct_opt()
            .ok_or_else(|| Error::NotStrata(format!("column `{name}` does not hold structs")))?;
        let (price_name, size_name) = if name == "bids" {
            ("bids.price", "bids.size")
        } else {
            ("asks.price", "asks.size")
        };
        Ok(LevelsReader {
            list,
            price: DecimalReader::from_struct(levels, "price", price_name)?,
            size: DecimalReader::from_struct(levels, "size", size_name)?,
            name,
        })
    }
}

struct LevelsReader<'a> {
    list: &'a ListArray,
    price: DecimalReader<'a>,
    size: DecimalReader<'a>,
    name: &'static str,
}

impl LevelsReader<'_> {
    fn get(&self, i: usize, cols: &BatchColumns<'_>) -> Result<Vec<Level>> {
        if self.list.is_null(i) {
            return Err(cols.bad(i, self.name, "null in a required column".into()));
        }
        let offsets = self.list.value_offsets();
        let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
        (start..end)
            .map(|j| {
                let price = self.price.get(j, cols)?;
                let size = self.size.get(j, cols)?;
                match (price, size) {
                    (Some(price), Some(size)) => Ok(Level { price, size }),
                    _ => Err(cols.bad(i, self.name, format!("level {} has a null", j - start))),
                }
            })
            .collect()
    }
}

/// Reads one decimal column back at each value's written scale.
struct DecimalReader<'a> {
    name: &'static str,
    values: DecimalValues<'a>,
    scales: Option<&'a arrow_array::UInt8Array>,
}

enum DecimalValues<'a> {
    Numeric(&'a arrow_array::Decimal128Array, u8),
    Text(&'a arrow_array::StringArray),
}

impl<'a> DecimalReader<'a> {
    fn new(batch: &'a RecordBatch, name: &'static str, cols: &BatchColumns<'a>) -> Result<Self> {
        let values = cols.column(name)?;
        let scales = batch.column_by_name(&format!("{name}_scale"));
        Self::build(name, values, scales)
    }

    fn from_struct(levels: &'a StructArray, leaf: &str, name: &'static str) -> Result<Self> {
        let values = levels
            .column_by_name(leaf)
            .ok_or_else(|| Error::NotStrata(format!("no column `{name}`")))?;
        Self::build(
            name,
            values,
            levels.column_by_name(&format!("{leaf}_scale")),
        )
    }

    fn build(
        name: &'static str,
        values: &'a ArrayRef,
        scales: Option<&'a ArrayRef>,
    ) -> Result<Self> {
        let values = match values.data_type() {
            DataType::Decimal128(_, scale) => {
                let scale = u8::try_from(*scale).map_err(|_| {
                    Error::NotStrata(format!("column `{name}` has a negative scale"))
                })?;
                DecimalValues::Numeric(values.as_primitive::<Decimal128Type>(), scale)
            }
            DataType::Utf8 => DecimalValues::Text(values.as_string::<i32>()),
            other => {
                return Err(Error::NotStrata(format!(
                    "column `{name}` is {other}, not a decimal"
                )))
            }
        };
        let scales = scales
            .map(|s| {
                s.as_primitive_opt::<UInt8Type>().ok_or_else(|| {
                    Error::NotStrata(format!(
                        "column `{name}_scale` is {}, not UInt8",
                        s.data_type()
                    ))
                })
            })
            .transpose()?;
        Ok(DecimalReader {
            name,
            values,
            scales,
        })
    }

    fn get(&self, i: usize, cols: &BatchColumns<'_>) -> Result<Option<Decimal>> {
        match &self.values {
            DecimalValues::Text(a) => {
                if a.is_null(i) {
                    return Ok(None);
                }
                a.value(i)
                    .parse()
                    .map(Some)
                    .map_err(|e| cols.bad(i, self.name, format!("{e}")))
            }
            DecimalValues::Numeric(a, scale) => {
                if a.is_null(i) {
                    return Ok(None);
                }
                let mantissa = a.value(i);
                let own = self
                    .scales
                    .filter(|s| s.is_valid(i))
                    .map(|s| s.value(i))
                    .unwrap_or(*scale);
                let shift = scale
                    .checked_sub(own)
                    .and_then(|d| strata_model::decimal::POW10.get(usize::from(d)).copied());
                let Some(shift) = shift.filter(|s| mantissa % s == 0) else {
                    return Err(cols.bad(
                        i,
                        self.name,
                        format!("{mantissa} at scale {scale} has no exact value at scale {own}"),
                    ));
                };
                Decimal::new(mantissa / shift, own)
                    .map(Some)
                    .map_err(|e| cols.bad(i, self.name, format!("{e}")))
            }
        }
    }
}
