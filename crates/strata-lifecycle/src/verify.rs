//! `strata verify`: every catalogued file checked against its manifest where its tier keeps it,
//! and the audit trail's chain (ARCH-3).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use strata_backend::{Backend, BackendExt};
use strata_catalog::{Catalog, FileQuery};
use strata_core::policy::{FileFormat, TierName};

use crate::audit::{AuditLog, AuditReport};
use crate::error::{io, Result};
use crate::sign::{check_manifests, ManifestReport};

/// What [`verify_archive`] checks the archive tier's signed manifests with.
#[derive(Debug, Clone, Default)]
pub struct SigningCheck {
    /// The public keys a manifest may be signed with (`strata verify --trusted-key`, else
    /// `compliance.trusted_key`, else the signing key's own; several after a key rotation);
    /// without any they are checked with the key each names.
    pub trusted: Vec<ed25519_dalek::VerifyingKey>,
    /// A key is configured: an archive tier with files and no manifest is a problem.
    pub required: bool,
}

/// What [`verify_archive`] found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Files whose bytes were checked.
    pub files: u64,
    /// Events counted (with `deep`).
    pub events: u64,
    /// Each file that failed, with why.
    pub problems: Vec<(String, String)>,
    /// The audit trail's state.
    pub audit: AuditReport,
    /// The archive tier's signed manifests.
    pub manifests: ManifestReport,
}

impl VerifyReport {
    /// Nothing wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
            && self.audit.broken.is_none()
            && self.manifests.problems.is_empty()
    }
}

/// Reads every catalogued file from its tier and compares its SHA-256 (and, with `deep`, its
/// event count, decoding it) with its manifest; checks that a local write-once tier's files are
/// read-only, the audit chain, and the archive tier's signed manifests (ARCH-3) against its
/// catalogued files.
pub fn verify_archive(
    root: &Path,
    catalog: &Catalog,
    backends: &BTreeMap<TierName, Arc<dyn Backend>>,
    deep: bool,
    signing: &SigningCheck,
) -> Result<VerifyReport> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io(root))?;
    let (audit, audited) = AuditLog::new(root).verify_and_read()?;
    let mut report = VerifyReport {
        files: 0,
        events: 0,
        problems: Vec::new(),
        audit,
        manifests: ManifestReport::default(),
    };
    let all = catalog.find(&FileQuery::all())?;
    if let Some(archive) = backends.get(&TierName::Archive) {
        let files: Vec<_> = all
            .iter()
            .filter(|m| m.tier == TierName::Archive)
            .cloned()
            .collect();
        report.manifests = runtime.block_on(check_manifests(
            archive.as_ref(),
            &files,
            &signing.trusted,
            signing.required,
            &audited,
        ))?;
    }
    // Data a tier holds that the catalog does not know (put there behind strata's back, or
    // left by a killed run until the next one): dataset readers would read it all the same.
    let known: std::collections::BTreeSet<&str> = all.iter().map(|m| m.path.as_str()).collect();
    for (tier, backend) in backends {
        if *tier == TierName::Hot {
            // The hot tier holds the segments being written, catalogued when sealed.
            continue;
        }
        for object in runtime.block_on(backend.list(""))? {
            let name = object.key.rsplit('/').next().unwrap_or_default();
            // strata's own beside the data, and what dataset readers skip (`_`, `.` names).
            let ours = object
                .key
                .split('/')
                .any(|part| part.starts_with('_') || part.starts_with('.'))
                || name.ends_with(strata_catalog::SIDECAR_SUFFIX)
                || name == strata_catalog::CHECKSUMS_FILE;
            let path = format!("{tier}/{}", object.key);
            if !ours && !known.contains(path.as_str()) {
                report.problems.push((
                    path,
                    format!("in the {tier} tier but not in the catalog (placed there behind strata's back, or left by a killed run until the next one)"),
                ));
            }
        }
    }
    for m in all {
        let Some((tier, key)) = m.path.split_once('/') else {
            report
                .problems
                .push((m.path.clone(), "no tier in its path".into()));
            continue;
        };
        let Some(backend) = tier.parse().ok().and_then(|t: TierName| backends.get(&t)) else {
            report
                .problems
                .push((m.path.clone(), format!("no storage for tier `{tier}`")));
            continue;
        };
        report.files += 1;
        let bytes = match runtime.block_on(backend.get(key)) {
            Ok(bytes) => bytes,
            Err(e) => {
                report.problems.push((m.path.clone(), e.to_string()));
                continue;
            }
        };
        let sha = strata_catalog::sha256_bytes(&bytes);
        if sha != m.sha256 {
            report.problems.push((
                m.path.clone(),
                format!("SHA-256 {sha}, its manifest says {}", m.sha256),
            ));
            continue;
        }
        // A write-once tier on a local disk keeps its files read-only (ARCH-1).
        if backend.is_worm() {
            if let Some(path) = strata_backend::local_file(backend.as_ref(), key) {
                if std::fs::metadata(&path).is_ok_and(|meta| !meta.permissions().readonly()) {
                    report.problems.push((
                        m.path.clone(),
                        format!(
                            "the {tier} tier is write-once, but {} is writable (`chmod a-w` it)",
                            path.display()
                        ),
                    ));
                }
            }
        }
        if deep {
            let counted = match m.format {
                FileFormat::Jsonl => strata_codec::decompress(&bytes)
                    .map_err(|e| e.to_string())
                    .and_then(|plain| {
                        plain
                            .split(|&b| b == b'\n')
                            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                            .try_fold(0u64, |n, l| {
                                strata_model::jsonl::decode_line(l)
                                    .map(|_| n + 1)
                                    .map_err(|e| e.to_string())
                            })
                    }),
                FileFormat::Parquet => strata_columnar::EventReader::new(bytes)
                    .map_err(|e| e.to_string())
                    .and_then(|mut reader| {
                        reader.try_fold(0u64, |n, e| e.map(|_| n + 1).map_err(|e| e.to_string()))
                    }),
            };
            match counted {
                Ok(n) if n == m.stats.event_count => report.events += n,
                Ok(n) => report.problems.push((
                    m.path.clone(),
                    format!("{n} events, its manifest says {}", m.stats.event_count),
                )),
                Err(e) => report.problems.push((m.path.clone(), e)),
            }
        }
    }
    Ok(report)
}
