//! Where refused events and damaged bytes go, always with the reason (INGEST-3, INGEST-4).
//!
//! ```text
//! _quarantine/
//!   rejected/<session>.jsonl    one line per refused event or bad input row:
//!                               {"reason":…,"at":…,"event":{…}} or {"reason":…,"file":…,"line":…,"raw":…}
//!   torn/<file>.<offset>.<ns>.bin   bytes cut from a segment during recovery
//!   torn/<file>.<offset>.<ns>.json  why they were cut: {"file":…,"offset":…,"length":…,"reason":…}
//! ```
//! Quarantined data is kept, not lost: rejected lines are written as they come and made durable
//! together — the writer fsyncs the rejected file once at the end of each batch (and a staged
//! import's once at its commit) before the call returns, so a batch of a thousand refused rows
//! costs one fsync, not a thousand. Torn bytes are fsynced at once.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;
use strata_model::{jsonl, Event, Timestamp};

use crate::{io_err, paths, Result};

/// The quarantine of one archive, for one session.
#[derive(Debug)]
pub struct Quarantine {
    dir: PathBuf,
    session_id: String,
    rejected: Option<File>,
    /// Lines written since the last [`Quarantine::sync`].
    unsynced: u64,
}

fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
}

impl Quarantine {
    /// The quarantine under `root`, for `session_id`.
    pub fn new(root: &Path, session_id: &str) -> Self {
        Quarantine {
            dir: root.join(paths::QUARANTINE),
            session_id: session_id.to_string(),
            rejected: None,
            unsynced: 0,
        }
    }

    /// Fsyncs what was written since the last call; nothing (no fsync, no allocation) when
    /// nothing was — the writer calls this after every batch.
    pub fn sync(&mut self) -> Result<()> {
        if self.unsynced == 0 {
            return Ok(());
        }
        if let Some(file) = self.rejected.as_ref() {
            file.sync_data().map_err(io_err(&self.rejected_path()))?;
        }
        self.unsynced = 0;
        Ok(())
    }

    /// The rejected file, once a line was written to it.
    pub fn written_file(&self) -> Option<PathBuf> {
        self.rejected.as_ref().map(|_| self.rejected_path())
    }

    /// The file refused events and rows of this session go to.
    pub fn rejected_path(&self) -> PathBuf {
        self.dir
            .join("rejected")
            .join(format!("{}.jsonl", self.session_id))
    }

    /// Writes one line (not yet durable: see [`Quarantine::sync`]). The first line of a new file
    /// also fsyncs its folder, so the file's name survives a crash along with its lines.
    fn append(&mut self, line: &[u8]) -> Result<()> {
        let path = self.rejected_path();
        if self.rejected.is_none() {
            let dir = self.dir.join("rejected");
            std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
            let existed = path.exists();
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io_err(&path))?;
            if !existed {
                File::open(&dir)
                    .and_then(|d| d.sync_all())
                    .map_err(io_err(&dir))?;
            }
            self.rejected = Some(file);
        }
        if let Some(file) = self.rejected.as_mut() {
            file.write_all(line).map_err(io_err(&path))?;
            self.unsynced += 1;
        }
        Ok(())
    }

    /// Quarantines a refused event with the reason.
    pub fn reject_event(&mut self, event: &Event, reason: &str) -> Result<()> {
        let mut line = Vec::with_capacity(256);
        line.extend_from_slice(b"{\"reason\":");
        line.extend_from_slice(json!(reason).to_string().as_bytes());
        line.extend_from_slice(format!(",\"at\":{},\"event\":", now_ns()).as_bytes());
        jsonl::encode_into(event, &mut line).map_err(|e| crate::Error::Config(e.to_string()))?;
        line.pop(); // the event's newline
        line.extend_from_slice(b"}\n");
        self.append(&line)
    }

    /// Quarantines a bad input row (from an importer) with its file, line and reason.
    pub fn reject_row(&mut self, file: &str, line_no: u64, reason: &str, raw: &str) -> Result<()> {
        let line =
            json!({ "reason": reason, "at": now_ns(), "file": file, "line": line_no, "raw": raw });
        self.append(format!("{line}\n").as_bytes())
    }

    /// Keeps bytes cut from `origin` (a segment) at `offset`, with the reason, and fsyncs them.
    /// Returns the path of the kept bytes.
    pub fn keep_bytes(
        &mut self,
        origin: &Path,
        offset: u64,
        bytes: &[u8],
        reason: &str,
    ) -> Result<PathBuf> {
        let dir = self.dir.join("torn");
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let name = origin
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stamp = Timestamp::from_nanos(now_ns()).as_nanos();
        // Offset and time make the name unique: one segment can have several cuts.
        let data_path = dir.join(format!("{name}.{offset}.{stamp}.bin"));
        let meta_path = dir.join(format!("{name}.{offset}.{stamp}.json"));
        let meta = json!({
            "file": origin.display().to_string(),
            "offset": offset,
            "length": bytes.len(),
            "reason": reason,
            "session": self.session_id,
        });
        for (path, content) in [
            (&data_path, bytes.to_vec()),
            (&meta_path, format!("{meta:#}\n").into_bytes()),
        ] {
            let mut f = File::create(path).map_err(io_err(path))?;
            f.write_all(&content).map_err(io_err(path))?;
            f.sync_all().map_err(io_err(path))?;
        }
        Ok(data_path)
    }
}
