//! The one config file (OPS-1): TOML, JSON or YAML, validated with errors that name the key.
//!
//! # Layering
//! A config is built from value trees, each filling only what the layers above left out:
//!
//! 1. built-in defaults ([`Config::default`]),
//! 2. the profile's overlay ([`Profile::overlay`]; Research when the file names none),
//! 3. the regulatory preset's retention table (`[compliance] preset = "sec17a4"`), if any,
//! 4. the user's file.
//!
//! Trees merge key by key, so a value the user wrote is never replaced by a profile or preset
//! (POL-5). The merged tree is then read once, strictly: unknown keys are errors, and every
//! error names the key path (`tiers.warm.codec`) and the problem.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use strata_codec::CodecSpec;
use strata_model::{SourceInfo, SourceRegistry, SymbolInfo, SymbolRegistry};

use crate::extension::ExtensionChoices;
use crate::layout::LayoutConfig;
use crate::policy::{
    ClassificationPolicy, IntegrityChecks, QuotaRule, RegulatoryPreset, RetentionPolicy, TierName,
    Tiers,
};
use crate::profile::Profile;

/// The syntax a config file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFormat {
    /// TOML (the default, `strata.toml`).
    Toml,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// The longest retention `tiers.<tier>.retain_days` accepts: 100 years.
pub const MAX_RETAIN_DAYS: u32 = 36_500;

impl ConfigFormat {
    /// The format a file name implies (`.toml`, `.json`, `.yaml`/`.yml`); TOML otherwise.
    pub fn from_file_name(name: &str) -> ConfigFormat {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            ConfigFormat::Json
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            ConfigFormat::Yaml
        } else {
            ConfigFormat::Toml
        }
    }
}

impl fmt::Display for ConfigFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigFormat::Toml => "TOML",
            ConfigFormat::Json => "JSON",
            ConfigFormat::Yaml => "YAML",
        })
    }
}

/// A config file that cannot be used, with the file, key and problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The text is not valid TOML/JSON/YAML (the message gives line and column).
    #[error("{file}: not valid {format}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The syntax expected.
        format: ConfigFormat,
        /// The parser's message, with position.
        message: String,
    },
    /// A key is unknown, missing, of the wrong type, or has a bad value.
    #[error("{file}: key `{key}`: {problem}")]
    Invalid {
        /// The file.
        file: String,
        /// The key path, e.g. `tiers.warm.codec` or `quotas[0].scope`.
        key: String,
        /// What is wrong and, where possible, what is expected.
        problem: String,
    },
}

/// Where the archive lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveSettings {
    /// The archive's root directory; relative paths are relative to the config file's folder.
    pub root: String,
    /// A name for the archive, shown in reports.
    pub name: String,
}

/// How hot-tier files are written and sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    /// Compress JSONL files when they are sealed (with `codec`).
    pub compress: bool,
    /// The codec for sealed JSONL files when `compress` is on.
    pub codec: CodecSpec,
    /// Write a sidecar manifest beside every sealed file.
    pub manifests: bool,
    /// Record SHA-256 checksums in sidecars and `checksums.sha256`.
    pub checksums: bool,
    /// Seal a file when it reaches this many bytes.
    pub max_file_bytes: u64,
    /// Seal a file when it has been open this many seconds.
    pub max_file_age_secs: u64,
    /// At most this many hot segments hold an open file at once (the least recently written is
    /// closed first and reopened when written again; it stays one file). The writer also keeps
    /// within a fifth of the process's open-file limit (`ulimit -n`).
    #[serde(default = "default_max_open_segments")]
    pub max_open_segments: usize,
}

fn default_max_open_segments() -> usize {
    256
}

/// Which forms data is written in at ingest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sinks {
    /// JSONL hot-tier files (the capture path; D-1).
    pub jsonl: bool,
    /// Also write Parquet when files are sealed.
    pub parquet: bool,
}

/// When appended events become durable (INGEST-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DurabilityMode {
    /// fsync after every batch.
    PerBatch,
    /// fsync on an interval, shared by every writer.
    GroupCommit,
    /// Never fsync (tests only).
    None,
}

/// Durability settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DurabilitySettings {
    /// The mode.
    pub mode: DurabilityMode,
    /// Group-commit interval in milliseconds.
    pub group_commit_interval_ms: u64,
}

/// Lifecycle switches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleSettings {
    /// Move data through the tiers by the retention table.
    pub enabled: bool,
    /// A consolidation (into Parquet or JSONL) of more events than this is written in two
    /// passes over its sources (the first plans the columns, the second writes in event-time
    /// order),
    /// holding the events of one source at a time (of sources whose times overlap, those
    /// together) instead of every event's columns: memory then follows the largest source,
    /// not the period.
    #[serde(default = "LifecycleSettings::default_in_memory_events")]
    pub in_memory_events: u64,
    /// When a write goes over a `soft_limit` or `drop_oldest` quota, start the quota cleanup at
    /// once, on a thread of its own, while the writer keeps writing (QUOTA-2): the lifecycle
    /// plan's deletions (the quotas', and what retention and rules already delete), no
    /// migration. Off: the next `lifecycle run` does them.
    #[serde(default = "LifecycleSettings::default_cleanup_on_quota")]
    pub cleanup_on_quota: bool,
    /// At least this many seconds from the end of one quota cleanup to the start of the next
    /// (writes go on asking while a scope stays over its limit).
    #[serde(default = "LifecycleSettings::default_cleanup_interval_secs")]
    pub cleanup_interval_secs: u64,
}

impl LifecycleSettings {
    /// 4,000,000 events: some 200–600 MB of columns, by kind.
    pub const DEFAULT_IN_MEMORY_EVENTS: u64 = 4_000_000;

    fn default_in_memory_events() -> u64 {
        Self::DEFAULT_IN_MEMORY_EVENTS
    }

    fn default_cleanup_on_quota() -> bool {
        true
    }

    /// A minute.
    pub const DEFAULT_CLEANUP_INTERVAL_SECS: u64 = 60;

    fn default_cleanup_interval_secs() -> u64 {
        Self::DEFAULT_CLEANUP_INTERVAL_SECS
    }
}

/// Compliance settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceSettings {
    /// A regulatory preset: fills the retention table and refuses shorter retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<RegulatoryPreset>,
    /// The ed25519 private key (a PKCS#8 PEM file: `strata key generate FILE`, or
    /// `openssl genpkey -algorithm ed25519`) that signs the archive tier's manifest after each
    /// lifecycle run that changed the tier (ARCH-3). Relative to the archive root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
    /// The public key (PEM) `strata verify` requires the archive tier's manifests to be
    /// signed with; unset, the signing key's own. Relative to the archive root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_key: Option<String>,
    /// How many distinct approvers must approve deleting a file of the archive tier (ARCH-4);
    /// 0: no approval needed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub approvals_required: u32,
    /// The approvers' ed25519 public keys (PEM files, relative to the archive root).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The whole configuration, resolved: every value is present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The profile that filled the defaults.
    pub profile: Profile,
    /// Where the archive lives.
    pub archive: ArchiveSettings,
    /// Naming, partitioning and granularity (LAYOUT-1..5).
    pub layout: LayoutConfig,
    /// Hot-tier files and sealing.
    pub storage: StorageSettings,
    /// Forms written at ingest.
    pub sinks: Sinks,
    /// Durability.
    pub durability: DurabilitySettings,
    /// Lifecycle switches.
    pub lifecycle: LifecycleSettings,
    /// Tier definitions (TIER-1).
    pub tiers: Tiers,
    /// Retention table (POL-2).
    pub retention: RetentionPolicy,
    /// Classification (POL-1).
    pub classification: ClassificationPolicy,
    /// Compliance preset (POL-3).
    #[serde(default)]
    pub compliance: ComplianceSettings,
    /// Quotas (QUOTA-1).
    #[serde(default)]
    pub quotas: Vec<QuotaRule>,
    /// Automation rules (POL-6): conditions on stored files' facts and an action each.
    #[serde(default)]
    pub rules: Vec<crate::policy::rules::AutomationRule>,
    /// Integrity checks at write (INGEST-4).
    pub integrity: IntegrityChecks,
    /// Symbol registry entries (MODEL-3).
    #[serde(default)]
    pub symbols: Vec<SymbolInfo>,
    /// Source registry entries (MODEL-3).
    #[serde(default)]
    pub sources: Vec<SourceInfo>,
    /// Registered extensions selected by name (EXT-3).
    #[serde(default, skip_serializing_if = "ExtensionChoices::is_empty")]
    pub extensions: ExtensionChoices,
}

impl Default for Config {
    /// The built-in defaults, before any profile.
    fn default() -> Self {
        Config {
            profile: Profile::Research,
            archive: ArchiveSettings {
                root: "strata-data".into(),
                name: "strata".into(),
            },
            layout: LayoutConfig::default(),
            storage: StorageSettings {
                compress: false,
                codec: CodecSpec::None,
                manifests: true,
                checksums: true,
                max_file_bytes: 256 * 1024 * 1024,
                max_file_age_secs: 3600,
                max_open_segments: default_max_open_segments(),
            },
            sinks: Sinks {
                jsonl: true,
                parquet: false,
            },
            durability: DurabilitySettings {
                mode: DurabilityMode::GroupCommit,
                group_commit_interval_ms: 50,
            },
            lifecycle: LifecycleSettings {
                enabled: true,
                in_memory_events: LifecycleSettings::DEFAULT_IN_MEMORY_EVENTS,
                cleanup_on_quota: true,
                cleanup_interval_secs: LifecycleSettings::DEFAULT_CLEANUP_INTERVAL_SECS,
            },
            tiers: Tiers::default(),
            retention: RetentionPolicy::default(),
            classification: ClassificationPolicy::default(),
            compliance: ComplianceSettings::default(),
            quotas: Vec::new(),
            rules: Vec::new(),
            integrity: IntegrityChecks::default(),
            symbols: Vec::new(),
            sources: Vec::new(),
            extensions: ExtensionChoices::default(),
        }
    }
}

/// Fills `base` with `overlay`: objects merge key by key, anything else in `overlay` wins.
fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

impl Config {
    /// The resolved defaults of a profile (what `strata init --profile P` writes).
    pub fn for_profile(profile: Profile) -> Config {
        let text = format!("profile = \"{}\"", profile.as_str());
        // The built-in layers are tested to resolve for every profile
        // (`every_profile_resolves_and_round_trips`), so this cannot fail.
        Config::parse(&text, ConfigFormat::Toml, "<built-in>").unwrap_or_default()
    }

    /// Parses and validates a config text; `file` names it in errors.
    pub fn parse(text: &str, format: ConfigFormat, file: &str) -> Result<Config, ConfigError> {
        let syntax = |message: String| ConfigError::Syntax {
            file: file.to_string(),
            format,
            message,
        };
        let user: Value = match format {
            ConfigFormat::Toml => toml::from_str(text).map_err(|e| syntax(e.to_string()))?,
            ConfigFormat::Json => serde_json::from_str(text).map_err(|e| syntax(e.to_string()))?,
            ConfigFormat::Yaml => {
                let v: Value = serde_yaml_ng::from_str(text).map_err(|e| syntax(e.to_string()))?;
                if v.is_null() {
                    Value::Object(Default::default())
                } else {
                    v
                }
            }
        };
        Config::from_user_tree(user, file)
    }

    /// Resolves a user's value tree through the layers and validates it.
    pub fn from_user_tree(user: Value, file: &str) -> Result<Config, ConfigError> {
        let invalid = |key: &str, problem: String| ConfigError::Invalid {
            file: file.to_string(),
            key: key.to_string(),
            problem,
        };
        if !user.is_object() {
            return Err(invalid(
                "(top level)",
                "the config must be a table of keys".into(),
            ));
        }
        let profile: Profile = match user.get("profile") {
            None => Profile::default(),
            Some(Value::String(s)) => s.parse().map_err(|e| invalid("profile", e))?,
            Some(other) => {
                return Err(invalid(
                    "profile",
                    format!("expected a string, got {other}"),
                ))
            }
        };
        let preset: Option<RegulatoryPreset> = match user.pointer("/compliance/preset") {
            None => None,
            Some(v) => Some(
                serde_json::from_value(v.clone())
                    .map_err(|e| invalid("compliance.preset", e.to_string()))?,
            ),
        };
        let mut tree = serde_json::to_value(Config::default())
            .map_err(|e| invalid("(built-in defaults)", e.to_string()))?;
        merge(&mut tree, profile.overlay());
        if let Some(preset) = preset {
            let retention = serde_json::to_value(preset.retention_policy())
                .map_err(|e| invalid("compliance.preset", e.to_string()))?;
            merge(&mut tree, serde_json::json!({ "retention": retention }));
        }
        merge(&mut tree, user);
        merge(
            &mut tree,
            serde_json::json!({ "profile": profile.as_str() }),
        );

        let config: Config = serde_path_to_error::deserialize(tree).map_err(|e| {
            let key = e.path().to_string();
            let key = if key == "." {
                "(top level)".to_string()
            } else {
                key
            };
            invalid(&key, e.into_inner().to_string())
        })?;
        config
            .validate()
            .map_err(|(key, problem)| invalid(&key, problem))?;
        Ok(config)
    }

    /// Checks what types alone cannot; returns the key and the problem.
    fn validate(&self) -> Result<(), (String, String)> {
        if self.archive.root.trim().is_empty() {
            return Err(("archive.root".into(), "must not be empty".into()));
        }
        if self.tiers.hot.format != crate::policy::FileFormat::Jsonl {
            return Err((
                "tiers.hot.format".into(),
                "the hot tier is appended to, so it must be jsonl".into(),
            ));
        }
        for &tier in TierName::ALL {
            let def = self.tiers.get(tier);
            if def.format == crate::policy::FileFormat::Parquet
                && matches!(def.codec, CodecSpec::Zstd { long: true, .. })
            {
                return Err((
                    format!("tiers.{tier}.codec"),
                    "Parquet's zstd has no long-distance mode; use zstd:LEVEL".into(),
                ));
            }
        }
        // Each colder tier's periods hold whole periods of the warmer tiers', so a consolidated
        // file never straddles two of the next tier's.
        let mut warmer: Option<(TierName, crate::policy::Consolidation)> = None;
        for tier in [TierName::Warm, TierName::Cold, TierName::Archive] {
            let Some(period) = self.tiers.get(tier).consolidate else {
                continue;
            };
            if let Some((before, narrower)) = warmer {
                if !narrower.nests_in(period) {
                    return Err((
                        format!("tiers.{tier}.consolidate"),
                        format!(
                            "{period} periods do not hold whole {narrower} periods of \
                             tiers.{before}.consolidate (an ISO week can cross a month and a \
                             year): make them nest"
                        ),
                    ));
                }
            }
            warmer = Some((tier, period));
        }
        let approvers = self.compliance.approvers.len();
        if usize::try_from(self.compliance.approvals_required).unwrap_or(usize::MAX) > approvers {
            return Err((
                "compliance.approvals_required".into(),
                format!(
                    "{} approvals cannot be given by the {approvers} key(s) in \
                     compliance.approvers",
                    self.compliance.approvals_required
                ),
            ));
        }
        if self.tiers.hot.consolidate.is_some() {
            return Err((
                "tiers.hot.consolidate".into(),
                "the hot tier is being written: consolidate warm, cold or archive".into(),
            ));
        }
        for &tier in TierName::ALL {
            match self.tiers.get(tier) {
                def if def.retain_days.is_some() && !def.worm => {
                    return Err((
                        format!("tiers.{tier}.retain_days"),
                        "needs worm = true: retention keeps write-once objects".into(),
                    ))
                }
                def if def.retain_days == Some(0) => {
                    return Err((
                        format!("tiers.{tier}.retain_days"),
                        "must be at least 1 day".into(),
                    ))
                }
                // A COMPLIANCE retention cannot be undone: a typo must not lock data for
                // millennia.
                def if def.retain_days.is_some_and(|days| days > MAX_RETAIN_DAYS) => {
                    return Err((
                        format!("tiers.{tier}.retain_days"),
                        format!(
                            "{} days is more than {MAX_RETAIN_DAYS} (100 years); a COMPLIANCE \
                             retention cannot be shortened",
                            def.retain_days.unwrap_or_default()
                        ),
                    ))
                }
                _ => {}
            }
        }
        if self.storage.max_file_bytes == 0 {
            return Err(("storage.max_file_bytes".into(), "must be above 0".into()));
        }
        if self.durability.mode == DurabilityMode::GroupCommit
            && self.durability.group_commit_interval_ms == 0
        {
            return Err((
                "durability.group_commit_interval_ms".into(),
                "must be above 0 in group_commit mode".into(),
            ));
        }
        if !self.sinks.jsonl && !self.sinks.parquet {
            return Err((
                "sinks".into(),
                "at least one of jsonl and parquet must be on".into(),
            ));
        }
        crate::policy::rules::check(&self.rules)?;
        for (i, rule) in self.quotas.iter().enumerate() {
            if !rule.has_limit() {
                return Err((
                    format!("quotas[{i}]"),
                    "sets no limit; give max_bytes, max_files or max_events_per_day".into(),
                ));
            }
        }
        if self.integrity.detect_duplicates && self.integrity.duplicate_window == 0 {
            return Err((
                "integrity.duplicate_window".into(),
                "must be above 0 when detect_duplicates is on".into(),
            ));
        }
        if let Some(preset) = self.compliance.preset {
            preset
                .check(&self.retention)
                .map_err(|problem| ("compliance.preset".to_string(), problem))?;
        }
        self.layout
            .validate()
            .map_err(|problem| ("layout".to_string(), problem.to_string()))?;
        self.registries().map_err(|e| {
            let key = if e.to_string().starts_with("sources") {
                "sources"
            } else {
                "symbols"
            };
            (key.to_string(), e.to_string())
        })?;
        Ok(())
    }

    /// The symbol and source registries built from `[[symbols]]` and `[[sources]]`.
    pub fn registries(
        &self,
    ) -> Result<(SymbolRegistry, SourceRegistry), strata_model::RegistryError> {
        Ok((
            SymbolRegistry::new(self.symbols.clone())?,
            SourceRegistry::new(self.sources.clone())?,
        ))
    }
}
