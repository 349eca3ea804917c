//! Measuring codecs on a sample (CODEC-3): ratio and in-process throughput per [`CodecSpec`]
//! ([`measure`], [`measure_one`]) or per any [`Codec`] — a registered one included — at a level
//! ([`measure_codec`]).

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::{compress_into, Codec, CodecFamily, CodecSpec, CodecSpecError, Decoder, Error, Result};

/// The codec a [`Measurement`] is of: one of strata's at a [`CodecSpec`], or any other
/// [`Codec`] by its name and level.
///
/// Written as text, as a [`CodecSpec`] always was — `"zstd:3"`, `"zstd:19:long"`, `"lz4"`,
/// and `"bzip2:9"` or `"bzip2"` (default level) for a registered codec — so saved reports of
/// built-in codecs read unchanged. A name of one of strata's codecs is always read as a
/// [`CodecSpec`] (so `"gzip:12"` is an error, not another codec).
///
/// ```
/// use strata_codec::{CodecSpec, MeasuredCodec};
///
/// let zstd: MeasuredCodec = "zstd:3".parse()?;
/// assert_eq!(zstd.spec(), Some(CodecSpec::Zstd { level: 3, long: false }));
/// let bzip2: MeasuredCodec = "bzip2:9".parse()?;
/// assert_eq!((bzip2.name(), bzip2.level(), bzip2.spec()), ("bzip2", Some(9), None));
/// assert_eq!(serde_json::to_string(&bzip2)?, "\"bzip2:9\"");
/// assert!("gzip:12".parse::<MeasuredCodec>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MeasuredCodec {
    /// One of strata's codecs.
    Builtin(CodecSpec),
    /// Another codec (registered in a [`CodecRegistry`](crate::CodecRegistry)).
    Registered {
        /// Its [`Codec::name`].
        name: String,
        /// The level measured (`None`: the codec's default).
        level: Option<i32>,
    },
}

impl MeasuredCodec {
    /// The codec `codec` at `level`: a [`MeasuredCodec::Builtin`] when it is one of strata's
    /// (the level checked as [`BuiltinCodec::spec`](crate::BuiltinCodec::spec) does).
    pub fn of(codec: &dyn Codec, level: Option<i32>) -> Result<Self> {
        Ok(match crate::codec::builtin_family(codec) {
            Some(family) => MeasuredCodec::Builtin(crate::BuiltinCodec(family).spec(level)?),
            None => MeasuredCodec::Registered {
                name: codec.name().to_string(),
                level,
            },
        })
    }

    /// The codec's name (`"zstd"`, `"bzip2"`).
    pub fn name(&self) -> &str {
        match self {
            MeasuredCodec::Builtin(spec) => spec.codec_family().name(),
            MeasuredCodec::Registered { name, .. } => name,
        }
    }

    /// The level measured, when the codec has levels and one was given.
    pub fn level(&self) -> Option<i32> {
        match *self {
            MeasuredCodec::Builtin(CodecSpec::Gzip { level }) => i32::try_from(level).ok(),
            MeasuredCodec::Builtin(CodecSpec::Zstd { level, .. }) => Some(level),
            MeasuredCodec::Builtin(_) => None,
            MeasuredCodec::Registered { level, .. } => level,
        }
    }

    /// The spec, when the codec is one of strata's.
    pub fn spec(&self) -> Option<CodecSpec> {
        match self {
            MeasuredCodec::Builtin(spec) => Some(*spec),
            MeasuredCodec::Registered { .. } => None,
        }
    }
}

impl From<CodecSpec> for MeasuredCodec {
    fn from(spec: CodecSpec) -> Self {
        MeasuredCodec::Builtin(spec)
    }
}

impl PartialEq<CodecSpec> for MeasuredCodec {
    fn eq(&self, other: &CodecSpec) -> bool {
        self.spec() == Some(*other)
    }
}

impl fmt::Display for MeasuredCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MeasuredCodec::Builtin(spec) => spec.fmt(f),
            MeasuredCodec::Registered { name, level: None } => f.write_str(name),
            MeasuredCodec::Registered {
                name,
                level: Some(level),
            } => write!(f, "{name}:{level}"),
        }
    }
}

impl FromStr for MeasuredCodec {
    type Err = CodecSpecError;

    fn from_str(text: &str) -> std::result::Result<Self, CodecSpecError> {
        let name = text.split(':').next().unwrap_or_default();
        if CodecFamily::ALL.iter().any(|f| f.name() == name) {
            return text.parse().map(MeasuredCodec::Builtin);
        }
        let bad = |reason: &str| CodecSpecError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("expected `<codec>` or `<codec>:<level>`"));
        }
        let level = match text[name.len()..].strip_prefix(':') {
            None => None,
            Some(level) => Some(
                level
                    .parse::<i32>()
                    .map_err(|_| bad("the level after `:` must be a whole number"))?,
            ),
        };
        Ok(MeasuredCodec::Registered {
            name: name.to_string(),
            level,
        })
    }
}

impl Serialize for MeasuredCodec {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MeasuredCodec {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// How one codec did on one sample. Throughput is in MB/s of *plain* data (10^6 bytes per
/// second) in both directions, so compress and decompress figures compare directly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The codec and level measured.
    pub codec: MeasuredCodec,
    /// Plain bytes in the sample.
    pub input_bytes: u64,
    /// Compressed bytes.
    pub output_bytes: u64,
    /// Compression speed, MB of plain data per second.
    pub compress_mb_s: f64,
    /// Decompression speed, MB of plain data per second.
    pub decompress_mb_s: f64,
}

impl Measurement {
    /// Compression ratio, `input_bytes / output_bytes` (higher is smaller output). An empty
    /// output has ratio 1 for an empty input and infinity otherwise.
    pub fn ratio(&self) -> f64 {
        if self.output_bytes == 0 {
            return if self.input_bytes == 0 {
                1.0
            } else {
                f64::INFINITY
            };
        }
        self.input_bytes as f64 / self.output_bytes as f64
    }
}

/// Measurements of one sample, as a benchmark saves them and a policy loads them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurementReport {
    /// What the sample was (e.g. `lean-spy-trades-jsonl`).
    pub dataset: String,
    /// Plain bytes in the sample.
    pub sample_bytes: u64,
    /// The minimum time each direction of each codec was repeated for, in milliseconds.
    pub min_duration_ms: u64,
    /// One entry per codec measured, in the order asked.
    pub measurements: Vec<Measurement>,
}

/// Measures each spec on `sample`: compresses it repeatedly until at least `min_duration` has
/// passed, then decompresses the result the same way, and checks that the round trip gives the
/// sample back ([`Error::RoundTripMismatch`] otherwise).
///
/// Repetition evens out timer resolution and scheduler noise; when more than one repetition
/// ran, the first (which pays for allocating tables and buffers) is left out of the figure.
/// Codecs run through the same [`Encoder`](crate::Encoder)/[`Decoder`] as production code, in
/// this process, on one thread.
pub fn measure(
    sample: &[u8],
    specs: &[CodecSpec],
    min_duration: Duration,
) -> Result<Vec<Measurement>> {
    specs
        .iter()
        .map(|&spec| measure_one(sample, spec, min_duration))
        .collect()
}

/// Measures one spec on `sample`; see [`measure`].
pub fn measure_one(sample: &[u8], spec: CodecSpec, min_duration: Duration) -> Result<Measurement> {
    let mut packed = Vec::with_capacity(sample.len() / 2 + 64);
    let compress_time = repeat_for(min_duration, || {
        packed.clear();
        compress_into(spec, sample, &mut packed)
    })?;

    let family = spec.codec_family();
    let mut plain = Vec::with_capacity(sample.len());
    let decompress_time = repeat_for(min_duration, || {
        plain.clear();
        Decoder::new(family, packed.as_slice())?
            .read_all_into(&mut plain)
            .map(drop)
    })?;
    if plain != sample {
        return Err(Error::RoundTripMismatch {
            codec: spec.into(),
            input_bytes: sample.len() as u64,
            output_bytes: plain.len() as u64,
        });
    }

    Ok(Measurement {
        codec: spec.into(),
        input_bytes: sample.len() as u64,
        output_bytes: packed.len() as u64,
        compress_mb_s: compress_time.mb_per_s(sample.len()),
        decompress_mb_s: decompress_time.mb_per_s(sample.len()),
    })
}

/// Measures `codec` at `level` (`None`: its default) on `sample`, as [`measure_one`] does a
/// [`CodecSpec`]: any [`Codec`], a registered one included, through its own
/// [`encoder`](Codec::encoder) and [`decoder`](Codec::decoder). One of strata's codecs is measured
/// by [`measure_one`] itself, so its figures compare with a report's.
///
/// ```
/// use std::time::Duration;
/// use strata_codec::{measure_codec, CodecRegistry};
///
/// let registry = CodecRegistry::default();
/// let sample = b"{\"kind\":\"trade\",\"price\":\"167.41\"}\n".repeat(500);
/// let gzip = registry.get("gzip").expect("a built-in");
/// let m = measure_codec(&sample, gzip.as_ref(), Some(6), Duration::from_millis(1))?;
/// assert_eq!(m.codec.to_string(), "gzip:6");
/// assert!(m.ratio() > 10.0);
/// # Ok::<(), strata_codec::Error>(())
/// ```
pub fn measure_codec(
    sample: &[u8],
    codec: &dyn Codec,
    level: Option<i32>,
    min_duration: Duration,
) -> Result<Measurement> {
    let measured = MeasuredCodec::of(codec, level)?;
    if let Some(spec) = measured.spec() {
        return measure_one(sample, spec, min_duration);
    }
    // Checks the level before timing anything.
    drop(codec.encoder(level, Box::new(std::io::sink()))?);
    let mut packed = Vec::with_capacity(sample.len() / 2 + 64);
    let compress_time = repeat_for(min_duration, || {
        packed.clear();
        let mut encoder = codec.encoder(level, Box::new(&mut packed))?;
        encoder
            .write_all(sample)
            .map_err(|err| Error::from_io(CodecFamily::None, crate::Operation::Compress, err))?;
        encoder.finish()
    })?;

    let mut plain = Vec::with_capacity(sample.len());
    let decompress_time = repeat_for(min_duration, || {
        plain.clear();
        codec
            .decoder(Box::new(packed.as_slice()))?
            .read_to_end(&mut plain)
            .map(drop)
            .map_err(|err| Error::from_io(CodecFamily::None, crate::Operation::Decompress, err))
    })?;
    if plain != sample {
        return Err(Error::RoundTripMismatch {
            codec: measured,
            input_bytes: sample.len() as u64,
            output_bytes: plain.len() as u64,
        });
    }
    Ok(Measurement {
        codec: measured,
        input_bytes: sample.len() as u64,
        output_bytes: packed.len() as u64,
        compress_mb_s: compress_time.mb_per_s(sample.len()),
        decompress_mb_s: decompress_time.mb_per_s(sample.len()),
    })
}

/// Timed repetitions of one operation.
struct Timing {
    runs: u32,
    elapsed: Duration,
}

impl Timing {
    fn mb_per_s(&self, bytes_per_run: usize) -> f64 {
        // A zero elapsed time only happens with a coarse clock and a tiny sample; count it as
        // one nanosecond rather than dividing by zero.
        let seconds = self.elapsed.as_secs_f64().max(1e-9);
        bytes_per_run as f64 * f64::from(self.runs) / seconds / 1e6
    }
}

/// Runs `op` until `min_duration` has passed (at least once) and times it, leaving out the first
/// run when there was more than one.
fn repeat_for(min_duration: Duration, mut op: impl FnMut() -> Result<()>) -> Result<Timing> {
    let start = Instant::now();
    op()?;
    let first = start.elapsed();
    let mut runs = 0u32;
    while start.elapsed() < min_duration && runs < u32::MAX {
        op()?;
        runs += 1;
    }
    if runs == 0 {
        return Ok(Timing {
            runs: 1,
            elapsed: first,
        });
    }
    Ok(Timing {
        runs,
        elapsed: start.elapsed() - first,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_input_over_output() {
        let m = |input_bytes, output_bytes| Measurement {
            codec: CodecSpec::Lz4.into(),
            input_bytes,
            output_bytes,
            compress_mb_s: 1.0,
            decompress_mb_s: 1.0,
        };
        assert_eq!(m(1000, 250).ratio(), 4.0);
        assert_eq!(m(0, 0).ratio(), 1.0);
        assert!(m(10, 0).ratio().is_infinite());
    }

    #[test]
    fn measures_every_family_and_checks_the_round_trip() {
        let sample: Vec<u8> = (0..50_000u32)
            .flat_map(|i| {
                format!(
                    "{{\"seq\":{i},\"price\":\"{}.{}\"}}\n",
                    100 + i % 7,
                    i % 100
                )
                .into_bytes()
            })
            .collect();
        let specs: Vec<CodecSpec> = ["none", "lz4", "gzip:1", "zstd:3", "zstd:3:long"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let got = measure(&sample, &specs, Duration::from_millis(5)).unwrap();
        assert_eq!(got.len(), specs.len());
        for (m, spec) in got.iter().zip(&specs) {
            assert_eq!(m.codec, *spec);
            assert_eq!(m.input_bytes, sample.len() as u64);
            assert!(
                m.compress_mb_s > 0.0 && m.compress_mb_s.is_finite(),
                "{m:?}"
            );
            assert!(
                m.decompress_mb_s > 0.0 && m.decompress_mb_s.is_finite(),
                "{m:?}"
            );
        }
        assert_eq!(got[0].output_bytes, sample.len() as u64);
        assert!(got.iter().skip(1).all(|m| m.ratio() > 3.0), "{got:?}");

        let report = MeasurementReport {
            dataset: "synthetic".into(),
            sample_bytes: sample.len() as u64,
            min_duration_ms: 5,
            measurements: got,
        };
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains("\"codec\":\"zstd:3:long\""), "{json}");
        let back = serde_json::from_str::<MeasurementReport>(&json).unwrap();
        assert_eq!(
            (&back.dataset, back.sample_bytes),
            (&report.dataset, report.sample_bytes)
        );
        for (a, b) in back.measurements.iter().zip(&report.measurements) {
            assert_eq!(
                (&a.codec, a.input_bytes, a.output_bytes),
                (&b.codec, b.input_bytes, b.output_bytes)
            );
            // JSON keeps floats to within the last digit.
            assert!((a.compress_mb_s / b.compress_mb_s - 1.0).abs() < 1e-12);
            assert!((a.decompress_mb_s / b.decompress_mb_s - 1.0).abs() < 1e-12);
        }
    }

    /// gzip under another name, magic and extension: a codec strata does not know.
    #[derive(Debug)]
    struct Renamed;

    impl Codec for Renamed {
        fn name(&self) -> &str {
            "regz"
        }
        fn extension(&self) -> &str {
            ".regz"
        }
        fn magic(&self) -> &[u8] {
            b"RGZ"
        }
        fn levels(&self) -> Option<(i32, i32)> {
            Some((1, 9))
        }
        fn encoder<'w>(
            &self,
            level: Option<i32>,
            out: Box<dyn std::io::Write + Send + 'w>,
        ) -> Result<Box<dyn crate::StreamEncoder + 'w>> {
            crate::BuiltinCodec(CodecFamily::Gzip).encoder(level, out)
        }
        fn decoder<'r>(
            &self,
            input: Box<dyn Read + Send + 'r>,
        ) -> Result<Box<dyn Read + Send + 'r>> {
            crate::BuiltinCodec(CodecFamily::Gzip).decoder(input)
        }
    }

    #[test]
    fn any_codec_is_measured_and_named_by_name_and_level() {
        let sample = b"{\"seq\":1,\"price\":\"100.25\"}\n".repeat(2000);
        let m = measure_codec(&sample, &Renamed, Some(6), Duration::from_millis(2)).unwrap();
        assert_eq!(
            m.codec,
            MeasuredCodec::Registered {
                name: "regz".into(),
                level: Some(6)
            }
        );
        assert_eq!(m.codec.to_string(), "regz:6");
        assert_eq!(m.input_bytes, sample.len() as u64);
        // The same bytes as gzip:6 makes: the codec's own encoder ran.
        let gzip6 = crate::compress(CodecSpec::Gzip { level: 6 }, &sample).unwrap();
        assert_eq!(m.output_bytes, gzip6.len() as u64);
        assert!(m.compress_mb_s > 0.0 && m.decompress_mb_s > 0.0, "{m:?}");
        // A level the codec refuses is its error, before any timing.
        assert!(measure_codec(&sample, &Renamed, Some(42), Duration::ZERO).is_err());

        // A built-in through the trait is named by its spec, as `measure_one` names it.
        let zstd = crate::BuiltinCodec(CodecFamily::Zstd);
        let m = measure_codec(&sample, &zstd, Some(3), Duration::ZERO).unwrap();
        assert_eq!(
            m.codec,
            CodecSpec::Zstd {
                level: 3,
                long: false
            }
        );
        assert_eq!(
            measure_codec(&sample, &zstd, None, Duration::ZERO)
                .unwrap()
                .codec
                .to_string(),
            CodecSpec::Zstd {
                level: 3,
                long: false
            }
            .to_string()
        );
    }

    #[test]
    fn codec_names_read_and_write_as_text() {
        for text in [
            "none",
            "lz4",
            "gzip:6",
            "zstd:3",
            "zstd:19:long",
            "bzip2:9",
            "bzip2",
            "xz:-1",
        ] {
            let codec: MeasuredCodec = text.parse().unwrap();
            assert_eq!(codec.to_string(), text);
            let json = serde_json::to_string(&codec).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<MeasuredCodec>(&json).unwrap(), codec);
        }
        assert_eq!(
            "gzip:6".parse::<MeasuredCodec>().unwrap().spec(),
            Some(CodecSpec::Gzip { level: 6 })
        );
        assert_eq!("bzip2:9".parse::<MeasuredCodec>().unwrap().level(), Some(9));
        // A built-in's name is always a spec: a bad level is an error, not another codec.
        for bad in ["gzip:12", "zstd:x", "", ":3", "bz ip", "bzip2:high"] {
            let err = bad.parse::<MeasuredCodec>().unwrap_err();
            assert_eq!(err.text, bad, "{err}");
        }
    }

    /// A report as `strata codec advise --save` wrote it before codecs other than strata's could
    /// be measured (`codec` was a `CodecSpec`): it still loads, every codec a built-in.
    #[test]
    fn a_report_saved_before_registered_codecs_still_loads() {
        let saved = r#"{
  "dataset": "trades.jsonl",
  "sample_bytes": 2640000,
  "min_duration_ms": 20,
  "measurements": [
    {"codec": "none", "input_bytes": 2640000, "output_bytes": 2640000, "compress_mb_s": 9000.5, "decompress_mb_s": 9100.0},
    {"codec": "lz4", "input_bytes": 2640000, "output_bytes": 402115, "compress_mb_s": 610.2, "decompress_mb_s": 2400.7},
    {"codec": "zstd:1", "input_bytes": 2640000, "output_bytes": 150321, "compress_mb_s": 420.1, "decompress_mb_s": 1300.3},
    {"codec": "zstd:19:long", "input_bytes": 2640000, "output_bytes": 90321, "compress_mb_s": 3.1, "decompress_mb_s": 1400.3},
    {"codec": "gzip:6", "input_bytes": 2640000, "output_bytes": 200123, "compress_mb_s": 40.0, "decompress_mb_s": 320.9}
  ]
}"#;
        let report: MeasurementReport = serde_json::from_str(saved).unwrap();
        let specs: Vec<Option<CodecSpec>> =
            report.measurements.iter().map(|m| m.codec.spec()).collect();
        let expected: Vec<Option<CodecSpec>> = ["none", "lz4", "zstd:1", "zstd:19:long", "gzip:6"]
            .iter()
            .map(|s| Some(s.parse().unwrap()))
            .collect();
        assert_eq!(specs, expected);
        // And writes back the same codec text.
        let back = serde_json::to_value(&report).unwrap();
        assert_eq!(back["measurements"][3]["codec"], "zstd:19:long");
    }

    #[test]
    fn empty_sample_measures() {
        let got = measure(b"", &CodecSpec::every_level()[..4], Duration::ZERO).unwrap();
        assert!(got
            .iter()
            .all(|m| m.input_bytes == 0 && m.compress_mb_s == 0.0));
    }
}
