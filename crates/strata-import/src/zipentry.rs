//! Streaming, owned readers for the entries of a zip archive.
//!
//! `zip::ZipFile` borrows its archive, so it cannot live inside a `'static` iterator. The
//! archive's central directory is read once with the `zip` crate (names, offsets, sizes, CRCs);
//! each entry is then read through its own handle: the raw bytes from the entry's data offset,
//! inflated with `flate2`, and checked against the directory's size and CRC-32 at the end — a
//! damaged entry is an error, never silently short data.

use std::io::{self, BufReader, Read, Seek, SeekFrom};

use flate2::read::DeflateDecoder;
use flate2::Crc;
use zip::CompressionMethod;

use crate::error::{ImportError, Result};
use crate::input::{Input, READ_BUFFER};

/// Opens a fresh handle on the archive's bytes.
pub(crate) trait Opener: Send + Sync {
    /// A new reader positioned anywhere (it is sought before use).
    fn open(&self) -> io::Result<Box<dyn ReadSeek>>;
}

/// `Read + Seek + Send`, boxable.
pub(crate) trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// Opens a file by path.
pub(crate) struct FileOpener(pub(crate) std::path::PathBuf);

impl Opener for FileOpener {
    fn open(&self) -> io::Result<Box<dyn ReadSeek>> {
        Ok(Box::new(std::fs::File::open(&self.0)?))
    }
}

/// Serves an archive held in memory.
pub(crate) struct BytesOpener(pub(crate) std::sync::Arc<[u8]>);

impl Opener for BytesOpener {
    fn open(&self) -> io::Result<Box<dyn ReadSeek>> {
        Ok(Box::new(io::Cursor::new(self.0.clone())))
    }
}

/// One file entry of an archive, as its central directory describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZipEntry {
    pub(crate) name: String,
    data_start: u64,
    compressed_size: u64,
    size: u64,
    crc32: u32,
    deflated: bool,
}

/// Lists the file entries (directories left out) of the archive `opener` serves.
pub(crate) fn list_entries(opener: &dyn Opener, file: &str) -> Result<Vec<ZipEntry>> {
    let reader = opener.open().map_err(|source| ImportError::Open {
        file: file.to_string(),
        source,
    })?;
    let not_zip = |source| ImportError::NotAZip {
        file: file.to_string(),
        source,
    };
    let mut archive = zip::ZipArchive::new(reader).map_err(not_zip)?;
    let mut entries = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(not_zip)?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_string();
        let content = |reason: String| ImportError::ZipContent {
            file: format!("{file}:{name}"),
            reason,
        };
        if entry.encrypted() {
            return Err(content("the entry is encrypted".into()));
        }
        let deflated = match entry.compression() {
            CompressionMethod::Stored => false,
            CompressionMethod::Deflated => true,
            other => {
                return Err(content(format!(
                    "compression method {other} is not supported (stored or deflate only)"
                )))
            }
        };
        entries.push(ZipEntry {
            data_start: entry.data_start(),
            compressed_size: entry.compressed_size(),
            size: entry.size(),
            crc32: entry.crc32(),
            deflated,
            name,
        });
    }
    if entries.is_empty() {
        return Err(ImportError::ZipContent {
            file: file.to_string(),
            reason: "the archive holds no file".into(),
        });
    }
    Ok(entries)
}

/// Opens one entry's decompressed content.
pub(crate) fn open_entry(opener: &dyn Opener, entry: &ZipEntry) -> io::Result<Input> {
    let mut raw = opener.open()?;
    raw.seek(SeekFrom::Start(entry.data_start))?;
    let raw = BufReader::with_capacity(READ_BUFFER, raw).take(entry.compressed_size);
    let inner: Input = if entry.deflated {
        Box::new(DeflateDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    Ok(Box::new(CheckedEntry {
        inner,
        crc: Crc::new(),
        expected_crc: entry.crc32,
        expected_size: entry.size,
        read: 0,
        name: entry.name.clone(),
    }))
}

/// Counts and checksums an entry's bytes; at the end, a size or CRC mismatch is an error.
struct CheckedEntry {
    inner: Input,
    crc: Crc,
    expected_crc: u32,
    expected_size: u64,
    read: u64,
    name: String,
}

impl Read for CheckedEntry {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.crc.update(&buf[..n]);
            self.read += n as u64;
            if self.read > self.expected_size {
                return Err(self.damaged("is longer than its directory entry says"));
            }
            return Ok(n);
        }
        if !buf.is_empty() {
            if self.read != self.expected_size {
                return Err(self.damaged("is shorter than its directory entry says"));
            }
            if self.crc.sum() != self.expected_crc {
                return Err(self.damaged("fails its CRC-32 check"));
            }
        }
        Ok(0)
    }
}

impl CheckedEntry {
    fn damaged(&self, what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("zip entry `{}` {what}: the archive is damaged", self.name),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Arc;

    fn archive(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, data) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn read_all(opener: &dyn Opener, entry: &ZipEntry) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        open_entry(opener, entry)?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn entries_stream_back_exactly_stored_or_deflated() {
        let text = b"14400464,1674100,100,P,20002000,0\n".repeat(1000);
        for method in [CompressionMethod::Stored, CompressionMethod::Deflated] {
            let bytes = archive(&[("a.csv", &text), ("b.csv", b"x")], method);
            let opener = BytesOpener(Arc::from(bytes));
            let entries = list_entries(&opener, "t.zip").unwrap();
            assert_eq!(entries.len(), 2);
            assert_eq!(read_all(&opener, &entries[0]).unwrap(), text);
            assert_eq!(read_all(&opener, &entries[1]).unwrap(), b"x");
        }
    }

    #[test]
    fn a_corrupted_entry_fails_its_crc() {
        let text = b"0123456789".repeat(100);
        let mut bytes = archive(&[("a.csv", &text)], CompressionMethod::Stored);
        let at = bytes.windows(10).position(|w| w == b"0123456789").unwrap() + 500;
        bytes[at] ^= 1;
        let opener = BytesOpener(Arc::from(bytes));
        let entries = list_entries(&opener, "t.zip").unwrap();
        let err = read_all(&opener, &entries[0]).unwrap_err();
        assert!(err.to_string().contains("CRC-32"), "{err}");
    }

    #[test]
    fn not_a_zip_is_a_file_error() {
        let opener = BytesOpener(Arc::from(&b"hello, world"[..]));
        let err = list_entries(&opener, "t.zip").unwrap_err();
        assert!(matches!(err, ImportError::NotAZip { .. }), "{err}");
        assert!(
            err.to_string().starts_with("t.zip: not a zip archive"),
            "{err}"
        );
    }
}
