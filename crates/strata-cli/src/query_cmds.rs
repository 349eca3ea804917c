//! `strata query`: the events of a selection from every tier, in event-time order, as JSONL,
//! CSV or a table.

use std::io::Write;

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use strata::archive::Archive;
use strata::model::{jsonl, Event, EventKind, Timestamp};
use strata::policy::TierName;
use strata::query::Query;

use crate::archive_cmds::{locate, parse_kind};
use crate::{say, Failure, Global};

/// How `strata query` prints events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One canonical JSON line per event (what `strata ingest --format jsonl` reads back).
    Jsonl,
    /// A header, then one row per event (one kind at a time).
    Csv,
    /// Aligned columns for reading (one kind at a time).
    Table,
}

/// What `strata query` and `strata export` select, and the transforms on the way out.
#[derive(Args, Debug)]
pub struct Selection {
    /// Events of this symbol (a canonical name or an alias; repeatable).
    #[arg(long = "symbol")]
    symbols: Vec<String>,
    /// Events of this kind (repeatable).
    #[arg(long = "kind", value_parser = parse_kind)]
    kinds: Vec<EventKind>,
    /// Events of this source (repeatable).
    #[arg(long = "source")]
    sources: Vec<String>,
    /// Events of this venue (repeatable).
    #[arg(long = "venue")]
    venues: Vec<String>,
    /// Events at or after this time (RFC 3339 or YYYY-MM-DD, read as UTC midnight).
    #[arg(long, value_parser = crate::parse_time)]
    from: Option<Timestamp>,
    /// Events before this time.
    #[arg(long, value_parser = crate::parse_time)]
    to: Option<Timestamp>,
    /// Only the events of one writer session (`strata sessions` lists them).
    #[arg(long)]
    session: Option<String>,
    /// OHLCV bars of this interval from the trades (`1s`, `30s`, `1m`, `5m`, `1h`, `1d`):
    /// open, high, low, close, volume, trade count and VWAP per symbol and interval.
    #[arg(long, value_parser = parse_interval)]
    bars: Option<u32>,
    /// Drop an event identical to one already seen at the same instant.
    #[arg(long)]
    dedup: bool,
    /// Quotes, book snapshots, open interest and tickers on a time grid (`1s`, `1m`, …): the
    /// last of each interval per symbol, stamped at its end; other events pass unchanged.
    #[arg(long, value_parser = parse_interval)]
    align: Option<u32>,
    /// Drop events wrong on their face: non-positive prices, suspicious trades, crossed
    /// quotes and books, bars whose open or close lies outside high and low.
    #[arg(long)]
    quality_filter: bool,
}

/// A `--session` names a session the archive has (`strata sessions` lists them).
fn known_session(root: &std::path::Path, query: &Query) -> Result<(), Failure> {
    match &query.session {
        Some(id) => strata::query::sessions::report(root, id)
            .map(|_| ())
            .map_err(|e| Failure::usage(anyhow!("{e}"))),
        None => Ok(()),
    }
}

impl Selection {
    /// The query (bars are made from trades: without --kind, trades are read).
    fn query(&self) -> Result<Query, Failure> {
        if self.symbols.is_empty() && self.session.is_none() {
            return Err(Failure::usage(anyhow!(
                "select the events with at least one --symbol, or a --session"
            )));
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from >= to {
                return Err(Failure::usage(anyhow!(
                    "--from {from} is not before --to {to}: the range holds nothing"
                )));
            }
        }
        let kinds = match (self.bars, self.kinds.is_empty()) {
            (Some(_), true) => vec![EventKind::Trade],
            _ => self.kinds.clone(),
        };
        Ok(Query {
            symbols: self.symbols.clone(),
            kinds,
            sources: self.sources.clone(),
            venues: self.venues.clone(),
            from: self.from,
            to: self.to,
            session: self.session.clone(),
            ..Query::default()
        })
    }

    fn steps(&self) -> strata::query::transform::Steps {
        strata::query::transform::Steps {
            dedup: self.dedup,
            bars_s: self.bars,
            align_s: self.align,
            quality_filter: self.quality_filter,
        }
    }
}

/// `strata query …`.
#[derive(Args, Debug)]
pub struct QueryArgs {
    #[command(flatten)]
    selection: Selection,
    /// Read only these tiers (repeatable; default: all, unsealed hot segments included).
    #[arg(long = "tier", value_parser = crate::archive_cmds::parse_tier)]
    tiers: Vec<TierName>,
    /// At most this many events.
    #[arg(long)]
    limit: Option<u64>,
    /// How to print them (`--json` prints JSON lines whatever this says).
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
}

/// `strata query`
pub fn query(g: &Global, a: &QueryArgs) -> Result<(), Failure> {
    let (root, config) = locate(g, false)?;
    let archive = Archive::open_read_only(&root, config)?;
    let engine = archive.query_engine()?;
    let query = Query {
        tiers: a.tiers.clone(),
        limit: a.limit,
        ..a.selection.query()?
    };
    known_session(&root, &query)?;
    let format = if g.json { Format::Jsonl } else { a.format };
    let steps = a.selection.steps();
    let kind = match (format, a.selection.kinds.as_slice()) {
        (Format::Jsonl, _) => None,
        _ if a.selection.bars.is_some() => Some(EventKind::Bar),
        (_, [kind]) => Some(*kind),
        _ => {
            return Err(Failure::usage(anyhow!(
                "CSV and tables print one kind at a time (its columns): pass one --kind"
            )))
        }
    };
    let mut events = engine.run(&query)?;
    let mut stream = steps.apply(&mut events);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut printer = Printer::new(format, kind);
    let mut line = Vec::with_capacity(512);
    printer.start(&mut line);
    let mut open = write(&mut out, &line)?;
    for event in &mut stream {
        if !open {
            break;
        }
        let event = event?;
        line.clear();
        printer.print(&event, &mut line)?;
        open = write(&mut out, &line)?;
    }
    if open {
        printer.finish(&mut line);
        open = write(&mut out, &line)? && flush(&mut out)?;
    }
    drop(stream);
    if !open {
        // A closed pipe (`| head`): the files read are still counted, then a quiet end.
        drop(events);
        std::process::exit(0);
    }
    let stats = events.stats();
    if !g.quiet {
        let p = &stats.parquet;
        say!(
            "{} event(s) from {} of {} file(s) ({} decoded; Parquet: {} of {} row groups and {} of {} rows read)",
            stats.events_returned,
            stats.files_read,
            stats.files,
            stats.events_scanned,
            p.row_groups_read,
            p.row_groups,
            p.rows_read,
            p.rows
        );
    }
    if stats.reads_counted == Some(false) && !g.quiet {
        say!("note: the reads were not counted (the archive's _catalog/reads.jsonl cannot be written)");
    }
    if g.verbose > 0 {
        for file in &stats.read {
            say!("read {file}");
        }
    }
    Ok(())
}

/// `Ok(false)` when the reader has closed the pipe (`strata query … | head`).
fn write(out: &mut impl Write, bytes: &[u8]) -> Result<bool, Failure> {
    open_pipe(out.write_all(bytes))
}

fn flush(out: &mut impl Write) -> Result<bool, Failure> {
    open_pipe(out.flush())
}

fn open_pipe(written: std::io::Result<()>) -> Result<bool, Failure> {
    match written {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Failure::from(anyhow!("writing to standard output: {e}"))),
    }
}

/// Rows of a table sized together: the first this many set the columns' widths, the rest
/// follow with them (a table of any length is printed as it comes).
const TABLE_SIZING_ROWS: usize = 1000;

/// Prints events in one format; CSV and tables print one kind (its columns).
struct Printer {
    format: Format,
    kind: Option<EventKind>,
    /// A table's first rows, held to size the columns.
    rows: Vec<Vec<String>>,
    /// A table's column widths, once sized.
    widths: Option<Vec<usize>>,
}

impl Printer {
    fn new(format: Format, kind: Option<EventKind>) -> Self {
        Printer {
            format,
            kind,
            rows: Vec::new(),
            widths: None,
        }
    }

    /// The header (CSV and tables), printed even when no event comes.
    fn start(&mut self, out: &mut Vec<u8>) {
        if let Some(kind) = self.kind {
            let header = strata::query::csv::header(kind)
                .iter()
                .map(|h| (*h).to_string())
                .collect();
            self.row(header, out);
        }
    }

    fn print(&mut self, e: &Event, out: &mut Vec<u8>) -> Result<(), Failure> {
        if self.format == Format::Jsonl {
            // Encoding into a Vec cannot fail (see `jsonl::encode_into`).
            let _ = jsonl::encode_into(e, out);
            return Ok(());
        }
        self.row(strata::query::csv::cells(e), out);
        Ok(())
    }

    fn row(&mut self, cells: Vec<String>, out: &mut Vec<u8>) {
        match self.format {
            Format::Csv => {
                let escaped: Vec<String> =
                    cells.iter().map(|c| strata::query::csv::cell(c)).collect();
                out.extend_from_slice(escaped.join(",").as_bytes());
                out.push(b'\n');
            }
            Format::Table => match &self.widths {
                Some(widths) => table_row(&cells, widths, out),
                None => {
                    self.rows.push(cells);
                    if self.rows.len() >= TABLE_SIZING_ROWS {
                        self.flush_table(out);
                    }
                }
            },
            Format::Jsonl => {}
        }
    }

    /// Sizes the table's columns from the rows held and prints them.
    fn flush_table(&mut self, out: &mut Vec<u8>) {
        let columns = self.rows.first().map_or(0, Vec::len);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in std::mem::take(&mut self.rows) {
            table_row(&row, &widths, out);
        }
        self.widths = Some(widths);
    }

    /// The rest of a table.
    fn finish(&mut self, out: &mut Vec<u8>) {
        out.clear();
        if self.format == Format::Table && self.widths.is_none() {
            self.flush_table(out);
        }
    }
}

fn table_row(cells: &[String], widths: &[usize], out: &mut Vec<u8>) {
    let line: Vec<String> = cells
        .iter()
        .zip(widths)
        .map(|(cell, w)| format!("{cell:<w$}"))
        .collect();
    out.extend_from_slice(line.join("  ").trim_end().as_bytes());
    out.push(b'\n');
}

/// The formats `strata export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    /// strata's JSONL (with --gzip: .jsonl.gz).
    Jsonl,
    /// CSV, one file per kind (with --gzip: .csv.gz).
    Csv,
    /// Parquet, one file per kind, exact decimals.
    Parquet,
    /// Arrow IPC (Feather v2), one file per kind, exact decimals.
    #[value(alias = "feather", alias = "ipc")]
    Arrow,
    /// A PostgreSQL script per kind: the table's DDL and COPY ... FROM stdin (psql -f).
    #[value(name = "pg-copy", alias = "postgres")]
    Postgres,
    /// A PostgreSQL script per kind: the table's DDL and INSERT statements.
    Sql,
    /// QuantConnect Lean zips in Lean's folder layout (--lean-security, --lean-market).
    Lean,
}

/// `strata export …`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ExportArgs {
    #[command(subcommand)]
    command: Option<ExportCommand>,
    /// The files' format.
    #[arg(long, value_enum)]
    format: Option<ExportFormatArg>,
    /// Start from a profile: python (Parquet, deduplicated), lean (Lean zips, equity),
    /// timescaledb (COPY script, hypertables), research (Hive-partitioned Parquet, deduplicated).
    /// Flags given beside it win.
    #[arg(long, value_name = "PROFILE")]
    profile: Option<String>,
    /// The folder to write (must not exist).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// gzip the JSONL, CSV or SQL files.
    #[arg(long)]
    gzip: bool,
    /// Hive-style folders: kind=…/symbol=…/date=…/part.<ext> (one file per kind, symbol and
    /// UTC date), which DuckDB, pyarrow and Spark read as columns.
    #[arg(long)]
    partition: bool,
    /// postgres/sql: make each table a TimescaleDB hypertable on ts.
    #[arg(long)]
    timescaledb: bool,
    /// Keep repeated events although the profile drops them.
    #[arg(long)]
    no_dedup: bool,
    /// lean: the security type (equity, option, indexoption, future, futureoption, crypto,
    /// forex, cfd, index).
    #[arg(long, value_name = "TYPE")]
    lean_security: Option<String>,
    /// lean: the market (usa, coinbase, binance, fxcm, oanda, …; equity and index: usa unless
    /// given).
    #[arg(long, value_name = "MARKET")]
    lean_market: Option<String>,
    /// lean: quotes as quote bars of this resolution (second, minute, hour, daily) rather than
    /// ticks. Trade bars come from bars (--bars 1m, or bars stored).
    #[arg(long, value_name = "RESOLUTION")]
    lean_resolution: Option<String>,
    #[command(flatten)]
    selection: Selection,
}

/// `strata export verify DIR`.
#[derive(clap::Subcommand, Debug)]
pub enum ExportCommand {
    /// Check an export against its manifest and the archive.
    Verify {
        /// The export's folder.
        dir: std::path::PathBuf,
    },
}

/// `strata export`
pub fn export(g: &Global, a: &ExportArgs) -> Result<(), Failure> {
    use strata::query::export::{self, ExportFormat};
    let (root, config) = locate(g, false)?;
    let archive = Archive::open_read_only(&root, config)?;
    let engine = archive.query_engine()?;
    if let Some(ExportCommand::Verify { dir }) = &a.command {
        let check = export::verify(&engine, dir)?;
        if g.json {
            crate::out!(
                "{}",
                serde_json::json!({ "ok": check.problems.is_empty(), "check": check })
            );
        } else {
            for p in &check.problems {
                crate::out!("FAILED {p}");
            }
            if check.problems.is_empty() {
                crate::out!(
                    "export {}: {} file(s), {} event(s), as its manifest says and as the archive holds",
                    dir.display(),
                    check.files,
                    check.events
                );
            }
        }
        if !check.problems.is_empty() {
            return Err(Failure {
                code: 1,
                error: anyhow!(
                    "{} problem(s) in the export {}",
                    check.problems.len(),
                    dir.display()
                ),
                reported: g.json,
            });
        }
        return Ok(());
    }
    let profile = a
        .profile
        .as_deref()
        .map(export::profile)
        .transpose()
        .map_err(|e| Failure::usage(anyhow!("--profile: {e}")))?;
    let format = match a.format {
        Some(f) => Some(match f {
            ExportFormatArg::Jsonl => ExportFormat::Jsonl,
            ExportFormatArg::Csv => ExportFormat::Csv,
            ExportFormatArg::Parquet => ExportFormat::Parquet,
            ExportFormatArg::Arrow => ExportFormat::Arrow,
            ExportFormatArg::Postgres => ExportFormat::Postgres,
            ExportFormatArg::Sql => ExportFormat::Sql,
            ExportFormatArg::Lean => ExportFormat::Lean,
        }),
        None => profile.as_ref().map(|p| p.format),
    };
    // Flags the chosen format has no use for are mistakes, not silently dropped.
    let flag_error = |flag: &str, formats: &str| {
        Err(Failure::usage(anyhow!(
            "{flag} applies to {formats} exports only"
        )))
    };
    if let Some(f) = format {
        if a.gzip && (f.columnar() || f == ExportFormat::Lean) {
            return flag_error("--gzip", "jsonl, csv, pg-copy and sql");
        }
        if a.timescaledb && !matches!(f, ExportFormat::Postgres | ExportFormat::Sql) {
            return flag_error("--timescaledb", "pg-copy and sql");
        }
        if (a.lean_security.is_some() || a.lean_market.is_some() || a.lean_resolution.is_some())
            && f != ExportFormat::Lean
        {
            return flag_error(
                "--lean-security, --lean-market and --lean-resolution",
                "lean",
            );
        }
    }
    if a.selection.dedup && a.no_dedup {
        return Err(Failure::usage(anyhow!(
            "--dedup and --no-dedup contradict each other"
        )));
    }
    let (Some(format), Some(out)) = (format, &a.out) else {
        return Err(Failure::usage(anyhow!(
            "an export needs --format jsonl|csv|parquet|arrow|pg-copy|sql|lean (or --profile python|lean|timescaledb|research) and --out DIR (or: strata export verify DIR)"
        )));
    };
    let from_profile = |f: fn(&export::ExportProfile) -> bool| profile.as_ref().is_some_and(f);
    // A profile's Hive folders where the format has them (an explicit --partition is checked).
    let partition = a.partition
        || (from_profile(|p| p.partitioned)
            && !matches!(
                format,
                ExportFormat::Postgres | ExportFormat::Sql | ExportFormat::Lean
            ));
    if partition
        && matches!(
            format,
            ExportFormat::Postgres | ExportFormat::Sql | ExportFormat::Lean
        )
    {
        return Err(Failure::usage(anyhow!(
            "--partition: SQL and Lean exports have their own layout, they cannot be partitioned"
        )));
    }
    let query = a.selection.query()?;
    known_session(&root, &query)?;
    if out.exists() {
        return Err(Failure::usage(anyhow!(
            "{} exists already: an export goes into a new folder",
            out.display()
        )));
    }
    let lean = if format == ExportFormat::Lean {
        use strata::import::lean::{LeanResolution, LeanSecurityType};
        let security = a
            .lean_security
            .clone()
            .or_else(|| profile.as_ref().and_then(|p| p.lean_security.clone()));
        let Some(security) = &security else {
            return Err(Failure::usage(anyhow!(
                "--format lean needs --lean-security equity|option|indexoption|future|futureoption|crypto|forex|cfd|index (and --lean-market)"
            )));
        };
        let security_type: LeanSecurityType = security
            .parse()
            .map_err(|e: String| Failure::usage(anyhow!("--lean-security: {e}")))?;
        let market = match (&a.lean_market, security_type) {
            (Some(m), _) => m.clone(),
            (None, LeanSecurityType::Equity | LeanSecurityType::Index) => "usa".to_string(),
            (None, _) => {
                return Err(Failure::usage(anyhow!(
                    "--format lean --lean-security {security_type} needs --lean-market (the folder after the security type: coinbase, binance, fxcm, oanda, …)"
                )))
            }
        };
        let quote_resolution = a
            .lean_resolution
            .as_deref()
            .map(|r| r.parse::<LeanResolution>())
            .transpose()
            .map_err(|e: String| Failure::usage(anyhow!("--lean-resolution: {e}")))?;
        Some(strata::query::lean::LeanTarget {
            security_type,
            market,
            quote_resolution,
        })
    } else {
        None
    };
    let mut steps = a.selection.steps();
    steps.dedup = (steps.dedup || from_profile(|p| p.dedup)) && !a.no_dedup;
    let options = export::ExportOptions {
        gzip: a.gzip || from_profile(|p| p.gzip),
        partitioned: partition,
        // Hypertables where the format is SQL.
        timescaledb: (a.timescaledb || from_profile(|p| p.timescaledb))
            && matches!(format, ExportFormat::Postgres | ExportFormat::Sql),
        lean,
        profile: profile.as_ref().map(|p| p.name.clone()),
        ..export::ExportOptions::new(format)
    };
    // A first SIGINT or SIGTERM stops the export between two events and removes its folder
    // (exit 130 or 143); a second exits at once (the next export to `--out` removes the
    // folder left).
    let signals = crate::archive_cmds::Stop::install()?;
    let options = export::ExportOptions {
        stop: Some(export::StopFlag(std::sync::Arc::clone(&signals.any))),
        ..options
    };
    let manifest = match export::export(&engine, &query, steps, &options, out) {
        Err(strata::query::Error::Stopped) => {
            return Err(Failure {
                code: signals.code().unwrap_or(130),
                error: anyhow!(
                    "export stopped by a signal; {}.partial-{} removed, nothing written",
                    out.display(),
                    std::process::id()
                ),
                reported: false,
            })
        }
        other => other?,
    };
    if g.json {
        crate::out!(
            "{}",
            serde_json::json!({ "ok": true, "manifest": manifest })
        );
    } else {
        for f in &manifest.files {
            crate::out!(
                "{}  {} events  {} bytes",
                out.join(&f.name).display(),
                f.events,
                f.bytes
            );
        }
        if !g.quiet {
            say!(
                "{} event(s) in {} file(s); {} and {} beside them (sha256sum -c {} checks them)",
                manifest.events,
                manifest.files.len(),
                export::MANIFEST_FILE,
                export::CHECKSUMS_FILE,
                export::CHECKSUMS_FILE
            );
        }
    }
    Ok(())
}

/// An interval (`30s`, `5m`, `1h`, `1d`: see `strata::policy::rules::parse_every`), in seconds.
fn parse_interval(text: &str) -> Result<u32, String> {
    let ns = strata::policy::rules::parse_every(text)?;
    u32::try_from(ns / 1_000_000_000).map_err(|_| format!("`{text}` is too long"))
}
