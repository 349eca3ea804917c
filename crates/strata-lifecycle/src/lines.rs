//! Appending one line durably to a JSON-lines file (the journal, the audit trail).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use crate::error::{io, Result};

/// Appends `line` (newline included) to `path` and fsyncs it (and the folder, when the file is
/// new). A last line left without its newline by a kill mid-append is kept when `whole` says
/// it is complete (only the newline is missing: it is added) and cut off otherwise (it was
/// never acknowledged).
pub(crate) fn append_line(path: &Path, line: &str, whole: impl Fn(&[u8]) -> bool) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io(path))?;
    let text = std::fs::read(path).map_err(io(path))?;
    let mut bytes = Vec::with_capacity(line.len() + 1);
    if text.last().is_some_and(|&b| b != b'\n') {
        let keep = text
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |at| at + 1);
        if whole(&text[keep..]) {
            bytes.push(b'\n');
        } else {
            file.set_len(keep as u64).map_err(io(path))?;
        }
    }
    bytes.extend_from_slice(line.as_bytes());
    file.write_all(&bytes).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    if !existed {
        strata_catalog::fsio::sync_dir(dir)?;
    }
    Ok(())
}
