//! Policies as plain data (serde, `deny_unknown_fields`) with pure decisions that explain
//! themselves (D-4).
//!
//! - [`tier`]: the four tiers and how each stores its files (TIER-1).
//! - [`classification`]: Critical / Standard / Transient / Derived per event kind (POL-1).
//! - [`retention`]: days per tier per event kind, and where a file of a given age belongs (POL-2).
//! - [`regulatory`]: SEC 17a-4, MiFID II and FINRA presets and their retention table (POL-3).
//! - [`quota`]: quotas per scope and what an incoming write meets (QUOTA-1, QUOTA-2).
//! - [`integrity`]: what the writer checks before it accepts an event (INGEST-4).
//! - [`placement`]: where a stored file belongs and what to do about it (TIER-1, POL-2).
//! - [`forecast`]: growth per day, usage at a horizon, the date each quota fills (QUOTA-3).
//! - [`lifecycle`]: the plan over every stored file: placement, protection (critical, legal
//!   holds, write-once) and quotas that act (POL-1..4, QUOTA-2, ARCH-1..2).
//! - [`rules`]: automation rules, conditions on a file's facts → an action, on an interval
//!   (POL-6).
//! - [`seal`]: when an open hot-tier segment is sealed (INGEST-1).
//!
//! Each decision is an extension point (EXT-1), a trait whose built-in is the config's data:
//! [`IntegrityPolicy`] ([`IntegrityChecks`]), [`QuotaPolicy`] ([`QuotaRule`]), [`TierPolicy`]
//! ([`RetentionPlacement`]) and [`SealSchedule`] ([`SealRules`]). Their laws are in
//! `strata_core::laws` (feature `laws`).

pub mod classification;
pub mod forecast;
pub mod integrity;
pub mod lifecycle;
pub mod placement;
pub mod quota;
pub mod regulatory;
pub mod retention;
pub mod rules;
pub mod seal;
pub mod tier;

pub use classification::{Classification, ClassificationPolicy};
pub use integrity::{IntegrityChecks, IntegrityPolicy};
pub use lifecycle::{
    Approvals, Decision, Hold, HoldScope, LifecycleAction, LifecyclePlan, LifecyclePolicies,
    Protection, QuotaState, StoredFile, TierCapState,
};
pub use placement::{FileFacts, RetentionPlacement, TierAction, TierPolicy};
pub use quota::{
    EnforcementMode, QuotaDecision, QuotaPolicy, QuotaRule, QuotaScope, QuotaSubject, QuotaUsage,
};
pub use regulatory::{DataCategory, RegulatoryPreset, RetentionRequirement};
pub use retention::{ArchiveRetention, Placement, RetentionPolicy, RetentionRule};
pub use seal::{SealCause, SealDecision, SealRules, SealSchedule, SegmentFacts};
pub use tier::{Consolidation, FileFormat, PeriodBucket, TierDefinition, TierName, Tiers};
