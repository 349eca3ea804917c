//! What the automation rules (POL-6) leave behind: when each last ran
//! (`_lifecycle/rule_runs.jsonl`, which makes a rule with `every` due again only once its
//! interval has passed) and the requests they made (`_lifecycle/requests.jsonl`: backfill,
//! repair, notify, report, each naming the rule, the file and why), for whatever carries them
//! out to read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use strata_core::policy::rules::RuleRequest;
use strata_core::policy::LifecyclePlan;
use strata_model::Timestamp;

use crate::error::Result;
use crate::execute::LIFECYCLE_DIR;
use crate::lines::{append_record, read_records};

/// The file of rule runs in [`LIFECYCLE_DIR`].
pub const RULE_RUNS_FILE: &str = "rule_runs.jsonl";
/// The file of requests in [`LIFECYCLE_DIR`].
pub const REQUESTS_FILE: &str = "requests.jsonl";

/// One evaluation of a rule by a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RuleRun {
    rule: String,
    at: Timestamp,
}

/// A request a rule made, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The run's clock.
    pub at: Timestamp,
    /// What was asked, for which file, by which rule, and why.
    #[serde(flatten)]
    pub request: RuleRequest,
}

/// The rule runs and requests of one archive.
#[derive(Debug, Clone)]
pub struct RuleLog {
    dir: PathBuf,
}

impl RuleLog {
    /// The log of the archive at `root`.
    pub fn new(root: &Path) -> Self {
        RuleLog {
            dir: root.join(LIFECYCLE_DIR),
        }
    }

    /// When a run last evaluated each rule, by name.
    pub fn last_runs(&self) -> Result<BTreeMap<String, Timestamp>> {
        let mut last = BTreeMap::new();
        for run in read_records::<RuleRun>(&self.dir.join(RULE_RUNS_FILE))? {
            let at = last.entry(run.rule).or_insert(run.at);
            *at = (*at).max(run.at);
        }
        Ok(last)
    }

    /// Every request recorded, oldest first.
    pub fn requests(&self) -> Result<Vec<RequestRecord>> {
        read_records(&self.dir.join(REQUESTS_FILE))
    }

    /// Records what a run of `plan` did with its rules: the requests of the due rules, then
    /// each due rule's run at the plan's clock.
    pub fn record(&self, plan: &LifecyclePlan) -> Result<usize> {
        std::fs::create_dir_all(&self.dir).map_err(crate::error::io(&self.dir))?;
        for request in &plan.requests {
            append_record(
                &self.dir.join(REQUESTS_FILE),
                &RequestRecord {
                    at: plan.now,
                    request: request.clone(),
                },
            )?;
        }
        for state in plan.rules.iter().filter(|s| s.due) {
            append_record(
                &self.dir.join(RULE_RUNS_FILE),
                &RuleRun {
                    rule: state.name.clone(),
                    at: plan.now,
                },
            )?;
        }
        Ok(plan.requests.len())
    }
}
