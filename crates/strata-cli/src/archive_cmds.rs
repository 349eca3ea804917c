//! Commands that work on an archive: `ingest`, `ls`, `catalog`, `demo`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use serde_json::json;
use strata::archive::{Archive, FileImport};
use strata::catalog::{Catalog, Facet, FileQuery};
use strata::import::csv::CsvMapping;
use strata::import::{Format, ImportOptions};
use strata::ingest::WriterOptions;
use strata::model::{EventKind, Timestamp};
use strata::policy::TierName;

use crate::{out, say, Failure, Global};

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
    /// If another writer holds the archive, wait up to this long for it (e.g. `30s`, `5m`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    wait: Option<std::time::Duration>,
    /// An input with more than this share of its rows (0..=1) rejected or refused is rolled
    /// back — nothing of it stored, not recorded as imported — and the run exits 1.
    #[arg(long, value_name = "SHARE", default_value_t = 0.01)]
    max_reject_rate: f64,
    /// For an input cut short (not one damaged inside), store the events read before the cut
    /// instead of nothing; the summary and the session report say so.
    #[arg(long)]
    keep_readable_prefix: bool,
    /// Create the archive if the root is not one yet.
    #[arg(long)]
    create: bool,
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
    /// Reads per file (counted by `strata query`), the least read first: the data nobody uses.
    Usage,
}

/// `30s`, `5m`, `2h`, `500ms` or plain seconds.
pub(crate) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 30s, 5m, 2h)"))?;
    let secs = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("`{other}` is not a duration unit (ms, s, m, h)")),
    };
    std::time::Duration::try_from_secs_f64(secs).map_err(|e| format!("`{s}`: {e}"))
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
        .map_err(|e: strata::import::ImportError| e.to_string())
}

pub(crate) fn parse_kind(s: &str) -> Result<EventKind, String> {
    s.parse()
        .map_err(|e: strata::model::UnknownName| e.to_string())
}

pub(crate) fn parse_tier(s: &str) -> Result<TierName, String> {
    s.parse()
        .map_err(|e: strata::model::UnknownName| e.to_string())
}

/// The archive the global flags name and its config: `--config FILE` (which must exist), else
/// `--root DIR` (its strata.toml, or the built-in defaults), else `./strata-data`. A root that is
/// not an archive yet is refused (a mistyped `--root` must not create a new archive) unless
/// `create`.
pub(crate) fn locate(
    g: &Global,
    create: bool,
) -> Result<(PathBuf, strata::config::Config), Failure> {
    let (root, config) = match &g.config {
        Some(path) => {
            if !path.exists() {
                return Err(Failure::usage(anyhow!(
                    "--config {}: no such file",
                    path.display()
                )));
            }
            let config = strata::archive::load_config(path)?;
            (strata::archive::resolve_root(&config, path), config)
        }
        None => {
            let dir = g
                .root
                .clone()
                .unwrap_or_else(|| PathBuf::from("strata-data"));
            if !create {
                refuse_non_archive(&dir)?;
            }
            strata::archive::config_of_dir(&dir)?
        }
    };
    if !create {
        refuse_non_archive(&root)?;
    }
    Ok((root, config))
}

/// Opens the archive the global flags name (see [`locate`]) for writing.
pub fn open_archive(g: &Global, create: bool) -> Result<Archive, Failure> {
    let (root, config) = locate(g, create)?;
    Ok(Archive::open(&root, config)?)
}

/// Opens the archive's index for reading only: nothing is created or written, no lock is taken,
/// and an archive the user can only read works. The config is read and checked, but none of the
/// components it names is built: the read-only commands need only the index (every file's
/// partition is recorded there and in its manifest), so a naming extension that only an
/// embedding program registers does not stop them.
pub fn open_reader(g: &Global) -> Result<(PathBuf, Catalog), Failure> {
    let (root, _config) = locate(g, false)?;
    let catalog = Catalog::open_read_only(&root).map_err(strata::Error::from)?;
    Ok((root, catalog))
}

fn refuse_non_archive(root: &Path) -> Result<(), Failure> {
    if strata::archive::is_archive(root) {
        return Ok(());
    }
    Err(Failure::usage(anyhow!(
        "{} is not a strata archive (no {} and no _catalog/); check --root, create one with `strata init {}`, or pass --create to `strata ingest`",
        root.display(),
        strata::archive::CONFIG_FILE_NAME,
        root.display()
    )))
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

/// How an ingest run was stopped by a signal (the first SIGINT or SIGTERM).
pub(crate) struct Stop {
    pub(crate) any: Arc<AtomicBool>,
    int: Arc<AtomicBool>,
    term: Arc<AtomicBool>,
}

impl Stop {
    /// First SIGINT/SIGTERM: set the flags (imports stop between records). A second one exits
    /// at once (the next open recovers, as after a crash).
    pub(crate) fn install() -> Result<Stop, Failure> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let stop = Stop {
            any: Arc::new(AtomicBool::new(false)),
            int: Arc::new(AtomicBool::new(false)),
            term: Arc::new(AtomicBool::new(false)),
        };
        for (sig, code, own) in [(SIGINT, 130, &stop.int), (SIGTERM, 143, &stop.term)] {
            // Registered before the flags, so it sees the flag of the first signal only.
            signal_hook::flag::register_conditional_shutdown(sig, code, Arc::clone(&stop.any))?;
            signal_hook::flag::register(sig, Arc::clone(own))?;
            signal_hook::flag::register(sig, Arc::clone(&stop.any))?;
        }
        Ok(stop)
    }

    /// The exit code for the signal received, if one was.
    pub(crate) fn code(&self) -> Option<u8> {
        if self.int.load(Ordering::SeqCst) {
            Some(130)
        } else if self.term.load(Ordering::SeqCst) {
            Some(143)
        } else {
            None
        }
    }
}

/// `strata ingest`: import files through one writer session, each exactly once.
pub fn ingest(g: &Global, a: &IngestArgs) -> Result<(), Failure> {
    if !(0.0..=1.0).contains(&a.max_reject_rate) {
        return Err(Failure::usage(anyhow!(
            "--max-reject-rate {}: must be a share between 0 and 1",
            a.max_reject_rate
        )));
    }
    let mut options = ImportOptions {
        source: a.source.clone(),
        symbol: a.symbol.clone(),
        kind: a.kind,
        keep_readable_prefix: a.keep_readable_prefix,
        max_reject_share: Some(a.max_reject_rate),
        ..ImportOptions::default()
    };
    if let Some(map) = &a.csv_map {
        options.csv = Some(map.parse::<CsvMapping>().map_err(|e| Failure {
            code: 2,
            error: anyhow!("--csv-map: {e}"),
            reported: false,
        })?);
    }
    let mut archive = open_archive(g, a.create)?;
    let stop = Stop::install()?;
    archive.set_stop_flag(Arc::clone(&stop.any));
    archive.set_clock(g.now);
    let writer = archive.writer(WriterOptions {
        tags: a.tags.clone(),
        lock_wait: a.wait.unwrap_or_default(),
        ..WriterOptions::default()
    })?;
    let started = Instant::now();
    let mut imports: Vec<FileImport> = Vec::new();
    let mut failures: Vec<(String, String)> = Vec::new();
    // Files rolled back for too many rejected rows: their receipts, for --json.
    let mut rolled_back: Vec<serde_json::Value> = Vec::new();
    for file in &a.files {
        if stop.code().is_some() {
            break;
        }
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
                    say!("{}", describe_import(&done));
                }
                if let Some(why) = &done.unfinished {
                    say!("error: {why}");
                    failures.push((name, why.clone()));
                }
                imports.push(done);
            }
            Err(e @ strata::Error::TooManyRejected { .. }) => {
                if let strata::Error::TooManyRejected { import, .. } = &e {
                    if !g.quiet && !g.json {
                        say!("{}", describe_import(import));
                    }
                    rolled_back.push(import_json(import));
                }
                say!("error: {e}");
                failures.push((name, e.to_string()));
            }
            Err(strata::Error::Stopped) => {
                say!("{name}: stopped by a signal; nothing of it was stored (run it again)");
                failures.push((name, strata::Error::Stopped.to_string()));
                break;
            }
            Err(e) => {
                say!("error: {e:#}");
                failures.push((name, format!("{e:#}")));
            }
        }
    }
    if stop.code().is_some() {
        writer.note_stopped_by("signal");
    }
    // A quota cleanup the writes started ends (or stops at a signal) before the session's
    // report is written, so its note is in it; then one more sees the files the close sealed.
    archive.wait_for_cleanup(std::time::Duration::MAX);
    let report = writer.close()?;
    let cleanup = match stop.code() {
        // Stopped by a signal: no further cleanup (the next run does what is due).
        Some(_) => archive.cleanup_status(),
        None => archive.finish_cleanup(&writer),
    };
    // A signal during close() (the final seals) still gives its exit code.
    let signal = stop.code();
    let report_path = strata::ingest::session::SessionReport::path(archive.root(), &report.id);
    let seconds = started.elapsed().as_secs_f64();
    let rows: u64 = imports.iter().map(|i| i.summary.rows).sum();
    let rejected: u64 = imports.iter().map(|i| i.summary.rejected + i.refused).sum();
    // The worst stored file's share; every file over the limit was rolled back, and is a failure.
    let reject_rate = imports
        .iter()
        .map(FileImport::reject_share)
        .fold(0.0, f64::max);
    let ok = failures.is_empty() && signal.is_none();
    if g.json {
        out!(
            "{}",
            json!({
                "ok": ok,
                "root": archive.root(),
                "session": report.id,
                "report": report_path,
                "files": imports.iter().map(import_json).collect::<Vec<_>>(),
                "failed": failures.iter().map(|(file, error)| json!({"file": file, "error": error})).collect::<Vec<_>>(),
                "rolled_back_for_rejects": rolled_back,
                "events": report.events,
                "quarantined": report.rejected,
                "rejected_by_reason": report.rejected_by_reason,
                "reject_rate": reject_rate,
                "max_reject_rate": a.max_reject_rate,
                "imports_committed": report.imports_committed,
                "imports_rolled_back": report.imports_rolled_back,
                "stopped_by": report.stopped_by,
                "files_sealed": report.files_sealed,
                "files_verified": report.files_verified,
                "bytes_written": report.bytes_written,
                "bytes_sealed": report.bytes_sealed,
                "quota_signals": report.quota_signals,
                "quota_cleanup": {
                    "runs": cleanup.finished,
                    "files_deleted": cleanup.files_deleted,
                    "bytes_freed": cleanup.bytes_freed,
                    "last": cleanup.last,
                },
                "seconds": seconds,
            })
        );
    } else if !g.quiet {
        let gaps: usize = imports.iter().map(|i| i.summary.gaps.len()).sum();
        out!(
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
        let by_reason: Vec<String> = report
            .rejected_by_reason
            .iter()
            .map(|(reason, n)| format!("{reason} {n}"))
            .collect();
        out!(
            "rejected or refused: {} of {} rows (worst file {:.2}%, limit {:.2}%){}",
            rejected,
            rows,
            reject_rate * 100.0,
            a.max_reject_rate * 100.0,
            if by_reason.is_empty() {
                String::new()
            } else {
                format!(" — by reason: {}", by_reason.join(", "))
            }
        );
        if let Some(last) = cleanup.last.as_deref() {
            out!(
                "quota cleanup: {} run(s), {} file(s) deleted, {} bytes freed (last: {last})",
                cleanup.finished,
                cleanup.files_deleted,
                cleanup.bytes_freed
            );
        }
        out!("session report: {}", report_path.display());
    }
    if let Some(code) = signal {
        return Err(Failure {
            code,
            error: anyhow!(
                "stopped by a signal: everything committed before it is stored and sealed, the session is closed"
            ),
            reported: g.json,
        });
    }
    if !failures.is_empty() {
        return Err(Failure {
            code: 1,
            error: anyhow!("{} file(s) could not be imported", failures.len()),
            reported: g.json,
        });
    }
    Ok(())
}

/// One line on what importing a file did.
fn describe_import(done: &FileImport) -> String {
    if let Some(prev) = &done.already_imported {
        return format!(
            "{}: already imported ({} events, import {} by session {} at {}); nothing to do",
            done.file, prev.events, prev.id, prev.session, prev.at
        );
    }
    let mut line = format!(
        "{}: {} — {} stored, {} refused by integrity checks",
        done.file, done.summary, done.accepted, done.refused
    );
    if done.refused > 0 {
        let invalid = done.refused - done.refused_duplicates - done.refused_out_of_order;
        line.push_str(&format!(
            " ({} duplicates, {} out of order, {} invalid)",
            done.refused_duplicates, done.refused_out_of_order, invalid
        ));
    }
    if let Some(note) = &done.kept_prefix {
        line.push_str("; ");
        line.push_str(note);
    }
    // The data-quality receipt: time range, symbols, top reasons with a first example.
    for receipt in done.summary.receipt_lines(5) {
        line.push_str("\n  ");
        line.push_str(&receipt);
    }
    line
}

/// An import as `--json` reports it: the counts, and the receipt's details.
fn import_json(i: &FileImport) -> serde_json::Value {
    let reasons = |by: &std::collections::BTreeMap<String, strata::import::ReasonTally>| {
        strata::import::ImportSummary::top_reasons(by, usize::MAX)
            .into_iter()
            .map(|(class, t)| json!({"reason": class, "count": t.count, "first": t}))
            .collect::<Vec<_>>()
    };
    json!({
        "file": i.file, "rows": i.summary.rows, "events": i.summary.events(),
        "stored": i.accepted, "refused": i.refused,
        "refused_duplicates": i.refused_duplicates,
        "refused_out_of_order": i.refused_out_of_order,
        "rejected_rows": i.summary.rejected,
        "rejected_by_reason": reasons(&i.summary.rejected_by_reason),
        "skipped": i.summary.skipped,
        "skipped_by_reason": reasons(&i.summary.skipped_by_reason),
        "gaps": i.summary.gaps.len(),
        "first_event_time": i.summary.time_range.map(|(a, _)| a.to_string()),
        "last_event_time": i.summary.time_range.map(|(_, b)| b.to_string()),
        "symbols": i.summary.events_by_symbol,
        "instruments": i.summary.instruments.keys().collect::<Vec<_>>(),
        "import_id": i.import_id,
        "already_imported": i.already_imported,
        "kept_prefix": i.kept_prefix,
    })
}

/// `strata ls`.
pub fn ls(g: &Global, a: &LsArgs) -> Result<(), Failure> {
    let (_root, catalog) = open_reader(g)?;
    let query = FileQuery {
        symbol: a.symbol.clone(),
        kind: a.kind,
        source: a.source.clone(),
        tier: a.tier,
        from: a.from,
        to: a.to,
    };
    let files = catalog.find(&query)?;
    if g.json {
        out!("{}", serde_json::to_string(&files)?);
        return Ok(());
    }
    for m in &files {
        let range = match (m.stats.first_event_time, m.stats.last_event_time) {
            (Some(a), Some(b)) => format!("{a} .. {b}"),
            _ => "-".to_string(),
        };
        out!(
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
        say!("{} file(s)", files.len());
    }
    Ok(())
}

/// `strata sessions`: every session report under `_sessions/`, oldest first. A report that
/// cannot be read is listed with its error and makes the exit code 1.
/// `strata sessions …` (SESSION-2).
#[derive(Subcommand, Debug)]
pub enum SessionsCommand {
    /// Reads every file the session sealed (SHA-256) and counts its events in the archive by
    /// kind, symbol and source against its report; exit 1 on a difference.
    Verify {
        /// The session (`strata sessions` lists them).
        id: String,
    },
    /// Two sessions' events by kind and symbol, and the market events both hold (the same
    /// kind, symbol, venue, time and values, whatever the source or receive time).
    Compare {
        /// The first session.
        a: String,
        /// The second.
        b: String,
    },
    /// A new session standing for several: its report sums theirs; `--session NAME` on
    /// `query` and `export` reads them all.
    Merge {
        /// The sessions (at least two).
        #[arg(required = true, num_args = 2..)]
        ids: Vec<String>,
        /// The merged session's name.
        #[arg(long)]
        into: String,
    },
}

/// `strata sessions [verify|compare|merge]`.
pub fn sessions(g: &Global, command: Option<&SessionsCommand>) -> Result<(), Failure> {
    use strata::query::sessions;
    let Some(command) = command else {
        return list_sessions(g);
    };
    let (root, config) = locate(g, false)?;
    let selection = |e: strata::query::Error| match e {
        strata::query::Error::Selection(_) => Failure::usage(anyhow!("{e}")),
        other => Failure::from(other),
    };
    if let SessionsCommand::Merge { ids, into } = command {
        // The merged session's folder is created create-only: two merges into one name cannot
        // both write it. Its members' files are not touched.
        let merged = sessions::merge(&root, ids, into).map_err(selection)?;
        if g.json {
            out!("{}", serde_json::to_string(&merged)?);
        } else {
            out!(
                "session {} stands for {} ({} events)",
                merged.id,
                merged.merged_from.join(", "),
                merged.events
            );
        }
        return Ok(());
    }
    let archive = Archive::open_read_only(&root, config)?;
    let engine = archive.query_engine()?;
    match command {
        SessionsCommand::Verify { id } => {
            let check = sessions::verify(&engine, id).map_err(selection)?;
            if g.json {
                out!("{}", serde_json::to_string(&check)?);
            } else {
                out!(
                    "session {} ({}): {} file(s) read, {} event(s) in the archive, {} in its report",
                    check.id,
                    check.state,
                    check.files,
                    check.events,
                    check.reported
                );
                for p in &check.problems {
                    out!("  problem: {p}");
                }
                for n in &check.notes {
                    out!("  note: {n}");
                }
                if check.problems.is_empty() {
                    out!("  every file matches its SHA-256 and every count its report");
                }
            }
            if check.problems.is_empty() {
                Ok(())
            } else {
                Err(Failure {
                    code: 1,
                    error: anyhow!("{} problem(s) in session {id}", check.problems.len()),
                    reported: g.json,
                })
            }
        }
        SessionsCommand::Compare { a, b } => {
            let cmp = sessions::compare(&engine, a, b).map_err(selection)?;
            if g.json {
                out!("{}", serde_json::to_string(&cmp)?);
            } else {
                out!("{:<32} {:>10} {:>10} {:>10}", "kind symbol", a, b, "shared");
                for (stream, side) in &cmp.by_stream {
                    out!(
                        "{stream:<32} {:>10} {:>10} {:>10}",
                        side.a,
                        side.b,
                        side.shared
                    );
                }
                out!(
                    "{:<32} {:>10} {:>10} {:>10}",
                    "total",
                    cmp.total.a,
                    cmp.total.b,
                    cmp.total.shared
                );
            }
            Ok(())
        }
        // Handled above.
        SessionsCommand::Merge { .. } => Ok(()),
    }
}

fn list_sessions(g: &Global) -> Result<(), Failure> {
    let (root, _catalog) = open_reader(g)?;
    let reports = strata::ingest::session::SessionReport::list(&root)?;
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
        out!("{}", serde_json::to_string(&items)?);
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
                    out!(
                        "{:<28} {:<11} {:>10} ev {:>6} rejected {:>5} sealed  {} .. {}",
                        s.id,
                        state,
                        s.events,
                        s.rejected,
                        s.files_sealed,
                        s.started_at,
                        until
                    );
                    for note in &s.interruption {
                        out!("    {note}");
                    }
                    if !s.merged_from.is_empty() {
                        out!("    merged from {}", s.merged_from.join(", "));
                    }
                }
                Err(e) => {
                    bad += 1;
                    out!("unreadable report: {e}");
                }
            }
        }
        if !g.quiet {
            say!("{} session(s)", reports.len());
        }
    }
    if bad == 0 {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            error: anyhow!("{bad} session report(s) could not be read"),
            reported: g.json,
        })
    }
}

/// `strata catalog rebuild|stats`.
pub fn catalog(g: &Global, c: &CatalogCommand) -> Result<(), Failure> {
    match c {
        CatalogCommand::Rebuild => {
            // Rebuilding writes the index: it opens as a writer would (a damaged index is moved
            // aside), but only the holder of the writer lock may write, so it takes the lock.
            // Everything that can refuse is checked before anything is moved: the config (read
            // and validated by `locate`), the root, the lock. It needs no component the config
            // names (the sidecar manifests record every file's partition), so a naming
            // extension only an embedding program registers does not stop it.
            let (root, _config) = locate(g, false)?;
            let _lock = strata::ingest::WriterLock::acquire(
                &root,
                "catalog-rebuild",
                std::time::Duration::ZERO,
            )?;
            let (catalog, aside) = Catalog::open_for_rebuild(&root).map_err(strata::Error::from)?;
            if let Some(aside) = &aside {
                say!(
                    "the index was damaged: moved it to {} and built a new one",
                    aside.display()
                );
            }
            let report = catalog.rebuild(&root)?;
            catalog.export_manifest()?;
            let problems: Vec<String> = report
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.path.display(), p.error))
                .collect();
            if g.json {
                out!(
                    "{}",
                    json!({ "ok": problems.is_empty(), "sidecars": report.sidecars_found, "registered": report.registered,
                            "problems": problems, "missing_data": report.missing_data })
                );
            } else {
                out!(
                    "rebuilt the index from {} sidecar(s): {} file(s) registered, {} problem(s), {} sidecar(s) without data",
                    report.sidecars_found,
                    report.registered,
                    problems.len(),
                    report.missing_data.len()
                );
                for p in &problems {
                    out!("  problem: {p}");
                }
            }
            if !problems.is_empty() {
                return Err(Failure {
                    code: 1,
                    error: anyhow!("{} sidecar(s) could not be read", problems.len()),
                    reported: g.json,
                });
            }
        }
        CatalogCommand::Usage => {
            let (root, catalog) = open_reader(g)?;
            let usage = strata::query::ReadLog::new(&root).usage().map_err(|e| {
                anyhow!(
                    "{}: {e}",
                    root.join("_catalog")
                        .join(strata::query::READS_FILE)
                        .display()
                )
            })?;
            let mut rows: Vec<(u64, Option<Timestamp>, String, String, u64)> = catalog
                .find(&strata::catalog::FileQuery::all())?
                .into_iter()
                .map(|m| {
                    let u = usage.get(&m.path);
                    (
                        u.map_or(0, |u| u.reads),
                        u.map(|u| u.last),
                        m.tier.as_str().to_string(),
                        m.path,
                        m.size_bytes,
                    )
                })
                .collect();
            rows.sort();
            if g.json {
                let files: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|(reads, last, tier, path, bytes)| {
                        json!({ "path": path, "tier": tier, "bytes": bytes, "reads": reads,
                                "last_read": last.map(|t| t.to_string()) })
                    })
                    .collect();
                out!("{}", json!({ "ok": true, "files": files }));
            } else {
                for (reads, last, tier, path, bytes) in &rows {
                    let last = last.map_or("never".to_string(), |t| t.to_string());
                    out!("{reads:>6}  {last:<30}  {tier:<7}  {bytes:>12}  {path}");
                }
                if !g.quiet {
                    let unread = rows.iter().filter(|r| r.0 == 0).count();
                    say!("{} file(s), {unread} never read by a query", rows.len());
                }
            }
        }
        CatalogCommand::Stats => {
            let (_root, catalog) = open_reader(g)?;
            let stats = catalog.stats()?;
            let by_kind = catalog.totals(Facet::Kind)?;
            let by_source = catalog.totals(Facet::Source)?;
            if g.json {
                out!(
                    "{}",
                    json!({ "files": stats.files, "events": stats.events, "bytes": stats.bytes,
                            "by_tier": stats.by_tier.iter().map(|(t, v)| (t.as_str().to_string(), json!({"files": v.files, "events": v.events, "bytes": v.bytes}))).collect::<serde_json::Map<String, serde_json::Value>>(),
                            "by_kind": by_kind.iter().map(|f| json!({"kind": f.value, "events": f.events, "files": f.files, "bytes": f.bytes})).collect::<Vec<_>>(),
                            "by_source": by_source.iter().map(|f| json!({"source": f.value, "events": f.events, "files": f.files, "bytes": f.bytes})).collect::<Vec<_>>() })
                );
            } else {
                out!(
                    "{} file(s), {} event(s), {} byte(s)",
                    stats.files,
                    stats.events,
                    stats.bytes
                );
                for (tier, t) in &stats.by_tier {
                    out!(
                        "  tier {:<8} {:>6} files {:>12} events {:>14} bytes",
                        tier.as_str(),
                        t.files,
                        t.events,
                        t.bytes
                    );
                }
                for f in &by_kind {
                    out!(
                        "  kind {:<16} {:>6} files {:>12} events",
                        f.value,
                        f.files,
                        f.events
                    );
                }
                for f in &by_source {
                    out!(
                        "  source {:<14} {:>6} files {:>12} events",
                        f.value,
                        f.files,
                        f.events
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
        strata::archive::init(&dir, strata::Profile::Research, false)?;
    }
    let archive = Archive::open_dir(&dir)?;
    let samples = tempdir_in(&dir)?;
    let writer = archive.writer(WriterOptions {
        tags: vec!["demo".into()],
        ..WriterOptions::default()
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
    // The feed is staged as one import under a fixed key, so running the demo again adds
    // nothing (as re-importing the samples adds nothing).
    let key = strata::ingest::ImportKey::new(DEMO_FEED_ID, "v1;demo-live-feed");
    let live = match writer.begin_import("demo: synthetic live feed", Some(&key))? {
        strata::ingest::ImportStart::AlreadyImported(_) => 0,
        strata::ingest::ImportStart::Started(id) => {
            let live = match synthetic_live_feed(&writer, id) {
                Ok(live) => live,
                Err(e) => {
                    writer.abort_import(id, "the demo feed failed")?;
                    return Err(e);
                }
            };
            writer.commit_import(id, &key, strata::ingest::ImportTally::default())?;
            live
        }
    };
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

    // Age the archive through every tier: the lifecycle run at 3, 40 and 400 days after its
    // newest event (as `strata --now … lifecycle run` would), each migration verified.
    let newest = files.iter().filter_map(|m| m.stats.last_event_time).max();
    let mut aging = Vec::new();
    for days in [3i64, 40, 400] {
        let Some(newest) = newest else { break };
        let now = Timestamp::from_nanos(
            newest
                .as_nanos()
                .saturating_add(days.saturating_mul(86_400 * 1_000_000_000)),
        );
        let run = archive.lifecycle_run(now, |_, _| {})?;
        for (path, why) in &run.failed {
            bad.push(format!("lifecycle at {now}: {path}: {why}"));
        }
        aging.push((days, now, run, tier_table(archive.catalog())?));
    }
    if g.json {
        let stages: Vec<_> = aging
            .iter()
            .map(|(days, now, run, tiers)| {
                json!({ "now": now.to_string(), "days_after_newest": days,
                        "migrated": run.migrated.len(), "deleted": run.deleted.len(),
                        "events_moved": run.events_moved, "failed": run.failed.len(), "tiers": tiers })
            })
            .collect();
        out!(
            "{}",
            json!({ "ok": bad.is_empty(), "root": archive.root(), "files": stats.files, "events": stats.events,
                    "bytes": stats.bytes, "checksums_verified": verified, "checksum_problems": bad,
                    "session": report.id, "live_events": live, "lifecycle": stages,
                    "seconds": started.elapsed().as_secs_f64() })
        );
    } else if !g.quiet {
        for i in &imported {
            let name = i.file.rsplit('/').next().unwrap_or(&i.file);
            if i.already_imported.is_some() {
                out!("{name}: in the archive already");
            } else {
                out!("imported {name}: {}", i.summary);
            }
        }
        if live > 0 {
            out!("synthetic live feed: {live} events from 2 threads (quotes and trades, staged as one import)");
        } else {
            out!("synthetic live feed: in the archive already (the demo adds nothing when run again)");
        }
        out!(
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
        for (days, now, run, tiers) in &aging {
            let placed: Vec<String> = tiers
                .iter()
                .map(|t| format!("{} {}", t["tier"].as_str().unwrap_or(""), t["files"]))
                .collect();
            out!(
                "lifecycle at {now} (newest event + {days}d): {} migrated ({} events, verified), {} deleted; files: {}",
                run.migrated.len(),
                run.events_moved,
                run.deleted.len(),
                placed.join(", ")
            );
        }
        if let Some((_, _, _, tiers)) = aging.last() {
            out!(
                "{:<8} {:>6} {:>10} {:>12}",
                "tier",
                "files",
                "events",
                "bytes"
            );
            for t in tiers {
                let n = |key: &str| t[key].as_u64().unwrap_or(0);
                out!(
                    "{:<8} {:>6} {:>10} {:>12}",
                    t["tier"].as_str().unwrap_or(""),
                    n("files"),
                    n("events"),
                    n("bytes")
                );
            }
        }
        out!(
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
            reported: g.json,
        })
    }
}

/// Files, events and bytes per tier, hottest first (every tier listed).
fn tier_table(catalog: &Catalog) -> Result<Vec<serde_json::Value>, Failure> {
    let files = catalog.find(&FileQuery::default())?;
    Ok(TierName::ALL
        .iter()
        .map(|&tier| {
            let in_tier = files.iter().filter(|m| m.tier == tier);
            let (n, events, bytes) = in_tier.fold((0u64, 0u64, 0u64), |(n, e, b), m| {
                (n + 1, e + m.stats.event_count, b + m.size_bytes)
            });
            json!({ "tier": tier.as_str(), "files": n, "events": events, "bytes": bytes })
        })
        .collect())
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

/// What the demo's synthetic feed is known by in the import ledger (it is the same every run).
const DEMO_FEED_ID: &str = "strata-demo-synthetic-live-feed-v1";

/// Two threads append a minute of synthetic quotes and trades for two symbols, as a live feed
/// would, into the import `id`. Returns the events written.
fn synthetic_live_feed(
    writer: &strata::ingest::Writer,
    id: strata::ingest::ImportId,
) -> Result<u64, Failure> {
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
                    let staged = strata::ingest::AppendOptions {
                        import: Some(id),
                        ..strata::ingest::AppendOptions::default()
                    };
                    written += writer.append_batch_with(&batch, staged)?.accepted as u64;
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

/// `strata lineage PATH`: where a catalogued file came from (every step back to the hot tier)
/// and what was made from it (CAT-3).
pub fn lineage(g: &Global, path: &str) -> Result<(), Failure> {
    let (_root, catalog) = open_reader(g)?;
    let Some(file) = catalog.get(path)? else {
        return Err(Failure::from(anyhow!(
            "{path} is not in the catalog (`strata ls` lists the files; paths start with their tier)"
        )));
    };
    // What was made from it, and from those, down to the files that stand.
    let mut made = Vec::new();
    let mut next = vec![file.path.clone()];
    while let Some(p) = next.pop() {
        for child in catalog.derived_from(&p)? {
            if !made.contains(&child) {
                next.push(child.clone());
                made.push(child);
            }
        }
    }
    if g.json {
        out!(
            "{}",
            json!({ "ok": true, "path": file.path, "sha256": file.sha256, "tier": file.tier.as_str(),
                    "parents": file.lineage, "made_into": made })
        );
        return Ok(());
    }
    out!("{}  {}  {}", file.path, file.tier.as_str(), file.sha256);
    if file.lineage.is_empty() {
        out!("  made from: nothing else (written by the writer)");
    }
    for step in &file.lineage {
        out!(
            "  made from: {}  {}  by {}",
            step.parent_path,
            step.parent_sha256,
            step.operation
        );
    }
    for child in &made {
        out!("  made into: {child}");
    }
    Ok(())
}
