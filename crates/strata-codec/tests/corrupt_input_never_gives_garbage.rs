//! Corrupt compressed input is an error or, when the damage misses the data (a gzip timestamp),
//! exactly the original — never different bytes and never a panic. gzip's CRC-32 and the content
//! checksums strata turns on for zstd and LZ4 make this hold.

// Test helpers outside #[test] functions may panic on a broken codec too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use proptest::prelude::*;
use strata_codec::{compress, decompress_as, CodecSpec};

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn flipped_bytes_are_caught(
        spec in prop::sample::select(
            ["gzip:6", "zstd:3", "zstd:3:long", "lz4"]
                .iter()
                .map(|s| s.parse::<CodecSpec>().unwrap())
                .collect::<Vec<_>>(),
        ),
        data in common::plain_bytes(20_000),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let mut packed = compress(spec, &data).unwrap();
        for (at, mask) in flips {
            let i = at.index(packed.len());
            packed[i] ^= mask;
        }
        if let Ok(back) = decompress_as(spec.codec_family(), &packed) {
            prop_assert!(back == data, "{}: corrupt stream decoded to {} different bytes", spec, back.len());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        family in prop::sample::select(strata_codec::CodecFamily::ALL.to_vec()),
        magic in any::<bool>(),
        tail in prop::collection::vec(any::<u8>(), 0..2_000),
    ) {
        let mut input = if magic { family.magic().to_vec() } else { Vec::new() };
        input.extend(tail);
        let _ = decompress_as(family, &input);
        let _ = strata_codec::decompress(&input);
    }
}
