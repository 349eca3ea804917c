//! The hot-tier writer (INGEST-1, INGEST-2).
//!
//! Events are encoded as JSONL outside any lock, then, under one short lock per batch, checked
//! (integrity, quotas), routed to their partition's open segment and given a [`Ticket`]. Bytes are
//! handed to the OS in large chunks; a *commit* hands over what is buffered and fsyncs every file
//! touched since the last commit, then publishes the durable watermark. Commits are serialized
//! by their own lock, so the watermark only ever covers bytes that are known to be synced:
//!
//! - `per_batch`: every `append_batch` commits before it returns (concurrent batches share one
//!   fsync — natural group commit).
//! - `group_commit`: a background thread commits every `group_commit_interval_ms`;
//!   [`Writer::flush`] commits at once. An append returns as soon as the event is buffered.
//! - `none`: commits hand bytes to the OS but never fsync (tests only).
//!
//! `docs/DURABILITY.md` states the guarantee of each mode.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use strata_catalog::{Catalog, StatsAccumulator};
use strata_core::config::{Config, DurabilityMode};
use strata_core::layout::{Layout, PartitionKey};
use strata_core::policy::{QuotaDecision, QuotaSubject, QuotaUsage};
use strata_model::{jsonl, AssetClass, Event, EventKind, SymbolRegistry};

use crate::integrity::{Rejection, StreamChecks};
use crate::quarantine::Quarantine;
use crate::quota::{Charge, QuotaLedger};
use crate::recovery::{self, RecoveryReport};
use crate::seal::{SealContext, SealReason};
use crate::sealer::Sealer;
use crate::segment::{Segment, BUFFER_BYTES};
use crate::session::{SessionReport, SessionState};
use crate::{io_err, lock, paths, Error, Result};

/// The number an accepted event gets: events are numbered 1, 2, 3, … in the order the writer
/// accepted them. An event is durable once [`Writer::durable_watermark`] reaches its ticket.
pub type Ticket = u64;

/// Options for one writer session.
#[derive(Debug, Clone, Default)]
pub struct WriterOptions {
    /// Session id; a time-based id when unset.
    pub session_id: Option<String>,
    /// Free-form tags recorded in the session report.
    pub tags: Vec<String>,
}

/// How a batch is checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendOptions {
    /// The batch comes from a source whose records are distinct by their position, like a
    /// vendor's file: an event identical to a recent one of its stream is written as another
    /// event instead of being refused as a duplicate, provided it carries the stream's highest
    /// sequence number so far (the same venue packet or match event: CME's MBO feed, as
    /// Databento records it, holds byte-identical fills of one resting order in one match
    /// event). Identical events from an earlier sequence — a replay, or the same file imported
    /// twice — are still refused, and events without a sequence number get no exception.
    pub keep_identical: bool,
}

/// What happened to a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Events accepted and written.
    pub accepted: usize,
    /// Events refused by integrity checks (each is in the quarantine with its reason).
    pub rejected: usize,
    /// The ticket of the last accepted event (0 when none was accepted).
    pub last_ticket: Ticket,
}

/// A cheap, cloneable handle to one archive's hot-tier writer; share it between threads.
#[derive(Clone)]
pub struct Writer {
    inner: Arc<Inner>,
}

struct Route {
    checks: StreamChecks,
    /// The event-time range (ns) the cached `stem` covers.
    range: Range<i64>,
    /// Shared with every [`Placement`] that points here, so placing an event copies no text.
    stem: Arc<str>,
    asset_class: AssetClass,
}

struct Placement {
    stem: Arc<str>,
    range: Range<i64>,
    asset_class: AssetClass,
    /// The event's route when it existed before this batch (route numbers never change).
    route: Option<usize>,
}

struct State {
    last_ticket: Ticket,
    /// Open segments by partition stem.
    segments: HashMap<String, Segment>,
    next_segment_no: HashMap<String, u32>,
    /// source → symbol → kind index → route index.
    route_index: HashMap<String, HashMap<String, [Option<usize>; 6]>>,
    routes: Vec<Route>,
    /// Files and directories to fsync at the next commit (sealed-away segments, new folders).
    pending_files: Vec<Arc<File>>,
    pending_dirs: Vec<PathBuf>,
    ledger: QuotaLedger,
    quarantine: Quarantine,
    report: SessionReport,
}

struct Inner {
    root: PathBuf,
    hot: PathBuf,
    config: Config,
    layout: Layout,
    symbols: SymbolRegistry,
    state: Mutex<State>,
    commit_lock: Mutex<()>,
    durable: AtomicU64,
    durable_changed: Condvar,
    durable_mutex: Mutex<()>,
    closed: AtomicBool,
    abandoned: AtomicBool,
    /// Wakes the background thread early and tells it to stop (close, abandon, drop).
    wake: Arc<Wake>,
    session_id: String,
    started: (Instant, chrono::DateTime<chrono::Utc>),
    committer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Seals segments on its own thread.
    sealer: Sealer,
    /// Serializes writes of the session report (checkpoints and close).
    report_write: Mutex<()>,
}

impl State {
    /// Takes the open segment of `stem` out for sealing: its bytes go to the OS now, and the
    /// next commit fsyncs it even if sealing is still running.
    fn retire(&mut self, stem: &str) -> Result<Option<Segment>> {
        let Some(mut segment) = self.segments.remove(stem) else {
            return Ok(None);
        };
        segment.drain()?;
        self.pending_files.push(Arc::clone(&segment.file));
        Ok(Some(segment))
    }
}

fn kind_index(kind: EventKind) -> usize {
    EventKind::ALL.iter().position(|&k| k == kind).unwrap_or(0)
}

/// The route of an event's (source, symbol, kind) stream, if the writer has one.
fn find_route(st: &State, event: &Event) -> Option<usize> {
    st.route_index
        .get(event.source.as_str())
        .and_then(|m| m.get(event.symbol.as_str()))
        .and_then(|slots| slots[kind_index(event.kind())])
}

/// True when both events belong to one (source, symbol, kind) stream.
fn same_stream(a: &Event, b: &Event) -> bool {
    a.kind() == b.kind() && a.symbol == b.symbol && a.source == b.source
}

/// Appends one encoded event to its open segment, handing the buffer to the OS when it is full;
/// true when the segment reached `max_bytes` (to be sealed for size).
fn append_line(segment: &mut Segment, line: &[u8], event: &Event, max_bytes: u64) -> Result<bool> {
    segment.buf.extend_from_slice(line);
    segment.len += line.len() as u64;
    segment.stats.add(event);
    if segment.buf.len() >= BUFFER_BYTES {
        segment.drain()?;
    }
    Ok(segment.len >= max_bytes)
}

/// Counts one more event under `key` (allocating the key only the first time it is seen).
fn count(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

impl Writer {
    /// Opens the hot tier of the archive at `root` for writing: recovers what a crash left behind
    /// (see [`crate::recovery`]), then starts the group-commit thread if the config asks for one.
    pub fn open(
        root: &Path,
        config: Config,
        catalog: Arc<Catalog>,
        options: WriterOptions,
    ) -> Result<Writer> {
        let layout = config.layout.resolve()?;
        let (symbols, _sources) = config
            .registries()
            .map_err(|e| Error::Config(e.to_string()))?;
        let started = (Instant::now(), chrono::Utc::now());
        let session_id = options
            .session_id
            .clone()
            .unwrap_or_else(|| started.1.format("%Y%m%dT%H%M%S%.6fZ").to_string());
        let hot = root.join(paths::HOT);
        std::fs::create_dir_all(&hot).map_err(io_err(&hot))?;
        let mut quarantine = Quarantine::new(root, &session_id);

        let seal_ctx = SealContext::new(root, &config, &catalog, &session_id);
        let RecoveryReport {
            next_segment_no,
            notes,
            ..
        } = recovery::recover(root, &layout, &seal_ctx, &mut quarantine)?;

        let interrupted = SessionReport::mark_interrupted(root, &session_id, &notes)?;
        let mut notes = notes;
        notes.extend(
            interrupted
                .iter()
                .map(|id| format!("session {id} ended without close(): marked interrupted")),
        );
        let today = started.1.date_naive();
        let ledger = crate::quota::QuotaLedger::new(
            config.quotas.clone(),
            recovery::usage_from_catalog(&catalog, &config.quotas, &symbols, today)?,
            today,
        );
        let report = SessionReport {
            id: session_id.clone(),
            state: SessionState::Running,
            tags: options.tags.clone(),
            started_at: started.1.to_rfc3339(),
            recovery: notes,
            ..SessionReport::default()
        };
        let sealer = Sealer::start(
            root.to_path_buf(),
            config.clone(),
            catalog,
            session_id.clone(),
        )?;
        let inner = Arc::new(Inner {
            root: root.to_path_buf(),
            hot,
            layout,
            symbols,
            state: Mutex::new(State {
                last_ticket: 0,
                segments: HashMap::new(),
                next_segment_no,
                route_index: HashMap::new(),
                routes: Vec::new(),
                pending_files: Vec::new(),
                pending_dirs: Vec::new(),
                ledger,
                quarantine,
                report,
            }),
            commit_lock: Mutex::new(()),
            durable: AtomicU64::new(0),
            durable_changed: Condvar::new(),
            durable_mutex: Mutex::new(()),
            closed: AtomicBool::new(false),
            abandoned: AtomicBool::new(false),
            wake: Arc::new(Wake::default()),
            session_id,
            started,
            committer: Mutex::new(None),
            sealer,
            report_write: Mutex::new(()),
            config,
        });
        let writer = Writer { inner };
        writer.checkpoint()?;
        // The background thread commits on the group-commit interval (unless every batch
        // commits itself), seals aged segments and checkpoints the session report.
        let inner = &writer.inner;
        let commits = inner.config.durability.mode != DurabilityMode::PerBatch;
        let interval = if commits {
            Duration::from_millis(inner.config.durability.group_commit_interval_ms.max(1))
        } else {
            Duration::from_secs(1)
        };
        let weak = Arc::downgrade(inner);
        let wake = Arc::clone(&inner.wake);
        let handle = std::thread::Builder::new()
            .name("strata-group-commit".into())
            .spawn(move || committer_loop(&wake, weak, interval, commits))
            .map_err(io_err(root))?;
        *lock(&inner.committer) = Some(handle);
        Ok(writer)
    }

    /// The archive root.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// This writer's session id.
    pub fn session_id(&self) -> &str {
        &self.inner.session_id
    }

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
        let outcome = {
            let mut st = lock(&self.inner.state);
            self.write_locked(&mut st, events, &canonical, &lines, &ends, options)?
        };
        let (outcome, to_seal) = outcome;
        for (segment, reason) in to_seal {
            self.seal_segment(segment, reason)?;
        }
        if self.inner.config.durability.mode == DurabilityMode::PerBatch && outcome.last_ticket > 0
        {
            self.commit()?;
        }
        Ok(outcome)
    }

    #[allow(clippy::type_complexity)]
    fn write_locked(
        &self,
        st: &mut State,
        events: &[Event],
        canonical: &[Option<Event>],
        lines: &[u8],
        ends: &[usize],
        options: AppendOptions,
    ) -> Result<(BatchOutcome, Vec<(Segment, SealReason)>)> {
        let inner = &*self.inner;
        // 1. Place every event (reads caches only; nothing changes yet). Consecutive events of
        //    one stream (the usual case) share one route lookup.
        let mut placed = Vec::with_capacity(events.len());
        let mut previous: Option<(&Event, Option<usize>)> = None;
        for (i, original) in events.iter().enumerate() {
            let event = canonical[i].as_ref().unwrap_or(original);
            let route = match previous {
                Some((p, route)) if same_stream(p, event) => route,
                _ => find_route(st, event),
            };
            previous = Some((event, route));
            placed.push(self.place(st, event, route));
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
                let new_file =
                    !st.segments.contains_key(&*p.stem) && !new_stems.contains(&&*p.stem);
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
                    st.quarantine.reject_event(event, reason)?;
                    *st.report
                        .rejected_by_reason
                        .entry("invalid".into())
                        .or_default() += 1;
                    st.report.rejected += 1;
                    outcome.rejected += 1;
                    continue;
                }
            };
            let route = self.enter_route(st, event, placement, &mut to_seal)?;
            let policy = &inner.config.integrity;
            let start = if i == 0 { 0 } else { ends[i - 1] };
            let line = &lines[start..ends[i]];
            let verdict =
                st.routes[route]
                    .checks
                    .check_encoded(policy, event, line, options.keep_identical);
            match verdict {
                Err(rejection) => {
                    let class = match rejection {
                        Rejection::Invalid(_) => "invalid",
                        Rejection::OutOfOrder { .. } => "out_of_order",
                        Rejection::Duplicate => "duplicate",
                    };
                    st.quarantine.reject_event(event, &rejection.to_string())?;
                    *st.report
                        .rejected_by_reason
                        .entry(class.into())
                        .or_default() += 1;
                    st.report.rejected += 1;
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
            let max_bytes = inner.config.storage.max_file_bytes;
            // One lookup of the open segment per event; a new one is opened before the ticket.
            let full = match st.segments.get_mut(stem) {
                Some(segment) => {
                    st.last_ticket += 1;
                    append_line(segment, line, event, max_bytes)?
                }
                None => {
                    let key = inner.layout.key_for_event(
                        event,
                        Some(st.routes[route].asset_class),
                        inner.layout.granularity(),
                    );
                    let segment = self.open_segment(st, stem, key)?;
                    st.last_ticket += 1;
                    let segment = st.segments.entry(stem.to_string()).or_insert(segment);
                    append_line(segment, line, event, max_bytes)?
                }
            };
            let ticket = st.last_ticket;
            if full {
                if let Some(seg) = st.retire(stem)? {
                    to_seal.push((seg, SealReason::Size));
                }
            }
            let report = &mut st.report;
            report.events += 1;
            report.bytes_written += line.len() as u64;
            count(&mut report.by_symbol, &event.symbol);
            count(&mut report.by_kind, event.kind().as_str());
            count(&mut report.by_source, &event.source);
            outcome.accepted += 1;
            outcome.last_ticket = ticket;
        }
        Ok((outcome, to_seal))
    }

    /// Where an event goes: its partition stem and the time range that stem covers. Reads the
    /// route cache only (`route` is the event's route as [`find_route`] finds it); the write
    /// pass applies changes in event order.
    fn place(
        &self,
        st: &State,
        event: &Event,
        route: Option<usize>,
    ) -> std::result::Result<Placement, String> {
        let inner = &*self.inner;
        let ts = event.event_time.as_nanos();
        if let Some(idx) = route {
            let r = &st.routes[idx];
            if r.range.contains(&ts) {
                return Ok(Placement {
                    stem: Arc::clone(&r.stem),
                    range: r.range.clone(),
                    asset_class: r.asset_class,
                    route,
                });
            }
        }
        let asset_class = inner
            .symbols
            .resolve(&event.symbol)
            .map_or(AssetClass::Other, |s| s.asset_class);
        let key = inner
            .layout
            .key_for_event(event, Some(asset_class), inner.layout.granularity());
        let stem = inner
            .layout
            .render(&key)
            .map_err(|e| format!("cannot place event: {e}"))?;
        let range = inner
            .layout
            .time_range(&key)
            .map(|r| r.start.as_nanos()..r.end.as_nanos())
            .unwrap_or(i64::MIN..i64::MAX);
        Ok(Placement {
            stem: Arc::from(stem),
            range,
            asset_class,
            route,
        })
    }

    /// The route of an event's stream, pointed at `placement`. A stream moving to another
    /// partition leaves its previous segment to be sealed (partition boundary).
    fn enter_route(
        &self,
        st: &mut State,
        event: &Event,
        placement: &Placement,
        to_seal: &mut Vec<(Segment, SealReason)>,
    ) -> Result<usize> {
        let k = kind_index(event.kind());
        // A route found when placing still holds (routes are only ever added); one created
        // earlier in this batch is looked up.
        let existing = placement.route.or_else(|| find_route(st, event));
        let Some(idx) = existing else {
            st.routes.push(Route {
                checks: StreamChecks::default(),
                range: placement.range.clone(),
                stem: placement.stem.clone(),
                asset_class: placement.asset_class,
            });
            let idx = st.routes.len() - 1;
            st.route_index
                .entry(event.source.clone())
                .or_default()
                .entry(event.symbol.clone())
                .or_insert([None; 6])[k] = Some(idx);
            return Ok(idx);
        };
        if st.routes[idx].stem != placement.stem {
            let old = std::mem::replace(&mut st.routes[idx].stem, Arc::clone(&placement.stem));
            let old_range = std::mem::replace(&mut st.routes[idx].range, placement.range.clone());
            // Only seal when the stream moved forward in time: a late event for an older
            // partition opens a segment there without closing the current one.
            let forward = placement.range.start >= old_range.start;
            if forward {
                if let Some(seg) = st.retire(&old)? {
                    to_seal.push((seg, SealReason::PartitionBoundary));
                }
            }
        }
        Ok(idx)
    }

    fn open_segment(&self, st: &mut State, stem: &str, partition: PartitionKey) -> Result<Segment> {
        let no = st.next_segment_no.entry(stem.to_string()).or_insert(1);
        let seg_no = *no;
        *no += 1;
        let rel = format!(
            "{}/{}{}",
            paths::HOT,
            recovery::segment_stem(stem, seg_no),
            paths::JSONL
        );
        let path = self.inner.root.join(&rel);
        if let Some(parent) = path.parent() {
            if !parent.exists() {
                std::fs::create_dir_all(parent).map_err(io_err(parent))?;
                // New folders must reach the disk too: fsync each new level and its parent.
                let mut dir = parent.to_path_buf();
                while dir.starts_with(&self.inner.hot) && dir != self.inner.hot {
                    st.pending_dirs.push(dir.clone());
                    if !dir.pop() {
                        break;
                    }
                }
                st.pending_dirs.push(self.inner.hot.clone());
            } else {
                st.pending_dirs.push(parent.to_path_buf());
            }
        }
        let file = File::options()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        Ok(Segment {
            path,
            rel,
            file: Arc::new(file),
            buf: Vec::with_capacity(BUFFER_BYTES),
            len: 0,
            content: xxhash_rust::xxh3::Xxh3::new(),
            stats: StatsAccumulator::new(),
            partition,
            opened: Instant::now(),
            dirty: false,
        })
    }

    /// Hands a segment to the background sealer (its bytes go to the OS first; the next commit
    /// fsyncs them whether or not the seal has run).
    fn seal_segment(&self, segment: Segment, reason: SealReason) -> Result<()> {
        self.inner.sealer.submit(segment.into_job(reason)?);
        Ok(())
    }

    /// Hands every buffered byte to the OS, fsyncs what changed since the last commit (unless the
    /// mode is `none`), and publishes the durable watermark. Returns the watermark.
    fn commit(&self) -> Result<Ticket> {
        let inner = &*self.inner;
        let _serial = lock(&inner.commit_lock);
        let (watermark, files, dirs) = {
            let mut st = lock(&inner.state);
            let mut files = std::mem::take(&mut st.pending_files);
            for segment in st.segments.values_mut() {
                segment.drain()?;
                if segment.dirty {
                    segment.dirty = false;
                    files.push(Arc::clone(&segment.file));
                }
            }
            let mut dirs = std::mem::take(&mut st.pending_dirs);
            dirs.sort();
            dirs.dedup();
            (st.last_ticket, files, dirs)
        };
        if inner.config.durability.mode != DurabilityMode::None {
            for file in &files {
                file.sync_data().map_err(io_err(&inner.hot))?;
            }
            for dir in &dirs {
                crate::seal::sync_dir(dir)?;
            }
        }
        if inner.durable.fetch_max(watermark, Ordering::AcqRel) < watermark {
            let _g = lock(&inner.durable_mutex);
            inner.durable_changed.notify_all();
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

    /// Seals segments open longer than `storage.max_file_age_secs`.
    pub fn seal_aged(&self) -> Result<usize> {
        let max_age = Duration::from_secs(self.inner.config.storage.max_file_age_secs);
        let aged: Vec<Segment> = {
            let mut st = lock(&self.inner.state);
            let stems: Vec<String> = st
                .segments
                .iter()
                .filter(|(_, s)| s.opened.elapsed() >= max_age)
                .map(|(k, _)| k.clone())
                .collect();
            let mut out = Vec::new();
            for stem in stems {
                if let Some(seg) = st.retire(&stem)? {
                    out.push(seg);
                }
            }
            out
        };
        let n = aged.len();
        for segment in aged {
            self.seal_segment(segment, SealReason::Age)?;
        }
        Ok(n)
    }

    /// Seals every open segment, waits for the sealer, makes everything durable, writes the
    /// session report and returns it. Further appends fail with [`Error::Closed`]. If a seal
    /// failed (this session, and not yet returned by [`Writer::wait_sealed`]) the report is
    /// written with the failures listed, then [`Error::Seal`] is returned.
    pub fn close(&self) -> Result<SessionReport> {
        self.stop_committer();
        if let Some(handle) = lock(&self.inner.committer).take() {
            let _ = handle.join();
        }
        // Every step runs even if an earlier one failed (the sealer is always stopped and the
        // report always written); the first failure is returned.
        let mut first: Option<Error> = None;
        let mut note = |r: Result<()>| {
            if let Err(e) = r {
                first.get_or_insert(e);
            }
        };
        note(self.commit().map(drop));
        let open: Vec<Segment> = {
            let mut st = lock(&self.inner.state);
            st.segments.drain().map(|(_, s)| s).collect()
        };
        for segment in open {
            note(self.seal_segment(segment, SealReason::Shutdown));
        }
        let sealed = self.inner.sealer.finish();
        note(self.commit().map(drop));
        let mut report = self.report();
        report.state = SessionState::Closed;
        report.checkpoint_at.clear();
        report.finished_at = chrono::Utc::now().to_rfc3339();
        report.duration_ms = self.inner.started.0.elapsed().as_millis() as u64;
        {
            let _serial = lock(&self.inner.report_write);
            note(report.write(&self.inner.root).map(drop));
        }
        match first {
            Some(e) => Err(e),
            None => sealed.map(|()| report),
        }
    }

    /// Writes the running session's report as it stands (state `running`), so a run that ends
    /// without `close()` leaves its counters up to here. The group-commit thread does this every
    /// [`SessionReport::CHECKPOINT_SECS`] seconds.
    pub fn checkpoint(&self) -> Result<()> {
        let _serial = lock(&self.inner.report_write);
        if self.inner.closed.load(Ordering::Acquire) {
            // close() writes the final report; a checkpoint must not replace it.
            return Ok(());
        }
        let mut report = self.report();
        report.checkpoint_at = chrono::Utc::now().to_rfc3339();
        report.duration_ms = self.inner.started.0.elapsed().as_millis() as u64;
        report.write(&self.inner.root)?;
        Ok(())
    }

    /// Records input rows an importer rejected (quarantined with file and line) or skipped.
    pub fn record_import_problem(
        &self,
        file: &str,
        line: u64,
        reason: &str,
        raw: Option<&str>,
    ) -> Result<()> {
        let mut st = lock(&self.inner.state);
        match raw {
            Some(raw) => {
                st.quarantine.reject_row(file, line, reason, raw)?;
                st.report.rejected += 1;
                *st.report
                    .rejected_by_reason
                    .entry("import".into())
                    .or_default() += 1;
            }
            None => st.report.skipped += 1,
        }
        Ok(())
    }

    /// A snapshot of the session's counters so far (seals counted when finished).
    pub fn report(&self) -> SessionReport {
        let mut report = lock(&self.inner.state).report.clone();
        self.inner.sealer.with_tally(|t| {
            report.files_sealed = t.files_sealed;
            report.bytes_sealed = t.bytes_sealed;
            report.files_verified = t.files_sealed;
            report.seal_failures = t.failures.clone();
        });
        report
    }

    /// Hands every buffered byte to the OS without fsync and without moving the watermark — what
    /// a full buffer does between commits. For power-loss tests.
    #[doc(hidden)]
    pub fn hand_buffers_to_os(&self) -> Result<()> {
        let mut st = lock(&self.inner.state);
        for segment in st.segments.values_mut() {
            segment.drain()?;
        }
        Ok(())
    }

    /// Stops without flushing buffers or sealing — what a crash does. For tests of recovery.
    #[doc(hidden)]
    pub fn abandon(self) {
        self.inner.abandoned.store(true, Ordering::Release);
        self.stop_committer();
        if let Some(handle) = lock(&self.inner.committer).take() {
            let _ = handle.join();
        }
        self.inner.sealer.abort();
    }

    fn stop_committer(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.wake.stop();
    }
}

/// The background thread's alarm clock: it sleeps on this, holding no reference to the writer,
/// so a writer dropped without `close()` is gone at once (not kept alive by a sleeping thread
/// that would go on committing, sealing and checkpointing beside a newer writer).
#[derive(Default)]
struct Wake {
    stop: Mutex<bool>,
    cv: Condvar,
}

impl Wake {
    fn stop(&self) {
        *lock(&self.stop) = true;
        self.cv.notify_all();
    }

    /// Sleeps up to `interval`; false once stopped.
    fn sleep(&self, interval: Duration) -> bool {
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

fn committer_loop(wake: &Wake, weak: Weak<Inner>, interval: Duration, commits: bool) {
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
        if last_age_check.elapsed() >= Duration::from_secs(1) {
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

impl Drop for Inner {
    fn drop(&mut self) {
        self.wake.stop();
        if self.abandoned.load(Ordering::Acquire) || self.closed.load(Ordering::Acquire) {
            return;
        }
        // Like a BufWriter: hand buffered bytes to the OS (no fsync, no seal; the next open
        // recovers and seals).
        let mut st = lock(&self.state);
        for segment in st.segments.values_mut() {
            if let Err(e) = segment.drain() {
                tracing::error!("{}: {e}", segment.path.display());
            }
            let _ = (&*segment.file).flush();
        }
    }
}
