//! Quota cleanup that writes start (QUOTA-2): when a batch goes over a `soft_limit` or
//! `drop_oldest` quota, the writer keeps writing and tells its listeners
//! ([`strata_ingest::Writer::on_quota_cleanup`]); the archive that opened it then carries out the
//! lifecycle plan's deletions — those and no migration — on a thread of its own, one
//! cleanup at a time and at most one per `lifecycle.cleanup_interval_secs`, and takes what it
//! deleted off the writer's quotas.
//!
//! The deletions go through the lifecycle's executor like those of `strata lifecycle run`:
//! journaled, audited, refused while another run holds `_lifecycle/lock` (the next request
//! tries again), and never of protected data — the plan never deletes a critical, held,
//! write-once or unapproved file. Besides the quotas' own deletions they include what retention
//! and the automation rules have already decided to delete, which the quotas count as freed.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use strata_catalog::FileManifest;
use strata_ingest::{CleanupRequest, Writer};
use strata_model::Timestamp;

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
        if !self.report.failed.is_empty() {
            line.push_str(&format!("; {} failed", self.report.failed.len()));
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
    /// Cleanups that have ended (each with its deletions or its error).
    pub finished: u64,
    /// Files they deleted.
    pub files_deleted: u64,
    /// Bytes they freed.
    pub bytes_freed: u64,
    /// The last one's summary ([`QuotaCleanup::summary`]) or error.
    pub last: Option<String>,
}

/// The cleanups of one archive and its clones: one at a time, spaced by the interval.
#[derive(Debug, Default)]
pub(crate) struct Cleaner {
    state: Mutex<(CleanupStatus, Option<Instant>)>,
    idle: Condvar,
}

impl Cleaner {
    fn lock(&self) -> std::sync::MutexGuard<'_, (CleanupStatus, Option<Instant>)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn status(&self) -> CleanupStatus {
        self.lock().0.clone()
    }

    /// Blocks until no cleanup runs or `timeout` passes (`Duration::MAX`: for as long as it
    /// takes); true when none runs.
    pub(crate) fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let mut guard = self.lock();
        while guard.0.running {
            let now = Instant::now();
            let left = match deadline {
                Some(deadline) if now >= deadline => return false,
                Some(deadline) => deadline - now,
                None => Duration::from_secs(3600),
            };
            guard = match self.idle.wait_timeout(guard, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    /// Starts a cleanup for `writer`'s `request` on its own thread, unless one runs or the last
    /// ended less than `interval` ago.
    pub(crate) fn start(
        self: &Arc<Self>,
        archive: &Archive,
        writer: &Writer,
        request: &CleanupRequest,
        interval: Duration,
    ) {
        {
            let mut guard = self.lock();
            let (status, last_end) = &mut *guard;
            if status.running || last_end.is_some_and(|end| end.elapsed() < interval) {
                return;
            }
            status.running = true;
        }
        tracing::info!(target: "strata::quota", "starting the quota cleanup: {}", request.reasons.join("; "));
        let (cleaner, archive, for_thread) = (Arc::clone(self), archive.clone(), writer.clone());
        let spawned = std::thread::Builder::new()
            .name("strata-quota-cleanup".into())
            .spawn(move || {
                let outcome = archive.quota_cleanup(Timestamp::now());
                cleaner.finish(&for_thread, outcome);
            });
        if let Err(e) = spawned {
            self.finish(
                writer,
                Err(crate::Error::Async(format!(
                    "the quota cleanup thread could not start: {e}"
                ))),
            );
        }
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
        let (status, last_end) = &mut *guard;
        if let Ok(cleanup) = &outcome {
            status.files_deleted += cleanup.deleted.len() as u64;
            status.bytes_freed += cleanup.bytes_freed();
        }
        status.running = false;
        status.finished += 1;
        status.last = Some(line);
        *last_end = Some(Instant::now());
        self.idle.notify_all();
    }
}
