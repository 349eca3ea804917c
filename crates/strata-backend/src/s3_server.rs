//! Requests `object_store` does not make: probing an S3 server's [`Capabilities`], signed
//! with the store's own credentials (SigV4 through `object_store`'s `AwsAuthorizer`) and
//! sent through its HTTP client.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::Method;
use object_store::aws::{AwsAuthorizer, AwsCredentialProvider};
use object_store::client::{HttpClient, HttpRequestBody};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tokio::sync::OnceCell;

use crate::backend::PutMode;
use crate::capabilities::{
    rfc3339, Accepts, Capabilities, ObjectLock, Provenance, Retention, RetentionMode, Support,
};
use crate::error::{Error, Result};
use crate::key::STAGING_DIR;

/// What SigV4 leaves unescaped in a path: unreserved characters and `/`.
const PATH_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// An S3 server behind one `s3://bucket/prefix` backend: its address, credentials, and its
/// capabilities once probed.
pub(crate) struct S3Server {
    client: HttpClient,
    credentials: AwsCredentialProvider,
    region: String,
    bucket: String,
    bucket_endpoint: String,
    /// The URL's prefix (an object_store path string), `None` for the bucket root.
    prefix: Option<String>,
    declared_conditional_writes: bool,
    capabilities: OnceCell<Capabilities>,
}

impl std::fmt::Debug for S3Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Server")
            .field("bucket_endpoint", &self.bucket_endpoint)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// One answer: status, the headers strata reads, and the body.
#[derive(Debug)]
struct Answer {
    status: u16,
    etag: Option<String>,
    lock_mode: Option<String>,
    lock_until: Option<String>,
    body: Bytes,
}

impl Answer {
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status) && !self.has_error_body()
    }

    /// S3 may answer CompleteMultipartUpload and CopyObject with `200` and an `<Error>` body.
    fn has_error_body(&self) -> bool {
        self.text().contains("<Error>")
    }

    fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// `"412 PreconditionFailed"`: the status and the S3 error code, if any.
    fn describe(&self) -> String {
        match xml_tag(&self.text(), "Code") {
            Some(code) => format!("{} {code}", self.status),
            None => self.status.to_string(),
        }
    }

    fn is_precondition_failed(&self) -> bool {
        self.status == 412 || xml_tag(&self.text(), "Code") == Some("PreconditionFailed")
    }
}

/// The text of the first `<tag>…</tag>` in `xml`.
fn xml_tag<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(&xml[start..end])
}

/// Every `<tag>…</tag>` text in `xml`, in order.
fn xml_tags<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    out
}

/// Settings taken from the `object_store` builder before it is built.
pub(crate) struct ServerSettings {
    pub(crate) url: String,
    pub(crate) bucket: String,
    pub(crate) region: String,
    pub(crate) endpoint: Option<String>,
    pub(crate) virtual_hosted: bool,
    pub(crate) allow_http: bool,
    pub(crate) prefix: Option<String>,
    pub(crate) declared_conditional_writes: bool,
}

impl S3Server {
    pub(crate) fn new(
        settings: ServerSettings,
        credentials: AwsCredentialProvider,
    ) -> Result<Self> {
        use object_store::client::{ClientOptions, HttpConnector, ReqwestConnector};
        let ServerSettings {
            url,
            bucket,
            region,
            endpoint,
            virtual_hosted,
            allow_http,
            prefix,
            declared_conditional_writes,
        } = settings;
        // The same rule object_store applies to find the bucket's address.
        let bucket_endpoint = match (endpoint, virtual_hosted) {
            (Some(endpoint), true) => endpoint,
            (Some(endpoint), false) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
            (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
            (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
        };
        let options = ClientOptions::new()
            .with_allow_http(allow_http)
            .with_timeout(Duration::from_secs(60));
        let client =
            ReqwestConnector::default()
                .connect(&options)
                .map_err(|e| Error::InvalidConfig {
                    url: url.clone(),
                    reason: e.to_string(),
                })?;
        Ok(Self {
            client,
            credentials,
            region,
            bucket,
            bucket_endpoint: bucket_endpoint.trim_end_matches('/').to_owned(),
            prefix,
            declared_conditional_writes,
            capabilities: OnceCell::new(),
        })
    }

    /// The capabilities, probed at the first call (later calls reuse the answer).
    pub(crate) async fn capabilities(&self) -> Result<Capabilities> {
        self.capabilities
            .get_or_try_init(|| self.probe())
            .await
            .cloned()
    }

    /// The full object path of `key` (relative to the backend's prefix).
    fn full_path(&self, key: &str) -> String {
        match &self.prefix {
            Some(prefix) => format!("{prefix}/{key}"),
            None => key.to_owned(),
        }
    }

    /// Sends one signed request. `path` is a full object path, or `None` for the bucket.
    async fn send(
        &self,
        method: Method,
        path: Option<&str>,
        query: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<Answer> {
        let op = "probe";
        let fail = |reason: String| Error::store_msg(op, path.unwrap_or(""), reason);
        let mut uri = self.bucket_endpoint.clone();
        if let Some(path) = path {
            uri.push('/');
            uri.extend(utf8_percent_encode(path, PATH_ESCAPE));
        }
        if !query.is_empty() {
            uri.push('?');
            uri.push_str(query);
        }
        let mut builder = http::Request::builder().method(method).uri(&uri);
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        let mut request = builder
            .body(HttpRequestBody::from(body))
            .map_err(|e| fail(format!("building the request to {uri}: {e}")))?;
        let credential = self
            .credentials
            .get_credential()
            .await
            .map_err(|e| fail(format!("credentials: {e}")))?;
        AwsAuthorizer::new(&credential, "s3", &self.region)
            .with_sign_payload(false)
            .try_authorize(&mut request, None)
            .map_err(|e| fail(format!("signing: {e}")))?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| fail(format!("{uri}: {e}")))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header("etag");
        let lock_mode = header("x-amz-object-lock-mode");
        let lock_until = header("x-amz-object-lock-retain-until-date");
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| fail(format!("reading the answer from {uri}: {e}")))?;
        Ok(Answer {
            status,
            etag,
            lock_mode,
            lock_until,
            body,
        })
    }

    async fn put(
        &self,
        path: &str,
        data: &'static [u8],
        headers: &[(&str, String)],
    ) -> Result<Answer> {
        self.send(
            Method::PUT,
            Some(path),
            "",
            headers,
            Bytes::from_static(data),
        )
        .await
    }

    async fn get_body(&self, path: &str) -> Result<Bytes> {
        let answer = self
            .send(Method::GET, Some(path), "", &[], Bytes::new())
            .await?;
        if answer.is_success() {
            Ok(answer.body)
        } else {
            Err(Error::store_msg("probe", path, answer.describe()))
        }
    }

    async fn start_upload(&self, path: &str) -> Result<String> {
        let answer = self
            .send(Method::POST, Some(path), "uploads", &[], Bytes::new())
            .await?;
        match xml_tag(&answer.text(), "UploadId") {
            Some(id) if answer.is_success() => Ok(id.to_owned()),
            _ => Err(Error::store_msg(
                "probe",
                path,
                format!("CreateMultipartUpload answered {}", answer.describe()),
            )),
        }
    }

    async fn upload_part(
        &self,
        path: &str,
        upload_id: &str,
        number: u32,
        data: Bytes,
        headers: &[(&str, String)],
    ) -> Result<Answer> {
        let query = format!("partNumber={number}&uploadId={}", query_escape(upload_id));
        self.send(Method::PUT, Some(path), &query, headers, data)
            .await
    }

    async fn complete(
        &self,
        path: &str,
        upload_id: &str,
        etags: &[String],
        headers: &[(&str, String)],
    ) -> Result<Answer> {
        let mut body = String::from("<CompleteMultipartUpload>");
        for (i, etag) in etags.iter().enumerate() {
            body.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                i + 1,
                xml_escape(etag)
            ));
        }
        body.push_str("</CompleteMultipartUpload>");
        let query = format!("uploadId={}", query_escape(upload_id));
        self.send(Method::POST, Some(path), &query, headers, Bytes::from(body))
            .await
    }

    async fn abort(&self, path: &str, upload_id: &str) {
        let query = format!("uploadId={}", query_escape(upload_id));
        if let Err(e) = self
            .send(Method::DELETE, Some(path), &query, &[], Bytes::new())
            .await
        {
            tracing::warn!(path, error = %e, "could not abort a probe upload");
        }
    }

    /// `x-amz-copy-source` for a full object path.
    fn copy_source(&self, path: &str) -> String {
        format!(
            "/{}/{}",
            self.bucket,
            utf8_percent_encode(path, PATH_ESCAPE)
        )
    }

    async fn probe_object_lock(&self) -> ObjectLock {
        let answer = match self
            .send(Method::GET, None, "object-lock", &[], Bytes::new())
            .await
        {
            Ok(answer) => answer,
            Err(e) => return ObjectLock::Unknown(e.to_string()),
        };
        let text = answer.text();
        if answer.is_success() {
            if xml_tag(&text, "ObjectLockEnabled") != Some("Enabled") {
                return ObjectLock::Disabled;
            }
            let mode = xml_tag(&text, "Mode").and_then(RetentionMode::from_s3);
            let days = xml_tag(&text, "Days")
                .and_then(|d| d.trim().parse::<u32>().ok())
                .or_else(|| {
                    xml_tag(&text, "Years")
                        .and_then(|y| y.trim().parse::<u32>().ok())
                        .map(|y| y.saturating_mul(365))
                });
            return ObjectLock::Enabled {
                default_retention: mode.zip(days),
            };
        }
        match xml_tag(&text, "Code") {
            Some("ObjectLockConfigurationNotFoundError") => ObjectLock::Disabled,
            _ if matches!(answer.status, 400 | 403 | 404 | 405 | 501) => {
                ObjectLock::Unsupported(answer.describe())
            }
            _ => ObjectLock::Unknown(answer.describe()),
        }
    }

    /// Probes the server under a scratch folder of the staging area (hidden from listings,
    /// removed afterwards, and purged by `purge_staging` should removal fail).
    async fn probe(&self) -> Result<Capabilities> {
        let object_lock = self.probe_object_lock().await;
        let scratch = self.full_path(&format!("{STAGING_DIR}/{}", probe_id()));
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
        if let ObjectLock::Enabled {
            default_retention: Some((mode, days)),
        } = &object_lock
        {
            // Every probe object would be kept by the server for that long.
            let why = format!(
                "not probed: the bucket's default retention ({} {days} days) would keep the \
                 probe's objects; S3Options::declare_conditional_writes declares what the \
                 server enforces",
                mode.as_s3()
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
        let outcome = self.probe_writes(&scratch, &mut caps).await;
        let cleaned = self.clean(&scratch, object_lock.is_enabled()).await;
        outcome?;
        cleaned?;
        Ok(caps)
    }

    async fn probe_writes(&self, scratch: &str, caps: &mut Capabilities) -> Result<()> {
        let inm = || [("if-none-match", "*".to_owned())];
        let source = format!("{scratch}/source");
        let answer = self.put(&source, b"0123456789abcdef", &[]).await?;
        if !answer.is_success() {
            return Err(Error::store_msg(
                "probe",
                &source,
                format!("a plain PutObject answered {}", answer.describe()),
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
        let id = self.start_upload(&racing).await?;
        let part = self
            .upload_part(&racing, &id, 1, Bytes::from_static(b"from the upload"), &[])
            .await?;
        let part_ok = part.is_success();
        caps.conditional_complete = match part.etag.clone().filter(|_| part_ok) {
            Some(etag) => {
                let answer = self.complete(&racing, &id, &[etag], &inm()).await?;
                let outcome = self.condition_outcome(&answer, &racing, b"first").await;
                if !answer.is_success() {
                    self.abort(&racing, &id).await;
                }
                outcome
            }
            None => {
                self.abort(&racing, &id).await;
                Support::Unknown(format!("UploadPart answered {}", part.describe()))
            }
        };

        // 3. CopyObject with If-None-Match: * onto an existing key.
        let copied = format!("{scratch}/copied");
        self.put(&copied, b"first", &[]).await?;
        let mut headers = inm().to_vec();
        headers.push(("x-amz-copy-source", self.copy_source(&source)));
        let answer = self.put(&copied, b"", &headers).await?;
        caps.conditional_copy = self.condition_outcome(&answer, &copied, b"first").await;

        // 4. Tiny parts, an empty part and a copy of a tiny object as a part.
        let parts = format!("{scratch}/parts");
        let id = self.start_upload(&parts).await?;
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
            if !answer.is_success() {
                self.abort(&parts, &id).await;
            }
        } else {
            self.abort(&parts, &id).await;
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

    /// Removes everything under `scratch` (every version, on a versioned bucket).
    async fn clean(&self, scratch: &str, versioned: bool) -> Result<()> {
        let prefix = format!("{scratch}/");
        let listing = if versioned {
            format!("versions&prefix={}", query_escape(&prefix))
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
        let keys = xml_tags(&text, "Key");
        let versions = xml_tags(&text, "VersionId");
        for (i, key) in keys.iter().enumerate() {
            let key = xml_unescape(key);
            let query = match versions.get(i).filter(|_| versioned) {
                Some(version) => format!("versionId={}", query_escape(version)),
                None => String::new(),
            };
            let answer = self
                .send(Method::DELETE, Some(&key), &query, &[], Bytes::new())
                .await?;
            if !answer.is_success() {
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

/// Base64 of the MD5 of `body`: the `Content-MD5` S3 requires on Object Lock requests.
fn content_md5(body: &[u8]) -> String {
    use base64::Engine as _;
    use md5::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body))
}

fn lock_headers(retention: &Retention) -> [(&'static str, String); 2] {
    [
        ("x-amz-object-lock-mode", retention.mode.as_s3().to_owned()),
        (
            "x-amz-object-lock-retain-until-date",
            rfc3339(retention.until),
        ),
    ]
}

impl S3Server {
    /// Puts `data` under `key` (relative to the prefix) with its retention set by the put
    /// itself, so the object never exists unlocked.
    pub(crate) async fn put_locked(
        &self,
        key: &str,
        data: Bytes,
        mode: PutMode,
        retention: &Retention,
    ) -> Result<()> {
        let path = self.full_path(key);
        let mut headers = lock_headers(retention).to_vec();
        headers.push(("content-md5", content_md5(&data)));
        if mode == PutMode::CreateOnly {
            headers.push(("if-none-match", "*".to_owned()));
        }
        let answer = self
            .send(Method::PUT, Some(&path), "", &headers, data)
            .await?;
        if answer.is_success() {
            Ok(())
        } else if answer.is_precondition_failed() {
            Err(Error::AlreadyExists {
                key: key.to_owned(),
            })
        } else {
            Err(Error::store_msg(
                "put",
                key,
                format!(
                    "a PutObject with Object Lock answered {}",
                    answer.describe()
                ),
            ))
        }
    }

    /// The object's retention, read from its headers (`HEAD`).
    pub(crate) async fn retention(&self, key: &str) -> Result<Option<Retention>> {
        let path = self.full_path(key);
        let answer = self
            .send(Method::HEAD, Some(&path), "", &[], Bytes::new())
            .await?;
        if answer.status == 404 {
            return Err(Error::NotFound {
                key: key.to_owned(),
            });
        }
        if !answer.is_success() {
            return Err(Error::store_msg(
                "retention",
                key,
                format!("HEAD answered {}", answer.describe()),
            ));
        }
        let mode = answer.lock_mode.as_deref().and_then(RetentionMode::from_s3);
        let until = answer.lock_until.as_deref().map(|date| {
            chrono::DateTime::parse_from_rfc3339(date)
                .map(std::time::SystemTime::from)
                .map_err(|e| {
                    Error::store_msg(
                        "retention",
                        key,
                        format!("unreadable retain-until date `{date}`: {e}"),
                    )
                })
        });
        match (mode, until) {
            (Some(mode), Some(until)) => Ok(Some(Retention {
                mode,
                until: until?,
            })),
            _ => Ok(None),
        }
    }

    /// Sets the object's retention (`PutObjectRetention`).
    pub(crate) async fn put_retention(&self, key: &str, retention: &Retention) -> Result<()> {
        let path = self.full_path(key);
        let body = format!(
            "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>{}</Mode>\
             <RetainUntilDate>{}</RetainUntilDate></Retention>",
            retention.mode.as_s3(),
            rfc3339(retention.until)
        );
        let headers = [("content-md5", content_md5(body.as_bytes()))];
        let answer = self
            .send(
                Method::PUT,
                Some(&path),
                "retention",
                &headers,
                Bytes::from(body),
            )
            .await?;
        if answer.is_success() {
            Ok(())
        } else {
            Err(Error::store_msg(
                "retention",
                key,
                format!("PutObjectRetention answered {}", answer.describe()),
            ))
        }
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

fn query_escape(s: &str) -> String {
    const QUERY_ESCAPE: &AsciiSet = &PATH_ESCAPE.add(b'/');
    utf8_percent_encode(s, QUERY_ESCAPE).to_string()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xml_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_tags_are_found_in_order() {
        let xml = "<R><Key>a&amp;b</Key><VersionId>1</VersionId><Key>c</Key></R>";
        assert_eq!(xml_tags(xml, "Key"), ["a&amp;b", "c"]);
        assert_eq!(xml_tag(xml, "VersionId"), Some("1"));
        assert_eq!(xml_unescape("a&amp;b"), "a&b");
        assert_eq!(xml_tag(xml, "Missing"), None);
    }

    #[test]
    fn paths_are_escaped_as_sigv4_wants() {
        let escaped = utf8_percent_encode("a b/ü~x", PATH_ESCAPE).to_string();
        assert_eq!(escaped, "a%20b/%C3%BC~x");
        assert_eq!(query_escape("p/q r"), "p%2Fq%20r");
    }
}
