//! The writer's seal reasons are exactly the names the catalog documents for manifests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use strata_catalog::seal_reason;
use strata_ingest::seal::SealReason;

#[test]
fn seal_reasons_are_the_catalogs_names_in_order() {
    let names: Vec<&str> = SealReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(names, seal_reason::ALL);
    for &reason in SealReason::ALL {
        assert_eq!(reason.as_str().parse::<SealReason>().unwrap(), reason);
        assert_eq!(reason.to_string(), reason.as_str());
    }
    assert_eq!(
        "crash".parse::<SealReason>().unwrap_err().to_string(),
        "unknown seal reason `crash`; expected one of: partition_boundary size age shutdown \
         recovery import"
    );
}
