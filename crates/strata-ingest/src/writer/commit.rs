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
        let taken = {
            let mut st = lock(&inner.state);
            let mut files = std::mem::take(&mut st.pending_files);
            // Bytes that could not be handed to the OS may be partly in the file: the files
            // taken above (and those drained before the failure) are not synced now, so nothing
            // may be published after this — the writer fails, as on a failed fsync.
            let mut drained = Ok(());
            for segment in st.segments.values_mut() {
                let result = if inner.fault_next_drain.swap(false, Ordering::AcqRel) {
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
                let mut staged = Vec::new();
                if let Some(staging) = st.staging.as_mut() {
                    for segment in staging.segments.values_mut() {
                        match segment.drain() {
                            Ok(()) if segment.dirty => {
                                if let Some(file) = &segment.file {
                                    segment.dirty = false;
                                    staged.push(Arc::clone(file));
                                }
                            }
                            Ok(()) => {}
                            Err(e) => {
                                staging.failed.get_or_insert(e.to_string());
                            }
                        }
                    }
                }
                let mut dirs = std::mem::take(&mut st.pending_dirs);
                dirs.sort();
                dirs.dedup();
                (st.last_ticket, files, staged, dirs)
            })
        };
        let fail = |e: Error| self.set_failed(Failure::Sync(e.to_string()));
        let (watermark, files, staged, dirs) = taken.map_err(fail)?;
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

    /// Puts the writer in its failed state (the first failure is kept: every later commit
    /// returns its error) and, if it was not failed yet, wakes every waiter and tells every
    /// listener. Called outside the state and commit locks (listeners may call the writer).
    pub(super) fn fail(&self, failure: Failure) {
        let (failure, first) = self.set_failed(failure);
        if first {
            self.announce(&failure);
        }
    }

    /// Sets the failed state unless it is set: the failure kept, and whether it is `failure`.
    fn set_failed(&self, failure: Failure) -> (Failure, bool) {
        let mut failed = lock(&self.inner.failed);
        match &*failed {
            Some(kept) => (kept.clone(), false),
            None => {
                tracing::error!(target: "strata::ingest", "the writer failed: {}", failure.message());
                *failed = Some(failure.clone());
                (failure, true)
            }
        }
    }

    /// [`Writer::fail`] when `e` is a caught panic.
    pub(super) fn fail_if_panicked(&self, e: &Error) {
        if let Error::Panicked { what, message } = e {
            self.fail(Failure::Panic {
                what: what.clone(),
                message: message.clone(),
            });
        }
    }

    /// Wakes the threads waiting for durability and tells the listeners of `failure`.
    fn announce(&self, failure: &Failure) {
        {
            let _g = lock(&self.inner.durable_mutex);
            self.inner.durable_changed.notify_all();
        }
        // A listener that panics on the failure itself has nothing left to fail (logged).
        let _ = self.call_listeners(self.durable_watermark(), Some(&failure.message()));
    }

    /// Calls every listener with `watermark` (and the failure, if any) on a copy of the list,
    /// outside every lock; a listener's panic is caught (the others are still called): the first
    /// panic's message is returned.
    fn call_listeners(&self, watermark: Ticket, failed: Option<&str>) -> Option<String> {
        let listeners: Vec<DurableListener> = lock(&self.inner.durable_listeners).clone();
        let mut panicked = None;
        for listener in &listeners {
            let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                listener(watermark, failed)
            }));
            if let Err(payload) = called {
                let message = panic_message(&*payload);
                tracing::error!(target: "strata::ingest", "a durability listener panicked: {message}");
                panicked.get_or_insert(message);
            }
        }
        panicked
    }

    /// Makes everything accepted so far durable (per the mode) and returns the durable watermark:
    /// every event whose ticket is at most the watermark survives a crash from now on.
    pub fn flush(&self) -> Result<Ticket> {
        self.commit()
    }

    /// The highest ticket known durable.
    pub fn durable_watermark(&self) -> Ticket {
        self.inner.durable.load(Ordering::Acquire)
    }

    /// The error of the writer's failed state ([`Error::SyncFailed`] or [`Error::Panicked`]),
    /// if it failed: nothing more becomes durable in this session.
    pub fn failure(&self) -> Option<Error> {
        lock(&self.inner.failed).as_ref().map(Failure::error)
    }

    /// Calls `listener` with the new watermark each time the durable watermark advances, and
    /// with the watermark and the failure when the writer fails (a commit's fsync, or a panic of
    /// the seal schedule or of a listener; after that nothing more becomes durable in this
    /// session, see [`Writer::failure`]). It is called first with the watermark (and failure) as
    /// they are now. It runs on the committing thread but outside the writer's locks, so it may
    /// call the writer; it should return soon (send on a channel, wake a task). Calls from
    /// concurrent commits can overlap and arrive out of order: keep the highest watermark. A
    /// listener that panics puts the writer in its failed state ([`Error::Panicked`]). This is
    /// how an async handle awaits durability without a blocked thread per waiter.
    pub fn on_durable(&self, listener: impl Fn(Ticket, Option<&str>) + Send + Sync + 'static) {
        let listener: DurableListener = Arc::new(listener);
        // Registered before its first call, so no advance between the two is missed.
        lock(&self.inner.durable_listeners).push(Arc::clone(&listener));
        let failed = lock(&self.inner.failed).as_ref().map(Failure::message);
        let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            listener(self.durable_watermark(), failed.as_deref())
        }));
        if let Err(payload) = called {
            self.fail(Failure::Panic {
                what: "a durability listener".into(),
                message: panic_message(&*payload),
            });
        }
    }

    /// Blocks until `ticket` is durable or `timeout` passes; true when durable. False at once
    /// when the writer is in its failed state ([`Writer::wait_durable_checked`] says why).
    pub fn wait_durable(&self, ticket: Ticket, timeout: Duration) -> bool {
        self.wait_durable_checked(ticket, timeout).unwrap_or(false)
    }

    /// Blocks until `ticket` is durable (`Ok(true)`), `timeout` passes (`Ok(false)`) or the
    /// writer fails first: then its error ([`Error::SyncFailed`], [`Error::Panicked`]), at once.
    pub fn wait_durable_checked(&self, ticket: Ticket, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        let mut guard = lock(&self.inner.durable_mutex);
        while self.durable_watermark() < ticket {
            if let Some(e) = self.failure() {
                return Err(e);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            guard = match self
                .inner
                .durable_changed
                .wait_timeout(guard, deadline - now)
            {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        Ok(true)
    }

    /// Makes the next commit's hand-over of buffered bytes to the OS fail as a refused write
    /// would (a fault seam for tests of the failed state; no effect on anything else).
    #[doc(hidden)]
    pub fn inject_commit_drain_failure(&self) {
        self.inner.fault_next_drain.store(true, Ordering::Release);
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
