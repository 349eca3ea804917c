//! Sidecar manifests (CAT-1, INGEST-5): everything strata knows about one sealed data file,
//! written next to it as `<data file name>.manifest.json`.
//!
//! Sidecars are the truth (D-3): the catalog index is rebuilt from them alone
//! ([`Catalog::rebuild`](crate::Catalog::rebuild)).
//!
//! # Format and versions
//!
//! A sidecar is a pretty-printed JSON object, a [`FileManifest`]. Readers ignore fields they do
//! not know, so a newer build may add optional fields without changing
//! [`MANIFEST_VERSION`]; a different `manifest_version` marks an incompatible format and is
//! refused with [`ManifestError::Version`]. Paths inside a manifest are relative to the archive
//! root, `/`-separated, and can never point outside it (see [`validate_relative_path`]).

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use strata_codec::CodecSpec;
use strata_core::layout::PartitionKey;
use strata_core::policy::{FileFormat, TierName};
use strata_model::Timestamp;

use crate::stats::FileStats;
use crate::{fsio, Error, ManifestError, Result};

/// The manifest format version this build reads and writes.
pub const MANIFEST_VERSION: u32 = 1;

/// What a sidecar's file name adds to its data file's name.
pub const SIDECAR_SUFFIX: &str = ".manifest.json";

/// Top-level folders of the archive root that never hold data files: the catalog itself and
/// the quarantine. A rebuild does not look inside them, and no manifest path may start there.
pub const RESERVED_ROOT_FOLDERS: &[&str] = &["_catalog", "_quarantine", "_staging", "_lifecycle"];

/// Why a file was sealed: the values of [`FileManifest::seal_reason`] strata writes. Readers
/// accept any non-empty text, so a newer build may add reasons.
pub mod seal_reason {
    /// The event stream crossed into the next partition (a new day, hour, month or session).
    pub const PARTITION_BOUNDARY: &str = "partition_boundary";
    /// The file reached its size limit.
    pub const SIZE: &str = "size";
    /// The file reached its age limit.
    pub const AGE: &str = "age";
    /// The writer was shut down.
    pub const SHUTDOWN: &str = "shutdown";
    /// Recovery on open sealed a file left open by a crash.
    pub const RECOVERY: &str = "recovery";
    /// The import that wrote the file was committed (its staged files are sealed as it ends).
    pub const IMPORT: &str = "import";
    /// Every reason the writer gives (one per seal cause of `strata-ingest`); the lifecycle's
    /// are [`MIGRATE`] and [`CONSOLIDATE`].
    pub const ALL: &[&str] = &[PARTITION_BOUNDARY, SIZE, AGE, SHUTDOWN, RECOVERY, IMPORT];
    /// The lifecycle made the file by migrating one file to another tier.
    pub const MIGRATE: &str = "migrate";
    /// The lifecycle made the file by consolidating several files of one period (TIER-4).
    pub const CONSOLIDATE: &str = "consolidate";
}

/// One parent of a derived file (CAT-3): which file, with which checksum, and how it became
/// this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageEntry {
    /// The parent's path, relative to the archive root.
    pub parent_path: String,
    /// The parent's SHA-256 (lowercase hex) when it was read.
    pub parent_sha256: String,
    /// What made this file from it: `compress`, `convert`, `compact`, `consolidate`,
    /// `archive`, …
    pub operation: String,
}

/// The rows of one writer session in a file made from several sessions' files (SESSION-2): a
/// consolidation keeps which of its rows each session wrote, so that a session's events can be
/// read back from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionShare {
    /// The session (its id, as in [`FileManifest::session_id`]).
    pub id: String,
    /// How many of the file's events it wrote.
    pub events: u64,
    /// Its rows, as `[start, end)` ranges of row numbers in the file's stored order (Parquet:
    /// rows; JSONL: lines that are not blank, from 0), sorted and apart. In JSON, a list of
    /// pairs when there are few; else packed ([`packed_rows`]: sessions that interleave row by
    /// row would take some 30 bytes a row as pairs).
    #[serde(with = "packed_rows")]
    pub rows: Vec<[u64; 2]>,
}

/// [`SessionShare::rows`] in JSON: up to [`packed_rows::PLAIN_RUNS`] ranges as a list of
/// `[start, end]` pairs; more as the string `zstd-varint:<hex>` — the gap before each range and
/// its length as LEB128 varints, zstd-compressed, in hex. Either form is read.
pub mod packed_rows {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// The most ranges written as plain pairs.
    pub const PLAIN_RUNS: usize = 16;
    /// The prefix of the packed form.
    pub const PREFIX: &str = "zstd-varint:";
    /// The most bytes a packed form unpacks to: 64 MiB, at least 3 M ranges (two varints of at
    /// most 10 bytes each) and at most 32 M one-byte varints (16 M ranges), so that a damaged or
    /// hostile manifest cannot ask for more than 256 MiB of ranges.
    pub const MAX_UNPACKED: u64 = 64 << 20;

    /// Serializes `rows` as pairs or packed.
    pub fn serialize<S: Serializer>(rows: &Vec<[u64; 2]>, s: S) -> Result<S::Ok, S::Error> {
        if rows.len() <= PLAIN_RUNS {
            return rows.serialize(s);
        }
        s.serialize_str(&pack(rows).map_err(serde::ser::Error::custom)?)
    }

    /// Reads either form.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u64; 2]>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Plain(Vec<[u64; 2]>),
            Packed(String),
        }
        match Form::deserialize(d)? {
            Form::Plain(rows) => Ok(rows),
            Form::Packed(text) => unpack(&text).map_err(D::Error::custom),
        }
    }

    /// The packed form of `rows` (sorted and apart).
    pub fn pack(rows: &[[u64; 2]]) -> Result<String, String> {
        fn varint(mut v: u64, out: &mut Vec<u8>) {
            while v >= 0x80 {
                out.push((v as u8) | 0x80);
                v >>= 7;
            }
            out.push(v as u8);
        }
        let mut plain = Vec::with_capacity(rows.len() * 2);
        let mut end = 0u64;
        for r in rows {
            varint(r[0].wrapping_sub(end), &mut plain);
            varint(r[1].wrapping_sub(r[0]), &mut plain);
            end = r[1];
        }
        let packed = strata_codec::compress(
            strata_codec::CodecSpec::Zstd {
                level: 3,
                long: false,
            },
            &plain,
        )
        .map_err(|e| e.to_string())?;
        Ok(format!("{PREFIX}{}", hex::encode(packed)))
    }

    /// The ranges of a packed form; an error says what is wrong with it.
    pub fn unpack(text: &str) -> Result<Vec<[u64; 2]>, String> {
        use std::io::Read;
        let hex_text = text
            .strip_prefix(PREFIX)
            .ok_or_else(|| format!("session rows are pairs or `{PREFIX}…`"))?;
        let packed = hex::decode(hex_text).map_err(|e| format!("session rows: {e}"))?;
        let mut plain = Vec::new();
        strata_codec::Decoder::new(strata_codec::CodecFamily::Zstd, packed.as_slice())
            .map_err(|e| e.to_string())?
            .take(MAX_UNPACKED + 1)
            .read_to_end(&mut plain)
            .map_err(|e| format!("session rows: {e}"))?;
        if plain.len() as u64 > MAX_UNPACKED {
            return Err(format!(
                "session rows unpack to more than {MAX_UNPACKED} bytes"
            ));
        }
        let mut rows = Vec::new();
        // The gap before the range being read, once read.
        let mut gap: Option<u64> = None;
        let mut end = 0u64;
        let (mut v, mut shift) = (0u64, 0u32);
        for &b in &plain {
            if shift > 63 || (shift == 63 && b & 0x7f > 1) {
                return Err("session rows: a varint of more than 64 bits".into());
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 != 0 {
                shift += 7;
                continue;
            }
            match gap.take() {
                None => gap = Some(v),
                Some(before) => {
                    let start = end.checked_add(before).ok_or("session rows: past 2^64")?;
                    end = start.checked_add(v).ok_or("session rows: past 2^64")?;
                    rows.push([start, end]);
                }
            }
            (v, shift) = (0, 0);
        }
        if shift != 0 || gap.is_some() {
            return Err("session rows: cut short".into());
        }
        Ok(rows)
    }
}

impl SessionShare {
    /// Whether row `row` is one of the session's.
    pub fn holds(&self, row: u64) -> bool {
        let at = self.rows.partition_point(|r| r[1] <= row);
        self.rows.get(at).is_some_and(|r| r[0] <= row)
    }
}

fn default_manifest_version() -> u32 {
    MANIFEST_VERSION
}

/// Everything strata records about one sealed data file (INGEST-5, CAT-1).
///
/// Unknown fields are ignored on read (a newer build may add some); see the
/// [module docs](self) for versioning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileManifest {
    /// Format version, [`MANIFEST_VERSION`].
    #[serde(default = "default_manifest_version")]
    pub manifest_version: u32,
    /// The data file, relative to the archive root, `/`-separated
    /// (`hot/nasdaq/AAPL/trade/2024-01-15.jsonl`).
    pub path: String,
    /// The tier the file is in.
    pub tier: TierName,
    /// Its format.
    pub format: FileFormat,
    /// Its codec.
    pub codec: CodecSpec,
    /// Its size in bytes, as stored.
    pub size_bytes: u64,
    /// SHA-256 of its bytes as stored, lowercase hex.
    pub sha256: String,
    /// The partition it belongs to (what the layout knows of it).
    pub partition: PartitionKey,
    /// What is in it.
    pub stats: FileStats,
    /// Quality score in `[0, 1]` (QUAL-1), when one was computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_score: Option<f64>,
    /// The files it was made from, if it is derived (CAT-3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lineage: Vec<LineageEntry>,
    /// When it was sealed.
    pub sealed_at: Timestamp,
    /// The collection session that wrote it (SESSION-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// For a file made from several sessions' files (whose `session_id` is then `None`): which
    /// rows each wrote (SESSION-2). Rows of files of no known session are in no share.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<SessionShare>,
    /// Why it was sealed: one of [`seal_reason::ALL`].
    pub seal_reason: String,
}

impl FileManifest {
    /// The session shares account for rows of the file, each once, with the events they say.
    fn validate_sessions(&self) -> Result<(), ManifestError> {
        if self.sessions.is_empty() {
            return Ok(());
        }
        if self.session_id.is_some() {
            return Err(invalid(
                "sessions",
                &format!("{} shares", self.sessions.len()),
                "a file of one session (session_id) has no shares",
            ));
        }
        let mut rows: Vec<[u64; 2]> = Vec::new();
        let mut ids = std::collections::BTreeSet::new();
        for share in &self.sessions {
            if share.id.is_empty() || !ids.insert(share.id.as_str()) {
                return Err(invalid(
                    "sessions.id",
                    &share.id,
                    "each share names a session, once",
                ));
            }
            let mut held = 0u64;
            let mut end = 0u64;
            for (i, r) in share.rows.iter().enumerate() {
                if r[0] >= r[1] || (i > 0 && r[0] <= end) || r[1] > self.stats.event_count {
                    return Err(invalid(
                        "sessions.rows",
                        &format!("{}: [{}, {})", share.id, r[0], r[1]),
                        "row ranges are sorted, apart, not empty and within the file's events",
                    ));
                }
                end = r[1];
                held += r[1] - r[0];
            }
            if held != share.events {
                return Err(invalid(
                    "sessions.events",
                    &format!("{}: {} events, {held} rows", share.id, share.events),
                    "a share's events are the rows it names",
                ));
            }
            rows.extend(share.rows.iter().copied());
        }
        rows.sort_unstable();
        if rows.windows(2).any(|w| w[1][0] < w[0][1]) {
            return Err(invalid(
                "sessions.rows",
                "overlapping shares",
                "a row is one session's",
            ));
        }
        Ok(())
    }

    /// Where the data file is under `root`.
    pub fn data_path(&self, root: &Path) -> PathBuf {
        join_relative(root, &self.path)
    }

    /// Where its sidecar is under `root`.
    pub fn sidecar_path(&self, root: &Path) -> PathBuf {
        sidecar_path_for(&self.data_path(root))
    }

    /// The data file's name (the last component of [`path`](Self::path)).
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// Checks the values JSON cannot check: the version, that paths are safe relative paths,
    /// that checksums are 64 lowercase hex digits, that the quality score is in `[0, 1]` and
    /// that the seal reason is not empty.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.manifest_version != MANIFEST_VERSION {
            return Err(ManifestError::Version {
                found: self.manifest_version,
                supported: MANIFEST_VERSION,
            });
        }
        validate_relative_path("path", &self.path)?;
        if self.path.ends_with(SIDECAR_SUFFIX) {
            return Err(invalid(
                "path",
                &self.path,
                "a data file cannot be named like a sidecar (`….manifest.json`)",
            ));
        }
        validate_sha256("sha256", &self.sha256)?;
        if let Some(score) = self.quality_score {
            if !(0.0..=1.0).contains(&score) {
                return Err(invalid(
                    "quality_score",
                    &score.to_string(),
                    "a quality score is a number from 0 to 1",
                ));
            }
        }
        for entry in &self.lineage {
            validate_relative_path("lineage.parent_path", &entry.parent_path)?;
            validate_sha256("lineage.parent_sha256", &entry.parent_sha256)?;
        }
        if self.seal_reason.is_empty() {
            return Err(invalid("seal_reason", "", "a seal reason is required"));
        }
        self.validate_sessions()?;
        // The index answers per-symbol/source/kind/day queries from the slices, so they must
        // account for every event (StatsAccumulator::finish always writes them so).
        let in_slices = self
            .stats
            .slices
            .iter()
            .try_fold(0u64, |sum, slice| sum.checked_add(slice.events));
        if in_slices != Some(self.stats.event_count) {
            return Err(invalid(
                "stats.slices",
                &format!(
                    "{} events in slices, event_count {}",
                    in_slices.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string()),
                    self.stats.event_count
                ),
                "the slices must account for exactly the file's events",
            ));
        }
        Ok(())
    }
}

fn invalid(field: &'static str, value: &str, reason: &'static str) -> ManifestError {
    ManifestError::Invalid {
        field,
        value: value.to_string(),
        reason,
    }
}

/// Checks that `value` is a safe archive-relative path: not empty, `/`-separated, no
/// absolute path, no empty, `.` or `..` component, no backslash, control character or NUL,
/// and not inside one of the [`RESERVED_ROOT_FOLDERS`]. Such a path can never name a file
/// outside the archive root.
pub fn validate_relative_path(field: &'static str, value: &str) -> Result<(), ManifestError> {
    if value.is_empty() {
        return Err(invalid(field, value, "the path is empty"));
    }
    if value.starts_with('/') {
        return Err(invalid(
            field,
            value,
            "paths are relative to the archive root and must not start with `/`",
        ));
    }
    if value.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(invalid(
            field,
            value,
            "paths use `/` separators and contain no backslash or control character",
        ));
    }
    let mut components = value.split('/');
    if components.any(|c| c.is_empty() || c == "." || c == "..") {
        return Err(invalid(
            field,
            value,
            "a path component is empty, `.` or `..`",
        ));
    }
    let first = value.split('/').next().unwrap_or(value);
    if RESERVED_ROOT_FOLDERS.contains(&first) {
        return Err(invalid(
            field,
            value,
            "`_catalog/` and `_quarantine/` hold no data files",
        ));
    }
    Ok(())
}

fn validate_sha256(field: &'static str, value: &str) -> Result<(), ManifestError> {
    if value.len() == 64
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        Ok(())
    } else {
        Err(invalid(
            field,
            value,
            "a SHA-256 is 64 lowercase hexadecimal digits",
        ))
    }
}

/// `root` joined with a `/`-separated relative path, one component at a time.
fn join_relative(root: &Path, relative: &str) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(relative.split('/'));
    path
}

/// The archive-relative, `/`-separated form of `path` under `root` (the form
/// [`FileManifest::path`] takes); `None` when `path` is not under `root`, or has a component
/// that is not UTF-8 or is `.`/`..`.
pub fn relative_archive_path(root: &Path, path: &Path) -> Option<String> {
    let rest = path.strip_prefix(root).ok()?;
    let mut parts = Vec::new();
    for component in rest.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?),
            _ => return None,
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    }
}

/// The sidecar of a data file: `<data file name>.manifest.json` in the same folder.
///
/// ```
/// use std::path::Path;
/// use strata_catalog::sidecar_path_for;
///
/// assert_eq!(
///     sidecar_path_for(Path::new("/archive/hot/AAPL/trade/2024-01-15.jsonl")),
///     Path::new("/archive/hot/AAPL/trade/2024-01-15.jsonl.manifest.json"),
/// );
/// ```
pub fn sidecar_path_for(data_path: &Path) -> PathBuf {
    let name = data_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    data_path.with_file_name(sidecar_name(&name))
}

/// The name of a data file's sidecar: `<name>.manifest.json`, and `_<name>.manifest.json` for
/// a Parquet file, so that the tools that read a folder of Parquet files as one dataset
/// (pyarrow, Spark, Hive) skip it, as they skip every name that starts with `_`.
///
/// ```
/// use strata_catalog::manifest::{data_name_of_sidecar, sidecar_name};
/// assert_eq!(sidecar_name("2024-01-15.jsonl.zst"), "2024-01-15.jsonl.zst.manifest.json");
/// assert_eq!(sidecar_name("2024-01.parquet"), "_2024-01.parquet.manifest.json");
/// assert_eq!(data_name_of_sidecar("_2024-01.parquet.manifest.json").as_deref(), Some("2024-01.parquet"));
/// assert_eq!(data_name_of_sidecar("_x.jsonl.manifest.json").as_deref(), Some("_x.jsonl"));
/// ```
pub fn sidecar_name(data_name: &str) -> String {
    if data_name.ends_with(".parquet") {
        format!("_{data_name}{SIDECAR_SUFFIX}")
    } else {
        format!("{data_name}{SIDECAR_SUFFIX}")
    }
}

/// The sidecar key of a `/`-separated data key (a backend's), by [`sidecar_name`].
pub fn sidecar_key(data_key: &str) -> String {
    match data_key.rsplit_once('/') {
        Some((folder, name)) => format!("{folder}/{}", sidecar_name(name)),
        None => sidecar_name(data_key),
    }
}

/// The data file a sidecar name describes, the inverse of [`sidecar_name`]; `None` for a name
/// that is not a sidecar's.
///
/// A Parquet file's sidecar written before the `_` rule (`x.parquet.manifest.json`) still maps
/// to its data file, so archives from earlier builds rebuild as they are.
pub fn data_name_of_sidecar(sidecar: &str) -> Option<String> {
    let data = sidecar.strip_suffix(SIDECAR_SUFFIX)?;
    match data.strip_prefix('_') {
        Some(parquet) if parquet.ends_with(".parquet") => Some(parquet.to_string()),
        _ => Some(data.to_string()),
    }
}

/// Every key a data key's sidecar may have: [`sidecar_key`], and for a Parquet file also the
/// name it had before the `_` rule (`x.parquet.manifest.json`, files of earlier builds).
pub fn sidecar_keys(data_key: &str) -> Vec<String> {
    let mut keys = vec![sidecar_key(data_key)];
    if data_key.ends_with(".parquet") {
        keys.push(format!("{data_key}{SIDECAR_SUFFIX}"));
    }
    keys
}

/// Reads and checks a manifest from JSON bytes (a sidecar, a line of `manifest.jsonl`):
/// [`ManifestError::Json`] when the bytes are not a manifest, [`ManifestError::Version`] or
/// [`ManifestError::Invalid`] when [`FileManifest::validate`] refuses it. Never panics,
/// whatever the bytes.
pub fn parse_manifest(bytes: &[u8]) -> Result<FileManifest> {
    let manifest: FileManifest = serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
    manifest.validate()?;
    Ok(manifest)
}

/// The manifest as one line of compact JSON (no newline), as `manifest.jsonl` and the index
/// store it.
pub fn encode_manifest(manifest: &FileManifest) -> Result<String> {
    serde_json::to_string(manifest).map_err(|source| Error::Json {
        what: format!("the manifest of {}", manifest.path),
        source,
    })
}

/// Reads the sidecar at `path` (errors name it).
pub fn read_sidecar(path: &Path) -> Result<FileManifest> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let manifest: FileManifest = serde_json::from_slice(&bytes).map_err(|e| Error::Sidecar {
        path: path.to_path_buf(),
        source: ManifestError::Json(e),
    })?;
    manifest.validate().map_err(|source| Error::Sidecar {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(manifest)
}

/// Writes the sidecar of `manifest` beside its data file under `root`, atomically and durably
/// (temp file, fsync, rename, fsync of the folder), and returns its path. The manifest is
/// checked first ([`FileManifest::validate`]), so no sidecar strata cannot read back is ever
/// written, and none outside `root`.
pub fn write_sidecar(root: &Path, manifest: &FileManifest) -> Result<PathBuf> {
    manifest.validate()?;
    let path = manifest.sidecar_path(root);
    let mut bytes = serde_json::to_vec_pretty(manifest).map_err(|source| Error::Json {
        what: format!("the manifest of {}", manifest.path),
        source,
    })?;
    bytes.push(b'\n');
    fsio::write_atomic(&path, &bytes)?;
    Ok(path)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    use strata_core::layout::{Granularity, Period};
    use strata_model::{AssetClass, Decimal, EventKind};

    use crate::stats::{KindStats, SliceStats};

    pub(crate) fn sample_manifest() -> FileManifest {
        FileManifest {
            manifest_version: MANIFEST_VERSION,
            path: "hot/nasdaq/AAPL/trade/2024-01-15.jsonl".into(),
            tier: TierName::Hot,
            format: FileFormat::Jsonl,
            codec: CodecSpec::None,
            size_bytes: 1234,
            sha256: "ab".repeat(32),
            partition: PartitionKey {
                source: Some("nasdaq".into()),
                symbol: Some("AAPL".into()),
                kind: Some(EventKind::Trade),
                period: "2024-01-15".parse().ok(),
                ..PartitionKey::default()
            },
            stats: FileStats::default(),
            quality_score: Some(0.97),
            lineage: vec![],
            sealed_at: Timestamp::from_nanos(1_705_363_200_000_000_000),
            session_id: Some("daily-2024-01-15".into()),
            sessions: Vec::new(),
            seal_reason: seal_reason::PARTITION_BOUNDARY.into(),
        }
    }

    #[test]
    fn sidecar_sits_beside_the_data_file() {
        let m = sample_manifest();
        let root = Path::new("/archive");
        assert_eq!(
            m.sidecar_path(root),
            Path::new("/archive/hot/nasdaq/AAPL/trade/2024-01-15.jsonl.manifest.json")
        );
        assert_eq!(m.file_name(), "2024-01-15.jsonl");
        assert_eq!(
            relative_archive_path(root, &m.data_path(root)).as_deref(),
            Some(m.path.as_str())
        );
    }

    #[test]
    fn unknown_fields_are_tolerated_other_versions_refused() {
        let m = sample_manifest();
        let mut value = serde_json::to_value(&m).unwrap();
        value["added_in_a_newer_build"] = serde_json::json!({"x": 1});
        let bytes = serde_json::to_vec(&value).unwrap();
        assert_eq!(parse_manifest(&bytes).unwrap(), m);

        value["manifest_version"] = serde_json::json!(2);
        let err = parse_manifest(&serde_json::to_vec(&value).unwrap()).unwrap_err();
        assert!(err.to_string().contains("manifest_version 2"), "{err}");
    }

    #[test]
    fn unsafe_paths_and_bad_checksums_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../outside.jsonl",
            "hot/../../x",
            "hot//x",
            "hot/./x",
            "hot\\x",
            "_catalog/index.sqlite",
            "_quarantine/x.jsonl",
            "hot/x\n.jsonl",
            "hot/x.jsonl.manifest.json",
        ] {
            let mut m = sample_manifest();
            m.path = bad.into();
            let err = m.validate().unwrap_err();
            assert!(err.to_string().contains("`path`"), "{bad:?}: {err}");
        }
        let mut m = sample_manifest();
        m.sha256 = "AB".repeat(32);
        assert!(m.validate().is_err());
        let mut m = sample_manifest();
        m.quality_score = Some(1.5);
        assert!(m.validate().is_err());
        // Names with spaces and percent signs (what layout escaping writes) are fine.
        let mut m = sample_manifest();
        m.path = "hot/BRK%2FB/trade/a b%20c.jsonl".into();
        m.validate().unwrap();
    }

    /// A file of several sessions names each one's rows, once; shares that overlap, miscount,
    /// pass the file's end or sit beside a `session_id` are refused.
    #[test]
    fn session_shares_account_for_their_rows() {
        let mut m = sample_manifest();
        m.session_id = None;
        m.stats.event_count = 10;
        m.stats.slices = vec![crate::SliceStats {
            symbol: "AAPL".into(),
            source: "nasdaq".into(),
            kind: EventKind::Trade,
            date: chrono::NaiveDate::from_ymd_opt(2024, 1, 15).unwrap(),
            events: 10,
            first_event_time: Timestamp::from_nanos(0),
            last_event_time: Timestamp::from_nanos(9),
        }];
        let share = |id: &str, rows: &[[u64; 2]]| SessionShare {
            id: id.into(),
            events: rows.iter().map(|r| r[1] - r[0]).sum(),
            rows: rows.to_vec(),
        };
        m.sessions = vec![share("a", &[[0, 3], [7, 10]]), share("b", &[[3, 6]])];
        m.validate().unwrap();
        let a = &m.sessions[0];
        let held: Vec<u64> = (0..10).filter(|&r| a.holds(r)).collect();
        assert_eq!(held, [0, 1, 2, 7, 8, 9]);
        for (bad, field) in [
            (
                vec![share("a", &[[0, 3]]), share("b", &[[2, 5]])],
                "`sessions.rows`",
            ),
            (vec![share("a", &[[0, 3], [3, 5]])], "`sessions.rows`"),
            (vec![share("a", &[[5, 11]])], "`sessions.rows`"),
            (vec![share("a", &[[4, 4]])], "`sessions.rows`"),
            (
                vec![share("a", &[[0, 1]]), share("a", &[[2, 3]])],
                "`sessions.id`",
            ),
            (
                vec![SessionShare {
                    id: "a".into(),
                    events: 4,
                    rows: vec![[0, 3]],
                }],
                "`sessions.events`",
            ),
        ] {
            let mut m = m.clone();
            m.sessions = bad;
            let err = m.validate().unwrap_err().to_string();
            assert!(err.contains(field), "{:?}: {err}", m.sessions);
        }
        let mut m = m.clone();
        m.session_id = Some("a".into());
        assert!(m.validate().is_err());
    }

    #[test]
    fn parse_errors_never_panic_and_say_why() {
        for bytes in [
            &b""[..],
            b"{",
            b"[]",
            b"null",
            b"{\"path\": 5}",
            &[0xff, 0xfe],
        ] {
            assert!(parse_manifest(bytes).is_err());
        }
    }

    fn decimal() -> impl Strategy<Value = Decimal> {
        (any::<i64>(), 0u8..=18).prop_map(|(m, s)| Decimal::new(m, s).unwrap())
    }

    fn kind_stats() -> impl Strategy<Value = KindStats> {
        (
            any::<u64>(),
            prop::collection::vec(proptest::option::of(decimal()), 9),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(count, d, rounded, overflow)| KindStats {
                count,
                price_min: d[0],
                price_max: d[1],
                open: d[2],
                close: d[3],
                volume: d[4],
                buy_volume: d[5],
                sell_volume: d[6],
                vwap: d[7],
                notional: d[8],
                rounded,
                overflow,
            })
    }

    fn timestamp() -> impl Strategy<Value = Timestamp> {
        any::<i64>().prop_map(Timestamp::from_nanos)
    }

    fn name() -> impl Strategy<Value = String> {
        "[A-Za-z0-9 %/._\\-é\"\\\\]{0,12}"
    }

    fn file_stats() -> impl Strategy<Value = FileStats> {
        let kinds = prop::collection::btree_map(
            prop::sample::select(EventKind::ALL.to_vec()),
            kind_stats(),
            0..4,
        );
        let slice = (
            name(),
            name(),
            prop::sample::select(EventKind::ALL.to_vec()),
            -100_000i64..100_000,
            0u64..1_000_000_000_000,
            timestamp(),
            timestamp(),
        )
            .prop_map(
                |(symbol, source, kind, day, events, first, last)| SliceStats {
                    symbol,
                    source,
                    kind,
                    date: chrono::NaiveDate::from_num_days_from_ce_opt(
                        738_000 + i32::try_from(day).unwrap(),
                    )
                    .unwrap(),
                    events,
                    first_event_time: first,
                    last_event_time: last,
                },
            );
        (
            any::<u64>(),
            prop::collection::vec(proptest::option::of(any::<u64>()), 4),
            proptest::option::of(timestamp()),
            proptest::option::of(timestamp()),
            prop::collection::btree_set(name(), 0..3),
            prop::collection::btree_set(name(), 0..3),
            prop::collection::btree_map("[0-9T:-]{1,13}", any::<u64>(), 0..3),
            kinds,
            prop::collection::vec(slice, 0..3),
            prop::collection::btree_set(name(), 0..3),
        )
            .prop_map(
                |(_, seq, first, last, symbols, sources, hours, kinds, slices, venues)| FileStats {
                    event_count: slices.iter().map(|s| s.events).sum(),
                    first_sequence: seq[0],
                    last_sequence: seq[1],
                    min_sequence: seq[2],
                    max_sequence: seq[3],
                    first_event_time: first,
                    last_event_time: last,
                    symbols: symbols.into_iter().collect::<BTreeSet<_>>(),
                    sources,
                    venues,
                    events_by_hour: hours.into_iter().collect::<BTreeMap<_, _>>(),
                    kinds,
                    slices,
                },
            )
    }

    fn safe_path() -> impl Strategy<Value = String> {
        prop::collection::vec("[A-Za-z0-9%=][A-Za-z0-9%=. -]{0,10}", 1..5)
            .prop_map(|parts| parts.join("/"))
            .prop_filter("reserved or sidecar-like", |p| {
                validate_relative_path("path", p).is_ok() && !p.ends_with(SIDECAR_SUFFIX)
            })
    }

    pub(crate) fn any_manifest() -> impl Strategy<Value = FileManifest> {
        let tier = prop::sample::select(TierName::ALL.to_vec());
        let format = prop::sample::select(vec![FileFormat::Jsonl, FileFormat::Parquet]);
        let codec = prop::sample::select(CodecSpec::every_level());
        let period = prop_oneof![
            Just(None),
            (
                timestamp(),
                prop::sample::select(vec![
                    Granularity::Hourly,
                    Granularity::Daily,
                    Granularity::Monthly
                ])
            )
                .prop_map(|(t, g)| Period::containing(t, g)),
        ];
        let partition = (
            proptest::option::of(name()),
            proptest::option::of(prop::sample::select(AssetClass::ALL.to_vec())),
            proptest::option::of(name()),
            proptest::option::of(prop::sample::select(EventKind::ALL.to_vec())),
            proptest::option::of(name()),
            period,
        )
            .prop_map(
                |(source, asset_class, symbol, kind, exchange, period)| PartitionKey {
                    source,
                    asset_class,
                    symbol,
                    kind,
                    exchange,
                    period,
                    session: None,
                    extra: Default::default(),
                },
            );
        let lineage = prop::collection::vec(
            (safe_path(), "[0-9a-f]{64}", "[a-z_]{1,10}").prop_map(
                |(parent_path, parent_sha256, operation)| LineageEntry {
                    parent_path,
                    parent_sha256,
                    operation,
                },
            ),
            0..3,
        );
        (
            (
                safe_path(),
                tier,
                format,
                codec,
                any::<u64>(),
                "[0-9a-f]{64}",
            ),
            partition,
            file_stats(),
            (
                proptest::option::of(0.0f64..=1.0),
                lineage,
                timestamp(),
                proptest::option::of(name()),
            ),
            prop::sample::select(seal_reason::ALL.to_vec()),
            0u64..40,
        )
            .prop_map(
                |(
                    (path, tier, format, codec, size_bytes, sha256),
                    partition,
                    stats,
                    (quality_score, lineage, sealed_at, session_id),
                    reason,
                    cuts,
                )| FileManifest {
                    // A file of no one session: its rows in runs, taken by two sessions in
                    // turn.
                    sessions: shares(session_id.is_none(), stats.event_count, cuts),
                    manifest_version: MANIFEST_VERSION,
                    path,
                    tier,
                    format,
                    codec,
                    size_bytes,
                    sha256,
                    partition,
                    stats,
                    quality_score,
                    lineage,
                    sealed_at,
                    session_id,
                    seal_reason: reason.to_string(),
                },
            )
    }

    /// Rows `[0, events)` cut into `cuts + 1` runs that two sessions take in turn (more than
    /// [`packed_rows::PLAIN_RUNS`] each: the packed form).
    fn shares(mixed: bool, events: u64, cuts: u64) -> Vec<SessionShare> {
        if !mixed || events < 2 {
            return Vec::new();
        }
        let step = events.div_ceil(cuts + 1);
        let mut shares = vec![
            SessionShare {
                id: "a".into(),
                events: 0,
                rows: Vec::new(),
            },
            SessionShare {
                id: "b".into(),
                events: 0,
                rows: Vec::new(),
            },
        ];
        let mut start = 0;
        let mut turn = 0;
        while start < events {
            let end = start.saturating_add(step).min(events);
            let share = &mut shares[turn % 2];
            share.rows.push([start, end]);
            share.events += end - start;
            start = end;
            turn += 1;
        }
        shares.retain(|s| !s.rows.is_empty());
        shares
    }

    proptest! {
        /// Session rows packed and unpacked are the same ranges, at any gaps and lengths.
        #[test]
        fn packed_session_rows_round_trip(
            steps in prop::collection::vec((0u64..1 << 40, 1u64..1 << 40), 0..200),
        ) {
            let mut rows = Vec::new();
            let mut end = 0u64;
            for (gap, len) in steps {
                let start = end + gap;
                end = start + len;
                rows.push([start, end]);
            }
            let packed = packed_rows::pack(&rows).unwrap();
            prop_assert!(packed.starts_with(packed_rows::PREFIX));
            prop_assert_eq!(packed_rows::unpack(&packed).unwrap(), rows);
        }

        /// Any text after the prefix unpacks to ranges or an error, never a panic.
        #[test]
        fn packed_session_rows_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = packed_rows::unpack(&format!("{}{}", packed_rows::PREFIX, hex::encode(&bytes)));
            let _ = packed_rows::unpack(&String::from_utf8_lossy(&bytes));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// FileManifest → JSON (compact and pretty) → FileManifest is the identity.
        #[test]
        fn manifest_round_trips_through_json(m in any_manifest()) {
            let line = encode_manifest(&m).unwrap();
            prop_assert!(!line.contains('\n'));
            prop_assert_eq!(&parse_manifest(line.as_bytes()).unwrap(), &m);
            let pretty = serde_json::to_vec_pretty(&m).unwrap();
            prop_assert_eq!(&parse_manifest(&pretty).unwrap(), &m);
        }

        /// Valid manifests with bytes flipped, inserted or cut never panic the parser; what
        /// still parses re-encodes to an equal manifest (a structured cousin of the
        /// `manifest_parse` fuzz target).
        #[test]
        fn mutated_manifests_never_panic(
            m in any_manifest(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
        ) {
            let mut bytes = encode_manifest(&m).unwrap().into_bytes();
            for (at, byte, op) in edits {
                let i = at.index(bytes.len() + 1);
                match op {
                    0 if i < bytes.len() => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ if i < bytes.len() => {
                        bytes.remove(i);
                    }
                    _ => {}
                }
            }
            if let Ok(parsed) = parse_manifest(&bytes) {
                let line = encode_manifest(&parsed).unwrap();
                prop_assert_eq!(parse_manifest(line.as_bytes()).unwrap(), parsed);
            }
        }

        /// Arbitrary bytes never panic the parser; what parses re-encodes to an equal manifest.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(m) = parse_manifest(&bytes) {
                let line = encode_manifest(&m).unwrap();
                prop_assert_eq!(parse_manifest(line.as_bytes()).unwrap(), m);
            }
        }
    }
}
