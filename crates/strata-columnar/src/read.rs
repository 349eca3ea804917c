//! Parquet → events.

use crate::columns::events_from_batch;
use crate::error::{Error, Result};
use crate::meta::{FileMeta, META_KEY};
use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::reader::ChunkReader;
use parquet::file::statistics::Statistics;
use std::vec::IntoIter;
use strata_model::Event;

/// strata's footer metadata of a Parquet file.
pub fn file_meta(metadata: &ParquetMetaData) -> Result<FileMeta> {
    let text = metadata
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|kv| kv.key == META_KEY))
        .and_then(|kv| kv.value.as_deref())
        .ok_or_else(|| Error::NotStrata(format!("no `{META_KEY}` key in the footer")))?;
    FileMeta::from_json(text)
}

/// The events of a strata Parquet file, in file order (event-time order), read a batch at a
/// time.
pub struct EventReader {
    meta: FileMeta,
    reader: ParquetRecordBatchReader,
    pending: IntoIter<Event>,
    rows: u64,
    failed: bool,
}

/// What reading a file in a time range skipped: strata files are sorted by `ts`, so the row
/// groups' statistics and the pages' column index on `ts` say where a range lies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruning {
    /// Row groups in the file.
    pub row_groups: usize,
    /// Row groups whose `ts` statistics overlap the range (the others are not read).
    pub row_groups_read: usize,
    /// Rows in the file.
    pub rows: u64,
    /// Rows of the pages whose `ts` range overlaps the range: what is decoded.
    pub rows_read: u64,
    /// Row groups left out because they hold none of the symbols asked for: their `symbol`
    /// statistics (least and greatest) leave them all out, or their `symbol` bloom filter
    /// (files written with bloom filters) holds none of them.
    pub row_groups_symbol_skipped: usize,
}

impl std::ops::AddAssign for Pruning {
    /// Adds another file's counts (a query's total).
    fn add_assign(&mut self, other: Pruning) {
        self.row_groups += other.row_groups;
        self.row_groups_read += other.row_groups_read;
        self.rows += other.rows;
        self.rows_read += other.rows_read;
        self.row_groups_symbol_skipped += other.row_groups_symbol_skipped;
    }
}

impl EventReader {
    /// Opens a file (a `std::fs::File`, or `bytes::Bytes` of one).
    pub fn new<R: ChunkReader + 'static>(input: R) -> Result<Self> {
        let builder = ParquetRecordBatchReaderBuilder::try_new(input)?;
        let meta = file_meta(builder.metadata())?;
        let reader = builder.with_batch_size(8192).build()?;
        Ok(EventReader {
            meta,
            reader,
            pending: Vec::new().into_iter(),
            rows: 0,
            failed: false,
        })
    }

    /// Opens a file to read the events of `[from, to)` (nanoseconds; `None`: unbounded): only
    /// the row groups whose `ts` statistics overlap it, and in them only the pages whose `ts`
    /// range does (the page index). Events just outside the range that share a page with
    /// events in it are read too: the caller filters each event.
    pub fn in_range<R: ChunkReader + 'static>(
        input: R,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<(Self, Pruning)> {
        Self::in_range_of(input, from, to, &[])
    }

    /// [`in_range`](Self::in_range) for some symbols only (empty: every symbol): a row group
    /// whose `symbol` bloom filter holds none of them is not read either.
    pub fn in_range_of<R: ChunkReader + 'static>(
        input: R,
        from: Option<i64>,
        to: Option<i64>,
        symbols: &[String],
    ) -> Result<(Self, Pruning)> {
        let (batches, pruning) = BatchReader::in_range_of(input, from, to, symbols)?;
        Ok((
            EventReader {
                meta: batches.meta,
                reader: batches.reader,
                pending: Vec::new().into_iter(),
                rows: 0,
                failed: false,
            },
            pruning,
        ))
    }

    /// What the footer says the file holds.
    pub fn meta(&self) -> &FileMeta {
        &self.meta
    }

    fn refill(&mut self) -> Result<bool> {
        let Some(batch) = self.reader.next().transpose()? else {
            return Ok(false);
        };
        let mut events = Vec::with_capacity(batch.num_rows());
        events_from_batch(self.meta.kind, &batch, self.rows, &mut events)?;
        self.rows += batch.num_rows() as u64;
        self.pending = events.into_iter();
        Ok(true)
    }
}

/// The record batches of a strata Parquet file as it stores them (its kind's schema,
/// [`crate::columns`]), in file order (event-time order): the columnar form of [`EventReader`],
/// with no event built.
pub struct BatchReader {
    meta: FileMeta,
    reader: ParquetRecordBatchReader,
}

impl std::fmt::Debug for BatchReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchReader")
            .field("meta", &self.meta)
            .finish()
    }
}

impl BatchReader {
    /// Opens a file to read the rows of `[from, to)` (nanoseconds; `None`: unbounded) as
    /// [`EventReader::in_range`] does: only the row groups and pages whose `ts` range overlaps
    /// it. Rows just outside the range that share a page with rows in it come too: the caller
    /// cuts each batch (the rows are sorted by `ts`).
    pub fn in_range<R: ChunkReader + 'static>(
        input: R,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<(Self, Pruning)> {
        Self::in_range_of(input, from, to, &[])
    }

    /// [`in_range`](Self::in_range) for some symbols only (empty: every symbol): a row group
    /// whose `symbol` bloom filter holds none of them is not read either. The batches still
    /// hold every symbol of the row groups read: the caller filters rows.
    pub fn in_range_of<R: ChunkReader + 'static>(
        input: R,
        from: Option<i64>,
        to: Option<i64>,
        symbols: &[String],
    ) -> Result<(Self, Pruning)> {
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
        let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(input, options)?;
        let meta = file_meta(builder.metadata())?;
        // The `symbol` column's leaf, whose bloom filters (when written) say which symbols a
        // row group cannot hold.
        let symbol_leaf = builder
            .parquet_schema()
            .columns()
            .iter()
            .position(|c| c.path().string() == "symbol");
        let metadata = builder.metadata().clone();
        let overlaps = |min: Option<i64>, max: Option<i64>| {
            // Unknown bounds: read it.
            from.is_none_or(|from| max.is_none_or(|max| max >= from))
                && to.is_none_or(|to| min.is_none_or(|min| min < to))
        };
        let page_index = metadata.page_index();
        let mut pruning = Pruning {
            row_groups: metadata.num_row_groups(),
            ..Pruning::default()
        };
        let mut groups = Vec::new();
        let mut selectors = Vec::new();
        for (i, group) in metadata.row_groups().iter().enumerate() {
            let rows = u64::try_from(group.num_rows()).unwrap_or(0);
            pruning.rows += rows;
            let (min, max) = match group.column(0).statistics() {
                Some(Statistics::Int64(s)) => (s.min_opt().copied(), s.max_opt().copied()),
                _ => (None, None),
            };
            if !overlaps(min, max) {
                continue;
            }
            if let (false, Some(leaf)) = (symbols.is_empty(), symbol_leaf) {
                // The least and greatest symbol of the group.
                let bounds = match group.column(leaf).statistics() {
                    Some(Statistics::ByteArray(s)) => s
                        .min_bytes_opt()
                        .zip(s.max_bytes_opt())
                        .map(|(a, b)| (a.to_vec(), b.to_vec())),
                    _ => None,
                };
                let within = |s: &String| {
                    bounds.as_ref().is_none_or(|(min, max)| {
                        s.as_bytes() >= min.as_slice() && s.as_bytes() <= max.as_slice()
                    })
                };
                let mut held = symbols.iter().filter(|s| within(s)).peekable();
                let absent = if held.peek().is_none() {
                    true
                } else {
                    match builder.get_row_group_column_bloom_filter(i, leaf)? {
                        Some(bloom) => !held.any(|s| bloom.check(s.as_str())),
                        None => false,
                    }
                };
                if absent {
                    pruning.row_groups_symbol_skipped += 1;
                    continue;
                }
            }
            groups.push(i);
            pruning.row_groups_read += 1;
            // The pages of `ts` in this row group, each with its first row and its range.
            let pages = page_index.and_then(|index| {
                let locations = index.offset_index(i, 0)?.page_locations();
                match index.column_index(i, 0)? {
                    ColumnIndexMetaData::INT64(ts) => Some(
                        locations
                            .iter()
                            .enumerate()
                            .map(|(p, l)| {
                                (
                                    u64::try_from(l.first_row_index).unwrap_or(0),
                                    ts.min_value(p).copied(),
                                    ts.max_value(p).copied(),
                                )
                            })
                            .collect::<Vec<_>>(),
                    ),
                    _ => None,
                }
            });
            // A page index that does not describe this row group's rows (first rows from 0,
            // increasing, inside the group) is not trusted: the group is read whole.
            let pages = pages.filter(|pages| {
                pages.first().is_some_and(|p| p.0 == 0)
                    && pages.windows(2).all(|w| w[0].0 < w[1].0)
                    && pages.last().is_some_and(|p| p.0 < rows)
            });
            let Some(pages) = pages else {
                selectors.push(RowSelector::select(
                    usize::try_from(rows).unwrap_or(usize::MAX),
                ));
                pruning.rows_read += rows;
                continue;
            };
            for (p, &(first, min, max)) in pages.iter().enumerate() {
                let end = pages.get(p + 1).map_or(rows, |next| next.0);
                let n = end.saturating_sub(first);
                let count = usize::try_from(n).unwrap_or(usize::MAX);
                if overlaps(min, max) {
                    selectors.push(RowSelector::select(count));
                    pruning.rows_read += n;
                } else {
                    selectors.push(RowSelector::skip(count));
                }
            }
        }
        let reader = builder
            .with_row_groups(groups)
            .with_row_selection(RowSelection::from(selectors))
            .with_batch_size(8192)
            .build()?;
        Ok((BatchReader { meta, reader }, pruning))
    }

    /// What the footer says the file holds.
    pub fn meta(&self) -> &FileMeta {
        &self.meta
    }
}

impl Iterator for BatchReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        self.reader.next().map(|b| b.map_err(Error::from))
    }
}

impl Iterator for EventReader {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        loop {
            if let Some(e) = self.pending.next() {
                return Some(Ok(e));
            }
            if self.failed {
                return None;
            }
            match self.refill() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Every event of a strata Parquet file, with its footer metadata.
pub fn read_events<R: ChunkReader + 'static>(input: R) -> Result<(FileMeta, Vec<Event>)> {
    let reader = EventReader::new(input)?;
    let meta = reader.meta().clone();
    let events = reader.collect::<Result<Vec<_>>>()?;
    Ok((meta, events))
}

/// The events of an Arrow IPC file an [`crate::EventWriter::ipc`] wrote, with its metadata.
pub fn read_ipc<R: std::io::Read + std::io::Seek>(input: R) -> Result<(FileMeta, Vec<Event>)> {
    let reader = arrow_ipc::reader::FileReader::try_new(input, None)?;
    let text = reader
        .custom_metadata()
        .get(META_KEY)
        .ok_or_else(|| Error::NotStrata(format!("no `{META_KEY}` key in the IPC footer")))?;
    let meta = FileMeta::from_json(text)?;
    let mut events = Vec::new();
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch?;
        events_from_batch(meta.kind, &batch, rows, &mut events)?;
        rows += batch.num_rows() as u64;
    }
    Ok((meta, events))
}
