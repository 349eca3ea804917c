//! Durable file writes: temp file + fsync + rename + fsync of the folder.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The folder of `path` (`.` for a bare file name).
pub(crate) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `bytes` to `path` so that a reader sees either the old file or the whole new one,
/// and the new one survives a crash once this returns: the bytes go to a temp file in the same
/// folder, which is fsynced, renamed over `path`, and the folder is fsynced.
///
/// The temp name is short (`.tmp-strata-<pid>-<n>`) so it never exceeds a name-length limit
/// the target itself fits, and it never ends in `.manifest.json`, so a rebuild that runs
/// meanwhile does not mistake it for a sidecar.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_of(path);
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let tmp = dir.join(format!(
        ".tmp-strata-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        // Best effort: the temp file is garbage either way, and the write error is what matters.
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    sync_dir(&dir)
}

/// Appends `bytes` with one write to `path` (created if missing) and fsyncs it; fsyncs the
/// folder too when the file is new, so its name survives a crash as well.
pub(crate) fn append_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.write_all(bytes).map_err(|e| Error::io(path, e))?;
    file.sync_all().map_err(|e| Error::io(path, e))?;
    if !existed {
        sync_dir(&parent_of(path))?;
    }
    Ok(())
}

/// Makes a folder's entries (new names, renames) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))
    }
    #[cfg(not(unix))]
    {
        // Folders cannot be opened for fsync on this platform; renames are durable through
        // the file system's own journal.
        let _ = dir;
        Ok(())
    }
}
