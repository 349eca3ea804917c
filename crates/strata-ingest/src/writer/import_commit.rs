//! Committing a staged import (see [`crate::imports`] for the steps and what a crash at each one
//! leaves): its files and folders reach the disk, the ledger's commit record is written, its
//! counts join the session report, and its files move into `hot/` to be sealed.

use super::*;

impl Writer {
    /// Commits the import `id`: its staged events become stored, exactly once (see
    /// [`crate::imports`] for the steps and what a crash at each one leaves). When `key` turns
    /// out to be committed already (an input whose key was not known at
    /// [`Writer::begin_import`]), the staged copy is discarded instead.
    pub fn commit_import(
        &self,
        id: ImportId,
        key: &ImportKey,
        tally: ImportTally,
    ) -> Result<ImportEnd> {
        let digest = key.digest();
        let mut ledger = lock(&self.inner.imports);
        let mut staging = lock(&self.inner.state).take_staging(id)?;
        if let Some(done) = ledger.committed(&digest) {
            let done = done.clone();
            self.discard_staging(&mut ledger, staging, "the input was imported already")?;
            return Ok(ImportEnd::AlreadyImported(done));
        }
        // 1. Every staged byte and folder reaches the disk.
        if let Err(e) = self.make_staged_durable(&mut staging) {
            let _ = std::fs::remove_dir_all(&staging.dir);
            let _ = ledger.append(
                &self.inner.root,
                LedgerRecord::Abort {
                    id: staging.name,
                    at: chrono::Utc::now().to_rfc3339(),
                    reason: e.to_string(),
                },
            );
            return Err(e);
        }
        // 2. The commit record: from here on the import has happened.
        let files: Vec<String> = staging.jobs.iter().map(|j| j.rel.clone()).collect();
        let record = self.commit_record(&mut staging, key, digest, tally, &files);
        ledger.append(&self.inner.root, record)?;
        drop(ledger);
        let Staging {
            name,
            dir,
            jobs,
            counts,
            ..
        } = staging;
        let events = counts.events;
        counts.add_to(&mut lock(&self.inner.state).report);
        // 3. Into `hot/`, then sealed as usual. The import has happened whatever this step
        //    does: if it fails, the next open finishes it (and seals the files), and the
        //    failure is reported with the seal failures.
        let unfinished = self.publish_import(&name, &dir, &files, jobs);
        Ok(ImportEnd::Committed {
            id: name,
            files,
            events,
            unfinished,
        })
    }

    /// Step 1 of a commit: every staged byte and folder reaches the disk, and the files can
    /// reach their places. An error refuses the commit (the import is then rolled back).
    fn make_staged_durable(&self, staging: &mut Staging) -> Result<()> {
        let synced = staging.sync_all();
        // A segment that could not be written or synced while the import ran (a new handle's
        // fsync may not report an earlier failure again) refuses the commit, as does any failed
        // fsync of this writer.
        let failed = staging
            .failed
            .take()
            .map(|reason| Error::SyncFailed { reason })
            .or_else(|| self.failure());
        let synced = synced.and_then(|()| match failed {
            Some(e) => Err(e),
            None => Ok(()),
        });
        // The files must be able to reach their places: a symlink on the way into `hot/` (which
        // strata never follows) would leave a committed import nowhere to go.
        synced.and_then(|()| {
            staging.jobs.iter().try_for_each(|job| {
                crate::imports::refuse_symlinks_on_the_way(
                    &self.inner.root,
                    &self.inner.root.join(&job.rel),
                )
            })
        })
    }

    /// Step 2 of a commit: the ledger's commit record of `staging` (its input is taken).
    fn commit_record(
        &self,
        staging: &mut Staging,
        key: &ImportKey,
        digest: String,
        tally: ImportTally,
        files: &[String],
    ) -> LedgerRecord {
        LedgerRecord::Commit {
            id: staging.name.clone(),
            key: digest,
            content_sha256: key.content_sha256.clone(),
            settings: key.settings.clone(),
            input: std::mem::take(&mut staging.input),
            session: self.inner.session_id.clone(),
            at: chrono::Utc::now().to_rfc3339(),
            events: staging.counts.events,
            rows: tally.rows,
            rejected: tally.rejected,
            note: tally.note,
            files: files.to_vec(),
        }
    }

    /// Step 3 of a commit: moves the committed import's folder into `hot/` and hands its files to
    /// the sealer. When that fails the import stays committed (the next open finishes it): the
    /// note saying so is returned and added to the session report.
    fn publish_import(
        &self,
        name: &str,
        dir: &Path,
        files: &[String],
        jobs: Vec<SealJob>,
    ) -> Option<String> {
        let allowed = crate::imports::committed_paths(name, files);
        match crate::imports::publish_dir(&self.inner.root, dir, &allowed) {
            Ok(_) => {
                for mut job in jobs {
                    job.path = self.inner.root.join(&job.rel);
                    self.inner.sealer.submit(job);
                }
                None
            }
            Err(e) => {
                let note = format!(
                    "import {name} is committed but its files are not yet in hot/ ({e}); the next open moves and seals them"
                );
                tracing::error!(target: "strata::ingest", "{note}");
                lock(&self.inner.state).report.recovery.push(note.clone());
                Some(note)
            }
        }
    }
}

impl Staging {
    /// Turns the open staged segments into seal jobs and fsyncs every staged file, the import's
    /// quarantine and every staged folder whose entries changed.
    fn sync_all(&mut self) -> Result<()> {
        for (_, segment) in std::mem::take(&mut self.segments) {
            self.jobs.push(segment.into_job(SealReason::Import)?);
        }
        for job in &self.jobs {
            File::open(&job.path)
                .and_then(|f| f.sync_data())
                .map_err(io_err(&job.path))?;
        }
        self.quarantine.sync()?;
        if let Some(path) = self.quarantine.written_file() {
            self.dirs.push(crate::seal::parent_of(&path));
        }
        self.dirs.sort();
        self.dirs.dedup();
        for d in &self.dirs {
            crate::seal::sync_dir(d)?;
        }
        Ok(())
    }
}

impl StagedCounts {
    /// Adds a committed import's counters to the session report.
    fn add_to(self, report: &mut SessionReport) {
        report.events += self.events;
        report.bytes_written += self.bytes;
        for (map, add) in [
            (&mut report.by_symbol, self.by_symbol),
            (&mut report.by_kind, self.by_kind),
            (&mut report.by_source, self.by_source),
        ] {
            for (k, n) in add {
                *map.entry(k).or_default() += n;
            }
        }
        report.rejected += self.rejected;
        report.skipped += self.skipped;
        for (k, n) in self.rejected_by_reason {
            *report.rejected_by_reason.entry(k).or_default() += n;
        }
        report.imports_committed += 1;
    }
}
