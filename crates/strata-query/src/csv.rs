//! Events as CSV rows: one kind per file (its columns), times in RFC 3339 with nanoseconds,
//! decimals exactly as stored (never floats), absent values empty.

use strata_model::{Event, EventKind, Payload};

/// One row: the cells, escaped and joined, with its line break.
pub fn row(cells: &[String]) -> String {
    let escaped: Vec<String> = cells.iter().map(|c| cell(c)).collect();
    let mut line = escaped.join(",");
    line.push('\n');
    line
}

/// A CSV cell: quoted (quotes doubled) when it holds a comma, a quote or a line break.
pub fn cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

/// The columns of a kind: the event's own, then its payload's.
pub fn header(kind: EventKind) -> Vec<&'static str> {
    let mut h = vec!["ts", "recv_ts", "source", "symbol", "venue", "seq"];
    h.extend_from_slice(match kind {
        EventKind::Trade => &["price", "size", "side", "trade_id", "conditions"][..],
        EventKind::BboQuote => &["bid_price", "bid_size", "ask_price", "ask_size"],
        EventKind::L2Snapshot => &["bids", "asks"],
        EventKind::OrderBookDelta => &["action", "side", "price", "size", "order_id", "flags"],
        EventKind::Bar => &[
            "interval_s",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "trades",
            "vwap",
        ],
        EventKind::Heartbeat => &[],
        EventKind::OpenInterest => &["open_interest"],
        EventKind::DerivativeTicker => &[
            "last_price",
            "mark_price",
            "index_price",
            "open_interest",
            "funding_rate",
            "predicted_funding_rate",
            "funding_ts",
        ],
    });
    h
}

/// An event's cells in [`header`]'s order: times in RFC 3339 with nanoseconds, decimals
/// exactly as stored, absent values empty.
pub fn cells(e: &Event) -> Vec<String> {
    fn opt<T: ToString>(v: Option<T>) -> String {
        v.map(|v| v.to_string()).unwrap_or_default()
    }
    let levels = |levels: &[strata_model::Level]| {
        levels
            .iter()
            .map(|l| format!("{}@{}", l.price, l.size))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut c = vec![
        e.event_time.to_string(),
        e.receive_time.to_string(),
        e.source.clone(),
        e.symbol.clone(),
        opt(e.venue.as_deref()),
        opt(e.sequence),
    ];
    match &e.payload {
        Payload::Trade(t) => c.extend([
            t.price.to_string(),
            t.size.to_string(),
            opt(t.side.map(|s| s.as_str())),
            opt(t.trade_id.as_deref()),
            opt(t.conditions.as_deref()),
        ]),
        Payload::BboQuote(q) => c.extend([
            opt(q.bid.map(|l| l.price)),
            opt(q.bid.map(|l| l.size)),
            opt(q.ask.map(|l| l.price)),
            opt(q.ask.map(|l| l.size)),
        ]),
        Payload::L2Snapshot(s) => c.extend([levels(&s.bids), levels(&s.asks)]),
        Payload::OrderBookDelta(d) => c.extend([
            d.action.as_str().to_string(),
            opt(d.side.map(|s| s.as_str())),
            opt(d.price),
            opt(d.size),
            opt(d.order_id),
            opt(d.flags),
        ]),
        Payload::Bar(b) => c.extend([
            b.interval_s.to_string(),
            b.open.to_string(),
            b.high.to_string(),
            b.low.to_string(),
            b.close.to_string(),
            b.volume.to_string(),
            opt(b.trades),
            opt(b.vwap),
        ]),
        Payload::Heartbeat => {}
        Payload::OpenInterest(o) => c.push(o.value.to_string()),
        Payload::DerivativeTicker(t) => c.extend([
            opt(t.last_price),
            opt(t.mark_price),
            opt(t.index_price),
            opt(t.open_interest),
            opt(t.funding_rate),
            opt(t.predicted_funding_rate),
            opt(t.funding_time),
        ]),
    }
    c
}
