//! The audit trail (ARCH-3): `_lifecycle/audit.jsonl`, one record per lifecycle action —
//! migration, consolidation, deletion, hold placed or released, approval, signed manifest —
//! with the operating-system user that did it, appended and fsynced, each carrying the
//! SHA-256 of the record before it, so that an edited, removed or reordered record breaks the
//! chain at that line ([`AuditLog::verify`], `strata verify`).
//!
//! A record's `hash` is the SHA-256 of `prev` followed by the record's JSON without `hash`
//! (fields in declaration order, as serde writes them); the first record's `prev` is 64 zeros.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use strata_model::Timestamp;

use crate::error::{io, Error, Result};
use crate::lines::{append_record, lock_file};

/// The operating-system user running this process, from the kernel (not from `$USER`, which
/// anyone can set): `name (uid N)`, the name from `/etc/passwd`; looked up once per process.
fn who() -> String {
    static WHO: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    WHO.get_or_init(look_up_user).clone()
}

fn look_up_user() -> String {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next().map(str::to_string))
        })
        .and_then(|uid| uid.parse::<u32>().ok())
        .or_else(|| std::fs::metadata("/proc/self").ok().map(|m| m.uid()));
    let Some(uid) = uid else {
        return "unknown".into();
    };
    let name = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|l| {
                let mut fields = l.split(':');
                let name = fields.next()?;
                (fields.nth(1)? == uid.to_string()).then(|| name.to_string())
            })
        });
    match name {
        Some(name) => format!("{name} (uid {uid})"),
        None => format!("uid {uid}"),
    }
}

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
    /// The other files consolidated with it, each with its SHA-256 (`path sha256`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<String>,
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
    /// Who: the operating-system user of the process that recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    by: Option<String>,
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

    /// An error naming the line when the chain is broken: nothing that would be recorded may
    /// happen then.
    pub fn ensure_intact(&self) -> Result<()> {
        self.scan().and_then(|scan| self.intact(&scan))
    }

    fn intact(&self, scan: &Scan) -> Result<()> {
        match &scan.report.broken {
            Some((line, why)) => Err(Error::Damaged {
                path: self.path.clone(),
                message: format!("the audit chain is broken at line {line} ({why}); nothing more is recorded until it is looked at"),
            }),
            None => Ok(()),
        }
    }

    /// Appends a record linked to the last one, and fsyncs it; a record of a journal operation
    /// recorded already (`op` other than 0) is not added again. Refused when the trail is
    /// broken: nothing is added to a chain that no longer proves anything.
    pub fn append(&self, entry: AuditEntry) -> Result<()> {
        // One appender at a time (a lifecycle run and a hold placed meanwhile): each links to
        // the record before it.
        let _lock = lock_file(&self.path.with_extension("lock"))?;
        let scan = self.scan()?;
        self.intact(&scan)?;
        if entry.op != 0 && scan.ops.contains(&entry.op) {
            return Ok(());
        }
        let (seq, prev) = match &scan.last {
            Some(last) => (last.seq + 1, last.hash.clone().unwrap_or_default()),
            None => (1, GENESIS.to_string()),
        };
        let mut record = Record {
            seq,
            entry,
            by: Some(who()),
            prev,
            hash: None,
        };
        record.hash = Some(record.digest()?);
        append_record(&self.path, &record)
    }

    /// Checks every record's hash and its link to the one before. A last line cut by a kill
    /// mid-append (no newline, not JSON) is not a break: it was never acknowledged.
    pub fn verify(&self) -> Result<AuditReport> {
        Ok(self.scan()?.report)
    }

    /// The records whose chain holds, in order (those after a break are left out).
    pub fn entries(&self) -> Result<Vec<AuditEntry>> {
        Ok(self.scan()?.entries)
    }

    /// [`verify`](Self::verify) and [`entries`](Self::entries) from one read of the trail.
    pub fn verify_and_read(&self) -> Result<(AuditReport, Vec<AuditEntry>)> {
        let scan = self.scan()?;
        Ok((scan.report, scan.entries))
    }

    /// One read of the trail: the chain checked up to its first break, the last record it
    /// verified and the journal operations recorded.
    fn scan(&self) -> Result<Scan> {
        let mut scan = Scan {
            report: AuditReport {
                verified: 0,
                broken: None,
            },
            last: None,
            ops: BTreeSet::new(),
            entries: Vec::new(),
        };
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(scan),
            Err(e) => return Err(io(&self.path)(e)),
        };
        let cut_tail = !text.is_empty() && !text.ends_with('\n');
        let lines: Vec<&str> = text.lines().collect();
        let mut prev = GENESIS.to_string();
        for (i, line) in lines.iter().enumerate() {
            let number = i as u64 + 1;
            let record = match serde_json::from_str::<Record>(line) {
                Ok(r) => r,
                Err(_) if cut_tail && i + 1 == lines.len() => break,
                Err(e) => return Ok(scan.broken(number, format!("not an audit record: {e}"))),
            };
            let verified = scan.report.verified;
            if record.seq != verified + 1 {
                let why = format!(
                    "sequence {} where {} was due (a record removed or moved?)",
                    record.seq,
                    verified + 1
                );
                return Ok(scan.broken(number, why));
            }
            if record.prev != prev {
                return Ok(scan.broken(number, "it does not link to the record before it".into()));
            }
            let Some(hash) = record.hash.clone() else {
                return Ok(scan.broken(number, "it has no hash".into()));
            };
            if record.digest()? != hash {
                return Ok(scan.broken(
                    number,
                    "its content does not match its hash (edited?)".into(),
                ));
            }
            prev = hash;
            scan.report.verified += 1;
            scan.ops.insert(record.entry.op);
            scan.entries.push(record.entry.clone());
            scan.last = Some(record);
        }
        Ok(scan)
    }
}

/// What one read of the trail found.
struct Scan {
    report: AuditReport,
    last: Option<Record>,
    ops: BTreeSet<u64>,
    entries: Vec<AuditEntry>,
}

impl Scan {
    fn broken(mut self, line: u64, why: String) -> Scan {
        self.report.broken = Some((line, why));
        self
    }
}
