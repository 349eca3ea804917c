//! `strata lifecycle plan` and `strata hold add|release|list`.

use std::io::IsTerminal;

use anyhow::anyhow;
use clap::{Args, Subcommand};
use serde_json::json;
use strata::archive::Archive;
use strata::lifecycle::HoldRecord;
use strata::model::{EventKind, Timestamp};
use strata::policy::{Hold, HoldScope, TierName};

use crate::archive_cmds::{locate, parse_kind};
use crate::{out, parse_time, say, Failure, Global};

/// `strata lifecycle …`
#[derive(Subcommand, Debug)]
pub enum LifecycleCommand {
    /// Every catalogued file's decision — stay, migrate, delete or protect — with the rule
    /// that caused it (`--now` ages the data; nothing is moved or deleted).
    Plan,
    /// Carry the plan out: migrations (converted, verified, then the source removed) and
    /// deletions; a run killed before is finished first.
    Run {
        /// Show what would be done, do nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write what was done (JSON) to FILE.
        #[arg(long, value_name = "FILE")]
        report: Option<std::path::PathBuf>,
    },
}

/// `strata hold …`
#[derive(Subcommand, Debug)]
pub enum HoldCommand {
    /// Place a legal hold: nothing in its scope is deleted until it is released.
    Add(HoldArgs),
    /// Release a hold.
    Release {
        /// The hold's name.
        name: String,
    },
    /// The holds in force.
    List,
}

/// What a hold covers.
#[derive(Args, Debug)]
pub struct HoldArgs {
    /// The hold's name (a matter or case reference).
    pub name: String,
    /// A symbol it covers (repeat for more; none: every symbol).
    #[arg(long = "symbol", value_name = "S")]
    pub symbols: Vec<String>,
    /// A source it covers (repeat for more; none: every source).
    #[arg(long = "source", value_name = "R")]
    pub sources: Vec<String>,
    /// An event kind it covers (repeat for more; none: every kind).
    #[arg(long = "kind", value_name = "K", value_parser = parse_kind)]
    pub kinds: Vec<EventKind>,
    /// First date covered (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long, value_parser = parse_time)]
    pub from: Option<Timestamp>,
    /// Last date covered, inclusive.
    #[arg(long, value_parser = parse_time)]
    pub to: Option<Timestamp>,
    /// Why (recorded with the hold).
    #[arg(long, default_value = "")]
    pub reason: String,
}

fn now(g: &Global) -> Timestamp {
    g.now.unwrap_or_else(Timestamp::now)
}

fn open(g: &Global) -> Result<Archive, Failure> {
    let (root, config) = locate(g, false)?;
    Ok(Archive::open_read_only(&root, config)?)
}

/// `strata lifecycle plan|run`
pub fn lifecycle(g: &Global, command: &LifecycleCommand) -> Result<(), Failure> {
    match command {
        LifecycleCommand::Plan | LifecycleCommand::Run { dry_run: true, .. } => show_plan(g),
        LifecycleCommand::Run {
            dry_run: false,
            report,
        } => run(g, report.as_deref()),
    }
}

fn run(g: &Global, report_file: Option<&std::path::Path>) -> Result<(), Failure> {
    let mut archive = crate::archive_cmds::open_archive(g, false)?;
    // A first SIGINT or SIGTERM stops the run between two operations; a second exits at once
    // (the next run finishes what was begun, as after a kill).
    let stop = crate::archive_cmds::Stop::install()?;
    archive.set_stop_flag(std::sync::Arc::clone(&stop.any));
    let bar = (!g.quiet && !g.json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let report = archive.lifecycle_run(now(g), |done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let ok = report.failed.is_empty() && !report.stopped && report.sign_error.is_none();
    let doc = json!({ "ok": ok, "report": report });
    if let Some(path) = report_file {
        let text = serde_json::to_string_pretty(&doc)?;
        std::fs::write(path, text + "\n")
            .map_err(|e| anyhow!("--report {}: {e}", path.display()))?;
    }
    if g.json {
        out!("{doc}");
    } else {
        for (from, to) in &report.migrated {
            out!("migrated {from} -> {}", to.join(", "));
        }
        for (from, to) in &report.consolidated {
            out!(
                "consolidated {} files -> {} ({})",
                from.len(),
                to.join(", "),
                from.join(", ")
            );
        }
        for path in &report.deleted {
            out!("deleted  {path}");
        }
        for (path, hold) in &report.held {
            out!("kept     {path}  (hold `{hold}`, placed after the plan was made)");
        }
        if report.requests > 0 {
            out!(
                "{} request(s) of the automation rules recorded in _lifecycle/{}",
                report.requests,
                strata::lifecycle::REQUESTS_FILE
            );
        }
        for (path, why) in &report.failed {
            say!("error: {path}: {why}");
        }
        if let Some(why) = &report.sign_error {
            say!("error: archive manifest: {why}");
        }
        if !g.quiet {
            say!(
                "{} migrated, {} consolidated into {} ({} events, {} -> {} bytes), {} deleted, {} resumed from a killed run, {} failed",
                report.migrated.len(),
                report.consolidated.iter().map(|(from, _)| from.len()).sum::<usize>(),
                report.consolidated.iter().map(|(_, to)| to.len()).sum::<usize>(),
                report.events_moved,
                report.bytes_before,
                report.bytes_after,
                report.deleted.len(),
                report.resumed,
                report.failed.len()
            );
        }
    }
    if let (true, Some(code)) = (report.stopped, stop.code()) {
        return Err(Failure {
            code,
            error: anyhow!(
                "stopped by a signal between two operations: what was done is done and audited; run it again to carry out the rest"
            ),
            reported: g.json,
        });
    }
    if ok {
        Ok(())
    } else if report.failed.is_empty() {
        Err(Failure {
            code: 1,
            error: anyhow!("the archive tier's manifest was not signed (see above)"),
            reported: g.json,
        })
    } else {
        Err(Failure {
            code: 1,
            error: anyhow!(
                "{} file(s) could not be carried out; they are left as they were",
                report.failed.len()
            ),
            reported: g.json,
        })
    }
}

fn show_plan(g: &Global) -> Result<(), Failure> {
    let archive = open(g)?;
    let plan = archive.lifecycle_plan(now(g))?;
    if g.json {
        out!(
            "{}",
            json!({
                "ok": true,
                "now": plan.now.to_string(),
                "counts": plan.counts(),
                "decisions": plan.decisions,
                "quotas": plan.quotas,
                "tier_caps": plan.tier_caps,
                "rules": plan.rules,
                "requests": plan.requests,
            })
        );
        return Ok(());
    }
    out!(
        "{:<7} {:<42} {:<26} {:<58} why",
        "tier",
        "action",
        "rule",
        "file"
    );
    for d in &plan.decisions {
        let action = d.action.to_string();
        out!(
            "{:<7} {:<42} {:<26} {:<58} {}",
            d.tier.as_str(),
            action,
            d.rule,
            d.path,
            d.reason
        );
    }
    for q in &plan.quotas {
        let limit = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
        out!(
            "quota {} ({:?}): {} → {} bytes (max {}), {} → {} files (max {}){}",
            q.scope,
            q.mode,
            q.bytes_before,
            q.bytes_after,
            limit(q.max_bytes),
            q.files_before,
            q.files_after,
            limit(q.max_files),
            q.shortfall
                .as_deref()
                .map(|s| format!("; {s}"))
                .unwrap_or_default()
        );
    }
    for r in &plan.rules {
        let when = match (r.due, r.next_due) {
            (true, _) => format!("due, {} file(s) matched", r.matched),
            (false, Some(next)) => format!("not due until {next}"),
            (false, None) => "not due".to_string(),
        };
        out!("rule {}: {when}", r.name);
    }
    for q in &plan.requests {
        out!("request {} {}: {} ({})", q.rule, q.action, q.path, q.reason);
    }
    for c in &plan.tier_caps {
        out!(
            "tier {} cap {}: {} → {} bytes{}",
            c.tier,
            c.max_bytes,
            c.bytes_before,
            c.bytes_after,
            c.shortfall
                .as_deref()
                .map(|s| format!("; {s}"))
                .unwrap_or_default()
        );
    }
    if !g.quiet {
        let counts: Vec<String> = plan
            .counts()
            .iter()
            .map(|(action, n)| format!("{n} {action}"))
            .collect();
        say!(
            "{} file(s) at {}: {}",
            plan.decisions.len(),
            plan.now,
            if counts.is_empty() {
                "nothing catalogued".to_string()
            } else {
                counts.join(", ")
            }
        );
    }
    Ok(())
}

fn hold_json(r: &HoldRecord) -> serde_json::Value {
    json!({
        "name": r.hold.name,
        "scope": r.hold.scope,
        "covers": r.hold.scope.to_string(),
        "reason": r.hold.reason,
        "placed_at": r.placed_at.to_string(),
    })
}

/// `strata hold add|release|list`
pub fn hold(g: &Global, command: &HoldCommand) -> Result<(), Failure> {
    let archive = open(g)?;
    let store = archive.holds();
    match command {
        HoldCommand::Add(a) => {
            let hold = Hold {
                name: a.name.clone(),
                scope: HoldScope {
                    symbols: a.symbols.clone(),
                    sources: a.sources.clone(),
                    kinds: a.kinds.clone(),
                    from: a.from.map(Timestamp::utc_date),
                    to: a.to.map(Timestamp::utc_date),
                },
                reason: a.reason.clone(),
            };
            let record = store.add(hold, now(g)).map_err(|e| match e {
                strata::lifecycle::Error::BadHold { .. } => Failure::usage(anyhow!(e)),
                other => Failure::from(other),
            })?;
            if g.json {
                out!("{}", json!({ "ok": true, "hold": hold_json(&record) }));
            } else if !g.quiet {
                out!(
                    "hold `{}` placed: {} (nothing in it is deleted until `strata hold release {}`)",
                    record.hold.name,
                    record.hold.scope,
                    record.hold.name
                );
            }
        }
        HoldCommand::Release { name } => {
            let record = store.release(name, now(g))?;
            if g.json {
                out!("{}", json!({ "ok": true, "released": hold_json(&record) }));
            } else if !g.quiet {
                out!(
                    "hold `{}` released ({})",
                    record.hold.name,
                    record.hold.scope
                );
            }
        }
        HoldCommand::List => {
            let holds = store.list()?;
            if g.json {
                let items: Vec<_> = holds.iter().map(hold_json).collect();
                out!("{}", json!({ "ok": true, "holds": items }));
            } else {
                for r in &holds {
                    out!(
                        "{:<20} placed {}  {}{}",
                        r.hold.name,
                        r.placed_at,
                        r.hold.scope,
                        if r.hold.reason.is_empty() {
                            String::new()
                        } else {
                            format!("  ({})", r.hold.reason)
                        }
                    );
                }
                if !g.quiet {
                    say!("{} hold(s) in force", holds.len());
                }
            }
        }
    }
    Ok(())
}

/// `strata verify [--deep] [--trusted-key FILE]...`
pub fn verify(g: &Global, deep: bool, trusted_keys: &[std::path::PathBuf]) -> Result<(), Failure> {
    let archive = open(g)?;
    let report = if trusted_keys.is_empty() {
        archive.verify(deep)?
    } else {
        archive.verify_trusting(deep, trusted_keys)?
    };
    let ok = report.is_ok();
    if g.json {
        out!("{}", json!({ "ok": ok, "report": report }));
    } else {
        for (path, why) in &report.problems {
            out!("FAILED {path}: {why}");
        }
        for problem in &report.manifests.problems {
            out!("FAILED archive manifest: {problem}");
        }
        match (report.manifests.latest, report.manifests.keys.is_empty()) {
            (Some(latest), false) if report.manifests.problems.is_empty() => out!(
                "archive manifests: {} signed, the last ({latest:06}) lists every archive file; key{} {}{}",
                report.manifests.manifests,
                if report.manifests.keys.len() > 1 { "s" } else { "" },
                report
                    .manifests
                    .keys
                    .iter()
                    .map(|key| &key[..16.min(key.len())])
                    .collect::<Vec<_>>()
                    .join(", "),
                if report.manifests.trusted {
                    " (trusted)"
                } else {
                    " (named by the manifests themselves: configure compliance.trusted_key or pass --trusted-key)"
                }
            ),
            (None, _) if report.manifests.problems.is_empty() => {
                out!("archive manifests: none (no compliance.signing_key configured)")
            }
            _ => {}
        }
        match &report.audit.broken {
            Some((line, why)) => out!(
                "FAILED audit trail: line {line}: {why} ({} records verified before it)",
                report.audit.verified
            ),
            None => out!(
                "audit trail: {} records, chain intact",
                report.audit.verified
            ),
        }
        if !g.quiet {
            say!(
                "{} file(s) checked{}, {} problem(s)",
                report.files,
                if deep {
                    format!(", {} events counted", report.events)
                } else {
                    String::new()
                },
                report.problems.len()
                    + report.manifests.problems.len()
                    + usize::from(report.audit.broken.is_some())
            );
        }
    }
    if ok {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            error: anyhow!("the archive failed verification"),
            reported: g.json,
        })
    }
}

/// `strata approve PATH... --key FILE`
#[derive(Args, Debug)]
pub struct ApproveArgs {
    /// Catalogued paths of archive-tier files (as `strata ls` prints them).
    #[arg(required = true)]
    pub paths: Vec<String>,
    /// The approver's private key (PKCS#8 PEM); its public key must be in
    /// `compliance.approvers`.
    #[arg(long)]
    pub key: std::path::PathBuf,
    /// Why (recorded with the approval and in the audit trail).
    #[arg(long, default_value = "")]
    pub reason: String,
}

/// `strata approve PATH... --key FILE`
pub fn approve(g: &Global, args: &ApproveArgs) -> Result<(), Failure> {
    let archive = open(g)?;
    let policy = archive.approval_policy()?.ok_or_else(|| {
        anyhow!("compliance.approvals_required is 0: deleting archive data needs no approval")
    })?;
    let key = strata::lifecycle::sign::read_signing_key(&args.key).map_err(|e| anyhow!("{e}"))?;
    let store = archive.approvals();
    let mut given = Vec::new();
    for path in &args.paths {
        let manifest = archive
            .catalog()
            .get(path)
            .map_err(|e| anyhow!("{e}"))?
            .ok_or_else(|| {
                anyhow!("`{path}` is not catalogued (see `strata ls --tier archive`)")
            })?;
        if manifest.tier != TierName::Archive {
            return Err(anyhow!(
                "`{path}` is in the {} tier: only deleting archive-tier files needs approval",
                manifest.tier
            )
            .into());
        }
        let record = store
            .approve(&policy, &manifest, &key, &args.reason, now(g))
            .map_err(|e| anyhow!("{e}"))?;
        let records = store.records().map_err(|e| anyhow!("{e}"))?;
        let approvals = policy.approvals(&manifest, &records);
        given.push(json!({
            "path": record.path,
            "sha256": record.sha256,
            "approved_by": approvals.given,
            "needed": approvals.needed,
        }));
        if !g.json && !g.quiet {
            out!(
                "approved deleting {path}: {} of {} approvals ({})",
                approvals.given.len(),
                approvals.needed,
                approvals.given.join(", ")
            );
        }
    }
    if g.json {
        out!("{}", json!({ "ok": true, "approvals": given }));
    }
    Ok(())
}

/// `strata key …`
#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Write a new ed25519 private key to FILE (PKCS#8 PEM, owner-only; never replaces a file)
    /// and its public key to FILE.pub; set `compliance.signing_key = "FILE"` to sign with it.
    Generate {
        /// Where the private key goes.
        file: std::path::PathBuf,
    },
}

/// `strata key generate FILE`
pub fn key(g: &Global, command: &KeyCommand) -> Result<(), Failure> {
    let KeyCommand::Generate { file } = command;
    let (public, public_file) =
        strata::lifecycle::sign::generate_key(file).map_err(|e| anyhow!("{e}"))?;
    let fingerprint = strata::lifecycle::sign::fingerprint(&public);
    if g.json {
        out!(
            "{}",
            json!({
                "ok": true,
                "private_key": file.display().to_string(),
                "public_key": public_file.display().to_string(),
                "fingerprint": fingerprint,
            })
        );
    } else {
        out!(
            "private key {} (keep it secret), public key {}, fingerprint {fingerprint}",
            file.display(),
            public_file.display()
        );
    }
    Ok(())
}

/// `strata quota …`
#[derive(Subcommand, Debug)]
pub enum QuotaCommand {
    /// Each quota's usage against its limits.
    Status,
    /// Growth per day, usage at a horizon, the day each quota fills, growth by source.
    Forecast {
        /// How far ahead (`30d`, `12w`, `90`: days).
        #[arg(long, default_value = "30d", value_parser = parse_days)]
        horizon: u32,
        /// The trailing window growth is measured over.
        #[arg(long, default_value = "30d", value_parser = parse_days)]
        window: u32,
    },
}

fn parse_days(s: &str) -> Result<u32, String> {
    let (n, unit) = match s.strip_suffix('d') {
        Some(n) => (n, 1),
        None => match s.strip_suffix('w') {
            Some(n) => (n, 7),
            None => (s, 1),
        },
    };
    n.parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .filter(|&d| d > 0)
        .ok_or_else(|| format!("`{s}` is not a number of days (30d, 12w or 90)"))
}

/// `strata quota status|forecast`
pub fn quota(g: &Global, command: &QuotaCommand) -> Result<(), Failure> {
    let archive = open(g)?;
    let (window, horizon) = match command {
        QuotaCommand::Status => (30, 0),
        QuotaCommand::Forecast { horizon, window } => (*window, *horizon),
    };
    let f = archive.forecast(now(g), window, horizon)?;
    if g.json {
        out!("{}", json!({ "ok": true, "forecast": f }));
        return Ok(());
    }
    let limit = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    match command {
        QuotaCommand::Status => {
            out!(
                "{:<24} {:<11} {:>14} {:>14} {:>7} {:>8} {:>9}",
                "scope",
                "mode",
                "bytes",
                "max_bytes",
                "used",
                "files",
                "max_files"
            );
            for q in &f.quotas {
                out!(
                    "{:<24} {:<11} {:>14} {:>14} {:>7} {:>8} {:>9}",
                    q.scope,
                    format!("{:?}", q.mode),
                    q.used_bytes,
                    limit(q.max_bytes),
                    q.used_share
                        .map_or("-".into(), |s| format!("{:.1}%", s * 100.0)),
                    q.used_files,
                    limit(q.max_files)
                );
            }
            if f.quotas.is_empty() && !g.quiet {
                say!(
                    "no quota with a byte or file limit is configured ([[quotas]] in strata.toml)"
                );
            }
        }
        QuotaCommand::Forecast { .. } => {
            out!(
                "archive: {} bytes in {} files; growth {:.0} bytes/day, {:.0} events/day (last {}d); in {}d: {} bytes",
                f.total.bytes,
                f.total.files,
                f.total.bytes_per_day,
                f.total.events_per_day,
                f.window_days,
                f.horizon_days,
                f.projected_bytes
            );
            for (source, s) in &f.by_source {
                out!(
                    "  source {source}: {} bytes, {:.0} bytes/day, {:.0} events/day",
                    s.bytes,
                    s.bytes_per_day,
                    s.events_per_day
                );
            }
            for q in &f.quotas {
                out!(
                    "quota {} ({:?}): {} of {} bytes, {} in {}d; full {}",
                    q.scope,
                    q.mode,
                    q.used_bytes,
                    limit(q.max_bytes),
                    q.projected_bytes,
                    f.horizon_days,
                    q.full_on
                        .map_or("never at this growth".to_string(), |d| format!("on {d}"))
                );
            }
        }
    }
    Ok(())
}
