//! The register of legal holds (ARCH-2): `_catalog/holds.json`, one entry per hold in force.
//!
//! Changes take an exclusive lock on `_catalog/holds.lock`, so two processes placing or
//! releasing holds at once both land; the file is replaced atomically (written beside, synced,
//! renamed), so a crash leaves the register before or after a change, never between.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use strata_core::policy::lifecycle::StoredFile;
use strata_core::policy::{Hold, HoldScope};
use strata_model::Timestamp;

use crate::audit::{AuditEntry, AuditLog};
use crate::error::{io, Error, Result};
use crate::lines::lock_file;

/// A hold in force, with when it was placed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldRecord {
    /// The hold.
    #[serde(flatten)]
    pub hold: Hold,
    /// When it was placed.
    pub placed_at: Timestamp,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Register {
    format: u32,
    holds: Vec<HoldRecord>,
}

/// The hold register of an archive.
#[derive(Debug, Clone)]
pub struct HoldStore {
    path: PathBuf,
    lock: PathBuf,
    audit: AuditLog,
}

impl HoldStore {
    /// The register of the archive whose catalog folder is `catalog_dir` (`<root>/_catalog`).
    pub fn new(catalog_dir: &Path) -> Self {
        HoldStore {
            path: catalog_dir.join("holds.json"),
            lock: catalog_dir.join("holds.lock"),
            audit: AuditLog::new(catalog_dir.parent().unwrap_or(catalog_dir)),
        }
    }

    /// The register's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The holds in force, by name.
    pub fn list(&self) -> Result<Vec<HoldRecord>> {
        Ok(self.read()?.holds)
    }

    /// The holds in force as the lifecycle plan takes them.
    pub fn holds(&self) -> Result<Vec<Hold>> {
        Ok(self.list()?.into_iter().map(|r| r.hold).collect())
    }

    /// Runs `f` — a deletion — unless a hold in force covers `file`, holding the register's
    /// lock meanwhile: a hold placed at the same time waits until `f` is done, so once `hold
    /// add` returns nothing it covers is deleted. The covering hold's name when one covers it.
    pub fn unless_held<T>(
        &self,
        file: &StoredFile,
        f: impl FnOnce() -> Result<T>,
    ) -> Result<std::result::Result<T, String>> {
        let lock = lock_file(&self.lock)?;
        let covering = self
            .read()?
            .holds
            .into_iter()
            .find(|r| r.hold.scope.covers(file))
            .map(|r| r.hold.name);
        let out = match covering {
            Some(name) => Err(name),
            None => Ok(f()?),
        };
        drop(lock);
        Ok(out)
    }

    /// Places a hold, and records it in the audit trail. Refused when one of that name is in
    /// force, or when the name is empty or its dates are reversed.
    pub fn add(&self, hold: Hold, now: Timestamp) -> Result<HoldRecord> {
        validate(&hold)?;
        self.audit.ensure_intact()?;
        let record = self.change(|register| {
            if register.holds.iter().any(|r| r.hold.name == hold.name) {
                return Err(Error::HoldExists(hold.name.clone()));
            }
            let record = HoldRecord {
                hold: hold.clone(),
                placed_at: now,
            };
            register.holds.push(record.clone());
            register.holds.sort_by(|a, b| a.hold.name.cmp(&b.hold.name));
            Ok(record)
        })?;
        self.audit.append(AuditEntry {
            action: "hold.add".into(),
            at: now,
            op: 0,
            subject: record.hold.name.clone(),
            sha256: None,
            with: Vec::new(),
            became: Vec::new(),
            why: format!("covers {}; {}", record.hold.scope, record.hold.reason),
        })?;
        Ok(record)
    }

    /// Releases the hold of that name, and records it in the audit trail; what it covered may
    /// be deleted again by the lifecycle.
    pub fn release(&self, name: &str, now: Timestamp) -> Result<HoldRecord> {
        self.audit.ensure_intact()?;
        let record = self.change(|register| {
            let Some(at) = register.holds.iter().position(|r| r.hold.name == name) else {
                let names: Vec<&str> = register
                    .holds
                    .iter()
                    .map(|r| r.hold.name.as_str())
                    .collect();
                return Err(Error::NoSuchHold {
                    name: name.to_string(),
                    in_force: if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    },
                });
            };
            Ok(register.holds.remove(at))
        })?;
        self.audit.append(AuditEntry {
            action: "hold.release".into(),
            at: now,
            op: 0,
            subject: record.hold.name.clone(),
            sha256: None,
            with: Vec::new(),
            became: Vec::new(),
            why: format!("covered {}", record.hold.scope),
        })?;
        Ok(record)
    }

    fn read(&self) -> Result<Register> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Register {
                    format: 1,
                    holds: Vec::new(),
                })
            }
            Err(e) => return Err(io(&self.path)(e)),
        };
        let register: Register = serde_json::from_slice(&bytes).map_err(|e| Error::Damaged {
            path: self.path.clone(),
            message: format!("not a hold register: {e}"),
        })?;
        if register.format != 1 {
            return Err(Error::Damaged {
                path: self.path.clone(),
                message: format!("format {} (this build reads 1)", register.format),
            });
        }
        Ok(register)
    }

    /// Reads, changes and writes the register under its lock.
    fn change<T>(&self, f: impl FnOnce(&mut Register) -> Result<T>) -> Result<T> {
        let lock = lock_file(&self.lock)?;
        let mut register = self.read()?;
        let out = f(&mut register)?;
        register.format = 1;
        let mut bytes = serde_json::to_vec_pretty(&register).map_err(|e| Error::Damaged {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        strata_catalog::fsio::write_atomic(&self.path, &bytes)?;
        drop(lock);
        Ok(out)
    }
}

fn validate(hold: &Hold) -> Result<()> {
    let bad = |message: &str| {
        Err(Error::BadHold {
            name: hold.name.clone(),
            message: message.to_string(),
        })
    };
    if hold.name.trim().is_empty() || hold.name.chars().any(char::is_control) {
        return bad("a hold needs a name of printable characters");
    }
    let HoldScope { from, to, .. } = &hold.scope;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return bad(&format!("--from {from} is after --to {to}"));
        }
    }
    Ok(())
}
