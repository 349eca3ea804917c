//! CODEC-1: every codec at every level gives back exactly what it was given — empty, one byte,
//! small, and (below the slowest levels) inputs larger than any internal buffer; streamed in
//! arbitrary chunks with flushes in between, read back with arbitrary buffer sizes.

// Test helpers outside #[test] functions may panic on a broken codec too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};

use proptest::prelude::*;
use strata_codec::{
    compress, decoder_for_content, decompress, decompress_as, sniff, CodecFamily, CodecSpec,
    Encoder,
};

/// zstd levels above this get small inputs only (levels 16–22 run at a few MB/s, less in debug).
const FAST_ZSTD_MAX_LEVEL: i32 = 15;

fn is_slow(spec: CodecSpec) -> bool {
    matches!(spec, CodecSpec::Zstd { level, .. } if level > FAST_ZSTD_MAX_LEVEL)
}

/// Compresses in memory and checks the stream, its sniffed codec and the round trip.
fn round_trip(spec: CodecSpec, data: &[u8]) -> Result<(), TestCaseError> {
    let packed = compress(spec, data).map_err(|e| TestCaseError::fail(format!("{spec}: {e}")))?;
    if spec == CodecSpec::None {
        prop_assert!(packed == data, "none changed the bytes");
        prop_assert!(
            decompress_as(CodecFamily::None, &packed).unwrap() == data,
            "none read back"
        );
    } else {
        prop_assert_eq!(sniff(&packed), spec.codec_family());
        let back = decompress(&packed).map_err(|e| TestCaseError::fail(format!("{spec}: {e}")))?;
        prop_assert!(
            back == data,
            "{}: {} bytes in, {} back",
            spec,
            data.len(),
            back.len()
        );
    }
    Ok(())
}

#[test]
fn empty_and_one_byte_inputs_round_trip_at_every_level() {
    for spec in CodecSpec::every_level() {
        for data in [&b""[..], b"\x00", b"\xff", b"\n", b"\x1f\x8b"] {
            round_trip(spec, data).unwrap();
        }
    }
}

#[test]
fn small_inputs_round_trip_at_every_level() {
    let mut total = 0;
    for spec in CodecSpec::every_level() {
        let (cases, max_len) = if is_slow(spec) {
            (6, 64 * 1024)
        } else {
            (32, 16 * 1024)
        };
        common::runner(cases)
            .run(&common::plain_bytes(max_len), |data| {
                round_trip(spec, &data)
            })
            .unwrap_or_else(|e| panic!("{spec}: {e}"));
        total += cases;
    }
    // 41 fast specs × 32 + 14 slow specs × 6.
    assert_eq!(total, 1_396);
}

#[test]
fn inputs_larger_than_any_buffer_round_trip_at_every_fast_level() {
    let specs: Vec<CodecSpec> = CodecSpec::every_level()
        .into_iter()
        .filter(|&spec| !is_slow(spec))
        .collect();
    assert_eq!(specs.len(), 41);
    // Two inputs per level (fresh random ones each run), 1–2.5 MiB: zstd's stream buffers are
    // 128 KiB, flate2's 32 KiB, strata's LZ4 blocks 256 KiB.
    for spec in specs {
        common::runner(2)
            .run(&common::large_bytes(1 << 20, 5 << 19), |data| {
                round_trip(spec, &data)
            })
            .unwrap_or_else(|e| panic!("{spec}: {e}"));
    }
}

/// Streaming writes: chunk sizes (some tiny, some larger than the codecs' buffers), each maybe
/// followed by a flush. Every step writes at least one byte, so the loop below always ends.
fn steps() -> impl Strategy<Value = Vec<(usize, bool)>> {
    prop::collection::vec(
        (
            prop_oneof![2 => 1usize..70_000, 1 => 1usize..64],
            prop::bool::weighted(0.15),
        ),
        1..40,
    )
}

fn streaming_spec() -> impl Strategy<Value = CodecSpec> {
    prop::sample::select(
        [
            "none",
            "lz4",
            "gzip:1",
            "gzip:6",
            "gzip:9",
            "zstd:1",
            "zstd:3",
            "zstd:9",
            "zstd:15",
            "zstd:3:long",
        ]
        .iter()
        .map(|s| s.parse::<CodecSpec>().unwrap())
        .collect::<Vec<_>>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, max_shrink_iters: 256, ..ProptestConfig::default() })]

    /// The streaming encoder, written in arbitrary chunks with flushes between them, and the
    /// sniffing decoder, read with arbitrary buffer sizes, give back the input.
    #[test]
    fn streaming_in_arbitrary_chunks_round_trips(
        spec in streaming_spec(),
        data in prop_oneof![common::plain_bytes(4096), common::large_bytes(100_000, 400_000)],
        writes in steps(),
        reads in prop::collection::vec(1usize..70_000, 1..20),
    ) {
        let mut encoder = Encoder::new(spec, Vec::new()).unwrap();
        let mut rest = data.as_slice();
        for &(size, flush) in writes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(size.min(rest.len()));
            encoder.write_all(chunk).unwrap();
            rest = tail;
            if flush {
                encoder.flush().unwrap();
            }
        }
        prop_assert_eq!(encoder.plain_bytes_written(), data.len() as u64);
        let packed = encoder.finish().unwrap();

        let family = if spec == CodecSpec::None { sniff(&packed) } else { spec.codec_family() };
        let mut decoder = decoder_for_content(packed.as_slice()).unwrap();
        prop_assert_eq!(decoder.family(), family);
        let mut back = Vec::new();
        let mut buf = vec![0u8; 70_000];
        for &size in reads.iter().cycle() {
            match decoder.read(&mut buf[..size]).unwrap() {
                0 => break,
                n => back.extend_from_slice(&buf[..n]),
            }
        }
        if family == spec.codec_family() {
            prop_assert!(back == data, "{}: {} bytes in, {} back", spec, data.len(), back.len());
        }
    }
}
