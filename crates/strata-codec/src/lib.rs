//! # strata-codec — compression for strata's files
//!
//! - [`codec`](mod@codec): the [`Codec`] trait (EXT-1) — name, extension, magic bytes, levels,
//!   streaming encoder and decoder — with strata's codecs as [`BuiltinCodec`]s, and the
//!   [`CodecRegistry`] that recognises any registered codec's streams; `laws` (feature `laws`)
//!   is the test suite every implementation must pass (EXT-2).
//! - [`spec`]: [`CodecSpec`], a codec and its level as written in config (`"zstd:19:long"`),
//!   and [`CodecFamily`], the codec alone.
//! - [`stream`]: streaming [`Encoder`] (finish it explicitly) and [`Decoder`] over any
//!   `Write`/`Read` for none, gzip 1–9, zstd 1–22 (optionally long-distance matching) and LZ4
//!   frames; [`compress`] / [`decompress`] in memory (CODEC-1).
//! - [`sniff`](mod@sniff): the codec from a stream's magic bytes ([`sniff()`],
//!   [`decoder_for_content`]), and [`check_extension`], which turns a file whose name and
//!   content disagree into an integrity error (CODEC-2).
//! - [`measure`](mod@measure): ratio and throughput of codecs on a real sample
//!   ([`measure()`](crate::measure::measure) → [`Measurement`]s, serializable), of any
//!   [`Codec`] too ([`measure_codec`]; a [`MeasuredCodec`] names it, `"bzip2:9"`).
//! - [`advisor`]: pure answers to "fastest with ratio ≥ R" and "smallest at ≥ S MB/s", each
//!   with its reason and runner-up (CODEC-3).
//! - Cargo features: `gzip`, `zstd`, `lz4` (default on) compile each codec in; a build without
//!   one still recognises its streams, and reading or writing one is [`Error::Disabled`] naming
//!   the feature. `laws` adds the codec laws.
//! - [`error`]: [`Error`], the one error type; every stream error names its codec, and its
//!   file when known. A truncated or corrupt stream is always an error, never short data.
//!
//! ```
//! use std::io::{Read, Write};
//! use strata_codec::{check_extension, decoder_for_content, CodecFamily, CodecSpec, Encoder};
//!
//! let lines = b"{\"kind\":\"trade\",\"price\":\"167.41\"}\n".repeat(1000);
//!
//! // Stream events through an encoder; `finish` writes the trailer and returns the writer.
//! let mut encoder = Encoder::new("zstd:3".parse::<CodecSpec>()?, Vec::new())?;
//! encoder.write_all(&lines)?;
//! let file = encoder.finish()?;
//! assert!(file.len() < lines.len() / 20);
//!
//! // Readers trust the content, not the name.
//! assert_eq!(check_extension("warm/spy.jsonl.zst", &file)?, CodecFamily::Zstd);
//! assert!(check_extension("warm/spy.jsonl.gz", &file).is_err());
//! let mut plain = Vec::new();
//! decoder_for_content(file.as_slice())?.read_to_end(&mut plain)?;
//! assert_eq!(plain, lines);
//!
//! // A cut file is an error, not a shorter file.
//! assert!(strata_codec::decompress(&file[..file.len() - 1]).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod advisor;
pub mod codec;
pub mod error;
#[cfg(feature = "laws")]
pub mod laws;
#[cfg(feature = "lz4")]
mod lz4_guard;
pub mod measure;
pub mod sniff;
pub mod spec;
pub mod stream;

pub use advisor::{
    advise, fastest_with_ratio_at_least, smallest_at_speed_at_least, Advice, Question,
};
pub use codec::{BuiltinCodec, Codec, CodecRegistry, RegistryError, StreamEncoder};
pub use error::{Error, Operation, Result};
pub use measure::{
    measure, measure_codec, measure_one, MeasuredCodec, Measurement, MeasurementReport,
};
pub use sniff::{check_extension, family_from_extension, sniff, MAGIC_LEN};
pub use spec::{CodecFamily, CodecSpec, CodecSpecError, GZIP_DEFAULT_LEVEL, ZSTD_DEFAULT_LEVEL};
pub use stream::{
    compress, compress_into, decoder_for_content, decompress, decompress_as, open_file, Decoder,
    Encoder, SniffedReader, ZSTD_LONG_WINDOW_LOG, ZSTD_MAX_WINDOW_LOG,
};
