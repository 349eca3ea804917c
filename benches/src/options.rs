//! What the bench binaries read from their environment and how they print numbers.

use anyhow::{bail, Context, Result};
use strata_codec::CodecSpec;

/// The codecs the criterion bench measures unless `STRATA_BENCH_CODECS` says otherwise.
pub const DEFAULT_BENCH_CODECS: &str =
    "none,lz4,gzip:1,gzip:6,gzip:9,zstd:1,zstd:3,zstd:9,zstd:19,zstd:19:long";

/// Parses a comma-separated codec list (`"none,lz4,zstd:19:long"`).
pub fn parse_codec_list(text: &str) -> Result<Vec<CodecSpec>> {
    let specs = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<CodecSpec>().map_err(anyhow::Error::from))
        .collect::<Result<Vec<_>>>()?;
    if specs.is_empty() {
        bail!("the codec list `{text}` is empty");
    }
    Ok(specs)
}

/// The codec list from environment variable `var`, or `default`.
pub fn codecs_from_env(var: &str, default: &str) -> Result<Vec<CodecSpec>> {
    match std::env::var(var) {
        Ok(text) if !text.trim().is_empty() => {
            parse_codec_list(&text).with_context(|| format!("in ${var}"))
        }
        _ => parse_codec_list(default),
    }
}

/// `1234567` → `1,234,567`, for the tables the bench binaries print.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_lists_parse() {
        assert_eq!(parse_codec_list(DEFAULT_BENCH_CODECS).unwrap().len(), 10);
        assert!(parse_codec_list("zstd:30").is_err());
        assert!(parse_codec_list(" , ").is_err());
    }
}
