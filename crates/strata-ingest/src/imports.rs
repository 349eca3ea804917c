//! Exactly-once imports (INGEST-8): the import ledger and staging.
//!
//! An import writes its events to segments under `_staging/<import id>/`, never straight into
//! `hot/`. When the whole input has been read and checked, the import is committed:
//!
//! 1. every staged segment is handed to the OS and fsynced, with its folders;
//! 2. a `commit` record naming the import's key and files is appended to the ledger
//!    (`_catalog/imports.jsonl`) and fsynced — from here on the import has happened;
//! 3. the staged segments are renamed into `hot/` (folders fsynced) and sealed as usual;
//! 4. the staging folder is removed.
//!
//! An import that fails (a damaged input, a refused quota) is rolled back: its staging folder is
//! deleted and an `abort` record says why. A crash leaves a staging folder behind; the next writer
//! to open the archive finishes it when the ledger holds its `commit` (steps 3–4) and deletes it
//! otherwise. Either way every event of an input is stored once or not at all, and an input whose
//! key the ledger holds as committed is not imported again: the key is the SHA-256 of the input's
//! bytes and of the import settings (format, source, symbol, …) that decide what it becomes.
//!
//! The ledger is JSON lines, one record per line, appended and fsynced. A last line cut by a crash
//! (no newline) is ignored — the record it would have added was never acknowledged; any other
//! unreadable line is an error naming the line.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{io_err, Error, Result};

/// The ledger file, relative to the archive root.
pub const LEDGER_FILE: &str = "_catalog/imports.jsonl";
/// Where imports in progress write their segments, relative to the archive root.
pub const STAGING: &str = "_staging";

/// What makes two imports the same: the input's content and the settings that decide what
/// events it becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportKey {
    /// Hex SHA-256 of the input's bytes (as stored: a zip or `.zst` file's own bytes).
    pub content_sha256: String,
    /// The import settings in a canonical text form.
    pub settings: String,
}

impl ImportKey {
    /// The key of an input whose bytes hash to `content_sha256`, imported with `settings`.
    pub fn new(content_sha256: impl Into<String>, settings: impl Into<String>) -> ImportKey {
        ImportKey {
            content_sha256: content_sha256.into(),
            settings: settings.into(),
        }
    }

    /// The ledger key: hex SHA-256 of the content hash, a newline and the settings.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.content_sha256.as_bytes());
        h.update(b"\n");
        h.update(self.settings.as_bytes());
        hex::encode(h.finalize())
    }
}

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum LedgerRecord {
    /// An import started (its events go to `_staging/<id>/`).
    Begin {
        /// The import id (also its staging folder's name).
        id: String,
        /// [`ImportKey::digest`], when known before the input is read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        /// The input as named by the user.
        input: String,
        /// The writer session.
        session: String,
        /// RFC 3339.
        at: String,
    },
    /// An import finished: its events are stored (or being moved into `hot/`).
    Commit {
        /// The import id.
        id: String,
        /// [`ImportKey::digest`].
        key: String,
        /// The input's content hash.
        content_sha256: String,
        /// The settings it was imported with.
        settings: String,
        /// The input as named by the user.
        input: String,
        /// The writer session.
        session: String,
        /// RFC 3339.
        at: String,
        /// Events stored.
        events: u64,
        /// Rows read.
        rows: u64,
        /// Rows and events quarantined.
        rejected: u64,
        /// A note on what was kept, e.g. a readable prefix of a damaged input.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        /// The data files, relative to the archive root.
        files: Vec<String>,
    },
    /// An import was rolled back: nothing of it is stored.
    Abort {
        /// The import id.
        id: String,
        /// RFC 3339.
        at: String,
        /// Why.
        reason: String,
    },
}

/// What the ledger knows of a committed import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommittedImport {
    /// The import id.
    pub id: String,
    /// The input as named when it was imported.
    pub input: String,
    /// The session that imported it.
    pub session: String,
    /// When, RFC 3339.
    pub at: String,
    /// Events stored.
    pub events: u64,
    /// Rows read.
    pub rows: u64,
    /// Data files written.
    pub files: Vec<String>,
}

/// The import ledger of one archive, as read from disk.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    committed: HashMap<String, CommittedImport>,
    /// Import ids whose latest record is a commit, with the files that commit names.
    committed_ids: HashMap<String, Vec<String>>,
    /// Every import id any record names.
    ids: std::collections::HashSet<String>,
    /// The session of the latest commit naming each data file.
    file_sessions: HashMap<String, String>,
    /// Set when an append failed after it began writing: the file may hold a record this
    /// ledger does not, so nothing more is appended until the ledger is read again.
    broken: Option<String>,
    /// Bytes of the file up to its last complete line: where the next record goes (a torn
    /// record after it is cut off first).
    clean_len: u64,
}

impl Ledger {
    /// Parses ledger text; `file` names the ledger in errors. A last line without its newline (a
    /// write cut by a crash) is ignored; any other unreadable line is an error.
    pub fn parse(text: &[u8], file: &str) -> Result<Ledger> {
        let mut ledger = Ledger {
            clean_len: text
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i as u64 + 1),
            ..Ledger::default()
        };
        let ends_clean = text.is_empty() || text.ends_with(b"\n");
        let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
        let last = lines.len().saturating_sub(1);
        for (i, line) in lines.iter().enumerate() {
            if i == last && (!ends_clean || line.is_empty()) {
                // Either the empty piece after the final newline, or a torn last record.
                break;
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let record: LedgerRecord =
                serde_json::from_slice(line).map_err(|e| Error::BadFile {
                    path: PathBuf::from(file),
                    line: i as u64 + 1,
                    reason: format!("not an import ledger record: {e}"),
                })?;
            ledger.apply(record);
        }
        Ok(ledger)
    }

    /// Reads the ledger of the archive at `root` (empty when there is none yet).
    pub fn load(root: &Path) -> Result<Ledger> {
        let path = root.join(LEDGER_FILE);
        crate::lock::refuse_symlink(&path)?;
        match std::fs::read(&path) {
            Ok(bytes) => Ledger::parse(&bytes, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ledger::default()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    fn apply(&mut self, record: LedgerRecord) {
        match record {
            LedgerRecord::Begin { id, .. } | LedgerRecord::Abort { id, .. } => {
                // The latest record of an id says where it stands.
                self.committed_ids.remove(&id);
                self.ids.insert(id);
            }
            LedgerRecord::Commit {
                id,
                key,
                input,
                session,
                at,
                events,
                rows,
                files,
                ..
            } => {
                for file in &files {
                    self.file_sessions.insert(file.clone(), session.clone());
                }
                self.committed_ids.insert(id.clone(), files.clone());
                self.ids.insert(id.clone());
                self.committed.entry(key).or_insert(CommittedImport {
                    id,
                    input,
                    session,
                    at,
                    events,
                    rows,
                    files,
                });
            }
        }
    }

    /// True when any record names the import `id` (ids are never reused).
    pub fn knows(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// The committed import with this key ([`ImportKey::digest`]), if any.
    pub fn committed(&self, key: &str) -> Option<&CommittedImport> {
        self.committed.get(key)
    }

    /// True when the latest record of the import `id` is its commit.
    pub fn is_committed_id(&self, id: &str) -> bool {
        self.committed_ids.contains_key(id)
    }

    /// The session whose import's commit last named the data file `rel` (relative to the
    /// root): recovery seals an imported file its writer stopped before sealing under it.
    pub fn session_of_file(&self, rel: &str) -> Option<&str> {
        self.file_sessions.get(rel).map(String::as_str)
    }

    /// The data files the commit of import `id` names (relative to the root), if it is
    /// committed.
    pub fn committed_files(&self, id: &str) -> Option<&[String]> {
        self.committed_ids.get(id).map(Vec::as_slice)
    }

    /// Committed imports.
    pub fn len(&self) -> usize {
        self.committed.len()
    }

    /// True when no import is committed.
    pub fn is_empty(&self) -> bool {
        self.committed.is_empty()
    }

    /// Appends `record` to the ledger of `root` and fsyncs it (the folder too, when the ledger
    /// is new), then applies it here. A torn last record (a crash mid-append) is cut off first.
    /// Only the holder of the writer lock appends, so this ledger's view of the file is current.
    pub fn append(&mut self, root: &Path, record: LedgerRecord) -> Result<()> {
        let path = root.join(LEDGER_FILE);
        if let Some(why) = &self.broken {
            return Err(Error::BadFile {
                path,
                line: 0,
                reason: format!(
                    "an earlier write to the import ledger failed ({why}); open the archive again so the ledger is read from disk"
                ),
            });
        }
        crate::lock::refuse_symlink(&path)?;
        let mut line = serde_json::to_vec(&record).map_err(|e| Error::Config(e.to_string()))?;
        line.push(b'\n');
        let new = !path.exists();
        let mut file = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let len = file.metadata().map_err(io_err(&path))?.len();
        if len != self.clean_len {
            file.set_len(self.clean_len).map_err(io_err(&path))?;
        }
        let written = file
            .write_all(&line)
            .and_then(|()| file.sync_data())
            .map_err(io_err(&path))
            .and_then(|()| {
                if new {
                    crate::seal::sync_dir(&crate::seal::parent_of(&path))
                } else {
                    Ok(())
                }
            });
        if let Err(e) = written {
            self.broken = Some(e.to_string());
            return Err(e);
        }
        self.clean_len += line.len() as u64;
        self.apply(record);
        Ok(())
    }
}

/// Hex SHA-256 of everything `reader` yields.
pub fn sha256_of(mut reader: impl std::io::Read) -> std::io::Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Passes bytes through while taking their SHA-256, for inputs that can be read only once
/// (standard input): [`HashHandle::digest`] gives the hash of what was read so far.
pub struct HashingReader<R> {
    inner: R,
    hasher: std::sync::Arc<std::sync::Mutex<Sha256>>,
}

impl<R> HashingReader<R> {
    /// Wraps `inner`; the returned handle reads the digest later.
    pub fn new(inner: R) -> (HashingReader<R>, HashHandle) {
        let hasher = std::sync::Arc::new(std::sync::Mutex::new(Sha256::new()));
        (
            HashingReader {
                inner,
                hasher: std::sync::Arc::clone(&hasher),
            },
            HashHandle(hasher),
        )
    }
}

/// The digest side of a [`HashingReader`].
pub struct HashHandle(std::sync::Arc<std::sync::Mutex<Sha256>>);

impl HashHandle {
    /// Hex SHA-256 of every byte read so far.
    pub fn digest(&self) -> String {
        hex::encode(crate::lock(&self.0).clone().finalize())
    }
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        crate::lock(&self.hasher).update(&buf[..n]);
        Ok(n)
    }
}

/// Finishes or rolls back what imports left in `_staging/` when their writer stopped: a staged
/// import whose commit is in the ledger is moved into `hot/` (where recovery seals it); any other
/// is deleted and its rollback recorded. Returns one note per import.
pub(crate) fn recover_staging(root: &Path, ledger: &mut Ledger) -> Result<Vec<String>> {
    let staging = root.join(STAGING);
    crate::lock::refuse_symlink(&staging)?;
    let mut notes = Vec::new();
    let entries = match std::fs::read_dir(&staging) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(notes),
        Err(e) => return Err(io_err(&staging)(e)),
    };
    let mut dirs: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err(&staging))?;
        let kind = entry.file_type().map_err(io_err(entry.path()))?;
        if kind.is_dir() {
            dirs.push(entry.path());
        } else {
            // Not strata's: a stray file or a link. Left alone, and said so.
            notes.push(format!(
                "{}: not a staged import (strata puts only folders there); left alone",
                entry.path().display()
            ));
        }
    }
    dirs.sort();
    for dir in dirs {
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // One staged import's trouble must not keep the archive from opening.
        let done = if let Some(files) = ledger.committed_files(&id) {
            let files = committed_paths(&id, files);
            publish_dir(root, &dir, &files).map(|moved| {
                format!("finished committed import {id}: moved {moved} staged file(s) into hot/")
            })
        } else {
            remove_tree(&dir)
                .and_then(|()| {
                    ledger.append(
                        root,
                        LedgerRecord::Abort {
                            id: id.clone(),
                            at: chrono::Utc::now().to_rfc3339(),
                            reason: "the writer stopped before the import was committed".into(),
                        },
                    )
                })
                .map(|()| {
                    format!(
                        "rolled back unfinished import {id}: nothing of it is stored; run it again"
                    )
                })
        };
        notes.push(done.unwrap_or_else(|e| {
            format!("could not finish or roll back staged import {id}: {e} (left in place; tried again at the next open)")
        }));
    }
    crate::seal::sync_dir(&staging)?;
    Ok(notes)
}

/// The files a committed import may move into place: the data files its commit names and its
/// own quarantine file, relative to the root.
pub(crate) fn committed_paths(id: &str, files: &[String]) -> std::collections::HashSet<String> {
    let mut paths: std::collections::HashSet<String> = files.iter().cloned().collect();
    paths.insert(format!("{}/rejected/{id}.jsonl", crate::paths::QUARANTINE));
    paths
}

/// Moves the files of a staging folder (`_staging/<id>/hot/...`) that `allowed` names (paths
/// relative to the root) to the same place under the root, fsyncing the folders it touched, then
/// removes the staging folder — and with it anything else found there, which no commit named.
/// Returns the files moved.
pub(crate) fn publish_dir(
    root: &Path,
    dir: &Path,
    allowed: &std::collections::HashSet<String>,
) -> Result<usize> {
    let files = crate::reader::files_under(dir)?;
    let mut touched: Vec<PathBuf> = Vec::new();
    let mut moved = 0;
    for file in &files {
        let rel = file.strip_prefix(dir).map_err(|_| Error::BadFile {
            path: file.clone(),
            line: 0,
            reason: "not under its staging folder".into(),
        })?;
        let rel_text = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if !allowed.contains(&rel_text) {
            tracing::warn!(target: "strata::ingest", "{}: not a file of the committed import; removed with its staging folder", file.display());
            continue;
        }
        let target = root.join(rel);
        if let Some(parent) = target.parent() {
            create_dirs(root, parent, &mut touched)?;
        }
        // Never replace: staged names are new by construction (segment numbers count every file
        // in `hot/`, import ids are never reused), so an existing target means something else
        // wrote there, and the staged file stays where it is for a person to look at.
        if std::fs::symlink_metadata(&target).is_ok() {
            return Err(Error::BadFile {
                path: target,
                line: 0,
                reason: format!(
                    "exists already; the staged file {} was not moved over it",
                    file.display()
                ),
            });
        }
        std::fs::rename(file, &target).map_err(io_err(&target))?;
        touched.push(crate::seal::parent_of(&target));
        moved += 1;
    }
    touched.sort();
    touched.dedup();
    for d in &touched {
        crate::seal::sync_dir(d)?;
    }
    remove_tree(dir)?;
    Ok(moved)
}

/// Refuses a symlink anywhere between `root` and `path` (which need not exist yet).
pub(crate) fn refuse_symlinks_on_the_way(root: &Path, path: &Path) -> Result<()> {
    let mut cur = path.to_path_buf();
    while cur.starts_with(root) && cur != root {
        if std::fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Error::Symlink { path: cur });
        }
        if !cur.pop() {
            break;
        }
    }
    Ok(())
}

/// Creates `dir` and its missing parents under `root`, refusing a symlink anywhere between
/// `root` and `dir`, and notes every folder whose entries changed (to be fsynced).
pub(crate) fn create_dirs(root: &Path, dir: &Path, touched: &mut Vec<PathBuf>) -> Result<()> {
    let mut missing = Vec::new();
    let mut cur = dir.to_path_buf();
    while cur.starts_with(root) && cur != root {
        match std::fs::symlink_metadata(&cur) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(Error::Symlink { path: cur });
            }
            Ok(_) => {}
            Err(_) => missing.push(cur.clone()),
        }
        if !cur.pop() {
            break;
        }
    }
    for d in missing.iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err(d)(e)),
        }
        touched.push(crate::seal::parent_of(d));
        touched.push(d.clone());
    }
    Ok(())
}

fn remove_tree(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(dir)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(id: &str, key: &str) -> LedgerRecord {
        LedgerRecord::Commit {
            id: id.into(),
            key: key.into(),
            content_sha256: "c".into(),
            settings: "s".into(),
            input: "in.zip".into(),
            session: "S".into(),
            at: "2026-01-01T00:00:00Z".into(),
            events: 3,
            rows: 3,
            rejected: 0,
            note: None,
            files: vec!["hot/a_000001.jsonl".into()],
        }
    }

    #[test]
    fn records_append_and_read_back_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("_catalog")).unwrap();
        let mut ledger = Ledger::default();
        ledger.append(dir.path(), commit("i1", "k1")).unwrap();
        let path = dir.path().join(LEDGER_FILE);
        // A crash mid-append leaves half a record.
        let mut f = std::fs::File::options().append(true).open(&path).unwrap();
        f.write_all(br#"{"op":"commit","id":"i2","ke"#).unwrap();
        drop(f);
        let read = Ledger::load(dir.path()).unwrap();
        assert_eq!(read.committed("k1").unwrap().events, 3);
        assert!(read.committed("k2").is_none());
        // The next append cuts the torn record off first.
        let mut read = read;
        read.append(dir.path(), commit("i3", "k3")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        let read = Ledger::load(dir.path()).unwrap();
        assert!(read.committed("k1").is_some() && read.committed("k3").is_some());
        assert!(read.is_committed_id("i3") && !read.is_committed_id("i2"));
        // Damage inside the ledger is an error naming the file and line.
        std::fs::write(&path, format!("garbage\n{text}")).unwrap();
        let err = Ledger::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("line 1") && err.contains("imports.jsonl"),
            "{err}"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        /// Any bytes: an error naming the line, or a ledger — never a panic.
        #[test]
        fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            if let Err(e) = Ledger::parse(&bytes, "imports.jsonl") {
                proptest::prop_assert!(e.to_string().contains("imports.jsonl"));
            }
        }
    }

    proptest::proptest! {
        // Each case writes and fsyncs up to 20 records.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Records written are read back: every committed key is found, with its counts.
        #[test]
        fn written_records_read_back(n in 1usize..20, torn in 0usize..40) {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("_catalog")).unwrap();
            let mut ledger = Ledger::default();
            for i in 0..n {
                ledger.append(dir.path(), commit(&format!("i{i}"), &format!("k{i}"))).unwrap();
            }
            // A torn tail of any length is ignored.
            let path = dir.path().join(LEDGER_FILE);
            let tail = br#"{"op":"commit","id":"x","key":"y","content_sha256":"c"}"#;
            let mut f = std::fs::File::options().append(true).open(&path).unwrap();
            f.write_all(&tail[..torn.min(tail.len())]).unwrap();
            drop(f);
            let read = Ledger::load(dir.path()).unwrap();
            proptest::prop_assert_eq!(read.len(), n);
            for i in 0..n {
                let id = format!("i{i}");
                proptest::prop_assert!(read.is_committed_id(&id), "{} not committed", id);
                proptest::prop_assert_eq!(read.committed(&format!("k{i}")).unwrap().events, 3);
            }
        }
    }

    #[test]
    fn keys_differ_by_content_and_by_settings() {
        let a = ImportKey::new("aa", "format=lean");
        assert_eq!(a.digest(), ImportKey::new("aa", "format=lean").digest());
        assert_ne!(a.digest(), ImportKey::new("ab", "format=lean").digest());
        assert_ne!(a.digest(), ImportKey::new("aa", "format=dbn").digest());
    }
}
