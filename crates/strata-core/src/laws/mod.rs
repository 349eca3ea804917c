//! The laws of strata-core's extension points (EXT-2): public test suites any implementation
//! runs to prove itself, as the built-ins do (`tests/builtin_extensions_pass_the_laws.rs`).
//! Enable the `laws` feature in your dev-dependencies and call a module's `run_all` from a
//! `#[test]`. Each law panics with a message naming the implementation and the input that
//! broke it.
//!
//! - [`naming`]: parse inverts render, paths stay under the root, names fit, hostile keys.
//! - [`quota`]: deterministic, monotone in usage and in the write, explains itself, never
//!   overflows; a ledger that charges what it allows never passes a hard limit.
//! - [`integrity`]: the same input gives the same verdicts, the verdict does not depend on
//!   earlier rejected events nor on other questions asked in between, ordinary feeds are
//!   accepted, rejection classes are stable names, and what a policy claims to refuse it refuses.
//! - [`seal`]: every segment is eventually sealed, by size and by age, and each seal says why.
//! - [`tier`]: never deletes critical, held or write-once data; never sends a file back to a
//!   hotter tier; explains itself.

pub mod integrity;
pub mod naming;
pub mod quota;
pub mod seal;
pub mod tier;

/// A small deterministic generator (SplitMix64) for the laws' inputs: the same run every time.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}
