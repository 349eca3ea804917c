//! Events as PostgreSQL tables: the DDL of a kind's table, rows in `COPY … FROM stdin` text
//! format, and `INSERT` statements.
//!
//! Every value stays exact: prices and sizes are `NUMERIC` (which keeps the scale each value was
//! written with), sequence numbers and order ids `NUMERIC(20, 0)` (they are unsigned 64-bit),
//! times both as `BIGINT` nanoseconds since 1970 UTC (`ts_ns`, exact) and as `TIMESTAMPTZ`
//! (`ts`, cut to PostgreSQL's microseconds, for time functions and TimescaleDB), book levels as
//! `NUMERIC[]` price and size arrays, best first.

use strata_model::{Event, EventKind, Payload, Timestamp};

/// A table column: its name and SQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The column's name.
    pub name: &'static str,
    /// Its PostgreSQL type.
    pub sql_type: &'static str,
}

const fn col(name: &'static str, sql_type: &'static str) -> Column {
    Column { name, sql_type }
}

const NUM: &str = "NUMERIC";
const U64: &str = "NUMERIC(20, 0)";
const TEXT: &str = "TEXT";
const TIME: &str = "TIMESTAMPTZ";
const NS: &str = "BIGINT";

/// The table of a kind: its name (the kind's, `trade`, `bbo_quote`, …).
pub fn table(kind: EventKind) -> String {
    kind.to_string()
}

/// The columns of a kind's table, in order.
pub fn columns(kind: EventKind) -> Vec<Column> {
    let mut c = vec![
        col("ts_ns", "BIGINT NOT NULL"),
        col("ts", "TIMESTAMPTZ NOT NULL"),
        col("recv_ts_ns", "BIGINT NOT NULL"),
        col("recv_ts", "TIMESTAMPTZ NOT NULL"),
        col("source", "TEXT NOT NULL"),
        col("symbol", "TEXT NOT NULL"),
        col("venue", TEXT),
        col("seq", U64),
    ];
    c.extend(match kind {
        EventKind::Trade => vec![
            col("price", "NUMERIC NOT NULL"),
            col("size", "NUMERIC NOT NULL"),
            col("side", TEXT),
            col("trade_id", TEXT),
            col("conditions", TEXT),
        ],
        EventKind::BboQuote => vec![
            col("bid_price", NUM),
            col("bid_size", NUM),
            col("ask_price", NUM),
            col("ask_size", NUM),
        ],
        EventKind::L2Snapshot => vec![
            col("bid_prices", "NUMERIC[] NOT NULL"),
            col("bid_sizes", "NUMERIC[] NOT NULL"),
            col("ask_prices", "NUMERIC[] NOT NULL"),
            col("ask_sizes", "NUMERIC[] NOT NULL"),
        ],
        EventKind::OrderBookDelta => vec![
            col("action", "TEXT NOT NULL"),
            col("side", TEXT),
            col("price", NUM),
            col("size", NUM),
            col("order_id", U64),
            col("flags", "SMALLINT"),
        ],
        EventKind::Bar => vec![
            col("interval_s", "BIGINT NOT NULL"),
            col("open", "NUMERIC NOT NULL"),
            col("high", "NUMERIC NOT NULL"),
            col("low", "NUMERIC NOT NULL"),
            col("close", "NUMERIC NOT NULL"),
            col("volume", "NUMERIC NOT NULL"),
            col("trades", U64),
            col("vwap", NUM),
        ],
        EventKind::Heartbeat => vec![],
        EventKind::OpenInterest => vec![col("open_interest", "NUMERIC NOT NULL")],
        EventKind::DerivativeTicker => vec![
            col("last_price", NUM),
            col("mark_price", NUM),
            col("index_price", NUM),
            col("open_interest", NUM),
            col("funding_rate", NUM),
            col("predicted_funding_rate", NUM),
            col("funding_ts_ns", NS),
            col("funding_ts", TIME),
        ],
    });
    c
}

/// `CREATE TABLE` for a kind's table (a table of that name already there fails the script, and
/// its transaction stores nothing: loading an export twice does not double it), with an index on
/// `(symbol, ts)`; with `timescaledb`, the extension and `create_hypertable` on `ts`
/// (TimescaleDB 2).
pub fn ddl(kind: EventKind, timescaledb: bool) -> String {
    let name = table(kind);
    let cols: Vec<String> = columns(kind)
        .iter()
        .map(|c| format!("    {} {}", c.name, c.sql_type))
        .collect();
    let mut sql = String::new();
    if timescaledb {
        sql.push_str("CREATE EXTENSION IF NOT EXISTS timescaledb;\n");
    }
    sql.push_str(&format!(
        "CREATE TABLE {name} (\n{}\n);\n",
        cols.join(",\n")
    ));
    if timescaledb {
        sql.push_str(&format!("SELECT create_hypertable('{name}', 'ts');\n"));
    }
    sql.push_str(&format!(
        "CREATE INDEX {name}_symbol_ts ON {name} (symbol, ts);\n"
    ));
    sql
}

/// A time cut to microseconds (PostgreSQL's precision), in RFC 3339.
fn micros(t: Timestamp) -> String {
    let ns = t.as_nanos();
    Timestamp::from_nanos(ns.checked_sub(ns.rem_euclid(1000)).unwrap_or(ns)).to_string()
}

/// A `NUMERIC[]` literal (`{1.5,2}`) of some decimals.
fn array<T: ToString>(values: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = values.map(|v| v.to_string()).collect();
    format!("{{{}}}", items.join(","))
}

/// A value of an event's row: text as PostgreSQL takes it, and whether it is quoted in SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// NULL.
    Null,
    /// A number, as written (no quotes in SQL).
    Number(String),
    /// Anything else (quoted in SQL).
    Text(String),
}

/// An event's values in [`columns`]' order; an error naming the column when a text holds a NUL
/// character, which PostgreSQL's `TEXT` cannot store.
pub fn checked_values(e: &Event) -> Result<Vec<Value>, String> {
    let values = values(e);
    for (c, v) in columns(e.kind()).iter().zip(&values) {
        if let Value::Text(s) = v {
            if s.contains('\0') {
                return Err(format!(
                    "column `{}` holds a NUL character, which PostgreSQL text cannot store",
                    c.name
                ));
            }
        }
    }
    Ok(values)
}

/// An event's values in [`columns`]' order.
pub fn values(e: &Event) -> Vec<Value> {
    use Value::{Number, Text};
    fn num<T: ToString>(v: Option<T>) -> Value {
        v.map_or(Value::Null, |v| Value::Number(v.to_string()))
    }
    fn text<T: ToString>(v: Option<T>) -> Value {
        v.map_or(Value::Null, |v| Value::Text(v.to_string()))
    }
    let mut v = vec![
        Number(e.event_time.as_nanos().to_string()),
        Text(micros(e.event_time)),
        Number(e.receive_time.as_nanos().to_string()),
        Text(micros(e.receive_time)),
        Text(e.source.clone()),
        Text(e.symbol.clone()),
        text(e.venue.as_deref()),
        num(e.sequence),
    ];
    match &e.payload {
        Payload::Trade(t) => v.extend([
            Number(t.price.to_string()),
            Number(t.size.to_string()),
            text(t.side.map(|s| s.as_str())),
            text(t.trade_id.as_deref()),
            text(t.conditions.as_deref()),
        ]),
        Payload::BboQuote(q) => v.extend([
            num(q.bid.map(|l| l.price)),
            num(q.bid.map(|l| l.size)),
            num(q.ask.map(|l| l.price)),
            num(q.ask.map(|l| l.size)),
        ]),
        Payload::L2Snapshot(s) => v.extend([
            Text(array(s.bids.iter().map(|l| l.price))),
            Text(array(s.bids.iter().map(|l| l.size))),
            Text(array(s.asks.iter().map(|l| l.price))),
            Text(array(s.asks.iter().map(|l| l.size))),
        ]),
        Payload::OrderBookDelta(d) => v.extend([
            Text(d.action.as_str().to_string()),
            text(d.side.map(|s| s.as_str())),
            num(d.price),
            num(d.size),
            num(d.order_id),
            num(d.flags),
        ]),
        Payload::Bar(b) => v.extend([
            Number(b.interval_s.to_string()),
            Number(b.open.to_string()),
            Number(b.high.to_string()),
            Number(b.low.to_string()),
            Number(b.close.to_string()),
            Number(b.volume.to_string()),
            num(b.trades),
            num(b.vwap),
        ]),
        Payload::Heartbeat => {}
        Payload::OpenInterest(o) => v.push(Number(o.value.to_string())),
        Payload::DerivativeTicker(t) => v.extend([
            num(t.last_price),
            num(t.mark_price),
            num(t.index_price),
            num(t.open_interest),
            num(t.funding_rate),
            num(t.predicted_funding_rate),
            num(t.funding_time.map(Timestamp::as_nanos)),
            text(t.funding_time.map(micros)),
        ]),
    }
    v
}

/// The `COPY … FROM stdin` line that starts a kind's rows (text format); the rows follow, then
/// [`COPY_END`].
pub fn copy_start(kind: EventKind) -> String {
    let names: Vec<&str> = columns(kind).iter().map(|c| c.name).collect();
    format!("COPY {} ({}) FROM stdin;\n", table(kind), names.join(", "))
}

/// The line that ends a `COPY … FROM stdin` block.
pub const COPY_END: &str = "\\.\n";

/// One row in `COPY` text format: tab-separated, `\N` for NULL, backslash, tab, line feed and
/// carriage return escaped.
pub fn copy_row(values: &[Value], out: &mut String) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match v {
            Value::Null => out.push_str("\\N"),
            Value::Number(s) | Value::Text(s) => {
                for ch in s.chars() {
                    match ch {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
        }
    }
    out.push('\n');
}

/// The first line of an `INSERT` statement for a kind's rows; [`insert_row`]s follow, one per
/// line, separated by `,` and the last ended by `;`.
pub fn insert_start(kind: EventKind) -> String {
    let names: Vec<&str> = columns(kind).iter().map(|c| c.name).collect();
    format!(
        "INSERT INTO {} ({}) VALUES\n",
        table(kind),
        names.join(", ")
    )
}

/// One row of an `INSERT … VALUES` list, `(…)`, on one line: text is single-quoted (quotes
/// doubled), or, when it holds a backslash or a line break, an escape string `E'…'`.
pub fn insert_row(values: &[Value], out: &mut String) {
    out.push('(');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match v {
            Value::Null => out.push_str("NULL"),
            Value::Number(s) => out.push_str(s),
            Value::Text(s) if s.contains(['\\', '\n', '\r']) => {
                out.push_str("E'");
                for ch in s.chars() {
                    match ch {
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\'' => out.push_str("''"),
                        c => out.push(c),
                    }
                }
                out.push('\'');
            }
            Value::Text(s) => {
                out.push('\'');
                out.push_str(&s.replace('\'', "''"));
                out.push('\'');
            }
        }
    }
    out.push(')');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// What PostgreSQL's COPY text format reads back from a field.
    fn unescape(field: &str) -> Option<String> {
        if field == "\\N" {
            return None;
        }
        let mut out = String::new();
        let mut chars = field.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('t') => out.push('\t'),
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some(other) => out.push(other),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        Some(out)
    }

    proptest! {
        /// Every event's row has one value per column, and its COPY line splits back into
        /// exactly those values, whatever its strings hold.
        #[test]
        fn copy_rows_split_back_into_their_values(event in strata_model::strategy::event()) {
            let values = values(&event);
            prop_assert_eq!(values.len(), columns(event.kind()).len());
            let mut line = String::new();
            copy_row(&values, &mut line);
            let line = line.strip_suffix('\n').unwrap();
            prop_assert!(!line.contains('\n'));
            let back: Vec<Option<String>> = line.split('\t').map(unescape).collect();
            let want: Vec<Option<String>> = values
                .iter()
                .map(|v| match v {
                    Value::Null => None,
                    Value::Number(s) | Value::Text(s) => Some(s.clone()),
                })
                .collect();
            prop_assert_eq!(back, want);
        }
    }

    #[test]
    fn times_are_exact_in_ns_and_cut_to_micros() {
        let t = Timestamp::from_nanos(1_381_152_660_123_456_789);
        assert_eq!(micros(t), "2013-10-07T13:31:00.123456Z");
        assert_eq!(
            micros(Timestamp::from_nanos(-1)),
            "1969-12-31T23:59:59.999999Z"
        );
    }
}
