//! Input generators shared by the codec tests.

#![allow(dead_code)]

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// A proptest runner with `cases` cases, no regression files (the per-level runners are built by
/// hand) and bounded shrinking (inputs can be megabytes).
pub fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    })
}

/// Lines shaped like strata's hot-tier JSONL: repetitive keys, varying digits.
pub fn market_lines(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((0u64..2_000_000_000, 1u32..100_000, 0u8..4), 0..=max_len / 60 + 1)
        .prop_map(move |rows| {
            let mut out = Vec::new();
            for (ns, price, venue) in rows {
                out.extend_from_slice(
                    format!(
                        "{{\"v\":\"1.0\",\"kind\":\"trade\",\"ts\":{ns},\"venue\":\"{}\",\"price\":\"{}.{:02}\"}}\n",
                        ["P", "Q", "Z", "D"][usize::from(venue)],
                        price / 100,
                        price % 100
                    )
                    .as_bytes(),
                );
            }
            out.truncate(max_len);
            out
        })
}

/// Any input up to `max_len` bytes, with empty and one-byte inputs drawn often.
pub fn plain_bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(Vec::new()),
        1 => any::<u8>().prop_map(|b| vec![b]),
        3 => prop::collection::vec(any::<u8>(), 0..=max_len),
        3 => market_lines(max_len),
        // Long runs of one byte: the degenerate case for match finders.
        1 => (any::<u8>(), 0..=max_len).prop_map(|(b, n)| vec![b; n]),
    ]
}

/// Inputs of `min_len..=max_len` bytes (megabytes), built cheaply: a few random chunks repeated
/// in a pseudo-random order, with stretches of pseudo-random noise so that both compressible and
/// incompressible spans cross every internal buffer boundary.
pub fn large_bytes(min_len: usize, max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(prop::collection::vec(any::<u8>(), 1..4096), 1..8),
        min_len..=max_len,
        any::<u64>(),
    )
        .prop_map(|(chunks, len, seed)| {
            let mut state = seed | 1;
            let mut next = move || {
                // xorshift64: cheap, deterministic from the seed.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            let mut out = Vec::with_capacity(len + 8192);
            while out.len() < len {
                let roll = next();
                if roll % 10 == 0 {
                    let noise = 1 + (roll >> 8) as usize % 8192;
                    out.extend((0..noise).map(|_| next() as u8));
                } else {
                    out.extend_from_slice(&chunks[(roll >> 8) as usize % chunks.len()]);
                }
            }
            out.truncate(len);
            out
        })
}

/// A deterministic sample of about `len` bytes of JSONL-like text.
pub fn sample_lines(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 128);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(
            format!(
                "{{\"kind\":\"trade\",\"seq\":{i},\"price\":\"{}.{:02}\",\"size\":{}}}\n",
                160 + i % 9,
                (i * 37) % 100,
                (i * 2_654_435_761) % 1_000
            )
            .as_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}
