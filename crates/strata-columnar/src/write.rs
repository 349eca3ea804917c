//! Events → Parquet.

use crate::columns::{decimal_columns, visit_decimals, ColumnsBuilder};
use crate::digest::EventDigest;
use crate::error::{Error, Result};
use crate::meta::{FileMeta, META_KEY};
use crate::plan::{DecimalObservation, DecimalStorage};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write;
use strata_model::{Event, EventKind};

/// How Parquet files are written.
#[derive(Debug, Clone, PartialEq)]
pub struct ParquetOptions {
    /// The zstd level (1..=22): 3 for the cold tier, 19 for the archive tier.
    pub zstd_level: i32,
    /// Rows per row group (the unit a reader skips by its statistics).
    pub row_group_rows: usize,
    /// Rows per data page (the unit the page index lets a reader skip).
    pub page_rows: usize,
    /// Bloom filters on `symbol`, `trade_id` and `order_id`, for point lookups.
    pub bloom_filters: bool,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            zstd_level: 3,
            row_group_rows: 1 << 20,
            page_rows: 20_000,
            bloom_filters: false,
        }
    }
}

impl ParquetOptions {
    /// The archive tier's settings: the same layout at zstd 19.
    pub fn archive() -> Self {
        ParquetOptions {
            zstd_level: 19,
            ..ParquetOptions::default()
        }
    }
}

/// Below this share of distinct values a price or size column is dictionary-encoded; above it,
/// BYTE_STREAM_SPLIT (which lets zstd see the slowly changing high bytes together).
const DICTIONARY_SHARE: f64 = 0.02;
/// Distinct values tracked per column before the column counts as high-cardinality.
const DISTINCT_CAP: usize = 1 << 16;

/// A fast hash for counting distinct decimals (the std hasher resists attacks a plan does not
/// face, at several times the cost).
#[derive(Default)]
struct MantissaHasher(u64);

impl Hasher for MantissaHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_i128(&mut self, v: i128) {
        self.write_u64(v as u64);
        self.write_u64((v >> 64) as u64);
    }
}

/// The distinct (mantissa, scale) pairs of a column, up to [`DISTINCT_CAP`].
type DistinctValues = HashSet<(i128, u8), BuildHasherDefault<MantissaHasher>>;

/// What a file will hold, seen before it is written: the kind and, per decimal column, the
/// scales, digits and distinct values that decide its storage and encoding.
///
/// Plan over every event the file will hold (`observe` each), then write them with
/// [`EventWriter`]; [`write_events`] does both for events in memory.
#[derive(Debug, Clone)]
pub struct FilePlan {
    kind: EventKind,
    decimals: Vec<DecimalObservation>,
    distinct: Vec<Option<DistinctValues>>,
    /// Values sampled for `distinct`.
    values: Vec<u64>,
    events: u64,
}

impl FilePlan {
    /// An empty plan for a file of one kind.
    pub fn new(kind: EventKind) -> Self {
        let n = decimal_columns(kind).len();
        FilePlan {
            kind,
            decimals: vec![DecimalObservation::default(); n],
            distinct: vec![Some(HashSet::default()); n],
            values: vec![0; n],
            events: 0,
        }
    }

    /// The kind of the file.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// Notes one event.
    pub fn observe(&mut self, event: &Event) -> Result<()> {
        if event.kind() != self.kind {
            return Err(Error::WrongKind {
                expected: self.kind,
                found: event.kind(),
                row: self.events,
            });
        }
        let decimals = &mut self.decimals;
        visit_decimals(&event.payload, |slot, value| {
            if let Some(d) = value {
                decimals[slot].observe(d);
            }
        });
        self.sample(event);
        Ok(())
    }

    /// Counts one event (of the plan's kind) and samples its decimals' distinct values, which
    /// decide the encodings; the scales and digits are noted apart ([`observe`](Self::observe)
    /// or, when the columns note them, [`FileBuilder`]).
    #[inline]
    fn sample(&mut self, event: &Event) {
        self.events += 1;
        // Distinct values are counted on the first 4,096 events and then on every sixteenth:
        // enough to tell a handful of prices from a spread of them (every sample's file is the
        // same size as with every fourth), at a sixteenth of the cost.
        if self.events > 4096 && self.events % 16 != 1 {
            return;
        }
        let (distinct, values) = (&mut self.distinct, &mut self.values);
        visit_decimals(&event.payload, |slot, value| {
            if let Some(d) = value {
                values[slot] += 1;
                if let Some(set) = &mut distinct[slot] {
                    set.insert((d.mantissa(), d.scale()));
                    if set.len() > DISTINCT_CAP {
                        distinct[slot] = None;
                    }
                }
            }
        });
    }

    /// How each decimal column will be stored, in [`decimal_columns`] order.
    pub fn storages(&self) -> Vec<DecimalStorage> {
        self.decimals
            .iter()
            .map(DecimalObservation::storage)
            .collect()
    }

    /// Whether a decimal column is dictionary-encoded.
    fn dictionary(&self, slot: usize) -> bool {
        match &self.distinct[slot] {
            Some(set) => (set.len() as f64) <= DICTIONARY_SHARE * (self.values[slot].max(1) as f64),
            None => false,
        }
    }

    fn properties(&self, options: &ParquetOptions) -> Result<WriterProperties> {
        let mut props = WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_2_0)
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(options.zstd_level)?))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
            .set_data_page_row_count_limit(options.page_rows.max(1))
            // The page limit is checked after each write batch (1,024 rows by default): a
            // smaller page asks for smaller batches.
            .set_write_batch_size(options.page_rows.clamp(1, 1024))
            .set_sorting_columns(Some(vec![SortingColumn {
                column_idx: 0,
                descending: false,
                nulls_first: false,
            }]))
            .set_created_by(format!("strata-columnar {}", env!("CARGO_PKG_VERSION")));
        // Times and sequences grow steadily: deltas, no dictionary.
        for name in ["ts", "recv_ts", "seq", "funding_time"] {
            props = props
                .set_column_dictionary_enabled(ColumnPath::from(name), false)
                .set_column_encoding(ColumnPath::from(name), Encoding::DELTA_BINARY_PACKED);
        }
        // Ids: mostly unique, sharing prefixes (trade ids) or high bytes (order ids).
        props = props
            .set_column_dictionary_enabled(ColumnPath::from("trade_id"), false)
            .set_column_encoding(ColumnPath::from("trade_id"), Encoding::DELTA_BYTE_ARRAY)
            .set_column_dictionary_enabled(ColumnPath::from("order_id"), false)
            .set_column_encoding(ColumnPath::from("order_id"), Encoding::BYTE_STREAM_SPLIT);
        for (slot, (name, storage)) in decimal_columns(self.kind)
            .iter()
            .zip(self.storages())
            .enumerate()
        {
            if storage == DecimalStorage::Text {
                continue;
            }
            let path = column_path(name);
            // DuckDB 2.0 reads BYTE_STREAM_SPLIT on INT32/INT64/FLOAT/DOUBLE only, so 38-digit
            // columns (16-byte fixed length) stay plain.
            let wide = matches!(storage, DecimalStorage::Numeric { precision: 38, .. });
            props = if self.dictionary(slot) {
                props.set_column_dictionary_enabled(path, true)
            } else if wide {
                props
                    .set_column_dictionary_enabled(path.clone(), false)
                    .set_column_encoding(path, Encoding::PLAIN)
            } else {
                props
                    .set_column_dictionary_enabled(path.clone(), false)
                    .set_column_encoding(path, Encoding::BYTE_STREAM_SPLIT)
            };
        }
        if options.bloom_filters {
            for name in ["symbol", "trade_id", "order_id"] {
                props = props.set_column_bloom_filter_enabled(ColumnPath::from(name), true);
            }
        }
        Ok(props.build())
    }
}

/// The Parquet column path of a decimal column (`bids.price` is `bids.list.element.price`).
fn column_path(name: &str) -> ColumnPath {
    match name.split_once('.') {
        Some((list, leaf)) => ColumnPath::new(vec![
            list.to_string(),
            "list".to_string(),
            "element".to_string(),
            leaf.to_string(),
        ]),
        None => ColumnPath::from(name),
    }
}

/// What a written file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// Its kind, event count, digest and time range, as its footer records them.
    pub meta: FileMeta,
    /// Row groups written.
    pub row_groups: usize,
    /// Each decimal column's name and storage.
    pub decimals: Vec<(&'static str, DecimalStorage)>,
}

/// Rows handed to the Parquet writer at a time by [`EventWriter`].
const BATCH_ROWS: u64 = 65_536;

/// Writes one kind's events, in event-time order, as a Parquet file, a batch at a time: for
/// files too large to hold in memory (consolidation), planned over their events first.
pub struct EventWriter<W: Write + Send> {
    storages: Vec<DecimalStorage>,
    kind: EventKind,
    writer: Sink<W>,
    builder: ColumnsBuilder,
    digest: EventDigest,
    line: Vec<u8>,
    range: Option<(i64, i64)>,
}

impl<W: Write + Send> EventWriter<W> {
    /// A writer for the events `plan` observed.
    pub fn new(plan: &FilePlan, out: W, options: &ParquetOptions) -> Result<Self> {
        let storages = plan.storages();
        let schema = crate::columns::schema(plan.kind, &storages)?;
        let writer = ArrowWriter::try_new(out, schema, Some(plan.properties(options)?))?;
        Ok(Self::with_sink(plan, Sink::Parquet(Box::new(writer))))
    }

    /// A writer of an Arrow IPC file (Feather v2; uncompressed) for the events `plan` observed,
    /// in the same layout as the Parquet files, with strata's metadata ([`FileMeta`]) under the
    /// footer's custom metadata key [`META_KEY`]; [`crate::read_ipc`] reads it back.
    pub fn ipc(plan: &FilePlan, out: W) -> Result<Self> {
        let storages = plan.storages();
        let schema = crate::columns::schema(plan.kind, &storages)?;
        let writer = arrow_ipc::writer::FileWriter::try_new(out, &schema)?;
        Ok(Self::with_sink(plan, Sink::Ipc(Box::new(writer))))
    }

    fn with_sink(plan: &FilePlan, writer: Sink<W>) -> Self {
        let storages = plan.storages();
        EventWriter {
            builder: ColumnsBuilder::new(plan.kind),
            storages,
            kind: plan.kind,
            writer,
            digest: EventDigest::default(),
            line: Vec::with_capacity(256),
            range: None,
        }
    }

    /// Appends one event; it must not be earlier than the one before, and its decimals must be
    /// among those the plan observed.
    pub fn write(&mut self, event: &Event) -> Result<()> {
        let ts = event.event_time.as_nanos();
        let row = self.digest.events;
        if let Some((_, previous)) = self.range {
            if ts < previous {
                return Err(Error::OutOfOrder { row, ts, previous });
            }
        }
        let mut outside = None;
        visit_decimals(&event.payload, |slot, value| {
            if let Some(d) = value {
                let storage = self.storages[slot];
                if outside.is_none() && storage.store(d).is_none() {
                    outside = Some(Error::OutsidePlan {
                        column: decimal_columns(self.kind)[slot],
                        value: d.to_string(),
                        plan: storage.to_string(),
                    });
                }
            }
        });
        if let Some(err) = outside {
            return Err(err);
        }
        self.builder.append(event, row)?;
        self.range = Some(self.range.map_or((ts, ts), |(first, _)| (first, ts)));
        self.line.clear();
        // Encoding into a Vec cannot fail (see `jsonl::encode_into`).
        let _ = strata_model::jsonl::encode_into(event, &mut self.line);
        self.digest.add_line(&self.line);
        if self.builder.rows() >= BATCH_ROWS {
            let batch = self.builder.finish(&self.storages)?;
            self.writer.write(&batch)?;
        }
        Ok(())
    }

    /// Writes the footer (with strata's metadata) and returns the output and what it holds.
    pub fn finish(mut self) -> Result<(W, FileSummary)> {
        if self.builder.rows() > 0 {
            let batch = self.builder.finish(&self.storages)?;
            self.writer.write(&batch)?;
        }
        let meta = FileMeta {
            kind: self.kind,
            digest: self.digest,
            time_range: self.range,
        };
        match self.writer {
            Sink::Parquet(writer) => close(*writer, meta, self.kind, self.storages),
            Sink::Ipc(mut writer) => {
                writer.write_metadata(META_KEY, meta.to_json());
                writer.finish()?;
                let out = writer.into_inner()?;
                Ok((
                    out,
                    FileSummary {
                        meta,
                        row_groups: 0,
                        decimals: decimal_columns(self.kind)
                            .iter()
                            .copied()
                            .zip(self.storages)
                            .collect(),
                    },
                ))
            }
        }
    }
}

/// Where an [`EventWriter`] writes.
enum Sink<W: Write + Send> {
    Parquet(Box<ArrowWriter<W>>),
    Ipc(Box<arrow_ipc::writer::FileWriter<W>>),
}

impl<W: Write + Send> Sink<W> {
    fn write(&mut self, batch: &arrow_array::RecordBatch) -> Result<()> {
        match self {
            Sink::Parquet(w) => w.write(batch)?,
            Sink::Ipc(w) => w.write(batch)?,
        }
        Ok(())
    }
}

/// Adds the footer metadata, writes the footer and says what the file holds.
fn close<W: Write + Send>(
    mut writer: ArrowWriter<W>,
    meta: FileMeta,
    kind: EventKind,
    storages: Vec<DecimalStorage>,
) -> Result<(W, FileSummary)> {
    writer.append_key_value_metadata(KeyValue::new(META_KEY.to_string(), meta.to_json()));
    writer.flush()?;
    let row_groups = writer.flushed_row_groups().len();
    // Writes the footer.
    let out = writer.into_inner()?;
    let decimals = decimal_columns(kind)
        .iter()
        .copied()
        .zip(storages)
        .collect();
    Ok((
        out,
        FileSummary {
            meta,
            row_groups,
            decimals,
        },
    ))
}

/// One kind's events gathered as columns (not as events), planned as they come, then sorted by
/// event time and written as one Parquet file: the conversion of a file that fits in memory,
/// at a few dozen bytes per event.
pub struct FileBuilder {
    plan: FilePlan,
    builder: ColumnsBuilder,
    digest: EventDigest,
    times: Vec<i64>,
    sorted: bool,
    line: Vec<u8>,
}

impl FileBuilder {
    /// An empty file of one kind.
    pub fn new(kind: EventKind) -> Self {
        Self::with_capacity(kind, 0)
    }

    /// An empty file of one kind with room for `rows` events (reserved, not touched).
    pub fn with_capacity(kind: EventKind, rows: usize) -> Self {
        FileBuilder {
            plan: FilePlan::new(kind),
            builder: ColumnsBuilder::with_capacity(kind, rows),
            digest: EventDigest::default(),
            times: Vec::with_capacity(rows),
            sorted: true,
            line: Vec::new(),
        }
    }

    /// Adds an event, in any order.
    pub fn push(&mut self, event: &Event) -> Result<()> {
        self.line.clear();
        // Encoding into a Vec cannot fail (see `jsonl::encode_into`).
        let _ = strata_model::jsonl::encode_into(event, &mut self.line);
        let line = std::mem::take(&mut self.line);
        let pushed = self.push_canonical(event, &line);
        self.line = line;
        pushed
    }

    /// Adds an event with its canonical JSONL line (what `jsonl::encode_into` writes for it,
    /// as `jsonl::decode_canonical` vouches), which spares encoding it again for the digest.
    /// A line that is not the event's gives the file a digest its events do not have, which
    /// every check against the source then reports.
    pub fn push_canonical(&mut self, event: &Event, line: &[u8]) -> Result<()> {
        // The columns note each decimal's scale and digits as they take it (see `finish`).
        self.builder.append(event, self.digest.events)?;
        self.plan.sample(event);
        let ts = event.event_time.as_nanos();
        if self.times.last().is_some_and(|&last| ts < last) {
            self.sorted = false;
        }
        self.times.push(ts);
        self.digest
            .add_canonical(line.strip_suffix(b"\n").unwrap_or(line));
        Ok(())
    }

    /// Sorts the events by event time (a stable sort) and writes the file.
    pub fn finish<W: Write + Send>(
        mut self,
        out: W,
        options: &ParquetOptions,
    ) -> Result<(W, FileSummary)> {
        for (planned, seen) in self
            .plan
            .decimals
            .iter_mut()
            .zip(self.builder.observations())
        {
            *planned = *seen;
        }
        let storages = self.plan.storages();
        let mut batch = self.builder.finish(&storages)?;
        if !self.sorted {
            let mut order: Vec<(i64, u32)> = Vec::with_capacity(self.times.len());
            for (i, &ts) in self.times.iter().enumerate() {
                let i = u32::try_from(i)
                    .map_err(|_| Error::NotStrata("more than 2^32 events in one file".into()))?;
                order.push((ts, i));
            }
            // (time, arrival) pairs are distinct: unstable sorting them is a stable sort by time.
            order.sort_unstable();
            self.times = order.iter().map(|&(ts, _)| ts).collect();
            let indices: arrow_array::UInt32Array = order.into_iter().map(|(_, i)| i).collect();
            batch = arrow_select::take::take_record_batch(&batch, &indices)?;
        }
        let mut writer =
            ArrowWriter::try_new(out, batch.schema(), Some(self.plan.properties(options)?))?;
        writer.write(&batch)?;
        let meta = FileMeta {
            kind: self.plan.kind,
            digest: self.digest,
            time_range: self
                .times
                .first()
                .zip(self.times.last())
                .map(|(a, b)| (*a, *b)),
        };
        close(writer, meta, self.plan.kind, storages)
    }
}

/// Writes events of one kind as a Parquet file; `events` are sorted by event time first
/// (events at the same time keep their order).
pub fn write_events<W: Write + Send>(
    kind: EventKind,
    events: &mut [Event],
    out: W,
    options: &ParquetOptions,
) -> Result<(W, FileSummary)> {
    events.sort_by_key(|e| e.event_time);
    let mut file = FileBuilder::new(kind);
    for e in events.iter() {
        file.push(e)?;
    }
    file.finish(out, options)
}
