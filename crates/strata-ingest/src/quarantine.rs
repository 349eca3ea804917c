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
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::json;
use strata_model::{jsonl, Event, Timestamp};

use crate::{io_err, paths, Result};

/// The quarantine of one archive, for one session.
#[derive(Debug)]
pub struct Quarantine {
    dir: PathBuf,
    session_id: String,
    /// `rejected/<session>.jsonl`.
    rejected_path: PathBuf,
    /// The rejected file, buffered: lines reach the file at [`Quarantine::sync`] (or when the
    /// buffer fills), so a thousand refused rows cost a few writes, not a thousand.
    rejected: Option<BufWriter<File>>,
    /// Lines written since the last [`Quarantine::sync`].
    unsynced: u64,
    /// The line being built, kept to reuse its allocation.
    line: Vec<u8>,
}

/// Bytes of rejected lines buffered before they are written to the file.
const REJECTED_BUFFER: usize = 256 * 1024;

/// Appends `text` as a JSON string (quoted and escaped as serde_json escapes it).
fn push_json_str(out: &mut Vec<u8>, text: &str) {
    // Writing into a Vec cannot fail, and a &str always serializes.
    let _ = serde_json::to_writer(&mut *out, text);
}

fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
}

impl Quarantine {
    /// The quarantine under `root`, for `session_id`.
    pub fn new(root: &Path, session_id: &str) -> Self {
        let dir = root.join(paths::QUARANTINE);
        Quarantine {
            rejected_path: dir.join("rejected").join(format!("{session_id}.jsonl")),
            dir,
            session_id: session_id.to_string(),
            rejected: None,
            unsynced: 0,
            line: Vec::with_capacity(512),
        }
    }

    /// Fsyncs what was written since the last call; nothing (no fsync, no allocation) when
    /// nothing was — the writer calls this after every batch.
    pub fn sync(&mut self) -> Result<()> {
        if self.unsynced == 0 {
            return Ok(());
        }
        if let Some(file) = self.rejected.as_mut() {
            file.flush().map_err(io_err(&self.rejected_path))?;
            file.get_ref()
                .sync_data()
                .map_err(io_err(&self.rejected_path))?;
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
        self.rejected_path.clone()
    }

    /// Writes one line (not yet durable: see [`Quarantine::sync`]). The first line of a new file
    /// also fsyncs its folder, so the file's name survives a crash along with its lines.
    fn append(&mut self, line: &[u8]) -> Result<()> {
        let path = &self.rejected_path;
        if self.rejected.is_none() {
            let dir = self.dir.join("rejected");
            std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
            let existed = path.exists();
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(io_err(path))?;
            if !existed {
                File::open(&dir)
                    .and_then(|d| d.sync_all())
                    .map_err(io_err(&dir))?;
            }
            self.rejected = Some(BufWriter::with_capacity(REJECTED_BUFFER, file));
        }
        if let Some(file) = self.rejected.as_mut() {
            file.write_all(line).map_err(io_err(path))?;
            self.unsynced += 1;
        }
        Ok(())
    }

    /// Builds a line in the reused buffer with `build` and appends it.
    fn append_built(&mut self, build: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let written = build(&mut line).and_then(|()| self.append(&line));
        self.line = line;
        written
    }

    /// Quarantines a refused event with the reason.
    pub fn reject_event(&mut self, event: &Event, reason: &str) -> Result<()> {
        self.append_built(|line| {
            line.extend_from_slice(b"{\"reason\":");
            push_json_str(line, reason);
            let _ = write!(line, ",\"at\":{},\"event\":", now_ns());
            jsonl::encode_into(event, line).map_err(|e| crate::Error::Config(e.to_string()))?;
            line.pop(); // the event's newline
            line.extend_from_slice(b"}\n");
            Ok(())
        })
    }

    /// Quarantines a bad input row (from an importer) with its file, line and reason.
    pub fn reject_row(&mut self, file: &str, line_no: u64, reason: &str, raw: &str) -> Result<()> {
        self.append_built(|line| {
            line.extend_from_slice(b"{\"reason\":");
            push_json_str(line, reason);
            let _ = write!(line, ",\"at\":{},\"file\":", now_ns());
            push_json_str(line, file);
            let _ = write!(line, ",\"line\":{line_no},\"raw\":");
            push_json_str(line, raw);
            line.extend_from_slice(b"}\n");
            Ok(())
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use strata_model::{Decimal, Payload, Trade};

    /// Hostile text: quotes, backslashes, control characters, a BOM, line separators, emoji.
    const NASTY: &str = "a\"b\\c\nd\te\u{0}\u{1f}\u{7f}\u{feff}\u{2028}😀,{}";

    #[test]
    fn lines_are_the_json_they_claim_and_reach_the_file_at_sync() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Quarantine::new(dir.path(), "s1");
        q.reject_row(NASTY, 7, NASTY, NASTY).unwrap();
        let event = Event::new(
            NASTY,
            "X",
            Timestamp::from_nanos(1),
            Payload::Trade(Trade {
                price: "0.0038217599999999996".parse().unwrap(),
                size: Decimal::from_int(1),
                side: None,
                trade_id: None,
                conditions: None,
            }),
        );
        q.reject_event(&event, "why").unwrap();
        // Buffered until sync.
        let path = q.written_file().unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), 0);
        q.sync().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        let row = &lines[0];
        let keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["reason", "at", "file", "line", "raw"]);
        assert_eq!(row["reason"], NASTY);
        assert_eq!(row["file"], NASTY);
        assert_eq!(row["raw"], NASTY);
        assert_eq!(row["line"], 7);
        assert!(row["at"].as_i64().unwrap() > 0);
        assert_eq!(lines[1]["reason"], "why");
        let back = jsonl::decode_line(lines[1]["event"].to_string().as_bytes()).unwrap();
        assert_eq!(back, event);
        // Nothing more to sync: no write, no fsync.
        q.sync().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
}
