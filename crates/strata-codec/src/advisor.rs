//! The codec advisor (CODEC-3): pure decisions over [`Measurement`]s, each with its reason.
//!
//! The advisor never measures anything itself: a benchmark (or [`measure`](crate::measure()))
//! produces the figures, a policy loads them, and these functions pick the codec the figures
//! support. Measurements whose figures are not finite (NaN or infinite) are ignored. Any codec
//! measured can be the answer — strata's own or a registered one measured with
//! [`measure_codec`](crate::measure_codec).

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{MeasuredCodec, Measurement};

/// What a policy asks of the measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Question {
    /// The codec that compresses fastest among those reaching a ratio of at least `min_ratio`.
    FastestWithRatioAtLeast {
        /// The least acceptable `input / output` ratio.
        min_ratio: f64,
    },
    /// The codec with the highest ratio among those compressing at least `min_compress_mb_s`.
    SmallestAtSpeedAtLeast {
        /// The least acceptable compression speed, MB/s of plain data.
        min_compress_mb_s: f64,
    },
}

impl fmt::Display for Question {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Question::FastestWithRatioAtLeast { min_ratio } => {
                write!(f, "fastest with ratio ≥ {min_ratio}")
            }
            Question::SmallestAtSpeedAtLeast { min_compress_mb_s } => {
                write!(f, "smallest at ≥ {min_compress_mb_s} MB/s")
            }
        }
    }
}

/// The advisor's answer: the codec, the figures that decided it, and the runner-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advice {
    /// The question answered.
    pub question: Question,
    /// The chosen codec's measurement.
    pub chosen: Measurement,
    /// The next best codec that also met the bound, if any.
    pub runner_up: Option<Measurement>,
    /// How many measurements met the bound.
    pub qualifying: usize,
    /// How many measurements were considered (those with finite figures).
    pub considered: usize,
    /// Why, in words: the deciding figures, the runner-up, and any tie-break.
    pub reason: String,
}

impl Advice {
    /// The chosen codec (compare it with a [`CodecSpec`](crate::CodecSpec) directly).
    pub fn codec(&self) -> &MeasuredCodec {
        &self.chosen.codec
    }
}

impl fmt::Display for Advice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.chosen.codec, self.reason)
    }
}

/// The fastest-compressing codec whose ratio is at least `min_ratio`.
///
/// Ties on speed go to the higher ratio, then the faster decompression, then the earlier entry.
/// `None` when no measurement reaches the ratio.
pub fn fastest_with_ratio_at_least(measurements: &[Measurement], min_ratio: f64) -> Option<Advice> {
    advise(
        measurements,
        Question::FastestWithRatioAtLeast { min_ratio },
    )
}

/// The codec with the highest ratio among those compressing at `min_compress_mb_s` or faster.
///
/// Ties on ratio go to the faster compression, then the faster decompression, then the earlier
/// entry. `None` when no measurement is fast enough.
pub fn smallest_at_speed_at_least(
    measurements: &[Measurement],
    min_compress_mb_s: f64,
) -> Option<Advice> {
    advise(
        measurements,
        Question::SmallestAtSpeedAtLeast { min_compress_mb_s },
    )
}

/// Answers `question` from `measurements` (see [`fastest_with_ratio_at_least`] and
/// [`smallest_at_speed_at_least`]).
///
/// ```
/// use strata_codec::{advise, Measurement, Question};
///
/// let m = |codec: &str, output_bytes, compress_mb_s| Measurement {
///     codec: codec.parse().unwrap(),
///     input_bytes: 1_000_000,
///     output_bytes,
///     compress_mb_s,
///     decompress_mb_s: 500.0,
/// };
/// let table = [m("lz4", 250_000, 600.0), m("zstd:3", 150_000, 300.0), m("zstd:19", 110_000, 4.0)];
/// let advice = advise(&table, Question::FastestWithRatioAtLeast { min_ratio: 5.0 }).unwrap();
/// assert_eq!(advice.codec().to_string(), "zstd:3");
/// assert_eq!(advice.runner_up.map(|r| r.codec.to_string()), Some("zstd:19".into()));
/// ```
pub fn advise(measurements: &[Measurement], question: Question) -> Option<Advice> {
    let considered: Vec<&Measurement> = measurements.iter().filter(|m| is_finite(m)).collect();
    let mut qualifying: Vec<&Measurement> = considered
        .iter()
        .copied()
        .filter(|m| meets(question, m))
        .collect();
    // A stable sort: entries equal on every figure keep their list order.
    qualifying.sort_by(|a, b| rank(question, a, b));
    let chosen = *qualifying.first()?;
    let runner_up = qualifying.get(1).copied();
    let reason = explain(
        question,
        chosen,
        runner_up,
        qualifying.len(),
        considered.len(),
    );
    Some(Advice {
        question,
        chosen: chosen.clone(),
        runner_up: runner_up.cloned(),
        qualifying: qualifying.len(),
        considered: considered.len(),
        reason,
    })
}

fn is_finite(m: &Measurement) -> bool {
    m.ratio().is_finite() && m.compress_mb_s.is_finite() && m.decompress_mb_s.is_finite()
}

fn meets(question: Question, m: &Measurement) -> bool {
    match question {
        Question::FastestWithRatioAtLeast { min_ratio } => m.ratio() >= min_ratio,
        Question::SmallestAtSpeedAtLeast { min_compress_mb_s } => {
            m.compress_mb_s >= min_compress_mb_s
        }
    }
}

/// The figures in the order they decide, for `question`.
fn keys(question: Question, m: &Measurement) -> [f64; 3] {
    match question {
        Question::FastestWithRatioAtLeast { .. } => [m.compress_mb_s, m.ratio(), m.decompress_mb_s],
        Question::SmallestAtSpeedAtLeast { .. } => [m.ratio(), m.compress_mb_s, m.decompress_mb_s],
    }
}

/// Best first.
fn rank(question: Question, a: &Measurement, b: &Measurement) -> Ordering {
    let (a, b) = (keys(question, a), keys(question, b));
    b[0].total_cmp(&a[0])
        .then(b[1].total_cmp(&a[1]))
        .then(b[2].total_cmp(&a[2]))
}

fn figures(m: &Measurement) -> String {
    format!(
        "ratio {:.2}, compress {:.1} MB/s, decompress {:.1} MB/s",
        m.ratio(),
        m.compress_mb_s,
        m.decompress_mb_s
    )
}

fn explain(
    question: Question,
    chosen: &Measurement,
    runner_up: Option<&Measurement>,
    qualifying: usize,
    considered: usize,
) -> String {
    let (goal, bound) = match question {
        Question::FastestWithRatioAtLeast { min_ratio } => {
            ("compresses fastest", format!("ratio ≥ {min_ratio}"))
        }
        Question::SmallestAtSpeedAtLeast { min_compress_mb_s } => (
            "has the highest ratio",
            format!("compress ≥ {min_compress_mb_s} MB/s"),
        ),
    };
    let mut reason = format!(
        "{} {goal} of the {qualifying} of {considered} measured codecs with {bound} ({})",
        chosen.codec,
        figures(chosen)
    );
    match runner_up {
        None => reason.push_str("; no runner-up: it is the only one that qualifies"),
        Some(second) => {
            reason.push_str(&format!(
                "; runner-up {} ({})",
                second.codec,
                figures(second)
            ));
            let (c, s) = (keys(question, chosen), keys(question, second));
            let names = match question {
                Question::FastestWithRatioAtLeast { .. } => {
                    ["compression speed", "higher ratio", "faster decompression"]
                }
                Question::SmallestAtSpeedAtLeast { .. } => {
                    ["ratio", "faster compression", "faster decompression"]
                }
            };
            if c[0] == s[0] {
                let why = if c[1] != s[1] {
                    names[1]
                } else if c[2] != s[2] {
                    names[2]
                } else {
                    "earlier place in the list"
                };
                reason.push_str(&format!("; tied on {}, chosen for its {why}", names[0]));
            }
        }
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CodecSpec;

    fn m(codec: &str, output_bytes: u64, compress_mb_s: f64, decompress_mb_s: f64) -> Measurement {
        Measurement {
            codec: codec.parse().unwrap(),
            input_bytes: 1_000_000,
            output_bytes,
            compress_mb_s,
            decompress_mb_s,
        }
    }

    /// Shaped like real JSONL figures: ratio grows and speed falls with the level.
    fn table() -> Vec<Measurement> {
        vec![
            m("none", 1_000_000, 5000.0, 5000.0),
            m("lz4", 260_000, 700.0, 2500.0),
            m("gzip:1", 180_000, 90.0, 300.0),
            m("gzip:6", 150_000, 35.0, 320.0),
            m("zstd:1", 140_000, 450.0, 1200.0),
            m("zstd:3", 125_000, 300.0, 1300.0),
            m("zstd:19", 80_000, 3.0, 1400.0),
        ]
    }

    #[test]
    fn fastest_with_ratio_picks_the_fastest_that_qualifies() {
        let advice = fastest_with_ratio_at_least(&table(), 5.0).unwrap();
        assert_eq!(advice.codec().to_string(), "zstd:1");
        assert_eq!(
            advice.runner_up.as_ref().unwrap().codec.to_string(),
            "zstd:3"
        );
        assert_eq!((advice.qualifying, advice.considered), (5, 7));
        assert!(
            advice
                .reason
                .starts_with("zstd:1 compresses fastest of the 5 of 7"),
            "{advice}"
        );
        assert!(advice.reason.contains("compress 450.0 MB/s"), "{advice}");
        assert!(
            advice.reason.contains("runner-up zstd:3 (ratio 8.00"),
            "{advice}"
        );

        // Ratio 1 is met by everything, so the fastest overall wins.
        assert_eq!(
            *fastest_with_ratio_at_least(&table(), 1.0).unwrap().codec(),
            CodecSpec::None
        );
        // The bound is inclusive: zstd:19 has ratio exactly 12.5.
        let advice = fastest_with_ratio_at_least(&table(), 12.5).unwrap();
        assert_eq!(advice.codec().to_string(), "zstd:19");
        assert!(advice.runner_up.is_none());
        assert!(advice.reason.contains("no runner-up"), "{advice}");
    }

    #[test]
    fn smallest_at_speed_picks_the_best_ratio_that_is_fast_enough() {
        let advice = smallest_at_speed_at_least(&table(), 100.0).unwrap();
        assert_eq!(advice.codec().to_string(), "zstd:3");
        assert_eq!(
            advice.runner_up.as_ref().unwrap().codec.to_string(),
            "zstd:1"
        );
        assert!(advice.reason.contains("has the highest ratio"), "{advice}");
        assert_eq!(
            smallest_at_speed_at_least(&table(), 0.0)
                .unwrap()
                .codec()
                .to_string(),
            "zstd:19"
        );
        assert_eq!(
            smallest_at_speed_at_least(&table(), 3.0)
                .unwrap()
                .codec()
                .to_string(),
            "zstd:19"
        );
        assert_eq!(
            *smallest_at_speed_at_least(&table(), 1000.0)
                .unwrap()
                .codec(),
            CodecSpec::None
        );
    }

    #[test]
    fn none_qualifies_gives_no_advice() {
        assert!(fastest_with_ratio_at_least(&table(), 50.0).is_none());
        assert!(smallest_at_speed_at_least(&table(), 10_000.0).is_none());
        assert!(fastest_with_ratio_at_least(&[], 1.0).is_none());
        assert!(smallest_at_speed_at_least(&[], 0.0).is_none());
        assert!(fastest_with_ratio_at_least(&table(), f64::NAN).is_none());
    }

    #[test]
    fn ties_break_on_the_next_figure_then_list_order() {
        // Same speed: the higher ratio wins.
        let tied = [
            m("gzip:1", 200_000, 100.0, 300.0),
            m("zstd:1", 150_000, 100.0, 900.0),
        ];
        let advice = fastest_with_ratio_at_least(&tied, 2.0).unwrap();
        assert_eq!(advice.codec().to_string(), "zstd:1");
        assert!(advice
            .reason
            .contains("tied on compression speed, chosen for its higher ratio"));

        // Same speed and ratio: the faster decompression wins.
        let tied = [
            m("gzip:1", 150_000, 100.0, 300.0),
            m("zstd:1", 150_000, 100.0, 900.0),
        ];
        let advice = fastest_with_ratio_at_least(&tied, 2.0).unwrap();
        assert_eq!(advice.codec().to_string(), "zstd:1");
        assert!(
            advice
                .reason
                .contains("chosen for its faster decompression"),
            "{advice}"
        );

        // Identical figures: the first listed wins, whichever order the list has.
        let a = m("zstd:5", 150_000, 100.0, 900.0);
        let b = m("zstd:6", 150_000, 100.0, 900.0);
        for question in [
            Question::FastestWithRatioAtLeast { min_ratio: 2.0 },
            Question::SmallestAtSpeedAtLeast {
                min_compress_mb_s: 50.0,
            },
        ] {
            let first = advise(&[a.clone(), b.clone()], question).unwrap();
            assert_eq!(first.codec(), &a.codec);
            assert!(
                first.reason.contains("earlier place in the list"),
                "{first}"
            );
            assert_eq!(
                advise(&[b.clone(), a.clone()], question).unwrap().codec(),
                &b.codec
            );
        }

        // Same ratio: the faster compression wins.
        let tied = [
            m("gzip:9", 100_000, 10.0, 300.0),
            m("zstd:9", 100_000, 60.0, 900.0),
        ];
        let advice = smallest_at_speed_at_least(&tied, 5.0).unwrap();
        assert_eq!(advice.codec().to_string(), "zstd:9");
        assert!(advice
            .reason
            .contains("tied on ratio, chosen for its faster compression"));
    }

    #[test]
    fn a_registered_codec_can_be_the_answer() {
        let mut with_bzip2 = table();
        with_bzip2.push(m("bzip2:9", 60_000, 8.0, 40.0));
        assert_eq!(
            with_bzip2.last().unwrap().codec,
            MeasuredCodec::Registered {
                name: "bzip2".into(),
                level: Some(9)
            }
        );
        let advice = smallest_at_speed_at_least(&with_bzip2, 5.0).unwrap();
        assert_eq!(advice.codec().to_string(), "bzip2:9");
        assert!(
            advice.reason.starts_with("bzip2:9 has the highest ratio"),
            "{advice}"
        );
        assert_eq!(advice.runner_up.unwrap().codec.to_string(), "zstd:3");
        // Too slow for the next question: a built-in answers it.
        let advice = smallest_at_speed_at_least(&with_bzip2, 10.0).unwrap();
        assert_eq!(
            *advice.codec(),
            CodecSpec::Zstd {
                level: 3,
                long: false
            }
        );
        let json = serde_json::to_string(
            &advise(
                &with_bzip2,
                Question::FastestWithRatioAtLeast { min_ratio: 15.0 },
            )
            .unwrap(),
        )
        .unwrap();
        assert!(json.contains("\"codec\":\"bzip2:9\""), "{json}");
    }

    #[test]
    fn non_finite_measurements_are_ignored() {
        let mut bad = table();
        bad.push(m("zstd:22", 0, 1.0, 1.0)); // infinite ratio
        bad.push(m("gzip:9", 100_000, f64::NAN, 1.0));
        bad.push(m("zstd:2", 100_000, f64::INFINITY, 1.0));
        let advice = fastest_with_ratio_at_least(&bad, 5.0).unwrap();
        assert_eq!(advice.codec().to_string(), "zstd:1");
        assert_eq!(advice.considered, 7);
    }

    #[test]
    fn questions_and_advice_serialize() {
        let question: Question =
            serde_json::from_str(r#"{"fastest_with_ratio_at_least":{"min_ratio":5.0}}"#).unwrap();
        assert_eq!(
            question,
            Question::FastestWithRatioAtLeast { min_ratio: 5.0 }
        );
        assert_eq!(question.to_string(), "fastest with ratio ≥ 5");
        assert!(
            serde_json::from_str::<Question>(r#"{"fastest_with_ratio_at_least":{"r":5}}"#).is_err()
        );

        let advice = advise(&table(), question).unwrap();
        let json = serde_json::to_string(&advice).unwrap();
        assert_eq!(serde_json::from_str::<Advice>(&json).unwrap(), advice);
    }
}
