//! One writer per archive (INGEST-7).
//!
//! A writer holds an exclusive advisory lock (`flock`) on `_catalog/writer.lock` for its whole
//! life. The lock belongs to the open file, so it ends with the writer — on `close()`, on drop,
//! or when the process dies, SIGKILL included — and a crashed writer never leaves a stale lock.
//! A second writer, in another process or in the same one, fails at open with
//! [`Error::Locked`] naming the holder (pid, session, since), or waits for
//! it when asked to. Readers take no lock.
//!
//! The file's content is only a label for people and error messages (the holder's pid, session
//! and start time, as JSON); the lock itself is the kernel's.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::{io_err, Error, Result};

/// The lock file, relative to the archive root.
pub const LOCK_FILE: &str = "_catalog/writer.lock";

/// Who holds (or last held) the writer lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// The holder's process id.
    pub pid: u32,
    /// Its session id.
    pub session: String,
    /// When it took the lock, RFC 3339.
    pub since: String,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {}, session {}, since {}",
            self.pid, self.session, self.since
        )
    }
}

/// The archive's writer lock, held until dropped.
#[derive(Debug)]
pub struct WriterLock {
    file: File,
    path: PathBuf,
}

impl WriterLock {
    /// Takes the writer lock of the archive at `root` for `session`. When another writer holds
    /// it, retries until `wait` has passed, then fails with [`Error::Locked`].
    pub fn acquire(root: &Path, session: &str, wait: Duration) -> Result<WriterLock> {
        let path = root.join(LOCK_FILE);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        refuse_symlink(&path)?;
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path))?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        return Err(Error::Locked {
                            root: root.to_path_buf(),
                            holder: wait_for_label(&mut file)
                                .map_or_else(|| "holder unknown".to_string(), |h| h.to_string()),
                            waited: wait,
                        });
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
            }
        }
        let holder = LockHolder {
            pid: std::process::id(),
            session: session.to_string(),
            since: chrono::Utc::now().to_rfc3339(),
        };
        let label = serde_json::to_vec(&holder).map_err(|e| Error::Config(e.to_string()))?;
        file.set_len(0).map_err(io_err(&path))?;
        file.seek(SeekFrom::Start(0)).map_err(io_err(&path))?;
        file.write_all(&label).map_err(io_err(&path))?;
        Ok(WriterLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Who holds the lock of the archive at `root` now, if anyone does (a reader's question:
    /// opens the file read-only and takes no lock that would stop a writer).
    pub fn holder(root: &Path) -> Option<LockHolder> {
        let path = root.join(LOCK_FILE);
        let mut file = File::open(&path).ok()?;
        // A free lock can be taken (shared, then dropped at once): then nobody holds it.
        match file.try_lock_shared() {
            Ok(()) => {
                let _ = file.unlock();
                None
            }
            Err(_) => read_holder(&mut file),
        }
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // Closing the file releases the lock; unlocking first makes it explicit.
        let _ = self.file.unlock();
    }
}

/// The holder's label, giving a holder that has just taken the lock a moment to write it.
fn wait_for_label(file: &mut File) -> Option<LockHolder> {
    for _ in 0..50 {
        if let Some(holder) = read_holder(file) {
            return Some(holder);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

fn read_holder(file: &mut File) -> Option<LockHolder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Refuses a symlink at `path` (the archive never follows links out of its root).
pub(crate) fn refuse_symlink(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(Error::Symlink {
            path: path.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_first_and_a_released_lock_can_be_taken() {
        let dir = tempfile::tempdir().unwrap();
        let first = WriterLock::acquire(dir.path(), "s1", Duration::ZERO).unwrap();
        let holder = WriterLock::holder(dir.path()).unwrap();
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.session, "s1");
        let err = WriterLock::acquire(dir.path(), "s2", Duration::ZERO).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Locked { .. }), "{text}");
        assert!(
            text.contains("session s1") && text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        assert_eq!(WriterLock::holder(dir.path()), None);
        let second = WriterLock::acquire(dir.path(), "s2", Duration::ZERO).unwrap();
        assert_eq!(WriterLock::holder(dir.path()).unwrap().session, "s2");
        drop(second);
    }

    #[test]
    fn a_waiting_writer_gets_the_lock_when_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = WriterLock::acquire(dir.path(), "s1", Duration::ZERO).unwrap();
        let root = dir.path().to_path_buf();
        let waiter = std::thread::spawn(move || {
            WriterLock::acquire(&root, "s2", Duration::from_secs(20)).map(|_| ())
        });
        std::thread::sleep(Duration::from_millis(200));
        drop(first);
        waiter.join().unwrap().unwrap();
    }
}
