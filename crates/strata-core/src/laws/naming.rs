//! The laws of [`Naming`] (EXT-2). Every built-in layout runs them
//! (`tests/builtin_extensions_pass_the_laws.rs`); so must any extension:
//!
//! ```
//! use strata_core::layout::{Granularity, Layout, NamingConvention};
//!
//! let layout = Layout::new(NamingConvention::Hierarchical, Granularity::Hourly);
//! strata_core::laws::naming::run_all(&layout);
//! ```
//!
//! - [`events_find_a_path`]: the key of any ordinary event renders.
//! - [`parse_inverts_render`]: `parse(render(k)) == project(k)`, with or without any of the
//!   [`KNOWN_EXTENSIONS`], and `render(parse(p)) == p`; the event's time lies in the parsed
//!   key's [`time_range`](Naming::time_range).
//! - [`paths_stay_under_the_root`]: relative, `/`-separated, no empty, `.` or `..` component,
//!   no `\`, NUL or control character.
//! - [`names_fit`]: every component, extension included, is at most 255 bytes.
//! - [`hostile_keys_are_refused_or_escaped`]: keys made of `..`, `/`, NUL, device names,
//!   extensions and values thousands of bytes long never panic, and what renders obeys the
//!   laws above.
//!
//! Each law panics with a message naming the naming, the key and the path.

use std::panic::{catch_unwind, AssertUnwindSafe};

use strata_model::{AssetClass, Event, Payload, Timestamp, Trade};

use crate::layout::{Granularity, LayoutError, Naming, PartitionKey, KNOWN_EXTENSIONS};

/// The longest name a file system takes for one path component.
pub const MAX_NAME_BYTES: usize = 255;

/// Ordinary events: every kind of symbol strata meets, several sources and venues, times from
/// 1990 to 2090 (including the ends of days, months and years).
pub fn ordinary_events() -> Vec<(Event, AssetClass)> {
    let symbols = [
        ("AAPL", AssetClass::Equity),
        ("BRK/B", AssetClass::Equity),
        ("BTCUSDT", AssetClass::Crypto),
        ("ESZ4", AssetClass::Future),
        ("SPY 240119C00470000", AssetClass::Option),
        ("EUR/USD", AssetClass::Forex),
        ("^SPX", AssetClass::Index),
    ];
    let sources = ["binance", "nasdaq-itch", "lean", "databento.glbx"];
    let venues = [None, Some("XNAS"), Some("BINANCE")];
    let times = [
        "1990-01-01T00:00:00Z",
        "2024-01-15T14:30:00.123456789Z",
        "2024-02-29T23:59:59.999999999Z",
        "2024-12-31T23:00:00Z",
        "2025-03-09T07:00:00Z",
        "2090-06-30T12:00:00Z",
    ];
    let mut events = Vec::new();
    for (i, (symbol, class)) in symbols.iter().enumerate() {
        for (j, time) in times.iter().enumerate() {
            let time: Timestamp = time.parse().unwrap_or(Timestamp::from_nanos(0));
            let mut event = Event::new(
                sources[(i + j) % sources.len()],
                *symbol,
                time,
                Payload::Trade(Trade {
                    price: strata_model::Decimal::from_int(100),
                    size: strata_model::Decimal::from_int(1),
                    side: None,
                    trade_id: None,
                    conditions: None,
                }),
            );
            event.venue = venues[(i + j) % venues.len()].map(str::to_string);
            events.push((event, *class));
        }
    }
    events
}

/// Values no careless or hostile producer should be able to turn into a path outside the root
/// or a name the file system refuses.
pub fn hostile_values() -> Vec<String> {
    let mut values: Vec<String> = [
        "",
        ".",
        "..",
        "/",
        "a/../b",
        "../../etc/passwd",
        "/abs",
        "a\\b",
        "C:\\x",
        "a\0b",
        "line\nbreak",
        "tab\t",
        " ",
        " lead",
        "trail.",
        "CON",
        "nul",
        "com1",
        "LPT9.txt",
        "%",
        "%2F",
        "%2e%2e",
        "=",
        "symbol=AAPL",
        "X.jsonl",
        "X.jsonl.zst",
        "X.parquet",
        "~",
        "*?<>|\"",
        "🙂",
        "Ω≈ç√",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    values.push("A".repeat(255));
    values.push("B".repeat(256));
    values.push("🙂".repeat(100));
    values.push("%".repeat(300));
    values.push("x/".repeat(500));
    values.push("C".repeat(10_000));
    values
}

/// The ordinary keys of `naming`: [`ordinary_events`] at every granularity.
fn ordinary_keys(naming: &dyn Naming) -> Vec<(PartitionKey, Option<Timestamp>)> {
    let mut keys = Vec::new();
    for (event, class) in ordinary_events() {
        for granularity in [
            naming.granularity(),
            Granularity::Hourly,
            Granularity::Daily,
            Granularity::Monthly,
        ] {
            keys.push((
                naming.key_for_event(&event, Some(class), granularity),
                Some(event.event_time),
            ));
        }
    }
    keys
}

/// Checks the render/parse laws for one key that rendered to `path`.
fn check_rendered(naming: &dyn Naming, key: &PartitionKey, path: &str, time: Option<Timestamp>) {
    let name = naming.name();
    check_path(&name, key, path);
    let projected = naming.project(key);
    for suffix in std::iter::once("").chain(KNOWN_EXTENSIONS.iter().copied()) {
        let with = format!("{path}{suffix}");
        match naming.parse(&with) {
            Ok(parsed) => assert_eq!(
                parsed, projected,
                "naming {name}: parse({with:?}) is not the projection of the key it was rendered \
                 from ({key:?})"
            ),
            Err(e) => {
                panic!("naming {name}: cannot parse its own path {with:?} (key {key:?}): {e}")
            }
        }
    }
    match naming.render(&projected) {
        Ok(again) => assert_eq!(
            again, path,
            "naming {name}: the projection of {key:?} renders as {again:?}, not {path:?}"
        ),
        Err(e) => panic!("naming {name}: the projection of {key:?} does not render: {e}"),
    }
    if let (Some(time), Some(range)) = (time, naming.time_range(&projected)) {
        assert!(
            range.contains(&time),
            "naming {name}: the file {path:?} covers {range:?}, which misses its event's time {time}"
        );
    }
}

/// Checks that `path` stays under the root and that its names fit.
fn check_path(name: &str, key: &PartitionKey, path: &str) {
    assert!(
        !path.is_empty(),
        "naming {name}: key {key:?} renders as an empty path"
    );
    assert!(
        !path.starts_with('/'),
        "naming {name}: key {key:?} renders as an absolute path {path:?}"
    );
    for bad in ['\\', '\0'] {
        assert!(
            !path.contains(bad),
            "naming {name}: key {key:?} renders as {path:?}, which holds {bad:?}"
        );
    }
    assert!(
        !path.chars().any(char::is_control),
        "naming {name}: key {key:?} renders as {path:?}, which holds a control character"
    );
    let longest = KNOWN_EXTENSIONS.iter().map(|e| e.len()).max().unwrap_or(0);
    let components: Vec<&str> = path.split('/').collect();
    for (i, component) in components.iter().enumerate() {
        assert!(
            !matches!(*component, "" | "." | ".."),
            "naming {name}: key {key:?} renders as {path:?}, whose component {component:?} \
             leaves or blurs the root"
        );
        let budget = if i + 1 == components.len() {
            MAX_NAME_BYTES - longest
        } else {
            MAX_NAME_BYTES
        };
        assert!(
            component.len() <= budget,
            "naming {name}: key {key:?} renders a component of {} bytes (at most {budget} \
             leave room for every known extension within {MAX_NAME_BYTES})",
            component.len()
        );
    }
}

/// The key of every ordinary event renders — or, for an event that lacks a field the naming
/// partitions by (a venue, for a venue-first naming), is refused with
/// [`LayoutError::MissingField`] naming it (the writer quarantines the event with that reason).
/// Most ordinary events render.
pub fn events_find_a_path(naming: &dyn Naming) {
    let keys = ordinary_keys(naming);
    let mut rendered = 0;
    for (key, _) in &keys {
        match naming.render(key) {
            Ok(_) => rendered += 1,
            Err(LayoutError::MissingField { .. }) => {}
            Err(e) => panic!(
                "naming {}: the key of an ordinary event does not render: {key:?}: {e}",
                naming.name()
            ),
        }
    }
    assert!(
        rendered * 2 >= keys.len(),
        "naming {}: only {rendered} of {} ordinary events find a path",
        naming.name(),
        keys.len()
    );
}

/// `parse(render(k)) == project(k)` and `render(parse(p)) == p`, for every ordinary key.
pub fn parse_inverts_render(naming: &dyn Naming) {
    for (key, time) in ordinary_keys(naming) {
        if let Ok(path) = naming.render(&key) {
            check_rendered(naming, &key, &path, time);
        }
    }
}

/// Every rendered path is relative and free of components that leave the root.
pub fn paths_stay_under_the_root(naming: &dyn Naming) {
    for (key, _) in ordinary_keys(naming) {
        if let Ok(path) = naming.render(&key) {
            check_path(&naming.name(), &key, &path);
        }
    }
}

/// Every component of every path, with its longest extension, is at most 255 bytes — also for
/// symbols and sources far longer than that.
pub fn names_fit(naming: &dyn Naming) {
    for length in [100, 255, 256, 1_000, 4_000] {
        for (event, class) in ordinary_events().into_iter().take(3) {
            let mut event = event;
            event.symbol = "S".repeat(length);
            event.source = "s".repeat(length / 2 + 1);
            let key = naming.key_for_event(&event, Some(class), naming.granularity());
            if let Ok(path) = naming.render(&key) {
                check_rendered(naming, &key, &path, Some(event.event_time));
            }
        }
    }
}

/// Hostile symbols, sources and venues never panic; what renders obeys every law.
pub fn hostile_keys_are_refused_or_escaped(naming: &dyn Naming) {
    let (template, class) = ordinary_events()
        .into_iter()
        .nth(1)
        .unwrap_or_else(|| panic!("no ordinary events"));
    for value in hostile_values() {
        for field in 0..3 {
            let mut event = template.clone();
            match field {
                0 => event.symbol = value.clone(),
                1 => event.source = value.clone(),
                _ => event.venue = Some(value.clone()),
            }
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let key = naming.key_for_event(&event, Some(class), naming.granularity());
                let rendered = naming.render(&key);
                (key, rendered)
            }));
            let Ok((key, rendered)) = outcome else {
                panic!(
                    "naming {}: panicked on the value {value:?} (field {field})",
                    naming.name()
                );
            };
            if let Ok(path) = rendered {
                check_rendered(naming, &key, &path, Some(event.event_time));
            }
        }
    }
    // A key with nothing in it, and one with every kind.
    let empty = PartitionKey::default();
    if let Ok(Ok(path)) = catch_unwind(AssertUnwindSafe(|| naming.render(&empty))) {
        check_path(&naming.name(), &empty, &path);
    }
    // An event of another kind (the kind is a level of most namings).
    let mut heartbeat = template.clone();
    heartbeat.payload = Payload::Heartbeat;
    let key = naming.key_for_event(&heartbeat, Some(class), naming.granularity());
    if let Ok(path) = naming.render(&key) {
        check_rendered(naming, &key, &path, Some(heartbeat.event_time));
    }
}

/// Every naming law, in order.
pub fn run_all(naming: &dyn Naming) {
    events_find_a_path(naming);
    parse_inverts_render(naming);
    paths_stay_under_the_root(naming);
    names_fit(naming);
    hostile_keys_are_refused_or_escaped(naming);
}
