//! The audit trail (ARCH-3): `_lifecycle/audit.jsonl`, one record per lifecycle action —
//! migration, deletion, hold placed or released — appended and fsynced, each carrying the
//! SHA-256 of the record before it, so that an edited, removed or reordered record breaks the
//! chain at that line ([`AuditLog::verify`], `strata verify`).
//!
//! A record's `hash` is the SHA-256 of `prev` followed by the record's JSON without `hash`
//! (fields in declaration order, as serde writes them); the first record's `prev` is 64 zeros.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use strata_model::Timestamp;

use crate::error::{io, Error, Result};
use crate::lines::append_line;

/// The audit file in the lifecycle folder.
pub const AUDIT_FILE: &str = "audit.jsonl";

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an action did, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// `migrate`, `delete`, `hold.add`, `hold.release`.
    pub action: String,
    /// The clock the action ran at (the plan's `now`, or the time a hold changed).
    pub at: Timestamp,
    /// The journal operation it belongs to (0 for holds), so a repeated operation is recorded
    /// once.
    pub op: u64,
    /// The file (or the hold's name) acted on.
    pub subject: String,
    /// Its SHA-256 before the action, for files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// What it became: each new file with its SHA-256 (`path sha256`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub became: Vec<String>,
    /// The rule that decided it, and why.
    pub why: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    seq: u64,
    #[serde(flatten)]
    entry: AuditEntry,
    prev: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hash: Option<String>,
}

impl Record {
    fn digest(&self) -> Result<String> {
        let mut unsigned = self.clone();
        unsigned.hash = None;
        let json = serde_json::to_string(&unsigned).map_err(|e| Error::Damaged {
            path: PathBuf::from(AUDIT_FILE),
            message: e.to_string(),
        })?;
        let mut input = unsigned.prev.clone().into_bytes();
        input.extend_from_slice(json.as_bytes());
        Ok(strata_catalog::sha256_bytes(&input))
    }
}

/// What [`AuditLog::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Records whose hash and link to the record before hold.
    pub verified: u64,
    /// The first break: the 1-based line and what is wrong. Records after it are not trusted.
    pub broken: Option<(u64, String)>,
}

/// The audit trail of one archive.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// The trail of the archive at `root`.
    pub fn new(root: &Path) -> Self {
        AuditLog {
            path: root.join(crate::execute::LIFECYCLE_DIR).join(AUDIT_FILE),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn records(&self) -> Result<Vec<(u64, std::result::Result<Record, String>)>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.path)(e)),
        };
        Ok(text
            .lines()
            .enumerate()
            .map(|(i, line)| {
                (
                    i as u64 + 1,
                    serde_json::from_str::<Record>(line).map_err(|e| e.to_string()),
                )
            })
            .collect())
    }

    /// True when operation `op` is recorded already (a repeated operation is recorded once).
    pub fn has_op(&self, op: u64) -> Result<bool> {
        Ok(op != 0
            && self
                .records()?
                .iter()
                .any(|(_, r)| r.as_ref().is_ok_and(|r| r.entry.op == op)))
    }

    /// An error naming the line when the chain is broken: nothing that would be recorded may
    /// happen then.
    pub fn ensure_intact(&self) -> Result<()> {
        match self.verify()?.broken {
            Some((line, why)) => Err(Error::Damaged {
                path: self.path.clone(),
                message: format!("the audit chain is broken at line {line} ({why}); nothing more is recorded until it is looked at"),
            }),
            None => Ok(()),
        }
    }

    /// Appends a record linked to the last one, and fsyncs it. Refused when the trail is
    /// broken: nothing is added to a chain that no longer proves anything.
    pub fn append(&self, entry: AuditEntry) -> Result<()> {
        // One appender at a time (a lifecycle run and a hold placed meanwhile): each links to
        // the record before it.
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let lock_path = self.path.with_extension("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        lock.lock().map_err(io(&lock_path))?;
        self.ensure_intact()?;
        let records = self.records()?;
        // The chain verified, so only a cut last line can fail to parse: link to the last record.
        let (seq, prev) = match records.iter().rev().find_map(|(_, r)| r.as_ref().ok()) {
            Some(last) => (last.seq + 1, last.hash.clone().unwrap_or_default()),
            None => (1, GENESIS.to_string()),
        };
        let mut record = Record {
            seq,
            entry,
            prev,
            hash: None,
        };
        record.hash = Some(record.digest()?);
        let mut line = serde_json::to_string(&record).map_err(|e| Error::Damaged {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        line.push('\n');
        append_line(&self.path, &line, |tail| {
            serde_json::from_slice::<Record>(tail).is_ok()
        })?;
        drop(lock);
        Ok(())
    }

    /// Checks every record's hash and its link to the one before. A last line cut by a kill
    /// mid-append (no newline, not JSON) is not a break: it was never acknowledged.
    pub fn verify(&self) -> Result<AuditReport> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(AuditReport {
                    verified: 0,
                    broken: None,
                })
            }
            Err(e) => return Err(io(&self.path)(e)),
        };
        let cut_tail = !text.is_empty() && !text.ends_with('\n');
        let records = self.records()?;
        let last_line = records.len() as u64;
        let mut prev = GENESIS.to_string();
        let mut verified = 0;
        for (line, record) in records {
            let broken = |why: String| AuditReport {
                verified,
                broken: Some((line, why)),
            };
            let record = match record {
                Ok(r) => r,
                Err(_) if cut_tail && line == last_line => break,
                Err(e) => return Ok(broken(format!("not an audit record: {e}"))),
            };
            if record.seq != verified + 1 {
                return Ok(broken(format!(
                    "sequence {} where {} was due (a record removed or moved?)",
                    record.seq,
                    verified + 1
                )));
            }
            if record.prev != prev {
                return Ok(broken("it does not link to the record before it".into()));
            }
            let Some(hash) = record.hash.clone() else {
                return Ok(broken("it has no hash".into()));
            };
            if record.digest()? != hash {
                return Ok(broken(
                    "its content does not match its hash (edited?)".into(),
                ));
            }
            prev = hash;
            verified += 1;
        }
        Ok(AuditReport {
            verified,
            broken: None,
        })
    }
}
