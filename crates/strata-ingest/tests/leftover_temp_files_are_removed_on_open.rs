//! INGEST-3: the temp file of an atomic write that a kill interrupted (a compressed copy being
//! sealed, a sidecar, a session report, a catalog file: `.tmp-strata-<pid>-<n>`, see
//! `strata_catalog::fsio`) is removed by the next writer's open, noted in its recovery notes,
//! and never taken for data; a file of that name outside the folders strata owns is left alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use strata_catalog::fsio::TEMP_PREFIX;
use strata_catalog::{Catalog, FileQuery};
use strata_core::config::Config;
use strata_core::Profile;
use strata_ingest::{reader, Writer, WriterOptions};
use strata_model::{jsonl, Event, Payload, Timestamp};

fn open(root: &Path, id: &str) -> Writer {
    // Research: sealed files are zstd-compressed, so sealing writes a temp copy.
    let config = Config::for_profile(Profile::Research);
    let catalog = Arc::new(Catalog::open(root).unwrap());
    let options = WriterOptions {
        session_id: Some(id.into()),
        ..WriterOptions::default()
    };
    Writer::open(root, config, catalog, options).unwrap()
}

fn beats(from: i64, n: i64) -> Vec<Event> {
    (from..from + n)
        .map(|i| {
            Event::new(
                "s",
                "X",
                Timestamp::from_nanos(1_700_000_000_000_000_000 + i),
                Payload::Heartbeat,
            )
        })
        .collect()
}

/// Plants what a process killed mid-write leaves: a temp file named by a process id no system
/// hands out (so no running process owns it), last written an hour ago (where `/proc` is
/// missing, age decides).
fn leftover(dir: &Path, n: u32, content: &[u8]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("{TEMP_PREFIX}4294967295-{n}"));
    std::fs::write(&path, content).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    path
}

fn data_events(root: &Path) -> Vec<Event> {
    let mut events = Vec::new();
    for path in reader::files_under(&root.join("hot")).unwrap() {
        if reader::is_data_file(&path) {
            events.extend(reader::read_events(&path).unwrap());
        }
    }
    events.sort_by_key(|e| e.event_time);
    events
}

#[test]
fn a_killed_writes_temp_files_are_removed_on_open_and_never_read_as_data() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let writer = open(root, "a");
    writer.append_batch(&beats(0, 10)).unwrap();
    writer.flush().unwrap();
    writer.abandon(); // killed: the segment stays unsealed in hot/

    let segment = reader::files_under(&root.join("hot"))
        .unwrap()
        .into_iter()
        .find(|p| reader::is_data_file(p))
        .expect("the unsealed segment");
    let partition = segment.parent().unwrap().to_path_buf();
    // Valid JSONL of other events: if anything took the temp for data, they would show up.
    let strays: Vec<u8> = beats(100, 5)
        .iter()
        .flat_map(|e| jsonl::encode_line(e).unwrap())
        .collect();
    let planted = [
        leftover(&partition, 0, &strays),
        leftover(&partition, 1, b"{\"manifest_version\":1,\"path\":"),
        leftover(&root.join("_sessions/a"), 2, b"{\"id\":\"a\",\"st"),
        leftover(&root.join("_catalog"), 3, b"[{\"id\":"),
    ];
    // The root may hold the user's own files: never cleaned.
    let in_root = leftover(root, 4, b"the user's");

    let writer = open(root, "b");
    for path in &planted {
        assert!(!path.exists(), "{} is still there", path.display());
    }
    assert!(
        in_root.exists(),
        "a file in the archive root is never removed"
    );
    let report = writer.close().unwrap();
    for path in &planted {
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        assert!(
            report
                .recovery
                .iter()
                .any(|n| n.starts_with(&format!("removed unfinished {rel} "))),
            "{rel} not in {:?}",
            report.recovery
        );
    }

    // Exactly the ten events written, once, sealed and indexed; nothing of the strays.
    assert_eq!(data_events(root), beats(0, 10));
    let catalog = Catalog::open(root).unwrap();
    let files = catalog.find(&FileQuery::default()).unwrap();
    assert_eq!(
        files.iter().map(|m| m.stats.event_count).sum::<u64>(),
        10,
        "{files:?}"
    );
    assert!(files.iter().all(|m| !m.path.contains(TEMP_PREFIX)));
    let rebuilt = catalog.rebuild(root).unwrap();
    assert!(rebuilt.problems.is_empty(), "{:?}", rebuilt.problems);
    assert_eq!(rebuilt.registered, files.len());
    // No temp file anywhere under hot/ (the seal's own temp copy was renamed).
    assert!(reader::files_under(&root.join("hot"))
        .unwrap()
        .iter()
        .all(|p| !p.to_string_lossy().contains(TEMP_PREFIX)));
}
