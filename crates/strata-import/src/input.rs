//! Opening inputs through strata's codec layer and reading them line by line.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use strata_codec::CodecRegistry;

use crate::error::{ImportError, Result};
use crate::record::{Record, Rejected};

/// Buffer size for line reading: large enough that a 1.4 M-line file costs few system calls.
pub(crate) const READ_BUFFER: usize = 256 * 1024;

/// A boxed, sendable byte stream.
pub(crate) type Input = Box<dyn Read + Send>;

/// [`open_decoded_with`] strata's own codecs (gzip, zstd, LZ4 or none).
pub(crate) fn open_decoded(path: &Path) -> Result<Input> {
    open_decoded_with(path, &CodecRegistry::default())
}

/// Opens `path` and returns its decompressed content: the codec (any of `codecs`) is
/// recognised from the content and must agree with the extension (CODEC-2); a compression
/// format none of `codecs` reads is refused.
pub(crate) fn open_decoded_with(path: &Path, codecs: &CodecRegistry) -> Result<Input> {
    let name = path.display().to_string();
    // Open first so that a missing file is an `Open` error, not a codec one.
    let file = std::fs::File::open(path).map_err(|source| ImportError::Open {
        file: name.clone(),
        source,
    })?;
    drop(file);
    let (_, decoder) = codecs
        .open_file(path)
        .map_err(|err| ImportError::codec(&name, err))?;
    Ok(decoder)
}

/// Wraps any reader in a content-sniffing decoder over `codecs`, so compressed bytes decode
/// transparently; a compression format none of `codecs` reads is refused.
pub(crate) fn decoded_reader<R: Read + Send + 'static>(
    reader: R,
    name: &str,
    codecs: &CodecRegistry,
) -> Result<Input> {
    let (_, decoder) = codecs
        .read_content(Box::new(reader), name)
        .map_err(|err| ImportError::codec(name, err))?;
    Ok(decoder)
}

/// The text of a row for a quarantine record: lossy UTF-8, line ending removed.
pub(crate) fn raw_text(line: &[u8]) -> String {
    String::from_utf8_lossy(line).into_owned()
}

/// The record of a line a parser could not read: the file, the 1-based line, why, and the line's
/// text for the quarantine.
pub(crate) fn rejected_line(file: &str, line_no: u64, reason: String, line: &[u8]) -> Record {
    Record::Rejected(Rejected {
        file: file.to_string(),
        line: line_no,
        reason,
        raw: raw_text(line),
    })
}

/// A line's content: its line ending removed and, on the first line, a UTF-8 byte order mark
/// (editors on Windows write one), which is no data.
pub(crate) fn line_content(line_no: u64, raw: &[u8]) -> &[u8] {
    let line = trim_line_end(raw);
    if line_no == 1 {
        line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
    } else {
        line
    }
}

/// Strips one trailing `\n` and one `\r` before it.
pub(crate) fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Turns one input line into records.
pub(crate) trait LineParser: Send {
    /// Parses `line` (1-based `line_no`, line ending removed, never blank) into `out`.
    fn parse_line(&mut self, line_no: u64, line: &[u8], out: &mut VecDeque<Record>);
}

/// Something that yields records and knows how many rows it read.
pub(crate) trait RowSource: Iterator<Item = Record> + Send {
    /// Rows read so far (blank lines not counted).
    fn rows(&self) -> u64;
}

/// Reads lines from a stream and hands each non-blank one to a [`LineParser`]. A read error ends
/// the stream with a [`Rejected`] record whose reason starts with [`READ_ERROR_PREFIX`].
pub(crate) struct LineImport<P> {
    reader: BufReader<Input>,
    buf: Vec<u8>,
    line_no: u64,
    rows: u64,
    parser: P,
    pending: VecDeque<Record>,
    done: bool,
    file: String,
}

impl<P: LineParser> LineImport<P> {
    /// Reads `input` (named `file` in rejections) with `parser`.
    pub(crate) fn new(input: Input, file: impl Into<String>, parser: P) -> Self {
        LineImport {
            reader: BufReader::with_capacity(READ_BUFFER, input),
            buf: Vec::with_capacity(4096),
            line_no: 0,
            rows: 0,
            parser,
            pending: VecDeque::new(),
            done: false,
            file: file.into(),
        }
    }

    /// Numbers lines as if `lines` lines (a header read by the caller) came before `input`.
    pub(crate) fn after_lines(mut self, lines: u64) -> Self {
        self.line_no = lines;
        self
    }
}

impl<P: LineParser> Iterator for LineImport<P> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if let Some(record) = self.pending.pop_front() {
                return Some(record);
            }
            if self.done {
                return None;
            }
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => self.done = true,
                Ok(_) => {
                    self.line_no += 1;
                    let line = line_content(self.line_no, &self.buf);
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    self.rows += 1;
                    self.parser
                        .parse_line(self.line_no, line, &mut self.pending);
                }
                Err(err) => {
                    self.done = true;
                    return Some(Record::Rejected(Rejected {
                        file: self.file.clone(),
                        line: self.line_no + 1,
                        reason: crate::record::read_error_reason(&err),
                        raw: String::new(),
                    }));
                }
            }
        }
    }
}

impl<P: LineParser> RowSource for LineImport<P> {
    fn rows(&self) -> u64 {
        self.rows
    }
}

/// Appends [`Record::End`] with the row count once the inner source is exhausted.
pub(crate) struct Ended<S> {
    inner: S,
    ended: bool,
}

impl<S: RowSource> Ended<S> {
    pub(crate) fn new(inner: S) -> Self {
        Ended {
            inner,
            ended: false,
        }
    }
}

impl<S: RowSource> Iterator for Ended<S> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.ended {
            return None;
        }
        match self.inner.next() {
            Some(record) => Some(record),
            None => {
                self.ended = true;
                Some(Record::End {
                    rows: self.inner.rows(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;
    impl LineParser for Echo {
        fn parse_line(&mut self, line_no: u64, line: &[u8], out: &mut VecDeque<Record>) {
            out.push_back(Record::Skipped {
                line: line_no,
                reason: raw_text(line),
            });
        }
    }

    #[test]
    fn lines_are_numbered_from_one_and_blank_lines_are_not_rows() {
        let input: Input = Box::new(&b"a\r\n\n  \nb"[..]);
        let records: Vec<Record> = Ended::new(LineImport::new(input, "x", Echo)).collect();
        assert_eq!(
            records,
            vec![
                Record::Skipped {
                    line: 1,
                    reason: "a".into()
                },
                Record::Skipped {
                    line: 4,
                    reason: "b".into()
                },
                Record::End { rows: 2 },
            ]
        );
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_the_first_line_kept() {
        let input: Input = Box::new(&b"\xEF\xBB\xBFa\nb\n"[..]);
        let records: Vec<Record> = Ended::new(LineImport::new(input, "x", Echo)).collect();
        assert_eq!(
            records[0],
            Record::Skipped {
                line: 1,
                reason: "a".into()
            }
        );
    }

    #[test]
    fn a_read_error_stops_with_a_rejection_then_end() {
        let cut = strata_codec::compress("gzip:6".parse().unwrap(), b"a\nb\nc\n").unwrap();
        let input = decoded_reader(
            std::io::Cursor::new(cut[..cut.len() - 6].to_vec()),
            "x.gz",
            &CodecRegistry::default(),
        )
        .unwrap();
        let records: Vec<Record> = Ended::new(LineImport::new(input, "x.gz", Echo)).collect();
        let Some(Record::Rejected(rejected)) = records.iter().rev().nth(1) else {
            panic!("{records:?}");
        };
        assert!(rejected.stopped_import(), "{rejected}");
        assert!(rejected.input_is_cut(), "{rejected}");
        assert!(matches!(records.last(), Some(Record::End { .. })));
    }
}
