//! The facade's error type.

/// The facade's error type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A config file cannot be used.
    #[error(transparent)]
    Config(#[from] strata_core::ConfigError),
    /// The layout cannot be built: an unknown or refused naming, say.
    #[error(transparent)]
    Layout(#[from] strata_core::layout::LayoutError),
    /// A tier's backend URL cannot be opened: its scheme is not registered, or the backend
    /// refuses it.
    #[error("{key} = \"{url}\": {reason}")]
    TierBackend {
        /// The config key, `tiers.cold.backend`.
        key: String,
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A backend scheme cannot be registered.
    #[error(transparent)]
    Backend(#[from] strata_backend::Error),
    /// A codec cannot be registered (its name or extension is taken).
    #[error(transparent)]
    CodecRegistry(#[from] strata_codec::RegistryError),
    /// An extension the config names is not registered or refuses its settings.
    #[error(transparent)]
    Extension(#[from] strata_core::extension::ExtensionError),
    /// A file operation failed on a path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The writer failed.
    #[error(transparent)]
    Ingest(#[from] strata_ingest::Error),
    /// The lifecycle failed: its catalog, its hold register, a hold refused.
    #[error(transparent)]
    Lifecycle(#[from] strata_lifecycle::Error),
    /// The async handle could not get an answer ([`crate::service::AsyncWriter`]).
    #[error("{0}")]
    Async(String),
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] strata_catalog::Error),
    /// A query failed: a file could not be read.
    #[error(transparent)]
    Query(#[from] strata_query::Error),
    /// The symbol registry is inconsistent.
    #[error(transparent)]
    Registry(#[from] strata_model::RegistryError),
    /// An input file cannot be imported.
    #[error(transparent)]
    Import(#[from] strata_import::ImportError),
    /// An input is damaged (a failed CRC, a corrupt or cut stream): nothing of it was stored.
    #[error("{file}: line {line}: the input is damaged ({reason}); nothing of it was stored ({rows_read} rows were read before the damage){}", if reason.contains(strata_import::CUT_MARK) { "; pass --keep-readable-prefix to keep what came before the cut" } else { "" })]
    Damaged {
        /// The file, `archive.zip:entry.csv` for an entry of a zip.
        file: String,
        /// Where the damage was found: the line (DBN: record) reading stopped at.
        line: u64,
        /// What is wrong.
        reason: String,
        /// Rows read before it.
        rows_read: u64,
    },
    /// The input's bytes changed while it was imported (a file still being written): nothing
    /// of it was stored.
    #[error("{file}: the file changed while it was imported (it is still being written, or was replaced); nothing of it was stored — import it once it is complete")]
    InputChanged {
        /// The file.
        file: String,
    },
    /// More of the input's rows were rejected (or refused by the integrity checks) than
    /// [`ImportOptions::max_reject_share`](strata_import::ImportOptions::max_reject_share)
    /// allows: the import was rolled back — nothing of it stored, nothing recorded as imported —
    /// so that the corrected input imports whole. `import` holds its receipt (the counts by
    /// reason, with a first example of each).
    #[error("{}: {:.2}% of it was rejected ({} rows of {} rejected, {} events of {} refused), more than the limit {:.2}%; nothing of it was stored — correct the input (its receipt gives each reason with a first example) or raise --max-reject-rate", import.file, share * 100.0, import.summary.rejected, import.summary.rows, import.refused, import.summary.events(), limit * 100.0)]
    TooManyRejected {
        /// What the import read and would have stored.
        import: Box<crate::archive::FileImport>,
        /// The share not stored ([`FileImport::reject_share`](crate::archive::FileImport::reject_share)).
        share: f64,
        /// The limit.
        limit: f64,
    },
    /// The import was stopped (a signal) before the input was read to its end: rolled back.
    #[error(
        "stopped before the input was read to its end; nothing of it was stored (run it again)"
    )]
    Stopped,
    /// `init` would overwrite an existing config.
    #[error("{path} already exists; pass --force to overwrite it")]
    AlreadyInitialized {
        /// The existing config file.
        path: std::path::PathBuf,
    },
}

/// The facade's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// [`Error::TierBackend`] for `tier`'s `url`, with the backend's reason; an unregistered
    /// scheme also says where a scheme of one's own is registered.
    pub(crate) fn tier_backend(
        tier: strata_core::policy::TierName,
        url: &str,
        source: &strata_backend::Error,
    ) -> Error {
        let reason = match source {
            strata_backend::Error::UnsupportedScheme {
                scheme, registered, ..
            } => format!(
                "no backend is registered for `{scheme}://` (registered: {}); a scheme of one's \
                 own is registered in code by the program that embeds strata \
                 (ArchiveBuilder::register_backend)",
                registered.join(", ")
            ),
            other => other.to_string(),
        };
        Error::TierBackend {
            key: format!("tiers.{tier}.backend"),
            url: url.to_string(),
            reason,
        }
    }
}
