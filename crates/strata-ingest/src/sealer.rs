//! The writer's background sealer: one thread per writer seals the segments handed to it, so the
//! appending threads never hash, compress or register a file.
//!
//! - Jobs are sealed in the order they were handed over. The queue holds only paths and
//!   statistics (the segment's buffer is freed first), so a sealer that falls behind costs
//!   little memory; its backlog is visible through [`Sealer::backlog`].
//! - A seal that fails is logged, listed in the session report (`seal_failures`) and returned
//!   once by the next [`Sealer::wait_idle`] or [`Sealer::finish`]. Nothing is lost by a failed
//!   seal: its plain segment was fsynced by the writer's commit and stays in `hot/`, where
//!   recovery seals it on the next open. A seal that got as far as its sidecar counts as sealed
//!   even if a later step failed ([`Error::SealUnfinished`], also listed); recovery finishes it.
//! - A panic while sealing is caught and reported like an error, so waiting never hangs.
//! - If the thread cannot take a job (it is gone), the job is sealed on the calling thread.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::seal::{seal_file, SealContext, SealJob, SealSettings, Sealed};
use crate::{io_err, lock, Error, Result};
use strata_catalog::Catalog;

/// What sealing needs, owned so the thread can outlive a borrow.
struct Context {
    root: PathBuf,
    settings: SealSettings,
    catalog: Arc<Catalog>,
    session_id: String,
}

impl Context {
    fn seal(&self, job: SealJob) -> Result<Sealed> {
        let ctx = SealContext::new(&self.root, &self.settings, &self.catalog, &self.session_id);
        seal_file(&ctx, job)
    }
}

/// Counters of the sealer, for the session report.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    queued: u64,
    done: u64,
    /// Files sealed (each verified against what was written).
    pub files_sealed: u64,
    /// Bytes of sealed files as stored.
    pub bytes_sealed: u64,
    /// Every failure, as text.
    pub failures: Vec<String>,
    /// Failures not yet returned to a caller.
    unreported: Vec<Error>,
}

struct Shared {
    tally: Mutex<Tally>,
    idle: Condvar,
    abort: AtomicBool,
    context: Context,
}

impl Shared {
    fn tally(&self) -> MutexGuard<'_, Tally> {
        lock(&self.tally)
    }

    fn run(&self, job: SealJob) {
        let path = job.path.clone();
        let result =
            catch_unwind(AssertUnwindSafe(|| self.context.seal(job))).unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(io_err(&path)(std::io::Error::other(format!(
                    "sealing panicked: {message}"
                ))))
            });
        let mut tally = self.tally();
        match result {
            Ok(sealed) => {
                tally.files_sealed += 1;
                tally.bytes_sealed += sealed.manifest.size_bytes;
                if !sealed.unfinished.is_empty() {
                    let e = Error::SealUnfinished {
                        path: sealed.path,
                        steps: sealed.unfinished,
                    };
                    tracing::error!(target: "strata::ingest", "{e}");
                    tally.failures.push(e.to_string());
                    tally.unreported.push(e);
                }
            }
            Err(e) => {
                tracing::error!(target: "strata::ingest", "sealing {} failed (the plain segment stays for recovery): {e}", path.display());
                tally.failures.push(e.to_string());
                tally.unreported.push(e);
            }
        }
        tally.done += 1;
        self.idle.notify_all();
    }
}

/// One writer's background sealer.
pub(crate) struct Sealer {
    tx: Mutex<Option<Sender<SealJob>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    shared: Arc<Shared>,
}

impl Sealer {
    /// Starts the sealing thread.
    pub fn start(
        root: PathBuf,
        settings: SealSettings,
        catalog: Arc<Catalog>,
        session_id: String,
    ) -> Result<Sealer> {
        let (tx, rx) = channel::<SealJob>();
        let shared = Arc::new(Shared {
            tally: Mutex::new(Tally::default()),
            idle: Condvar::new(),
            abort: AtomicBool::new(false),
            context: Context {
                root,
                settings,
                catalog,
                session_id,
            },
        });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("strata-sealer".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    if worker.abort.load(Ordering::Acquire) {
                        // Abandoned: leave the rest unsealed, as a crash would.
                        break;
                    }
                    worker.run(job);
                }
            })
            .map_err(io_err(&shared.context.root))?;
        Ok(Sealer {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            shared,
        })
    }

    /// Hands a job to the thread (or seals it here if the thread is gone). After
    /// [`Sealer::abort`] jobs are dropped unsealed, as a crash would leave them.
    pub fn submit(&self, job: SealJob) {
        if self.shared.abort.load(Ordering::Acquire) {
            return;
        }
        self.shared.tally().queued += 1;
        let refused = match &*lock(&self.tx) {
            Some(tx) => tx.send(job).err().map(|e| e.0),
            None => Some(job),
        };
        if let Some(job) = refused {
            self.shared.run(job);
        }
    }

    /// Jobs handed over and not yet finished.
    pub fn backlog(&self) -> u64 {
        let tally = self.shared.tally();
        tally.queued - tally.done
    }

    /// Runs `f` on the counters.
    pub fn with_tally<R>(&self, f: impl FnOnce(&Tally) -> R) -> R {
        f(&self.shared.tally())
    }

    /// Blocks until every job handed over so far is finished; returns the failures not yet
    /// returned, as one [`Error::Seal`].
    pub fn wait_idle(&self) -> Result<()> {
        let mut tally = self.shared.tally();
        while tally.done < tally.queued {
            tally = self
                .shared
                .idle
                .wait(tally)
                .unwrap_or_else(|p| p.into_inner());
        }
        let mut failures = std::mem::take(&mut tally.unreported);
        if failures.is_empty() {
            Ok(())
        } else {
            let count = failures.len();
            Err(Error::Seal {
                count,
                first: Box::new(failures.swap_remove(0)),
            })
        }
    }

    /// Seals everything handed over, stops the thread, and returns as [`Sealer::wait_idle`].
    /// Jobs submitted afterwards are sealed on the calling thread.
    pub fn finish(&self) -> Result<()> {
        self.stop_thread();
        self.wait_idle()
    }

    /// Closes the queue and waits for the thread to end (it finishes the queue first, unless
    /// aborted).
    fn stop_thread(&self) {
        drop(lock(&self.tx).take());
        if let Some(thread) = lock(&self.thread).take() {
            let _ = thread.join();
        }
    }

    /// Stops after the job in hand, leaving the rest unsealed (what a crash does; for tests).
    /// The jobs left count as finished, so nothing waits for them.
    pub fn abort(&self) {
        self.shared.abort.store(true, Ordering::Release);
        self.stop_thread();
        let mut tally = self.shared.tally();
        tally.done = tally.queued;
        self.shared.idle.notify_all();
    }
}

impl Drop for Sealer {
    fn drop(&mut self) {
        // Dropped without close: finish what was handed over (like a BufWriter's flush), so
        // the thread never works on files a later open is recovering.
        self.stop_thread();
    }
}
