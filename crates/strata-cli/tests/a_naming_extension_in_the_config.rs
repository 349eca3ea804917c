//! A `strata.toml` whose `[layout] naming` names an extension (registered in code by a program
//! that embeds strata, unknown to the CLI): `config check` warns and exits 0, the read-only
//! commands work (they need only the index), and `catalog rebuild` works without moving the
//! index aside first.

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

/// An archive holding the SPY sample, whose config then names the extension `my_ext`.
fn archive_naming_an_extension(dir: &Path) -> String {
    let root = dir.join("archive");
    let root = root.to_str().unwrap().to_string();
    assert!(strata(&["init", &root, "-q"]).status.success());
    let spy = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/lean/equity/usa/tick/spy/20131007_trade.zip");
    let out = strata(&[
        "--root",
        &root,
        "--json",
        "ingest",
        "--format",
        "lean",
        spy.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let config = Path::new(&root).join("strata.toml");
    let toml = std::fs::read_to_string(&config).unwrap();
    assert_eq!(toml.matches("\n[layout]\n").count(), 1, "{toml}");
    let toml = toml.replace("\n[layout]\n", "\n[layout]\nnaming = \"my_ext\"\n");
    std::fs::write(&config, toml).unwrap();
    root
}

#[test]
fn config_check_warns_naming_the_key_and_the_value_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive_naming_an_extension(dir.path());
    let config = format!("{root}/strata.toml");
    let out = strata(&["config", "check", &config]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let warning = stderr
        .lines()
        .find(|l| l.starts_with("warning: "))
        .unwrap_or_else(|| panic!("no warning line: {stderr}"));
    for part in [
        "layout.naming",
        "\"my_ext\"",
        "must be registered by the embedding program",
    ] {
        assert!(warning.contains(part), "{part} missing: {warning}");
    }
    assert!(
        text(&out.stdout).contains(": ok ("),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stdout).contains("extension my_ext"));
    let out = strata(&["--json", "config", "check", &config]);
    assert_eq!(out.status.code(), Some(0));
    let doc = doc(&out);
    assert_eq!(doc["ok"], true);
    assert!(doc["warnings"][0]
        .as_str()
        .unwrap()
        .contains("must be registered by the embedding program"));
}

#[test]
fn read_only_commands_work_without_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive_naming_an_extension(dir.path());
    let out = strata(&["--root", &root, "--json", "ls"]);
    assert!(out.status.success(), "ls: {}", text(&out.stderr));
    let files = doc(&out);
    assert!(!files.as_array().unwrap().is_empty(), "{files}");
    let out = strata(&["--root", &root, "--json", "catalog", "stats"]);
    assert!(out.status.success(), "stats: {}", text(&out.stderr));
    assert!(doc(&out)["events"].as_u64().unwrap() > 0);
    let out = strata(&["--root", &root, "sessions"]);
    assert!(out.status.success(), "sessions: {}", text(&out.stderr));
}

#[test]
fn catalog_rebuild_works_and_moves_nothing_aside() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive_naming_an_extension(dir.path());
    let before = doc(&strata(&["--root", &root, "--json", "catalog", "stats"]));
    let out = strata(&["--root", &root, "--json", "catalog", "rebuild"]);
    assert!(out.status.success(), "rebuild: {}", text(&out.stderr));
    assert_eq!(doc(&out)["ok"], true);
    let aside: Vec<String> = std::fs::read_dir(Path::new(&root).join("_catalog"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("damaged"))
        .collect();
    assert!(aside.is_empty(), "moved aside: {aside:?}");
    let after = doc(&strata(&["--root", &root, "--json", "catalog", "stats"]));
    assert_eq!(before["events"], after["events"]);
    assert_eq!(before["files"], after["files"]);
}

#[test]
fn a_damaged_index_is_rebuilt_without_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive_naming_an_extension(dir.path());
    let before = doc(&strata(&["--root", &root, "--json", "catalog", "stats"]));
    let index = Path::new(&root).join("_catalog/index.sqlite");
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", index.display()));
    }
    std::fs::write(&index, vec![0x5a; 8192]).unwrap();
    let out = strata(&["--root", &root, "--json", "catalog", "rebuild"]);
    assert!(out.status.success(), "rebuild: {}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("moved it to"),
        "{}",
        text(&out.stderr)
    );
    let after = doc(&strata(&["--root", &root, "--json", "catalog", "stats"]));
    assert_eq!(before["events"], after["events"]);
    assert_eq!(before["files"], after["files"]);
}

#[test]
fn ingest_still_refuses_naming_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let root = archive_naming_an_extension(dir.path());
    let btc = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/binance/btcusdt_20240808_first3000.txt.gz");
    let out = strata(&[
        "--root",
        &root,
        "ingest",
        "--format",
        "binance",
        btc.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("my_ext"),
        "{}",
        text(&out.stderr)
    );
}

/// The same for the policies an `[extensions]` section names and a tier backend of a scheme of
/// one's own: `config check` warns once per named extension and per such tier and exits 0, the read-only commands work, `ingest` refuses naming the key.
#[test]
fn extensions_named_in_the_config_are_warned_about_and_reads_work_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    let root = root.to_str().unwrap().to_string();
    assert!(strata(&["init", &root, "-q"]).status.success());
    let spy = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/lean/equity/usa/tick/spy/20131007_trade.zip");
    let ingest = |file: &Path| {
        strata(&[
            "--root",
            &root,
            "--json",
            "ingest",
            "--format",
            "lean",
            file.to_str().unwrap(),
        ])
    };
    let out = ingest(&spy);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let config = format!("{root}/strata.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    assert!(!toml.contains("[extensions]"), "{toml}");
    toml.push_str(
        "\n[extensions]\nintegrity = \"strict_prices\"\nquotas = [\"desk_budget\"]\n\n\
         [extensions.settings.desk_budget]\nmax_bytes = 1000\n",
    );
    assert_eq!(toml.matches("\n[tiers.cold]\n").count(), 1, "{toml}");
    let toml = toml.replace(
        "\n[tiers.cold]\n",
        "\n[tiers.cold]\nbackend = \"slowfile:///tmp/cold\"\n",
    );
    std::fs::write(&config, toml).unwrap();

    let out = strata(&["config", "check", &config]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(warnings.len(), 3, "{stderr}");
    for part in [
        "tiers.cold.backend",
        "`slowfile://`",
        "register_backend",
        "must be registered by the embedding program",
    ] {
        assert!(
            warnings[2].contains(part),
            "{part} missing: {}",
            warnings[2]
        );
    }
    for (warning, key, name, call) in [
        (
            warnings[0],
            "extensions.integrity",
            "\"strict_prices\"",
            "register_integrity",
        ),
        (
            warnings[1],
            "extensions.quotas",
            "\"desk_budget\"",
            "register_quota",
        ),
    ] {
        for part in [
            key,
            name,
            call,
            "must be registered by the embedding program",
        ] {
            assert!(warning.contains(part), "{part} missing: {warning}");
        }
    }

    let out = strata(&["--root", &root, "--json", "catalog", "stats"]);
    assert!(out.status.success(), "stats: {}", text(&out.stderr));
    assert_eq!(doc(&out)["events"].as_u64(), Some(2_000));
    let out = strata(&["--root", &root, "--json", "ls"]);
    assert!(out.status.success(), "ls: {}", text(&out.stderr));

    let out = ingest(&spy);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("extensions.integrity = \"strict_prices\": no extension of that name"),
        "{stderr}"
    );
    let stats = doc(&strata(&["--root", &root, "--json", "catalog", "stats"]));
    assert_eq!(stats["events"].as_u64(), Some(2_000), "nothing written");
}
