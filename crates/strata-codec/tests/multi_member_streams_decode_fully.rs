//! Concatenated gzip members (as `cat a.gz b.gz` or appending writers produce), zstd frames and
//! LZ4 frames all decode in full; a cut in a later member is still an error.

// Test helpers outside #[test] functions may panic on a broken codec too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;

use strata_codec::{compress, decompress, CodecSpec, Error};

#[test]
fn concatenated_members_decode_in_full() {
    let a = common::sample_lines(150_000);
    let b = b"{\"kind\":\"heartbeat\"}\n".repeat(3);
    for spec in ["gzip:1", "gzip:9", "zstd:3", "zstd:19:long", "lz4"] {
        let spec: CodecSpec = spec.parse().unwrap();
        let mut packed = compress(spec, &a).unwrap();
        packed.extend(compress(spec, &b).unwrap());
        packed.extend(compress(spec, b"").unwrap());
        let mut expected = a.clone();
        expected.extend_from_slice(&b);
        let back = decompress(&packed).unwrap();
        assert!(
            back == expected,
            "{spec}: {} bytes back, {} expected",
            back.len(),
            expected.len()
        );

        // Cut inside the second member.
        let cut = packed.len() - 5;
        let err = decompress(&packed[..cut]).unwrap_err();
        assert!(
            matches!(err, Error::Truncated { .. } | Error::Corrupt { .. }),
            "{spec}: {err}"
        );
    }
}

#[test]
fn gzip_members_from_other_writers_decode() {
    // A member with a file name and comment in its header, as `gzip` writes.
    let mut named = flate2::GzBuilder::new()
        .filename("part1.jsonl")
        .comment("from another tool")
        .write(Vec::new(), flate2::Compression::best());
    named.write_all(b"{\"n\":1}\n").unwrap();
    let mut packed = named.finish().unwrap();
    packed.extend(compress(CodecSpec::Gzip { level: 1 }, b"{\"n\":2}\n").unwrap());
    assert_eq!(decompress(&packed).unwrap(), b"{\"n\":1}\n{\"n\":2}\n");
}

#[test]
fn trailing_garbage_after_a_stream_is_an_error() {
    for spec in ["gzip:6", "zstd:3", "lz4"] {
        let spec: CodecSpec = spec.parse().unwrap();
        let mut packed = compress(spec, b"{\"n\":1}\n").unwrap();
        packed.extend_from_slice(b"garbage that is not a member");
        assert!(decompress(&packed).is_err(), "{spec}");
    }
}
