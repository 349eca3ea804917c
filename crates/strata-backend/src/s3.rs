//! Options for `s3://bucket/prefix` backends (S3 and S3-compatible stores).
//!
//! [`S3Options`] is always compiled so configuration code does not need `cfg`s; opening an
//! `s3://` URL needs the cargo feature `s3` of strata-backend.
//!
//! Settings are resolved in this order, later wins: the `AWS_*` environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_REGION`, `AWS_ENDPOINT`, …), strata's defaults (below), the
//! explicit fields of [`S3Options`], and finally raw [`S3Options::option`] pairs.
//!
//! Create-only writes are decided atomically by the server, and only where it enforces the
//! conditions (see [`Capabilities`](crate::Capabilities); an `s3://` backend probes its
//! server before its first create-only write):
//! - a create-only put sends `If-None-Match: *` (`aws_conditional_put = etag`);
//! - a create-only upload is uploaded in place and completed with `If-None-Match: *` (nothing
//!   is staged; any size S3 allows);
//! - a create-only copy reads and puts conditionally below the part size, and above it copies
//!   byte ranges part-wise (UploadPartCopy) and completes with `If-None-Match: *`.
//!
//! object_store's own `aws_copy_if_not_exists` is not used for these.

use std::fmt;
use std::time::Duration;

/// How requests address the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Addressing {
    /// `https://endpoint/bucket/key` — what most S3-compatible servers (MinIO, moto, …) expect.
    PathStyle,
    /// `https://bucket.endpoint/key` — AWS's preferred form.
    VirtualHosted,
}

/// Explicit settings for an `s3://` backend; unset fields fall back to the environment.
///
/// ```
/// use strata_backend::S3Options;
/// let options = S3Options::new()
///     .endpoint("http://127.0.0.1:9000")
///     .region("us-east-1")
///     .credentials("test-key", "test-secret")
///     .allow_http(true)
///     .path_style();
/// // Secrets are redacted from debug output.
/// assert!(!format!("{options:?}").contains("test-secret"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Options {
    pub(crate) endpoint: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) access_key_id: Option<String>,
    pub(crate) secret_access_key: Option<String>,
    pub(crate) session_token: Option<String>,
    pub(crate) allow_http: Option<bool>,
    pub(crate) addressing: Option<S3Addressing>,
    pub(crate) max_retries: Option<usize>,
    pub(crate) retry_timeout: Option<Duration>,
    pub(crate) conditional_writes: bool,
    pub(crate) extra: Vec<(String, String)>,
}

impl S3Options {
    /// No explicit settings: everything comes from the environment and strata's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The endpoint URL, e.g. `http://127.0.0.1:9000` for a local S3-compatible server.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The region, e.g. `us-east-1`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// A static access key id and secret access key.
    pub fn credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.access_key_id = Some(access_key_id.into());
        self.secret_access_key = Some(secret_access_key.into());
        self
    }

    /// A session token to go with temporary credentials.
    pub fn session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(token.into());
        self
    }

    /// Allow plain `http://` endpoints (off by default; meant for local test servers).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = Some(allow);
        self
    }

    /// How requests address the bucket.
    pub fn addressing(mut self, addressing: S3Addressing) -> Self {
        self.addressing = Some(addressing);
        self
    }

    /// Shorthand for `addressing(S3Addressing::PathStyle)`.
    pub fn path_style(self) -> Self {
        self.addressing(S3Addressing::PathStyle)
    }

    /// Shorthand for `addressing(S3Addressing::VirtualHosted)`.
    pub fn virtual_hosted_style(self) -> Self {
        self.addressing(S3Addressing::VirtualHosted)
    }

    /// How many times a failed request is retried (default 10; 0 disables retries).
    pub fn max_retries(mut self, retries: usize) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// How long after the first attempt a request may still be retried (default 3 minutes).
    pub fn retry_timeout(mut self, timeout: Duration) -> Self {
        self.retry_timeout = Some(timeout);
        self
    }

    /// Declares that the server enforces `If-None-Match: *` on PutObject and
    /// CompleteMultipartUpload, for a bucket the probe cannot write to: one whose Object Lock
    /// default retention would keep the probe's objects. Where the probe can write, what it
    /// finds wins over this declaration; [`Capabilities`](crate::Capabilities) then say
    /// [`Provenance::Declared`](crate::Provenance::Declared).
    pub fn declare_conditional_writes(mut self, enforced: bool) -> Self {
        self.conditional_writes = enforced;
        self
    }

    /// Any other `object_store` S3 setting by its key (`aws_*` names as in `AWS_*` variables,
    /// lower case), applied last. Unknown keys make opening fail with `InvalidConfig`.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((key.into(), value.into()));
        self
    }
}

impl fmt::Debug for S3Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("S3Options")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &redact(&self.secret_access_key))
            .field("session_token", &redact(&self.session_token))
            .field("allow_http", &self.allow_http)
            .field("addressing", &self.addressing)
            .field("max_retries", &self.max_retries)
            .field("retry_timeout", &self.retry_timeout)
            .field("conditional_writes", &self.conditional_writes)
            .field("extra", &self.extra)
            .finish()
    }
}

/// The HTTP client settings strata's own requests take over from the store's.
#[cfg(feature = "s3")]
const CLIENT_SETTINGS: &[&str] = &[
    "allow_http",
    "allow_invalid_certificates",
    "connect_timeout",
    "default_content_type",
    "http1_only",
    "http2_only",
    "pool_idle_timeout",
    "pool_max_idle_per_host",
    "proxy_url",
    "proxy_ca_certificate",
    "proxy_excludes",
    "timeout",
    "user_agent",
];

/// Server-side encryption settings, and the headers strata's own writes send them in.
#[cfg(feature = "s3")]
const ENCRYPTION_HEADERS: &[(&str, &str)] = &[
    ("aws_server_side_encryption", "x-amz-server-side-encryption"),
    (
        "aws_sse_kms_key_id",
        "x-amz-server-side-encryption-aws-kms-key-id",
    ),
    (
        "aws_sse_bucket_key_enabled",
        "x-amz-server-side-encryption-bucket-key-enabled",
    ),
];

/// Builds the store for `s3://{bucket}/…` (the prefix is applied by the caller), and the
/// handle that probes its server.
#[cfg(feature = "s3")]
pub(crate) fn build_store(
    url: &str,
    bucket: &str,
    options: &S3Options,
    prefix: Option<String>,
) -> crate::Result<(
    std::sync::Arc<dyn object_store::ObjectStore>,
    crate::s3_server::S3Server,
)> {
    use object_store::aws::{
        AmazonS3Builder, AmazonS3ConfigKey, S3ConditionalPut, S3CopyIfNotExists,
    };
    use object_store::ClientConfigKey;

    let invalid = |reason: String| crate::Error::InvalidConfig {
        url: url.to_owned(),
        reason,
    };

    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_conditional_put(S3ConditionalPut::ETagMatch)
        .with_copy_if_not_exists(S3CopyIfNotExists::Multipart);
    if let Some(endpoint) = &options.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(region) = &options.region {
        builder = builder.with_region(region);
    }
    if let Some(key_id) = &options.access_key_id {
        builder = builder.with_access_key_id(key_id);
    }
    if let Some(secret) = &options.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    if let Some(token) = &options.session_token {
        builder = builder.with_token(token);
    }
    if let Some(allow) = options.allow_http {
        builder = builder.with_allow_http(allow);
    }
    if let Some(addressing) = options.addressing {
        builder =
            builder.with_virtual_hosted_style_request(addressing == S3Addressing::VirtualHosted);
    }
    if options.max_retries.is_some() || options.retry_timeout.is_some() {
        let mut retry = object_store::RetryConfig::default();
        if let Some(retries) = options.max_retries {
            retry.max_retries = retries;
        }
        if let Some(timeout) = options.retry_timeout {
            retry.retry_timeout = timeout;
        }
        builder = builder.with_retry(retry);
    }
    for (key, value) in &options.extra {
        let config_key: AmazonS3ConfigKey = key
            .parse()
            .map_err(|e| invalid(format!("unknown S3 option `{key}`: {e}")))?;
        builder = builder.with_config(config_key, value);
    }
    // strata's own requests (the probe, conditional completions, Object Lock) go where
    // object_store's go, the way object_store's go: the same resolved settings.
    let setting = |key: AmazonS3ConfigKey| builder.get_config_value(&key);
    let flag =
        |key: AmazonS3ConfigKey| setting(key).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut client = object_store::ClientOptions::new();
    for name in CLIENT_SETTINGS {
        let Ok(key) = name.parse::<ClientConfigKey>() else {
            continue;
        };
        if let Some(value) = setting(AmazonS3ConfigKey::Client(key)) {
            client = client.with_config(key, value);
        }
    }
    let mut encryption = Vec::new();
    for (name, header) in ENCRYPTION_HEADERS {
        let value = name.parse::<AmazonS3ConfigKey>().ok().and_then(&setting);
        if let Some(value) = value {
            if *name == "aws_server_side_encryption" && value.eq_ignore_ascii_case("sse-c") {
                return Err(invalid(
                    "SSE-C (customer-provided keys) is not supported by strata's own \
                     requests (create-only writes, Object Lock); use SSE-S3 or SSE-KMS"
                        .to_owned(),
                ));
            }
            encryption.push((*header, value));
        }
    }
    let settings = crate::s3_server::ServerSettings {
        url: url.to_owned(),
        bucket: bucket.to_owned(),
        region: setting(AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".to_owned()),
        // object_store prefers the S3-specific endpoint to the generic one.
        endpoint: setting(AmazonS3ConfigKey::S3Endpoint)
            .or_else(|| setting(AmazonS3ConfigKey::Endpoint)),
        virtual_hosted: flag(AmazonS3ConfigKey::VirtualHostedStyleRequest),
        client,
        encryption,
        prefix,
        declared_conditional_writes: options.conditional_writes,
    };
    let store = builder.build().map_err(|e| invalid(e.to_string()))?;
    let server =
        crate::s3_server::S3Server::new(settings, std::sync::Arc::clone(store.credentials()))?;
    Ok((std::sync::Arc::new(store), server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets_but_shows_the_rest() {
        let options = S3Options::new()
            .credentials("AKIDEXAMPLE", "very-secret")
            .session_token("token-secret")
            .endpoint("http://127.0.0.1:1");
        let shown = format!("{options:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(!shown.contains("token-secret"), "{shown}");
        assert!(shown.contains("AKIDEXAMPLE"), "{shown}");
        assert!(shown.contains("127.0.0.1:1"), "{shown}");
    }

    #[cfg(feature = "s3")]
    #[test]
    fn unknown_raw_option_is_a_config_error() {
        let options = S3Options::new().option("no_such_option", "1");
        let err = build_store("s3://bucket", "bucket", &options, None).unwrap_err();
        assert!(
            matches!(&err, crate::Error::InvalidConfig { reason, .. } if reason.contains("no_such_option")),
            "{err}"
        );
    }
}
