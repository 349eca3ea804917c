//! Recovery on open (INGEST-3): what a crash left behind is repaired before anything is written.
//!
//! First, in `hot/` and in the folders strata alone writes ([`TEMP_FOLDERS`]: `_sessions/`,
//! `_catalog/`, `_quarantine/`, `_staging/`), the temp files of atomic writes a crash interrupted
//! — `.tmp-strata-<pid>-<n>` of a process no longer running, see `strata_catalog::fsio` — are
//! deleted: a compressed copy, a segment cut by recovery, a sidecar, a session report or a
//! catalog file half written; what they were to replace is still there. A file is never taken
//! for data or a sidecar by its temp name alone (neither ends in `.jsonl` or `.manifest.json`).
//!
//! Then, for every file under `hot/`:
//! - `*.tmp` — an unfinished compression or rewrite of an older build: deleted (its source is
//!   still there);
//! - a data file with a sidecar — sealed. If it is compressed and its plain segment is still
//!   there, the seal stopped after step 3 (see [`crate::seal`]): the plain segment is deleted. Its
//!   checksum line and catalog entry are re-applied (both idempotent);
//! - a compressed data file without a sidecar — an unfinished seal: deleted, and the plain
//!   segment is sealed again;
//! - a plain segment without a sidecar — unsealed: every complete line that decodes is kept;
//!   unreadable lines and a torn last line (no newline) are cut into the quarantine with the
//!   reason (quarantine first, fsynced, then the segment is rewritten atomically), and the segment
//!   is sealed with reason `recovery`, under the session that wrote it when that is known
//!   (`owner_of`: the session's list of its segments, see [`crate::session::EarlierSessions`], or
//!   the import ledger's commit naming the file), else under the recovering session; what is cut
//!   from it is quarantined under that session too. An empty segment is removed.
//!
//! Nothing complete is dropped (every decodable line stays, once) and nothing is duplicated (lines
//! are never copied, only kept or cut).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use strata_catalog::{Catalog, FileQuery, StatsAccumulator};
use strata_core::layout::Naming;
use strata_core::policy::{QuotaPolicy, QuotaUsage};
use strata_model::{jsonl, SymbolRegistry};

use crate::quarantine::Quarantine;
use crate::seal::{self, parent_of, ContentCheck, SealContext, SealJob, SealReason};
use crate::{io_err, paths, Result};

/// What recovery did.
#[derive(Debug, Default)]
pub struct RecoveryReport {
    /// Next segment number per partition stem.
    pub next_segment_no: HashMap<String, u32>,
    /// One line per action taken, for the session report and logs.
    pub notes: Vec<String>,
    /// Lines (or torn tails) cut into the quarantine.
    pub cut: u64,
    /// Segments sealed by recovery.
    pub sealed: u64,
    /// Files recovery could not repair or seal (each is noted, left in place and tried again at
    /// the next open).
    pub failed: u64,
}

/// `stem` and segment number → the file stem `STEM_NNNNNN`.
pub fn segment_stem(stem: &str, no: u32) -> String {
    format!("{stem}_{no:06}")
}

/// The reverse of [`segment_stem`]: `"a/b_000012"` → `("a/b", 12)`.
pub fn split_segment(file_stem: &str) -> Option<(&str, u32)> {
    let (stem, no) = file_stem.rsplit_once('_')?;
    (no.len() >= 6 && no.bytes().all(|b| b.is_ascii_digit())).then_some(())?;
    Some((stem, no.parse().ok()?))
}

const CODEC_EXTS: [&str; 3] = [".gz", ".zst", ".lz4"];

fn rel_to(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_else(|_| path.display().to_string())
}

/// The folders of an archive root, besides `hot/`, where recovery removes the temp files of
/// interrupted atomic writes (`strata_catalog::fsio`'s `.tmp-strata-<pid>-<n>`): session reports
/// and the catalog's files, and the quarantine and staging folders, which strata alone writes.
pub const TEMP_FOLDERS: [&str; 4] = [
    paths::SESSIONS,
    strata_catalog::CATALOG_DIR,
    paths::QUARANTINE,
    crate::imports::STAGING,
];

fn unfinished_temp_note(root: &Path, path: &Path) -> String {
    format!(
        "removed unfinished {} (the temp file of an atomic write a crash interrupted)",
        rel_to(root, path)
    )
}

fn sidecar_of(path: &Path) -> PathBuf {
    strata_catalog::sidecar_path_for(path)
}

/// Repairs and seals what a crash left under `root/hot`; returns what it did and the next free
/// segment number of every partition. A segment `owner_of` names the session of (given its path
/// relative to the root) is sealed under that session, any other under `ctx`'s.
pub fn recover(
    root: &Path,
    layout: &dyn Naming,
    ctx: &SealContext<'_>,
    owner_of: &dyn Fn(&str) -> Option<String>,
    quarantine: &mut Quarantine,
) -> Result<RecoveryReport> {
    let hot = root.join(paths::HOT);
    let mut report = RecoveryReport::default();
    // Temp files of atomic writes a crash interrupted, in the folders strata owns besides `hot/`
    // (which is listed below anyway). Never the root itself: it may hold the user's files.
    for folder in TEMP_FOLDERS {
        for path in strata_catalog::fsio::remove_stale_temps(&root.join(folder))? {
            report.notes.push(unfinished_temp_note(root, &path));
        }
    }
    if !hot.exists() {
        return Ok(report);
    }
    let files = crate::reader::files_under(&hot)?;
    let mut listed = ListedChecksums::default();
    let mut temps_removed_in = std::collections::BTreeSet::new();
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if strata_catalog::fsio::is_stale_temp(path) {
            std::fs::remove_file(path).map_err(io_err(path))?;
            temps_removed_in.insert(parent_of(path));
            report.notes.push(unfinished_temp_note(root, path));
        } else if name.ends_with(".tmp") {
            // `NAME.tmp`: the temp name of builds before `fsio::write_atomic`.
            std::fs::remove_file(path).map_err(io_err(path))?;
            report
                .notes
                .push(format!("removed unfinished {}", rel_to(root, path)));
        }
    }
    for folder in &temps_removed_in {
        seal::sync_dir(folder)?;
    }
    let exists = |p: &Path| p.exists();
    for path in files
        .iter()
        .filter(|p| exists(p) && crate::reader::is_data_file(p))
    {
        // One file's trouble (a name the OS refuses, a damaged file) must not stop the archive:
        // it is noted, left in place and tried again at the next open.
        let mut one = |report: &mut RecoveryReport| -> Result<()> {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let plain_name = CODEC_EXTS
                .iter()
                .find_map(|ext| name.strip_suffix(ext))
                .unwrap_or(&name);
            let compressed = plain_name.len() != name.len();
            let plain = path.with_file_name(plain_name);
            // Segment numbering: every data file counts, sealed or not.
            let rel_hot = rel_to(&hot, &plain);
            if let Some((stem, no)) = rel_hot.strip_suffix(paths::JSONL).and_then(split_segment) {
                let next = report.next_segment_no.entry(stem.to_string()).or_insert(1);
                *next = (*next).max(no + 1);
            }
            let has_sidecar = sidecar_of(path).exists();
            if has_sidecar {
                let manifest = strata_catalog::read_sidecar(&sidecar_of(path))?;
                if compressed && plain.exists() && !sidecar_of(&plain).exists() {
                    std::fs::remove_file(&plain).map_err(io_err(&plain))?;
                    seal::sync_dir(&parent_of(path))?;
                    report.notes.push(format!(
                        "finished sealing {} (removed its plain segment)",
                        manifest.path
                    ));
                }
                if ctx.checksums {
                    listed.ensure(&parent_of(path), &name, &manifest.sha256)?;
                }
                // A crash between the sidecar and the catalog entry leaves the file unindexed.
                if !ctx.catalog.contains(&manifest.path)? {
                    ctx.catalog.register(&manifest)?;
                    report.notes.push(format!(
                        "indexed {} (sealed, missing from the catalog)",
                        manifest.path
                    ));
                }
                return Ok(());
            }
            if compressed {
                if plain.exists() {
                    std::fs::remove_file(path).map_err(io_err(path))?;
                    report
                        .notes
                        .push(format!("removed unfinished seal {}", rel_to(root, path)));
                } else {
                    report.notes.push(format!(
                        "{} has no sidecar and no plain segment; left as is for `strata health`",
                        rel_to(root, path)
                    ));
                }
                return Ok(());
            }
            // A plain segment whose compressed copy is sealed: the seal stopped before step 6.
            if let Some(sealed) = CODEC_EXTS
                .iter()
                .map(|ext| PathBuf::from(format!("{}{ext}", path.display())))
                .find(|c| c.exists() && sidecar_of(c).exists())
            {
                std::fs::remove_file(path).map_err(io_err(path))?;
                seal::sync_dir(&parent_of(path))?;
                report.notes.push(format!(
                    "finished sealing {} (removed its plain segment)",
                    rel_to(root, &sealed)
                ));
                return Ok(());
            }
            // An unsealed plain segment, of the session that wrote it when that is known: what
            // is cut from it is quarantined, and it is sealed, under that session.
            let rel = rel_to(root, path);
            let owner = owner_of(&rel);
            let mut owners_quarantine;
            let quarantine = match &owner {
                Some(owner) => {
                    owners_quarantine = Quarantine::new(root, owner);
                    &mut owners_quarantine
                }
                None => &mut *quarantine,
            };
            let Repaired {
                notes,
                events,
                content,
            } = repair_segment(path, quarantine)?;
            report.cut += notes.len() as u64;
            report.notes.extend(notes);
            if events.is_empty() {
                std::fs::remove_file(path).map_err(io_err(path))?;
                report
                    .notes
                    .push(format!("removed empty segment {}", rel_to(root, path)));
                return Ok(());
            }
            let mut stats = StatsAccumulator::new();
            for e in &events {
                stats.add(e);
            }
            let partition = rel_hot
                .strip_suffix(paths::JSONL)
                .and_then(split_segment)
                .and_then(|(stem, _)| layout.parse(stem).ok())
                .unwrap_or_default();
            let owned;
            let seal_ctx = match &owner {
                Some(owner) => {
                    owned = SealContext {
                        session_id: owner,
                        ..*ctx
                    };
                    &owned
                }
                None => ctx,
            };
            let sealed = seal::seal_file(
                seal_ctx,
                SealJob {
                    path: path.clone(),
                    rel,
                    partition,
                    stats,
                    content,
                    reason: SealReason::Recovery,
                },
            )?;
            report.sealed += 1;
            for step in &sealed.unfinished {
                report.notes.push(format!(
                    "{}: sealed, but not {step} (the next open finishes it)",
                    rel_to(root, &sealed.path)
                ));
            }
            report.notes.push(format!(
                "sealed {} ({} events) left open by a crash, under {}",
                rel_to(root, path),
                events.len(),
                match owner {
                    Some(owner) => format!("session {owner}, which wrote it"),
                    None => format!("this session ({}): no session listed it", ctx.session_id),
                }
            ));
            Ok(())
        };
        if let Err(e) = one(&mut report) {
            report.failed += 1;
            report.notes.push(format!(
                "could not recover {}: {e} (left in place; tried again at the next open)",
                rel_to(root, path)
            ));
        }
    }
    Ok(report)
}

/// The `checksums.sha256` lines of the folders recovery has visited, each list read once (every
/// sealed file in `hot/` is checked at every open, so reading a folder's list per file would
/// cost N reads of an N-line list).
#[derive(Default)]
struct ListedChecksums(HashMap<PathBuf, std::collections::HashSet<String>>);

impl ListedChecksums {
    /// Adds `SHA256  NAME` to `folder`'s list unless it is there.
    fn ensure(&mut self, folder: &Path, name: &str, sha256: &str) -> Result<()> {
        let lines = match self.0.entry(folder.to_path_buf()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let list = folder.join(strata_catalog::CHECKSUMS_FILE);
                let text = match std::fs::read_to_string(&list) {
                    Ok(text) => text,
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
                    Err(err) => return Err(io_err(&list)(err)),
                };
                e.insert(text.lines().map(str::to_string).collect())
            }
        };
        let line = format!("{sha256}  {name}");
        if !lines.contains(&line) {
            strata_catalog::append_checksum_line(folder, name, sha256)?;
            lines.insert(line);
        }
        Ok(())
    }
}

/// Keeps every complete, decodable line of a segment; cuts the rest into the quarantine with the
/// reason (contiguous bad lines as one region), then rewrites the segment atomically.
pub fn repair_segment(path: &Path, quarantine: &mut Quarantine) -> Result<Repaired> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let mut kept = Vec::with_capacity(bytes.len());
    let mut events = Vec::new();
    let mut notes = Vec::new();
    // Contiguous bad lines are cut as one region: (start offset, end offset, first reason, lines).
    let mut bad: Option<(usize, usize, String, u64)> = None;
    let cut = |region: (usize, usize, String, u64),
               q: &mut Quarantine,
               notes: &mut Vec<String>|
     -> Result<()> {
        let (start, end, first_reason, lines) = region;
        let reason = if lines > 1 {
            format!(
                "{first_reason}; and {} more bad line(s) after it",
                lines - 1
            )
        } else {
            first_reason
        };
        q.keep_bytes(path, start as u64, &bytes[start..end], &reason)?;
        notes.push(format!(
            "{}: {reason} (cut into the quarantine)",
            path.display()
        ));
        Ok(())
    };
    let mut offset = 0usize;
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let start = offset;
        offset += line.len();
        let decoded = if !line.ends_with(b"\n") {
            Err(format!(
                "torn last record at line {line_no}: {} bytes without a newline",
                line.len()
            ))
        } else {
            jsonl::decode_line(line)
                .map_err(|e| format!("unreadable record at line {line_no}: {e}"))
        };
        match (decoded, bad.as_mut()) {
            (Ok(event), _) => {
                if let Some(region) = bad.take() {
                    cut(region, quarantine, &mut notes)?;
                }
                kept.extend_from_slice(line);
                events.push(event);
            }
            (Err(_), Some(region)) => {
                region.1 = offset;
                region.3 += 1;
            }
            (Err(reason), None) => bad = Some((start, offset, reason, 1)),
        }
    }
    if let Some(region) = bad.take() {
        cut(region, quarantine, &mut notes)?;
    }
    if kept.len() != bytes.len() {
        strata_catalog::fsio::write_atomic(path, &kept)?;
    }
    Ok(Repaired {
        notes,
        events,
        content: ContentCheck::of(&kept),
    })
}

/// What [`repair_segment`] kept and cut.
#[derive(Debug)]
pub struct Repaired {
    /// One note per region cut into the quarantine.
    pub notes: Vec<String>,
    /// The events of the lines kept, in file order.
    pub events: Vec<strata_model::Event>,
    /// What the segment holds now (the lines kept), for sealing to verify against.
    pub content: ContentCheck,
}

/// Starting usage of each quota rule, from the files the catalog knows.
pub fn usage_from_catalog(
    catalog: &Catalog,
    rules: &[std::sync::Arc<dyn QuotaPolicy>],
    symbols: &SymbolRegistry,
    today: NaiveDate,
) -> Result<Vec<QuotaUsage>> {
    let mut usage = vec![QuotaUsage::default(); rules.len()];
    if rules.is_empty() {
        return Ok(usage);
    }
    let today = today.format("%Y-%m-%d").to_string();
    for manifest in catalog.find(&FileQuery::default())? {
        for (rule, used) in rules.iter().zip(usage.iter_mut()) {
            if let Some(file) = crate::quota::file_usage(&manifest, &**rule, symbols, &today) {
                used.bytes += file.bytes;
                used.files += file.files;
                used.events_today += file.events_today;
            }
        }
    }
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repair_keeps_good_lines_and_cuts_each_bad_region_once() {
        use strata_model::{Event, Payload, Timestamp};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg_000001.jsonl");
        let line = |n: i64| {
            jsonl::encode_line(&Event::new(
                "s",
                "X",
                Timestamp::from_nanos(n),
                Payload::Heartbeat,
            ))
            .unwrap()
        };
        let mut bytes = [line(1), line(2)].concat();
        bytes.extend_from_slice(b"garbage\n\0\0\0\n");
        bytes.extend_from_slice(&line(3));
        bytes.extend_from_slice(b"{\"v\":\"1.0\",\"kind\":\"hea");
        std::fs::write(&path, &bytes).unwrap();
        let mut q = Quarantine::new(dir.path(), "t");
        let Repaired {
            notes,
            events,
            content,
        } = repair_segment(&path, &mut q).unwrap();
        assert_eq!(content, ContentCheck::of(&std::fs::read(&path).unwrap()));
        assert_eq!(events.len(), 3, "the three good lines come back decoded");
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].contains("line 3") && notes[0].contains("and 1 more bad line"),
            "{notes:?}"
        );
        assert!(notes[1].contains("torn last record at line 6"), "{notes:?}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            [line(1), line(2), line(3)].concat()
        );
        let kept: usize = std::fs::read_dir(dir.path().join("_quarantine/torn"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "bin"))
            .map(|e| std::fs::read(e.path()).unwrap().len())
            .sum();
        assert_eq!(
            kept,
            bytes.len() - 3 * line(1).len(),
            "every cut byte is kept in the quarantine"
        );
    }

    #[test]
    fn segment_names_round_trip() {
        assert_eq!(
            segment_stem("SPY/trade/2024-01-15", 7),
            "SPY/trade/2024-01-15_000007"
        );
        assert_eq!(
            split_segment("SPY/trade/2024-01-15_000007"),
            Some(("SPY/trade/2024-01-15", 7))
        );
        assert_eq!(
            split_segment("SPY_trade_2024-01-15_1234567"),
            Some(("SPY_trade_2024-01-15", 1_234_567))
        );
        assert_eq!(split_segment("SPY/bbo_quote"), None);
        assert_eq!(split_segment("x_12"), None);
    }
}
