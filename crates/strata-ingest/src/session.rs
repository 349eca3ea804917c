//! Each writer run is a session with a `report.json` (SESSION-1).
//!
//! The report is written when the writer opens (state `running`), rewritten by the group-commit
//! thread every [`SessionReport::CHECKPOINT_SECS`] seconds while it runs, and written a last time
//! by `close()` (state `closed`). A report still `running` when the next writer opens the
//! archive belongs to a run that ended without `close()` (a crash, a kill, a dropped writer): it is
//! marked `interrupted`, with what recovery found, and its counters are those of its last
//! checkpoint.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::integrity::Gap;
use crate::{io_err, paths, Result};

strata_model::named_enum! {
    /// Where a session is in its life; [`as_str`](Self::as_str) is the lower-case name (as
    /// serialized).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub enum SessionState [what = "session state", serde] {
        /// Its writer is open (or ended without `close()` and no writer has opened since).
        Running = "running",
        /// Closed by `close()`: the counters are final; every file is sealed except those listed
        /// under `seal_failures` (their plain segments wait in `hot/` for the next open).
        #[default]
        Closed = "closed",
        /// Its writer ended without `close()`; a later open found it and recovered its files.
        Interrupted = "interrupted",
    }
}

/// What a session did: timing, counts, gaps, bytes and verified files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionReport {
    /// Session id (also the folder name under `_sessions/`).
    pub id: String,
    /// Running, closed, or interrupted (reports written before states existed read as closed).
    #[serde(default)]
    pub state: SessionState,
    /// When a later session found this one interrupted: that session's id and what its
    /// recovery did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interruption: Vec<String>,
    /// Free-form tags given when the writer was opened.
    pub tags: Vec<String>,
    /// Start, RFC 3339.
    pub started_at: String,
    /// End, RFC 3339.
    pub finished_at: String,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Events accepted.
    pub events: u64,
    /// Accepted events by canonical symbol.
    pub by_symbol: BTreeMap<String, u64>,
    /// Accepted events by kind.
    pub by_kind: BTreeMap<String, u64>,
    /// Accepted events by source.
    pub by_source: BTreeMap<String, u64>,
    /// Events refused by integrity checks (all in the quarantine).
    pub rejected: u64,
    /// Refusals by reason class (`invalid`, `duplicate`, `out_of_order`, `import`).
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Input rows skipped as not market events (e.g. Binance markPrice).
    pub skipped: u64,
    /// Sequence gaps above the policy's threshold (the first [`SessionReport::MAX_GAPS_LISTED`]).
    pub gaps: Vec<Gap>,
    /// All sequence gaps found, listed or not.
    pub gap_count: u64,
    /// JSONL bytes written (before compression).
    pub bytes_written: u64,
    /// Files sealed.
    pub files_sealed: u64,
    /// Bytes of sealed files as stored (after compression).
    pub bytes_sealed: u64,
    /// Sealed files whose stored bytes were read back and matched what was written (every
    /// sealed file: a mismatch fails the seal instead).
    pub files_verified: u64,
    /// Seals that failed, with the reason (their plain segments stay in `hot/` for recovery).
    #[serde(default)]
    pub seal_failures: Vec<String>,
    /// Quota warnings and cleanup signals raised.
    pub quota_signals: Vec<String>,
    /// Records recovered/quarantined when the archive was opened.
    pub recovery: Vec<String>,
    /// Imports committed by this session.
    #[serde(default)]
    pub imports_committed: u64,
    /// Imports rolled back (nothing of them stored), with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports_rolled_back: Vec<String>,
    /// How the session ended when not by a plain `close()` call (e.g. `signal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
    /// When the counters were last written while running (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub checkpoint_at: String,
    /// A merged session (SESSION-2): the sessions it stands for (their counts summed here); a
    /// query of this session reads theirs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
}

impl SessionReport {
    /// Gaps listed one by one in a report; the rest are only counted.
    pub const MAX_GAPS_LISTED: usize = 1000;
    /// Seconds between checkpoints of a running session's report.
    pub const CHECKPOINT_SECS: u64 = 10;

    /// Reads the report at `path`.
    pub fn read(path: &Path) -> Result<SessionReport> {
        read_json(path)
    }

    /// Every session report under `root/_sessions/`, oldest id first. Unreadable reports are
    /// returned as errors in place, so one bad file hides nothing else.
    pub fn list(root: &Path) -> Result<Vec<Result<SessionReport>>> {
        Ok(session_ids(root)?
            .iter()
            .map(|id| SessionReport::read(&SessionReport::path(root, id)))
            .collect())
    }

    /// Marks the reports of sessions `ids` (still `running`: [`EarlierSessions::running`]) as
    /// interrupted, noting `current` and what its recovery did; returns the ids marked.
    pub fn mark_interrupted(
        root: &Path,
        ids: &[String],
        current: &str,
        recovery: &[String],
    ) -> Result<Vec<String>> {
        let mut marked = Vec::new();
        for id in ids {
            let path = SessionReport::path(root, id);
            let Ok(mut report) = SessionReport::read(&path) else {
                continue;
            };
            report.state = SessionState::Interrupted;
            const LISTED: usize = 20;
            let found = match recovery.len() {
                0 => "had nothing to repair".to_string(),
                n if n <= LISTED => recovery.join("; "),
                n => format!(
                    "{}; and {} more (see that session's report)",
                    recovery[..LISTED].join("; "),
                    n - LISTED
                ),
            };
            report.interruption.push(format!(
                "ended without close(); found by session {current}, whose recovery: {found}"
            ));
            report.write(root)?;
            marked.push(report.id);
        }
        Ok(marked)
    }

    /// Records a gap: counted always, listed while the list is short.
    pub fn add_gap(&mut self, gap: Gap) {
        self.gap_count += 1;
        if self.gaps.len() < Self::MAX_GAPS_LISTED {
            self.gaps.push(gap);
        }
    }

    /// Where a session's report lives.
    pub fn path(root: &Path, id: &str) -> PathBuf {
        root.join(paths::SESSIONS).join(id).join("report.json")
    }

    /// Where a session lists the hot segments it opened (`segments.jsonl`: one JSON string a
    /// line, the segment's path relative to the root), each line synced with the segment before
    /// any of its events counts as durable; recovery seals a segment left open under the
    /// session that opened it ([`EarlierSessions`]).
    pub fn segments_path(root: &Path, id: &str) -> PathBuf {
        root.join(paths::SESSIONS).join(id).join("segments.jsonl")
    }

    /// Writes the report atomically ([`strata_catalog::fsio::write_atomic`]: temporary file,
    /// fsync, rename, fsync of the folder; then `_sessions/` is fsynced too) and returns its path.
    pub fn write(&self, root: &Path) -> Result<PathBuf> {
        let path = Self::path(root, &self.id);
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| root.to_path_buf());
        let text =
            serde_json::to_vec_pretty(self).map_err(|e| crate::Error::Config(e.to_string()))?;
        strata_catalog::fsio::write_atomic(&path, &text)?;
        // The session's folder in `_sessions/` (new at a session's first report) must reach the
        // disk too.
        if let Some(sessions) = dir.parent() {
            crate::seal::sync_dir(sessions)?;
        }
        Ok(path)
    }
}

/// What the writer opening an archive needs of the sessions before it, read once: which are
/// still `running` (ended without `close()`: [`SessionReport::mark_interrupted`] marks them),
/// and the segment lists of those that may have left segments unsealed — `running`,
/// `interrupted` (a recovery may have failed to seal one) or with failed seals — by which
/// recovery seals a segment under the session that opened it ([`owner_of`](Self::owner_of)).
///
/// A list is read only if it is a regular file (not a link, a folder or a pipe) of at most
/// [`MAX_SEGMENT_LIST_BYTES`]; a line cut by a crash is left out (its segment held nothing
/// durable when it was written); a list that cannot be read is a note, never a failed open, and
/// its segments fall to the recovering session (or their import's), as before sessions listed
/// theirs.
#[derive(Debug, Default)]
pub struct EarlierSessions {
    running: Vec<String>,
    /// Each list read: its session and the segments it names.
    lists: Vec<(String, Vec<String>)>,
    /// The session of each listed segment (the last list naming it).
    owners: std::collections::HashMap<String, String>,
    notes: Vec<String>,
}

impl EarlierSessions {
    /// The sessions under `root` other than `current`.
    pub fn read(root: &Path, current: &str) -> Self {
        /// Only what says where a session stands.
        #[derive(Deserialize)]
        struct Head {
            #[serde(default)]
            state: SessionState,
            #[serde(default)]
            seal_failures: Vec<serde::de::IgnoredAny>,
        }
        let mut earlier = EarlierSessions::default();
        for id in session_ids(root).unwrap_or_default() {
            if id == current {
                continue;
            }
            let Ok(head) = read_json::<Head>(&SessionReport::path(root, &id)) else {
                continue;
            };
            if head.state == SessionState::Running {
                earlier.running.push(id.clone());
            }
            if head.state == SessionState::Closed && head.seal_failures.is_empty() {
                continue;
            }
            let list = SessionReport::segments_path(root, &id);
            let text = match read_segment_list(&list) {
                Ok(Some(text)) => text,
                Ok(None) => continue,
                Err(why) => {
                    earlier.notes.push(format!(
                        "{}: {why}; the segments session {id} left open are sealed under the recovering session",
                        list.display()
                    ));
                    continue;
                }
            };
            let segments: Vec<String> = text
                .split(|&b| b == b'\n')
                .filter_map(|line| serde_json::from_slice::<String>(line).ok())
                .collect();
            for rel in &segments {
                earlier.owners.insert(rel.clone(), id.clone());
            }
            earlier.lists.push((id, segments));
        }
        earlier
    }

    /// The sessions still `running`.
    pub fn running(&self) -> &[String] {
        &self.running
    }

    /// The session whose list names the segment `rel` (its path relative to the root).
    pub fn owner_of(&self, rel: &str) -> Option<&str> {
        self.owners.get(rel).map(String::as_str)
    }

    /// What could not be read, one note per list.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Rewrites the lists read to name only the segments still unsealed (a plain `.jsonl` file
    /// without a sidecar), removing a list left naming none. Run after recovery: a list then
    /// names only what a later recovery may still have to seal, so a path a later segment
    /// reuses (numbers restart once old files have left `hot/`) is never taken for an old
    /// session's. Returns a note for each list it could not rewrite (read again at the next
    /// open, which is safe while its segments are unsealed).
    pub fn prune(&self, root: &Path) -> Vec<String> {
        let mut notes = Vec::new();
        for (id, segments) in &self.lists {
            let list = SessionReport::segments_path(root, id);
            let mut kept = Vec::new();
            let mut still = 0;
            for rel in segments {
                let path = root.join(rel);
                if rel.ends_with(paths::JSONL)
                    && path.is_file()
                    && !strata_catalog::sidecar_path_for(&path).exists()
                {
                    // A string always serializes.
                    let _ = serde_json::to_writer(&mut kept, rel);
                    kept.push(b'\n');
                    still += 1;
                }
            }
            let done = if kept.is_empty() {
                std::fs::remove_file(&list).map_err(|e| e.to_string())
            } else if still == segments.len() {
                Ok(())
            } else {
                strata_catalog::fsio::write_atomic(&list, &kept).map_err(|e| e.to_string())
            };
            if let Err(why) = done {
                notes.push(format!(
                    "{}: not rewritten to the segments still unsealed: {why}",
                    list.display()
                ));
            }
        }
        notes
    }
}

/// The most of a session's segment list that is read (a list of a million segments is 64 MiB).
pub const MAX_SEGMENT_LIST_BYTES: u64 = 64 << 20;

/// A session's segment list: `None` when there is none, an error (why) when it is not a regular
/// file or too large or cannot be read.
fn read_segment_list(path: &Path) -> std::result::Result<Option<Vec<u8>>, String> {
    use std::io::Read;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if !meta.file_type().is_file() {
        return Err("not a regular file (a link, folder or pipe is not read)".into());
    }
    if meta.len() > MAX_SEGMENT_LIST_BYTES {
        return Err(format!(
            "{} bytes, more than a segment list holds ({MAX_SEGMENT_LIST_BYTES})",
            meta.len()
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut text = Vec::new();
    file.take(MAX_SEGMENT_LIST_BYTES)
        .read_to_end(&mut text)
        .map_err(|e| e.to_string())?;
    Ok(Some(text))
}

/// Reads a JSON file, naming it and the line in errors.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    serde_json::from_slice(&bytes).map_err(|e| crate::Error::BadFile {
        path: path.to_path_buf(),
        line: e.line() as u64,
        reason: e.to_string(),
    })
}

/// The ids of the sessions under `root/_sessions/` that have a report, sorted.
fn session_ids(root: &Path) -> Result<Vec<String>> {
    let dir = root.join(paths::SESSIONS);
    let mut ids = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("report.json").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect::<Vec<_>>(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io_err(&dir)(e)),
    };
    ids.sort();
    Ok(ids)
}
