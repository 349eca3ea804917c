//! ARCH-4: with `compliance.approvals_required = 2`, an archive-tier file that retention would
//! delete is kept until two of the approvers in `compliance.approvers` have approved deleting
//! that very file with their keys (`strata approve PATH --key FILE`). The same approver twice,
//! a key that is not an approver's and a forged approval count for nothing; every approval is
//! audited, and once two are given the run deletes the file.

// Test helpers may panic: a failure here is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{json, strata, text};

use std::path::Path;

fn trade_decision(root: &str, now: &str) -> serde_json::Value {
    let plan = json(&strata(&[
        "--root",
        root,
        "--now",
        now,
        "--json",
        "lifecycle",
        "plan",
    ]));
    plan["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"].as_str().unwrap().contains("kind=trade"))
        .unwrap()
        .clone()
}

#[test]
fn an_archive_file_is_deleted_only_with_its_approvals() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive").to_str().unwrap().to_string();
    assert!(strata(&["init", &root, "-q"]).status.success());
    let mut keys = Vec::new();
    for who in ["alice", "bob", "mallory"] {
        let key = dir.path().join(format!("{who}.pem"));
        let made = json(&strata(&[
            "--json",
            "key",
            "generate",
            key.to_str().unwrap(),
        ]));
        keys.push((
            key.to_str().unwrap().to_string(),
            made["fingerprint"].as_str().unwrap().to_string(),
        ));
    }
    let (alice, bob, mallory) = (&keys[0], &keys[1], &keys[2]);
    // Trades are kept 30 days in the archive tier, which is not write-once here.
    let config = Path::new(&root).join("strata.toml");
    let toml = std::fs::read_to_string(&config)
        .unwrap()
        .replacen("archive = \"perpetual\"", "archive = { days = 30 }", 1)
        .replace("worm = true", "worm = false")
        .replace(
            "[compliance]\n",
            &format!(
                "[compliance]\napprovals_required = 2\napprovers = [\"{}.pub\", \"{}.pub\"]\n",
                alice.0, bob.0
            ),
        );
    std::fs::write(&config, toml).unwrap();
    let spy = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/lean/equity/usa/tick/spy/20131007_trade.zip");
    let out = strata(&[
        "--root",
        &root,
        "-q",
        "ingest",
        "--format",
        "lean",
        spy.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run = json(&strata(&[
        "--root",
        &root,
        "--now",
        "2014-11-15",
        "--json",
        "lifecycle",
        "run",
    ]));
    assert_eq!(run["ok"], true);
    let archived = json(&strata(&[
        "--root", &root, "--json", "ls", "--tier", "archive",
    ]));
    let path = archived[0]["path"].as_str().unwrap().to_string();

    // Past its 30 archive days: retention would delete it, the approvals keep it.
    let now = "2016-06-01";
    let d = trade_decision(&root, now);
    assert_eq!(d["action"], "protect", "{d}");
    assert_eq!(d["rule"], "compliance.approvals");
    assert!(
        d["reason"]
            .as_str()
            .unwrap()
            .contains("its deletion needs 2 approvals, none given"),
        "{d}"
    );
    let run = json(&strata(&[
        "--root",
        &root,
        "--now",
        now,
        "--json",
        "lifecycle",
        "run",
    ]));
    assert!(run["report"]["deleted"].as_array().unwrap().is_empty());

    // A key that is not an approver's is refused; a path outside the archive tier too.
    let refused = strata(&["--root", &root, "approve", &path, "--key", &mallory.0]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("is not one of compliance.approvers"),
        "{}",
        text(&refused.stderr)
    );
    let refused = strata(&[
        "--root",
        &root,
        "approve",
        "hot/nothing.jsonl",
        "--key",
        &alice.0,
    ]);
    assert!(
        text(&refused.stderr).contains("is not catalogued"),
        "{}",
        text(&refused.stderr)
    );

    // Alice approves, twice: one approval.
    for _ in 0..2 {
        let given = json(&strata(&[
            "--root", &root, "--json", "approve", &path, "--key", &alice.0, "--reason", "ticket 7",
        ]));
        assert_eq!(
            given["approvals"][0]["approved_by"],
            serde_json::json!([alice.1])
        );
    }
    let d = trade_decision(&root, now);
    assert_eq!(d["action"], "protect");
    assert!(
        d["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("1 given ({})", alice.1)),
        "{d}"
    );

    // A forged approval — Alice's signature under another key — counts for nothing.
    let approvals = Path::new(&root).join("_lifecycle/approvals.jsonl");
    let lines = std::fs::read_to_string(&approvals).unwrap();
    let mut record: serde_json::Value =
        serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    let alice_hex = record["approver"].as_str().unwrap().to_string();
    let forged_key = format!(
        "{}{}",
        &alice_hex[..63],
        if alice_hex.ends_with('0') { "1" } else { "0" }
    );
    record["approver"] = serde_json::Value::String(forged_key);
    std::fs::write(&approvals, format!("{lines}{record}\n")).unwrap();
    let d = trade_decision(&root, now);
    assert_eq!(d["action"], "protect", "a forged approval counted: {d}");

    // Bob approves: two approvers, the file is deleted by the next run, and all is audited.
    let given = json(&strata(&[
        "--root", &root, "--json", "approve", &path, "--key", &bob.0,
    ]));
    assert_eq!(
        given["approvals"][0]["approved_by"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let d = trade_decision(&root, now);
    assert_eq!(d["action"], "delete", "{d}");
    let run = json(&strata(&[
        "--root",
        &root,
        "--now",
        now,
        "--json",
        "lifecycle",
        "run",
    ]));
    assert_eq!(run["report"]["deleted"], serde_json::json!([path]));
    let trail = std::fs::read_to_string(Path::new(&root).join("_lifecycle/audit.jsonl")).unwrap();
    assert_eq!(trail.matches("\"action\":\"approve\"").count(), 3);
    assert!(trail.contains("ticket 7"));
    // Who: the user that ran each command.
    let record: serde_json::Value = serde_json::from_str(trail.lines().last().unwrap()).unwrap();
    assert!(!record["by"].as_str().unwrap().is_empty(), "{record}");
    assert!(strata(&["--root", &root, "verify"]).status.success());
}
