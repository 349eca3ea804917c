//! strata's own codecs pass the laws every `Codec` must pass (EXT-2): the same suite a codec
//! from outside runs (`examples/custom_codec.rs`).
#![cfg(feature = "laws")]
#![allow(clippy::expect_used)]

use std::sync::Arc;

use strata_codec::{laws, BuiltinCodec, CodecFamily};

#[test]
fn none_passes_the_laws() {
    laws::run_all(Arc::new(BuiltinCodec(CodecFamily::None)));
}

#[cfg(feature = "gzip")]
#[test]
fn gzip_passes_the_laws() {
    laws::run_all(Arc::new(BuiltinCodec(CodecFamily::Gzip)));
}

#[cfg(feature = "zstd")]
#[test]
fn zstd_passes_the_laws() {
    laws::run_all(Arc::new(BuiltinCodec(CodecFamily::Zstd)));
}

#[cfg(feature = "lz4")]
#[test]
fn lz4_passes_the_laws() {
    laws::run_all(Arc::new(BuiltinCodec(CodecFamily::Lz4)));
}

/// A codec with a magic number and no framing at all: its streams round-trip and sniff, but a cut
/// or changed stream reads as other data — what the truncation and corruption laws must catch.
#[derive(Debug)]
struct Unframed;

impl strata_codec::Codec for Unframed {
    fn name(&self) -> &str {
        "unframed"
    }
    fn extension(&self) -> &str {
        ".unf"
    }
    fn magic(&self) -> &[u8] {
        b"UNF1"
    }
    fn levels(&self) -> Option<(i32, i32)> {
        None
    }
    fn encoder<'w>(
        &self,
        _: Option<i32>,
        mut out: Box<dyn std::io::Write + Send + 'w>,
    ) -> strata_codec::Result<Box<dyn strata_codec::StreamEncoder + 'w>> {
        out.write_all(b"UNF1").expect("in memory");
        BuiltinCodec(CodecFamily::None).encoder(None, out)
    }
    fn decoder<'r>(
        &self,
        mut input: Box<dyn std::io::Read + Send + 'r>,
    ) -> strata_codec::Result<Box<dyn std::io::Read + Send + 'r>> {
        let mut magic = [0; 4];
        let _ = std::io::Read::read(&mut input, &mut magic);
        Ok(input)
    }
}

fn panic_text(law: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let err = std::panic::catch_unwind(law).expect_err("the law must fail");
    err.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn the_laws_catch_a_codec_that_reads_cut_or_changed_streams_as_data() {
    laws::round_trip_at_every_level(&Unframed);
    laws::magic_is_sniffable(&(Arc::new(Unframed) as Arc<dyn strata_codec::Codec>));
    let cut = panic_text(|| laws::truncation_is_detected(&Unframed));
    assert!(
        cut.contains("unframed") && cut.contains("instead of failing"),
        "{cut}"
    );
    let changed = panic_text(|| laws::corruption_is_detected(&Unframed));
    assert!(
        changed.contains("read as") && changed.contains("other data"),
        "{changed}"
    );
}
