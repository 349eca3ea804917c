//! One open hot segment: an append-only JSONL file and what is known about it.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use strata_catalog::StatsAccumulator;
use strata_core::layout::PartitionKey;
use xxhash_rust::xxh3::Xxh3;

use crate::seal::{ContentCheck, SealJob, SealReason};
use crate::{io_err, Result};

/// Bytes buffered per segment before they are handed to the OS.
pub(crate) const BUFFER_BYTES: usize = 256 * 1024;

pub(crate) struct Segment {
    /// Absolute path of the file.
    pub path: PathBuf,
    /// Path relative to the archive root, '/' separated.
    pub rel: String,
    /// The open file; `None` while the segment is parked (its handle closed to stay within the
    /// open-file bound; its buffer is empty then, and it is reopened before it is written again).
    pub file: Option<Arc<File>>,
    pub buf: Vec<u8>,
    /// Bytes in the file plus the buffer.
    pub len: u64,
    /// XXH3 of every byte handed to the OS so far, in order: what sealing checks the stored file
    /// against, so the file is read once (for its SHA-256) and still verified.
    pub content: Xxh3,
    pub stats: StatsAccumulator,
    pub partition: PartitionKey,
    pub opened: Instant,
    /// True when bytes were handed to the OS since the last fsync.
    pub dirty: bool,
    /// When it was last written, on the writer's own clock (for closing the least recently
    /// written first).
    pub last_used: u64,
}

impl Segment {
    /// Hands buffered bytes to the OS (no fsync).
    pub fn drain(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            if self.file.is_none() {
                self.reopen()?;
            }
            let Some(file) = self.file.as_deref() else {
                return Ok(());
            };
            let mut file = file;
            file.write_all(&self.buf).map_err(io_err(&self.path))?;
            self.content.update(&self.buf);
            self.buf.clear();
            self.dirty = true;
        }
        Ok(())
    }

    /// Opens the parked segment's file again, to append.
    pub fn reopen(&mut self) -> Result<()> {
        crate::lock::refuse_symlink(&self.path)?;
        let file = File::options()
            .append(true)
            .open(&self.path)
            .map_err(io_err(&self.path))?;
        self.file = Some(Arc::new(file));
        Ok(())
    }

    /// Closes the file (after handing its buffer to the OS, and fsyncing it when `sync`), so the
    /// segment holds no handle until it is written again. Returns true if a handle was closed.
    pub fn park(&mut self, sync: bool) -> Result<bool> {
        self.drain()?;
        let Some(file) = self.file.as_ref() else {
            return Ok(false);
        };
        // Synced before the handle goes: if the fsync fails the segment stays open and dirty,
        // so the next commit syncs it (or fails) before the watermark covers its bytes.
        if sync && self.dirty {
            file.sync_data().map_err(io_err(&self.path))?;
            self.dirty = false;
        }
        self.file = None;
        self.buf = Vec::new();
        Ok(true)
    }

    /// What the sealer needs, once every byte is handed to the OS; the buffer is freed.
    pub fn into_job(mut self, reason: SealReason) -> Result<SealJob> {
        self.drain()?;
        Ok(SealJob {
            content: ContentCheck {
                len: self.len,
                xxh3: self.content.digest(),
            },
            path: self.path,
            rel: self.rel,
            partition: self.partition,
            stats: self.stats,
            reason,
        })
    }
}
