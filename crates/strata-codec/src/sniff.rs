//! Content sniffing (CODEC-2): a stream's codec comes from its magic bytes, never from its name.

use crate::{CodecFamily, Error, Result};

/// How many leading bytes [`sniff`] needs to recognise every codec (the longest magic number).
pub const MAGIC_LEN: usize = 4;

/// The codec of a stream, from its first bytes (pass at least [`MAGIC_LEN`] bytes when the
/// stream has them).
///
/// gzip starts `1f 8b`, zstd `28 b5 2f fd`, an LZ4 frame `04 22 4d 18`; anything else, including
/// an empty stream, is plain data ([`CodecFamily::None`]). A stream cut inside its magic number
/// cannot be told from plain data; [`check_extension`] catches that case for named files.
///
/// ```
/// use strata_codec::{sniff, CodecFamily};
///
/// assert_eq!(sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0x04]), CodecFamily::Zstd);
/// assert_eq!(sniff(b"{\"kind\":\"trade\"}"), CodecFamily::None);
/// ```
pub fn sniff(head: &[u8]) -> CodecFamily {
    [CodecFamily::Gzip, CodecFamily::Zstd, CodecFamily::Lz4]
        .into_iter()
        .find(|family| head.starts_with(family.magic()))
        .unwrap_or(CodecFamily::None)
}

/// The codec a file name claims by its last extension: `.gz`, `.zst`, `.lz4` (any case), or
/// [`CodecFamily::None`] for anything else (`x.jsonl`, `x.parquet`).
pub fn family_from_extension(path_name: &str) -> CodecFamily {
    let lower = path_name.to_ascii_lowercase();
    [CodecFamily::Gzip, CodecFamily::Zstd, CodecFamily::Lz4]
        .into_iter()
        .find(|family| lower.ends_with(family.extension()))
        .unwrap_or(CodecFamily::None)
}

/// Checks that a file's extension agrees with its content and returns the content's codec.
///
/// `content_head` is the file's first bytes (at least [`MAGIC_LEN`] when the file has them).
/// A disagreement is an integrity error naming the file and both codecs, e.g.
/// `data/x.jsonl.zst: extension says zstd but content is gzip`; an empty file whose extension
/// names a compressed codec is reported as [`Error::Truncated`].
///
/// ```
/// use strata_codec::{check_extension, compress, CodecFamily, CodecSpec};
///
/// let gz = compress(CodecSpec::Gzip { level: 6 }, b"{}\n")?;
/// assert_eq!(check_extension("hot/a.jsonl.gz", &gz)?, CodecFamily::Gzip);
/// let err = check_extension("data/x.jsonl.zst", &gz).unwrap_err();
/// assert_eq!(err.to_string(), "data/x.jsonl.zst: extension says zstd but content is gzip");
/// # Ok::<(), strata_codec::Error>(())
/// ```
pub fn check_extension(path_name: &str, content_head: &[u8]) -> Result<CodecFamily> {
    let claimed = family_from_extension(path_name);
    let content = sniff(content_head);
    if claimed == content {
        return Ok(content);
    }
    if content_head.is_empty() {
        return Err(Error::Truncated {
            codec: claimed,
            path: Some(path_name.to_string()),
            source: std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the file is empty"),
        });
    }
    Err(Error::ExtensionMismatch {
        path: path_name.to_string(),
        extension: claimed,
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_decide() {
        assert_eq!(sniff(&[0x1f, 0x8b]), CodecFamily::Gzip);
        assert_eq!(sniff(&[0x1f, 0x8b, 0x08, 0x00]), CodecFamily::Gzip);
        assert_eq!(sniff(&[0x28, 0xb5, 0x2f, 0xfd]), CodecFamily::Zstd);
        assert_eq!(sniff(&[0x04, 0x22, 0x4d, 0x18, 0x64]), CodecFamily::Lz4);
        // Cut inside a magic number, empty, or just text: plain.
        assert_eq!(sniff(&[0x28, 0xb5, 0x2f]), CodecFamily::None);
        assert_eq!(sniff(&[0x1f]), CodecFamily::None);
        assert_eq!(sniff(b""), CodecFamily::None);
        assert_eq!(sniff(b"1723161255030314667 {\"stream\""), CodecFamily::None);
        for family in CodecFamily::ALL {
            assert_eq!(sniff(family.magic()), family, "{family}");
        }
    }

    #[test]
    fn extensions_map_to_families() {
        assert_eq!(family_from_extension("a/b.jsonl.gz"), CodecFamily::Gzip);
        assert_eq!(family_from_extension("a/b.jsonl.ZST"), CodecFamily::Zstd);
        assert_eq!(family_from_extension("b.lz4"), CodecFamily::Lz4);
        assert_eq!(family_from_extension("b.jsonl"), CodecFamily::None);
        assert_eq!(family_from_extension("b.gz.jsonl"), CodecFamily::None);
        assert_eq!(family_from_extension("b.tgz"), CodecFamily::None);
        assert_eq!(family_from_extension(""), CodecFamily::None);
    }

    #[test]
    fn every_disagreement_is_an_integrity_error() {
        let names = [
            (CodecFamily::None, "d/x.jsonl"),
            (CodecFamily::Gzip, "d/x.jsonl.gz"),
            (CodecFamily::Zstd, "d/x.jsonl.zst"),
            (CodecFamily::Lz4, "d/x.jsonl.lz4"),
        ];
        let heads: [(CodecFamily, &[u8]); 4] = [
            (CodecFamily::None, b"{\"v\":1}"),
            (CodecFamily::Gzip, &[0x1f, 0x8b, 0x08, 0x00]),
            (CodecFamily::Zstd, &[0x28, 0xb5, 0x2f, 0xfd]),
            (CodecFamily::Lz4, &[0x04, 0x22, 0x4d, 0x18]),
        ];
        for (claimed, name) in names {
            for (content, head) in heads {
                let result = check_extension(name, head);
                if claimed == content {
                    assert_eq!(result.unwrap(), content);
                } else {
                    let err = result.unwrap_err();
                    assert!(err.is_integrity_error());
                    assert_eq!(
                        err.to_string(),
                        format!("{name}: extension says {claimed} but content is {content}")
                    );
                }
            }
        }
    }

    #[test]
    fn empty_file_with_codec_extension_is_truncated() {
        let err = check_extension("warm/x.jsonl.zst", b"").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Truncated {
                    codec: CodecFamily::Zstd,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "warm/x.jsonl.zst: zstd stream is truncated: the file is empty"
        );
        assert_eq!(
            check_extension("hot/x.jsonl", b"").unwrap(),
            CodecFamily::None
        );
    }
}
