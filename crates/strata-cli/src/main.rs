//! `strata`, the command line (OPS-1, OPS-2; the contract is `../shared/CLI.md`).
//!
//! Exit codes: 0 success; 1 the operation failed or found problems; 2 usage or configuration
//! error. `--json` makes every command print one JSON document on stdout.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::json;
use strata::archive::{self, CONFIG_FILE_NAME};
use strata::core::Profile;
use strata::model::Timestamp;

#[derive(Parser, Debug)]
#[command(name = "strata", version, about = "A durable, self-describing, tiered archive for market data")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug)]
struct Global {
    /// Archive root folder (its strata.toml is used).
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Config file (TOML, JSON or YAML).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print one JSON document on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// Replace the clock (RFC 3339 or YYYY-MM-DD) for everything that depends on age or calendar.
    #[arg(long, global = true, value_name = "TIME", value_parser = parse_time)]
    now: Option<Timestamp>,
    /// Only errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// More logging (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn parse_time(s: &str) -> Result<Timestamp, String> {
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
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        let error = e.into();
        let code = match error.downcast_ref::<strata::Error>() {
            Some(strata::Error::Config(_)) | Some(strata::Error::AlreadyInitialized { .. }) => 2,
            _ => 1,
        };
        Failure { code, error }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
        .try_init();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if cli.global.json {
                println!("{}", json!({ "ok": false, "error": format!("{:#}", f.error) }));
            }
            eprintln!("error: {:#}", f.error);
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
        Command::Init { dir, profile, force } => {
            let dir = dir.clone().or_else(|| g.root.clone()).unwrap_or_else(|| PathBuf::from("strata-data"));
            let archive = archive::init(&dir, *profile, *force)?;
            if g.json {
                println!(
                    "{}",
                    json!({ "ok": true, "root": archive.root, "config": archive.config_path, "profile": profile.as_str() })
                );
            } else if !g.quiet {
                println!("initialised {} (profile {profile})", archive.root.display());
                println!("config: {}", archive.config_path.display());
                println!("next: strata config check {}", archive.config_path.display());
            }
        }
        Command::Config { command: ConfigCommand::Check { file } } => {
            let path = config_path(g, file.as_deref());
            let config = archive::load_config(&path)?;
            let root = archive::resolve_root(&config, &path);
            let layout = config.layout.resolve().map_err(strata::core::Error::from)?;
            let summary = format!(
                "profile {}, layout {} ({}), {} quota rule(s), {} symbol(s), {} source(s), root {}",
                config.profile,
                layout.template(),
                layout.granularity(),
                config.quotas.len(),
                config.symbols.len(),
                config.sources.len(),
                root.display()
            );
            if g.json {
                println!("{}", json!({ "ok": true, "file": path, "summary": summary }));
            } else if !g.quiet {
                println!("{}: ok ({summary})", path.display());
            }
        }
        Command::Config { command: ConfigCommand::Show { file } } => {
            let path = config_path(g, file.as_deref());
            let config = archive::load_config(&path)?;
            if g.json {
                println!("{}", serde_json::to_string_pretty(&config)?);
            } else {
                print!("{}", strata::core::template::config_toml(&config));
            }
        }
    }
    Ok(())
}
