//! The writer config the crash tests use, and the checks they run on an archive's contents.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use strata_catalog::Catalog;
use strata_core::config::{Config, DurabilityMode};
use strata_core::layout::Granularity;
use strata_core::Profile;
use strata_ingest::{Writer, WriterOptions};

use crate::feed::event;

/// The config the crash tests write with: hourly files of at most 64 KiB (so size and
/// partition-boundary seals both happen), gzip on seal, group commit every 2 ms.
pub fn crash_test_config(mode: DurabilityMode, interval_ms: u64) -> Config {
    let mut config = Config::for_profile(Profile::Research);
    config.layout.granularity = Granularity::Hourly;
    config.storage.max_file_bytes = 64 * 1024;
    config.storage.codec = strata_codec::CodecSpec::Gzip { level: 1 };
    config.durability.mode = mode;
    config.durability.group_commit_interval_ms = interval_ms;
    config
}

/// Opens a writer on `root` (running recovery).
pub fn open_writer(root: &Path, config: Config) -> Writer {
    let catalog = Arc::new(Catalog::open(root).unwrap());
    Writer::open(root, config, catalog, WriterOptions::default()).unwrap()
}

/// Every event id stored under `root/hot`, with how many times each appears. Panics (failing
/// the test) if any file does not parse.
pub fn stored_ids(root: &Path) -> BTreeMap<u64, u32> {
    let mut ids = BTreeMap::new();
    for file in strata_ingest::reader::hot_files(root).unwrap() {
        let events = strata_ingest::reader::read_events(&file)
            .unwrap_or_else(|e| panic!("{} does not parse after recovery: {e}", file.display()));
        for e in events {
            let id: u64 = e
                .payload
                .trade()
                .and_then(|t| t.trade_id.as_ref())
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(e, event(id), "event {id} came back different");
            *ids.entry(id).or_insert(0) += 1;
        }
    }
    ids
}

/// Checks the archive after a crash round: every file parses, no event id is stored twice, and
/// every id in the acknowledged ranges is stored. Returns the stored ids. `context` goes into
/// failure messages (round, seed, recovery notes).
pub fn assert_acknowledged_exactly_once(
    root: &Path,
    acked: &[std::ops::RangeInclusive<u64>],
    context: &dyn Fn() -> String,
) -> BTreeMap<u64, u32> {
    let ids = stored_ids(root);
    let duplicated: Vec<(u64, u32)> = ids
        .iter()
        .filter(|(_, &n)| n > 1)
        .map(|(id, n)| (*id, *n))
        .collect();
    assert!(
        duplicated.is_empty(),
        "{}: duplicated ids {duplicated:?}",
        context()
    );
    let missing: Vec<u64> = acked
        .iter()
        .cloned()
        .flatten()
        .filter(|id| !ids.contains_key(id))
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "{}: acknowledged ids missing, e.g. {missing:?}",
        context()
    );
    verify_all_checksums(root);
    ids
}

/// Checks every folder's `checksums.sha256` against the files (all must match).
pub fn verify_all_checksums(root: &Path) -> usize {
    let mut folders = std::collections::BTreeSet::new();
    for file in strata_ingest::reader::hot_files(root).unwrap() {
        folders.insert(file.parent().unwrap().to_path_buf());
    }
    let mut checked = 0;
    for folder in folders {
        if !folder.join("checksums.sha256").exists() {
            continue;
        }
        for result in strata_catalog::verify_checksums(&folder).unwrap() {
            assert!(result.is_ok(), "{}: {result:?}", folder.display());
            checked += 1;
        }
    }
    checked
}
