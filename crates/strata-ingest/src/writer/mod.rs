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
//!
//! The writer is split by the state each part works on: `open.rs` (the lock, recovery and the
//! session's first state), `routing.rs` (streams and their partition stems), `append.rs` (a
//! batch under the state lock), `quotas.rs` (charging a batch against the quota ledger),
//! `segments.rs` (open segments, parking, sealing), `commit.rs` (group commit and its
//! background thread), `durable.rs` (the durable watermark, its listeners and the failed
//! state), `staging.rs` (staged imports) and `import_commit.rs` (committing one); this file
//! holds the types and closing.

mod append;
mod commit;
mod durable;
mod import_commit;
mod open;
mod quotas;
mod routing;
mod segments;
mod staging;

use append::{count, Encoded};
use commit::Wake;
use durable::{panic_message, CleanupListener, DurableListener, Failure};
use segments::{open_file_bound, seal_reason};

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use strata_catalog::{Catalog, StatsAccumulator};
use strata_core::config::{Config, DurabilityMode, DurabilitySettings};
use strata_core::layout::{Naming, PartitionKey};
use strata_core::policy::{
    IntegrityPolicy, QuotaPolicy, SealCause, SealDecision, SealRules, SealSchedule, SegmentFacts,
};
use strata_core::policy::{QuotaDecision, QuotaSubject, QuotaUsage};
use strata_model::{jsonl, AssetClass, Event, EventKind, SymbolRegistry};

use crate::imports::{CommittedImport, ImportKey, Ledger, LedgerRecord};
use crate::integrity::{Gap, Rejection, StreamChecks};
use crate::lock::WriterLock;
use crate::quarantine::Quarantine;
use crate::quota::{Charge, CleanupRequest, QuotaLedger};
use crate::recovery::{self, RecoveryReport};
use crate::seal::{SealContext, SealJob, SealReason, SealSettings};
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

/// What a writer needs of the config besides its [`Components`]: durability, the open-file
/// bound, how sealing stores files, and the symbol registry (aliases and asset classes).
#[derive(Debug, Clone)]
pub struct WriterSettings {
    /// `[durability]`: the mode and the group-commit interval.
    pub durability: DurabilitySettings,
    /// `storage.max_open_segments`.
    pub max_open_segments: usize,
    /// How sealing stores files.
    pub sealing: SealSettings,
    /// The symbols the config lists.
    pub symbols: SymbolRegistry,
}

impl WriterSettings {
    /// The settings `config` holds.
    pub fn from_config(config: &Config) -> Result<WriterSettings> {
        let (symbols, _sources) = config
            .registries()
            .map_err(|e| Error::Config(e.to_string()))?;
        Ok(WriterSettings {
            durability: config.durability.clone(),
            max_open_segments: config.storage.max_open_segments,
            sealing: SealSettings::from_config(config),
            symbols,
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
    /// The latest start of a range the stream has entered: it moves past a partition only by
    /// entering a later one.
    latest: i64,
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
    /// The session's list of the hot segments it opened (`segments.jsonl`), once opened.
    segment_list: Option<Arc<File>>,
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
    /// Appends past their check of `closed` and not yet returned: `close()` waits for them
    /// (see [`Inner::appends_done`]).
    in_flight: usize,
    /// What the quotas asked of the lifecycle while the state lock was held: handed to the
    /// cleanup listeners once it is released.
    cleanup_due: Option<CleanupRequest>,
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
    settings: WriterSettings,
    naming: Arc<dyn Naming>,
    integrity: Arc<dyn IntegrityPolicy>,
    seal_schedule: Arc<dyn SealSchedule>,
    symbols: SymbolRegistry,
    state: Mutex<State>,
    commit_lock: Mutex<()>,
    durable: AtomicU64,
    durable_changed: Condvar,
    durable_mutex: Mutex<()>,
    /// Set by `close()` under the state lock, and read by appends under it: an append either
    /// is written before `close()` commits, or refused with [`Error::Closed`].
    closed: AtomicBool,
    /// Signalled (with the state lock) when an append in flight returns.
    appends_done: Condvar,
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
    /// The writer's failed state: set by the first failed fsync (or hand-over of bytes) of a
    /// commit, or a panic of the caller's code the writer runs; from then on no watermark moves.
    failed: Mutex<Option<Failure>>,
    /// Told of every advance of the durable watermark and of a failure. Called on a copy of the
    /// list, outside every lock, so a listener may call the writer.
    durable_listeners: Mutex<Vec<DurableListener>>,
    /// Told when a batch goes over a SoftLimit or DropOldest quota (see
    /// [`Writer::on_quota_cleanup`]). Called on a copy of the list, outside every lock.
    cleanup_listeners: Mutex<Vec<CleanupListener>>,
    /// Set by [`Writer::inject_commit_drain_failure`]: the next commit's hand-over of buffered
    /// bytes fails as a write error would.
    fault_next_drain: AtomicBool,
}

/// How many event kinds there are: one route slot each.
const KINDS: usize = EventKind::ALL.len();

/// The (source, symbol, kind) streams one set of appends has seen: where each writes now and what
/// its integrity checks remember. Live appends have one set; each staged import its own, so an
/// import neither moves a live stream's checks nor, rolled back, leaves its events in them.
#[derive(Default)]
struct Streams {
    /// source → symbol → kind index → route index.
    index: HashMap<String, HashMap<String, [Option<usize>; KINDS]>>,
    routes: Vec<Route>,
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

impl Writer {
    /// The archive root.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The durability mode it was opened with (`durability.mode`).
    pub fn durability_mode(&self) -> DurabilityMode {
        self.inner.settings.durability.mode
    }

    /// True unless the durability mode is `none` (tests only): files are fsynced.
    fn syncs(&self) -> bool {
        self.durability_mode() != DurabilityMode::None
    }

    /// This writer's session id.
    pub fn session_id(&self) -> &str {
        &self.inner.session_id
    }

    /// Seals every open segment, waits for the sealer, makes everything durable, writes the
    /// session report and returns it. Further appends fail with [`Error::Closed`]. If a seal
    /// failed (this session, and not yet returned by [`Writer::wait_sealed`]) the report is
    /// written with the failures listed, then [`Error::Seal`] is returned.
    pub fn close(&self) -> Result<SessionReport> {
        {
            // Under the lock appends check `closed` under: every append either got in before
            // (and is waited for here, so it is part of the final commit and returns before
            // `close()` does) or is refused.
            let mut st = lock(&self.inner.state);
            self.inner.closed.store(true, Ordering::Release);
            while st.in_flight > 0 {
                st = match self.inner.appends_done.wait(st) {
                    Ok(g) => g,
                    Err(poisoned) => poisoned.into_inner(),
                };
            }
        }
        self.stop_committer();
        if let Some(handle) = lock(&self.inner.committer).take() {
            // A durability listener may close the writer from the committer thread itself,
            // which stops on its own once the listener returns.
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
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
