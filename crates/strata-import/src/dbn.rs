//! Databento DBN files, read with the `dbn` crate (plain or zstd-compressed: the codec layer
//! recognises zstd from the content and decompresses before `dbn` sees the bytes).
//!
//! | schema (record) | events |
//! |---|---|
//! | `mbo` ([`MboMsg`]) | action `A` add, `M` modify, `C` cancel, `R` clear → an [`OrderBookDelta`] with that action; `F` (fill: a resting order traded) → an `execute` delta with the resting order's id and side; `T` (trade: the aggressing side's print, which does not change the book) → a [`Trade`] with the aggressor side; `N` (no action) → skipped |
//! | `mbp-1`, `tbbo` ([`Mbp1Msg`]) | a [`BboQuote`] from level 0 for every record (the book's top as of that record), plus a [`Trade`] when the action is `T` |
//! | `trades` ([`TradeMsg`]) | a [`Trade`] |
//! | `ohlcv-1s/1m/1h/1d/eod` ([`OhlcvMsg`]) | a [`Bar`] of 1, 60, 3600 or 86400 s, stamped at the bar's **end** (`ts_event` + interval), as Lean bars are |
//! | symbol mappings | update the symbol map, skipped |
//! | anything else (status, statistics, definitions, imbalance, …) | skipped |
//!
//! Sides: DBN's `side` is the side of the *resting* order for book actions (`B` bid, `A` ask)
//! and the *aggressor* for trades (`B` buy, `A` sell); `N` is no side. Prices are fixed-point
//! 1e-9 and become `Decimal::new(p, 9).normalized()` (`4773500000000` → `"4773.5"`);
//! `UNDEF_PRICE` is no price. `sequence` is the record's venue sequence number, event time
//! `ts_event`, receive time `ts_recv`, `flags` the raw DBN flag byte. The symbol comes from the
//! file's symbology (instrument id → raw symbol on the record's date), else `--symbol`; the
//! venue is the dataset's venue code (`GLBX.MDP3` → `GLBX`). Rejected rows name the 1-based
//! record index in place of a line.
//!
//! Identical records are distinct events here: one match event can fill a resting order several
//! times for the same size, with byte-identical `F` records, and its `T` records differ only in
//! the aggressor's order id, which strata's [`Trade`] has no field for (it is not kept). So
//! [`Format::records_distinct_by_position`](crate::Format::records_distinct_by_position) is true
//! for DBN and the archive's import keeps such records instead of refusing them as duplicates.

use std::collections::VecDeque;
use std::io::{Cursor, Read};

use dbn::decode::{DbnDecoder, DbnMetadata, DecodeRecordRef as _};
use dbn::{
    rtype, Action, MboMsg, Mbp1Msg, OhlcvMsg, Record as _, RecordRef, SymbolMappingMsg, TradeMsg,
    TsSymbolMap, VersionUpgradePolicy, UNDEF_PRICE, UNDEF_TIMESTAMP,
};
use strata_model::{
    Bar, BboQuote, BookAction, BookSide, Decimal, Event, EventKind, Level, OrderBookDelta, Payload,
    SchemaVersion, Side, Timestamp, Trade,
};

use crate::error::{ImportError, Result, RowError};
use crate::input::{Input, RowSource};
use crate::record::{Record, Rejected, CUT_MARK, READ_ERROR_PREFIX};
use crate::ImportOptions;

/// Metadata larger than this is refused before `dbn` allocates for it: real files carry
/// kilobytes; arbitrary bytes could claim gigabytes.
pub const MAX_METADATA_LEN: u32 = 64 << 20;

/// Fixed metadata for the events of one DBN file.
#[derive(Debug, Clone)]
pub struct DbnContext {
    /// Source id (`databento`).
    pub source: String,
    /// Venue (the dataset's venue code).
    pub venue: Option<String>,
    /// Symbol when the symbology has no mapping for a record.
    pub symbol: Option<String>,
    /// Instrument id → symbol over time, from the metadata (and in-stream mapping records).
    pub symbols: TsSymbolMap,
}

/// The asset class a Databento dataset's instruments mostly are (Databento's dataset list):
/// CME Globex, ICE Futures and the other futures venues → future; OPRA → option; the equity
/// venues (Nasdaq, NYSE, Cboe equities, IEX, the consolidated equity feeds) → equity. `None` for
/// a dataset strata does not know. (Globex also lists options on futures; a file of those is
/// classed `future` by its dataset, as the registry then says unless it lists the symbol.)
pub fn asset_class_of_dataset(dataset: &str) -> Option<strata_model::AssetClass> {
    use strata_model::AssetClass as A;
    let venue = dataset
        .split('.')
        .next()
        .unwrap_or(dataset)
        .to_ascii_uppercase();
    match venue.as_str() {
        "GLBX" | "IFEU" | "IFUS" | "IFLL" | "NDEX" | "XEUR" | "IFEQ" => Some(A::Future),
        "OPRA" => Some(A::Option),
        "XNAS" | "XBOS" | "XPSX" | "XNYS" | "ARCX" | "XASE" | "XCHI" | "XCIS" | "BATS" | "BATY"
        | "EDGA" | "EDGX" | "IEXG" | "EPRL" | "MEMX" | "DBEQ" | "EQUS" | "XNYSN" => Some(A::Equity),
        _ => None,
    }
}

/// The dataset named in the metadata of the DBN file at `path` (plain or zstd), if it reads.
pub fn dataset_of_file(path: &std::path::Path) -> Option<String> {
    // The prelude is checked first (a bounded metadata length), then the file read again from
    // its start by the decoder.
    let mut input = crate::input::open_decoded(path).ok()?;
    check_prelude(&mut input, &path.display().to_string()).ok()?;
    let mut input = crate::input::open_decoded(path).ok()?;
    let decoder = DbnDecoder::with_upgrade_policy(&mut input, VersionUpgradePolicy::AsIs).ok()?;
    Some(decoder.metadata().dataset.clone())
}

/// The venue code of a Databento dataset: `GLBX.MDP3` → `GLBX`.
pub fn venue_of_dataset(dataset: &str) -> Option<String> {
    let venue = dataset.split('.').next().unwrap_or(dataset);
    (!venue.is_empty()).then(|| venue.to_string())
}

/// A DBN price: `None` for `UNDEF_PRICE`, else the exact, normalised decimal.
pub fn price(fixed: i64) -> Option<Decimal> {
    if fixed == UNDEF_PRICE {
        return None;
    }
    // Scale 9 is within MAX_SCALE (38) and an i64 within 38 digits, so `new` cannot fail; `.ok()` keeps the signature plain.
    Decimal::new(fixed, 9).ok().map(Decimal::normalized)
}

fn timestamp(ns: u64) -> Option<Timestamp> {
    if ns == UNDEF_TIMESTAMP {
        return None;
    }
    i64::try_from(ns).ok().map(Timestamp::from_nanos)
}

fn required_price(fixed: i64, what: &str) -> Result<Decimal, RowError> {
    price(fixed).ok_or_else(|| RowError::UndefinedPrice {
        field: what.to_string(),
    })
}

/// A side byte that is none of `A`, `B`, `N`.
fn bad_side(side: u8) -> RowError {
    RowError::invalid(format!("side {:?} is not A, B or N", side as char))
}

fn aggressor(side: std::ffi::c_char) -> Result<Option<Side>, RowError> {
    match side as u8 {
        b'B' => Ok(Some(Side::Buy)),
        b'A' => Ok(Some(Side::Sell)),
        b'N' => Ok(None),
        other => Err(bad_side(other)),
    }
}

fn book_side(side: std::ffi::c_char) -> Result<Option<BookSide>, RowError> {
    match side as u8 {
        b'B' => Ok(Some(BookSide::Bid)),
        b'A' => Ok(Some(BookSide::Ask)),
        b'N' => Ok(None),
        other => Err(bad_side(other)),
    }
}

/// The record as a `T` when its type says so; an error when it is too short to be one.
/// (`RecordRef::get` would panic on a short record: damaged input must not.)
fn typed<'a, T: dbn::HasRType<Header = dbn::RecordHeader>>(
    rec: &RecordRef<'a>,
) -> Result<Option<&'a T>, RowError> {
    if !rec.has::<T>() {
        return Ok(None);
    }
    rec.try_get::<T>()
        .map(Some)
        .map_err(|e| RowError::invalid(e.to_string()))
}

/// What one DBN record becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbnOutcome {
    /// Events to store (one, or two for an MBP-1 trade).
    Events(Vec<Event>),
    /// Nothing to store, and why.
    Skipped(String),
}

impl DbnContext {
    /// The context for a file with `metadata`.
    pub fn from_metadata(
        metadata: &dbn::Metadata,
        source: String,
        symbol: Option<String>,
    ) -> Result<Self, String> {
        let symbols = metadata
            .symbol_map()
            .map_err(|e| format!("the symbology in the metadata is invalid: {e}"))?;
        Ok(DbnContext {
            source,
            venue: venue_of_dataset(&metadata.dataset),
            symbol,
            symbols,
        })
    }

    fn event<R: dbn::Record>(
        &self,
        rec: &R,
        ts_recv: u64,
        sequence: Option<u64>,
        payload: Payload,
    ) -> Result<Event, RowError> {
        let receive_time = timestamp(ts_recv);
        let event_time = timestamp(rec.raw_ts_event())
            .or(receive_time)
            .ok_or_else(|| RowError::invalid("the record has neither ts_event nor ts_recv"))?;
        self.event_at(
            rec,
            event_time,
            receive_time.unwrap_or(event_time),
            sequence,
            payload,
        )
    }

    fn event_at<R: dbn::Record>(
        &self,
        rec: &R,
        event_time: Timestamp,
        receive_time: Timestamp,
        sequence: Option<u64>,
        payload: Payload,
    ) -> Result<Event, RowError> {
        let instrument = rec.instrument_id();
        let symbol = u32::try_from(instrument)
            .ok()
            .and_then(|id| self.symbols.get_for_ts(rec.raw_index_ts(), id))
            .or(self.symbol.as_ref())
            .ok_or_else(|| RowError::NoSymbol {
                why: format!(
                    "no symbol for instrument {instrument} at {} in the file's symbology",
                    rec.raw_index_ts()
                ),
            })?
            .clone();
        Ok(Event {
            schema: SchemaVersion::CURRENT,
            source: self.source.clone(),
            symbol,
            venue: self.venue.clone(),
            event_time,
            receive_time,
            time_basis: strata_model::TimeBasis::Venue,
            sequence,
            payload,
        })
    }

    /// Turns one record into events (see the module docs). A record whose type is known but
    /// whose length is too short for it is an error, never a panic.
    pub fn convert(&mut self, rec: RecordRef<'_>) -> Result<DbnOutcome, RowError> {
        if let Some(mbo) = typed::<MboMsg>(&rec)? {
            return self.mbo(mbo);
        }
        if let Some(mbp) = typed::<Mbp1Msg>(&rec)? {
            return self.mbp1(mbp);
        }
        if let Some(trade) = typed::<TradeMsg>(&rec)? {
            let payload = Payload::Trade(Trade {
                price: required_price(trade.price, "price")?,
                size: Decimal::from_int(i64::from(trade.size)),
                side: aggressor(trade.side)?,
                trade_id: None,
                conditions: None,
            });
            let event = self.event(
                trade,
                trade.ts_recv,
                Some(u64::from(trade.sequence)),
                payload,
            )?;
            return Ok(DbnOutcome::Events(vec![event]));
        }
        if let Some(bar) = typed::<OhlcvMsg>(&rec)? {
            return self.ohlcv(bar);
        }
        if rec.has::<SymbolMappingMsg>() {
            self.symbols
                .on_record(rec)
                .map_err(|e| RowError::invalid(format!("invalid symbol mapping record: {e}")))?;
            return Ok(DbnOutcome::Skipped("symbol mapping record".into()));
        }
        let rtype = rec.header().rtype;
        Ok(DbnOutcome::Skipped(match dbn::RType::try_from(rtype) {
            Ok(kind) => format!("DBN {kind:?} records are not stored"),
            Err(_) => format!("DBN record type {rtype:#04x} is not stored"),
        }))
    }

    fn mbo(&self, mbo: &MboMsg) -> Result<DbnOutcome, RowError> {
        let action = Action::try_from(mbo.action as u8).map_err(|_| {
            RowError::invalid(format!(
                "action {:?} is not a DBN action",
                mbo.action as u8 as char
            ))
        })?;
        let sequence = Some(u64::from(mbo.sequence));
        let book_action = match action {
            Action::Add => BookAction::Add,
            Action::Modify => BookAction::Modify,
            Action::Cancel => BookAction::Cancel,
            Action::Clear => BookAction::Clear,
            Action::Fill => BookAction::Execute,
            Action::Trade => {
                let payload = Payload::Trade(Trade {
                    price: required_price(mbo.price, "trade price")?,
                    size: Decimal::from_int(i64::from(mbo.size)),
                    side: aggressor(mbo.side)?,
                    trade_id: None,
                    conditions: None,
                });
                return Ok(DbnOutcome::Events(vec![self.event(
                    mbo,
                    mbo.ts_recv,
                    sequence,
                    payload,
                )?]));
            }
            Action::None => {
                return Ok(DbnOutcome::Skipped(
                    "MBO record with action N (no book change)".into(),
                ))
            }
        };
        let payload = Payload::OrderBookDelta(OrderBookDelta {
            action: book_action,
            side: book_side(mbo.side)?,
            price: price(mbo.price),
            size: (book_action != BookAction::Clear || mbo.size != 0)
                .then(|| Decimal::from_int(i64::from(mbo.size))),
            order_id: (mbo.order_id != 0).then_some(mbo.order_id),
            flags: Some(mbo.flags.raw()),
        });
        Ok(DbnOutcome::Events(vec![self.event(
            mbo,
            mbo.ts_recv,
            sequence,
            payload,
        )?]))
    }

    fn mbp1(&self, mbp: &Mbp1Msg) -> Result<DbnOutcome, RowError> {
        let top = &mbp.levels[0];
        let level = |px: i64, sz: u32| {
            price(px).map(|price| Level {
                price,
                size: Decimal::from_int(i64::from(sz)),
            })
        };
        let sequence = Some(u64::from(mbp.sequence));
        let quote = Payload::BboQuote(BboQuote {
            bid: level(top.bid_px, top.bid_sz),
            ask: level(top.ask_px, top.ask_sz),
        });
        let mut events = vec![self.event(mbp, mbp.ts_recv, sequence, quote)?];
        if mbp.action as u8 == b'T' {
            let trade = Payload::Trade(Trade {
                price: required_price(mbp.price, "trade price")?,
                size: Decimal::from_int(i64::from(mbp.size)),
                side: aggressor(mbp.side)?,
                trade_id: None,
                conditions: None,
            });
            events.push(self.event(mbp, mbp.ts_recv, sequence, trade)?);
        }
        Ok(DbnOutcome::Events(events))
    }

    fn ohlcv(&self, bar: &OhlcvMsg) -> Result<DbnOutcome, RowError> {
        let interval_s: u32 = match bar.hd.rtype {
            rtype::OHLCV_1S => 1,
            rtype::OHLCV_1M => 60,
            rtype::OHLCV_1H => 3_600,
            rtype::OHLCV_1D | rtype::OHLCV_EOD => 86_400,
            other => {
                return Err(RowError::invalid(format!(
                    "OHLCV record type {other:#04x} has no known interval"
                )))
            }
        };
        let start = timestamp(bar.hd.ts_event)
            .ok_or_else(|| RowError::invalid("the bar has no ts_event"))?;
        let end = start
            .as_nanos()
            .checked_add(i64::from(interval_s) * 1_000_000_000)
            .map(Timestamp::from_nanos)
            .ok_or_else(|| RowError::OutOfRange {
                what: "the bar's end".into(),
            })?;
        let volume = i64::try_from(bar.volume)
            .map(Decimal::from_int)
            .map_err(|_| RowError::invalid(format!("volume {} is too large", bar.volume)))?;
        let payload = Payload::Bar(Bar {
            interval_s,
            open: required_price(bar.open, "open")?,
            high: required_price(bar.high, "high")?,
            low: required_price(bar.low, "low")?,
            close: required_price(bar.close, "close")?,
            volume,
            trades: None,
            vwap: None,
        });
        Ok(DbnOutcome::Events(vec![
            self.event_at(bar, end, end, None, payload)?
        ]))
    }
}

/// Reads the 8-byte DBN prelude (`DBN`, version, metadata length) and refuses what `dbn` could
/// only fail on after a large allocation; returns the bytes read, to be replayed.
fn check_prelude(input: &mut Input, file: &str) -> Result<Vec<u8>> {
    let mut prelude = Vec::with_capacity(8);
    input
        .by_ref()
        .take(8)
        .read_to_end(&mut prelude)
        .map_err(|e| ImportError::Dbn {
            file: file.to_string(),
            reason: e.to_string(),
        })?;
    let invalid = |reason: String| ImportError::Dbn {
        file: file.to_string(),
        reason,
    };
    if prelude.len() < 8 || &prelude[..3] != b"DBN" {
        return Err(invalid(
            "the content does not start with the `DBN` prefix".into(),
        ));
    }
    let length = u32::from_le_bytes([prelude[4], prelude[5], prelude[6], prelude[7]]);
    if length > MAX_METADATA_LEN {
        return Err(invalid(format!(
            "the header claims {length} bytes of metadata (at most {MAX_METADATA_LEN} are read)"
        )));
    }
    Ok(prelude)
}

/// Counts the bytes `dbn` reads, so that a stream ending inside a record is noticed (`dbn`
/// treats an end of input anywhere as the end of the records), and checks each record's length
/// byte before `dbn` frames the record with it.
///
/// Every DBN record (versions 1–3) starts with `length: u8`, its size in 4-byte words, and every
/// record type is a multiple of 8 bytes long (they all hold a `u64`). A damaged length that is
/// odd or below the 16-byte header would make `dbn` 0.73 place the next record at an unaligned
/// address and build a reference to it (found by `tests/arbitrary_input_never_panics.rs`: a
/// debug-assertion panic in `RecordRef::new`, undefined behaviour in release builds). Such a
/// stream is refused here, as a read error, before `dbn` sees the bytes.
struct Counting {
    inner: Input,
    count: u64,
    /// Where the next record starts (input offset); `None` when lengths are not checked.
    next_record: Option<u64>,
    /// The first read error of the input (kind and message): `dbn` ends a stream quietly on an
    /// unexpected end of input, so a cut `.dbn.zst` would otherwise look complete.
    failed: Option<(std::io::ErrorKind, String)>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                if e.kind() != std::io::ErrorKind::Interrupted && self.failed.is_none() {
                    self.failed = Some((e.kind(), e.to_string()));
                }
                return Err(e);
            }
        };
        if let Some(next) = &mut self.next_record {
            let end = self.count + n as u64;
            while *next < end {
                // `*next - count < n <= buf.len()`, so the index is in bounds.
                let length = buf[(*next - self.count) as usize];
                let bytes = u64::from(length) * 4;
                if bytes < 16 || bytes % 8 != 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "a record at byte {} declares an impossible length of {bytes} bytes",
                            *next
                        ),
                    ));
                }
                *next += bytes;
            }
        }
        self.count += n as u64;
        Ok(n)
    }
}

/// The DBN importer behind [`Format::Dbn`](crate::Format::Dbn).
pub(crate) struct DbnImport {
    decoder: DbnDecoder<Counting>,
    /// Bytes the prelude, metadata and records decoded so far account for; `None` for a DBN
    /// version whose record framing strata does not check.
    accounted: Option<u64>,
    ctx: DbnContext,
    kind: Option<EventKind>,
    file: String,
    index: u64,
    pending: VecDeque<Record>,
    done: bool,
}

impl DbnImport {
    /// Reads the header and metadata of `input` (already decompressed).
    pub(crate) fn new(mut input: Input, file: &str, options: &ImportOptions) -> Result<Self> {
        let prelude = check_prelude(&mut input, file)?;
        let version = prelude[3];
        let metadata_len = u64::from(u32::from_le_bytes([
            prelude[4], prelude[5], prelude[6], prelude[7],
        ]));
        let replay = Counting {
            inner: Box::new(Cursor::new(prelude).chain(input)),
            count: 0,
            next_record: (1..=dbn::DBN_VERSION)
                .contains(&version)
                .then_some(8 + metadata_len),
            failed: None,
        };
        // Records are read as written (`AsIs`): the types strata converts (MBO, MBP-1, trades,
        // OHLCV) have one layout in DBN versions 1–3, and `dbn`'s upgrade path unwraps records
        // it assumes well-formed, which damaged input is not.
        let decoder =
            DbnDecoder::with_upgrade_policy(replay, VersionUpgradePolicy::AsIs).map_err(|e| {
                ImportError::Dbn {
                    file: file.to_string(),
                    reason: e.to_string(),
                }
            })?;
        let source = options.source_for(crate::Format::Dbn);
        let mut ctx = DbnContext::from_metadata(decoder.metadata(), source, options.symbol.clone())
            .map_err(|reason| ImportError::Dbn {
                file: file.to_string(),
                reason,
            })?;
        if ctx.venue.is_none() {
            ctx.venue.clone_from(&options.venue);
        }
        Ok(DbnImport {
            decoder,
            accounted: (1..=dbn::DBN_VERSION)
                .contains(&version)
                .then_some(8 + metadata_len),
            ctx,
            kind: options.kind,
            file: file.to_string(),
            index: 0,
            pending: VecDeque::new(),
            done: false,
        })
    }
}

impl Iterator for DbnImport {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if let Some(record) = self.pending.pop_front() {
                return Some(record);
            }
            if self.done {
                return None;
            }
            let rec = match self.decoder.decode_record_ref() {
                Ok(Some(rec)) => rec,
                Ok(None) => {
                    self.done = true;
                    if let Some((kind, message)) = &self.decoder.get_ref().failed {
                        let err = std::io::Error::new(*kind, message.clone());
                        return Some(Record::Rejected(Rejected {
                            file: self.file.clone(),
                            line: self.index + 1,
                            reason: crate::record::read_error_reason(&err),
                            raw: String::new(),
                        }));
                    }
                    let read = self.decoder.get_ref().count;
                    return match self.accounted {
                        Some(accounted) if read > accounted => Some(Record::Rejected(Rejected {
                            file: self.file.clone(),
                            line: self.index + 1,
                            reason: format!(
                                "{READ_ERROR_PREFIX}{CUT_MARK}the stream ends inside record {} ({} bytes of it)",
                                self.index + 1,
                                read - accounted
                            ),
                            raw: String::new(),
                        })),
                        _ => None,
                    };
                }
                Err(err) => {
                    self.done = true;
                    return Some(Record::Rejected(Rejected {
                        file: self.file.clone(),
                        line: self.index + 1,
                        reason: match &err {
                            ::dbn::Error::Io { source, .. } => {
                                crate::record::read_error_reason(source)
                            }
                            _ => format!("{READ_ERROR_PREFIX}{err}"),
                        },
                        raw: String::new(),
                    }));
                }
            };
            self.index += 1;
            if let Some(accounted) = &mut self.accounted {
                *accounted += rec.record_size() as u64;
            }
            let line = self.index;
            match self.ctx.convert(rec) {
                Ok(DbnOutcome::Events(events)) => self.pending.extend(
                    events
                        .into_iter()
                        .map(|event| crate::select_kind(event, self.kind, line)),
                ),
                Ok(DbnOutcome::Skipped(reason)) => {
                    self.pending.push_back(Record::Skipped { line, reason })
                }
                Err(reason) => {
                    let raw = debug_text(rec);
                    self.pending.push_back(Record::Rejected(Rejected {
                        file: self.file.clone(),
                        line,
                        reason: reason.to_string(),
                        raw,
                    }))
                }
            }
        }
    }
}

/// The record's debug form, for the quarantine.
fn debug_text(rec: RecordRef<'_>) -> String {
    if let Ok(Some(r)) = typed::<MboMsg>(&rec) {
        format!("{r:?}")
    } else if let Ok(Some(r)) = typed::<Mbp1Msg>(&rec) {
        format!("{r:?}")
    } else if let Ok(Some(r)) = typed::<TradeMsg>(&rec) {
        format!("{r:?}")
    } else if let Ok(Some(r)) = typed::<OhlcvMsg>(&rec) {
        format!("{r:?}")
    } else {
        format!("{:?}", rec.header())
    }
}

impl RowSource for DbnImport {
    fn rows(&self) -> u64 {
        self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_exact_and_undefined_is_none() {
        assert_eq!(price(4_773_500_000_000).unwrap().to_string(), "4773.5");
        assert_eq!(price(1).unwrap().to_string(), "0.000000001");
        assert_eq!(price(-2_500_000_000).unwrap().to_string(), "-2.5");
        assert_eq!(price(UNDEF_PRICE), None);
        assert_eq!(venue_of_dataset("GLBX.MDP3").as_deref(), Some("GLBX"));
    }

    #[test]
    fn bad_preludes_are_refused_before_decoding() {
        let mut not_dbn: Input = Box::new(&b"PK\x03\x04 not dbn"[..]);
        let err = check_prelude(&mut not_dbn, "x.dbn").unwrap_err();
        assert!(err.to_string().contains("`DBN` prefix"), "{err}");
        let mut huge: Input = Box::new(&b"DBN\x03\xff\xff\xff\xff"[..]);
        let err = check_prelude(&mut huge, "x.dbn").unwrap_err();
        assert!(err.to_string().starts_with("x.dbn: "), "{err}");
        assert!(
            err.to_string().contains("4294967295 bytes of metadata"),
            "{err}"
        );
    }
}
