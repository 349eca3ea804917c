//! Staged imports: begin, record problems, and abort (the commit is in `import_commit.rs`); the
//! staged segments' part in a group commit.

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

impl Staging {
    /// Hands the staged segments' buffered bytes to the OS for a group commit and returns the
    /// files to fsync with it. A failure is the import's: kept in `failed` (its commit refuses).
    pub(super) fn drain_for_commit(&mut self) -> Vec<Arc<File>> {
        let mut staged = Vec::new();
        for segment in self.segments.values_mut() {
            match segment.drain() {
                Ok(()) if segment.dirty => {
                    if let Some(file) = &segment.file {
                        segment.dirty = false;
                        staged.push(Arc::clone(file));
                    }
                }
                Ok(()) => {}
                Err(e) => {
                    self.failed.get_or_insert(e.to_string());
                }
            }
        }
        staged
    }
}
