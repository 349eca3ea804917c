//! `strata init` and `strata config check` through the real binary: exit codes, messages, JSON.

// Test helpers may panic: a failure here is a test failure.
#![allow(clippy::expect_used)]

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

#[test]
fn init_then_check_succeeds_for_every_profile() {
    for profile in ["research", "low-latency", "archival"] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("archive");
        let root = root.to_str().unwrap();
        let out = strata(&["init", root, "--profile", profile]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let config = format!("{root}/strata.toml");
        let out = strata(&["config", "check", &config]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains(": ok (profile "), "{stdout}");
        let out = strata(&["--root", root, "--json", "config", "check"]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["ok"], true);
    }
}

#[test]
fn init_refuses_to_overwrite_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    assert!(strata(&["init", root]).status.success());
    let out = strata(&["init", root]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--force"),
        "{}",
        text(&out.stderr)
    );
    assert!(strata(&["init", root, "--force"]).status.success());
}

#[test]
fn a_bad_key_exits_2_naming_file_key_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("strata.toml");
    std::fs::write(&path, "[tiers.warm]\ncodec = \"zstd:99\"\n").unwrap();
    let out = strata(&["config", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("strata.toml: key `tiers.warm.codec`"),
        "{stderr}"
    );
    assert!(stderr.contains("level 99 is outside 1..=22"), "{stderr}");

    let out = strata(&["--json", "config", "check", path.to_str().unwrap()]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    assert!(doc["error"].as_str().unwrap().contains("tiers.warm.codec"));
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let out = strata(&["config", "check", "/nonexistent/strata.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/nonexistent/strata.toml"));
}

#[test]
fn config_show_prints_the_resolved_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(&path, "profile: archival\nstorage:\n  compress: false\n").unwrap();
    let out = strata(&["--json", "config", "show", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["storage"]["compress"], false);
    assert_eq!(doc["sinks"]["parquet"], true);
    let out = strata(&["config", "show", path.to_str().unwrap()]);
    assert!(text(&out.stdout).contains("compress = false"));
}

#[test]
fn bad_usage_exits_2() {
    assert_eq!(
        strata(&["--now", "yesterday", "config", "check"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        strata(&["init", "--profile", "fast"]).status.code(),
        Some(2)
    );
}

#[test]
fn codec_advise_measures_real_bytes_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("trades.jsonl");
    let mut body = String::new();
    for i in 0..20_000 {
        body.push_str(&format!(
            "{{\"v\":\"1.0\",\"kind\":\"trade\",\"source\":\"t\",\"symbol\":\"SPY\",\"ts\":{},\"price\":\"{}.{:02}\",\"size\":\"100\"}}\n",
            1_700_000_000_000_000_000i64 + i * 1_000_000,
            400 + i % 7,
            i % 100
        ));
    }
    std::fs::write(&data, &body).unwrap();
    let saved = dir.path().join("m.json");
    let out = strata(&[
        "--json",
        "codec",
        "advise",
        data.to_str().unwrap(),
        "--codecs",
        "none,lz4,zstd:1,gzip:6",
        "--min-ms",
        "20",
        "--min-ratio",
        "3",
        "--min-speed",
        "1",
        "--save",
        saved.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = &doc["reports"][0];
    assert_eq!(report["sample_bytes"], body.len());
    assert_eq!(report["measurements"].as_array().unwrap().len(), 4);
    let chosen = report["answers"][0]["advice"]["chosen"]["codec"]
        .as_str()
        .unwrap();
    assert_ne!(chosen, "none", "plain data cannot reach ratio 3");

    // Answer again from the saved figures; an impossible rule exits 1.
    let out = strata(&[
        "codec",
        "advise",
        "--measurements",
        saved.to_str().unwrap(),
        "--min-ratio",
        "1000000",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("no codec measured meets it"),
        "{}",
        text(&out.stdout)
    );
}

/// A sample in a format strata does not read (bzip2) is refused naming the file, not measured
/// as if its compressed bytes were the data; a gzip sample is measured decompressed.
#[test]
fn codec_advise_refuses_a_sample_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let bz2 = dir.path().join("trades.jsonl.bz2");
    // A bzip2 stream's head: `BZh9`, then a block's mark.
    let mut bytes = b"BZh91AY&SY".to_vec();
    bytes.extend_from_slice(&[0x5a; 64]);
    std::fs::write(&bz2, &bytes).unwrap();
    let out = strata(&["codec", "advise", bz2.to_str().unwrap(), "--min-ms", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: the content is bzip2, which no registered codec reads",
            bz2.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_write_once_tier_on_s3_is_pointed_to_backend_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("strata.toml");
    std::fs::write(
        &path,
        "[tiers.archive]\nbackend = \"s3://bucket/archive\"\nworm = true\nretain_days = 2555\n",
    )
    .unwrap();
    let out = strata(&["config", "check", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("key `tiers.archive.backend`")
            && stderr.contains(
                "strata backend check s3://bucket/archive --require create-only,object-lock"
            ),
        "{stderr}"
    );
    // retain_days without worm is a configuration error naming the key.
    std::fs::write(&path, "[tiers.cold]\nretain_days = 30\n").unwrap();
    let out = strata(&["config", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("tiers.cold.retain_days"));
}
