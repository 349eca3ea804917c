//! The capability probe of an S3 server: what it enforces, learnt by trying it under a
//! scratch key of the backend's staging area, and removed afterwards.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::Method;

use crate::capabilities::{Accepts, Capabilities, ObjectLock, Provenance, RetentionMode, Support};
use crate::error::{Error, Result};
use crate::key::STAGING_DIR;
use crate::s3_server::{query_escape, xml_elements, xml_tag, xml_unescape, Answer, S3Server};

/// Capabilities already probed in this process, by bucket address: a server is probed once,
/// however many backends (tiers, prefixes) open it.
fn probed() -> &'static Mutex<HashMap<String, Capabilities>> {
    static PROBED: OnceLock<Mutex<HashMap<String, Capabilities>>> = OnceLock::new();
    PROBED.get_or_init(Default::default)
}

impl S3Server {
    fn cache_key(&self) -> String {
        format!(
            "{} declared={}",
            self.bucket_endpoint, self.declared_conditional_writes
        )
    }

    /// The capabilities: from this handle, else from this process's earlier probe of the
    /// same bucket, else probed now. The probe runs in a task of its own, so a caller that
    /// gives up half-way does not leave scratch objects or uploads behind. A probe that
    /// fails is not kept: the next call tries again.
    pub(crate) async fn probed_capabilities(self: &Arc<Self>) -> Result<Capabilities> {
        if let Some(caps) = self.capabilities.get() {
            return Ok(caps.clone());
        }
        let key = self.cache_key();
        let known = probed()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        let server = Arc::clone(self);
        let caps = self
            .capabilities
            .get_or_try_init(|| async move {
                if let Some(caps) = known {
                    return Ok(caps);
                }
                tokio::spawn(async move { server.probe().await })
                    .await
                    .map_err(|e| Error::store_msg("probe", "", format!("the probe failed: {e}")))?
            })
            .await?
            .clone();
        probed()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, caps.clone());
        Ok(caps)
    }

    /// The bucket's Object Lock state; a server that cannot be reached fails the probe (an
    /// answer it is not allowed to read is `Unknown`).
    async fn probe_object_lock(&self) -> Result<ObjectLock> {
        let answer = self
            .send(Method::GET, None, "object-lock", &[], Bytes::new())
            .await?;
        if answer.is_credential_error() {
            return Err(Error::store_msg(
                "probe",
                &self.bucket,
                format!(
                    "the server refused the credentials ({}): check AWS_ACCESS_KEY_ID, \
                     AWS_SECRET_ACCESS_KEY and the region",
                    answer.describe()
                ),
            ));
        }
        Ok(Self::object_lock_of(&answer))
    }

    fn object_lock_of(answer: &Answer) -> ObjectLock {
        let text = answer.text();
        if answer.is_success() {
            if xml_tag(&text, "ObjectLockEnabled") != Some("Enabled") {
                return ObjectLock::Disabled;
            }
            let mode = xml_tag(&text, "Mode").and_then(RetentionMode::from_s3);
            let number = |tag| {
                xml_tag(&text, tag)
                    .and_then(|n| n.trim().parse::<u32>().ok())
                    .filter(|n| *n > 0)
            };
            let days = number("Days").or_else(|| number("Years").map(|y| y.saturating_mul(365)));
            return ObjectLock::Enabled {
                default_retention: mode.zip(days),
            };
        }
        match xml_tag(&text, "Code") {
            Some("ObjectLockConfigurationNotFoundError") => ObjectLock::Disabled,
            // Not allowed to read it is not "not there": the bucket may well lock objects.
            _ if answer.status == 403 => ObjectLock::Unknown(answer.describe()),
            _ if matches!(answer.status, 400 | 404 | 405 | 501) => {
                ObjectLock::Unsupported(answer.describe())
            }
            _ => ObjectLock::Unknown(answer.describe()),
        }
    }

    /// Probes the server under a scratch folder of the staging area (hidden from listings,
    /// removed afterwards, and purged by `purge_staging` should removal fail). Writes only
    /// where the probe's objects cannot be locked.
    async fn probe(&self) -> Result<Capabilities> {
        let object_lock = self.probe_object_lock().await?;
        let mut caps = Capabilities {
            provenance: Provenance::Probed,
            conditional_put: Support::Unknown("not probed".to_owned()),
            conditional_complete: Support::Unknown("not probed".to_owned()),
            conditional_copy: Support::Unknown("not probed".to_owned()),
            object_lock: object_lock.clone(),
            min_part_size: Support::Unknown("not probed".to_owned()),
            empty_part: Accepts::Unknown("not probed".to_owned()),
            small_part_copy: Accepts::Unknown("not probed".to_owned()),
        };
        let unsafe_to_write = match &object_lock {
            ObjectLock::Enabled {
                default_retention: Some((mode, days)),
            } => Some(format!(
                "the bucket's default retention ({} {days} days) would keep the probe's objects",
                mode.as_s3()
            )),
            ObjectLock::Unknown(why) => Some(format!(
                "the bucket's Object Lock state is unknown ({why}), so the probe's objects could \
                 be kept"
            )),
            _ => None,
        };
        if let Some(why) = unsafe_to_write {
            let why = format!(
                "not probed: {why}; S3Options::declare_conditional_writes declares what the \
                 server enforces"
            );
            caps.conditional_put = Support::Unknown(why.clone());
            caps.conditional_complete = Support::Unknown(why.clone());
            caps.conditional_copy = Support::Unknown(why.clone());
            caps.min_part_size = Support::Unknown(why.clone());
            caps.empty_part = Accepts::Unknown(why.clone());
            caps.small_part_copy = Accepts::Unknown(why);
            if self.declared_conditional_writes {
                caps.provenance = Provenance::Declared;
                caps.conditional_put = Support::Enforced;
                caps.conditional_complete = Support::Enforced;
            }
            return Ok(caps);
        }
        let scratch = self.full_path(&format!("{STAGING_DIR}/{}", probe_id()));
        let mut uploads = Vec::new();
        let outcome = self.probe_writes(&scratch, &mut caps, &mut uploads).await;
        // Uploads a failed step left open (completed ones answer 404, which is fine).
        for (path, id) in &uploads {
            if let Err(e) = self.abort(path, id).await {
                tracing::warn!(path, error = %e, "could not abort a probe upload");
            }
        }
        if let Err(e) = self.clean(&scratch).await {
            // What was learnt stands; the leftovers are under the staging area, which
            // `purge_staging` empties.
            tracing::warn!(scratch, error = %e, "could not remove the probe's scratch objects");
        }
        outcome?;
        Ok(caps)
    }

    async fn probe_writes(
        &self,
        scratch: &str,
        caps: &mut Capabilities,
        uploads: &mut Vec<(String, String)>,
    ) -> Result<()> {
        let inm = || vec![("if-none-match", "*".to_owned())];
        let source = format!("{scratch}/source");
        let answer = self.put(&source, b"0123456789abcdef", &[]).await?;
        if !answer.is_success() {
            return Err(Error::store_msg(
                "probe",
                &source,
                format!(
                    "a plain PutObject under the backend's prefix answered {}; can these \
                     credentials write there?",
                    answer.describe()
                ),
            ));
        }

        // 1. PutObject with If-None-Match: * onto an existing key.
        let taken = format!("{scratch}/taken");
        self.put(&taken, b"first", &[]).await?;
        let answer = self.put(&taken, b"second", &inm()).await?;
        caps.conditional_put = self.condition_outcome(&answer, &taken, b"first").await;

        // 2. CompleteMultipartUpload with If-None-Match: * onto an existing key. (The key is
        // written before the upload starts: Garage cancels uploads older than a write.)
        let racing = format!("{scratch}/racing");
        self.put(&racing, b"first", &[]).await?;
        let id = self.start_upload(&racing, &[]).await?;
        uploads.push((racing.clone(), id.clone()));
        let part = self
            .upload_part(&racing, &id, 1, Bytes::from_static(b"from the upload"), &[])
            .await?;
        let part_ok = part.is_success();
        caps.conditional_complete = match part.etag.clone().filter(|_| part_ok) {
            Some(etag) => {
                let answer = self.complete(&racing, &id, &[etag], &inm()).await?;
                self.condition_outcome(&answer, &racing, b"first").await
            }
            None => Support::Unknown(format!("UploadPart answered {}", part.describe())),
        };

        // 3. CopyObject with If-None-Match: * onto an existing key.
        let copied = format!("{scratch}/copied");
        self.put(&copied, b"first", &[]).await?;
        let mut headers = inm();
        headers.push(("x-amz-copy-source", self.copy_source(&source)));
        let answer = self.put(&copied, b"", &headers).await?;
        caps.conditional_copy = self.condition_outcome(&answer, &copied, b"first").await;

        // 4. Tiny parts, an empty part and a copy of a tiny object as a part.
        let parts = format!("{scratch}/parts");
        let id = self.start_upload(&parts, &[]).await?;
        uploads.push((parts.clone(), id.clone()));
        let mut etags = Vec::new();
        for n in 1..=2 {
            let answer = self
                .upload_part(&parts, &id, n, Bytes::from_static(b"x"), &[])
                .await?;
            let ok = answer.is_success();
            match answer.etag.clone().filter(|_| ok) {
                Some(etag) => etags.push(etag),
                None => {
                    caps.min_part_size =
                        Support::Unknown(format!("UploadPart answered {}", answer.describe()))
                }
            }
        }
        let empty = self.upload_part(&parts, &id, 3, Bytes::new(), &[]).await?;
        caps.empty_part = if empty.is_success() {
            Accepts::Yes
        } else {
            Accepts::No(empty.describe())
        };
        let copy_part = self
            .upload_part(
                &parts,
                &id,
                4,
                Bytes::new(),
                &[("x-amz-copy-source", self.copy_source(&source))],
            )
            .await?;
        caps.small_part_copy = if copy_part.is_success() {
            Accepts::Yes
        } else {
            Accepts::No(copy_part.describe())
        };
        if etags.len() == 2 {
            let answer = self.complete(&parts, &id, &etags, &[]).await?;
            caps.min_part_size = if answer.is_success() {
                Support::Ignored
            } else if answer.text().contains("EntityTooSmall") {
                Support::Enforced
            } else {
                Support::Unknown(format!(
                    "completing two 1-byte parts answered {}",
                    answer.describe()
                ))
            };
        }
        Ok(())
    }

    /// Reads what a conditional write onto an existing key did: refused (`412`), or
    /// accepted — and then whether the object really changed.
    async fn condition_outcome(&self, answer: &Answer, path: &str, before: &[u8]) -> Support {
        if answer.is_precondition_failed() {
            return Support::Enforced;
        }
        if !answer.is_success() {
            return Support::Rejected(answer.describe());
        }
        match self.get_body(path).await {
            Ok(now) if now.as_ref() == before => Support::Unknown(format!(
                "answered {} but left the object unchanged",
                answer.status
            )),
            Ok(_) => Support::Ignored,
            Err(e) => Support::Unknown(e.to_string()),
        }
    }

    /// True if the bucket keeps versions (then a delete must name each version).
    async fn versioned(&self) -> Result<bool> {
        let answer = self
            .send(Method::GET, None, "versioning", &[], Bytes::new())
            .await?;
        Ok(answer.is_success()
            && matches!(
                xml_tag(&answer.text(), "Status"),
                Some("Enabled" | "Suspended")
            ))
    }

    /// Removes everything under `scratch/` (every version, on a versioned bucket), and what
    /// earlier probes left more than an hour ago (a probe killed half-way; a younger one may
    /// still be running in another process).
    async fn clean(&self, scratch: &str) -> Result<()> {
        let own = format!("{scratch}/");
        let prefix = match scratch.rfind('/') {
            Some(at) => format!("{}/probe-", &scratch[..at]),
            None => "probe-".to_owned(),
        };
        let stale_before = chrono::Utc::now() - chrono::Duration::hours(1);
        let versioned = self.versioned().await?;
        let listing = if versioned {
            format!("prefix={}&versions", query_escape(&prefix))
        } else {
            format!("list-type=2&prefix={}", query_escape(&prefix))
        };
        let answer = self
            .send(Method::GET, None, &listing, &[], Bytes::new())
            .await?;
        if !answer.is_success() {
            return Err(Error::store_msg(
                "probe",
                scratch,
                format!("listing the probe's objects answered {}", answer.describe()),
            ));
        }
        let text = answer.text().into_owned();
        let mut entries = Vec::new();
        for element in ["Version", "DeleteMarker", "Contents"] {
            for body in xml_elements(&text, element) {
                let Some(key) = xml_tag(body, "Key").map(xml_unescape) else {
                    continue;
                };
                let stale = xml_tag(body, "LastModified")
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t < stale_before);
                if !key.starts_with(&own) && !stale {
                    continue;
                }
                let version = xml_tag(body, "VersionId")
                    .filter(|_| versioned)
                    .map(xml_unescape);
                entries.push((key, version));
            }
        }
        for (key, version) in entries {
            // Never anything outside the probes' folders, whatever the listing says.
            if !key.starts_with(&prefix) {
                continue;
            }
            let query = version
                .map(|v| format!("versionId={}", query_escape(&v)))
                .unwrap_or_default();
            let answer = self
                .send(Method::DELETE, Some(&key), &query, &[], Bytes::new())
                .await?;
            if !answer.is_success() && answer.status != 404 {
                return Err(Error::store_msg(
                    "probe",
                    &key,
                    format!(
                        "removing a probe object answered {}; remove `{key}` by hand",
                        answer.describe()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A scratch folder name no other probe (in this or another process) uses.
fn probe_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "probe-{nanos:x}-{:x}-{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
