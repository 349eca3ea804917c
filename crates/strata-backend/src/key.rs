//! Object keys: what is accepted, and how a key maps onto an `object_store` path.
//!
//! A key is a `/`-separated relative path such as `cold/AAPL/trade/2024-01-15.parquet`.
//! Every backend accepts exactly the same keys, so data can move between tiers on different
//! backends without renaming. The rules:
//!
//! - not empty, at most [`MAX_KEY_LEN`] bytes;
//! - relative: no leading `/`, no trailing `/`, no empty segment (`a//b`);
//! - no `.` or `..` segment (nothing can address outside the backend's root or prefix);
//! - no ASCII control character and no `\` (a path separator on Windows);
//! - the last segment must not end in `#` followed only by digits (`x#12`): the `file://`
//!   backend names its in-flight files that way;
//! - the first segment must not be [`STAGING_DIR`], where create-only uploads are staged.
//!
//! Anything else is allowed and stored verbatim: spaces, `%`, `=`, `+`, `~`, unicode. A key
//! is never percent-decoded or re-encoded on the way in or out, so what [`list`] returns is
//! byte-for-byte what was put.
//!
//! [`list`]: crate::BackendExt::list

use object_store::path::Path;

use crate::error::{Error, Result};

/// The longest key accepted, in bytes (S3's limit, applied to every backend).
pub const MAX_KEY_LEN: usize = 1024;

/// First segment reserved for staged create-only uploads; hidden from listings.
pub const STAGING_DIR: &str = ".strata-staging";

/// Checks `key` against the rules in the [module documentation](self).
///
/// ```
/// use strata_backend::key::validate_key;
/// assert!(validate_key("AAPL/trade/2024-01-15 (a+b=c) ~ü%.jsonl").is_ok());
/// assert!(validate_key("a/../b").is_err());
/// assert!(validate_key("/absolute").is_err());
/// ```
pub fn validate_key(key: &str) -> Result<()> {
    check(key, Use::Object).map_err(|reason| Error::InvalidKey {
        key: key.to_owned(),
        reason,
    })
}

/// What a checked string will name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    /// An object: every rule applies.
    Object,
    /// A directory-like list prefix: its last segment may end in `#<digits>`.
    Prefix,
}

/// Returns the first rule `key` breaks.
fn check(key: &str, usage: Use) -> Result<(), &'static str> {
    if key.is_empty() {
        return Err("a key must not be empty");
    }
    if key.len() > MAX_KEY_LEN {
        return Err("a key must be at most 1024 bytes long");
    }
    if key.starts_with('/') {
        return Err("a key is relative to the backend's root and must not start with `/`");
    }
    if key.ends_with('/') {
        return Err("a key must not end with `/`");
    }
    if key.chars().any(|c| c.is_ascii_control()) {
        return Err("a key must not contain ASCII control characters");
    }
    if key.contains('\\') {
        return Err("a key must not contain `\\` (a path separator on Windows)");
    }
    if key.contains(':') {
        // object_store's local store resolves a name ending in `:` as a URL scheme and fails
        // (`p/a:` → NotADirectory), and Windows forbids `:` in file names. strata's layouts
        // percent-encode `:`, so only hand-made keys meet this rule.
        return Err("a key must not contain `:` (not portable to local file systems)");
    }
    let mut segments = key.split('/').enumerate().peekable();
    while let Some((index, segment)) = segments.next() {
        if segment.is_empty() {
            return Err("a key must not contain an empty segment (`//`)");
        }
        if segment == "." || segment == ".." {
            return Err("a key must not contain a `.` or `..` segment");
        }
        if index == 0 && segment == STAGING_DIR {
            return Err("keys under `.strata-staging/` are reserved for in-flight uploads");
        }
        let last = segments.peek().is_none();
        if last && usage == Use::Object && has_staging_suffix(segment) {
            return Err(
                "a key must not end in `#` followed by digits (reserved for in-flight files)",
            );
        }
    }
    Ok(())
}

/// True if `segment` ends in `#` followed by one or more digits only.
fn has_staging_suffix(segment: &str) -> bool {
    match segment.rsplit_once('#') {
        Some((_, suffix)) => !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// Validates `key` and returns the `object_store` path storing it verbatim.
pub(crate) fn key_to_path(key: &str) -> Result<Path> {
    validate_key(key)?;
    parse(key, key)
}

/// Validates a list prefix: empty (everything) or a key, optionally with one trailing `/`.
pub(crate) fn prefix_to_path(prefix: &str) -> Result<Option<Path>> {
    if prefix.is_empty() {
        return Ok(None);
    }
    let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
    check(trimmed, Use::Prefix).map_err(|reason| Error::InvalidKey {
        key: prefix.to_owned(),
        reason,
    })?;
    parse(trimmed, prefix).map(Some)
}

/// `Path::parse` keeps the string as is (no percent-encoding); its rules (no empty or
/// relative segments, no control characters) are a subset of [`check`]'s, so it only fails
/// if the two ever drift apart.
fn parse(checked: &str, given: &str) -> Result<Path> {
    Path::parse(checked).map_err(|_| Error::InvalidKey {
        key: given.to_owned(),
        reason: "not a valid object path",
    })
}

/// Turns a listed `object_store` path back into a key, or `None` for staging objects.
pub(crate) fn path_to_key(path: &Path) -> Option<String> {
    let raw: &str = path.as_ref();
    let first = raw.split('/').next().unwrap_or(raw);
    if first == STAGING_DIR {
        None
    } else {
        Some(raw.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reason(key: &str) -> &'static str {
        match validate_key(key) {
            Err(Error::InvalidKey { reason, .. }) => reason,
            other => panic!("expected InvalidKey for {key:?}, got {other:?}"),
        }
    }

    #[test]
    fn rejects_each_broken_rule_with_a_reason() {
        assert!(reason("").contains("empty"));
        assert!(reason("/a").contains("start with `/`"));
        assert!(reason("a/").contains("end with `/`"));
        assert!(reason("a//b").contains("empty segment"));
        assert!(reason("a/./b").contains("`.` or `..`"));
        assert!(reason("..").contains("`.` or `..`"));
        assert!(reason("a/..").contains("`.` or `..`"));
        assert!(reason("a\nb").contains("control"));
        assert!(reason("a\\b").contains("Windows"));
        assert!(reason("a/file#12").contains("in-flight"));
        assert!(reason(".strata-staging/x").contains("reserved"));
        assert!(reason(&"k".repeat(MAX_KEY_LEN + 1)).contains("1024"));
    }

    #[test]
    fn accepts_unusual_but_harmless_characters() {
        for key in [
            "a b/c d",
            "100%/x%2Fy",
            "k=v/a+b",
            "~user/ü/日本/ñ.json",
            "a#b",
            "a#12/b",
            "a#",
            "x/.strata-staging",
            "...",
            ".hidden",
        ] {
            validate_key(key).unwrap_or_else(|e| panic!("{key:?} rejected: {e}"));
            assert_eq!(key_to_path(key).unwrap().as_ref(), key, "stored verbatim");
        }
    }

    #[test]
    fn prefixes_allow_empty_and_one_trailing_slash() {
        assert_eq!(prefix_to_path("").unwrap(), None);
        assert_eq!(prefix_to_path("a/b/").unwrap().unwrap().as_ref(), "a/b");
        assert_eq!(prefix_to_path("a/b").unwrap().unwrap().as_ref(), "a/b");
        assert_eq!(
            prefix_to_path("dir#12").unwrap().unwrap().as_ref(),
            "dir#12"
        );
        assert!(prefix_to_path("/").is_err());
        assert!(prefix_to_path("a//").is_err());
        assert!(prefix_to_path("../x").is_err());
    }

    #[test]
    fn staging_objects_are_hidden_from_listings() {
        assert_eq!(
            path_to_key(&Path::parse(".strata-staging/u1").unwrap()),
            None
        );
        assert_eq!(
            path_to_key(&Path::parse("a/.strata-staging").unwrap()).as_deref(),
            Some("a/.strata-staging")
        );
    }

    proptest! {
        /// Any accepted key maps to an object_store path with exactly the same text.
        #[test]
        fn accepted_keys_are_stored_verbatim(key in "[a-zA-Z0-9 %=+~#.ü日/_-]{1,40}") {
            if validate_key(&key).is_ok() {
                let path = key_to_path(&key).unwrap();
                prop_assert_eq!(path.as_ref(), key.as_str());
                prop_assert_eq!(path_to_key(&path), Some(key.clone()));
            }
        }
    }
}
