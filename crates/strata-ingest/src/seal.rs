//! Sealing a hot segment (INGEST-5).
//!
//! The steps are ordered so that a crash at any point leaves a state recovery can finish:
//!
//! 1. fsync the plain segment;
//! 2. if compressing: encode into `NAME.jsonl.EXT.tmp`, fsync, rename to `NAME.jsonl.EXT`, fsync
//!    the folder (a `.tmp` left behind is deleted by recovery; a compressed file without a
//!    sidecar is an unfinished seal and is redone from the plain segment);
//! 3. re-read the stored file and compare its SHA-256 with the hash taken while writing it
//!    (a mismatch is an error: nothing is recorded as sealed);
//! 4. write the sidecar manifest `FILE.manifest.json` atomically — from here the file is sealed;
//! 5. add `SHA256  FILE` to the folder's `checksums.sha256` (once);
//! 6. register the manifest in the catalog index;
//! 7. if compressed, delete the plain segment and fsync the folder.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use strata_catalog::{Catalog, FileManifest, FileStats};
use strata_codec::{CodecSpec, Encoder};
use strata_core::config::Config;
use strata_core::layout::PartitionKey;
use strata_core::policy::{FileFormat, TierName};
use strata_model::Timestamp;

use crate::{io_err, Error, Result};

/// Why a segment was sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealReason {
    /// Its stream moved on to the next partition (period or session).
    PartitionBoundary,
    /// It reached `storage.max_file_bytes`.
    Size,
    /// It was open `storage.max_file_age_secs`.
    Age,
    /// The writer was closed.
    Shutdown,
    /// It was left unsealed by a crash and sealed when the archive was opened again.
    Recovery,
}

impl SealReason {
    /// The name recorded in the manifest.
    pub const fn as_str(self) -> &'static str {
        match self {
            SealReason::PartitionBoundary => "partition_boundary",
            SealReason::Size => "size",
            SealReason::Age => "age",
            SealReason::Shutdown => "shutdown",
            SealReason::Recovery => "recovery",
        }
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

impl<'a> SealContext<'a> {
    /// The context the config asks for.
    pub fn new(root: &'a Path, config: &Config, catalog: &'a Catalog, session_id: &'a str) -> Self {
        let compress = (config.storage.compress && config.storage.codec != CodecSpec::None)
            .then_some(config.storage.codec);
        SealContext {
            root,
            compress,
            manifests: config.storage.manifests,
            checksums: config.storage.checksums,
            catalog,
            session_id,
        }
    }
}

/// A sealed file.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// Its manifest (also in the sidecar and the catalog).
    pub manifest: FileManifest,
    /// True when the stored bytes were re-read and matched the hash taken while writing.
    pub verified: bool,
    /// The stored file.
    pub path: PathBuf,
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
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

fn parent_of(path: &Path) -> PathBuf {
    path.parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Adds `SHA256  NAME` to the folder's `checksums.sha256` unless that exact line is there.
pub fn ensure_checksum_line(folder: &Path, name: &str, sha256: &str) -> Result<()> {
    let list = folder.join("checksums.sha256");
    let line = format!("{sha256}  {name}");
    if let Ok(text) = std::fs::read_to_string(&list) {
        if text.lines().any(|l| l == line) {
            return Ok(());
        }
    }
    strata_catalog::append_checksum_line(folder, name, sha256)?;
    Ok(())
}

/// Seals the plain segment at `plain` (relative path `rel`, '/' separated).
pub fn seal_file(
    ctx: &SealContext<'_>,
    plain: &Path,
    rel: &str,
    partition: PartitionKey,
    stats: FileStats,
    reason: SealReason,
) -> Result<Sealed> {
    let folder = parent_of(plain);
    File::open(plain)
        .and_then(|f| f.sync_all())
        .map_err(io_err(plain))?;
    let mut source = File::open(plain).map_err(io_err(plain))?;
    let (stored, stored_rel, codec, expected) = match ctx.compress {
        Some(codec) => {
            let stored = PathBuf::from(format!("{}{}", plain.display(), codec.extension()));
            let tmp = PathBuf::from(format!("{}.tmp", stored.display()));
            let file = File::create(&tmp).map_err(io_err(&tmp))?;
            let mut encoder = Encoder::new(
                codec,
                HashingWriter {
                    inner: file,
                    hasher: Sha256::new(),
                },
            )?;
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = source.read(&mut buf).map_err(io_err(plain))?;
                if n == 0 {
                    break;
                }
                encoder.write_all(&buf[..n]).map_err(io_err(&tmp))?;
            }
            let hashing = encoder.finish()?;
            hashing.inner.sync_all().map_err(io_err(&tmp))?;
            let expected = hex_digest(hashing.hasher);
            std::fs::rename(&tmp, &stored).map_err(io_err(&stored))?;
            sync_dir(&folder)?;
            (
                stored,
                format!("{rel}{}", codec.extension()),
                codec,
                expected,
            )
        }
        None => {
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = source.read(&mut buf).map_err(io_err(plain))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
            (
                plain.to_path_buf(),
                rel.to_string(),
                CodecSpec::None,
                hex_digest(hasher),
            )
        }
    };
    let actual = strata_catalog::sha256_file(&stored)?;
    if actual != expected {
        return Err(Error::Catalog(strata_catalog::Error::ChecksumMismatch {
            path: stored.clone(),
            expected,
            actual,
        }));
    }
    let size_bytes = std::fs::metadata(&stored).map_err(io_err(&stored))?.len();
    let manifest = FileManifest {
        manifest_version: 1,
        path: stored_rel,
        tier: TierName::Hot,
        format: FileFormat::Jsonl,
        codec,
        size_bytes,
        sha256: actual.clone(),
        partition,
        stats,
        quality_score: None,
        lineage: Vec::new(),
        sealed_at: Timestamp::from_nanos(
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        ),
        session_id: Some(ctx.session_id.to_string()),
        seal_reason: reason.as_str().to_string(),
    };
    if ctx.manifests {
        strata_catalog::write_sidecar(ctx.root, &manifest)?;
    }
    if ctx.checksums {
        let name = stored
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        ensure_checksum_line(&folder, &name, &actual)?;
    }
    ctx.catalog.register(&manifest)?;
    if stored != plain {
        std::fs::remove_file(plain).map_err(io_err(plain))?;
        sync_dir(&folder)?;
    }
    Ok(Sealed {
        manifest,
        verified: true,
        path: stored,
    })
}

fn hex_digest(hasher: Sha256) -> String {
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
