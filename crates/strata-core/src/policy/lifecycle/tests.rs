use super::*;
use crate::policy::placement::RetentionPlacement;
use crate::policy::retention::{ArchiveRetention, RetentionPolicy, RetentionRule};
use crate::policy::rules::{AutomationRule, RuleAction, RuleCondition};
use proptest::prelude::*;

const DAY: i64 = DAY_NS;

fn now() -> Timestamp {
    // 2026-12-04T00:00:00Z
    Timestamp::from_nanos(1_796_342_400 * 1_000_000_000)
}

fn file(path: &str, tier: TierName, kind: EventKind, age_days: i64, size: u64) -> StoredFile {
    let last = Timestamp::from_nanos(now().as_nanos() - age_days * DAY);
    StoredFile {
        path: path.into(),
        tier,
        format: FileFormat::Jsonl,
        codec: CodecSpec::None,
        kind,
        source: Some("lean".into()),
        symbol: Some("SPY".into()),
        asset_class: Some(AssetClass::Equity),
        size_bytes: size,
        events: 10,
        first_event: Timestamp::from_nanos(last.as_nanos() - DAY / 2),
        last_event: last,
        quality: None,
        worm_until: None,
        approvals: None,
        sequence_gaps: None,
    }
}

fn run(files: &[StoredFile], holds: &[Hold], quotas: &[QuotaRule]) -> LifecyclePlan {
    let placement = RetentionPlacement::default();
    let classification = ClassificationPolicy::default();
    let tiers = Tiers::default();
    let policies = LifecyclePolicies {
        placement: &placement,
        classification: &classification,
        tiers: &tiers,
        quotas,
        rules: &[],
        rule_runs: &BTreeMap::new(),
    };
    plan(policies, files, holds, now())
}

#[test]
fn files_age_through_the_tiers_with_their_rule() {
    let files = [
        file("a", TierName::Hot, EventKind::Trade, 0, 10),
        file("b", TierName::Hot, EventKind::Trade, 3, 10),
        file("c", TierName::Warm, EventKind::Trade, 40, 10),
        file("d", TierName::Cold, EventKind::Trade, 400, 10),
        file("e", TierName::Warm, EventKind::Heartbeat, 9, 10),
    ];
    let plan = run(&files, &[], &[]);
    let by_path: BTreeMap<_, _> = plan
        .decisions
        .iter()
        .map(|d| (d.path.as_str(), d))
        .collect();
    assert_eq!(by_path["a"].action, LifecycleAction::Stay);
    assert_eq!(
        by_path["b"].action,
        LifecycleAction::Migrate {
            to: TierName::Warm,
            format: FileFormat::Jsonl,
            codec: CodecSpec::Zstd {
                level: 3,
                long: false
            }
        }
    );
    assert!(matches!(
        by_path["c"].action,
        LifecycleAction::Migrate {
            to: TierName::Cold,
            format: FileFormat::Parquet,
            ..
        }
    ));
    assert!(matches!(
        by_path["d"].action,
        LifecycleAction::Migrate {
            to: TierName::Archive,
            ..
        }
    ));
    assert_eq!(by_path["e"].action, LifecycleAction::Delete);
    assert_eq!(by_path["e"].rule, "retention.by_kind.heartbeat");
    assert_eq!(by_path["b"].rule, "retention.default");
    assert!(
        by_path["b"].reason.contains("age 3d"),
        "{}",
        by_path["b"].reason
    );
}

#[test]
fn a_hold_keeps_what_retention_would_delete_until_it_is_released() {
    let files = [file("hb", TierName::Warm, EventKind::Heartbeat, 9, 10)];
    let hold = Hold {
        name: "case-42".into(),
        scope: HoldScope {
            symbols: vec!["SPY".into()],
            from: Some(now().utc_date() - chrono::Days::new(30)),
            ..HoldScope::default()
        },
        reason: "SEC inquiry".into(),
    };
    let plan = run(&files, std::slice::from_ref(&hold), &[]);
    let d = &plan.decisions[0];
    assert_eq!(
        d.action,
        LifecycleAction::Protect {
            by: Protection::Hold("case-42".into())
        }
    );
    assert_eq!(d.rule, "hold.case-42");
    assert!(
        d.reason.contains("under legal hold `case-42`"),
        "{}",
        d.reason
    );
    // Outside the hold's dates, or once released: deleted.
    let mut earlier = hold.clone();
    earlier.scope.from = None;
    earlier.scope.to = Some(now().utc_date() - chrono::Days::new(60));
    assert_eq!(
        run(&files, &[earlier], &[]).decisions[0].action,
        LifecycleAction::Delete
    );
    assert_eq!(
        run(&files, &[], &[]).decisions[0].action,
        LifecycleAction::Delete
    );
}

#[test]
fn an_ended_period_becomes_one_file_and_arrivals_wait_for_their_whole_period() {
    let placement = RetentionPlacement::default();
    let classification = ClassificationPolicy::default();
    let mut tiers = Tiers::default();
    tiers.warm.consolidate = Some(Consolidation::Weekly);
    tiers.cold.consolidate = Some(Consolidation::Monthly);
    tiers.archive.consolidate = Some(Consolidation::Yearly);
    let policies = LifecyclePolicies {
        placement: &placement,
        classification: &classification,
        tiers: &tiers,
        quotas: &[],
        rules: &[],
        rule_runs: &BTreeMap::new(),
    };
    // now() is Friday 2026-12-04; the default retention keeps trades 1 day hot, 30 warm.
    let at = |path: &str, tier, date: &str| {
        let last: Timestamp = format!("{date}T20:00:00Z").parse().unwrap();
        let mut f = file(path, tier, EventKind::Trade, 0, 10);
        f.first_event = Timestamp::from_nanos(last.as_nanos() - 3_600 * 1_000_000_000);
        f.last_event = last;
        f
    };
    let files = [
        // Week 2026-W48 (Nov 23–29) has ended: two warm files of it and one arriving from hot.
        at("w1", TierName::Warm, "2026-11-23"),
        at("w2", TierName::Warm, "2026-11-24"),
        at("h1", TierName::Hot, "2026-11-27"),
        // Another symbol of the same week is a group of its own, and alone it stays.
        {
            let mut f = at("q1", TierName::Warm, "2026-11-25");
            f.symbol = Some("AAPL".into());
            f
        },
        // This week (W49) has not ended: the hot file of Monday, due by its age, goes to warm
        // on its own; the warm file of Tuesday stays unmerged until Sunday has passed.
        at("h2", TierName::Hot, "2026-11-30"),
        at("w3", TierName::Warm, "2026-12-01"),
    ];
    let plan = plan(policies, &files, &[], now());
    let by_path: BTreeMap<_, _> = plan
        .decisions
        .iter()
        .map(|d| (d.path.as_str(), d))
        .collect();
    for p in ["w1", "w2", "h1"] {
        let LifecycleAction::Consolidate {
            to,
            period,
            members,
            format,
            ..
        } = &by_path[p].action
        else {
            panic!("{p}: {:?}", by_path[p]);
        };
        assert_eq!(
            (*to, period.as_str(), *members, *format),
            (TierName::Warm, "2026-W48", 3, FileFormat::Jsonl),
            "{p}"
        );
        assert_eq!(by_path[p].rule, "tiers.warm.consolidate");
    }
    assert!(by_path["h1"]
        .reason
        .contains("arrives with 2 other file(s)"));
    assert!(by_path["w1"].reason.contains("2026-W48 has ended"));
    assert_eq!(by_path["q1"].action, LifecycleAction::Stay);
    assert_eq!(by_path["w3"].action, LifecycleAction::Stay);
    assert!(matches!(
        by_path["h2"].action,
        LifecycleAction::Migrate {
            to: TierName::Warm,
            ..
        }
    ));
    let group = |p: &str| match &by_path[p].action {
        LifecycleAction::Consolidate { group, .. } => group.clone(),
        _ => String::new(),
    };
    assert_eq!(group("w1"), group("h1"));
    assert_eq!(plan.counts()["consolidate into warm"], 3);
    // A write-once tier's own files are never rewritten, even for an ended period.
    let mut worm = tiers.clone();
    worm.warm.worm = true;
    let policies = LifecyclePolicies {
        tiers: &worm,
        ..policies
    };
    let plan = super::plan(policies, &files, &[], now());
    // Bound for a write-once tier that consolidates, a file waits until its whole period is
    // due, so that the period arrives at once.
    let h2 = plan.decisions.iter().find(|d| d.path == "h2").unwrap();
    assert_eq!(h2.action, LifecycleAction::Stay);
    assert_eq!(h2.rule, "tiers.warm.consolidate");
    assert!(
        h2.reason
            .contains("waits until all of 2026-W49 is due for warm"),
        "{}",
        h2.reason
    );
    for d in &plan.decisions {
        if let LifecycleAction::Consolidate { members, .. } = d.action {
            panic!("{} consolidated ({members}) in a write-once tier", d.path);
        }
    }
}

#[test]
fn deleting_protected_archive_data_needs_its_approvals() {
    // The default retention keeps heartbeats 2 + 5 days and archives none: an archive-tier
    // heartbeat file of 400 days is due for deletion.
    let mut old = file("a", TierName::Archive, EventKind::Heartbeat, 400, 10);
    let decide = |f: &StoredFile| run(std::slice::from_ref(f), &[], &[]).decisions[0].clone();
    assert_eq!(decide(&old).action, LifecycleAction::Delete);
    let approvals = |given: &[&str]| Approvals {
        needed: 2,
        given: given.iter().map(|s| s.to_string()).collect(),
    };
    for given in [&[][..], &["alice"], &["alice", "alice"]] {
        old.approvals = Some(approvals(given));
        let d = decide(&old);
        assert_eq!(
            d.action,
            LifecycleAction::Protect {
                by: Protection::Approvals(approvals(given))
            },
            "{given:?}"
        );
        assert_eq!(d.rule, "compliance.approvals");
        assert!(
            d.reason.contains("its deletion needs 2 approvals"),
            "{}",
            d.reason
        );
    }
    old.approvals = Some(approvals(&["alice", "bob"]));
    assert_eq!(decide(&old).action, LifecycleAction::Delete);
    // Approvals never outweigh a hold.
    let hold = Hold {
        name: "case".into(),
        scope: HoldScope::default(),
        reason: String::new(),
    };
    let d = run(std::slice::from_ref(&old), &[hold], &[]).decisions[0].clone();
    assert_eq!(
        d.action,
        LifecycleAction::Protect {
            by: Protection::Hold("case".into())
        }
    );
}

#[test]
fn a_tier_over_its_cap_sends_its_oldest_files_on() {
    let placement = RetentionPlacement::default();
    let classification = ClassificationPolicy::default();
    let mut tiers = Tiers::default();
    tiers.warm.max_bytes = Some(25);
    tiers.archive.max_bytes = Some(5);
    let policies = LifecyclePolicies {
        placement: &placement,
        classification: &classification,
        tiers: &tiers,
        quotas: &[],
        rules: &[],
        rule_runs: &BTreeMap::new(),
    };
    let files = [
        file("w-old", TierName::Warm, EventKind::Trade, 9, 10),
        file("w-mid", TierName::Warm, EventKind::Trade, 5, 10),
        file("w-new", TierName::Warm, EventKind::Trade, 3, 10),
        file("a", TierName::Archive, EventKind::Trade, 900, 10),
    ];
    let plan = plan(policies, &files, &[], now());
    let action = |p: &str| plan.decisions.iter().find(|d| d.path == p).unwrap();
    assert!(matches!(
        action("w-old").action,
        LifecycleAction::Migrate {
            to: TierName::Cold,
            format: FileFormat::Parquet,
            ..
        }
    ));
    assert_eq!(action("w-old").rule, "tiers.warm.max_bytes");
    assert!(action("w-old")
        .reason
        .contains("would hold 30 bytes, over its cap of 25"));
    assert_eq!(action("w-mid").action, LifecycleAction::Stay);
    assert_eq!(action("w-new").action, LifecycleAction::Stay);
    assert_eq!(
        plan.tier_caps[0],
        TierCapState {
            tier: TierName::Warm,
            bytes_before: 30,
            bytes_after: 20,
            max_bytes: 25,
            shortfall: None
        }
    );
    // The archive is write-once: over its cap, nothing moves and nothing is deleted.
    assert_ne!(action("a").action, LifecycleAction::Delete);
    assert!(plan.tier_caps[1]
        .shortfall
        .as_deref()
        .is_some_and(|s| s.contains("write-once")));
}

#[test]
fn drop_oldest_deletes_the_oldest_unprotected_files_until_the_scope_fits() {
    let mut files: Vec<StoredFile> = (0..5)
        .map(|i| file(&format!("t{i}"), TierName::Hot, EventKind::Trade, i, 100))
        .collect();
    files[4].worm_until = Some(Timestamp::from_nanos(now().as_nanos() + DAY));
    let quota = QuotaRule {
        scope: QuotaScope::Symbol("SPY".into()),
        max_bytes: Some(250),
        max_files: None,
        max_events_per_day: None,
        mode: EnforcementMode::DropOldest,
    };
    let plan = run(&files, &[], std::slice::from_ref(&quota));
    let deleted: Vec<&str> = plan
        .decisions
        .iter()
        .filter(|d| d.action == LifecycleAction::Delete)
        .map(|d| d.path.as_str())
        .collect();
    // t4 is the oldest but write-once; then t3, t2 and t1 go (500 → 400 → 300 → 200 bytes);
    // t0, the newest, stays.
    assert_eq!(deleted, ["t1", "t2", "t3"]);
    let state = &plan.quotas[0];
    assert_eq!((state.bytes_before, state.bytes_after), (500, 200));
    assert_eq!(state.shortfall, None);
    assert_eq!(plan.decisions[2].rule, "quota.symbol=SPY");
}

#[test]
fn a_quota_counts_a_consolidation_group_as_the_one_file_it_becomes() {
    let placement = RetentionPlacement::default();
    let classification = ClassificationPolicy::default();
    let mut tiers = Tiers::default();
    tiers.warm.consolidate = Some(Consolidation::Daily);
    // 24 hourly warm files of each of two ended days (2026-11-20 and 2026-11-21), 10 bytes each.
    let files: Vec<StoredFile> = ["2026-11-20", "2026-11-21"]
        .iter()
        .flat_map(|date| {
            (0..24).map(move |h| {
                let first: Timestamp = format!("{date}T{h:02}:00:00Z").parse().unwrap();
                let mut f = file(
                    &format!("{date}T{h:02}"),
                    TierName::Warm,
                    EventKind::Trade,
                    0,
                    10,
                );
                f.first_event = first;
                f.last_event = Timestamp::from_nanos(first.as_nanos() + 3_599 * 1_000_000_000);
                f
            })
        })
        .collect();
    let plan_with = |max_files: u64| {
        let quotas = [QuotaRule {
            scope: QuotaScope::Global,
            max_bytes: None,
            max_files: Some(max_files),
            max_events_per_day: None,
            mode: EnforcementMode::DropOldest,
        }];
        let policies = LifecyclePolicies {
            placement: &placement,
            classification: &classification,
            tiers: &tiers,
            quotas: &quotas,
            rules: &[],
            rule_runs: &BTreeMap::new(),
        };
        plan(policies, &files, &[], now())
    };
    let count = |plan: &LifecyclePlan, pred: fn(&LifecycleAction) -> bool| {
        plan.decisions.iter().filter(|d| pred(&d.action)).count()
    };
    // 48 files become 2: a limit of 2 files deletes nothing (counting the hourly files, 46
    // would have gone).
    let plan = plan_with(2);
    assert_eq!(count(&plan, |a| *a == LifecycleAction::Delete), 0);
    assert_eq!(
        count(&plan, |a| matches!(a, LifecycleAction::Consolidate { .. })),
        48
    );
    let state = &plan.quotas[0];
    assert_eq!((state.files_before, state.files_after), (48, 2));
    assert_eq!(state.shortfall, None);
    // A limit of 1 deletes the older day whole, and the newer day still becomes one file.
    let plan = plan_with(1);
    let deleted: Vec<&str> = plan
        .decisions
        .iter()
        .filter(|d| d.action == LifecycleAction::Delete)
        .map(|d| d.path.as_str())
        .collect();
    assert_eq!(deleted.len(), 24);
    assert!(
        deleted.iter().all(|p| p.starts_with("2026-11-20")),
        "{deleted:?}"
    );
    let merged = plan
        .decisions
        .iter()
        .filter_map(|d| match &d.action {
            LifecycleAction::Consolidate {
                members, period, ..
            } => Some((d.path.as_str(), *members, period.as_str())),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert_eq!(merged.len(), 24);
    assert!(
        merged
            .iter()
            .all(|(p, n, period)| p.starts_with("2026-11-21")
                && *n == 24
                && *period == "2026-11-21"),
        "{merged:?}"
    );
    let state = &plan.quotas[0];
    assert_eq!((state.files_before, state.files_after), (48, 1));
    assert_eq!(state.bytes_after, 240);
}

#[test]
fn automation_rules_take_over_decisions_make_requests_and_keep_to_their_interval() {
    let placement = RetentionPlacement::default();
    let classification = ClassificationPolicy::default();
    let tiers = Tiers::default();
    let rules: Vec<AutomationRule> = toml::from_str::<toml::Value>(
        r#"
        [[rules]]
        name = "poor-to-cold"
        when = { max_quality = 60.0, tier = "warm" }
        action = { move = "cold" }

        [[rules]]
        name = "drop-heartbeats"
        when = { kinds = ["heartbeat"], min_age_days = 3 }
        action = "delete"
        every = "1d"

        [[rules]]
        name = "recompress"
        when = { tier = "warm", symbols = ["AAPL"] }
        action = { compress = "zstd:19" }

        [[rules]]
        name = "gaps"
        when = { min_sequence_gaps = 1 }
        action = "backfill"
        "#,
    )
    .unwrap()["rules"]
        .clone()
        .try_into()
        .unwrap();
    crate::policy::rules::check(&rules).unwrap();
    let mut poor = file("poor", TierName::Warm, EventKind::Trade, 2, 10);
    poor.quality = Some(40.0);
    poor.sequence_gaps = Some(3);
    let mut good = file("good", TierName::Warm, EventKind::Trade, 2, 10);
    good.quality = Some(90.0);
    let beat = file("beat", TierName::Hot, EventKind::Heartbeat, 5, 10);
    let mut aapl = file("aapl", TierName::Warm, EventKind::Trade, 2, 10);
    aapl.symbol = Some("AAPL".into());
    aapl.codec = CodecSpec::Zstd {
        level: 3,
        long: false,
    };
    let files = [poor, good, beat, aapl];
    let plan_at = |runs: &BTreeMap<String, Timestamp>| {
        let policies = LifecyclePolicies {
            placement: &placement,
            classification: &classification,
            tiers: &tiers,
            quotas: &[],
            rules: &rules,
            rule_runs: runs,
        };
        plan(policies, &files, &[], now())
    };
    let plan = plan_at(&BTreeMap::new());
    let of = |plan: &LifecyclePlan, path: &str| {
        plan.decisions
            .iter()
            .find(|d| d.path == path)
            .unwrap()
            .clone()
    };
    let poor = of(&plan, "poor");
    assert_eq!(poor.rule, "rules.poor-to-cold");
    assert!(
        matches!(
            poor.action,
            LifecycleAction::Migrate {
                to: TierName::Cold,
                format: FileFormat::Parquet,
                ..
            }
        ),
        "{poor:?}"
    );
    assert!(
        poor.reason.contains("quality 40.0 ≤ 60") && poor.reason.contains("move to cold"),
        "{}",
        poor.reason
    );
    // The good file follows the retention table.
    assert!(
        of(&plan, "good").rule.starts_with("retention"),
        "{:?}",
        of(&plan, "good")
    );
    let beat = of(&plan, "beat");
    assert_eq!(
        (beat.rule.as_str(), &beat.action),
        ("rules.drop-heartbeats", &LifecycleAction::Delete)
    );
    let aapl = of(&plan, "aapl");
    assert_eq!(aapl.rule, "rules.recompress");
    assert_eq!(
        aapl.action,
        LifecycleAction::Migrate {
            to: TierName::Warm,
            format: FileFormat::Jsonl,
            codec: CodecSpec::Zstd {
                level: 19,
                long: false
            }
        }
    );
    assert_eq!(plan.requests.len(), 1);
    assert_eq!(
        (
            plan.requests[0].rule.as_str(),
            plan.requests[0].action,
            plan.requests[0].path.as_str()
        ),
        ("rules.gaps", RuleAction::Backfill, "poor")
    );
    assert!(plan.requests[0]
        .reason
        .contains("3 sequence numbers missing"));
    let states: Vec<(&str, bool, usize)> = plan
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.due, r.matched))
        .collect();
    assert_eq!(
        states,
        [
            ("poor-to-cold", true, 1),
            ("drop-heartbeats", true, 1),
            ("recompress", true, 1),
            ("gaps", true, 1)
        ]
    );
    // Ran 12 hours ago, the daily rule is not due: the heartbeats follow the retention table.
    let runs = BTreeMap::from([(
        "drop-heartbeats".to_string(),
        Timestamp::from_nanos(now().as_nanos() - DAY / 2),
    )]);
    let plan = plan_at(&runs);
    assert!(
        !of(&plan, "beat").rule.starts_with("rules."),
        "{:?}",
        of(&plan, "beat")
    );
    let state = plan
        .rules
        .iter()
        .find(|r| r.name == "drop-heartbeats")
        .unwrap();
    assert!(!state.due);
    assert_eq!(
        state.next_due,
        Some(Timestamp::from_nanos(now().as_nanos() + DAY / 2))
    );
    // A delete rule over critical data protects it instead.
    let mut rules_critical = rules.clone();
    rules_critical[1].when.kinds = vec![EventKind::Trade];
    let mut critical = ClassificationPolicy::default();
    critical
        .by_kind
        .insert(EventKind::Trade, Classification::Critical);
    let policies = LifecyclePolicies {
        placement: &placement,
        classification: &critical,
        tiers: &tiers,
        quotas: &[],
        rules: &rules_critical[1..2],
        rule_runs: &BTreeMap::new(),
    };
    let mut old_trade = file("old", TierName::Hot, EventKind::Trade, 10, 10);
    old_trade.quality = None;
    let kept = super::plan(policies, &[old_trade], &[], now());
    assert_eq!(
        kept.decisions[0].action,
        LifecycleAction::Protect {
            by: Protection::Critical
        }
    );
    assert!(
        kept.decisions[0].reason.contains("kept"),
        "{}",
        kept.decisions[0].reason
    );
}

#[test]
fn rules_that_cannot_work_are_refused_naming_the_key() {
    let parse = |text: &str| -> Vec<AutomationRule> {
        toml::from_str::<toml::Value>(text).unwrap()["rules"]
            .clone()
            .try_into()
            .unwrap()
    };
    for (text, key, says) in [
        ("[[rules]]\nname = \"a\"\naction = \"delete\"\nevery = \"1w\"", "rules[0].every", "unit"),
        ("[[rules]]\nname = \"a\"\naction = \"delete\"\nevery = \"0d\"", "rules[0].every", "at least"),
        ("[[rules]]\nname = \"a\"\naction = { move = \"hot\" }", "rules[0].action", "hot"),
        ("[[rules]]\nname = \"a\"\naction = \"report\"\n[[rules]]\nname = \"a\"\naction = \"notify\"", "rules[1].name", "also"),
        ("[[rules]]\nname = \"a\"\naction = \"report\"\nwhen = { min_age_days = 9, max_age_days = 2 }", "rules[0].when", "nothing"),
    ] {
        let (k, why) = crate::policy::rules::check(&parse(text)).unwrap_err();
        assert_eq!(k, key, "{text}");
        assert!(why.contains(says), "{text}: {why}");
    }
}

#[test]
fn soft_limit_cleans_transient_data_and_reports_what_stays_over() {
    // Heartbeats are transient, bars derived, trades standard (the default classification);
    // the older bar file must still wait until the newer heartbeats are gone.
    let files = [
        file("b0", TierName::Hot, EventKind::Bar, 3, 100),
        file("b1", TierName::Hot, EventKind::Bar, 1, 100),
        file("hb", TierName::Hot, EventKind::Heartbeat, 1, 100),
        file("tr", TierName::Hot, EventKind::Trade, 1, 100),
    ];
    let quota = |max_bytes| QuotaRule {
        scope: QuotaScope::Global,
        max_bytes: Some(max_bytes),
        max_files: None,
        max_events_per_day: None,
        mode: EnforcementMode::SoftLimit,
    };
    let deleted = |plan: &LifecyclePlan| -> Vec<String> {
        plan.decisions
            .iter()
            .filter(|d| d.action == LifecycleAction::Delete)
            .map(|d| d.path.clone())
            .collect()
    };
    // 400 bytes over 300: the transient file alone.
    let plan = run(&files, &[], &[quota(300)]);
    assert_eq!(deleted(&plan), ["hb"]);
    // Over 150: then the older bars.
    let plan = run(&files, &[], &[quota(200)]);
    assert_eq!(deleted(&plan), ["b0", "hb"]);
    // Over 50: everything but the trades, which stay over.
    let plan = run(&files, &[], &[quota(50)]);
    assert_eq!(deleted(&plan), ["b0", "b1", "hb"]);
    assert_eq!(plan.decisions[3].action, LifecycleAction::Stay);
    let shortfall = plan.quotas[0].shortfall.as_deref().unwrap();
    assert!(
        shortfall.contains("neither transient nor derived"),
        "{shortfall}"
    );
}

// --- properties -----------------------------------------------------------------------------

fn any_rule() -> impl Strategy<Value = RetentionRule> {
    (0u32..20, 0u32..20, 0u32..20, 0u8..3, 0u32..20).prop_map(|(h, w, c, a, d)| RetentionRule {
        hot_days: h,
        warm_days: w,
        cold_days: c,
        archive: match a {
            0 => ArchiveRetention::Perpetual,
            1 => ArchiveRetention::None,
            _ => ArchiveRetention::Days(d),
        },
    })
}

fn any_class() -> impl Strategy<Value = Classification> {
    proptest::sample::select(vec![
        Classification::Critical,
        Classification::Standard,
        Classification::Transient,
        Classification::Derived,
    ])
}

fn any_file(i: usize) -> impl Strategy<Value = StoredFile> {
    (
        proptest::sample::select(TierName::ALL),
        proptest::sample::select(EventKind::ALL),
        0i64..120,
        1u64..1000,
        proptest::sample::select(vec!["SPY", "AAPL", "BTC"]),
        proptest::option::of(-10i64..10),
        proptest::option::of((
            0u32..3,
            proptest::collection::vec(proptest::sample::select(vec!["alice", "bob"]), 0..3),
        )),
        (
            proptest::option::of(0.0f64..100.0),
            proptest::option::of(0u64..5),
        ),
    )
        .prop_map(
            move |(tier, kind, age, size, symbol, worm, approvals, (quality, gaps))| {
                let mut f = file(&format!("f{i:03}"), tier, kind, age, size);
                f.quality = quality;
                f.sequence_gaps = gaps;
                f.symbol = Some(symbol.into());
                f.worm_until = worm.map(|d| Timestamp::from_nanos(now().as_nanos() + d * DAY));
                f.approvals = approvals.map(|(needed, given)| Approvals {
                    needed,
                    given: given.into_iter().map(String::from).collect(),
                });
                f
            },
        )
}

fn any_files() -> impl Strategy<Value = Vec<StoredFile>> {
    (0usize..30).prop_flat_map(|n| (0..n).map(any_file).collect::<Vec<_>>())
}

fn any_quota() -> impl Strategy<Value = QuotaRule> {
    (
        proptest::sample::select(vec![
            QuotaScope::Global,
            QuotaScope::Symbol("SPY".into()),
            QuotaScope::EventKind(EventKind::Trade),
            QuotaScope::Source("lean".into()),
        ]),
        proptest::option::of(0u64..5000),
        proptest::option::of(0u64..20),
        proptest::sample::select(vec![
            EnforcementMode::Warn,
            EnforcementMode::SoftLimit,
            EnforcementMode::HardLimit,
            EnforcementMode::DropOldest,
        ]),
    )
        .prop_map(|(scope, max_bytes, max_files, mode)| QuotaRule {
            scope,
            max_bytes,
            max_files,
            max_events_per_day: None,
            mode,
        })
}

fn any_hold() -> impl Strategy<Value = Hold> {
    (
        proptest::sample::subsequence(vec!["SPY".to_string(), "AAPL".into(), "BTC".into()], 0..=2),
        proptest::sample::subsequence(EventKind::ALL.to_vec(), 0..=3),
        proptest::option::of(0u64..120),
    )
        .prop_map(|(symbols, kinds, from_days_ago)| Hold {
            name: format!("h{}", symbols.len() + kinds.len()),
            scope: HoldScope {
                symbols,
                kinds,
                from: from_days_ago.map(|d| now().utc_date() - chrono::Days::new(d)),
                ..HoldScope::default()
            },
            reason: String::new(),
        })
}

#[derive(Debug)]
struct Case {
    placement: RetentionPlacement,
    classification: ClassificationPolicy,
    tiers: Tiers,
    quotas: Vec<QuotaRule>,
    rules: Vec<AutomationRule>,
}

/// An automation rule of any action, on a few of the facts.
fn any_automation(i: usize) -> impl Strategy<Value = AutomationRule> {
    (
        proptest::sample::select(vec![
            RuleAction::Move(TierName::Warm),
            RuleAction::Move(TierName::Cold),
            RuleAction::Archive,
            RuleAction::Compress(CodecSpec::Zstd {
                level: 19,
                long: false,
            }),
            RuleAction::Delete,
            RuleAction::Backfill,
            RuleAction::Notify,
        ]),
        proptest::option::of(0u64..60),
        proptest::option::of(proptest::sample::select(TierName::ALL)),
        proptest::option::of(0.0f64..100.0),
        proptest::option::of(0u64..3),
    )
        .prop_map(
            move |(action, min_age_days, tier, max_quality, gaps)| AutomationRule {
                name: format!("r{i}"),
                when: RuleCondition {
                    min_age_days,
                    tier,
                    max_quality,
                    min_sequence_gaps: gaps,
                    ..RuleCondition::default()
                },
                action,
                every: None,
            },
        )
}

impl Case {
    fn plan(&self, files: &[StoredFile], holds: &[Hold]) -> LifecyclePlan {
        let policies = LifecyclePolicies {
            placement: &self.placement,
            classification: &self.classification,
            tiers: &self.tiers,
            quotas: &self.quotas,
            rules: &self.rules,
            rule_runs: &BTreeMap::new(),
        };
        plan(policies, files, holds, now())
    }
}

fn any_case() -> impl Strategy<Value = Case> {
    (
        any_rule(),
        proptest::collection::btree_map(proptest::sample::select(EventKind::ALL), any_rule(), 0..4),
        any_class(),
        proptest::collection::btree_map(
            proptest::sample::select(EventKind::ALL),
            any_class(),
            0..4,
        ),
        proptest::collection::vec(any_quota(), 0..4),
        (
            proptest::collection::vec(
                proptest::option::of(proptest::sample::select(Consolidation::ALL)),
                3,
            ),
            proptest::collection::vec(proptest::option::of(0u64..3000), 2),
            (0usize..3).prop_flat_map(|n| (0..n).map(any_automation).collect::<Vec<_>>()),
        ),
    )
        .prop_map(
            |(default, by_kind, class, classes, quotas, (consolidate, caps, rules))| Case {
                placement: RetentionPlacement {
                    retention: RetentionPolicy { default, by_kind },
                    classification: ClassificationPolicy {
                        default: class,
                        by_kind: classes.clone(),
                    },
                },
                classification: ClassificationPolicy {
                    default: class,
                    by_kind: classes,
                },
                tiers: {
                    let mut tiers = Tiers::default();
                    tiers.warm.consolidate = consolidate[0];
                    tiers.cold.consolidate = consolidate[1];
                    tiers.archive.consolidate = consolidate[2];
                    tiers.warm.max_bytes = caps[0];
                    tiers.cold.max_bytes = caps[1];
                    tiers
                },
                quotas,
                rules,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Critical, held or write-once data is never deleted, under any retention, classification,
    /// quota or automation rule; a write-once tier's files are never moved or rewritten.
    #[test]
    fn protected_data_is_never_deleted(
        case in any_case(),
        files in any_files(),
        holds in proptest::collection::vec(any_hold(), 0..3),
    ) {
        let plan = case.plan(&files, &holds);
        prop_assert_eq!(plan.decisions.len(), files.len());
        for d in &plan.decisions {
            let f = files.iter().find(|f| f.path == d.path).unwrap();
            let class = case.classification.classify(f.kind);
            let protected = protection(f, class, &holds, now());
            if protected.is_some() {
                prop_assert!(d.action != LifecycleAction::Delete, "{:?} deleted: {:?}", f, d);
            }
            prop_assert!(!d.reason.is_empty() && !d.rule.is_empty());
            if let LifecycleAction::Migrate { to, format, codec } = &d.action {
                prop_assert!(!case.tiers.get(f.tier).worm, "{:?} moved out of a write-once tier: {:?}", f, d);
                if *to == f.tier {
                    // A rule's `compress`: the same tier and format, another codec.
                    prop_assert!(d.rule.starts_with("rules."), "{:?}", d);
                    prop_assert_eq!(*format, f.format);
                    prop_assert!(*codec != f.codec);
                } else {
                    prop_assert!(*to > f.tier, "files move to colder tiers only");
                    prop_assert_eq!(*format, case.tiers.get(*to).format);
                    prop_assert_eq!(*codec, case.tiers.get(*to).codec_for(f.kind));
                }
            }
        }
    }

    /// A tier cap moves only files staying in a tier that is not write-once, oldest first, to
    /// the next colder tier, and gets the tier under its cap unless it says why not.
    #[test]
    fn tier_caps_move_the_oldest_on_and_no_more(
        case in any_case(),
        files in any_files(),
    ) {
        let plan = case.plan(&files, &[]);
        for state in &plan.tier_caps {
            if state.shortfall.is_none() {
                prop_assert!(state.bytes_after <= state.max_bytes, "{:?}", state);
            }
        }
        for d in plan.decisions.iter().filter(|d| d.rule.ends_with(".max_bytes")) {
            let f = files.iter().find(|f| f.path == d.path).unwrap();
            prop_assert!(!case.tiers.get(f.tier).worm);
            match &d.action {
                LifecycleAction::Migrate { to, .. } => prop_assert!(*to > f.tier),
                other => prop_assert!(false, "{:?} by a cap", other),
            }
        }
    }

    /// Consolidation merges two or more files that share tier, kind, source, symbol and an
    /// ended period of the tier's consolidation; it never rewrites write-once data in place.
    #[test]
    fn consolidation_merges_only_what_belongs_together(
        case in any_case(),
        files in any_files(),
        holds in proptest::collection::vec(any_hold(), 0..3),
    ) {
        let plan = case.plan(&files, &holds);
        let mut groups: BTreeMap<&str, Vec<&StoredFile>> = BTreeMap::new();
        for d in &plan.decisions {
            let f = files.iter().find(|f| f.path == d.path).unwrap();
            let LifecycleAction::Consolidate { to, format, codec, period, group, members } = &d.action else {
                continue;
            };
            let consolidation = case.tiers.get(*to).consolidate;
            prop_assert!(consolidation.is_some(), "{} consolidated into {}, which does not consolidate", f.path, to);
            let bucket = consolidation.unwrap().bucket(f.first_event);
            prop_assert_eq!(&bucket.label, period);
            prop_assert!(*to >= f.tier && f.tier != TierName::Hot || *to > f.tier);
            prop_assert!(!case.tiers.get(f.tier).worm, "{} taken out of a write-once tier", f.path);
            prop_assert_eq!(*format, case.tiers.get(*to).format);
            prop_assert_eq!(*codec, case.tiers.get(*to).codec_for(f.kind));
            if *to == f.tier {
                prop_assert!(!case.tiers.get(f.tier).worm, "{} rewritten in a write-once tier", f.path);
                prop_assert!(f.worm_until.is_none_or(|u| u <= now()));
            }
            if !case.tiers.get(*to).worm {
                prop_assert!(bucket.end <= now(), "{} of the open period {} consolidated", f.path, period);
            }
            prop_assert_eq!(d.rule.clone(), format!("tiers.{to}.consolidate"));
            prop_assert!(*members >= 2);
            groups.entry(group).or_default().push(f);
            let n = groups[group.as_str()].len();
            prop_assert!(n <= *members);
        }
        for (group, members) in groups {
            prop_assert!(members.len() >= 2, "{group}: one file is not consolidated");
            let first = members[0];
            for m in &members {
                prop_assert_eq!((m.kind, &m.source, &m.symbol), (first.kind, &first.source, &first.symbol));
            }
        }
    }

    /// The same facts give the same plan, in whatever order the files come.
    #[test]
    fn the_same_facts_give_the_same_plan(
        case in any_case(),
        files in any_files(),
        holds in proptest::collection::vec(any_hold(), 0..3),
        seed in any::<u64>(),
    ) {
        let plan = case.plan(&files, &holds);
        let mut shuffled = files.clone();
        let n = shuffled.len();
        for i in 0..n {
            let j = ((seed >> (i % 64)) as usize).wrapping_add(i * 7) % n.max(1);
            shuffled.swap(i, j);
        }
        prop_assert_eq!(&case.plan(&shuffled, &holds), &plan);
        prop_assert_eq!(&case.plan(&files, &holds), &plan);
    }

    /// drop_oldest frees the oldest unprotected files first, and only as much as the scope needs.
    #[test]
    fn drop_oldest_takes_the_oldest_and_no_more(files in any_files(), max in 0u64..5000) {
        let quota = QuotaRule {
            scope: QuotaScope::Global,
            max_bytes: Some(max),
            max_files: None,
            max_events_per_day: None,
            mode: EnforcementMode::DropOldest,
        };
        let case = Case {
            placement: RetentionPlacement {
                retention: RetentionPolicy {
                    default: RetentionRule { hot_days: 1000, warm_days: 0, cold_days: 0, archive: ArchiveRetention::Perpetual },
                    by_kind: BTreeMap::new(),
                },
                classification: ClassificationPolicy::default(),
            },
            classification: ClassificationPolicy::default(),
            tiers: Tiers::default(),
            quotas: vec![quota],
            rules: Vec::new(),
        };
        let plan = case.plan(&files, &[]);
        let dropped: Vec<&StoredFile> = plan.decisions.iter()
            .filter(|d| d.action == LifecycleAction::Delete)
            .map(|d| files.iter().find(|f| f.path == d.path).unwrap())
            .collect();
        let kept_candidates: Vec<&StoredFile> = files.iter()
            .filter(|f| !dropped.iter().any(|d| d.path == f.path))
            .filter(|f| protection(f, case.classification.classify(f.kind), &[], now()).is_none())
            .collect();
        for d in &dropped {
            for k in &kept_candidates {
                prop_assert!((d.last_event, &d.path) <= (k.last_event, &k.path), "{} dropped before older {}", d.path, k.path);
            }
        }
        let state = &plan.quotas[0];
        if let Some(last) = dropped.iter().max_by_key(|f| (f.last_event, &f.path)) {
            // Without the last file dropped, the scope would still be over.
            prop_assert!(state.bytes_after + last.size_bytes > max);
        }
        if state.shortfall.is_none() {
            prop_assert!(state.bytes_after <= max);
        } else {
            prop_assert!(kept_candidates.is_empty());
        }
    }
}
