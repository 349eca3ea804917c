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

use strata_model::{Decimal, Event, Payload, Timestamp, Trade};

use super::Rng;
use crate::policy::integrity::{Candidate, IntegrityPolicy, StreamFacts, Verdict};

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

/// Every integrity law, in order.
pub fn run_all(policy: &dyn IntegrityPolicy) {
    same_input_same_verdicts(policy);
    rejected_events_change_nothing(policy);
    an_ordinary_feed_is_accepted(policy);
    rejections_explain_themselves(policy);
}
