//! Which writer session each row of a migrated or consolidated file came from (SESSION-2).
//!
//! A file made from the files of one session keeps that session (`session_id`). A file made
//! from several sessions' files records, per session, the rows it holds of it
//! ([`SessionShare`]), so that a session's events can be read back from it. The two-pass way
//! notes each row's session as it writes it ([`Emitted`]). The one-pass ways hold the sources'
//! events sorted by time, stably — equal times keep the sources' order, then each file's —
//! apart from one JSONL source copied to JSONL as it is: [`SessionRows::gather`] notes each
//! source row's time and session in the sources' order and sorts them the same way. As each
//! stored target is read back (once, with its digest and statistics), [`SessionRows::row`] takes
//! its rows in order — checking each row's time against the one expected there, in the one-pass
//! case — and sums each session's events: the sessions' digests must equal the sources', or
//! nothing is changed ([`SessionRows::check`]).

use std::collections::{BTreeMap, BTreeSet};

use strata_catalog::{FileManifest, SessionShare};
use strata_columnar::EventDigest;
use strata_model::{Event, EventKind};

use crate::error::{Error, Result};

/// The label of rows of no known session.
const NONE: u32 = u32::MAX;

/// The sessions of several sources' rows, by label.
#[derive(Debug)]
pub(crate) struct Labels {
    ids: Vec<String>,
}

impl Labels {
    /// `None` when the sources are all of one session (or all of none): their session is kept
    /// whole.
    pub(crate) fn of(sources: &[FileManifest]) -> Option<Labels> {
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
        (seen.len() >= 2).then(|| Labels {
            ids: seen.into_iter().flatten().map(str::to_string).collect(),
        })
    }

    fn label(&self, id: &str) -> u32 {
        self.ids
            .iter()
            .position(|i| i == id)
            .and_then(|at| u32::try_from(at).ok())
            .unwrap_or(NONE)
    }

    /// The labels of `source`'s rows, one [`SourceRows::next`] per row in its file's order.
    pub(crate) fn rows_of(&self, source: &FileManifest) -> SourceRows {
        let mut ranges: Vec<(u64, u64, u32)> = source
            .sessions
            .iter()
            .flat_map(|s| {
                let l = self.label(&s.id);
                s.rows.iter().map(move |r| (r[0], r[1], l))
            })
            .collect();
        ranges.sort_unstable();
        SourceRows {
            cursor: RangeCursor { ranges, at: 0 },
            whole: source
                .session_id
                .as_deref()
                .map_or(NONE, |id| self.label(id)),
            row: 0,
        }
    }
}

/// Sorted `[start, end)` ranges of rows with their labels, walked as the rows come in order.
#[derive(Debug, Default)]
struct RangeCursor {
    ranges: Vec<(u64, u64, u32)>,
    at: usize,
}

impl RangeCursor {
    /// The label of `row` (rows asked in increasing order).
    fn label(&mut self, row: u64) -> u32 {
        while self.ranges.get(self.at).is_some_and(|r| r.1 <= row) {
            self.at += 1;
        }
        self.ranges
            .get(self.at)
            .filter(|r| r.0 <= row)
            .map_or(NONE, |r| r.2)
    }
}

/// The labels of one source's rows, in its file's order.
#[derive(Debug)]
pub(crate) struct SourceRows {
    cursor: RangeCursor,
    whole: u32,
    row: u64,
}

impl SourceRows {
    /// The label of the next row.
    pub(crate) fn next(&mut self) -> u32 {
        let row = self.row;
        self.row += 1;
        if self.cursor.ranges.is_empty() {
            self.whole
        } else {
            self.cursor.label(row)
        }
    }
}

/// Rows' `[start, end)` ranges by session label.
type Ranges = BTreeMap<u32, Vec<[u64; 2]>>;

/// What a writer that emits rows in the targets' order noted of each row's session (the
/// two-pass way): per target (a kind's Parquet file, or the JSONL file, key `None`) its rows'
/// ranges by label, in memory as ranges, not rows.
#[derive(Debug, Default)]
pub(crate) struct Emitted {
    per: BTreeMap<Option<EventKind>, (u64, Ranges)>,
    expected: BTreeMap<u32, EventDigest>,
}

impl Emitted {
    /// The next row of target `key`, of session `label`.
    pub(crate) fn push(&mut self, key: Option<EventKind>, label: u32, event: &Event) {
        let (rows, runs) = self.per.entry(key).or_default();
        if label != NONE {
            let session = runs.entry(label).or_default();
            match session.last_mut() {
                Some(run) if run[1] == *rows => run[1] += 1,
                _ => session.push([*rows, *rows + 1]),
            }
        }
        *rows += 1;
        self.expected.entry(label).or_default().add(event);
    }
}

/// Where each target row's session comes from.
#[derive(Debug)]
enum Order {
    /// Each row's time and label, sorted as the targets hold them (per key), and how far each
    /// list has been taken by the targets read so far.
    Listed(
        BTreeMap<Option<EventKind>, Vec<(i64, u32)>>,
        BTreeMap<Option<EventKind>, usize>,
    ),
    /// The ranges a writer noted, per key: the rows it wrote, and their ranges by label (as a
    /// cursor); and how many rows of each the targets read so far held.
    Emitted(BTreeMap<Option<EventKind>, (u64, RangeCursor, u64)>),
}

/// The sources' rows of sessions, in the order the targets hold them.
#[derive(Debug)]
pub(crate) struct SessionRows {
    labels: Labels,
    order: Order,
    /// Each session's events in the sources.
    expected: BTreeMap<u32, EventDigest>,
    /// Each session's events in the targets read so far.
    found: BTreeMap<u32, EventDigest>,
    /// The target being read: its next row and its sessions' ranges.
    row: u64,
    runs: Ranges,
    /// The first row found out of place (reported by [`check`](Self::check)).
    failure: Option<Error>,
}

impl SessionRows {
    /// `None` when the sources are all of one session (or all of none). Otherwise reads every
    /// source's events with `each` (in the file's order) and notes their sessions; `per_kind`
    /// for Parquet targets (one file per kind). Holds 16 bytes a row.
    pub(crate) fn gather(
        sources: &[FileManifest],
        per_kind: bool,
        mut each: impl FnMut(&FileManifest, &mut dyn FnMut(&Event)) -> Result<()>,
    ) -> Result<Option<Self>> {
        let Some(labels) = Labels::of(sources) else {
            return Ok(None);
        };
        let mut rows: BTreeMap<Option<EventKind>, Vec<(i64, u32)>> = BTreeMap::new();
        let mut expected: BTreeMap<u32, EventDigest> = BTreeMap::new();
        for source in sources {
            let mut labels_of = labels.rows_of(source);
            each(source, &mut |event: &Event| {
                let session = labels_of.next();
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
            labels,
            order: Order::Listed(rows, BTreeMap::new()),
            expected,
            found: BTreeMap::new(),
            row: 0,
            runs: Ranges::new(),
            failure: None,
        }))
    }

    /// The rows a writer noted as it wrote them in the targets' order ([`Emitted`]): memory
    /// follows the ranges, not the rows.
    pub(crate) fn emitted(labels: Labels, emitted: Emitted) -> Self {
        let per = emitted
            .per
            .into_iter()
            .map(|(key, (rows, runs))| {
                let mut ranges: Vec<(u64, u64, u32)> = runs
                    .into_iter()
                    .flat_map(|(l, rs)| rs.into_iter().map(move |r| (r[0], r[1], l)))
                    .collect();
                ranges.sort_unstable();
                (key, (rows, RangeCursor { ranges, at: 0 }, 0))
            })
            .collect();
        SessionRows {
            labels,
            order: Order::Emitted(per),
            expected: emitted.expected,
            found: BTreeMap::new(),
            row: 0,
            runs: Ranges::new(),
            failure: None,
        }
    }

    /// The next row of the target being read (`key`, of `kind`: a Parquet file's; `None` for
    /// JSONL), in its stored order; one out of place is kept for [`check`](Self::check).
    pub(crate) fn row(&mut self, key: &str, kind: Option<EventKind>, event: &Event) {
        if self.failure.is_some() {
            return;
        }
        let row = self.row;
        let ts = event.event_time.as_nanos();
        let session = match &mut self.order {
            Order::Listed(rows, taken) => {
                let list = rows.get(&kind).map_or(&[][..], Vec::as_slice);
                let taken = taken.entry(kind).or_default();
                match list.get(*taken) {
                    Some(&(expected, session)) if expected == ts => {
                        *taken += 1;
                        Ok(session)
                    }
                    Some(&(expected, _)) => Err(unexpected(
                        key,
                        row,
                        &format!("time {ts}, where its sources' order has {expected}"),
                    )),
                    None => Err(unexpected(key, row, "more rows than its sources")),
                }
            }
            Order::Emitted(per) => match per.get_mut(&kind) {
                Some((rows, cursor, read)) if *read < *rows => {
                    *read += 1;
                    Ok(cursor.label(row))
                }
                Some(_) => Err(unexpected(key, row, "more rows than were written")),
                None => Err(unexpected(key, row, "a row no writer noted")),
            },
        };
        let session = match session {
            Ok(session) => session,
            Err(e) => {
                self.failure = Some(e);
                return;
            }
        };
        self.found.entry(session).or_default().add(event);
        if session != NONE {
            let session_runs = self.runs.entry(session).or_default();
            match session_runs.last_mut() {
                Some(run) if run[1] == row => run[1] += 1,
                _ => session_runs.push([row, row + 1]),
            }
        }
        self.row += 1;
    }

    /// The session shares of the target whose rows were just given ([`row`](Self::row)); the
    /// next row is the next target's first.
    pub(crate) fn end_target(&mut self) -> Vec<SessionShare> {
        self.row = 0;
        std::mem::take(&mut self.runs)
            .into_iter()
            .filter_map(|(session, rows)| {
                Some(SessionShare {
                    id: self.labels.ids.get(session as usize)?.clone(),
                    events: rows.iter().map(|r| r[1] - r[0]).sum(),
                    rows,
                })
            })
            .collect()
    }

    /// Every row of the sources was found in the targets, each session's events the same.
    pub(crate) fn check(&mut self, name: &str) -> Result<()> {
        if let Some(e) = self.failure.take() {
            return Err(e);
        }
        let left: u64 = match &self.order {
            Order::Listed(rows, taken) => rows
                .iter()
                .map(|(kind, list)| (list.len() - taken.get(kind).copied().unwrap_or(0)) as u64)
                .sum(),
            Order::Emitted(per) => per.values().map(|(rows, _, read)| rows - read).sum(),
        };
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
