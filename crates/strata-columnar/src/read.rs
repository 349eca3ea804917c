//! Parquet → events.

use crate::columns::events_from_batch;
use crate::error::{Error, Result};
use crate::meta::{FileMeta, META_KEY};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::ChunkReader;
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
