//! Where strata's bytes live: the async [`Backend`] trait, its built-in stores over the
//! [`object_store`] crate, a registry of URL schemes, and the write-once decorator.
//!
//! A backend is anything that implements [`Backend`]'s primitives — `put_opts`, `get_opts`,
//! `head`, `list_stream`, `list_dir`, `delete`, `copy_opts`, `upload_opts`, plus its `url`,
//! `kind`, `is_worm` and `part_size` — with the promises its documentation lists (atomic
//! visibility, atomic create-only writes, idempotent delete, exact keys). The trait is object
//! safe: tiers hold an `Arc<dyn Backend>`. [`BackendExt`], implemented for every backend,
//! adds `put`, `get`, `get_range`, `exists`, `list`, `copy`, `copy_if_not_exists`, `upload`
//! and `write_once`; `use strata_backend::prelude::*` brings both traits in.
//!
//! Each tier names its backend by URL (BACKEND-1), opened through a [`BackendRegistry`]:
//!
//! | URL                   | Store                                  | Notes                       |
//! |-----------------------|----------------------------------------|-----------------------------|
//! | `file:///abs/path`    | a local directory (the default)        | created if missing; fsync   |
//! | `memory://`           | in-process memory                      | for tests; fresh per open   |
//! | `s3://bucket/prefix`  | S3 or an S3-compatible server          | cargo feature `s3`          |
//! | `yours://…`           | any [`Backend`] you write              | [`BackendRegistry::register`] |
//!
//! The three built-ins are [`ObjectStoreBackend`]s. Keys are relative to the URL (see [`key`]
//! for what a key may be) and round-trip exactly, unusual characters included. [`Worm`]
//! wraps any backend in a write-once view that refuses every overwrite and delete
//! (BACKEND-3); other decorators (throttling, encryption, metrics) are written the same way —
//! `examples/custom_backend.rs` in the repository is one. Every backend, built-in or not,
//! proves itself with the same conformance suite (BACKEND-2, EXT-2).
//!
//! # Example
//!
//! ```
//! use strata_backend::prelude::*;
//! use strata_backend::{Error, OpenOptions, PutOptions};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let backend = strata_backend::open("memory://")?; // an Arc<dyn Backend>
//! backend.put("AAPL/trade/2024-01-15.jsonl", "{\"px\":\"187.44\"}\n").await?;
//!
//! let bytes = backend.get("AAPL/trade/2024-01-15.jsonl").await?;
//! assert_eq!(&bytes[..], b"{\"px\":\"187.44\"}\n");
//! assert_eq!(backend.list("AAPL").await?.len(), 1);
//!
//! // Create-only writes never replace an object.
//! let again = backend
//!     .put_opts("AAPL/trade/2024-01-15.jsonl", "other".into(), PutOptions::create_only())
//!     .await;
//! assert!(matches!(again, Err(Error::AlreadyExists { .. })));
//!
//! // A write-once view refuses deletes.
//! let archive = backend.clone().write_once();
//! assert!(archive.delete("AAPL/trade/2024-01-15.jsonl").await.unwrap_err().is_worm_violation());
//!
//! // So does any backend opened write-once, whatever its scheme.
//! let sealed = OpenOptions::new().worm(true).open("memory://")?;
//! assert!(sealed.is_worm());
//! # Ok::<(), Error>(())
//! # }).unwrap();
//! ```
//!
//! # Modules
//!
//! - [`backend`](mod@backend): the [`Backend`] trait, [`BackendExt`], and the types they
//!   exchange ([`PutOptions`], [`GetOptions`], [`ObjectMeta`], [`Listing`]).
//! - [`registry`]: [`BackendRegistry`] (scheme → [`BackendFactory`]), [`OpenOptions`],
//!   [`open()`].
//! - [`store`]: [`ObjectStoreBackend`], the built-in stores over `object_store`.
//! - [`worm`]: [`Worm`], the write-once decorator.
//! - [`upload`]: [`UploadWriter`] (streaming multipart uploads) and the [`Upload`] trait
//!   behind it.
//! - [`key`]: the key rules shared by every backend.
//! - [`s3`]: [`S3Options`] for `s3://` URLs (endpoint, region, credentials, addressing).
//! - [`error`]: the crate's [`Error`] and [`Result`].
//! - `conformance` (cargo feature `conformance`): the scenarios every backend must pass, as
//!   public async functions over `&dyn Backend`.

pub mod backend;
pub mod capabilities;
#[cfg(feature = "conformance")]
pub mod conformance;
mod download;
pub mod error;
pub mod key;
pub mod multipart;
pub mod registry;
pub mod s3;
#[cfg(feature = "s3")]
mod s3_probe;
#[cfg(feature = "s3")]
mod s3_server;
pub mod store;
pub mod upload;
pub mod worm;

pub use backend::{
    Backend, BackendExt, BackendKind, GetOptions, Listing, ObjectMeta, PutMode, PutOptions,
    DEFAULT_MAX_CONCURRENT_PARTS, DEFAULT_MAX_CONCURRENT_READS, DEFAULT_PART_SIZE, MIN_PART_SIZE,
};
pub use capabilities::{
    Accepts, Capabilities, CapabilityRow, Missing, ObjectLock, Provenance, Retention,
    RetentionMode, Support,
};
pub use error::{Error, Result, WormOp};
pub use registry::{open, BackendFactory, BackendRegistry, OpenOptions};
pub use s3::{S3Addressing, S3Options};
pub use store::{ObjectStoreBackend, OBJECT_STORE_SCHEMES};
pub use upload::{Upload, UploadSummary, UploadWriter};
pub use worm::{local_file, Worm, WormBackend};

/// The attribute that writes [`Backend`] and [`Upload`] implementations (re-exported from
/// the `async-trait` crate, so implementors need not depend on it).
pub use async_trait::async_trait;
/// The byte buffer [`Backend`] methods take and return (from the `bytes` crate).
pub use bytes::Bytes;
/// The stream type of [`Backend::list_stream`] (from the `futures` crate).
pub use futures::stream::BoxStream;
/// The `object_store` version strata-backend is built on, for
/// [`ObjectStoreBackend::from_object_store`].
pub use object_store;
/// The `url` crate's URL type, which a [`BackendFactory`] receives parsed.
pub use url::Url;

/// The two traits, for `use strata_backend::prelude::*;`.
pub mod prelude {
    pub use crate::backend::{Backend, BackendExt};
}
