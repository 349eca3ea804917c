//! The laws of [`QuotaPolicy`] (EXT-2):
//!
//! ```
//! use strata_core::policy::{EnforcementMode, QuotaRule, QuotaScope};
//!
//! let rule = QuotaRule {
//!     scope: QuotaScope::Global,
//!     max_bytes: Some(1_000),
//!     max_files: None,
//!     max_events_per_day: Some(50),
//!     mode: EnforcementMode::HardLimit,
//! };
//! strata_core::laws::quota::run_all(&rule);
//! ```
//!
//! - [`decisions_are_pure`]: the same usage and write, the same decision (and scope match).
//! - [`an_empty_write_to_an_empty_scope_is_allowed`].
//! - [`refusals_are_monotone`]: what is refused stays refused with more usage or a bigger write.
//! - [`decisions_explain_themselves`]: every non-Allow decision names its reason or limit, and a
//!   refusal's `used` is within what it was told.
//! - [`extreme_values_do_not_panic`]: `u64::MAX` usage and writes.
//! - [`a_ledger_never_passes_a_hard_limit`]: charging only what is not refused, usage never
//!   ends above a refusal's limit — for the built-in limit names and for names of the policy's
//!   own (the counter such a limit measures is the one whose value its refusals report).

use std::panic::{catch_unwind, AssertUnwindSafe};

use strata_model::{AssetClass, EventKind};

use super::Rng;
use crate::policy::{QuotaDecision, QuotaPolicy, QuotaSubject, QuotaUsage};

fn usage(rng: &mut Rng, scale: u64) -> QuotaUsage {
    QuotaUsage {
        bytes: rng.below(scale * 100),
        files: rng.below(scale / 10 + 2),
        events_today: rng.below(scale),
    }
}

fn plus(a: QuotaUsage, b: QuotaUsage) -> QuotaUsage {
    QuotaUsage {
        bytes: a.bytes.saturating_add(b.bytes),
        files: a.files.saturating_add(b.files),
        events_today: a.events_today.saturating_add(b.events_today),
    }
}

/// Scales of usage the laws try (around a policy's limits whatever they are).
const SCALES: [u64; 5] = [10, 1_000, 100_000, 10_000_000, 1_000_000_000];

/// Subjects of every kind of scope.
pub fn subjects() -> Vec<QuotaSubject<'static>> {
    let mut out = Vec::new();
    for (symbol, class) in [
        ("AAPL", AssetClass::Equity),
        ("BTCUSDT", AssetClass::Crypto),
        ("ESZ4", AssetClass::Future),
    ] {
        for source in ["nasdaq", "binance"] {
            for kind in [EventKind::Trade, EventKind::BboQuote, EventKind::L2Snapshot] {
                out.push(QuotaSubject {
                    source,
                    asset_class: class,
                    symbol,
                    kind,
                });
            }
        }
    }
    out
}

/// The same usage and write give the same decision; the same subject the same match.
pub fn decisions_are_pure(policy: &dyn QuotaPolicy) {
    let mut rng = Rng::new(1);
    for scale in SCALES {
        for _ in 0..200 {
            let (used, incoming) = (usage(&mut rng, scale), usage(&mut rng, scale));
            assert_eq!(
                policy.evaluate(used, incoming),
                policy.evaluate(used, incoming),
                "quota {}: two answers for {used:?} + {incoming:?}",
                policy.name()
            );
        }
    }
    for subject in subjects() {
        assert_eq!(
            policy.applies_to(&subject),
            policy.applies_to(&subject),
            "quota {}: two answers to whether it counts {subject:?}",
            policy.name()
        );
    }
}

/// Nothing written to a scope that holds nothing is allowed.
pub fn an_empty_write_to_an_empty_scope_is_allowed(policy: &dyn QuotaPolicy) {
    let zero = QuotaUsage::default();
    assert_eq!(
        policy.evaluate(zero, zero),
        QuotaDecision::Allow,
        "quota {}: refuses or warns about nothing written to an empty scope",
        policy.name()
    );
}

/// A refused write stays refused when the scope holds more or the write is bigger.
pub fn refusals_are_monotone(policy: &dyn QuotaPolicy) {
    let mut rng = Rng::new(2);
    for scale in SCALES {
        for _ in 0..300 {
            let (used, incoming) = (usage(&mut rng, scale), usage(&mut rng, scale));
            if !matches!(
                policy.evaluate(used, incoming),
                QuotaDecision::Refuse { .. }
            ) {
                continue;
            }
            let more = usage(&mut rng, scale);
            for (u, i, what) in [
                (plus(used, more), incoming, "more usage"),
                (used, plus(incoming, more), "a bigger write"),
            ] {
                assert!(
                    matches!(policy.evaluate(u, i), QuotaDecision::Refuse { .. }),
                    "quota {}: refuses {used:?} + {incoming:?} but allows {what}: {u:?} + {i:?}",
                    policy.name()
                );
            }
        }
    }
}

/// Every decision other than Allow says why; a refusal names a limit and the usage it saw.
pub fn decisions_explain_themselves(policy: &dyn QuotaPolicy) {
    let mut rng = Rng::new(3);
    for scale in SCALES {
        for _ in 0..300 {
            let (used, incoming) = (usage(&mut rng, scale), usage(&mut rng, scale));
            match policy.evaluate(used, incoming) {
                QuotaDecision::Allow => {}
                QuotaDecision::Warn { reason }
                | QuotaDecision::StartCleanup { reason }
                | QuotaDecision::DropOldest { reason, .. } => assert!(
                    !reason.trim().is_empty(),
                    "quota {}: a decision without a reason for {used:?} + {incoming:?}",
                    policy.name()
                ),
                QuotaDecision::Refuse {
                    scope,
                    limit_name,
                    used: seen,
                    ..
                } => {
                    assert!(
                        !scope.is_empty() && !limit_name.is_empty(),
                        "quota {}: a refusal that names no scope or limit",
                        policy.name()
                    );
                    let counters = [used.bytes, used.files, used.events_today];
                    assert!(
                        counters.contains(&seen),
                        "quota {}: a refusal reports {seen} used, which is none of {used:?}",
                        policy.name()
                    );
                }
            }
        }
    }
}

/// Usage and writes at `u64::MAX` give a decision, not a panic.
pub fn extreme_values_do_not_panic(policy: &dyn QuotaPolicy) {
    let max = QuotaUsage {
        bytes: u64::MAX,
        files: u64::MAX,
        events_today: u64::MAX,
    };
    for (used, incoming) in [
        (max, max),
        (max, QuotaUsage::default()),
        (QuotaUsage::default(), max),
    ] {
        let outcome = catch_unwind(AssertUnwindSafe(|| policy.evaluate(used, incoming)));
        assert!(
            outcome.is_ok(),
            "quota {}: panics on {used:?} + {incoming:?}",
            policy.name()
        );
    }
}

/// A ledger that charges every write the policy does not refuse never ends above the limit of a
/// refusal it has seen: allowing a write means it fits.
pub fn a_ledger_never_passes_a_hard_limit(policy: &dyn QuotaPolicy) {
    let mut rng = Rng::new(4);
    for scale in SCALES {
        let mut used = QuotaUsage::default();
        // Each refusal's limit, with the counters it may measure: the built-in names say which;
        // for a name of the policy's own, the counters whose value was the `used` the refusal
        // reported (every time it refused under that name).
        let mut limits: Vec<(&'static str, u64, [bool; 3])> = Vec::new();
        for _ in 0..500 {
            let incoming = QuotaUsage {
                bytes: rng.below(scale),
                files: rng.below(2),
                events_today: rng.below(scale / 100 + 2),
            };
            match policy.evaluate(used, incoming) {
                QuotaDecision::Refuse {
                    limit_name,
                    limit,
                    used: seen,
                    ..
                } => {
                    let counters = [used.bytes, used.files, used.events_today];
                    let measured = match limit_name {
                        "max_bytes" => [true, false, false],
                        "max_files" => [false, true, false],
                        "max_events_per_day" => [false, false, true],
                        _ => counters.map(|c| c == seen),
                    };
                    match limits
                        .iter_mut()
                        .find(|(n, l, _)| *n == limit_name && *l == limit)
                    {
                        Some((_, _, known)) => {
                            for (k, m) in known.iter_mut().zip(measured) {
                                *k &= m;
                            }
                        }
                        None => limits.push((limit_name, limit, measured)),
                    }
                }
                _ => used = plus(used, incoming),
            }
        }
        let counters = [used.bytes, used.files, used.events_today];
        for (name, limit, measured) in limits {
            // The counter the limit measures is among those marked (if none is, the refusals
            // reported usage no counter had: `decisions_explain_themselves` says so).
            let candidates: Vec<u64> = counters
                .iter()
                .zip(measured)
                .filter(|(_, m)| *m)
                .map(|(c, _)| *c)
                .collect();
            assert!(
                candidates.is_empty() || candidates.iter().any(|&counted| counted <= limit),
                "quota {}: allowed writes until {name} reached {}, above the limit {limit} it \
                 refuses at",
                policy.name(),
                candidates.iter().min().copied().unwrap_or_default()
            );
        }
    }
}

/// Every quota law, in order.
pub fn run_all(policy: &dyn QuotaPolicy) {
    decisions_are_pure(policy);
    an_empty_write_to_an_empty_scope_is_allowed(policy);
    refusals_are_monotone(policy);
    decisions_explain_themselves(policy);
    extreme_values_do_not_panic(policy);
    a_ledger_never_passes_a_hard_limit(policy);
}
