//! Policies as plain data (serde, `deny_unknown_fields`) with pure decisions that explain
//! themselves (D-4).
//!
//! - [`tier`]: the four tiers and how each stores its files (TIER-1).
//! - [`classification`]: Critical / Standard / Transient / Derived per event kind (POL-1).
//! - [`retention`]: days per tier per event kind, and where a file of a given age belongs (POL-2).
//! - [`regulatory`]: SEC 17a-4, MiFID II and FINRA presets and their retention table (POL-3).
//! - [`quota`]: quotas per scope and what an incoming write meets (QUOTA-1, QUOTA-2).
//! - [`integrity`]: what the writer checks before it accepts an event (INGEST-4).

pub mod classification;
pub mod integrity;
pub mod quota;
pub mod regulatory;
pub mod retention;
pub mod tier;

pub use classification::{Classification, ClassificationPolicy};
pub use integrity::IntegrityPolicy;
pub use quota::{EnforcementMode, QuotaDecision, QuotaRule, QuotaScope, QuotaSubject, QuotaUsage};
pub use regulatory::{DataCategory, RegulatoryPreset, RetentionRequirement};
pub use retention::{ArchiveRetention, Placement, RetentionPolicy, RetentionRule};
pub use tier::{FileFormat, TierDefinition, TierName, Tiers};
