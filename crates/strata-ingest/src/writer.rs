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
use strata_core::layout::{Naming, PartitionKey};
use strata_core::policy::{
    IntegrityPolicy, QuotaPolicy, SealCause, SealRules, SealSchedule, SegmentFacts,
};
use strata_core::policy::{QuotaDecision, QuotaSubject, QuotaUsage};
use strata_model::{jsonl, AssetClass, Event, EventKind, SymbolRegistry};

use crate::imports::{CommittedImport, ImportKey, Ledger, LedgerRecord};
use crate::integrity::{Rejection, StreamChecks};
use crate::lock::WriterLock;
use crate::quarantine::Quarantine;
use crate::quota::{Charge, QuotaLedger};
use crate::recovery::{self, RecoveryReport};
use crate::seal::{SealContext, SealJob, SealReason};
use crate::sealer::Sealer;
use crate::segment::{Segment, BUFFER_BYTES};
use crate::session::{SessionReport, SessionState};
use crate::{io_err, lock, paths, Error, Result};

/// The longest partition path (below `hot/`, before the segment suffix) the writer creates:
/// every component is at most 160 bytes by the layout's escaping, and the whole path stays far
/// under the 4,096 bytes Linux accepts, with room for the staging prefix and the archive root.
/// Events whose symbol, source or venue would make a longer path are refused with the reason.
pub const MAX_STEM_BYTES: usize = 1024;

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
    /// How long to wait for another writer to let go of the archive's lock before failing with
    /// [`Error::Locked`] (zero: fail at once).
    pub lock_wait: Duration,
    /// The pluggable decisions the writer makes; each left empty comes from the config.
    pub components: Components,
}

/// The extension points a writer decides with (EXT-1, EXT-3). Each slot left `None` is filled
/// from the config: the `[layout]` section, `[integrity]`, `[[quotas]]` and the `storage`
/// size and age limits.
#[derive(Debug, Clone, Default)]
pub struct Components {
    /// Partition key ↔ path (default: the config's layout).
    pub naming: Option<Arc<dyn Naming>>,
    /// What the writer accepts (default: the config's `[integrity]` checks).
    pub integrity: Option<Arc<dyn IntegrityPolicy>>,
    /// Quotas (default: the config's `[[quotas]]` rules).
    pub quotas: Option<Vec<Arc<dyn QuotaPolicy>>>,
    /// When open segments are sealed (default: `storage.max_file_bytes` and
    /// `storage.max_file_age_secs`).
    pub seal_schedule: Option<Arc<dyn SealSchedule>>,
}

impl Components {
    /// Every slot filled: what the caller gave, the rest from `config`.
    pub fn resolve(self, config: &Config) -> Result<Resolved> {
        Ok(Resolved {
            naming: match self.naming {
                Some(naming) => naming,
                None => Arc::new(config.layout.resolve()?),
            },
            integrity: self
                .integrity
                .unwrap_or_else(|| Arc::new(config.integrity.clone())),
            quotas: self.quotas.unwrap_or_else(|| {
                config
                    .quotas
                    .iter()
                    .map(|rule| Arc::new(rule.clone()) as Arc<dyn QuotaPolicy>)
                    .collect()
            }),
            seal_schedule: self.seal_schedule.unwrap_or_else(|| {
                Arc::new(SealRules {
                    max_file_bytes: config.storage.max_file_bytes,
                    max_file_age: Duration::from_secs(config.storage.max_file_age_secs),
                })
            }),
        })
    }
}

/// [`Components`] with every slot filled.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Partition key ↔ path.
    pub naming: Arc<dyn Naming>,
    /// What the writer accepts.
    pub integrity: Arc<dyn IntegrityPolicy>,
    /// Quotas.
    pub quotas: Vec<Arc<dyn QuotaPolicy>>,
    /// When open segments are sealed.
    pub seal_schedule: Arc<dyn SealSchedule>,
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
    /// The batch belongs to this import (from [`Writer::begin_import`]): its events are staged
    /// and stored only when the import is committed ([`crate::imports`]).
    pub import: Option<ImportId>,
    /// The asset class of the batch's instruments as their source knows it (an importer that
    /// reads `equity/` in a Lean path, or a Databento dataset of futures), for instruments the
    /// symbol registry does not list; the registry's class wins, `other` when neither knows.
    pub asset_class: Option<AssetClass>,
}

/// An import in progress on a writer (see [`Writer::begin_import`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImportId(u64);

/// What [`Writer::begin_import`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportStart {
    /// The import is staged under this id: append its events with it, then commit or abort.
    Started(ImportId),
    /// The ledger already holds this input as imported: nothing to do.
    AlreadyImported(CommittedImport),
}

/// What [`Writer::commit_import`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportEnd {
    /// The import is stored: its data files (relative to the root; sealing follows in the
    /// background) and its events.
    Committed {
        /// The ledger's import id.
        id: String,
        /// Data files written.
        files: Vec<String>,
        /// Events stored.
        events: u64,
        /// Set when the import is committed but its files could not be moved into `hot/` yet
        /// (the next open finishes it): why.
        unfinished: Option<String>,
    },
    /// The input turned out to be imported already (its key is known only once it was read,
    /// as for standard input): the staged copy was discarded.
    AlreadyImported(CommittedImport),
}

/// Counts an importer hands to [`Writer::commit_import`] for the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportTally {
    /// Rows read.
    pub rows: u64,
    /// Rows quarantined by the importer.
    pub rejected: u64,
    /// What was kept of a damaged input, if it was kept.
    pub note: Option<String>,
}

/// What happened to a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Events accepted and written.
    pub accepted: usize,
    /// Events refused by integrity checks (each is in the quarantine with its reason).
    pub rejected: usize,
    /// Of `rejected`: duplicates of an event already stored.
    pub duplicates: usize,
    /// Of `rejected`: events older than their stream's newest, beyond the allowed lateness.
    pub out_of_order: usize,
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
    /// The streams of live appends (each import has its own, in its [`Staging`]).
    streams: Streams,
    /// Files and directories to fsync at the next commit (sealed-away segments, new folders).
    pending_files: Vec<Arc<File>>,
    pending_dirs: Vec<PathBuf>,
    ledger: QuotaLedger,
    quarantine: Quarantine,
    report: SessionReport,
    /// The import being staged, if any (one at a time per writer).
    staging: Option<Staging>,
    next_import: u64,
    /// Segments (hot and staged) holding an open file.
    open_files: usize,
    /// Segments in the order they took their handles (see [`State::make_room`]).
    open_order: std::collections::VecDeque<(bool, String, u64)>,
    /// At most this many segments hold an open file (see [`open_file_bound`]).
    max_open: usize,
    /// Counts appends: a segment's `last_used`.
    clock: u64,
}

/// Counters of a staged import, added to the session report when it is committed.
#[derive(Default)]
struct StagedCounts {
    events: u64,
    bytes: u64,
    by_symbol: BTreeMap<String, u64>,
    by_kind: BTreeMap<String, u64>,
    by_source: BTreeMap<String, u64>,
    rejected: u64,
    rejected_by_reason: BTreeMap<String, u64>,
    skipped: u64,
}

/// An import in progress: its segments live under `_staging/<name>/` until it is committed.
struct Staging {
    id: ImportId,
    /// The ledger's id, also the staging folder's name.
    name: String,
    dir: PathBuf,
    input: String,
    segments: HashMap<String, Segment>,
    /// Segments already left (partition boundary, size): sealed once the import is committed.
    jobs: Vec<SealJob>,
    /// Staged folders whose entries changed (fsynced before the commit record).
    dirs: Vec<PathBuf>,
    counts: StagedCounts,
    /// Rows and events of this import refused: moved into `_quarantine/` with it.
    quarantine: Quarantine,
    /// The import's own streams and integrity checks.
    streams: Streams,
    /// Why writing or syncing one of its segments failed, if it did: the commit then refuses.
    failed: Option<String>,
}

struct Inner {
    root: PathBuf,
    hot: PathBuf,
    config: Config,
    naming: Arc<dyn Naming>,
    integrity: Arc<dyn IntegrityPolicy>,
    seal_schedule: Arc<dyn SealSchedule>,
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
    /// The archive's writer lock, held from open until `close()` (or the end of the writer).
    lock: Mutex<Option<WriterLock>>,
    /// The import ledger (appended to only while the lock is held).
    imports: Mutex<Ledger>,
    /// Set by the first failed fsync of a commit (see [`Error::SyncFailed`]).
    failed_sync: Mutex<Option<String>>,
    /// Told of every advance of the durable watermark and of a failed commit.
    durable_listeners: Mutex<Vec<DurableListener>>,
}

/// A callback [`Writer::on_durable`] registers.
type DurableListener = Box<dyn Fn(Ticket, Option<&str>) + Send + Sync>;

impl State {
    /// Takes the open segment of `stem` out for sealing: its bytes go to the OS now, and the
    /// next commit fsyncs it even if sealing is still running. A staged segment (`staged`) is
    /// kept with its import instead, to be fsynced and sealed when the import is committed;
    /// `None` is returned for it.
    fn retire(
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
        let Some(mut segment) = self.segments.remove(stem) else {
            return Ok(None);
        };
        if let Some(file) = &segment.file {
            // Its handle leaves the bound now (the next commit fsyncs and drops it).
            self.pending_files.push(Arc::clone(file));
            self.open_files -= 1;
        }
        segment.drain()?;
        Ok(Some(segment))
    }

    /// Quarantines `event` (or, with `row`, an input row: file, line, raw text) for `reason`,
    /// counted under `class` — in the staged import's quarantine and counts when `staged`.
    fn reject(
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
    fn make_room(&mut self) -> Result<()> {
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
    fn opened(&mut self, staged: bool, stem: &str, clock: u64) {
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
    fn bound_pending(&mut self, sync: bool) -> Result<()> {
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
    fn take_staging(&mut self, id: ImportId) -> Result<Staging> {
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
    fn streams(&self, staged: bool) -> &Streams {
        match (staged, self.staging.as_ref()) {
            (true, Some(staging)) => &staging.streams,
            _ => &self.streams,
        }
    }

    /// [`State::streams`], to change.
    fn streams_mut(&mut self, staged: bool) -> &mut Streams {
        match (staged, self.staging.as_mut()) {
            (true, Some(staging)) => &mut staging.streams,
            _ => &mut self.streams,
        }
    }

    /// The open segments appends go to: the hot tier's, or the staged import's.
    fn segments_for(&mut self, staged: bool) -> &mut HashMap<String, Segment> {
        match (staged, self.staging.as_mut()) {
            (true, Some(staging)) => &mut staging.segments,
            _ => &mut self.segments,
        }
    }
}

/// How many event kinds there are: one route slot each.
const KINDS: usize = EventKind::ALL.len();

fn kind_index(kind: EventKind) -> usize {
    EventKind::ALL.iter().position(|&k| k == kind).unwrap_or(0)
}

/// The (source, symbol, kind) streams one set of appends has seen: where each writes now and what
/// its integrity checks remember. Live appends have one set; each staged import its own, so an
/// import neither moves a live stream's checks nor, rolled back, leaves its events in them.
#[derive(Default)]
struct Streams {
    /// source → symbol → kind index → route index.
    index: HashMap<String, HashMap<String, [Option<usize>; KINDS]>>,
    routes: Vec<Route>,
}

impl Streams {
    /// The route of an event's stream, if there is one (route numbers never change).
    fn find(&self, event: &Event) -> Option<usize> {
        self.index
            .get(event.source.as_str())
            .and_then(|m| m.get(event.symbol.as_str()))
            .and_then(|slots| slots[kind_index(event.kind())])
    }

    /// Adds the route of `event`'s stream; returns its number.
    fn add(&mut self, event: &Event, route: Route) -> usize {
        self.routes.push(route);
        let idx = self.routes.len() - 1;
        self.index
            .entry(event.source.clone())
            .or_default()
            .entry(event.symbol.clone())
            .or_insert([None; KINDS])[kind_index(event.kind())] = Some(idx);
        idx
    }
}

/// True when both events belong to one (source, symbol, kind) stream.
fn same_stream(a: &Event, b: &Event) -> bool {
    a.kind() == b.kind() && a.symbol == b.symbol && a.source == b.source
}

/// Appends one encoded event to its open segment, handing the buffer to the OS when it is full;
/// true when the segment reached `max_bytes` (to be sealed for size).
fn append_line(
    segment: &mut Segment,
    line: &[u8],
    event: &Event,
    schedule: &dyn SealSchedule,
) -> Result<bool> {
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
    Ok(schedule.decide(&facts).is_some())
}

/// `configured`, kept within a fifth of the process's soft open-file limit (`ulimit -n`, read from
/// `/proc/self/limits` where there is one) and at least 8: a commit in flight holds the handles
/// of the segments it syncs (since parked) and files waiting for a commit hold theirs (at most
/// the bound, see `State::bound_pending`), so about three times the bound can be open at a
/// moment, beside the index, the lock, the ledger and the sealer's files.
fn open_file_bound(configured: usize) -> usize {
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

/// What is quarantined.
enum Rejected<'a> {
    Event(&'a Event),
    Row {
        file: &'a str,
        line: u64,
        raw: &'a str,
    },
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
        let Resolved {
            naming,
            integrity,
            quotas,
            seal_schedule,
        } = options.components.clone().resolve(&config)?;
        let (symbols, _sources) = config
            .registries()
            .map_err(|e| Error::Config(e.to_string()))?;
        let started = (Instant::now(), chrono::Utc::now());
        let session_id = options
            .session_id
            .clone()
            .unwrap_or_else(|| started.1.format("%Y%m%dT%H%M%S%.6fZ").to_string());
        // One writer per archive: nothing is touched before the lock is ours.
        let writer_lock = WriterLock::acquire(root, &session_id, options.lock_wait)?;
        let hot = root.join(paths::HOT);
        crate::lock::refuse_symlink(&hot)?;
        std::fs::create_dir_all(&hot).map_err(io_err(&hot))?;
        let mut quarantine = Quarantine::new(root, &session_id);

        // Imports a crash left staged are finished (committed) or rolled back first; what they
        // move into `hot/` is then recovered and sealed like any segment left open.
        let mut imports = Ledger::load(root)?;
        let staged_notes = crate::imports::recover_staging(root, &mut imports)?;
        let seal_ctx = SealContext::new(root, &config, &catalog, &session_id);
        let RecoveryReport {
            next_segment_no,
            notes: hot_notes,
            ..
        } = recovery::recover(root, &*naming, &seal_ctx, &mut quarantine)?;
        let mut notes = staged_notes;
        notes.extend(hot_notes);

        let interrupted = SessionReport::mark_interrupted(root, &session_id, &notes)?;
        notes.extend(
            interrupted
                .iter()
                .map(|id| format!("session {id} ended without close(): marked interrupted")),
        );
        let today = started.1.date_naive();
        let ledger = crate::quota::QuotaLedger::new(
            quotas.clone(),
            recovery::usage_from_catalog(&catalog, &quotas, &symbols, today)?,
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
            naming,
            integrity,
            seal_schedule,
            symbols,
            state: Mutex::new(State {
                last_ticket: 0,
                segments: HashMap::new(),
                next_segment_no,
                streams: Streams::default(),
                pending_files: Vec::new(),
                pending_dirs: Vec::new(),
                ledger,
                quarantine,
                report,
                staging: None,
                next_import: 0,
                open_files: 0,
                open_order: std::collections::VecDeque::new(),
                max_open: open_file_bound(config.storage.max_open_segments),
                clock: 0,
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
            lock: Mutex::new(Some(writer_lock)),
            imports: Mutex::new(imports),
            failed_sync: Mutex::new(None),
            durable_listeners: Mutex::new(Vec::new()),
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
        let age_check = inner
            .seal_schedule
            .check_every()
            .min(Duration::from_secs(1));
        let weak = Arc::downgrade(inner);
        let wake = Arc::clone(&inner.wake);
        let handle = std::thread::Builder::new()
            .name("strata-group-commit".into())
            .spawn(move || committer_loop(&wake, weak, interval, age_check, commits))
            .map_err(io_err(root))?;
        *lock(&inner.committer) = Some(handle);
        Ok(writer)
    }

    /// The archive root.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// True unless the durability mode is `none` (tests only): files are fsynced.
    fn syncs(&self) -> bool {
        self.inner.config.durability.mode != DurabilityMode::None
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
            let written = self.write_locked(&mut st, events, &canonical, &lines, &ends, options);
            // The batch's refused events reach the disk with one fsync, before the call
            // returns (also when the batch stopped at an error); a staged import's are synced
            // by its commit.
            let synced = st.quarantine.sync();
            let written = written?;
            synced?;
            written
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
            let full = match appended {
                Some(full) => full,
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
            if full {
                if let Some(seg) = st.retire(stem, staged, SealReason::Size, self.syncs())? {
                    to_seal.push((seg, SealReason::Size));
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

    /// Where an event goes: its partition stem and the time range that stem covers. Reads the
    /// route cache only (`route` is the event's route as [`Streams::find`] finds it); the write
    /// pass applies changes in event order.
    fn place(
        &self,
        streams: &Streams,
        event: &Event,
        route: Option<usize>,
        hint: Option<AssetClass>,
    ) -> std::result::Result<Placement, String> {
        let inner = &*self.inner;
        let ts = event.event_time.as_nanos();
        if let Some(idx) = route {
            let r = &streams.routes[idx];
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
            .map(|s| s.asset_class)
            .or(hint)
            .unwrap_or(AssetClass::Other);
        let key = inner
            .naming
            .key_for_event(event, Some(asset_class), inner.naming.granularity());
        let stem = inner
            .naming
            .render(&key)
            .map_err(|e| format!("cannot place event: {e}"))?;
        if stem.len() > MAX_STEM_BYTES {
            return Err(format!(
                "cannot place event: its partition path would be {} bytes (symbol {} bytes, source {} bytes), over the {MAX_STEM_BYTES} bytes strata keeps paths under so that no file system refuses them",
                stem.len(),
                event.symbol.len(),
                event.source.len()
            ));
        }
        let range = inner
            .naming
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
        staged: bool,
        to_seal: &mut Vec<(Segment, SealReason)>,
    ) -> Result<usize> {
        // A route found when placing still holds (routes are only ever added); one created
        // earlier in this batch is looked up.
        let streams = st.streams_mut(staged);
        let existing = placement.route.or_else(|| streams.find(event));
        let Some(idx) = existing else {
            return Ok(streams.add(
                event,
                Route {
                    checks: StreamChecks::default(),
                    range: placement.range.clone(),
                    stem: placement.stem.clone(),
                    asset_class: placement.asset_class,
                },
            ));
        };
        let route = &mut streams.routes[idx];
        if route.stem != placement.stem {
            let old = std::mem::replace(&mut route.stem, Arc::clone(&placement.stem));
            let old_range = std::mem::replace(&mut route.range, placement.range.clone());
            // Only seal when the stream moved forward in time: a late event for an older
            // partition opens a segment there without closing the current one.
            let forward = placement.range.start >= old_range.start;
            if forward {
                if let Some(seg) =
                    st.retire(&old, staged, SealReason::PartitionBoundary, self.syncs())?
                {
                    to_seal.push((seg, SealReason::PartitionBoundary));
                }
            }
        }
        Ok(idx)
    }

    fn open_segment(
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
        if inner.config.durability.mode != DurabilityMode::None {
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
    /// default: open longer than `storage.max_file_age_secs`).
    pub fn seal_aged(&self) -> Result<usize> {
        let schedule = &*self.inner.seal_schedule;
        let aged: Vec<(Segment, SealReason)> = {
            let mut st = lock(&self.inner.state);
            let due: Vec<(String, SealReason)> = st
                .segments
                .iter()
                .filter_map(|(stem, s)| {
                    let facts = SegmentFacts {
                        bytes: s.len,
                        events: s.stats.event_count(),
                        open_for: Some(s.opened.elapsed()),
                    };
                    let decision = schedule.decide(&facts)?;
                    let reason = match decision.cause {
                        SealCause::Size => SealReason::Size,
                        SealCause::Age => SealReason::Age,
                    };
                    Some((stem.clone(), reason))
                })
                .collect();
            let mut out = Vec::new();
            for (stem, reason) in due {
                if let Some(seg) = st.retire(&stem, false, reason, self.syncs())? {
                    out.push((seg, reason));
                }
            }
            out
        };
        let n = aged.len();
        for (segment, reason) in aged {
            self.seal_segment(segment, reason)?;
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
        let staged = lock(&self.inner.state).staging.as_ref().map(|s| s.id);
        if let Some(id) = staged {
            note(self.abort_import(id, "the writer was closed before the import was committed"));
        }
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
        // The session is over: another writer may open the archive now.
        drop(lock(&self.inner.lock).take());
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
        let failed = staging_failed.or_else(|| lock(&self.inner.failed_sync).clone());
        let synced = synced.and_then(|()| match failed {
            Some(reason) => Err(Error::SyncFailed { reason }),
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
    fn discard_staging(&self, ledger: &mut Ledger, staging: Staging, reason: &str) -> Result<()> {
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

    /// Records how the session is ending (e.g. `signal`), for the report `close()` writes.
    pub fn note_stopped_by(&self, why: &str) {
        lock(&self.inner.state).report.stopped_by = Some(why.to_string());
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
        drop(lock(&self.inner.lock).take());
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

fn committer_loop(
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
            if let Some(mut file) = segment.file.as_deref() {
                let _ = file.flush();
            }
        }
    }
}
