//! # strata — a durable, self-describing, tiered archive for market data
//!
//! The facade: it re-exports the crates below and wires them together.
//!
//! - [`model`] ([`strata_model`]): events, exact decimals, registries, the JSONL form.
//! - [`strata_core`], whose modules are re-exported here: [`layout`] (the `Naming` extension
//!   point and the built-in layouts), [`policy`] (integrity, quota, tier and seal-schedule
//!   extension points with their built-ins), [`profile`], [`config`], [`template`]. (Not as
//!   `core`, which would shadow the standard library's `core` for `use strata::*`.)
//! - [`codec`] ([`strata_codec`]): none / gzip / zstd / LZ4 codecs, sniffing, the codec advisor.
//! - [`backend`] ([`strata_backend`]): `file://`, `memory://` and (feature `s3`) `s3://` storage.
//! - [`catalog`] ([`strata_catalog`]): sidecar manifests, checksums, the SQLite index.
//! - [`import`] ([`strata_import`]): JSONL, CSV, Lean, DBN, Binance and Tardis.dev importers.
//! - [`ingest`] ([`strata_ingest`]): the hot-tier writer, recovery and sealing.
//! - [`columnar`] ([`strata_columnar`]): events ⇄ Parquet with exact decimals, JSONL → Parquet.
//! - [`lifecycle`] ([`strata_lifecycle`]): the lifecycle plan over an archive and its legal
//!   holds ([`archive::Archive::lifecycle_plan`], [`archive::Archive::holds`]).
//! - [`archive`]: an archive folder — init, config, and [`archive::Archive`], which opens it
//!   (with the built-in defaults when it has no config), hands out writers and imports files.
//! - [`builder`]: [`archive::Archive::builder`], a typed slot per extension point (EXT-3).
//! - [`service`]: [`service::AsyncWriter`], the tokio handle for services (EXT-4).
//! - [`cleanup`]: the quota cleanup a write over a `soft_limit` or `drop_oldest` quota starts
//!   (QUOTA-2), and [`archive::Archive::quota_cleanup`] to run it by hand.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let archive = strata::archive::init(dir.path(), strata::Profile::Research, false)?;
//! let config = strata::archive::load_config(&archive.config_path)?;
//! assert_eq!(config.profile, strata::Profile::Research);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod archive;
pub mod builder;
pub mod cleanup;
mod error;
pub mod service;

pub use error::{Error, Result};

pub use strata_backend as backend;
pub use strata_catalog as catalog;
pub use strata_codec as codec;
pub use strata_columnar as columnar;
pub use strata_core;
pub use strata_core::{config, extension, layout, policy, profile, template, Config, Profile};
pub use strata_import as import;
pub use strata_ingest as ingest;
pub use strata_lifecycle as lifecycle;
pub use strata_model as model;
pub use strata_query as query;
