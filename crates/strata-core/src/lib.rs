//! # strata-core — policies as data, decisions as pure functions
//!
//! No I/O, no clocks, no threads: every function takes facts and returns a decision with its
//! reason, so property tests cover it cheaply and every automatic action can be explained.
//!
//! - [`layout`]: naming conventions, date granularity, multi-dimension partitioning, session
//!   split and adaptive granularity; partition key ↔ relative path (LAYOUT-1..5).
//! - [`policy`]: tiers, classification, retention, regulatory presets, quotas, integrity
//!   (TIER-1, POL-1..3, QUOTA-1..2, INGEST-4).
//! - [`profile`]: Research, LowLatency and Archival defaults (POL-5).
//! - [`config`]: the one config file, layered and validated with keyed errors (OPS-1).
//! - [`template`]: the commented default config `strata init` writes.
//! - `laws` (feature `laws`): the public test suites of the extension points (EXT-2) — naming,
//!   quota, integrity, seal schedule and tier policy.
//!
//! ```
//! use strata_core::config::{Config, ConfigFormat};
//! use strata_core::policy::{Classification, Placement, TierName};
//! use strata_model::EventKind;
//!
//! let config = Config::parse(
//!     "profile = \"archival\"\n[storage]\ncompress = false\n",
//!     ConfigFormat::Toml,
//!     "strata.toml",
//! )?;
//! assert!(!config.storage.compress, "a value the user wrote beats the profile");
//! assert!(config.sinks.parquet, "a key the user left out comes from the profile");
//! let (placement, why) = config.retention.place(EventKind::Trade, Classification::Standard, 40);
//! assert_eq!(placement, Placement::Tier(TierName::Cold));
//! assert_eq!(why, "retention.default: age 40d < hot+warm+cold 397d");
//! # Ok::<(), strata_core::config::ConfigError>(())
//! ```

pub mod config;
mod error;
pub mod extension;
#[cfg(feature = "laws")]
pub mod laws;
pub mod layout;
pub mod policy;
pub mod profile;
pub mod template;

pub use config::{Config, ConfigError, ConfigFormat};
pub use error::{Error, Result};
pub use profile::Profile;
