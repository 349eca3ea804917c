//! Setting up an archive folder and loading its config (OPS-1, OPS-3).

use std::path::{Path, PathBuf};

use strata_core::config::{Config, ConfigFormat};
use strata_core::template::config_toml;
use strata_core::Profile;

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
