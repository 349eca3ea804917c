//! Open segments: opening, parking within the open-file bound, retiring and sealing them, and
//! the seal schedule's questions.

use super::*;

impl Writer {
    pub(super) fn open_segment(
        &self,
        st: &mut State,
        stem: &str,
        partition: PartitionKey,
        staged: bool,
    ) -> Result<Segment> {
        // A file's partition holds only what its layout partitions by: a venue, symbol or
        // source the path does not encode is listed in the file's statistics instead.
        let partition = self.inner.naming.project(&partition);
        let no = st.next_segment_no.entry(stem.to_string()).or_insert(1);
        let seg_no = *no;
        *no += 1;
        let rel = format!(
            "{}/{}{}",
            paths::HOT,
            recovery::segment_stem(stem, seg_no),
            paths::JSONL
        );
        // A staged segment is written under its import's folder, at the place it will have in
        // the root once the import is committed; `rel` is that final place.
        let (base, dirs) = match (staged, st.staging.as_mut()) {
            (true, Some(staging)) => (staging.dir.clone(), &mut staging.dirs),
            _ => (self.inner.root.clone(), &mut st.pending_dirs),
        };
        let path = base.join(&rel);
        let parent = crate::seal::parent_of(&path);
        // New folders (each new level and its parent) and the folder of the new file must
        // reach the disk too; no folder on the way may be a symlink.
        crate::imports::create_dirs(&base, &parent, dirs)?;
        dirs.push(parent);
        let file = File::options()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        if !matches!((staged, &st.staging), (true, Some(_))) {
            self.list_segment(st, &rel)?;
        }
        Ok(Segment {
            path,
            rel,
            file: Some(Arc::new(file)),
            buf: Vec::with_capacity(BUFFER_BYTES),
            len: 0,
            content: xxhash_rust::xxh3::Xxh3::new(),
            stats: StatsAccumulator::new(),
            partition,
            opened: Instant::now(),
            dirty: false,
            last_used: 0,
        })
    }

    /// Adds a hot segment just opened to the session's list (`SessionReport::segments_path`,
    /// one file held open for the session), synced by the next commit with the segment itself,
    /// so that recovery seals what a crash leaves of it under this session. (A staged import's
    /// segments are its ledger's.)
    fn list_segment(&self, st: &mut State, rel: &str) -> Result<()> {
        let path = SessionReport::segments_path(&self.inner.root, &self.inner.session_id);
        let list = match &st.segment_list {
            Some(list) => Arc::clone(list),
            None => {
                let list = Arc::new(
                    File::options()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .map_err(io_err(&path))?,
                );
                // Its entry in the session's folder reaches the disk with it.
                st.pending_dirs.push(crate::seal::parent_of(&path));
                st.segment_list = Some(Arc::clone(&list));
                list
            }
        };
        let mut line = serde_json::to_vec(rel).map_err(|e| crate::Error::Config(e.to_string()))?;
        line.push(b'\n');
        (&*list).write_all(&line).map_err(io_err(&path))?;
        if !st.pending_files.iter().any(|f| Arc::ptr_eq(f, &list)) {
            st.pending_files.push(list);
        }
        Ok(())
    }

    /// Appends `event`, encoded as `line`, to the open segment of `stem` (of the stream `route`),
    /// reopening it if it is parked or opening it if there is none; the schedule's decision when
    /// it says to seal the segment now.
    pub(super) fn append_to_segment(
        &self,
        st: &mut State,
        staged: bool,
        stem: &str,
        route: usize,
        event: &Event,
        line: &[u8],
    ) -> Result<Option<SealDecision>> {
        let inner = &*self.inner;
        let schedule = &*inner.seal_schedule;
        // One lookup of the open segment per event; a new one is opened before the ticket.
        st.clock += 1;
        let clock = st.clock;
        // One lookup of the open segment per event in the usual case (open and holding its
        // file); a parked one is reopened, a missing one opened, before the ticket.
        let appended = match st.segments_for(staged).get_mut(stem) {
            Some(segment) if segment.file.is_some() => {
                segment.last_used = clock;
                Some(append_line(segment, line, event, schedule)?)
            }
            _ => None,
        };
        if let Some(due) = appended {
            return Ok(due);
        }
        let parked = st.segments_for(staged).contains_key(stem);
        // Closing another file first if the bound is reached.
        st.make_room()?;
        if !parked {
            let key = inner.naming.key_for_event(
                event,
                Some(st.streams(staged).routes[route].asset_class),
                inner.naming.granularity(),
            );
            let segment = self.open_segment(st, stem, key, staged)?;
            st.segments_for(staged).insert(stem.to_string(), segment);
        }
        let Some(segment) = st.segments_for(staged).get_mut(stem) else {
            return Err(Error::Config(format!("segment {stem} vanished")));
        };
        if segment.file.is_none() {
            segment.reopen()?;
        }
        segment.last_used = clock;
        // Counted as soon as it holds its handle (before anything can fail).
        st.opened(staged, stem, clock);
        let Some(segment) = st.segments_for(staged).get_mut(stem) else {
            return Err(Error::Config(format!("segment {stem} vanished")));
        };
        append_line(segment, line, event, schedule)
    }

    /// Hands a segment to the background sealer (its bytes go to the OS first; the next commit
    /// fsyncs them whether or not the seal has run).
    pub(super) fn seal_segment(&self, segment: Segment, reason: SealReason) -> Result<()> {
        self.inner.sealer.submit(segment.into_job(reason)?);
        Ok(())
    }

    /// Blocks until every segment handed to the background sealer so far is sealed (verified,
    /// with its sidecar, checksum line and catalog entry). Seal failures not yet returned come
    /// back here as one [`Error::Seal`]; the session report lists them all.
    pub fn wait_sealed(&self) -> Result<()> {
        self.inner.sealer.wait_idle()
    }

    /// Segments waiting for (or in) the background sealer.
    pub fn seal_backlog(&self) -> u64 {
        self.inner.sealer.backlog()
    }

    /// Seals the open segments the seal schedule says to seal now that their age is known (by
    /// default: open longer than `storage.max_file_age_secs`). A panic of the schedule puts the
    /// writer in its failed state and is returned as [`Error::Panicked`].
    pub fn seal_aged(&self) -> Result<usize> {
        let schedule = &*self.inner.seal_schedule;
        let aged = (|| -> Result<Vec<(Segment, SealReason)>> {
            let mut st = lock(&self.inner.state);
            let mut due: Vec<(String, SealReason)> = Vec::new();
            for (stem, s) in &st.segments {
                let facts = SegmentFacts {
                    bytes: s.len,
                    events: s.stats.event_count(),
                    open_for: Some(s.opened.elapsed()),
                };
                if let Some(decision) = decide(schedule, &facts)? {
                    let reason = seal_reason(decision.cause);
                    tracing::debug!(target: "strata::ingest", "sealing {stem} ({reason}): {}", decision.reason);
                    due.push((stem.clone(), reason));
                }
            }
            let mut out = Vec::new();
            for (stem, reason) in due {
                if let Some(seg) = st.retire(&stem, false, reason, self.syncs())? {
                    out.push((seg, reason));
                }
            }
            Ok(out)
        })()
        .inspect_err(|e| self.fail_if_panicked(e))?;
        let n = aged.len();
        for (segment, reason) in aged {
            self.seal_segment(segment, reason)?;
        }
        Ok(n)
    }
}

impl State {
    /// Takes the open segment of `stem` out for sealing: its bytes go to the OS now, and the
    /// next commit fsyncs it even if sealing is still running. A staged segment (`staged`) is
    /// kept with its import instead, to be fsynced and sealed when the import is committed;
    /// `None` is returned for it.
    pub(super) fn retire(
        &mut self,
        stem: &str,
        staged: bool,
        reason: SealReason,
        sync: bool,
    ) -> Result<Option<Segment>> {
        // Room for the handle this adds to the files waiting for a commit (before the segment
        // leaves the map, so an error here loses nothing).
        self.bound_pending(sync)?;
        if staged {
            if let Some(staging) = self.staging.as_mut() {
                if let Some(segment) = staging.segments.remove(stem) {
                    if let Some(file) = &segment.file {
                        // The next group commit syncs it (the import's commit syncs it again,
                        // cheaply by then).
                        self.pending_files.push(Arc::clone(file));
                        self.open_files -= 1;
                    }
                    staging.jobs.push(segment.into_job(reason)?);
                }
            }
            return Ok(None);
        }
        // Its bytes go to the OS while it is still open: if that fails it stays (with its
        // buffer), so the next commit meets the failure instead of publishing a watermark over
        // bytes that never reached the file.
        match self.segments.get_mut(stem) {
            Some(segment) => segment.drain()?,
            None => return Ok(None),
        }
        let Some(segment) = self.segments.remove(stem) else {
            return Ok(None);
        };
        if let Some(file) = &segment.file {
            // Its handle leaves the bound now (the next commit fsyncs and drops it).
            self.pending_files.push(Arc::clone(file));
            self.open_files -= 1;
        }
        Ok(Some(segment))
    }

    /// Quarantines `event` (or, with `row`, an input row: file, line, raw text) for `reason`,
    /// counted under `class` — in the staged import's quarantine and counts when `staged`.
    pub(super) fn reject(
        &mut self,
        staged: bool,
        class: &str,
        reason: &str,
        what: Rejected<'_>,
    ) -> Result<()> {
        let (quarantine, rejected, by_reason) = match (staged, self.staging.as_mut()) {
            (true, Some(s)) => (
                &mut s.quarantine,
                &mut s.counts.rejected,
                &mut s.counts.rejected_by_reason,
            ),
            _ => (
                &mut self.quarantine,
                &mut self.report.rejected,
                &mut self.report.rejected_by_reason,
            ),
        };
        match what {
            Rejected::Event(event) => quarantine.reject_event(event, reason)?,
            Rejected::Row { file, line, raw } => quarantine.reject_row(file, line, reason, raw)?,
        }
        *rejected += 1;
        count(by_reason, class);
        Ok(())
    }

    /// Closes the least recently written segments' files until fewer than `max_open` are open
    /// (hot segments are fsynced first, so the durable watermark stays true; staged ones are
    /// fsynced when their import commits).
    pub(super) fn make_room(&mut self) -> Result<()> {
        // `open_order` holds an entry for every segment that took a handle, in the order they
        // took it, with the clock it had then. The front entry is closed if its segment was not
        // written since; otherwise it goes to the back with its newer clock (a lazy LRU: the
        // append path only sets `last_used`, and each entry moves at most once per append).
        while self.open_files >= self.max_open {
            let Some((staged, stem, stamp)) = self.open_order.pop_front() else {
                break;
            };
            let Some(segment) = self.segments_for(staged).get_mut(&stem) else {
                continue; // retired since
            };
            if segment.file.is_none() {
                continue; // parked already
            }
            if segment.last_used != stamp {
                let newer = segment.last_used;
                self.open_order.push_back((staged, stem, newer));
                continue;
            }
            if segment.park(!staged)? {
                self.open_files -= 1;
            }
        }
        Ok(())
    }

    /// Notes that the segment `stem` took a file handle at `clock` (see [`State::make_room`]).
    pub(super) fn opened(&mut self, staged: bool, stem: &str, clock: u64) {
        self.open_files += 1;
        self.open_order.push_back((staged, stem.to_string(), clock));
        // Entries of segments retired since are dropped from time to time (amortized O(1)), so
        // a writer that never reaches the bound does not keep one per segment it ever opened.
        if self.open_order.len() > 4 * self.max_open + 64 {
            let order = std::mem::take(&mut self.open_order);
            let mut seen = std::collections::HashSet::new();
            // One entry per open segment: its latest (a segment's position in the order only
            // ever moves back).
            let mut kept: Vec<(bool, String, u64)> = order
                .into_iter()
                .rev()
                .filter(|(staged, stem, _)| {
                    self.segments_for(*staged)
                        .get(stem)
                        .is_some_and(|s| s.file.is_some())
                        && seen.insert((*staged, stem.clone()))
                })
                .collect();
            kept.reverse();
            self.open_order = kept.into();
        }
    }

    /// Files waiting for the next commit's fsync hold their handles: when as many wait as the
    /// bound allows open segments, they are synced and closed now, so retiring many partitions
    /// between two commits cannot exhaust the process's open files.
    pub(super) fn bound_pending(&mut self, sync: bool) -> Result<()> {
        while self.pending_files.len() >= self.max_open {
            if let Some(file) = self.pending_files.last() {
                if sync {
                    file.sync_data().map_err(io_err("hot"))?;
                }
            }
            self.pending_files.pop();
        }
        Ok(())
    }

    /// Takes the staged import `id` out (its open files leave the bound with it).
    pub(super) fn take_staging(&mut self, id: ImportId) -> Result<Staging> {
        match self.staging.take() {
            Some(staging) if staging.id == id => {
                self.open_files -= staging
                    .segments
                    .values()
                    .filter(|s| s.file.is_some())
                    .count();
                Ok(staging)
            }
            other => {
                self.staging = other;
                Err(Error::NoSuchImport)
            }
        }
    }

    /// The streams appends belong to: the live ones, or the staged import's.
    pub(super) fn streams(&self, staged: bool) -> &Streams {
        match (staged, self.staging.as_ref()) {
            (true, Some(staging)) => &staging.streams,
            _ => &self.streams,
        }
    }

    /// [`State::streams`], to change.
    pub(super) fn streams_mut(&mut self, staged: bool) -> &mut Streams {
        match (staged, self.staging.as_mut()) {
            (true, Some(staging)) => &mut staging.streams,
            _ => &mut self.streams,
        }
    }

    /// The open segments appends go to: the hot tier's, or the staged import's.
    pub(super) fn segments_for(&mut self, staged: bool) -> &mut HashMap<String, Segment> {
        match (staged, self.staging.as_mut()) {
            (true, Some(staging)) => &mut staging.segments,
            _ => &mut self.segments,
        }
    }
}

/// Appends one encoded event to its open segment, handing the buffer to the OS when it is full;
/// the schedule's decision when it says to seal the segment now.
pub(super) fn append_line(
    segment: &mut Segment,
    line: &[u8],
    event: &Event,
    schedule: &dyn SealSchedule,
) -> Result<Option<SealDecision>> {
    segment.buf.extend_from_slice(line);
    segment.len += line.len() as u64;
    segment.stats.add(event);
    if segment.buf.len() >= BUFFER_BYTES {
        segment.drain()?;
    }
    // On the append path the schedule decides by size (the clock is read on the periodic check).
    let facts = SegmentFacts {
        bytes: segment.len,
        events: segment.stats.event_count(),
        open_for: None,
    };
    decide(schedule, &facts)
}

/// Asks `schedule` about a segment; a panic of the schedule (the caller's code, run on the
/// writer's threads and under its state lock) is caught and returned as [`Error::Panicked`],
/// naming the schedule.
pub(super) fn decide(
    schedule: &dyn SealSchedule,
    facts: &SegmentFacts,
) -> Result<Option<SealDecision>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| schedule.decide(facts))).map_err(
        |payload| {
            let name = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| schedule.name()))
                .unwrap_or_else(|_| format!("{schedule:?}"));
            Error::Panicked {
                what: format!("seal schedule `{name}`"),
                message: panic_message(&*payload),
            }
        },
    )
}

/// The seal reason the manifest records for the schedule's cause.
pub(super) fn seal_reason(cause: SealCause) -> SealReason {
    match cause {
        SealCause::Size => SealReason::Size,
        SealCause::Age => SealReason::Age,
    }
}

/// `configured`, kept within a fifth of the process's soft open-file limit (`ulimit -n`, read from
/// `/proc/self/limits` where there is one) and at least 8: a commit in flight holds the handles
/// of the segments it syncs (since parked) and files waiting for a commit hold theirs (at most
/// the bound, see `State::bound_pending`), so about three times the bound can be open at a
/// moment, beside the index, the lock, the ledger and the sealer's files.
pub(super) fn open_file_bound(configured: usize) -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
        })
        .and_then(|n| n.parse::<usize>().ok());
    let bound = match soft {
        Some(soft) => configured.min(soft / 5),
        None => configured,
    };
    bound.max(8)
}
