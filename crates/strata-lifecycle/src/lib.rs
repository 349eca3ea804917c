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
//! - [`Executor`]: carries a plan out — migrations converted, written create-only, read back
//!   and compared (count and digest) before the source goes, deletions — under a journal
//!   (`_lifecycle/journal.jsonl`) so that a killed run is finished by the next one;
//! - [`AuditLog`]: the hash-chained audit trail of every action (`_lifecycle/audit.jsonl`),
//!   holds included, that [`AuditLog::verify`] checks;
//! - [`ApprovalStore`]: signed approvals for deleting protected archive data (ARCH-4);
//! - [`sign`]: the archive tier's ed25519-signed manifests (ARCH-3), written by a run with a
//!   signing key and checked by [`verify_archive`];
//! - [`RuleLog`]: when each automation rule (POL-6) last ran and the requests the rules made.

mod approvals;
mod audit;
mod error;
mod execute;
mod holds;
mod lines;
mod plan;
mod rules;
mod session_rows;
pub mod sign;
mod verify;

pub use approvals::{
    approval_message, ApprovalPolicy, ApprovalRecord, ApprovalStore, APPROVALS_FILE,
};
pub use audit::{AuditEntry, AuditLog, AuditReport, AUDIT_FILE};
pub use error::{Error, Result};
pub use execute::{Executor, RunReport, JOURNAL_FILE, LIFECYCLE_DIR};
pub use holds::{HoldRecord, HoldStore};
pub use plan::{plan, stored_file, stored_files};
pub use rules::{RequestRecord, RuleLog, REQUESTS_FILE, RULE_RUNS_FILE};
pub use verify::{verify_archive, SigningCheck, VerifyReport};
