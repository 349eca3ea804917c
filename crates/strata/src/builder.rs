//! [`ArchiveBuilder`]: the facade composes (EXT-3). One typed slot per extension point, each
//! filled from the config when left empty; namings registered by name so that a config file can
//! select them (`[layout] naming = "venue_first"`).
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
use strata_core::layout::{LayoutConfig, LayoutError, Naming, NamingRegistry};
use strata_core::policy::{
    IntegrityPolicy, QuotaPolicy, RetentionPlacement, SealSchedule, TierPolicy,
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
    components: Components,
    tier_policy: Option<Arc<dyn TierPolicy>>,
    read_only: bool,
}

impl ArchiveBuilder {
    pub(crate) fn new(dir: &Path) -> Self {
        ArchiveBuilder {
            dir: dir.to_path_buf(),
            config: None,
            namings: NamingRegistry::new(),
            components: Components::default(),
            tier_policy: None,
            read_only: false,
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

    /// Opens the archive for reading only (see [`Archive::open_read_only`]).
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Opens the archive: every slot left empty is filled from the config; a naming the config
    /// names must be built in or registered.
    pub fn open(self) -> Result<Archive> {
        let (root, config) = match self.config {
            Some(config) => (self.dir, config),
            None => config_of_dir(&self.dir)?,
        };
        let mut components = self.components;
        if components.naming.is_none() {
            components.naming = Some(self.namings.resolve(&config.layout)?);
        }
        // The config's quota rules come first, then any the caller added.
        if let Some(extra) = components.quotas.take() {
            let mut quotas: Vec<Arc<dyn QuotaPolicy>> = config
                .quotas
                .iter()
                .map(|rule| Arc::new(rule.clone()) as Arc<dyn QuotaPolicy>)
                .collect();
            quotas.extend(extra);
            components.quotas = Some(quotas);
        }
        let resolved = components.resolve(&config)?;
        let tier_policy = self.tier_policy.unwrap_or_else(|| {
            Arc::new(RetentionPlacement {
                retention: config.retention.clone(),
                classification: config.classification.clone(),
            })
        });
        Archive::assemble(&root, config, resolved, tier_policy, self.read_only)
    }
}
