//! CODEC-2: a cut compressed stream is always an error, never silently shorter data — at every
//! cut point of a small stream, and at sampled cuts and every block boundary of a large one.

// Test helpers outside #[test] functions may panic on a broken codec too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;

use strata_codec::{compress, decompress, decompress_as, CodecFamily, CodecSpec, Encoder, Error};

fn compressing_specs() -> Vec<CodecSpec> {
    [
        "gzip:1",
        "gzip:6",
        "gzip:9",
        "zstd:1",
        "zstd:3",
        "zstd:19",
        "zstd:3:long",
        "zstd:19:long",
        "lz4",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect()
}

fn assert_cut_fails(spec: CodecSpec, packed: &[u8], cut: usize) {
    let family = spec.codec_family();
    match decompress_as(family, &packed[..cut]) {
        Err(Error::Truncated { codec, .. } | Error::Corrupt { codec, .. }) => {
            assert_eq!(codec, family, "{spec} cut at {cut}");
        }
        Err(other) => panic!(
            "{spec} cut at {cut}/{}: unexpected error {other}",
            packed.len()
        ),
        Ok(data) => panic!(
            "{spec} cut at {cut}/{}: decoded {} bytes",
            packed.len(),
            data.len()
        ),
    }
    // Sniffing sees the codec as soon as the magic number is there.
    if cut >= 4 {
        assert!(
            decompress(&packed[..cut]).is_err(),
            "{spec} sniffed, cut at {cut}"
        );
    }
}

#[test]
fn every_cut_of_a_small_stream_fails() {
    let data = common::sample_lines(600);
    for spec in compressing_specs() {
        let packed = compress(spec, &data).unwrap();
        for cut in 0..packed.len() {
            assert_cut_fails(spec, &packed, cut);
        }
    }
}

#[test]
fn sampled_cuts_of_a_large_stream_fail() {
    // About 700 kB plain: many deflate blocks, zstd blocks (128 KiB), LZ4 blocks (256 KiB).
    let data = common::sample_lines(700_000);
    for spec in compressing_specs()
        .into_iter()
        .filter(|s| !s.to_string().starts_with("zstd:19"))
    {
        let packed = compress(spec, &data).unwrap();
        let len = packed.len();
        let step = (len / 30).max(1);
        let cuts = (0..len).step_by(step).chain(len.saturating_sub(24)..len);
        for cut in cuts {
            assert_cut_fails(spec, &packed, cut);
        }
    }
}

/// Offsets where an LZ4 frame (written by this crate: content checksum, no content size) has a
/// block boundary, found by walking its block headers.
fn lz4_block_boundaries(packed: &[u8]) -> Vec<usize> {
    let mut at = 7; // magic 4 + FLG + BD + HC
    let mut out = vec![at];
    loop {
        let size = u32::from_le_bytes(packed[at..at + 4].try_into().unwrap());
        if size == 0 {
            out.push(at + 4); // after the end mark, before the content checksum
            return out;
        }
        at += 4 + (size & 0x7FFF_FFFF) as usize;
        out.push(at);
    }
}

#[test]
fn lz4_cut_at_a_block_boundary_fails() {
    // lz4_flex alone would end cleanly here; strata's frame guard must not.
    let data = common::sample_lines(1_600_000);
    let packed = compress(CodecSpec::Lz4, &data).unwrap();
    let boundaries = lz4_block_boundaries(&packed);
    assert!(boundaries.len() > 6, "{boundaries:?}");
    for cut in boundaries {
        let err = decompress_as(CodecFamily::Lz4, &packed[..cut]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Truncated {
                    codec: CodecFamily::Lz4,
                    ..
                }
            ),
            "cut at {cut}: {err}"
        );
        assert!(err.is_integrity_error());
    }
}

#[test]
fn empty_stream_of_a_compressing_codec_fails() {
    for family in [CodecFamily::Gzip, CodecFamily::Zstd, CodecFamily::Lz4] {
        let err = decompress_as(family, b"").unwrap_err();
        assert!(err.is_integrity_error(), "{family}: {err}");
        assert_eq!(err.codec(), Some(family));
    }
}

#[test]
fn wrong_codec_is_an_error_not_garbage() {
    let data = common::sample_lines(10_000);
    for spec in compressing_specs() {
        let packed = compress(spec, &data).unwrap();
        for family in [CodecFamily::Gzip, CodecFamily::Zstd, CodecFamily::Lz4] {
            if family != spec.codec_family() {
                let err = decompress_as(family, &packed).unwrap_err();
                assert!(
                    matches!(err, Error::Corrupt { .. } | Error::Truncated { .. }),
                    "{err}"
                );
            }
        }
    }
}

#[test]
fn stream_of_an_unfinished_encoder_reads_as_truncated() {
    // What reached the disk when a writer died after a flush but before `finish`.
    let data = common::sample_lines(200_000);
    for spec in compressing_specs() {
        let mut encoder = Encoder::new(spec, Vec::new()).unwrap();
        encoder.write_all(&data).unwrap();
        encoder.flush().unwrap();
        let on_disk = encoder.get_ref().clone();
        assert!(!on_disk.is_empty(), "{spec}: flush wrote nothing");
        let err = decompress_as(spec.codec_family(), &on_disk).unwrap_err();
        assert!(matches!(err, Error::Truncated { .. }), "{spec}: {err}");
        encoder.finish().unwrap();
    }
}
