//! The lifecycle's own files: appending one line durably to a JSON-lines file (the journal,
//! the audit trail), and the lock files that keep one writer at a time.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
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
    let mut bytes = Vec::with_capacity(line.len() + 1);
    // Only a file whose last byte is not a newline is read whole (the rare cut line).
    let len = file.metadata().map_err(io(path))?.len();
    let mut last = [b'\n'];
    if len > 0 {
        let mut reader = File::open(path).map_err(io(path))?;
        reader.seek(SeekFrom::End(-1)).map_err(io(path))?;
        reader.read_exact(&mut last).map_err(io(path))?;
    }
    if last[0] != b'\n' {
        let text = std::fs::read(path).map_err(io(path))?;
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

/// Opens (creating) the lock file `path` and takes its exclusive lock, waiting for it.
pub(crate) fn lock_file(path: &Path) -> Result<File> {
    let file = open_lock(path)?;
    file.lock().map_err(io(path))?;
    Ok(file)
}

/// Opens (creating) the lock file `path` and takes its exclusive lock if it is free; `None`
/// when another process holds it.
pub(crate) fn try_lock_file(path: &Path) -> Result<Option<File>> {
    let file = open_lock(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(io(path)(e)),
    }
}

fn open_lock(path: &Path) -> Result<File> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io(path))
}
