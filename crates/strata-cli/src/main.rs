//! `strata`, the command line (OPS-1, OPS-2; the contract is `../shared/CLI.md`).
//!
//! Exit codes: 0 success; 1 the operation failed or found problems; 2 usage or configuration
//! error. `--json` makes every command print one JSON document on stdout.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod archive_cmds;
mod backend_cmds;
mod lifecycle_cmds;
mod query_cmds;
use serde_json::json;
use strata::archive::{self, CONFIG_FILE_NAME};
use strata::codec::{self, CodecSpec, MeasurementReport};
use strata::model::Timestamp;
use strata::Profile;

#[derive(Parser, Debug)]
#[command(
    name = "strata",
    version,
    about = "A durable, self-describing, tiered archive for market data"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug)]
pub(crate) struct Global {
    /// Archive root folder (its strata.toml is used).
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) root: Option<PathBuf>,
    /// Config file (TOML, JSON or YAML).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Print one JSON document on stdout.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Replace the clock (RFC 3339 or YYYY-MM-DD) for everything that depends on age or calendar.
    #[arg(long, global = true, value_name = "TIME", value_parser = parse_time)]
    pub(crate) now: Option<Timestamp>,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// More logging (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

pub(crate) fn parse_time(s: &str) -> Result<Timestamp, String> {
    Timestamp::parse_flexible(s).map_err(|e| e.to_string())
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a commented default config and create the archive folder.
    Init {
        /// Archive folder (default: --root, else ./strata-data).
        dir: Option<PathBuf>,
        /// Defaults bundle.
        #[arg(long, default_value = "research", value_parser = parse_profile)]
        profile: Profile,
        /// Overwrite an existing strata.toml.
        #[arg(long)]
        force: bool,
    },
    /// Check or show a config.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Import files into the hot tier (formats: jsonl, csv, lean, dbn, binance, tardis).
    Ingest(archive_cmds::IngestArgs),
    /// Files in the catalog, filtered by symbol, kind, source, tier and time.
    Ls(archive_cmds::LsArgs),
    /// Events of a selection from every tier, in event-time order (jsonl, csv or table).
    Query(query_cmds::QueryArgs),
    /// Write a selection's events to a new folder (jsonl, csv, parquet) with a manifest and
    /// checksums, or check one: `export verify DIR`.
    Export(query_cmds::ExportArgs),
    /// Writer sessions: id, state (running, closed, interrupted), times and counts; `verify
    /// ID`, `compare A B`, `merge A B… --into NAME` (SESSION-2).
    Sessions {
        #[command(subcommand)]
        command: Option<archive_cmds::SessionsCommand>,
    },
    /// Where a catalogued file came from, step by step, and what was made from it.
    Lineage {
        /// The file as the catalog names it (`cold/kind=trade/…`; `strata ls` lists them).
        path: String,
    },
    /// Rebuild the catalog index from the sidecars, or show its totals.
    Catalog {
        #[command(subcommand)]
        command: archive_cmds::CatalogCommand,
    },
    /// Build a local archive from a real sample plus a synthetic live feed, seal and verify it.
    Demo {
        /// Archive folder (default: --root, else ./strata-demo).
        dir: Option<PathBuf>,
    },
    /// Measure codecs on your data and pick one by a rule (CODEC-3).
    Codec {
        #[command(subcommand)]
        command: CodecCommand,
    },
    /// Check a storage backend: what its server enforces and what strata does on it.
    Backend {
        #[command(subcommand)]
        command: backend_cmds::BackendCommand,
    },
    /// What the lifecycle does with every file, and why (`--now` ages the data).
    Lifecycle {
        #[command(subcommand)]
        command: lifecycle_cmds::LifecycleCommand,
    },
    /// Check every file against its manifest (checksums; --deep: events decoded and counted),
    /// the audit trail's hash chain and the archive tier's signed manifests.
    Verify {
        /// Decode every file and compare its event count too.
        #[arg(long)]
        deep: bool,
        /// Check the archive tier's signed manifests against this public key (PEM) kept
        /// outside the archive, in place of compliance.trusted_key; repeat it for the keys of
        /// a rotation, oldest first (a key may not sign after a later one has).
        #[arg(long = "trusted-key", value_name = "FILE")]
        trusted_keys: Vec<std::path::PathBuf>,
    },
    /// Quotas: usage against each limit, and the capacity forecast.
    Quota {
        #[command(subcommand)]
        command: lifecycle_cmds::QuotaCommand,
    },
    /// Legal holds: nothing in a hold's scope is deleted while it is in force.
    Hold {
        #[command(subcommand)]
        command: lifecycle_cmds::HoldCommand,
    },
    /// Approve deleting archive-tier files, signed with an approver's key (ARCH-4).
    Approve(lifecycle_cmds::ApproveArgs),
    /// Signing keys for the archive tier's manifests (`compliance.signing_key`).
    Key {
        #[command(subcommand)]
        command: lifecycle_cmds::KeyCommand,
    },
}

#[derive(Subcommand, Debug)]
enum CodecCommand {
    /// Measure every codec in the list on a sample of FILEs (compressed files are read through
    /// their codec), print the table, and answer the rule(s) given.
    Advise(AdviseArgs),
}

#[derive(Args, Debug)]
struct AdviseArgs {
    /// Data to measure on (any codec; sniffed from content).
    #[arg(required_unless_present = "measurements")]
    files: Vec<PathBuf>,
    /// Answer: the fastest codec whose ratio is at least R.
    #[arg(long, value_name = "R")]
    min_ratio: Option<f64>,
    /// Answer: the smallest output among codecs compressing at least S MB/s.
    #[arg(long, value_name = "MB_S")]
    min_speed: Option<f64>,
    /// Codecs to measure, comma separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "none,lz4,gzip:1,gzip:6,gzip:9,zstd:1,zstd:3,zstd:6,zstd:9,zstd:12,zstd:15,zstd:19,zstd:19:long"
    )]
    codecs: Vec<CodecSpec>,
    /// Use at most this many MiB of plain data from the files.
    #[arg(long, default_value_t = 16)]
    sample_mib: usize,
    /// Repeat each codec and direction for at least this many milliseconds.
    #[arg(long, default_value_t = 300)]
    min_ms: u64,
    /// Save the measurements as JSON (a report another run or a policy can read).
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Answer from saved measurements (from --save or the codec-table bench) instead of measuring.
    #[arg(long, value_name = "FILE", conflicts_with = "files")]
    measurements: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Validate a config; errors name the key and the problem.
    Check {
        /// Config file (default: --config, else --root/strata.toml, else ./strata.toml).
        file: Option<PathBuf>,
    },
    /// Print the resolved config (defaults, profile and your values merged) as TOML or JSON.
    Show {
        /// Config file (default as for `check`).
        file: Option<PathBuf>,
    },
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse()
}

/// A failure with the exit code it maps to.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) error: anyhow::Error,
    /// The command already printed its JSON document (with `"ok": false`): `--json` prints one
    /// document, also on failure.
    pub(crate) reported: bool,
}

impl Failure {
    /// A usage or configuration error (exit 2).
    pub(crate) fn usage(error: anyhow::Error) -> Failure {
        Failure {
            code: 2,
            error,
            reported: false,
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        let error = e.into();
        let code = match error.downcast_ref::<strata::Error>() {
            Some(strata::Error::Config(_)) | Some(strata::Error::AlreadyInitialized { .. }) => 2,
            _ => 1,
        };
        Failure {
            code,
            error,
            reported: false,
        }
    }
}

/// Writes one line to standard output; a closed pipe (`strata ls | head -1`) ends the program
/// quietly instead of panicking.
pub(crate) fn emit(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        say!("error: writing to standard output: {e}");
        std::process::exit(1);
    }
}

/// Writes one line to standard error. A closed standard error (`strata ingest … 2>&1 | head -1`)
/// loses the message but never stops the work, as `eprintln!` would by panicking.
pub(crate) fn emit_err(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// `eprintln!` that does not panic on a closed standard error (see [`emit_err`]).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::emit_err(format_args!($($arg)*))
    };
}

/// `println!` that ends quietly on a closed pipe (see [`emit`]).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::emit(format_args!($($arg)*))
    };
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let asked_json = std::env::args_os().any(|a| a == "--json");
            if asked_json && !matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
            {
                // `--json` promises one document on stdout, also for a usage error.
                out!(
                    "{}",
                    json!({ "ok": false, "error": e.kind().to_string(), "usage": e.to_string() })
                );
                say!("{}", e.to_string().trim_end());
                return ExitCode::from(2);
            }
            e.exit()
        }
    };
    let level = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STRATA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        // A log line that cannot be written (standard error closed) is lost quietly: the
        // subscriber's own complaint would go to standard error too, and panic there.
        .log_internal_errors(false)
        .try_init();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if cli.global.json && !f.reported {
                out!(
                    "{}",
                    json!({ "ok": false, "error": format!("{:#}", f.error) })
                );
            }
            say!("error: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

fn config_path(global: &Global, file: Option<&Path>) -> PathBuf {
    file.map(Path::to_path_buf)
        .or_else(|| global.config.clone())
        .or_else(|| global.root.as_ref().map(|r| r.join(CONFIG_FILE_NAME)))
        .unwrap_or_else(|| PathBuf::from(CONFIG_FILE_NAME))
}

fn run(cli: &Cli) -> Result<(), Failure> {
    let g = &cli.global;
    match &cli.command {
        Command::Init {
            dir,
            profile,
            force,
        } => {
            let dir = dir
                .clone()
                .or_else(|| g.root.clone())
                .unwrap_or_else(|| PathBuf::from("strata-data"));
            let archive = archive::init(&dir, *profile, *force)?;
            if g.json {
                out!(
                    "{}",
                    json!({ "ok": true, "root": archive.root, "config": archive.config_path, "profile": profile.as_str() })
                );
            } else if !g.quiet {
                out!("initialised {} (profile {profile})", archive.root.display());
                out!("config: {}", archive.config_path.display());
                out!(
                    "next: strata config check {}",
                    archive.config_path.display()
                );
            }
        }
        Command::Config {
            command: ConfigCommand::Check { file },
        } => {
            let path = config_path(g, file.as_deref());
            let config = archive::load_config(&path)?;
            let root = archive::resolve_root(&config, &path);
            // A naming extension is registered in code by the program that embeds strata: this
            // command cannot resolve it, so it warns (its name's shape was checked on load).
            let mut warnings = Vec::new();
            let layout = match config.layout.extension() {
                Some(name) => {
                    warnings.push(format!(
                        "{}: key `layout.naming`: \"{name}\" is not a built-in naming; it must be \
                         registered by the embedding program (ArchiveBuilder::register_naming) \
                         before the archive is written — `strata ingest` cannot write with it, \
                         the read-only commands work without it",
                        path.display()
                    ));
                    format!("extension {name} ({})", config.layout.granularity)
                }
                None => {
                    let layout = config.layout.resolve().map_err(strata::Error::from)?;
                    format!("{} ({})", layout.template(), layout.granularity())
                }
            };
            for (slot, name) in config.extensions.named() {
                warnings.push(format!(
                    "{}: key `{slot}`: \"{name}\" is an extension; it must be registered by the \
                     embedding program (ArchiveBuilder::{}) before the archive is written — \
                     `strata ingest` cannot write with it, the read-only commands work without it",
                    path.display(),
                    slot.register_call()
                ));
            }
            let builtin = strata::backend::BackendRegistry::new();
            for tier in strata::policy::TierName::ALL {
                let definition = config.tiers.get(*tier);
                let Some(url) = &definition.backend else {
                    continue;
                };
                let options = strata::backend::OpenOptions::new().worm(definition.worm);
                match builtin.check(url, &options) {
                    Ok(()) if definition.worm && url.starts_with("s3://") => {
                        let require = if definition.retain_days.is_some() {
                            "create-only,object-lock"
                        } else {
                            "create-only"
                        };
                        warnings.push(format!(
                            "{}: key `tiers.{tier}.backend`: a write-once tier on S3 needs a \
                             server that enforces conditional writes{}; strata refuses the \
                             tier's writes otherwise — check it with `strata backend check \
                             {url} --require {require}`",
                            path.display(),
                            if definition.retain_days.is_some() {
                                " and a bucket with Object Lock"
                            } else {
                                ""
                            }
                        ))
                    }
                    Ok(()) => {}
                    Err(strata::backend::Error::UnsupportedScheme { scheme, .. }) => {
                        warnings.push(format!(
                            "{}: key `tiers.{tier}.backend`: `{scheme}://` is not a built-in \
                             backend; it must be registered by the embedding program \
                             (ArchiveBuilder::register_backend) before the archive is written",
                            path.display()
                        ))
                    }
                    Err(e) => {
                        return Err(anyhow::anyhow!(
                            "{}: key `tiers.{tier}.backend`: {e}",
                            path.display()
                        )
                        .into())
                    }
                }
            }
            if !g.json {
                for warning in &warnings {
                    say!("warning: {warning}");
                }
            }
            let summary = format!(
                "profile {}, layout {}, {} quota rule(s), {} symbol(s), {} source(s), root {}",
                config.profile,
                layout,
                config.quotas.len(),
                config.symbols.len(),
                config.sources.len(),
                root.display()
            );
            if g.json {
                out!(
                    "{}",
                    json!({ "ok": true, "file": path, "summary": summary, "warnings": warnings })
                );
            } else if !g.quiet {
                out!("{}: ok ({summary})", path.display());
            }
        }
        Command::Codec {
            command: CodecCommand::Advise(args),
        } => codec_advise(g, args)?,
        Command::Backend {
            command: backend_cmds::BackendCommand::Check(args),
        } => backend_cmds::check(g, args)?,
        Command::Lifecycle { command } => lifecycle_cmds::lifecycle(g, command)?,
        Command::Hold { command } => lifecycle_cmds::hold(g, command)?,
        Command::Verify { deep, trusted_keys } => lifecycle_cmds::verify(g, *deep, trusted_keys)?,
        Command::Key { command } => lifecycle_cmds::key(g, command)?,
        Command::Approve(args) => lifecycle_cmds::approve(g, args)?,
        Command::Quota { command } => lifecycle_cmds::quota(g, command)?,
        Command::Ingest(args) => archive_cmds::ingest(g, args)?,
        Command::Ls(args) => archive_cmds::ls(g, args)?,
        Command::Query(args) => query_cmds::query(g, args)?,
        Command::Export(args) => query_cmds::export(g, args)?,
        Command::Sessions { command } => archive_cmds::sessions(g, command.as_ref())?,
        Command::Lineage { path } => archive_cmds::lineage(g, path)?,
        Command::Catalog { command } => archive_cmds::catalog(g, command)?,
        Command::Demo { dir } => archive_cmds::demo(g, dir.as_deref())?,
        Command::Config {
            command: ConfigCommand::Show { file },
        } => {
            let path = config_path(g, file.as_deref());
            let config = archive::load_config(&path)?;
            if g.json {
                out!("{}", serde_json::to_string_pretty(&config)?);
            } else {
                out!("{}", strata::template::config_toml(&config).trim_end());
            }
        }
    }
    Ok(())
}

fn codec_advise(g: &Global, a: &AdviseArgs) -> Result<(), Failure> {
    let reports: Vec<MeasurementReport> = match &a.measurements {
        Some(path) => {
            let text =
                std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            // The codec-table bench saves a list of reports; --save writes one.
            serde_json::from_slice::<Vec<MeasurementReport>>(&text)
                .or_else(|_| serde_json::from_slice::<MeasurementReport>(&text).map(|r| vec![r]))
                .map_err(|e| anyhow::anyhow!("{}: not a measurement report: {e}", path.display()))?
        }
        None => {
            let limit = a.sample_mib.saturating_mul(1024 * 1024);
            let codecs = codec::CodecRegistry::default();
            let mut sample = Vec::new();
            for file in &a.files {
                if sample.len() >= limit {
                    break;
                }
                // Through the registry, as imports read: the name must agree with the content,
                // and a format strata does not read (bzip2, xz) is refused, not measured as text.
                let (_, content) = codecs.open_file(file)?;
                let wanted = u64::try_from(limit - sample.len()).unwrap_or(u64::MAX);
                std::io::Read::read_to_end(&mut std::io::Read::take(content, wanted), &mut sample)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            }
            if sample.is_empty() {
                return Err(anyhow::anyhow!("the files hold no data to measure").into());
            }
            if !g.quiet && !g.json {
                say!(
                    "measuring {} codecs on {} bytes…",
                    a.codecs.len(),
                    sample.len()
                );
            }
            let measurements = codec::measure(
                &sample,
                &a.codecs,
                std::time::Duration::from_millis(a.min_ms),
            )?;
            vec![MeasurementReport {
                dataset: a
                    .files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                sample_bytes: sample.len() as u64,
                min_duration_ms: a.min_ms,
                measurements,
            }]
        }
    };
    if let Some(path) = &a.save {
        let doc = if reports.len() == 1 {
            serde_json::to_vec_pretty(&reports[0])?
        } else {
            serde_json::to_vec_pretty(&reports)?
        };
        std::fs::write(path, doc).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    let mut questions = Vec::new();
    if let Some(r) = a.min_ratio {
        questions.push(codec::Question::FastestWithRatioAtLeast { min_ratio: r });
    }
    if let Some(s) = a.min_speed {
        questions.push(codec::Question::SmallestAtSpeedAtLeast {
            min_compress_mb_s: s,
        });
    }
    let mut unanswered = 0;
    let mut out = Vec::new();
    for report in &reports {
        let answers: Vec<_> = questions
            .iter()
            .map(|&q| {
                let advice = codec::advise(&report.measurements, q);
                unanswered += usize::from(advice.is_none());
                (q, advice)
            })
            .collect();
        if g.json {
            out.push(json!({
                "dataset": report.dataset,
                "sample_bytes": report.sample_bytes,
                "measurements": report.measurements,
                "answers": answers.iter().map(|(q, a)| json!({ "question": q, "advice": a })).collect::<Vec<_>>(),
            }));
            continue;
        }
        out!("{} ({} bytes)", report.dataset, report.sample_bytes);
        out!(
            "{:<14} {:>8} {:>14} {:>16}",
            "codec",
            "ratio",
            "compress MB/s",
            "decompress MB/s"
        );
        for m in &report.measurements {
            out!(
                "{:<14} {:>8.2} {:>14.1} {:>16.1}",
                m.codec.to_string(),
                m.ratio(),
                m.compress_mb_s,
                m.decompress_mb_s
            );
        }
        for (q, advice) in &answers {
            match advice {
                Some(advice) => out!("{q}: {advice}"),
                None => out!("{q}: no codec measured meets it"),
            }
        }
    }
    if g.json {
        out!("{}", json!({ "ok": unanswered == 0, "reports": out }));
    }
    if unanswered > 0 {
        return Err(Failure {
            code: 1,
            error: anyhow::anyhow!("{unanswered} question(s) had no qualifying codec"),
            reported: g.json,
        });
    }
    Ok(())
}
