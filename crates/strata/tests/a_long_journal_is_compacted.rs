//! TIER-3: the lifecycle journal does not grow for ever. Once it is over 1 MiB with every
//! operation closed, a run replaces it by one checkpoint line that keeps the last operation id,
//! so the ids (by which the audit trail records each operation once) keep growing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use strata::archive::Archive;
use strata::import::{Format, ImportOptions};
use strata::ingest::WriterOptions;
use strata::model::Timestamp;

#[test]
fn a_big_closed_journal_becomes_one_checkpoint_and_ids_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::builder(dir.path()).open().unwrap();
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let spy = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/lean/equity/usa/tick/spy/20131007_trade.zip");
    archive
        .import_file(
            &writer,
            &spy,
            Format::Lean,
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    writer.close().unwrap();

    // 60,000 closed operations of earlier runs.
    let journal = dir.path().join("_lifecycle/journal.jsonl");
    std::fs::create_dir_all(journal.parent().unwrap()).unwrap();
    let old: String = (1..=60_000)
        .map(|id| format!("{{\"op\":\"done\",\"id\":{id}}}\n"))
        .collect();
    assert!(old.len() > 1 << 20);
    std::fs::write(&journal, old).unwrap();

    let report = archive
        .lifecycle_run(Timestamp::parse_flexible("2013-10-20").unwrap(), |_, _| {})
        .unwrap();
    assert_eq!(report.migrated.len(), 1, "{report:?}");
    let text = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        serde_json::json!({"op": "checkpoint", "id": 60_000})
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[1]["op"], "begin");
    assert_eq!(lines[1]["id"], 60_001);
    assert_eq!(lines[2], serde_json::json!({"op": "done", "id": 60_001}));
    // The operation is audited under its new id, and the next run has nothing to do.
    let trail = std::fs::read_to_string(dir.path().join("_lifecycle/audit.jsonl")).unwrap();
    assert!(trail.contains("\"op\":60001"), "{trail}");
    let again = archive
        .lifecycle_run(Timestamp::parse_flexible("2013-10-20").unwrap(), |_, _| {})
        .unwrap();
    assert_eq!(again.migrated.len() + again.resumed, 0);
    assert_eq!(std::fs::read_to_string(&journal).unwrap(), text);
}
