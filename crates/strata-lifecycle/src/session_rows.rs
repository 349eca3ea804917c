//! Which writer session each row of a migrated or consolidated file came from (SESSION-2).
//!
//! A file made from the files of one session keeps that session (`session_id`). A file made
//! from several sessions' files records, per session, the rows it holds of it
//! ([`SessionShare`]), so that a session's events can be read back from it. The rows are found
//! without touching the writers: every way a target is written (in memory or in two passes,
//! JSONL or Parquet) holds the sources' events sorted by time, stably — equal times keep the
//! sources' order, then each file's — apart from one JSONL source copied to JSONL as it is.
//! [`SessionRows::gather`] notes each source row's time and session in the sources' order and
//! sorts them the same way; [`SessionRows::shares`] then walks each target as stored, checks
//! each row's time against the one expected there, and sums each session's events: the
//! sessions' digests must equal the sources', or nothing is changed.

use std::collections::{BTreeMap, BTreeSet};

use strata_catalog::{FileManifest, SessionShare};
use strata_columnar::EventDigest;
use strata_model::{Event, EventKind};

use crate::error::{Error, Result};

/// The label of rows of no known session.
const NONE: u32 = u32::MAX;

/// The sources' rows of sessions, in the order the targets hold them.
#[derive(Debug)]
pub(crate) struct SessionRows {
    /// The sessions, by label.
    ids: Vec<String>,
    /// Each row's time and session label: per kind (each kind's Parquet file), or all in one
    /// (the JSONL file, key `None`).
    rows: BTreeMap<Option<EventKind>, Vec<(i64, u32)>>,
    /// How far each list has been taken by the targets read so far.
    taken: BTreeMap<Option<EventKind>, usize>,
    /// Each session's events in the sources.
    expected: BTreeMap<u32, EventDigest>,
    /// Each session's events in the targets read so far.
    found: BTreeMap<u32, EventDigest>,
}

impl SessionRows {
    /// `None` when the sources are all of one session (or all of none): their session is kept
    /// whole. Otherwise reads every source's events with `each` (in the file's order) and
    /// notes their sessions; `per_kind` for Parquet targets (one file per kind).
    pub(crate) fn gather(
        sources: &[FileManifest],
        per_kind: bool,
        mut each: impl FnMut(&FileManifest, &mut dyn FnMut(&Event)) -> Result<()>,
    ) -> Result<Option<Self>> {
        let mut seen: BTreeSet<Option<&str>> = BTreeSet::new();
        for source in sources {
            if source.sessions.is_empty() {
                seen.insert(source.session_id.as_deref());
            } else {
                seen.extend(source.sessions.iter().map(|s| Some(s.id.as_str())));
                let shared: u64 = source.sessions.iter().map(|s| s.events).sum();
                if shared < source.stats.event_count {
                    seen.insert(None);
                }
            }
        }
        if seen.len() < 2 {
            return Ok(None);
        }
        let ids: Vec<String> = seen.into_iter().flatten().map(str::to_string).collect();
        let label = |id: &str| {
            ids.iter()
                .position(|i| i == id)
                .and_then(|at| u32::try_from(at).ok())
                .unwrap_or(NONE)
        };
        let mut rows: BTreeMap<Option<EventKind>, Vec<(i64, u32)>> = BTreeMap::new();
        let mut expected: BTreeMap<u32, EventDigest> = BTreeMap::new();
        for source in sources {
            // The source's ranges of rows by session, in row order, walked as its rows come.
            let mut ranges: Vec<(u64, u64, u32)> = source
                .sessions
                .iter()
                .flat_map(|s| {
                    let l = label(&s.id);
                    s.rows.iter().map(move |r| (r[0], r[1], l))
                })
                .collect();
            ranges.sort_unstable();
            let whole = source.session_id.as_deref().map_or(NONE, label);
            let mut row = 0u64;
            let mut at = 0usize;
            each(source, &mut |event: &Event| {
                let session = if ranges.is_empty() {
                    whole
                } else {
                    while ranges.get(at).is_some_and(|r| r.1 <= row) {
                        at += 1;
                    }
                    ranges.get(at).filter(|r| r.0 <= row).map_or(NONE, |r| r.2)
                };
                row += 1;
                rows.entry(per_kind.then(|| event.kind()))
                    .or_default()
                    .push((event.event_time.as_nanos(), session));
                expected.entry(session).or_default().add(event);
            })?;
        }
        // The order the targets hold them in: by time, stably, unless one JSONL source is
        // copied as it is.
        if per_kind || sources.len() > 1 {
            for list in rows.values_mut() {
                list.sort_by_key(|(ts, _)| *ts);
            }
        }
        Ok(Some(SessionRows {
            ids,
            rows,
            taken: BTreeMap::new(),
            expected,
            found: BTreeMap::new(),
        }))
    }

    /// The session shares of a target whose events (`kind`: a Parquet file's; `None` for
    /// JSONL) `each` gives in their stored order, named `key` in errors.
    pub(crate) fn shares(
        &mut self,
        key: &str,
        kind: Option<EventKind>,
        each: impl FnOnce(&mut dyn FnMut(&Event) -> Result<()>) -> Result<()>,
    ) -> Result<Vec<SessionShare>> {
        let list = self.rows.get(&kind).map_or(&[][..], Vec::as_slice);
        let taken = self.taken.entry(kind).or_default();
        let mut runs: BTreeMap<u32, Vec<[u64; 2]>> = BTreeMap::new();
        let mut row = 0u64;
        let found = &mut self.found;
        each(&mut |event: &Event| {
            let ts = event.event_time.as_nanos();
            let Some(&(expected, session)) = list.get(*taken) else {
                return Err(unexpected(key, row, "more rows than its sources"));
            };
            if expected != ts {
                return Err(unexpected(
                    key,
                    row,
                    &format!("time {ts}, where its sources' order has {expected}"),
                ));
            }
            *taken += 1;
            found.entry(session).or_default().add(event);
            if session != NONE {
                let session_runs = runs.entry(session).or_default();
                match session_runs.last_mut() {
                    Some(run) if run[1] == row => run[1] += 1,
                    _ => session_runs.push([row, row + 1]),
                }
            }
            row += 1;
            Ok(())
        })?;
        Ok(runs
            .into_iter()
            .filter_map(|(session, rows)| {
                Some(SessionShare {
                    id: self.ids.get(session as usize)?.clone(),
                    events: rows.iter().map(|r| r[1] - r[0]).sum(),
                    rows,
                })
            })
            .collect())
    }

    /// Every row of the sources was found in the targets, each session's events the same.
    pub(crate) fn check(&self, name: &str) -> Result<()> {
        let left: usize = self
            .rows
            .iter()
            .map(|(kind, list)| list.len() - self.taken.get(kind).copied().unwrap_or(0))
            .sum();
        if left > 0 || self.found != self.expected {
            return Err(Error::Verify {
                path: name.to_string(),
                message: format!(
                    "the targets do not hold each session's events as the sources do ({left} rows not found): nothing changed"
                ),
            });
        }
        Ok(())
    }
}

/// A target's row that is not where the sources' order puts it.
fn unexpected(key: &str, row: u64, what: &str) -> Error {
    Error::Verify {
        path: key.to_string(),
        message: format!("row {row}: {what}; its sessions' rows cannot be told: nothing changed"),
    }
}

/// What a target records of its sessions: its one session when every row is of it, else the
/// shares (none when no row is of a known session).
pub(crate) fn session_of(
    shares: Vec<SessionShare>,
    events: u64,
) -> (Option<String>, Vec<SessionShare>) {
    match shares.as_slice() {
        [one] if one.events == events => (Some(one.id.clone()), Vec::new()),
        _ => (None, shares),
    }
}
