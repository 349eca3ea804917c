//! Group commit: fsyncing what was handed to the OS, publishing the durable watermark, waking
//! those who wait for it; the background thread that commits, seals aged segments and
//! checkpoints the report.

use super::*;

impl Writer {
    /// Hands every buffered byte to the OS, fsyncs what changed since the last commit (unless the
    /// mode is `none`), and publishes the durable watermark. Returns the watermark. Durability
    /// listeners are called after, outside every lock.
    pub(super) fn commit(&self) -> Result<Ticket> {
        let advanced = {
            let _serial = lock(&self.inner.commit_lock);
            self.commit_serial()
        };
        match advanced {
            Ok((watermark, false)) => Ok(watermark),
            Ok((watermark, true)) => match self.call_listeners(watermark, None) {
                None => Ok(watermark),
                Some(message) => {
                    let failure = Failure::Panic {
                        what: "a durability listener".into(),
                        message,
                    };
                    let e = failure.error();
                    self.fail(failure);
                    Err(e)
                }
            },
            Err((failure, first)) => {
                if first {
                    self.announce(&failure);
                }
                Err(failure.error())
            }
        }
    }

    /// The commit itself, under the commit lock: the watermark, and whether it advanced. A
    /// failure is returned with whether it is the writer's first, to be announced once the lock
    /// is released (the failed state is set here, before any later commit can run).
    fn commit_serial(&self) -> std::result::Result<(Ticket, bool), (Failure, bool)> {
        let inner = &*self.inner;
        if let Some(failure) = lock(&inner.failed).clone() {
            // An fsync failed: the kernel may have dropped those bytes and a later fsync of the
            // same file can report success, so no watermark may move again in this session.
            return Err((failure, false));
        }
        let taken = lock(&inner.state).take_for_commit(&inner.fault_next_drain);
        let fail = |e: Error| self.set_failed(Failure::Sync(e.to_string()));
        let ToSync {
            watermark,
            files,
            staged,
            dirs,
        } = taken.map_err(fail)?;
        if inner.settings.durability.mode != DurabilityMode::None {
            files
                .iter()
                .chain(&staged)
                .try_for_each(|file| file.sync_data().map_err(io_err(&inner.hot)))
                .and_then(|()| dirs.iter().try_for_each(|dir| crate::seal::sync_dir(dir)))
                .map_err(fail)?;
        }
        let advanced = inner.durable.fetch_max(watermark, Ordering::AcqRel) < watermark;
        if advanced {
            let _g = lock(&inner.durable_mutex);
            inner.durable_changed.notify_all();
        }
        Ok((watermark, advanced))
    }

    /// Starts the background thread: it commits on the group-commit interval (unless every batch
    /// commits itself), seals aged segments and checkpoints the session report.
    pub(super) fn start_committer(&self) -> Result<()> {
        let inner = &self.inner;
        let commits = inner.settings.durability.mode != DurabilityMode::PerBatch;
        let interval = if commits {
            Duration::from_millis(inner.settings.durability.group_commit_interval_ms.max(1))
        } else {
            Duration::from_secs(1)
        };
        let age_check = inner
            .seal_schedule
            .check_every()
            .min(Duration::from_secs(1));
        let weak = Arc::downgrade(inner);
        let wake = Arc::clone(&inner.wake);
        let handle = std::thread::Builder::new()
            .name("strata-group-commit".into())
            .spawn(move || committer_loop(&wake, weak, interval, age_check, commits))
            .map_err(io_err(&inner.root))?;
        *lock(&inner.committer) = Some(handle);
        Ok(())
    }

    /// Makes everything accepted so far durable (per the mode) and returns the durable watermark:
    /// every event whose ticket is at most the watermark survives a crash from now on.
    pub fn flush(&self) -> Result<Ticket> {
        self.commit()
    }

    /// Makes the next commit's hand-over of buffered bytes to the OS fail as a refused write
    /// would (a fault seam for tests of the failed state; no effect on anything else).
    #[doc(hidden)]
    pub fn inject_commit_drain_failure(&self) {
        self.inner.fault_next_drain.store(true, Ordering::Release);
    }
}

/// What a commit fsyncs, taken under the state lock: the watermark it publishes once they are
/// synced, the live files, a staged import's files, and the folders whose entries changed.
struct ToSync {
    watermark: Ticket,
    files: Vec<Arc<File>>,
    staged: Vec<Arc<File>>,
    dirs: Vec<PathBuf>,
}

impl State {
    /// Hands every open segment's buffered bytes to the OS and takes what the commit must fsync
    /// (files marked dirty since the last commit, and those waiting for it). `fault` is the
    /// injected drain failure ([`Writer::inject_commit_drain_failure`]).
    fn take_for_commit(&mut self, fault: &AtomicBool) -> Result<ToSync> {
        let mut files = std::mem::take(&mut self.pending_files);
        // Bytes that could not be handed to the OS may be partly in the file: the files
        // taken above (and those drained before the failure) are not synced now, so nothing
        // may be published after this — the writer fails, as on a failed fsync.
        let mut drained = Ok(());
        for segment in self.segments.values_mut() {
            let result = if fault.swap(false, Ordering::AcqRel) {
                Err(io_err(&segment.path)(std::io::Error::other(
                    "injected fault: the write was refused",
                )))
            } else {
                segment.drain()
            };
            if let Err(e) = result {
                drained = Err(e);
                break;
            }
            if segment.dirty {
                if let Some(file) = &segment.file {
                    segment.dirty = false;
                    files.push(Arc::clone(file));
                }
            }
        }
        drained.map(|()| {
            // A staged import's segments are synced along (they count for no ticket):
            // their bytes then reach the disk while the import runs, not all at its commit.
            // Their trouble is the import's (its commit refuses), not the live appends'.
            let staged = match self.staging.as_mut() {
                Some(staging) => staging.drain_for_commit(),
                None => Vec::new(),
            };
            let mut dirs = std::mem::take(&mut self.pending_dirs);
            dirs.sort();
            dirs.dedup();
            ToSync {
                watermark: self.last_ticket,
                files,
                staged,
                dirs,
            }
        })
    }
}

/// The background thread's alarm clock: it sleeps on this, holding no reference to the writer,
/// so a writer dropped without `close()` is gone at once (not kept alive by a sleeping thread
/// that would go on committing, sealing and checkpointing beside a newer writer).
#[derive(Default)]
pub(super) struct Wake {
    stop: Mutex<bool>,
    cv: Condvar,
}

impl Wake {
    pub(super) fn stop(&self) {
        *lock(&self.stop) = true;
        self.cv.notify_all();
    }

    /// Sleeps up to `interval`; false once stopped.
    pub(super) fn sleep(&self, interval: Duration) -> bool {
        let guard = lock(&self.stop);
        let guard = if *guard {
            guard
        } else {
            match self.cv.wait_timeout(guard, interval) {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            }
        };
        !*guard
    }
}

pub(super) fn committer_loop(
    wake: &Wake,
    weak: Weak<Inner>,
    interval: Duration,
    age_check: Duration,
    commits: bool,
) {
    let mut last_age_check = Instant::now();
    let mut last_checkpoint = Instant::now();
    while wake.sleep(interval) {
        // Holds the writer only while working.
        let Some(inner) = weak.upgrade() else { return };
        if inner.closed.load(Ordering::Acquire) {
            return;
        }
        let writer = Writer { inner };
        // The caller's code this runs (schedule, listeners) has its panics caught where it is
        // called; anything else that panics here fails the writer instead of ending the thread
        // silently (waiters then get the error, not a wait without end).
        let turn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if commits {
                if let Err(e) = writer.commit() {
                    tracing::error!(target: "strata::ingest", "group commit failed: {e}");
                }
            }
            if last_age_check.elapsed() >= age_check {
                last_age_check = Instant::now();
                if let Err(e) = writer.seal_aged() {
                    tracing::error!(target: "strata::ingest", "sealing aged segments failed: {e}");
                }
            }
            if last_checkpoint.elapsed() >= Duration::from_secs(SessionReport::CHECKPOINT_SECS) {
                last_checkpoint = Instant::now();
                if let Err(e) = writer.checkpoint() {
                    tracing::error!(target: "strata::ingest", "checkpointing the session report failed: {e}");
                }
            }
        }));
        if let Err(payload) = turn {
            writer.fail(Failure::Panic {
                what: "the group-commit thread".into(),
                message: panic_message(&*payload),
            });
        }
    }
}
