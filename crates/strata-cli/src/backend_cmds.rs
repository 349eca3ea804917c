//! `strata backend check URL`: what a store enforces, and what strata does about it.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use strata::backend::{Backend, Capabilities, OpenOptions, Provenance, S3Options};

use crate::{out, Failure, Global};

#[derive(Subcommand, Debug)]
pub(crate) enum BackendCommand {
    /// Probe what the store at URL enforces (conditional writes, Object Lock, part limits)
    /// and print what strata does on it. An s3:// probe writes under a scratch key of the
    /// prefix's staging area and removes it.
    Check(CheckArgs),
}

/// A guarantee `--require` can insist on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Requirement {
    /// Create-only writes (and so WORM tiers).
    CreateOnly,
    /// S3 Object Lock on the bucket.
    ObjectLock,
}

#[derive(Args, Debug)]
pub(crate) struct CheckArgs {
    /// Backend URL: s3://bucket/prefix, file:///absolute/path or memory://. S3 credentials come
    /// from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN).
    url: String,
    /// S3 endpoint, e.g. http://127.0.0.1:3900 (default: AWS_ENDPOINT, else AWS).
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// S3 region (default: AWS_REGION, else us-east-1).
    #[arg(long)]
    region: Option<String>,
    /// Address the bucket in the path (MinIO, Garage, Ceph and most local servers want this).
    #[arg(long)]
    path_style: bool,
    /// Allow a plain http:// endpoint.
    #[arg(long)]
    allow_http: bool,
    /// Exit 1 unless the store gives these (comma separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    require: Vec<Requirement>,
}

fn provenance_word(p: Provenance) -> &'static str {
    match p {
        Provenance::Inherent => "inherent",
        Provenance::Probed => "probed",
        Provenance::Declared => "declared",
        _ => "other",
    }
}

/// The requirements `caps` does not meet, each with why.
fn unmet(caps: &Capabilities, required: &[Requirement]) -> Vec<String> {
    required
        .iter()
        .filter_map(|r| match r {
            Requirement::CreateOnly => caps
                .create_only()
                .err()
                .map(|missing| format!("create-only: {missing}")),
            Requirement::ObjectLock => (!caps.object_lock.is_enabled())
                .then(|| format!("object-lock: {}", caps.object_lock)),
        })
        .collect()
}

pub(crate) fn check(g: &Global, args: &CheckArgs) -> Result<(), Failure> {
    let mut s3 = S3Options::new();
    if let Some(endpoint) = &args.endpoint {
        s3 = s3.endpoint(endpoint);
    }
    if let Some(region) = &args.region {
        s3 = s3.region(region);
    }
    if args.path_style {
        s3 = s3.path_style();
    }
    if args.allow_http {
        s3 = s3.allow_http(true);
    }
    let store = OpenOptions::new()
        .s3(s3)
        .open(&args.url)
        .map_err(|e| Failure::usage(anyhow::anyhow!("{e}")))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("starting the I/O runtime: {e}"))?;
    let caps = runtime
        .block_on(store.capabilities())
        .map_err(|e| anyhow::anyhow!("probing {}: {e}", args.url))?;
    let unmet = unmet(&caps, &args.require);
    let kind = format!("{:?}", store.kind()).to_lowercase();
    if g.json {
        let capabilities: Vec<_> = caps
            .rows()
            .iter()
            .map(|r| json!({ "name": r.name, "server": r.found, "strata": r.strata }))
            .collect();
        let create_only = match caps.create_only() {
            Ok(()) => json!({ "allowed": true }),
            Err(missing) => json!({
                "allowed": false,
                "missing": missing.capability,
                "found": missing.found.to_string(),
                "instead": missing.instead,
            }),
        };
        out!(
            "{}",
            json!({
                "ok": unmet.is_empty(),
                "url": args.url,
                "kind": kind,
                "provenance": provenance_word(caps.provenance),
                "capabilities": capabilities,
                "create_only": create_only,
                "object_lock": caps.object_lock.is_enabled(),
                "unmet": unmet,
            })
        );
    } else if !g.quiet {
        let how = match caps.provenance {
            Provenance::Probed => {
                "probed; its scratch objects removed unless a warning says otherwise"
            }
            Provenance::Inherent => "by construction; nothing to probe",
            _ => "declared by the backend, not probed",
        };
        out!("{} ({kind}, {how})", args.url);
        out!("{}", caps.table_with_header().trim_end());
        match caps.create_only() {
            Ok(()) => out!("create-only writes and WORM: allowed"),
            Err(missing) => out!("create-only writes and WORM: refused: {missing}"),
        }
    }
    if unmet.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            error: anyhow::anyhow!(
                "{} does not give what --require asks: {}",
                args.url,
                unmet.join("; ")
            ),
            reported: g.json,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata::backend::Support;

    #[test]
    fn requirements_name_what_is_missing() {
        let mut caps = Capabilities::atomic_store();
        assert!(unmet(&caps, &[Requirement::CreateOnly]).is_empty());
        assert_eq!(unmet(&caps, &[Requirement::ObjectLock]).len(), 1);
        caps.conditional_put = Support::Ignored;
        let unmet = unmet(&caps, &[Requirement::CreateOnly]);
        assert!(unmet[0].contains("If-None-Match"), "{unmet:?}");
    }
}
