//! Every built-in implementation of strata-core's extension points passes the public laws
//! (EXT-2): the eight naming conventions and plain and Hive partitioning at every granularity
//! (with and without a session split), the quota rules in all four modes, the integrity checks
//! in several settings, the seal rules and the retention placement of every profile and
//! regulatory preset.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use strata_core::laws;
use strata_core::layout::{
    Dimension, Granularity, Layout, LayoutConfig, NamingConvention, NamingRegistry, Partitioning,
    PathStyle, SessionSplit,
};
use strata_core::policy::{
    ClassificationPolicy, EnforcementMode, IntegrityChecks, QuotaRule, QuotaScope,
    RegulatoryPreset, RetentionPlacement, SealRules,
};
use strata_model::{AssetClass, EventKind};

#[test]
fn every_naming_convention_and_partitioning_passes_the_naming_laws() {
    let mut checked = 0;
    for granularity in [
        Granularity::None,
        Granularity::Hourly,
        Granularity::Daily,
        Granularity::Monthly,
    ] {
        for &convention in NamingConvention::ALL {
            laws::naming::run_all(&Layout::new(convention, granularity));
            checked += 1;
        }
        for style in [PathStyle::Plain, PathStyle::Hive] {
            let dimensions = if granularity == Granularity::None {
                vec![
                    Dimension::Exchange,
                    Dimension::Source,
                    Dimension::Symbol,
                    Dimension::EventType,
                ]
            } else {
                vec![
                    Dimension::Exchange,
                    Dimension::AssetClass,
                    Dimension::Source,
                    Dimension::Symbol,
                    Dimension::EventType,
                    Dimension::Date,
                ]
            };
            let layout =
                Layout::partitioned(Partitioning { dimensions, style }, granularity).unwrap();
            laws::naming::run_all(&layout);
            checked += 1;
        }
    }
    // Session-split daily files.
    let split: SessionSplit = serde_json::from_value(serde_json::json!({
        "timezone": "America/New_York"
    }))
    .unwrap();
    for &convention in NamingConvention::ALL {
        let layout = Layout::new(convention, Granularity::Daily)
            .with_session_split(split)
            .unwrap();
        laws::naming::run_all(&layout);
        checked += 1;
    }
    assert_eq!(checked, 4 * (8 + 2) + 8);
}

#[test]
fn namings_resolved_through_the_registry_pass_the_laws() {
    let registry = NamingRegistry::new();
    let config: LayoutConfig =
        toml::from_str("naming = \"canonical\"\ngranularity = \"hourly\"").unwrap();
    let naming = registry.resolve(&config).unwrap();
    assert_eq!(
        naming.template(),
        "{yyyy}/{mm}/{dd}/{hh}/{source}/{symbol}/{type}"
    );
    laws::naming::run_all(&*naming);
}

fn quota_rules() -> Vec<QuotaRule> {
    let mut rules = Vec::new();
    for mode in [
        EnforcementMode::Warn,
        EnforcementMode::SoftLimit,
        EnforcementMode::HardLimit,
        EnforcementMode::DropOldest,
    ] {
        for scope in [
            QuotaScope::Global,
            QuotaScope::Source("binance".into()),
            QuotaScope::AssetClass(AssetClass::Equity),
            QuotaScope::Symbol("AAPL".into()),
            QuotaScope::EventKind(EventKind::Trade),
        ] {
            for (bytes, files, events) in [
                (Some(1_000), None, None),
                (None, Some(3), None),
                (None, None, Some(500)),
                (Some(10_000_000), Some(100), Some(1_000_000)),
                (None, None, None),
            ] {
                rules.push(QuotaRule {
                    scope: scope.clone(),
                    max_bytes: bytes,
                    max_files: files,
                    max_events_per_day: events,
                    mode,
                });
            }
        }
    }
    rules
}

#[test]
fn quota_rules_in_every_mode_pass_the_quota_laws() {
    let rules = quota_rules();
    for rule in &rules {
        laws::quota::run_all(rule);
    }
    assert_eq!(rules.len(), 4 * 5 * 5);
}

#[test]
fn the_integrity_checks_pass_the_integrity_laws() {
    let settings = [
        IntegrityChecks::default(),
        IntegrityChecks {
            reject_out_of_order: true,
            out_of_order_tolerance_ms: 1,
            ..IntegrityChecks::default()
        },
        IntegrityChecks {
            sequence_gap_alert_threshold: Some(10),
            duplicate_window: 3,
            ..IntegrityChecks::default()
        },
        IntegrityChecks {
            validate_schema: false,
            detect_duplicates: false,
            ..IntegrityChecks::default()
        },
    ];
    for checks in &settings {
        laws::integrity::run_all_claiming(checks, laws::integrity::Claims::of(checks));
    }
    // What each setting claims follows the settings.
    assert_eq!(
        laws::integrity::Claims::of(&settings[1]),
        laws::integrity::Claims {
            schema: true,
            duplicates: true,
            out_of_order_tolerance_ns: Some(1_000_000),
        }
    );
    assert_eq!(
        laws::integrity::Claims::of(&settings[3]),
        laws::integrity::Claims::default()
    );
}

#[test]
fn the_seal_rules_pass_the_seal_laws() {
    // An age of 0 (seal at the first check after a write) keeps the laws too.
    for (bytes, age) in [
        (1, 1),
        (64 << 20, 3_600),
        (1 << 30, 86_400),
        (u64::MAX, 1),
        (64 << 20, 0),
        (1, 0),
    ] {
        laws::seal::run_all(&SealRules {
            max_file_bytes: bytes.min(1 << 40),
            max_file_age: Duration::from_secs(age),
        });
    }
}

#[test]
fn retention_placement_of_every_profile_and_preset_passes_the_tier_laws() {
    laws::tier::run_all(&RetentionPlacement::default());
    for preset in [
        RegulatoryPreset::Sec17a4,
        RegulatoryPreset::Mifid2,
        RegulatoryPreset::Finra,
    ] {
        laws::tier::run_all(&RetentionPlacement {
            retention: preset.retention_policy(),
            classification: ClassificationPolicy::default(),
        });
    }
}

// The laws catch broken implementations, not only pass good ones.

mod broken {
    use std::ops::Range;
    use std::time::Duration;

    use strata_core::layout::{
        Granularity, Layout, LayoutError, Naming, NamingConvention, PartitionKey,
    };
    use strata_core::policy::integrity::{
        Candidate, IntegrityPolicy, Rejection, StreamFacts, Verdict,
    };
    use strata_core::policy::{
        FileFacts, QuotaDecision, QuotaPolicy, QuotaSubject, QuotaUsage, SealDecision,
        SealSchedule, SegmentFacts, TierAction, TierPolicy,
    };
    use strata_model::{AssetClass, Event, Payload, Timestamp};

    /// Writes the symbol into the path unescaped: `../..` walks out of the root.
    #[derive(Debug)]
    pub struct Unescaped(pub Layout);

    impl Naming for Unescaped {
        fn name(&self) -> String {
            "unescaped".into()
        }
        fn template(&self) -> String {
            "{symbol}/{type}/{date}".into()
        }
        fn granularity(&self) -> Granularity {
            self.0.granularity()
        }
        fn key_for_event(&self, e: &Event, a: Option<AssetClass>, g: Granularity) -> PartitionKey {
            self.0.key_for_event(e, a, g)
        }
        fn project(&self, key: &PartitionKey) -> PartitionKey {
            self.0.project(key)
        }
        fn render(&self, key: &PartitionKey) -> Result<String, LayoutError> {
            let good = self.0.render(key)?;
            let raw = key.symbol.clone().unwrap_or_default();
            Ok(good.replacen(&strata_core::layout::escape_segment(&raw), &raw, 1))
        }
        fn parse(&self, path: &str) -> Result<PartitionKey, LayoutError> {
            self.0.parse(path)
        }
        fn time_range(&self, key: &PartitionKey) -> Option<Range<Timestamp>> {
            self.0.time_range(key)
        }
    }

    pub fn unescaped() -> Unescaped {
        Unescaped(Layout::new(NamingConvention::BySymbol, Granularity::Daily))
    }

    /// Refuses only when usage is exactly at the limit: passes it with a big write.
    #[derive(Debug)]
    pub struct Leaky;

    impl QuotaPolicy for Leaky {
        fn name(&self) -> String {
            "leaky".into()
        }
        fn applies_to(&self, _: &QuotaSubject<'_>) -> bool {
            true
        }
        fn evaluate(&self, used: QuotaUsage, incoming: QuotaUsage) -> QuotaDecision {
            if used.bytes + incoming.bytes / 2 > 1_000 {
                QuotaDecision::Refuse {
                    scope: "leaky".into(),
                    limit_name: "max_bytes",
                    limit: 1_000,
                    used: used.bytes,
                }
            } else {
                QuotaDecision::Allow
            }
        }
    }

    /// [`Leaky`] under a limit name of its own: the ledger law must not skip it.
    #[derive(Debug)]
    pub struct LeakyCustom;

    impl QuotaPolicy for LeakyCustom {
        fn name(&self) -> String {
            "leaky custom".into()
        }
        fn applies_to(&self, _: &QuotaSubject<'_>) -> bool {
            true
        }
        fn evaluate(&self, used: QuotaUsage, incoming: QuotaUsage) -> QuotaDecision {
            if used.bytes + incoming.bytes / 2 > 1_000 {
                QuotaDecision::Refuse {
                    scope: "leaky".into(),
                    limit_name: "max_payload_bytes",
                    limit: 1_000,
                    used: used.bytes,
                }
            } else {
                QuotaDecision::Allow
            }
        }
    }

    /// Accepts everything: lawful, as long as it claims to check nothing.
    #[derive(Debug)]
    pub struct AcceptAll;

    impl IntegrityPolicy for AcceptAll {
        fn name(&self) -> String {
            "accept all".into()
        }
        fn memory(&self) -> usize {
            0
        }
        fn verdict(&self, _: &StreamFacts, _: &Candidate<'_>) -> Verdict {
            Verdict::Accept { gap: None }
        }
    }

    /// Keeps a count of the questions it is asked: every 97th is refused.
    #[derive(Debug, Default)]
    pub struct Moody(pub std::sync::atomic::AtomicU64);

    impl IntegrityPolicy for Moody {
        fn name(&self) -> String {
            "moody".into()
        }
        fn memory(&self) -> usize {
            0
        }
        fn verdict(&self, _: &StreamFacts, _: &Candidate<'_>) -> Verdict {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if n % 97 == 96 {
                Verdict::Reject(Rejection::Other {
                    class: "moody".into(),
                    reason: "in a mood".into(),
                })
            } else {
                Verdict::Accept { gap: None }
            }
        }
    }

    /// Refuses negative sizes under a class that holds the event's time.
    #[derive(Debug)]
    pub struct Chatty;

    impl IntegrityPolicy for Chatty {
        fn name(&self) -> String {
            "chatty".into()
        }
        fn memory(&self) -> usize {
            0
        }
        fn verdict(&self, _: &StreamFacts, c: &Candidate<'_>) -> Verdict {
            match &c.event.payload {
                Payload::Trade(t) if t.size.is_negative() => Verdict::Reject(Rejection::Other {
                    class: format!("negative size at {}", c.event.event_time.as_nanos()),
                    reason: "negative size".into(),
                }),
                _ => Verdict::Accept { gap: None },
            }
        }
    }

    /// Seals only by size: a quiet segment stays open for ever.
    #[derive(Debug)]
    pub struct SizeOnly;

    impl SealSchedule for SizeOnly {
        fn name(&self) -> String {
            "size only".into()
        }
        fn decide(&self, s: &SegmentFacts) -> Option<SealDecision> {
            (s.bytes >= 1 << 20).then(|| SealDecision {
                cause: strata_core::policy::SealCause::Size,
                reason: "big".into(),
            })
        }
        fn check_every(&self) -> Duration {
            Duration::from_secs(1)
        }
    }

    /// Deletes whatever is older than a year, held or not.
    #[derive(Debug)]
    pub struct Reaper;

    impl TierPolicy for Reaper {
        fn name(&self) -> String {
            "reaper".into()
        }
        fn decide(&self, f: &FileFacts) -> (TierAction, String) {
            if f.age_days > 365 {
                (TierAction::Delete, "old".into())
            } else {
                (TierAction::Stay, "young".into())
            }
        }
    }
}

fn fails(law: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let outcome = std::panic::catch_unwind(law);
    let payload = outcome.expect_err("the law should have failed");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn the_laws_catch_broken_implementations() {
    let why = fails(|| laws::naming::run_all(&broken::unescaped()));
    assert!(why.contains("naming unescaped"), "{why}");
    let why = fails(|| laws::quota::run_all(&broken::Leaky));
    assert!(why.contains("quota leaky"), "{why}");
    let why = fails(|| laws::seal::run_all(&broken::SizeOnly));
    assert!(
        why.contains("a segment open a year is never sealed"),
        "{why}"
    );
    let why = fails(|| laws::tier::run_all(&broken::Reaper));
    assert!(why.contains("deletes a protected file"), "{why}");
    // The ledger law covers limits of a policy's own naming.
    let why = fails(|| laws::quota::a_ledger_never_passes_a_hard_limit(&broken::LeakyCustom));
    assert!(
        why.contains("quota leaky custom: allowed writes until max_payload_bytes"),
        "{why}"
    );
    // Accepting everything is lawful; claiming schema checks while doing so is not.
    laws::integrity::run_all(&broken::AcceptAll);
    let why = fails(|| {
        laws::integrity::claims_are_kept(
            &broken::AcceptAll,
            laws::integrity::Claims {
                schema: true,
                ..laws::integrity::Claims::default()
            },
        )
    });
    assert!(
        why.contains("integrity accept all: claims to enforce the schema but accepts a trade"),
        "{why}"
    );
    let why = fails(|| {
        laws::integrity::claims_are_kept(
            &broken::AcceptAll,
            laws::integrity::Claims {
                duplicates: true,
                ..laws::integrity::Claims::default()
            },
        )
    });
    assert!(
        why.contains("claims to enforce duplicate detection"),
        "{why}"
    );
    let why = fails(|| {
        laws::integrity::claims_are_kept(
            &broken::AcceptAll,
            laws::integrity::Claims {
                out_of_order_tolerance_ns: Some(0),
                ..laws::integrity::Claims::default()
            },
        )
    });
    assert!(
        why.contains("claims to enforce an order tolerance"),
        "{why}"
    );
    // A policy with a state of its own answers differently when asked again.
    let why = fails(|| laws::integrity::asking_changes_nothing(&broken::Moody::default()));
    assert!(why.contains("integrity moody: asked twice"), "{why}");
    let why = fails(|| laws::integrity::run_all(&broken::Moody::default()));
    assert!(why.contains("integrity moody"), "{why}");
    // Classes are names, not messages.
    let why = fails(|| laws::integrity::rejection_classes_are_stable(&broken::Chatty));
    assert!(
        why.contains("integrity chatty: rejection class \"negative size at"),
        "{why}"
    );
}
