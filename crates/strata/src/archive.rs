//! Setting up an archive folder and loading its config (OPS-1, OPS-3).

use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use strata_catalog::Catalog;
use strata_core::config::{Config, ConfigFormat};
use strata_core::layout::Naming;
use strata_core::policy::{LifecyclePlan, TierName, TierPolicy};
use strata_core::template::config_toml;
use strata_core::Profile;
use strata_import::{Format, ImportOptions, ImportSummary, Record, Rejected};
use strata_ingest::{
    AppendOptions, CommittedImport, HashingReader, ImportEnd, ImportId, ImportKey, ImportStart,
    ImportTally, Resolved, Writer, WriterOptions, WriterSettings,
};
use strata_lifecycle::HoldStore;

use crate::builder::ArchiveBuilder;

use crate::{Error, Result};

/// The config file name `init` writes and commands look for.
pub const CONFIG_FILE_NAME: &str = "strata.toml";

/// An initialised archive folder.
#[derive(Debug, Clone)]
pub struct InitializedArchive {
    /// The archive's root folder.
    pub root: PathBuf,
    /// Its config file.
    pub config_path: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (if needed) and writes a commented default config for `profile` into it, with
/// `archive.root = "."` so the folder is self-contained. Refuses to overwrite an existing config
/// unless `force`.
pub fn init(dir: &Path, profile: Profile, force: bool) -> Result<InitializedArchive> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let config_path = dir.join(CONFIG_FILE_NAME);
    if config_path.exists() && !force {
        return Err(Error::AlreadyInitialized { path: config_path });
    }
    let mut config = Config::for_profile(profile);
    config.archive.root = ".".to_string();
    let text = config_toml(&config);
    // Check what we are about to write reads back the same (the template is generated).
    Config::parse(
        &text,
        ConfigFormat::Toml,
        &config_path.display().to_string(),
    )?;
    // Atomic and durable: a crash leaves the old config or the whole new one (and at worst a
    // `.tmp-strata-<pid>-<n>` beside it, which nothing reads).
    strata_catalog::fsio::write_atomic(&config_path, text.as_bytes())?;
    Ok(InitializedArchive {
        root: dir.to_path_buf(),
        config_path,
    })
}

/// Reads and validates a config file; the format follows the extension (TOML by default).
pub fn load_config(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let name = path.display().to_string();
    Ok(Config::parse(
        &text,
        ConfigFormat::from_file_name(&name),
        &name,
    )?)
}

/// The archive root a config names, resolved against the config file's folder.
pub fn resolve_root(config: &Config, config_path: &Path) -> PathBuf {
    let root = Path::new(&config.archive.root);
    if root.is_absolute() {
        return root.to_path_buf();
    }
    let base = config_path.parent().unwrap_or(Path::new("."));
    if root == Path::new(".") {
        base.to_path_buf()
    } else {
        base.join(root)
    }
}

/// The root and config of the archive in `dir`: its `strata.toml` when there is one, else the
/// built-in Research defaults.
pub fn config_of_dir(dir: &Path) -> Result<(PathBuf, Config)> {
    let path = dir.join(CONFIG_FILE_NAME);
    if path.exists() {
        let config = load_config(&path)?;
        Ok((resolve_root(&config, &path), config))
    } else {
        Ok((dir.to_path_buf(), Config::for_profile(Profile::Research)))
    }
}

/// The content an import is keyed by: the SHA-256 of the input once decompressed (so
/// `x.txt`, `x.txt.gz` and `x.txt.zst` are one input), or of the file's own bytes for Lean input
/// (a zip, whose entries the importer reads) and for an input whose stream cannot be decoded (it
/// is damaged: the import will say so).
fn content_sha256(
    path: &Path,
    format: Format,
    codecs: &strata_codec::CodecRegistry,
) -> Result<String> {
    let raw = || {
        std::fs::File::open(path)
            .and_then(|f| strata_ingest::imports::sha256_of(std::io::BufReader::new(f)))
            .map_err(io(path))
    };
    if format == Format::Lean {
        return raw();
    }
    match codecs.open_file(path) {
        Ok((_, decoded)) => match strata_ingest::imports::sha256_of(decoded) {
            Ok(sha) => Ok(sha),
            Err(_) => raw(),
        },
        Err(_) => raw(),
    }
}

/// What tells that a file changed: its length and modification time.
fn file_stamp(path: &Path) -> Result<(u64, Option<std::time::SystemTime>)> {
    let meta = std::fs::metadata(path).map_err(io(path))?;
    Ok((meta.len(), meta.modified().ok()))
}

/// True when `dir` holds an archive: a `strata.toml` or a `_catalog/` folder.
pub fn is_archive(dir: &Path) -> bool {
    dir.join(CONFIG_FILE_NAME).is_file() || dir.join("_catalog").is_dir()
}

/// An open archive: its root, resolved config and catalog. Clones share the catalog, the
/// extension points and the quota cleanups writes start.
#[derive(Clone)]
pub struct Archive {
    root: PathBuf,
    config: Config,
    catalog: Arc<Catalog>,
    /// The extension points, every slot filled (from the builder or the config).
    components: Resolved,
    tier_policy: Arc<dyn TierPolicy>,
    /// Set (by a signal handler, say) to stop imports between records.
    stop: Option<Arc<AtomicBool>>,
    /// The codecs imports read: strata's own and any the builder registered.
    codecs: strata_codec::CodecRegistry,
    /// The URL schemes a tier's `backend` may name: strata's own and any the builder registered.
    backends: strata_backend::BackendRegistry,
    /// The quota cleanups its writers start (QUOTA-2).
    cleaner: Arc<crate::cleanup::Cleaner>,
    /// The clock of the decisions the archive makes on its own (the quota cleanup); `None`:
    /// the real one.
    clock: Option<strata_model::Timestamp>,
}

/// Events are handed to the writer in batches of this many.
pub const IMPORT_BATCH: usize = 4096;

/// What importing one file did.
#[derive(Debug, Clone, Default)]
pub struct FileImport {
    /// The file (or `-`).
    pub file: String,
    /// Rows, events, rejected, skipped and gaps as the importer counted them.
    pub summary: ImportSummary,
    /// Events the writer accepted (stored, once the import is committed).
    pub accepted: u64,
    /// Events the writer refused (integrity checks; quarantined with the reason).
    pub refused: u64,
    /// Of `refused`: duplicates of events already stored.
    pub refused_duplicates: u64,
    /// Of `refused`: events out of order beyond the allowed lateness.
    pub refused_out_of_order: u64,
    /// The ledger's id of this import (absent when nothing was imported).
    pub import_id: Option<String>,
    /// Set when the ledger already held this input as imported: nothing was stored again.
    pub already_imported: Option<CommittedImport>,
    /// Set when the import is committed (it will not be imported again) but its files could
    /// not be moved into `hot/` yet; the next open finishes it. Why.
    pub unfinished: Option<String>,
    /// Set when the input was cut short and its readable prefix was kept
    /// ([`ImportOptions::keep_readable_prefix`]): where and why it stopped.
    pub kept_prefix: Option<String>,
}

impl FileImport {
    /// The share of the input that was not stored, in `0..=1`: the larger of the rows the
    /// importer rejected (of the rows read) and the events the writer refused (of the events the
    /// rows became). Kept apart because one row may become many events (a depth update, one per
    /// level).
    pub fn reject_share(&self) -> f64 {
        let share = |bad: u64, all: u64| {
            if all == 0 {
                0.0
            } else {
                (bad as f64 / all as f64).min(1.0)
            }
        };
        share(self.summary.rejected, self.summary.rows)
            .max(share(self.refused, self.summary.events()))
    }
}

impl Archive {
    /// A builder for the archive in `dir`, with a slot per extension point (EXT-3): what is left
    /// empty comes from the config (the folder's `strata.toml`, or the one given).
    pub fn builder(dir: &Path) -> ArchiveBuilder {
        ArchiveBuilder::new(dir)
    }

    /// Opens the archive at `root` with `config` (the root is created if needed), and writes the
    /// source and symbol registries into `_catalog/`. Every extension point comes from the
    /// config; see [`Archive::builder`] to plug in others.
    pub fn open(root: &Path, config: Config) -> Result<Archive> {
        Archive::builder(root).config(config).open()
    }

    /// The archive from its resolved parts (the builder's last step).
    pub(crate) fn assemble(
        root: &Path,
        config: Config,
        components: Resolved,
        tier_policy: Arc<dyn TierPolicy>,
        read_only: bool,
    ) -> Result<Archive> {
        let catalog = if read_only {
            Catalog::open_read_only(root)?
        } else {
            std::fs::create_dir_all(root).map_err(io(root))?;
            let catalog = Catalog::open(root)?;
            catalog.write_registries(&config.sources, &config.symbols)?;
            catalog
        };
        Ok(Archive {
            root: root.to_path_buf(),
            config,
            catalog: Arc::new(catalog),
            components,
            tier_policy,
            stop: None,
            codecs: strata_codec::CodecRegistry::default(),
            backends: strata_backend::BackendRegistry::new(),
            cleaner: Arc::default(),
            clock: None,
        })
    }

    /// The archive reading imports with `codecs` (the builder's last step).
    pub(crate) fn with_codecs(mut self, codecs: strata_codec::CodecRegistry) -> Archive {
        self.codecs = codecs;
        self
    }

    /// The archive opening tier backends with `backends` (the builder's last step).
    pub(crate) fn with_backends(mut self, backends: strata_backend::BackendRegistry) -> Archive {
        self.backends = backends;
        self
    }

    /// The URL of `tier`'s storage: its `tiers.<tier>.backend`, else the local folder
    /// `<root>/<tier>` as a `file://` URL.
    pub fn tier_url(&self, tier: TierName) -> Result<String> {
        if let Some(url) = &self.config.tiers.get(tier).backend {
            return Ok(url.clone());
        }
        let folder = self.root.join(tier.as_str());
        let absolute = std::path::absolute(&folder).map_err(io(&folder))?;
        strata_backend::Url::from_directory_path(&absolute)
            .map(String::from)
            .map_err(|()| Error::TierBackend {
                key: format!("tiers.{tier}.backend"),
                url: absolute.display().to_string(),
                reason: "the archive's folder cannot be written as a file:// URL".into(),
            })
    }

    /// Opens `tier`'s storage through the backend registry (strata's `file`, `memory` and `s3`
    /// schemes and any registered with
    /// [`ArchiveBuilder::register_backend`](crate::builder::ArchiveBuilder::register_backend)),
    /// write-once when the tier says `worm = true`, with S3 Object Lock retention when it says
    /// `retain_days`. An error names the config key.
    pub fn tier_backend(&self, tier: TierName) -> Result<Arc<dyn strata_backend::Backend>> {
        let url = self.tier_url(tier)?;
        let options = crate::builder::tier_open_options(self.config.tiers.get(tier));
        self.backends
            .open_with(&url, &options)
            .map_err(|source| Error::tier_backend(tier, &url, &source))
    }

    /// The codecs imports read: strata's own and any registered with
    /// [`ArchiveBuilder::register_codec`](crate::builder::ArchiveBuilder::register_codec).
    pub fn codecs(&self) -> &strata_codec::CodecRegistry {
        &self.codecs
    }

    /// Opens the archive in `dir`: with its `strata.toml` when there is one, else with the
    /// built-in Research defaults (OPS-3: no setup needed).
    pub fn open_dir(dir: &Path) -> Result<Archive> {
        let (root, config) = config_of_dir(dir)?;
        Archive::open(&root, config)
    }

    /// Opens the archive at `root` for reading only (`ls`, `catalog stats`, `sessions`): nothing
    /// is created or written and no lock is taken, so it works on an archive the user can only
    /// read and beside a running writer.
    pub fn open_read_only(root: &Path, config: Config) -> Result<Archive> {
        Archive::builder(root).config(config).read_only().open()
    }

    /// [`Archive::open_read_only`] for the archive in `dir` (its `strata.toml` when there is one).
    pub fn open_dir_read_only(dir: &Path) -> Result<Archive> {
        let (root, config) = config_of_dir(dir)?;
        Archive::open_read_only(&root, config)
    }

    /// Opens the archive at `root` to rebuild its index: a damaged index is moved aside first
    /// (see [`Catalog::open_for_rebuild`]); returns where it went.
    /// The config's naming is checked before anything is moved: a naming extension (which only
    /// an embedding program can register) is refused with the index left where it was.
    pub fn open_for_rebuild(root: &Path, config: Config) -> Result<(Archive, Option<PathBuf>)> {
        strata_core::layout::NamingRegistry::new().resolve(&config.layout)?;
        let (catalog, aside) = Catalog::open_for_rebuild(root)?;
        let mut archive = Archive::builder(root).config(config).read_only().open()?;
        archive.catalog = Arc::new(catalog);
        Ok((archive, aside))
    }

    /// Imports check `flag` between records: once it is set, the import in progress stops
    /// reading, is rolled back (nothing of it stored; run it again later) and returns
    /// [`Error::Stopped`]. Imports committed before stay stored.
    pub fn set_stop_flag(&mut self, flag: Arc<AtomicBool>) {
        self.stop = Some(flag);
    }

    /// The archive root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The resolved config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The catalog.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The naming its files are laid out by.
    pub fn naming(&self) -> &Arc<dyn Naming> {
        &self.components.naming
    }

    /// Its extension points, every slot filled.
    pub fn components(&self) -> &Resolved {
        &self.components
    }

    /// Where its stored files belong (the config's retention table, unless the builder was
    /// given another policy).
    pub fn tier_policy(&self) -> &Arc<dyn TierPolicy> {
        &self.tier_policy
    }

    /// The lifecycle plan at `now` (POL-4): one decision per catalogued file — stay, migrate,
    /// delete or protect — with the rule that caused it, from this archive's tier policy, its
    /// config's classification, tiers, quotas and automation rules (POL-6, with when each last
    /// ran), and its legal holds. Pure over those facts: nothing is moved or deleted.
    pub fn lifecycle_plan(&self, now: strata_model::Timestamp) -> Result<LifecyclePlan> {
        let holds = self.holds();
        let policy = self.approval_policy()?;
        let records = match &policy {
            Some(_) => self.approvals().records()?,
            None => Vec::new(),
        };
        Ok(strata_lifecycle::plan(
            &self.catalog,
            &holds,
            &self.config,
            Some(self.tier_policy.as_ref()),
            policy.as_ref().map(|p| (p, records.as_slice())),
            &strata_lifecycle::RuleLog::new(&self.root).last_runs()?,
            now,
        )?)
    }

    /// The approvals deleting archive-tier data needs (`compliance.approvals_required` of the
    /// keys in `compliance.approvers`); `None` when it needs none.
    pub fn approval_policy(&self) -> Result<Option<strata_lifecycle::ApprovalPolicy>> {
        let compliance = &self.config.compliance;
        if compliance.approvals_required == 0 {
            return Ok(None);
        }
        let mut approvers = Vec::new();
        for file in &compliance.approvers {
            approvers.push(strata_lifecycle::sign::read_public_key(
                &self.root.join(file),
            )?);
        }
        Ok(Some(strata_lifecycle::ApprovalPolicy {
            required: compliance.approvals_required,
            approvers,
        }))
    }

    /// The archive's approvals for deleting protected archive data (ARCH-4).
    pub fn approvals(&self) -> strata_lifecycle::ApprovalStore {
        strata_lifecycle::ApprovalStore::new(&self.root)
    }

    /// Carries out the lifecycle plan at `now` (TIER-2, TIER-3): first what a killed run began,
    /// then every migration (converted, written create-only to the target tier's storage, read
    /// back and compared with the source before the source is removed) and deletion, under the
    /// journal `_lifecycle/journal.jsonl`. `progress(done, total)` follows it. A file whose
    /// operation fails is reported in the result and left as it was.
    pub fn lifecycle_run(
        &self,
        now: strata_model::Timestamp,
        progress: impl FnMut(usize, usize),
    ) -> Result<strata_lifecycle::RunReport> {
        let plan = self.lifecycle_plan(now)?;
        Ok(self.executor()?.run(&plan, progress)?)
    }

    /// The lifecycle's executor on this archive: every tier's storage, the stop flag, the
    /// signing key.
    fn executor(&self) -> Result<strata_lifecycle::Executor<'_>> {
        let backends = self.tier_backends(false)?;
        let mut executor = strata_lifecycle::Executor::new(&self.root, &self.catalog, backends)?
            .with_in_memory_events(self.config.lifecycle.in_memory_events);
        if let Some(stop) = &self.stop {
            // A signal stops the run between two operations.
            executor = executor.with_stop(Arc::clone(stop));
        }
        if let Some(key) = &self.config.compliance.signing_key {
            let key = strata_lifecycle::sign::read_signing_key(&self.root.join(key))?;
            executor = executor.with_signing(key);
        }
        Ok(executor)
    }

    /// Carries out the deletions of the lifecycle plan at `now` — no migration, no
    /// consolidation (QUOTA-2): those of the quotas (`drop_oldest` takes a scope's oldest
    /// unprotected files until it fits, `soft_limit` its transient then derived files), and
    /// those retention already decided, which the quotas count as freed (an automation rule's
    /// deletions wait for a lifecycle run, on the rule's schedule). Critical, held, write-once
    /// and unapproved files are never among them. Like every run, it first finishes what a
    /// killed run began. Journaled and audited like [`Archive::lifecycle_run`], and
    /// refused while another run holds `_lifecycle/lock`. A write over such a quota starts this
    /// on its own (`lifecycle.cleanup_on_quota`, see [`Archive::cleanup_status`]).
    pub fn quota_cleanup(
        &self,
        now: strata_model::Timestamp,
    ) -> Result<crate::cleanup::QuotaCleanup> {
        let mut plan = self.lifecycle_plan(now)?;
        // The quotas' and retention's deletions (only the quotas' with `lifecycle.enabled =
        // false`); an automation rule's wait for its own schedule.
        let retention = self.config.lifecycle.enabled;
        plan.decisions.retain(|d| {
            d.action == strata_core::policy::lifecycle::LifecycleAction::Delete
                && (d.rule.starts_with("quota.") || (retention && !d.rule.starts_with("rules.")))
        });
        plan.rules.clear();
        plan.requests.clear();
        plan.tier_caps.clear();
        let shortfalls = plan
            .quotas
            .iter()
            .filter_map(|q| {
                q.shortfall
                    .as_ref()
                    .map(|why| format!("quota {} stays over: {why}", q.scope))
            })
            .collect();
        if plan.decisions.is_empty() {
            // Nothing to delete: no run, no lock taken.
            return Ok(crate::cleanup::QuotaCleanup {
                shortfalls,
                ..Default::default()
            });
        }
        let mut before = std::collections::HashMap::new();
        for d in &plan.decisions {
            if let Some(m) = self.catalog.get(&d.path)? {
                before.insert(d.path.clone(), m);
            }
        }
        let report = self.executor()?.run(&plan, |_, _| {})?;
        let deleted = report
            .deleted
            .iter()
            .filter_map(|path| before.remove(path))
            .collect();
        Ok(crate::cleanup::QuotaCleanup {
            report,
            deleted,
            shortfalls,
        })
    }

    /// What the quota cleanups this archive's writers started have done so far, and whether
    /// one runs now.
    pub fn cleanup_status(&self) -> crate::cleanup::CleanupStatus {
        self.cleaner.status()
    }

    /// Blocks until no quota cleanup runs (or `timeout` passes; then false).
    pub fn wait_for_cleanup(&self, timeout: std::time::Duration) -> bool {
        self.cleaner.wait(timeout)
    }

    /// Ends the quota cleanups of `writer`'s session: waits for a running one, then, if a write
    /// asked for a cleanup since the last call, runs one more on this thread. Call it once the
    /// writer is closed, so that cleanup sees the session's own files (sealed by the close) and
    /// a program that exits is not cut off halfway (a cut one is finished by the next lifecycle
    /// run, from its journal); its note is then in the returned status, not the session report.
    pub fn finish_cleanup(&self, writer: &Writer) -> crate::cleanup::CleanupStatus {
        self.cleaner.catch_up(self, writer);
        self.cleaner.status()
    }

    /// Sets the clock of the decisions the archive makes on its own — the quota cleanup its
    /// writers start — for writers opened from now on (`strata --now`); `None`: the real clock.
    pub fn set_clock(&mut self, now: Option<strata_model::Timestamp>) {
        self.clock = now;
    }

    /// The clock of the decisions the archive makes on its own ([`Archive::set_clock`]).
    pub fn clock(&self) -> strata_model::Timestamp {
        self.clock.unwrap_or_else(strata_model::Timestamp::now)
    }

    /// Every tier's storage, by tier. For what only reads (`reading`: queries, exports,
    /// verify), a local tier whose folder does not exist holds nothing and is left out rather
    /// than created, so reading an archive needs no write permission on it (a file the catalog
    /// lists in such a tier is then an error naming the tier).
    fn tier_backends(
        &self,
        reading: bool,
    ) -> Result<std::collections::BTreeMap<TierName, Arc<dyn strata_backend::Backend>>> {
        let mut backends = std::collections::BTreeMap::new();
        for &tier in TierName::ALL {
            let missing_folder = reading
                && strata_backend::Url::parse(&self.tier_url(tier)?)
                    .ok()
                    .filter(|u| u.scheme() == "file")
                    .and_then(|u| u.to_file_path().ok())
                    .is_some_and(|path| !path.exists());
            if !missing_folder {
                backends.insert(tier, self.tier_backend(tier)?);
            }
        }
        Ok(backends)
    }

    /// What `verify` checks the archive tier's signed manifests with: the configured trusted
    /// key, else the signing key's public half.
    fn signing_check(&self) -> Result<strata_lifecycle::SigningCheck> {
        let compliance = &self.config.compliance;
        let trusted = compliance
            .trusted_key
            .as_ref()
            .or(compliance.signing_key.as_ref())
            .map(|file| strata_lifecycle::sign::read_public_key(&self.root.join(file)))
            .transpose()?;
        Ok(strata_lifecycle::SigningCheck {
            required: trusted.is_some(),
            trusted: trusted.into_iter().collect(),
        })
    }

    /// Checks every catalogued file in its tier against its manifest (SHA-256; with `deep`, its
    /// events decoded and counted), the audit trail's hash chain and the archive tier's signed
    /// manifests with the configured key (`strata verify`).
    pub fn verify(&self, deep: bool) -> Result<strata_lifecycle::VerifyReport> {
        self.verify_with(deep, self.signing_check()?)
    }

    /// [`verify`](Self::verify) against public keys kept outside the archive (`strata verify
    /// --trusted-key FILE`, repeatable: the keys before and after a rotation), in place of the
    /// config's: whoever can rewrite the archive can rewrite its config, not these files.
    /// Every manifest must be signed by one of the keys in `trusted` (PEM public key files, as
    /// `strata key generate` and OpenSSL write them, or private key files).
    pub fn verify_trusting(
        &self,
        deep: bool,
        trusted: &[PathBuf],
    ) -> Result<strata_lifecycle::VerifyReport> {
        let trusted = trusted
            .iter()
            .map(|file| strata_lifecycle::sign::read_public_key(file))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        self.verify_with(
            deep,
            strata_lifecycle::SigningCheck {
                required: true,
                trusted,
            },
        )
    }

    fn verify_with(
        &self,
        deep: bool,
        signing: strata_lifecycle::SigningCheck,
    ) -> Result<strata_lifecycle::VerifyReport> {
        Ok(strata_lifecycle::verify_archive(
            &self.root,
            &self.catalog,
            &self.tier_backends(true)?,
            deep,
            &signing,
        )?)
    }

    /// A query engine over this archive (TIER-5): [`strata_query::QueryEngine::run`] gives the
    /// events of a [`strata_query::Query`] from every tier, the hot tier's unsealed segments
    /// included, in event-time order. Symbols resolve through the archive's registry (the
    /// config's symbols and those imports learned).
    pub fn query_engine(&self) -> Result<strata_query::QueryEngine> {
        let symbols = match self.catalog.read_registries() {
            Ok((_, symbols)) => symbols,
            Err(_) => self.config.symbols.clone(),
        };
        Ok(strata_query::QueryEngine::new(
            &self.root,
            Arc::clone(&self.catalog),
            self.tier_backends(true)?,
            strata_model::SymbolRegistry::new(symbols)?,
        )?)
    }

    /// The events of `query` as a stream for async callers (a tokio service), from a blocking
    /// thread of the current tokio runtime (see [`strata_query::QueryEngine::stream`]).
    pub fn query_stream(&self, query: strata_query::Query) -> Result<strata_query::QueryStream> {
        Ok(self.query_engine()?.stream(query))
    }

    /// The columnar form of [`query_stream`](Self::query_stream): the query's record batches
    /// (one kind) for async callers ([`strata_query::QueryEngine::batch_stream`]).
    pub fn batch_stream(&self, query: strata_query::Query) -> Result<strata_query::BatchStream> {
        Ok(self.query_engine()?.batch_stream(query))
    }

    /// The capacity forecast at `now` (QUOTA-3): growth per day over the last `window_days`,
    /// usage `horizon_days` ahead, the day each quota fills, growth by source.
    pub fn forecast(
        &self,
        now: strata_model::Timestamp,
        window_days: u32,
        horizon_days: u32,
    ) -> Result<strata_core::policy::forecast::Forecast> {
        let files = strata_lifecycle::stored_files(&self.catalog, &self.config.tiers)?;
        Ok(strata_core::policy::forecast::forecast(
            &files,
            &self.config.quotas,
            now,
            window_days,
            horizon_days,
        ))
    }

    /// The archive's register of legal holds (ARCH-2), `_catalog/holds.json`.
    pub fn holds(&self) -> HoldStore {
        HoldStore::new(&self.root.join(strata_catalog::catalog::CATALOG_DIR))
    }

    /// Opens a writer session on the hot tier (recovering what a crash left first), given its
    /// settings and the archive's components, not the whole config. A slot `options.components`
    /// fills wins, except quotas: those given in the options are enforced besides the archive's
    /// (the config's `[[quotas]]` and the builder's), never instead of them.
    pub fn writer(&self, options: WriterOptions) -> Result<Writer> {
        let slots = options.components.clone();
        let ours = &self.components;
        let components = Resolved {
            naming: slots.naming.unwrap_or_else(|| Arc::clone(&ours.naming)),
            integrity: slots
                .integrity
                .unwrap_or_else(|| Arc::clone(&ours.integrity)),
            // Quotas add up: the archive's (the config's `[[quotas]]` and the builder's), then
            // the options'. A caller's quota never lifts a configured hard limit.
            quotas: ours
                .quotas
                .iter()
                .cloned()
                .chain(slots.quotas.unwrap_or_default())
                .collect(),
            seal_schedule: slots
                .seal_schedule
                .unwrap_or_else(|| Arc::clone(&ours.seal_schedule)),
        };
        let writer = Writer::open_with(
            &self.root,
            WriterSettings::from_config(&self.config)?,
            components,
            Arc::clone(&self.catalog),
            options,
        )?;
        let lifecycle = &self.config.lifecycle;
        if lifecycle.cleanup_on_quota {
            // A write over a SoftLimit or DropOldest quota starts the cleanup (QUOTA-2).
            let archive = self.clone();
            let interval = std::time::Duration::from_secs(lifecycle.cleanup_interval_secs);
            writer.on_quota_cleanup(move |writer, request| {
                archive.cleaner.start(&archive, writer, request, interval)
            });
        }
        Ok(writer)
    }

    /// Imports one input file through `writer`, exactly once (INGEST-8): the file's SHA-256 and
    /// the import settings are looked up in the import ledger first — an input already imported
    /// is not read again ([`FileImport::already_imported`]) — and its events are staged, then
    /// stored only when the whole input has been read. Rejected rows go to the quarantine with
    /// file, line and reason; skipped rows are counted. A damaged input (a failed CRC, a corrupt
    /// or cut stream) stores nothing and is [`Error::Damaged`] (but see
    /// [`ImportOptions::keep_readable_prefix`]). `progress` is called with the rows read so far.
    pub fn import_file(
        &self,
        writer: &Writer,
        path: &Path,
        format: Format,
        options: &ImportOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<FileImport> {
        let name = path.display().to_string();
        let settings = strata_import::import_settings(&name, format, options)?;
        let before = file_stamp(path)?;
        let key = ImportKey::new(content_sha256(path, format, &self.codecs)?, settings);
        let id = match writer.begin_import(&name, Some(&key))? {
            ImportStart::AlreadyImported(done) => {
                return Ok(FileImport {
                    file: name,
                    already_imported: Some(done),
                    ..FileImport::default()
                })
            }
            ImportStart::Started(id) => id,
        };
        let staged = strata_import::import_file_with(path, format, options, &self.codecs)
            .map_err(Error::from)
            .and_then(|records| {
                self.stage_records(writer, id, &name, format, options, records, progress)
            })
            .and_then(|staged| {
                // The key must name what was imported: a file that changed while it was read
                // (still being written, replaced) is refused, not stored under another's key.
                if file_stamp(path)? != before {
                    return Err(Error::InputChanged { file: name.clone() });
                }
                Ok(staged)
            });
        self.finish_import(writer, id, staged, options, || key)
    }

    /// Imports from any reader (e.g. standard input), named `name` in errors, exactly once as
    /// [`Archive::import_file`] does; the input's hash is known only once it is read, so an
    /// input imported before is read (and its staged copy discarded) before that is known.
    pub fn import_reader<R: std::io::Read + Send + 'static>(
        &self,
        writer: &Writer,
        reader: R,
        name: &str,
        format: Format,
        options: &ImportOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<FileImport> {
        let settings = strata_import::import_settings(name, format, options)?;
        // Keyed, like a file, by the content once decompressed — but Lean input by its own bytes
        // (a zip is read whole; its entries and a compressed CSV are decoded, and their damage
        // told, by the Lean importer).
        let input: Box<dyn std::io::Read + Send> = if format == Format::Lean {
            Box::new(reader)
        } else {
            self.codecs
                .read_content(Box::new(reader), name)
                .map_err(|e| strata_import::ImportError::codec(name, e))?
                .1
        };
        let (reader, hash) = HashingReader::new(input);
        let id = match writer.begin_import(name, None)? {
            ImportStart::Started(id) => id,
            // Without a key the ledger cannot know the input yet; kept for completeness.
            ImportStart::AlreadyImported(done) => {
                return Ok(FileImport {
                    file: name.to_string(),
                    already_imported: Some(done),
                    ..FileImport::default()
                })
            }
        };
        let staged = strata_import::import_reader_with(reader, name, format, options, &self.codecs)
            .map_err(Error::from)
            .and_then(|records| {
                self.stage_records(writer, id, name, format, options, records, progress)
            });
        self.finish_import(writer, id, staged, options, || {
            ImportKey::new(hash.digest(), settings)
        })
    }

    /// Commits a staged import, or rolls it back when staging failed or found damage.
    fn finish_import(
        &self,
        writer: &Writer,
        id: ImportId,
        staged: Result<(FileImport, Option<Rejected>)>,
        options: &ImportOptions,
        key: impl FnOnce() -> ImportKey,
    ) -> Result<FileImport> {
        let (mut out, damage) = match staged {
            Ok(staged) => staged,
            Err(e) => {
                writer.abort_import(id, &e.to_string())?;
                return Err(e);
            }
        };
        if let Some(d) = damage {
            let keep = out.kept_prefix.is_some();
            if !keep {
                let reason = format!("damaged input: {d}");
                writer.abort_import(id, &reason)?;
                return Err(Error::Damaged {
                    file: d.file,
                    line: d.line,
                    reason: d
                        .reason
                        .strip_prefix(strata_import::READ_ERROR_PREFIX)
                        .unwrap_or(&d.reason)
                        .to_string(),
                    rows_read: out.summary.rows,
                });
            }
        }
        if let Some(limit) = options.max_reject_share {
            let share = out.reject_share();
            if share > limit {
                writer.abort_import(
                    id,
                    &format!("a share {share} of the input rejected, more than the limit {limit}"),
                )?;
                out.accepted = 0;
                return Err(Error::TooManyRejected {
                    import: Box::new(out),
                    share,
                    limit,
                });
            }
        }
        // The contracts the input described join the symbol registry (before the commit: an
        // entry for an import that then fails is harmless, a stored contract without one is not).
        let learned: Vec<_> = out.summary.instruments.values().cloned().collect();
        if let Err(e) = self.catalog.add_symbols(&learned) {
            writer.abort_import(id, &e.to_string())?;
            return Err(e.into());
        }
        let tally = ImportTally {
            rows: out.summary.rows,
            rejected: out.summary.rejected + out.refused,
            note: out.kept_prefix.clone(),
        };
        match writer.commit_import(id, &key(), tally)? {
            ImportEnd::Committed { id, unfinished, .. } => {
                out.import_id = Some(id);
                out.unfinished = unfinished;
            }
            ImportEnd::AlreadyImported(done) => {
                out.accepted = 0;
                out.already_imported = Some(done);
            }
        }
        Ok(out)
    }

    /// Feeds an import's records to the writer as staged batches; returns the tally and the
    /// damage that stopped the input, if any (not quarantined: it is no row).
    #[allow(clippy::too_many_arguments)]
    fn stage_records(
        &self,
        writer: &Writer,
        id: ImportId,
        name: &str,
        format: Format,
        options: &ImportOptions,
        records: strata_import::Records,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(FileImport, Option<Rejected>)> {
        let mut out = FileImport {
            file: name.to_string(),
            ..FileImport::default()
        };
        let mut batch = Vec::with_capacity(IMPORT_BATCH);
        let append = AppendOptions {
            keep_identical: format.records_distinct_by_position(),
            import: Some(id),
            asset_class: strata_import::asset_class_of(name, format, options),
        };
        let flush = |batch: &mut Vec<strata_model::Event>, out: &mut FileImport| -> Result<()> {
            if !batch.is_empty() {
                let outcome = writer.append_batch_with(batch, append)?;
                out.accepted += outcome.accepted as u64;
                out.refused += outcome.rejected as u64;
                out.refused_duplicates += outcome.duplicates as u64;
                out.refused_out_of_order += outcome.out_of_order as u64;
                batch.clear();
            }
            Ok(())
        };
        let mut seen = 0u64;
        let mut damage = None;
        for record in records {
            if self
                .stop
                .as_ref()
                .is_some_and(|f| f.load(Ordering::Relaxed))
            {
                return Err(Error::Stopped);
            }
            seen += 1;
            out.summary.add(&record);
            match record {
                Record::Event(event) => {
                    batch.push(event);
                    if batch.len() >= IMPORT_BATCH {
                        flush(&mut batch, &mut out)?;
                        progress(seen);
                    }
                }
                Record::Rejected(r) if r.stopped_import() => {
                    out.summary.rejected -= 1;
                    if options.keep_readable_prefix && r.input_is_cut() {
                        out.kept_prefix = Some(format!(
                            "kept the {} event(s) read before the input was cut short: {r}",
                            out.summary.events()
                        ));
                    }
                    damage = Some(r);
                }
                Record::Rejected(r) => writer.record_import_problem(
                    Some(id),
                    &r.file,
                    r.line,
                    &r.reason,
                    Some(&r.raw),
                )?,
                Record::Skipped { line, reason } => {
                    writer.record_import_problem(Some(id), name, line, &reason, None)?
                }
                _ => {}
            }
        }
        if damage.is_none() || out.kept_prefix.is_some() {
            flush(&mut batch, &mut out)?;
        }
        progress(out.summary.rows.max(seen));
        Ok((out, damage))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_writes_a_config_that_loads_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let archive = init(dir.path(), Profile::Archival, false).unwrap();
        let config = load_config(&archive.config_path).unwrap();
        assert_eq!(config.profile, Profile::Archival);
        assert_eq!(resolve_root(&config, &archive.config_path), dir.path());
        let err = init(dir.path(), Profile::Research, false).unwrap_err();
        assert!(matches!(err, Error::AlreadyInitialized { .. }), "{err}");
        init(dir.path(), Profile::Research, true).unwrap();
        assert_eq!(
            load_config(&archive.config_path).unwrap().profile,
            Profile::Research
        );
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.yaml");
        std::fs::write(&path, "storage:\n  compres: true\n").unwrap();
        let err = load_config(&path).unwrap_err().to_string();
        assert!(
            err.contains("bad.yaml: key `storage.compres`: unknown field `compres`"),
            "{err}"
        );
        let err = load_config(&dir.path().join("missing.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing.toml"), "{err}");
    }
}
