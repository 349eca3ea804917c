//! Appending: a batch is encoded outside any lock, then placed, charged against the quotas,
//! judged by the integrity policy and written to its open segments under the state lock.

use super::*;

impl Writer {
    /// Appends one event; see [`Writer::append_batch`].
    pub fn append(&self, event: &Event) -> Result<BatchOutcome> {
        self.append_batch(std::slice::from_ref(event))
    }

    /// Appends a batch. Quotas are checked for the whole batch first: a HardLimit refusal
    /// returns [`Error::QuotaExceeded`] and writes nothing, so the caller still holds every event.
    /// Events failing integrity checks go to the quarantine with the reason and are counted in
    /// the outcome; the rest are written. In `per_batch` mode the batch is durable on return.
    pub fn append_batch(&self, events: &[Event]) -> Result<BatchOutcome> {
        self.append_batch_with(events, AppendOptions::default())
    }

    /// [`Writer::append_batch`] with [`AppendOptions`].
    pub fn append_batch_with(
        &self,
        events: &[Event],
        options: AppendOptions,
    ) -> Result<BatchOutcome> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if events.is_empty() {
            return Ok(BatchOutcome::default());
        }
        // Encode outside the lock; canonicalize aliases on the way.
        let batch = self.encode(events)?;
        // Declared before the state guard, so it is dropped after it (also when a policy of the
        // caller's unwinds through here): its drop takes the state lock.
        let in_flight: InFlight<'_>;
        let cleanup: Option<CleanupRequest>;
        let written = {
            let mut st = lock(&self.inner.state);
            // Checked again under the lock `close()` sets it under: an append that gets past
            // here is waited for by `close()` (its events are in the final commit).
            if self.inner.closed.load(Ordering::Acquire) {
                return Err(Error::Closed);
            }
            in_flight = InFlight::enter(&self.inner, &mut st);
            let written = self.write_locked(&mut st, &batch, options);
            // The batch's refused events reach the disk with one fsync, before the call
            // returns (also when the batch stopped at an error); a staged import's are synced
            // by its commit.
            let synced = st.quarantine.sync();
            cleanup = st.cleanup_due.take();
            written.and_then(|w| synced.map(|()| w))
        };
        let handed = self.hand_over(written);
        // `close()` may go ahead from here: the batch is in its segments and the retired ones
        // are with the sealer, so its final commit covers them. The cleanup listeners and the
        // per-batch commit's durability listeners below may themselves close the writer.
        drop(in_flight);
        if let Some(request) = cleanup {
            self.call_cleanup_listeners(&request);
        }
        let outcome = handed?;
        if self.inner.settings.durability.mode == DurabilityMode::PerBatch
            && outcome.last_ticket > 0
        {
            self.commit_after_append(outcome.last_ticket)?;
        }
        Ok(outcome)
    }

    /// The rest of an append once its batch is written (out of the state lock): hands retired
    /// segments to the sealer. A panic of the seal schedule while the batch was written puts
    /// the writer in its failed state.
    fn hand_over(
        &self,
        written: Result<(BatchOutcome, Vec<(Segment, SealReason)>)>,
    ) -> Result<BatchOutcome> {
        let (outcome, to_seal) = match written {
            Ok(written) => written,
            Err(e) => {
                self.fail_if_panicked(&e);
                return Err(e);
            }
        };
        for (segment, reason) in to_seal {
            self.seal_segment(segment, reason)?;
        }
        Ok(outcome)
    }

    /// The per-batch commit of an append. A `close()` that ran meanwhile (another thread, or a
    /// listener) made the batch durable in its final commit: that is success too.
    fn commit_after_append(&self, last_ticket: Ticket) -> Result<()> {
        match self.commit() {
            Ok(_) => Ok(()),
            Err(e) => {
                if self.inner.closed.load(Ordering::Acquire)
                    && self.durable_watermark() >= last_ticket
                {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Encodes a batch as JSONL, each event under its canonical symbol.
    fn encode<'a>(&self, events: &'a [Event]) -> Result<Encoded<'a>> {
        let mut canonical: Vec<Option<Event>> = Vec::with_capacity(events.len());
        let mut lines = Vec::with_capacity(events.len() * 160);
        let mut ends = Vec::with_capacity(events.len());
        for event in events {
            let resolved = self.inner.symbols.canonical(&event.symbol);
            let renamed = (resolved != event.symbol).then(|| {
                let mut e = event.clone();
                e.symbol = resolved.to_string();
                e
            });
            jsonl::encode_into(renamed.as_ref().unwrap_or(event), &mut lines)
                .map_err(|e| Error::Config(e.to_string()))?;
            ends.push(lines.len());
            canonical.push(renamed);
        }
        Ok(Encoded {
            events,
            canonical,
            lines,
            ends,
        })
    }

    /// Writes an encoded batch under the state lock: places it, charges the quotas, judges each
    /// event and writes the accepted ones. Returns the outcome and the segments to seal.
    #[allow(clippy::type_complexity)]
    pub(super) fn write_locked(
        &self,
        st: &mut State,
        batch: &Encoded<'_>,
        options: AppendOptions,
    ) -> Result<(BatchOutcome, Vec<(Segment, SealReason)>)> {
        let staged = match options.import {
            None => false,
            Some(id) if st.staging.as_ref().is_some_and(|s| s.id == id) => true,
            Some(_) => return Err(Error::NoSuchImport),
        };
        // 1. Place every event (reads caches only; nothing changes yet).
        let placed = self.place_batch(st.streams(staged), batch, options.asset_class);
        // 2. Quotas for the whole batch, before anything is written.
        if !st.ledger.is_empty() {
            st.charge_quotas(staged, batch, &placed)?;
        }
        // 3. Check and write.
        let mut outcome = BatchOutcome::default();
        let mut to_seal = Vec::new();
        for (i, placement) in placed.iter().enumerate() {
            let event = batch.event(i);
            let placement = match placement {
                Ok(p) => p,
                Err(reason) => {
                    st.reject(staged, "invalid", reason, Rejected::Event(event))?;
                    outcome.rejected += 1;
                    continue;
                }
            };
            let route = self.enter_route(st, event, placement, staged, &mut to_seal)?;
            let policy = &*self.inner.integrity;
            let line = batch.line(i);
            let verdict = st.streams_mut(staged).routes[route].checks.check_encoded(
                policy,
                event,
                line,
                options.keep_identical,
            );
            if !st.take_verdict(staged, verdict, event, &mut outcome)? {
                continue;
            }
            let stem: &str = &placement.stem;
            let due = self.append_to_segment(st, staged, stem, route, event, line)?;
            // Staged events get no ticket: they are stored when their import is committed,
            // and the durable watermark only ever covers stored events.
            st.last_ticket += u64::from(!staged);
            let ticket = st.last_ticket;
            if let Some(decision) = due {
                // The schedule's cause is the seal reason the manifest records (its words go
                // to the log: the manifest keeps one of the catalog's reason names).
                let reason = seal_reason(decision.cause);
                tracing::debug!(target: "strata::ingest", "sealing {stem} ({reason}): {}", decision.reason);
                if let Some(seg) = st.retire(stem, staged, reason, self.syncs())? {
                    to_seal.push((seg, reason));
                }
            }
            if st.count_accepted(staged, event, line.len() as u64) {
                outcome.last_ticket = ticket;
            }
            outcome.accepted += 1;
        }
        Ok((outcome, to_seal))
    }
}

/// A batch encoded outside the state lock.
pub(super) struct Encoded<'a> {
    events: &'a [Event],
    /// Each event renamed to its canonical symbol, where its alias differs.
    canonical: Vec<Option<Event>>,
    /// The events' JSONL lines, one after the other.
    lines: Vec<u8>,
    /// Where each event's line ends in `lines`.
    ends: Vec<usize>,
}

impl Encoded<'_> {
    /// The events of the batch.
    pub(super) fn len(&self) -> usize {
        self.events.len()
    }

    /// Event `i` as it is stored (under its canonical symbol).
    pub(super) fn event(&self, i: usize) -> &Event {
        self.canonical[i].as_ref().unwrap_or(&self.events[i])
    }

    /// The encoded line of event `i`.
    pub(super) fn line(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.lines[start..self.ends[i]]
    }
}

impl State {
    /// Acts on the integrity verdict on `event`: a refused event is quarantined and counted in
    /// `outcome` (false is returned); a sequence gap is logged and reported.
    fn take_verdict(
        &mut self,
        staged: bool,
        verdict: std::result::Result<Option<Gap>, Rejection>,
        event: &Event,
        outcome: &mut BatchOutcome,
    ) -> Result<bool> {
        match verdict {
            Err(rejection) => {
                match rejection {
                    Rejection::OutOfOrder { .. } => outcome.out_of_order += 1,
                    Rejection::Duplicate => outcome.duplicates += 1,
                    _ => {}
                }
                let class = rejection.class();
                self.reject(
                    staged,
                    class,
                    &rejection.to_string(),
                    Rejected::Event(event),
                )?;
                outcome.rejected += 1;
                return Ok(false);
            }
            Ok(Some(gap)) => {
                tracing::warn!(target: "strata::ingest", "sequence gap in {}/{}/{}: {} -> {}", gap.source, gap.symbol, gap.kind, gap.after, gap.next);
                self.report.add_gap(gap);
            }
            Ok(None) => {}
        }
        Ok(true)
    }

    /// Counts an accepted event of `bytes` bytes: in the staged import's counts when `staged`,
    /// else in the session report (then true is returned: the event has a ticket).
    fn count_accepted(&mut self, staged: bool, event: &Event, bytes: u64) -> bool {
        if let Some(staging) = self.staging.as_mut().filter(|_| staged) {
            let c = &mut staging.counts;
            c.events += 1;
            c.bytes += bytes;
            count(&mut c.by_symbol, &event.symbol);
            count(&mut c.by_kind, event.kind().as_str());
            count(&mut c.by_source, &event.source);
            false
        } else {
            let report = &mut self.report;
            report.events += 1;
            report.bytes_written += bytes;
            count(&mut report.by_symbol, &event.symbol);
            count(&mut report.by_kind, event.kind().as_str());
            count(&mut report.by_source, &event.source);
            true
        }
    }
}

/// An append past its check of `closed`: counted in [`State::in_flight`] until it returns (or
/// unwinds), so `close()` waits for it.
struct InFlight<'a>(&'a Inner);

impl<'a> InFlight<'a> {
    fn enter(inner: &'a Inner, st: &mut State) -> InFlight<'a> {
        st.in_flight += 1;
        InFlight(inner)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut st = lock(&self.0.state);
        st.in_flight -= 1;
        if st.in_flight == 0 {
            self.0.appends_done.notify_all();
        }
    }
}

/// Counts one more event under `key` (allocating the key only the first time it is seen).
pub(super) fn count(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}
