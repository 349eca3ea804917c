//! The one public error type of strata-backend.
//!
//! Each store (`object_store`'s local, in-memory and S3 stores, or a [`Backend`] of your own)
//! has its own detailed errors; they are mapped here into variants that say what went wrong
//! in the caller's terms, always with the key (relative to the backend's URL) the caller used.
//!
//! [`Backend`]: crate::Backend

use std::fmt;
use std::path::PathBuf;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An operation a write-once (WORM) backend refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WormOp {
    /// Replacing an existing object (a put, copy or upload onto an existing key).
    Overwrite,
    /// Deleting an object.
    Delete,
}

impl fmt::Display for WormOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WormOp::Overwrite => "overwrite",
            WormOp::Delete => "delete",
        })
    }
}

/// Everything that can go wrong in strata-backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No object is stored under `key`.
    #[error("object `{key}` not found")]
    NotFound {
        /// The key, relative to the backend's URL.
        key: String,
    },

    /// A create-only write found an object already stored under `key`; nothing was changed.
    #[error("object `{key}` already exists (create-only write refused, nothing changed)")]
    AlreadyExists {
        /// The key, relative to the backend's URL.
        key: String,
    },

    /// The backend is write-once (WORM) and the operation would change or remove an object.
    #[error("refusing to {op} object `{key}`: the backend is write-once (WORM)")]
    WormViolation {
        /// The key, relative to the backend's URL.
        key: String,
        /// What was refused.
        op: WormOp,
    },

    /// The key (or list prefix) is not acceptable; no I/O was attempted.
    #[error("invalid key `{key}`: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// Which rule it breaks.
        reason: &'static str,
    },

    /// A ranged read asked for bytes the object does not have.
    #[error("invalid range {start}..{end} of object `{key}`: {reason}")]
    InvalidRange {
        /// The key, relative to the backend's URL.
        key: String,
        /// First byte requested.
        start: u64,
        /// One past the last byte requested.
        end: u64,
        /// Why the range cannot be served.
        reason: String,
    },

    /// The backend URL could not be understood.
    #[error("invalid backend URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The backend URL names a scheme no factory is registered for.
    #[error(
        "unsupported backend URL scheme `{scheme}://` in `{url}`: registered: {} \
         (built in: file:///absolute/path, memory://, s3://bucket/prefix; add a scheme with \
         BackendRegistry::register)",
        scheme_list(registered)
    )]
    UnsupportedScheme {
        /// The URL as given.
        url: String,
        /// Its scheme.
        scheme: String,
        /// The schemes the registry knows, sorted.
        registered: Vec<String>,
    },

    /// A scheme given to [`BackendRegistry::register`](crate::BackendRegistry::register) is
    /// not a valid URL scheme.
    #[error("invalid backend URL scheme `{scheme}`: {reason}")]
    InvalidScheme {
        /// The scheme as given.
        scheme: String,
        /// Which rule it breaks.
        reason: &'static str,
    },

    /// The backend URL needs a cargo feature this build of strata-backend lacks.
    #[error(
        "backend URL `{url}` needs feature `{feature}` of strata-backend, which this build \
         lacks: enable it, e.g. `strata-backend = {{ version = \"*\", features = [\"{feature}\"] }}`"
    )]
    FeatureDisabled {
        /// The URL as given.
        url: String,
        /// The cargo feature to enable.
        feature: &'static str,
    },

    /// The backend's configuration was rejected (bad option, bad part size, …).
    #[error("invalid configuration for backend `{url}`: {reason}")]
    InvalidConfig {
        /// The backend URL being opened.
        url: String,
        /// What is wrong.
        reason: String,
    },

    /// A `file://` backend's folder could not be read or cleaned.
    #[error("{}: {source}", path.display())]
    LocalFolder {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The root directory of a `file://` backend could not be created.
    #[error("cannot create the root directory `{}` of a file:// backend: {source}", path.display())]
    CreateRoot {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The store cannot give the guarantee the operation asks for (a create-only write on an
    /// S3 server that ignores `If-None-Match: *`, for one); nothing was written.
    #[error("refusing to {op} `{key}` create-only on `{url}`: {missing}")]
    Unsupported {
        /// The operation (`put`, `copy`, `upload`).
        op: &'static str,
        /// The key, relative to the backend's URL.
        key: String,
        /// The backend's URL.
        url: String,
        /// The capability that is missing, what the server does instead, and what would work.
        missing: Box<crate::capabilities::Missing>,
    },

    /// A retention was asked of a store that has no S3 Object Lock; nothing was written.
    #[error("cannot keep `{key}` under retention on `{url}`: {why}")]
    NoObjectLock {
        /// The key, relative to the backend's URL.
        key: String,
        /// The backend's URL.
        url: String,
        /// What the store has instead.
        why: String,
    },

    /// A retention change would shorten or weaken the object's retention (ARCH-1:
    /// retention is extended, never shortened); nothing was changed.
    #[error(
        "refusing to shorten the retention of `{key}` ({current}): {why}; retention can be \
         extended, never shortened"
    )]
    RetentionShortening {
        /// The key, relative to the backend's URL.
        key: String,
        /// The object's retention now.
        current: crate::capabilities::Retention,
        /// Why the requested one is shorter or weaker.
        why: String,
    },

    /// The underlying store failed for another reason (I/O, network, permissions, …).
    #[error("{op} of `{key}` failed: {source}")]
    Store {
        /// The operation (`put`, `get`, `list`, …).
        op: &'static str,
        /// The key or prefix, relative to the backend's URL.
        key: String,
        /// The store's own error.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

/// `a, b, c`, or `none`.
fn scheme_list(schemes: &[String]) -> String {
    if schemes.is_empty() {
        "none".to_owned()
    } else {
        schemes.join(", ")
    }
}

impl Error {
    /// Maps an `object_store` error met while doing `op` on `key` into a semantic variant.
    pub(crate) fn from_store(op: &'static str, key: &str, err: object_store::Error) -> Self {
        match err {
            object_store::Error::NotFound { .. } => Error::NotFound {
                key: key.to_owned(),
            },
            object_store::Error::AlreadyExists { .. } => Error::AlreadyExists {
                key: key.to_owned(),
            },
            other => Error::Store {
                op,
                key: key.to_owned(),
                source: Box::new(other),
            },
        }
    }

    /// A [`Error::Store`] error with a plain message, for failures that have no underlying
    /// error (also for backends implemented outside this crate).
    pub fn store_msg(op: &'static str, key: &str, msg: impl Into<String>) -> Self {
        let msg: String = msg.into();
        Error::Store {
            op,
            key: key.to_owned(),
            source: msg.into(),
        }
    }

    /// True for [`Error::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// True for [`Error::AlreadyExists`].
    pub fn is_already_exists(&self) -> bool {
        matches!(self, Error::AlreadyExists { .. })
    }

    /// True for [`Error::Unsupported`]: the store cannot enforce what was asked.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Error::Unsupported { .. })
    }

    /// True for [`Error::WormViolation`].
    pub fn is_worm_violation(&self) -> bool {
        matches!(self, Error::WormViolation { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_maps_with_the_callers_key() {
        let err = object_store::Error::NotFound {
            path: "prefix/a/b".into(),
            source: "gone".into(),
        };
        let mapped = Error::from_store("get", "a/b", err);
        assert!(matches!(mapped, Error::NotFound { ref key } if key == "a/b"));
    }

    #[test]
    fn feature_disabled_message_names_the_feature_and_crate() {
        let msg = Error::FeatureDisabled {
            url: "s3://b/p".into(),
            feature: "s3",
        }
        .to_string();
        assert!(msg.contains("feature `s3` of strata-backend"), "{msg}");
    }

    #[test]
    fn other_store_errors_keep_their_source() {
        let err = object_store::Error::Generic {
            store: "test",
            source: "disk on fire".into(),
        };
        let mapped = Error::from_store("put", "k", err);
        assert!(mapped.to_string().contains("disk on fire"), "{mapped}");
        assert!(std::error::Error::source(&mapped).is_some());
    }
}
