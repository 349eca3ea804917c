//! The laws of [`Codec`] (EXT-2): a test suite any implementation runs to prove itself, as
//! strata's own codecs do (`tests/builtin_codecs_pass_the_laws.rs`). Enable the `laws` feature
//! in your dev-dependencies and call [`run_all`] (or each law) from a `#[test]`:
//!
//! ```
//! use std::sync::Arc;
//! use strata_codec::{BuiltinCodec, CodecFamily};
//!
//! strata_codec::laws::run_all(Arc::new(BuiltinCodec(CodecFamily::Lz4)));
//! ```
//!
//! Each law panics with a message naming the codec, the level and the input when it is broken.
//! The inputs are market-data text (JSONL trades), bytes no codec can shrink, one byte and
//! nothing at all.
//!
//! - [`round_trip_at_every_level`]: decode(encode(x)) = x at every level the codec declares.
//! - [`truncation_is_detected`]: a stream cut anywhere — inside its header, between blocks,
//!   one byte before its end — fails to read; it never reads as a shorter stream.
//! - [`corruption_is_detected`]: a stream with one byte changed either fails to read or reads
//!   as the original exactly (a flipped bit in a field nothing depends on); never as other data.
//! - [`magic_is_sniffable`]: every stream starts with the codec's magic bytes, and a registry
//!   holding the codec recognises the stream whatever its name.
//! - [`concatenated_streams_read_whole`]: two streams back to back read as both.
//! - [`small_writes_and_reads_round_trip`]: tiny writes with flushes between them, and reads of
//!   one byte from a source giving one byte at a time, change nothing.
//!
//! The plain codec (no magic bytes) cannot tell a cut or changed stream from another stream
//! and is exempt from the truncation and corruption laws.

use std::io::Read;
use std::sync::Arc;

use crate::{Codec, CodecRegistry};

/// The inputs every law encodes: (what it is, bytes).
pub fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let mut text = Vec::new();
    for i in 0..2_000u64 {
        text.extend_from_slice(
            format!(
                "{{\"v\":\"1.3\",\"kind\":\"trade\",\"source\":\"laws\",\"symbol\":\"BTCUSDT\",\"ts\":{},\"price\":\"{}.{:02}\",\"size\":\"0.{:03}\"}}\n",
                1_723_161_256_000_000_000u64 + i * 1_000_003,
                60_000 + i % 97,
                i % 100,
                i % 1000
            )
            .as_bytes(),
        );
    }
    // xorshift: bytes without structure, which no codec shrinks.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let noise: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect();
    vec![
        ("market-data text", text),
        ("incompressible bytes", noise),
        ("one byte", vec![b'x']),
        ("nothing", Vec::new()),
    ]
}

/// The levels to try: every declared level, or the default alone.
fn levels(codec: &dyn Codec) -> Vec<Option<i32>> {
    match codec.levels() {
        Some((low, high)) => (low..=high).map(Some).collect(),
        None => vec![None],
    }
}

/// `plain` encoded by `codec` at `level`.
pub fn encode(codec: &dyn Codec, level: Option<i32>, plain: &[u8]) -> Vec<u8> {
    let mut packed = Vec::new();
    let mut encoder = codec
        .encoder(level, Box::new(&mut packed))
        .unwrap_or_else(|e| panic!("{}: encoder at level {level:?}: {e}", codec.name()));
    std::io::Write::write_all(&mut encoder, plain)
        .unwrap_or_else(|e| panic!("{}: writing at level {level:?}: {e}", codec.name()));
    encoder
        .finish()
        .unwrap_or_else(|e| panic!("{}: finishing at level {level:?}: {e}", codec.name()));
    packed
}

/// `packed` decoded by `codec`: the bytes, or the error that stopped the read.
pub fn decode(codec: &dyn Codec, packed: &[u8]) -> Result<Vec<u8>, String> {
    let mut reader = codec.decoder(Box::new(packed)).map_err(|e| e.to_string())?;
    let mut plain = Vec::new();
    reader.read_to_end(&mut plain).map_err(|e| e.to_string())?;
    Ok(plain)
}

/// decode(encode(x)) = x for every input at every level.
pub fn round_trip_at_every_level(codec: &dyn Codec) {
    for (what, plain) in inputs() {
        for level in levels(codec) {
            let packed = encode(codec, level, &plain);
            let back = decode(codec, &packed).unwrap_or_else(|e| {
                panic!(
                    "{}: level {level:?}, {what}: its own stream fails to read: {e}",
                    codec.name()
                )
            });
            assert!(
                back == plain,
                "{}: level {level:?}, {what}: read back {} bytes that differ from the {} written",
                codec.name(),
                back.len(),
                plain.len()
            );
        }
    }
}

/// Where to cut or change a stream of `len` bytes: every position of a short stream, about 300
/// spread over a long one, and always its first and last bytes.
fn positions(len: usize) -> Vec<usize> {
    if len <= 600 {
        return (0..len).collect();
    }
    let step = len / 300;
    let mut at: Vec<usize> = (0..len).step_by(step).collect();
    at.extend([1, 2, 3, len - 3, len - 2, len - 1]);
    at.sort_unstable();
    at.dedup();
    at
}

/// A stream cut at any point fails to read (the plain codec is exempt).
pub fn truncation_is_detected(codec: &dyn Codec) {
    if codec.magic().is_empty() {
        return;
    }
    for (what, plain) in inputs() {
        let level = levels(codec).pop().flatten();
        let packed = encode(codec, level, &plain);
        for cut in positions(packed.len()) {
            if let Ok(back) = decode(codec, &packed[..cut]) {
                panic!(
                    "{}: {what}: the stream cut to {cut} of {} bytes read as {} bytes of data instead of failing",
                    codec.name(),
                    packed.len(),
                    back.len()
                );
            }
        }
    }
}

/// A stream with one byte changed fails to read or reads as the original (the plain codec is
/// exempt).
pub fn corruption_is_detected(codec: &dyn Codec) {
    if codec.magic().is_empty() {
        return;
    }
    for (what, plain) in inputs() {
        let level = levels(codec).first().copied().flatten();
        let packed = encode(codec, level, &plain);
        for at in positions(packed.len()) {
            for flip in [0x01u8, 0xff] {
                let mut damaged = packed.clone();
                damaged[at] ^= flip;
                if let Ok(back) = decode(codec, &damaged) {
                    assert!(
                        back == plain,
                        "{}: {what}: byte {at} of {} xor {flip:#04x} read as {} bytes of other data instead of failing",
                        codec.name(),
                        packed.len(),
                        back.len()
                    );
                }
            }
        }
    }
}

/// Every stream starts with the magic bytes, and a registry holding the codec (the built-ins,
/// plus it when it is not one of them) recognises its streams.
pub fn magic_is_sniffable(codec: &Arc<dyn Codec>) {
    let mut registry = CodecRegistry::default();
    if registry.get(codec.name()).is_none() {
        registry
            .register(Arc::clone(codec))
            .unwrap_or_else(|e| panic!("{}: cannot join a registry: {e}", codec.name()));
    }
    for (what, plain) in inputs() {
        let packed = encode(codec.as_ref(), None, &plain);
        assert!(
            packed.starts_with(codec.magic()),
            "{}: {what}: the stream does not start with the magic bytes {:02x?}",
            codec.name(),
            codec.magic()
        );
        let found = registry.sniff(&packed);
        assert_eq!(
            found.name(),
            codec.name(),
            "{}: {what}: the registry took the stream for `{}`",
            codec.name(),
            found.name()
        );
        let (found, mut reader) = registry
            .decoder_for_content(Box::new(packed.as_slice()))
            .unwrap_or_else(|e| panic!("{}: {what}: decoder_for_content: {e}", codec.name()));
        assert_eq!(found.name(), codec.name());
        let mut back = Vec::new();
        reader
            .read_to_end(&mut back)
            .unwrap_or_else(|e| panic!("{}: {what}: reading after sniffing: {e}", codec.name()));
        assert!(
            back == plain,
            "{}: {what}: sniffed read differs",
            codec.name()
        );
    }
}

/// Two streams written back to back (a file appended to, or `cat a b`) read as both, whole —
/// never as the first alone.
pub fn concatenated_streams_read_whole(codec: &dyn Codec) {
    let inputs = inputs();
    let (first, second) = (&inputs[0].1, &inputs[2].1);
    let mut packed = encode(codec, None, first);
    packed.extend(encode(codec, None, second));
    let back = decode(codec, &packed).unwrap_or_else(|e| {
        panic!(
            "{}: two streams back to back fail to read: {e}",
            codec.name()
        )
    });
    let mut want = first.clone();
    want.extend_from_slice(second);
    assert!(
        back == want,
        "{}: two streams back to back ({} + {} bytes) read as {} bytes",
        codec.name(),
        first.len(),
        second.len(),
        back.len()
    );
}

/// A source that hands out one byte per read, as a slow pipe or socket may.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((&b, rest)), Some(slot)) => {
                *slot = b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

/// Writes of every small size with flushes between them, and reads one byte at a time from a
/// source that gives one byte at a time, give back the same bytes as one write and one read.
pub fn small_writes_and_reads_round_trip(codec: &dyn Codec) {
    let plain = &inputs()[0].1[..40_000];
    let mut packed = Vec::new();
    let mut encoder = codec
        .encoder(None, Box::new(&mut packed))
        .unwrap_or_else(|e| panic!("{}: encoder: {e}", codec.name()));
    let mut at = 0;
    let mut size = 1;
    while at < plain.len() {
        let end = (at + size).min(plain.len());
        std::io::Write::write_all(&mut encoder, &plain[at..end])
            .unwrap_or_else(|e| panic!("{}: a {size}-byte write: {e}", codec.name()));
        if size % 5 == 0 {
            std::io::Write::flush(&mut encoder)
                .unwrap_or_else(|e| panic!("{}: a flush mid-stream: {e}", codec.name()));
        }
        at = end;
        size = size % 13 + 1;
    }
    encoder
        .finish()
        .unwrap_or_else(|e| panic!("{}: finishing: {e}", codec.name()));
    let mut reader = codec
        .decoder(Box::new(Trickle(&packed)))
        .unwrap_or_else(|e| panic!("{}: decoder: {e}", codec.name()));
    let mut back = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match reader.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => back.push(byte[0]),
            Err(e) => panic!("{}: reading one byte at a time: {e}", codec.name()),
        }
    }
    assert!(
        back == plain,
        "{}: small writes and one-byte reads gave {} bytes back for {}",
        codec.name(),
        back.len(),
        plain.len()
    );
}

/// Every law.
pub fn run_all(codec: Arc<dyn Codec>) {
    round_trip_at_every_level(codec.as_ref());
    concatenated_streams_read_whole(codec.as_ref());
    small_writes_and_reads_round_trip(codec.as_ref());
    truncation_is_detected(codec.as_ref());
    corruption_is_detected(codec.as_ref());
    magic_is_sniffable(&codec);
}
