//! # strata-lifecycle — what happens to stored files as they age
//!
//! The decisions are pure and live in `strata_core::policy::lifecycle`; this crate gives them
//! their facts and keeps what they depend on:
//!
//! - [`plan`]: the plan over an archive — every catalogued file ([`stored_file`]), its
//!   legal holds and its config's retention, classification, tiers and quotas, at a given time
//!   (`strata lifecycle plan`, `--now` to age the data without waiting);
//! - [`HoldStore`]: the register of legal holds (ARCH-2) in `_catalog/holds.json`, changed
//!   under a lock (`strata hold add|release|list`).
//!
//! Carrying a plan out (migration, conversion, deletion, its journal and audit trail) is the
//! executor's job, still to be built: today a plan is shown, not run.

mod error;
mod holds;
mod plan;

pub use error::{Error, Result};
pub use holds::{HoldRecord, HoldStore};
pub use plan::{plan, stored_file, stored_files};
