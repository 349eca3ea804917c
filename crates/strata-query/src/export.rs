//! Exports (EXPORT-1, EXPORT-3, EXPORT-4): the events of a [`Query`] written to a folder as
//! JSONL or CSV (each optionally gzip) or Parquet, one file per event kind in event-time order,
//! with `manifest.json` (what was asked, each file's events, time range, digest, SHA-256 and
//! format details) and `checksums.sha256` (`sha256sum -c checksums.sha256` accepts it);
//! [`verify`] reads an export back and compares it with its manifest and with the archive.
//!
//! Prices and sizes stay exact in every format: JSONL and CSV keep the decimal text, Parquet
//! `DECIMAL(18|38, s)` (see `strata-columnar`). A Parquet export runs the query twice: once to
//! plan each kind's columns (a decimal column's scale must be known before its first row),
//! once to write them; memory stays that of the query and one row group per kind.
//!
//! The export is written into a `DIR.partial-<pid>` folder beside `DIR` (its own: two exports
//! to one `DIR` at once never share one) and renamed to `DIR` once every file, the manifest and
//! the checksums are on disk: an export stopped half-way leaves no `DIR` that looks complete
//! (and its folder is removed by the next export to `DIR`). An existing `DIR` is never written
//! into: of two exports at once, one puts its folder in place and the other fails.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use strata_columnar::{EventDigest, EventWriter, FilePlan, ParquetOptions};
use strata_model::{jsonl, Event, EventKind, Timestamp};

use crate::transform::Steps;
use crate::{Error, Query, QueryEngine, Result};

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The manifest's format: 2 since bars made on the way out are stamped at their interval's
/// end (they were at its start before).
pub const FORMAT_VERSION: u32 = 2;

/// The checksum list's file name.
pub const CHECKSUMS_FILE: &str = "checksums.sha256";
/// The Python loader snippet's file name.
pub const LOAD_PY: &str = "load.py";
/// The R loader snippet's file name.
pub const LOAD_R: &str = "load.R";

/// Python and R code that loads the files with prices and sizes as exact decimals: prints
/// each file's rows (Python: `python3 load.py`, needs pyarrow; R: `Rscript load.R`, needs the
/// `arrow` package for Parquet, `jsonlite` for JSONL).
fn loaders(format: ExportFormat, gzip: bool, files: &[ExportedFile]) -> (String, String) {
    let names: Vec<String> = files.iter().map(|f| format!("\"{}\"", f.name)).collect();
    let list = names.join(", ");
    let python_read = match format {
        ExportFormat::Parquet => "    table = pq.read_table(path)  # prices and sizes: decimal128\n",
        ExportFormat::Arrow => "    table = pa.ipc.open_file(path).read_all()  # or pandas.read_feather(path); decimal128\n",
        ExportFormat::Lean => "    # Lean's CSV rows (no header; equity prices are integers in 1/10,000)\n    with zipfile.ZipFile(path) as z:\n        table = z.read(z.namelist()[0]).decode().splitlines()\n",
        ExportFormat::Postgres | ExportFormat::Sql => "    # into the PostgreSQL database named by $DATABASE_URL (psql's defaults when unset)\n    db = [os.environ['DATABASE_URL']] if os.environ.get('DATABASE_URL') else []\n    opener = gzip.open if path.endswith('.gz') else open\n    psql = subprocess.Popen(['psql', *db, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-'], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)\n    try:\n        with opener(path, 'rb') as f:\n            shutil.copyfileobj(f, psql.stdin)\n        psql.stdin.close()\n    except BrokenPipeError:\n        pass\n    if psql.wait() != 0:\n        raise SystemExit(f'psql failed on {name}')\n    count = subprocess.run(['psql', *db, '-X', '-A', '-t', '-c', 'SELECT count(*) FROM ' + os.path.basename(name).split('.')[0]], capture_output=True, text=True, check=True).stdout\n    table = range(int(count))\n",
        ExportFormat::Csv => "    # prices and sizes as text, exact (decimal.Decimal(v) for arithmetic)\n    table = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in DECIMALS}))\n",
        ExportFormat::Jsonl => "    opener = gzip.open if path.endswith('.gz') else open\n    with opener(path, 'rt') as f:\n        rows = [json.loads(line, parse_float=decimal.Decimal) for line in f]\n    for row in rows:\n        for c in DECIMALS:\n            if c in row:\n                row[c] = decimal.Decimal(row[c])\n    table = rows\n",
    };
    let python = format!(
        "# Loads this strata export; prices and sizes stay exact decimals.\n\
         # python3 load.py  (needs pyarrow)\n\
         import decimal, gzip, json, os, shutil, subprocess, zipfile\n\
         try:\n    import pyarrow as pa, pyarrow.csv as pcsv, pyarrow.parquet as pq\n\
         except ImportError:  # only the Parquet, Arrow and CSV files need pyarrow\n    pa = pcsv = pq = None\n\n\
         HERE = os.path.dirname(os.path.abspath(__file__))\n\
         FILES = [{list}]\n\
         DECIMALS = {{'price', 'size', 'bid_price', 'bid_size', 'ask_price', 'ask_size', 'open', 'high', 'low', 'close', 'volume', 'vwap', 'open_interest'}}\n\n\
         for name in FILES:\n    path = os.path.join(HERE, name)\n{python_read}\
         \x20   print(name, len(table))\n"
    );
    let r_read = match format {
        ExportFormat::Parquet => "  table <- arrow::read_parquet(path)  # decimals as arrow decimal128\n".to_string(),
        ExportFormat::Arrow => "  table <- arrow::read_feather(path)  # decimals as arrow decimal128\n".to_string(),
        ExportFormat::Lean => "  # Lean's CSV rows, every column as text (equity prices are integers in 1/10,000)\n  table <- read.csv(unz(path, unzip(path, list = TRUE)$Name[1]), header = FALSE, colClasses = \"character\")\n".to_string(),
        ExportFormat::Postgres | ExportFormat::Sql => format!(
            "  # into the PostgreSQL database named by DATABASE_URL (psql's defaults when unset)\n  db <- if (nzchar(Sys.getenv(\"DATABASE_URL\"))) shQuote(Sys.getenv(\"DATABASE_URL\")) else \"\"\n  status <- system(paste({}, shQuote(path), \"| psql\", db, \"-X -q -v ON_ERROR_STOP=1 -f - > /dev/null\"))\n  if (status != 0) stop(paste(\"psql failed on\", path))\n  rows <- system(paste(\"psql\", db, \"-X -A -t -c\", shQuote(paste(\"SELECT count(*) FROM\", sub(\"[.].*\", \"\", basename(name))))), intern = TRUE)\n  table <- data.frame(rows = as.numeric(rows))\n  nrow <- function(t) t$rows\n",
            if gzip { "\"gzip -dc\"" } else { "\"cat\"" }
        ),
        ExportFormat::Csv => "  # every column as text: prices and sizes stay exact (convert with Rmpfr or keep as text)\n  table <- read.csv(path, colClasses = \"character\")\n".to_string(),
        ExportFormat::Jsonl => format!(
            "  # prices and sizes are JSON strings: exact as text\n  table <- jsonlite::stream_in({}(path), verbose = FALSE)\n",
            if gzip { "gzfile" } else { "file" }
        ),
    };
    let r = format!(
        "# Loads this strata export; prices and sizes stay exact (decimal or text).\n\
         # Rscript load.R\n\
         here <- tryCatch(dirname(sys.frame(1)$ofile), error = function(e) \".\")\n\
         args <- commandArgs(trailingOnly = FALSE)\n\
         file_arg <- sub(\"--file=\", \"\", args[grep(\"--file=\", args)])\n\
         if (length(file_arg) == 1) here <- dirname(file_arg)\n\
         files <- c({list})\n\
         for (name in files) {{\n  path <- file.path(here, name)\n{r_read}  cat(name, nrow(table), \"\\n\")\n}}\n"
    );
    (python, r)
}

/// An export's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// strata's JSONL, one event per line.
    Jsonl,
    /// A header and one row per event (`crate::csv`).
    Csv,
    /// Parquet as the cold tier writes it (zstd).
    Parquet,
    /// An Arrow IPC file (Feather v2, uncompressed) in the Parquet files' layout.
    Arrow,
    /// A PostgreSQL script per kind: the table's DDL and its rows as `COPY … FROM stdin`
    /// (`psql -f trade.sql`; [`crate::sql`]).
    Postgres,
    /// A SQL script per kind: the table's DDL and `INSERT` statements of 1,000 rows.
    Sql,
    /// QuantConnect Lean zips in Lean's folder layout ([`crate::lean`]).
    Lean,
}

/// A named set of export settings for one kind of user (EXPORT-2): what `strata export
/// --profile NAME` starts from (flags given beside it win). Data, so that a profile is read as
/// it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportProfile {
    /// Its name.
    pub name: String,
    /// Who it is for and what it gives.
    pub description: String,
    /// The files' format.
    pub format: ExportFormat,
    /// gzip the files.
    #[serde(default)]
    pub gzip: bool,
    /// Hive-style folders.
    #[serde(default)]
    pub partitioned: bool,
    /// SQL: TimescaleDB hypertables.
    #[serde(default)]
    pub timescaledb: bool,
    /// Drop repeated events on the way out.
    #[serde(default)]
    pub dedup: bool,
    /// Lean: the security type when none is given (`equity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lean_security: Option<String>,
}

/// The built-in profiles: `python` (pandas), `lean` (QuantConnect), `timescaledb`, `research`.
pub fn profiles() -> Vec<ExportProfile> {
    let profile = |name: &str, description: &str, format| ExportProfile {
        name: name.into(),
        description: description.into(),
        format,
        gzip: false,
        partitioned: false,
        timescaledb: false,
        dedup: false,
        lean_security: None,
    };
    vec![
        ExportProfile {
            dedup: true,
            ..profile(
                "python",
                "Python and pandas: one Parquet file per kind (pandas.read_parquet gives prices and sizes as decimal.Decimal), repeated events dropped",
                ExportFormat::Parquet,
            )
        },
        ExportProfile {
            lean_security: Some("equity".into()),
            ..profile(
                "lean",
                "QuantConnect Lean: zips in Lean's data folder layout (equity unless --lean-security says otherwise; trade bars with --bars)",
                ExportFormat::Lean,
            )
        },
        ExportProfile {
            timescaledb: true,
            ..profile(
                "timescaledb",
                "TimescaleDB: a psql script per kind, its table made a hypertable on ts, the rows as COPY",
                ExportFormat::Postgres,
            )
        },
        ExportProfile {
            partitioned: true,
            dedup: true,
            ..profile(
                "research",
                "Research: Parquet in Hive folders kind=/symbol=/date= for DuckDB, pyarrow, Polars or Spark datasets, repeated events dropped",
                ExportFormat::Parquet,
            )
        },
    ]
}

/// A built-in profile by name; the error lists the names.
pub fn profile(name: &str) -> Result<ExportProfile> {
    let all = profiles();
    all.iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .cloned()
        .ok_or_else(|| {
            Error::Selection(format!(
                "no export profile `{name}`; the profiles are: {}",
                all.iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// How an export is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// The files' format.
    pub format: ExportFormat,
    /// gzip the files (JSONL, CSV, SQL).
    pub gzip: bool,
    /// Hive-style folders, one file per kind, symbol and UTC date (not for SQL).
    pub partitioned: bool,
    /// SQL: make each table a TimescaleDB hypertable on `ts`.
    pub timescaledb: bool,
    /// Lean: the security type, market and quote resolution of the files.
    pub lean: Option<crate::lean::LeanTarget>,
    /// The profile the settings came from, recorded in the manifest.
    pub profile: Option<String>,
    /// Set (by a signal handler) to stop the export: it ends with [`Error::Stopped`] and its
    /// folder is removed.
    pub stop: Option<StopFlag>,
}

/// A flag another thread sets to stop an export.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(pub std::sync::Arc<std::sync::atomic::AtomicBool>);

impl StopFlag {
    fn check(&self) -> Result<()> {
        if self.0.load(std::sync::atomic::Ordering::Relaxed) {
            Err(Error::Stopped)
        } else {
            Ok(())
        }
    }
}

impl PartialEq for StopFlag {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StopFlag {}

impl ExportOptions {
    /// One file per kind in `format`, not compressed.
    pub fn new(format: ExportFormat) -> Self {
        ExportOptions {
            format,
            gzip: false,
            partitioned: false,
            timescaledb: false,
            lean: None,
            profile: None,
            stop: None,
        }
    }
}

impl ExportFormat {
    fn extension(self, gzip: bool) -> &'static str {
        match (self, gzip) {
            (ExportFormat::Jsonl, false) => "jsonl",
            (ExportFormat::Jsonl, true) => "jsonl.gz",
            (ExportFormat::Csv, false) => "csv",
            (ExportFormat::Csv, true) => "csv.gz",
            (ExportFormat::Parquet, _) => "parquet",
            (ExportFormat::Arrow, _) => "arrow",
            (ExportFormat::Postgres | ExportFormat::Sql, false) => "sql",
            (ExportFormat::Postgres | ExportFormat::Sql, true) => "sql.gz",
            (ExportFormat::Lean, _) => "zip",
        }
    }

    /// Whether its files are columnar (planned over their events first, never gzipped).
    pub fn columnar(self) -> bool {
        matches!(self, ExportFormat::Parquet | ExportFormat::Arrow)
    }
}

/// One exported file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedFile {
    /// Its name in the export folder.
    pub name: String,
    /// The kind of its events.
    pub kind: EventKind,
    /// Its events.
    pub events: u64,
    /// Its first and last event times.
    pub first: Option<Timestamp>,
    /// The last.
    pub last: Option<Timestamp>,
    /// The order-independent digest of its events (as the archive computes it).
    pub digest: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// Bytes.
    pub bytes: u64,
    /// Rows, when a row is not one event (Lean quote bars: one row for the quotes of an
    /// interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// The quality of what an export holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QualitySummary {
    /// Sequence numbers missing between consecutive events of one source, symbol and kind
    /// (events without sequence numbers are not counted).
    pub sequence_gaps: u64,
    /// Events identical to one before them at the same instant (`--dedup` drops them).
    pub repeated: u64,
    /// Archive files read that carry a quality score (0–100).
    pub files_scored: usize,
    /// The lowest of their scores.
    pub lowest_score: Option<f64>,
    /// Their mean.
    pub mean_score: Option<f64>,
}

/// What an export holds and how it was made (`manifest.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportManifest {
    /// `1`.
    pub format_version: u32,
    /// The files' format.
    pub format: ExportFormat,
    /// gzip-compressed (JSONL, CSV).
    pub gzip: bool,
    /// Hive-partitioned: `kind=…/symbol=…/date=…/part.<ext>`.
    #[serde(default)]
    pub partitioned: bool,
    /// SQL: each table made a TimescaleDB hypertable.
    #[serde(default)]
    pub timescaledb: bool,
    /// The profile the settings came from (EXPORT-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// What was asked.
    pub query: ExportedQuery,
    /// The transforms applied on the way out.
    #[serde(default)]
    pub steps: Steps,
    /// When it was written (UTC).
    pub created_at: Timestamp,
    /// Events in all the files.
    pub events: u64,
    /// The files, by kind.
    pub files: Vec<ExportedFile>,
    /// How each format stores values, for whoever loads the files.
    pub notes: Vec<String>,
    /// Gaps, repeats and the scores of the files read.
    #[serde(default)]
    pub quality: QualitySummary,
    /// The archive files the events came from.
    #[serde(default)]
    pub sources: Vec<String>,
}

/// Watches the events written for [`QualitySummary`].
#[derive(Default)]
struct Watch {
    last_seq: BTreeMap<(String, String, EventKind), u64>,
    instant: i64,
    at_instant: std::collections::HashSet<Vec<u8>>,
    summary: QualitySummary,
}

impl Watch {
    fn see(&mut self, e: &Event) {
        if let Some(seq) = e.sequence {
            let key = (e.source.clone(), e.symbol.clone(), e.kind());
            if let Some(last) = self.last_seq.insert(key, seq) {
                self.summary.sequence_gaps += seq.saturating_sub(last).saturating_sub(1);
            }
        }
        let ts = e.event_time.as_nanos();
        if ts != self.instant {
            self.instant = ts;
            self.at_instant.clear();
        }
        let mut line = Vec::with_capacity(256);
        // Encoding into a Vec cannot fail (see `jsonl::encode_into`).
        let _ = jsonl::encode_into(e, &mut line);
        if !self.at_instant.insert(line) {
            self.summary.repeated += 1;
        }
    }
}

/// The selection of an export, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedQuery {
    /// Symbols (as asked).
    pub symbols: Vec<String>,
    /// Kinds (empty: all).
    pub kinds: Vec<EventKind>,
    /// Sources (empty: all).
    pub sources: Vec<String>,
    /// Venues (empty: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub venues: Vec<String>,
    /// From (inclusive).
    pub from: Option<Timestamp>,
    /// To (exclusive).
    pub to: Option<Timestamp>,
    /// One writer session's files only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

impl ExportedQuery {
    fn of(q: &Query) -> Self {
        ExportedQuery {
            symbols: q.symbols.clone(),
            kinds: q.kinds.clone(),
            sources: q.sources.clone(),
            venues: q.venues.clone(),
            from: q.from,
            to: q.to,
            session: q.session.clone(),
        }
    }

    fn query(&self) -> Query {
        Query {
            symbols: self.symbols.clone(),
            kinds: self.kinds.clone(),
            sources: self.sources.clone(),
            venues: self.venues.clone(),
            from: self.from,
            to: self.to,
            session: self.session.clone(),
            ..Query::default()
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One kind's file being written.
struct Sink {
    name: String,
    writer: Writer,
    digest: EventDigest,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    line: Vec<u8>,
    /// SQL: the row being written.
    text: String,
}

/// Rows in one `INSERT` statement of a SQL export.
pub const INSERT_ROWS: u64 = 1000;

/// An export file being written: hashed on its way to the disk, so its SHA-256 is known once
/// it is closed, without reading it again.
type Out = std::io::BufWriter<strata_catalog::Sha256Writer<std::fs::File>>;

enum Writer {
    Plain(Out),
    Gzip(Box<flate2::write::GzEncoder<Out>>),
    Columnar(Box<EventWriter<Out>>),
}

impl Writer {
    fn text(&mut self) -> Option<&mut dyn Write> {
        match self {
            Writer::Plain(w) => Some(w),
            Writer::Gzip(w) => Some(w.as_mut()),
            Writer::Columnar(_) => None,
        }
    }
}

/// Writes the events of `query` to the folder `out` (which must not exist) and returns the
/// manifest written there.
pub fn export(
    engine: &QueryEngine,
    query: &Query,
    steps: Steps,
    options: &ExportOptions,
    out: &Path,
) -> Result<ExportManifest> {
    if options.partitioned
        && matches!(
            options.format,
            ExportFormat::Postgres | ExportFormat::Sql | ExportFormat::Lean
        )
    {
        return Err(Error::Selection(
            "SQL and Lean exports have their own layout: they cannot be partitioned".into(),
        ));
    }
    if out.exists() {
        return Err(Error::Damaged {
            path: out.display().to_string(),
            message: "exists already: an export goes into a new folder".into(),
        });
    }
    remove_stale_partials(out);
    // This process's own folder: two exports to one `DIR` at once never share one.
    let partial = PathBuf::from(format!("{}.partial-{}", out.display(), std::process::id()));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    std::fs::create_dir_all(&partial).map_err(io(&partial))?;
    let written = write_export(engine, query, steps, options, &partial).and_then(|manifest| {
        // Fails when another export got to `DIR` first (it is not empty then).
        std::fs::rename(&partial, out).map_err(|e| Error::Damaged {
            path: out.display().to_string(),
            message: format!("could not be put in place ({e}): another export may have written it"),
        })?;
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            strata_catalog::fsio::sync_dir(parent)?;
        }
        Ok(manifest)
    });
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    written
}

/// Removes `DIR.partial-<pid>` folders that exports killed before their end left (whose
/// process is gone: `strata_catalog::fsio::owner_may_be_writing`).
fn remove_stale_partials(out: &Path) {
    let (Some(parent), Some(name)) = (out.parent(), out.file_name()) else {
        return;
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let prefix = format!("{}.partial-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_string_lossy()
            .strip_prefix(&prefix)
            .map(str::to_string)
        else {
            continue;
        };
        if let Ok(pid) = pid.parse::<u32>() {
            if !strata_catalog::fsio::owner_may_be_writing(&entry.path(), pid) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Writes the export into `partial` and returns its manifest.
fn write_export(
    engine: &QueryEngine,
    query: &Query,
    steps: Steps,
    options: &ExportOptions,
    partial: &Path,
) -> Result<ExportManifest> {
    let (format, partitioned) = (options.format, options.partitioned);
    let key_of = |e: &Event| FileKey {
        kind: e.kind(),
        part: partitioned.then(|| (e.event_time.utc_date().to_string(), e.symbol.clone())),
    };
    // Parquet and Arrow: plan each file's columns over its events first.
    let mut plans: BTreeMap<FileKey, FilePlan> = BTreeMap::new();
    let stopped = || options.stop.as_ref().map_or(Ok(()), StopFlag::check);
    if format.columnar() {
        for event in steps.apply(engine.run(query)?) {
            stopped()?;
            let event = event?;
            let kind = event.kind();
            plans
                .entry(key_of(&event))
                .or_insert_with(|| FilePlan::new(kind))
                .observe(&event)
                .map_err(|e| Error::Damaged {
                    path: kind.to_string(),
                    message: e.to_string(),
                })?;
        }
    }
    let mut sinks: BTreeMap<FileKey, Sink> = BTreeMap::new();
    let mut files = Vec::new();
    let mut watch = Watch::default();
    let catalogued = |stats: &crate::QueryStats| -> Vec<String> {
        stats
            .read
            .iter()
            .filter(|p| !p.starts_with("hot (unsealed)"))
            .cloned()
            .collect()
    };
    if format == ExportFormat::Lean {
        let Some(target) = &options.lean else {
            return Err(Error::Selection(
                "a Lean export needs its security type and market (LeanTarget)".into(),
            ));
        };
        let months = engine
            .symbols()
            .symbols()
            .iter()
            .filter_map(|s| s.contract_month.map(|m| (s.symbol.clone(), m)))
            .collect();
        let styles = engine
            .symbols()
            .symbols()
            .iter()
            .filter_map(|s| {
                let style = s.contract.as_ref().and_then(|c| c.style)?;
                Some((s.symbol.clone(), style))
            })
            .collect();
        let mut lean = crate::lean::LeanWriter::new(partial, target.clone())?
            .with_contract_months(months)
            .with_option_styles(styles);
        // One symbol at a time (without a limit): a pass holds only its symbol's zips open,
        // however many symbols the export has. A selection without symbols (a session's) is
        // split by the symbols its files hold, when the catalog knows them all.
        let mut symbols: BTreeSet<String> = query
            .symbols
            .iter()
            .map(|s| engine.symbols.canonical(s).to_string())
            .collect();
        if symbols.is_empty() && query.limit.is_none() {
            symbols = engine
                .symbols_of(query)?
                .unwrap_or_default()
                .iter()
                .map(|s| engine.symbols.canonical(s).to_string())
                .collect();
        }
        let passes: Vec<Query> = if symbols.len() > 1 && query.limit.is_none() {
            symbols
                .into_iter()
                .map(|symbol| Query {
                    symbols: vec![symbol],
                    ..query.clone()
                })
                .collect()
        } else {
            vec![query.clone()]
        };
        let mut sources = BTreeSet::new();
        for pass in &passes {
            let mut events = engine.run(pass)?;
            for event in steps.apply(&mut events) {
                stopped()?;
                let event = event?;
                watch.see(&event);
                lean.write(&event)?;
            }
            sources.extend(catalogued(events.stats()));
            // The pass's symbol is done: its zips close, so only one symbol's are open.
            lean.close_all()?;
        }
        for zip in lean.finish()? {
            let path = partial.join(&zip.path);
            files.push(ExportedFile {
                sha256: strata_catalog::sha256_file(&path)?,
                bytes: std::fs::metadata(&path).map_err(io(&path))?.len(),
                name: zip.path,
                kind: zip.kind,
                events: zip.events,
                first: zip.first,
                last: zip.last,
                digest: String::new(),
                rows: Some(zip.rows),
            });
        }
        return finish_export(
            engine,
            query,
            steps,
            options,
            partial,
            files,
            watch,
            sources.into_iter().collect(),
        );
    }
    let mut events = engine.run(query)?;
    for event in steps.apply(&mut events) {
        stopped()?;
        let event = event?;
        watch.see(&event);
        let key = key_of(&event);
        // Partitioned: the days before this event's are complete (events come in time order).
        if let Some((date, _)) = &key.part {
            let done: Vec<FileKey> = sinks
                .keys()
                .filter(|k| k.part.as_ref().is_some_and(|(d, _)| d < date))
                .cloned()
                .collect();
            for k in done {
                if let Some(sink) = sinks.remove(&k) {
                    files.push(close_sink(partial, k.kind, format, sink)?);
                }
            }
        }
        let sink = match sinks.entry(key.clone()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(open_sink(partial, &key, options, plans.get(&key))?)
            }
        };
        write_event(partial, sink, format, &event)?;
    }
    for (key, sink) in sinks {
        files.push(close_sink(partial, key.kind, format, sink)?);
    }
    let sources = catalogued(events.stats());
    drop(events);
    finish_export(
        engine, query, steps, options, partial, files, watch, sources,
    )
}

/// Writes the manifest, the loaders and the checksums of the files written.
#[allow(clippy::too_many_arguments)]
fn finish_export(
    engine: &QueryEngine,
    query: &Query,
    steps: Steps,
    options: &ExportOptions,
    partial: &Path,
    mut files: Vec<ExportedFile>,
    watch: Watch,
    sources: Vec<String>,
) -> Result<ExportManifest> {
    let format = options.format;
    let gzip = options.gzip && !format.columnar() && format != ExportFormat::Lean;
    files.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    let mut quality = watch.summary;
    let scores: Vec<f64> = sources
        .iter()
        .filter_map(|p| engine.catalog.get(p).ok().flatten())
        .filter_map(|m| m.quality_score)
        .collect();
    quality.files_scored = scores.len();
    quality.lowest_score = scores.iter().copied().reduce(f64::min);
    quality.mean_score =
        (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
    // Loader snippets for Python and R, beside the files (in the checksums too).
    let (python, r) = loaders(format, gzip, &files);
    write_synced(&partial.join(LOAD_PY), python.as_bytes())?;
    write_synced(&partial.join(LOAD_R), r.as_bytes())?;
    let manifest = ExportManifest {
        format_version: FORMAT_VERSION,
        format,
        gzip,
        partitioned: options.partitioned,
        timescaledb: options.timescaledb,
        profile: options.profile.clone(),
        query: ExportedQuery::of(query),
        steps,
        created_at: Timestamp::now(),
        events: files.iter().map(|f| f.events).sum(),
        files,
        notes: notes(format, options.partitioned),
        quality,
        sources,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| Error::Damaged {
        path: MANIFEST_FILE.into(),
        message: e.to_string(),
    })?;
    write_synced(&partial.join(MANIFEST_FILE), format!("{text}\n").as_bytes())?;
    let mut sums = String::new();
    for f in &manifest.files {
        sums.push_str(&format!("{}  {}\n", f.sha256, f.name));
    }
    for name in [LOAD_PY, LOAD_R, MANIFEST_FILE] {
        sums.push_str(&format!(
            "{}  {name}\n",
            strata_catalog::sha256_file(&partial.join(name))?
        ));
    }
    write_synced(&partial.join(CHECKSUMS_FILE), sums.as_bytes())?;
    Ok(manifest)
}

fn notes(format: ExportFormat, partitioned: bool) -> Vec<String> {
    let mut notes = notes_of(format);
    if partitioned {
        notes.push("Hive-partitioned: kind=<kind>/symbol=<symbol>/date=<UTC date>/part.<ext>; DuckDB: read_parquet('<dir>/kind=trade/**/*.parquet', hive_partitioning=true); pyarrow: pyarrow.dataset.dataset('<dir>/kind=trade', partitioning='hive') (the manifest, checksums and loaders sit at the top)".into());
    }
    notes
}

fn notes_of(format: ExportFormat) -> Vec<String> {
    match format {
        ExportFormat::Lean => vec![
            "QuantConnect Lean zips in Lean's data folder layout (<security>/<market>/<resolution>/<symbol>/<yyyymmdd>_<trade|quote>.zip, hour and daily <security>/<market>/<resolution>/<symbol>.zip), one CSV entry each, rows as Lean's own writer makes them (see strata_query::lean)".into(),
            "equity prices are integers in 1/10,000 and sizes whole; other types keep their decimals as stored; times are in the market's data time zone, milliseconds since midnight (bars stamped at their start)".into(),
            "a file's rows: quote bars gather the quotes of their interval, so a quote-bar file has fewer rows than events".into(),
            "not written, as Lean has no column for them: trade sides and ids, receive times, sequence numbers (Lean's importer numbers rows), bars' trade counts and VWAP, crypto and index trades' venues and conditions other than the suspicious flag, quote conditions".into(),
        ],
        ExportFormat::Jsonl => vec![
            "one JSON object per line, strata's event schema; prices and sizes are JSON strings holding exact decimals".into(),
            "times (ts, recv_ts) are integers, nanoseconds since 1970-01-01 UTC".into(),
        ],
        ExportFormat::Csv => vec![
            "one file per event kind, a header row; prices and sizes exactly as stored (read them as decimals, not floats)".into(),
            "ts and recv_ts are RFC 3339 UTC with up to nanoseconds".into(),
        ],
        ExportFormat::Parquet => vec![
            "one file per event kind, sorted by ts; prices and sizes DECIMAL(18|38, s); a <column>_scale column keeps values written at a smaller scale".into(),
            "ts and recv_ts are timestamp[ns, UTC]".into(),
        ],
        ExportFormat::Postgres | ExportFormat::Sql => vec![
            "one SQL script per event kind (table named after the kind): BEGIN, CREATE TABLE (an existing table of that name fails the script and stores nothing: to append to one, leave out the CREATE lines) with an index on (symbol, ts), the rows (COPY ... FROM stdin in PostgreSQL's text format, or INSERT statements of 1,000 rows), COMMIT; load with psql -v ON_ERROR_STOP=1 -f <file>".into(),
            "prices and sizes NUMERIC (exact, each value at the scale it was written), sequence numbers and order ids NUMERIC(20, 0), book levels NUMERIC[] (best first)".into(),
            "ts_ns and recv_ts_ns are exact BIGINT nanoseconds since 1970-01-01 UTC; ts and recv_ts TIMESTAMPTZ cut to microseconds".into(),
        ],
        ExportFormat::Arrow => vec![
            "Arrow IPC files (Feather v2, uncompressed), one per event kind, sorted by ts, in the Parquet export's columns: prices and sizes decimal128(18|38, s), a <column>_scale column for values written at a smaller scale".into(),
            "ts and recv_ts are timestamp[ns, UTC]; strata's file metadata under the footer key `strata`".into(),
        ],
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = std::fs::File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// Which file an event goes to: its kind and, partitioned, its UTC date and symbol.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct FileKey {
    kind: EventKind,
    part: Option<(String, String)>,
}

fn open_sink(
    dir: &Path,
    key: &FileKey,
    options: &ExportOptions,
    plan: Option<&FilePlan>,
) -> Result<Sink> {
    let (format, gzip) = (options.format, options.gzip && !options.format.columnar());
    let kind = key.kind;
    let ext = format.extension(gzip);
    let name = match &key.part {
        None => format!("{kind}.{ext}"),
        // Hive-style folders, which DuckDB, pyarrow and Spark read as columns.
        Some((date, symbol)) => format!(
            "kind={kind}/symbol={}/date={date}/part.{ext}",
            strata_core::layout::escape_segment(symbol)
        ),
    };
    let path = dir.join(&name);
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(io(folder))?;
    }
    let file = std::io::BufWriter::with_capacity(
        1 << 16,
        strata_catalog::Sha256Writer::new(std::fs::File::create(&path).map_err(io(&path))?),
    );
    let mut writer = match (format, plan) {
        (ExportFormat::Parquet, Some(plan)) => Writer::Columnar(Box::new(
            EventWriter::new(plan, file, &ParquetOptions::default()).map_err(|e| {
                Error::Damaged {
                    path: name.clone(),
                    message: e.to_string(),
                }
            })?,
        )),
        (ExportFormat::Arrow, Some(plan)) => Writer::Columnar(Box::new(
            EventWriter::ipc(plan, file).map_err(|e| Error::Damaged {
                path: name.clone(),
                message: e.to_string(),
            })?,
        )),
        (ExportFormat::Parquet | ExportFormat::Arrow, None) => {
            return Err(Error::Damaged {
                path: name,
                message: "events the planning pass did not see (the archive changed between the passes): export again".into(),
            })
        }
        (_, _) if gzip => Writer::Gzip(Box::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::default(),
        ))),
        _ => Writer::Plain(file),
    };
    let head = match format {
        ExportFormat::Csv => {
            let header: Vec<String> = crate::csv::header(kind)
                .iter()
                .map(|h| (*h).to_string())
                .collect();
            crate::csv::row(&header)
        }
        ExportFormat::Postgres | ExportFormat::Sql => {
            let mut head = format!(
                "-- strata export: {kind} events; prices and sizes NUMERIC (exact), ts_ns exact nanoseconds, ts cut to microseconds\n-- psql -v ON_ERROR_STOP=1 -f {}\nBEGIN;\nSET client_encoding = 'UTF8';\n",
                name.rsplit('/').next().unwrap_or(&name)
            );
            head.push_str(&crate::sql::ddl(kind, options.timescaledb));
            if format == ExportFormat::Postgres {
                head.push_str(&crate::sql::copy_start(kind));
            }
            head
        }
        _ => String::new(),
    };
    if let Some(w) = writer.text() {
        w.write_all(head.as_bytes()).map_err(io(&path))?;
    }
    Ok(Sink {
        name,
        writer,
        digest: EventDigest::default(),
        first: None,
        last: None,
        line: Vec::with_capacity(512),
        text: String::new(),
    })
}

fn write_event(dir: &Path, sink: &mut Sink, format: ExportFormat, event: &Event) -> Result<()> {
    sink.digest.add(event);
    sink.first.get_or_insert(event.event_time);
    sink.last = Some(event.event_time);
    let path = dir.join(&sink.name);
    match format {
        ExportFormat::Jsonl | ExportFormat::Csv => {
            sink.line.clear();
            if format == ExportFormat::Jsonl {
                // Encoding into a Vec cannot fail (see `jsonl::encode_into`).
                let _ = jsonl::encode_into(event, &mut sink.line);
            } else {
                sink.line
                    .extend_from_slice(crate::csv::row(&crate::csv::cells(event)).as_bytes());
            }
            if let Some(w) = sink.writer.text() {
                w.write_all(&sink.line).map_err(io(&path))?;
            }
        }
        ExportFormat::Lean => return Err(Error::Selection(
            "Lean files are written by strata_query::lean::LeanWriter, not as one file per kind"
                .into(),
        )),
        ExportFormat::Postgres | ExportFormat::Sql => {
            sink.text.clear();
            let values = crate::sql::checked_values(event).map_err(|why| {
                Error::Selection(format!(
                    "{} {} at {} (event {} of {}): {why}",
                    event.symbol,
                    event.kind(),
                    event.event_time,
                    sink.digest.events,
                    sink.name
                ))
            })?;
            if format == ExportFormat::Postgres {
                crate::sql::copy_row(&values, &mut sink.text);
            } else {
                // The rows before this one are counted in the digest already.
                let row = sink.digest.events - 1;
                if row.is_multiple_of(INSERT_ROWS) {
                    if row > 0 {
                        sink.text.push_str(";\n");
                    }
                    sink.text.push_str(&crate::sql::insert_start(event.kind()));
                } else {
                    sink.text.push_str(",\n");
                }
                crate::sql::insert_row(&values, &mut sink.text);
            }
            if let Some(w) = sink.writer.text() {
                w.write_all(sink.text.as_bytes()).map_err(io(&path))?;
            }
        }
        ExportFormat::Parquet | ExportFormat::Arrow => {
            if let Writer::Columnar(w) = &mut sink.writer {
                w.write(event).map_err(|e| Error::Damaged {
                    path: sink.name.clone(),
                    message: e.to_string(),
                })?;
            }
        }
    }
    Ok(())
}

fn close_sink(
    dir: &Path,
    kind: EventKind,
    format: ExportFormat,
    mut sink: Sink,
) -> Result<ExportedFile> {
    let path = dir.join(&sink.name);
    let tail = match format {
        ExportFormat::Postgres => format!("{}COMMIT;\n", crate::sql::COPY_END),
        ExportFormat::Sql if sink.digest.events > 0 => ";\nCOMMIT;\n".to_string(),
        ExportFormat::Sql => "COMMIT;\n".to_string(),
        _ => String::new(),
    };
    if let Some(w) = sink.writer.text() {
        w.write_all(tail.as_bytes()).map_err(io(&path))?;
    }
    let out = match sink.writer {
        Writer::Plain(w) => w.into_inner().map_err(|e| io(&path)(e.into_error()))?,
        Writer::Gzip(w) => w
            .finish()
            .map_err(io(&path))?
            .into_inner()
            .map_err(|e| io(&path)(e.into_error()))?,
        Writer::Columnar(w) => {
            let (out, _) = w.finish().map_err(|e| Error::Damaged {
                path: sink.name.clone(),
                message: e.to_string(),
            })?;
            out.into_inner().map_err(|e| io(&path)(e.into_error()))?
        }
    };
    let (file, sha256, bytes) = out.finish();
    file.sync_all().map_err(io(&path))?;
    Ok(ExportedFile {
        name: sink.name,
        kind,
        events: sink.digest.events,
        first: sink.first,
        last: sink.last,
        digest: sink.digest.to_string(),
        sha256,
        bytes,
        rows: None,
    })
}

/// What [`verify`] found: empty `problems` when the export holds exactly what its manifest
/// says and the archive still holds the same events for its query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportCheck {
    /// Files checked.
    pub files: usize,
    /// Events read back from the files.
    pub events: u64,
    /// Each difference, naming the file.
    pub problems: Vec<String>,
}

/// Checks the export in `dir`: every file's SHA-256 and (JSONL, Parquet) its events' count and
/// digest against the manifest (CSV: its row count), and the manifest's query run again on the
/// archive against each file's count and digest.
pub fn verify(engine: &QueryEngine, dir: &Path) -> Result<ExportCheck> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&manifest_path).map_err(io(&manifest_path))?;
    let manifest: ExportManifest = serde_json::from_str(&text).map_err(|e| Error::Damaged {
        path: manifest_path.display().to_string(),
        message: format!("not an export manifest: {e}"),
    })?;
    let mut check = ExportCheck::default();
    if manifest.format_version < 2 && manifest.steps.bars_s.is_some() {
        check.problems.push(format!(
            "made by an older strata (manifest format {}), whose bars were stamped at their interval's start; bars are now stamped at its end, so its bars cannot be compared with the archive: export again",
            manifest.format_version
        ));
    }
    // What the files hold, by kind: events and (JSONL, Parquet) their digest.
    let mut held: BTreeMap<EventKind, (u64, Option<EventDigest>)> = BTreeMap::new();
    for f in &manifest.files {
        check.files += 1;
        let path = dir.join(&f.name);
        // Read once: hashed, then decoded from memory.
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                check.problems.push(format!("{}: {e}", f.name));
                continue;
            }
        };
        let sha = strata_catalog::sha256_bytes(&bytes);
        if sha != f.sha256 {
            check.problems.push(format!(
                "{}: its SHA-256 is {sha}, the manifest says {}",
                f.name, f.sha256
            ));
        }
        match read_back(bytes, manifest.format, manifest.gzip) {
            // A Lean zip: its rows as the manifest says, then counted as the events it came
            // from.
            Ok((rows, None)) if f.rows.is_some() => {
                if Some(rows) != f.rows {
                    check.problems.push(format!(
                        "{}: {rows} rows, the manifest says {}",
                        f.name,
                        f.rows.unwrap_or_default()
                    ));
                }
                check.events += f.events;
                let entry = held.entry(f.kind).or_insert((0, None));
                entry.0 += f.events;
                entry.1 = None;
            }
            Ok((events, digest)) => {
                check.events += events;
                if events != f.events {
                    check.problems.push(format!(
                        "{}: {events} events, the manifest says {}",
                        f.name, f.events
                    ));
                }
                if let Some(d) = digest.filter(|d| d.to_string() != f.digest) {
                    check.problems.push(format!(
                        "{}: its events' digest is {d}, the manifest says {}",
                        f.name, f.digest
                    ));
                }
                let entry = held
                    .entry(f.kind)
                    .or_insert((0, Some(EventDigest::default())));
                entry.0 += events;
                entry.1 = match (entry.1, digest) {
                    (Some(mut all), Some(d)) => {
                        all.merge(d);
                        Some(all)
                    }
                    _ => None,
                };
            }
            Err(e) => check.problems.push(format!("{}: {e}", f.name)),
        }
    }
    // The archive, asked the same again, kind by kind.
    let mut archive: BTreeMap<EventKind, EventDigest> = BTreeMap::new();
    for event in manifest.steps.apply(engine.run(&manifest.query.query())?) {
        let event = event?;
        archive.entry(event.kind()).or_default().add(&event);
    }
    for (kind, (events, digest)) in &held {
        let now = archive.remove(kind).unwrap_or_default();
        let differs = match digest {
            Some(d) => *d != now,
            None => *events != now.events,
        };
        if differs {
            check.problems.push(format!(
                "{kind}: the archive now holds {now} for the export's query, the export {events} events"
            ));
        }
    }
    for (kind, digest) in archive {
        check.problems.push(format!(
            "the archive now holds {digest} of {kind} events for the export's query, which the export lacks"
        ));
    }
    Ok(check)
}

/// A file's events counted (and their digest, for JSONL and Parquet).
fn read_back(
    bytes: Vec<u8>,
    format: ExportFormat,
    gzip: bool,
) -> std::result::Result<(u64, Option<EventDigest>), String> {
    match format {
        ExportFormat::Parquet => {
            let (_, events) = strata_columnar::read_events(bytes::Bytes::from(bytes))
                .map_err(|e| e.to_string())?;
            Ok((events.len() as u64, Some(EventDigest::of(&events))))
        }
        ExportFormat::Arrow => {
            let (_, events) = strata_columnar::read_ipc(std::io::Cursor::new(bytes))
                .map_err(|e| e.to_string())?;
            Ok((events.len() as u64, Some(EventDigest::of(&events))))
        }
        ExportFormat::Lean => Ok((crate::lean::rows_of(std::io::Cursor::new(bytes))?, None)),
        ExportFormat::Postgres | ExportFormat::Sql => {
            let plain = if gzip {
                strata_codec::decompress(&bytes).map_err(|e| e.to_string())?
            } else {
                bytes
            };
            let text = String::from_utf8(plain).map_err(|e| e.to_string())?;
            let rows = if format == ExportFormat::Postgres {
                // The lines between `COPY … FROM stdin;` and `\.` (a row's line breaks are
                // escaped).
                let mut inside = false;
                let mut rows = 0u64;
                for line in text.lines() {
                    if inside {
                        if line == "\\." {
                            inside = false;
                        } else {
                            rows += 1;
                        }
                    } else if line.starts_with("COPY ") && line.ends_with("FROM stdin;") {
                        inside = true;
                    }
                }
                rows
            } else {
                // One row per line (line breaks in text are escaped).
                text.lines().filter(|l| l.starts_with('(')).count() as u64
            };
            Ok((rows, None))
        }
        ExportFormat::Jsonl | ExportFormat::Csv => {
            let plain = if gzip {
                strata_codec::decompress(&bytes).map_err(|e| e.to_string())?
            } else {
                bytes
            };
            if format == ExportFormat::Csv {
                let rows = plain
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .count();
                return Ok((rows.saturating_sub(1) as u64, None));
            }
            let mut digest = EventDigest::default();
            for (i, line) in plain.split(|&b| b == b'\n').enumerate() {
                if line.is_empty() {
                    continue;
                }
                let event = jsonl::decode_line(line).map_err(|e| format!("line {}: {e}", i + 1))?;
                digest.add(&event);
            }
            Ok((digest.events, Some(digest)))
        }
    }
}
