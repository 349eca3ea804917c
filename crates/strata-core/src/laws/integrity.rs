//! The laws of [`IntegrityPolicy`] (EXT-2):
//!
//! ```
//! use strata_core::policy::IntegrityChecks;
//!
//! strata_core::laws::integrity::run_all(&IntegrityChecks::default());
//! ```
//!
//! - [`same_input_same_verdicts`]: a stream replayed into fresh facts gets the same verdicts.
//! - [`rejected_events_change_nothing`]: verdicts on a stream do not depend on events the policy
//!   rejected in between (the writer records only accepted events).
//! - [`an_ordinary_feed_is_accepted`]: distinct, valid, time-ordered events with contiguous
//!   sequence numbers are all accepted.
//! - [`rejections_explain_themselves`]: every rejection has a class and a reason.
//! - [`asking_changes_nothing`]: the same facts and event get the same verdict however often,
//!   and asking about other events (rejected ones included) in between changes no verdict: the
//!   policy keeps no state of its own beside the stream's facts.
//! - [`rejection_classes_are_stable`]: classes are short names (counted in reports), a few of
//!   them, not text that varies with the event.
//!
//! These hold for any policy — one that accepts everything included. What a policy says it
//! enforces is checked by [`claims_are_kept`] ([`run_all_claiming`]): a policy claiming schema
//! checks refuses a negative size, one claiming duplicate detection refuses an exact repeat, one
//! claiming an order tolerance refuses an event older than it.

use strata_model::{Bar, Decimal, Event, Payload, Timestamp, Trade};

use super::Rng;
use crate::policy::integrity::{Candidate, IntegrityChecks, IntegrityPolicy, StreamFacts, Verdict};

/// A stream of trades: mostly ordinary, with repeats, late events, gaps and invalid sizes mixed
/// in by `rng`.
pub fn mixed_stream(rng: &mut Rng, len: usize) -> Vec<Event> {
    let mut events: Vec<Event> = Vec::with_capacity(len);
    let mut ts = 1_700_000_000_000_000_000i64;
    let mut seq = 1u64;
    for i in 0..len {
        let pick = rng.below(20);
        if pick == 0 && !events.is_empty() {
            // An exact repeat of a recent event.
            let back = rng.below(events.len().min(50) as u64) as usize;
            events.push(events[events.len() - 1 - back].clone());
            continue;
        }
        ts += match pick {
            1 => -(rng.below(5_000_000_000) as i64),
            _ => rng.below(2_000_000) as i64,
        };
        seq += if pick == 2 { 1 + rng.below(1_000) } else { 1 };
        let size = if pick == 3 {
            Decimal::from_int(-1)
        } else {
            Decimal::from_int((i % 7 + 1) as i64)
        };
        let mut event = Event::new(
            "laws",
            "BTCUSDT",
            Timestamp::from_nanos(ts),
            Payload::Trade(Trade {
                price: Decimal::from_int(60_000 + (i % 13) as i64),
                size,
                side: None,
                trade_id: Some(i.to_string()),
                conditions: None,
            }),
        );
        event.sequence = Some(seq);
        events.push(event);
    }
    events
}

/// A content hash for the laws (equal events, equal hashes): the event's debug text, hashed.
pub fn content_of(event: &Event) -> u64 {
    let text = format!("{event:?}");
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Runs `events` through `policy` as the writer does; the verdicts.
pub fn run_stream(policy: &dyn IntegrityPolicy, events: &[Event]) -> Vec<Verdict> {
    let memory = policy.memory();
    let mut facts = StreamFacts::default();
    events
        .iter()
        .map(|event| {
            let candidate = Candidate {
                event,
                content: if memory > 0 { content_of(event) } else { 0 },
                keep_identical: false,
            };
            let verdict = policy.verdict(&facts, &candidate);
            if matches!(verdict, Verdict::Accept { .. }) {
                facts.accept(&candidate, memory);
            }
            verdict
        })
        .collect()
}

/// The same stream gets the same verdicts every time.
pub fn same_input_same_verdicts(policy: &dyn IntegrityPolicy) {
    for seed in 0..5 {
        let events = mixed_stream(&mut Rng::new(seed), 2_000);
        assert_eq!(
            run_stream(policy, &events),
            run_stream(policy, &events),
            "integrity {}: two runs of one stream (seed {seed}) differ",
            policy.name()
        );
    }
}

/// Taking out the events the policy rejected changes no other verdict.
pub fn rejected_events_change_nothing(policy: &dyn IntegrityPolicy) {
    for seed in 10..15 {
        let events = mixed_stream(&mut Rng::new(seed), 2_000);
        let verdicts = run_stream(policy, &events);
        let accepted: Vec<Event> = events
            .iter()
            .zip(&verdicts)
            .filter(|(_, v)| matches!(v, Verdict::Accept { .. }))
            .map(|(e, _)| e.clone())
            .collect();
        let again = run_stream(policy, &accepted);
        for (i, verdict) in again.iter().enumerate() {
            assert!(
                matches!(verdict, Verdict::Accept { .. }),
                "integrity {}: event {i} of the accepted events (seed {seed}) is rejected once \
                 the rejected ones are gone: {verdict:?}",
                policy.name()
            );
        }
    }
}

/// Distinct, valid events in time order with contiguous sequence numbers are all accepted.
pub fn an_ordinary_feed_is_accepted(policy: &dyn IntegrityPolicy) {
    let mut rng = Rng::new(20);
    let events: Vec<Event> = mixed_stream(&mut rng, 5_000)
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e.event_time = Timestamp::from_nanos(1_700_000_000_000_000_000 + i as i64 * 1_000);
            e.sequence = Some(i as u64 + 1);
            if let Payload::Trade(t) = &mut e.payload {
                t.size = Decimal::from_int(1);
                t.trade_id = Some(i.to_string());
            }
            e
        })
        .collect();
    for (i, verdict) in run_stream(policy, &events).into_iter().enumerate() {
        assert!(
            matches!(verdict, Verdict::Accept { gap: None }),
            "integrity {}: ordinary event {i} gets {verdict:?}",
            policy.name()
        );
    }
}

/// Every rejection has a class and a reason to show in the quarantine.
pub fn rejections_explain_themselves(policy: &dyn IntegrityPolicy) {
    let events = mixed_stream(&mut Rng::new(30), 3_000);
    for verdict in run_stream(policy, &events) {
        if let Verdict::Reject(rejection) = verdict {
            assert!(
                !rejection.class().is_empty() && !rejection.to_string().trim().is_empty(),
                "integrity {}: a rejection without class or reason: {rejection:?}",
                policy.name()
            );
        }
    }
}

/// Verdicts with a policy's hidden state shaken: every event is asked about twice (the answers
/// must agree) and, before it, a probe (an invalid event and a late one) is asked about with the
/// same facts and its verdict thrown away.
fn run_stream_probing(policy: &dyn IntegrityPolicy, events: &[Event], seed: u64) -> Vec<Verdict> {
    let memory = policy.memory();
    let mut facts = StreamFacts::default();
    let content = |event: &Event| if memory > 0 { content_of(event) } else { 0 };
    events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            for probe in probes(event) {
                let c = Candidate {
                    event: &probe,
                    content: content(&probe),
                    keep_identical: false,
                };
                let _ = policy.verdict(&facts, &c);
            }
            let candidate = Candidate {
                event,
                content: content(event),
                keep_identical: false,
            };
            let first = policy.verdict(&facts, &candidate);
            let second = policy.verdict(&facts, &candidate);
            assert_eq!(
                first,
                second,
                "integrity {}: asked twice about event {i} (seed {seed}) with the same facts, it \
                 answers differently",
                policy.name()
            );
            if matches!(first, Verdict::Accept { .. }) {
                facts.accept(&candidate, memory);
            }
            first
        })
        .collect()
}

/// Events to ask about beside `event`: one with a negative size, one far older.
fn probes(event: &Event) -> [Event; 2] {
    let mut invalid = event.clone();
    invalid.payload = Payload::Trade(Trade {
        price: Decimal::from_int(1),
        size: Decimal::from_int(-5),
        side: None,
        trade_id: Some("probe".into()),
        conditions: None,
    });
    let mut late = event.clone();
    late.event_time = Timestamp::from_nanos(event.event_time.as_nanos().saturating_sub(1 << 40));
    [invalid, late]
}

/// The same facts and event get the same verdict every time they are asked, and asking about
/// other events in between (the writer asks about events it then rejects) changes no verdict.
pub fn asking_changes_nothing(policy: &dyn IntegrityPolicy) {
    for seed in 40..43 {
        let events = mixed_stream(&mut Rng::new(seed), 1_500);
        let plain = run_stream(policy, &events);
        let probed = run_stream_probing(policy, &events, seed);
        for (i, (a, b)) in plain.iter().zip(&probed).enumerate() {
            assert_eq!(
                a,
                b,
                "integrity {}: the verdict on event {i} (seed {seed}) changes when it was asked \
                 about other events in between",
                policy.name()
            );
        }
    }
}

/// The most rejection classes a stream may produce: they are report keys, not messages.
pub const MAX_CLASSES: usize = 16;

/// Rejection classes are names: non-empty, at most 64 characters, no spaces or control
/// characters, and few ([`MAX_CLASSES`] at most over a mixed stream) — the reason carries the
/// details.
pub fn rejection_classes_are_stable(policy: &dyn IntegrityPolicy) {
    let mut classes = std::collections::BTreeSet::new();
    for seed in 50..53 {
        let events = mixed_stream(&mut Rng::new(seed), 3_000);
        for verdict in run_stream(policy, &events) {
            if let Verdict::Reject(rejection) = verdict {
                let class = rejection.class();
                assert!(
                    !class.is_empty()
                        && class.chars().count() <= 64
                        && !class.chars().any(|c| c.is_whitespace() || c.is_control()),
                    "integrity {}: rejection class {class:?} is not a name (non-empty, at most \
                     64 characters, no spaces): put the details in the reason",
                    policy.name()
                );
                classes.insert(class.to_string());
            }
        }
    }
    assert!(
        classes.len() <= MAX_CLASSES,
        "integrity {}: {} rejection classes over a mixed stream (at most {MAX_CLASSES}): \
         classes vary with the event; put the details in the reason",
        policy.name(),
        classes.len()
    );
}

/// What a policy says it enforces, for [`claims_are_kept`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Claims {
    /// It refuses events that break the schema: a negative size, an empty symbol, a bar whose
    /// low is above its high.
    pub schema: bool,
    /// It refuses an exact repeat of the event it just accepted.
    pub duplicates: bool,
    /// It refuses an event older than its stream's newest by more than this many nanoseconds.
    pub out_of_order_tolerance_ns: Option<i64>,
}

impl Claims {
    /// What the built-in [`IntegrityChecks`] enforce with these settings.
    pub fn of(checks: &IntegrityChecks) -> Claims {
        Claims {
            schema: checks.validate_schema,
            duplicates: checks.detect_duplicates && checks.duplicate_window > 0,
            out_of_order_tolerance_ns: checks.reject_out_of_order.then(|| {
                i64::try_from(checks.out_of_order_tolerance_ms)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1_000_000)
            }),
        }
    }
}

/// The policy refuses what it claims to refuse, in a stream that accepted ordinary events.
pub fn claims_are_kept(policy: &dyn IntegrityPolicy, claims: Claims) {
    let memory = policy.memory();
    let base = 1_700_000_000_000_000_000i64;
    let trade = |i: i64, size: i64| {
        let mut event = Event::new(
            "laws",
            "BTCUSDT",
            Timestamp::from_nanos(base + i * 1_000_000_000),
            Payload::Trade(Trade {
                price: Decimal::from_int(60_000),
                size: Decimal::from_int(size),
                side: None,
                trade_id: Some(i.to_string()),
                conditions: None,
            }),
        );
        event.sequence = Some(i as u64 + 1);
        event
    };
    let mut facts = StreamFacts::default();
    fn candidate(event: &Event, memory: usize) -> Candidate<'_> {
        Candidate {
            event,
            content: if memory > 0 { content_of(event) } else { 0 },
            keep_identical: false,
        }
    }
    let accepted: Vec<Event> = (0..10).map(|i| trade(i, 1)).collect();
    for event in &accepted {
        let c = candidate(event, memory);
        assert!(
            matches!(policy.verdict(&facts, &c), Verdict::Accept { .. }),
            "integrity {}: refuses an ordinary trade {event:?}",
            policy.name()
        );
        facts.accept(&c, memory);
    }
    let refuses = |event: &Event, claim: &str, what: &str| {
        let verdict = policy.verdict(&facts, &candidate(event, memory));
        assert!(
            matches!(verdict, Verdict::Reject(_)),
            "integrity {}: claims to enforce {claim} but accepts {what}: {verdict:?}",
            policy.name()
        );
    };
    if claims.schema {
        refuses(&trade(10, -1), "the schema", "a trade with a negative size");
        let mut nameless = trade(10, 1);
        nameless.symbol.clear();
        refuses(&nameless, "the schema", "an event with an empty symbol");
        let mut inverted = trade(10, 1);
        inverted.payload = Payload::Bar(Bar {
            interval_s: 60,
            open: Decimal::from_int(100),
            high: Decimal::from_int(90),
            low: Decimal::from_int(110),
            close: Decimal::from_int(100),
            volume: Decimal::from_int(1),
            trades: None,
            vwap: None,
        });
        refuses(&inverted, "the schema", "a bar whose low is above its high");
    }
    if claims.duplicates {
        refuses(
            &accepted[accepted.len() - 1],
            "duplicate detection",
            "an exact repeat of the event it just accepted",
        );
    }
    if let Some(tolerance) = claims.out_of_order_tolerance_ns {
        let newest = base + 9 * 1_000_000_000;
        let mut late = trade(10, 1);
        late.event_time = Timestamp::from_nanos(
            newest
                .saturating_sub(tolerance)
                .saturating_sub(1_000_000_000),
        );
        if late.event_time.as_nanos() < newest.saturating_sub(tolerance) {
            refuses(
                &late,
                "an order tolerance",
                "an event older than its stream's newest by more than the tolerance",
            );
        }
    }
}

/// Every integrity law, in order (the laws any policy keeps; see [`run_all_claiming`]).
pub fn run_all(policy: &dyn IntegrityPolicy) {
    same_input_same_verdicts(policy);
    rejected_events_change_nothing(policy);
    an_ordinary_feed_is_accepted(policy);
    rejections_explain_themselves(policy);
    asking_changes_nothing(policy);
    rejection_classes_are_stable(policy);
}

/// [`run_all`], then [`claims_are_kept`] for what the policy says it enforces.
pub fn run_all_claiming(policy: &dyn IntegrityPolicy, claims: Claims) {
    run_all(policy);
    claims_are_kept(policy, claims);
}
