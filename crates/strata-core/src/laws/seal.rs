//! The laws of [`SealSchedule`] (EXT-2):
//!
//! ```
//! use std::time::Duration;
//! use strata_core::policy::SealRules;
//!
//! let rules = SealRules { max_file_bytes: 64 << 20, max_file_age: Duration::from_secs(3600) };
//! strata_core::laws::seal::run_all(&rules);
//! ```
//!
//! - [`every_segment_is_eventually_sealed`]: a segment old enough, or big enough, is sealed.
//! - [`sealing_is_monotone`]: a segment sealed at some size and age is sealed when bigger or older.
//! - [`an_empty_new_segment_stays_open`].
//! - [`seals_explain_themselves`]: every decision says why.

use std::time::Duration;

use super::Rng;
use crate::policy::{SealSchedule, SegmentFacts};

/// Sealed at the latest after a year, or at 1 TiB.
const AT_THE_LATEST: (Duration, u64) = (Duration::from_secs(366 * 86_400), 1 << 40);

/// A segment a year old, and one of 1 TiB, are sealed; the periodic check runs at least daily.
pub fn every_segment_is_eventually_sealed(schedule: &dyn SealSchedule) {
    let old = SegmentFacts {
        bytes: 1,
        events: 1,
        open_for: Some(AT_THE_LATEST.0),
    };
    assert!(
        schedule.decide(&old).is_some(),
        "schedule {}: a segment open a year is never sealed",
        schedule.name()
    );
    let big = SegmentFacts {
        bytes: AT_THE_LATEST.1,
        events: AT_THE_LATEST.1 / 100,
        open_for: None,
    };
    assert!(
        schedule.decide(&big).is_some(),
        "schedule {}: a segment of 1 TiB is not sealed on append",
        schedule.name()
    );
    let every = schedule.check_every();
    assert!(
        every > Duration::ZERO && every <= Duration::from_secs(86_400),
        "schedule {}: asks to be checked every {every:?} (more than 0, at most a day)",
        schedule.name()
    );
}

/// Sealed at (bytes, age) means sealed at anything bigger and older.
pub fn sealing_is_monotone(schedule: &dyn SealSchedule) {
    let mut rng = Rng::new(5);
    for _ in 0..2_000 {
        let facts = SegmentFacts {
            bytes: rng.below(1 << 34),
            events: rng.below(1 << 26),
            open_for: (rng.below(2) == 0).then(|| Duration::from_secs(rng.below(200_000))),
        };
        if schedule.decide(&facts).is_none() {
            continue;
        }
        let more = SegmentFacts {
            bytes: facts.bytes + rng.below(1 << 30),
            events: facts.events + rng.below(1 << 20),
            open_for: facts
                .open_for
                .map(|d| d + Duration::from_secs(rng.below(10_000))),
        };
        assert!(
            schedule.decide(&more).is_some(),
            "schedule {}: seals {facts:?} but not the bigger, older {more:?}",
            schedule.name()
        );
    }
}

/// A segment just opened with nothing in it is not sealed.
pub fn an_empty_new_segment_stays_open(schedule: &dyn SealSchedule) {
    for open_for in [None, Some(Duration::ZERO)] {
        let facts = SegmentFacts {
            bytes: 0,
            events: 0,
            open_for,
        };
        assert_eq!(
            schedule.decide(&facts),
            None,
            "schedule {}: seals an empty segment just opened",
            schedule.name()
        );
    }
}

/// Every seal decision carries a reason.
pub fn seals_explain_themselves(schedule: &dyn SealSchedule) {
    let mut rng = Rng::new(6);
    for _ in 0..1_000 {
        let facts = SegmentFacts {
            bytes: rng.below(1 << 36),
            events: rng.below(1 << 28),
            open_for: Some(Duration::from_secs(rng.below(1_000_000))),
        };
        if let Some(decision) = schedule.decide(&facts) {
            assert!(
                !decision.reason.trim().is_empty(),
                "schedule {}: seals {facts:?} without a reason",
                schedule.name()
            );
        }
    }
}

/// Every seal law, in order.
pub fn run_all(schedule: &dyn SealSchedule) {
    every_segment_is_eventually_sealed(schedule);
    sealing_is_monotone(schedule);
    an_empty_new_segment_stays_open(schedule);
    seals_explain_themselves(schedule);
}
