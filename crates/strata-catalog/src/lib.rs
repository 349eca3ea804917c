//! # strata-catalog — the archive describes itself
//!
//! Every sealed data file gets a sidecar manifest beside it; sidecars are the truth (D-3), and
//! everything in `_catalog/` is derived from them and can be rebuilt (CAT-1, CAT-2, INGEST-5).
//!
//! - [`stats`]: [`StatsAccumulator`] → [`FileStats`]: event count, sequence and time ranges,
//!   events per hour and per (symbol, source, kind, date), and per-kind price range,
//!   open/close, volume, buy/sell volume, notional and VWAP in exact decimal arithmetic.
//! - [`manifest`]: [`FileManifest`], the sidecar `<data file>.manifest.json`:
//!   [`write_sidecar`] (atomic and durable), [`read_sidecar`], [`parse_manifest`],
//!   [`sidecar_path_for`].
//! - [`checksum`]: [`sha256_file`] (streaming) and the per-folder `checksums.sha256` that
//!   `sha256sum -c` accepts: [`append_checksum_line`], [`verify_checksums`].
//! - [`catalog`]: [`Catalog`], the `_catalog/` folder (registries, schemas, `manifest.jsonl`)
//!   and its SQLite index: [`Catalog::register`], [`Catalog::find`] by symbol, kind, source,
//!   tier and time, [`Catalog::coverage`], [`Catalog::totals`] by facet, [`Catalog::stats`],
//!   [`Catalog::rebuild`] from sidecars alone, and [`Catalog::dump`] to compare indexes.
//! - [`fsio`]: [`fsio::write_atomic`] and [`fsio::write_atomic_with`], the one temp-file, fsync,
//!   rename, fsync-of-the-folder write every whole-file replacement in strata uses; its temp
//!   names (`.tmp-strata-<pid>-<n>`) and [`fsio::remove_stale_temps`], which recovery runs.
//! - [`error`]: [`Error`], naming the path or index operation involved, and [`Result`].
//!
//! ```
//! use strata_catalog::{
//!     append_checksum_line, sha256_file, write_sidecar, Catalog, FileManifest, FileQuery,
//!     StatsAccumulator, MANIFEST_VERSION,
//! };
//! use strata_codec::CodecSpec;
//! use strata_core::layout::{Granularity, Layout, NamingConvention};
//! use strata_core::policy::{FileFormat, TierName};
//! use strata_model::{jsonl, Event, EventKind, Payload, Side, Timestamp, Trade};
//!
//! let root = tempfile::tempdir()?;
//! let catalog = Catalog::open(root.path())?;
//!
//! // The writer: events go to a file, and to the statistics, in file order.
//! let event = Event::new("nasdaq", "AAPL", "2024-01-15T14:30:00Z".parse()?, Payload::Trade(Trade {
//!     price: "185.10".parse()?,
//!     size: "100".parse()?,
//!     side: Some(Side::Buy),
//!     trade_id: None,
//!     conditions: None,
//! }));
//! let layout = Layout::new(NamingConvention::BySource, Granularity::Daily);
//! let key = layout.key_for_event(&event, None, Granularity::Daily);
//! let path = format!("hot/{}.jsonl", layout.render(&key)?);
//! let data = root.path().join(&path);
//! std::fs::create_dir_all(data.parent().unwrap())?;
//! std::fs::write(&data, jsonl::encode_line(&event)?)?;
//! let mut stats = StatsAccumulator::new();
//! stats.add(&event);
//!
//! // Sealing: checksum, sidecar, checksum list, index.
//! let sha256 = sha256_file(&data)?;
//! let manifest = FileManifest {
//!     manifest_version: MANIFEST_VERSION,
//!     path: path.clone(),
//!     tier: TierName::Hot,
//!     format: FileFormat::Jsonl,
//!     codec: CodecSpec::None,
//!     size_bytes: std::fs::metadata(&data)?.len(),
//!     sha256: sha256.clone(),
//!     partition: layout.project(&key),
//!     stats: stats.finish(),
//!     quality_score: None,
//!     lineage: vec![],
//!     sealed_at: Timestamp::from_nanos(1_705_363_200_000_000_000),
//!     session_id: None,
//!     sessions: vec![],
//!     seal_reason: "partition_boundary".into(),
//! };
//! write_sidecar(root.path(), &manifest)?;
//! append_checksum_line(data.parent().unwrap(), manifest.file_name(), &sha256)?;
//! catalog.register(&manifest)?;
//!
//! // Finding it again.
//! let found = catalog.find(&FileQuery::all().symbol("AAPL").kind(EventKind::Trade))?;
//! assert_eq!(found, vec![manifest]);
//! assert!(catalog.find(&FileQuery::all().symbol("MSFT"))?.is_empty());
//!
//! // The index is derived: rebuilt from the sidecars, it holds exactly the same rows.
//! let before = catalog.dump()?;
//! let report = catalog.rebuild(root.path())?;
//! assert!(report.problems.is_empty());
//! assert_eq!(catalog.dump()?, before);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod catalog;
pub mod checksum;
pub mod error;
pub mod fsio;
pub mod manifest;
pub mod stats;

pub use catalog::{
    Catalog, CatalogStats, CoverageRow, Facet, FacetTotal, FileQuery, RebuildProblem,
    RebuildReport, TierTotals, CATALOG_DIR, INDEX_FILE, MANIFEST_LIST_FILE, SOURCES_FILE,
    SYMBOLS_FILE,
};
pub use checksum::{
    append_checksum_line, checksums_file_for, remove_checksum_line, sha256_bytes, sha256_file,
    verify_checksums, verify_sha256, ChecksumResult, ChecksumStatus, Sha256Writer, CHECKSUMS_FILE,
    PARQUET_CHECKSUMS_FILE,
};
pub use error::{Error, ManifestError, Result};
pub use manifest::{
    encode_manifest, parse_manifest, read_sidecar, relative_archive_path, seal_reason,
    sidecar_path_for, validate_relative_path, write_sidecar, FileManifest, LineageEntry,
    SessionShare, MANIFEST_VERSION, RESERVED_ROOT_FOLDERS, SIDECAR_SUFFIX,
};
pub use stats::{FileStats, KindStats, SliceStats, StatsAccumulator, VWAP_SCALE};
