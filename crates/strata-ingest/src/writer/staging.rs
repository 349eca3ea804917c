//! Staged imports: begin, commit (fsync, ledger record, rename into `hot/`) and abort.

use super::*;

impl Writer {
    /// Records input rows an importer rejected (quarantined with file and line) or skipped;
    /// with `import`, they belong to that staged import (kept if it commits).
    pub fn record_import_problem(
        &self,
        import: Option<ImportId>,
        file: &str,
        line: u64,
        reason: &str,
        raw: Option<&str>,
    ) -> Result<()> {
        let mut st = lock(&self.inner.state);
        let staged = match import {
            None => false,
            Some(id) if st.staging.as_ref().is_some_and(|s| s.id == id) => true,
            Some(_) => return Err(Error::NoSuchImport),
        };
        match raw {
            Some(raw) => {
                st.reject(staged, "import", reason, Rejected::Row { file, line, raw })?;
                if !staged {
                    st.quarantine.sync()?;
                }
            }
            None => match st.staging.as_mut().filter(|_| staged) {
                Some(staging) => staging.counts.skipped += 1,
                None => st.report.skipped += 1,
            },
        }
        Ok(())
    }

    /// Starts an import of `input` (a name for people: the file as the user gave it). When `key`
    /// is given and the ledger holds it as committed, nothing starts and the earlier import is
    /// returned. Otherwise the import's events — appended with [`AppendOptions::import`] set to
    /// the id returned — are staged, and stored only by [`Writer::commit_import`]. One import at
    /// a time per writer.
    pub fn begin_import(&self, input: &str, key: Option<&ImportKey>) -> Result<ImportStart> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let digest = key.map(ImportKey::digest);
        let mut ledger = lock(&self.inner.imports);
        if let Some(done) = digest.as_deref().and_then(|d| ledger.committed(d)) {
            return Ok(ImportStart::AlreadyImported(done.clone()));
        }
        let mut st = lock(&self.inner.state);
        // Again under the lock `close()` sets it under: an import started here is one
        // `close()` sees (and rolls back).
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if st.staging.is_some() {
            return Err(Error::ImportInProgress);
        }
        // Import ids are never reused, even when a session id is (it can be set by the caller).
        let (id, name) = loop {
            st.next_import += 1;
            let name = format!("{}-{:04}", self.inner.session_id, st.next_import);
            if !ledger.knows(&name) {
                break (ImportId(st.next_import), name);
            }
        };
        let staging_root = self.inner.root.join(crate::imports::STAGING);
        let dir = staging_root.join(&name);
        let mut dirs = Vec::new();
        crate::imports::create_dirs(&self.inner.root, &dir, &mut dirs)?;
        ledger.append(
            &self.inner.root,
            LedgerRecord::Begin {
                id: name.clone(),
                key: digest,
                input: input.to_string(),
                session: self.inner.session_id.clone(),
                at: chrono::Utc::now().to_rfc3339(),
            },
        )?;
        // The import's own quarantine, under its staging folder: synced by the commit, gone
        // with a rolled-back import (its rows came from an input that is not stored).
        let quarantine = Quarantine::new(&dir, &name);
        st.staging = Some(Staging {
            id,
            name,
            dir,
            input: input.to_string(),
            segments: HashMap::new(),
            jobs: Vec::new(),
            dirs,
            counts: StagedCounts::default(),
            quarantine,
            streams: Streams::default(),
            failed: None,
        });
        Ok(ImportStart::Started(id))
    }

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
        let staging = lock(&self.inner.state).take_staging(id)?;
        if let Some(done) = ledger.committed(&digest) {
            let done = done.clone();
            self.discard_staging(&mut ledger, staging, "the input was imported already")?;
            return Ok(ImportEnd::AlreadyImported(done));
        }
        let Staging {
            name,
            dir,
            input,
            segments,
            mut jobs,
            mut dirs,
            counts,
            mut quarantine,
            failed: staging_failed,
            ..
        } = staging;
        // 1. Every staged byte and folder reaches the disk.
        let synced = (|| -> Result<()> {
            for (_, segment) in segments {
                jobs.push(segment.into_job(SealReason::Import)?);
            }
            for job in &jobs {
                File::open(&job.path)
                    .and_then(|f| f.sync_data())
                    .map_err(io_err(&job.path))?;
            }
            quarantine.sync()?;
            if let Some(path) = quarantine.written_file() {
                dirs.push(crate::seal::parent_of(&path));
            }
            dirs.sort();
            dirs.dedup();
            for d in &dirs {
                crate::seal::sync_dir(d)?;
            }
            Ok(())
        })();
        // A segment that could not be written or synced while the import ran (a new handle's
        // fsync may not report an earlier failure again) refuses the commit, as does any failed
        // fsync of this writer.
        let failed = staging_failed
            .map(|reason| Error::SyncFailed { reason })
            .or_else(|| self.failure());
        let synced = synced.and_then(|()| match failed {
            Some(e) => Err(e),
            None => Ok(()),
        });
        // The files must be able to reach their places: a symlink on the way into `hot/` (which
        // strata never follows) would leave a committed import nowhere to go.
        let synced = synced.and_then(|()| {
            jobs.iter().try_for_each(|job| {
                crate::imports::refuse_symlinks_on_the_way(
                    &self.inner.root,
                    &self.inner.root.join(&job.rel),
                )
            })
        });
        if let Err(e) = synced {
            let _ = std::fs::remove_dir_all(&dir);
            let _ = ledger.append(
                &self.inner.root,
                LedgerRecord::Abort {
                    id: name,
                    at: chrono::Utc::now().to_rfc3339(),
                    reason: e.to_string(),
                },
            );
            return Err(e);
        }
        // 2. The commit record: from here on the import has happened.
        let files: Vec<String> = jobs.iter().map(|j| j.rel.clone()).collect();
        ledger.append(
            &self.inner.root,
            LedgerRecord::Commit {
                id: name.clone(),
                key: digest,
                content_sha256: key.content_sha256.clone(),
                settings: key.settings.clone(),
                input,
                session: self.inner.session_id.clone(),
                at: chrono::Utc::now().to_rfc3339(),
                events: counts.events,
                rows: tally.rows,
                rejected: tally.rejected,
                note: tally.note,
                files: files.clone(),
            },
        )?;
        drop(ledger);
        {
            let mut st = lock(&self.inner.state);
            let report = &mut st.report;
            report.events += counts.events;
            report.bytes_written += counts.bytes;
            for (map, add) in [
                (&mut report.by_symbol, counts.by_symbol),
                (&mut report.by_kind, counts.by_kind),
                (&mut report.by_source, counts.by_source),
            ] {
                for (k, n) in add {
                    *map.entry(k).or_default() += n;
                }
            }
            report.rejected += counts.rejected;
            report.skipped += counts.skipped;
            for (k, n) in counts.rejected_by_reason {
                *report.rejected_by_reason.entry(k).or_default() += n;
            }
            report.imports_committed += 1;
        }
        // 3. Into `hot/`, then sealed as usual. The import has happened whatever this step
        //    does: if it fails, the next open finishes it (and seals the files), and the
        //    failure is reported with the seal failures.
        let allowed = crate::imports::committed_paths(&name, &files);
        let unfinished = match crate::imports::publish_dir(&self.inner.root, &dir, &allowed) {
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
        };
        Ok(ImportEnd::Committed {
            id: name,
            files,
            events: counts.events,
            unfinished,
        })
    }

    /// Rolls the import `id` back: nothing of it is stored, and the ledger records why.
    pub fn abort_import(&self, id: ImportId, reason: &str) -> Result<()> {
        let mut ledger = lock(&self.inner.imports);
        let staging = lock(&self.inner.state).take_staging(id)?;
        self.discard_staging(&mut ledger, staging, reason)
    }

    /// Deletes a staged import (its own streams and checks with it) and records its rollback.
    pub(super) fn discard_staging(
        &self,
        ledger: &mut Ledger,
        staging: Staging,
        reason: &str,
    ) -> Result<()> {
        let Staging {
            name,
            dir,
            segments,
            ..
        } = staging;
        drop(segments);
        {
            let mut st = lock(&self.inner.state);
            st.report
                .imports_rolled_back
                .push(format!("{name}: {reason}"));
        }
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&dir)(e)),
        }
        ledger.append(
            &self.inner.root,
            LedgerRecord::Abort {
                id: name,
                at: chrono::Utc::now().to_rfc3339(),
                reason: reason.to_string(),
            },
        )
    }
}
