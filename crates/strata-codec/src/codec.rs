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

/// The family of `codec` when it is one of strata's own. A registry refuses a second codec of
/// a built-in's name, so in a registry the name decides.
pub(crate) fn builtin_family(codec: &dyn Codec) -> Option<CodecFamily> {
    CodecFamily::ALL
        .into_iter()
        .find(|family| family.name() == codec.name() && family.magic() == codec.magic())
}

/// Whether a stream's first bytes are in a format.
type HeadTest = fn(&[u8]) -> bool;

/// Compression formats strata does not ship, by name, extension and a test of a stream's first
/// bytes: a file in one is refused with [`Error::UnknownCodec`] unless a codec for it is
/// registered, rather than read as plain data.
const FOREIGN_FORMATS: &[(&str, &str, HeadTest)] = &[
    // `BZh`, the block size digit, then a block's or the stream end's 48-bit mark.
    ("bzip2", ".bz2", |h| {
        h.len() >= 10
            && h.starts_with(b"BZh")
            && (b'1'..=b'9').contains(&h[3])
            && (h[4..10] == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
                || h[4..10] == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90])
    }),
    ("xz", ".xz", |h| {
        h.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00])
    }),
    ("7z", ".7z", |h| {
        h.starts_with(&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c])
    }),
    ("lzip", ".lz", |h| h.starts_with(b"LZIP")),
    ("brotli", ".br", |_| false),
];

/// The bytes [`FOREIGN_FORMATS`] look at.
const FOREIGN_HEAD_LEN: usize = 10;

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

    /// A format no codec of the registry reads that `head` is in (by its content) or, when the
    /// content does not tell, that `path_name`'s extension names: `(format, by_name)`.
    fn foreign(&self, path_name: Option<&str>, head: &[u8]) -> Option<(&'static str, bool)> {
        let unregistered = |format: &str, extension: &str| {
            self.get(format).is_none()
                && !self
                    .codecs
                    .iter()
                    .any(|c| c.extension().eq_ignore_ascii_case(extension))
        };
        if let Some(&(format, _, _)) = FOREIGN_FORMATS
            .iter()
            .find(|(format, extension, test)| test(head) && unregistered(format, extension))
        {
            return Some((format, false));
        }
        let lower = path_name?.to_ascii_lowercase();
        FOREIGN_FORMATS
            .iter()
            .find(|(format, extension, _)| {
                lower.ends_with(extension) && unregistered(format, extension)
            })
            .map(|&(format, _, _)| (format, true))
    }

    /// The error for a stream in a format no codec of the registry reads, if `head` (or,
    /// given, `path_name`) shows one.
    fn refuse_foreign(&self, path_name: Option<&str>, head: &[u8]) -> Result<()> {
        match self.foreign(path_name, head) {
            Some((format, by_name)) => Err(Error::UnknownCodec {
                path: path_name.map(str::to_string),
                format: format.to_string(),
                by_name,
            }),
            None => Ok(()),
        }
    }

    /// Checks that a file's name and content agree (CODEC-2) over every codec of the registry and
    /// returns the content's codec, as [`check_extension`](crate::check_extension) does for
    /// strata's own: a `.bz2` file must hold a bzip2 stream once bzip2 is registered.
    ///
    /// `content_head` is the file's first bytes (at least [`CodecRegistry::magic_len`], and 10
    /// to tell the formats strata does not ship). A disagreement is an integrity error naming the
    /// file and both codecs ([`Error::ExtensionMismatch`] between built-ins, else
    /// [`Error::CodecMismatch`]); content (or, when the content does not tell, a name) in a
    /// compression format no registered codec reads — bzip2, xz, 7z, lzip, brotli — is
    /// [`Error::UnknownCodec`], never read as plain data.
    ///
    /// ```
    /// use strata_codec::{compress, CodecRegistry, CodecSpec};
    ///
    /// let registry = CodecRegistry::default();
    /// let gz = compress(CodecSpec::Gzip { level: 6 }, b"{}\n")?;
    /// assert_eq!(registry.check_extension("hot/a.jsonl.gz", &gz)?.name(), "gzip");
    /// let err = registry.check_extension("in/trades.csv.bz2", b"ts,px\n1,2\n").unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "in/trades.csv.bz2: the name says it is bzip2, which no registered codec reads; \
    ///      register a `Codec` for bzip2"
    /// );
    /// # Ok::<(), strata_codec::Error>(())
    /// ```
    pub fn check_extension(&self, path_name: &str, content_head: &[u8]) -> Result<Arc<dyn Codec>> {
        let content = self.sniff(content_head);
        if content.magic().is_empty() {
            self.refuse_foreign(Some(path_name), content_head)?;
        }
        let claimed = self.from_extension(path_name);
        if claimed.name() == content.name() {
            return Ok(content);
        }
        // A name in a format no codec reads (`.bz2`) over content in another (gzip): the name
        // says bzip2, not `none`.
        if let Some((format, true)) = self.foreign(Some(path_name), &[]) {
            return Err(Error::CodecMismatch {
                path: path_name.to_string(),
                extension: format.to_string(),
                content: content.name().to_string(),
            });
        }
        match (
            builtin_family(claimed.as_ref()),
            builtin_family(content.as_ref()),
        ) {
            // strata's own codecs, reported as `check_extension` reports them.
            (Some(_), Some(_)) => crate::check_extension(path_name, content_head).map(|_| content),
            _ => Err(Error::CodecMismatch {
                path: path_name.to_string(),
                extension: claimed.name().to_string(),
                content: content.name().to_string(),
            }),
        }
    }

    /// Opens the file at `path`, checks that its name and content agree
    /// ([`CodecRegistry::check_extension`]) and returns its codec with a reader of its
    /// decompressed content; [`open_file`](crate::open_file) over every codec of the registry.
    /// Errors name the file.
    pub fn open_file(
        &self,
        path: &std::path::Path,
    ) -> Result<(Arc<dyn Codec>, Box<dyn Read + Send>)> {
        let name = path.display().to_string();
        let io_err = |source| Error::Io {
            codec: CodecFamily::None,
            operation: crate::Operation::Sniff,
            path: Some(name.clone()),
            source,
        };
        let file = std::fs::File::open(path).map_err(io_err)?;
        let sniffed = crate::SniffedReader::with_head(
            std::io::BufReader::new(file),
            self.magic_len().max(FOREIGN_HEAD_LEN),
        )
        .map_err(io_err)?;
        let codec = self.check_extension(&name, sniffed.head())?;
        let reader = self.decoder_of(&codec, sniffed, &name)?;
        Ok((codec, reader))
    }

    /// [`CodecRegistry::decoder_for_content`] for a stream that `name` stands for in errors,
    /// which refuses content in a compression format no registered codec reads
    /// ([`Error::UnknownCodec`]) instead of reading it as plain data. The name is not checked
    /// against the content (a stream's name may be `-`); [`CodecRegistry::open_file`] checks a
    /// file's.
    pub fn read_content<'r>(
        &self,
        input: Box<dyn Read + Send + 'r>,
        name: &str,
    ) -> Result<(Arc<dyn Codec>, Box<dyn Read + Send + 'r>)> {
        let sniffed =
            crate::SniffedReader::with_head(input, self.magic_len().max(FOREIGN_HEAD_LEN))
                .map_err(|source| Error::Io {
                    codec: CodecFamily::None,
                    operation: crate::Operation::Sniff,
                    path: Some(name.to_string()),
                    source,
                })?;
        let codec = self.sniff(sniffed.head());
        if codec.magic().is_empty() {
            self.refuse_foreign(None, sniffed.head())
                .map_err(|e| e.with_path(name))?;
        }
        let reader = self.decoder_of(&codec, sniffed, name)?;
        Ok((codec, reader))
    }

    /// `codec`'s reader of `input`; strata's own codecs name `name` in their stream errors.
    fn decoder_of<'r>(
        &self,
        codec: &Arc<dyn Codec>,
        input: impl Read + Send + 'r,
        name: &str,
    ) -> Result<Box<dyn Read + Send + 'r>> {
        match builtin_family(codec.as_ref()) {
            Some(family) => Ok(Box::new(
                Decoder::new(family, input)
                    .map_err(|e| e.with_path(name))?
                    .with_path(name),
            )),
            None => codec
                .decoder(Box::new(input))
                .map_err(|e| e.with_path(name)),
        }
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

    /// A bzip2 stream's first bytes: `BZh`, level 9, a block's mark.
    const BZIP2_HEAD: &[u8] = b"BZh91AY&SY\x12\x34";

    #[test]
    fn a_name_in_a_format_no_codec_reads_over_other_content_names_both() {
        let r = CodecRegistry::default();
        let gz = crate::compress(crate::CodecSpec::Gzip { level: 1 }, b"ts,px\n").unwrap();
        let err = r.check_extension("in/t.csv.bz2", &gz).unwrap_err();
        assert_eq!(
            err.to_string(),
            "in/t.csv.bz2: extension says bzip2 but content is gzip"
        );
        assert!(err.is_integrity_error(), "{err}");
    }

    #[test]
    fn formats_no_codec_reads_are_refused_not_read_as_plain() {
        let r = CodecRegistry::default();
        for name in ["in/t.csv.bz2", "in/t.csv.gz", "in/t.csv"] {
            let err = r.check_extension(name, BZIP2_HEAD).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("{name}: the content is bzip2, which no registered codec reads; register a `Codec` for bzip2")
            );
            assert!(!err.is_integrity_error(), "the file may be fine: {err}");
        }
        let err = r.check_extension("in/t.csv.XZ", b"ts,px\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "in/t.csv.XZ: the name says it is xz, which no registered codec reads; register a `Codec` for xz"
        );
        let xz = [0xfd, b'7', b'z', b'X', b'Z', 0, 0, 4];
        assert!(matches!(
            r.check_extension("t.jsonl", &xz),
            Err(Error::UnknownCodec { by_name: false, .. })
        ));
        // Text that merely starts like a magic number is text.
        assert_eq!(
            r.check_extension("t.csv", b"BZh,px\n1,2\n").unwrap().name(),
            "none"
        );
        // strata's own codecs are checked, and reported, as `check_extension` does.
        let zstd = crate::compress(
            CodecSpec::Zstd {
                level: 1,
                long: false,
            },
            b"x",
        )
        .unwrap();
        assert_eq!(r.check_extension("t.zst", &zstd).unwrap().name(), "zstd");
        assert_eq!(
            r.check_extension("t.gz", &zstd).unwrap_err().to_string(),
            "t.gz: extension says gzip but content is zstd"
        );
    }

    #[test]
    fn a_registered_codec_must_agree_with_its_extension() {
        let mut r = CodecRegistry::default();
        r.register(Arc::new(Fake("bz", ".bz2", b"BZh"))).unwrap();
        assert_eq!(
            r.check_extension("t.csv.bz2", BZIP2_HEAD).unwrap().name(),
            "bz"
        );
        let gzip = crate::compress(CodecSpec::Gzip { level: 1 }, b"x").unwrap();
        for (name, head, text) in [
            (
                "t.csv.bz2",
                &gzip[..],
                "t.csv.bz2: extension says bz but content is gzip",
            ),
            (
                "t.csv",
                BZIP2_HEAD,
                "t.csv: extension says none but content is bz",
            ),
            (
                "t.csv.gz",
                BZIP2_HEAD,
                "t.csv.gz: extension says gzip but content is bz",
            ),
            (
                "t.csv.bz2",
                b"ts,px\n",
                "t.csv.bz2: extension says bz but content is none",
            ),
            (
                "t.csv.bz2",
                b"",
                "t.csv.bz2: extension says bz but content is none",
            ),
        ] {
            let err = r.check_extension(name, head).unwrap_err();
            assert_eq!(err.to_string(), text);
            assert!(err.is_integrity_error(), "{err}");
        }
    }

    #[test]
    fn files_and_streams_open_through_the_registry() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = CodecRegistry::default();
        let bz = dir.path().join("t.csv.bz2");
        let payload = [BZIP2_HEAD, b"rest"].concat();
        std::fs::write(&bz, &payload).unwrap();
        // Unregistered: refused, naming the file.
        let err = r.open_file(&bz).err().unwrap();
        assert!(
            err.to_string()
                .starts_with(&format!("{}: the content is bzip2", bz.display())),
            "{err}"
        );
        let err = r
            .read_content(Box::new(payload.as_slice()), "-")
            .err()
            .unwrap();
        assert!(
            err.to_string().starts_with("-: the content is bzip2"),
            "{err}"
        );
        // Registered: read by the codec's decoder (the fake passes bytes through).
        r.register(Arc::new(Fake("bz", ".bz2", b"BZh"))).unwrap();
        let (codec, mut reader) = r.open_file(&bz).unwrap();
        let mut back = Vec::new();
        reader.read_to_end(&mut back).unwrap();
        assert_eq!((codec.name(), back), ("bz", payload.clone()));
        let (codec, _) = r.read_content(Box::new(payload.as_slice()), "-").unwrap();
        assert_eq!(codec.name(), "bz");

        // A built-in's stream errors name the file.
        let gz = dir.path().join("t.csv.gz");
        let packed = crate::compress(CodecSpec::Gzip { level: 6 }, &b"a,b\n".repeat(100)).unwrap();
        std::fs::write(&gz, &packed[..packed.len() - 4]).unwrap();
        let (codec, mut reader) = r.open_file(&gz).unwrap();
        assert_eq!(codec.name(), "gzip");
        let err = reader.read_to_end(&mut Vec::new()).err().unwrap();
        assert!(err.to_string().contains("t.csv.gz"), "{err}");
        let missing = dir.path().join("missing.gz");
        assert!(r
            .open_file(&missing)
            .err()
            .unwrap()
            .to_string()
            .contains("missing.gz"));
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
