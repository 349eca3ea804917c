//! TIER-4 through the binary: an archive of hourly hot files (the Lean SPY trades of 2013-10-07
//! and AIG quotes of 2013-10-09) whose warm tier consolidates weekly. `--now` ages the data:
//! while the week is open files reach warm one by one; once it has ended each kind and symbol
//! becomes one warm file whose lineage names every hourly file, with every event kept, the
//! checksums and the audit trail in order, and a second run finds nothing to do.

// Test helpers may panic: a failure here is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{json, strata, testdata, text};

use std::path::Path;

/// Catalogued files of a tier: path and manifest, the sidecar beside the data checked equal.
fn files(root: &str, tier: &str) -> Vec<(String, serde_json::Value)> {
    let out = json(&strata(&["--root", root, "--json", "ls", "--tier", tier]));
    out.as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let path = m["path"].as_str().unwrap().to_string();
            let sidecar = Path::new(root).join(format!("{path}.manifest.json"));
            let beside: serde_json::Value =
                serde_json::from_slice(&std::fs::read(sidecar).unwrap()).unwrap();
            assert_eq!(&beside, m, "{path}: the sidecar and the index differ");
            (path, m.clone())
        })
        .collect()
}

fn events(files: &[(String, serde_json::Value)]) -> u64 {
    files
        .iter()
        .map(|(_, m)| m["stats"]["event_count"].as_u64().unwrap())
        .sum()
}

#[test]
fn an_ended_week_becomes_one_file_per_kind_and_symbol() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive").to_str().unwrap().to_string();
    assert!(strata(&["init", &root, "-q"]).status.success());
    let config = Path::new(&root).join("strata.toml");
    let toml = std::fs::read_to_string(&config)
        .unwrap()
        .replace("granularity = \"daily\"", "granularity = \"hourly\"")
        .replace(
            "codec = \"zstd:3\"\nworm = false",
            "codec = \"zstd:3\"\nworm = false\nconsolidate = \"weekly\"",
        );
    assert!(toml.contains("consolidate = \"weekly\""));
    std::fs::write(&config, toml).unwrap();
    for file in [
        "lean/equity/usa/tick/spy/20131007_trade.zip",
        "lean/equity/usa/tick/aig/20131009_quote.zip",
    ] {
        let out = strata(&[
            "--root",
            &root,
            "-q",
            "ingest",
            "--format",
            "lean",
            testdata(file).to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let hot = files(&root, "hot");
    assert!(hot.len() >= 6, "{} hourly files", hot.len());
    let total = events(&hot);

    let trades: Vec<String> = hot
        .iter()
        .filter(|(p, _)| p.contains("/trade/"))
        .map(|(p, _)| p.clone())
        .collect();
    let quotes: Vec<String> = hot
        .iter()
        .filter(|(p, _)| !p.contains("/trade/"))
        .map(|(p, _)| p.clone())
        .collect();

    // Thursday 2013-10-10: the Monday trades are due for warm by their age and go there one by
    // one; week 2013-W41 (Monday 7 to Sunday 13 October) has not ended, so nothing is merged.
    let now = "2013-10-10";
    let plan = json(&strata(&[
        "--root",
        &root,
        "--now",
        now,
        "--json",
        "lifecycle",
        "plan",
    ]));
    for d in plan["decisions"].as_array().unwrap() {
        let expected = if d["path"].as_str().unwrap().contains("/trade/") {
            "migrate"
        } else {
            "stay"
        };
        assert_eq!(d["action"], expected, "{d}");
    }
    let run = json(&strata(&[
        "--root",
        &root,
        "--now",
        now,
        "--json",
        "lifecycle",
        "run",
    ]));
    assert_eq!(
        run["report"]["migrated"].as_array().unwrap().len(),
        trades.len()
    );
    let warm_trades: Vec<String> = files(&root, "warm").into_iter().map(|(p, _)| p).collect();
    assert_eq!(warm_trades.len(), trades.len());

    // Sunday 2013-10-20: the week has ended. The warm trade files there become one; the quote
    // files arriving from hot together become one.
    let now = "2013-10-20";
    let plan = json(&strata(&[
        "--root",
        &root,
        "--now",
        now,
        "--json",
        "lifecycle",
        "plan",
    ]));
    let decisions = plan["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), trades.len() + quotes.len());
    for d in decisions {
        assert_eq!(d["action"], "consolidate", "{d}");
        assert_eq!(d["to"], "warm");
        assert_eq!(d["period"], "2013-W41");
        assert_eq!(d["rule"], "tiers.warm.consolidate");
        let path = d["path"].as_str().unwrap();
        let (members, why) = if path.contains("/trade/") {
            (trades.len(), "2013-W41 has ended")
        } else {
            (quotes.len(), "2013-W41 arrives with")
        };
        assert_eq!(d["members"].as_u64().unwrap() as usize, members, "{d}");
        assert!(d["reason"].as_str().unwrap().contains(why), "{d}");
    }
    let table = strata(&["--root", &root, "--now", now, "lifecycle", "plan"]);
    assert!(text(&table.stdout).contains("consolidate into warm (2013-W41"));

    let run = json(&strata(&[
        "--root",
        &root,
        "--now",
        now,
        "--json",
        "lifecycle",
        "run",
    ]));
    assert_eq!(run["ok"], true);
    let consolidated = run["report"]["consolidated"].as_array().unwrap();
    assert_eq!(consolidated.len(), 2, "{run}");
    assert_eq!(run["report"]["events_moved"].as_u64().unwrap(), total);

    // One warm file per kind and symbol, named after the week in place of the source's date,
    // holding every event, with every file it was made from (and theirs) as parents.
    assert!(files(&root, "hot").is_empty());
    let warm = files(&root, "warm");
    assert_eq!(warm.len(), 2, "{warm:?}");
    assert_eq!(events(&warm), total);
    for (path, manifest) in &warm {
        assert!(path.ends_with("/2013-W41.jsonl.zst"), "{path}");
        assert_eq!(manifest["seal_reason"], "consolidate");
        let parents: Vec<&str> = manifest["lineage"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["parent_path"].as_str().unwrap())
            .collect();
        let mut expected: Vec<&str> = Vec::new();
        if path.contains("/trade/") {
            for (hot, warm) in trades.iter().zip(&warm_trades) {
                expected.push(hot);
                expected.push(warm);
            }
        } else {
            expected.extend(quotes.iter().map(String::as_str));
        }
        let mut sorted = parents.clone();
        sorted.sort_unstable();
        expected.sort_unstable();
        assert_eq!(sorted, expected, "{path}");
        // Its statistics are the hourly files' together.
        let of_kind = hot
            .iter()
            .filter(|(_, m)| m["partition"]["kind"] == manifest["partition"]["kind"]);
        let first = of_kind
            .clone()
            .map(|(_, m)| m["stats"]["first_event_time"].as_i64().unwrap())
            .min();
        let last = of_kind
            .map(|(_, m)| m["stats"]["last_event_time"].as_i64().unwrap())
            .max();
        assert_eq!(manifest["stats"]["first_event_time"].as_i64(), first);
        assert_eq!(manifest["stats"]["last_event_time"].as_i64(), last);
        // A week is not a layout period: the sidecar names none.
        assert_eq!(manifest["partition"].get("period"), None, "{path}");
    }
    let verify = strata(&["--root", &root, "verify", "--deep"]);
    assert!(verify.status.success(), "{}", text(&verify.stderr));
    // The audit trail names every file consolidated.
    let trail = std::fs::read_to_string(Path::new(&root).join("_lifecycle/audit.jsonl")).unwrap();
    assert_eq!(trail.matches("\"action\":\"consolidate\"").count(), 2);
    for path in warm_trades.iter().chain(&quotes) {
        assert!(
            trail.contains(path.as_str()),
            "{path} is not in the audit trail"
        );
    }

    // The same run again has nothing to do.
    let again = json(&strata(&[
        "--root",
        &root,
        "--now",
        now,
        "--json",
        "lifecycle",
        "run",
    ]));
    assert_eq!(again["report"]["consolidated"].as_array().unwrap().len(), 0);
    assert_eq!(again["report"]["migrated"].as_array().unwrap().len(), 0);
}
