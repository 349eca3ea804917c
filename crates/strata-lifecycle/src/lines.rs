//! The lifecycle's own files: appending one line durably to a JSON-lines file (the journal,
//! the audit trail), and the lock files that keep one writer at a time.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{io, Error, Result};

/// Appends `record` as one JSON line (see [`append_line`]; a whole last record left without
/// its newline is kept).
pub(crate) fn append_record<T: Serialize + DeserializeOwned>(
    path: &Path,
    record: &T,
) -> Result<()> {
    let mut line = serde_json::to_string(record).map_err(|e| Error::Damaged {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    line.push('\n');
    append_line(path, &line, |tail| {
        serde_json::from_slice::<T>(tail).is_ok()
    })
}

/// Every record of a JSON-lines file (none when there is no file). A last line cut by a kill
/// mid-append (no newline, not a record) was never acknowledged and is left out; any other
/// line that is not a record is an error naming it.
pub(crate) fn read_records<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(path)(e)),
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut records = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str::<T>(line.trim_end()) {
            Ok(record) => records.push(record),
            Err(_) if i + 1 == lines.len() && !line.ends_with('\n') => {}
            Err(e) => {
                return Err(Error::Damaged {
                    path: path.to_path_buf(),
                    message: format!("line {}: {e}", i + 1),
                })
            }
        }
    }
    Ok(records)
}

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
