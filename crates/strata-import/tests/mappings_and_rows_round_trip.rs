//! Property tests: any CSV mapping survives its compact text form; any Lean trade or forex
//! quote row becomes an event whose fields are exactly the row's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use proptest::prelude::*;
use strata_import::csv::{CsvMapping, TimeFormat};
use strata_import::lean::{
    parse_quote_row, parse_trade_row, LeanContext, LeanFile, LeanResolution, LeanSecurityType,
    LeanTickType, QuoteCarry,
};
use strata_model::{EventKind, Payload};

fn column() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_.:-]{0,8}"
}

fn time_format() -> impl Strategy<Value = TimeFormat> {
    prop::sample::select(TimeFormat::ALL)
}

/// Any valid mapping: a kind, its required columns, some of its optional ones, and some of the
/// metadata columns.
fn mapping() -> impl Strategy<Value = CsvMapping> {
    let kind = prop::sample::select(vec![EventKind::Trade, EventKind::BboQuote, EventKind::Bar]);
    let optional = prop::collection::vec(prop::option::of(column()), 12);
    (
        kind,
        column(),
        time_format(),
        prop::option::of((column(), time_format())),
        optional,
        1u32..100_000,
        0u8..3,
    )
        .prop_map(|(kind, time, unit, recv, cols, interval, sides)| {
            let mut m = CsvMapping::new(kind, time, unit);
            m.receive_time = recv;
            m.symbol = cols[0].clone();
            m.venue = cols[1].clone();
            m.sequence = cols[2].clone();
            let req = |i: usize| cols[i].clone().unwrap_or_else(|| format!("c{i}"));
            match kind {
                EventKind::Trade => {
                    m.price = Some(req(3));
                    m.size = Some(req(4));
                    m.side = cols[5].clone();
                    m.trade_id = cols[6].clone();
                    m.conditions = cols[7].clone();
                }
                EventKind::BboQuote => {
                    if sides != 1 {
                        m.bid_price = Some(req(3));
                        m.bid_size = Some(req(4));
                    }
                    if sides != 0 {
                        m.ask_price = Some(req(5));
                        m.ask_size = Some(req(6));
                    }
                }
                _ => {
                    m.interval_s = Some(interval);
                    m.open = Some(req(3));
                    m.high = Some(req(4));
                    m.low = Some(req(5));
                    m.close = Some(req(6));
                    m.volume = Some(req(7));
                    m.trades = cols[8].clone();
                    m.vwap = cols[9].clone();
                }
            }
            m
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn csv_mapping_text_round_trips(m in mapping()) {
        let text = m.to_string();
        let back: CsvMapping = text.parse().unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.to_string(), text);
    }

    #[test]
    fn lean_trade_row_fields_survive(
        ms in 0i64..86_400_000,
        price in 0i64..100_000_000_000,
        size in 0i64..10_000_000,
        exchange in "[A-Z]?",
        condition in "[0-9]{0,8}",
        suspicious in any::<bool>(),
        row in 1u64..2_000_000,
        winter in any::<bool>(),
    ) {
        let date = if winter { NaiveDate::from_ymd_opt(2013, 12, 2) } else { NaiveDate::from_ymd_opt(2013, 10, 7) }.unwrap();
        let ctx = LeanContext::us_equity("SPY", date, LeanResolution::Tick, LeanTickType::Trade);
        let line = format!("{ms},{price},{size},{exchange},{condition},{}", u8::from(suspicious));
        let event = parse_trade_row(&line, row, &ctx).unwrap();
        let midnight_utc: i64 = if winter { 1_385_960_400_000_000_000 } else { 1_381_118_400_000_000_000 };
        prop_assert_eq!(event.event_time.as_nanos(), midnight_utc + ms * 1_000_000);
        let trade = event.payload.trade().unwrap();
        prop_assert_eq!((trade.price.mantissa(), trade.price.scale()), (i128::from(price), 4));
        prop_assert_eq!(trade.size.to_string(), size.to_string());
        prop_assert_eq!(event.venue.as_deref(), (!exchange.is_empty()).then_some(exchange.as_str()));
        let expected = match (condition.is_empty(), suspicious) {
            (true, false) => None,
            (true, true) => Some("suspicious".to_string()),
            (false, false) => Some(condition.clone()),
            (false, true) => Some(format!("{condition};suspicious")),
        };
        prop_assert_eq!(trade.conditions.clone(), expected);
        prop_assert_eq!(event.sequence, Some(row));
        // The price text is the integer with four decimals, digit for digit.
        let text = format!("{}.{:04}", price / 10_000, price % 10_000);
        prop_assert_eq!(trade.price.to_string(), text);
    }

    #[test]
    fn lean_contract_entry_names_round_trip(
        root in "[a-z]{1,5}", days in 0u64..30_000, strike in 1i64..100_000_000,
        call: bool, american: bool, res in 0usize..5, tt in 0usize..3,
    ) {
        let resolution = ["tick", "second", "minute", "hour", "daily"][res];
        let tick_type = ["trade", "quote", "openinterest"][tt];
        let expiry = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + chrono::Days::new(days);
        let right = if call { "call" } else { "put" };
        let style = if american { "american" } else { "european" };
        let e = expiry.format("%Y%m%d");
        let intraday = res < 3;
        let name = if intraday {
            format!("20200102_{root}_{resolution}_{tick_type}_{style}_{right}_{strike}_{e}.csv")
        } else {
            format!("{root}_{tick_type}_{style}_{right}_{strike}_{e}.csv")
        };
        let file = LeanFile {
            security_type: LeanSecurityType::Option,
            market: "usa".into(),
            resolution: resolution.parse().unwrap(),
            symbol: root.to_ascii_uppercase(),
            date: NaiveDate::from_ymd_opt(2020, 1, 2).filter(|_| intraday),
            tick_type: tick_type.parse().unwrap(),
            underlying_expiry: None,
        };
        let contract = file.contract_of_entry(&name).unwrap().unwrap();
        prop_assert_eq!(contract.expiry, expiry);
        prop_assert_eq!(contract.strike.unwrap().rescaled(4).unwrap(), i128::from(strike));
        prop_assert_eq!(&contract.underlying, &root.to_ascii_uppercase());
        let back = strata_model::Contract::parse_symbol(&contract.symbol()).unwrap();
        prop_assert_eq!((back.expiry, back.right, back.strike), (contract.expiry, contract.right, contract.strike));
        // Futures: `{date}_{root}_{res}_{type}_{yyyymm}_{expiry}`.
        let fut = LeanFile { security_type: LeanSecurityType::Future, ..file };
        let name = if intraday {
            format!("20200102_{root}_{resolution}_{tick_type}_{}_{e}.csv", expiry.format("%Y%m"))
        } else {
            format!("{root}_{tick_type}_{}_{e}.csv", expiry.format("%Y%m"))
        };
        let contract = fut.contract_of_entry(&name).unwrap().unwrap();
        prop_assert_eq!(contract.symbol(), format!("{}-{e}", root.to_ascii_uppercase()));
    }

    #[test]
    fn lean_forex_quote_text_survives(ms in 0i64..86_400_000, bid in "(0|[1-9][0-9]{0,2})\\.[0-9]{1,6}", ask in "(0|[1-9][0-9]{0,2})\\.[0-9]{1,6}") {
        let file = LeanFile {
            security_type: LeanSecurityType::Forex,
            market: "fxcm".into(),
            resolution: LeanResolution::Tick,
            symbol: "EURUSD".into(),
            date: NaiveDate::from_ymd_opt(2014, 5, 1),
            tick_type: LeanTickType::Quote,
            underlying_expiry: None,
        };
        let ctx = LeanContext::new(file, "lean", None, None).unwrap();
        let event = parse_quote_row(&format!("{ms},{bid},{ask}"), 1, &ctx, &mut QuoteCarry::default()).unwrap();
        let Payload::BboQuote(q) = event.payload else { unreachable!() };
        prop_assert_eq!(q.bid.unwrap().price.to_string(), bid);
        prop_assert_eq!(q.ask.unwrap().price.to_string(), ask);
        // FXCM's file times are at UTC-05: the file's midnight is 2014-05-01T05:00:00Z.
        prop_assert_eq!(event.event_time.as_nanos(), 1_398_920_400_000_000_000 + ms * 1_000_000);
    }
}
