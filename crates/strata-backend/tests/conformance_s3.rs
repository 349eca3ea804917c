//! The shared conformance suite on `s3://`, against a real S3-protocol server: moto's
//! standalone server (`pip install 'moto[server]'`), started here on a free loopback port.
//!
//! Nothing is skipped silently: if moto cannot be started the tests fail and say how to
//! install it. Set `STRATA_SKIP_S3=1` to skip them on purpose (they then say so loudly).
//! `STRATA_PYTHON` picks the Python interpreter (default `python3`); `STRATA_MOTO_LOG=dir`
//! keeps moto's access logs there.
#![cfg(all(feature = "s3", feature = "conformance"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use strata_backend::prelude::*;
use strata_backend::{conformance, BackendKind, OpenOptions, S3Options};

const BUCKET: &str = "strata-conformance";
const INSTALL_HINT: &str = "the S3 conformance tests need moto's S3 server: install it with \
     `python3 -m pip install 'moto[server]'` (tested with moto 5.2.1), or set STRATA_SKIP_S3=1 \
     to skip these tests explicitly";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts moto's server (`python -m moto.server ARGS`), with one fix to moto itself: moto 5.2.1
/// computes an object's ETag lazily from its value buffer without taking the key's lock, so a
/// GET racing the first ETag read of a new object moves the buffer's position under the reader
/// and is answered with an empty body — a defect of the mock, not of the S3 protocol, that made
/// `atomic_put_visibility` fail in about a third of runs here. The fix takes the key's lock
/// around the ETag computation, as moto's own value getter does.
const MOTO_WITH_ETAG_FIX: &str = "\
import sys
import moto.s3.models as models
_etag = models.FakeKey.etag.fget
def _locked_etag(self):
    with self.lock:
        return _etag(self)
models.FakeKey.etag = property(_locked_etag)
from moto.server import main
main(sys.argv[1:])
";

/// A moto server child process on 127.0.0.1; killed when dropped.
struct MotoServer {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
}

impl MotoServer {
    /// Starts moto (retrying with another port if the first one was taken meanwhile).
    fn start() -> Result<Self, String> {
        let python = std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let probe = Command::new(&python)
            .args([
                "-c",
                "import moto, moto.server, flask; print(moto.__version__)",
            ])
            .output()
            .map_err(|e| format!("cannot run `{python}`: {e}"))?;
        if !probe.status.success() {
            return Err(format!(
                "`{python}` cannot import moto's server: {}",
                String::from_utf8_lossy(&probe.stderr).trim()
            ));
        }
        let version = String::from_utf8_lossy(&probe.stdout).trim().to_owned();
        let mut last_error = String::new();
        for _attempt in 0..3 {
            match Self::spawn(&python) {
                Ok(server) => {
                    println!(
                        "moto {version} S3 server listening on 127.0.0.1:{}",
                        server.port
                    );
                    return Ok(server);
                }
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    fn spawn(python: &str) -> Result<Self, String> {
        let port = free_port()?;
        let log = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
        let stdout = log.reopen().map_err(|e| e.to_string())?;
        let stderr = log.reopen().map_err(|e| e.to_string())?;
        let child = Command::new(python)
            .args([
                "-c",
                MOTO_WITH_ETAG_FIX,
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start moto's server with `{python}`: {e}"))?;
        let mut server = Self { child, port, log };
        server.wait_until_listening()?;
        Ok(server)
    }

    fn wait_until_listening(&mut self) -> Result<(), String> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "moto exited ({status}) before listening on port {}; its output:\n{}",
                    self.port,
                    self.output()
                ));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "moto did not listen on 127.0.0.1:{} within {STARTUP_TIMEOUT:?}; its \
                     output:\n{}",
                    self.port,
                    self.output()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Requests moto has answered so far, by its access log (proof the suite talked to it).
    fn requests_served(&self) -> usize {
        self.output()
            .lines()
            .filter(|line| line.contains("\" ") && line.contains(" HTTP/1.1\""))
            .count()
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket with a plain HTTP `PUT /bucket` (moto does not check signatures).
    fn create_bucket(&self, bucket: &str) -> Result<(), String> {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
            .map_err(|e| format!("connect to moto: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let request = format!(
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n",
            self.port
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("send CreateBucket: {e}"))?;
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .map_err(|e| format!("read CreateBucket response: {e}"))?;
        let status_line = response.lines().next().unwrap_or_default();
        if status_line.split_whitespace().nth(1) == Some("200") {
            Ok(())
        } else {
            Err(format!("CreateBucket {bucket} failed: {response}"))
        }
    }

    /// A backend on `s3://{BUCKET}/{prefix}` served by this moto.
    fn backend(&self, prefix: &str) -> Arc<dyn Backend> {
        let options = S3Options::new()
            .endpoint(self.endpoint())
            .region("us-east-1")
            .credentials("strata-test-key", "strata-test-secret")
            .allow_http(true)
            .path_style();
        let url = if prefix.is_empty() {
            format!("s3://{BUCKET}")
        } else {
            format!("s3://{BUCKET}/{prefix}")
        };
        OpenOptions::new()
            .s3(options)
            .open(&url)
            .unwrap_or_else(|e| panic!("open {url}: {e}"))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // `STRATA_MOTO_LOG=/some/dir` keeps each server's access log for debugging.
        if let Ok(dir) = std::env::var("STRATA_MOTO_LOG") {
            let target = std::path::Path::new(&dir).join(format!("moto-{}.log", self.port));
            let _ = std::fs::copy(self.log.path(), target);
        }
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("no free loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| e.to_string())
}

/// moto with a fresh bucket, or `None` when `STRATA_SKIP_S3=1` asks to skip.
fn moto_or_skip(test: &str) -> Option<MotoServer> {
    if std::env::var("STRATA_SKIP_S3").as_deref() == Ok("1") {
        let banner = format!(
            "\n************************************************************\n\
             *** SKIPPED {test}: STRATA_SKIP_S3=1 is set.\n\
             *** The s3:// backend was NOT checked against an S3 server.\n\
             ************************************************************"
        );
        println!("{banner}");
        eprintln!("{banner}");
        return None;
    }
    let server = MotoServer::start().unwrap_or_else(|e| panic!("{e}\n\n{INSTALL_HINT}"));
    server
        .create_bucket(BUCKET)
        .unwrap_or_else(|e| panic!("{e}\nmoto output:\n{}", server.output()));
    Some(server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_backend_passes_the_conformance_suite() {
    let Some(moto) = moto_or_skip("s3_backend_passes_the_conformance_suite") else {
        return;
    };
    // A prefix with a space and unicode checks that prefixes round-trip like keys.
    let backend = moto.backend("tier%20cold/ü");
    assert_eq!(backend.kind(), BackendKind::S3);
    let ran = conformance::run_all(&*backend)
        .await
        .unwrap_or_else(|failure| panic!("s3://: {failure}\nmoto output:\n{}", moto.output()));
    assert_eq!(ran, conformance::SCENARIOS);
    println!(
        "conformance: {} scenarios passed on s3 (moto answered {} requests)",
        ran.len(),
        moto.requests_served()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_prefixes_keep_tiers_apart() {
    let Some(moto) = moto_or_skip("s3_prefixes_keep_tiers_apart") else {
        return;
    };
    let bucket_root = moto.backend("");
    let hot = moto.backend("hot");
    let cold = moto.backend("cold");
    hot.put("AAPL/2024-01-15.jsonl", "hot data").await.unwrap();
    cold.put("AAPL/2024-01-15.parquet", "cold data")
        .await
        .unwrap();

    // Keys are relative to each URL's prefix; each tier sees only its own objects.
    let keys = |listing: Vec<strata_backend::ObjectMeta>| {
        listing.into_iter().map(|m| m.key).collect::<Vec<_>>()
    };
    assert_eq!(keys(hot.list("").await.unwrap()), ["AAPL/2024-01-15.jsonl"]);
    assert_eq!(
        keys(cold.list("").await.unwrap()),
        ["AAPL/2024-01-15.parquet"]
    );
    assert_eq!(
        keys(bucket_root.list("").await.unwrap()),
        ["cold/AAPL/2024-01-15.parquet", "hot/AAPL/2024-01-15.jsonl"]
    );
    assert!(matches!(
        hot.get("AAPL/2024-01-15.parquet").await,
        Err(strata_backend::Error::NotFound { .. })
    ));
    // The bucket root itself passes the suite too (no prefix at all).
    let ran = conformance::run_all(&*bucket_root)
        .await
        .unwrap_or_else(|failure| panic!("s3:// bucket root: {failure}"));
    println!(
        "conformance: {} scenarios passed on s3 (bucket root)",
        ran.len()
    );
}

#[tokio::test]
async fn s3_errors_name_the_server_problem() {
    // A closed port: the error comes back (after the client's retries) as a Store error,
    // never as NotFound.
    let port = free_port().unwrap();
    let options = S3Options::new()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .region("us-east-1")
        .credentials("k", "s")
        .allow_http(true)
        .path_style()
        .max_retries(0)
        .retry_timeout(Duration::from_secs(1));
    let backend = OpenOptions::new()
        .s3(options)
        .open("s3://no-server/prefix")
        .unwrap_or_else(|e| panic!("{e}"));
    let err = backend.get("k").await.unwrap_err();
    assert!(
        matches!(err, strata_backend::Error::Store { op: "get", .. }),
        "{err}"
    );
}
