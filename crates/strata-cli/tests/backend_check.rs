//! `strata backend check URL`: the capability table of a real server, `--json`, `--require`,
//! and exit codes. Garage 2.5.0 (which ignores `If-None-Match: *`) and moto 5.2.1 (which
//! enforces it) are started by the backend's test harness; credentials go in through the
//! `AWS_*` variables, as users give them.
#![cfg(feature = "s3")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::process::{Command, Output};

use strata_backend::prelude::*;

#[path = "../../strata-backend/tests/support/mod.rs"]
mod support;

fn check(args: &[&str], key: (&str, &str)) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["backend", "check"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", key.0)
        .env("AWS_SECRET_ACCESS_KEY", key.1)
        .env_remove("AWS_ENDPOINT")
        .env_remove("AWS_REGION")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garage_is_reported_unable_to_keep_create_only_writes() {
    let Some(garage) = support::garage_or_skip("garage_is_reported_unable") else {
        return;
    };
    let url = format!("s3://{}/tier", garage.bucket());
    let endpoint = garage.endpoint();
    let common = [
        url.as_str(),
        "--endpoint",
        endpoint.as_str(),
        "--region",
        "garage",
        "--path-style",
        "--allow-http",
    ];
    let out = check(&common, garage.credentials());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for expected in [
        "(s3, probed; its scratch objects removed unless a warning says otherwise)",
        "conditional_put",
        "ignored",
        "not supported (501 NotImplemented)",
        "create-only writes and WORM: refused: the server does not enforce conditional put",
    ] {
        assert!(stdout.contains(expected), "{expected:?} not in:\n{stdout}");
    }

    let mut args = common.to_vec();
    args.extend(["--json", "--require", "create-only"]);
    let out = check(&args, garage.credentials());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["provenance"], "probed");
    assert_eq!(doc["create_only"]["allowed"], false);
    assert_eq!(doc["capabilities"].as_array().unwrap().len(), 7);
    assert!(
        doc["unmet"][0].as_str().unwrap().contains("If-None-Match"),
        "{doc}"
    );
    assert_eq!(
        text(&out.stdout).lines().count(),
        1,
        "--json prints one document"
    );
    assert!(text(&out.stderr).contains("does not give what --require asks"));

    // Credentials the server refuses are an error (exit 1), not a table of unknowns.
    let out = check(&common, (garage.credentials().0, "not-the-secret"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("refused the credentials"),
        "{}",
        text(&out.stderr)
    );

    // The probes left nothing in the bucket.
    let root = garage.backend("");
    assert!(root.list("").await.unwrap().is_empty());
}

#[test]
fn moto_keeps_create_only_writes_and_bad_input_is_a_usage_error() {
    let Some(moto) = support::moto_or_skip("moto_keeps_create_only_writes") else {
        return;
    };
    let endpoint = moto.endpoint();
    let url = format!("s3://{}/p", support::BUCKET);
    let args = [
        url.as_str(),
        "--endpoint",
        endpoint.as_str(),
        "--path-style",
        "--allow-http",
        "--json",
        "--require",
        "create-only",
    ];
    let out = check(&args, ("k", "s"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["create_only"]["allowed"], true, "{doc}");
    assert_eq!(doc["object_lock"], false, "{doc}");

    // A server that cannot be reached is an error (exit 1), not a table of unknowns.
    let port = support::free_port().unwrap();
    let nowhere = format!("http://127.0.0.1:{port}");
    let out = check(
        &[&url, "--endpoint", &nowhere, "--path-style", "--allow-http"],
        ("k", "s"),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("error sending request"),
        "{}",
        text(&out.stderr)
    );

    // A local store needs no probe; a malformed URL is a usage error naming it.
    let out = check(&["memory://"], ("k", "s"));
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("by construction; nothing to probe"));
    let out = check(&["ftp://x/y"], ("k", "s"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("ftp"), "{}", text(&out.stderr));
}
