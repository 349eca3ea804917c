//! [`CodecSpec`]: which codec at which level, as written in config (`"zstd:19"`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Default gzip level when none is written (`"gzip"`).
pub const GZIP_DEFAULT_LEVEL: u32 = 6;
/// Default zstd level when none is written (`"zstd"`).
pub const ZSTD_DEFAULT_LEVEL: i32 = 3;

/// A codec and its settings. Written in config as `none`, `gzip[:LEVEL]` (1–9), `zstd[:LEVEL][:long]`
/// (1–22; `long` turns on long-distance matching), or `lz4` (LZ4 frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodecSpec {
    /// Stored as is.
    None,
    /// gzip (DEFLATE) at a level 1–9.
    Gzip {
        /// Compression level, 1 (fast) to 9 (small).
        level: u32,
    },
    /// Zstandard at a level 1–22, optionally with long-distance matching.
    Zstd {
        /// Compression level, 1 (fast) to 22 (small).
        level: i32,
        /// Long-distance matching (a 128 MiB window; readers need the same window).
        long: bool,
    },
    /// LZ4 frame format.
    Lz4,
}

/// Why a codec text is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a codec: {reason} (use none, gzip[:1-9], zstd[:1-22][:long] or lz4)")]
pub struct CodecSpecError {
    /// The rejected text.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl CodecSpec {
    /// The codec family name: `none`, `gzip`, `zstd` or `lz4`.
    pub const fn family(self) -> &'static str {
        match self {
            CodecSpec::None => "none",
            CodecSpec::Gzip { .. } => "gzip",
            CodecSpec::Zstd { .. } => "zstd",
            CodecSpec::Lz4 => "lz4",
        }
    }

    /// The file-name extension this codec adds (`""` for none, `".gz"`, `".zst"`, `".lz4"`).
    pub const fn extension(self) -> &'static str {
        match self {
            CodecSpec::None => "",
            CodecSpec::Gzip { .. } => ".gz",
            CodecSpec::Zstd { .. } => ".zst",
            CodecSpec::Lz4 => ".lz4",
        }
    }
}

impl CodecSpec {
    /// The codec family of this spec (what the stream's magic bytes reveal).
    pub const fn codec_family(self) -> CodecFamily {
        match self {
            CodecSpec::None => CodecFamily::None,
            CodecSpec::Gzip { .. } => CodecFamily::Gzip,
            CodecSpec::Zstd { .. } => CodecFamily::Zstd,
            CodecSpec::Lz4 => CodecFamily::Lz4,
        }
    }

    /// Checks the level of a spec built by hand (the enum's fields are public, so
    /// `Gzip { level: 12 }` can be written); parsing already enforces these bounds.
    pub fn validate(self) -> Result<Self, CodecSpecError> {
        let out_of_range = |level: i64, max: i64| CodecSpecError {
            text: self.to_string(),
            reason: format!("level {level} is outside 1..={max}"),
        };
        match self {
            CodecSpec::Gzip { level } if !(1..=9).contains(&level) => {
                Err(out_of_range(i64::from(level), 9))
            }
            CodecSpec::Zstd { level, .. } if !(1..=22).contains(&level) => {
                Err(out_of_range(i64::from(level), 22))
            }
            _ => Ok(self),
        }
    }

    /// Every spec at every level: none, lz4, gzip 1–9, zstd 1–22, then zstd 1–22 with
    /// long-distance matching (55 specs), less the codecs this build left out (see
    /// [`CodecFamily::is_enabled`]). Used by round-trip tests and full benchmark tables.
    pub fn every_level() -> Vec<CodecSpec> {
        let mut specs = vec![CodecSpec::None, CodecSpec::Lz4];
        specs.extend((1..=9).map(|level| CodecSpec::Gzip { level }));
        specs.extend((1..=22).map(|level| CodecSpec::Zstd { level, long: false }));
        specs.extend((1..=22).map(|level| CodecSpec::Zstd { level, long: true }));
        specs.retain(|spec| spec.codec_family().is_enabled());
        specs
    }
}

/// A codec without its settings: what a stream's magic bytes can tell, and what a file
/// extension claims (CODEC-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodecFamily {
    /// Not compressed (no known magic bytes, no codec extension).
    None,
    /// gzip: magic `1f 8b`, extension `.gz`.
    Gzip,
    /// Zstandard: magic `28 b5 2f fd`, extension `.zst`.
    Zstd,
    /// LZ4 frame: magic `04 22 4d 18`, extension `.lz4`.
    Lz4,
}

impl CodecFamily {
    /// Every family, plain first.
    pub const ALL: [CodecFamily; 4] = [
        CodecFamily::None,
        CodecFamily::Gzip,
        CodecFamily::Zstd,
        CodecFamily::Lz4,
    ];

    /// The family name: `none`, `gzip`, `zstd` or `lz4` (as in [`CodecSpec::family`]).
    pub const fn name(self) -> &'static str {
        match self {
            CodecFamily::None => "none",
            CodecFamily::Gzip => "gzip",
            CodecFamily::Zstd => "zstd",
            CodecFamily::Lz4 => "lz4",
        }
    }

    /// The file-name extension of this family (`""` for none, `".gz"`, `".zst"`, `".lz4"`).
    pub const fn extension(self) -> &'static str {
        match self {
            CodecFamily::None => "",
            CodecFamily::Gzip => ".gz",
            CodecFamily::Zstd => ".zst",
            CodecFamily::Lz4 => ".lz4",
        }
    }

    /// The cargo feature of strata-codec that compiles this codec in (`None` for plain data,
    /// which is always there).
    pub const fn feature(self) -> Option<&'static str> {
        match self {
            CodecFamily::None => None,
            CodecFamily::Gzip => Some("gzip"),
            CodecFamily::Zstd => Some("zstd"),
            CodecFamily::Lz4 => Some("lz4"),
        }
    }

    /// True when this build can read and write the codec (its cargo feature is on).
    pub const fn is_enabled(self) -> bool {
        match self {
            CodecFamily::None => true,
            CodecFamily::Gzip => cfg!(feature = "gzip"),
            CodecFamily::Zstd => cfg!(feature = "zstd"),
            CodecFamily::Lz4 => cfg!(feature = "lz4"),
        }
    }

    /// `Ok` when this build has the codec, else [`Error::Disabled`](crate::Error::Disabled)
    /// naming the cargo feature to enable.
    pub fn require(self) -> crate::Result<()> {
        if self.is_enabled() {
            Ok(())
        } else {
            Err(crate::Error::disabled(self))
        }
    }

    /// The magic bytes a stream of this family starts with (empty for none).
    pub const fn magic(self) -> &'static [u8] {
        match self {
            CodecFamily::None => &[],
            CodecFamily::Gzip => &[0x1f, 0x8b],
            CodecFamily::Zstd => &[0x28, 0xb5, 0x2f, 0xfd],
            CodecFamily::Lz4 => &[0x04, 0x22, 0x4d, 0x18],
        }
    }

    /// The spec used when only the family is known (gzip 6, zstd 3).
    pub const fn default_spec(self) -> CodecSpec {
        match self {
            CodecFamily::None => CodecSpec::None,
            CodecFamily::Gzip => CodecSpec::Gzip {
                level: GZIP_DEFAULT_LEVEL,
            },
            CodecFamily::Zstd => CodecSpec::Zstd {
                level: ZSTD_DEFAULT_LEVEL,
                long: false,
            },
            CodecFamily::Lz4 => CodecSpec::Lz4,
        }
    }
}

impl fmt::Display for CodecFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for CodecSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CodecSpec::None => f.write_str("none"),
            CodecSpec::Gzip { level } => write!(f, "gzip:{level}"),
            CodecSpec::Zstd { level, long: false } => write!(f, "zstd:{level}"),
            CodecSpec::Zstd { level, long: true } => write!(f, "zstd:{level}:long"),
            CodecSpec::Lz4 => f.write_str("lz4"),
        }
    }
}

impl FromStr for CodecSpec {
    type Err = CodecSpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| CodecSpecError {
            text: text.to_string(),
            reason,
        };
        let mut parts = text.trim().split(':');
        let family = parts.next().unwrap_or_default().to_ascii_lowercase();
        let rest: Vec<&str> = parts.collect();
        let level =
            |range: std::ops::RangeInclusive<i64>, default: i64| -> Result<i64, CodecSpecError> {
                match rest.first() {
                    None => Ok(default),
                    Some(l) => {
                        let l: i64 = l
                            .parse()
                            .map_err(|_| err(format!("level `{l}` is not a number")))?;
                        if range.contains(&l) {
                            Ok(l)
                        } else {
                            Err(err(format!(
                                "level {l} is outside {}..={}",
                                range.start(),
                                range.end()
                            )))
                        }
                    }
                }
            };
        match family.as_str() {
            "none" | "uncompressed" if rest.is_empty() => Ok(CodecSpec::None),
            "lz4" if rest.is_empty() => Ok(CodecSpec::Lz4),
            "gzip" | "gz" if rest.len() <= 1 => {
                // The range check above bounds the level to 1..=9.
                Ok(CodecSpec::Gzip {
                    level: level(1..=9, i64::from(GZIP_DEFAULT_LEVEL))? as u32,
                })
            }
            "zstd" | "zst" if rest.len() <= 2 => {
                let long = match rest.get(1) {
                    None => false,
                    Some(&"long") => true,
                    Some(other) => return Err(err(format!("unknown zstd option `{other}`"))),
                };
                // The range check above bounds the level to 1..=22.
                Ok(CodecSpec::Zstd {
                    level: level(1..=22, i64::from(ZSTD_DEFAULT_LEVEL))? as i32,
                    long,
                })
            }
            "none" | "uncompressed" | "lz4" | "gzip" | "gz" | "zstd" | "zst" => {
                Err(err("too many `:` options".to_string()))
            }
            other => Err(err(format!("unknown codec `{other}`"))),
        }
    }
}

impl Serialize for CodecSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CodecSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for (text, spec) in [
            ("none", CodecSpec::None),
            ("gzip", CodecSpec::Gzip { level: 6 }),
            ("gzip:9", CodecSpec::Gzip { level: 9 }),
            (
                "zstd",
                CodecSpec::Zstd {
                    level: 3,
                    long: false,
                },
            ),
            (
                "zstd:19:long",
                CodecSpec::Zstd {
                    level: 19,
                    long: true,
                },
            ),
            ("lz4", CodecSpec::Lz4),
        ] {
            assert_eq!(text.parse::<CodecSpec>().unwrap(), spec);
            assert_eq!(spec.to_string().parse::<CodecSpec>().unwrap(), spec);
        }
        for bad in [
            "gzip:0",
            "gzip:10",
            "zstd:23",
            "zstd:3:short",
            "brotli",
            "lz4:1",
            "zstd:x",
        ] {
            let err = bad.parse::<CodecSpec>().unwrap_err();
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn every_level_is_valid_and_distinct() {
        let specs = CodecSpec::every_level();
        assert_eq!(specs.len(), 55);
        let distinct: std::collections::HashSet<_> = specs.iter().collect();
        assert_eq!(distinct.len(), specs.len());
        for spec in specs {
            assert_eq!(spec.validate(), Ok(spec));
            assert_eq!(spec.codec_family().name(), spec.family());
            assert_eq!(spec.codec_family().extension(), spec.extension());
        }
        for bad in [
            CodecSpec::Gzip { level: 0 },
            CodecSpec::Zstd {
                level: 23,
                long: true,
            },
        ] {
            let err = bad.validate().unwrap_err();
            assert!(err.reason.contains("outside"), "{err}");
        }
    }

    #[test]
    fn family_round_trips_through_serde() {
        for family in CodecFamily::ALL {
            let json = serde_json::to_string(&family).unwrap();
            assert_eq!(json, format!("\"{}\"", family.name()));
            assert_eq!(serde_json::from_str::<CodecFamily>(&json).unwrap(), family);
            assert_eq!(family.default_spec().codec_family(), family);
        }
    }
}
