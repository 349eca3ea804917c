//! Writer sessions as a unit (SESSION-2): verified against the archive, compared with each
//! other, merged into one; listed by `strata sessions` and exported with `Query::session`.
//!
//! - [`verify`]: every file the catalog says the session sealed is read and its SHA-256
//!   checked, and the session's events in the archive are counted by kind, symbol and source
//!   against its report;
//! - [`compare`]: two sessions' events side by side, by kind and symbol, with the market events
//!   they share — the same kind, symbol, venue, time and values, whatever the source, receive
//!   time or sequence (two collectors of one feed) — found by walking both in time order, so
//!   memory holds one instant's events;
//! - [`merge`]: a new session standing for several (`merged_from`), its counts summed; a query
//!   of it reads all of theirs.
//!
//! Counts can differ from a report without a fault, and `verify` then says why in a note
//! rather than a problem: a session still running (its unsealed segments are not in the
//! catalog yet); a session interrupted (its report holds its last checkpoint, while the segments
//! it left open were sealed under it by the next writer: it holds more than it counted); a
//! session that recovered segments no session listed (an older build's) or an import staged
//! before it (it holds more than it counted); seals that failed (their segments were sealed by a
//! later writer, under this session when it listed them). A file consolidated from several sessions'
//! files records each one's rows (`FileManifest::sessions`), which a session's query reads; one
//! consolidated by an older build that did not belongs to none of them, so a shortfall beside
//! such a file is noted too; data deleted by retention is a shortfall `verify` reports, naming
//! the lifecycle audit trail as where to look.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::path::Path;

use serde::Serialize;
use strata_catalog::FileQuery;
use strata_ingest::session::{SessionReport, SessionState};
use strata_model::{jsonl, Event, Timestamp};

use crate::{Error, Query, QueryEngine, Result};

/// The sessions `id` stands for: its members when it is a merged session (and theirs), else
/// itself.
pub fn members(root: &Path, id: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut todo = vec![id.to_string()];
    let mut seen = BTreeSet::new();
    while let Some(next) = todo.pop() {
        if !seen.insert(next.clone()) {
            continue;
        }
        match SessionReport::read(&SessionReport::path(root, &next)) {
            Ok(r) if !r.merged_from.is_empty() => todo.extend(r.merged_from),
            _ => {
                out.insert(next);
            }
        }
    }
    out
}

/// A session's report; [`Error::Selection`] naming it when the archive has no such session.
pub fn report(root: &Path, id: &str) -> Result<SessionReport> {
    let path = SessionReport::path(root, id);
    if !path.exists() {
        return Err(Error::Selection(format!(
            "no session `{id}` (`strata sessions` lists them)"
        )));
    }
    SessionReport::read(&path).map_err(|e| Error::Damaged {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionCheck {
    /// The session.
    pub id: String,
    /// Its state (a running session's counts are those of its last checkpoint).
    pub state: String,
    /// The sessions it stands for (itself, or a merged session's members).
    pub members: Vec<String>,
    /// Catalogued files it sealed (or that kept its session in colder tiers), each read and
    /// checked against its SHA-256.
    pub files: usize,
    /// Events of the session the archive holds now.
    pub events: u64,
    /// Events its report counts.
    pub reported: u64,
    /// Each difference, naming the file, kind, symbol or source.
    pub problems: Vec<String>,
    /// What explains a shortfall without a fault (files consolidated across sessions).
    pub notes: Vec<String>,
}

/// Counts of events by kind, symbol and source.
#[derive(Debug, Default)]
struct Counts {
    events: u64,
    by_kind: BTreeMap<String, u64>,
    by_symbol: BTreeMap<String, u64>,
    by_source: BTreeMap<String, u64>,
}

impl Counts {
    fn add(&mut self, e: &Event) {
        self.events += 1;
        *self.by_kind.entry(e.kind().to_string()).or_default() += 1;
        *self.by_symbol.entry(e.symbol.clone()).or_default() += 1;
        *self.by_source.entry(e.source.clone()).or_default() += 1;
    }
}

/// Checks a session: its files' bytes and its events' counts against its report.
pub fn verify(engine: &QueryEngine, id: &str) -> Result<SessionCheck> {
    let report = report(&engine.root, id)?;
    let members = members(&engine.root, id);
    let mut check = SessionCheck {
        id: id.to_string(),
        state: report.state.as_str().to_string(),
        members: members.iter().cloned().collect(),
        reported: report.events,
        ..SessionCheck::default()
    };
    // What can make the archive hold more or fewer events than the report, without a fault.
    let mut more_ok = Vec::new();
    let mut fewer_ok = Vec::new();
    let mut members_reports = Vec::new();
    for m in &members {
        if let Ok(r) = SessionReport::read(&SessionReport::path(&engine.root, m)) {
            members_reports.push(r);
        }
    }
    for r in &members_reports {
        match r.state {
            SessionState::Running => fewer_ok.push(format!(
                "session {} is still running: its unsealed segments are not counted here yet",
                r.id
            )),
            SessionState::Interrupted => {
                let note = format!(
                    "session {} was interrupted: its report holds its last checkpoint, and the writer that recovered it sealed the segments it left open under it (or, for segments it did not list, as an older build did not, under its own session)",
                    r.id
                );
                more_ok.push(note.clone());
                fewer_ok.push(note);
            }
            SessionState::Closed => {}
        }
        if !r.recovery.is_empty() {
            more_ok.push(format!(
                "session {} recovered what earlier sessions or staged imports left (its recovery notes say under which session each segment was sealed), which its counts do not include",
                r.id
            ));
        }
        if !r.seal_failures.is_empty() {
            fewer_ok.push(format!(
                "session {} had {} failed seal(s): those segments were sealed by a later writer",
                r.id,
                r.seal_failures.len()
            ));
        }
    }
    // Every file of the session, read whole and checked.
    let all = engine.catalog.find(&FileQuery::all())?;
    let mut consolidated = 0usize;
    for m in &all {
        // Its own, or one made from several sessions' files that holds rows of its.
        let ours = m.session_id.as_ref().is_some_and(|s| members.contains(s))
            || m.sessions.iter().any(|share| members.contains(&share.id));
        if ours {
            check.files += 1;
            // `fetch` checks the bytes against the SHA-256 the file was sealed with.
            if let Err(e) = engine.fetch(m) {
                check.problems.push(e.to_string());
            }
        }
        // Rows of no known session: consolidated by a build that did not keep sessions' rows
        // (or from such a file).
        let shared: u64 = m.sessions.iter().map(|s| s.events).sum();
        if m.session_id.is_none() && shared < m.stats.event_count && m.lineage.len() > 1 {
            consolidated += 1;
        }
    }
    // The session's events now, against the report.
    let mut now = Counts::default();
    let counted = engine
        .run(&Query {
            session: Some(id.to_string()),
            ..Query::default()
        })
        .and_then(|events| {
            for event in events {
                now.add(&event?);
            }
            Ok(())
        });
    if let Err(e) = counted {
        // A damaged file stops the count: what was found so far stands, with the reason.
        check.events = now.events;
        check
            .problems
            .push(format!("the session's events could not all be read: {e}"));
        return Ok(check);
    }
    check.events = now.events;
    let (mut short, mut over) = (Vec::new(), Vec::new());
    for (what, reported, held) in [
        ("kind", &report.by_kind, &now.by_kind),
        ("symbol", &report.by_symbol, &now.by_symbol),
        ("source", &report.by_source, &now.by_source),
    ] {
        let names: BTreeSet<&String> = reported.keys().chain(held.keys()).collect();
        for name in names {
            let (r, h) = (
                reported.get(name).copied().unwrap_or(0),
                held.get(name).copied().unwrap_or(0),
            );
            let line =
                format!("{what} {name}: the report counts {r} events, the archive holds {h}");
            if h < r {
                short.push(line);
            } else if h > r {
                over.push(line);
            }
        }
    }
    if !short.is_empty() && consolidated > 0 {
        fewer_ok.push(format!(
            "{consolidated} catalogued file(s) were consolidated from several files without keeping each session's rows (an older build): events of this session may be among them"
        ));
    }
    for (lines, explained) in [(short, &fewer_ok), (over, &more_ok)] {
        if lines.is_empty() {
            continue;
        }
        if explained.is_empty() {
            check.problems.extend(lines.into_iter().map(|l| {
                format!("{l} (events deleted by retention are in the lifecycle audit trail)")
            }));
        } else {
            check.notes.extend(lines);
            check.notes.extend(explained.iter().cloned());
        }
    }
    check.notes.dedup();
    Ok(check)
}

/// One kind and symbol in a [`SessionComparison`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Side {
    /// Events of the first session.
    pub a: u64,
    /// Events of the second.
    pub b: u64,
    /// Market events both hold (counted once per pair).
    pub shared: u64,
    /// The first session's first and last event times.
    pub a_range: Option<(Timestamp, Timestamp)>,
    /// The second's.
    pub b_range: Option<(Timestamp, Timestamp)>,
}

/// What [`compare`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SessionComparison {
    /// The first session.
    pub a: String,
    /// The second.
    pub b: String,
    /// By `kind symbol`.
    pub by_stream: BTreeMap<String, Side>,
    /// Totals.
    pub total: Side,
}

/// A market event's identity: everything but where and when it was received and its number
/// (two captures of one feed differ in those).
fn market_key(e: &Event) -> u64 {
    let mut plain = e.clone();
    plain.source.clear();
    plain.receive_time = plain.event_time;
    plain.sequence = None;
    plain.schema = strata_model::SchemaVersion::CURRENT;
    plain.time_basis = strata_model::TimeBasis::Venue;
    let mut line = Vec::with_capacity(256);
    // Encoding into a Vec cannot fail (see `jsonl::encode_into`).
    let _ = jsonl::encode_into(&plain, &mut line);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    line.hash(&mut h);
    h.finish()
}

/// Compares two sessions' events (see the module's documentation).
pub fn compare(engine: &QueryEngine, a: &str, b: &str) -> Result<SessionComparison> {
    report(&engine.root, a)?;
    report(&engine.root, b)?;
    let run = |id: &str| {
        engine.run(&Query {
            session: Some(id.to_string()),
            ..Query::default()
        })
    };
    let (mut left, mut right) = (run(a)?.peekable(), run(b)?.peekable());
    let mut out = SessionComparison {
        a: a.to_string(),
        b: b.to_string(),
        ..SessionComparison::default()
    };
    let widen = |range: &mut Option<(Timestamp, Timestamp)>, t: Timestamp| {
        *range = Some(range.map_or((t, t), |(first, _)| (first, t)));
    };
    loop {
        // The next instant either session has an event at.
        let next = |it: &mut std::iter::Peekable<crate::Events<'_>>| -> Result<Option<i64>> {
            match it.peek() {
                None => Ok(None),
                Some(Ok(e)) => Ok(Some(e.event_time.as_nanos())),
                Some(Err(_)) => match it.next() {
                    Some(Err(e)) => Err(e),
                    _ => Ok(None),
                },
            }
        };
        let (ta, tb) = (next(&mut left)?, next(&mut right)?);
        let Some(t) = [ta, tb].into_iter().flatten().min() else {
            break;
        };
        // Both sessions' events at `t`: counted, and paired by market identity.
        let mut at_a: HashMap<u64, u64> = HashMap::new();
        let mut streams_at: HashMap<u64, String> = HashMap::new();
        let take = |it: &mut std::iter::Peekable<crate::Events<'_>>| -> Result<Vec<Event>> {
            let mut got = Vec::new();
            while let Some(Ok(e)) = it.peek() {
                if e.event_time.as_nanos() != t {
                    break;
                }
                if let Some(Ok(e)) = it.next() {
                    got.push(e);
                }
            }
            Ok(got)
        };
        for e in take(&mut left)? {
            let stream = format!("{} {}", e.kind(), e.symbol);
            let side = out.by_stream.entry(stream.clone()).or_default();
            side.a += 1;
            widen(&mut side.a_range, e.event_time);
            out.total.a += 1;
            widen(&mut out.total.a_range, e.event_time);
            let key = market_key(&e);
            *at_a.entry(key).or_default() += 1;
            streams_at.insert(key, stream);
        }
        for e in take(&mut right)? {
            let stream = format!("{} {}", e.kind(), e.symbol);
            let side = out.by_stream.entry(stream).or_default();
            side.b += 1;
            widen(&mut side.b_range, e.event_time);
            out.total.b += 1;
            widen(&mut out.total.b_range, e.event_time);
            let key = market_key(&e);
            if let Some(n) = at_a.get_mut(&key).filter(|n| **n > 0) {
                *n -= 1;
                if let Some(side) = streams_at.get(&key).and_then(|s| out.by_stream.get_mut(s)) {
                    side.shared += 1;
                }
                out.total.shared += 1;
            }
        }
    }
    Ok(out)
}

/// Makes `into` a session standing for `ids` (at least two, closed or interrupted; a merged
/// session among them stands for its members, and no session may come twice): its report sums
/// theirs and names them in `merged_from`.
pub fn merge(root: &Path, ids: &[String], into: &str) -> Result<SessionReport> {
    let unique: BTreeSet<&String> = ids.iter().collect();
    if unique.len() < 2 {
        return Err(Error::Selection(
            "a merge needs at least two different sessions".into(),
        ));
    }
    if into.is_empty()
        || into.len() > 100
        || !into
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        || into.starts_with(['.', '-'])
    {
        return Err(Error::Selection(format!(
            "`{into}` cannot name a session: up to 100 letters, digits, `-`, `_` and `.`, not starting with `.` or `-`"
        )));
    }
    // Each id's own sessions (a merged session's members): none may count twice.
    let mut leaves: BTreeSet<String> = BTreeSet::new();
    for id in &unique {
        report(root, id)?;
        for leaf in members(root, id) {
            if !leaves.insert(leaf.clone()) {
                return Err(Error::Selection(format!(
                    "session `{leaf}` is in the merge twice (through `{id}`): each session once"
                )));
            }
        }
    }
    let mut merged = SessionReport {
        id: into.to_string(),
        state: SessionState::Closed,
        merged_from: unique.iter().map(|s| (*s).clone()).collect(),
        ..SessionReport::default()
    };
    let mut tags = BTreeSet::new();
    for id in &leaves {
        let r = report(root, id)?;
        if r.state == SessionState::Running {
            return Err(Error::Selection(format!(
                "session `{id}` is still running: merge it once its writer has closed"
            )));
        }
        if merged.started_at.is_empty() || r.started_at < merged.started_at {
            merged.started_at = r.started_at.clone();
        }
        if r.finished_at > merged.finished_at {
            merged.finished_at = r.finished_at.clone();
        }
        merged.duration_ms += r.duration_ms;
        merged.events += r.events;
        for (into_map, from) in [
            (&mut merged.by_symbol, &r.by_symbol),
            (&mut merged.by_kind, &r.by_kind),
            (&mut merged.by_source, &r.by_source),
            (&mut merged.rejected_by_reason, &r.rejected_by_reason),
        ] {
            for (k, v) in from {
                *into_map.entry(k.clone()).or_default() += v;
            }
        }
        merged.rejected += r.rejected;
        merged.skipped += r.skipped;
        merged.gap_count += r.gap_count;
        merged.gaps.extend(r.gaps.iter().cloned());
        merged.bytes_written += r.bytes_written;
        merged.files_sealed += r.files_sealed;
        merged.bytes_sealed += r.bytes_sealed;
        merged.files_verified += r.files_verified;
        merged.imports_committed += r.imports_committed;
        tags.extend(r.tags.iter().cloned());
    }
    merged.gaps.truncate(SessionReport::MAX_GAPS_LISTED);
    merged.tags = tags.into_iter().collect();
    // The session's folder is made here, create-only: of two merges into one name, one wins.
    let folder = SessionReport::path(root, into)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.to_path_buf());
    match std::fs::create_dir(&folder) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Selection(format!(
                "a session `{into}` exists already"
            )))
        }
        Err(source) => {
            return Err(Error::Io {
                path: folder,
                source,
            })
        }
    }
    merged.write(root).map_err(|e| Error::Damaged {
        path: SessionReport::path(root, into).display().to_string(),
        message: e.to_string(),
    })?;
    Ok(merged)
}
