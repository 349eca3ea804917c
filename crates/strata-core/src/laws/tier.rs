//! The laws of [`TierPolicy`] (EXT-2):
//!
//! ```
//! use strata_core::policy::RetentionPlacement;
//!
//! strata_core::laws::tier::run_all(&RetentionPlacement::default());
//! ```
//!
//! - [`protected_data_is_never_deleted`]: critical, held and write-once files are never deleted.
//! - [`files_never_move_back`]: a migration goes to a colder tier, and as a file ages its
//!   action never points to a hotter tier than before.
//! - [`decisions_are_pure_and_explained`]: the same facts, the same action; every action says why.

use strata_model::EventKind;

use crate::policy::{Classification, FileFacts, TierAction, TierName, TierPolicy};

/// Ages the laws try, in days (0 to 30 years).
const AGES: [u64; 14] = [
    0, 1, 2, 6, 7, 29, 30, 89, 90, 365, 366, 2_555, 3_650, 10_950,
];

fn facts(kind: EventKind, class: Classification, age: u64, tier: TierName) -> FileFacts {
    FileFacts {
        kind,
        classification: class,
        age_days: age,
        tier,
        held: false,
        worm_locked: false,
    }
}

fn every_file() -> impl Iterator<Item = FileFacts> {
    EventKind::ALL.iter().flat_map(|&kind| {
        [
            Classification::Critical,
            Classification::Standard,
            Classification::Transient,
            Classification::Derived,
        ]
        .into_iter()
        .flat_map(move |class| {
            AGES.into_iter().flat_map(move |age| {
                TierName::ALL
                    .iter()
                    .map(move |&tier| facts(kind, class, age, tier))
            })
        })
    })
}

/// Critical, held and write-once files are never deleted, at any age in any tier.
pub fn protected_data_is_never_deleted(policy: &dyn TierPolicy) {
    for file in every_file() {
        for (held, worm_locked) in [(false, false), (true, false), (false, true)] {
            let file = FileFacts {
                held,
                worm_locked,
                ..file.clone()
            };
            let protected = held || worm_locked || file.classification == Classification::Critical;
            let (action, why) = policy.decide(&file);
            assert!(
                !(protected && action == TierAction::Delete),
                "tier policy {}: deletes a protected file {file:?} ({why})",
                policy.name()
            );
        }
    }
}

/// Migrations go colder; an older file is never sent hotter than a younger one.
pub fn files_never_move_back(policy: &dyn TierPolicy) {
    let target = |file: &FileFacts, action: &TierAction| match action {
        TierAction::Migrate(t) => Some(*t),
        TierAction::Stay | TierAction::Protect => Some(file.tier),
        TierAction::Delete => None,
    };
    for file in every_file() {
        let (action, why) = policy.decide(&file);
        if let TierAction::Migrate(to) = action {
            assert!(
                to > file.tier,
                "tier policy {}: moves {file:?} back to {to} ({why})",
                policy.name()
            );
        }
        let older = FileFacts {
            age_days: file.age_days * 2 + 1,
            ..file.clone()
        };
        let (later, later_why) = policy.decide(&older);
        if let (Some(now), Some(then)) = (target(&file, &action), target(&older, &later)) {
            assert!(
                then >= now,
                "tier policy {}: at {} days {file:?} goes to {now} ({why}), but at {} days to the \
                 hotter {then} ({later_why})",
                policy.name(),
                file.age_days,
                older.age_days
            );
        }
    }
}

/// The same facts give the same action, and every action says why.
pub fn decisions_are_pure_and_explained(policy: &dyn TierPolicy) {
    for file in every_file() {
        let first = policy.decide(&file);
        assert_eq!(
            first,
            policy.decide(&file),
            "tier policy {}: two answers for {file:?}",
            policy.name()
        );
        assert!(
            !first.1.trim().is_empty(),
            "tier policy {}: no reason for {file:?}",
            policy.name()
        );
    }
}

/// Every tier-policy law, in order.
pub fn run_all(policy: &dyn TierPolicy) {
    protected_data_is_never_deleted(policy);
    files_never_move_back(policy);
    decisions_are_pure_and_explained(policy);
}
