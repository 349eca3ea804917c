//! Commands that work on an archive: `ingest`, `ls`, `catalog`, `demo`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use serde_json::json;
use strata::archive::{Archive, FileImport};
use strata::catalog::{Facet, FileQuery};
use strata::core::policy::TierName;
use strata::import::csv::CsvMapping;
use strata::import::{Format, ImportOptions};
use strata::ingest::WriterOptions;
use strata::model::{EventKind, Timestamp};

use crate::{Failure, Global};

/// `strata ingest`.
#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Input format.
    #[arg(long, value_parser = parse_format)]
    format: Format,
    /// Source id to store the events under (default: per format, e.g. lean, databento, binance).
    #[arg(long)]
    source: Option<String>,
    /// Symbol, for inputs that do not name it (CSV without a symbol column, plain Lean CSV).
    #[arg(long)]
    symbol: Option<String>,
    /// Keep only events of this kind.
    #[arg(long, value_parser = parse_kind)]
    kind: Option<EventKind>,
    /// CSV column mapping, e.g. `time=ts:ms,price=px,size=qty,side=side,symbol=sym`.
    #[arg(long, value_name = "MAPPING")]
    csv_map: Option<String>,
    /// Tags recorded in the session report.
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Input files (`-` for standard input).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// `strata ls`.
#[derive(Args, Debug)]
pub struct LsArgs {
    /// Files holding this symbol.
    #[arg(long)]
    symbol: Option<String>,
    /// Files holding this kind.
    #[arg(long, value_parser = parse_kind)]
    kind: Option<EventKind>,
    /// Files holding this source.
    #[arg(long)]
    source: Option<String>,
    /// Files in this tier (hot, warm, cold, archive).
    #[arg(long, value_parser = parse_tier)]
    tier: Option<TierName>,
    /// Events at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_parser = crate::parse_time)]
    from: Option<Timestamp>,
    /// Events before this time.
    #[arg(long, value_parser = crate::parse_time)]
    to: Option<Timestamp>,
}

/// `strata catalog …`.
#[derive(Subcommand, Debug)]
pub enum CatalogCommand {
    /// Recreate the index from the sidecar manifests alone.
    Rebuild,
    /// Totals: files, events, bytes, by tier, kind and source.
    Stats,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
        .map_err(|e: strata::import::ImportError| e.to_string())
}

fn parse_kind(s: &str) -> Result<EventKind, String> {
    s.parse()
        .map_err(|e: strata::model::UnknownName| e.to_string())
}

fn parse_tier(s: &str) -> Result<TierName, String> {
    s.parse()
        .map_err(|e: strata::model::UnknownName| e.to_string())
}

/// Opens the archive the global flags name: `--config FILE`, else `--root DIR` (its strata.toml,
/// or the built-in defaults), else `./strata-data`.
pub fn open_archive(g: &Global) -> Result<Archive, Failure> {
    if let Some(path) = &g.config {
        let config = strata::archive::load_config(path)?;
        let root = strata::archive::resolve_root(&config, path);
        return Ok(Archive::open(&root, config)?);
    }
    let dir = g
        .root
        .clone()
        .unwrap_or_else(|| PathBuf::from("strata-data"));
    Ok(Archive::open_dir(&dir)?)
}

fn spinner(g: &Global, what: &str) -> Option<indicatif::ProgressBar> {
    if g.quiet || g.json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {pos} rows ({per_sec}) {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

/// `strata ingest`: import files through one writer session.
pub fn ingest(g: &Global, a: &IngestArgs) -> Result<(), Failure> {
    let archive = open_archive(g)?;
    let mut options = ImportOptions {
        source: a.source.clone(),
        symbol: a.symbol.clone(),
        kind: a.kind,
        ..ImportOptions::default()
    };
    if let Some(map) = &a.csv_map {
        options.csv = Some(map.parse::<CsvMapping>().map_err(|e| Failure {
            code: 2,
            error: anyhow!("--csv-map: {e}"),
        })?);
    }
    let writer = archive.writer(WriterOptions {
        session_id: None,
        tags: a.tags.clone(),
    })?;
    let started = Instant::now();
    let mut imports: Vec<FileImport> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for file in &a.files {
        let name = file.display().to_string();
        let bar = spinner(g, &name);
        let mut progress = |rows: u64| {
            if let Some(bar) = &bar {
                bar.set_position(rows);
            }
        };
        let result = if name == "-" {
            archive.import_reader(
                &writer,
                std::io::stdin(),
                "-",
                a.format,
                &options,
                &mut progress,
            )
        } else {
            archive.import_file(&writer, file, a.format, &options, &mut progress)
        };
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        match result {
            Ok(done) => {
                if !g.quiet && !g.json {
                    eprintln!(
                        "{name}: {} — {} stored, {} refused by integrity checks",
                        done.summary, done.accepted, done.refused
                    );
                }
                imports.push(done);
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                failures.push(format!("{e:#}"));
            }
        }
    }
    let report = writer.close()?;
    let report_path = strata::ingest::session::SessionReport::path(archive.root(), &report.id);
    let seconds = started.elapsed().as_secs_f64();
    if g.json {
        println!(
            "{}",
            json!({
                "ok": failures.is_empty(),
                "root": archive.root(),
                "session": report.id,
                "report": report_path,
                "files": imports.iter().map(|i| json!({
                    "file": i.file, "rows": i.summary.rows, "events": i.summary.events(),
                    "stored": i.accepted, "refused": i.refused, "rejected_rows": i.summary.rejected,
                    "skipped": i.summary.skipped, "gaps": i.summary.gaps.len(),
                })).collect::<Vec<_>>(),
                "failed": failures,
                "events": report.events,
                "quarantined": report.rejected,
                "files_sealed": report.files_sealed,
                "files_verified": report.files_verified,
                "bytes_written": report.bytes_written,
                "bytes_sealed": report.bytes_sealed,
                "seconds": seconds,
            })
        );
    } else if !g.quiet {
        let gaps: usize = imports.iter().map(|i| i.summary.gaps.len()).sum();
        println!(
            "ingested {} events from {} file(s) in {:.2}s ({:.0} events/s): {} quarantined, {} skipped, {} source sequence gap(s); {} file(s) sealed and verified, {} bytes stored",
            report.events,
            imports.len(),
            seconds,
            report.events as f64 / seconds.max(1e-9),
            report.rejected,
            report.skipped,
            gaps,
            report.files_verified,
            report.bytes_sealed
        );
        println!("session report: {}", report_path.display());
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            error: anyhow!("{} file(s) could not be imported", failures.len()),
        })
    }
}

/// `strata ls`.
pub fn ls(g: &Global, a: &LsArgs) -> Result<(), Failure> {
    let archive = open_archive(g)?;
    let query = FileQuery {
        symbol: a.symbol.clone(),
        kind: a.kind,
        source: a.source.clone(),
        tier: a.tier,
        from: a.from,
        to: a.to,
    };
    let files = archive.catalog().find(&query)?;
    if g.json {
        println!("{}", serde_json::to_string(&files)?);
        return Ok(());
    }
    for m in &files {
        let range = match (m.stats.first_event_time, m.stats.last_event_time) {
            (Some(a), Some(b)) => format!("{a} .. {b}"),
            _ => "-".to_string(),
        };
        println!(
            "{:<7} {:>9} ev {:>11} B  {:<8} {}  [{}]",
            m.tier.as_str(),
            m.stats.event_count,
            m.size_bytes,
            m.codec.to_string(),
            m.path,
            range
        );
    }
    if !g.quiet {
        eprintln!("{} file(s)", files.len());
    }
    Ok(())
}

/// `strata sessions`: every session report under `_sessions/`, oldest first. A report that
/// cannot be read is listed with its error and makes the exit code 1.
pub fn sessions(g: &Global) -> Result<(), Failure> {
    let archive = open_archive(g)?;
    let reports = strata::ingest::session::SessionReport::list(archive.root())?;
    let mut bad = 0usize;
    if g.json {
        let items: Vec<serde_json::Value> = reports
            .iter()
            .map(|r| match r {
                Ok(report) => serde_json::to_value(report).unwrap_or_default(),
                Err(e) => {
                    bad += 1;
                    json!({ "error": e.to_string() })
                }
            })
            .collect();
        println!("{}", serde_json::to_string(&items)?);
    } else {
        for r in &reports {
            match r {
                Ok(s) => {
                    let state = s.state.as_str();
                    let until = if s.finished_at.is_empty() {
                        format!("checkpoint {}", s.checkpoint_at)
                    } else {
                        s.finished_at.clone()
                    };
                    println!(
                        "{:<28} {:<11} {:>10} ev {:>6} rejected {:>5} sealed  {} .. {}",
                        s.id, state, s.events, s.rejected, s.files_sealed, s.started_at, until
                    );
                    for note in &s.interruption {
                        println!("    {note}");
                    }
                }
                Err(e) => {
                    bad += 1;
                    println!("unreadable report: {e}");
                }
            }
        }
        if !g.quiet {
            eprintln!("{} session(s)", reports.len());
        }
    }
    if bad == 0 {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            error: anyhow!("{bad} session report(s) could not be read"),
        })
    }
}

/// `strata catalog rebuild|stats`.
pub fn catalog(g: &Global, c: &CatalogCommand) -> Result<(), Failure> {
    let archive = open_archive(g)?;
    match c {
        CatalogCommand::Rebuild => {
            let report = archive.catalog().rebuild(archive.root())?;
            archive.catalog().export_manifest()?;
            let problems: Vec<String> = report
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.path.display(), p.error))
                .collect();
            if g.json {
                println!(
                    "{}",
                    json!({ "ok": problems.is_empty(), "sidecars": report.sidecars_found, "registered": report.registered,
                            "problems": problems, "missing_data": report.missing_data })
                );
            } else {
                println!(
                    "rebuilt the index from {} sidecar(s): {} file(s) registered, {} problem(s), {} sidecar(s) without data",
                    report.sidecars_found,
                    report.registered,
                    problems.len(),
                    report.missing_data.len()
                );
                for p in &problems {
                    println!("  problem: {p}");
                }
            }
            if !problems.is_empty() {
                return Err(Failure {
                    code: 1,
                    error: anyhow!("{} sidecar(s) could not be read", problems.len()),
                });
            }
        }
        CatalogCommand::Stats => {
            let stats = archive.catalog().stats()?;
            let by_kind = archive.catalog().totals(Facet::Kind)?;
            let by_source = archive.catalog().totals(Facet::Source)?;
            if g.json {
                println!(
                    "{}",
                    json!({ "files": stats.files, "events": stats.events, "bytes": stats.bytes,
                            "by_tier": stats.by_tier.iter().map(|(t, v)| (t.as_str().to_string(), json!({"files": v.files, "events": v.events, "bytes": v.bytes}))).collect::<serde_json::Map<String, serde_json::Value>>(),
                            "by_kind": by_kind.iter().map(|f| json!({"kind": f.value, "events": f.events, "files": f.files, "bytes": f.bytes})).collect::<Vec<_>>(),
                            "by_source": by_source.iter().map(|f| json!({"source": f.value, "events": f.events, "files": f.files, "bytes": f.bytes})).collect::<Vec<_>>() })
                );
            } else {
                println!(
                    "{} file(s), {} event(s), {} byte(s)",
                    stats.files, stats.events, stats.bytes
                );
                for (tier, t) in &stats.by_tier {
                    println!(
                        "  tier {:<8} {:>6} files {:>12} events {:>14} bytes",
                        tier.as_str(),
                        t.files,
                        t.events,
                        t.bytes
                    );
                }
                for f in &by_kind {
                    println!(
                        "  kind {:<16} {:>6} files {:>12} events",
                        f.value, f.files, f.events
                    );
                }
                for f in &by_source {
                    println!(
                        "  source {:<14} {:>6} files {:>12} events",
                        f.value, f.files, f.events
                    );
                }
            }
        }
    }
    Ok(())
}

/// The demo's committed real-data sample, embedded so `strata demo` runs from any folder.
/// Origins are in `testdata/README.md` (cuts of `../shared/data`).
const DEMO_SAMPLES: &[(&str, Format, &[u8])] = &[
    (
        "spy_20131007_trade.zip",
        Format::Lean,
        include_bytes!("../../../testdata/lean/equity/usa/tick/spy/20131007_trade.zip"),
    ),
    (
        "futures_trades.dbn.zst",
        Format::Dbn,
        include_bytes!(
            "../../../testdata/databento/futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst"
        ),
    ),
    (
        "btcusdt_20240808_first3000.txt.gz",
        Format::Binance,
        include_bytes!("../../../testdata/binance/btcusdt_20240808_first3000.txt.gz"),
    ),
];

/// `strata demo [DIR]`: a local archive from a real sample plus a synthetic live feed, sealed and
/// verified.
pub fn demo(g: &Global, dir: Option<&Path>) -> Result<(), Failure> {
    let dir = dir
        .map(Path::to_path_buf)
        .or_else(|| g.root.clone())
        .unwrap_or_else(|| PathBuf::from("strata-demo"));
    if !dir.join(strata::archive::CONFIG_FILE_NAME).exists() {
        strata::archive::init(&dir, strata::core::Profile::Research, false)?;
    }
    let archive = Archive::open_dir(&dir)?;
    let samples = tempdir_in(&dir)?;
    let writer = archive.writer(WriterOptions {
        session_id: None,
        tags: vec!["demo".into()],
    })?;
    let started = Instant::now();
    let mut imported = Vec::new();
    for (name, format, bytes) in DEMO_SAMPLES {
        let path = samples.join(name);
        std::fs::write(&path, bytes).with_context(|| path.display().to_string())?;
        // Lean reads what a file holds from its path (equity/usa/tick/spy/DATE_trade.zip).
        let path = if *format == Format::Lean {
            let lean = samples.join("equity/usa/tick/spy");
            std::fs::create_dir_all(&lean).with_context(|| lean.display().to_string())?;
            let target = lean.join("20131007_trade.zip");
            std::fs::rename(&path, &target).with_context(|| target.display().to_string())?;
            target
        } else {
            path
        };
        imported.push(archive.import_file(
            &writer,
            &path,
            *format,
            &ImportOptions::default(),
            &mut |_| {},
        )?);
    }
    std::fs::remove_dir_all(&samples).with_context(|| samples.display().to_string())?;
    let live = synthetic_live_feed(&writer)?;
    let report = writer.close()?;

    // What the archive holds now, re-verified from disk.
    let files = archive.catalog().find(&FileQuery::default())?;
    let mut folders = std::collections::BTreeSet::new();
    for m in &files {
        if let Some(parent) = m.data_path(archive.root()).parent() {
            folders.insert(parent.to_path_buf());
        }
    }
    let (mut verified, mut bad) = (0usize, Vec::new());
    for folder in &folders {
        for result in strata::catalog::verify_checksums(folder)? {
            if result.is_ok() {
                verified += 1;
            } else {
                bad.push(format!(
                    "{}/{}: {:?}",
                    folder.display(),
                    result.file_name,
                    result.status
                ));
            }
        }
    }
    let stats = archive.catalog().stats()?;
    if g.json {
        println!(
            "{}",
            json!({ "ok": bad.is_empty(), "root": archive.root(), "files": stats.files, "events": stats.events,
                    "bytes": stats.bytes, "checksums_verified": verified, "checksum_problems": bad,
                    "session": report.id, "live_events": live, "seconds": started.elapsed().as_secs_f64() })
        );
    } else if !g.quiet {
        for i in &imported {
            println!(
                "imported {}: {}",
                i.file.rsplit('/').next().unwrap_or(&i.file),
                i.summary
            );
        }
        println!(
            "synthetic live feed: {live} events from 2 threads (quotes and trades, group commit)"
        );
        println!(
            "archive {}: {} files, {} events, {} bytes; {} checksums verified{}",
            archive.root().display(),
            stats.files,
            stats.events,
            stats.bytes,
            verified,
            if bad.is_empty() {
                String::new()
            } else {
                format!(", {} FAILED", bad.len())
            }
        );
        println!(
            "next: strata --root {} ls --symbol SPY",
            archive.root().display()
        );
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            error: anyhow!("checksum verification failed: {}", bad.join("; ")),
        })
    }
}

fn tempdir_in(dir: &Path) -> Result<PathBuf, Failure> {
    let path = dir.join(format!(".demo-input-{}", std::process::id()));
    std::fs::create_dir_all(&path).with_context(|| path.display().to_string())?;
    Ok(path)
}

/// A price in cents.
fn cents(v: i64) -> strata::model::Decimal {
    // Scale 2 is within Decimal's 0..=18, so `new` cannot fail here.
    strata::model::Decimal::new(v, 2).unwrap_or_default()
}

/// Two threads append a minute of synthetic quotes and trades for two symbols, as a live feed
/// would, then flush. Returns the events written.
fn synthetic_live_feed(writer: &strata::ingest::Writer) -> Result<u64, Failure> {
    use strata::model::{BboQuote, Decimal, Event, Level, Payload, Side, Trade};
    let start = Timestamp::parse_flexible("2024-06-03T13:30:00Z")
        .map_err(|e| anyhow!(e))?
        .as_nanos();
    let handles: Vec<_> = ["AAPL", "MSFT"]
        .into_iter()
        .enumerate()
        .map(|(t, symbol)| {
            let writer = writer.clone();
            std::thread::spawn(move || -> Result<u64, strata::ingest::Error> {
                let mut written = 0u64;
                let mut seq = 0u64;
                for chunk in 0..60 {
                    let mut batch = Vec::with_capacity(200);
                    for i in 0..100 {
                        let ts = start + (chunk * 100 + i) * 10_000_000 + t as i64;
                        let mid = 19_000 + ((chunk * 100 + i) % 37) - 18;
                        seq += 1;
                        let mut quote = Event::new(
                            "demo-live",
                            symbol,
                            Timestamp::from_nanos(ts),
                            Payload::BboQuote(BboQuote {
                                bid: Some(Level {
                                    price: cents(mid),
                                    size: Decimal::from_int(100),
                                }),
                                ask: Some(Level {
                                    price: cents(mid + 1),
                                    size: Decimal::from_int(200),
                                }),
                            }),
                        );
                        quote.sequence = Some(seq);
                        batch.push(quote);
                        if i % 5 == 0 {
                            seq += 1;
                            let mut trade = Event::new(
                                "demo-live",
                                symbol,
                                Timestamp::from_nanos(ts + 1),
                                Payload::Trade(Trade {
                                    price: cents(mid),
                                    size: Decimal::from_int(10 + i % 7),
                                    side: Some(if i % 2 == 0 { Side::Buy } else { Side::Sell }),
                                    trade_id: Some(format!("{symbol}-{seq}")),
                                    conditions: None,
                                }),
                            );
                            trade.sequence = Some(seq);
                            batch.push(trade);
                        }
                    }
                    written += writer.append_batch(&batch)?.accepted as u64;
                }
                Ok(written)
            })
        })
        .collect();
    let mut total = 0;
    for h in handles {
        total += h.join().map_err(|_| anyhow!("a feed thread panicked"))??;
    }
    writer.flush()?;
    Ok(total)
}
