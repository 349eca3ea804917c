//! Sealing a hot segment (INGEST-5).
//!
//! The steps are ordered so that a crash at any point leaves a state recovery can finish:
//!
//! 1. fsync the plain segment;
//! 2. read it once: the bytes read must be exactly the bytes the writer handed to the OS (same
//!    length and XXH3 as the [`ContentCheck`] taken while writing, else nothing is sealed).
//!    Uncompressed, the SHA-256 is taken from that one read. Compressing, the read feeds the
//!    encoder into a temp file, whose SHA-256 and XXH3 are taken as it is written; fsync, rename
//!    to `NAME.jsonl.EXT`, fsync the folder ([`strata_catalog::fsio::write_atomic_with`]), then
//!    re-read the (small) compressed file and compare its XXH3 (a temp file a crash left,
//!    `.tmp-strata-<pid>-<n>`, is deleted by recovery; a compressed file without a sidecar is an
//!    unfinished seal and is redone from the plain segment);
//! 3. write the sidecar manifest `FILE.manifest.json` atomically — from here the file is sealed;
//! 4. add `SHA256  FILE` to the folder's `checksums.sha256` (once);
//! 5. register the manifest in the catalog index;
//! 6. if compressed, delete the plain segment and fsync the folder.
//!
//! A failure before step 3 leaves nothing that says "sealed" (a compressed copy that failed its
//! check is deleted). A failure in steps 4–6 does not undo the seal: the other steps still run,
//! [`Sealed::unfinished`] says what is missing, and recovery finishes it on the next open.
//!
//! Each file is SHA-256-hashed once. The writer seals on a background thread (one per writer),
//! so the appending threads never wait for a seal.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use strata_catalog::{Catalog, FileManifest, StatsAccumulator};
use strata_codec::{CodecSpec, Encoder};
use strata_core::config::Config;
use strata_core::layout::PartitionKey;
use strata_core::policy::{FileFormat, TierName};
use strata_model::Timestamp;
use xxhash_rust::xxh3::Xxh3;

use crate::{io_err, Error, Result};

strata_model::named_enum! {
    /// Why a segment was sealed. [`as_str`](Self::as_str) is the name recorded in the manifest:
    /// `ALL` names exactly [`strata_catalog::seal_reason::ALL`], in the same order (a test checks).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum SealReason [what = "seal reason"] {
        /// Its stream moved on to the next partition (period or session).
        PartitionBoundary = "partition_boundary",
        /// It reached `storage.max_file_bytes`.
        Size = "size",
        /// It was open `storage.max_file_age_secs`.
        Age = "age",
        /// The writer was closed.
        Shutdown = "shutdown",
        /// It was left unsealed by a crash and sealed when the archive was opened again.
        Recovery = "recovery",
        /// The import that wrote it was committed.
        Import = "import",
    }
}

/// What sealing needs to know.
pub struct SealContext<'a> {
    /// Archive root.
    pub root: &'a Path,
    /// Codec for sealed files, when compression is on.
    pub compress: Option<CodecSpec>,
    /// Write sidecar manifests.
    pub manifests: bool,
    /// Maintain `checksums.sha256`.
    pub checksums: bool,
    /// The catalog to register in.
    pub catalog: &'a Catalog,
    /// The sealing session.
    pub session_id: &'a str,
}

/// How sealing stores a file: the `storage` settings it reads, and nothing else of the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealSettings {
    /// Codec for sealed files, when compression is on.
    pub compress: Option<CodecSpec>,
    /// Write sidecar manifests.
    pub manifests: bool,
    /// Maintain `checksums.sha256`.
    pub checksums: bool,
}

impl SealSettings {
    /// What `storage.compress`, `storage.codec`, `storage.manifests` and `storage.checksums` ask.
    pub fn from_config(config: &Config) -> Self {
        SealSettings {
            compress: (config.storage.compress && config.storage.codec != CodecSpec::None)
                .then_some(config.storage.codec),
            manifests: config.storage.manifests,
            checksums: config.storage.checksums,
        }
    }
}

impl<'a> SealContext<'a> {
    /// The context `settings` ask for.
    pub fn new(
        root: &'a Path,
        settings: &SealSettings,
        catalog: &'a Catalog,
        session_id: &'a str,
    ) -> Self {
        SealContext {
            root,
            compress: settings.compress,
            manifests: settings.manifests,
            checksums: settings.checksums,
            catalog,
            session_id,
        }
    }
}

/// The length and XXH3-64 of the bytes written to a plain segment, taken as they were written
/// (the writer) or validated (recovery). Sealing compares the stored file with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentCheck {
    /// Bytes.
    pub len: u64,
    /// XXH3-64 of those bytes.
    pub xxh3: u64,
}

impl ContentCheck {
    /// The check of `bytes`.
    pub fn of(bytes: &[u8]) -> ContentCheck {
        ContentCheck {
            len: bytes.len() as u64,
            xxh3: xxhash_rust::xxh3::xxh3_64(bytes),
        }
    }
}

impl std::fmt::Display for ContentCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes with XXH3 {:016x}", self.len, self.xxh3)
    }
}

/// A plain segment to seal, with what its writer knows of it.
pub struct SealJob {
    /// Absolute path of the plain segment.
    pub path: PathBuf,
    /// Its path relative to the archive root, '/' separated.
    pub rel: String,
    /// Its partition.
    pub partition: PartitionKey,
    /// Statistics of its events.
    pub stats: StatsAccumulator,
    /// What was written to it.
    pub content: ContentCheck,
    /// Why it is sealed.
    pub reason: SealReason,
}

/// A sealed file.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// Its manifest (also in the sidecar and the catalog).
    pub manifest: FileManifest,
    /// The stored file.
    pub path: PathBuf,
    /// Steps after the sidecar (the point from which the file counts as sealed) that failed,
    /// with the reason; the next open's recovery finishes them. Empty when all went well.
    pub unfinished: Vec<String>,
}

/// Passes bytes on while taking their SHA-256, XXH3 and length.
struct HashingWriter<W> {
    inner: W,
    sha256: Sha256,
    xxh3: Xxh3,
    len: u64,
}

impl<W> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            sha256: Sha256::new(),
            xxh3: Xxh3::new(),
            len: 0,
        }
    }
    fn check(&self) -> ContentCheck {
        ContentCheck {
            len: self.len,
            xxh3: self.xxh3.digest(),
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha256.update(&buf[..n]);
        self.xxh3.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// fsyncs a folder so a rename or a new entry in it is durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// The folder a file is in (`.` for a bare name).
pub(crate) fn parent_of(path: &Path) -> PathBuf {
    path.parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

const READ_CHUNK: usize = 256 * 1024;

/// Reads `path` to its end in chunks, handing each to `sink`; returns the length and XXH3 read.
fn read_through(
    path: &Path,
    file: &mut File,
    mut sink: impl FnMut(&[u8]) -> Result<()>,
) -> Result<ContentCheck> {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut xxh3 = Xxh3::new();
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        xxh3.update(&buf[..n]);
        len += n as u64;
        sink(&buf[..n])?;
    }
    Ok(ContentCheck {
        len,
        xxh3: xxh3.digest(),
    })
}

fn expect_content(path: &Path, expected: ContentCheck, actual: ContentCheck) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::Corrupt {
            path: path.to_path_buf(),
            expected,
            actual,
        })
    }
}

/// Seals one plain segment (the steps are in the module's documentation). The stored file is
/// verified against `job.content`; a mismatch is [`Error::Corrupt`] and nothing is sealed.
pub fn seal_file(ctx: &SealContext<'_>, job: SealJob) -> Result<Sealed> {
    let SealJob {
        path: plain,
        rel,
        partition,
        stats,
        content,
        reason,
    } = job;
    let folder = parent_of(&plain);
    let mut source = File::open(&plain).map_err(io_err(&plain))?;
    source.sync_all().map_err(io_err(&plain))?;
    let (stored, stored_rel, codec, sha256, size_bytes) = match ctx.compress {
        Some(codec) => {
            let stored = PathBuf::from(format!("{}{}", plain.display(), codec.extension()));
            // Compressed into a temp file that becomes `stored` only when the plain bytes read
            // were the writer's (a refused copy, like a crash's, leaves no `stored`).
            let (sha256, written) =
                strata_catalog::fsio::write_atomic_with(&stored, |file| -> Result<_> {
                    let mut encoder = Encoder::new(codec, HashingWriter::new(file))?;
                    let read = read_through(&plain, &mut source, |chunk| {
                        encoder.write_all(chunk).map_err(io_err(&stored))
                    })?;
                    let hashing = encoder.finish()?;
                    expect_content(&plain, content, read)?;
                    let check = hashing.check();
                    Ok((hashing.sha256, check))
                })?;
            let mut reread = File::open(&stored).map_err(io_err(&stored))?;
            let stored_check = read_through(&stored, &mut reread, |_| Ok(()))?;
            if let Err(e) = expect_content(&stored, written, stored_check) {
                // Not sealed: the compressed copy goes, the plain segment stays.
                std::fs::remove_file(&stored).map_err(io_err(&stored))?;
                sync_dir(&folder)?;
                return Err(e);
            }
            (
                stored,
                format!("{rel}{}", codec.extension()),
                codec,
                hex::encode(sha256.finalize()),
                written.len,
            )
        }
        None => {
            let mut hasher = Sha256::new();
            let read = read_through(&plain, &mut source, |chunk| {
                hasher.update(chunk);
                Ok(())
            })?;
            expect_content(&plain, content, read)?;
            (
                plain.clone(),
                rel,
                CodecSpec::None,
                hex::encode(hasher.finalize()),
                read.len,
            )
        }
    };
    let manifest = FileManifest {
        manifest_version: 1,
        path: stored_rel,
        tier: TierName::Hot,
        format: FileFormat::Jsonl,
        codec,
        size_bytes,
        sha256: sha256.clone(),
        partition,
        stats: stats.finish(),
        quality_score: None,
        lineage: Vec::new(),
        sealed_at: Timestamp::from_nanos(
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        ),
        session_id: Some(ctx.session_id.to_string()),
        sessions: Vec::new(),
        seal_reason: reason.as_str().to_string(),
    };
    if ctx.manifests {
        strata_catalog::write_sidecar(ctx.root, &manifest)?;
    }
    // From here the file is sealed. A later step that fails is noted and the others still run;
    // the next open's recovery finishes what is missing (checksum line, catalog row, removing
    // the plain segment).
    let mut unfinished = Vec::new();
    if ctx.checksums {
        let name = stored
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Err(e) = strata_catalog::append_checksum_line(&folder, &name, &sha256) {
            unfinished.push(format!("its checksum line: {e}"));
        }
    }
    if let Err(e) = ctx.catalog.register(&manifest) {
        unfinished.push(format!("its catalog entry: {e}"));
    }
    if stored != plain {
        if let Err(e) = std::fs::remove_file(&plain)
            .map_err(io_err(&plain))
            .and_then(|()| sync_dir(&folder))
        {
            unfinished.push(format!("removing its plain segment: {e}"));
        }
    }
    Ok(Sealed {
        manifest,
        path: stored,
        unfinished,
    })
}
