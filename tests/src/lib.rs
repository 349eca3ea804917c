//! Shared helpers for strata's cross-crate integration tests: a deterministic event feed, the
//! writer config the crash tests use, and a reader that checks an archive's contents.

// Test support: a panic here is a test failure with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod check;
pub mod feed;

pub use check::{
    assert_acknowledged_exactly_once, crash_test_config, open_writer, stored_ids,
    verify_all_checksums,
};
pub use feed::{event, next, SYMBOLS};
