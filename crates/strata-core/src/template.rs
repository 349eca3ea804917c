//! The commented default config `strata init` writes (OPS-1).
//!
//! Generated from the resolved [`Config`] of a profile, so it always says exactly what the
//! defaults are; comments come from [`KEY_DOCS`]. A test reads the template back and checks it
//! resolves to the same config.

use std::fmt::Write as _;

use serde_json::Value;

use crate::config::Config;
use crate::profile::Profile;

/// One line of explanation per key path, written above the key.
pub const KEY_DOCS: &[(&str, &str)] = &[
    ("profile", "Defaults bundle: research | low_latency | archival. Keys you write always win over it."),
    ("archive", "Where the archive lives."),
    ("archive.root", "Root folder; relative paths are relative to this file's folder."),
    ("archive.name", "A name shown in reports."),
    ("layout", "Naming and partitioning of files (LAYOUT-1..5). Default naming = \"by_symbol\"; also flat | by_date | by_type |\nby_source | by_asset_class | hierarchical | canonical, or instead\npartitioning = { dimensions = [\"source\", \"symbol\", \"event_type\", \"date\"], style = \"hive\" }"),
    ("storage", "How hot-tier files are written and sealed."),
    ("storage.compress", "Compress JSONL files when they are sealed."),
    ("storage.codec", "Codec for sealed files: none | gzip[:1-9] | zstd[:1-22][:long] | lz4."),
    ("storage.manifests", "Write a sidecar manifest (counts, ranges, statistics) beside each sealed file."),
    ("storage.checksums", "Record SHA-256 checksums (sidecars and checksums.sha256, checkable with sha256sum -c)."),
    ("storage.max_file_bytes", "Seal a file at this size."),
    ("storage.max_file_age_secs", "Seal a file after it has been open this long."),
    ("storage.max_open_segments", "At most this many files open for writing (least recently written closed first, reopened when written again)."),
    ("sinks", "Forms written at ingest."),
    ("sinks.jsonl", "JSONL hot-tier files (the capture path)."),
    ("sinks.parquet", "Also write Parquet when files are sealed."),
    ("durability", "When appended events become durable: per_batch | group_commit | none (tests only)."),
    ("durability.mode", "per_batch fsyncs every batch; group_commit fsyncs on an interval for all writers."),
    ("durability.group_commit_interval_ms", "Group-commit interval."),
    ("lifecycle", "Tiering switches."),
    ("lifecycle.enabled", "Move data hot -> warm -> cold -> archive by the retention table."),
    ("lifecycle.in_memory_events", "A consolidation (into Parquet or JSONL) of more events than this is written in two passes, holding one\nsource's events at a time instead of every event (memory follows the largest source, not the period)."),
    ("lifecycle.cleanup_on_quota", "When a write goes over a soft_limit or drop_oldest quota, start the quota cleanup at once while writing goes on\n(the plan's deletions only, no migration); false: the next `strata lifecycle run` does them."),
    ("lifecycle.cleanup_interval_secs", "At least this long between the end of one quota cleanup and the start of the next."),
    ("tiers", "How each tier stores files: format (jsonl | parquet), codec, optional max_bytes, backend URL\n(file:///..., s3://bucket/prefix, memory://; unset = <root>/<tier>), worm (write-once), retain_days\n(with worm: S3 Object Lock COMPLIANCE retention of every object, in days; needs Object Lock on the bucket),\nconsolidate (daily | weekly | monthly | yearly: one file per period, kind, source and symbol; not hot)."),
    ("retention", "Days in each tier per event kind; archive = perpetual | none | { days = N }."),
    ("classification", "critical (never deleted) | standard | transient | derived, per event kind."),
    ("compliance", "preset = \"sec17a4\" | \"mifid2\" | \"finra\" fills the retention table and refuses shorter retention.\nsigning_key = \"FILE\" (ed25519 PKCS#8 PEM, `strata key generate FILE`) signs the archive tier's manifest;\ntrusted_key = \"FILE.pub\" is the public key `strata verify` requires (default: the signing key's);\napprovals_required = N and approvers = [\"alice.pem.pub\", ...]: deleting archive-tier data needs N approvers' signed\napprovals (`strata approve PATH --key FILE`)."),
    ("quotas", "Quotas: [[quotas]] scope = \"global\" | { source = \"ID\" } | { symbol = \"S\" } | { asset_class = \"equity\" } | { event_kind = \"trade\" },\nmax_bytes / max_files / max_events_per_day, mode = warn | soft_limit | hard_limit | drop_oldest."),
    ("rules", "Automation rules: [[rules]] name = \"N\", when = { min_age_days, max_age_days, tier, kinds, symbols, sources,\nmin_quality, max_quality, min_size_bytes, max_size_bytes, min_sequence_gaps }, action = { move = \"cold\" } | { compress = \"zstd:19\" }\n| \"archive\" | \"delete\" | \"backfill\" | \"repair\" | \"notify\" | \"report\", every = \"1d\" (30m, 6h, 7d; absent: every run).\nPlacing actions take over a file's lifecycle decision (protections still stand); the others are recorded in _lifecycle/requests.jsonl."),
    ("integrity", "Checks at write; rejected events go to _quarantine/ with the reason."),
    ("integrity.validate_schema", "Check each event (sizes >= 0, symbol set, book sides ordered, bar high >= low)."),
    ("integrity.reject_out_of_order", "Refuse events older than the newest already in their partition."),
    ("integrity.out_of_order_tolerance_ms", "How far back an event may be before it counts as out of order."),
    ("integrity.sequence_gap_alert_threshold", "Alert when a source's sequence jumps by more than this."),
    ("integrity.detect_duplicates", "Detect exact duplicates (same source, symbol, sequence and content)."),
    ("integrity.duplicate_window", "Recent events per partition the duplicate check remembers."),
    ("integrity.quarantine_whole_file_on_checksum_mismatch", "On a checksum mismatch, quarantine the whole file."),
    ("layout.granularity", "Time one file covers: none | hourly | daily | monthly.\nOptional: [layout.session_split] timezone = \"America/New_York\" (pre/regular/after files);\n[layout.adaptive] hourly_above_events_per_day, monthly_below_events_per_day."),
    ("retention.default", "The rule for kinds not listed under retention.by_kind."),
    ("tiers.hot", "Fresh data being written (must be jsonl)."),
    ("tiers.warm", "Recent sealed data."),
    ("tiers.cold", "Older data, columnar."),
    ("tiers.archive", "Perpetual, write-once."),
    ("symbols", "Symbol registry: [[symbols]] symbol, aliases, asset_class, exchange, currency, isin, figi, sedol."),
    ("sources", "Source registry: [[sources]] id, name, kind (live | historical), priority, asset_classes, event_kinds, enabled."),
];

const EXAMPLES: &[(&str, &str)] = &[
    ("quotas", "# [[quotas]]\n# scope = { symbol = \"SPY\" }\n# max_bytes = 10_000_000_000\n# mode = \"hard_limit\"\n"),
    ("symbols", "# [[symbols]]\n# symbol = \"AAPL\"\n# aliases = [\"AAPL.O\", \"US0378331005\"]\n# asset_class = \"equity\"\n# exchange = \"XNAS\"\n# currency = \"USD\"\n"),
    ("sources", "# [[sources]]\n# id = \"binance\"\n# name = \"Binance USD-M futures\"\n# kind = \"live\"\n# priority = 10\n"),
    ("compliance", "# preset = \"sec17a4\"\n# signing_key = \"/secure/strata-archive.pem\"\n"),
];

fn doc(out: &mut String, path: &str) {
    if let Some((_, text)) = KEY_DOCS.iter().find(|(k, _)| *k == path) {
        for line in text.lines() {
            let _ = writeln!(out, "# {line}");
        }
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::Object(_) => None,
        Value::Array(items) if items.iter().any(Value::is_object) => None,
        // A JSON scalar or array of scalars is valid TOML as printed by toml's serializer.
        other => toml::to_string(&serde_json::json!({ "v": other }))
            .ok()
            .and_then(|s| s.strip_prefix("v = ").map(|s| s.trim_end().to_string())),
    }
}

fn write_table(out: &mut String, path: &str, table: &serde_json::Map<String, Value>) {
    let mut subtables = Vec::new();
    for (key, value) in table {
        let key_path = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        match scalar(value) {
            Some(text) => {
                doc(out, &key_path);
                let _ = writeln!(out, "{} = {text}", toml_key(key));
            }
            None => subtables.push((key_path, value)),
        }
    }
    for (key_path, value) in subtables {
        match value {
            Value::Object(map) => {
                let _ = writeln!(out);
                doc(out, &key_path);
                let header: Vec<String> = key_path.split('.').map(toml_key).collect();
                let _ = writeln!(out, "[{}]", header.join("."));
                if map.is_empty() {
                    if let Some((_, ex)) = EXAMPLES.iter().find(|(k, _)| *k == key_path) {
                        out.push_str(ex);
                    }
                }
                write_table(out, &key_path, map);
            }
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(map) = item {
                        let _ = writeln!(out, "\n[[{key_path}]]");
                        write_table(out, &key_path, map);
                    }
                }
            }
            _ => {}
        }
    }
}

fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// The commented default config of a profile, as TOML.
pub fn default_config_toml(profile: Profile) -> String {
    config_toml(&Config::for_profile(profile))
}

/// Any resolved config as commented TOML (every key written out).
pub fn config_toml(config: &Config) -> String {
    let mut out = String::from(
        "# strata configuration (TOML; JSON and YAML are accepted too).\n\
         # Check it with: strata config check FILE\n\
         # Every key below shows its default for this profile; delete a key to take the default.\n\n",
    );
    let Ok(Value::Object(mut tree)) = serde_json::to_value(config) else {
        return out;
    };
    // Empty lists become commented examples at the end.
    let mut empty_lists = Vec::new();
    for key in ["quotas", "symbols", "sources"] {
        if tree
            .get(key)
            .and_then(Value::as_array)
            .is_some_and(|a| a.is_empty())
        {
            tree.remove(key);
            empty_lists.push(key);
        }
    }
    write_table(&mut out, "", &tree);
    for key in empty_lists {
        let _ = writeln!(out);
        doc(&mut out, key);
        if let Some((_, ex)) = EXAMPLES.iter().find(|(k, _)| *k == key) {
            out.push_str(ex);
        }
    }
    out
}
