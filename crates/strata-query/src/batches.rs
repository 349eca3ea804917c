//! The columnar form of a query: Arrow record batches of one kind in event-time order
//! ([`QueryEngine::batches`]).
//!
//! A Parquet file that no other selected file overlaps in time is read as it is stored: its
//! batches (row groups and pages pruned by `ts`, [`strata_columnar::BatchReader`]) are cut to the
//! time range by binary search on the sorted `ts` column and filtered by symbol, source and venue
//! only when the file holds values the query does not want; no event is built. The other files
//! (JSONL of any codec, the hot tier's unsealed segments, files whose times overlap) go through
//! the event merge of [`Events`] and their events are built into batches
//! ([`strata_columnar::events_to_batch`]). Both give the same rows in the same order as
//! [`QueryEngine::run`].
//!
//! Every batch has the layout of its kind ([`strata_columnar::columns`]); its decimal columns
//! are stored as the values of its file (or, for built batches, of the batch) need:
//! `DECIMAL(18|38, s)` with the file's scale, a `<column>_scale` column when values were
//! written at smaller scales. Batches of different files can therefore differ in decimal
//! precision and scale (each value exact); [`strata_columnar::batch_to_events`] reads any of
//! them back to events.

use std::collections::{BTreeSet, VecDeque};

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;
use arrow_array::{BooleanArray, RecordBatch};
use strata_catalog::FileManifest;
use strata_core::policy::FileFormat;
use strata_model::EventKind;

use crate::{
    peek_ts, read_segment, Error, Events, Input, Pending, Query, QueryEngine, QueryStats, Result,
};

/// Rows in a batch at most (a Parquet file's batches may be cut smaller by the range).
pub const BATCH_ROWS: usize = 8192;

/// Files read together.
enum Group {
    /// A Parquet file alone in its time: its batches as stored, cut to the selection.
    Parquet(Box<FileManifest>),
    /// Files read through the event merge, their events built into batches.
    Merge(Vec<Pending>),
}

/// Which string columns a Parquet file's batches are filtered on.
#[derive(Debug, Clone, Copy, Default)]
struct Filter {
    symbol: bool,
    source: bool,
    venue: bool,
}

impl Filter {
    fn any(self) -> bool {
        self.symbol || self.source || self.venue
    }
}

/// The group being read.
enum Current<'e> {
    Parquet {
        reader: strata_columnar::BatchReader,
        name: String,
        filter: Filter,
        /// The file's schema without its key-value metadata (strata's footer), so that
        /// batches of every file and built batches share one schema when their columns do.
        schema: Option<arrow_schema::SchemaRef>,
    },
    Merge(Box<Events<'e>>),
}

/// The record batches of a query, in event-time order ([`QueryEngine::batches`]). An error
/// ends them. Memory: one batch of each file the merge holds open (as [`Events`]), or one
/// Parquet batch.
pub struct Batches<'e> {
    engine: &'e QueryEngine,
    query: Query,
    kind: EventKind,
    left: Option<u64>,
    groups: VecDeque<Group>,
    current: Option<Current<'e>>,
    last_ts: i64,
    stats: QueryStats,
    /// An error met after the rows of the batch returned before it.
    pending_error: Option<Error>,
    failed: bool,
}

impl std::fmt::Debug for Batches<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batches")
            .field("query", &self.query)
            .field("stats", &self.stats)
            .finish()
    }
}

impl QueryEngine {
    /// The events of `query` as Arrow record batches of its one kind, in event-time order: the
    /// same rows as [`run`](Self::run), read from Parquet without building events where a file
    /// allows it (see [`Batches`]). The query must name exactly one kind.
    pub fn batches(&self, query: &Query) -> Result<Batches<'_>> {
        let [kind] = query.kinds.as_slice() else {
            return Err(Error::Selection(format!(
                "a columnar query reads one event kind at a time; {} given",
                if query.kinds.is_empty() {
                    "none".to_string()
                } else {
                    query
                        .kinds
                        .iter()
                        .map(|k| k.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )));
        };
        let kind = *kind;
        let (query, pending) = self.plan(query)?;
        let stats = QueryStats {
            files: pending.len(),
            ..QueryStats::default()
        };
        Ok(Batches {
            engine: self,
            left: query.limit,
            groups: groups(pending)?,
            query,
            kind,
            current: None,
            last_ts: i64::MIN,
            stats,
            pending_error: None,
            failed: false,
        })
    }
}

/// A file's time range in nanoseconds (unknown: everything); an unsealed segment is read here,
/// once, and its range taken from its lines (the merge reads the same bytes).
fn ranged(p: Pending) -> Result<((i64, i64), Pending)> {
    const ALL: (i64, i64) = (i64::MIN, i64::MAX);
    match p {
        Pending::Stored(ref m) => {
            let range = m
                .stats
                .first_event_time
                .zip(m.stats.last_event_time)
                .map_or(ALL, |(a, b)| (a.as_nanos(), b.as_nanos()));
            Ok((range, p))
        }
        Pending::Open(path, key) => {
            // Sealed meanwhile: the merge reads the sealed file; its range is not known here.
            let Some(plain) = read_segment(&path)? else {
                return Ok((ALL, Pending::Open(path, key)));
            };
            let mut range: Option<(i64, i64)> = Some((i64::MAX, i64::MIN));
            for line in plain.split(|&b| b == b'\n') {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let Some(ts) = peek_ts(line) else {
                    range = None;
                    break;
                };
                range = range.map(|(a, b)| (a.min(ts), b.max(ts)));
            }
            let range = range.filter(|(a, b)| a <= b).unwrap_or(ALL);
            Ok((range, Pending::Read(plain, path)))
        }
        Pending::Read(..) => Ok((ALL, p)),
    }
}

/// Splits the files into groups that follow each other in time: a group's files all end
/// before the next group's first event (files that meet at an instant are merged, so that its
/// events come in `run`'s order). A group of one Parquet file is read as batches.
fn groups(pending: Vec<Pending>) -> Result<VecDeque<Group>> {
    let mut ranged_files = Vec::with_capacity(pending.len());
    // Each file's place in the engine's order, which the merge keeps within a group.
    for (place, p) in pending.into_iter().enumerate() {
        let (range, p) = ranged(p)?;
        ranged_files.push((range, place, p));
    }
    ranged_files.sort_by_key(|((first, _), place, _)| (*first, *place));
    let mut groups = VecDeque::new();
    let mut members: Vec<(usize, Pending)> = Vec::new();
    let mut end = i64::MIN;
    let close = |members: &mut Vec<(usize, Pending)>, groups: &mut VecDeque<Group>| {
        let mut taken = std::mem::take(members);
        match taken.as_slice() {
            [] => {}
            // (A file of several sessions read for one of them goes through the merge, which
            // reads that session's rows.)
            [(_, Pending::Stored(m))]
                if m.format == FileFormat::Parquet && m.sessions.is_empty() =>
            {
                if let Some((_, Pending::Stored(m))) = taken.pop() {
                    groups.push_back(Group::Parquet(m));
                }
            }
            _ => {
                // The merge opens files in the engine's order (segments first).
                taken.sort_by_key(|(place, _)| *place);
                groups.push_back(Group::Merge(taken.into_iter().map(|(_, p)| p).collect()));
            }
        }
    };
    for ((first, last), place, p) in ranged_files {
        if !members.is_empty() && first > end {
            close(&mut members, &mut groups);
        }
        end = if members.is_empty() {
            last
        } else {
            end.max(last)
        };
        members.push((place, p));
    }
    close(&mut members, &mut groups);
    Ok(groups)
}

impl<'e> Batches<'e> {
    /// What the query has read so far.
    pub fn stats(&self) -> &QueryStats {
        &self.stats
    }

    fn bounds(&self) -> (Option<i64>, Option<i64>) {
        (
            self.query.from.map(|t| t.as_nanos()),
            self.query.to.map(|t| t.as_nanos()),
        )
    }

    /// Starts the next group; `false` when none is left.
    fn next_group(&mut self) -> Result<bool> {
        let Some(group) = self.groups.pop_front() else {
            return Ok(false);
        };
        match group {
            Group::Merge(pending) => {
                let mut query = self.query.clone();
                query.limit = None;
                self.current = Some(Current::Merge(Box::new(Events::over(
                    self.engine,
                    query,
                    pending,
                    false,
                ))));
            }
            Group::Parquet(m) => {
                let name = m.path.clone();
                let damaged = |e: strata_columnar::Error| Error::Damaged {
                    path: name.clone(),
                    message: e.to_string(),
                };
                let (from, to) = self.bounds();
                let (reader, pruning) = match self.engine.fetch(&m)? {
                    Input::Local(path) => {
                        let file = std::fs::File::open(&path)
                            .map_err(|source| Error::Io { path, source })?;
                        strata_columnar::BatchReader::in_range_of(
                            file,
                            from,
                            to,
                            &self.query.symbols,
                        )
                        .map_err(damaged)?
                    }
                    Input::Bytes(bytes) => strata_columnar::BatchReader::in_range_of(
                        bytes,
                        from,
                        to,
                        &self.query.symbols,
                    )
                    .map_err(damaged)?,
                };
                self.stats.files_read += 1;
                self.stats.read.push(name.clone());
                self.stats.parquet += pruning;
                self.stats.max_open = self.stats.max_open.max(1);
                // A file of another kind holds nothing wanted.
                if reader.meta().kind != self.kind {
                    return Ok(true);
                }
                // Filtered on a column only when the file holds values the query leaves out.
                let needs = |wanted: &[String], held: &BTreeSet<String>| {
                    !wanted.is_empty()
                        && (held.is_empty() || held.iter().any(|h| !wanted.contains(h)))
                };
                let filter = Filter {
                    symbol: needs(&self.query.symbols, &m.stats.symbols),
                    source: needs(&self.query.sources, &m.stats.sources),
                    venue: !self.query.venues.is_empty(),
                };
                self.current = Some(Current::Parquet {
                    reader,
                    name,
                    filter,
                    schema: None,
                });
            }
        }
        Ok(true)
    }

    /// The wanted rows of a Parquet batch: cut to the range, filtered, and whether the file has
    /// nothing more in the range.
    fn cut(
        &mut self,
        batch: &RecordBatch,
        name: &str,
        filter: Filter,
    ) -> Result<(RecordBatch, bool)> {
        let damaged = |message: String| Error::Damaged {
            path: name.to_string(),
            message,
        };
        let ts = batch
            .column(0)
            .as_primitive_opt::<TimestampNanosecondType>()
            .ok_or_else(|| {
                damaged("its first column is not `ts` as a nanosecond timestamp".into())
            })?;
        let values = ts.values();
        if !values.windows(2).all(|w| w[0] <= w[1]) {
            return Err(damaged("its rows are not in event-time order".into()));
        }
        self.stats.events_scanned += values.len() as u64;
        let (from, to) = self.bounds();
        let start = from.map_or(0, |f| values.partition_point(|&t| t < f));
        let end = to.map_or(values.len(), |t| values.partition_point(|&v| v < t));
        let past = end < values.len();
        let mut out = batch.slice(start, end.saturating_sub(start));
        if filter.any() && out.num_rows() > 0 {
            let mask = self.mask(&out, filter).map_err(damaged)?;
            out = arrow_select::filter::filter_record_batch(&out, &mask)
                .map_err(|e| damaged(e.to_string()))?;
        }
        Ok((out, past))
    }

    /// Which rows hold a wanted symbol, source and venue.
    fn mask(
        &self,
        batch: &RecordBatch,
        filter: Filter,
    ) -> std::result::Result<BooleanArray, String> {
        let mut keep = vec![true; batch.num_rows()];
        let mut apply = |column: &str, wanted: &[String]| -> std::result::Result<(), String> {
            let array = batch
                .column_by_name(column)
                .and_then(|a| a.as_string_opt::<i32>())
                .ok_or_else(|| format!("no string column `{column}`"))?;
            for (k, v) in keep.iter_mut().zip(array.iter()) {
                *k = *k && v.is_some_and(|v| wanted.iter().any(|w| w == v));
            }
            Ok(())
        };
        if filter.symbol {
            apply("symbol", &self.query.symbols)?;
        }
        if filter.source {
            apply("source", &self.query.sources)?;
        }
        if filter.venue {
            apply("venue", &self.query.venues)?;
        }
        Ok(BooleanArray::from(keep))
    }

    /// The next batch with rows, or `None` at the end.
    fn step(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if let Some(e) = self.pending_error.take() {
                return Err(e);
            }
            if self.left == Some(0) {
                self.count_reads();
                return Ok(None);
            }
            let Some(current) = self.current.as_mut() else {
                if !self.next_group()? {
                    self.count_reads();
                    return Ok(None);
                }
                continue;
            };
            let want = self.left.map_or(BATCH_ROWS, |l| {
                usize::try_from(l).unwrap_or(BATCH_ROWS).min(BATCH_ROWS)
            });
            let (batch, name) = match current {
                Current::Parquet {
                    reader,
                    name,
                    filter,
                    schema,
                } => {
                    let (name, filter) = (name.clone(), *filter);
                    let Some(batch) = reader.next() else {
                        self.current = None;
                        continue;
                    };
                    let damaged = |e: &dyn std::fmt::Display| Error::Damaged {
                        path: name.clone(),
                        message: e.to_string(),
                    };
                    let batch = batch.map_err(|e| damaged(&e))?;
                    let schema = schema.get_or_insert_with(|| {
                        std::sync::Arc::new(
                            batch
                                .schema()
                                .as_ref()
                                .clone()
                                .with_metadata(std::collections::HashMap::new()),
                        )
                    });
                    let batch = RecordBatch::try_new(schema.clone(), batch.columns().to_vec())
                        .map_err(|e| damaged(&e))?;
                    let (mut out, past) = self.cut(&batch, &name, filter)?;
                    if past {
                        self.current = None;
                    }
                    if out.num_rows() > want {
                        out = out.slice(0, want);
                    }
                    (out, name)
                }
                Current::Merge(events) => {
                    let mut chunk = Vec::with_capacity(want.min(1024));
                    for event in events.by_ref().take(want) {
                        match event {
                            Ok(e) => chunk.push(e),
                            // The rows before the error come first, as `run` gives them.
                            Err(e) if !chunk.is_empty() => {
                                self.pending_error = Some(e);
                                break;
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    if chunk.is_empty() {
                        self.end_group();
                        continue;
                    }
                    let batch =
                        strata_columnar::events_to_batch(self.kind, &chunk).map_err(|e| {
                            Error::Damaged {
                                path: "query".into(),
                                message: e.to_string(),
                            }
                        })?;
                    self.stats.rows_built += batch.num_rows() as u64;
                    (batch, "query".to_string())
                }
            };
            if batch.num_rows() == 0 {
                continue;
            }
            let ts = batch.column(0).as_primitive::<TimestampNanosecondType>();
            if ts.value(0) < self.last_ts {
                return Err(Error::Damaged {
                    path: name,
                    message: format!(
                        "an event at {} ns comes before one already returned ({} ns): the catalog's time range for the file is wrong (`strata catalog rebuild`)",
                        ts.value(0),
                        self.last_ts
                    ),
                });
            }
            self.last_ts = ts.value(ts.len() - 1);
            let rows = batch.num_rows() as u64;
            if let Some(left) = &mut self.left {
                *left -= rows.min(*left);
            }
            self.stats.events_returned += rows;
            return Ok(Some(batch));
        }
    }

    /// Ends the group being read, taking a merge's statistics.
    fn end_group(&mut self) {
        if let Some(Current::Merge(events)) = self.current.take() {
            let s = events.stats();
            self.stats.files_read += s.files_read;
            self.stats.read.extend(s.read.iter().cloned());
            self.stats.events_scanned += s.events_scanned;
            self.stats.max_open = self.stats.max_open.max(s.max_open);
            self.stats.parquet += s.parquet;
        }
    }

    /// Counts the catalogued files read in the read log (once).
    fn count_reads(&mut self) {
        self.end_group();
        crate::count_reads(&self.engine.root, &mut self.stats);
    }
}

impl Drop for Batches<'_> {
    /// A query left before its end still counts the files it read.
    fn drop(&mut self) {
        self.count_reads();
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        if self.failed {
            return None;
        }
        match self.step() {
            Ok(batch) => batch.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
