//! Carrying a plan out (TIER-2, TIER-3, CAT-3): migrations that convert and verify, deletions,
//! under a journal so that a run killed at any instant is finished by the next one with nothing
//! lost and nothing twice.
//!
//! A migration of one file, each step safe to repeat:
//!
//! 1. the journal gets `begin` (appended and fsynced) naming the source and the target tier;
//! 2. the source is read from its tier's backend and checked against its manifest's SHA-256;
//! 3. it is converted to the target tier's format and codec (JSONL → JSONL with another codec,
//!    or JSONL → Parquet, one file per event kind);
//! 4. each target is written create-only (a target a killed run left is read and kept if it
//!    holds the source's events, replaced if not);
//! 5. every target is read back and its events' count and order-independent digest compared
//!    with the source's — a mismatch stops the migration and leaves the source;
//! 6. each target's sidecar manifest (with its lineage: parent and operation) is written beside
//!    it and the index is updated;
//! 7. the source goes: its sidecar first (so no index rebuild can bring it back), then its index
//!    row, its line in `checksums.sha256`, its data;
//! 8. the audit trail gets the action (once per operation), then the journal gets `done`.
//!
//! A consolidation (TIER-4) is the same operation over several sources of one period: their
//! events, checked against each source's SHA-256, become one file (per kind, in Parquet) named
//! after the period; the digest compared is that of all the sources together, every source is
//! the target's parent in its lineage, and the sources go only once every target is catalogued.
//!
//! A later run first finishes every `begin` without `done`, by running the same steps again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use strata_backend::{Backend, BackendExt, PutOptions};
use strata_catalog::{Catalog, FileManifest, LineageEntry};
use strata_codec::CodecSpec;
use strata_columnar::{
    Converter, EventDigest, EventReader, EventWriter, FilePlan, FileSummary, ParquetOptions,
};
use strata_core::layout::escape_segment;
use strata_core::policy::{Decision, FileFormat, LifecycleAction, LifecyclePlan, TierName};
use strata_model::{jsonl, Event, EventKind, Timestamp};

use crate::audit::{AuditEntry, AuditLog};
use crate::error::{io, Error, Result};
use crate::lines::{append_record, read_records, try_lock_file};
use crate::session_rows;

/// The journal's folder under the archive root.
pub const LIFECYCLE_DIR: &str = "_lifecycle";
/// The journal file in [`LIFECYCLE_DIR`].
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Entry {
    Begin {
        id: u64,
        action: String,
        source: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<TierName>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<FileFormat>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        codec: Option<CodecSpec>,
        /// A consolidation's other sources (`source` is the first).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        with: Vec<String>,
        /// Their SHA-256 when the operation began, in the same order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        with_sha256: Vec<String>,
        /// A consolidation's period, which names the file it makes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        period: Option<String>,
        at: Timestamp,
        /// The source's SHA-256 when the operation began.
        #[serde(default)]
        sha256: String,
        /// The rule that decided it, and why.
        #[serde(default)]
        why: String,
    },
    Done {
        id: u64,
    },
    /// An operation that failed before it changed anything: closed, so that the next plan
    /// decides again (with the holds and policies then in force) instead of a blind retry.
    Abandoned {
        id: u64,
        why: String,
    },
    /// What a compacted journal keeps of its closed operations: the last id, so that ids keep
    /// growing (the audit trail records each operation once, by id).
    Checkpoint {
        id: u64,
    },
}

/// A journal with no open operation is compacted to one checkpoint line once it is this big.
const COMPACT_JOURNAL_BYTES: u64 = 1 << 20;

impl Entry {
    /// A begun operation's sources with their SHA-256 when it began (empty where unknown).
    fn sources(&self) -> Vec<(String, String)> {
        let Entry::Begin {
            source,
            sha256,
            with,
            with_sha256,
            ..
        } = self
        else {
            return Vec::new();
        };
        std::iter::once((source.clone(), sha256.clone()))
            .chain(with.iter().enumerate().map(|(i, path)| {
                (
                    path.clone(),
                    with_sha256.get(i).cloned().unwrap_or_default(),
                )
            }))
            .collect()
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunReport {
    /// Migrations finished: the source and the files it became.
    pub migrated: Vec<(String, Vec<String>)>,
    /// Consolidations finished: the sources and the files they became.
    pub consolidated: Vec<(Vec<String>, Vec<String>)>,
    /// Files deleted.
    pub deleted: Vec<String>,
    /// Operations a killed run had begun, finished by this one.
    pub resumed: usize,
    /// Files a deletion would have removed but a hold placed after the plan was made keeps,
    /// with the hold's name (the next plan protects them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<(String, String)>,
    /// Files whose operation failed, with why (their data is left as it was).
    pub failed: Vec<(String, String)>,
    /// Events moved by the migrations.
    pub events_moved: u64,
    /// Bytes of the migrated sources.
    pub bytes_before: u64,
    /// Bytes of what they became.
    pub bytes_after: u64,
    /// The signed manifest of the archive tier this run wrote (ARCH-3), if the tier changed.
    pub signed_manifest: Option<u64>,
    /// Why the archive tier's manifest was not signed, when it was not (ARCH-3): its last
    /// manifest does not verify, or the tier changed in a way no audited operation explains.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_error: Option<String>,
    /// The run was asked to stop ([`Executor::with_stop`]) and did, between two operations:
    /// what it had not begun is left to the next run.
    pub stopped: bool,
    /// Requests the automation rules made (POL-6), recorded in `_lifecycle/requests.jsonl`.
    pub requests: usize,
}

/// Carries plans out on one archive.
pub struct Executor<'a> {
    root: PathBuf,
    catalog: &'a Catalog,
    backends: BTreeMap<TierName, Arc<dyn Backend>>,
    runtime: tokio::runtime::Runtime,
    journal: PathBuf,
    audit: AuditLog,
    signing: Option<ed25519_dalek::SigningKey>,
    stop: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// Above this many events a consolidation into Parquet is written in two passes.
    in_memory_events: u64,
}

impl std::fmt::Debug for Executor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("root", &self.root)
            .field("tiers", &self.backends.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Where an operation's files go: the tier, its format and codec, and for a consolidation the
/// period that names the file.
#[derive(Debug, Clone, Copy)]
struct Destination<'p> {
    tier: TierName,
    format: FileFormat,
    codec: CodecSpec,
    period: Option<&'p str>,
}

/// A target file made from a source, before it is written.
struct Target {
    /// The name without its extension (`SPY/trade/2013-10-07_000001`).
    base: String,
    /// `.parquet`, `.jsonl.zst`, …
    ext: String,
    /// The name it is written under (set by `Executor::place`).
    key: String,
    /// Its bytes until they are written (then let go: the tier's copy is read back).
    bytes: Bytes,
    format: FileFormat,
    codec: CodecSpec,
}

impl<'a> Executor<'a> {
    /// An executor for the archive at `root` with its catalog and each tier's storage (every
    /// tier a plan may name must be there; the hot tier's is `<root>/hot`).
    pub fn new(
        root: &Path,
        catalog: &'a Catalog,
        backends: BTreeMap<TierName, Arc<dyn Backend>>,
    ) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io(root))?;
        Ok(Executor {
            root: root.to_path_buf(),
            catalog,
            backends,
            runtime,
            journal: root.join(LIFECYCLE_DIR).join(JOURNAL_FILE),
            audit: AuditLog::new(root),
            signing: None,
            stop: None,
            in_memory_events: strata_core::config::LifecycleSettings::DEFAULT_IN_MEMORY_EVENTS,
        })
    }

    /// Consolidations into Parquet of more than `events` events are written in two passes,
    /// holding one source's events at a time (those of sources whose times overlap together)
    /// rather than every event's columns (`lifecycle.in_memory_events`).
    pub fn with_in_memory_events(mut self, events: u64) -> Self {
        self.in_memory_events = events;
        self
    }

    /// Stops a run between two operations once `flag` is set (a signal handler's): the
    /// operation under way finishes, nothing more begins, and the report says `stopped`.
    pub fn with_stop(mut self, flag: Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.stop = Some(flag);
        self
    }

    fn stop_asked(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// Signs the archive tier's manifest with `key` at the end of each run that changed the
    /// tier (ARCH-3; see [`crate::sign`]).
    pub fn with_signing(mut self, key: ed25519_dalek::SigningKey) -> Self {
        self.signing = Some(key);
        self
    }

    /// Writes the archive tier's next signed manifest if its files changed, and audits it.
    fn sign(&self, now: Timestamp, report: &mut RunReport) -> Result<()> {
        let (Some(key), Some(backend)) = (&self.signing, self.backends.get(&TierName::Archive))
        else {
            return Ok(());
        };
        let files: Vec<FileManifest> = self
            .catalog
            .find(&strata_catalog::FileQuery::all())?
            .into_iter()
            .filter(|m| m.tier == TierName::Archive)
            .collect();
        // What the lifecycle did since the last manifest was signed: the only changes it signs.
        let entries = self.audit.entries()?;
        let since = entries
            .iter()
            .rposition(|e| e.action == "sign")
            .map_or(0, |at| at + 1);
        let written =
            crate::sign::write_manifest(backend.as_ref(), &files, key, now, &entries[since..]);
        let Some((seq, sha)) = self.runtime.block_on(written)? else {
            return Ok(());
        };
        report.signed_manifest = Some(seq);
        self.audit.append(AuditEntry {
            action: "sign".into(),
            at: now,
            op: 0,
            subject: format!("archive/{}/{seq:06}.json", crate::sign::MANIFEST_FOLDER),
            sha256: Some(sha),
            with: Vec::new(),
            became: Vec::new(),
            why: format!(
                "the archive tier's {} files, signed with key {}",
                files.len(),
                crate::sign::fingerprint(&key.verifying_key())
            ),
        })
    }

    /// Finishes what a killed run began, then carries out every migration and deletion of
    /// `plan`; `progress(done, total)` is called after each. A file whose operation fails is
    /// reported and left as it was; the others go on.
    ///
    /// One run at a time per archive: a second one is refused while the first holds
    /// `_lifecycle/lock` (`Error::Busy`).
    pub fn run(
        &self,
        plan: &LifecyclePlan,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<RunReport> {
        let _lock = self.lock()?;
        self.audit.ensure_intact()?;
        let mut report = RunReport::default();
        self.recover(&mut report)?;
        // The journal after recovery, read once: what is still open, and the last id.
        let (open, last_id) = self.journal_state()?;
        self.compact(&open, last_id)?;
        // What operations left open (their recovery failed) still own: their sources and what
        // was made from them stay out of this run, or their events could be taken twice.
        let mut owned = std::collections::BTreeSet::new();
        for entry in open.values() {
            for (path, sha) in entry.sources() {
                owned.extend(self.derived(&path, &sha)?);
                owned.insert(path);
            }
        }
        let actions: Vec<_> = plan.actions().collect();
        let total = actions.len();
        // A consolidation is one operation over its group's files, begun at its first.
        let mut groups: BTreeMap<&str, Vec<&Decision>> = BTreeMap::new();
        for decision in &actions {
            if let LifecycleAction::Consolidate { group, .. } = &decision.action {
                groups.entry(group.as_str()).or_default().push(decision);
            }
        }
        let mut next_id = last_id + 1;
        let mut done = 0;
        for decision in actions {
            if self.stop_asked() {
                report.stopped = true;
                break;
            }
            let members = match &decision.action {
                LifecycleAction::Consolidate { group, .. } => match groups.remove(group.as_str()) {
                    Some(members) => members,
                    // Begun with its group's first file.
                    None => continue,
                },
                _ => vec![decision],
            };
            done += members.len();
            let mut sources = Vec::new();
            for member in &members {
                // Gone meanwhile: done by the recovery above.
                let Some(source) = self.catalog.get(&member.path)? else {
                    continue;
                };
                if owned.contains(&source.path) {
                    report.failed.push((
                        source.path.clone(),
                        "an unfinished operation holds it; left until that one is finished".into(),
                    ));
                } else if !self.derived(&source.path, &source.sha256)?.is_empty() {
                    report.failed.push((
                        source.path.clone(),
                        "files were made from it by an operation that did not remove it; left as it is".into(),
                    ));
                } else {
                    sources.push(source);
                }
            }
            let (action, to, format, codec, period) = match &decision.action {
                LifecycleAction::Migrate { to, format, codec } => {
                    ("migrate", Some(*to), Some(*format), Some(*codec), None)
                }
                LifecycleAction::Consolidate {
                    to,
                    format,
                    codec,
                    period,
                    ..
                } => (
                    "consolidate",
                    Some(*to),
                    Some(*format),
                    Some(*codec),
                    Some(period.clone()),
                ),
                _ => ("delete", None, None, None, None),
            };
            // A group left with one file that is in its tier already has nothing to merge.
            let nothing_to_merge = action == "consolidate"
                && sources.len() < 2
                && sources.iter().all(|m| Some(m.tier) == to);
            let Some(first) = sources.first().filter(|_| !nothing_to_merge) else {
                progress(done, total);
                continue;
            };
            let entry = Entry::Begin {
                id: next_id,
                action: action.into(),
                source: first.path.clone(),
                to,
                format,
                codec,
                with: sources[1..].iter().map(|m| m.path.clone()).collect(),
                with_sha256: sources[1..].iter().map(|m| m.sha256.clone()).collect(),
                period,
                at: plan.now,
                sha256: first.sha256.clone(),
                why: format!("{}: {}", decision.rule, decision.reason),
            };
            next_id += 1;
            self.append(&entry)?;
            self.attempt(&entry, &mut report)?;
            progress(done, total);
        }
        // A manifest that cannot be signed is reported; what the run did stands.
        if let Err(e) = self.sign(plan.now, &mut report) {
            report.sign_error = Some(e.to_string());
        }
        // The rules ran (POL-6): their requests recorded, each due rule not due again until
        // its interval has passed. A stopped run leaves them due.
        if !report.stopped {
            report.requests = crate::RuleLog::new(&self.root).record(plan)?;
        }
        Ok(report)
    }

    /// The catalogued files made from one version of a file (any version when the SHA-256 is
    /// not known, as in journals written before it was recorded).
    fn derived(&self, path: &str, sha256: &str) -> Result<Vec<String>> {
        Ok(if sha256.is_empty() {
            self.catalog.derived_from(path)?
        } else {
            self.catalog.derived_from_version(path, sha256)?
        })
    }

    /// Runs one begun operation to its end and journals `done`.
    fn perform(&self, entry: &Entry, report: &mut RunReport) -> Result<()> {
        let Entry::Begin {
            id,
            action,
            source,
            to,
            format,
            codec,
            period,
            at,
            sha256,
            ..
        } = entry
        else {
            return Ok(());
        };
        let sources = entry.sources();
        let became = match (action.as_str(), to, format, codec) {
            ("migrate" | "consolidate", Some(to), Some(format), Some(codec)) => {
                let destination = Destination {
                    tier: *to,
                    format: *format,
                    codec: *codec,
                    period: period.as_deref(),
                };
                match self.migrate(&sources, destination, *at, report)? {
                    Some(became) => became,
                    // Finished by a killed run up to the sources' removal: what they became is
                    // in the catalog's lineage.
                    None => self
                        .derived(source, sha256)?
                        .into_iter()
                        .filter_map(|p| self.catalog.get(&p).ok().flatten())
                        .map(|m| format!("{} {}", m.path, m.sha256))
                        .collect(),
                }
            }
            ("delete", ..) => {
                match self.catalog.get(source)? {
                    Some(manifest) => {
                        // A hold placed since the plan was made keeps the file: checked under
                        // the hold register's lock, held until the file is gone.
                        let file = crate::plan::stored_file(&manifest, &Default::default());
                        let holds = crate::HoldStore::new(&self.root.join("_catalog"));
                        let held = holds.unless_held(&file, || {
                            // Only the very file planned for deletion (and approved, where that
                            // is needed) is deleted: one changed since, or under an edited
                            // index row, is left.
                            let (tier, key) = Self::split(&manifest.path)?;
                            let stored = self.block_on(self.backend(tier)?.get(key));
                            if let (Ok(bytes), false) = (&stored, sha256.is_empty()) {
                                let actual = strata_catalog::sha256_bytes(bytes);
                                if actual != *sha256 {
                                    return Err(Error::Verify {
                                        path: source.clone(),
                                        message: format!("its SHA-256 is {actual}, not the {sha256} planned for deletion: not deleted"),
                                    });
                                }
                            }
                            self.remove_source(&manifest)?;
                            // Audited before the lock goes: a hold placed next comes after it.
                            self.audit_done(entry, Vec::new())
                        })?;
                        if let Err(hold) = held {
                            // A killed attempt may have taken its sidecar: it comes back, as
                            // the file stays.
                            self.restore_sidecar(&manifest)?;
                            return Err(Error::Held {
                                path: source.clone(),
                                hold,
                            });
                        }
                    }
                    // Its index row went before a kill: the rest of its files go now.
                    None => self.finish_removal(source)?,
                }
                report.deleted.push(source.clone());
                Vec::new()
            }
            _ => {
                return Err(Error::Damaged {
                    path: self.journal.clone(),
                    message: format!("entry {id}: unknown action `{action}`"),
                })
            }
        };
        // Recorded once, even when a killed run (or the deletion above) recorded it before.
        self.audit_done(entry, became)?;
        self.append(&Entry::Done { id: *id })
    }

    /// Records a begun operation in the audit trail (once per operation: a repeat is ignored).
    fn audit_done(&self, entry: &Entry, became: Vec<String>) -> Result<()> {
        let Entry::Begin {
            id,
            action,
            source,
            at,
            sha256,
            why,
            ..
        } = entry
        else {
            return Ok(());
        };
        self.audit.append(AuditEntry {
            action: action.clone(),
            at: *at,
            op: *id,
            subject: source.clone(),
            sha256: (!sha256.is_empty()).then(|| sha256.clone()),
            with: entry.sources()[1..]
                .iter()
                .map(|(path, sha)| format!("{path} {sha}").trim_end().to_string())
                .collect(),
            became,
            why: why.clone(),
        })
    }

    /// Writes a catalogued file's sidecar back when none of its names holds one (a killed
    /// deletion had taken it before a hold kept the file).
    fn restore_sidecar(&self, manifest: &FileManifest) -> Result<()> {
        let (tier, key) = Self::split(&manifest.path)?;
        let backend = self.backend(tier)?;
        for sidecar in strata_catalog::manifest::sidecar_keys(key) {
            if self.block_on(backend.exists(&sidecar))? {
                return Ok(());
            }
        }
        let text = strata_catalog::manifest::encode_manifest(manifest)?;
        self.put_or_same(
            backend,
            &strata_catalog::manifest::sidecar_key(key),
            Bytes::from(text.into_bytes()),
        )
    }

    /// Replaces a big journal whose operations are all closed by one checkpoint line (written
    /// beside, synced, renamed: a kill leaves the old journal or the new one).
    fn compact(&self, open: &BTreeMap<u64, Entry>, last_id: u64) -> Result<()> {
        let big = std::fs::metadata(&self.journal).is_ok_and(|m| m.len() > COMPACT_JOURNAL_BYTES);
        if !big || !open.is_empty() {
            return Ok(());
        }
        let mut line = serde_json::to_string(&Entry::Checkpoint { id: last_id }).map_err(|e| {
            Error::Damaged {
                path: self.journal.clone(),
                message: e.to_string(),
            }
        })?;
        line.push('\n');
        Ok(strata_catalog::fsio::write_atomic(
            &self.journal,
            line.as_bytes(),
        )?)
    }

    /// The journal's operations begun and not ended, by id, and the last id it holds; one read.
    fn journal_state(&self) -> Result<(BTreeMap<u64, Entry>, u64)> {
        let mut open: BTreeMap<u64, Entry> = BTreeMap::new();
        let mut last = 0;
        for entry in read_records::<Entry>(&self.journal)? {
            match entry {
                Entry::Begin { id, .. } => {
                    last = last.max(id);
                    open.insert(id, entry);
                }
                Entry::Done { id } | Entry::Abandoned { id, .. } => {
                    last = last.max(id);
                    open.remove(&id);
                }
                Entry::Checkpoint { id } => last = last.max(id),
            }
        }
        Ok((open, last))
    }

    /// Finishes every operation the journal begun and did not end, after removing what a
    /// killed run's unfinished writes left in the tiers it writes to (under the lifecycle
    /// lock, nothing else writes there).
    fn recover(&self, report: &mut RunReport) -> Result<()> {
        for (tier, backend) in &self.backends {
            if *tier != TierName::Hot {
                self.block_on(backend.purge_staging())?;
            }
        }
        for entry in self.journal_state()?.0.values() {
            let Entry::Begin {
                id, source, action, ..
            } = entry
            else {
                continue;
            };
            // A deletion a killed run had not started (its source still catalogued, with its
            // sidecar) is not redone blindly: a hold may have been placed since. The plan
            // decides again. One whose sidecar went first had started, and is finished, unless a
            // hold placed since covers it (its sidecar then comes back). One whose index row went
            // too is finished whatever holds say: nothing catalogues it any more.
            if action == "delete" {
                if let Some(manifest) = self.catalog.get(source)? {
                    let (tier, key) = Self::split(&manifest.path)?;
                    let backend = self.backend(tier)?;
                    let mut has_sidecar = false;
                    for sidecar in strata_catalog::manifest::sidecar_keys(key) {
                        has_sidecar |= self.block_on(backend.exists(&sidecar))?;
                    }
                    if has_sidecar {
                        self.append(&Entry::Abandoned {
                            id: *id,
                            why: "interrupted before it started; left to the next plan".into(),
                        })?;
                        continue;
                    }
                }
            }
            self.attempt(entry, report)?;
            report.resumed += 1;
        }
        Ok(())
    }

    /// Runs one begun operation; a failure is reported, and closed as abandoned when nothing
    /// of it changed the archive yet (its sources still catalogued), so it is not retried
    /// blindly.
    fn attempt(&self, entry: &Entry, report: &mut RunReport) -> Result<()> {
        let Entry::Begin { id, source, .. } = entry else {
            return Ok(());
        };
        if let Err(e) = self.perform(entry, report) {
            // The file the error names (a consolidation's damaged member, not its first), once.
            let failed = match &e {
                Error::Held { path, hold } => {
                    report.held.push((path.clone(), hold.clone()));
                    self.append(&Entry::Abandoned {
                        id: *id,
                        why: e.to_string(),
                    })?;
                    return Ok(());
                }
                Error::Verify { path, message } => (path.clone(), message.clone()),
                other => {
                    let message = other.to_string();
                    let why = message
                        .strip_prefix(&format!("{source}: "))
                        .unwrap_or(&message);
                    (source.clone(), why.to_string())
                }
            };
            report.failed.push(failed);
            // Nothing changed yet: every source still catalogued and no file made from one
            // catalogued (else the operation stays open, to be finished).
            let mut untouched = true;
            for (path, sha) in entry.sources() {
                untouched &=
                    self.catalog.get(&path)?.is_some() && self.derived(&path, &sha)?.is_empty();
            }
            if untouched {
                self.append(&Entry::Abandoned {
                    id: *id,
                    why: e.to_string(),
                })?;
            }
        }
        Ok(())
    }

    fn lock(&self) -> Result<std::fs::File> {
        let path = self.root.join(LIFECYCLE_DIR).join("lock");
        try_lock_file(&path)?.ok_or(Error::Busy(path))
    }

    fn backend(&self, tier: TierName) -> Result<&Arc<dyn Backend>> {
        self.backends.get(&tier).ok_or_else(|| Error::Damaged {
            path: self.root.clone(),
            message: format!("no storage for the {tier} tier"),
        })
    }

    /// `hot/SPY/trade/x.jsonl` → (hot, `SPY/trade/x.jsonl`).
    fn split(path: &str) -> Result<(TierName, &str)> {
        let (tier, key) = path.split_once('/').ok_or_else(|| Error::Damaged {
            path: PathBuf::from(path),
            message: "a catalogued path starts with its tier".into(),
        })?;
        let tier: TierName = tier.parse().map_err(|e| Error::Damaged {
            path: PathBuf::from(path),
            message: format!("{e}"),
        })?;
        Ok((tier, key))
    }

    /// Migrates `sources` (one, or a consolidation's several, each with its SHA-256 when the
    /// operation began) into `into`; `None` when a killed run had done everything up to the
    /// sources' removal, which is finished now.
    fn migrate(
        &self,
        sources: &[(String, String)],
        into: Destination<'_>,
        at: Timestamp,
        report: &mut RunReport,
    ) -> Result<Option<Vec<String>>> {
        let to = into.tier;
        let mut manifests = Vec::new();
        let mut gone = Vec::new();
        for (path, sha) in sources {
            match self.catalog.get(path)? {
                // The very version the operation began with (a path reused by newer data is
                // not it).
                Some(manifest) if sha.is_empty() || manifest.sha256 == *sha => {
                    manifests.push(manifest)
                }
                _ => gone.push((path, sha)),
            }
        }
        if !gone.is_empty() {
            // A source's index row went after every target was catalogued (a killed run's step
            // 7): the removals are finished. Without a catalogued file made from a missing
            // source, nothing is removed.
            let mut made = false;
            for (path, sha) in &gone {
                made |= !self.derived(path, sha)?.is_empty();
            }
            if !made {
                return Err(Error::Verify {
                    path: gone[0].0.clone(),
                    message: "not in the catalog, and no catalogued file was made from it: its data is left as it is".into(),
                });
            }
            for manifest in &manifests {
                self.remove_source(manifest)?;
            }
            for (path, _) in gone {
                if self.catalog.get(path)?.is_none() {
                    self.finish_removal(path)?;
                }
            }
            return Ok(None);
        }
        let mut source_digest = EventDigest::default();
        let first = &manifests[0];
        let events: u64 = manifests.iter().map(|m| m.stats.event_count).sum();
        // The sessions of the rows, as the two-pass way notes them while writing.
        let mut emitted = None;
        let mut targets = match into.format {
            _ if manifests.len() > 1 && events > self.in_memory_events => {
                let (targets, digest, noted) = self.consolidate_in_two_passes(&manifests, into)?;
                source_digest = digest;
                emitted = noted;
                targets
            }
            FileFormat::Parquet => {
                let mut converter = Converter::new();
                for source in &manifests {
                    let packed = self.read_packed(source)?;
                    let bad = columnar_error(source);
                    match source.format {
                        FileFormat::Jsonl => {
                            let plain = decompress(&source.path, &packed)?;
                            source_digest.merge(digest_jsonl(&source.path, &plain)?);
                            converter.push_jsonl(&source.path, &plain).map_err(bad)?;
                        }
                        // A Parquet source (cold → archive): its events, as they are read.
                        FileFormat::Parquet => {
                            for event in EventReader::new(packed).map_err(bad)? {
                                let event = event.map_err(bad)?;
                                source_digest.add(&event);
                                converter.push(&event).map_err(bad)?;
                            }
                        }
                    }
                }
                let files = converter
                    .finish(&parquet_options(into))
                    .map_err(|e| Error::Verify {
                        path: first.path.clone(),
                        message: e.to_string(),
                    })?
                    .into_iter()
                    .map(|f| (f.bytes, f.summary))
                    .collect();
                parquet_targets(&manifests, files, into)
            }
            FileFormat::Jsonl => {
                let mut plains = Vec::new();
                for source in &manifests {
                    let packed = self.read_packed(source)?;
                    let plain = match source.format {
                        FileFormat::Jsonl => decompress(&source.path, &packed)?,
                        FileFormat::Parquet => parquet_as_jsonl(&source.path, packed)?,
                    };
                    source_digest.merge(digest_jsonl(&source.path, &plain)?);
                    plains.push(plain);
                }
                let plain = merge_by_time(&first.path, plains)?;
                let packed =
                    strata_codec::compress(into.codec, &plain).map_err(|e| Error::Verify {
                        path: first.path.clone(),
                        message: e.to_string(),
                    })?;
                vec![jsonl_target(&manifests, packed, into)]
            }
        };
        let backend = self.backend(to)?;
        // Which rows each session wrote, when the sources are of several (SESSION-2), taken as
        // each target is read back.
        let mut rows = self.session_rows(&manifests, into, emitted)?;
        let mut target_digest = EventDigest::default();
        let mut written = Vec::new();
        // A target that is not the one source's events in another form (several sources, or a
        // source of several kinds split per kind) gets its own statistics and kind, counted
        // while it is read back.
        let recount = targets.len() > 1 || manifests.len() > 1;
        for target in &mut targets {
            target.key = self.place(backend, to, target, sources)?;
            target.bytes = Bytes::new();
            // Read back what the tier holds, not what was meant to be written.
            let back = self.block_on(backend.get(&target.key))?;
            let key = target.key.clone();
            let (digest, stats) =
                read_back(&key, target.format, &back, recount, &mut |kind, event| {
                    if let Some(rows) = &mut rows {
                        rows.row(&key, kind, event);
                    }
                })?;
            target_digest.merge(digest);
            let shares = rows.as_mut().map(session_rows::SessionRows::end_target);
            written.push((&*target, back, stats, shares));
        }
        let sessions = if target_digest == source_digest {
            match &mut rows {
                Some(rows) => rows.check(&first.path),
                None => Ok(()),
            }
        } else {
            Err(Error::Verify {
                path: first.path.clone(),
                message: format!(
                    "read back from the {to} tier: {target_digest}; the source{} {} {source_digest}; nothing changed",
                    if manifests.len() > 1 { "s" } else { "" },
                    if manifests.len() > 1 { "hold" } else { "holds" },
                ),
            })
        };
        match sessions {
            Ok(()) => {}
            Err(e) => {
                for target in &targets {
                    let _ = self.block_on(backend.delete(&target.key));
                }
                return Err(e);
            }
        };
        let operation = match into.period {
            Some(period) => format!(
                "consolidate {} files of {period} -> {to} ({} {})",
                manifests.len(),
                into.format,
                into.codec
            ),
            None => format!(
                "migrate {} -> {to} ({} {} -> {} {})",
                first.tier, first.format, first.codec, into.format, into.codec
            ),
        };
        // The whole way back: each source's own lineage, then this step.
        let lineage: Vec<LineageEntry> = manifests
            .iter()
            .flat_map(|source| {
                source.lineage.iter().cloned().chain([LineageEntry {
                    parent_path: source.path.clone(),
                    parent_sha256: source.sha256.clone(),
                    operation: operation.clone(),
                }])
            })
            .collect();
        let mut paths = Vec::new();
        let mut became = Vec::new();
        for (target, back, counted, shares) in written {
            let (stats, partition) = if let Some((stats, kind)) = counted {
                let mut partition = shared_partition(&manifests);
                partition.kind = kind.or(partition.kind);
                if let Some(period) = into.period {
                    // A day or a month names a layout period (a week or a year does not), when
                    // every event of the file is in it.
                    partition.period =
                        period
                            .parse::<strata_core::layout::Period>()
                            .ok()
                            .filter(|p| {
                                [stats.first_event_time, stats.last_event_time]
                                    .iter()
                                    .all(|t| t.is_some_and(|t| p.contains(t)))
                            });
                }
                (stats, partition)
            } else {
                (first.stats.clone(), first.partition.clone())
            };
            let (session_id, sessions) = match shares {
                Some(shares) => session_rows::session_of(shares, stats.event_count),
                None => (
                    manifests
                        .iter()
                        .all(|m| m.session_id == first.session_id && m.sessions.is_empty())
                        .then(|| first.session_id.clone())
                        .flatten(),
                    Vec::new(),
                ),
            };
            let manifest = FileManifest {
                stats,
                partition,
                path: format!("{to}/{}", target.key),
                tier: to,
                format: target.format,
                codec: target.codec,
                size_bytes: back.len() as u64,
                sha256: strata_catalog::sha256_bytes(&back),
                lineage: lineage.clone(),
                // The lowest of the sources' scores, when each has one.
                quality_score: manifests
                    .iter()
                    .map(|m| m.quality_score)
                    .try_fold(f64::INFINITY, |low, q| q.map(|q| low.min(q))),
                session_id,
                sessions,
                sealed_at: at,
                seal_reason: if into.period.is_some() {
                    strata_catalog::seal_reason::CONSOLIDATE.into()
                } else {
                    strata_catalog::seal_reason::MIGRATE.into()
                },
                ..first.clone()
            };
            let sidecar = strata_catalog::manifest::encode_manifest(&manifest)?;
            let sidecar_key = strata_catalog::manifest::sidecar_key(&target.key);
            self.put_or_same(backend, &sidecar_key, Bytes::from(sidecar.into_bytes()))?;
            self.catalog.register(&manifest)?;
            // A tier on the local disk lists its files in `checksums.sha256` like the hot tier
            // (`_checksums.sha256` beside Parquet files), so `sha256sum -c` works in every data
            // folder.
            let local = self.root.join(&manifest.path);
            if let (true, Some(folder), Some(name)) =
                (local.is_file(), local.parent(), local.file_name())
            {
                strata_catalog::append_checksum_line(
                    folder,
                    &name.to_string_lossy(),
                    &manifest.sha256,
                )?;
            }
            report.bytes_after += manifest.size_bytes;
            became.push(format!("{} {}", manifest.path, manifest.sha256));
            paths.push(manifest.path);
        }
        for source in &manifests {
            report.bytes_before += source.size_bytes;
        }
        report.events_moved += source_digest.events;
        for source in &manifests {
            self.remove_source(source)?;
        }
        if into.period.is_some() {
            report
                .consolidated
                .push((manifests.iter().map(|m| m.path.clone()).collect(), paths));
        } else {
            report.migrated.push((first.path.clone(), paths));
        }
        Ok(Some(became))
    }

    /// What notes the sessions of the targets' rows when the sources are of several (`None`
    /// when they are of one, which the targets keep): the two-pass way's notes (`emitted`), or
    /// the sources' rows gathered ([`SessionRows`](session_rows::SessionRows)).
    fn session_rows(
        &self,
        sources: &[FileManifest],
        into: Destination<'_>,
        emitted: Option<(session_rows::Labels, session_rows::Emitted)>,
    ) -> Result<Option<session_rows::SessionRows>> {
        if let Some((labels, emitted)) = emitted {
            return Ok(Some(session_rows::SessionRows::emitted(labels, emitted)));
        }
        let per_kind = into.format == FileFormat::Parquet;
        session_rows::SessionRows::gather(sources, per_kind, |source, f| {
            self.each_event(source, |event, _| {
                f(event);
                Ok(())
            })
            .map(drop)
        })
    }

    /// Calls `f` with each event of `source` in the file's order (the source read from its tier
    /// and checked against its SHA-256) and, for a JSONL source, the line it was read from;
    /// returns the digest of its events.
    fn each_event(
        &self,
        source: &FileManifest,
        mut f: impl FnMut(&Event, Option<&[u8]>) -> Result<()>,
    ) -> Result<EventDigest> {
        let packed = self.read_packed(source)?;
        let bad = columnar_error(source);
        let mut digest = EventDigest::default();
        match source.format {
            FileFormat::Jsonl => {
                let plain = decompress(&source.path, &packed)?;
                drop(packed);
                return jsonl_events(&source.path, &plain, f);
            }
            FileFormat::Parquet => {
                for event in EventReader::new(packed).map_err(bad)? {
                    let event = event.map_err(bad)?;
                    digest.add(&event);
                    f(&event, None)?;
                }
            }
        }
        Ok(digest)
    }

    /// A consolidation too large to gather in memory (`lifecycle.in_memory_events`), in two
    /// passes. The first reads every source, notes its time range and whether its events are
    /// in order, and for Parquet plans each kind's file (a decimal column's scale and width
    /// must be known before its first row is written). The second reads the sources again in
    /// event-time order and streams their events into the target: a source whose times overlap
    /// no other's and whose events are in order as it is read; overlapping sources (or one out
    /// of order) together, their events sorted stably (equal times keep the sources' order,
    /// then the file's, as the one-pass way does). Memory: one source's text, or one such
    /// group's events, and the written file; never every event. A JSONL target holds each
    /// source line as it was (an event of a Parquet source, its canonical line). Returns the
    /// targets and the digest of every source's events, and for sources of several sessions
    /// the sessions of the rows as they were written.
    #[allow(clippy::type_complexity)]
    fn consolidate_in_two_passes(
        &self,
        sources: &[FileManifest],
        into: Destination<'_>,
    ) -> Result<(
        Vec<Target>,
        EventDigest,
        Option<(session_rows::Labels, session_rows::Emitted)>,
    )> {
        let labels = session_rows::Labels::of(sources);
        let mut emitted = labels.as_ref().map(|_| session_rows::Emitted::default());
        let per_kind = into.format == FileFormat::Parquet;
        let mut plans: BTreeMap<EventKind, FilePlan> = BTreeMap::new();
        let mut ranges = Vec::with_capacity(sources.len());
        let mut digests = Vec::with_capacity(sources.len());
        // Whether each source's events are in event-time order already.
        let mut in_order = Vec::with_capacity(sources.len());
        for source in sources {
            let mut range: Option<(i64, i64)> = None;
            let mut sorted = true;
            let mut last = i64::MIN;
            let digest = self.each_event(source, |event, _| {
                if into.format == FileFormat::Parquet {
                    let kind = event.kind();
                    plans
                        .entry(kind)
                        .or_insert_with(|| FilePlan::new(kind))
                        .observe(event)
                        .map_err(columnar_error(source))?;
                }
                let ts = event.event_time.as_nanos();
                range = Some(range.map_or((ts, ts), |(a, b)| (a.min(ts), b.max(ts))));
                sorted &= ts >= last;
                last = ts;
                Ok(())
            })?;
            ranges.push(range);
            digests.push(digest);
            in_order.push(sorted);
        }
        // Groups of sources whose time ranges overlap (or touch), in time order.
        let mut order: Vec<(i64, i64, usize)> = ranges
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.map(|(first, last)| (first, last, i)))
            .collect();
        order.sort_unstable();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut end = i64::MIN;
        for (first, last, i) in order {
            match groups.last_mut() {
                Some(group) if first <= end => group.push(i),
                _ => groups.push(vec![i]),
            }
            end = end.max(last);
        }
        let mut sink = match into.format {
            FileFormat::Parquet => {
                let options = parquet_options(into);
                let mut writers = BTreeMap::new();
                for (kind, plan) in &plans {
                    let writer = EventWriter::new(plan, Vec::new(), &options)
                        .map_err(columnar_error(&sources[0]))?;
                    writers.insert(*kind, writer);
                }
                Sink::Parquet(writers)
            }
            FileFormat::Jsonl => Sink::Jsonl {
                encoder: Box::new(strata_codec::Encoder::new(into.codec, Vec::new()).map_err(
                    |e| Error::Verify {
                        path: sources[0].path.clone(),
                        message: e.to_string(),
                    },
                )?),
                line: Vec::with_capacity(256),
            },
        };
        let changed = |i: usize, again: EventDigest| Error::Verify {
            path: sources[i].path.clone(),
            message: format!(
                "read twice, it held {} then {again}: nothing changed",
                digests[i]
            ),
        };
        for mut group in groups {
            if let [i] = group[..] {
                if in_order[i] {
                    // A source alone in its time and in order goes straight to the target.
                    let mut rows_of = labels.as_ref().map(|l| l.rows_of(&sources[i]));
                    let again = self.each_event(&sources[i], |e, line| {
                        if let (Some(emitted), Some(rows_of)) = (&mut emitted, &mut rows_of) {
                            emitted.push(per_kind.then(|| e.kind()), rows_of.next(), e);
                        }
                        sink.write(&sources[i], e, line)
                    })?;
                    if again != digests[i] {
                        return Err(changed(i, again));
                    }
                    continue;
                }
            }
            group.sort_unstable();
            // A JSONL target keeps each source line as it was.
            let keep_lines = matches!(sink, Sink::Jsonl { .. });
            // Each event with its session's label (when the sources are of several).
            let mut events: Vec<(Event, Option<Box<[u8]>>, u32)> = Vec::new();
            for &i in &group {
                let mut rows_of = labels.as_ref().map(|l| l.rows_of(&sources[i]));
                let again = self.each_event(&sources[i], |event, line| {
                    let label = rows_of.as_mut().map_or(0, |r| r.next());
                    events.push((
                        event.clone(),
                        line.filter(|_| keep_lines).map(Box::from),
                        label,
                    ));
                    Ok(())
                })?;
                if again != digests[i] {
                    return Err(changed(i, again));
                }
            }
            events.sort_by_key(|(e, _, _)| e.event_time);
            for (event, line, label) in &events {
                if let Some(emitted) = &mut emitted {
                    emitted.push(per_kind.then(|| event.kind()), *label, event);
                }
                sink.write(&sources[group[0]], event, line.as_deref())?;
            }
        }
        let targets = match sink {
            Sink::Parquet(writers) => {
                let files = writers
                    .into_values()
                    .map(|writer| writer.finish().map_err(columnar_error(&sources[0])))
                    .collect::<Result<_>>()?;
                parquet_targets(sources, files, into)
            }
            Sink::Jsonl { encoder, .. } => {
                let packed = (*encoder).finish().map_err(|e| Error::Verify {
                    path: sources[0].path.clone(),
                    message: e.to_string(),
                })?;
                vec![jsonl_target(sources, packed, into)]
            }
        };
        let mut digest = EventDigest::default();
        for d in digests {
            digest.merge(d);
        }
        Ok((targets, digest, labels.zip(emitted)))
    }

    /// A source's bytes as stored, read from its tier and checked against its manifest.
    fn read_packed(&self, source: &FileManifest) -> Result<Bytes> {
        let (tier, key) = Self::split(&source.path)?;
        if self.backend(tier)?.is_worm() {
            return Err(Error::Verify {
                path: source.path.clone(),
                message: format!("the {tier} tier is write-once: its files are not moved (a copy would leave them twice)"),
            });
        }
        let packed = self.block_on(self.backend(tier)?.get(key))?;
        let sha = strata_catalog::sha256_bytes(&packed);
        if sha != source.sha256 {
            return Err(Error::Verify {
                path: source.path.clone(),
                message: format!(
                    "its SHA-256 is {sha}, its manifest says {}: the file is damaged, not migrated",
                    source.sha256
                ),
            });
        }
        Ok(packed)
    }

    /// Writes a target create-only under the first free name of `<base><ext>`, `<base>-1<ext>`,
    /// … and returns it. A name already taken is reused only by this migration's own earlier
    /// attempt (the object holds the same events and is either outside the catalog or
    /// catalogued as made from `source`); an object outside the catalog holding other events is
    /// what a killed attempt left, and is replaced (where the tier allows deleting). A file
    /// another migration made is never touched: the next name is tried.
    fn place(
        &self,
        backend: &Arc<dyn Backend>,
        tier: TierName,
        target: &Target,
        sources: &[(String, String)],
    ) -> Result<String> {
        let made_from = |m: &FileManifest| {
            m.lineage.iter().any(|l| {
                sources.iter().any(|(path, sha)| {
                    l.parent_path == *path && (sha.is_empty() || l.parent_sha256 == *sha)
                })
            })
        };
        // What the target holds, computed only when a name is taken.
        let mut wanted = None;
        let bytes = target.bytes.clone();
        for n in 0..1000u32 {
            let key = if n == 0 {
                format!("{}{}", target.base, target.ext)
            } else {
                format!("{}-{n}{}", target.base, target.ext)
            };
            match self.block_on(backend.put_opts(&key, bytes.clone(), PutOptions::create_only())) {
                Ok(()) => return Ok(key),
                Err(Error::Backend(strata_backend::Error::AlreadyExists { .. })) => {}
                Err(e) => return Err(e),
            }
            let catalogued = self.catalog.get(&format!("{tier}/{key}"))?;
            let ours = catalogued.as_ref().is_none_or(made_from);
            if !ours {
                continue;
            }
            let wanted = match wanted {
                Some(digest) => digest,
                None => *wanted.insert(digest_of_target(target)?),
            };
            let existing = self.block_on(backend.get(&key))?;
            if read_back(&key, target.format, &existing, false, &mut |_, _| {})
                .is_ok_and(|(d, _)| d == wanted)
            {
                return Ok(key);
            }
            // An object outside the catalog whose sidecar names another parent is someone
            // else's (a stale index): never deleted.
            let sidecar = self.block_on(backend.get(&strata_catalog::manifest::sidecar_key(&key)));
            let someone_elses = sidecar.ok().is_some_and(|bytes| {
                strata_catalog::parse_manifest(&bytes).is_ok_and(|m| !made_from(&m))
            });
            if catalogued.is_none()
                && !someone_elses
                && self.block_on(backend.delete(&key)).is_ok()
                && self
                    .block_on(backend.put_opts(&key, bytes.clone(), PutOptions::create_only()))
                    .is_ok()
            {
                return Ok(key);
            }
        }
        Err(Error::Verify {
            path: sources.first().map(|s| s.0.clone()).unwrap_or_default(),
            message: format!(
                "no free name for its {tier} file among {}{} and 999 numbered variants",
                target.base, target.ext
            ),
        })
    }

    /// Writes `bytes` under `key` create-only; a key already holding the very bytes (a killed
    /// run's) is fine, one holding others is replaced where the tier allows it (not on a
    /// write-once tier, which refuses).
    fn put_or_same(&self, backend: &Arc<dyn Backend>, key: &str, bytes: Bytes) -> Result<()> {
        match self.block_on(backend.put_opts(key, bytes.clone(), PutOptions::create_only())) {
            Err(Error::Backend(strata_backend::Error::AlreadyExists { .. })) => {
                if self.block_on(backend.get(key))? == bytes {
                    return Ok(());
                }
                self.block_on(backend.put_opts(key, bytes, PutOptions::overwrite()))
            }
            other => other,
        }
    }

    /// Removes a file: sidecar, index row, checksum line, data — in that order, so that a kill
    /// at any point leaves nothing an index rebuild would bring back.
    fn remove_source(&self, manifest: &FileManifest) -> Result<()> {
        self.delete_sidecars(&manifest.path)?;
        self.catalog.remove(&manifest.path)?;
        self.remove_data(&manifest.path)
    }

    /// The steps of a removal left after its index row went, safe to repeat.
    fn finish_removal(&self, path: &str) -> Result<()> {
        self.delete_sidecars(path)?;
        self.remove_data(path)
    }

    /// A file's sidecar, under every name it may have.
    fn delete_sidecars(&self, path: &str) -> Result<()> {
        let (tier, key) = Self::split(path)?;
        let backend = self.backend(tier)?;
        for sidecar in strata_catalog::manifest::sidecar_keys(key) {
            delete_if_present(self.block_on(backend.delete(&sidecar)))?;
        }
        Ok(())
    }

    /// The checksum line (local tiers), then the data.
    fn remove_data(&self, path: &str) -> Result<()> {
        let (tier, key) = Self::split(path)?;
        let local = self.root.join(path);
        if let (Some(folder), Some(name)) = (local.parent(), local.file_name()) {
            if folder.is_dir() {
                strata_catalog::remove_checksum_line(folder, &name.to_string_lossy())?;
            }
        }
        delete_if_present(self.block_on(self.backend(tier)?.delete(key)))
    }

    fn block_on<T>(
        &self,
        f: impl std::future::Future<Output = strata_backend::Result<T>>,
    ) -> Result<T> {
        Ok(self.runtime.block_on(f)?)
    }

    fn append(&self, entry: &Entry) -> Result<()> {
        // A cut last line: its operation never started, or finished without its `done`, which
        // recovery redoes.
        append_record(&self.journal, entry)
    }
}

/// Where a consolidation in two passes streams its events.
enum Sink {
    /// One writer per kind.
    Parquet(BTreeMap<EventKind, EventWriter<Vec<u8>>>),
    /// Canonical lines through the target codec.
    Jsonl {
        encoder: Box<strata_codec::Encoder<Vec<u8>>>,
        line: Vec<u8>,
    },
}

impl Sink {
    /// Writes one event; into JSONL, the source line it was read from when there is one (a
    /// line of a newer minor version keeps the fields this build does not know), else its
    /// canonical line.
    fn write(&mut self, source: &FileManifest, event: &Event, read: Option<&[u8]>) -> Result<()> {
        match self {
            Sink::Parquet(writers) => {
                let writer = writers
                    .get_mut(&event.kind())
                    .ok_or_else(|| Error::Verify {
                        path: source.path.clone(),
                        message: format!("a {} event the first pass did not see", event.kind()),
                    })?;
                writer.write(event).map_err(columnar_error(source))
            }
            Sink::Jsonl { encoder, line } => {
                line.clear();
                match read {
                    Some(read) => {
                        line.extend_from_slice(read);
                        line.push(b'\n');
                    }
                    // Encoding into a Vec cannot fail (see `jsonl::encode_into`).
                    None => {
                        let _ = jsonl::encode_into(event, line);
                    }
                }
                std::io::Write::write_all(encoder.as_mut(), line).map_err(|e| Error::Verify {
                    path: source.path.clone(),
                    message: format!("compressing: {e}"),
                })
            }
        }
    }
}

/// A Parquet error about `source`, as a verification failure naming it.
fn columnar_error(source: &FileManifest) -> impl Fn(strata_columnar::Error) -> Error + Copy + '_ {
    move |e| Error::Verify {
        path: source.path.clone(),
        message: e.to_string(),
    }
}

/// A file's bytes and what it holds, as the Parquet writers return them.
type ParquetFile = (Vec<u8>, FileSummary);

/// A target's statistics and kind, counted while it is read back.
type Counted = (strata_catalog::FileStats, Option<EventKind>);

fn delete_if_present(result: Result<()>) -> Result<()> {
    match result {
        Err(Error::Backend(strata_backend::Error::NotFound { .. })) => Ok(()),
        other => other,
    }
}

/// Calls `f` with each event of a JSONL text in order, and the line it was read from, and
/// returns their digest (canonical lines hashed as they are); `name` names the file in errors.
fn jsonl_events(
    name: &str,
    plain: &[u8],
    mut f: impl FnMut(&Event, Option<&[u8]>) -> Result<()>,
) -> Result<EventDigest> {
    let mut digest = EventDigest::default();
    // One event refilled line after line.
    let mut event = Event::new(
        "",
        "",
        Timestamp::from_nanos(0),
        strata_model::Payload::Heartbeat,
    );
    for (i, line) in plain.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if jsonl::decode_canonical_into(line, &mut event) {
            digest.add_line(line);
            f(&event, Some(line))?;
        } else {
            let event = jsonl::decode_line(line).map_err(|e| Error::Verify {
                path: name.to_string(),
                message: format!("line {}: {e}", i + 1),
            })?;
            digest.add(&event);
            f(&event, Some(line))?;
        }
    }
    Ok(digest)
}

/// The digest of a JSONL file's events.
fn digest_jsonl(name: &str, plain: &[u8]) -> Result<EventDigest> {
    jsonl_events(name, plain, |_, _| Ok(()))
}

/// What a stored target holds, read the way a reader of its tier reads it: its events' digest
/// and, with `count`, its statistics and kind, each event also given to `each` with the target's
/// kind (`None` for JSONL), in the same pass.
fn read_back(
    key: &str,
    format: FileFormat,
    bytes: &Bytes,
    count: bool,
    each: &mut dyn FnMut(Option<EventKind>, &Event),
) -> Result<(EventDigest, Option<Counted>)> {
    let bad = |message: String| Error::Verify {
        path: key.to_string(),
        message,
    };
    let mut stats = count.then(strata_catalog::StatsAccumulator::new);
    let mut add = |event: &Event| {
        if let Some(stats) = &mut stats {
            stats.add(event);
        }
    };
    let (digest, kind) = match format {
        FileFormat::Jsonl => {
            let plain = strata_codec::decompress(bytes).map_err(|e| bad(e.to_string()))?;
            let digest = jsonl_events(key, &plain, |event, _| {
                add(event);
                each(None, event);
                Ok(())
            })?;
            (digest, None)
        }
        FileFormat::Parquet => {
            let reader = EventReader::new(bytes.clone()).map_err(|e| bad(e.to_string()))?;
            let kind = reader.meta().kind;
            let mut digest = EventDigest::default();
            for event in reader {
                let event = event.map_err(|e| bad(e.to_string()))?;
                digest.add(&event);
                add(&event);
                each(Some(kind), &event);
            }
            (digest, Some(kind))
        }
    };
    let counted = stats.map(|stats| {
        let stats = stats.finish();
        let kind = kind.or_else(|| {
            (stats.kinds.len() == 1)
                .then(|| stats.kinds.keys().next().copied())
                .flatten()
        });
        (stats, kind)
    });
    Ok((digest, counted))
}

/// A Parquet file's events as canonical JSONL lines.
fn parquet_as_jsonl(name: &str, packed: Bytes) -> Result<Vec<u8>> {
    let bad = |e: strata_columnar::Error| Error::Verify {
        path: name.to_string(),
        message: e.to_string(),
    };
    let mut plain = Vec::with_capacity(packed.len() * 8);
    for event in EventReader::new(packed).map_err(bad)? {
        // Encoding into a Vec cannot fail (see `jsonl::encode_into`).
        let _ = jsonl::encode_into(&event.map_err(bad)?, &mut plain);
    }
    Ok(plain)
}

fn digest_of_target(target: &Target) -> Result<EventDigest> {
    Ok(read_back(
        &target.key,
        target.format,
        &target.bytes,
        false,
        &mut |_, _| {},
    )?
    .0)
}

/// `kind=<kind>/symbol=<symbol>/date=<date>` for a file's Parquet form; a file of several
/// symbols goes under `symbol=_multi`. Values are escaped as layouts escape them.
fn hive_folder(
    source: &FileManifest,
    kind: strata_model::EventKind,
    date: impl std::fmt::Display,
) -> String {
    let symbol = crate::plan::file_symbol(source)
        .map_or_else(|| "_multi".to_string(), |s| escape_segment(&s));
    format!("kind={kind}/symbol={symbol}/date={date}")
}

/// What the sources' partitions share: a field on which they differ is left out, so the merged
/// file's sidecar says only what is true of all of it.
fn shared_partition(sources: &[FileManifest]) -> strata_core::layout::PartitionKey {
    let mut shared = sources[0].partition.clone();
    for other in &sources[1..] {
        let p = &other.partition;
        if shared.source != p.source {
            shared.source = None;
        }
        if shared.asset_class != p.asset_class {
            shared.asset_class = None;
        }
        if shared.symbol != p.symbol {
            shared.symbol = None;
        }
        if shared.kind != p.kind {
            shared.kind = None;
        }
        if shared.exchange != p.exchange {
            shared.exchange = None;
        }
        if shared.period != p.period {
            shared.period = None;
        }
        if shared.session != p.session {
            shared.session = None;
        }
        shared.extra.retain(|k, v| p.extra.get(k) == Some(v));
    }
    shared
}

/// A JSONL source's text, its codec undone.
fn decompress(name: &str, packed: &[u8]) -> Result<Vec<u8>> {
    strata_codec::decompress(packed).map_err(|e| Error::Verify {
        path: name.to_string(),
        message: e.to_string(),
    })
}

/// The sources' events as one JSONL text: as it is for one source; for several, in event-time
/// order.
fn merge_by_time(name: &str, mut plains: Vec<Vec<u8>>) -> Result<Vec<u8>> {
    if plains.len() == 1 {
        return Ok(plains.pop().unwrap_or_default());
    }
    let mut lines: Vec<(Timestamp, &[u8])> = Vec::new();
    let mut event = strata_model::Event::new(
        "",
        "",
        Timestamp::from_nanos(0),
        strata_model::Payload::Heartbeat,
    );
    for plain in &plains {
        for (i, line) in plain.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let ts = if jsonl::decode_canonical_into(line, &mut event) {
                event.event_time
            } else {
                jsonl::decode_line(line)
                    .map_err(|e| Error::Verify {
                        path: name.to_string(),
                        message: format!("line {}: {e}", i + 1),
                    })?
                    .event_time
            };
            lines.push((ts, line));
        }
    }
    // Stable: events of one instant keep their order within and across the sources.
    lines.sort_by_key(|(ts, _)| *ts);
    let mut merged = Vec::with_capacity(plains.iter().map(Vec::len).sum::<usize>() + lines.len());
    for (_, line) in lines {
        merged.extend_from_slice(line);
        merged.push(b'\n');
    }
    Ok(merged)
}

/// The name (without extension) of what the sources become: the first source's, or for a
/// consolidation the period in place of its date (`SPY_trade_2024-01-15_000001` →
/// `SPY_trade_2024-W03`), or added to it.
fn target_stem(sources: &[FileManifest], into: Destination<'_>) -> String {
    let first = &sources[0];
    let key = first
        .path
        .split_once('/')
        .map_or(first.path.as_str(), |(_, key)| key);
    let stem = key
        .find(".jsonl")
        .or_else(|| key.find(".parquet"))
        .map_or(key, |at| &key[..at])
        .to_string();
    let Some(period) = into.period else {
        return stem;
    };
    let (folder, name) = stem.rsplit_once('/').unwrap_or(("", &stem));
    let date = first.partition.period.map(|p| p.to_string()).or_else(|| {
        first
            .stats
            .first_event_time
            .map(|t| t.utc_date().format("%Y-%m-%d").to_string())
    });
    let name = match date.and_then(|d| name.find(&d)) {
        Some(at) => format!("{}{period}", &name[..at]),
        None => format!("{name}_{period}"),
    };
    if folder.is_empty() {
        name
    } else {
        format!("{folder}/{name}")
    }
}

/// The JSONL file the sources' events become, compressed with the target codec.
fn jsonl_target(sources: &[FileManifest], packed: Vec<u8>, into: Destination<'_>) -> Target {
    Target {
        base: target_stem(sources, into),
        ext: format!(".jsonl{}", into.codec.extension()),
        key: String::new(),
        bytes: Bytes::from(packed),
        format: into.format,
        codec: into.codec,
    }
}

/// The Parquet files (one per kind) the gathered events become, in Hive-style folders that
/// DuckDB, pyarrow and Spark read as partition columns:
/// `kind=trade/symbol=SPY/date=2013-10-07/<the source's file stem>.parquet`; a consolidation's
/// under its first event's date, named after its period and source.
fn parquet_targets(
    sources: &[FileManifest],
    files: Vec<ParquetFile>,
    into: Destination<'_>,
) -> Vec<Target> {
    let first = &sources[0];
    let level = parquet_options(into).zstd_level;
    let date = sources
        .iter()
        .map(|m| m.stats.first_event_time.unwrap_or(m.sealed_at))
        .min()
        .unwrap_or(first.sealed_at)
        .utc_date();
    let stem = target_stem(sources, into);
    let mut name = stem.rsplit('/').next().unwrap_or(&stem).to_string();
    if into.period.is_some() {
        let source = first.partition.source.clone().or_else(|| {
            (first.stats.sources.len() == 1)
                .then(|| first.stats.sources.iter().next().cloned())
                .flatten()
        });
        if let Some(source) = source {
            name = format!("{name}_{}", escape_segment(&source));
        }
    }
    files
        .into_iter()
        .map(|(bytes, summary)| Target {
            base: format!("{}/{name}", hive_folder(first, summary.meta.kind, date)),
            ext: ".parquet".into(),
            key: String::new(),
            bytes: Bytes::from(bytes),
            format: into.format,
            codec: CodecSpec::Zstd { level, long: false },
        })
        .collect()
}

/// How a destination's Parquet files are written: its codec's zstd level.
fn parquet_options(into: Destination<'_>) -> ParquetOptions {
    let zstd_level = match into.codec {
        CodecSpec::Zstd { level, .. } => level,
        _ => ParquetOptions::default().zstd_level,
    };
    ParquetOptions {
        zstd_level,
        ..ParquetOptions::default()
    }
}
