//! SHA-256 checksums (INGEST-5, MAINT-1): of one file, and the `checksums.sha256` list each
//! data folder keeps in the format `sha256sum -c` checks.
//!
//! # The `checksums.sha256` format
//!
//! One line per sealed file: 64 lowercase hex digits, two spaces, the file name, `\n` — what
//! GNU `sha256sum` writes and `sha256sum -c checksums.sha256`, run inside the folder, checks.
//! Names with spaces and `%` (which layout escaping writes) need nothing special: everything
//! after the two spaces is the name.
//!
//! GNU `sha256sum` escapes names holding a newline or a backslash (a leading `\` on the line,
//! then `\n` and `\\` inside the name). strata's layouts never produce such names (escaping
//! writes `\` as `%5C` and control characters as `%0A` …), so [`append_checksum_line`] refuses
//! them (and names holding `/` or a carriage return) instead of escaping;
//! [`verify_checksums`] still reads escaped lines other tools wrote.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::{fsio, Error, Result};

/// The checksum list in every data folder.
pub const CHECKSUMS_FILE: &str = "checksums.sha256";

/// The list beside Parquet files: named with `_` so that tools reading the folder as a Parquet
/// dataset (pyarrow, Spark) skip it; `sha256sum -c _checksums.sha256` checks it the same way.
pub const PARQUET_CHECKSUMS_FILE: &str = "_checksums.sha256";

/// The list a data file's line goes to: [`PARQUET_CHECKSUMS_FILE`] for a Parquet file, else
/// [`CHECKSUMS_FILE`].
pub fn checksums_file_for(file_name: &str) -> &'static str {
    if file_name.ends_with(".parquet") {
        PARQUET_CHECKSUMS_FILE
    } else {
        CHECKSUMS_FILE
    }
}

/// Serializes read-check-write of checksum lists within this process, so two writers sealing
/// files in one folder at once cannot lose each other's lines.
static CHECKSUM_LIST_LOCK: Mutex<()> = Mutex::new(());

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Passes bytes on to `W` while taking their SHA-256 and length, so a file's checksum is known
/// once it is written, without reading it again.
#[derive(Debug)]
pub struct Sha256Writer<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W> Sha256Writer<W> {
    /// Hashes what goes to `inner`.
    pub fn new(inner: W) -> Self {
        Sha256Writer {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// The writer underneath, the SHA-256 (lowercase hex) of every byte it took and their count.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.len)
    }
}

impl<W: io::Write> io::Write for Sha256Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 of the file at `path`, lowercase hex, read in 64 KiB blocks (the file is never held
/// in memory whole).
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Checks that the file at `path` has SHA-256 `expected`; [`Error::ChecksumMismatch`] if not.
pub fn verify_sha256(path: &Path, expected: &str) -> Result<()> {
    let actual = sha256_file(path)?;
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(Error::ChecksumMismatch {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual,
        })
    }
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One entry of a checksum list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    sha256: String,
    name: String,
}

/// Parses one line of a checksum list in GNU `sha256sum` format.
fn parse_line(line: &str) -> Result<Entry, String> {
    let (escaped, line) = match line.strip_prefix('\\') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let (hash, rest) = match (line.get(..64), line.get(64..)) {
        (Some(hash), Some(rest)) if is_sha256_hex(hash) => (hash, rest),
        _ => return Err("the line does not start with 64 hex digits".to_string()),
    };
    let name = rest
        .strip_prefix("  ")
        .or_else(|| rest.strip_prefix(" *"))
        .ok_or("the checksum must be followed by two spaces (or a space and `*`) and the name")?;
    if name.is_empty() {
        return Err("the file name is empty".to_string());
    }
    let name = if escaped {
        unescape_name(name)?
    } else {
        name.to_string()
    };
    Ok(Entry {
        sha256: hash.to_ascii_lowercase(),
        name,
    })
}

/// Undoes GNU `sha256sum`'s escaping of names (`\\` → `\`, `\n` → newline, `\r` → CR).
fn unescape_name(name: &str) -> Result<String, String> {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            other => {
                return Err(format!(
                    "unknown escape `\\{}` in the file name",
                    other.map(String::from).unwrap_or_default()
                ))
            }
        }
    }
    Ok(out)
}

/// Removes `file_name`'s line from `<folder>/checksums.sha256` (a file migrated or deleted), so
/// `sha256sum -c` checks only what is there; the list is rewritten atomically. `false` when the
/// name was not listed (a removal retried after a crash). The list itself is removed when its
/// last line goes.
pub fn remove_checksum_line(folder: &Path, file_name: &str) -> Result<bool> {
    let removed = remove_from_list(folder, checksums_file_for(file_name), file_name)?;
    // A Parquet file of an earlier build is listed in `checksums.sha256`.
    if checksums_file_for(file_name) != CHECKSUMS_FILE {
        return Ok(remove_from_list(folder, CHECKSUMS_FILE, file_name)? || removed);
    }
    Ok(removed)
}

fn remove_from_list(folder: &Path, list_name: &str, file_name: &str) -> Result<bool> {
    let list = folder.join(list_name);
    let _guard = CHECKSUM_LIST_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let existing = match std::fs::read(&list) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(&list, e)),
    };
    let text = String::from_utf8_lossy(&existing);
    let mut removed = false;
    let mut rewritten = String::with_capacity(text.len());
    for old in text.lines() {
        match parse_line(old) {
            Ok(entry) if entry.name == file_name => removed = true,
            _ => {
                rewritten.push_str(old);
                rewritten.push('\n');
            }
        }
    }
    if !removed {
        return Ok(false);
    }
    if rewritten.is_empty() {
        std::fs::remove_file(&list).map_err(|e| Error::io(&list, e))?;
        crate::fsio::sync_dir(folder)?;
    } else {
        crate::fsio::write_atomic(&list, rewritten.as_bytes())?;
    }
    Ok(true)
}

/// Records `sha256` for `file_name` in `<folder>/checksums.sha256` and fsyncs it.
///
/// - A new name is appended as one line, `"{sha256}  {file_name}\n"`, in a single write.
/// - The same name with the same checksum already listed: nothing changes, so a sealing step
///   that is retried after a crash does not duplicate its line.
/// - The same name with another checksum (a file sealed again, e.g. by recovery): that line is
///   replaced (the list is rewritten atomically), so `sha256sum -c` checks the file as it is
///   now.
///
/// `file_name` must be a plain name (no `/`), without newline, carriage return or backslash
/// (see the [module docs](self)); `sha256` must be 64 hex digits (written lowercase).
pub fn append_checksum_line(folder: &Path, file_name: &str, sha256: &str) -> Result<()> {
    let list = folder.join(checksums_file_for(file_name));
    let refuse = |reason: &str| Error::ChecksumEntry {
        file: list.clone(),
        file_name: file_name.to_string(),
        reason: reason.to_string(),
    };
    if file_name.is_empty() || file_name == "." || file_name == ".." {
        return Err(refuse("the file name is empty, `.` or `..`"));
    }
    if file_name.contains(['/', '\n', '\r', '\\']) {
        return Err(refuse(
            "names with `/`, a newline, a carriage return or a backslash are not written \
             (strata's layouts never produce them; sha256sum would need its escaped form)",
        ));
    }
    if !is_sha256_hex(sha256) {
        return Err(refuse("the checksum is not 64 hex digits"));
    }
    let sha256 = sha256.to_ascii_lowercase();
    let line = format!("{sha256}  {file_name}\n");
    // The list is strata's own file: a symlink in its place (which would make this append to a
    // file anywhere) is refused, never followed.
    if std::fs::symlink_metadata(&list).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(refuse(
            "it is a symbolic link; strata does not follow links inside an archive (replace it with the real list)",
        ));
    }

    // A poisoned lock only means another thread panicked while holding it; the list on disk
    // is consistent (every change is an append or an atomic rename), so carry on.
    let _guard = CHECKSUM_LIST_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let existing = match std::fs::read(&list) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(&list, e)),
    };
    let text = String::from_utf8_lossy(&existing);
    let mut replaced = false;
    let mut rewritten = String::with_capacity(text.len() + line.len());
    for old in text.lines() {
        match parse_line(old) {
            Ok(entry) if entry.name == file_name => {
                if entry.sha256 == sha256 {
                    return Ok(());
                }
                if !replaced {
                    rewritten.push_str(&line);
                    replaced = true;
                }
            }
            _ => {
                rewritten.push_str(old);
                rewritten.push('\n');
            }
        }
    }
    if replaced {
        return fsio::write_atomic(&list, rewritten.as_bytes());
    }
    // A list whose last line was cut short (a crash mid-append) gets a newline first, so the
    // new entry starts a line of its own.
    let mut bytes = Vec::with_capacity(line.len() + 1);
    if existing.last().is_some_and(|&b| b != b'\n') {
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(line.as_bytes());
    fsio::append_durably(&list, &bytes)
}

/// What checking one line of a checksum list found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChecksumStatus {
    /// The file has the listed checksum.
    Ok,
    /// The file's bytes have another checksum.
    Mismatch {
        /// The checksum of the file now.
        actual: String,
    },
    /// The file does not exist.
    Missing,
    /// The file exists but cannot be read.
    Unreadable {
        /// The error.
        error: String,
    },
    /// The line is not a `sha256sum` line.
    Malformed {
        /// Why.
        reason: String,
    },
}

/// The result of checking one line of a checksum list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumResult {
    /// Line number in `checksums.sha256`, from 1.
    pub line: usize,
    /// The file name on the line (for a malformed line: the line itself).
    pub file_name: String,
    /// The checksum on the line, lowercase (empty for a malformed line).
    pub expected: String,
    /// What was found.
    pub status: ChecksumStatus,
}

impl ChecksumResult {
    /// True when the file has the listed checksum.
    pub fn is_ok(&self) -> bool {
        self.status == ChecksumStatus::Ok
    }
}

/// Checks every line of `<folder>/checksums.sha256` and `<folder>/_checksums.sha256` (Parquet
/// files) against the files in `folder`: ok, mismatch, missing, unreadable or malformed, one
/// [`ChecksumResult`] per non-empty line, in file order. A folder with neither list is an
/// [`Error::Io`] (a folder of sealed files always has one).
pub fn verify_checksums(folder: &Path) -> Result<Vec<ChecksumResult>> {
    let lists: Vec<PathBuf> = [CHECKSUMS_FILE, PARQUET_CHECKSUMS_FILE]
        .iter()
        .map(|name| folder.join(name))
        .filter(|list| list.exists())
        .collect();
    if lists.is_empty() {
        let list = folder.join(CHECKSUMS_FILE);
        return Err(Error::io(
            &list,
            io::Error::new(io::ErrorKind::NotFound, "no checksums list in the folder"),
        ));
    }
    let mut results = Vec::new();
    for list in lists {
        results.extend(verify_list(folder, &list)?);
    }
    Ok(results)
}

fn verify_list(folder: &Path, list: &Path) -> Result<Vec<ChecksumResult>> {
    let bytes = std::fs::read(list).map_err(|e| Error::io(list, e))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut results = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let result = match parse_line(line) {
            Ok(entry) => {
                let path: PathBuf = folder.join(&entry.name);
                let status = match sha256_file(&path) {
                    Ok(actual) if actual == entry.sha256 => ChecksumStatus::Ok,
                    Ok(actual) => ChecksumStatus::Mismatch { actual },
                    Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                        ChecksumStatus::Missing
                    }
                    Err(e) => ChecksumStatus::Unreadable {
                        error: e.to_string(),
                    },
                };
                ChecksumResult {
                    line: index + 1,
                    file_name: entry.name,
                    expected: entry.sha256,
                    status,
                }
            }
            Err(reason) => ChecksumResult {
                line: index + 1,
                file_name: line.to_string(),
                expected: String::new(),
                status: ChecksumStatus::Malformed { reason },
            },
        };
        results.push(result);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashing_writer_gives_the_digest_of_what_went_through_it() {
        use std::io::Write as _;
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for chunk in [1, 7, 4096, 100_000] {
            let mut w = Sha256Writer::new(Vec::new());
            for part in bytes.chunks(chunk) {
                w.write_all(part).unwrap();
            }
            w.flush().unwrap();
            let (out, sha, len) = w.finish();
            assert_eq!(out, bytes);
            assert_eq!(sha, sha256_bytes(&bytes));
            assert_eq!(len, bytes.len() as u64);
        }
    }

    #[test]
    fn known_digests() {
        assert_eq!(
            sha256_bytes(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_symlinked_checksum_list_is_refused_and_its_target_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.txt");
        std::fs::write(&outside, "keep me\n").unwrap();
        let folder = dir.path().join("hot");
        std::fs::create_dir_all(&folder).unwrap();
        std::os::unix::fs::symlink(&outside, folder.join(CHECKSUMS_FILE)).unwrap();
        let err = append_checksum_line(&folder, "a.jsonl", &"a".repeat(64)).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me\n");
    }

    #[test]
    fn streaming_equals_one_shot_across_block_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let path = dir.path().join("big.bin");
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(sha256_file(&path).unwrap(), sha256_bytes(&bytes));
        verify_sha256(&path, &sha256_bytes(&bytes)).unwrap();
        let err = verify_sha256(&path, &sha256_bytes(b"other")).unwrap_err();
        assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err}");
        assert!(err.to_string().contains("big.bin"));
    }

    #[test]
    fn parses_gnu_lines_including_escaped_names() {
        let h = "a".repeat(64);
        assert_eq!(
            parse_line(&format!("{h}  a b%20.jsonl")).unwrap().name,
            "a b%20.jsonl"
        );
        assert_eq!(
            parse_line(&format!("{h} *bin.dat")).unwrap().name,
            "bin.dat"
        );
        assert_eq!(
            parse_line(&format!("\\{h}  x\\ny\\\\z")).unwrap().name,
            "x\ny\\z"
        );
        assert!(parse_line(&format!("{h} x")).is_err());
        assert!(parse_line("SHA256 (x) = abc").is_err());
        assert!(parse_line(&format!("{h}  ")).is_err());
    }

    #[test]
    fn refuses_names_sha256sum_would_escape() {
        let dir = tempfile::tempdir().unwrap();
        let h = "0".repeat(64);
        for bad in ["a\nb", "a\\b", "a/b", "", "..", "a\rb"] {
            let err = append_checksum_line(dir.path(), bad, &h).unwrap_err();
            assert!(matches!(err, Error::ChecksumEntry { .. }), "{bad:?}: {err}");
        }
        assert!(append_checksum_line(dir.path(), "x", "nothex").is_err());
    }

    #[test]
    fn append_is_idempotent_and_replaces_a_changed_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        append_checksum_line(dir.path(), "one.jsonl", &a).unwrap();
        append_checksum_line(dir.path(), "two.jsonl", &a).unwrap();
        append_checksum_line(dir.path(), "one.jsonl", &a).unwrap();
        let list = dir.path().join(CHECKSUMS_FILE);
        assert_eq!(
            std::fs::read_to_string(&list).unwrap(),
            format!("{a}  one.jsonl\n{a}  two.jsonl\n")
        );
        append_checksum_line(dir.path(), "one.jsonl", &b).unwrap();
        assert_eq!(
            std::fs::read_to_string(&list).unwrap(),
            format!("{b}  one.jsonl\n{a}  two.jsonl\n")
        );
    }

    #[test]
    fn a_torn_last_line_does_not_swallow_the_next_entry() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join(CHECKSUMS_FILE);
        std::fs::write(&list, "abc").unwrap();
        let h = "c".repeat(64);
        append_checksum_line(dir.path(), "x.jsonl", &h).unwrap();
        let results = verify_checksums(dir.path()).unwrap();
        assert!(matches!(
            results[0].status,
            ChecksumStatus::Malformed { .. }
        ));
        assert_eq!(results[1].file_name, "x.jsonl");
        assert_eq!(results[1].status, ChecksumStatus::Missing);
    }
}
