//! Signed manifests of the archive tier (ARCH-3): tamper evidence for what the archive holds.
//!
//! Whenever the archive tier's files differ from its last manifest, a lifecycle run with a
//! signing key writes the next one into the tier itself, under [`MANIFEST_FOLDER`]:
//! `000007.json` — the tier's files (catalogued path, SHA-256, size, events), the SHA-256 of
//! manifest 6 (so the manifests form a chain), the signer's public key — and `000007.json.sig`,
//! its 64-byte ed25519 signature, written first. Both are written create-only, so on a
//! write-once tier they are kept like the data. The key files are PEM, as OpenSSL writes and
//! reads them (`openssl genpkey -algorithm ed25519`), and a signature checks with
//! `openssl pkeyutl -verify -pubin -inkey KEY.pub -rawin -in 000007.json -sigfile 000007.json.sig`.
//!
//! [`check_manifests`] verifies every manifest's signature with the trusted public key, the
//! chain, and that the last manifest lists exactly the catalogued files of the tier.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use strata_backend::{Backend, BackendExt, PutOptions};
use strata_catalog::FileManifest;
use strata_model::Timestamp;

use crate::audit::AuditEntry;
use crate::error::{io, Error, Result};

/// The folder of the archive tier that holds its signed manifests.
pub const MANIFEST_FOLDER: &str = "_manifests";

/// One file of the archive tier, as its manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Its catalogued path (`archive/kind=trade/…/x.parquet`).
    pub path: String,
    /// Its SHA-256.
    pub sha256: String,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// Its events.
    pub events: u64,
}

/// A manifest of the archive tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveManifest {
    /// Format version (1).
    pub version: u32,
    /// Its number: 1, 2, …
    pub seq: u64,
    /// The clock of the run that wrote it.
    pub created_at: Timestamp,
    /// SHA-256 of the manifest before it, as stored.
    pub prev_sha256: Option<String>,
    /// The signer's ed25519 public key, hex.
    pub public_key: String,
    /// Every file of the tier, by path.
    pub files: Vec<ManifestFile>,
}

/// What [`check_manifests`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ManifestReport {
    /// Manifests whose signature and chain were checked.
    pub manifests: u64,
    /// The last one's number.
    pub latest: Option<u64>,
    /// The public keys the signatures were checked with, hex, in the order first met;
    /// `trusted` says whether they had to be among trusted keys (else they are the ones the
    /// manifests name, which proves only that they were not changed since signing).
    pub keys: Vec<String>,
    /// Whether the manifests were checked against trusted keys.
    pub trusted: bool,
    /// What is wrong, each naming the manifest or file.
    pub problems: Vec<String>,
}

/// A key's short name: the first 16 hex digits of the public key.
pub fn fingerprint(key: &VerifyingKey) -> String {
    hex::encode(&key.to_bytes()[..8])
}

/// Reads an ed25519 private key from a PKCS#8 PEM file.
pub fn read_signing_key(path: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    SigningKey::from_pkcs8_pem(&text).map_err(|e| Error::Damaged {
        path: path.to_path_buf(),
        message: format!("not an ed25519 private key in PKCS#8 PEM: {e}"),
    })
}

/// Reads an ed25519 public key from a PEM file (`-----BEGIN PUBLIC KEY-----`) or the file of
/// its private key.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    if text.contains("PRIVATE KEY") {
        return Ok(read_signing_key(path)?.verifying_key());
    }
    VerifyingKey::from_public_key_pem(&text).map_err(|e| Error::Damaged {
        path: path.to_path_buf(),
        message: format!("not an ed25519 public key in PEM: {e}"),
    })
}

/// Writes a new private key to `path` (PKCS#8 PEM, readable by its owner only; an existing
/// file is never replaced) and its public key to `path` + `.pub`; returns the public key.
pub fn generate_key(path: &Path) -> Result<(VerifyingKey, PathBuf)> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::Damaged {
        path: path.to_path_buf(),
        message: format!("no random numbers from the system: {e}"),
    })?;
    let key = SigningKey::from_bytes(&seed);
    let bad = |e: String| Error::Damaged {
        path: path.to_path_buf(),
        message: e,
    };
    let private = key
        .to_pkcs8_pem(Default::default())
        .map_err(|e| bad(e.to_string()))?;
    let public = key
        .verifying_key()
        .to_public_key_pem(Default::default())
        .map_err(|e| bad(e.to_string()))?;
    let public_path = PathBuf::from(format!("{}.pub", path.display()));
    write_new(path, private.as_bytes(), 0o600)?;
    write_new(&public_path, public.as_bytes(), 0o644)?;
    Ok((key.verifying_key(), public_path))
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io(path))?;
    file.write_all(bytes).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// The manifests in the tier: number → (has the JSON, has the signature).
async fn listed(backend: &dyn Backend) -> Result<BTreeMap<u64, (bool, bool)>> {
    let mut found: BTreeMap<u64, (bool, bool)> = BTreeMap::new();
    for meta in backend.list(&format!("{MANIFEST_FOLDER}/")).await? {
        // Only the folder's own `NNNNNN.json[.sig]`: digits alone, no subfolder.
        let Some(name) = meta
            .key
            .strip_prefix(&format!("{MANIFEST_FOLDER}/"))
            .filter(|n| !n.contains('/'))
        else {
            continue;
        };
        let (number, sig) = match name.strip_suffix(".json.sig") {
            Some(n) => (n, true),
            None => match name.strip_suffix(".json") {
                Some(n) => (n, false),
                None => continue,
            },
        };
        let digits = number.len() >= 6 && number.bytes().all(|b| b.is_ascii_digit());
        if let (true, Ok(n)) = (digits, number.parse::<u64>()) {
            let entry = found.entry(n).or_default();
            if sig {
                entry.1 = true;
            } else {
                entry.0 = true;
            }
        }
    }
    Ok(found)
}

fn manifest_key(seq: u64) -> String {
    format!("{MANIFEST_FOLDER}/{seq:06}.json")
}

/// The archive tier's files as a manifest lists them.
pub fn manifest_files(files: &[FileManifest]) -> Vec<ManifestFile> {
    let mut listed: Vec<ManifestFile> = files
        .iter()
        .map(|m| ManifestFile {
            path: m.path.clone(),
            sha256: m.sha256.clone(),
            size_bytes: m.size_bytes,
            events: m.stats.event_count,
        })
        .collect();
    listed.sort_by(|a, b| a.path.cmp(&b.path));
    listed
}

/// Writes the next signed manifest when the tier's `files` differ from the last one's list (or
/// there is none yet and the tier holds files); returns its number and SHA-256, or `None` when
/// nothing changed. The signature goes first, so every manifest stored has its signature; a
/// signature a killed run left without its manifest is skipped over.
///
/// Nothing is signed over a change the lifecycle did not make: the last manifest's signature
/// must verify (with the key it names: the signing key may have been rotated), and every file added or removed since it must be one the `audited`
/// operations (the audit trail's records since that manifest was signed) made or took away;
/// a file whose checksum changed at the same path is refused outright. The first manifest
/// signs what the tier holds then.
pub async fn write_manifest(
    backend: &dyn Backend,
    files: &[FileManifest],
    key: &SigningKey,
    now: Timestamp,
    audited: &[AuditEntry],
) -> Result<Option<(u64, String)>> {
    let files = manifest_files(files);
    let found = listed(backend).await?;
    let last = found
        .iter()
        .rev()
        .find(|(_, (json, sig))| *json && *sig)
        .map(|(n, _)| *n);
    let prev = match last {
        Some(n) => {
            let name = manifest_key(n);
            let bytes = backend.get(&name).await?;
            let signature = backend.get(&format!("{name}.sig")).await?;
            let manifest = parse(&name, &bytes)?;
            // Checked with the key it names (the signing key may have been rotated since).
            let valid = named_key(&manifest).is_some_and(|k| verifies(&k, &bytes, &signature));
            if !valid {
                return Err(Error::Refused(format!(
                    "{name}: its signature does not verify: not signing over it (`strata verify` says more)"
                )));
            }
            if manifest.files == files {
                return Ok(None);
            }
            if let Some(why) = unexplained(&manifest.files, &files, audited) {
                return Err(Error::Refused(format!(
                    "not signing the archive tier after {name}: {why}"
                )));
            }
            Some(strata_catalog::sha256_bytes(&bytes))
        }
        None if files.is_empty() => return Ok(None),
        None => None,
    };
    let seq = match found.keys().next_back() {
        Some(n) => n
            .checked_add(1)
            .ok_or_else(|| Error::Refused(format!("{}: no number follows it", manifest_key(*n))))?,
        None => 1,
    };
    let manifest = ArchiveManifest {
        version: 1,
        seq,
        created_at: now,
        prev_sha256: prev,
        public_key: hex::encode(key.verifying_key().to_bytes()),
        files,
    };
    let mut bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Damaged {
        path: PathBuf::from(manifest_key(seq)),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    let signature = key.sign(&bytes);
    let key_name = manifest_key(seq);
    let sha = strata_catalog::sha256_bytes(&bytes);
    backend
        .put_opts(
            &format!("{key_name}.sig"),
            Bytes::copy_from_slice(&signature.to_bytes()),
            PutOptions::create_only(),
        )
        .await?;
    backend
        .put_opts(&key_name, Bytes::from(bytes), PutOptions::create_only())
        .await?;
    Ok(Some((seq, sha)))
}

/// Why the tier's files differ from the signed list in a way the audited operations do not
/// explain, if they do: a checksum changed in place, a file gone without a recorded migration,
/// consolidation or deletion, or a file no recorded operation made.
fn unexplained(
    signed: &[ManifestFile],
    now: &[ManifestFile],
    audited: &[AuditEntry],
) -> Option<String> {
    let first = |s: &str| s.split(' ').next().unwrap_or_default().to_string();
    let mut taken = std::collections::BTreeSet::new();
    let mut made = std::collections::BTreeSet::new();
    for e in audited {
        if matches!(e.action.as_str(), "migrate" | "consolidate" | "delete") {
            taken.insert(e.subject.clone());
            taken.extend(e.with.iter().map(|w| first(w)));
            made.extend(e.became.iter().map(|b| first(b)));
        }
    }
    let signed: BTreeMap<&str, &ManifestFile> =
        signed.iter().map(|f| (f.path.as_str(), f)).collect();
    let present: BTreeMap<&str, &ManifestFile> = now.iter().map(|f| (f.path.as_str(), f)).collect();
    for (path, file) in &present {
        match signed.get(path) {
            Some(was) if *was != *file => {
                return Some(format!(
                    "{path} changed in place (SHA-256 {}, signed {})",
                    file.sha256, was.sha256
                ))
            }
            None if !made.contains(*path) => {
                return Some(format!("{path} appeared, made by no audited operation"))
            }
            _ => {}
        }
    }
    for path in signed.keys() {
        if !present.contains_key(path) && !taken.contains(*path) {
            return Some(format!(
                "{path} is gone, and no audited operation took it away"
            ));
        }
    }
    None
}

/// The public key a manifest names, when it is one.
fn named_key(manifest: &ArchiveManifest) -> Option<VerifyingKey> {
    key_from_hex(&manifest.public_key)
}

/// An ed25519 public key from its hex text, when it is one.
pub(crate) fn key_from_hex(text: &str) -> Option<VerifyingKey> {
    <[u8; 32]>::try_from(hex::decode(text).ok()?)
        .ok()
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
}

/// Whether `signature` (its 64 bytes) is `key`'s over `message` (strict ed25519).
pub(crate) fn verifies(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    Signature::from_slice(signature)
        .ok()
        .is_some_and(|s| key.verify_strict(message, &s).is_ok())
}

fn parse(name: &str, bytes: &[u8]) -> Result<ArchiveManifest> {
    serde_json::from_slice(bytes).map_err(|e| Error::Damaged {
        path: PathBuf::from(name),
        message: format!("not an archive manifest: {e}"),
    })
}

/// Checks every manifest of the tier: that the key it names is one of `trusted` (when any is
/// given; several, oldest first, for a signing key that was rotated: a key may not sign after a
/// later one has) and its signature verifies with that key,
/// the chain of `prev_sha256`, and that the last one lists exactly `files` (the tier's
/// catalogued files). `required` (a signing or trusted key is configured) makes a tier with
/// files and no manifest a problem.
///
/// `audited` are the audit trail's records: each signed manifest it names must still be there
/// with the SHA-256 recorded, so that removing the newest manifests is seen.
pub async fn check_manifests(
    backend: &dyn Backend,
    files: &[FileManifest],
    trusted: &[VerifyingKey],
    required: bool,
    audited: &[AuditEntry],
) -> Result<ManifestReport> {
    let mut report = ManifestReport {
        trusted: !trusted.is_empty(),
        ..ManifestReport::default()
    };
    let found = listed(backend).await?;
    // The latest trusted key seen signing, by its place in `trusted`, and the manifest it
    // first signed.
    let mut newest_key: Option<(usize, u64)> = None;
    let mut prev: Option<(u64, String)> = None;
    // Each stored manifest's SHA-256, by number.
    let mut stored: BTreeMap<u64, String> = BTreeMap::new();
    let mut last = None;
    for (&n, &(json, sig)) in &found {
        let name = manifest_key(n);
        if !json {
            // The signature a killed run wrote before its manifest: nothing was claimed.
            continue;
        }
        let bytes = backend.get(&name).await?;
        let sha = strata_catalog::sha256_bytes(&bytes);
        stored.insert(n, sha.clone());
        let manifest = match parse(&name, &bytes) {
            Ok(m) => m,
            Err(e) => {
                report.problems.push(e.to_string());
                continue;
            }
        };
        report.manifests += 1;
        let named = named_key(&manifest);
        let key = match named {
            None => {
                report
                    .problems
                    .push(format!("{name}: its public_key is not an ed25519 key"));
                None
            }
            Some(named) if !trusted.is_empty() && !trusted.contains(&named) => {
                let trusted: Vec<String> = trusted.iter().map(fingerprint).collect();
                report.problems.push(format!(
                    "{name}: signed by key {}, not the trusted key {}",
                    fingerprint(&named),
                    trusted.join(" or ")
                ));
                None
            }
            Some(named) => {
                // Keys are trusted in the order they signed (oldest first): once a later key
                // has signed, an earlier one is retired and may not sign a newer manifest.
                if let Some(at) = trusted.iter().position(|k| *k == named) {
                    match newest_key {
                        Some((latest, by)) if at < latest => {
                            report.problems.push(format!(
                                "{name}: signed by key {}, retired when {} was signed by key {}",
                                fingerprint(&named),
                                manifest_key(by),
                                fingerprint(&trusted[latest])
                            ));
                        }
                        Some((latest, _)) if at == latest => {}
                        _ => newest_key = Some((at, n)),
                    }
                }
                let hex = hex::encode(named.to_bytes());
                if !report.keys.contains(&hex) {
                    report.keys.push(hex);
                }
                Some(named)
            }
        };
        if !sig {
            report
                .problems
                .push(format!("{name}: no signature ({name}.sig)"));
        } else if let Some(key) = key {
            let signature = backend.get(&format!("{name}.sig")).await?;
            if !verifies(&key, &bytes, &signature) {
                report.problems.push(format!(
                    "{name}: the signature does not verify with key {}: the manifest or its signature was changed",
                    fingerprint(&key)
                ));
            }
        }
        if manifest.seq != n {
            report
                .problems
                .push(format!("{name}: it says it is number {}", manifest.seq));
        }
        let expected = prev.as_ref().map(|(_, sha)| sha.clone());
        if manifest.prev_sha256 != expected {
            let before = prev
                .as_ref()
                .map_or("none".to_string(), |(p, _)| manifest_key(*p));
            report.problems.push(format!(
                "{name}: its prev_sha256 is not that of the manifest before it ({before}): the chain is broken"
            ));
        }
        prev = Some((n, sha));
        last = Some((n, manifest));
    }
    for e in audited.iter().filter(|e| e.action == "sign") {
        let Some(name) = e.subject.strip_prefix("archive/") else {
            continue;
        };
        let Some(seq) = name
            .strip_prefix(&format!("{MANIFEST_FOLDER}/"))
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        match (stored.get(&seq), &e.sha256) {
            (None, _) => report.problems.push(format!(
                "{name}: the audit trail records it as signed, but it is missing (removed?)"
            )),
            (Some(now), Some(sha)) if now != sha => report.problems.push(format!(
                "{name}: its SHA-256 is {now}, the audit trail recorded {sha} when it was signed"
            )),
            _ => {}
        }
    }
    let catalogued = manifest_files(files);
    match last {
        Some((n, manifest)) => {
            report.latest = Some(n);
            let name = manifest_key(n);
            let listed: BTreeMap<&str, &ManifestFile> =
                manifest.files.iter().map(|f| (f.path.as_str(), f)).collect();
            for file in &catalogued {
                match listed.get(file.path.as_str()) {
                    None => report
                        .problems
                        .push(format!("{}: catalogued, but not in the signed {name}", file.path)),
                    Some(signed) if *signed != file => report.problems.push(format!(
                        "{}: its SHA-256 is {}, the signed {name} says {}",
                        file.path, file.sha256, signed.sha256
                    )),
                    Some(_) => {}
                }
            }
            let present: std::collections::BTreeSet<&str> =
                catalogued.iter().map(|f| f.path.as_str()).collect();
            for path in listed.keys().filter(|p| !present.contains(*p)) {
                report.problems.push(format!(
                    "{path}: in the signed {name}, but no longer catalogued"
                ));
            }
        }
        None if required && !catalogued.is_empty() => report.problems.push(format!(
            "the archive tier holds {} files and no signed manifest (`strata lifecycle run` writes one)",
            catalogued.len()
        )),
        None => {}
    }
    Ok(report)
}
