//! Durable file writes — temp file, fsync, rename, fsync of the folder — and the one pattern of
//! temp names they use, which recovery knows.
//!
//! Every whole-file replacement strata makes (sidecars, `checksums.sha256` rewrites, registries,
//! the manifest list, session reports, segments cut by recovery, compressed copies made by
//! sealing, the config `strata init` writes) goes through [`write_atomic`] or
//! [`write_atomic_with`], so a reader sees either the old file or the whole new one, and the new
//! one survives a crash once the call returns.
//!
//! **Temp names.** The temp file is `.tmp-strata-<pid>-<n>` in the target's folder: `<pid>` the
//! writing process's id, `<n>` a counter of that process (both decimal). [`is_temp_name`] tells
//! such a name. The name is short and independent of the target, so it fits wherever the
//! target's name fits (a target of 255 bytes has no room for a `.tmp` suffix), it never ends in
//! `.jsonl`, `.manifest.json` or a codec extension (nothing that lists data, sidecars or
//! checksums takes it for one), and two processes never pick the same name. A kill between the
//! create and the rename leaves such a file behind: [`remove_stale_temps`] (run by the writer's
//! recovery on open, in the folders strata owns) deletes it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::{Error, Result};

/// The start of every temp file name [`write_atomic`] and [`write_atomic_with`] use; the whole
/// name is `.tmp-strata-<pid>-<n>`.
pub const TEMP_PREFIX: &str = ".tmp-strata-";

/// Where the owner of a temp file cannot be checked (no `/proc`), a temp file is taken for a
/// crash's leftover only once it has not been modified for this long.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(10 * 60);

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The folder of `path` (`.` for a bare file name).
pub(crate) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A fresh temp path in `dir`: `.tmp-strata-<pid>-<n>`.
fn temp_in(dir: &Path) -> PathBuf {
    dir.join(format!(
        "{TEMP_PREFIX}{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// True when `name` is a temp file name of [`write_atomic`]: `.tmp-strata-<pid>-<n>`, both
/// parts decimal digits, nothing before or after.
pub fn is_temp_name(name: &str) -> bool {
    temp_owner(name).is_some()
}

/// The process id in a temp file name (`None` when `name` is not one).
fn temp_owner(name: &str) -> Option<u32> {
    let (pid, n) = name.strip_prefix(TEMP_PREFIX)?.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(n)).then_some(())?;
    pid.parse().ok()
}

/// Writes `bytes` to `path` so that a reader sees either the old file or the whole new one,
/// and the new one survives a crash once this returns: the bytes go to a temp file in the same
/// folder (see the [module](self) for its name), which is fsynced, renamed over `path`, and the
/// folder is fsynced. The folder is created if missing. On an error the temp file is removed and
/// `path` is as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |file| {
        file.write_all(bytes).map_err(|e| Error::io(path, e))
    })
}

/// [`write_atomic`] for content produced as it is written (a compressor streaming into the
/// file): `write` is given the temp file, open for writing, and what it returns is returned.
/// When `write` fails, nothing is renamed, the temp file is removed, and its error is returned
/// (so it can refuse content it has checked on the way); otherwise the file is fsynced, renamed
/// over `path` and the folder fsynced. Errors of this function itself name `path` (the temp
/// file is gone by then).
pub fn write_atomic_with<T, E>(
    path: &Path,
    write: impl FnOnce(&mut File) -> std::result::Result<T, E>,
) -> std::result::Result<T, E>
where
    E: From<Error>,
{
    let dir = parent_of(path);
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let tmp = temp_in(&dir);
    let mut file = File::create(&tmp).map_err(|e| Error::io(path, e))?;
    let written = write(&mut file).and_then(|value| {
        file.sync_all().map_err(|e| Error::io(path, e))?;
        Ok(value)
    });
    drop(file);
    let value = match written {
        Ok(value) => value,
        Err(e) => {
            // Best effort: the temp file is garbage either way, and the write error is what
            // matters (recovery removes it if this fails).
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e).into());
    }
    sync_dir(&dir)?;
    Ok(value)
}

/// True when the process that named a temp file may still be writing it: it is this process,
/// or `/proc` lists it. Without `/proc` the file's age decides ([`STALE_TEMP_AGE`]).
pub fn owner_may_be_writing(path: &Path, pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        return proc.join(pid.to_string()).exists();
    }
    let modified = fs::metadata(path).and_then(|m| m.modified());
    match modified.map(|m| SystemTime::now().duration_since(m)) {
        Ok(Ok(age)) => age < STALE_TEMP_AGE,
        // Modified "in the future" (a clock step) or unreadable: leave it for a later open.
        _ => true,
    }
}

/// True when `path` is a temp file of [`write_atomic`] that no running process is writing: what
/// a crash between its create and its rename left. A name of another shape is never stale.
pub fn is_stale_temp(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .and_then(temp_owner)
        .is_some_and(|pid| !owner_may_be_writing(path, pid))
}

/// Removes every stale temp file ([`is_stale_temp`]) under `dir`, at any depth (symbolic links
/// are not followed), and returns their paths. Only names of the [module](self)'s pattern are
/// touched, so call it on folders strata owns. A missing `dir` has none.
pub fn remove_stale_temps(dir: &Path) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, removed: &mut Vec<PathBuf>) -> Result<()> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(dir, e)),
        };
        let mut touched = false;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
            if kind.is_dir() {
                walk(&path, removed)?;
            } else if kind.is_file() && is_stale_temp(&path) {
                match fs::remove_file(&path) {
                    Ok(()) => {
                        touched = true;
                        removed.push(path);
                    }
                    // Gone meanwhile: nothing to do.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(&path, e)),
                }
            }
        }
        if touched {
            sync_dir(dir)?;
        }
        Ok(())
    }
    let mut removed = Vec::new();
    walk(dir, &mut removed)?;
    removed.sort();
    Ok(removed)
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

/// Makes a folder's entries (new names, renames, removals) durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_target_holds_the_old_or_the_new_content_and_no_temp_stays() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub/report.json");
        write_atomic(&target, b"old").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"old");
        write_atomic(&target, b"new content").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new content");
        assert_eq!(names_in(&dir.path().join("sub")), ["report.json"]);

        // A refused write (the closure fails half way) leaves the old content and no temp.
        let err = write_atomic_with(&target, |file| {
            file.write_all(b"half of it").unwrap();
            Err::<(), Error>(Error::io(&target, std::io::Error::other("refused")))
        })
        .unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        assert_eq!(fs::read(&target).unwrap(), b"new content");
        assert_eq!(names_in(&dir.path().join("sub")), ["report.json"]);

        // A write that cannot be renamed (the target is a folder) leaves no temp either.
        let folder = dir.path().join("sub/taken");
        fs::create_dir(&folder).unwrap();
        fs::write(folder.join("x"), b"x").unwrap();
        assert!(write_atomic(&folder, b"y").is_err());
        assert_eq!(names_in(&dir.path().join("sub")), ["report.json", "taken"]);

        // What the closure returns comes back.
        let len = write_atomic_with(&target, |file| {
            file.write_all(b"streamed")
                .map_err(|e| Error::io(&target, e))?;
            Ok::<_, Error>(8)
        })
        .unwrap();
        assert_eq!((len, fs::read(&target).unwrap()), (8, b"streamed".to_vec()));
    }

    #[test]
    fn every_temp_name_has_the_one_pattern() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = temp_in(dir.path());
        let name = tmp.file_name().unwrap().to_str().unwrap();
        assert!(is_temp_name(name), "{name}");
        assert!(name.starts_with(&format!("{TEMP_PREFIX}{}-", std::process::id())));
        for other in [
            ".tmp-strata-",
            ".tmp-strata-12",
            ".tmp-strata-12-",
            ".tmp-strata--3",
            ".tmp-strata-12-3.jsonl",
            "x.tmp-strata-12-3",
            ".tmp-strata-a-3",
            "report.json.tmp",
            "AAPL_000001.jsonl",
        ] {
            assert!(!is_temp_name(other), "{other}");
        }
    }

    #[test]
    fn only_temps_no_running_process_writes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b");
        fs::create_dir_all(&deep).unwrap();
        // A process id no system hands out (above the largest pid_max), and a file old enough
        // where `/proc` is missing.
        let dead = deep.join(format!("{TEMP_PREFIX}4294967295-7"));
        fs::write(&dead, b"{\"half\":").unwrap();
        File::options()
            .write(true)
            .open(&dead)
            .unwrap()
            .set_modified(SystemTime::now() - 2 * STALE_TEMP_AGE)
            .unwrap();
        // This process's own temp may be in flight: kept.
        let own = deep.join(format!("{TEMP_PREFIX}{}-0", std::process::id()));
        fs::write(&own, b"in flight").unwrap();
        // Names of another shape are never touched.
        let user = dir.path().join("a/.tmp-strata-notes.txt");
        fs::write(&user, b"mine").unwrap();
        let legacy = deep.join("report.json.tmp");
        fs::write(&legacy, b"x").unwrap();

        assert!(is_stale_temp(&dead) && !is_stale_temp(&own) && !is_stale_temp(&user));
        assert_eq!(remove_stale_temps(dir.path()).unwrap(), vec![dead.clone()]);
        assert!(!dead.exists() && own.exists() && user.exists() && legacy.exists());
        assert!(remove_stale_temps(dir.path()).unwrap().is_empty());
        assert!(remove_stale_temps(&dir.path().join("missing"))
            .unwrap()
            .is_empty());
    }
}
