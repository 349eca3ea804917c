//! Examples of every layout, and property tests of the key ↔ path round trip.

use std::path::{Component, Path};

use chrono::NaiveDate;
use chrono_tz::Tz;
use proptest::prelude::*;
use strata_model::{AssetClass, Decimal, Event, EventKind, Payload, Timestamp, Trade};

use super::escape::value_segments;
use super::*;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// A full key, as the writer fills it.
fn aapl(time: &str, layout: &Layout, granularity: Granularity) -> PartitionKey {
    let (period, session) = layout.period_of(ts(time), granularity);
    PartitionKey {
        source: Some("nasdaq".into()),
        asset_class: Some(AssetClass::Equity),
        symbol: Some("AAPL".into()),
        kind: Some(EventKind::Trade),
        exchange: Some("XNAS".into()),
        period,
        session,
        extra: Default::default(),
    }
}

/// Renders, checks the literal path, and checks it parses back to the projection.
#[track_caller]
fn assert_renders(layout: &Layout, key: &PartitionKey, expected: &str) {
    let stem = layout.render(key).unwrap();
    assert_eq!(stem, expected, "layout {layout}");
    assert_eq!(
        layout.parse(&stem).unwrap(),
        layout.project(key),
        "layout {layout}"
    );
}

fn partitioned(dimensions: &[Dimension], style: PathStyle, granularity: Granularity) -> Layout {
    Layout::partitioned(
        Partitioning::new(dimensions.to_vec(), style).unwrap(),
        granularity,
    )
    .unwrap()
}

#[test]
fn every_naming_convention_writes_its_documented_path() {
    use NamingConvention::*;
    for (naming, expected) in [
        (Flat, "AAPL_trade_2024-01-15"),
        (BySymbol, "AAPL/trade/2024-01-15"),
        (ByDate, "2024-01-15/AAPL/trade"),
        (ByType, "trade/AAPL/2024-01-15"),
        (BySource, "nasdaq/AAPL/trade/2024-01-15"),
        (ByAssetClass, "equity/AAPL/trade/2024-01-15"),
        (Hierarchical, "nasdaq/equity/AAPL/trade/2024-01-15"),
        (Canonical, "2024/01/15/nasdaq/AAPL/trade"),
    ] {
        let layout = Layout::new(naming, Granularity::Daily);
        let key = aapl("2024-01-15T14:30:00Z", &layout, Granularity::Daily);
        assert_renders(&layout, &key, expected);
    }
}

#[test]
fn granularity_changes_only_the_date_part() {
    use NamingConvention::*;
    for (naming, granularity, expected) in [
        (BySymbol, Granularity::Hourly, "AAPL/trade/2024-01-15T14"),
        (BySymbol, Granularity::Monthly, "AAPL/trade/2024-01"),
        (BySymbol, Granularity::None, "AAPL/trade"),
        (ByDate, Granularity::None, "AAPL/trade"),
        (Flat, Granularity::Hourly, "AAPL_trade_2024-01-15T14"),
        (Flat, Granularity::None, "AAPL_trade"),
        (
            Canonical,
            Granularity::Hourly,
            "2024/01/15/14/nasdaq/AAPL/trade",
        ),
        (Canonical, Granularity::Monthly, "2024/01/nasdaq/AAPL/trade"),
        (Canonical, Granularity::None, "nasdaq/AAPL/trade"),
    ] {
        let layout = Layout::new(naming, granularity);
        let key = aapl("2024-01-15T14:30:00Z", &layout, granularity);
        assert_renders(&layout, &key, expected);
    }
}

#[test]
fn flat_names_keep_event_types_with_underscores() {
    let layout = Layout::new(NamingConvention::Flat, Granularity::Daily);
    let key = PartitionKey {
        symbol: Some("ES_H4".into()),
        kind: Some(EventKind::OrderBookDelta),
        ..aapl("2024-01-15T14:30:00Z", &layout, Granularity::Daily)
    };
    assert_renders(&layout, &key, "ES%5FH4_order_book_delta_2024-01-15");
}

#[test]
fn partitionings_write_plain_and_hive_directories() {
    use Dimension::*;
    let dims = [Source, Symbol, EventType, Date];
    let hive = partitioned(&dims, PathStyle::Hive, Granularity::Daily);
    let key = aapl("2024-01-15T14:30:00Z", &hive, Granularity::Daily);
    assert_renders(
        &hive,
        &key,
        "source=nasdaq/symbol=AAPL/event_type=trade/2024-01-15",
    );
    assert_eq!(
        hive.template(),
        "source={source}/symbol={symbol}/event_type={type}/{date}"
    );

    let plain = partitioned(&dims, PathStyle::Plain, Granularity::Daily);
    assert_renders(&plain, &key, "nasdaq/AAPL/trade/2024-01-15");

    let by_venue = partitioned(
        &[Date, AssetClass, Exchange],
        PathStyle::Hive,
        Granularity::Monthly,
    );
    let key = aapl("2024-01-15T14:30:00Z", &by_venue, Granularity::Monthly);
    assert_renders(&by_venue, &key, "date=2024-01/asset_class=equity/XNAS");

    let undated = partitioned(&[Symbol, EventType], PathStyle::Hive, Granularity::None);
    assert_renders(&undated, &key, "symbol=AAPL/trade");
}

#[test]
fn hostile_symbols_stay_inside_one_level() {
    let layout = Layout::default();
    let base = aapl("2024-01-15T14:30:00Z", &layout, Granularity::Daily);
    for (symbol, expected) in [
        ("../x", "%2E.%2Fx/trade/2024-01-15"),
        ("A/B", "A%2FB/trade/2024-01-15"),
        ("BRK.B", "BRK.B/trade/2024-01-15"),
        ("ES H4", "ES%20H4/trade/2024-01-15"),
        ("CON", "%43ON/trade/2024-01-15"),
        ("", "%/trade/2024-01-15"),
        ("..", "%2E%2E/trade/2024-01-15"),
        ("日経225", "%E6%97%A5%E7%B5%8C225/trade/2024-01-15"),
    ] {
        let key = PartitionKey {
            symbol: Some(symbol.into()),
            ..base.clone()
        };
        assert_renders(&layout, &key, expected);
    }
}

#[test]
fn a_thousand_character_symbol_splits_into_short_levels() {
    let layout = Layout::new(NamingConvention::Flat, Granularity::Hourly);
    let symbol = "X".repeat(1_000);
    let key = PartitionKey {
        symbol: Some(symbol.clone()),
        ..aapl("2024-01-15T14:30:00Z", &layout, Granularity::Hourly)
    };
    let stem = layout.render(&key).unwrap();
    let levels: Vec<&str> = stem.split('/').collect();
    // 1,000 bytes in pieces of at most MAX_SEGMENT_BYTES - 4 (156): six full pieces and the rest.
    assert_eq!(levels.len(), 7, "{stem}");
    assert!(levels[..6]
        .iter()
        .all(|level| level.ends_with('~') && level.len() <= MAX_SEGMENT_BYTES));
    assert!(levels[6].ends_with("_trade_2024-01-15T14"));
    assert_eq!(layout.parse(&stem).unwrap().symbol, Some(symbol));
}

#[test]
fn session_split_uses_the_exchange_date_and_clock() {
    let layout = Layout::default()
        .with_session_split(SessionSplit::default())
        .unwrap();
    assert_eq!(layout.template(), "{symbol}/{type}/{date}.{session}");
    for (time, expected) in [
        ("2024-03-11T13:30:00Z", "AAPL/trade/2024-03-11.regular"),
        ("2024-03-11T13:29:59Z", "AAPL/trade/2024-03-11.pre"),
        ("2024-03-08T14:30:00Z", "AAPL/trade/2024-03-08.regular"),
        ("2024-03-08T14:29:59Z", "AAPL/trade/2024-03-08.pre"),
        ("2024-01-16T00:30:00Z", "AAPL/trade/2024-01-15.after"),
        ("2024-01-16T02:00:00Z", "AAPL/trade/2024-01-15.closed"),
    ] {
        assert_renders(&layout, &aapl(time, &layout, Granularity::Daily), expected);
    }

    let canonical = Layout::new(NamingConvention::Canonical, Granularity::Daily)
        .with_session_split(SessionSplit::default())
        .unwrap();
    let key = aapl("2024-03-11T15:00:00Z", &canonical, Granularity::Daily);
    assert_renders(&canonical, &key, "2024/03/11.regular/nasdaq/AAPL/trade");
    assert_eq!(
        canonical.time_range(&key),
        Some(ts("2024-03-11T13:30:00Z")..ts("2024-03-11T20:00:00Z"))
    );
}

#[test]
fn session_split_needs_a_session_to_render_and_to_parse() {
    let layout = Layout::default()
        .with_session_split(SessionSplit::default())
        .unwrap();
    let key = PartitionKey {
        session: None,
        ..aapl("2024-03-11T15:00:00Z", &layout, Granularity::Daily)
    };
    let err = layout.render(&key).unwrap_err().to_string();
    assert!(err.ends_with("the partition key has no session"), "{err}");
    let err = layout
        .parse("AAPL/trade/2024-03-11")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("segment `2024-03-11`: this layout splits days"),
        "{err}"
    );
    let err = layout
        .parse("AAPL/trade/2024-03-11.lunch")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown trading session `lunch`"), "{err}");
    let err = Layout::default()
        .parse("AAPL/trade/2024-03-11.regular")
        .unwrap_err()
        .to_string();
    assert!(err.contains("carry a session suffix"), "{err}");
}

#[test]
fn readers_parse_any_granularity_whatever_the_layout_says() {
    let adaptive = Layout::default()
        .with_adaptive(AdaptiveGranularity::default())
        .unwrap();
    for layout in [Layout::default(), adaptive] {
        let hour = layout.parse("AAPL/trade/2024-01-15T13.jsonl").unwrap();
        assert_eq!(hour.period, Some(Period::Hour(day("2024-01-15"), 13)));
        let month = layout.parse("AAPL/trade/2024-01.jsonl.gz").unwrap();
        assert_eq!(month.period, Some(Period::Month(2024, 1)));
    }
    let canonical = Layout::new(NamingConvention::Canonical, Granularity::Daily);
    let month = canonical
        .parse("2024/01/nasdaq/AAPL/trade.parquet")
        .unwrap();
    assert_eq!(month.period, Some(Period::Month(2024, 1)));
    let hour = canonical.parse("2024/01/15/13/nasdaq/AAPL/trade").unwrap();
    assert_eq!(hour.period, Some(Period::Hour(day("2024-01-15"), 13)));
    // A numeric source is told apart from a date level by counting from the end.
    let numeric = canonical.parse("2024/01/15/nasdaq/AAPL/trade").unwrap();
    assert_eq!(numeric.period, Some(Period::Day(day("2024-01-15"))));
    let numeric = canonical.parse("2024/01/15/AAPL/trade").unwrap();
    assert_eq!(numeric.source.as_deref(), Some("15"));
    assert_eq!(numeric.period, Some(Period::Month(2024, 1)));
}

#[test]
fn adaptive_layouts_explain_their_choice() {
    let layout = Layout::default()
        .with_adaptive(AdaptiveGranularity::default())
        .unwrap();
    assert_eq!(
        layout.granularity_for(Some(9_000_000)).granularity,
        Granularity::Hourly
    );
    let unknown = layout.granularity_for(None);
    assert_eq!(unknown.granularity, Granularity::Daily);
    assert!(
        unknown.reason.starts_with("no event rate observed yet"),
        "{}",
        unknown.reason
    );
    let fixed = Layout::default().granularity_for(Some(9_000_000));
    assert_eq!(fixed.granularity, Granularity::Daily);
    assert_eq!(
        fixed.reason,
        "fixed granularity daily (adaptive granularity is off)"
    );
}

#[test]
fn parse_errors_name_the_path_and_the_segment() {
    let layout = Layout::default();
    for (path, needle) in [
        (
            "AAPL/trade/2024-13-01",
            "segment `2024-13-01`: no such calendar date",
        ),
        (
            "AAPL/trades/2024-01-15",
            "segment `trades`: unknown event kind `trades`",
        ),
        ("A%2/trade/2024-01-15", "segment `A%2`: `%` at byte 1"),
        (
            "A B/trade/2024-01-15",
            "segment `A B`: ` ` at byte 1 must be percent-encoded",
        ),
        (
            "%41/trade/2024-01-15",
            "segment `%41`: not in canonical form",
        ),
        ("/AAPL/trade/2024-01-15", "segment ``: empty, `.` and `..`"),
        (
            "AAPL/../trade/2024-01-15",
            "segment `..`: empty, `.` and `..`",
        ),
        (
            "AAPL~/trade/trade/2024-01-15",
            "segment `AAPL~/trade`: not in canonical form",
        ),
        (
            "AAPL/trade/2024-01-15~",
            "segment `2024-01-15~`: ends in `~`",
        ),
        ("", "segment ``: the path is empty"),
    ] {
        let err = layout.parse(path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "`{path}` is not a path of layout `by_symbol, daily`"
            )),
            "{err}"
        );
        assert!(err.contains(needle), "{path}: {err}");
    }
    let err = layout.parse("AAPL/trade").unwrap_err();
    assert_eq!(
        err.to_string(),
        "`AAPL/trade` has 2 levels, but layout `by_symbol, daily` writes `{symbol}/{type}/{date}`"
    );
    let hive = partitioned(
        &[Dimension::Symbol, Dimension::Date],
        PathStyle::Hive,
        Granularity::Daily,
    );
    let err = hive
        .parse("ticker=AAPL/2024-01-15")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("segment `ticker=AAPL`: expected `symbol=…`"),
        "{err}"
    );
    let flat = Layout::new(NamingConvention::Flat, Granularity::Daily);
    let err = flat.parse("AAPL-trade-2024-01-15").unwrap_err().to_string();
    assert!(err.contains("expected `{symbol}_{type}_{date}`"), "{err}");
}

#[test]
fn render_errors_name_the_missing_field() {
    let layout = Layout::new(NamingConvention::BySource, Granularity::Daily);
    let key = PartitionKey {
        source: None,
        ..aapl("2024-01-15T00:00:00Z", &layout, Granularity::Daily)
    };
    let err = layout.render(&key).unwrap_err();
    assert_eq!(
        err,
        LayoutError::MissingField {
            layout: "by_source, daily".into(),
            field: "source"
        }
    );
    let key = PartitionKey {
        period: Some(Period::Hour(day("2024-01-15"), 24)),
        ..key
    };
    let err = Layout::default().render(&key).unwrap_err().to_string();
    assert!(err.contains("hour 00-23"), "{err}");
}

#[test]
fn layout_settings_are_checked_with_the_key_named() {
    let resolve = |text: &str| toml::from_str::<LayoutConfig>(text).unwrap().resolve();
    assert_eq!(resolve("").unwrap(), Layout::default());
    assert_eq!(
        resolve("naming = \"canonical\"\ngranularity = \"hourly\"").unwrap(),
        Layout::new(NamingConvention::Canonical, Granularity::Hourly)
    );
    let hive = resolve(
        "partitioning = { dimensions = [\"symbol\", \"date\"], style = \"hive\" }\n\
         [session_split]\ntimezone = \"Europe/London\"\n[adaptive]\n",
    )
    .unwrap();
    assert_eq!(
        hive.to_string(),
        "hive[symbol,date], daily, sessions in Europe/London, adaptive"
    );

    for (text, needle) in [
        (
            "naming = \"flat\"\npartitioning = { dimensions = [\"symbol\"] }",
            "`naming` or `partitioning`, not both",
        ),
        (
            "partitioning = { dimensions = [] }",
            "at least one dimension",
        ),
        (
            "partitioning = { dimensions = [\"date\", \"date\"] }",
            "dimension `date` appears more than once",
        ),
        (
            "granularity = \"none\"\npartitioning = { dimensions = [\"date\"] }",
            "`partitioning.dimensions`: lists `date`",
        ),
        (
            "granularity = \"hourly\"\n[session_split]",
            "`session_split`: sessions split days",
        ),
        (
            "granularity = \"none\"\n[adaptive]",
            "`adaptive`: the layout has no date",
        ),
        (
            "partitioning = { dimensions = [\"symbol\"] }\n[session_split]",
            "no date in its paths",
        ),
        (
            "[session_split]\nregular_open = \"21:00\"",
            "regular_open (21:00:00) is after regular_close",
        ),
    ] {
        let err = resolve(text).unwrap_err().to_string();
        assert!(err.contains(needle), "{text}: {err}");
    }
    let err = toml::from_str::<LayoutConfig>("naming = \"by_symbol\"\nsplit = true").unwrap_err();
    assert!(err.to_string().contains("unknown field `split`"), "{err}");
}

#[test]
fn layout_serializes_through_its_config() {
    // The default config leaves `naming` unset so a layered config may set `partitioning`.
    assert_eq!(
        serde_json::to_value(LayoutConfig::default()).unwrap(),
        serde_json::json!({"granularity": "daily"})
    );
    let layout = Layout::new(NamingConvention::Hierarchical, Granularity::Monthly)
        .with_adaptive(AdaptiveGranularity::default())
        .unwrap();
    let json = serde_json::to_string(&layout).unwrap();
    assert_eq!(serde_json::from_str::<Layout>(&json).unwrap(), layout);
    let err = serde_json::from_str::<Layout>(r#"{"partitioning":{"dimensions":[]}}"#).unwrap_err();
    assert!(err.to_string().contains("at least one dimension"), "{err}");
}

#[test]
fn key_for_event_fills_every_field() {
    let layout = Layout::default()
        .with_session_split(SessionSplit::default())
        .unwrap();
    let mut event = Event::new(
        "nasdaq",
        "AAPL",
        ts("2024-03-11T13:30:00Z"),
        Payload::Trade(Trade {
            price: "170.12".parse::<Decimal>().unwrap(),
            size: "100".parse::<Decimal>().unwrap(),
            side: None,
            trade_id: None,
            conditions: None,
        }),
    );
    event.venue = Some("XNAS".into());
    let key = layout.key_for_event(&event, Some(AssetClass::Equity), Granularity::Daily);
    assert_eq!(
        key,
        aapl("2024-03-11T13:30:00Z", &layout, Granularity::Daily)
    );
    assert_eq!(key.session, Some(TradingSession::Regular));
    assert_eq!(
        layout.render(&key).unwrap(),
        "AAPL/trade/2024-03-11.regular"
    );
}

#[test]
fn partition_keys_serialize_compactly() {
    let layout = Layout::new(NamingConvention::BySymbol, Granularity::Hourly);
    let key = layout.project(&aapl("2024-01-15T14:30:00Z", &layout, Granularity::Hourly));
    let json = serde_json::to_value(&key).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"symbol": "AAPL", "kind": "trade", "period": "2024-01-15T14"})
    );
    assert_eq!(serde_json::from_value::<PartitionKey>(json).unwrap(), key);
}

// ---------------------------------------------------------------------------------------------
// Property tests.

/// Values chosen to break paths: traversal, separators, device names, escapes, markers.
const HOSTILE: &[&str] = &[
    "../x",
    "A/B",
    "BRK.B",
    "ES H4",
    "CON",
    "nul.txt",
    "",
    ".",
    "..",
    "~",
    "%41",
    "日経225",
    "🚀📈",
    "AAPL",
    "a\\b",
    "C:",
    "COM1.x",
    "lpt9",
    "X.jsonl",
    "Y.jsonl.gz",
    "Z.parquet",
    "_",
    "=",
    "symbol=AAPL",
    "a~",
    ".hidden",
    "trailing.",
    " ",
    "\0",
    "x\ny",
    "%",
    "-",
    "2024-01-15",
];

fn collect(chars: Vec<char>) -> String {
    chars.into_iter().collect()
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(HOSTILE).prop_map(str::to_string),
        3 => "[A-Za-z0-9._~%=/\\\\: -]{0,16}",
        2 => prop::collection::vec(any::<char>(), 0..24).prop_map(collect),
        1 => prop::collection::vec(
            prop::sample::select(vec!['A', '.', '~', '%', '日', '😀', '/', '-']),
            150..1000
        )
        .prop_map(collect),
        1 => prop::collection::vec(any::<char>(), 200..1000).prop_map(collect),
        1 => "[A-Z]{195,205}",
    ]
}

fn scheme() -> impl Strategy<Value = Scheme> {
    let style = prop_oneof![Just(PathStyle::Plain), Just(PathStyle::Hive)];
    prop_oneof![
        prop::sample::select(NamingConvention::ALL).prop_map(Scheme::Naming),
        (
            Just(Dimension::ALL.to_vec()).prop_shuffle(),
            1..=Dimension::ALL.len(),
            style
        )
            .prop_map(|(dimensions, n, style)| {
                Scheme::Partitioned(Partitioning {
                    dimensions: dimensions[..n].to_vec(),
                    style,
                })
            }),
    ]
}

/// Any valid layout: every scheme and granularity, with and without session split and
/// adaptive granularity wherever they are allowed.
fn layout() -> impl Strategy<Value = Layout> {
    let zones = vec![
        Tz::America__New_York,
        Tz::Europe__London,
        Tz::Asia__Tokyo,
        Tz::Asia__Kolkata,
        Tz::Australia__Lord_Howe,
    ];
    (
        scheme(),
        prop::sample::select(Granularity::ALL),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(zones),
    )
        .prop_map(|(scheme, granularity, split, adaptive, timezone)| {
            let mut config = LayoutConfig {
                granularity,
                ..LayoutConfig::default()
            };
            match scheme {
                Scheme::Naming(naming) => config.naming = Some(naming.into()),
                Scheme::Partitioned(mut p) => {
                    if granularity == Granularity::None {
                        p.dimensions.retain(|d| *d != Dimension::Date);
                        if p.dimensions.is_empty() {
                            p.dimensions.push(Dimension::Symbol);
                        }
                    }
                    config.partitioning = Some(p);
                }
            }
            let has_date = config.resolve().unwrap().encodes(Dimension::Date);
            if split && has_date && granularity == Granularity::Daily {
                config.session_split = Some(SessionSplit {
                    timezone,
                    ..SessionSplit::default()
                });
            }
            if adaptive && has_date {
                config.adaptive = Some(AdaptiveGranularity::default());
            }
            config.resolve().unwrap()
        })
}

/// A layout, an event time, and the full key a writer would make for it.
fn layout_and_key() -> impl Strategy<Value = (Layout, Timestamp, PartitionKey)> {
    let kinds = prop::sample::select(EventKind::ALL);
    let classes = prop::sample::select(AssetClass::ALL);
    let adaptive_choice = prop::sample::select(vec![
        Granularity::Hourly,
        Granularity::Daily,
        Granularity::Monthly,
    ]);
    (
        layout(),
        value(),
        value(),
        value(),
        kinds,
        classes,
        any::<i64>(),
        adaptive_choice,
    )
        .prop_map(
            |(layout, source, symbol, exchange, kind, asset_class, nanos, adaptive_choice)| {
                let time = Timestamp::from_nanos(nanos);
                let granularity = if layout.adaptive().is_some() {
                    adaptive_choice
                } else {
                    layout.granularity()
                };
                let (period, session) = layout.period_of(time, granularity);
                let key = PartitionKey {
                    source: Some(source),
                    asset_class: Some(asset_class),
                    symbol: Some(symbol),
                    kind: Some(kind),
                    exchange: Some(exchange),
                    period,
                    session,
                    extra: Default::default(),
                };
                (layout, time, key)
            },
        )
}

/// Damage for paths: separators, markers, broken escapes.
const NOISE: &[&str] = &[
    "", "/", "~", "%", "_", ".", "=", "..", "%2", "x", "/a~", "T1", ".jsonl",
];

const WINDOWS_DEVICE_NAMES: &[&str] = &["CON", "PRN", "AUX", "NUL", "COM", "LPT"];

/// A rendered stem is relative, stays under any root, and every level is a short, portable
/// file name — also with the longest extension appended.
fn check_safe(stem: &str) -> Result<(), TestCaseError> {
    let root = Path::new("/archive/hot");
    let full = root.join(stem);
    prop_assert!(full.starts_with(root), "{stem} escapes the root");
    let levels: Vec<&str> = stem.split('/').collect();
    let components: Vec<Component<'_>> = Path::new(stem).components().collect();
    prop_assert_eq!(
        components.len(),
        levels.len(),
        "{} normalises to other levels",
        stem
    );
    for (level, component) in levels.iter().zip(&components) {
        prop_assert!(
            matches!(component, Component::Normal(_)),
            "{stem}: {component:?}"
        );
        prop_assert!(!level.is_empty() && *level != "." && *level != "..");
        prop_assert!(level.len() <= 255, "{stem}: {} bytes", level.len());
        prop_assert!(
            level
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._%~=".contains(&b)),
            "{stem}: `{level}` has a character outside [A-Za-z0-9-._%~=]"
        );
        prop_assert!(
            !level.starts_with('.') && !level.ends_with('.'),
            "{stem}: `{level}`"
        );
        let stem_name = level
            .split('.')
            .next()
            .unwrap_or(level)
            .to_ascii_uppercase();
        let device = WINDOWS_DEVICE_NAMES.iter().any(|name| {
            stem_name == *name
                || (stem_name.len() == 4
                    && stem_name.starts_with(name)
                    && stem_name.ends_with(|c: char| c.is_ascii_digit()))
        });
        prop_assert!(!device, "{stem}: `{level}` is a Windows device name");
    }
    /// The longest name the writer derives from a stem: segment number, extension chain, sidecar,
    /// temporary. Regression: with 200-byte segments, Flat names plus this passed 255 bytes.
    const LONGEST_DERIVED_SUFFIX: &str = "_000001.jsonl.zst.manifest.json.tmp";
    let file_name = levels.last().copied().unwrap_or_default();
    prop_assert!(
        file_name.len() + LONGEST_DERIVED_SUFFIX.len() <= 255,
        "{stem}: file name too long once the writer adds {LONGEST_DERIVED_SUFFIX}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// (a) No key makes a layout write outside its root or make an unusable file name.
    #[test]
    fn rendered_paths_stay_under_the_root((layout, _time, key) in layout_and_key()) {
        let stem = layout.render(&key).unwrap();
        check_safe(&stem)?;
    }

    /// (b) parse inverts render, with or without an extension, and render ignores what the
    /// layout does not encode.
    #[test]
    fn parse_inverts_render((layout, _time, key) in layout_and_key()) {
        let stem = layout.render(&key).unwrap();
        let projected = layout.project(&key);
        prop_assert_eq!(&layout.parse(&stem).unwrap(), &projected, "{} via {}", stem, layout);
        prop_assert_eq!(&layout.render(&projected).unwrap(), &stem);
        for extension in KNOWN_EXTENSIONS {
            prop_assert_eq!(&layout.parse(&format!("{stem}{extension}")).unwrap(), &projected);
        }
    }

    /// The file a key renders to holds the key's event time: the period (UTC, or the local
    /// session for session-split days) contains it.
    #[test]
    fn time_range_contains_the_event((layout, time, key) in layout_and_key()) {
        match layout.time_range(&layout.project(&key)) {
            Some(range) => prop_assert!(
                range.start <= time && (time < range.end || range.end.as_nanos() == i64::MAX),
                "{:?} not in {:?}", time, range
            ),
            None => prop_assert!(!layout.encodes(Dimension::Date)),
        }
        // Without a session split the period itself is in UTC and holds the time.
        if let (Some(period), None) = (key.period, key.session) {
            prop_assert!(period.contains(time));
            let next = Timestamp::from_nanos(time.as_nanos().saturating_add(1));
            prop_assert!(period.overlaps(time, next) || time.as_nanos() == i64::MAX);
        }
    }

    /// parse accepts exactly what render can write: any damage to a path is either an error
    /// (never a panic) or another valid path that renders back to itself.
    #[test]
    fn parse_accepts_only_what_render_writes(
        (layout, _time, key) in layout_and_key(),
        at in any::<prop::sample::Index>(),
        noise in prop::sample::select(NOISE),
        cut in 0usize..4,
        arbitrary in prop::collection::vec(any::<char>(), 0..60).prop_map(collect),
    ) {
        let stem = layout.render(&key).unwrap();
        let mut damaged = stem.clone();
        let mut i = at.index(damaged.len() + 1);
        while !damaged.is_char_boundary(i) {
            i -= 1;
        }
        let end = (i + cut).min(damaged.len());
        if damaged.is_char_boundary(end) {
            damaged.replace_range(i..end, noise);
        }
        for path in [damaged, arbitrary] {
            if let Ok(parsed) = layout.parse(&path) {
                let without_extension = KNOWN_EXTENSIONS
                    .iter()
                    .find_map(|e| path.strip_suffix(e))
                    .unwrap_or(&path);
                prop_assert_eq!(layout.render(&parsed).unwrap(), without_extension);
            }
        }
    }

    /// Escaping is reversible for any text, and long values split into short pieces.
    #[test]
    fn escaping_round_trips(value in value()) {
        let escaped = escape_segment(&value);
        prop_assert_eq!(unescape_segment(&escaped).unwrap(), value.clone());
        let pieces = value_segments(&value);
        prop_assert!(pieces.iter().all(|p| !p.is_empty() && p.len() <= MAX_SEGMENT_BYTES));
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        prop_assert_eq!(escape::value_from_segments(&refs).unwrap(), value);
    }
}
