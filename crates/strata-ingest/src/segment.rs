//! One open hot segment: an append-only JSONL file and what is known about it.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use strata_catalog::StatsAccumulator;
use strata_core::layout::PartitionKey;

/// Bytes buffered per segment before they are handed to the OS.
pub(crate) const BUFFER_BYTES: usize = 256 * 1024;

pub(crate) struct Segment {
    /// Absolute path of the file.
    pub path: PathBuf,
    /// Path relative to the archive root, '/' separated.
    pub rel: String,
    pub file: Arc<File>,
    pub buf: Vec<u8>,
    /// Bytes in the file plus the buffer.
    pub len: u64,
    pub stats: StatsAccumulator,
    pub partition: PartitionKey,
    pub opened: Instant,
    /// True when bytes were handed to the OS since the last fsync.
    pub dirty: bool,
}

impl Segment {
    /// Hands buffered bytes to the OS (no fsync).
    pub fn drain(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            (&*self.file).write_all(&self.buf)?;
            self.buf.clear();
            self.dirty = true;
        }
        Ok(())
    }
}
