//! CAT-2: the index answers which files hold symbol S, kind K, source R between t0 and t1 in
//! tier T; coverage per symbol and source; totals by facet; overall stats. Every expected
//! answer is computed here from the raw events of the generated archive, not from the index.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::SealedFile;
use strata_catalog::{Catalog, Facet, FacetTotal, FileQuery};
use strata_core::policy::TierName;
use strata_model::{EventKind, Timestamp};

fn setup() -> (tempfile::TempDir, Vec<SealedFile>, Catalog) {
    let archive = tempfile::tempdir().unwrap();
    let files = common::build_archive(archive.path());
    let catalog = common::register_all(archive.path(), &files);
    (archive, files, catalog)
}

/// The files a query must return, from the raw events: some (symbol, source, kind, date)
/// slice of the file matches every given field, and its [first, last] overlaps [from, to).
fn expected(files: &[SealedFile], q: &FileQuery) -> Vec<String> {
    let mut matching: Vec<&SealedFile> = files
        .iter()
        .filter(|f| q.tier.is_none_or(|t| f.manifest.tier == t))
        .filter(|f| {
            common::slices_of(&f.events).iter().any(
                |((symbol, source, kind, _), (_, first, last))| {
                    q.symbol.as_ref().is_none_or(|s| s == symbol)
                        && q.source.as_ref().is_none_or(|s| s == source)
                        && q.kind.is_none_or(|k| k == *kind)
                        && q.from.is_none_or(|from| *last >= from.as_nanos())
                        && q.to.is_none_or(|to| *first < to.as_nanos())
                },
            )
        })
        .collect();
    matching.sort_by_key(|f| {
        (
            f.events.iter().map(|e| e.event_time).min(),
            f.manifest.path.clone(),
        )
    });
    matching
        .into_iter()
        .map(|f| f.manifest.path.clone())
        .collect()
}

fn found(catalog: &Catalog, q: &FileQuery) -> Vec<String> {
    catalog
        .find(q)
        .unwrap()
        .into_iter()
        .map(|m| m.path)
        .collect()
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn find_answers_every_combination_exactly() {
    let (_archive, files, catalog) = setup();
    let symbols = [
        None,
        Some("AAPL"),
        Some("MSFT"),
        Some("BRK/B"),
        Some("BTC USDT%"),
        Some("NOPE"),
    ];
    let kinds = [
        None,
        Some(EventKind::Trade),
        Some(EventKind::BboQuote),
        Some(EventKind::Bar),
        Some(EventKind::L2Snapshot),
    ];
    let sources = [None, Some("nasdaq"), Some("iex"), Some("binance")];
    let tiers = [
        None,
        Some(TierName::Hot),
        Some(TierName::Warm),
        Some(TierName::Cold),
        Some(TierName::Archive),
    ];
    let ranges = [
        (None, None),
        (Some(ts("2024-01-16")), Some(ts("2024-01-17"))),
        (
            Some(ts("2024-01-15T23:00:00Z")),
            Some(ts("2024-01-16T00:30:00Z")),
        ),
        (Some(ts("2024-01-17T13:00:00Z")), None),
        (None, Some(ts("2024-01-15T13:00:00Z"))),
        (Some(ts("2030-01-01")), None),
    ];
    let mut checked = 0;
    let mut non_empty = 0;
    for symbol in symbols {
        for kind in kinds {
            for source in sources {
                for tier in tiers {
                    for (from, to) in ranges {
                        let q = FileQuery {
                            symbol: symbol.map(str::to_string),
                            kind,
                            source: source.map(str::to_string),
                            tier,
                            from,
                            to,
                        };
                        let want = expected(&files, &q);
                        assert_eq!(found(&catalog, &q), want, "{q:?}");
                        checked += 1;
                        non_empty += usize::from(!want.is_empty());
                    }
                }
            }
        }
    }
    assert_eq!(checked, 6 * 5 * 4 * 5 * 6);
    assert!(
        non_empty > 300,
        "the queries must exercise real matches ({non_empty})"
    );
}

#[test]
fn worked_examples() {
    let (_archive, files, catalog) = setup();
    // Everything, in first-event-time order.
    let all = catalog.find(&FileQuery::all()).unwrap();
    assert_eq!(all.len(), 50);
    assert!(all
        .windows(2)
        .all(|w| (w[0].stats.first_event_time, &w[0].path)
            <= (w[1].stats.first_event_time, &w[1].path)));
    // Returned manifests are the registered ones, whole.
    let by_path: BTreeMap<_, _> = files
        .iter()
        .map(|f| (f.manifest.path.clone(), f.manifest.clone()))
        .collect();
    for m in &all {
        assert_eq!(m, &by_path[&m.path]);
    }

    // MSFT trades from iex live only in the consolidated files, which also hold AAPL.
    let q = FileQuery::all()
        .symbol("MSFT")
        .source("iex")
        .kind(EventKind::Trade);
    assert_eq!(
        found(&catalog, &q),
        [
            "cold/consolidated/iex/2024-01-15.jsonl",
            "warm/consolidated/iex/2024-01-16.jsonl",
            "hot/consolidated/iex/2024-01-17.jsonl"
        ]
    );
    // ... but nobody holds MSFT quotes from iex.
    assert!(found(
        &catalog,
        &FileQuery::all()
            .symbol("MSFT")
            .source("iex")
            .kind(EventKind::BboQuote)
    )
    .is_empty());

    // The symbol with a slash, its layout-escaped path, on one day, hot tier.
    let q = FileQuery::all()
        .symbol("BRK/B")
        .tier(TierName::Hot)
        .between(ts("2024-01-17"), ts("2024-01-18"));
    assert_eq!(
        found(&catalog, &q),
        [
            "hot/nasdaq/BRK%2FB/bar/2024-01-17.jsonl",
            "hot/nasdaq/BRK%2FB/trade/2024-01-17.jsonl"
        ]
    );

    // Lineage: the compacted copies come up in the warm tier beside their hot parents.
    let q = FileQuery::all()
        .tier(TierName::Warm)
        .symbol("AAPL")
        .source("nasdaq")
        .between(ts("2024-01-17"), ts("2024-01-18"));
    let warm = found(&catalog, &q);
    assert!(
        warm.iter().all(|p| p.starts_with("warm/compacted/")),
        "{warm:?}"
    );
    assert_eq!(warm.len(), 3);
    let parent = warm[0].replacen("warm/compacted/", "hot/", 1);
    assert_eq!(catalog.derived_from(&parent).unwrap(), [warm[0].clone()]);

    // Time ranges are half-open: a file whose first event is exactly `to` is not found.
    let overnight = files
        .iter()
        .find(|f| f.manifest.path.contains("overnight"))
        .unwrap();
    let first = overnight.manifest.stats.first_event_time.unwrap();
    let last = overnight.manifest.stats.last_event_time.unwrap();
    let q = FileQuery::all()
        .symbol("BTC USDT%")
        .source("binance")
        .between(Timestamp::from_nanos(0), first);
    assert!(!found(&catalog, &q).contains(&overnight.manifest.path));
    let q = FileQuery::all()
        .symbol("BTC USDT%")
        .source("binance")
        .between(last, Timestamp::from_nanos(last.as_nanos() + 1));
    assert!(found(&catalog, &q).contains(&overnight.manifest.path));
}

#[test]
fn coverage_per_symbol_and_source() {
    let (_archive, files, catalog) = setup();
    for symbol in ["AAPL", "MSFT", "BRK/B", "BTC USDT%"] {
        for source in [None, Some("nasdaq"), Some("iex"), Some("binance")] {
            // (date, source) -> (events, first, last), from the raw events.
            let mut want: BTreeMap<(String, String), (u64, i64, i64)> = BTreeMap::new();
            for e in files.iter().flat_map(|f| &f.events) {
                if e.symbol == symbol && source.is_none_or(|s| s == e.source) {
                    let t = e.event_time.as_nanos();
                    let entry = want
                        .entry((e.event_time.utc_date().to_string(), e.source.clone()))
                        .or_insert((0, t, t));
                    entry.0 += 1;
                    entry.1 = entry.1.min(t);
                    entry.2 = entry.2.max(t);
                }
            }
            let got: BTreeMap<(String, String), (u64, i64, i64)> = catalog
                .coverage(symbol, source)
                .unwrap()
                .into_iter()
                .map(|r| {
                    (
                        (r.date.to_string(), r.source),
                        (r.events, r.first.as_nanos(), r.last.as_nanos()),
                    )
                })
                .collect();
            assert_eq!(got, want, "{symbol} {source:?}");
        }
    }
    // An overnight BTC file counts on both of the dates it spans.
    let overnight = files
        .iter()
        .find(|f| f.manifest.path.contains("2024-01-16-night"))
        .unwrap();
    let dates: BTreeSet<String> = overnight
        .manifest
        .stats
        .slices
        .iter()
        .map(|s| s.date.to_string())
        .collect();
    assert_eq!(
        dates,
        BTreeSet::from(["2024-01-16", "2024-01-17"].map(String::from))
    );
}

#[test]
fn totals_by_every_facet() {
    let (_archive, files, catalog) = setup();
    type Key = fn(&strata_model::Event) -> String;
    let facets: [(Facet, Key); 6] = [
        (Facet::Date, |e| e.event_time.utc_date().to_string()),
        (Facet::Kind, |e| e.kind().to_string()),
        (Facet::Source, |e| e.source.clone()),
        (Facet::Symbol, |e| e.symbol.clone()),
        (Facet::Hour, |e| {
            e.event_time.to_datetime().format("%Y-%m-%dT%H").to_string()
        }),
        (Facet::HourOfDay, |e| {
            e.event_time.to_datetime().format("%H").to_string()
        }),
    ];
    for (facet, key) in facets {
        let mut want: BTreeMap<String, (u64, BTreeSet<String>)> = BTreeMap::new();
        for f in &files {
            for e in &f.events {
                let entry = want.entry(key(e)).or_default();
                entry.0 += 1;
                entry.1.insert(f.manifest.path.clone());
            }
        }
        let size: BTreeMap<_, _> = files
            .iter()
            .map(|f| (f.manifest.path.clone(), f.manifest.size_bytes))
            .collect();
        let want: Vec<FacetTotal> = want
            .into_iter()
            .map(|(value, (events, paths))| FacetTotal {
                value,
                events,
                files: paths.len() as u64,
                bytes: paths.iter().map(|p| size[p]).sum(),
            })
            .collect();
        assert_eq!(catalog.totals(facet).unwrap(), want, "{facet:?}");
    }

    let tiers = catalog.totals(Facet::Tier).unwrap();
    assert_eq!(
        tiers.iter().map(|t| t.value.as_str()).collect::<Vec<_>>(),
        ["hot", "warm", "cold"]
    );
    for t in &tiers {
        let in_tier: Vec<_> = files
            .iter()
            .filter(|f| f.manifest.tier.as_str() == t.value)
            .collect();
        assert_eq!(t.files, in_tier.len() as u64);
        assert_eq!(
            t.events,
            in_tier.iter().map(|f| f.events.len() as u64).sum::<u64>()
        );
        assert_eq!(
            t.bytes,
            in_tier.iter().map(|f| f.manifest.size_bytes).sum::<u64>()
        );
    }
}

#[test]
fn stats_get_and_remove() {
    let (_archive, files, catalog) = setup();
    let stats = catalog.stats().unwrap();
    assert_eq!(stats.files, 50);
    assert_eq!(
        stats.events,
        files.iter().map(|f| f.events.len() as u64).sum::<u64>()
    );
    assert_eq!(
        stats.bytes,
        files.iter().map(|f| f.manifest.size_bytes).sum::<u64>()
    );
    assert_eq!(stats.by_tier.values().map(|t| t.files).sum::<u64>(), 50);
    // 14 single-partition files, 1 consolidated file, 3 compacted copies.
    assert_eq!(stats.by_tier[&TierName::Warm].files, 14 + 1 + 3);

    let victim = &files[0].manifest;
    assert_eq!(catalog.get(&victim.path).unwrap().as_ref(), Some(victim));
    assert!(catalog.contains(&victim.path).unwrap());
    assert!(catalog.remove(&victim.path).unwrap());
    assert!(!catalog.remove(&victim.path).unwrap());
    assert_eq!(catalog.get(&victim.path).unwrap(), None);
    assert!(!catalog.contains(&victim.path).unwrap());
    assert_eq!(catalog.stats().unwrap().files, 49);
    // Its facet rows went with it.
    let q = FileQuery::all().symbol(victim.stats.symbols.iter().next().unwrap().clone());
    assert!(!found(&catalog, &q).contains(&victim.path));
    assert!(!catalog
        .dump()
        .unwrap()
        .contains(&format!("\"{}\"", victim.path)));
}
