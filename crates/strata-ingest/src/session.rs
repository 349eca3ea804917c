//! Each writer run is a session with a `report.json` (SESSION-1).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::integrity::Gap;
use crate::{io_err, paths, Result};

/// What a session did: timing, counts, gaps, bytes and verified files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionReport {
    /// Session id (also the folder name under `_sessions/`).
    pub id: String,
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
}

impl SessionReport {
    /// Gaps listed one by one in a report; the rest are only counted.
    pub const MAX_GAPS_LISTED: usize = 1000;

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

    /// Writes the report atomically and returns its path.
    pub fn write(&self, root: &Path) -> Result<PathBuf> {
        let path = Self::path(root, &self.id);
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| root.to_path_buf());
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let tmp = dir.join("report.json.tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
        let text =
            serde_json::to_vec_pretty(self).map_err(|e| crate::Error::Config(e.to_string()))?;
        f.write_all(&text).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
        Ok(path)
    }
}
