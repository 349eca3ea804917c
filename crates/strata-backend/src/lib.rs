//! Where strata's bytes live: one async [`Backend`] over the [`object_store`] crate.
//!
//! Each tier names its backend by URL (BACKEND-1):
//!
//! | URL                   | Store                                  | Notes                       |
//! |-----------------------|----------------------------------------|-----------------------------|
//! | `file:///abs/path`    | a local directory (the default)        | created if missing; fsync   |
//! | `memory://`           | in-process memory                      | for tests; fresh per open   |
//! | `s3://bucket/prefix`  | S3 or an S3-compatible server          | cargo feature `s3`          |
//!
//! Keys are relative to the URL (see [`key`] for what a key may be) and round-trip exactly,
//! unusual characters included. Writes become visible atomically; create-only writes are
//! decided by the store; a [write-once view](Backend::write_once) refuses every overwrite
//! and delete (BACKEND-3). Every backend passes the same [`conformance`] suite (BACKEND-2).
//!
//! # Example
//!
//! ```
//! use strata_backend::{Backend, Error, PutOptions};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let backend = Backend::open("memory://")?;
//! backend.put("AAPL/trade/2024-01-15.jsonl", "{\"px\":\"187.44\"}\n").await?;
//!
//! let bytes = backend.get("AAPL/trade/2024-01-15.jsonl").await?;
//! assert_eq!(&bytes[..], b"{\"px\":\"187.44\"}\n");
//! assert_eq!(backend.list("AAPL").await?.len(), 1);
//!
//! // Create-only writes never replace an object.
//! let again = backend
//!     .put_opts("AAPL/trade/2024-01-15.jsonl", "other", PutOptions::create_only())
//!     .await;
//! assert!(matches!(again, Err(Error::AlreadyExists { .. })));
//!
//! // A write-once view refuses deletes.
//! let archive = backend.write_once();
//! assert!(archive.delete("AAPL/trade/2024-01-15.jsonl").await.unwrap_err().is_worm_violation());
//! # Ok::<(), Error>(())
//! # }).unwrap();
//! ```
//!
//! # Modules
//!
//! - [`backend`]: [`Backend`], opened from a URL with [`OpenOptions`]; put/get/list/delete/copy.
//! - [`upload`]: [`UploadWriter`], streaming multipart uploads of large objects.
//! - [`key`]: the key rules shared by every backend.
//! - [`s3`]: [`S3Options`] for `s3://` URLs (endpoint, region, credentials, addressing).
//! - [`error`]: the crate's [`Error`] and [`Result`].
//! - [`conformance`]: the scenarios every backend must pass, as public async functions.

pub mod backend;
pub mod conformance;
pub mod error;
pub mod key;
pub mod s3;
pub mod upload;

pub use backend::{
    Backend, BackendKind, Listing, ObjectMeta, OpenOptions, PutMode, PutOptions, DEFAULT_PART_SIZE,
    MIN_PART_SIZE,
};
pub use error::{Error, Result, WormOp};
pub use s3::{S3Addressing, S3Options};
pub use upload::{UploadSummary, UploadWriter};

/// The `object_store` version strata-backend is built on, for [`Backend::from_object_store`].
pub use object_store;
