//! Approvals for deleting protected archive data (ARCH-4).
//!
//! With `compliance.approvals_required = N`, a file of the archive tier is deleted only once N
//! of the approvers named in `compliance.approvers` (their ed25519 public keys) have approved
//! deleting that very file: its path and SHA-256, signed with the approver's private key
//! (`strata approve PATH --key FILE`). Until then the plan keeps it (`Protect`, rule
//! `compliance.approvals`, naming who has approved). An approval is a line of
//! `_lifecycle/approvals.jsonl`, appended under a lock and recorded in the audit trail; one
//! whose signature does not verify, or whose key is not an approver's, counts for nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use strata_catalog::FileManifest;
use strata_core::policy::Approvals;
use strata_model::Timestamp;

use crate::audit::{AuditEntry, AuditLog};
use crate::error::{Error, Result};
use crate::execute::LIFECYCLE_DIR;
use crate::lines::{append_record, lock_file, read_records};
use crate::sign::{fingerprint, key_from_hex, verifies};

/// The approvals file in `_lifecycle/`.
pub const APPROVALS_FILE: &str = "approvals.jsonl";

/// One approval: an approver's signed consent to delete one version of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRecord {
    /// The catalogued path.
    pub path: String,
    /// The SHA-256 of the version approved.
    pub sha256: String,
    /// The approver's ed25519 public key, hex.
    pub approver: String,
    /// When it was given.
    pub at: Timestamp,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// The signature of [`approval_message`], hex.
    pub signature: String,
}

/// What an approver signs: the file's path and SHA-256.
pub fn approval_message(path: &str, sha256: &str) -> Vec<u8> {
    format!("strata: approve deleting {path} with SHA-256 {sha256}\n").into_bytes()
}

/// The approvals a deletion needs: how many, from which approvers' keys.
#[derive(Debug, Clone)]
pub struct ApprovalPolicy {
    /// How many distinct approvers.
    pub required: u32,
    /// Their public keys.
    pub approvers: Vec<VerifyingKey>,
}

/// The approvals of an archive.
#[derive(Debug, Clone)]
pub struct ApprovalStore {
    path: PathBuf,
    lock: PathBuf,
    audit: AuditLog,
}

impl ApprovalStore {
    /// The approvals of the archive at `root`.
    pub fn new(root: &Path) -> Self {
        let dir = root.join(LIFECYCLE_DIR);
        ApprovalStore {
            path: dir.join(APPROVALS_FILE),
            lock: dir.join("approvals.lock"),
            audit: AuditLog::new(root),
        }
    }

    /// Records `key`'s approval to delete the file `manifest` describes, as it is now, and
    /// audits it. Refused where the policy needs no approvals or `key` is not an approver's.
    pub fn approve(
        &self,
        policy: &ApprovalPolicy,
        manifest: &FileManifest,
        key: &SigningKey,
        reason: &str,
        now: Timestamp,
    ) -> Result<ApprovalRecord> {
        let public = key.verifying_key();
        if policy.required == 0 {
            return Err(Error::Refused(
                "compliance.approvals_required is 0: deletions need no approval".into(),
            ));
        }
        if !policy.approvers.contains(&public) {
            return Err(Error::Refused(format!(
                "key {} is not one of compliance.approvers",
                fingerprint(&public)
            )));
        }
        let record = ApprovalRecord {
            path: manifest.path.clone(),
            sha256: manifest.sha256.clone(),
            approver: hex::encode(public.to_bytes()),
            at: now,
            reason: reason.to_string(),
            signature: hex::encode(
                key.sign(&approval_message(&manifest.path, &manifest.sha256))
                    .to_bytes(),
            ),
        };
        let _lock = lock_file(&self.lock)?;
        self.audit.ensure_intact()?;
        append_record(&self.path, &record)?;
        self.audit.append(AuditEntry {
            action: "approve".into(),
            at: now,
            op: 0,
            subject: manifest.path.clone(),
            sha256: Some(manifest.sha256.clone()),
            with: Vec::new(),
            became: Vec::new(),
            why: format!(
                "deletion approved by key {}: {reason}",
                fingerprint(&public)
            ),
        })?;
        Ok(record)
    }

    /// Every approval recorded.
    pub fn records(&self) -> Result<Vec<ApprovalRecord>> {
        read_records(&self.path)
    }
}

impl ApprovalPolicy {
    /// The approvals deleting this version of `manifest` needs and has: the distinct approvers
    /// whose valid signature over its path and SHA-256 is among `records`.
    pub fn approvals(&self, manifest: &FileManifest, records: &[ApprovalRecord]) -> Approvals {
        let message = approval_message(&manifest.path, &manifest.sha256);
        let mut given = BTreeSet::new();
        for r in records
            .iter()
            .filter(|r| r.path == manifest.path && r.sha256 == manifest.sha256)
        {
            let key = key_from_hex(&r.approver).filter(|k| self.approvers.contains(k));
            let signature = hex::decode(&r.signature).unwrap_or_default();
            if let Some(key) = key.filter(|k| verifies(k, &message, &signature)) {
                given.insert(fingerprint(&key));
            }
        }
        Approvals {
            needed: self.required,
            given: given.into_iter().collect(),
        }
    }
}
