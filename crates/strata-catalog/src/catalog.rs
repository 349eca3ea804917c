//! The `_catalog/` folder (CAT-1) and its SQLite index (CAT-2).
//!
//! ```text
//! <root>/_catalog/
//!   sources.json          the source registry   (Catalog::write_registries)
//!   symbols.json          the symbol registry   (Catalog::write_registries)
//!   schemas/jsonl-v1.md   the JSONL v1 event schema (docs/SCHEMA.md)
//!   schemas/manifest-v1.md  the sidecar manifest format
//!   index.sqlite          the index: files, per-file slices, hours, lineage (WAL mode)
//!   manifest.jsonl        every registered file's manifest, one per line (Catalog::export_manifest)
//! ```
//!
//! The index is derived data: [`Catalog::rebuild`] recreates it from the sidecars alone, and
//! [`Catalog::dump`] prints every row canonically so two indexes can be compared.
//!
//! # Tables
//!
//! - `files`: one row per data file, keyed by its archive-relative path, with the columns
//!   queries filter and add on (tier, size, counts, times) and the whole manifest as JSON, so
//!   [`Catalog::find`] returns [`FileManifest`]s.
//! - `file_slices`: one row per (file, symbol, source, kind, UTC date) with events and
//!   first/last event time, from [`FileStats::slices`](crate::FileStats::slices): queries by
//!   symbol, kind, source and time stay exact when a file holds several of each.
//! - `file_hours`: events per (file, UTC hour), from
//!   [`FileStats::events_by_hour`](crate::FileStats::events_by_hour).
//! - `lineage`: the parents of derived files (CAT-3), indexed by parent.
//! - `meta`: the index schema version; an index of another version is dropped and recreated
//!   empty on open (run [`Catalog::rebuild`] to fill it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::NaiveDate;
use rusqlite::types::ValueRef;
// Immediate transactions take the write lock up front, so a busy index makes them wait
// (busy_timeout) instead of failing when a read would have to upgrade to a write.
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use strata_core::policy::TierName;
use strata_model::{EventKind, SourceInfo, SourceRegistry, SymbolInfo, SymbolRegistry, Timestamp};

use crate::manifest::{
    encode_manifest, read_sidecar, relative_archive_path, FileManifest, RESERVED_ROOT_FOLDERS,
    SIDECAR_SUFFIX,
};
use crate::{fsio, Error, ManifestError, Result};

/// The catalog folder under the archive root.
pub const CATALOG_DIR: &str = "_catalog";
/// The index file in [`CATALOG_DIR`].
pub const INDEX_FILE: &str = "index.sqlite";
/// The manifest list in [`CATALOG_DIR`].
pub const MANIFEST_LIST_FILE: &str = "manifest.jsonl";
/// The source registry in [`CATALOG_DIR`].
pub const SOURCES_FILE: &str = "sources.json";
/// The symbol registry in [`CATALOG_DIR`].
pub const SYMBOLS_FILE: &str = "symbols.json";

/// Bumped whenever the tables change; an index of another version is recreated on open.
const INDEX_SCHEMA_VERSION: &str = "1";

/// The schemas folder's files: name → content.
const SCHEMA_FILES: &[(&str, &str)] = &[
    // The one description of JSONL v1 lives in docs/SCHEMA.md; the archive carries a copy.
    ("jsonl-v1.md", include_str!("../../../docs/SCHEMA.md")),
    ("manifest-v1.md", include_str!("manifest-v1.md")),
];

const CREATE_TABLES: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    tier TEXT NOT NULL,
    format TEXT NOT NULL,
    codec TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    event_count INTEGER NOT NULL,
    first_event_time INTEGER,
    last_event_time INTEGER,
    quality_score REAL,
    sealed_at INTEGER NOT NULL,
    session_id TEXT,
    seal_reason TEXT NOT NULL,
    manifest_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS files_by_time ON files (first_event_time, path);
CREATE INDEX IF NOT EXISTS files_by_tier ON files (tier);
CREATE TABLE IF NOT EXISTS file_slices (
    path TEXT NOT NULL REFERENCES files (path) ON DELETE CASCADE,
    symbol TEXT NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    date TEXT NOT NULL,
    events INTEGER NOT NULL,
    first_event_time INTEGER NOT NULL,
    last_event_time INTEGER NOT NULL,
    PRIMARY KEY (path, symbol, source, kind, date)
);
CREATE INDEX IF NOT EXISTS slices_by_symbol ON file_slices (symbol, source, kind, date);
CREATE INDEX IF NOT EXISTS slices_by_kind ON file_slices (kind, source);
CREATE TABLE IF NOT EXISTS file_hours (
    path TEXT NOT NULL REFERENCES files (path) ON DELETE CASCADE,
    hour TEXT NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (path, hour)
);
CREATE TABLE IF NOT EXISTS lineage (
    path TEXT NOT NULL REFERENCES files (path) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    parent_path TEXT NOT NULL,
    parent_sha256 TEXT NOT NULL,
    operation TEXT NOT NULL,
    PRIMARY KEY (path, position)
);
CREATE INDEX IF NOT EXISTS lineage_by_parent ON lineage (parent_path);
";

/// Children first, so foreign keys never dangle.
const DROP_TABLES: &str = "
DROP TABLE IF EXISTS lineage;
DROP TABLE IF EXISTS file_hours;
DROP TABLE IF EXISTS file_slices;
DROP TABLE IF EXISTS files;
DROP TABLE IF EXISTS meta;
";

/// Every table, in the order [`Catalog::dump`] prints them.
const TABLES: &[&str] = &["meta", "files", "file_slices", "file_hours", "lineage"];

/// Which files [`Catalog::find`] returns. Every field is optional; an empty query returns every
/// file.
///
/// Symbol, kind and source match exactly, and together with the time range they must all hold
/// for the *same* slice of a file (the same symbol, source, kind and date), so a file holding
/// AAPL trades and MSFT quotes is not found by "AAPL quotes".
///
/// The time range is half-open, like [`Period`](strata_core::layout::Period)s: a slice
/// matches when its `[first, last]` event times overlap `[from, to)`, that is
/// `last >= from && first < to`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileQuery {
    /// Canonical symbol.
    pub symbol: Option<String>,
    /// Event kind.
    pub kind: Option<EventKind>,
    /// Source id.
    pub source: Option<String>,
    /// Tier.
    pub tier: Option<TierName>,
    /// Start of the time range (inclusive).
    pub from: Option<Timestamp>,
    /// End of the time range (exclusive).
    pub to: Option<Timestamp>,
}

impl FileQuery {
    /// Every file.
    pub fn all() -> FileQuery {
        FileQuery::default()
    }

    /// Only files holding `symbol`.
    pub fn symbol(mut self, symbol: impl Into<String>) -> FileQuery {
        self.symbol = Some(symbol.into());
        self
    }

    /// Only files holding events of `kind`.
    pub fn kind(mut self, kind: EventKind) -> FileQuery {
        self.kind = Some(kind);
        self
    }

    /// Only files holding events from `source`.
    pub fn source(mut self, source: impl Into<String>) -> FileQuery {
        self.source = Some(source.into());
        self
    }

    /// Only files in `tier`.
    pub fn tier(mut self, tier: TierName) -> FileQuery {
        self.tier = Some(tier);
        self
    }

    /// Only files with events in `[from, to)`.
    pub fn between(mut self, from: Timestamp, to: Timestamp) -> FileQuery {
        self.from = Some(from);
        self.to = Some(to);
        self
    }
}

/// Events of one symbol from one source on one UTC date, across files, kinds and tiers
/// ([`Catalog::coverage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageRow {
    /// UTC date.
    pub date: NaiveDate,
    /// Source id.
    pub source: String,
    /// Events that day.
    pub events: u64,
    /// Earliest event time that day.
    pub first: Timestamp,
    /// Latest event time that day.
    pub last: Timestamp,
}

/// What [`Catalog::totals`] groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Facet {
    /// UTC date of the events (`2024-01-15`).
    Date,
    /// Event kind (`trade`).
    Kind,
    /// Source id.
    Source,
    /// Symbol.
    Symbol,
    /// UTC hour of the events (`2024-01-15T13`).
    Hour,
    /// UTC hour of day of the events, all dates together (`00` … `23`).
    HourOfDay,
    /// Tier (`hot`, `warm`, `cold`, `archive`), hottest first.
    Tier,
}

/// One group of [`Catalog::totals`].
///
/// `events` counts the events with that value exactly. `files` and `bytes` count the files
/// holding any such event, whole: a file holding two symbols counts in both symbols' groups,
/// so `files` and `bytes` may add up to more than the catalog holds (except for
/// [`Facet::Tier`], where every file is in one group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetTotal {
    /// The facet's value (`2024-01-15`, `trade`, `nasdaq`, `hot`, …).
    pub value: String,
    /// Events with that value.
    pub events: u64,
    /// Files holding such events.
    pub files: u64,
    /// Size of those files.
    pub bytes: u64,
}

/// Files, events and bytes of one tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TierTotals {
    /// Files.
    pub files: u64,
    /// Events.
    pub events: u64,
    /// Bytes as stored.
    pub bytes: u64,
}

/// What the catalog holds ([`Catalog::stats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogStats {
    /// Files.
    pub files: u64,
    /// Events.
    pub events: u64,
    /// Bytes as stored.
    pub bytes: u64,
    /// The same per tier (tiers without files are left out).
    pub by_tier: BTreeMap<TierName, TierTotals>,
}

/// A sidecar [`Catalog::rebuild`] could not use.
#[derive(Debug)]
pub struct RebuildProblem {
    /// The sidecar (or folder) concerned.
    pub path: PathBuf,
    /// What is wrong with it.
    pub error: Error,
}

/// What [`Catalog::rebuild`] did.
///
/// A sidecar that cannot be read or does not describe the file beside it does not stop the
/// rebuild: it is listed in `problems` (with its path and the reason) and left out of the
/// index, and every other sidecar is indexed. A sidecar whose data file is missing is indexed
/// (the sidecar is the truth) and listed in `missing_data`, for the health check to act on.
#[derive(Debug, Default)]
pub struct RebuildReport {
    /// Sidecars found under the root.
    pub sidecars_found: usize,
    /// Files now in the index.
    pub registered: usize,
    /// Sidecars (or unreadable folders) left out, with the reason.
    pub problems: Vec<RebuildProblem>,
    /// Archive-relative paths of indexed files whose data file does not exist.
    pub missing_data: Vec<String>,
}

/// The `_catalog/` folder of an archive and its SQLite index. `Send + Sync`: share it between
/// threads behind an `Arc`; calls are serialized on one connection.
#[derive(Debug)]
pub struct Catalog {
    root: PathBuf,
    dir: PathBuf,
    conn: Mutex<Connection>,
}

/// A count or size as an SQLite integer (i64); larger values are refused, not wrapped.
fn sql_count(field: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| {
        Error::Manifest(ManifestError::Invalid {
            field,
            value: value.to_string(),
            reason: "too large for the index (at most 2^63 - 1)",
        })
    })
}

/// An SQLite integer read back as a count (never negative: only `sql_count` writes them).
fn count_from_sql(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Writes `content` to `path` unless it already holds exactly that.
fn write_if_changed(path: &Path, content: &[u8]) -> Result<()> {
    match fs::read(path) {
        Ok(existing) if existing == content => Ok(()),
        _ => fsio::write_atomic(path, content),
    }
}

fn to_pretty_json<T: serde::Serialize>(what: &str, value: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| Error::Json {
        what: what.to_string(),
        source,
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Opens (creating) the index in WAL mode with the catalog's settings.
fn open_index(index: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(index)?;
    // First, so that a catalog opened while another process writes it waits instead of failing
    // with "database is locked".
    conn.busy_timeout(INDEX_BUSY_TIMEOUT)?;
    let mode = switch_to_wal(&conn)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "journal_mode is `{mode}`, WAL could not be enabled"
        )));
    }
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

/// How long an index operation waits for another connection's lock before it fails.
const INDEX_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Sets the index's journal mode to WAL and returns the mode it is in. Switching a new index
/// needs an exclusive lock, and SQLite refuses that at once with `SQLITE_BUSY`, without calling
/// the busy handler, when another connection holds a shared lock and wants the same (as when
/// several processes open a new archive together); so a busy answer is retried here, with
/// backoff, for up to [`INDEX_BUSY_TIMEOUT`].
fn switch_to_wal(conn: &Connection) -> rusqlite::Result<String> {
    let began = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        }) {
            Err(e) if is_busy(&e) && began.elapsed() < INDEX_BUSY_TIMEOUT => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
            answer => return answer,
        }
    }
}

/// True for SQLite's "database is locked" answers (`SQLITE_BUSY`, `SQLITE_LOCKED`).
fn is_busy(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode;
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

/// True for SQLite errors that mean a reader cannot share the index the usual way (it cannot
/// create the WAL's `-shm` file in a folder it may only read).
fn cannot_share(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode;
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, ErrorCode::CannotOpen | ErrorCode::ReadOnly))
}

/// `path` for a `file:` URI: `%`, `?` and `#` (which end or escape the path) percent-encoded.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.display().to_string().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// True for SQLite errors that mean the file is no usable index.
fn is_damage(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode;
    match e {
        rusqlite::Error::SqliteFailure(f, _) => {
            matches!(f.code, ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
        }
        rusqlite::Error::InvalidParameterName(m) => m.contains("schema version"),
        _ => false,
    }
}

/// [`Error::IndexDamaged`] when `e` says the index is damaged, else the plain SQLite error.
fn damaged_or(index: &Path, e: rusqlite::Error) -> Error {
    if is_damage(&e) {
        Error::IndexDamaged {
            path: index.to_path_buf(),
            reason: e.to_string(),
        }
    } else {
        Error::sqlite(format!("open {}", index.display()), e)
    }
}

/// [`damaged_or`] for an error that already is a catalog error.
fn damaged_or_catalog(index: &Path, e: Error) -> Error {
    match e {
        Error::Sqlite { source, .. } if is_damage(&source) => Error::IndexDamaged {
            path: index.to_path_buf(),
            reason: source.to_string(),
        },
        other => other,
    }
}

impl Catalog {
    /// Opens the catalog of the archive at `root`, creating what is missing: the `_catalog/`
    /// folder, empty `sources.json` and `symbols.json`, the `schemas/` files and the index
    /// (in WAL mode). An index of another schema version is recreated empty; fill it with
    /// [`rebuild`](Self::rebuild).
    pub fn open(root: impl AsRef<Path>) -> Result<Catalog> {
        let root = root.as_ref().to_path_buf();
        let dir = root.join(CATALOG_DIR);
        let schemas = dir.join("schemas");
        fs::create_dir_all(&schemas).map_err(|e| Error::io(&schemas, e))?;
        for name in [SOURCES_FILE, SYMBOLS_FILE] {
            let path = dir.join(name);
            if !path.exists() {
                fsio::write_atomic(&path, b"[]\n")?;
            }
        }
        for (name, content) in SCHEMA_FILES {
            write_if_changed(&schemas.join(name), content.as_bytes())?;
        }

        let index = dir.join(INDEX_FILE);
        let conn = open_index(&index).map_err(|e| damaged_or(&index, e))?;
        let catalog = Catalog {
            root,
            dir,
            conn: Mutex::new(conn),
        };
        catalog
            .prepare_schema()
            .map_err(|e| damaged_or_catalog(&index, e))?;
        Ok(catalog)
    }

    /// Opens the catalog of the archive at `root` for reading only: nothing is created or
    /// written, and an archive on a read-only disk (or folder) works. The index must exist
    /// ([`Error::IndexMissing`] otherwise) and be readable ([`Error::IndexDamaged`]); writes
    /// through the returned catalog fail.
    pub fn open_read_only(root: impl AsRef<Path>) -> Result<Catalog> {
        use rusqlite::OpenFlags;
        let root = root.as_ref().to_path_buf();
        let dir = root.join(CATALOG_DIR);
        let index = dir.join(INDEX_FILE);
        if !index.exists() {
            return Err(Error::IndexMissing { path: index });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
        let check = |conn: Connection| -> rusqlite::Result<Connection> {
            conn.busy_timeout(INDEX_BUSY_TIMEOUT)?;
            let version: Option<String> = conn
                .query_row(
                    "SELECT value FROM meta WHERE key = 'index_schema_version'",
                    [],
                    |row| row.get(0),
                )
                .optional()?;
            if version.as_deref() != Some(INDEX_SCHEMA_VERSION) {
                return Err(rusqlite::Error::InvalidParameterName(format!(
                    "index schema version {version:?}, this build reads {INDEX_SCHEMA_VERSION}"
                )));
            }
            Ok(conn)
        };
        // A WAL index needs its `-shm` file; in a folder the reader cannot write, SQLite can
        // still read the index as an immutable file (no writer can be running there anyway).
        let conn = match Connection::open_with_flags(&index, flags).and_then(check) {
            Ok(conn) => conn,
            Err(e) if cannot_share(&e) => {
                let uri = format!("file:{}?immutable=1", uri_path(&index));
                Connection::open_with_flags(uri, flags)
                    .and_then(check)
                    .map_err(|e| damaged_or(&index, e))?
            }
            Err(e) => return Err(damaged_or(&index, e)),
        };
        Ok(Catalog {
            root,
            dir,
            conn: Mutex::new(conn),
        })
    }

    /// Opens the catalog for [`rebuild`](Self::rebuild): like [`open`](Self::open), but a
    /// damaged index is first moved aside (to `index.sqlite.damaged-<time>`, with its `-wal` and
    /// `-shm` files) and a new, empty one created. Returns the catalog and where the damaged
    /// index went.
    pub fn open_for_rebuild(root: impl AsRef<Path>) -> Result<(Catalog, Option<PathBuf>)> {
        let root = root.as_ref();
        match Catalog::open(root) {
            Ok(catalog) => Ok((catalog, None)),
            Err(Error::IndexDamaged { path, .. }) => {
                let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
                let aside = PathBuf::from(format!("{}.damaged-{stamp}", path.display()));
                fs::rename(&path, &aside).map_err(|e| Error::io(&path, e))?;
                for ext in ["-wal", "-shm"] {
                    let side = PathBuf::from(format!("{}{ext}", path.display()));
                    if side.exists() {
                        let to = PathBuf::from(format!("{}{ext}", aside.display()));
                        fs::rename(&side, &to).map_err(|e| Error::io(&side, e))?;
                    }
                }
                Ok((Catalog::open(root)?, Some(aside)))
            }
            Err(e) => Err(e),
        }
    }

    /// Creates the tables, or recreates them empty when the index has another schema version.
    fn prepare_schema(&self) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| Error::sqlite("prepare schema", e))?;
        let has_meta: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
                [],
                |row| row.get(0),
            )
            .map_err(|e| Error::sqlite("prepare schema", e))?;
        let version: Option<String> = if has_meta {
            tx.query_row(
                "SELECT value FROM meta WHERE key = 'index_schema_version'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| Error::sqlite("prepare schema", e))?
        } else {
            None
        };
        if version.as_deref() != Some(INDEX_SCHEMA_VERSION) {
            create_schema(&tx, true).map_err(|e| Error::sqlite("prepare schema", e))?;
        }
        tx.commit().map_err(|e| Error::sqlite("prepare schema", e))
    }

    /// The connection; a poisoned lock is taken over, because a panic inside a transaction
    /// rolls it back when the transaction is dropped, leaving the database consistent.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The archive root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The `_catalog/` folder.
    pub fn catalog_dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the source and symbol registries to `sources.json` and `symbols.json`
    /// (pretty JSON arrays, atomically), after checking them as
    /// [`SourceRegistry::new`] and [`SymbolRegistry::new`] do (unique ids, no alias naming two
    /// symbols).
    pub fn write_registries(&self, sources: &[SourceInfo], symbols: &[SymbolInfo]) -> Result<()> {
        let sources_path = self.dir.join(SOURCES_FILE);
        let symbols_path = self.dir.join(SYMBOLS_FILE);
        SourceRegistry::new(sources.to_vec()).map_err(|source| Error::Registry {
            file: sources_path.clone(),
            source,
        })?;
        // Contracts learned from imported data (`add_symbols`) stay; the config's entries
        // take precedence over them.
        let mut symbols = symbols.to_vec();
        if let Ok(bytes) = fs::read(&symbols_path) {
            if let Ok(existing) = serde_json::from_slice::<Vec<SymbolInfo>>(&bytes) {
                // A configured entry (an alias, say) keeps what imports learned of the contract
                // when it says nothing of it itself.
                for s in &mut symbols {
                    if let Some(learned) = existing.iter().find(|e| e.symbol == s.symbol) {
                        if s.contract.is_none() {
                            s.contract = learned.contract.clone();
                        }
                        if s.contract_month.is_none() {
                            s.contract_month = learned.contract_month;
                        }
                    }
                }
                let configured: std::collections::HashSet<String> =
                    symbols.iter().map(|s| s.symbol.clone()).collect();
                symbols.extend(
                    existing
                        .into_iter()
                        .filter(|s| s.contract.is_some() && !configured.contains(&s.symbol)),
                );
            }
        }
        let symbols = &symbols[..];
        SymbolRegistry::new(symbols.to_vec()).map_err(|source| Error::Registry {
            file: symbols_path.clone(),
            source,
        })?;
        // Unchanged registries are left alone: every `Archive::open` (each CLI command) calls
        // this, and rewriting identical files would cost fsyncs and fail on read-only archives.
        write_if_changed(
            &sources_path,
            &to_pretty_json("the source registry", &sources)?,
        )?;
        write_if_changed(
            &symbols_path,
            &to_pretty_json("the symbol registry", &symbols)?,
        )
    }

    /// Adds instruments learned from data (the futures and options contracts an import
    /// described) to `symbols.json`: an entry whose symbol is already there keeps what it says
    /// (the config's entries and earlier imports win) and gains what it did not say yet (a
    /// contract month, an option's style). Returns how many were added.
    pub fn add_symbols(&self, learned: &[SymbolInfo]) -> Result<usize> {
        if learned.is_empty() {
            return Ok(0);
        }
        let (_, mut symbols) = self.read_registries()?;
        let known: std::collections::HashSet<String> =
            symbols.iter().map(|s| s.symbol.clone()).collect();
        let before = symbols.len();
        let mut added = std::collections::HashSet::new();
        let mut completed = false;
        for info in learned {
            if !known.contains(&info.symbol) && added.insert(info.symbol.clone()) {
                symbols.push(info.clone());
            } else if let Some(entry) = symbols.iter_mut().find(|s| s.symbol == info.symbol) {
                // What an entry did not say yet (a contract month or an option's style
                // learned by a later import) is added; nothing it says is replaced.
                if entry.contract_month.is_none() && info.contract_month.is_some() {
                    entry.contract_month = info.contract_month;
                    completed = true;
                }
                if let (Some(c), Some(style)) = (
                    entry.contract.as_mut(),
                    info.contract.as_ref().and_then(|c| c.style),
                ) {
                    if c.style.is_none() {
                        c.style = Some(style);
                        completed = true;
                    }
                }
            }
        }
        if symbols.len() == before && !completed {
            return Ok(0);
        }
        let symbols_path = self.dir.join(SYMBOLS_FILE);
        SymbolRegistry::new(symbols.clone()).map_err(|source| Error::Registry {
            file: symbols_path.clone(),
            source,
        })?;
        write_if_changed(
            &symbols_path,
            &to_pretty_json("the symbol registry", &symbols)?,
        )?;
        Ok(symbols.len() - before)
    }

    /// Reads `sources.json` and `symbols.json` back.
    pub fn read_registries(&self) -> Result<(Vec<SourceInfo>, Vec<SymbolInfo>)> {
        fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
            let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
            serde_json::from_slice(&bytes).map_err(|e| {
                Error::io(
                    path,
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                )
            })
        }
        Ok((
            read(&self.dir.join(SOURCES_FILE))?,
            read(&self.dir.join(SYMBOLS_FILE))?,
        ))
    }

    /// Adds a file to the index, or replaces the entry with the same path, in one transaction.
    /// The manifest is checked first ([`FileManifest::validate`]).
    pub fn register(&self, manifest: &FileManifest) -> Result<()> {
        manifest.validate()?;
        let json = encode_manifest(manifest)?;
        let op = || format!("register {}", manifest.path);
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| Error::sqlite(op(), e))?;
        insert_manifest(&tx, manifest, &json)?;
        tx.commit().map_err(|e| Error::sqlite(op(), e))
    }

    /// Removes a file from the index; `false` when it was not there.
    pub fn remove(&self, path: &str) -> Result<bool> {
        let removed = self
            .conn()
            .execute("DELETE FROM files WHERE path = ?1", [path])
            .map_err(|e| Error::sqlite(format!("remove {path}"), e))?;
        Ok(removed > 0)
    }

    /// The manifest of the file at `path` (archive-relative), if registered.
    pub fn get(&self, path: &str) -> Result<Option<FileManifest>> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "SELECT manifest_json FROM files WHERE path = ?1",
                [path],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| Error::sqlite(format!("get {path}"), e))?;
        json.map(|json| manifest_from_row(path, &json)).transpose()
    }

    /// True when the index has a file at `path` (cheaper than [`Catalog::get`]: no manifest is
    /// parsed).
    pub fn contains(&self, path: &str) -> Result<bool> {
        self.conn()
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM files WHERE path = ?1)",
                [path],
                |row| row.get::<_, bool>(0),
            )
            .map_err(|e| Error::sqlite(format!("contains {path}"), e))
    }

    /// The files matching `query`, ordered by first event time (files without events first),
    /// then path.
    pub fn find(&self, query: &FileQuery) -> Result<Vec<FileManifest>> {
        let slice_filter = query.symbol.is_some()
            || query.kind.is_some()
            || query.source.is_some()
            || query.from.is_some()
            || query.to.is_some();
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT f.path, f.manifest_json FROM files f
                 WHERE (?1 IS NULL OR f.tier = ?1)
                   AND (?2 = 0 OR EXISTS (
                        SELECT 1 FROM file_slices s
                        WHERE s.path = f.path
                          AND (?3 IS NULL OR s.symbol = ?3)
                          AND (?4 IS NULL OR s.kind = ?4)
                          AND (?5 IS NULL OR s.source = ?5)
                          AND (?6 IS NULL OR s.last_event_time >= ?6)
                          AND (?7 IS NULL OR s.first_event_time < ?7)))
                 ORDER BY f.first_event_time, f.path",
            )
            .map_err(|e| Error::sqlite("find", e))?;
        let rows = stmt
            .query_map(
                params![
                    query.tier.map(TierName::as_str),
                    slice_filter,
                    query.symbol,
                    query.kind.map(EventKind::as_str),
                    query.source,
                    query.from.map(Timestamp::as_nanos),
                    query.to.map(Timestamp::as_nanos),
                ],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
            )
            .map_err(|e| Error::sqlite("find", e))?;
        let mut found = Vec::new();
        for row in rows {
            let (path, json) = row.map_err(|e| Error::sqlite("find", e))?;
            found.push(manifest_from_row(&path, &json)?);
        }
        Ok(found)
    }

    /// Per UTC date and source: the events of `symbol` (all kinds and tiers together) and
    /// their first and last event time, ordered by date then source. `source` narrows to one
    /// source.
    pub fn coverage(&self, symbol: &str, source: Option<&str>) -> Result<Vec<CoverageRow>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT date, source, SUM(events), MIN(first_event_time), MAX(last_event_time)
                 FROM file_slices
                 WHERE symbol = ?1 AND (?2 IS NULL OR source = ?2)
                 GROUP BY date, source
                 ORDER BY date, source",
            )
            .map_err(|e| Error::sqlite("coverage", e))?;
        let rows = stmt
            .query_map(params![symbol, source], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, i64>(4)?,
                ))
            })
            .map_err(|e| Error::sqlite("coverage", e))?;
        let mut coverage = Vec::new();
        for row in rows {
            let (date, source, events, first, last) =
                row.map_err(|e| Error::sqlite("coverage", e))?;
            let date = date.parse::<NaiveDate>().map_err(|_| {
                Error::sqlite(
                    "coverage",
                    rusqlite::Error::InvalidColumnType(
                        0,
                        format!("date `{date}`"),
                        rusqlite::types::Type::Text,
                    ),
                )
            })?;
            coverage.push(CoverageRow {
                date,
                source,
                events: count_from_sql(events),
                first: Timestamp::from_nanos(first),
                last: Timestamp::from_nanos(last),
            });
        }
        Ok(coverage)
    }

    /// Events, files and bytes per value of `facet` (see [`FacetTotal`] for how files holding
    /// several values count), ordered by value (tiers hottest first).
    pub fn totals(&self, facet: Facet) -> Result<Vec<FacetTotal>> {
        let sql = match facet {
            Facet::Tier => "SELECT tier, SUM(event_count), COUNT(*), SUM(size_bytes) FROM files
                 GROUP BY tier
                 ORDER BY CASE tier WHEN 'hot' THEN 0 WHEN 'warm' THEN 1 WHEN 'cold' THEN 2
                                    WHEN 'archive' THEN 3 ELSE 4 END, tier"
                .to_string(),
            _ => {
                let (table, column) = match facet {
                    Facet::Date => ("file_slices", "date"),
                    Facet::Kind => ("file_slices", "kind"),
                    Facet::Source => ("file_slices", "source"),
                    Facet::Symbol => ("file_slices", "symbol"),
                    Facet::Hour => ("file_hours", "hour"),
                    Facet::HourOfDay | Facet::Tier => ("file_hours", "substr(hour, 12, 2)"),
                };
                // Per value and file first, so each file's size counts once per value.
                format!(
                    "SELECT g.value, SUM(g.events), COUNT(*), SUM(f.size_bytes)
                     FROM (SELECT {column} AS value, path, SUM(events) AS events
                           FROM {table} GROUP BY {column}, path) g
                     JOIN files f ON f.path = g.path
                     GROUP BY g.value
                     ORDER BY g.value"
                )
            }
        };
        let op = || format!("totals by {facet:?}");
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&sql)
            .map_err(|e| Error::sqlite(op(), e))?;
        let rows = stmt
            .query_map([], |row| {
                Ok(FacetTotal {
                    value: row.get(0)?,
                    events: count_from_sql(row.get(1)?),
                    files: count_from_sql(row.get(2)?),
                    bytes: count_from_sql(row.get(3)?),
                })
            })
            .map_err(|e| Error::sqlite(op(), e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| Error::sqlite(op(), e))
    }

    /// Files, events and bytes in the catalog, in total and per tier.
    pub fn stats(&self) -> Result<CatalogStats> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT tier, COUNT(*), SUM(event_count), SUM(size_bytes) FROM files GROUP BY tier",
            )
            .map_err(|e| Error::sqlite("stats", e))?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            })
            .map_err(|e| Error::sqlite("stats", e))?;
        let mut stats = CatalogStats::default();
        for row in rows {
            let (tier, files, events, bytes) = row.map_err(|e| Error::sqlite("stats", e))?;
            let totals = TierTotals {
                files: count_from_sql(files),
                events: count_from_sql(events),
                bytes: count_from_sql(bytes),
            };
            stats.files += totals.files;
            stats.events += totals.events;
            stats.bytes += totals.bytes;
            match tier.parse::<TierName>().ok() {
                Some(tier) => {
                    stats.by_tier.insert(tier, totals);
                }
                None => {
                    return Err(Error::sqlite(
                        "stats",
                        rusqlite::Error::InvalidColumnType(
                            0,
                            format!("tier `{tier}`"),
                            rusqlite::types::Type::Text,
                        ),
                    ))
                }
            }
        }
        Ok(stats)
    }

    /// Drops the index and recreates it from the sidecars under `data_root` alone (usually
    /// [`root`](Self::root)): every `*.manifest.json` in the tree, except under the root's
    /// `_catalog/` and `_quarantine/`; symbolic links are not followed.
    ///
    /// The tree is read first and the index replaced in one transaction, so a failed rebuild
    /// leaves the old index as it was. A sidecar that cannot be used does not stop it: see
    /// [`RebuildReport`]. Only an unreadable `data_root` is an error.
    pub fn rebuild(&self, data_root: impl AsRef<Path>) -> Result<RebuildReport> {
        let data_root = data_root.as_ref();
        let mut report = RebuildReport::default();
        let mut sidecars = Vec::new();
        find_sidecars(data_root, data_root, &mut sidecars, &mut report)?;
        sidecars.sort();
        report.sidecars_found = sidecars.len();

        let mut manifests = Vec::with_capacity(sidecars.len());
        for sidecar in sidecars {
            let manifest = match read_sidecar(&sidecar) {
                Ok(manifest) => manifest,
                Err(error) => {
                    report.problems.push(RebuildProblem {
                        path: sidecar,
                        error,
                    });
                    continue;
                }
            };
            let described = relative_archive_path(data_root, &sidecar).and_then(|p| {
                let (folder, name) = p.rsplit_once('/').unwrap_or(("", p.as_str()));
                let data = crate::manifest::data_name_of_sidecar(name)?;
                Some(if folder.is_empty() {
                    data
                } else {
                    format!("{folder}/{data}")
                })
            });
            if described.as_deref() != Some(manifest.path.as_str()) {
                report.problems.push(RebuildProblem {
                    error: Error::Sidecar {
                        path: sidecar.clone(),
                        source: ManifestError::Invalid {
                            field: "path",
                            value: manifest.path.clone(),
                            reason: "the sidecar does not sit beside the file it describes \
                                     (moved or copied without its data file?)",
                        },
                    },
                    path: sidecar,
                });
                continue;
            }
            if !manifest.data_path(data_root).exists() {
                report.missing_data.push(manifest.path.clone());
            }
            let json = encode_manifest(&manifest)?;
            manifests.push((manifest, json));
        }

        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| Error::sqlite("rebuild", e))?;
        create_schema(&tx, true).map_err(|e| Error::sqlite("rebuild", e))?;
        for (manifest, json) in &manifests {
            insert_manifest(&tx, manifest, json)?;
        }
        tx.commit().map_err(|e| Error::sqlite("rebuild", e))?;
        report.registered = manifests.len();
        Ok(report)
    }

    /// Every row of every table, sorted, one JSON array per row under a `== table ==` header:
    /// two indexes with equal dumps hold the same facts.
    pub fn dump(&self) -> Result<String> {
        let conn = self.conn();
        let mut out = String::new();
        for table in TABLES {
            let op = || format!("dump {table}");
            let columns: usize = conn
                .prepare(&format!("SELECT * FROM {table} LIMIT 0"))
                .map(|stmt| stmt.column_count())
                .map_err(|e| Error::sqlite(op(), e))?;
            let order: Vec<String> = (1..=columns).map(|i| i.to_string()).collect();
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT * FROM {table} ORDER BY {}",
                    order.join(", ")
                ))
                .map_err(|e| Error::sqlite(op(), e))?;
            let names: Vec<String> = stmt.column_names().map(str::to_string).collect();
            let _ = writeln!(out, "== {table} ({}) ==", names.join(", "));
            let mut rows = stmt.query([]).map_err(|e| Error::sqlite(op(), e))?;
            while let Some(row) = rows.next().map_err(|e| Error::sqlite(op(), e))? {
                let mut values = Vec::with_capacity(columns);
                for i in 0..columns {
                    let value = row.get_ref(i).map_err(|e| Error::sqlite(op(), e))?;
                    values.push(match value {
                        ValueRef::Null => serde_json::Value::Null,
                        ValueRef::Integer(n) => serde_json::Value::from(n),
                        ValueRef::Real(x) => serde_json::Value::from(x),
                        ValueRef::Text(t) => {
                            serde_json::Value::from(String::from_utf8_lossy(t).into_owned())
                        }
                        ValueRef::Blob(b) => serde_json::Value::from(hex::encode(b)),
                    });
                }
                let line = serde_json::to_string(&values).map_err(|source| Error::Json {
                    what: format!("a row of {table}"),
                    source,
                })?;
                out.push_str(&line);
                out.push('\n');
            }
        }
        Ok(out)
    }

    /// (Re)writes `_catalog/manifest.jsonl` from the index: one manifest per line, compact
    /// JSON, ordered by path; atomically. Returns how many manifests it holds.
    pub fn export_manifest(&self) -> Result<usize> {
        let mut out = String::new();
        let mut count = 0;
        {
            let conn = self.conn();
            let mut stmt = conn
                .prepare("SELECT path, manifest_json FROM files ORDER BY path")
                .map_err(|e| Error::sqlite("export manifest", e))?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(|e| Error::sqlite("export manifest", e))?;
            for row in rows {
                let (path, json) = row.map_err(|e| Error::sqlite("export manifest", e))?;
                // Check before publishing: a damaged row must not reach the manifest list.
                manifest_from_row(&path, &json)?;
                out.push_str(&json);
                out.push('\n');
                count += 1;
            }
        }
        fsio::write_atomic(&self.dir.join(MANIFEST_LIST_FILE), out.as_bytes())?;
        Ok(count)
    }

    /// Paths of the registered files derived from `parent_path` (CAT-3), sorted.
    pub fn derived_from(&self, parent_path: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT path FROM lineage WHERE parent_path = ?1 ORDER BY path",
            )
            .map_err(|e| Error::sqlite("derived_from", e))?;
        let rows = stmt
            .query_map([parent_path], |row| row.get::<_, String>(0))
            .map_err(|e| Error::sqlite("derived_from", e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| Error::sqlite("derived_from", e))
    }

    /// Every catalogued file made from the version of `parent_path` whose SHA-256 is
    /// `parent_sha256` (a path reused by newer data does not count), by path.
    pub fn derived_from_version(
        &self,
        parent_path: &str,
        parent_sha256: &str,
    ) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT path FROM lineage WHERE parent_path = ?1 AND parent_sha256 = ?2 \
                 ORDER BY path",
            )
            .map_err(|e| Error::sqlite("derived_from_version", e))?;
        let rows = stmt
            .query_map([parent_path, parent_sha256], |row| row.get::<_, String>(0))
            .map_err(|e| Error::sqlite("derived_from_version", e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| Error::sqlite("derived_from_version", e))
    }
}

/// Parses a manifest stored in the index; a damaged row names its path.
fn manifest_from_row(path: &str, json: &str) -> Result<FileManifest> {
    crate::manifest::parse_manifest(json.as_bytes()).map_err(|error| match error {
        Error::Manifest(source) => Error::IndexRow {
            path: path.to_string(),
            source,
        },
        other => other,
    })
}

/// Creates the tables (dropping them first when `fresh`) and records the schema version.
fn create_schema(tx: &Transaction<'_>, fresh: bool) -> rusqlite::Result<()> {
    if fresh {
        tx.execute_batch(DROP_TABLES)?;
    }
    tx.execute_batch(CREATE_TABLES)?;
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('index_schema_version', ?1)",
        [INDEX_SCHEMA_VERSION],
    )?;
    Ok(())
}

/// Replaces the rows of `manifest.path` by those of `manifest`.
fn insert_manifest(tx: &Transaction<'_>, manifest: &FileManifest, json: &str) -> Result<()> {
    let stats = &manifest.stats;
    let size_bytes = sql_count("size_bytes", manifest.size_bytes)?;
    let event_count = sql_count("stats.event_count", stats.event_count)?;
    let op = || format!("register {}", manifest.path);
    let sql = |e| Error::sqlite(op(), e);

    // Deleting first (children go by cascade) makes re-registering a path a clean upsert.
    tx.execute("DELETE FROM files WHERE path = ?1", [&manifest.path])
        .map_err(sql)?;
    tx.execute(
        "INSERT INTO files (path, tier, format, codec, size_bytes, sha256, event_count,
                            first_event_time, last_event_time, quality_score, sealed_at,
                            session_id, seal_reason, manifest_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            manifest.path,
            manifest.tier.as_str(),
            manifest.format.as_str(),
            manifest.codec.to_string(),
            size_bytes,
            manifest.sha256,
            event_count,
            stats.first_event_time.map(Timestamp::as_nanos),
            stats.last_event_time.map(Timestamp::as_nanos),
            manifest.quality_score,
            manifest.sealed_at.as_nanos(),
            manifest.session_id,
            manifest.seal_reason,
            json,
        ],
    )
    .map_err(sql)?;

    let mut slice_stmt = tx
        .prepare_cached(
            "INSERT INTO file_slices (path, symbol, source, kind, date, events,
                                      first_event_time, last_event_time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (path, symbol, source, kind, date) DO UPDATE SET
                 events = events + excluded.events,
                 first_event_time = MIN(first_event_time, excluded.first_event_time),
                 last_event_time = MAX(last_event_time, excluded.last_event_time)",
        )
        .map_err(sql)?;
    for slice in &stats.slices {
        slice_stmt
            .execute(params![
                manifest.path,
                slice.symbol,
                slice.source,
                slice.kind.as_str(),
                slice.date.format("%Y-%m-%d").to_string(),
                sql_count("stats.slices.events", slice.events)?,
                slice.first_event_time.as_nanos(),
                slice.last_event_time.as_nanos(),
            ])
            .map_err(sql)?;
    }

    let mut hour_stmt = tx
        .prepare_cached("INSERT INTO file_hours (path, hour, events) VALUES (?1, ?2, ?3)")
        .map_err(sql)?;
    for (hour, events) in &stats.events_by_hour {
        hour_stmt
            .execute(params![
                manifest.path,
                hour,
                sql_count("stats.events_by_hour", *events)?
            ])
            .map_err(sql)?;
    }

    let mut lineage_stmt = tx
        .prepare_cached(
            "INSERT INTO lineage (path, position, parent_path, parent_sha256, operation)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(sql)?;
    for (position, entry) in manifest.lineage.iter().enumerate() {
        lineage_stmt
            .execute(params![
                manifest.path,
                i64::try_from(position).unwrap_or(i64::MAX),
                entry.parent_path,
                entry.parent_sha256,
                entry.operation,
            ])
            .map_err(sql)?;
    }
    Ok(())
}

/// Collects every sidecar under `dir` (sorted later); unreadable sub-folders become problems.
fn find_sidecars(
    root: &Path,
    dir: &Path,
    found: &mut Vec<PathBuf>,
    report: &mut RebuildReport,
) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if dir == root => return Err(Error::io(dir, e)),
        Err(e) => {
            report.problems.push(RebuildProblem {
                path: dir.to_path_buf(),
                error: Error::io(dir, e),
            });
            return Ok(());
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                report.problems.push(RebuildProblem {
                    path: dir.to_path_buf(),
                    error: Error::io(dir, e),
                });
                continue;
            }
        };
        let path = entry.path();
        let file_type = match entry.file_type() {
            Ok(file_type) => file_type,
            Err(e) => {
                report.problems.push(RebuildProblem {
                    error: Error::io(&path, e),
                    path,
                });
                continue;
            }
        };
        if file_type.is_symlink() {
            // Never followed (it could point anywhere), but never passed over in silence: what
            // it hides may be data the index should list.
            report.problems.push(RebuildProblem {
                error: Error::io(
                    &path,
                    std::io::Error::other(
                        "a symbolic link inside the archive; not followed (replace it with the real file or folder)",
                    ),
                ),
                path,
            });
        } else if file_type.is_dir() {
            let reserved = dir == root
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| RESERVED_ROOT_FOLDERS.contains(&name));
            if !reserved {
                find_sidecars(root, &path, found, report)?;
            }
        } else if file_type.is_file()
            && entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.ends_with(SIDECAR_SUFFIX))
        {
            found.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Catalog>();
    }

    #[test]
    fn processes_opening_a_new_archive_at_once_all_succeed() {
        // Racing writers open a fresh archive together. Switching a new index to WAL takes an
        // exclusive lock that SQLite refuses at once (no busy wait) to a second process holding
        // a shared lock; threads of one process do not show it, so this runs real processes:
        // the test binary itself, told by the environment to open a catalog and exit.
        const CHILD: &str = "STRATA_CATALOG_OPEN_RACE_ROOT";
        if let Some(root) = std::env::var_os(CHILD) {
            match Catalog::open(&root) {
                Ok(_) => std::process::exit(0),
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            }
        }
        let exe = std::env::current_exe().unwrap();
        let mut failures = Vec::new();
        for _ in 0..25 {
            let dir = tempfile::tempdir().unwrap();
            let children: Vec<_> = (0..6)
                .map(|_| {
                    std::process::Command::new(&exe)
                        .args([
                            "--exact",
                            "catalog::tests::processes_opening_a_new_archive_at_once_all_succeed",
                            "--nocapture",
                        ])
                        .env(CHILD, dir.path())
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .unwrap()
                })
                .collect();
            for child in children {
                let out = child.wait_with_output().unwrap();
                if !out.status.success() {
                    failures.push(String::from_utf8_lossy(&out.stderr).into_owned());
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} opens failed: {failures:?}",
            failures.len()
        );
    }

    #[test]
    fn open_creates_the_folder_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(dir.path()).unwrap();
        let cat = dir.path().join(CATALOG_DIR);
        for name in [
            SOURCES_FILE,
            SYMBOLS_FILE,
            INDEX_FILE,
            "schemas/jsonl-v1.md",
            "schemas/manifest-v1.md",
        ] {
            assert!(cat.join(name).is_file(), "{name}");
        }
        let schema = fs::read_to_string(cat.join("schemas/jsonl-v1.md")).unwrap();
        let version = format!(
            "JSONL schema, version {}",
            strata_model::SchemaVersion::CURRENT
        );
        assert!(schema.contains(&version), "the archive carries {version}");
        let mode: String = catalog
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(catalog.read_registries().unwrap(), (vec![], vec![]));
        let dump = catalog.dump().unwrap();
        drop(catalog);
        assert_eq!(Catalog::open(dir.path()).unwrap().dump().unwrap(), dump);
    }

    #[test]
    fn an_index_of_another_schema_version_is_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(dir.path()).unwrap();
        catalog
            .conn()
            .execute(
                "UPDATE meta SET value = '0' WHERE key = 'index_schema_version'",
                [],
            )
            .unwrap();
        catalog
            .conn()
            .execute("CREATE TABLE leftover (x)", [])
            .unwrap();
        drop(catalog);
        let catalog = Catalog::open(dir.path()).unwrap();
        assert!(catalog
            .dump()
            .unwrap()
            .contains("[\"index_schema_version\",\"1\"]"));
    }

    #[test]
    fn registries_are_checked_and_written() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(dir.path()).unwrap();
        let sources: Vec<SourceInfo> = serde_json::from_str(
            r#"[{"id":"nasdaq","name":"Nasdaq TotalView","kind":"live","priority":10}]"#,
        )
        .unwrap();
        let symbols: Vec<SymbolInfo> = serde_json::from_str(
            r#"[{"symbol":"AAPL","aliases":["AAPL.O"],"asset_class":"equity","isin":"US0378331005"}]"#,
        )
        .unwrap();
        catalog.write_registries(&sources, &symbols).unwrap();
        assert_eq!(
            catalog.read_registries().unwrap(),
            (sources.clone(), symbols.clone())
        );
        let twice = [sources[0].clone(), sources[0].clone()];
        let err = catalog.write_registries(&twice, &symbols).unwrap_err();
        assert!(err.to_string().contains("sources.json"), "{err}");
    }

    /// A contract learned before its month was kept gets it from a later import, and an entry
    /// the config gives the contract (an alias) keeps what imports learned.
    #[test]
    fn what_imports_learn_of_a_contract_is_completed_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(dir.path()).unwrap();
        let es = strata_model::Contract::future(
            "ES",
            chrono::NaiveDate::from_ymd_opt(2013, 12, 20).unwrap(),
        );
        let mut learned = SymbolInfo::new(es.symbol(), strata_model::AssetClass::Future);
        learned.contract = Some(es.clone());
        assert_eq!(
            catalog.add_symbols(std::slice::from_ref(&learned)).unwrap(),
            1
        );
        let month = |c: &Catalog| {
            c.read_registries()
                .unwrap()
                .1
                .iter()
                .find(|s| s.symbol == "ES-20131220")
                .and_then(|s| s.contract_month)
        };
        assert_eq!(month(&catalog), None);
        learned.contract_month = Some(201312);
        catalog.add_symbols(std::slice::from_ref(&learned)).unwrap();
        assert_eq!(month(&catalog), Some(201312));
        // The config names the contract to give it an alias: the month stays.
        let mut configured = SymbolInfo::new("ES-20131220", strata_model::AssetClass::Future);
        configured.aliases = vec!["ESZ13".into()];
        catalog.write_registries(&[], &[configured]).unwrap();
        let (_, symbols) = catalog.read_registries().unwrap();
        let entry = symbols.iter().find(|s| s.symbol == "ES-20131220").unwrap();
        assert_eq!(entry.aliases, ["ESZ13"]);
        assert_eq!(entry.contract_month, Some(201312));
        assert_eq!(entry.contract.as_ref(), Some(&es));
    }
}
