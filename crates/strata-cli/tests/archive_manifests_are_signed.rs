//! ARCH-3: the archive tier's manifest, signed with ed25519. `strata key generate` makes a key
//! (and OpenSSL's keys are read as well); a lifecycle run that changes the archive tier writes
//! the next manifest and its signature into the tier; OpenSSL verifies the signature as it is;
//! `strata verify` checks it with the trusted key and names a changed manifest, a manifest
//! signed by another key, and an archive file the manifest does not list.

// Test helpers may panic: a failure here is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{json, strata, text};

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl (installed by .ci/run)")
}

fn set_compliance(root: &str, lines: &str) {
    let config = Path::new(root).join("strata.toml");
    let toml = std::fs::read_to_string(&config).unwrap();
    let start = toml.find("[compliance]").unwrap();
    let end = toml[start..].find("\n\n").map_or(toml.len(), |n| start + n);
    let toml = format!("{}[compliance]\n{lines}{}", &toml[..start], &toml[end..]);
    std::fs::write(&config, toml).unwrap();
}

#[test]
fn the_archive_manifest_is_signed_and_verify_checks_it_against_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive").to_str().unwrap().to_string();
    assert!(strata(&["init", &root, "-q"]).status.success());
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

    // A key: owner-only private half, public half beside it; never replaced.
    let key = dir.path().join("archive-signing.pem");
    let key = key.to_str().unwrap();
    let made = json(&strata(&["--json", "key", "generate", key]));
    assert_eq!(made["public_key"], format!("{key}.pub"));
    let mode = std::fs::metadata(key).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the private key is readable by others: {mode:o}"
    );
    let again = strata(&["key", "generate", key]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("archive-signing.pem"),
        "{}",
        text(&again.stderr)
    );
    set_compliance(&root, &format!("signing_key = \"{key}\"\n"));

    // Before anything reaches the archive tier: nothing to sign.
    let run = json(&strata(&[
        "--root",
        &root,
        "--now",
        "2013-10-20",
        "--json",
        "lifecycle",
        "run",
    ]));
    assert_eq!(run["report"]["signed_manifest"], serde_json::Value::Null);
    // The trades reach the write-once archive tier: manifest 1 is written and signed.
    let run = json(&strata(&[
        "--root",
        &root,
        "--now",
        "2015-01-01",
        "--json",
        "lifecycle",
        "run",
    ]));
    assert_eq!(run["report"]["signed_manifest"], 1, "{run}");
    let folder = Path::new(&root).join("archive/_manifests");
    let manifest = folder.join("000001.json");
    let signature = folder.join("000001.json.sig");
    assert_eq!(std::fs::read(&signature).unwrap().len(), 64);
    let listed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let archived = json(&strata(&[
        "--root", &root, "--json", "ls", "--tier", "archive",
    ]));
    assert_eq!(listed["files"].as_array().unwrap().len(), 1);
    assert_eq!(listed["files"][0]["path"], archived[0]["path"]);
    assert_eq!(listed["files"][0]["sha256"], archived[0]["sha256"]);
    assert_eq!(listed["prev_sha256"], serde_json::Value::Null);

    // OpenSSL checks the signature with the public key file as it is.
    let checked = openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        &format!("{key}.pub"),
        "-rawin",
        "-in",
        manifest.to_str().unwrap(),
        "-sigfile",
        signature.to_str().unwrap(),
    ]);
    assert!(
        checked.status.success(),
        "{}{}",
        text(&checked.stdout),
        text(&checked.stderr)
    );

    // verify: signed, chained, listing every archive file; the same run again writes nothing.
    let ok = strata(&["--root", &root, "verify"]);
    assert!(ok.status.success(), "{}", text(&ok.stdout));
    assert!(
        text(&ok.stdout).contains("archive manifests: 1 signed"),
        "{}",
        text(&ok.stdout)
    );
    assert!(text(&ok.stdout).contains("(trusted)"));
    let run = json(&strata(&[
        "--root",
        &root,
        "--now",
        "2015-01-01",
        "--json",
        "lifecycle",
        "run",
    ]));
    assert_eq!(run["report"]["signed_manifest"], serde_json::Value::Null);
    // The manifests are not data: a catalog rebuild leaves them out, and verify still passes.
    assert!(strata(&["--root", &root, "-q", "catalog", "rebuild"])
        .status
        .success());
    assert!(strata(&["--root", &root, "verify"]).status.success());

    // A changed manifest (a file's checksum rewritten to match a swapped file): named.
    let original = std::fs::read(&manifest).unwrap();
    std::fs::set_permissions(&manifest, std::fs::Permissions::from_mode(0o644)).unwrap();
    let sha = listed["files"][0]["sha256"].as_str().unwrap();
    let forged = text(&original).replace(sha, &"0".repeat(64));
    std::fs::write(&manifest, forged).unwrap();
    let bad = strata(&["--root", &root, "verify"]);
    assert_eq!(bad.status.code(), Some(1));
    let said = text(&bad.stdout);
    assert!(
        said.contains("000001.json: the signature does not verify"),
        "{said}"
    );
    assert!(
        said.contains("the signed _manifests/000001.json says 0000"),
        "{said}"
    );
    std::fs::write(&manifest, &original).unwrap();
    std::fs::set_permissions(&manifest, std::fs::Permissions::from_mode(0o444)).unwrap();
    assert!(strata(&["--root", &root, "verify"]).status.success());

    // Trusting another key (one OpenSSL made): every manifest signed by ours is named.
    let other = dir.path().join("other.pem");
    let other = other.to_str().unwrap();
    assert!(
        openssl(&["genpkey", "-algorithm", "ed25519", "-out", other])
            .status
            .success()
    );
    let other_pub = format!("{other}.pub");
    assert!(
        openssl(&["pkey", "-in", other, "-pubout", "-out", &other_pub])
            .status
            .success()
    );
    set_compliance(
        &root,
        &format!("signing_key = \"{key}\"\ntrusted_key = \"{other_pub}\"\n"),
    );
    let bad = strata(&["--root", &root, "verify"]);
    assert_eq!(bad.status.code(), Some(1));
    let fingerprint = made["fingerprint"].as_str().unwrap();
    assert!(
        text(&bad.stdout).contains(&format!("signed by key {fingerprint}, not the trusted key")),
        "{}",
        text(&bad.stdout)
    );
    // A key kept outside the archive overrides the config's (which whoever rewrites the
    // archive can rewrite too): ours passes, the config's other key is not consulted.
    let ours_pub = format!("{key}.pub");
    let outside = strata(&["--root", &root, "verify", "--trusted-key", &ours_pub]);
    assert!(outside.status.success(), "{}", text(&outside.stdout));
    assert!(
        text(&outside.stdout).contains("(trusted)"),
        "{}",
        text(&outside.stdout)
    );
    let wrong = strata(&["--root", &root, "verify", "--trusted-key", &other_pub]);
    assert_eq!(wrong.status.code(), Some(1));
    let missing = strata(&["--root", &root, "verify", "--trusted-key", "no-such.pub"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("no-such.pub"),
        "{}",
        text(&missing.stderr)
    );

    // More data reaching the archive: manifest 2, signed by OpenSSL's key now, chained to 1.
    set_compliance(
        &root,
        &format!("signing_key = \"{other}\"\ntrusted_key = \"{other_pub}\"\n"),
    );
    let aig = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/lean/equity/usa/tick/aig/20131009_quote.zip");
    let out = strata(&[
        "--root",
        &root,
        "-q",
        "ingest",
        "--format",
        "lean",
        aig.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run = json(&strata(&[
        "--root",
        &root,
        "--now",
        "2015-01-01",
        "--json",
        "lifecycle",
        "run",
    ]));
    assert_eq!(run["report"]["signed_manifest"], 2, "{run}");
    let second: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("000002.json")).unwrap()).unwrap();
    assert_eq!(second["files"].as_array().unwrap().len(), 2);
    let first_sha = sha256(&std::fs::read(&manifest).unwrap());
    assert_eq!(second["prev_sha256"], first_sha.as_str());
    let checked = openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        &other_pub,
        "-rawin",
        "-in",
        folder.join("000002.json").to_str().unwrap(),
        "-sigfile",
        folder.join("000002.json.sig").to_str().unwrap(),
    ]);
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    // Only manifest 1's signer is named: the trusted key is OpenSSL's now.
    let bad = strata(&["--root", &root, "verify"]);
    assert_eq!(bad.status.code(), Some(1));
    let said = text(&bad.stdout);
    assert!(said.contains("000001.json: signed by key"), "{said}");
    assert!(!said.contains("000002.json"), "{said}");
    // The keys before and after the rotation, both trusted from outside: every manifest
    // verifies; only the old key: manifest 2 is named.
    let both = strata(&[
        "--root",
        &root,
        "verify",
        "--trusted-key",
        &ours_pub,
        "--trusted-key",
        &other_pub,
    ]);
    assert!(both.status.success(), "{}", text(&both.stdout));
    assert!(
        text(&both.stdout).contains("2 signed"),
        "{}",
        text(&both.stdout)
    );
    assert!(
        text(&both.stdout).contains("keys "),
        "{}",
        text(&both.stdout)
    );
    // Given newest first, the keys say the old one was retired before manifest 2: named.
    let reversed = strata(&[
        "--root",
        &root,
        "verify",
        "--trusted-key",
        &other_pub,
        "--trusted-key",
        &ours_pub,
    ]);
    assert_eq!(reversed.status.code(), Some(1));
    assert!(
        text(&reversed.stdout).contains("000002.json: signed by key")
            && text(&reversed.stdout).contains("retired when _manifests/000001.json was signed"),
        "{}",
        text(&reversed.stdout)
    );
    let old_only = strata(&["--root", &root, "verify", "--trusted-key", &ours_pub]);
    assert_eq!(old_only.status.code(), Some(1));
    let said = text(&old_only.stdout);
    assert!(said.contains("000002.json: signed by key"), "{said}");
    assert!(!said.contains("000001.json"), "{said}");
    // Manifest 1 removed: the chain is broken at 2.
    std::fs::remove_file(&manifest).unwrap();
    let bad = strata(&["--root", &root, "verify"]);
    assert!(
        text(&bad.stdout)
            .contains("000002.json: its prev_sha256 is not that of the manifest before it (none)"),
        "{}",
        text(&bad.stdout)
    );
    // The newest manifest removed too: the audit trail still names it.
    std::fs::remove_file(folder.join("000002.json")).unwrap();
    let bad = strata(&["--root", &root, "verify"]);
    assert!(
        text(&bad.stdout).contains(
            "000002.json: the audit trail records it as signed, but it is missing (removed?)"
        ),
        "{}",
        text(&bad.stdout)
    );
}

#[test]
fn a_change_the_lifecycle_did_not_make_is_never_signed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive").to_str().unwrap().to_string();
    assert!(strata(&["init", &root, "-q"]).status.success());
    let key = dir.path().join("k.pem");
    let key = key.to_str().unwrap();
    assert!(strata(&["-q", "key", "generate", key]).status.success());
    set_compliance(&root, &format!("signing_key = \"{key}\"\n"));
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/lean/equity/usa/tick");
    for file in ["spy/20131007_trade.zip", "aig/20131009_quote.zip"] {
        let path = data.join(file);
        let out = strata(&[
            "--root",
            &root,
            "-q",
            "ingest",
            "--format",
            "lean",
            path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let run = json(&strata(&[
        "--root",
        &root,
        "--now",
        "2015-01-01",
        "--json",
        "lifecycle",
        "run",
    ]));
    assert_eq!(run["report"]["signed_manifest"], 1);
    // Behind strata's back: an archive file, its sidecar and its index row go.
    let archived = json(&strata(&[
        "--root", &root, "--json", "ls", "--tier", "archive",
    ]));
    let gone = archived[0]["path"].as_str().unwrap().to_string();
    let (folder, name) = gone.rsplit_once('/').unwrap();
    std::fs::remove_file(Path::new(&root).join(&gone)).unwrap();
    std::fs::remove_file(Path::new(&root).join(format!("{folder}/_{name}.manifest.json"))).unwrap();
    assert!(strata(&["--root", &root, "-q", "catalog", "rebuild"])
        .status
        .success());
    // The next run does not sign the smaller archive: it says why, and exits 1.
    let run = strata(&["--root", &root, "--now", "2015-01-01", "lifecycle", "run"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        text(&run.stderr).contains(&format!(
            "not signing the archive tier after _manifests/000001.json: {gone} is gone, and no audited operation took it away"
        )),
        "{}",
        text(&run.stderr)
    );
    assert!(!Path::new(&root)
        .join("archive/_manifests/000002.json")
        .exists());
    // verify names the file the signed manifest lists.
    let bad = strata(&["--root", &root, "verify"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stdout).contains(&format!(
            "{gone}: in the signed _manifests/000001.json, but no longer catalogued"
        )),
        "{}",
        text(&bad.stdout)
    );
}

fn sha256(bytes: &[u8]) -> String {
    let out = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(bytes)?;
            child.wait_with_output()
        })
        .unwrap();
    text(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}
