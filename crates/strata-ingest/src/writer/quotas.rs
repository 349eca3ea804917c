//! Quotas on the append path: a batch is charged against the quota ledger as a whole, before
//! anything of it is written, and the ledger's signals go to the log and the session report; a
//! SoftLimit or DropOldest asks the cleanup listeners to start cleaning up (QUOTA-2).

use super::*;

impl State {
    /// Charges the placed events of `batch` (those that could be placed) against the quotas:
    /// their bytes, the files they open, one event each. A HardLimit refusal is returned as
    /// [`Error::QuotaExceeded`] and nothing is charged.
    pub(super) fn charge_quotas(
        &mut self,
        staged: bool,
        batch: &Encoded<'_>,
        placed: &[std::result::Result<Placement, String>],
    ) -> Result<()> {
        let today = chrono::Utc::now().date_naive();
        let mut new_stems: Vec<&str> = Vec::new();
        let mut charges = Vec::with_capacity(batch.len());
        for (i, placement) in placed.iter().enumerate() {
            let event = batch.event(i);
            let Ok(p) = placement else { continue };
            let subject = QuotaSubject {
                source: &event.source,
                asset_class: p.asset_class,
                symbol: &event.symbol,
                kind: event.kind(),
            };
            let open = match (staged, self.staging.as_ref()) {
                (true, Some(staging)) => &staging.segments,
                _ => &self.segments,
            };
            let new_file = !open.contains_key(&*p.stem) && !new_stems.contains(&&*p.stem);
            if new_file {
                new_stems.push(&p.stem);
            }
            charges.push(Charge {
                subject,
                usage: QuotaUsage {
                    bytes: batch.line(i).len() as u64,
                    files: u64::from(new_file),
                    events_today: 1,
                },
            });
        }
        match self.ledger.charge_batch(today, &charges) {
            Ok(signals) => {
                // Each rule once per session: a scope over its limit says so on every batch.
                for w in &signals.first {
                    tracing::warn!(target: "strata::quota", "{w} (said once per session)");
                }
                self.report
                    .quota_signals
                    .extend(signals.first.iter().cloned());
                // Taken (and handed to the cleanup listeners) once the state lock is released.
                self.cleanup_due = CleanupRequest::from_signals(&signals);
                Ok(())
            }
            Err(QuotaDecision::Refuse {
                scope,
                limit_name,
                limit,
                used,
            }) => Err(Error::QuotaExceeded {
                scope,
                limit_name,
                limit,
                used,
            }),
            Err(other) => Err(Error::Config(format!(
                "unexpected quota decision {other:?}"
            ))),
        }
    }
}
