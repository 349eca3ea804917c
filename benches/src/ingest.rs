//! Durable ingest on real trades (INGEST-1/2): strata's writer against a plain `serde_json`
//! ceiling, and imports through the writer.
//!
//! Used by the `ingest` criterion bench and the `ingest-rate` binary (see `docs/PERFORMANCE.md`,
//! section "Ingest (INGEST-1/2)"). What is measured:
//!
//! - [`run_strata`]: a [`Writer`] on a fresh folder with the LowLatency profile's config adjusted
//!   by [`ingest_config`] (group commit every `interval_ms`, a given seal codec); events appended
//!   in batches; the clock runs from the first `append_batch` until `flush()` returned a durable
//!   watermark covering the last event. Segments are sealed by the writer's background sealer
//!   thread meanwhile; `close()` (which seals the segments still open and waits for the
//!   sealer) is timed separately, and [`StrataRun::sealed_events_per_sec`] counts to its end.
//! - [`run_serde_ceiling`]: the same events as one [`TradeRow`] each — a `#[derive(Serialize)]`
//!   struct with the same fields and field order as strata's trade lines — through serde_json's
//!   standard serializer into one `BufWriter<File>`, then one `sync_all`. The bytes are strata's
//!   JSONL bytes exactly ([`check_ceiling_bytes`] proves it), so both sides write the same data.
//! - [`ThreadCpu`]: on-CPU time per thread from `/proc/self/task/*/schedstat` (nanoseconds).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Serialize, Serializer};
use strata_catalog::Catalog;
use strata_codec::CodecSpec;
use strata_core::config::{Config, DurabilityMode};
use strata_core::Profile;
use strata_import::{import_file, Format, ImportOptions, Record};
use strata_ingest::{Writer, WriterOptions};
use strata_model::{jsonl, Decimal, Event, Payload, SchemaVersion, Timestamp};

use crate::{data_dir, testdata_dir};

/// The Lean SPY trade ticks of 2013-10-08, relative to the data directory.
pub const LEAN_SPY_TRADES_DAY2: &str = "lean/equity/usa/tick/spy/20131008_trade.zip";
/// The committed 2,000-row cut of the 2013-10-07 zip, relative to `testdata/`.
pub const LEAN_SPY_TRADES_ZIP_CUT: &str = "lean/equity/usa/tick/spy/20131007_trade.zip";
/// The Databento CME ESH4 market-by-order file, relative to the data directory.
pub const DBN_MBO: &str = "nautilus/databento/esh4-glbx-mdp3-20231225.mbo.dbn.zst";
/// The committed 2,000-record cut of [`DBN_MBO`], relative to `testdata/`.
pub const DBN_MBO_CUT: &str = "databento/esh4-glbx-mdp3-20231225.mbo.first2000.dbn.zst";

/// An input file: the full file from the data directory, or its committed cut.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Short name for tables.
    pub name: &'static str,
    /// The file.
    pub path: PathBuf,
    /// The format to import it as.
    pub format: Format,
    /// True when `path` is a committed cut (the full data was not found).
    pub is_cut: bool,
}

fn full_file(name: &'static str, full: &str, format: Format) -> Option<InputFile> {
    let path = data_dir().join(full);
    path.is_file().then_some(InputFile {
        name,
        path,
        format,
        is_cut: false,
    })
}

fn full_or_cut(name: &'static str, full: &str, cut: &str, format: Format) -> InputFile {
    full_file(name, full, format).unwrap_or_else(|| InputFile {
        name,
        path: testdata_dir().join(cut),
        format,
        is_cut: true,
    })
}

/// The SPY 2013-10-07 trade ticks (full zip, or the committed 2,000-row cut).
pub fn spy_trades_day1() -> InputFile {
    full_or_cut(
        "lean-spy-2013-10-07",
        crate::LEAN_SPY_TRADES,
        LEAN_SPY_TRADES_ZIP_CUT,
        Format::Lean,
    )
}

/// The import inputs: both SPY days (the second only with the full data), the DBN MBO file, and
/// the Binance capture as Tardis.dev CSV ([`tardis_inputs`]).
pub fn import_inputs() -> Vec<InputFile> {
    let mut inputs = vec![spy_trades_day1()];
    inputs.extend(full_file(
        "lean-spy-2013-10-08",
        LEAN_SPY_TRADES_DAY2,
        Format::Lean,
    ));
    inputs.push(full_or_cut(
        "dbn-mbo-esh4-2023-12-25",
        DBN_MBO,
        DBN_MBO_CUT,
        Format::Dbn,
    ));
    match tardis_inputs(&std::env::temp_dir().join("strata-bench-tardis")) {
        Ok(tardis) => inputs.extend(tardis),
        Err(err) => eprintln!("no Tardis.dev inputs: {err:#}"),
    }
    inputs
}

/// Tardis.dev CSV files holding real values: the Binance USDⓈ-M BTCUSDT capture of 2024-08-08
/// (full, or its committed cut), written in `dir` as Tardis.dev writes the same streams —
/// `trades`, `book_ticker` and `incremental_book_L2` (`is_snapshot` false), times in
/// microseconds, gzip-compressed as downloaded. No Tardis.dev file is in the shared data, and
/// this machine cannot download one.
pub fn tardis_inputs(dir: &Path) -> Result<Vec<InputFile>> {
    let capture = crate::binance_btcusdt_capture()?;
    let path = dir.join("capture.txt");
    std::fs::create_dir_all(dir)?;
    std::fs::write(&path, &capture.bytes)?;
    let events = load_events(&InputFile {
        name: "binance-capture",
        path,
        format: Format::Binance,
        is_cut: capture.is_cut,
    })?;
    let us = |t: Timestamp| t.as_nanos().div_euclid(1_000);
    let mut files = [
        (
            "tardis-trades (Binance capture)",
            "binance-futures_trades_2024-08-08_BTCUSDT.csv.gz",
            String::from("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"),
        ),
        (
            "tardis-book_ticker (Binance capture)",
            "binance-futures_book_ticker_2024-08-08_BTCUSDT.csv.gz",
            String::from(
                "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n",
            ),
        ),
        (
            "tardis-incremental_book_L2 (Binance capture)",
            "binance-futures_incremental_book_L2_2024-08-08_BTCUSDT.csv.gz",
            String::from(
                "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n",
            ),
        ),
    ];
    for e in &events {
        let head = format!(
            "binance-futures,{},{},{}",
            e.symbol,
            us(e.event_time),
            us(e.receive_time)
        );
        let (slot, row) = match &e.payload {
            Payload::Trade(t) => (
                0,
                format!(
                    "{head},{},{},{},{}",
                    t.trade_id.as_deref().unwrap_or(""),
                    t.side.map_or("unknown", |s| s.as_str()),
                    t.price,
                    t.size
                ),
            ),
            Payload::BboQuote(q) => match (q.bid, q.ask) {
                (Some(bid), Some(ask)) => (
                    1,
                    format!(
                        "{head},{},{},{},{}",
                        ask.size, ask.price, bid.price, bid.size
                    ),
                ),
                _ => continue,
            },
            Payload::OrderBookDelta(d) => match (d.side, d.price, d.size) {
                (Some(side), Some(price), Some(size)) => {
                    (2, format!("{head},false,{side},{price},{size}"))
                }
                _ => continue,
            },
            _ => continue,
        };
        files[slot].2.push_str(&row);
        files[slot].2.push('\n');
    }
    let gzip: CodecSpec = "gzip:6".parse()?;
    let mut inputs = Vec::new();
    for (name, file, text) in files {
        let path = dir.join(file);
        std::fs::write(&path, strata_codec::compress(gzip, text.as_bytes())?)?;
        inputs.push(InputFile {
            name,
            path,
            format: Format::Tardis,
            is_cut: capture.is_cut,
        });
    }
    Ok(inputs)
}

/// Every event of `file`, through [`strata_import::import_file`] (rejected and skipped rows are
/// left out; the caller sees how many events came back).
pub fn load_events(file: &InputFile) -> Result<Vec<Event>> {
    let records = import_file(&file.path, file.format, &ImportOptions::default())
        .with_context(|| format!("importing {}", file.path.display()))?;
    let mut events = Vec::new();
    for record in records {
        match record {
            Record::Event(event) => events.push(event),
            Record::Rejected(r) if r.stopped_import() => bail!("{r}"),
            _ => {}
        }
    }
    Ok(events)
}

/// How sealed segments are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealSetting {
    /// Plain JSONL (the LowLatency profile's default, TIER-1 hot tier).
    None,
    /// LZ4 frame on seal.
    Lz4,
    /// zstd 1 on seal (the Research and Archival profiles' seal codec).
    Zstd1,
    /// gzip 6 on seal (the Research profile's seal codec before issue 7).
    Gzip6,
}

impl SealSetting {
    /// All settings, in table order.
    pub const ALL: [SealSetting; 4] = [
        SealSetting::None,
        SealSetting::Lz4,
        SealSetting::Zstd1,
        SealSetting::Gzip6,
    ];

    /// Short name for tables and bench ids.
    pub const fn name(self) -> &'static str {
        match self {
            SealSetting::None => "none",
            SealSetting::Lz4 => "lz4",
            SealSetting::Zstd1 => "zstd:1",
            SealSetting::Gzip6 => "gzip:6",
        }
    }

    /// The codec, `None` for plain files.
    pub const fn codec(self) -> Option<CodecSpec> {
        match self {
            SealSetting::None => None,
            SealSetting::Lz4 => Some(CodecSpec::Lz4),
            SealSetting::Zstd1 => Some(CodecSpec::Zstd {
                level: 1,
                long: false,
            }),
            SealSetting::Gzip6 => Some(CodecSpec::Gzip { level: 6 }),
        }
    }
}

/// The measured config: `Config::for_profile(LowLatency)` (hourly files, manifests, checksums,
/// default integrity checks) with group commit every `interval_ms` and `seal` on seal.
pub fn ingest_config(seal: SealSetting, interval_ms: u64) -> Config {
    let mut config = Config::for_profile(Profile::LowLatency);
    config.durability.mode = DurabilityMode::GroupCommit;
    config.durability.group_commit_interval_ms = interval_ms;
    match seal.codec() {
        Some(codec) => {
            config.storage.compress = true;
            config.storage.codec = codec;
        }
        None => {
            config.storage.compress = false;
            config.storage.codec = CodecSpec::None;
        }
    }
    config
}

/// Opens a writer on a fresh archive at `root`.
pub fn open_writer(root: &Path, config: Config) -> Result<Writer> {
    let catalog = Arc::new(Catalog::open(root)?);
    Ok(Writer::open(
        root,
        config,
        catalog,
        WriterOptions {
            session_id: Some("bench".into()),
            ..WriterOptions::default()
        },
    )?)
}

/// One durable ingest run.
#[derive(Debug, Clone)]
pub struct StrataRun {
    /// Events accepted.
    pub events: u64,
    /// JSONL bytes written.
    pub bytes: u64,
    /// First append until `flush()` returned a watermark covering the last event.
    pub durable: Duration,
    /// The `close()` after that (seals the open segments, writes the session report).
    pub close: Duration,
    /// Files sealed during ingest (partition boundaries) and by `close()`.
    pub files_sealed: u64,
    /// On-CPU time per thread from the first append to the durable point.
    pub cpu: ThreadCpuDelta,
    /// On-CPU time of the calling thread during `close()`.
    pub close_cpu: Duration,
}

impl StrataRun {
    /// Events per second to the durable point.
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.durable.as_secs_f64()
    }

    /// Events per second to the end of `close()`: every file sealed, verified and indexed.
    pub fn sealed_events_per_sec(&self) -> f64 {
        self.events as f64 / (self.durable + self.close).as_secs_f64()
    }
}

/// Appends `events` in batches of `batch` to a writer opened with `config` on `root` (a fresh
/// folder), flushes and closes. See the module docs for what is timed.
pub fn run_strata(
    events: &[Event],
    batch: usize,
    config: Config,
    root: &Path,
) -> Result<StrataRun> {
    let writer = open_writer(root, config)?;
    let before = ThreadCpu::snapshot();
    let started = Instant::now();
    let mut last = 0;
    let mut accepted = 0u64;
    for chunk in events.chunks(batch.max(1)) {
        let outcome = writer.append_batch(chunk)?;
        accepted += outcome.accepted as u64;
        last = outcome.last_ticket.max(last);
    }
    let watermark = writer.flush()?;
    let durable = started.elapsed();
    let after = ThreadCpu::snapshot();
    if watermark < last {
        bail!("flush returned watermark {watermark} below the last ticket {last}");
    }
    let close_cpu_before = ThreadCpu::current_thread();
    let closing = Instant::now();
    let report = writer.close()?;
    let close = closing.elapsed();
    let close_cpu = ThreadCpu::current_thread().saturating_sub(close_cpu_before);
    Ok(StrataRun {
        events: accepted,
        bytes: report.bytes_written,
        durable,
        close,
        files_sealed: report.files_sealed,
        cpu: after.since(&before),
        close_cpu,
    })
}

/// The version text of a schema version, serialized as a string (`"1.0"`).
fn as_display<T: std::fmt::Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// The ceiling's row: a plain `#[derive(Serialize)]` struct with the fields of strata's trade
/// line in its order. Prices and sizes are [`Decimal`]s, whose `Serialize` writes the decimal
/// string (`"167.4100"`); times are [`Timestamp`]s (transparent `i64` ns).
#[derive(Serialize)]
pub struct TradeRow<'a> {
    #[serde(serialize_with = "as_display")]
    v: SchemaVersion,
    kind: &'static str,
    source: &'a str,
    symbol: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    venue: Option<&'a str>,
    ts: Timestamp,
    recv_ts: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    price: Decimal,
    size: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    side: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trade_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conditions: Option<&'a str>,
}

impl<'a> TradeRow<'a> {
    /// The row of a trade event; `None` for other kinds.
    pub fn of(event: &'a Event) -> Option<TradeRow<'a>> {
        let Payload::Trade(t) = &event.payload else {
            return None;
        };
        Some(TradeRow {
            v: event.schema,
            kind: event.kind().as_str(),
            source: &event.source,
            symbol: &event.symbol,
            venue: event.venue.as_deref(),
            ts: event.event_time,
            recv_ts: event.receive_time,
            seq: event.sequence,
            price: t.price,
            size: t.size,
            side: t.side.map(|s| s.as_str()),
            trade_id: t.trade_id.as_deref(),
            conditions: t.conditions.as_deref(),
        })
    }
}

/// Fails unless every event is a trade whose ceiling row serializes to exactly strata's JSONL
/// line: both sides of the comparison write the same bytes.
pub fn check_ceiling_bytes(events: &[Event]) -> Result<()> {
    let mut ours = Vec::with_capacity(256);
    let mut theirs = Vec::with_capacity(256);
    for (i, event) in events.iter().enumerate() {
        let Some(row) = TradeRow::of(event) else {
            bail!("event {i} is a {}, not a trade", event.kind());
        };
        ours.clear();
        theirs.clear();
        jsonl::encode_into(event, &mut ours)?;
        serde_json::to_writer(&mut theirs, &row)?;
        theirs.push(b'\n');
        if ours != theirs {
            bail!(
                "event {i}: strata wrote {} but the ceiling wrote {}",
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            );
        }
    }
    Ok(())
}

/// One ceiling run.
#[derive(Debug, Clone)]
pub struct CeilingRun {
    /// Events written.
    pub events: u64,
    /// Bytes written.
    pub bytes: u64,
    /// First serialization until `sync_all` returned.
    pub elapsed: Duration,
    /// On-CPU time of the calling thread.
    pub cpu: Duration,
}

impl CeilingRun {
    /// Events per second.
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

/// The ceiling: every event as a [`TradeRow`] through `serde_json::to_writer` into one
/// `BufWriter<File>` (default 8 KiB buffer) at `path`, a newline after each, one final
/// `sync_all`. No routing, validation, checksums, statistics or group commit.
pub fn run_serde_ceiling(events: &[Event], path: &Path) -> Result<CeilingRun> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let cpu_before = ThreadCpu::current_thread();
    let started = Instant::now();
    let mut out = BufWriter::new(file);
    let mut n = 0u64;
    for event in events {
        let Some(row) = TradeRow::of(event) else {
            bail!("the ceiling writes trades only; found a {}", event.kind());
        };
        serde_json::to_writer(&mut out, &row)?;
        out.write_all(b"\n")?;
        n += 1;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    let elapsed = started.elapsed();
    let cpu = ThreadCpu::current_thread().saturating_sub(cpu_before);
    let bytes = file.metadata()?.len();
    Ok(CeilingRun {
        events: n,
        bytes,
        elapsed,
        cpu,
    })
}

/// One import run: the importer alone, or the importer feeding a writer.
#[derive(Debug, Clone)]
pub struct ImportRun {
    /// Events the importer yielded (and, with a writer, the writer accepted).
    pub events: u64,
    /// Rows rejected or skipped by the importer.
    pub not_imported: u64,
    /// First record until the last one (importer alone) or until `flush()` returned a watermark
    /// covering the last event (with a writer).
    pub elapsed: Duration,
    /// The writer's `close()`, zero without a writer.
    pub close: Duration,
    /// Events the writer refused (integrity checks), zero without a writer.
    pub rejected_by_writer: u64,
    /// The writer's refusals by reason class (`duplicate`, `invalid`, …).
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// On-CPU time per thread over `elapsed`.
    pub cpu: ThreadCpuDelta,
}

impl ImportRun {
    /// Events per second over `elapsed`.
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

/// Imports `file` and drops the events: the importer's own speed.
pub fn run_import_alone(file: &InputFile) -> Result<ImportRun> {
    let before = ThreadCpu::snapshot();
    let started = Instant::now();
    let records = import_file(&file.path, file.format, &ImportOptions::default())?;
    let mut events = 0u64;
    let mut not_imported = 0u64;
    for record in records {
        match record {
            Record::Event(event) => {
                events += 1;
                std::hint::black_box(event);
            }
            Record::Rejected(_) | Record::Skipped { .. } => not_imported += 1,
            _ => {}
        }
    }
    let elapsed = started.elapsed();
    Ok(ImportRun {
        events,
        not_imported,
        elapsed,
        close: Duration::ZERO,
        rejected_by_writer: 0,
        rejected_by_reason: BTreeMap::new(),
        cpu: ThreadCpu::snapshot().since(&before),
    })
}

/// Imports `file` into an archive opened with `config` on `root` (a fresh folder) exactly as
/// `strata ingest` does — [`strata::archive::Archive::import_file`]: hashed for the import ledger,
/// staged, committed (fsynced and moved into `hot/`), then `close()` seals. `elapsed` runs from
/// the start until the import is committed (durable); `_batch` is the facade's own batch size
/// ([`strata::archive::IMPORT_BATCH`]).
pub fn run_import_into_writer(
    file: &InputFile,
    _batch: usize,
    config: Config,
    root: &Path,
) -> Result<ImportRun> {
    let archive = strata::archive::Archive::open(root, config)?;
    let writer = archive.writer(WriterOptions {
        session_id: Some("bench".into()),
        ..WriterOptions::default()
    })?;
    let before = ThreadCpu::snapshot();
    let started = Instant::now();
    let done = archive.import_file(
        &writer,
        &file.path,
        file.format,
        &ImportOptions::default(),
        &mut |_| {},
    )?;
    let elapsed = started.elapsed();
    let cpu = ThreadCpu::snapshot().since(&before);
    let closing = Instant::now();
    let report = writer.close()?;
    Ok(ImportRun {
        events: done.accepted,
        not_imported: done.summary.rejected + done.summary.skipped,
        elapsed,
        close: closing.elapsed(),
        rejected_by_writer: done.refused,
        rejected_by_reason: report
            .rejected_by_reason
            .into_iter()
            .filter(|(class, _)| class != "import")
            .collect(),
        cpu,
    })
}

/// On-CPU nanoseconds per thread of this process, read from `/proc/self/task/*/schedstat`
/// (the kernel's per-task run time; finer than `utime`/`stime` ticks).
#[derive(Debug, Clone, Default)]
pub struct ThreadCpu {
    /// tid → (thread name, on-CPU ns).
    pub threads: BTreeMap<u32, (String, u64)>,
}

/// On-CPU time per thread name between two [`ThreadCpu`] snapshots.
#[derive(Debug, Clone, Default)]
pub struct ThreadCpuDelta {
    /// Thread name → on-CPU time (threads of the same name are added up).
    pub by_name: BTreeMap<String, Duration>,
}

impl ThreadCpuDelta {
    /// On-CPU time of threads whose name starts with `prefix`.
    pub fn of(&self, prefix: &str) -> Duration {
        self.by_name
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(_, d)| *d)
            .sum()
    }

    /// On-CPU time of all threads.
    pub fn total(&self) -> Duration {
        self.by_name.values().sum()
    }
}

fn read_schedstat(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

impl ThreadCpu {
    /// Every thread of this process now (empty where `/proc` is unavailable).
    pub fn snapshot() -> ThreadCpu {
        let mut threads = BTreeMap::new();
        if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
            for entry in dir.flatten() {
                let Some(tid) = entry.file_name().to_str().and_then(|t| t.parse().ok()) else {
                    continue;
                };
                let path = entry.path();
                let Some(ns) = read_schedstat(&path.join("schedstat")) else {
                    continue;
                };
                let name = std::fs::read_to_string(path.join("comm"))
                    .map(|n| n.trim().to_string())
                    .unwrap_or_default();
                threads.insert(tid, (name, ns));
            }
        }
        ThreadCpu { threads }
    }

    /// On-CPU time of the calling thread.
    pub fn current_thread() -> Duration {
        Duration::from_nanos(read_schedstat(Path::new("/proc/thread-self/schedstat")).unwrap_or(0))
    }

    /// Per thread name, what ran since `earlier` (threads born since count from zero; threads
    /// that ended in between are missing, so take the later snapshot before joining them).
    pub fn since(&self, earlier: &ThreadCpu) -> ThreadCpuDelta {
        let mut by_name: BTreeMap<String, Duration> = BTreeMap::new();
        for (tid, (name, ns)) in &self.threads {
            let base = earlier
                .threads
                .get(tid)
                .filter(|(n, _)| n == name)
                .map_or(0, |(_, ns)| *ns);
            *by_name.entry(name.clone()).or_default() +=
                Duration::from_nanos(ns.saturating_sub(base));
        }
        ThreadCpuDelta { by_name }
    }
}

/// The CPUs this process may run on (`Cpus_allowed_list` of `/proc/self/status`), e.g. `0` when
/// started under `taskset -c 0`, `0-1` otherwise.
pub fn allowed_cpus() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The median of `values` (the upper one of the middle two for an even count); 0 when empty.
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_rows_are_strata_lines_and_both_sides_store_every_event() {
        let mut events = load_events(&spy_trades_day1()).unwrap();
        events.truncate(3_000);
        check_ceiling_bytes(&events).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let ceiling = run_serde_ceiling(&events, &dir.path().join("ceiling.jsonl")).unwrap();
        assert_eq!(ceiling.events, events.len() as u64);
        let root = dir.path().join("archive");
        let run = run_strata(&events, 1_000, ingest_config(SealSetting::Lz4, 10), &root).unwrap();
        assert_eq!(run.events, events.len() as u64);
        assert_eq!(
            run.bytes, ceiling.bytes,
            "the same JSONL bytes on both sides"
        );
        assert!(run.files_sealed >= 1);
        let stored: usize = strata_ingest::reader::hot_files(&root)
            .unwrap()
            .iter()
            .map(|f| strata_ingest::reader::read_events(f).unwrap().len())
            .sum();
        assert_eq!(stored, events.len());
    }

    #[test]
    fn thread_cpu_sees_this_thread() {
        let before = ThreadCpu::snapshot();
        // Spin for 50 ms of wall time (an optimized test build runs a fixed loop in no time).
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
        }
        assert!(ThreadCpu::snapshot().since(&before).total() > Duration::ZERO);
        assert!(ThreadCpu::current_thread() > Duration::ZERO);
    }
}
