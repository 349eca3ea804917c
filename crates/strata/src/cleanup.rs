//! Quota cleanup that writes start (QUOTA-2): when a batch goes over a `soft_limit` or
//! `drop_oldest` quota, the writer keeps writing and tells its listeners
//! ([`strata_ingest::Writer::on_quota_cleanup`]); the archive that opened it then carries out the
//! lifecycle plan's deletions — no migration, no consolidation — on a thread of its own, one
//! cleanup at a time and at most one per `lifecycle.cleanup_interval_secs` (a request sooner is
//! left pending: the next one after the interval serves it, or [`Archive::finish_cleanup`] at the
//! end of a session), and takes what it deleted off the writer's quotas.
//!
//! The deletions go through the lifecycle's executor like those of `strata lifecycle run`:
//! journaled, audited, refused while another run holds `_lifecycle/lock` (the next request
//! tries again), and never of protected data — the plan never deletes a critical, held,
//! write-once or unapproved file. Besides the quotas' own deletions they include what retention
//! has already decided to delete, which the quotas count as freed; an automation rule's
//! deletions wait for a lifecycle run, on the rule's own schedule. Like every run, the executor
//! first finishes what a killed run began (a migration, say).

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use strata_catalog::FileManifest;
use strata_ingest::{CleanupRequest, Writer};

use crate::archive::Archive;
use crate::Result;

/// What one quota cleanup did ([`Archive::quota_cleanup`]).
#[derive(Debug, Clone, Default)]
pub struct QuotaCleanup {
    /// The deletions' run: what was deleted, what failed and why.
    pub report: strata_lifecycle::RunReport,
    /// The deleted files, as the catalog held them before.
    pub deleted: Vec<FileManifest>,
    /// Each quota that stays over its limit, and why (the rest of its scope is protected).
    pub shortfalls: Vec<String>,
}

impl QuotaCleanup {
    /// Bytes the deleted files held.
    pub fn bytes_freed(&self) -> u64 {
        self.deleted.iter().map(|m| m.size_bytes).sum()
    }

    /// One line: what was deleted and what stays over.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "quota cleanup deleted {} file(s), {} bytes",
            self.deleted.len(),
            self.bytes_freed()
        );
        if !self.report.held.is_empty() {
            line.push_str(&format!(
                "; {} kept by a hold placed after the plan was made",
                self.report.held.len()
            ));
        }
        if !self.report.failed.is_empty() {
            line.push_str(&format!("; {} failed", self.report.failed.len()));
        }
        if self.report.stopped {
            line.push_str("; stopped by a signal before the rest (the next run does it)");
        }
        for shortfall in &self.shortfalls {
            line.push_str("; ");
            line.push_str(shortfall);
        }
        line
    }
}

/// The quota cleanups writes started on one archive ([`Archive::cleanup_status`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanupStatus {
    /// A cleanup is running now.
    pub running: bool,
    /// A request came while one ran or sooner than the interval after the last, and no cleanup
    /// has served it yet: the next request after the interval does, or
    /// [`Archive::finish_cleanup`].
    pub pending: bool,
    /// Cleanups that have ended (each with its deletions or its error).
    pub finished: u64,
    /// Files they deleted.
    pub files_deleted: u64,
    /// Bytes they freed.
    pub bytes_freed: u64,
    /// The last one's summary ([`QuotaCleanup::summary`]) or error.
    pub last: Option<String>,
}

/// What the cleaner keeps under its lock.
#[derive(Debug, Default)]
pub(crate) struct State {
    status: CleanupStatus,
    /// When the last cleanup ended.
    last_end: Option<Instant>,
    /// A write asked for a cleanup since the last [`Cleaner::catch_up`].
    asked: bool,
}

/// The cleanups of one archive and its clones: one at a time, spaced by the interval.
#[derive(Debug, Default)]
pub(crate) struct Cleaner {
    state: Mutex<State>,
    idle: Condvar,
}

impl Cleaner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn status(&self) -> CleanupStatus {
        self.lock().status.clone()
    }

    /// Blocks until no cleanup runs or `timeout` passes (`Duration::MAX`: for as long as it
    /// takes); true when none runs.
    pub(crate) fn wait(&self, timeout: Duration) -> bool {
        let guard = self.lock();
        let running = |state: &mut State| state.status.running;
        let guard = match Instant::now().checked_add(timeout) {
            Some(_) => match self.idle.wait_timeout_while(guard, timeout, running) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            },
            None => match self.idle.wait_while(guard, running) {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            },
        };
        !guard.status.running
    }

    /// Starts a cleanup for `writer`'s `request` on its own thread, unless one runs or the last
    /// ended less than `interval` ago: then the request is left pending.
    pub(crate) fn start(
        self: &Arc<Self>,
        archive: &Archive,
        writer: &Writer,
        request: &CleanupRequest,
        interval: Duration,
    ) {
        {
            let mut guard = self.lock();
            let state = &mut *guard;
            state.asked = true;
            let status = &mut state.status;
            if status.running || state.last_end.is_some_and(|end| end.elapsed() < interval) {
                status.pending = true;
                return;
            }
            status.running = true;
            status.pending = false;
        }
        tracing::info!(target: "strata::quota", "starting the quota cleanup: {}", request.reasons.join("; "));
        let (cleaner, archive, for_thread) = (Arc::clone(self), archive.clone(), writer.clone());
        let spawned = std::thread::Builder::new()
            .name("strata-quota-cleanup".into())
            .spawn(move || cleaner.run(&archive, &for_thread));
        if let Err(e) = spawned {
            self.finish(
                writer,
                Err(crate::Error::Async(format!(
                    "the quota cleanup thread could not start: {e}"
                ))),
            );
        }
    }

    /// Waits for a running cleanup, then, if a write asked for one since the last call, runs
    /// one on this thread (it sees what the writer has sealed since).
    pub(crate) fn catch_up(&self, archive: &Archive, writer: &Writer) {
        let guard = self.lock();
        let mut guard = match self.idle.wait_while(guard, |s| s.status.running) {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        // (A pending request was asked for too.)
        if !guard.asked {
            return;
        }
        guard.asked = false;
        guard.status.running = true;
        guard.status.pending = false;
        drop(guard);
        self.run(archive, writer);
    }

    /// One cleanup (a panic in it is its error, never a cleanup left running for good).
    fn run(&self, archive: &Archive, writer: &Writer) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            archive.quota_cleanup(archive.clock())
        }))
        .unwrap_or_else(|payload| {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            Err(crate::Error::Async(format!(
                "the cleanup panicked: {message}"
            )))
        });
        self.finish(writer, outcome);
    }

    /// Records a cleanup's end, takes its deletions off `writer`'s quotas and wakes the waiters.
    fn finish(&self, writer: &Writer, outcome: Result<QuotaCleanup>) {
        let line = match &outcome {
            Ok(cleanup) => {
                let line = cleanup.summary();
                writer.release_quota_usage(&cleanup.deleted, &line);
                tracing::info!(target: "strata::quota", "{line}");
                line
            }
            Err(e) => {
                let line = format!("the quota cleanup failed: {e}");
                tracing::warn!(target: "strata::quota", "{line}");
                line
            }
        };
        let mut guard = self.lock();
        let state = &mut *guard;
        if let Ok(cleanup) = &outcome {
            state.status.files_deleted += cleanup.deleted.len() as u64;
            state.status.bytes_freed += cleanup.bytes_freed();
        }
        state.status.running = false;
        state.status.finished += 1;
        state.status.last = Some(line);
        state.last_end = Some(Instant::now());
        self.idle.notify_all();
    }
}
