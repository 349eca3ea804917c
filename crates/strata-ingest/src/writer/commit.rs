//! Group commit: fsyncing what was handed to the OS, publishing the durable watermark, waking
//! those who wait for it; the background thread that commits, seals aged segments and
//! checkpoints the report.

use super::*;

impl Writer {
    /// Hands every buffered byte to the OS, fsyncs what changed since the last commit (unless the
    /// mode is `none`), and publishes the durable watermark. Returns the watermark.
    pub(super) fn commit(&self) -> Result<Ticket> {
        let inner = &*self.inner;
        let _serial = lock(&inner.commit_lock);
        if let Some(why) = lock(&inner.failed_sync).clone() {
            // An fsync failed: the kernel may have dropped those bytes and a later fsync of the
            // same file can report success, so no watermark may move again in this session.
            return Err(Error::SyncFailed { reason: why });
        }
        let (watermark, files, staged, dirs) = {
            let mut st = lock(&inner.state);
            let mut files = std::mem::take(&mut st.pending_files);
            for segment in st.segments.values_mut() {
                segment.drain()?;
                if segment.dirty {
                    if let Some(file) = &segment.file {
                        segment.dirty = false;
                        files.push(Arc::clone(file));
                    }
                }
            }
            // A staged import's segments are synced along (they count for no ticket): their
            // bytes then reach the disk while the import runs, not all at its commit. Their
            // trouble is the import's (its commit refuses), not the live appends'.
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
        };
        if inner.settings.durability.mode != DurabilityMode::None {
            let synced = files
                .iter()
                .chain(&staged)
                .try_for_each(|file| file.sync_data().map_err(io_err(&inner.hot)))
                .and_then(|()| dirs.iter().try_for_each(|dir| crate::seal::sync_dir(dir)));
            if let Err(e) = synced {
                let message = e.to_string();
                lock(&inner.failed_sync).get_or_insert(message.clone());
                for listener in lock(&inner.durable_listeners).iter() {
                    listener(self.durable_watermark(), Some(&message));
                }
                return Err(e);
            }
        }
        if inner.durable.fetch_max(watermark, Ordering::AcqRel) < watermark {
            {
                let _g = lock(&inner.durable_mutex);
                inner.durable_changed.notify_all();
            }
            for listener in lock(&inner.durable_listeners).iter() {
                listener(watermark, None);
            }
        }
        Ok(watermark)
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

    /// Calls `listener` with the new watermark each time the durable watermark advances, and
    /// with the watermark and the error when a commit's fsync fails (after which nothing more
    /// becomes durable in this session, see [`Error::SyncFailed`]). It runs on the committing
    /// thread, under a lock: it must return at once (send on a channel, wake a task). It is
    /// called first with the watermark as it is now. This is how an async handle awaits
    /// durability without a blocked thread per waiter.
    pub fn on_durable(&self, listener: impl Fn(Ticket, Option<&str>) + Send + Sync + 'static) {
        let mut listeners = lock(&self.inner.durable_listeners);
        let failed = lock(&self.inner.failed_sync).clone();
        listener(self.durable_watermark(), failed.as_deref());
        listeners.push(Box::new(listener));
    }

    /// Blocks until `ticket` is durable or `timeout` passes; true when durable.
    pub fn wait_durable(&self, ticket: Ticket, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut guard = lock(&self.inner.durable_mutex);
        while self.durable_watermark() < ticket {
            let now = Instant::now();
            if now >= deadline {
                return false;
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
        true
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
    }
}
