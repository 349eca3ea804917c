//! Measuring codecs on a sample (CODEC-3): ratio and in-process throughput per [`CodecSpec`].

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::{compress_into, CodecSpec, Decoder, Error, Result};

/// How one codec did on one sample. Throughput is in MB/s of *plain* data (10^6 bytes per
/// second) in both directions, so compress and decompress figures compare directly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The codec and level measured.
    pub codec: CodecSpec,
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
            codec: spec,
            input_bytes: sample.len() as u64,
            output_bytes: plain.len() as u64,
        });
    }

    Ok(Measurement {
        codec: spec,
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
            codec: CodecSpec::Lz4,
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
                (a.codec, a.input_bytes, a.output_bytes),
                (b.codec, b.input_bytes, b.output_bytes)
            );
            // JSON keeps floats to within the last digit.
            assert!((a.compress_mb_s / b.compress_mb_s - 1.0).abs() < 1e-12);
            assert!((a.decompress_mb_s / b.decompress_mb_s - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn empty_sample_measures() {
        let got = measure(b"", &CodecSpec::every_level()[..4], Duration::ZERO).unwrap();
        assert!(got
            .iter()
            .all(|m| m.input_bytes == 0 && m.compress_mb_s == 0.0));
    }
}
