//! Setting up an archive folder and loading its config (OPS-1, OPS-3).

use std::path::{Path, PathBuf};

use std::sync::Arc;

use strata_catalog::Catalog;
use strata_core::config::{Config, ConfigFormat};
use strata_core::template::config_toml;
use strata_core::Profile;
use strata_import::{Format, ImportOptions, ImportSummary, Record};
use strata_ingest::{AppendOptions, Writer, WriterOptions};

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
    let tmp = dir.join(format!(".{CONFIG_FILE_NAME}.tmp"));
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &config_path).map_err(io(&config_path))?;
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

/// An open archive: its root, resolved config and catalog.
pub struct Archive {
    root: PathBuf,
    config: Config,
    catalog: Arc<Catalog>,
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
    /// Events the writer accepted.
    pub accepted: u64,
    /// Events the writer refused (integrity checks; quarantined with the reason).
    pub refused: u64,
}

impl Archive {
    /// Opens the archive at `root` with `config` (the root is created if needed), and writes the
    /// source and symbol registries into `_catalog/`.
    pub fn open(root: &Path, config: Config) -> Result<Archive> {
        std::fs::create_dir_all(root).map_err(io(root))?;
        let catalog = Arc::new(Catalog::open(root)?);
        catalog.write_registries(&config.sources, &config.symbols)?;
        Ok(Archive {
            root: root.to_path_buf(),
            config,
            catalog,
        })
    }

    /// Opens the archive in `dir`: with its `strata.toml` when there is one, else with the
    /// built-in Research defaults (OPS-3: no setup needed).
    pub fn open_dir(dir: &Path) -> Result<Archive> {
        let path = dir.join(CONFIG_FILE_NAME);
        if path.exists() {
            let config = load_config(&path)?;
            let root = resolve_root(&config, &path);
            Archive::open(&root, config)
        } else {
            Archive::open(dir, Config::for_profile(Profile::Research))
        }
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

    /// Opens a writer session on the hot tier (recovering what a crash left first).
    pub fn writer(&self, options: WriterOptions) -> Result<Writer> {
        Ok(Writer::open(
            &self.root,
            self.config.clone(),
            Arc::clone(&self.catalog),
            options,
        )?)
    }

    /// Imports one input file through `writer`: events in batches, rejected rows into the
    /// quarantine with file, line and reason, skipped rows counted. `progress` is called with the
    /// rows read so far. File-level problems (unreadable, wrong format) are errors.
    pub fn import_file(
        &self,
        writer: &Writer,
        path: &Path,
        format: Format,
        options: &ImportOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<FileImport> {
        let records = strata_import::import_file(path, format, options)?;
        self.import_records(
            writer,
            &path.display().to_string(),
            format,
            records,
            progress,
        )
    }

    /// Imports from any reader (e.g. standard input), named `name` in errors.
    pub fn import_reader<R: std::io::Read + Send + 'static>(
        &self,
        writer: &Writer,
        reader: R,
        name: &str,
        format: Format,
        options: &ImportOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<FileImport> {
        let records = strata_import::import_reader(reader, name, format, options)?;
        self.import_records(writer, name, format, records, progress)
    }

    fn import_records(
        &self,
        writer: &Writer,
        name: &str,
        format: Format,
        records: strata_import::Records,
        progress: &mut dyn FnMut(u64),
    ) -> Result<FileImport> {
        let mut out = FileImport {
            file: name.to_string(),
            ..FileImport::default()
        };
        let mut batch = Vec::with_capacity(IMPORT_BATCH);
        let append = AppendOptions {
            keep_identical: format.records_distinct_by_position(),
        };
        let flush = |batch: &mut Vec<strata_model::Event>, out: &mut FileImport| -> Result<()> {
            if !batch.is_empty() {
                let outcome = writer.append_batch_with(batch, append)?;
                out.accepted += outcome.accepted as u64;
                out.refused += outcome.rejected as u64;
                batch.clear();
            }
            Ok(())
        };
        let mut seen = 0u64;
        for record in records {
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
                Record::Rejected(r) => {
                    writer.record_import_problem(&r.file, r.line, &r.reason, Some(&r.raw))?
                }
                Record::Skipped { line, reason } => {
                    writer.record_import_problem(name, line, &reason, None)?
                }
                _ => {}
            }
        }
        flush(&mut batch, &mut out)?;
        progress(out.summary.rows.max(seen));
        Ok(out)
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
