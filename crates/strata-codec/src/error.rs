//! [`Error`], the one error type of this crate, and [`Result`].

use std::fmt;
use std::io;

use crate::{CodecFamily, CodecSpec, CodecSpecError};

/// `Result` with this crate's [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the codec was doing when the underlying stream failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Compressing (writing through an [`Encoder`](crate::Encoder)).
    Compress,
    /// Decompressing (reading through a [`Decoder`](crate::Decoder)).
    Decompress,
    /// Reading a stream's first bytes to recognise its codec.
    Sniff,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Compress => "compressing",
            Operation::Decompress => "decompressing",
            Operation::Sniff => "reading the codec header",
        })
    }
}

/// Everything that can go wrong while compressing, decompressing or recognising a codec.
///
/// Errors about a stream carry its codec and, when the caller named it (for example
/// [`Decoder::with_path`](crate::Decoder::with_path) or [`check_extension`](crate::check_extension)),
/// its path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file's extension names one codec and its content is another (CODEC-2). This is an
    /// integrity problem: the file was renamed, mislabelled, or overwritten.
    #[error("{path}: extension says {extension} but content is {content}")]
    ExtensionMismatch {
        /// The file as named by the caller.
        path: String,
        /// The codec the extension claims.
        extension: CodecFamily,
        /// The codec the content's magic bytes show.
        content: CodecFamily,
    },

    /// [`Error::ExtensionMismatch`] where either codec is a registered one that is not strata's
    /// own (see [`CodecRegistry::check_extension`](crate::CodecRegistry::check_extension)): the
    /// codecs by name.
    #[error("{path}: extension says {extension} but content is {content}")]
    CodecMismatch {
        /// The file as named by the caller.
        path: String,
        /// The codec the extension claims (`none` for a name no codec claims).
        extension: String,
        /// The codec the content's magic bytes show (`none` for plain or empty content).
        content: String,
    },

    /// The input is in a compression format no codec of the registry reads (bzip2, xz, … when
    /// no [`Codec`](crate::Codec) for it is registered): told by its content, or by its name
    /// when the content says nothing. Reading it as plain data would turn every row into garbage.
    #[error("{}the {} is {format}, which no registered codec reads; register a `Codec` for {format}", at(.path), if *.by_name { "name says it" } else { "content" })]
    UnknownCodec {
        /// The file, when known.
        path: Option<String>,
        /// The format (`bzip2`, `xz`).
        format: String,
        /// True when only the name told it (the content's first bytes did not).
        by_name: bool,
    },

    /// The compressed stream ends before its codec's end marker: the file was cut short.
    #[error("{}{codec} stream is truncated: {source}", at(.path))]
    Truncated {
        /// The stream's codec.
        codec: CodecFamily,
        /// The file, when known.
        path: Option<String>,
        /// The decoder's own report.
        source: io::Error,
    },

    /// The compressed stream is not valid for its codec: a bad header, block or checksum.
    #[error("{}{codec} stream is corrupt: {source}", at(.path))]
    Corrupt {
        /// The stream's codec.
        codec: CodecFamily,
        /// The file, when known.
        path: Option<String>,
        /// The decoder's own report.
        source: io::Error,
    },

    /// The underlying reader or writer failed (disk, network, a closed pipe).
    #[error("{}I/O error while {operation} {codec}: {source}", at(.path))]
    Io {
        /// The stream's codec.
        codec: CodecFamily,
        /// What the codec was doing.
        operation: Operation,
        /// The file, when known.
        path: Option<String>,
        /// The underlying error.
        source: io::Error,
    },

    /// The codec is one of strata's, but this build left it out: its cargo feature is off. Its
    /// streams are still recognised by their magic bytes, so a file in it is named, not misread.
    #[error("{}{codec} support is not compiled in: enable strata-codec's cargo feature `{feature}`", at(.path))]
    Disabled {
        /// The codec.
        codec: CodecFamily,
        /// The cargo feature that compiles it in.
        feature: &'static str,
        /// The file, when known.
        path: Option<String>,
    },

    /// A codec spec outside its codec's settings (for example `Gzip { level: 12 }`).
    #[error(transparent)]
    InvalidSpec(#[from] CodecSpecError),

    /// Decompressing did not give back the bytes that were compressed (found by
    /// [`measure`](crate::measure()), which checks every round trip it times).
    #[error(
        "{codec} round trip changed the data: {input_bytes} bytes in, {output_bytes} bytes back"
    )]
    RoundTripMismatch {
        /// The codec under test.
        codec: crate::MeasuredCodec,
        /// Bytes compressed.
        input_bytes: u64,
        /// Bytes that came back.
        output_bytes: u64,
    },
}

/// `"path: "` when a path is known, else nothing.
fn at(path: &Option<String>) -> String {
    path.as_ref().map(|p| format!("{p}: ")).unwrap_or_default()
}

impl Error {
    /// The error for a codec this build left out.
    pub(crate) fn disabled(codec: CodecFamily) -> Self {
        Error::Disabled {
            codec,
            feature: codec.feature().unwrap_or("default"),
            path: None,
        }
    }

    /// Names the file this error is about (replaces a path already set). Errors that are not
    /// about a stream are returned unchanged.
    #[must_use]
    pub fn with_path(mut self, file: impl Into<String>) -> Self {
        match &mut self {
            Error::Truncated { path, .. }
            | Error::Corrupt { path, .. }
            | Error::Io { path, .. }
            | Error::Disabled { path, .. } => {
                *path = Some(file.into());
            }
            Error::UnknownCodec { path, .. } => *path = Some(file.into()),
            Error::ExtensionMismatch { path, .. } | Error::CodecMismatch { path, .. } => {
                *path = file.into();
            }
            Error::InvalidSpec(_) | Error::RoundTripMismatch { .. } => {}
        }
        self
    }

    /// The codec family this error is about, when it is about a stream.
    pub fn codec(&self) -> Option<CodecFamily> {
        match self {
            Error::Truncated { codec, .. }
            | Error::Corrupt { codec, .. }
            | Error::Io { codec, .. }
            | Error::Disabled { codec, .. } => Some(*codec),
            Error::ExtensionMismatch { content, .. } => Some(*content),
            Error::RoundTripMismatch { codec, .. } => codec.spec().map(CodecSpec::codec_family),
            Error::CodecMismatch { content, .. } => {
                CodecFamily::ALL.into_iter().find(|f| f.name() == content)
            }
            Error::InvalidSpec(_) | Error::UnknownCodec { .. } => None,
        }
    }

    /// True when the data itself is bad (truncated, corrupt, mislabelled) rather than the
    /// storage under it failing: the caller should quarantine the file, not retry.
    pub fn is_integrity_error(&self) -> bool {
        matches!(
            self,
            Error::Truncated { .. }
                | Error::Corrupt { .. }
                | Error::ExtensionMismatch { .. }
                | Error::CodecMismatch { .. }
        )
    }

    /// Recovers the codec error carried by an `io::Error` that an [`Encoder`](crate::Encoder)
    /// or [`Decoder`](crate::Decoder) returned through `Write`/`Read` (for example from
    /// `std::io::copy`). Any other `io::Error` becomes [`Error::Io`] for `codec`.
    pub fn from_io(codec: CodecFamily, operation: Operation, err: io::Error) -> Self {
        match err.downcast::<Error>() {
            Ok(ours) => ours,
            Err(err) => Error::Io {
                codec,
                operation,
                path: None,
                source: err,
            },
        }
    }

    /// Wraps this error into an `io::Error` (for `Read`/`Write` impls) keeping a fitting kind,
    /// so that [`Error::from_io`] can recover it.
    pub(crate) fn into_io(self) -> io::Error {
        let kind = match &self {
            Error::Truncated { .. } => io::ErrorKind::UnexpectedEof,
            Error::Corrupt { .. }
            | Error::ExtensionMismatch { .. }
            | Error::CodecMismatch { .. } => io::ErrorKind::InvalidData,
            Error::UnknownCodec { .. } => io::ErrorKind::Unsupported,
            Error::Io { source, .. } => source.kind(),
            Error::InvalidSpec(_) => io::ErrorKind::InvalidInput,
            Error::Disabled { .. } => io::ErrorKind::Unsupported,
            Error::RoundTripMismatch { .. } => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_and_codec() {
        let err = Error::ExtensionMismatch {
            path: "data/x.jsonl.zst".into(),
            extension: CodecFamily::Zstd,
            content: CodecFamily::Gzip,
        };
        assert_eq!(
            err.to_string(),
            "data/x.jsonl.zst: extension says zstd but content is gzip"
        );

        let err = Error::Truncated {
            codec: CodecFamily::Lz4,
            path: None,
            source: io::Error::new(io::ErrorKind::UnexpectedEof, "cut"),
        };
        assert_eq!(err.to_string(), "lz4 stream is truncated: cut");
        let err = err.with_path("hot/a.jsonl.lz4");
        assert_eq!(
            err.to_string(),
            "hot/a.jsonl.lz4: lz4 stream is truncated: cut"
        );
        assert!(err.is_integrity_error());
        assert_eq!(err.codec(), Some(CodecFamily::Lz4));
    }

    #[test]
    fn io_wrapping_round_trips() {
        let err = Error::Corrupt {
            codec: CodecFamily::Zstd,
            path: Some("f.zst".into()),
            source: io::Error::new(io::ErrorKind::InvalidData, "bad block"),
        };
        let io_err = err.into_io();
        assert_eq!(io_err.kind(), io::ErrorKind::InvalidData);
        let back = Error::from_io(CodecFamily::None, Operation::Decompress, io_err);
        assert!(
            matches!(
                back,
                Error::Corrupt {
                    codec: CodecFamily::Zstd,
                    ..
                }
            ),
            "{back:?}"
        );

        let plain = io::Error::new(io::ErrorKind::PermissionDenied, "no");
        let back = Error::from_io(CodecFamily::Gzip, Operation::Compress, plain);
        assert!(
            matches!(
                back,
                Error::Io {
                    codec: CodecFamily::Gzip,
                    ..
                }
            ),
            "{back:?}"
        );
        assert!(!back.is_integrity_error());
        assert_eq!(back.to_string(), "I/O error while compressing gzip: no");
    }
}
