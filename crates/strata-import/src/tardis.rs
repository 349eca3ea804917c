//! Tardis.dev normalized CSV (`--format tardis`): the downloadable datasets, one file per
//! exchange, data type, day and symbol (`deribit_trades_2020-04-01_BTC-PERPETUAL.csv.gz`),
//! gzip-compressed as served (decompressed transparently, like every input).
//!
//! The data type is read from the header row, which Tardis.dev documents for each type; the
//! columns are found by name, so their order does not matter. Every file starts with
//! `exchange,symbol,timestamp,local_timestamp`; times are microseconds since the Unix epoch
//! (UTC), numbers use `.` and an empty cell means the exchange sent no value.
//!
//! | data type | columns after the common four | events |
//! |---|---|---|
//! | `trades` | `id,side,price,amount` | a [`Trade`]: `trade_id` = `id` (none when empty), side `buy`/`sell` (`unknown` → none) |
//! | `liquidations` (same header; told by the file name) | `id,side,price,amount` | a [`Trade`] with `conditions` `liquidation` |
//! | `quotes`, `book_ticker` | `ask_amount,ask_price,bid_price,bid_amount` | a [`BboQuote`]; an empty side is `None` |
//! | `book_snapshot_5`, `book_snapshot_25` (any depth) | `asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,…` | an [`L2Snapshot`] with the levels present (a thin book leaves the deeper cells empty) |
//! | `incremental_book_L2` | `is_snapshot,side,price,amount` | an [`OrderBookDelta`] per row: `add` for a snapshot row, `modify` for an update (the amount is the level's new total, not a change), `cancel` when the amount is 0; before the first row of each snapshot (a new day, a reconnect) a `clear` delta, since Tardis.dev says the book must then be discarded |
//! | `derivative_ticker` | `funding_timestamp,funding_rate,predicted_funding_rate,open_interest,last_price,index_price,mark_price` | a [`DerivativeTicker`] with the fields present; a row with none is skipped |
//! | `options_chain` | — | refused as a whole file: strata has no event for option greeks yet |
//!
//! **Times.** Event time is `timestamp`, receive time `local_timestamp`. Tardis.dev writes
//! `local_timestamp` into `timestamp` when the exchange sent no time of its own (BitMEX book
//! updates); a row whose two times are equal is therefore marked `ts_basis: receive`
//! ([`TimeBasis::Receive`]).
//!
//! **Numbers.** Prices and amounts are parsed exactly; Tardis.dev writes numbers the way
//! JavaScript prints them, so tiny funding rates come as `5e-7`, which is read exactly too
//! ([`Decimal::parse_scientific`]), as are float artifacts of up to 38 digits.
//!
//! A time before 2000-01-01 is refused for its row: Tardis.dev's data starts in 2019, so such a
//! value is seconds or milliseconds written where microseconds belong.
//!
//! **Identity.** Source `tardis`, venue = the `exchange` column (the Tardis.dev exchange id, e.g.
//! `binance-futures`), symbol = the `symbol` column. `--symbol` renames the instrument of a
//! one-symbol file (or names it when the file has no `symbol` column); a row naming a second
//! symbol is then refused, since both would be stored as one instrument. Symbols and exchanges
//! holding control characters are refused. Tardis.dev rows carry no sequence number; the row's
//! line number becomes the sequence (as for Lean), so two identical rows — two fills without
//! trade ids in one message — stay two events.
//!
//! **Files as people handle them.** Cells quoted by a spreadsheet or pandas (`"BTCUSDT"`) are
//! unquoted; files joined end to end (`cat day1.csv day2.csv`) repeat the header row, which is
//! skipped; an empty file (Tardis.dev serves an empty gzip for a day without data) imports
//! nothing and is no error.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};

use strata_model::{
    BboQuote, BookAction, BookSide, Decimal, DerivativeTicker, Event, EventKind, L2Snapshot, Level,
    OrderBookDelta, Payload, SchemaVersion, Side, TimeBasis, Timestamp, Trade,
};

use crate::error::{ImportError, Result, RowError};
use crate::input::{rejected_line, LineParser};
use crate::record::Record;

/// The columns every Tardis.dev CSV starts with.
const COMMON: [&str; 4] = ["exchange", "symbol", "timestamp", "local_timestamp"];

/// What a Tardis.dev file holds, as its header (and, for liquidations, its name) tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TardisDataType {
    /// `trades`.
    Trades,
    /// `liquidations` (a trades header in a file named `…liquidations…`).
    Liquidations,
    /// `quotes` or `book_ticker`.
    Quotes,
    /// `book_snapshot_N`, with N the depth in the header.
    BookSnapshot(usize),
    /// `incremental_book_L2`.
    IncrementalBookL2,
    /// `derivative_ticker`.
    DerivativeTicker,
}

impl TardisDataType {
    /// The kind of event rows of this type become.
    pub const fn event_kind(self) -> EventKind {
        match self {
            TardisDataType::Trades | TardisDataType::Liquidations => EventKind::Trade,
            TardisDataType::Quotes => EventKind::BboQuote,
            TardisDataType::BookSnapshot(_) => EventKind::L2Snapshot,
            TardisDataType::IncrementalBookL2 => EventKind::OrderBookDelta,
            TardisDataType::DerivativeTicker => EventKind::DerivativeTicker,
        }
    }
}

/// Where each field sits in a row, read from the header.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Body {
    Trades {
        id: usize,
        side: usize,
        price: usize,
        amount: usize,
    },
    Quotes {
        ask_amount: usize,
        ask_price: usize,
        bid_price: usize,
        bid_amount: usize,
    },
    /// Per level, best first: (price column, amount column).
    Snapshot {
        asks: Vec<(usize, usize)>,
        bids: Vec<(usize, usize)>,
    },
    Incremental {
        is_snapshot: usize,
        side: usize,
        price: usize,
        amount: usize,
    },
    Ticker {
        funding_timestamp: Option<usize>,
        funding_rate: Option<usize>,
        predicted_funding_rate: Option<usize>,
        open_interest: Option<usize>,
        last_price: Option<usize>,
        index_price: Option<usize>,
        mark_price: Option<usize>,
    },
}

/// A Tardis.dev file's layout: its data type and where each column is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TardisColumns {
    /// The header row as read (a repeat of it inside the file is skipped).
    header: String,
    data_type: TardisDataType,
    width: usize,
    exchange: usize,
    /// Absent only when `--symbol` names the instrument (checked by the importer).
    symbol: Option<usize>,
    timestamp: usize,
    local_timestamp: usize,
    body: Body,
}

/// Fixed metadata for a file's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TardisContext {
    /// Source id (`tardis`).
    pub source: String,
    /// Overrides the `symbol` column.
    pub symbol: Option<String>,
    /// Fills an empty `exchange` cell.
    pub venue: Option<String>,
}

impl Default for TardisContext {
    fn default() -> Self {
        TardisContext {
            source: "tardis".into(),
            symbol: None,
            venue: None,
        }
    }
}

/// What one row becomes.
// Returned by value and consumed at once, row by row: boxing the event would allocate per row.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TardisRow {
    /// An event; for `incremental_book_L2`, `snapshot` says whether the row was part of a
    /// snapshot (`is_snapshot` true).
    Event {
        /// The event.
        event: Event,
        /// The row belongs to a book snapshot.
        snapshot: bool,
    },
    /// A valid row holding nothing to store (a `derivative_ticker` row with no field).
    Empty(&'static str),
}

impl TardisColumns {
    /// Reads a header row. `file` is the file's name: a trades header in a file whose name says
    /// `liquidations` (Tardis.dev's naming, `binance-futures_liquidations_2024-01-01_BTCUSDT`)
    /// is read as liquidations.
    ///
    /// ```
    /// use strata_import::tardis::{TardisColumns, TardisDataType};
    ///
    /// let header = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount";
    /// let columns = TardisColumns::from_header(header, "deribit_trades_2020-04-01_BTC-PERPETUAL.csv.gz")?;
    /// assert_eq!(columns.data_type(), TardisDataType::Trades);
    /// let columns = TardisColumns::from_header(header, "deribit_liquidations_2020-04-01_BTC-PERPETUAL.csv.gz")?;
    /// assert_eq!(columns.data_type(), TardisDataType::Liquidations);
    /// # Ok::<(), String>(())
    /// ```
    pub fn from_header(header: &str, file: &str) -> std::result::Result<Self, String> {
        let cells = split_cells(header).map_err(|e| e.to_string())?;
        let names: Vec<&str> = cells.iter().map(|c| c.trim()).collect();
        let find = |name: &str| names.iter().position(|n| *n == name);
        let need = |name: &str| {
            find(name).ok_or_else(|| {
                format!(
                    "the header has no `{name}` column (columns: {})",
                    names.join(",")
                )
            })
        };
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(format!("the header names column `{name}` twice"));
            }
        }
        let [exchange, timestamp, local_timestamp] =
            [need(COMMON[0])?, need(COMMON[2])?, need(COMMON[3])?];
        let symbol = find(COMMON[1]);
        if find("strike_price").is_some() || find("expiration").is_some() {
            return Err(
                "this is a Tardis.dev options_chain file, which strata cannot store yet (no event kind holds option greeks)"
                    .into(),
            );
        }
        let (data_type, body) = if find("is_snapshot").is_some() {
            (
                TardisDataType::IncrementalBookL2,
                Body::Incremental {
                    is_snapshot: need("is_snapshot")?,
                    side: need("side")?,
                    price: need("price")?,
                    amount: need("amount")?,
                },
            )
        } else if find("asks[0].price").is_some() || find("bids[0].price").is_some() {
            let levels = |side: &str| -> std::result::Result<Vec<(usize, usize)>, String> {
                let mut out = Vec::new();
                while let Some(price) = find(&format!("{side}[{}].price", out.len())) {
                    out.push((price, need(&format!("{side}[{}].amount", out.len()))?));
                }
                Ok(out)
            };
            let (asks, bids) = (levels("asks")?, levels("bids")?);
            let depth = asks.len().max(bids.len());
            // Every level column must have been taken: a gap (asks[0], asks[2]) is no layout
            // Tardis.dev writes.
            let common = COMMON.iter().filter(|c| find(c).is_some()).count();
            let known = common + 2 * (asks.len() + bids.len());
            if names.len() != known {
                return Err(format!(
                    "the book snapshot header has {} columns; levels 0..{depth} of asks and bids with the common columns make {known}",
                    names.len()
                ));
            }
            (
                TardisDataType::BookSnapshot(depth),
                Body::Snapshot { asks, bids },
            )
        } else if ["funding_rate", "mark_price", "index_price", "open_interest"]
            .iter()
            .any(|c| find(c).is_some())
        {
            (
                TardisDataType::DerivativeTicker,
                Body::Ticker {
                    funding_timestamp: find("funding_timestamp"),
                    funding_rate: find("funding_rate"),
                    predicted_funding_rate: find("predicted_funding_rate"),
                    open_interest: find("open_interest"),
                    last_price: find("last_price"),
                    index_price: find("index_price"),
                    mark_price: find("mark_price"),
                },
            )
        } else if find("ask_price").is_some() || find("bid_price").is_some() {
            (
                TardisDataType::Quotes,
                Body::Quotes {
                    ask_amount: need("ask_amount")?,
                    ask_price: need("ask_price")?,
                    bid_price: need("bid_price")?,
                    bid_amount: need("bid_amount")?,
                },
            )
        } else if find("id").is_some() {
            // The file's own name, not its folders: `liquidations/x_trades.csv` is trades.
            let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
            let liquidations = base.to_ascii_lowercase().contains("liquidation");
            (
                if liquidations {
                    TardisDataType::Liquidations
                } else {
                    TardisDataType::Trades
                },
                Body::Trades {
                    id: need("id")?,
                    side: need("side")?,
                    price: need("price")?,
                    amount: need("amount")?,
                },
            )
        } else {
            return Err(format!(
                "the header is none of the Tardis.dev data types strata reads (trades, liquidations, quotes, book_ticker, book_snapshot_N, incremental_book_L2, derivative_ticker); columns: {}",
                names.join(",")
            ));
        };
        Ok(TardisColumns {
            header: header.to_string(),
            data_type,
            width: names.len(),
            exchange,
            symbol,
            timestamp,
            local_timestamp,
            body,
        })
    }

    /// The file's data type.
    pub fn data_type(&self) -> TardisDataType {
        self.data_type
    }

    /// True when the file has a `symbol` column (else `--symbol` must name the instrument).
    pub fn names_symbols(&self) -> bool {
        self.symbol.is_some()
    }

    /// Parses one data row (`line_no` becomes the event's sequence).
    ///
    /// ```
    /// use strata_import::tardis::{TardisColumns, TardisContext, TardisRow};
    ///
    /// let columns = TardisColumns::from_header(
    ///     "exchange,symbol,timestamp,local_timestamp,id,side,price,amount", "trades.csv")?;
    /// let row = "bitmex,XBTUSD,1585699202957000,1585699203957000,aaa,buy,6425.5,12";
    /// let TardisRow::Event { event, .. } = columns.parse_row(row, 2, &TardisContext::default())? else {
    ///     unreachable!()
    /// };
    /// assert_eq!(event.event_time.as_nanos(), 1_585_699_202_957_000_000);
    /// assert_eq!(event.receive_time.as_nanos(), 1_585_699_203_957_000_000);
    /// assert_eq!(event.venue.as_deref(), Some("bitmex"));
    /// assert_eq!(event.payload.trade().unwrap().price.to_string(), "6425.5");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse_row(
        &self,
        line: &str,
        line_no: u64,
        ctx: &TardisContext,
    ) -> std::result::Result<TardisRow, RowError> {
        let unquoted;
        let cells: Vec<&str> = if line.contains('"') {
            unquoted = split_cells(line)?;
            unquoted.iter().map(|c| c.as_ref()).collect()
        } else {
            line.split(',').collect()
        };
        if cells.len() != self.width {
            return Err(RowError::FieldCount {
                row: cells.len(),
                header: self.width,
            });
        }
        let symbol = match (&ctx.symbol, self.symbol.map(|c| cells[c])) {
            (Some(symbol), _) => symbol.clone(),
            (None, Some("")) => {
                return Err(RowError::NoSymbol {
                    why: "column `symbol` is empty".into(),
                })
            }
            (None, Some(cell)) => cell.to_string(),
            (None, None) => {
                return Err(RowError::NoSymbol {
                    why: "the file has no `symbol` column".into(),
                })
            }
        };
        if symbol.chars().any(char::is_control) {
            return Err(RowError::ControlCharacter {
                field: "column `symbol`".into(),
                value: symbol,
            });
        }
        let venue = match cells[self.exchange] {
            "" => ctx.venue.clone(),
            exchange if exchange.chars().any(char::is_control) => {
                return Err(RowError::ControlCharacter {
                    field: "column `exchange`".into(),
                    value: exchange.to_string(),
                })
            }
            exchange => Some(exchange.to_string()),
        };
        let receive_time = micros(cells[self.local_timestamp], "local_timestamp")?;
        let (event_time, time_basis) = match cells[self.timestamp] {
            "" => (receive_time, TimeBasis::Receive),
            text => {
                let at = micros(text, "timestamp")?;
                if at == receive_time {
                    (at, TimeBasis::Receive)
                } else {
                    (at, TimeBasis::Venue)
                }
            }
        };
        // One event per row: it takes the symbol and venue (each arm below calls this once).
        let row = move |payload: Payload, snapshot: bool| TardisRow::Event {
            event: Event {
                schema: SchemaVersion::CURRENT,
                source: ctx.source.clone(),
                symbol,
                venue,
                event_time,
                receive_time,
                time_basis,
                sequence: Some(line_no),
                payload,
            },
            snapshot,
        };
        match &self.body {
            Body::Trades {
                id,
                side,
                price,
                amount,
            } => {
                let side = match cells[*side] {
                    "buy" => Some(Side::Buy),
                    "sell" => Some(Side::Sell),
                    "unknown" | "" => None,
                    other => {
                        return Err(RowError::bad_value(other, "is not buy, sell or unknown")
                            .in_field("column `side`"))
                    }
                };
                Ok(row(
                    Payload::Trade(Trade {
                        price: decimal(cells[*price], "price")?,
                        size: decimal(cells[*amount], "amount")?,
                        side,
                        trade_id: Some(cells[*id])
                            .filter(|id| !id.is_empty())
                            .map(str::to_string),
                        conditions: (self.data_type == TardisDataType::Liquidations)
                            .then(|| "liquidation".to_string()),
                    }),
                    false,
                ))
            }
            Body::Quotes {
                ask_amount,
                ask_price,
                bid_price,
                bid_amount,
            } => Ok(row(
                Payload::BboQuote(BboQuote {
                    bid: level(&cells, *bid_price, *bid_amount, &|f| format!("bid_{f}"))?,
                    ask: level(&cells, *ask_price, *ask_amount, &|f| format!("ask_{f}"))?,
                }),
                false,
            )),
            Body::Snapshot { asks, bids } => {
                let side = |columns: &[(usize, usize)], name: &str| {
                    let mut levels = Vec::with_capacity(columns.len());
                    let mut ended = false;
                    for (i, &(price, amount)) in columns.iter().enumerate() {
                        match level(&cells, price, amount, &|f| format!("{name}[{i}].{f}"))? {
                            Some(level) if ended => {
                                return Err(RowError::invalid(format!(
                                "column `{name}[{i}].price` holds {} after an empty level above it",
                                level.price
                            )))
                            }
                            Some(level) => levels.push(level),
                            None => ended = true,
                        }
                    }
                    Ok::<_, RowError>(levels)
                };
                Ok(row(
                    Payload::L2Snapshot(L2Snapshot {
                        bids: side(bids, "bids")?,
                        asks: side(asks, "asks")?,
                    }),
                    false,
                ))
            }
            Body::Incremental {
                is_snapshot,
                side,
                price,
                amount,
            } => {
                let snapshot = match cells[*is_snapshot] {
                    // pandas writes `True`/`False` when it re-saves a file.
                    "true" | "True" | "TRUE" => true,
                    "false" | "False" | "FALSE" => false,
                    other => {
                        return Err(RowError::bad_value(other, "is not true or false")
                            .in_field("column `is_snapshot`"))
                    }
                };
                let side = match cells[*side] {
                    "bid" => BookSide::Bid,
                    "ask" => BookSide::Ask,
                    other => {
                        return Err(RowError::bad_value(other, "is not bid or ask")
                            .in_field("column `side`"))
                    }
                };
                let size = decimal(cells[*amount], "amount")?;
                let action = if size.is_zero() {
                    BookAction::Cancel
                } else if snapshot {
                    BookAction::Add
                } else {
                    BookAction::Modify
                };
                let price = Some(decimal(cells[*price], "price")?);
                Ok(row(
                    Payload::OrderBookDelta(OrderBookDelta {
                        action,
                        side: Some(side),
                        price,
                        size: Some(size),
                        order_id: None,
                        flags: None,
                    }),
                    snapshot,
                ))
            }
            Body::Ticker {
                funding_timestamp,
                funding_rate,
                predicted_funding_rate,
                open_interest,
                last_price,
                index_price,
                mark_price,
            } => {
                let opt = |column: &Option<usize>, name: &str| match column.map(|c| cells[c]) {
                    None | Some("") => Ok(None),
                    Some(text) => decimal(text, name).map(Some),
                };
                let ticker = DerivativeTicker {
                    last_price: opt(last_price, "last_price")?,
                    mark_price: opt(mark_price, "mark_price")?,
                    index_price: opt(index_price, "index_price")?,
                    open_interest: opt(open_interest, "open_interest")?,
                    funding_rate: opt(funding_rate, "funding_rate")?,
                    predicted_funding_rate: opt(predicted_funding_rate, "predicted_funding_rate")?,
                    funding_time: match funding_timestamp.map(|c| cells[c]) {
                        None | Some("") => None,
                        Some(text) => Some(micros(text, "funding_timestamp")?),
                    },
                };
                if ticker == DerivativeTicker::default() {
                    return Ok(TardisRow::Empty("derivative_ticker row with no field set"));
                }
                Ok(row(Payload::DerivativeTicker(ticker), false))
            }
        }
    }
}

/// 2000-01-01T00:00:00Z in microseconds: Tardis.dev's data starts in 2019, so an earlier time
/// is a value in another unit (seconds, milliseconds) or no time at all.
const EARLIEST_US: i64 = 946_684_800_000_000;

/// Microseconds since the epoch, as nanoseconds.
fn micros(text: &str, column: &str) -> std::result::Result<Timestamp, RowError> {
    let bad =
        |reason: &str| RowError::bad_value(text, reason).in_field(format!("column `{column}`"));
    let us = text
        .parse::<i64>()
        .ok()
        .filter(|us| us.checked_mul(1_000).is_some())
        .ok_or_else(|| bad("is not a time in microseconds since the epoch"))?;
    if us < EARLIEST_US {
        return Err(bad(
            "is before 2000-01-01 as microseconds since the epoch; Tardis.dev times are microseconds (is it seconds or milliseconds?)",
        ));
    }
    Ok(Timestamp::from_nanos(us * 1_000))
}

/// A CSV line's cells. Tardis.dev writes no quotes, but a file re-saved by a spreadsheet or
/// pandas may quote cells (RFC 4180: `"a,b"`, `""` for a quote inside): those are unquoted.
fn split_cells(line: &str) -> std::result::Result<Vec<Cow<'_, str>>, RowError> {
    if !line.contains('"') {
        return Ok(line.split(',').map(Cow::Borrowed).collect());
    }
    let mut cells = Vec::new();
    let mut chars = line.char_indices().peekable();
    loop {
        // One cell, starting here.
        if let Some((_, '"')) = chars.peek() {
            chars.next();
            let mut cell = String::new();
            loop {
                match chars.next() {
                    Some((_, '"')) if matches!(chars.peek(), Some((_, '"'))) => {
                        chars.next();
                        cell.push('"');
                    }
                    Some((_, '"')) => break,
                    Some((_, c)) => cell.push(c),
                    None => return Err(RowError::invalid("a quoted cell is not closed")),
                }
            }
            cells.push(Cow::Owned(cell));
            match chars.next() {
                None => return Ok(cells),
                Some((_, ',')) => {}
                Some((_, c)) => {
                    return Err(RowError::invalid(format!(
                        "`{c}` follows a quoted cell; expected `,`"
                    )))
                }
            }
        } else {
            let start = chars.peek().map_or(line.len(), |&(i, _)| i);
            let mut end = line.len();
            let mut more = false;
            for (i, c) in chars.by_ref() {
                if c == ',' {
                    end = i;
                    more = true;
                    break;
                }
                if c == '"' {
                    return Err(RowError::invalid("a quote inside an unquoted cell"));
                }
            }
            cells.push(Cow::Borrowed(&line[start..end]));
            if !more {
                return Ok(cells);
            }
        }
    }
}

fn decimal(text: &str, column: &str) -> std::result::Result<Decimal, RowError> {
    Decimal::parse_scientific(text).map_err(|source| RowError::Decimal {
        field: format!("column `{column}`"),
        source,
    })
}

/// A book level from a price and an amount cell: both empty is no level, one empty an error.
/// `column("price")` and `column("amount")` name the two columns, built only for an error
/// message (a 25-level snapshot row reads 100 cells).
fn level(
    cells: &[&str],
    price: usize,
    amount: usize,
    column: &dyn Fn(&str) -> String,
) -> std::result::Result<Option<Level>, RowError> {
    let named = |what: &str, text: &str| decimal(text, &column(what));
    match (cells[price], cells[amount]) {
        ("", "") => Ok(None),
        ("", _) => Err(RowError::HalfLevel {
            empty: column("price"),
            other: column("amount"),
        }),
        (_, "") => Err(RowError::HalfLevel {
            empty: column("amount"),
            other: column("price"),
        }),
        (p, a) => Ok(Some(Level {
            price: Decimal::parse_scientific(p).or_else(|_| named("price", p))?,
            size: Decimal::parse_scientific(a).or_else(|_| named("amount", a))?,
        })),
    }
}

/// Reads the header row of a Tardis.dev file from the start of `input`: `Ok(None)` for an empty
/// file (Tardis.dev serves an empty gzip for a day without data).
pub(crate) fn read_header(
    input: &mut dyn std::io::BufRead,
    file: &str,
) -> Result<Option<(TardisColumns, u64)>> {
    let mut line = Vec::new();
    let mut line_no = 0;
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|source| ImportError::Open {
                file: file.to_string(),
                source,
            })?;
        if n == 0 {
            return Ok(None);
        }
        line_no += 1;
        let text = crate::input::line_content(line_no, &line);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let header_error = |reason: String| ImportError::TardisHeader {
            file: file.to_string(),
            line: line_no,
            reason,
        };
        let text = std::str::from_utf8(text)
            .map_err(|_| header_error("the header row is not UTF-8 text".into()))?;
        let columns = TardisColumns::from_header(text, file).map_err(header_error)?;
        return Ok(Some((columns, line_no)));
    }
}

/// The line parser behind [`Format::Tardis`](crate::Format::Tardis), with the per-symbol
/// snapshot state of `incremental_book_L2` files.
pub(crate) struct TardisLines {
    file: String,
    columns: TardisColumns,
    ctx: TardisContext,
    kind: Option<EventKind>,
    /// Per symbol: whether its last row was part of a snapshot.
    in_snapshot: HashMap<String, bool>,
    /// With `--symbol`: the first symbol the file itself names; a second one is refused, as
    /// `--symbol` would merge two instruments into one.
    named_symbol: Option<String>,
}

impl TardisLines {
    pub(crate) fn new(
        file: &str,
        columns: TardisColumns,
        ctx: TardisContext,
        kind: Option<EventKind>,
    ) -> Self {
        TardisLines {
            file: file.to_string(),
            columns,
            ctx,
            kind,
            in_snapshot: HashMap::new(),
            named_symbol: None,
        }
    }

    /// With `--symbol` and a `symbol` column: `Err` when the row names another symbol than the
    /// file's first row did.
    fn check_one_symbol(&mut self, line: &str) -> std::result::Result<(), RowError> {
        let (Some(fixed), Some(column)) = (&self.ctx.symbol, self.columns.symbol) else {
            return Ok(());
        };
        let cells = split_cells(line)?;
        let Some(named) = cells.get(column).filter(|c| !c.is_empty()) else {
            return Ok(());
        };
        match &self.named_symbol {
            None => self.named_symbol = Some(named.to_string()),
            Some(first) if first != named => {
                return Err(RowError::invalid(format!(
                    "the file names more than one symbol (`{first}`, then `{named}`): --symbol {fixed} would store them as one instrument; import it without --symbol"
                )))
            }
            Some(_) => {}
        }
        Ok(())
    }
}

impl LineParser for TardisLines {
    fn parse_line(&mut self, line_no: u64, line: &[u8], out: &mut VecDeque<Record>) {
        let text = match std::str::from_utf8(line) {
            Ok(text) if text == self.columns.header => {
                // Files joined end to end (`cat day1.csv day2.csv`) repeat the header.
                out.push_back(Record::Skipped {
                    line: line_no,
                    reason: "the header row again (files joined end to end)".into(),
                });
                return;
            }
            Ok(text) => Ok(text),
            Err(_) => Err(RowError::invalid("the line is not UTF-8 text")),
        };
        let parsed = text.and_then(|text| {
            let row = self.columns.parse_row(text, line_no, &self.ctx)?;
            // Only a row that parsed names a symbol worth remembering.
            self.check_one_symbol(text)?;
            Ok(row)
        });
        match parsed {
            Ok(TardisRow::Event { event, snapshot }) => {
                if self.columns.data_type == TardisDataType::IncrementalBookL2 {
                    let was = self.in_snapshot.insert(event.symbol.clone(), snapshot);
                    if snapshot && was != Some(true) {
                        // A snapshot begins: whatever book the reader holds is stale.
                        let mut clear = event.clone();
                        clear.payload = Payload::OrderBookDelta(OrderBookDelta {
                            action: BookAction::Clear,
                            side: None,
                            price: None,
                            size: None,
                            order_id: None,
                            flags: None,
                        });
                        out.push_back(crate::select_kind(clear, self.kind, line_no));
                    }
                }
                out.push_back(crate::select_kind(event, self.kind, line_no));
            }
            Ok(TardisRow::Empty(reason)) => out.push_back(Record::Skipped {
                line: line_no,
                reason: reason.to_string(),
            }),
            Err(reason) => {
                out.push_back(rejected_line(&self.file, line_no, reason.to_string(), line))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICKER: &str = "exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,predicted_funding_rate,open_interest,last_price,index_price,mark_price";

    fn ticker(row: &str) -> std::result::Result<TardisRow, String> {
        TardisColumns::from_header(TICKER, "x.csv")
            .unwrap()
            .parse_row(row, 2, &TardisContext::default())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn derivative_ticker_keeps_what_the_row_has_and_reads_exponents() {
        let Ok(TardisRow::Event { event, .. }) = ticker(
            "binance-futures,BTCUSDT,1580515500000000,1580515501000000,1580544000000000,5e-7,,100.5,9364.51,,9360.0",
        ) else {
            panic!()
        };
        let Payload::DerivativeTicker(t) = event.payload else {
            panic!()
        };
        assert_eq!(t.funding_rate.unwrap().to_string(), "0.0000005");
        assert_eq!(t.predicted_funding_rate, None);
        assert_eq!(t.open_interest.unwrap().to_string(), "100.5");
        assert_eq!(t.mark_price.unwrap().to_string(), "9360.0");
        assert_eq!(t.index_price, None);
        assert_eq!(
            t.funding_time.unwrap().as_nanos(),
            1_580_544_000_000_000_000
        );
        assert_eq!(
            ticker("deribit,BTC-PERPETUAL,1580515500000000,1580515501000000,,,,,,,"),
            Ok(TardisRow::Empty("derivative_ticker row with no field set"))
        );
    }

    #[test]
    fn bad_cells_name_their_column() {
        let err =
            ticker("binance-futures,BTCUSDT,1580515500000000,1580515501000000,,0.0001,,abc,,,")
                .unwrap_err();
        assert!(err.contains("column `open_interest`"), "{err}");
        let err = ticker("binance-futures,BTCUSDT,x,1580515501000000,,0.0001,,,,,").unwrap_err();
        assert!(err.contains("column `timestamp`: `x`"), "{err}");
        let err = ticker("binance-futures,BTCUSDT,1,2").unwrap_err();
        assert_eq!(err, "the row has 4 fields, the header 11");
        let err = ticker("binance-futures,,1580515500000000,1580515501000000,,,,,,,1").unwrap_err();
        assert!(err.contains("`symbol` is empty"), "{err}");
    }

    #[test]
    fn times_in_another_unit_and_control_characters_are_refused() {
        // Seconds and milliseconds written where microseconds belong.
        for (ts, at) in [
            ("1580515500", "1580515500"),
            ("1580515500000", "1580515500000"),
        ] {
            let err = ticker(&format!("deribit,BTC-PERPETUAL,{ts},{at},,,,,1,,")).unwrap_err();
            assert!(err.contains("before 2000-01-01"), "{err}");
        }
        let err = ticker("deribit,BTC-PERPETUAL,-1,1580515500000000,,,,,1,,").unwrap_err();
        assert!(err.contains("column `timestamp`"), "{err}");
        let err =
            ticker("deribit,BTC\u{0}PERP,1580515500000000,1580515500000001,,,,,1,,").unwrap_err();
        assert!(err.contains("control character"), "{err}");
        let err = ticker("\tderibit,BTC,1580515500000000,1580515500000001,,,,,1,,").unwrap_err();
        assert!(err.contains("column `exchange`"), "{err}");
    }

    #[test]
    fn quoted_cells_are_unquoted() {
        let cells = split_cells(r#"binance,"ETH,USDT","",buy,"say ""hi""""#).unwrap();
        assert_eq!(cells, ["binance", "ETH,USDT", "", "buy", r#"say "hi""#]);
        assert_eq!(split_cells("a,,b,").unwrap(), ["a", "", "b", ""]);
        let err = |line| split_cells(line).unwrap_err().to_string();
        assert!(err(r#"a,"b"#).contains("not closed"));
        assert!(err(r#"a,"b"c"#).contains("follows a quoted cell"));
        assert!(err(r#"a,b"c"#).contains("inside an unquoted"));
        let Ok(TardisRow::Event { event, .. }) = ticker(
            r#""binance-futures","BTCUSDT","1580515500000000","1580515501000000","","","","","9364.51","","""#,
        ) else {
            panic!()
        };
        assert_eq!(event.symbol, "BTCUSDT");
        let columns = TardisColumns::from_header(
            r#""exchange","symbol","timestamp","local_timestamp","id","side","price","amount""#,
            "x_trades.csv",
        )
        .unwrap();
        assert_eq!(columns.data_type(), TardisDataType::Trades);
    }

    #[test]
    fn liquidations_are_told_by_the_file_name_not_its_folder() {
        let header = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount";
        let kind = |file: &str| {
            TardisColumns::from_header(header, file)
                .unwrap()
                .data_type()
        };
        assert_eq!(
            kind("liquidations/binance_trades_2024-01-01_BTCUSDT.csv.gz"),
            TardisDataType::Trades
        );
        assert_eq!(
            kind("x/binance-futures_liquidations_2024-01-01_BTCUSDT.csv.gz"),
            TardisDataType::Liquidations
        );
        assert_eq!(
            kind("my_liquidation_file.csv"),
            TardisDataType::Liquidations
        );
    }

    #[test]
    fn equal_times_mean_the_exchange_sent_none() {
        let Ok(TardisRow::Event { event, .. }) =
            ticker("bitmex,XBTUSD,1580515500000007,1580515500000007,,,,,1,,")
        else {
            panic!()
        };
        assert_eq!(event.time_basis, TimeBasis::Receive);
    }

    #[test]
    fn headers_that_are_no_tardis_type_are_refused_with_their_columns() {
        let err = TardisColumns::from_header("a,b,c", "x.csv").unwrap_err();
        assert!(err.contains("no `exchange` column"), "{err}");
        let err = TardisColumns::from_header("exchange,symbol,timestamp,local_timestamp,foo", "x")
            .unwrap_err();
        assert!(
            err.contains("columns: exchange,symbol,timestamp,local_timestamp,foo"),
            "{err}"
        );
        let err = TardisColumns::from_header(
            "exchange,symbol,timestamp,local_timestamp,type,strike_price,expiration",
            "x",
        )
        .unwrap_err();
        assert!(err.contains("options_chain"), "{err}");
        let err = TardisColumns::from_header(
            "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,asks[2].price,asks[2].amount",
            "x",
        )
        .unwrap_err();
        assert!(err.contains("levels 0..1"), "{err}");
        let err = TardisColumns::from_header(
            "exchange,symbol,timestamp,local_timestamp,id,id,side,price,amount",
            "x",
        )
        .unwrap_err();
        assert!(err.contains("`id` twice"), "{err}");
    }
}
