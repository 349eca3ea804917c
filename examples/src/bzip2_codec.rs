//! bzip2 as a strata [`Codec`], from the `bzip2` crate (its pure-Rust `libbz2-rs-sys` backend):
//! what a user writes to plug in a codec strata does not ship. It passes the codec laws
//! (`examples/tests/custom_codec_passes_the_laws.rs`).
//!
//! bzip2 streams start with `BZh` and a level digit, carry a CRC per block and one for the
//! stream, and end with an end-of-stream mark, so a cut or changed stream fails to read.

use std::io::{Read, Write};

use strata::codec::{Codec, Error, Operation, StreamEncoder};

/// The bzip2 codec: levels 1–9 (block size ×100 kB), extension `.bz2`, magic `BZh`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bzip2Codec;

/// The level when none is asked for (bzip2's own default).
pub const DEFAULT_LEVEL: u32 = 9;

struct Bzip2Encoder<'w>(bzip2::write::BzEncoder<Box<dyn Write + Send + 'w>>);

impl Write for Bzip2Encoder<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn io_error(operation: Operation, source: std::io::Error) -> Error {
    Error::Io {
        codec: strata::codec::CodecFamily::None,
        operation,
        path: Some("bzip2 stream".into()),
        source,
    }
}

impl StreamEncoder for Bzip2Encoder<'_> {
    fn finish(self: Box<Self>) -> strata::codec::Result<()> {
        let mut out = self
            .0
            .finish()
            .map_err(|e| io_error(Operation::Compress, e))?;
        out.flush().map_err(|e| io_error(Operation::Compress, e))
    }
}

impl Codec for Bzip2Codec {
    fn name(&self) -> &str {
        "bzip2"
    }

    fn extension(&self) -> &str {
        ".bz2"
    }

    fn magic(&self) -> &[u8] {
        b"BZh"
    }

    fn levels(&self) -> Option<(i32, i32)> {
        Some((1, 9))
    }

    fn encoder<'w>(
        &self,
        level: Option<i32>,
        out: Box<dyn Write + Send + 'w>,
    ) -> strata::codec::Result<Box<dyn StreamEncoder + 'w>> {
        let level = match level {
            None => DEFAULT_LEVEL,
            Some(level @ 1..=9) => level.unsigned_abs(),
            Some(level) => {
                return Err(Error::InvalidSpec(strata::codec::CodecSpecError {
                    text: format!("bzip2:{level}"),
                    reason: "bzip2 levels are 1..=9".into(),
                }))
            }
        };
        Ok(Box::new(Bzip2Encoder(bzip2::write::BzEncoder::new(
            out,
            bzip2::Compression::new(level),
        ))))
    }

    fn decoder<'r>(
        &self,
        input: Box<dyn Read + Send + 'r>,
    ) -> strata::codec::Result<Box<dyn Read + Send + 'r>> {
        // Every stream of a file that holds several back to back (appended, or `cat a.bz2
        // b.bz2`), as strata's own codecs read every member, frame or stream.
        Ok(Box::new(bzip2::read::MultiBzDecoder::new(input)))
    }
}
