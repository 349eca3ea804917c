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
        // Declared before the state guard, so it is dropped after it (also when a policy of the
        // caller's unwinds through here): its drop takes the state lock.
        let _in_flight: InFlight<'_>;
        let written = {
            let mut st = lock(&self.inner.state);
            // Checked again under the lock `close()` sets it under: an append that gets past
            // here is waited for by `close()` (its events are in the final commit).
            if self.inner.closed.load(Ordering::Acquire) {
                return Err(Error::Closed);
            }
            _in_flight = InFlight::enter(&self.inner, &mut st);
            let written = self.write_locked(&mut st, events, &canonical, &lines, &ends, options);
            // The batch's refused events reach the disk with one fsync, before the call
            // returns (also when the batch stopped at an error); a staged import's are synced
            // by its commit.
            let synced = st.quarantine.sync();
            written.and_then(|w| synced.map(|()| w))
        };
        self.finish_append(written)
    }

    /// The rest of an append once its batch is written (out of the state lock): hands retired
    /// segments to the sealer and, in `per_batch` mode, commits. A panic of the seal schedule
    /// while the batch was written puts the writer in its failed state.
    fn finish_append(
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
        if self.inner.settings.durability.mode == DurabilityMode::PerBatch
            && outcome.last_ticket > 0
        {
            self.commit()?;
        }
        Ok(outcome)
    }

    #[allow(clippy::type_complexity)]
    pub(super) fn write_locked(
        &self,
        st: &mut State,
        events: &[Event],
        canonical: &[Option<Event>],
        lines: &[u8],
        ends: &[usize],
        options: AppendOptions,
    ) -> Result<(BatchOutcome, Vec<(Segment, SealReason)>)> {
        let inner = &*self.inner;
        let staged = match options.import {
            None => false,
            Some(id) if st.staging.as_ref().is_some_and(|s| s.id == id) => true,
            Some(_) => return Err(Error::NoSuchImport),
        };
        // 1. Place every event (reads caches only; nothing changes yet). Consecutive events of
        //    one stream (the usual case) share one route lookup.
        let mut placed = Vec::with_capacity(events.len());
        let mut previous: Option<(&Event, Option<usize>)> = None;
        for (i, original) in events.iter().enumerate() {
            let event = canonical[i].as_ref().unwrap_or(original);
            let route = match previous {
                Some((p, route)) if same_stream(p, event) => route,
                _ => st.streams(staged).find(event),
            };
            previous = Some((event, route));
            placed.push(self.place(st.streams(staged), event, route, options.asset_class));
        }
        // 2. Quotas for the whole batch, before anything is written.
        if !st.ledger.is_empty() {
            let today = chrono::Utc::now().date_naive();
            let mut new_stems: Vec<&str> = Vec::new();
            let mut charges = Vec::with_capacity(events.len());
            for (i, original) in events.iter().enumerate() {
                let event = canonical[i].as_ref().unwrap_or(original);
                let Ok(p) = &placed[i] else { continue };
                let subject = QuotaSubject {
                    source: &event.source,
                    asset_class: p.asset_class,
                    symbol: &event.symbol,
                    kind: event.kind(),
                };
                let start = if i == 0 { 0 } else { ends[i - 1] };
                let open = match (staged, st.staging.as_ref()) {
                    (true, Some(staging)) => &staging.segments,
                    _ => &st.segments,
                };
                let new_file = !open.contains_key(&*p.stem) && !new_stems.contains(&&*p.stem);
                if new_file {
                    new_stems.push(&p.stem);
                }
                charges.push(Charge {
                    subject,
                    usage: QuotaUsage {
                        bytes: (ends[i] - start) as u64,
                        files: u64::from(new_file),
                        events_today: 1,
                    },
                });
            }
            match st.ledger.charge_batch(today, &charges) {
                Ok(signals) => {
                    for w in signals.warnings.iter().chain(&signals.cleanup) {
                        tracing::warn!(target: "strata::quota", "{w}");
                    }
                    st.report.quota_signals.extend(signals.warnings);
                    st.report.quota_signals.extend(signals.cleanup);
                    if signals.drop_oldest_bytes > 0 {
                        st.report.quota_signals.push(format!(
                            "drop_oldest: {} bytes to free",
                            signals.drop_oldest_bytes
                        ));
                    }
                }
                Err(QuotaDecision::Refuse {
                    scope,
                    limit_name,
                    limit,
                    used,
                }) => {
                    return Err(Error::QuotaExceeded {
                        scope,
                        limit_name,
                        limit,
                        used,
                    });
                }
                Err(other) => {
                    return Err(Error::Config(format!(
                        "unexpected quota decision {other:?}"
                    )))
                }
            }
        }
        // 3. Check and write.
        let mut outcome = BatchOutcome::default();
        let mut to_seal = Vec::new();
        for (i, original) in events.iter().enumerate() {
            let event = canonical[i].as_ref().unwrap_or(original);
            let placement = match &placed[i] {
                Ok(p) => p,
                Err(reason) => {
                    st.reject(staged, "invalid", reason, Rejected::Event(event))?;
                    outcome.rejected += 1;
                    continue;
                }
            };
            let route = self.enter_route(st, event, placement, staged, &mut to_seal)?;
            let policy = &*inner.integrity;
            let start = if i == 0 { 0 } else { ends[i - 1] };
            let line = &lines[start..ends[i]];
            let verdict = st.streams_mut(staged).routes[route].checks.check_encoded(
                policy,
                event,
                line,
                options.keep_identical,
            );
            match verdict {
                Err(rejection) => {
                    match rejection {
                        Rejection::OutOfOrder { .. } => outcome.out_of_order += 1,
                        Rejection::Duplicate => outcome.duplicates += 1,
                        _ => {}
                    }
                    let class = rejection.class();
                    st.reject(
                        staged,
                        class,
                        &rejection.to_string(),
                        Rejected::Event(event),
                    )?;
                    outcome.rejected += 1;
                    continue;
                }
                Ok(Some(gap)) => {
                    tracing::warn!(target: "strata::ingest", "sequence gap in {}/{}/{}: {} -> {}", gap.source, gap.symbol, gap.kind, gap.after, gap.next);
                    st.report.add_gap(gap);
                }
                Ok(None) => {}
            }
            let stem: &str = &placement.stem;
            let schedule = &*inner.seal_schedule;
            // Staged events get no ticket: they are stored when their import is committed,
            // and the durable watermark only ever covers stored events.
            let ticketed = u64::from(!staged);
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
            let due = match appended {
                Some(due) => due,
                None => {
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
                    append_line(segment, line, event, schedule)?
                }
            };
            st.last_ticket += ticketed;
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
            if let Some(staging) = st.staging.as_mut().filter(|_| staged) {
                let c = &mut staging.counts;
                c.events += 1;
                c.bytes += line.len() as u64;
                count(&mut c.by_symbol, &event.symbol);
                count(&mut c.by_kind, event.kind().as_str());
                count(&mut c.by_source, &event.source);
            } else {
                let report = &mut st.report;
                report.events += 1;
                report.bytes_written += line.len() as u64;
                count(&mut report.by_symbol, &event.symbol);
                count(&mut report.by_kind, event.kind().as_str());
                count(&mut report.by_source, &event.source);
                outcome.last_ticket = ticket;
            }
            outcome.accepted += 1;
        }
        Ok((outcome, to_seal))
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
