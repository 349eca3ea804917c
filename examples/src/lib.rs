//! Shared helpers for the examples, and the extension implementations they plug in (each one
//! passes its trait's laws in `examples/tests/`).
//!
//! - [`bzip2_codec::Bzip2Codec`]: bzip2, a codec strata does not ship, as a
//!   [`strata::codec::Codec`] (`examples/custom_codec.rs`).

pub mod bzip2_codec;
