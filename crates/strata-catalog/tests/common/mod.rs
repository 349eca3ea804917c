//! A generated archive shared by the integration tests: ~50 sealed files for several symbols,
//! sources, kinds, days and tiers, written under a temp dir exactly as a writer seals them
//! (JSONL data, real SHA-256, StatsAccumulator stats, sidecar, checksum line).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use strata_catalog::{
    append_checksum_line, sha256_file, write_sidecar, Catalog, FileManifest, LineageEntry,
    StatsAccumulator, MANIFEST_VERSION,
};
use strata_codec::CodecSpec;
use strata_core::layout::{Granularity, Layout, NamingConvention, PartitionKey};
use strata_core::policy::{FileFormat, TierName};
use strata_model::{
    jsonl, Bar, BboQuote, Decimal, Event, EventKind, Level, Payload, Side, Timestamp, Trade,
};

/// One sealed file: its manifest and the events in it, in file order.
#[derive(Debug, Clone)]
pub struct SealedFile {
    pub manifest: FileManifest,
    pub events: Vec<Event>,
}

pub const DAYS: [&str; 3] = ["2024-01-15", "2024-01-16", "2024-01-17"];

/// (symbol, source, kinds) of the single-partition files.
pub fn streams() -> Vec<(&'static str, &'static str, Vec<EventKind>)> {
    let all = vec![EventKind::Trade, EventKind::BboQuote, EventKind::Bar];
    vec![
        ("AAPL", "nasdaq", all.clone()),
        ("AAPL", "iex", all.clone()),
        ("MSFT", "nasdaq", all.clone()),
        ("BRK/B", "nasdaq", vec![EventKind::Trade, EventKind::Bar]),
        ("BTC USDT%", "binance", all),
    ]
}

/// A small deterministic generator (xorshift), so every run builds the same archive.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn day_start(day: &str) -> Timestamp {
    day.parse().unwrap()
}

fn tier_of_day(day_index: usize) -> TierName {
    [TierName::Cold, TierName::Warm, TierName::Hot][day_index]
}

/// Events of one symbol/source/kind on one day, between 13:00 and 21:00 UTC.
pub fn make_events(
    rng: &mut Rng,
    symbol: &str,
    source: &str,
    kind: EventKind,
    day: &str,
    count: usize,
) -> Vec<Event> {
    let start = day_start(day).as_nanos() + 13 * 3_600_000_000_000;
    let mut times: Vec<i64> = (0..count)
        .map(|_| start + i64::try_from(rng.below(8 * 3_600_000_000_000)).unwrap())
        .collect();
    times.sort_unstable();
    let base = 10_000 + i64::try_from(rng.below(5_000)).unwrap(); // cents
    let mut seq = rng.below(1_000_000);
    times
        .into_iter()
        .map(|t| {
            let price = Decimal::new(base + i64::try_from(rng.below(200)).unwrap(), 2).unwrap();
            let size = Decimal::new(1 + i64::try_from(rng.below(5_000)).unwrap(), 1).unwrap();
            let payload = match kind {
                EventKind::Trade => Payload::Trade(Trade {
                    price,
                    size,
                    side: match rng.below(3) {
                        0 => Some(Side::Buy),
                        1 => Some(Side::Sell),
                        _ => None,
                    },
                    trade_id: Some(rng.next().to_string()),
                    conditions: None,
                }),
                EventKind::BboQuote => Payload::BboQuote(BboQuote {
                    bid: Some(Level {
                        price,
                        size: Decimal::from_int(1),
                    }),
                    ask: Some(Level {
                        price: Decimal::new(price.mantissa() + 1, 2).unwrap(),
                        size: Decimal::from_int(2),
                    }),
                }),
                EventKind::Bar => Payload::Bar(Bar {
                    interval_s: 60,
                    open: price,
                    high: Decimal::new(price.mantissa() + 5, 2).unwrap(),
                    low: Decimal::new(price.mantissa() - 5, 2).unwrap(),
                    close: Decimal::new(price.mantissa() + 1, 2).unwrap(),
                    volume: size,
                    trades: Some(3),
                    vwap: Some(price),
                }),
                other => unreachable!("no generator for {other}"),
            };
            let mut event = Event::new(source, symbol, Timestamp::from_nanos(t), payload);
            seq += 1 + rng.below(3);
            event.sequence = Some(seq);
            event
        })
        .collect()
}

/// Seals `events` as the data file `path` (archive-relative) under `root`: writes the JSONL
/// bytes, the sidecar and the folder's checksum line, as the writer does.
pub fn seal(
    root: &Path,
    path: &str,
    tier: TierName,
    partition: PartitionKey,
    events: Vec<Event>,
    lineage: Vec<LineageEntry>,
    sealed_at: Timestamp,
) -> SealedFile {
    let data = root.join(path);
    std::fs::create_dir_all(data.parent().unwrap()).unwrap();
    let mut bytes = Vec::new();
    let mut stats = StatsAccumulator::new();
    for event in &events {
        jsonl::encode_into(event, &mut bytes).unwrap();
        stats.add(event);
    }
    std::fs::write(&data, &bytes).unwrap();
    let sha256 = sha256_file(&data).unwrap();
    let manifest = FileManifest {
        manifest_version: MANIFEST_VERSION,
        path: path.to_string(),
        tier,
        format: FileFormat::Jsonl,
        codec: CodecSpec::None,
        size_bytes: u64::try_from(bytes.len()).unwrap(),
        sha256: sha256.clone(),
        partition,
        stats: stats.finish(),
        quality_score: Some(0.9),
        lineage,
        sealed_at,
        session_id: Some("generated".into()),
        sessions: Vec::new(),
        seal_reason: "partition_boundary".into(),
    };
    let sidecar = write_sidecar(root, &manifest).unwrap();
    assert!(sidecar.is_file());
    append_checksum_line(data.parent().unwrap(), manifest.file_name(), &sha256).unwrap();
    SealedFile { manifest, events }
}

/// Builds the archive under `root`: 42 single-partition files (5 streams × their kinds × 3
/// days, tiers cold/warm/hot by day), 3 consolidated multi-symbol files (iex, both AAPL and
/// MSFT trades, one per day), 3 compacted warm copies with lineage, and 2 files with events
/// spanning midnight (one BTC file per pair of days) — 50 files.
pub fn build_archive(root: &Path) -> Vec<SealedFile> {
    let layout = Layout::new(NamingConvention::BySource, Granularity::Daily);
    let mut rng = Rng::new(0x5eed);
    let mut files = Vec::new();
    for (symbol, source, kinds) in streams() {
        for kind in kinds {
            for (day_index, day) in DAYS.iter().enumerate() {
                let count = 5 + usize::try_from(rng.below(25)).unwrap();
                let events = make_events(&mut rng, symbol, source, kind, day, count);
                let key = layout.key_for_event(&events[0], None, Granularity::Daily);
                let tier = tier_of_day(day_index);
                let path = format!("{}/{}.jsonl", tier.as_str(), layout.render(&key).unwrap());
                let sealed_at =
                    Timestamp::from_nanos(day_start(day).as_nanos() + 86_400_000_000_000);
                files.push(seal(
                    root,
                    &path,
                    tier,
                    layout.project(&key),
                    events,
                    vec![],
                    sealed_at,
                ));
            }
        }
    }

    // Consolidated files: one per day holding AAPL and MSFT trades from iex, interleaved by time.
    for (day_index, day) in DAYS.iter().enumerate() {
        let mut events = make_events(&mut rng, "AAPL", "iex", EventKind::Trade, day, 7);
        events.extend(make_events(
            &mut rng,
            "MSFT",
            "iex",
            EventKind::Trade,
            day,
            9,
        ));
        events.sort_by_key(|e| e.event_time);
        let tier = tier_of_day(day_index);
        let path = format!("{}/consolidated/iex/{day}.jsonl", tier.as_str());
        let partition = PartitionKey {
            source: Some("iex".into()),
            kind: Some(EventKind::Trade),
            period: day.parse().ok(),
            ..PartitionKey::default()
        };
        files.push(seal(
            root,
            &path,
            tier,
            partition,
            events,
            vec![],
            day_start(day),
        ));
    }

    // Compacted warm copies of the first three hot files, with lineage to them.
    let parents: Vec<SealedFile> = files
        .iter()
        .filter(|f| f.manifest.tier == TierName::Hot)
        .take(3)
        .cloned()
        .collect();
    for parent in parents {
        let path = parent.manifest.path.replacen("hot/", "warm/compacted/", 1);
        files.push(seal(
            root,
            &path,
            TierName::Warm,
            parent.manifest.partition.clone(),
            parent.events.clone(),
            vec![LineageEntry {
                parent_path: parent.manifest.path.clone(),
                parent_sha256: parent.manifest.sha256.clone(),
                operation: "compact".into(),
            }],
            Timestamp::from_nanos(parent.manifest.sealed_at.as_nanos() + 1),
        ));
    }

    // Files spanning midnight: BTC trades from 22:00 to 02:00 the next day.
    for (index, day) in DAYS.iter().take(2).enumerate() {
        let start = day_start(day).as_nanos() + 22 * 3_600_000_000_000;
        let events: Vec<Event> = (0..12)
            .map(|i| {
                let mut e = Event::new(
                    "binance",
                    "BTC USDT%",
                    Timestamp::from_nanos(start + i * 1_200_000_000_000),
                    Payload::Trade(Trade {
                        price: Decimal::new(4_200_000 + i, 2).unwrap(),
                        size: Decimal::new(5, 3).unwrap(),
                        side: Some(Side::Buy),
                        trade_id: None,
                        conditions: None,
                    }),
                );
                e.sequence = Some(u64::try_from(i).unwrap());
                e
            })
            .collect();
        let path = format!("cold/overnight/binance/BTC%20USDT%25/{day}-night {index}.jsonl");
        files.push(seal(
            root,
            &path,
            TierName::Cold,
            PartitionKey {
                source: Some("binance".into()),
                symbol: Some("BTC USDT%".into()),
                kind: Some(EventKind::Trade),
                ..PartitionKey::default()
            },
            events,
            vec![],
            day_start(day),
        ));
    }
    assert_eq!(files.len(), 50);
    files
}

/// A catalog at `root` with every file registered one by one.
pub fn register_all(root: &Path, files: &[SealedFile]) -> Catalog {
    let catalog = Catalog::open(root).unwrap();
    for file in files {
        catalog.register(&file.manifest).unwrap();
    }
    catalog
}

/// (symbol, source, kind, UTC date).
pub type SliceKey = (String, String, EventKind, String);

/// Per (symbol, source, kind, date): (events, first, last) of one file, from its raw events.
pub fn slices_of(events: &[Event]) -> BTreeMap<SliceKey, (u64, i64, i64)> {
    let mut slices = BTreeMap::new();
    for e in events {
        let key = (
            e.symbol.clone(),
            e.source.clone(),
            e.kind(),
            e.event_time.utc_date().to_string(),
        );
        let t = e.event_time.as_nanos();
        let entry = slices.entry(key).or_insert((0u64, t, t));
        entry.0 += 1;
        entry.1 = entry.1.min(t);
        entry.2 = entry.2.max(t);
    }
    slices
}

/// The paths of `files` as a sorted set.
pub fn paths<'a>(files: impl IntoIterator<Item = &'a FileManifest>) -> BTreeSet<String> {
    files.into_iter().map(|m| m.path.clone()).collect()
}
