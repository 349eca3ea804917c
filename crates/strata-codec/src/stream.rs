//! Streaming [`Encoder`] and [`Decoder`] for every [`CodecSpec`] (CODEC-1), the content-sniffing
//! [`decoder_for_content`] (CODEC-2), and in-memory [`compress`] / [`decompress`].

use std::fmt;
use std::io::{self, BufReader, Read, Write};

use crate::error::Operation;
#[cfg(feature = "lz4")]
use crate::lz4_guard::Lz4FrameGuard;
use crate::sniff::{sniff, MAGIC_LEN};
use crate::{CodecFamily, CodecSpec, Error, Result};

/// zstd window log for long-distance matching: a 128 MiB window.
pub const ZSTD_LONG_WINDOW_LOG: u32 = 27;

/// The largest zstd window log the decoder accepts (matches [`ZSTD_LONG_WINDOW_LOG`], so every
/// stream this crate writes decodes, and a hostile header cannot demand more memory).
pub const ZSTD_MAX_WINDOW_LOG: u32 = ZSTD_LONG_WINDOW_LOG;

/// A compressing writer for one [`CodecSpec`].
///
/// Write the plain bytes, then call [`Encoder::finish`]: it writes the codec's trailer (gzip
/// CRC and size, the zstd end of frame and checksum, the LZ4 end mark and checksum) and hands the
/// writer back. Never rely on dropping an encoder: zstd and LZ4 streams are then left without
/// their end (and read back as [`Error::Truncated`], like the stream of a writer that crashed
/// before `finish`), while gzip's drop tries to write its trailer and swallows any error.
///
/// zstd streams carry a content checksum, LZ4 frames a content checksum, gzip its CRC-32, so
/// corruption is found on read.
#[must_use = "an encoder must be finished with `finish()`, or its stream is incomplete"]
pub struct Encoder<W: Write> {
    kind: EncoderKind<W>,
    spec: CodecSpec,
    written: u64,
    pledged: Option<u64>,
}

enum EncoderKind<W: Write> {
    None(W),
    #[cfg(feature = "gzip")]
    Gzip(flate2::write::GzEncoder<W>),
    #[cfg(feature = "zstd")]
    Zstd(zstd::stream::write::Encoder<'static, W>),
    #[cfg(feature = "lz4")]
    Lz4(lz4_flex::frame::FrameEncoder<W>),
}

impl<W: Write> Encoder<W> {
    /// An encoder writing `spec`'s stream into `writer`.
    pub fn new(spec: CodecSpec, writer: W) -> Result<Self> {
        Self::build(spec, writer, None)
    }

    /// Like [`Encoder::new`] for a stream whose plain length is known in advance. zstd records
    /// the size in its frame header and sizes its tables to it (much less memory and time for
    /// small inputs at high levels); [`Encoder::finish`] fails if a different number of bytes
    /// was written.
    pub fn with_pledged_size(spec: CodecSpec, writer: W, plain_len: u64) -> Result<Self> {
        Self::build(spec, writer, Some(plain_len))
    }

    fn build(spec: CodecSpec, writer: W, pledged: Option<u64>) -> Result<Self> {
        let spec = spec.validate()?;
        spec.codec_family().require()?;
        #[cfg(feature = "zstd")]
        let io_err = |source| Error::Io {
            codec: spec.codec_family(),
            operation: Operation::Compress,
            path: None,
            source,
        };
        let kind = match spec {
            CodecSpec::None => EncoderKind::None(writer),
            #[cfg(feature = "gzip")]
            CodecSpec::Gzip { level } => EncoderKind::Gzip(flate2::write::GzEncoder::new(
                writer,
                flate2::Compression::new(level),
            )),
            #[cfg(feature = "zstd")]
            CodecSpec::Zstd { level, long } => {
                let mut encoder =
                    zstd::stream::write::Encoder::new(writer, level).map_err(io_err)?;
                encoder.include_checksum(true).map_err(io_err)?;
                if long {
                    encoder.long_distance_matching(true).map_err(io_err)?;
                    encoder.window_log(ZSTD_LONG_WINDOW_LOG).map_err(io_err)?;
                }
                if pledged.is_some() {
                    encoder.set_pledged_src_size(pledged).map_err(io_err)?;
                }
                EncoderKind::Zstd(encoder)
            }
            #[cfg(feature = "lz4")]
            CodecSpec::Lz4 => {
                // A fixed block size keeps the output independent of how writes are split.
                let info = lz4_flex::frame::FrameInfo::new()
                    .block_size(lz4_flex::frame::BlockSize::Max256KB)
                    .content_checksum(true);
                EncoderKind::Lz4(lz4_flex::frame::FrameEncoder::with_frame_info(info, writer))
            }
            // `require` above refused a codec that is not compiled in.
            #[allow(unreachable_patterns)]
            _ => return Err(Error::disabled(spec.codec_family())),
        };
        Ok(Encoder {
            kind,
            spec,
            written: 0,
            pledged,
        })
    }

    /// The codec this encoder writes.
    pub fn spec(&self) -> CodecSpec {
        self.spec
    }

    /// Plain bytes written so far.
    pub fn plain_bytes_written(&self) -> u64 {
        self.written
    }

    /// The underlying writer (it may not yet hold everything written: codecs buffer).
    pub fn get_ref(&self) -> &W {
        match &self.kind {
            EncoderKind::None(w) => w,
            #[cfg(feature = "gzip")]
            EncoderKind::Gzip(e) => e.get_ref(),
            #[cfg(feature = "zstd")]
            EncoderKind::Zstd(e) => e.get_ref(),
            #[cfg(feature = "lz4")]
            EncoderKind::Lz4(e) => e.get_ref(),
        }
    }

    /// Writes the codec's trailer, flushes, and returns the writer.
    pub fn finish(self) -> Result<W> {
        let codec = self.spec.codec_family();
        let io_err = |source| Error::Io {
            codec,
            operation: Operation::Compress,
            path: None,
            source,
        };
        if let Some(pledged) = self.pledged {
            if pledged != self.written {
                return Err(io_err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{pledged} bytes were pledged but {} were written",
                        self.written
                    ),
                )));
            }
        }
        // With every codec feature off, only the plain arm is left.
        #[allow(clippy::infallible_destructuring_match)]
        let mut writer = match self.kind {
            EncoderKind::None(w) => w,
            #[cfg(feature = "gzip")]
            EncoderKind::Gzip(e) => e.finish().map_err(io_err)?,
            #[cfg(feature = "zstd")]
            EncoderKind::Zstd(e) => e.finish().map_err(io_err)?,
            #[cfg(feature = "lz4")]
            EncoderKind::Lz4(e) => e.finish().map_err(|e| io_err(e.into()))?,
        };
        writer.flush().map_err(io_err)?;
        Ok(writer)
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.kind {
            EncoderKind::None(w) => w.write(buf)?,
            #[cfg(feature = "gzip")]
            EncoderKind::Gzip(e) => e.write(buf)?,
            #[cfg(feature = "zstd")]
            EncoderKind::Zstd(e) => e.write(buf)?,
            #[cfg(feature = "lz4")]
            EncoderKind::Lz4(e) => e.write(buf)?,
        };
        self.written += n as u64;
        Ok(n)
    }

    /// Flushes what the codec can emit so far (a sync point; the stream stays open).
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.kind {
            EncoderKind::None(w) => w.flush(),
            #[cfg(feature = "gzip")]
            EncoderKind::Gzip(e) => e.flush(),
            #[cfg(feature = "zstd")]
            EncoderKind::Zstd(e) => e.flush(),
            #[cfg(feature = "lz4")]
            EncoderKind::Lz4(e) => e.flush(),
        }
    }
}

impl<W: Write> fmt::Debug for Encoder<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoder")
            .field("spec", &self.spec)
            .field("written", &self.written)
            .field("pledged", &self.pledged)
            .finish_non_exhaustive()
    }
}

/// Marks an error raised by the caller's reader, so that it is reported as [`Error::Io`] and not
/// as corruption of the stream.
#[derive(Debug)]
struct SourceFailure(io::Error);

impl fmt::Display for SourceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// The caller's reader, with its errors marked as [`SourceFailure`].
#[derive(Debug)]
struct Source<R>(R);

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|err| match err.kind() {
            // Retryable kinds stay as they are: `read_to_end` and friends retry `Interrupted`.
            io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock => err,
            kind => io::Error::new(kind, SourceFailure(err)),
        })
    }
}

/// A decompressing reader for one [`CodecFamily`] (levels do not matter to decoders).
///
/// Reads fail with an `io::Error` that carries this crate's [`Error`] (recover it with
/// [`Error::from_io`]): [`Error::Truncated`] when the stream ends before its end marker,
/// [`Error::Corrupt`] for bad data or a checksum mismatch, [`Error::Io`] when the underlying
/// reader fails. A decoder never returns silently short data for a cut stream.
///
/// gzip decodes every member of a multi-member file; zstd every frame; LZ4 every frame.
pub struct Decoder<R: Read> {
    kind: DecoderKind<R>,
    family: CodecFamily,
    path: Option<String>,
}

enum DecoderKind<R: Read> {
    None(Source<R>),
    #[cfg(feature = "gzip")]
    Gzip(flate2::read::MultiGzDecoder<Source<R>>),
    #[cfg(feature = "zstd")]
    Zstd(zstd::stream::read::Decoder<'static, BufReader<Source<R>>>),
    /// `None` only while one frame's decoder is swapped for the next (see `read_lz4_frames`).
    #[cfg(feature = "lz4")]
    Lz4(Option<lz4_flex::frame::FrameDecoder<Lz4FrameGuard<Source<R>>>>),
}

impl<R: Read> Decoder<R> {
    /// A decoder reading a `family` stream from `reader`. Prefer [`decoder_for_content`] when the
    /// codec is not known from a trusted source.
    pub fn new(family: CodecFamily, reader: R) -> Result<Self> {
        family.require()?;
        let source = Source(reader);
        let kind = match family {
            CodecFamily::None => DecoderKind::None(source),
            #[cfg(feature = "gzip")]
            CodecFamily::Gzip => DecoderKind::Gzip(flate2::read::MultiGzDecoder::new(source)),
            #[cfg(feature = "zstd")]
            CodecFamily::Zstd => {
                let io_err = |source| Error::Io {
                    codec: family,
                    operation: Operation::Decompress,
                    path: None,
                    source,
                };
                let mut decoder = zstd::stream::read::Decoder::new(source).map_err(io_err)?;
                decoder
                    .window_log_max(ZSTD_MAX_WINDOW_LOG)
                    .map_err(io_err)?;
                DecoderKind::Zstd(decoder)
            }
            #[cfg(feature = "lz4")]
            CodecFamily::Lz4 => DecoderKind::Lz4(Some(lz4_flex::frame::FrameDecoder::new(
                Lz4FrameGuard::new(source),
            ))),
            // `require` above refused a codec that is not compiled in.
            #[allow(unreachable_patterns)]
            _ => return Err(Error::disabled(family)),
        };
        Ok(Decoder {
            kind,
            family,
            path: None,
        })
    }

    /// Names the stream's file in every error this decoder reports.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The codec being decoded.
    pub fn family(&self) -> CodecFamily {
        self.family
    }

    /// Reads the whole rest of the stream into `out`, returning the number of plain bytes.
    pub fn read_all_into(&mut self, out: &mut Vec<u8>) -> Result<usize> {
        self.read_to_end(out)
            .map_err(|err| Error::from_io(self.family, Operation::Decompress, err))
    }

    /// Turns a decoder's `io::Error` into this crate's error, with codec and path.
    fn classify(&self, err: io::Error) -> Error {
        let kind = err.kind();
        let err = match err.downcast::<Error>() {
            Ok(ours) => return self.named(ours),
            Err(err) => err,
        };
        let err = match err.downcast::<SourceFailure>() {
            Ok(SourceFailure(source)) => {
                return self.named(Error::Io {
                    codec: self.family,
                    operation: Operation::Decompress,
                    path: None,
                    source,
                })
            }
            Err(err) => err,
        };
        let (codec, path) = (self.family, self.path.clone());
        if kind == io::ErrorKind::UnexpectedEof {
            Error::Truncated {
                codec,
                path,
                source: err,
            }
        } else {
            Error::Corrupt {
                codec,
                path,
                source: err,
            }
        }
    }

    fn named(&self, err: Error) -> Error {
        match &self.path {
            Some(path) => err.with_path(path.clone()),
            None => err,
        }
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = match &mut self.kind {
            DecoderKind::None(r) => r.read(buf),
            #[cfg(feature = "gzip")]
            DecoderKind::Gzip(d) => d.read(buf),
            #[cfg(feature = "zstd")]
            DecoderKind::Zstd(d) => d.read(buf),
            #[cfg(feature = "lz4")]
            DecoderKind::Lz4(slot) => read_lz4_frames(slot, buf),
        };
        result.map_err(|err| match err.kind() {
            io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock => err,
            _ => self.classify(err).into_io(),
        })
    }
}

#[cfg(feature = "lz4")]
/// `lz4_flex` reports the end of each frame as the end of the stream; keep going while the
/// source has more, so that concatenated frames decode in full and trailing garbage is seen.
/// Each frame gets a fresh `FrameDecoder`: reusing one across frames of different block sizes
/// trips a debug assertion inside lz4_flex 0.11.
fn read_lz4_frames<R: Read>(
    slot: &mut Option<lz4_flex::frame::FrameDecoder<Lz4FrameGuard<R>>>,
    buf: &mut [u8],
) -> io::Result<usize> {
    loop {
        let Some(decoder) = slot.as_mut() else {
            return Ok(0);
        };
        let n = decoder.read(buf)?;
        // Each pass either returns data, consumes a frame, or reaches the source's end.
        if n > 0 || buf.is_empty() || decoder.get_ref().reached_end() {
            return Ok(n);
        }
        if let Some(finished) = slot.take() {
            // lz4_flex reads its source exactly, so the guard holds no bytes of the next frame.
            *slot = Some(lz4_flex::frame::FrameDecoder::new(finished.into_inner()));
        }
    }
}

impl<R: Read> fmt::Debug for Decoder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("family", &self.family)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A reader that gives back the first bytes [`decoder_for_content`] (or
/// [`CodecRegistry::decoder_for_content`](crate::CodecRegistry::decoder_for_content)) read to
/// sniff the codec, then the rest of the original reader.
#[derive(Debug)]
pub struct SniffedReader<R> {
    head: Vec<u8>,
    head_len: usize,
    pos: usize,
    inner: R,
}

impl<R: Read> Read for SniffedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.head_len {
            let n = (self.head_len - self.pos).min(buf.len());
            buf[..n].copy_from_slice(&self.head[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// A decoder chosen from the stream's first bytes (CODEC-2), never from a file name.
///
/// Reads up to [`MAGIC_LEN`] bytes, [`sniff`]s them, and returns a decoder that replays them.
/// Plain data (no known magic) passes through unchanged.
pub fn decoder_for_content<R: Read>(reader: R) -> Result<Decoder<SniffedReader<R>>> {
    let sniffed = SniffedReader::new(reader).map_err(|source| Error::Io {
        codec: CodecFamily::None,
        operation: Operation::Sniff,
        path: None,
        source,
    })?;
    Decoder::new(sniff(sniffed.head()), sniffed)
}

impl<R: Read> SniffedReader<R> {
    /// Reads up to [`MAGIC_LEN`] bytes (fewer only when the stream is shorter).
    fn new(inner: R) -> io::Result<Self> {
        Self::with_head(inner, MAGIC_LEN)
    }

    /// Reads up to `len` bytes, the longest magic of the codecs to tell apart (fewer only when
    /// the stream is shorter).
    pub fn with_head(mut inner: R, len: usize) -> io::Result<Self> {
        let mut head = vec![0u8; len];
        let mut head_len = 0;
        while head_len < len {
            match inner.read(&mut head[head_len..]) {
                Ok(0) => break,
                Ok(n) => head_len += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(SniffedReader {
            head,
            head_len,
            pos: 0,
            inner,
        })
    }

    /// The stream's first bytes, as sniffed.
    pub fn head(&self) -> &[u8] {
        &self.head[..self.head_len]
    }
}

/// Opens a file, checks that its extension agrees with its content
/// ([`check_extension`](crate::check_extension)), and returns a decoder for it whose errors name
/// the file.
pub fn open_file(
    path: impl AsRef<std::path::Path>,
) -> Result<Decoder<SniffedReader<BufReader<std::fs::File>>>> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let io_err = |source| Error::Io {
        codec: crate::family_from_extension(&name),
        operation: Operation::Sniff,
        path: Some(name.clone()),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let sniffed = SniffedReader::new(BufReader::new(file)).map_err(io_err)?;
    let family = crate::check_extension(&name, sniffed.head())?;
    Ok(Decoder::new(family, sniffed)?.with_path(name))
}

/// Compresses `plain` with `spec` in memory.
///
/// ```
/// use strata_codec::{compress, decompress, CodecSpec};
///
/// let packed = compress("zstd:19".parse()?, b"{\"price\":\"167.41\"}\n")?;
/// assert_eq!(decompress(&packed)?, b"{\"price\":\"167.41\"}\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compress(spec: CodecSpec, plain: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(plain.len() / 2 + 64);
    compress_into(spec, plain, &mut out)?;
    Ok(out)
}

/// Compresses `plain` with `spec`, appending to `out` (reuse `out` to avoid allocations).
pub fn compress_into(spec: CodecSpec, plain: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let codec = spec.codec_family();
    let mut encoder = Encoder::with_pledged_size(spec, out, plain.len() as u64)?;
    encoder
        .write_all(plain)
        .map_err(|err| Error::from_io(codec, Operation::Compress, err))?;
    encoder.finish()?;
    Ok(())
}

/// Decompresses `packed` in memory, choosing the codec from its magic bytes (plain data comes
/// back as is).
pub fn decompress(packed: &[u8]) -> Result<Vec<u8>> {
    decompress_as(sniff(packed), packed)
}

/// Decompresses `packed` as a `family` stream (no sniffing: a stream of another codec is an
/// error, not plain data).
pub fn decompress_as(family: CodecFamily, packed: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(packed.len().saturating_mul(4));
    Decoder::new(family, packed)?.read_all_into(&mut out)?;
    Ok(out)
}
