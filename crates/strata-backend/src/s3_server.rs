//! Requests `object_store` does not make, signed with the store's own credentials (SigV4
//! through `object_store`'s `AwsAuthorizer`) and sent through its HTTP client: conditional
//! multipart completions and part-wise copies (create-only writes of any size, published
//! atomically), Object Lock retention, and the capability probe (`s3_probe.rs`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use http::Method;
use object_store::aws::{AwsAuthorizer, AwsCredentialProvider};
use object_store::client::{ClientOptions, HttpClient, HttpRequestBody};
use object_store::{MultipartUpload, PutPayload, PutResult, UploadPart};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tokio::sync::OnceCell;

use crate::backend::PutMode;
use crate::capabilities::{Capabilities, Retention, RetentionMode};
use crate::error::{Error, Result};
use crate::multipart::part_size_for;

/// What SigV4 leaves unescaped in a path: unreserved characters and `/`.
const PATH_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// How many times a request is sent when the network fails or the server answers 5xx.
const ATTEMPTS: u32 = 4;

/// An S3 server behind one `s3://bucket/prefix` backend: its address, credentials, and its
/// capabilities once probed.
pub(crate) struct S3Server {
    client: HttpClient,
    credentials: AwsCredentialProvider,
    region: String,
    pub(crate) bucket: String,
    pub(crate) bucket_endpoint: String,
    /// The URL's prefix (an object_store path string), `None` for the bucket root.
    prefix: Option<String>,
    pub(crate) declared_conditional_writes: bool,
    /// Server-side encryption headers the store is configured with, sent on every write.
    encryption: Vec<(&'static str, String)>,
    pub(crate) capabilities: OnceCell<Capabilities>,
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
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) etag: Option<String>,
    lock_mode: Option<String>,
    lock_until: Option<String>,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status) && !self.has_error_body()
    }

    /// S3 may answer CompleteMultipartUpload and CopyObject with `200` and an `<Error>` body.
    fn has_error_body(&self) -> bool {
        self.text().contains("<Error>")
    }

    pub(crate) fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// `"412 PreconditionFailed"`: the status and the S3 error code, if any.
    pub(crate) fn describe(&self) -> String {
        match xml_tag(&self.text(), "Code") {
            Some(code) => format!("{} {code}", self.status),
            None => self.status.to_string(),
        }
    }

    /// The request was refused for its credentials or signature, not for a permission.
    pub(crate) fn is_credential_error(&self) -> bool {
        let text = self.text();
        matches!(
            xml_tag(&text, "Code"),
            Some(
                "SignatureDoesNotMatch"
                    | "InvalidAccessKeyId"
                    | "InvalidToken"
                    | "ExpiredToken"
                    | "AuthorizationHeaderMalformed"
            )
        ) || xml_tag(&text, "Message").is_some_and(|m| {
            // Servers that answer AccessDenied for these too (Garage) say so in the message.
            let m = m.to_ascii_lowercase();
            m.contains("signature") || m.contains("no such key")
        })
    }

    pub(crate) fn is_precondition_failed(&self) -> bool {
        self.status == 412 || xml_tag(&self.text(), "Code") == Some("PreconditionFailed")
    }
}

/// The text of the first `<tag>…</tag>` in `xml`.
pub(crate) fn xml_tag<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(&xml[start..end])
}

/// The bodies of every `<tag>…</tag>` element in `xml`, in order.
pub(crate) fn xml_elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
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

/// Text of an XML element: the five named entities and numeric character references.
pub(crate) fn xml_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(end) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) fn query_escape(s: &str) -> String {
    const QUERY_ESCAPE: &AsciiSet = &PATH_ESCAPE.add(b'/');
    utf8_percent_encode(s, QUERY_ESCAPE).to_string()
}

/// Base64 of the MD5 of `body`: the `Content-MD5` S3 requires on Object Lock requests.
fn content_md5(body: &[u8]) -> String {
    use base64::Engine as _;
    use md5::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body))
}

/// A retain-until date as S3 wants it, rounded up to the next whole second (so a retention
/// is never shorter than asked); an error for a date S3 cannot hold.
pub(crate) fn retain_until_text(key: &str, until: SystemTime) -> Result<String> {
    crate::capabilities::retain_until(until).ok_or_else(|| {
        Error::store_msg(
            "retention",
            key,
            "the retain-until date is out of range (before 1970 or after 9999)",
        )
    })
}

fn lock_headers(key: &str, retention: &Retention) -> Result<[(&'static str, String); 2]> {
    Ok([
        ("x-amz-object-lock-mode", retention.mode.as_s3().to_owned()),
        (
            "x-amz-object-lock-retain-until-date",
            retain_until_text(key, retention.until)?,
        ),
    ])
}

/// Settings taken from the `object_store` builder before it is built.
pub(crate) struct ServerSettings {
    pub(crate) url: String,
    pub(crate) bucket: String,
    pub(crate) region: String,
    pub(crate) endpoint: Option<String>,
    pub(crate) virtual_hosted: bool,
    pub(crate) client: ClientOptions,
    pub(crate) encryption: Vec<(&'static str, String)>,
    pub(crate) prefix: Option<String>,
    pub(crate) declared_conditional_writes: bool,
}

impl S3Server {
    pub(crate) fn new(
        settings: ServerSettings,
        credentials: AwsCredentialProvider,
    ) -> Result<Self> {
        use object_store::client::{HttpConnector, ReqwestConnector};
        let ServerSettings {
            url,
            bucket,
            region,
            endpoint,
            virtual_hosted,
            client,
            encryption,
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
        let client =
            ReqwestConnector::default()
                .connect(&client)
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
            encryption,
            capabilities: OnceCell::new(),
        })
    }

    /// The full object path of `key` (relative to the backend's prefix).
    pub(crate) fn full_path(&self, key: &str) -> String {
        match &self.prefix {
            Some(prefix) => format!("{prefix}/{key}"),
            None => key.to_owned(),
        }
    }

    /// Sends one signed request (`path` is a full object path, `None` for the bucket),
    /// again after a network failure or a 5xx answer, up to [`ATTEMPTS`] times.
    pub(crate) async fn send<B>(
        &self,
        method: Method,
        path: Option<&str>,
        query: &str,
        headers: &[(&str, String)],
        body: B,
    ) -> Result<Answer>
    where
        B: Into<HttpRequestBody> + Clone,
    {
        let mut attempt = 1;
        loop {
            let sent = self
                .send_once(method.clone(), path, query, headers, body.clone())
                .await;
            let retry = match &sent {
                Err(_) => true,
                Ok(answer) => matches!(answer.status, 500 | 502 | 503 | 504),
            };
            if !retry || attempt >= ATTEMPTS {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            attempt += 1;
        }
    }

    async fn send_once(
        &self,
        method: Method,
        path: Option<&str>,
        query: &str,
        headers: &[(&str, String)],
        body: impl Into<HttpRequestBody>,
    ) -> Result<Answer> {
        let fail = |reason: String| match path {
            Some(path) => Error::store_msg("s3 request", path, reason),
            None => Error::store_msg("s3 request", &self.bucket, format!("bucket: {reason}")),
        };
        let mut uri = self.bucket_endpoint.clone();
        if let Some(path) = path {
            uri.push('/');
            uri.extend(utf8_percent_encode(path, PATH_ESCAPE));
        }
        if !query.is_empty() {
            uri.push('?');
            uri.push_str(query);
        }
        let body: HttpRequestBody = body.into();
        let mut builder = http::Request::builder()
            .method(method)
            .uri(&uri)
            .header("content-length", body.content_length());
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        let mut request = builder
            .body(body)
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

    pub(crate) async fn put(
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

    pub(crate) async fn get_body(&self, path: &str) -> Result<Bytes> {
        let answer = self
            .send(Method::GET, Some(path), "", &[], Bytes::new())
            .await?;
        if answer.is_success() {
            Ok(answer.body)
        } else {
            Err(Error::store_msg("get", path, answer.describe()))
        }
    }

    /// Starts a multipart upload of a full path; returns its id.
    pub(crate) async fn start_upload(
        &self,
        path: &str,
        headers: &[(&str, String)],
    ) -> Result<String> {
        let answer = self
            .send(Method::POST, Some(path), "uploads", headers, Bytes::new())
            .await?;
        match xml_tag(&answer.text(), "UploadId") {
            Some(id) if answer.is_success() => Ok(xml_unescape(id)),
            _ => Err(Error::store_msg(
                "upload",
                path,
                format!("CreateMultipartUpload answered {}", answer.describe()),
            )),
        }
    }

    pub(crate) async fn upload_part(
        &self,
        path: &str,
        upload_id: &str,
        number: u32,
        data: impl Into<HttpRequestBody> + Clone,
        headers: &[(&str, String)],
    ) -> Result<Answer> {
        let query = format!("partNumber={number}&uploadId={}", query_escape(upload_id));
        self.send(Method::PUT, Some(path), &query, headers, data)
            .await
    }

    pub(crate) async fn complete(
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

    /// Aborts an upload; an upload already gone counts as aborted.
    pub(crate) async fn abort(&self, path: &str, upload_id: &str) -> Result<()> {
        let query = format!("uploadId={}", query_escape(upload_id));
        let answer = self
            .send(Method::DELETE, Some(path), &query, &[], Bytes::new())
            .await?;
        if answer.is_success() || answer.status == 404 {
            Ok(())
        } else {
            Err(Error::store_msg(
                "upload abort",
                path,
                format!("AbortMultipartUpload answered {}", answer.describe()),
            ))
        }
    }

    /// `x-amz-copy-source` for a full object path.
    pub(crate) fn copy_source(&self, path: &str) -> String {
        format!(
            "/{}/{}",
            self.bucket,
            utf8_percent_encode(path, PATH_ESCAPE)
        )
    }

    /// The headers of a write: encryption, and the lock for a retention.
    fn write_headers(
        &self,
        key: &str,
        retention: Option<&Retention>,
    ) -> Result<Vec<(&'static str, String)>> {
        let mut headers = self.encryption.clone();
        if let Some(retention) = retention {
            headers.extend(lock_headers(key, retention)?);
        }
        Ok(headers)
    }

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
        let mut headers = self.write_headers(key, Some(retention))?;
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

    /// The object's retention, read from its headers (`HEAD`). Without the permission to
    /// read retention (`s3:GetObjectRetention`) S3 leaves the headers out, and this says
    /// `None`.
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
        let Some(date) = answer.lock_until.as_deref() else {
            return Ok(None);
        };
        let until = chrono::DateTime::parse_from_rfc3339(date)
            .map(SystemTime::from)
            .map_err(|e| {
                Error::store_msg(
                    "retention",
                    key,
                    format!("unreadable retain-until date `{date}`: {e}"),
                )
            })?;
        Ok(mode.map(|mode| Retention { mode, until }))
    }

    /// Sets the object's retention (`PutObjectRetention`).
    pub(crate) async fn put_retention(&self, key: &str, retention: &Retention) -> Result<()> {
        let path = self.full_path(key);
        let body = format!(
            "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>{}</Mode>\
             <RetainUntilDate>{}</RetainUntilDate></Retention>",
            retention.mode.as_s3(),
            retain_until_text(key, retention.until)?
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

    /// Makes sure `key` carries at least `retention` after a completed upload or copy: the
    /// lock headers were sent when the upload started, but not every server applies them to
    /// multipart objects.
    async fn ensure_retention(&self, key: &str, retention: &Retention) -> Result<()> {
        let wanted = retain_until_text(key, retention.until)?;
        if let Some(current) = self.retention(key).await? {
            let as_strong =
                current.mode == retention.mode || current.mode == RetentionMode::Compliance;
            // Same format, whole seconds, UTC: the text orders as the time does.
            if as_strong && retain_until_text(key, current.until)? >= wanted {
                return Ok(());
            }
        }
        self.put_retention(key, retention).await
    }

    /// Starts a multipart upload of `key` written straight to its place, completed with
    /// `If-None-Match: *` when create-only and locked from its start when a retention is
    /// asked: nothing is staged, and the object appears whole at completion.
    pub(crate) async fn start_multipart(
        self: &Arc<Self>,
        key: &str,
        mode: PutMode,
        retention: Option<Retention>,
    ) -> Result<RawMultipart> {
        let path = self.full_path(key);
        let headers = self.write_headers(key, retention.as_ref())?;
        let upload_id = self.start_upload(&path, &headers).await?;
        Ok(RawMultipart {
            server: Arc::clone(self),
            key: key.to_owned(),
            path,
            upload_id,
            mode,
            retention,
            etags: Arc::new(Mutex::new(BTreeMap::new())),
            parts: 0,
        })
    }

    /// Copies `from` (of `size` bytes) to `to` part-wise on the server (UploadPartCopy of
    /// byte ranges, so any size S3 allows), completed with `If-None-Match: *` when
    /// create-only and locked from its start when a retention is asked.
    pub(crate) async fn copy_multipart(
        self: &Arc<Self>,
        from: &str,
        to: &str,
        size: u64,
        part_size: u64,
        mode: PutMode,
        retention: Option<Retention>,
    ) -> Result<()> {
        let mut upload = self.start_multipart(to, mode, retention).await?;
        let source = self.copy_source(&self.full_path(from));
        let copied = async {
            let mut start = 0;
            let mut index = 0;
            while start < size {
                let end = (start + part_size_for(part_size, index)).min(size);
                let headers = [
                    ("x-amz-copy-source", source.clone()),
                    (
                        "x-amz-copy-source-range",
                        format!("bytes={start}-{}", end - 1),
                    ),
                ];
                let number = upload.next_number();
                let answer = self
                    .upload_part(
                        &upload.path,
                        &upload.upload_id,
                        number,
                        Bytes::new(),
                        &headers,
                    )
                    .await?;
                let etag = xml_tag(&answer.text(), "ETag").map(xml_unescape);
                match etag.filter(|_| answer.is_success()) {
                    Some(etag) => upload.record(number, etag),
                    None if answer.status == 404 => {
                        return Err(Error::NotFound {
                            key: from.to_owned(),
                        })
                    }
                    None => {
                        return Err(Error::store_msg(
                            "copy",
                            from,
                            format!("UploadPartCopy answered {}", answer.describe()),
                        ))
                    }
                }
                start = end;
                index += 1;
            }
            upload.finish().await
        }
        .await;
        if copied.is_err() {
            if let Err(e) = self.abort(&upload.path, &upload.upload_id).await {
                tracing::warn!(key = to, error = %e, "could not abort a failed copy");
            }
        }
        copied
    }
}

/// A multipart upload driven by [`S3Server`]'s own requests (see
/// [`S3Server::start_multipart`]); an `object_store` [`MultipartUpload`], so strata's part
/// writer drives it like object_store's own.
#[derive(Debug)]
pub(crate) struct RawMultipart {
    server: Arc<S3Server>,
    key: String,
    path: String,
    upload_id: String,
    mode: PutMode,
    retention: Option<Retention>,
    /// Part number → ETag, filled as parts finish.
    etags: Arc<Mutex<BTreeMap<u32, String>>>,
    parts: u32,
}

fn store_error(err: Error) -> object_store::Error {
    match err {
        Error::AlreadyExists { key } => object_store::Error::AlreadyExists {
            path: key,
            source: "the key was taken (If-None-Match: * at completion)".into(),
        },
        other => object_store::Error::Generic {
            store: "S3",
            source: Box::new(other),
        },
    }
}

impl RawMultipart {
    fn next_number(&mut self) -> u32 {
        self.parts += 1;
        self.parts
    }

    fn record(&self, number: u32, etag: String) {
        self.etags
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(number, etag);
    }

    /// Completes the upload (conditionally for create-only) and makes sure of its retention.
    async fn finish(&mut self) -> Result<()> {
        let etags: Vec<String> = {
            let etags = self.etags.lock().unwrap_or_else(PoisonError::into_inner);
            if etags.len() != self.parts as usize {
                return Err(Error::store_msg(
                    "upload",
                    &self.key,
                    format!("{} of {} parts were uploaded", etags.len(), self.parts),
                ));
            }
            etags.values().cloned().collect()
        };
        let mut headers = Vec::new();
        if self.mode == PutMode::CreateOnly {
            headers.push(("if-none-match", "*".to_owned()));
        }
        let answer = self
            .server
            .complete(&self.path, &self.upload_id, &etags, &headers)
            .await?;
        if answer.is_precondition_failed() {
            return Err(Error::AlreadyExists {
                key: self.key.clone(),
            });
        }
        if !answer.is_success() {
            return Err(Error::store_msg(
                "upload",
                &self.key,
                format!("CompleteMultipartUpload answered {}", answer.describe()),
            ));
        }
        if let Some(retention) = &self.retention {
            self.server.ensure_retention(&self.key, retention).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl MultipartUpload for RawMultipart {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let number = self.next_number();
        let server = Arc::clone(&self.server);
        let path = self.path.clone();
        let upload_id = self.upload_id.clone();
        let etags = Arc::clone(&self.etags);
        Box::pin(async move {
            let answer = server
                .upload_part(&path, &upload_id, number, data, &[])
                .await
                .map_err(store_error)?;
            match answer.etag.clone().filter(|_| answer.is_success()) {
                Some(etag) => {
                    etags
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(number, etag);
                    Ok(())
                }
                None => Err(store_error(Error::store_msg(
                    "upload",
                    &path,
                    format!("UploadPart {number} answered {}", answer.describe()),
                ))),
            }
        })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.finish().await.map_err(store_error)?;
        Ok(PutResult {
            e_tag: None,
            version: None,
            extensions: Default::default(),
        })
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.server
            .abort(&self.path, &self.upload_id)
            .await
            .map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_read_as_s3_writes_it() {
        let xml = "<R><Key>a&amp;b</Key><VersionId>1</VersionId><Key>c</Key></R>";
        assert_eq!(xml_elements(xml, "Key"), ["a&amp;b", "c"]);
        assert_eq!(xml_tag(xml, "VersionId"), Some("1"));
        assert_eq!(
            xml_unescape("a&amp;b&#x41;&#66;&lt;&bogus;&"),
            "a&bAB<&bogus;&"
        );
        assert_eq!(xml_tag(xml, "Missing"), None);
    }

    #[test]
    fn paths_are_escaped_as_sigv4_wants() {
        let escaped = utf8_percent_encode("a b/ü~x", PATH_ESCAPE).to_string();
        assert_eq!(escaped, "a%20b/%C3%BC~x");
        assert_eq!(query_escape("p/q r"), "p%2Fq%20r");
    }

    #[test]
    fn retain_until_dates_round_up_and_refuse_what_s3_cannot_hold() {
        let at = |secs: u64, nanos: u32| std::time::UNIX_EPOCH + Duration::new(secs, nanos);
        assert_eq!(
            retain_until_text("k", at(2_000_000_000, 0)).unwrap(),
            "2033-05-18T03:33:20Z"
        );
        assert_eq!(
            retain_until_text("k", at(2_000_000_000, 1)).unwrap(),
            "2033-05-18T03:33:21Z"
        );
        assert!(retain_until_text("k", at(400_000_000_000, 0)).is_err());
        assert!(retain_until_text("k", std::time::UNIX_EPOCH - Duration::from_secs(1)).is_err());
    }
}
