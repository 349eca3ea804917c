//! Reads counted per file (CAT-5), so that data nobody reads can be found and moved colder:
//! each query appends one line per file it opened to `_catalog/reads.jsonl`
//! (`{"path":…,"at":…}`), and [`ReadLog::usage`] sums them per file.
//!
//! Lines are short and appended with `O_APPEND` in one write each, so queries of several
//! processes at once interleave whole lines; a line a crash cut short is closed by the next
//! append (and skipped when read). Counting is advisory: an archive the user may
//! only read is queried all the same, its reads not counted ([`ReadLog::record`] says so).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use strata_model::Timestamp;

/// The read log's file in the archive's `_catalog/`.
pub const READS_FILE: &str = "reads.jsonl";

/// One file read by one query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Read {
    path: String,
    at: Timestamp,
}

/// How often a file was read, and when last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Queries that opened it.
    pub reads: u64,
    /// The last of them.
    pub last: Timestamp,
}

/// The read log of one archive.
#[derive(Debug, Clone)]
pub struct ReadLog {
    file: PathBuf,
}

impl ReadLog {
    /// The log of the archive at `root`.
    pub fn new(root: &Path) -> Self {
        ReadLog {
            file: root.join("_catalog").join(READS_FILE),
        }
    }

    /// Appends one line per path read at `at`. An error (a read-only archive) is returned for
    /// the caller to note; nothing of the query depends on it.
    pub fn record(&self, paths: &[String], at: Timestamp) -> std::io::Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for path in paths {
            let line = serde_json::to_string(&Read {
                path: path.clone(),
                at,
            })
            .map_err(std::io::Error::other)?;
            text.push_str(&line);
            text.push('\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&self.file)?;
        // A last line a crash cut short ends here, so the new lines stay whole.
        if !ends_with_newline(&mut file)? {
            text.insert(0, '\n');
        }
        // One write: concurrent appenders interleave whole lines.
        file.write_all(text.as_bytes())
    }

    /// Reads per file path (a line cut by a crash, or not a read, is skipped).
    pub fn usage(&self) -> std::io::Result<BTreeMap<String, Usage>> {
        let text = match std::fs::read_to_string(&self.file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(e),
        };
        let mut usage: BTreeMap<String, Usage> = BTreeMap::new();
        for read in text
            .lines()
            .filter_map(|l| serde_json::from_str::<Read>(l).ok())
        {
            let u = usage.entry(read.path).or_insert(Usage {
                reads: 0,
                last: read.at,
            });
            u.reads += 1;
            u.last = u.last.max(read.at);
        }
        Ok(usage)
    }
}

/// Whether the file is empty or its last byte is a newline.
fn ends_with_newline(file: &mut std::fs::File) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}
