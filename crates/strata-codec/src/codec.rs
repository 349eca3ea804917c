//! The [`Codec`] extension point (EXT-1): a streaming compression format strata can write and
//! read, and the [`CodecRegistry`] that recognises streams by their magic bytes.
//!
//! strata's own codecs — none, gzip, zstd and LZ4 frames — are implementations of the trait
//! ([`BuiltinCodec`], over [`Encoder`] and [`Decoder`]); a codec strata does not ship (bzip2,
//! xz, …) implements it the same way and is [registered](CodecRegistry::register), after which
//! [`CodecRegistry::sniff`] and [`CodecRegistry::decoder_for_content`] read its streams like the
//! built-ins'. The laws every implementation must pass are in `strata_codec::laws` (feature
//! `laws`): round trip at every level, truncation and corruption never read as data, the magic
//! bytes sniffable.
//!
//! ```
//! use std::io::{Read, Write};
//! use strata_codec::{Codec, CodecRegistry};
//!
//! let registry = CodecRegistry::default();
//! let zstd = registry.get("zstd").expect("a built-in");
//! let mut packed = Vec::new();
//! let mut encoder = zstd.encoder(Some(3), Box::new(&mut packed))?;
//! encoder.write_all(b"{\"kind\":\"trade\"}\n")?;
//! encoder.finish()?;
//!
//! let (codec, mut reader) = registry.decoder_for_content(Box::new(packed.as_slice()))?;
//! assert_eq!(codec.name(), "zstd");
//! let mut plain = String::new();
//! reader.read_to_string(&mut plain)?;
//! assert_eq!(plain, "{\"kind\":\"trade\"}\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::io::{Read, Write};
use std::sync::Arc;

use crate::{CodecFamily, CodecSpec, Decoder, Encoder, Error, Result};

/// A streaming compression format.
///
/// Implementations hold no per-stream state: [`Codec::encoder`] and [`Codec::decoder`] make a
/// new stream each time, from any thread.
pub trait Codec: Send + Sync + fmt::Debug {
    /// The name config and errors use (`"gzip"`); unique in a registry.
    fn name(&self) -> &str;

    /// The file-name extension with its dot (`".gz"`); empty only for plain data.
    fn extension(&self) -> &str;

    /// The bytes every stream of this codec starts with (`1f 8b` for gzip); empty only for plain
    /// data. They are how a stream is recognised whatever its name (CODEC-2), so no registered
    /// codec's magic may begin another's.
    fn magic(&self) -> &[u8];

    /// The levels [`Codec::encoder`] accepts, lowest and highest (`None`: no levels).
    fn levels(&self) -> Option<(i32, i32)>;

    /// A compressing writer into `out` at `level` (`None`: the codec's default). The stream is
    /// complete only once [`StreamEncoder::finish`] returned.
    fn encoder<'w>(
        &self,
        level: Option<i32>,
        out: Box<dyn Write + Send + 'w>,
    ) -> Result<Box<dyn StreamEncoder + 'w>>;

    /// A decompressing reader of `input`. A stream that is cut short or corrupt must make a read
    /// fail — never end early or yield bytes that were not written.
    fn decoder<'r>(&self, input: Box<dyn Read + Send + 'r>) -> Result<Box<dyn Read + Send + 'r>>;
}

/// The writing half of a [`Codec`]: plain bytes in, then [`StreamEncoder::finish`].
pub trait StreamEncoder: Write + Send {
    /// Writes the stream's end (trailer, checksum) and flushes it. Dropping an encoder without
    /// finishing it leaves a stream that readers must refuse as cut short.
    fn finish(self: Box<Self>) -> Result<()>;
}

impl<W: Write + Send> StreamEncoder for Encoder<W> {
    fn finish(self: Box<Self>) -> Result<()> {
        let mut out = Encoder::finish(*self)?;
        out.flush().map_err(|source| Error::Io {
            codec: CodecFamily::None,
            operation: crate::Operation::Compress,
            path: None,
            source,
        })
    }
}

/// One of strata's own codecs as a [`Codec`]: none, gzip (levels 1–9), zstd (1–22, content
/// checksum; the long-window variant is chosen through [`CodecSpec`]) or LZ4 frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinCodec(pub CodecFamily);

impl BuiltinCodec {
    /// The spec of this codec at `level` (`None`: its default), checked.
    pub fn spec(self, level: Option<i32>) -> Result<CodecSpec> {
        let spec = match (self.0, level) {
            (family, None) => family.default_spec(),
            (CodecFamily::None, Some(_)) | (CodecFamily::Lz4, Some(_)) => {
                return Err(Error::InvalidSpec(crate::CodecSpecError {
                    text: format!("{}:{}", self.0.name(), level.unwrap_or_default()),
                    reason: format!("{} takes no level", self.0.name()),
                }))
            }
            (CodecFamily::Gzip, Some(level)) => CodecSpec::Gzip {
                level: u32::try_from(level).unwrap_or(0),
            },
            (CodecFamily::Zstd, Some(level)) => CodecSpec::Zstd { level, long: false },
        };
        Ok(spec.validate()?)
    }
}

impl Codec for BuiltinCodec {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn extension(&self) -> &str {
        self.0.extension()
    }

    fn magic(&self) -> &[u8] {
        self.0.magic()
    }

    fn levels(&self) -> Option<(i32, i32)> {
        match self.0 {
            CodecFamily::None | CodecFamily::Lz4 => None,
            CodecFamily::Gzip => Some((1, 9)),
            CodecFamily::Zstd => Some((1, 22)),
        }
    }

    fn encoder<'w>(
        &self,
        level: Option<i32>,
        out: Box<dyn Write + Send + 'w>,
    ) -> Result<Box<dyn StreamEncoder + 'w>> {
        Ok(Box::new(Encoder::new(self.spec(level)?, out)?))
    }

    fn decoder<'r>(&self, input: Box<dyn Read + Send + 'r>) -> Result<Box<dyn Read + Send + 'r>> {
        Ok(Box::new(Decoder::new(self.0, input)?))
    }
}

/// Why a codec cannot join a [`CodecRegistry`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Another codec has the name.
    #[error("a codec named `{0}` is registered already")]
    DuplicateName(String),
    /// Another codec has the extension.
    #[error("codec `{codec}`: extension `{extension}` is `{holder}`'s already")]
    DuplicateExtension {
        /// The codec being registered.
        codec: String,
        /// Its extension.
        extension: String,
        /// The codec that has it.
        holder: String,
    },
    /// The codec has no magic bytes or no extension (only plain data may have neither), or its
    /// magic begins another's or another's begins it: its streams could not be told apart.
    #[error("codec `{codec}`: {reason}")]
    Unrecognisable {
        /// The codec being registered.
        codec: String,
        /// Why.
        reason: String,
    },
}

/// The codecs strata knows, by name, extension and magic bytes: the built-ins, plus whatever a
/// program [registers](CodecRegistry::register). `Default` holds the built-ins.
#[derive(Debug, Clone)]
pub struct CodecRegistry {
    codecs: Vec<Arc<dyn Codec>>,
}

impl Default for CodecRegistry {
    fn default() -> Self {
        CodecRegistry {
            codecs: CodecFamily::ALL
                .iter()
                .map(|&family| Arc::new(BuiltinCodec(family)) as Arc<dyn Codec>)
                .collect(),
        }
    }
}

impl CodecRegistry {
    /// Adds `codec`; refused when its name or extension is taken, or when its streams could not
    /// be told from another codec's by their first bytes.
    pub fn register(&mut self, codec: Arc<dyn Codec>) -> Result<(), RegistryError> {
        let name = codec.name().to_string();
        let unrecognisable = |reason: String| RegistryError::Unrecognisable {
            codec: name.clone(),
            reason,
        };
        if codec.magic().is_empty() || codec.extension().is_empty() {
            return Err(unrecognisable(
                "it needs magic bytes and an extension (only plain data has neither)".into(),
            ));
        }
        for other in &self.codecs {
            if other.name() == name {
                return Err(RegistryError::DuplicateName(name));
            }
            if other.extension().eq_ignore_ascii_case(codec.extension()) {
                return Err(RegistryError::DuplicateExtension {
                    codec: name,
                    extension: codec.extension().to_string(),
                    holder: other.name().to_string(),
                });
            }
            let (a, b) = (codec.magic(), other.magic());
            if !b.is_empty() && (a.starts_with(b) || b.starts_with(a)) {
                return Err(unrecognisable(format!(
                    "its magic bytes {a:02x?} and `{}`'s {b:02x?} cannot be told apart",
                    other.name()
                )));
            }
        }
        self.codecs.push(codec);
        Ok(())
    }

    /// The codec named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Codec>> {
        self.codecs.iter().find(|c| c.name() == name).cloned()
    }

    /// Every codec, the built-ins first.
    pub fn codecs(&self) -> impl Iterator<Item = &Arc<dyn Codec>> {
        self.codecs.iter()
    }

    /// How many leading bytes [`CodecRegistry::sniff`] needs: the longest magic.
    pub fn magic_len(&self) -> usize {
        self.codecs
            .iter()
            .map(|c| c.magic().len())
            .max()
            .unwrap_or(0)
    }

    fn plain(&self) -> Arc<dyn Codec> {
        self.codecs
            .iter()
            .find(|c| c.magic().is_empty())
            .cloned()
            .unwrap_or_else(|| Arc::new(BuiltinCodec(CodecFamily::None)))
    }

    /// The codec a stream starting with `head` is in (plain data when no magic matches).
    pub fn sniff(&self, head: &[u8]) -> Arc<dyn Codec> {
        self.codecs
            .iter()
            .find(|c| !c.magic().is_empty() && head.starts_with(c.magic()))
            .cloned()
            .unwrap_or_else(|| self.plain())
    }

    /// The codec a file name claims by its extension (any case; plain data when none does).
    pub fn from_extension(&self, path_name: &str) -> Arc<dyn Codec> {
        let lower = path_name.to_ascii_lowercase();
        self.codecs
            .iter()
            .find(|c| {
                !c.extension().is_empty() && lower.ends_with(&c.extension().to_ascii_lowercase())
            })
            .cloned()
            .unwrap_or_else(|| self.plain())
    }

    /// Reads `input`'s first bytes, recognises its codec and returns it with a reader of the
    /// decompressed stream (the bytes read to sniff are not lost).
    pub fn decoder_for_content<'r>(
        &self,
        input: Box<dyn Read + Send + 'r>,
    ) -> Result<(Arc<dyn Codec>, Box<dyn Read + Send + 'r>)> {
        let sniffed =
            crate::SniffedReader::with_head(input, self.magic_len()).map_err(|source| {
                Error::Io {
                    codec: CodecFamily::None,
                    operation: crate::Operation::Sniff,
                    path: None,
                    source,
                }
            })?;
        let codec = self.sniff(sniffed.head());
        let reader = codec.decoder(Box::new(sniffed))?;
        Ok((codec, reader))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fake(&'static str, &'static str, &'static [u8]);

    impl Codec for Fake {
        fn name(&self) -> &str {
            self.0
        }
        fn extension(&self) -> &str {
            self.1
        }
        fn magic(&self) -> &[u8] {
            self.2
        }
        fn levels(&self) -> Option<(i32, i32)> {
            None
        }
        fn encoder<'w>(
            &self,
            _: Option<i32>,
            out: Box<dyn Write + Send + 'w>,
        ) -> Result<Box<dyn StreamEncoder + 'w>> {
            BuiltinCodec(CodecFamily::None).encoder(None, out)
        }
        fn decoder<'r>(
            &self,
            input: Box<dyn Read + Send + 'r>,
        ) -> Result<Box<dyn Read + Send + 'r>> {
            Ok(input)
        }
    }

    #[test]
    fn registration_refuses_what_could_not_be_told_apart() {
        let mut r = CodecRegistry::default();
        let err = |c: Fake, r: &mut CodecRegistry| r.register(Arc::new(c)).unwrap_err().to_string();
        assert_eq!(
            err(Fake("gzip", ".gzz", b"xx"), &mut r),
            "a codec named `gzip` is registered already"
        );
        assert_eq!(
            err(Fake("g2", ".GZ", b"xx"), &mut r),
            "codec `g2`: extension `.GZ` is `gzip`'s already"
        );
        assert!(err(Fake("g3", ".g3", &[0x1f, 0x8b, 1]), &mut r).contains("cannot be told apart"));
        assert!(err(Fake("z", ".z", &[0x28]), &mut r).contains("cannot be told apart"));
        assert!(err(Fake("p", ".p", b""), &mut r).contains("needs magic bytes"));
        r.register(Arc::new(Fake("bz", ".bz2", b"BZh"))).unwrap();
        assert_eq!(r.sniff(b"BZh91AY").name(), "bz");
        assert_eq!(r.from_extension("x.jsonl.BZ2").name(), "bz");
        assert_eq!(r.sniff(b"{\"v\"").name(), "none");
        assert_eq!(r.magic_len(), 4);
    }

    #[test]
    fn builtins_are_the_families_and_refuse_levels_they_do_not_have() {
        let r = CodecRegistry::default();
        let names: Vec<&str> = r.codecs().map(|c| c.name()).collect();
        assert_eq!(names, ["none", "gzip", "zstd", "lz4"]);
        let gzip = r.get("gzip").unwrap();
        assert!(gzip.encoder(Some(10), Box::new(std::io::sink())).is_err());
        assert!(r
            .get("lz4")
            .unwrap()
            .encoder(Some(1), Box::new(std::io::sink()))
            .is_err());
        assert!(r
            .get("zstd")
            .unwrap()
            .encoder(Some(22), Box::new(std::io::sink()))
            .is_ok());
    }
}
