//! `strata lifecycle plan` and `strata hold add|release|list` through the binary, on an
//! archive holding real trades (the Lean SPY cut of 2013-10-07), a quote file and heartbeats:
//! `--now` ages the data through the tiers, a hold keeps what retention would delete, quotas
//! act in the plan, and careless use gets clear errors.

// Test helpers may panic: a failure here is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .output()
        .expect("run strata")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn doc(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// An archive with the SPY trades of 2013-10-07 and heartbeats of the same day; `edit` changes
/// its default config's text first.
fn archive(dir: &Path, edit: impl Fn(String) -> String) -> String {
    let root = dir.join("archive");
    let root = root.to_str().unwrap().to_string();
    assert!(strata(&["init", &root, "-q"]).status.success());
    let config = Path::new(&root).join("strata.toml");
    let toml = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, edit(toml)).unwrap();
    let spy = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/lean/equity/usa/tick/spy/20131007_trade.zip");
    let beats = dir.join("beats.jsonl");
    std::fs::write(
        &beats,
        "{\"v\":\"1.3\",\"kind\":\"heartbeat\",\"source\":\"feed\",\"symbol\":\"SPY\",\"ts\":1381152600000000000}\n",
    )
    .unwrap();
    for (format, file) in [("lean", spy.as_path()), ("jsonl", beats.as_path())] {
        let out = strata(&[
            "--root",
            &root,
            "-q",
            "ingest",
            "--format",
            format,
            file.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    root
}

fn plan(root: &str, now: &str) -> serde_json::Value {
    let out = strata(&["--root", root, "--now", now, "--json", "lifecycle", "plan"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    doc(&out)
}

fn action_of<'a>(plan: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    plan["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            let path = d["path"].as_str().unwrap();
            path.contains(&format!("/{kind}/")) || path.contains(&format!("/kind={kind}/"))
        })
        .unwrap_or_else(|| panic!("no {kind} file in {plan}"))
}

#[test]
fn now_ages_the_data_through_the_tiers_with_the_rule_that_decides() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path(), |t| t);
    // The last trade is 2013-10-07 20:00 UTC: a day later it is hot, a week later warm, …
    let cases = [
        ("2013-10-08", "stay", None),
        ("2013-10-15", "migrate", Some("warm")),
        ("2013-12-01", "migrate", Some("cold")),
        ("2015-01-01", "migrate", Some("archive")),
    ];
    for (now, action, to) in cases {
        let plan = plan(&root, now);
        let trade = action_of(&plan, "trade");
        assert_eq!(trade["action"], action, "{now}: {trade}");
        assert_eq!(trade["rule"], "retention.default", "{now}: {trade}");
        assert!(
            trade["reason"].as_str().unwrap().starts_with("age "),
            "{trade}"
        );
        if let Some(to) = to {
            assert_eq!(trade["to"], to, "{now}");
        }
        assert_eq!(
            plan["decisions"].as_array().unwrap().len(),
            2,
            "one decision per file"
        );
    }
    // The default retention deletes heartbeats after 7 days.
    let later = plan(&root, "2013-10-20");
    let beat = action_of(&later, "heartbeat");
    assert_eq!(beat["action"], "delete");
    assert_eq!(beat["rule"], "retention.by_kind.heartbeat");
    // The table form names the same.
    let out = strata(&["--root", &root, "--now", "2013-10-20", "lifecycle", "plan"]);
    assert!(out.status.success());
    let table = text(&out.stdout);
    assert!(table.contains("retention.by_kind.heartbeat"), "{table}");
    assert!(
        text(&out.stderr)
            .contains("2 file(s) at 2013-10-20T00:00:00Z: 1 delete, 1 migrate to warm"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_hold_protects_its_scope_until_released_and_misuse_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path(), |t| t);
    let add = strata(&[
        "--root",
        &root,
        "--json",
        "hold",
        "add",
        "case-42",
        "--symbol",
        "SPY",
        "--kind",
        "heartbeat",
        "--from",
        "2013-10-01",
        "--to",
        "2013-10-31",
        "--reason",
        "SEC inquiry",
    ]);
    assert!(add.status.success(), "{}", text(&add.stderr));
    assert_eq!(
        doc(&add)["hold"]["covers"],
        "symbols SPY, kinds heartbeat, 2013-10-01..=2013-10-31"
    );
    let held = plan(&root, "2013-10-20");
    let beat = action_of(&held, "heartbeat");
    assert_eq!(beat["action"], "protect", "{beat}");
    assert_eq!(beat["rule"], "hold.case-42");
    assert_eq!(beat["by"]["hold"], "case-42");

    // The same name twice, reversed dates, an unknown kind, releasing what is not held.
    let twice = strata(&["--root", &root, "hold", "add", "case-42"]);
    assert_eq!(twice.status.code(), Some(1));
    assert!(text(&twice.stderr).contains("a hold named `case-42` is already in force"));
    let reversed = strata(&[
        "--root",
        &root,
        "hold",
        "add",
        "x",
        "--from",
        "2014-01-01",
        "--to",
        "2013-01-01",
    ]);
    assert_eq!(reversed.status.code(), Some(2));
    assert!(text(&reversed.stderr).contains("--from 2014-01-01 is after --to 2013-01-01"));
    let kind = strata(&["--root", &root, "hold", "add", "x", "--kind", "trades"]);
    assert_eq!(kind.status.code(), Some(2));
    let unknown = strata(&["--root", &root, "hold", "release", "case-7"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown.stderr).contains("no hold named `case-7` is in force (in force: case-42)")
    );

    let list = strata(&["--root", &root, "--json", "hold", "list"]);
    assert_eq!(doc(&list)["holds"].as_array().unwrap().len(), 1);
    assert!(strata(&["--root", &root, "hold", "release", "case-42"])
        .status
        .success());
    let released = plan(&root, "2013-10-20");
    assert_eq!(action_of(&released, "heartbeat")["action"], "delete");
}

#[test]
fn holds_placed_by_processes_at_once_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path(), |t| t);
    let children: Vec<_> = (0..8)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_strata"))
                .args([
                    "--root",
                    &root,
                    "-q",
                    "hold",
                    "add",
                    &format!("h{i}"),
                    "--symbol",
                    "SPY",
                ])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let list = strata(&["--root", &root, "--json", "hold", "list"]);
    let names: Vec<String> = doc(&list)["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, (0..8).map(|i| format!("h{i}")).collect::<Vec<_>>());
}

#[test]
fn a_damaged_hold_register_is_an_error_naming_it_not_an_empty_list() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path(), |t| t);
    let register = Path::new(&root).join("_catalog/holds.json");
    std::fs::write(&register, "{\"format\":1,\"holds\":[{\"name\":").unwrap();
    for args in [&["hold", "list"][..], &["lifecycle", "plan"][..]] {
        let out = strata(&[&["--root", root.as_str()][..], args].concat());
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("holds.json") && err.contains("not a hold register"),
            "{err}"
        );
    }
}

#[test]
fn drop_oldest_quota_deletes_in_the_plan_and_the_run_and_never_a_critical_kind() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path(), |toml| {
        let toml = toml.replace(
            "[classification.by_kind]\n",
            "[classification.by_kind]\ntrade = \"critical\"\n",
        );
        // The plan and the run are what this tests: no cleanup started by the ingests.
        let toml = toml.replace("cleanup_on_quota = true", "cleanup_on_quota = false");
        format!("{toml}\n[[quotas]]\nscope = \"global\"\nmax_files = 0\nmode = \"drop_oldest\"\n")
    });
    let planned = plan(&root, "2013-10-08");
    assert_eq!(action_of(&planned, "heartbeat")["action"], "delete");
    assert_eq!(action_of(&planned, "heartbeat")["rule"], "quota.global");
    assert_eq!(action_of(&planned, "trade")["action"], "stay");
    let quota = &planned["quotas"][0];
    assert_eq!(quota["files_before"], 2);
    assert_eq!(quota["files_after"], 1);
    assert!(
        quota["shortfall"].as_str().unwrap().contains("protected"),
        "{quota}"
    );
    // The run carries the deletion out: the heartbeat file is gone, the critical trades stay,
    // and the next plan has nothing more to delete.
    let heartbeat = action_of(&planned, "heartbeat")["path"]
        .as_str()
        .unwrap()
        .to_string();
    let run = strata(&["--root", &root, "--now", "2013-10-08", "lifecycle", "run"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(!Path::new(&root).join(&heartbeat).exists(), "{heartbeat}");
    let after = plan(&root, "2013-10-08");
    assert_eq!(action_of(&after, "trade")["action"], "stay");
    assert!(
        after["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["action"] != "delete" && d["path"] != heartbeat.as_str()),
        "{after}"
    );
    assert_eq!(after["quotas"][0]["files_before"], 1);
}

#[test]
fn a_run_is_audited_and_verify_finds_a_damaged_file_and_a_tampered_record() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path(), |t| t);
    assert!(
        strata(&["--root", &root, "-q", "hold", "add", "case-1", "--symbol", "AAPL"])
            .status
            .success()
    );
    let run = strata(&[
        "--root",
        &root,
        "--now",
        "2014-06-01",
        "--json",
        "lifecycle",
        "run",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let report = doc(&run);
    assert_eq!(
        report["report"]["migrated"].as_array().unwrap().len(),
        1,
        "{report}"
    );
    assert_eq!(
        report["report"]["deleted"].as_array().unwrap().len(),
        1,
        "{report}"
    );
    let ok = strata(&["--root", &root, "--json", "verify", "--deep"]);
    assert!(ok.status.success(), "{}", text(&ok.stdout));
    let ok = doc(&ok);
    assert_eq!(ok["report"]["files"], 1);
    assert_eq!(ok["report"]["events"], 2000);
    // The hold, the migration and the deletion, chained.
    assert_eq!(ok["report"]["audit"]["verified"], 3);
    let audit = Path::new(&root).join("_lifecycle/audit.jsonl");
    let trail = std::fs::read_to_string(&audit).unwrap();
    assert!(trail.contains("\"action\":\"hold.add\"") && trail.contains("\"action\":\"delete\""));
    assert!(trail.contains("retention.by_kind.heartbeat"), "{trail}");

    // One byte of the Parquet file changed: verify names it and exits 1.
    let catalogued = doc(&strata(&["--root", &root, "--json", "ls"]));
    let path = catalogued[0]["path"].as_str().unwrap().to_string();
    assert!(path.starts_with("cold/kind=trade/symbol=SPY/"), "{path}");
    let data = Path::new(&root).join(&path);
    let mut bytes = std::fs::read(&data).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&data, &bytes).unwrap();
    let bad = strata(&["--root", &root, "verify"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stdout).contains(&format!("FAILED {path}: SHA-256")),
        "{}",
        text(&bad.stdout)
    );
    bytes[middle] ^= 0x40;
    std::fs::write(&data, &bytes).unwrap();

    // A record edited, then one removed: the chain breaks at that line.
    let edited = trail.replacen("\"action\":\"delete\"", "\"action\":\"migrate\"", 1);
    std::fs::write(&audit, &edited).unwrap();
    let bad = strata(&["--root", &root, "verify"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stdout).contains("FAILED audit trail: line"),
        "{}",
        text(&bad.stdout)
    );
    let removed: String = trail.lines().skip(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(&audit, removed).unwrap();
    let bad = strata(&["--root", &root, "verify"]);
    assert!(
        text(&bad.stdout).contains("line 1"),
        "{}",
        text(&bad.stdout)
    );
    // Nothing more is recorded on a broken chain: a hold change is refused, naming the file.
    let refused = strata(&["--root", &root, "hold", "release", "case-1"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("audit chain is broken"),
        "{}",
        text(&refused.stderr)
    );
    let list = doc(&strata(&["--root", &root, "--json", "hold", "list"]));
    assert_eq!(
        list["holds"].as_array().unwrap().len(),
        1,
        "the refused release changed nothing"
    );
    let run = strata(&["--root", &root, "--now", "2016-01-01", "lifecycle", "run"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        text(&run.stderr).contains("audit chain is broken"),
        "{}",
        text(&run.stderr)
    );
}

#[test]
fn quota_status_and_forecast_report_usage_growth_and_the_full_date() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path(), |toml| {
        format!("{toml}\n[[quotas]]\nscope = {{ source = \"lean\" }}\nmax_bytes = 1000000\nmode = \"soft_limit\"\n")
    });
    let status = doc(&strata(&["--root", &root, "--json", "quota", "status"]));
    let q = &status["forecast"]["quotas"][0];
    assert_eq!(q["scope"], "source=lean");
    let used = q["used_bytes"].as_u64().unwrap();
    assert!(used > 10_000, "{status}");
    assert_eq!(q["used_files"], 1);
    // A day after the data: all of it is the last week's growth; the lean quota fills when
    // the rest of its million bytes is used at that rate.
    let f = doc(&strata(&[
        "--root",
        &root,
        "--now",
        "2013-10-08",
        "--json",
        "quota",
        "forecast",
        "--horizon",
        "4w",
        "--window",
        "7d",
    ]));
    let f = &f["forecast"];
    assert_eq!(f["horizon_days"], 28);
    let per_day = f["by_source"]["lean"]["bytes_per_day"].as_f64().unwrap();
    assert!((per_day - used as f64 / 7.0).abs() < 1e-6, "{f}");
    let days = ((1_000_000 - used) as f64 / per_day).ceil() as u64;
    let full = chrono::NaiveDate::from_ymd_opt(2013, 10, 8).unwrap() + chrono::Days::new(days);
    assert_eq!(f["quotas"][0]["full_on"], full.to_string(), "{f}");
    // Years later, no growth in the window: never full.
    let later = doc(&strata(&[
        "--root",
        &root,
        "--now",
        "2020-01-01",
        "--json",
        "quota",
        "forecast",
    ]));
    assert_eq!(
        later["forecast"]["quotas"][0]["full_on"],
        serde_json::Value::Null
    );
    let bad = strata(&["--root", &root, "quota", "forecast", "--horizon", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn write_once_archive_files_are_protected_when_their_retention_ends() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path(), |toml| {
        toml.replacen("archive = \"perpetual\"", "archive = { days = 30 }", 1)
    });
    let run = strata(&[
        "--root",
        &root,
        "--now",
        "2014-11-20",
        "-q",
        "lifecycle",
        "run",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    // Past hot + warm + cold + 30 archive days the table says delete; the default archive tier
    // is write-once (without retain_days: for good), so the plan keeps the file and says why.
    let later = plan(&root, "2016-06-01");
    let trade = action_of(&later, "trade");
    assert_eq!(trade["action"], "protect", "{trade}");
    assert_eq!(trade["rule"], "worm");
    assert!(
        trade["reason"].as_str().unwrap().contains("write-once"),
        "{trade}"
    );
}

#[test]
fn an_interrupted_deletion_is_left_to_the_next_plan_not_redone_over_a_new_hold() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path(), |t| t);
    let plan_then = plan(&root, "2013-10-20");
    let beat = action_of(&plan_then, "heartbeat")["path"]
        .as_str()
        .unwrap()
        .to_string();
    // A run killed right after journaling the deletion's `begin` …
    std::fs::create_dir_all(Path::new(&root).join("_lifecycle")).unwrap();
    std::fs::write(
        Path::new(&root).join("_lifecycle/journal.jsonl"),
        format!("{{\"op\":\"begin\",\"id\":1,\"action\":\"delete\",\"source\":\"{beat}\",\"at\":1382227200000000000}}\n"),
    )
    .unwrap();
    // … then a hold placed over the file before the next run.
    assert!(strata(&[
        "--root",
        &root,
        "-q",
        "hold",
        "add",
        "keep-beats",
        "--kind",
        "heartbeat"
    ])
    .status
    .success());
    let run = strata(&[
        "--root",
        &root,
        "--now",
        "2013-10-20",
        "--json",
        "lifecycle",
        "run",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let report = doc(&run);
    assert_eq!(
        report["report"]["deleted"].as_array().unwrap().len(),
        0,
        "{report}"
    );
    assert!(
        Path::new(&root).join(&beat).is_file(),
        "the held file is still there"
    );
    let journal =
        std::fs::read_to_string(Path::new(&root).join("_lifecycle/journal.jsonl")).unwrap();
    assert!(
        journal.contains("\"op\":\"abandoned\",\"id\":1"),
        "{journal}"
    );
    let again = plan(&root, "2013-10-20");
    assert_eq!(action_of(&again, "heartbeat")["action"], "protect");

    // A run killed further on, after the deletion took the sidecar: the held file stays, its
    // sidecar comes back, and nothing is audited as deleted.
    let sidecar = {
        let path = Path::new(&root).join(&beat);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        path.with_file_name(format!("{name}.manifest.json"))
    };
    assert!(sidecar.is_file(), "{}", sidecar.display());
    let kept = std::fs::read(&sidecar).unwrap();
    std::fs::remove_file(&sidecar).unwrap();
    std::fs::write(
        Path::new(&root).join("_lifecycle/journal.jsonl"),
        format!("{{\"op\":\"begin\",\"id\":2,\"action\":\"delete\",\"source\":\"{beat}\",\"at\":1382227200000000000}}\n"),
    )
    .unwrap();
    let run = strata(&[
        "--root",
        &root,
        "--now",
        "2013-10-20",
        "--json",
        "lifecycle",
        "run",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let report = doc(&run);
    assert_eq!(
        report["report"]["deleted"].as_array().unwrap().len(),
        0,
        "{report}"
    );
    assert_eq!(report["report"]["held"][0][0], beat.as_str(), "{report}");
    assert_eq!(report["report"]["held"][0][1], "keep-beats", "{report}");
    assert!(Path::new(&root).join(&beat).is_file());
    let json = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes).unwrap();
    assert_eq!(
        json(&std::fs::read(&sidecar).unwrap()),
        json(&kept),
        "the sidecar came back with the same manifest"
    );
    let trail = std::fs::read_to_string(Path::new(&root).join("_lifecycle/audit.jsonl")).unwrap();
    assert!(!trail.contains("\"action\":\"delete\""), "{trail}");
    let verify = strata(&["--root", &root, "verify", "--deep"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

#[test]
fn the_write_once_archive_tier_keeps_its_files_read_only_and_verify_checks_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path(), |t| t);
    let run = strata(&["--root", &root, "--now", "2015-01-01", "lifecycle", "run"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let catalogued = doc(&strata(&[
        "--root", &root, "--json", "ls", "--tier", "archive",
    ]));
    let path = catalogued[0]["path"].as_str().unwrap().to_string();
    let data = Path::new(&root).join(&path);
    // Beside a Parquet file the sidecar's name starts with `_`, which dataset readers skip.
    let (folder, name) = path.rsplit_once('/').unwrap();
    let sidecar = Path::new(&root).join(format!("{folder}/_{name}.manifest.json"));
    for file in [&data, &sidecar] {
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o222, 0, "{} is writable: {mode:o}", file.display());
    }
    assert!(strata(&["--root", &root, "verify"]).status.success());
    // A Parquet file dropped into the tier behind strata's back: dataset readers would read
    // it, so verify names it.
    let evil = format!("{folder}/evil.parquet");
    std::fs::write(Path::new(&root).join(&evil), b"PAR1").unwrap();
    let bad = strata(&["--root", &root, "verify"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stdout).contains(&format!(
            "FAILED {evil}: in the archive tier but not in the catalog"
        )),
        "{}",
        text(&bad.stdout)
    );
    std::fs::remove_file(Path::new(&root).join(&evil)).unwrap();
    // Made writable behind strata's back: verify names it.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o644)).unwrap();
    let bad = strata(&["--root", &root, "verify"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stdout).contains(&format!(
            "FAILED {path}: the archive tier is write-once, but"
        )),
        "{}",
        text(&bad.stdout)
    );
}

#[test]
fn a_tier_over_its_size_cap_moves_its_oldest_files_on() {
    let dir = tempfile::tempdir().unwrap();
    // The hot tier may hold 1,000 bytes: a day's trades do not fit.
    let root = archive(dir.path(), |t| {
        t.replacen(
            "codec = \"none\"\nworm = false",
            "codec = \"none\"\nworm = false\nmax_bytes = 1000",
            1,
        )
    });
    let plan = plan(&root, "2013-10-08");
    let trade = action_of(&plan, "trade");
    assert_eq!(trade["action"], "migrate", "{trade}");
    assert_eq!(trade["to"], "warm");
    assert_eq!(trade["rule"], "tiers.hot.max_bytes");
    let cap = &plan["tier_caps"][0];
    assert_eq!(cap["tier"], "hot");
    assert!(cap["bytes_before"].as_u64().unwrap() > 1000);
    assert!(cap["bytes_after"].as_u64().unwrap() <= 1000, "{cap}");
    let table = strata(&["--root", &root, "--now", "2013-10-08", "lifecycle", "plan"]);
    assert!(
        text(&table.stdout).contains("tier hot cap 1000:"),
        "{}",
        text(&table.stdout)
    );
    let run = strata(&["--root", &root, "--now", "2013-10-08", "lifecycle", "run"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let hot = doc(&strata(&["--root", &root, "--json", "ls", "--tier", "hot"]));
    let left: u64 = hot
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["size_bytes"].as_u64().unwrap())
        .sum();
    assert!(left <= 1000, "{hot}");
}

#[test]
fn automation_rules_move_files_and_record_requests_on_their_interval() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path(), |toml| {
        assert!(toml.contains("\nrules = []\n"), "the template lists rules");
        format!(
            "{}\n[[rules]]\nname = \"trades-to-cold\"\nwhen = {{ kinds = [\"trade\"], min_age_days = 2 }}\n\
             action = {{ move = \"cold\" }}\n\n[[rules]]\nname = \"tell\"\n\
             when = {{ symbols = [\"SPY\"], kinds = [\"trade\"] }}\naction = \"notify\"\nevery = \"1d\"\n",
            toml.replace("\nrules = []\n", "\n")
        )
    });
    // Two days on, the retention table would keep the trades in warm; the rule sends them to
    // cold, and the trade file gets a notification too.
    let planned = plan(&root, "2013-10-10");
    let trade = action_of(&planned, "trade");
    assert_eq!(trade["rule"], "rules.trades-to-cold", "{trade}");
    assert_eq!(trade["action"], "migrate", "{trade}");
    assert_eq!(trade["to"], "cold", "{trade}");
    let requests = planned["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{planned}");
    assert_eq!(requests[0]["rule"], "rules.tell");
    assert_eq!(requests[0]["action"], "notify");
    let table = strata(&["--root", &root, "--now", "2013-10-10", "lifecycle", "plan"]);
    let said = text(&table.stdout);
    assert!(said.contains("rule tell: due, 1 file(s) matched"), "{said}");
    assert!(said.contains("request rules.tell notify"), "{said}");

    let run = strata(&["--root", &root, "--now", "2013-10-10", "lifecycle", "run"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(
        text(&run.stdout).contains("1 request(s)"),
        "{}",
        text(&run.stdout)
    );
    let recorded =
        std::fs::read_to_string(Path::new(&root).join("_lifecycle/requests.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = recorded
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{recorded}");
    assert_eq!(lines[0]["rule"], "rules.tell");
    assert!(
        lines[0]["path"].as_str().unwrap().contains("trade"),
        "{recorded}"
    );
    let after = plan(&root, "2013-10-10");
    let trade = action_of(&after, "trade");
    assert_eq!(trade["tier"], "cold", "{trade}");
    assert!(
        trade["path"].as_str().unwrap().ends_with(".parquet"),
        "{trade}"
    );
    // Run again within the day: the notification is not due, nothing more is recorded.
    assert!(
        after["requests"].as_array().is_none_or(|r| r.is_empty()),
        "{after}"
    );
    let again = strata(&[
        "--root",
        &root,
        "--now",
        "2013-10-10T12:00:00Z",
        "lifecycle",
        "run",
    ]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let recorded =
        std::fs::read_to_string(Path::new(&root).join("_lifecycle/requests.jsonl")).unwrap();
    assert_eq!(recorded.lines().count(), 1, "{recorded}");
    // A day later it is due again.
    let later = plan(&root, "2013-10-11T01:00:00Z");
    assert_eq!(later["requests"].as_array().unwrap().len(), 1, "{later}");

    // A rule that cannot work is refused by name.
    let config = Path::new(&root).join("strata.toml");
    let toml = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, toml.replace("every = \"1d\"", "every = \"1w\"")).unwrap();
    let bad = strata(&["--root", &root, "config", "check"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains("rules[1].every"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn a_compress_rule_rewrites_a_warm_file_in_place_with_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path(), |toml| toml);
    // Retention moves the trades to warm (zstd 3) first.
    let run = strata(&["--root", &root, "--now", "2013-10-10", "lifecycle", "run"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let before = plan(&root, "2013-10-10");
    let warm = action_of(&before, "trade").clone();
    assert_eq!(warm["tier"], "warm", "{warm}");
    let deep = |root: &str| {
        let out = strata(&["--root", root, "--json", "verify", "--deep"]);
        assert!(out.status.success(), "{}", text(&out.stdout));
        doc(&out)["report"]["events"].as_u64().unwrap()
    };
    let events = deep(&root);
    let config = Path::new(&root).join("strata.toml");
    let toml = std::fs::read_to_string(&config)
        .unwrap()
        .replace("\nrules = []\n", "\n");
    std::fs::write(
        &config,
        format!("{toml}\n[[rules]]\nname = \"squeeze\"\nwhen = {{ tier = \"warm\" }}\naction = {{ compress = \"zstd:19\" }}\n"),
    )
    .unwrap();
    let planned = plan(&root, "2013-10-10");
    let trade = action_of(&planned, "trade");
    assert_eq!(trade["rule"], "rules.squeeze", "{trade}");
    assert_eq!(trade["to"], "warm", "{trade}");
    let run = strata(&["--root", &root, "--now", "2013-10-10", "lifecycle", "run"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let after = plan(&root, "2013-10-10");
    let trade = action_of(&after, "trade");
    // Rewritten once (the file now has the rule's codec, so the rule no longer applies), every
    // event kept, the old file gone, and the archive verifies.
    assert_ne!(trade["path"], warm["path"], "{trade}");
    assert!(!Path::new(&root)
        .join(warm["path"].as_str().unwrap())
        .exists());
    assert_ne!(trade["rule"], "rules.squeeze", "{trade}");
    assert_eq!(deep(&root), events);
    let listed = doc(&strata(&[
        "--root", &root, "--json", "ls", "--kind", "trade",
    ]));
    assert!(listed.to_string().contains("zstd:19"), "{listed}");
}

#[test]
fn an_ingest_over_a_soft_limit_starts_the_cleanup_and_goes_on_writing() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive(dir.path(), |toml| toml);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let day = 86_400_000_000_000i64;
    let jsonl = |name: &str, kind: &str, extra: &str| {
        let path = dir.path().join(name);
        let lines: String = (0..3)
            .map(|i| {
                format!(
                    "{{\"v\":\"1.3\",\"kind\":\"{kind}\",\"source\":\"feed\",\"symbol\":\"SPY\",\"ts\":{}{extra}}}\n",
                    now - day + i * 1_000_000_000
                )
            })
            .collect();
        std::fs::write(&path, lines).unwrap();
        path.to_str().unwrap().to_string()
    };
    let ingest = |file: &str| {
        let out = strata(&[
            "--root", &root, "--json", "ingest", "--format", "jsonl", file,
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        doc(&out)
    };
    // Yesterday's heartbeats, young enough that retention keeps them, stored before the quota.
    let beats = ingest(&jsonl("beats.jsonl", "heartbeat", ""));
    assert_eq!(beats["quota_cleanup"]["runs"], 0, "{beats}");
    let config = Path::new(&root).join("strata.toml");
    let toml = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{toml}\n[[quotas]]\nscope = \"global\"\nmax_bytes = 1\nmode = \"soft_limit\"\n"),
    )
    .unwrap();
    // Trades over the limit: stored all the same, and the cleanup deletes the heartbeats —
    // yesterday's by the quota, the 2013 ones because retention already had — never trades
    // (standard data, which soft_limit does not take).
    let trades = ingest(&jsonl(
        "trades.jsonl",
        "trade",
        ",\"price\":\"170.5\",\"size\":\"100\"",
    ));
    assert_eq!(trades["events"], 3, "{trades}");
    // One during the ingest, one after its close (which finds nothing more it may delete).
    assert_eq!(trades["quota_cleanup"]["runs"], 2, "{trades}");
    assert_eq!(trades["quota_cleanup"]["files_deleted"], 2, "{trades}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(trades["report"].as_str().unwrap()).unwrap())
            .unwrap();
    assert!(
        report["quota_signals"].as_array().unwrap().iter().any(|s| s
            .as_str()
            .unwrap()
            .starts_with("quota cleanup deleted 2 file(s)")),
        "{report}"
    );
    let trail = std::fs::read_to_string(Path::new(&root).join("_lifecycle/audit.jsonl")).unwrap();
    let mut whys: Vec<String> = trail
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["action"] == "delete")
        .map(|r| {
            assert!(r["subject"].as_str().unwrap().contains("heartbeat"), "{r}");
            r["why"]
                .as_str()
                .unwrap()
                .split(':')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    whys.sort();
    assert_eq!(
        whys,
        ["quota.global", "retention.by_kind.heartbeat"],
        "{trail}"
    );
    // What stays: the 2013 trades and the new ones.
    let planned = plan(&root, "2013-10-08");
    let decisions = planned["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 2, "{planned}");
    assert!(
        decisions
            .iter()
            .all(|d| d["path"].as_str().unwrap().contains("/trade/")),
        "{planned}"
    );
    let verify = strata(&["--root", &root, "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}
