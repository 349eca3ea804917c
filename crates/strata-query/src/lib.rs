//! # strata-query — one query across every tier (TIER-5, TIER-6)
//!
//! A [`Query`] (symbols, aliases resolved; kinds; sources; venues; a time range; tiers; a limit)
//! becomes a stream of events in event-time order ([`Events`], an iterator), read from every
//! tier alike — JSONL of any codec, Parquet — and from the hot tier's unsealed segments, so a
//! query sees every event the writer has handed to the disk.
//!
//! How little is read:
//!
//! - the catalog prunes files (by symbol, kind, source, tier and the time range, per slice of a
//!   file), and each file's manifest by venue;
//! - in a Parquet file (sorted by `ts`), only the row groups whose `ts` statistics overlap the
//!   range are read, and in them only the pages whose `ts` range does (the page index;
//!   [`strata_columnar::EventReader::in_range`]);
//! - files are opened lazily, in the order of their first event: a file is opened only when
//!   the merge has reached its first event's time.
//!
//! **Memory.** At any time the merge holds the files whose time ranges overlap the current
//! event: for each such Parquet file one batch of 8,192 rows (and, when its tier is not on the
//! local disk, the file's bytes), for each JSONL file its matching events (a JSONL file need
//! not be in time order, so it is sorted), and the hot tier's unsealed segments (opened first:
//! their times are not in the catalog) with their wanted events. Files that follow each other
//! in time, as a tier's files of one symbol and kind do, are held one at a time, whatever the
//! range ([`QueryStats::max_open`] counts them).
//!
//! Events of one instant come in the order of their files (by first event, then path) and,
//! within a file, in file order.

mod batches;
pub mod csv;
mod error;
pub mod export;
pub mod lean;
mod reads;
pub mod sessions;
pub mod sql;
pub mod transform;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use strata_backend::{Backend, BackendExt};
use strata_catalog::{Catalog, FileManifest, FileQuery};
use strata_core::policy::{FileFormat, TierName};
use strata_model::{jsonl, Event, EventKind, SymbolRegistry, Timestamp};

pub use batches::{Batches, BATCH_ROWS};
pub use error::{Error, Result};
pub use reads::{ReadLog, Usage, READS_FILE};
pub use strata_columnar::Pruning;

/// What to read. Empty lists and absent bounds select everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Symbols (canonical names or any alias the symbol registry knows).
    pub symbols: Vec<String>,
    /// Event kinds.
    pub kinds: Vec<EventKind>,
    /// Sources.
    pub sources: Vec<String>,
    /// Venues.
    pub venues: Vec<String>,
    /// Events at or after this time.
    pub from: Option<Timestamp>,
    /// Events before this time.
    pub to: Option<Timestamp>,
    /// Tiers to read (empty: all, the hot tier's unsealed segments included).
    pub tiers: Vec<TierName>,
    /// Only the events of one writer session (SESSION-2): the files it sealed, what they became
    /// in colder tiers (a file consolidated with other sessions' files: its rows of this one),
    /// and its segments not sealed yet — listed by the session (a writer still open, or one a
    /// crash stopped) or named by its import's commit in the ledger.
    pub session: Option<String>,
    /// At most this many events.
    pub limit: Option<u64>,
}

impl Query {
    /// Everything.
    pub fn all() -> Self {
        Query::default()
    }

    /// Adds a symbol.
    pub fn symbol(mut self, symbol: impl Into<String>) -> Self {
        self.symbols.push(symbol.into());
        self
    }

    /// Adds a kind.
    pub fn kind(mut self, kind: EventKind) -> Self {
        self.kinds.push(kind);
        self
    }

    /// Adds a source.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.sources.push(source.into());
        self
    }

    /// Events in `[from, to)`.
    pub fn between(mut self, from: Option<Timestamp>, to: Option<Timestamp>) -> Self {
        self.from = from;
        self.to = to;
        self
    }

    /// At most `n` events.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    fn wants(&self, e: &Event) -> bool {
        let ts = e.event_time;
        self.from.is_none_or(|from| ts >= from)
            && self.to.is_none_or(|to| ts < to)
            && (self.symbols.is_empty() || self.symbols.contains(&e.symbol))
            && (self.kinds.is_empty() || self.kinds.contains(&e.kind()))
            && (self.sources.is_empty() || self.sources.contains(&e.source))
            && (self.venues.is_empty() || e.venue.as_ref().is_some_and(|v| self.venues.contains(v)))
    }

    fn wants_file(&self, m: &FileManifest) -> bool {
        self.wants_file_of(m, None)
    }

    /// [`wants_file`](Self::wants_file), with the session resolved to the sessions it stands
    /// for (a merged session's members).
    fn wants_file_of(&self, m: &FileManifest, sessions: Option<&BTreeSet<String>>) -> bool {
        let meets = |wanted: &[String], held: &BTreeSet<String>| {
            wanted.is_empty() || held.is_empty() || wanted.iter().any(|w| held.contains(w))
        };
        // A file of several sessions holds rows of the session's (SESSION-2).
        let of = |wanted: &dyn Fn(&String) -> bool| {
            m.session_id.as_ref().is_some_and(wanted) || m.sessions.iter().any(|s| wanted(&s.id))
        };
        (self.tiers.is_empty() || self.tiers.contains(&m.tier))
            && match sessions {
                Some(set) => of(&|s| set.contains(s)),
                None => self.session.as_ref().is_none_or(|id| of(&|s| s == id)),
            }
            && meets(&self.symbols, &m.stats.symbols)
            && meets(&self.sources, &m.stats.sources)
            && meets(&self.venues, &m.stats.venues)
            && (self.kinds.is_empty()
                || m.stats.kinds.is_empty()
                || self.kinds.iter().any(|k| m.stats.kinds.contains_key(k)))
    }
}

/// What a query read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// Files the catalog named for the selection (and unsealed hot segments).
    pub files: usize,
    /// Files opened (the others ended before the limit was reached or held nothing wanted).
    pub files_read: usize,
    /// Each file opened: its catalogued path (`cold/…`), or `hot (unsealed) <path>` for a
    /// segment the writer still has open.
    pub read: Vec<String>,
    /// Row groups and rows of the Parquet files opened, and how many were read.
    pub parquet: Pruning,
    /// Events decoded from the files (before filtering).
    pub events_scanned: u64,
    /// Events returned.
    pub events_returned: u64,
    /// Columnar queries ([`Batches`]): rows built into batches from events (JSONL, unsealed
    /// segments, files whose times overlap) rather than read from Parquet as stored.
    pub rows_built: u64,
    /// The most files held open at once: what the query's memory follows.
    pub max_open: usize,
    open_now: usize,
    /// Whether the catalogued files read were counted in the read log (CAT-5): `None` until
    /// the query ends, `Some(false)` when the log could not be written (a read-only archive).
    pub reads_counted: Option<bool>,
}

/// Runs queries over one archive.
pub struct QueryEngine {
    root: PathBuf,
    catalog: Arc<Catalog>,
    backends: BTreeMap<TierName, Arc<dyn Backend>>,
    symbols: SymbolRegistry,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for QueryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryEngine")
            .field("root", &self.root)
            .field("tiers", &self.backends.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A file to read, before it is opened.
#[derive(Debug, Clone)]
enum Pending {
    /// A catalogued file.
    Stored(Box<FileManifest>),
    /// A hot segment the catalog does not hold (the writer has it open): its path on disk and
    /// as the catalog would name it (`hot/<key>`).
    Open(PathBuf, String),
    /// An unsealed segment's complete lines, read when the query was planned (the columnar
    /// form reads a segment once, so that its time range and its events agree), and its path.
    Read(Vec<u8>, PathBuf),
}

impl Pending {
    /// Nanoseconds of its first event (unknown for an unsealed segment: opened first).
    fn first(&self) -> i64 {
        match self {
            Pending::Stored(m) => m.stats.first_event_time.map_or(i64::MIN, |t| t.as_nanos()),
            Pending::Open(..) | Pending::Read(..) => i64::MIN,
        }
    }
}

/// The codec extensions a sealed hot file may have beside `.jsonl`.
const SEALED_EXTENSIONS: [&str; 4] = ["", ".zst", ".gz", ".lz4"];

impl QueryEngine {
    /// The symbol registry queries resolve names through (the config's symbols and those
    /// imports learned, with what they learned of each: a contract, its month).
    pub fn symbols(&self) -> &SymbolRegistry {
        &self.symbols
    }

    /// An engine over the archive at `root`, its catalog, each tier's storage and its symbol
    /// registry (for aliases).
    pub fn new(
        root: &Path,
        catalog: Arc<Catalog>,
        backends: BTreeMap<TierName, Arc<dyn Backend>>,
        symbols: SymbolRegistry,
    ) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                path: root.to_path_buf(),
                source,
            })?;
        Ok(QueryEngine {
            root: root.to_path_buf(),
            catalog,
            backends,
            symbols,
            runtime,
        })
    }

    /// The events of `query`, in event-time order.
    pub fn run(&self, query: &Query) -> Result<Events<'_>> {
        let (query, pending) = self.plan(query)?;
        Ok(Events::over(self, query, pending, true))
    }

    /// The symbols of the files `query` would read, as the catalog lists them (a file's may
    /// hold more than the query selects), or `None` when it would also read something whose
    /// symbols are not known before it is read (an unsealed hot segment).
    pub fn symbols_of(&self, query: &Query) -> Result<Option<BTreeSet<String>>> {
        let (_, pending) = self.plan(query)?;
        let mut symbols = BTreeSet::new();
        for p in &pending {
            match p {
                Pending::Stored(m) if !m.stats.symbols.is_empty() || m.stats.event_count == 0 => {
                    symbols.extend(m.stats.symbols.iter().cloned());
                }
                _ => return Ok(None),
            }
        }
        Ok(Some(symbols))
    }

    /// The query with its symbols made canonical, and the files to read, by first event.
    fn plan(&self, query: &Query) -> Result<(Query, Vec<Pending>)> {
        let mut query = query.clone();
        query.symbols = query
            .symbols
            .iter()
            .map(|s| self.symbols.canonical(s).to_string())
            .collect();
        // The hot tier's plain `.jsonl` files first (a segment the writer has open is one;
        // sealing writes the compressed file, its sidecar and the catalog row before the plain
        // file goes), then the catalog: a plain file the catalog holds in any form is read from
        // the catalog, the others are unsealed segments. A compressed file without its sidecar
        // is a sealing (or a removal) under way: the catalog's copy, or the plain file, stands.
        let mut plain: BTreeMap<String, PathBuf> = BTreeMap::new();
        if query.tiers.is_empty() || query.tiers.contains(&TierName::Hot) {
            let files =
                strata_ingest::reader::hot_files(&self.root).map_err(|e| Error::Damaged {
                    path: self.root.join("hot").display().to_string(),
                    message: e.to_string(),
                })?;
            for path in files {
                let name = path.to_string_lossy();
                if !name.ends_with(strata_ingest::paths::JSONL) {
                    continue;
                }
                if let Some(key) = strata_catalog::relative_archive_path(&self.root, &path) {
                    plain.insert(key, path);
                }
            }
        }
        let mut find = FileQuery::all();
        find.from = query.from;
        find.to = query.to;
        if let [symbol] = query.symbols.as_slice() {
            find = find.symbol(symbol.clone());
        }
        if let [kind] = query.kinds.as_slice() {
            find = find.kind(*kind);
        }
        if let [source] = query.sources.as_slice() {
            find = find.source(source.clone());
        }
        if let [tier] = query.tiers.as_slice() {
            find = find.tier(*tier);
        }
        let found = self.catalog.find(&find)?;
        let sessions = query
            .session
            .as_ref()
            .map(|id| sessions::members(&self.root, id));
        // A file another candidate was made from is being replaced by it (a migration or
        // consolidation between cataloguing its targets and removing it): read once, from
        // what it became.
        // By path and SHA-256: a path the writer reused later is another file.
        let parents: BTreeSet<(&str, &str)> = found
            .iter()
            .flat_map(|m| {
                m.lineage
                    .iter()
                    .map(|l| (l.parent_path.as_str(), l.parent_sha256.as_str()))
            })
            .collect();
        let replaced_paths: BTreeSet<&str> = parents.iter().map(|(p, _)| *p).collect();
        let mut pending = Vec::new();
        for m in &found {
            if m.tier == TierName::Hot {
                let stripped = SEALED_EXTENSIONS
                    .iter()
                    .find_map(|ext| m.path.strip_suffix(ext).filter(|p| p.ends_with(".jsonl")));
                if let Some(stripped) = stripped {
                    plain.remove(stripped);
                }
            }
            if parents.contains(&(m.path.as_str(), m.sha256.as_str()))
                || !query.wants_file_of(m, sessions.as_ref())
            {
                continue;
            }
            let mut m = m.clone();
            // A file of several sessions: the rows of the query's (the merge reads only those),
            // or, without a session, all.
            m.sessions
                .retain(|share| sessions.as_ref().is_some_and(|set| set.contains(&share.id)));
            pending.push(Pending::Stored(Box::new(m)));
        }
        // A session's unsealed segments: those its list or its import's commit names.
        let owners = match &sessions {
            Some(_) if !plain.is_empty() => Some((
                strata_ingest::session::EarlierSessions::read(&self.root, ""),
                strata_ingest::Ledger::load(&self.root).unwrap_or_default(),
            )),
            _ => None,
        };
        for (key, path) in plain {
            if let (Some(set), Some((earlier, ledger))) = (&sessions, &owners) {
                let owner = earlier
                    .owner_of(&key)
                    .or_else(|| ledger.session_of_file(&key));
                if !owner.is_some_and(|o| set.contains(o)) {
                    continue;
                }
            }
            // Sealed and catalogued, outside the selection.
            if self.sealed(&key)?.is_some() {
                continue;
            }
            // A sealed file whose removal is under way (its sidecar went first), when its bytes
            // are those an operation took.
            if replaced_paths.contains(key.as_str()) {
                if let Ok(sha) = strata_catalog::sha256_file(&path) {
                    if parents.contains(&(key.as_str(), sha.as_str())) {
                        continue;
                    }
                }
            }
            pending.push(Pending::Open(path, key));
        }
        // Stable: by first event, then as listed (the catalog's order is by first event, then
        // path).
        pending.sort_by_key(Pending::first);
        Ok((query, pending))
    }

    /// The catalogued (sealed) form of the hot file `key` (`hot/<…>.jsonl`), if there is one.
    fn sealed(&self, key: &str) -> Result<Option<FileManifest>> {
        for ext in SEALED_EXTENSIONS {
            if let Some(m) = self.catalog.get(&format!("{key}{ext}"))? {
                return Ok(Some(m));
            }
        }
        Ok(None)
    }

    /// A catalogued file's bytes, and its local path when its tier is on this disk, checked
    /// against the SHA-256 it was sealed with: a file changed since (a flipped byte, a frame
    /// appended) is an error naming it, never events.
    fn fetch(&self, m: &FileManifest) -> Result<Input> {
        let backend = self.backends.get(&m.tier).ok_or(Error::NoTier(m.tier))?;
        let key = m
            .path
            .split_once('/')
            .map_or(m.path.as_str(), |(_, key)| key);
        if let Some(path) = strata_backend::local_file(backend.as_ref(), key) {
            // JSONL is read whole anyway: read once, then hashed from memory. A Parquet file
            // is hashed as a stream and then read in the parts the query needs.
            if m.format == FileFormat::Jsonl {
                let bytes = std::fs::read(&path)
                    .map(Bytes::from)
                    .map_err(|source| Error::Io { path, source })?;
                check_sealed(m, &strata_catalog::sha256_bytes(&bytes))?;
                return Ok(Input::Bytes(bytes));
            }
            check_sealed(m, &strata_catalog::sha256_file(&path)?)?;
            return Ok(Input::Local(path));
        }
        let bytes = self
            .runtime
            .block_on(backend.get(key))
            .map_err(|source| Error::Backend {
                path: m.path.clone(),
                source,
            })?;
        check_sealed(m, &strata_catalog::sha256_bytes(&bytes))?;
        Ok(Input::Bytes(bytes))
    }
}

/// A file's SHA-256 against its manifest's.
fn check_sealed(m: &FileManifest, actual: &str) -> Result<()> {
    if actual == m.sha256 {
        return Ok(());
    }
    Err(Error::Damaged {
        path: m.path.clone(),
        message: format!(
            "its SHA-256 is {actual}, the catalog says {}: the file changed after it was sealed (`strata verify` checks every file)",
            m.sha256
        ),
    })
}

/// Where a file's bytes come from.
enum Input {
    Local(PathBuf),
    Bytes(Bytes),
}

/// One opened file.
enum Cursor {
    /// A JSONL file's wanted events, sorted by time.
    Events(std::vec::IntoIter<Event>),
    /// A Parquet file (in time order), read a batch at a time; of a file of several sessions,
    /// only the rows of the query's.
    Parquet(Box<strata_columnar::EventReader>, String, Option<Rows>),
}

/// The rows of a file of several sessions that belong to the sessions a query asks for, and
/// the number of the next row read.
struct Rows {
    runs: Vec<[u64; 2]>,
    next: u64,
}

impl Rows {
    /// The rows of `m`'s (wanted) session shares; `None` for a file of one session.
    fn of(m: &FileManifest) -> Option<Rows> {
        if m.sessions.is_empty() {
            return None;
        }
        let mut runs: Vec<[u64; 2]> = m.sessions.iter().flat_map(|s| s.rows.clone()).collect();
        runs.sort_unstable();
        Some(Rows { runs, next: 0 })
    }

    /// Whether the next row is wanted (and counts it).
    fn take(&mut self) -> bool {
        let row = self.next;
        self.next += 1;
        let at = self.runs.partition_point(|r| r[1] <= row);
        self.runs.get(at).is_some_and(|r| r[0] <= row)
    }
}

/// The next event of the merge: its time, then its file's place, then its place in the file.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Head {
    ts: i64,
    file: usize,
    seq: u64,
}

/// The events of a query, in event-time order ([`QueryEngine::run`]). An error ends the
/// stream.
pub struct Events<'e> {
    engine: &'e QueryEngine,
    query: Query,
    left: Option<u64>,
    pending: VecDeque<Pending>,
    /// Opened files: the cursor and the event it holds at the heap.
    cursors: Vec<(Cursor, Option<Event>, u64)>,
    /// Each opened file's name, for errors.
    names: Vec<String>,
    /// The time of the last event returned.
    last_ts: i64,
    heap: BinaryHeap<Reverse<Head>>,
    stats: QueryStats,
    failed: bool,
}

impl std::fmt::Debug for Events<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("query", &self.query)
            .field("stats", &self.stats)
            .finish()
    }
}

impl<'e> Events<'e> {
    /// A merge over `pending` (by first event); `count` says whether it counts its reads in
    /// the read log when it ends (a merge inside [`Batches`] leaves that to them).
    fn over(engine: &'e QueryEngine, query: Query, pending: Vec<Pending>, count: bool) -> Self {
        let stats = QueryStats {
            files: pending.len(),
            // Already counted: nothing to write.
            reads_counted: (!count).then_some(true),
            ..QueryStats::default()
        };
        Events {
            engine,
            left: query.limit,
            query,
            pending: pending.into(),
            cursors: Vec::new(),
            names: Vec::new(),
            last_ts: i64::MIN,
            heap: BinaryHeap::new(),
            stats,
            failed: false,
        }
    }

    /// What the query has read so far.
    pub fn stats(&self) -> &QueryStats {
        &self.stats
    }

    /// Opens the next pending file and puts its first wanted event on the heap.
    fn open(&mut self, next: Pending) -> Result<()> {
        let (from, to) = (
            self.query.from.map(|t| t.as_nanos()),
            self.query.to.map(|t| t.as_nanos()),
        );
        let (manifest, name) = match next {
            Pending::Stored(m) => {
                let name = m.path.clone();
                (*m, name)
            }
            Pending::Read(plain, path) => {
                let name = format!("hot (unsealed) {}", path.display());
                return self.add_jsonl(&name, &plain);
            }
            Pending::Open(path, key) => match read_segment(&path)? {
                Some(plain) => {
                    let name = format!("hot (unsealed) {}", path.display());
                    return self.add_jsonl(&name, &plain);
                }
                // Sealed (and compressed) meanwhile: the catalogued file instead.
                None => match self.engine.sealed(&key)? {
                    Some(m) if self.query.wants_file(&m) => {
                        let name = m.path.clone();
                        (m, name)
                    }
                    Some(_) => return Ok(()),
                    None => {
                        return Err(Error::Damaged {
                            path: key,
                            message: "the segment went while it was being queried, and no sealed file took its place".into(),
                        })
                    }
                },
            },
        };
        let input = self.engine.fetch(&manifest)?;
        match manifest.format {
            FileFormat::Jsonl => {
                let packed = match input {
                    Input::Local(path) => std::fs::read(&path)
                        .map(Bytes::from)
                        .map_err(|source| Error::Io { path, source })?,
                    Input::Bytes(bytes) => bytes,
                };
                let plain = strata_codec::decompress(&packed).map_err(|e| Error::Damaged {
                    path: name.clone(),
                    message: e.to_string(),
                })?;
                self.add_jsonl_rows(&name, &plain, Rows::of(&manifest))
            }
            FileFormat::Parquet => {
                let damaged = |e: strata_columnar::Error| Error::Damaged {
                    path: name.clone(),
                    message: e.to_string(),
                };
                let rows = Rows::of(&manifest);
                // Rows of sessions are counted from the file's first: read it whole.
                let (from, to) = if rows.is_some() {
                    (None, None)
                } else {
                    (from, to)
                };
                let symbols: &[String] = if rows.is_some() {
                    &[]
                } else {
                    &self.query.symbols
                };
                let (reader, pruning) = match input {
                    Input::Local(path) => {
                        let file = std::fs::File::open(&path)
                            .map_err(|source| Error::Io { path, source })?;
                        strata_columnar::EventReader::in_range_of(file, from, to, symbols)
                            .map_err(damaged)?
                    }
                    Input::Bytes(bytes) => {
                        strata_columnar::EventReader::in_range_of(bytes, from, to, symbols)
                            .map_err(damaged)?
                    }
                };
                self.stats.files_read += 1;
                self.stats.read.push(name.clone());
                self.stats.parquet += pruning;
                let cursor = Cursor::Parquet(Box::new(reader), name.clone(), rows);
                self.push(cursor, &name)
            }
        }
    }

    /// A JSONL text's wanted events, sorted by time (stably), as a cursor.
    fn add_jsonl(&mut self, name: &str, plain: &[u8]) -> Result<()> {
        self.add_jsonl_rows(name, plain, None)
    }

    /// [`add_jsonl`](Self::add_jsonl), of only `rows` (lines that are not blank, from 0) when
    /// given.
    fn add_jsonl_rows(&mut self, name: &str, plain: &[u8], mut rows: Option<Rows>) -> Result<()> {
        let mut events = Vec::new();
        let (from, to) = (
            self.query.from.map(|t| t.as_nanos()),
            self.query.to.map(|t| t.as_nanos()),
        );
        let bounded = from.is_some() || to.is_some();
        for (i, line) in plain.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if rows.as_mut().is_some_and(|rows| !rows.take()) {
                continue;
            }
            // A line whose time is outside the range is not decoded.
            if bounded {
                if let Some(ts) = peek_ts(line) {
                    if from.is_some_and(|f| ts < f) || to.is_some_and(|t| ts >= t) {
                        continue;
                    }
                }
            }
            let event = jsonl::decode_line(line).map_err(|e| Error::Damaged {
                path: name.to_string(),
                message: format!("line {}: {e}", i + 1),
            })?;
            self.stats.events_scanned += 1;
            if self.query.wants(&event) {
                events.push(event);
            }
        }
        events.sort_by_key(|e| e.event_time);
        self.stats.files_read += 1;
        self.stats.read.push(name.to_string());
        self.push(Cursor::Events(events.into_iter()), name)
    }

    /// Adds an opened file and its first wanted event to the merge.
    fn push(&mut self, cursor: Cursor, name: &str) -> Result<()> {
        let file = self.cursors.len();
        self.cursors.push((cursor, None, 0));
        self.names.push(name.to_string());
        self.stats.open_now += 1;
        self.stats.max_open = self.stats.max_open.max(self.stats.open_now);
        self.advance(file)
    }

    /// Puts the next wanted event of file `file` on the heap (none when it has ended).
    fn advance(&mut self, file: usize) -> Result<()> {
        let (cursor, slot, seq) = &mut self.cursors[file];
        let next = match cursor {
            Cursor::Events(events) => events.next(),
            Cursor::Parquet(reader, name, rows) => loop {
                match reader.next() {
                    None => break None,
                    Some(Err(e)) => {
                        return Err(Error::Damaged {
                            path: name.clone(),
                            message: e.to_string(),
                        })
                    }
                    Some(Ok(e)) => {
                        self.stats.events_scanned += 1;
                        if rows.as_mut().is_some_and(|rows| !rows.take()) {
                            continue;
                        }
                        if self.query.wants(&e) {
                            break Some(e);
                        }
                        // Sorted by time: past the range, the file is done.
                        if self.query.to.is_some_and(|to| e.event_time >= to) {
                            break None;
                        }
                    }
                }
            },
        };
        if let Some(event) = next {
            *seq += 1;
            self.heap.push(Reverse(Head {
                ts: event.event_time.as_nanos(),
                file,
                seq: *seq,
            }));
            *slot = Some(event);
        } else {
            // Let the file's memory go.
            *cursor = Cursor::Events(Vec::new().into_iter());
            self.stats.open_now -= 1;
        }
        Ok(())
    }

    /// Counts the catalogued files read in the read log (once).
    fn count_reads(&mut self) {
        count_reads(&self.engine.root, &mut self.stats);
    }

    fn step(&mut self) -> Result<Option<Event>> {
        if self.left == Some(0) {
            self.count_reads();
            return Ok(None);
        }
        // Open every file that may hold an event before the merge's next one.
        while let Some(first) = self.pending.front().map(Pending::first) {
            if self.heap.peek().is_some_and(|Reverse(top)| top.ts < first) {
                break;
            }
            if let Some(next) = self.pending.pop_front() {
                self.open(next)?;
            }
        }
        let Some(Reverse(top)) = self.heap.pop() else {
            self.count_reads();
            return Ok(None);
        };
        // A file opened after an event later than its own: its catalogued first time is wrong.
        if top.ts < self.last_ts {
            return Err(Error::Damaged {
                path: self.names[top.file].clone(),
                message: format!(
                    "an event at {} ns comes before one already returned ({} ns): the catalog's first event time for the file is wrong (`strata catalog rebuild`)",
                    top.ts, self.last_ts
                ),
            });
        }
        self.last_ts = top.ts;
        let event = self.cursors[top.file].1.take();
        self.advance(top.file)?;
        if let Some(left) = &mut self.left {
            *left -= 1;
        }
        self.stats.events_returned += 1;
        Ok(event)
    }
}

impl Drop for Events<'_> {
    /// A query left before its end still counts the files it read.
    fn drop(&mut self) {
        self.count_reads();
    }
}

impl Iterator for Events<'_> {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        if self.failed {
            return None;
        }
        match self.step() {
            Ok(event) => event.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Counts the catalogued files a query read in the archive's read log, once per query.
fn count_reads(root: &Path, stats: &mut QueryStats) {
    if stats.reads_counted.is_some() {
        return;
    }
    let catalogued: Vec<String> = stats
        .read
        .iter()
        .filter(|p| !p.starts_with("hot (unsealed)"))
        .cloned()
        .collect();
    let done = ReadLog::new(root).record(&catalogued, Timestamp::now());
    stats.reads_counted = Some(done.is_ok());
}

/// The event time of a JSONL line, read without decoding it: the integer after the first
/// `"ts":` (a key: inside a JSON string a quote is escaped, so the pattern cannot start there).
/// `None` when it is not there as expected; the line is then decoded whole.
fn peek_ts(line: &[u8]) -> Option<i64> {
    let at = memchr::memmem::find(line, b"\"ts\":")? + 5;
    let rest = line.get(at..)?;
    let (negative, digits) = match rest.first()? {
        b'-' => (true, &rest[1..]),
        _ => (false, rest),
    };
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 || end > 19 {
        return None;
    }
    let mut v: i64 = 0;
    for &d in &digits[..end] {
        v = v.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
    }
    Some(if negative { -v } else { v })
}

/// Events handed from the blocking thread to an async reader at a time, at most: what a
/// [`QueryStream`] holds beyond the engine's own.
pub const STREAM_BUFFER: usize = 1024;

/// The items of a query for async callers: a `futures` stream fed by the query running on a
/// blocking thread of the caller's tokio runtime, through a bounded channel (a slow reader holds
/// the query back; memory stays bounded). Dropping it stops the query at its next item.
/// [`QueryStream`] carries events ([`QueryEngine::stream`]), [`BatchStream`] record batches
/// ([`QueryEngine::batch_stream`]).
#[derive(Debug)]
pub struct Fed<T> {
    items: tokio::sync::mpsc::Receiver<Result<T>>,
}

/// The events of a query for async callers, [`STREAM_BUFFER`] at most in flight.
pub type QueryStream = Fed<Event>;

/// The record batches of a columnar query for async callers ([`Batches`]), at most
/// [`BATCH_STREAM_BUFFER`] in flight.
pub type BatchStream = Fed<arrow_array::RecordBatch>;

/// Batches handed from the blocking thread to an async reader at a time, at most.
pub const BATCH_STREAM_BUFFER: usize = 4;

impl<T> futures::Stream for Fed<T> {
    type Item = Result<T>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<T>>> {
        self.items.poll_recv(cx)
    }
}

/// What a fed query does: hands each item to `send` until it returns `false` (the reader has
/// gone).
type Produce<T> = fn(&QueryEngine, &Query, &mut dyn FnMut(Result<T>) -> bool);

/// Hands every item of a query (or its error) to `send`, until `send` returns `false`.
fn send_all<T>(
    items: Result<impl Iterator<Item = Result<T>>>,
    send: &mut dyn FnMut(Result<T>) -> bool,
) {
    match items {
        Ok(items) => {
            for item in items {
                if !send(item) {
                    break;
                }
            }
        }
        Err(e) => {
            send(Err(e));
        }
    }
}

/// Runs `produce` over `engine` on a blocking thread of the current tokio runtime, handing each
/// item to the returned stream; an error or a panic comes as the stream's last item.
fn feed<T: Send + 'static>(
    engine: QueryEngine,
    query: Query,
    buffer: usize,
    produce: Produce<T>,
) -> Fed<T> {
    let (tx, rx) = tokio::sync::mpsc::channel(buffer);
    tokio::task::spawn_blocking(move || {
        let run = std::panic::AssertUnwindSafe(|| {
            produce(&engine, &query, &mut |item| tx.blocking_send(item).is_ok());
        });
        // A panic must not look like the end of the query.
        if let Err(panic) = std::panic::catch_unwind(run) {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let _ = tx.blocking_send(Err(Error::Damaged {
                path: "query".into(),
                message: format!("the query stopped unexpectedly: {why}"),
            }));
        }
        // The engine (and its runtime) goes here, off the async threads.
        drop(engine);
    });
    Fed { items: rx }
}

impl QueryEngine {
    /// [`run`](Self::run) as a stream for async callers (a tokio service): the engine moves to
    /// a blocking thread of the current tokio runtime, which it must be called in. Errors come
    /// as the stream's items; the stream ends after one.
    pub fn stream(self, query: Query) -> QueryStream {
        feed(self, query, STREAM_BUFFER, |engine, query, send| {
            send_all(engine.run(query), send)
        })
    }

    /// [`batches`](Self::batches) as a stream for async callers, as [`stream`](Self::stream)
    /// does for events.
    pub fn batch_stream(self, query: Query) -> BatchStream {
        feed(self, query, BATCH_STREAM_BUFFER, |engine, query, send| {
            send_all(engine.batches(query), send)
        })
    }
}

/// An unsealed segment's complete lines (a line the writer is still appending is left out);
/// `None` when the segment is gone (sealed meanwhile).
fn read_segment(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(mut bytes) => {
            let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            bytes.truncate(end);
            Ok(Some(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The time read without decoding is the event's, for any event strata writes.
        #[test]
        fn the_time_of_a_line_is_read_without_decoding_it(event in strata_model::strategy::event()) {
            let mut line = Vec::new();
            jsonl::encode_into(&event, &mut line).unwrap();
            prop_assert_eq!(peek_ts(&line), Some(event.event_time.as_nanos()));
        }
    }

    #[test]
    fn a_line_without_a_readable_time_is_decoded_whole() {
        for line in [
            &b"{}"[..],
            b"{\"ts\":\"x\"}",
            b"{\"ts\":}",
            b"{\"ts\":99999999999999999999}",
        ] {
            assert_eq!(peek_ts(line), None, "{}", String::from_utf8_lossy(line));
        }
        assert_eq!(peek_ts(b"{\"recv_ts\":5,\"ts\":-7}"), Some(-7));
    }
}
