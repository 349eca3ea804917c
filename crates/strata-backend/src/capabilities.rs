//! What a store enforces: [`Capabilities`] (BACKEND-2, BACKEND-3, ARCH-1).
//!
//! S3-compatible servers differ in what they enforce: some ignore `If-None-Match: *` (a
//! "create-only" put then overwrites), some lack Object Lock, some refuse small or empty
//! parts. strata does not assume: an `s3://` backend probes its server
//! ([`Backend::capabilities`](crate::Backend::capabilities), or `strata backend check URL`)
//! and refuses the guarantees the server cannot give ([`Capabilities::create_only`]) instead
//! of reporting "written once" for an object that can be overwritten.

use std::fmt;

/// Whether a server enforces a condition or a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Support {
    /// The server enforces it (for a condition: it answered `412 Precondition Failed` and
    /// changed nothing).
    Enforced,
    /// The server accepted the request and ignored the condition or limit.
    Ignored,
    /// The server refused the request itself (the status and code it answered), so the
    /// condition cannot be used.
    Rejected(String),
    /// Not known: the probe did not run or its request failed (why).
    Unknown(String),
}

impl Support {
    /// True if the server enforces it.
    pub fn is_enforced(&self) -> bool {
        matches!(self, Support::Enforced)
    }

    /// A short word for tables: `enforced`, `ignored`, `rejected`, `unknown`.
    pub fn word(&self) -> &'static str {
        match self {
            Support::Enforced => "enforced",
            Support::Ignored => "ignored",
            Support::Rejected(_) => "rejected",
            Support::Unknown(_) => "unknown",
        }
    }

    /// What the server answered, for `Rejected` and `Unknown`.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Support::Rejected(why) | Support::Unknown(why) => Some(why),
            Support::Enforced | Support::Ignored => None,
        }
    }
}

impl fmt::Display for Support {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.detail() {
            Some(detail) => write!(f, "{} ({detail})", self.word()),
            None => f.write_str(self.word()),
        }
    }
}

/// Whether a server accepts a kind of request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Accepts {
    /// It does.
    Yes,
    /// It refuses it (the status and code it answered).
    No(String),
    /// Not known (why).
    Unknown(String),
}

impl Accepts {
    /// True if the server accepts it.
    pub fn is_yes(&self) -> bool {
        matches!(self, Accepts::Yes)
    }
}

impl fmt::Display for Accepts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Accepts::Yes => f.write_str("yes"),
            Accepts::No(why) => write!(f, "no ({why})"),
            Accepts::Unknown(why) => write!(f, "unknown ({why})"),
        }
    }
}

/// S3 Object Lock retention modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetentionMode {
    /// Nobody, not even the account's root user, can delete the locked version or shorten its
    /// retention before it ends.
    Compliance,
    /// Users with `s3:BypassGovernanceRetention` may delete or shorten.
    Governance,
}

impl RetentionMode {
    /// The S3 spelling: `COMPLIANCE` or `GOVERNANCE`.
    pub fn as_s3(self) -> &'static str {
        match self {
            RetentionMode::Compliance => "COMPLIANCE",
            RetentionMode::Governance => "GOVERNANCE",
        }
    }

    /// Parses the S3 spelling.
    pub fn from_s3(s: &str) -> Option<Self> {
        match s {
            "COMPLIANCE" => Some(RetentionMode::Compliance),
            "GOVERNANCE" => Some(RetentionMode::Governance),
            _ => None,
        }
    }
}

/// An object's S3 Object Lock retention: until when, and in which mode, the server keeps the
/// object version from being deleted or overwritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Retention {
    /// The retention mode.
    pub mode: RetentionMode,
    /// The retain-until date (S3 keeps whole seconds).
    pub until: std::time::SystemTime,
}

impl Retention {
    /// Compliance-mode retention until `until`.
    pub fn compliance(until: std::time::SystemTime) -> Self {
        Self {
            mode: RetentionMode::Compliance,
            until,
        }
    }

    /// Governance-mode retention until `until`.
    pub fn governance(until: std::time::SystemTime) -> Self {
        Self {
            mode: RetentionMode::Governance,
            until,
        }
    }

    /// Why replacing `self` by `requested` would shorten or weaken it, if it would: an
    /// earlier retain-until date, or governance replacing compliance (ARCH-1: retention is
    /// extended, never shortened). A pure decision.
    pub fn shortened_by(&self, requested: &Retention) -> Option<String> {
        if requested.until < self.until {
            return Some(format!(
                "{} is earlier than the current retain-until {}",
                rfc3339(requested.until),
                rfc3339(self.until)
            ));
        }
        if self.mode == RetentionMode::Compliance && requested.mode == RetentionMode::Governance {
            return Some("GOVERNANCE would weaken the current COMPLIANCE mode".to_owned());
        }
        None
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} until {}", self.mode.as_s3(), rfc3339(self.until))
    }
}

/// `2026-12-04T16:50:00Z`: a time as S3 writes retain-until dates (whole seconds, UTC,
/// rounded up so a retention is never shown or sent shorter than it is); a time S3 cannot
/// hold (before 1970, after 9999) is given as its distance from 1970.
pub fn rfc3339(time: std::time::SystemTime) -> String {
    retain_until(time).unwrap_or_else(|| match time.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => format!("{} s after 1970", after.as_secs()),
        Err(before) => format!("{} s before 1970", before.duration().as_secs()),
    })
}

/// A retain-until date as S3 takes it: RFC 3339 in whole seconds, UTC, rounded up; `None` for
/// a time S3 cannot hold (before 1970 or after the year 9999).
pub(crate) fn retain_until(time: std::time::SystemTime) -> Option<String> {
    let since = time.duration_since(std::time::UNIX_EPOCH).ok()?;
    let secs = since.as_secs() + u64::from(since.subsec_nanos() > 0);
    let date = chrono::DateTime::from_timestamp(i64::try_from(secs).ok()?, 0)?;
    (chrono::Datelike::year(&date) <= 9999)
        .then(|| date.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// A bucket's Object Lock state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectLock {
    /// Object Lock is enabled on the bucket (so is versioning).
    Enabled {
        /// The bucket's default retention, applied by the server to every new object
        /// version: its mode and length in days (years are converted at 365 days).
        default_retention: Option<(RetentionMode, u32)>,
    },
    /// The server implements Object Lock but the bucket does not have it enabled.
    Disabled,
    /// The server does not implement Object Lock (what it answered).
    Unsupported(String),
    /// Not known (why).
    Unknown(String),
}

impl ObjectLock {
    /// True if the bucket has Object Lock enabled.
    pub fn is_enabled(&self) -> bool {
        matches!(self, ObjectLock::Enabled { .. })
    }
}

impl fmt::Display for ObjectLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectLock::Enabled {
                default_retention: Some((mode, days)),
            } => write!(
                f,
                "enabled (default retention {} {days} days)",
                mode.as_s3()
            ),
            ObjectLock::Enabled {
                default_retention: None,
            } => f.write_str("enabled (no default retention)"),
            ObjectLock::Disabled => f.write_str("not enabled on this bucket"),
            ObjectLock::Unsupported(why) => write!(f, "not supported ({why})"),
            ObjectLock::Unknown(why) => write!(f, "unknown ({why})"),
        }
    }
}

/// How the capabilities were established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provenance {
    /// By the store's construction (a local filesystem or memory: create-only writes are
    /// decided atomically by the store itself; nothing to probe).
    Inherent,
    /// By requests to the server under a scratch key, removed afterwards.
    Probed,
    /// Declared by the implementation without a probe (the [`Backend`](crate::Backend)
    /// default; the conformance suite checks such a declaration).
    Declared,
}

/// What a store enforces, and therefore which guarantees strata can give on it.
///
/// ```
/// use strata_backend::{Capabilities, Support};
/// let local = Capabilities::atomic_store();
/// assert!(local.create_only().is_ok());
///
/// // A server that ignores `If-None-Match: *` (Garage 2.5.0, for one):
/// let mut garage = Capabilities::atomic_store();
/// garage.conditional_put = Support::Ignored;
/// let missing = garage.create_only().unwrap_err();
/// assert_eq!(missing.capability, "conditional put (If-None-Match: * on PutObject)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// How these were established.
    pub provenance: Provenance,
    /// A put with `If-None-Match: *` onto an existing key is refused (`412`).
    pub conditional_put: Support,
    /// CompleteMultipartUpload with `If-None-Match: *` onto an existing key is refused.
    pub conditional_complete: Support,
    /// CopyObject with `If-None-Match: *` onto an existing key is refused. (strata's
    /// create-only copies do not need it: see [`create_only`](Self::create_only).)
    pub conditional_copy: Support,
    /// Object Lock on the bucket.
    pub object_lock: ObjectLock,
    /// Completing an upload whose parts (but the last) are below S3's 5 MiB minimum is
    /// refused (`EntityTooSmall`).
    pub min_part_size: Support,
    /// An empty UploadPart is accepted.
    pub empty_part: Accepts,
    /// UploadPartCopy of a 16-byte source is accepted.
    pub small_part_copy: Accepts,
}

/// A guarantee a store cannot give, and why: what [`Capabilities::create_only`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The capability the guarantee needs.
    pub capability: &'static str,
    /// What the store does instead.
    pub found: Support,
    /// What would work instead.
    pub instead: &'static str,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server does not enforce {}: {}; {}",
            self.capability, self.found, self.instead
        )
    }
}

/// What works instead of create-only writes on a server that cannot enforce them.
pub const CREATE_ONLY_INSTEAD: &str = "use a server that enforces conditional writes \
     (AWS S3, MinIO, Cloudflare R2 and moto do), or write this tier without create-only \
     and WORM (overwrites are then possible)";

impl Capabilities {
    /// A store that decides create-only writes atomically itself (local filesystem, memory):
    /// every condition enforced, no part limits, no Object Lock.
    pub fn atomic_store() -> Self {
        Self {
            provenance: Provenance::Inherent,
            conditional_put: Support::Enforced,
            conditional_complete: Support::Enforced,
            conditional_copy: Support::Enforced,
            object_lock: ObjectLock::Unsupported("not an object store".to_owned()),
            min_part_size: Support::Ignored,
            empty_part: Accepts::Yes,
            small_part_copy: Accepts::Yes,
        }
    }

    /// Whether create-only writes (and thus WORM) can be guaranteed, and if not, which
    /// capability is missing. A pure decision on the capabilities.
    ///
    /// strata's create-only writes need: a conditional put (small puts, small uploads and
    /// copies of objects below the part size, which are read and put), and a conditional
    /// CompleteMultipartUpload (large uploads, staged and then copied part-wise onto the
    /// key). A conditional CopyObject is not needed.
    pub fn create_only(&self) -> Result<(), Missing> {
        if !self.conditional_put.is_enforced() {
            return Err(Missing {
                capability: "conditional put (If-None-Match: * on PutObject)",
                found: self.conditional_put.clone(),
                instead: CREATE_ONLY_INSTEAD,
            });
        }
        if !self.conditional_complete.is_enforced() {
            return Err(Missing {
                capability: "conditional multipart completion (If-None-Match: * on \
                             CompleteMultipartUpload)",
                found: self.conditional_complete.clone(),
                instead: CREATE_ONLY_INSTEAD,
            });
        }
        Ok(())
    }

    /// The capability table: one row per capability, what the store does, and what strata
    /// does about it.
    pub fn rows(&self) -> Vec<CapabilityRow> {
        let create_only = match self.create_only() {
            Ok(()) => "create-only writes and WORM allowed".to_owned(),
            Err(_) => "create-only writes and WORM refused".to_owned(),
        };
        let lock = match &self.object_lock {
            ObjectLock::Enabled { .. } => "retention can be set and checked on objects",
            _ => "no server-side retention; WORM relies on create-only writes",
        };
        let part = if self.min_part_size.is_enforced() {
            "parts (but the last) are at least 5 MiB"
        } else {
            "parts (but the last) are at least 5 MiB anyway (portable)"
        };
        vec![
            CapabilityRow::new(
                "conditional_put",
                self.conditional_put.to_string(),
                &create_only,
            ),
            CapabilityRow::new(
                "conditional_complete",
                self.conditional_complete.to_string(),
                &create_only,
            ),
            CapabilityRow::new(
                "conditional_copy",
                self.conditional_copy.to_string(),
                "not used: create-only copies read and put below the part size, and copy \
                 part-wise with a conditional completion above it",
            ),
            CapabilityRow::new("object_lock", self.object_lock.to_string(), lock),
            CapabilityRow::new("min_part_size", self.min_part_size.to_string(), part),
            CapabilityRow::new(
                "empty_part",
                self.empty_part.to_string(),
                "never sent: an empty upload becomes an empty put",
            ),
            CapabilityRow::new(
                "small_part_copy",
                self.small_part_copy.to_string(),
                "never sent: objects below the part size are copied by read and put",
            ),
        ]
    }
}

/// One row of [`Capabilities::rows`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityRow {
    /// The capability's name (stable, for scripts).
    pub name: &'static str,
    /// What the store does.
    pub found: String,
    /// What strata does about it.
    pub strata: String,
}

impl CapabilityRow {
    fn new(name: &'static str, found: String, strata: &str) -> Self {
        Self {
            name,
            found,
            strata: strata.to_owned(),
        }
    }
}

impl Capabilities {
    /// The capability table under a header line (`capability  server  strata`), as
    /// `strata backend check` prints it.
    pub fn table_with_header(&self) -> String {
        let mut out = String::new();
        let _ = self.write_table(&mut out, true);
        out
    }

    fn write_table(&self, out: &mut impl fmt::Write, header: bool) -> fmt::Result {
        let mut rows = self.rows();
        if header {
            rows.insert(
                0,
                CapabilityRow::new("capability", "server".into(), "strata"),
            );
        }
        let name_width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
        let found_width = rows.iter().map(|r| r.found.len()).max().unwrap_or(0);
        for row in rows {
            writeln!(
                out,
                "{:<name_width$}  {:<found_width$}  {}",
                row.name, row.found, row.strata
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Capabilities {
    /// The capability table, one row per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_table(f, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_only_needs_both_conditions_and_names_the_missing_one() {
        let mut caps = Capabilities::atomic_store();
        assert!(caps.create_only().is_ok());
        caps.conditional_complete = Support::Ignored;
        let missing = caps.create_only().unwrap_err();
        assert!(missing.capability.contains("CompleteMultipartUpload"));
        assert!(missing.to_string().contains("ignored"), "{missing}");
        caps.conditional_put = Support::Rejected("501 NotImplemented".to_owned());
        let missing = caps.create_only().unwrap_err();
        assert!(missing.capability.contains("PutObject"));
        assert!(
            missing.to_string().contains("501 NotImplemented"),
            "{missing}"
        );
        // A conditional CopyObject is not needed.
        let mut caps = Capabilities::atomic_store();
        caps.conditional_copy = Support::Ignored;
        assert!(caps.create_only().is_ok());
        // Unknown is not enforced.
        caps.conditional_put = Support::Unknown("probe failed".to_owned());
        assert!(caps.create_only().is_err());
    }

    #[test]
    fn retention_is_extended_never_shortened_or_weakened() {
        use std::time::{Duration, UNIX_EPOCH};
        let t = |s| UNIX_EPOCH + Duration::from_secs(s);
        let current = Retention::compliance(t(2_000_000_000));
        assert_eq!(
            current.shortened_by(&Retention::compliance(t(2_000_000_001))),
            None
        );
        assert_eq!(current.shortened_by(&current), None);
        let shorter = current.shortened_by(&Retention::compliance(t(1_999_999_999)));
        assert!(shorter.unwrap().contains("earlier"));
        let weaker = current.shortened_by(&Retention::governance(t(2_100_000_000)));
        assert!(weaker.unwrap().contains("GOVERNANCE"));
        // Governance may become compliance.
        let governed = Retention::governance(t(2_000_000_000));
        assert_eq!(governed.shortened_by(&current), None);
        assert_eq!(current.to_string(), "COMPLIANCE until 2033-05-18T03:33:20Z");
    }

    #[test]
    fn the_table_has_one_row_per_capability() {
        let table = Capabilities::atomic_store().to_string();
        assert_eq!(table.lines().count(), 7, "{table}");
        assert!(table.contains("conditional_put"), "{table}");
        assert!(table.contains("WORM allowed"), "{table}");
    }
}
