//! [`ArchiveBuilder`]: the facade composes (EXT-3). One typed slot per extension point, each
//! filled from the config when left empty; namings and policies registered by name so that a
//! config file can select them (`[layout] naming = "venue_first"`, `[extensions] quotas =
//! ["desk_budget"]`, see [`strata_core::extension`]).
//!
//! ```
//! use std::sync::Arc;
//! use strata::layout::{Granularity, Layout, NamingConvention};
//!
//! let dir = tempfile::tempdir()?;
//! let archive = strata::archive::Archive::builder(dir.path())
//!     .naming(Arc::new(Layout::new(NamingConvention::ByDate, Granularity::Hourly)))
//!     .open()?;
//! assert_eq!(archive.naming().template(), "{date}/{symbol}/{type}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use strata_core::config::Config;
use strata_core::extension::{ExtensionRegistry, ExtensionSettings, Slot};
use strata_core::layout::{LayoutConfig, LayoutError, Naming, NamingRegistry};
use strata_core::policy::{
    IntegrityPolicy, QuotaPolicy, RetentionPlacement, SealSchedule, TierName, TierPolicy,
};
use strata_ingest::Components;

use crate::archive::{config_of_dir, Archive};
use crate::Result;

/// Builds an [`Archive`] from its parts; see [`Archive::builder`].
#[derive(Debug, Clone)]
pub struct ArchiveBuilder {
    dir: PathBuf,
    config: Option<Config>,
    namings: NamingRegistry,
    registries: Registries,
    components: Components,
    tier_policy: Option<Arc<dyn TierPolicy>>,
    read_only: bool,
    codecs: strata_codec::CodecRegistry,
    backends: strata_backend::BackendRegistry,
}

impl ArchiveBuilder {
    pub(crate) fn new(dir: &Path) -> Self {
        ArchiveBuilder {
            dir: dir.to_path_buf(),
            config: None,
            namings: NamingRegistry::new(),
            registries: Registries::default(),
            components: Components::default(),
            tier_policy: None,
            read_only: false,
            codecs: strata_codec::CodecRegistry::default(),
            backends: strata_backend::BackendRegistry::new(),
        }
    }

    /// Uses `config` for the archive whose root is the builder's folder (instead of the folder's
    /// `strata.toml`, or the Research defaults when it has none).
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Registers a naming under `name`, so that `[layout] naming = "<name>"` selects it. The
    /// factory gets the `[layout]` section (its granularity, say).
    pub fn register_naming(
        mut self,
        name: &str,
        factory: impl Fn(&LayoutConfig) -> std::result::Result<Arc<dyn Naming>, LayoutError>
            + Send
            + Sync
            + 'static,
    ) -> Result<Self> {
        self.namings.register(name, factory)?;
        Ok(self)
    }

    /// Registers an integrity policy under `name`, so that `[extensions] integrity = "<name>"`
    /// selects it. The factory gets `[extensions.settings.<name>]` (JSON `null` when absent)
    /// and returns the policy or why the settings are refused.
    pub fn register_integrity(
        mut self,
        name: &str,
        factory: impl Fn(&ExtensionSettings) -> std::result::Result<Arc<dyn IntegrityPolicy>, String>
            + Send
            + Sync
            + 'static,
    ) -> Result<Self> {
        self.registries.integrity.register(name, factory)?;
        Ok(self)
    }

    /// Registers a quota under `name`, so that `[extensions] quotas = ["<name>"]` adds it to
    /// the `[[quotas]]` rules; the factory as for [`Self::register_integrity`].
    pub fn register_quota(
        mut self,
        name: &str,
        factory: impl Fn(&ExtensionSettings) -> std::result::Result<Arc<dyn QuotaPolicy>, String>
            + Send
            + Sync
            + 'static,
    ) -> Result<Self> {
        self.registries.quota.register(name, factory)?;
        Ok(self)
    }

    /// Registers a seal schedule under `name`, so that `[extensions] seal_schedule = "<name>"`
    /// selects it; the factory as for [`Self::register_integrity`].
    pub fn register_seal_schedule(
        mut self,
        name: &str,
        factory: impl Fn(&ExtensionSettings) -> std::result::Result<Arc<dyn SealSchedule>, String>
            + Send
            + Sync
            + 'static,
    ) -> Result<Self> {
        self.registries.seal_schedule.register(name, factory)?;
        Ok(self)
    }

    /// Registers a tier policy under `name`, so that `[extensions] tier_policy = "<name>"`
    /// selects it; the factory as for [`Self::register_integrity`].
    pub fn register_tier_policy(
        mut self,
        name: &str,
        factory: impl Fn(&ExtensionSettings) -> std::result::Result<Arc<dyn TierPolicy>, String>
            + Send
            + Sync
            + 'static,
    ) -> Result<Self> {
        self.registries.tier_policy.register(name, factory)?;
        Ok(self)
    }

    /// The naming, whatever the config says.
    pub fn naming(mut self, naming: Arc<dyn Naming>) -> Self {
        self.components.naming = Some(naming);
        self
    }

    /// The integrity policy, instead of the config's `[integrity]` checks.
    pub fn integrity(mut self, policy: Arc<dyn IntegrityPolicy>) -> Self {
        self.components.integrity = Some(policy);
        self
    }

    /// Adds a quota to the config's `[[quotas]]` rules.
    pub fn quota(mut self, policy: Arc<dyn QuotaPolicy>) -> Self {
        self.components
            .quotas
            .get_or_insert_with(Vec::new)
            .push(policy);
        self
    }

    /// The seal schedule, instead of `storage.max_file_bytes` and `storage.max_file_age_secs`.
    pub fn seal_schedule(mut self, schedule: Arc<dyn SealSchedule>) -> Self {
        self.components.seal_schedule = Some(schedule);
        self
    }

    /// The tier policy, instead of the config's retention table and classification.
    pub fn tier_policy(mut self, policy: Arc<dyn TierPolicy>) -> Self {
        self.tier_policy = Some(policy);
        self
    }

    /// Registers a codec strata does not ship (EXT-1), so that the archive's imports read files
    /// compressed with it ([`Archive::import_file`]; a `.bz2` file must then hold bzip2) besides
    /// strata's own; refused when its name, extension or magic bytes are another codec's.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use strata::codec::{BuiltinCodec, CodecFamily};
    ///
    /// let dir = tempfile::tempdir()?;
    /// // strata's own codecs are registered already.
    /// let refused = strata::archive::Archive::builder(dir.path())
    ///     .register_codec(Arc::new(BuiltinCodec(CodecFamily::Gzip)))
    ///     .unwrap_err();
    /// assert_eq!(refused.to_string(), "a codec named `gzip` is registered already");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn register_codec(mut self, codec: Arc<dyn strata_codec::Codec>) -> Result<Self> {
        self.codecs.register(codec)?;
        Ok(self)
    }

    /// Registers a backend for URLs of `scheme`, so that a tier's `backend = "<scheme>://…"`
    /// opens through it ([`Archive::tier_backend`]); a built-in scheme (`file`, `memory`, `s3`)
    /// may be replaced, by a decorator over it, say.
    pub fn register_backend(
        mut self,
        scheme: &str,
        factory: impl strata_backend::BackendFactory + 'static,
    ) -> Result<Self> {
        self.backends.register(scheme, factory)?;
        Ok(self)
    }

    /// Opens the archive for reading only (see [`Archive::open_read_only`]).
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Opens the archive: every slot left empty is filled from the config; a naming or policy
    /// the config names must be built in or registered. A read-only archive writes nothing, so
    /// it does not build the `[extensions]` policies (a program without them can still read).
    pub fn open(self) -> Result<Archive> {
        let (root, config) = match self.config {
            Some(config) => (self.dir, config),
            None => config_of_dir(&self.dir)?,
        };
        let mut components = self.components;
        if components.naming.is_none() {
            components.naming = Some(self.namings.resolve(&config.layout)?);
        }
        let named = &config.extensions;
        let write_side = !self.read_only;
        let registries = &self.registries;
        if let (None, Some(name), true) = (&components.integrity, &named.integrity, write_side) {
            components.integrity = Some(registries.integrity.build(name, named)?);
        }
        if let (None, Some(name), true) =
            (&components.seal_schedule, &named.seal_schedule, write_side)
        {
            components.seal_schedule = Some(registries.seal_schedule.build(name, named)?);
        }
        // The config's quota rules come first, then the ones it names, then any the caller added.
        let mut extra = Vec::new();
        if write_side {
            for name in &named.quotas {
                extra.push(registries.quota.build(name, named)?);
            }
        }
        extra.extend(components.quotas.take().unwrap_or_default());
        if !extra.is_empty() {
            let mut quotas: Vec<Arc<dyn QuotaPolicy>> = config
                .quotas
                .iter()
                .map(|rule| Arc::new(rule.clone()) as Arc<dyn QuotaPolicy>)
                .collect();
            quotas.extend(extra);
            components.quotas = Some(quotas);
        }
        let resolved = components.resolve(&config)?;
        let tier_policy = match (self.tier_policy, &named.tier_policy) {
            (Some(policy), _) => Some(policy),
            (None, Some(name)) if write_side => Some(registries.tier_policy.build(name, named)?),
            (None, _) => None,
        };
        if write_side {
            check_tier_backends(&config, &self.backends)?;
        }
        let tier_policy = tier_policy.unwrap_or_else(|| {
            Arc::new(RetentionPlacement {
                retention: config.retention.clone(),
                classification: config.classification.clone(),
            })
        });
        Ok(
            Archive::assemble(&root, config, resolved, tier_policy, self.read_only)?
                .with_codecs(self.codecs)
                .with_backends(self.backends),
        )
    }
}

/// The extensions registered by name, one registry per slot.
#[derive(Debug, Clone)]
struct Registries {
    integrity: ExtensionRegistry<dyn IntegrityPolicy>,
    quota: ExtensionRegistry<dyn QuotaPolicy>,
    seal_schedule: ExtensionRegistry<dyn SealSchedule>,
    tier_policy: ExtensionRegistry<dyn TierPolicy>,
}

impl Default for Registries {
    fn default() -> Self {
        Registries {
            integrity: ExtensionRegistry::new(Slot::Integrity),
            quota: ExtensionRegistry::new(Slot::Quotas),
            seal_schedule: ExtensionRegistry::new(Slot::SealSchedule),
            tier_policy: ExtensionRegistry::new(Slot::TierPolicy),
        }
    }
}

/// Every tier backend URL the config names parses and has a registered scheme
/// How a tier's backend is opened: write-once when `worm`, with COMPLIANCE retention of
/// `retain_days` days when set.
pub(crate) fn tier_open_options(
    definition: &strata_core::policy::TierDefinition,
) -> strata_backend::OpenOptions {
    let options = strata_backend::OpenOptions::new().worm(definition.worm);
    match definition.retain_days {
        Some(days) => options.worm_retention(
            strata_backend::RetentionMode::Compliance,
            std::time::Duration::from_secs(u64::from(days) * 86_400),
        ),
        None => options,
    }
}

/// ([`BackendRegistry::check`](strata_backend::BackendRegistry::check), nothing opened): checked at
/// open, so a typo is an error naming the key before data is written, not when the lifecycle
/// first moves a file.
fn check_tier_backends(config: &Config, backends: &strata_backend::BackendRegistry) -> Result<()> {
    for tier in TierName::ALL {
        let definition = config.tiers.get(*tier);
        let Some(url) = &definition.backend else {
            continue;
        };
        let options = tier_open_options(definition);
        backends
            .check(url, &options)
            .map_err(|source| crate::Error::tier_backend(*tier, url, &source))?;
    }
    Ok(())
}
