//! CODEC-2 on real files: `open_file` trusts the content, and a name that disagrees with it is
//! an integrity error naming the file and both codecs.

// Test helpers outside #[test] functions may panic on a broken codec too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;

use strata_codec::{compress, open_file, CodecFamily, CodecSpec, Error};

#[test]
fn matching_files_open_and_decode() {
    let dir = tempfile::tempdir().unwrap();
    let data = b"{\"kind\":\"trade\"}\n".repeat(100);
    for (spec, name) in [
        ("none", "a.jsonl"),
        ("gzip:6", "a.jsonl.gz"),
        ("zstd:3", "a.jsonl.zst"),
        ("lz4", "a.jsonl.lz4"),
    ] {
        let spec: CodecSpec = spec.parse().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, compress(spec, &data).unwrap()).unwrap();
        let mut decoder = open_file(&path).unwrap();
        assert_eq!(decoder.family(), spec.codec_family());
        let mut back = Vec::new();
        decoder.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
    }
}

#[test]
fn mislabelled_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.jsonl.zst");
    std::fs::write(
        &path,
        compress(CodecSpec::Gzip { level: 6 }, b"{}\n").unwrap(),
    )
    .unwrap();
    let err = open_file(&path).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ExtensionMismatch {
                extension: CodecFamily::Zstd,
                content: CodecFamily::Gzip,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: extension says zstd but content is gzip",
            path.display()
        )
    );

    // Plain text behind a compressed name, and compressed data behind a plain name.
    let path = dir.path().join("y.jsonl.gz");
    std::fs::write(&path, b"{}\n").unwrap();
    assert!(open_file(&path)
        .unwrap_err()
        .to_string()
        .ends_with("extension says gzip but content is none"));
    let path = dir.path().join("z.jsonl");
    std::fs::write(&path, compress(CodecSpec::Lz4, b"{}\n").unwrap()).unwrap();
    assert!(open_file(&path)
        .unwrap_err()
        .to_string()
        .ends_with("extension says none but content is lz4"));
}

#[test]
fn errors_while_reading_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.jsonl.zst");
    let packed = compress(
        CodecSpec::Zstd {
            level: 3,
            long: false,
        },
        &b"{\"n\":1}\n".repeat(5000),
    )
    .unwrap();
    std::fs::write(&path, &packed[..packed.len() / 2]).unwrap();
    let mut decoder = open_file(&path).unwrap();
    let mut back = Vec::new();
    let err = decoder.read_all_into(&mut back).unwrap_err();
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
    assert!(
        err.to_string()
            .starts_with(&format!("{}: zstd stream is truncated", path.display())),
        "{err}"
    );

    let missing = dir.path().join("missing.jsonl.gz");
    let err = open_file(&missing).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.jsonl.gz"), "{err}");
}
