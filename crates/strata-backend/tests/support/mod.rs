//! Real S3-protocol servers for the `s3://` tests, started on free loopback ports and stopped
//! when dropped: moto's standalone server (a mock, `pip install 'moto[server]'`) and Garage
//! (a production S3-compatible server, one node in a temporary directory).
//!
//! Nothing is skipped silently: if a server cannot be started the tests fail and say how to
//! install it. `STRATA_SKIP_S3=1` skips the moto tests and `STRATA_SKIP_GARAGE=1` the Garage
//! tests on purpose (they then say so loudly).
//!
//! moto: `STRATA_PYTHON` picks the Python interpreter (default `python3`);
//! `STRATA_MOTO_LOG=dir` keeps moto's access logs there.
//!
//! Garage: `STRATA_GARAGE` is the binary's path (else `~/.cache/strata-ci/garage-2.5.0/bin/garage`,
//! else `garage` on `PATH`); `STRATA_GARAGE_LOG=dir` keeps each server's log there.
//!
//! Each test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use strata_backend::{Backend, OpenOptions, S3Options};

/// The bucket each server is started with.
pub const BUCKET: &str = "strata-conformance";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// moto
// ---------------------------------------------------------------------------------------------

const MOTO_INSTALL_HINT: &str = "the S3 conformance tests need moto's S3 server: install it with \
     `python3 -m pip install 'moto[server]'` (tested with moto 5.2.1), or set STRATA_SKIP_S3=1 \
     to skip these tests explicitly";

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
pub struct MotoServer {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
}

impl MotoServer {
    /// Starts moto (retrying with another port if the first one was taken meanwhile).
    pub fn start() -> Result<Self, String> {
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

    /// moto's output so far (its access log).
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Requests moto has answered so far, by its access log (proof the suite talked to it).
    pub fn requests_served(&self) -> usize {
        self.output()
            .lines()
            .filter(|line| line.contains("\" ") && line.contains(" HTTP/1.1\""))
            .count()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sends one HTTP request with a dummy signature (moto does not check signatures, but
    /// treats a request without one as anonymous, which it refuses some operations) and
    /// returns the status and the body: for what the backend does not expose (bucket
    /// creation, object versions).
    pub fn raw(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, String), String> {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
            .map_err(|e| format!("connect to moto: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let mut request = format!(
            "{method} {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\n\
             Connection: close\r\n",
            self.port,
            body.len()
        );
        request.push_str(
            "Authorization: AWS4-HMAC-SHA256 Credential=strata-test-key/20260101/us-east-1/s3/\
             aws4_request, SignedHeaders=host, Signature=0\r\n",
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .and_then(|()| stream.write_all(body))
            .map_err(|e| format!("send {method} {path_and_query}: {e}"))?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .map_err(|e| format!("read the answer to {method} {path_and_query}: {e}"))?;
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response
            .lines()
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("no HTTP status in the answer: {response}"))?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// Creates a bucket with a plain HTTP `PUT /bucket` (moto does not check signatures).
    pub fn create_bucket(&self, bucket: &str) -> Result<(), String> {
        self.create_bucket_with(bucket, &[])
    }

    /// Creates a bucket with S3 Object Lock enabled (and so versioning).
    pub fn create_locked_bucket(&self, bucket: &str) -> Result<(), String> {
        self.create_bucket_with(bucket, &[("x-amz-bucket-object-lock-enabled", "true")])
    }

    fn create_bucket_with(&self, bucket: &str, headers: &[(&str, &str)]) -> Result<(), String> {
        match self.raw("PUT", &format!("/{bucket}"), headers, b"")? {
            (200, _) => Ok(()),
            (status, body) => Err(format!("CreateBucket {bucket} failed: {status} {body}")),
        }
    }

    /// The options that reach this moto.
    pub fn s3_options(&self) -> S3Options {
        S3Options::new()
            .endpoint(self.endpoint())
            .region("us-east-1")
            .credentials("strata-test-key", "strata-test-secret")
            .allow_http(true)
            .path_style()
    }

    /// A backend on `s3://{BUCKET}/{prefix}` served by this moto.
    pub fn backend(&self, prefix: &str) -> Arc<dyn Backend> {
        let options = S3Options::new()
            .endpoint(self.endpoint())
            .region("us-east-1")
            .credentials("strata-test-key", "strata-test-secret")
            .allow_http(true)
            .path_style();
        open_s3(options, BUCKET, prefix)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // `STRATA_MOTO_LOG=/some/dir` keeps each server's access log for debugging.
        if let Ok(dir) = std::env::var("STRATA_MOTO_LOG") {
            let target = Path::new(&dir).join(format!("moto-{}.log", self.port));
            let _ = std::fs::copy(self.log.path(), target);
        }
    }
}

/// moto with a fresh bucket, or `None` when `STRATA_SKIP_S3=1` asks to skip.
pub fn moto_or_skip(test: &str) -> Option<MotoServer> {
    if skip_requested("STRATA_SKIP_S3", test, "an S3 server (moto)") {
        return None;
    }
    let server = MotoServer::start().unwrap_or_else(|e| panic!("{e}\n\n{MOTO_INSTALL_HINT}"));
    server
        .create_bucket(BUCKET)
        .unwrap_or_else(|e| panic!("{e}\nmoto output:\n{}", server.output()));
    Some(server)
}

// ---------------------------------------------------------------------------------------------
// Garage
// ---------------------------------------------------------------------------------------------

/// The Garage release the tests are pinned to (`.ci/run` installs it).
pub const GARAGE_VERSION: &str = "2.5.0";

const GARAGE_INSTALL_HINT: &str = "the Garage tests need Garage 2.5.0: install it with \
     `cargo install garage --version 2.5.0 --locked --root ~/.cache/strata-ci/garage-2.5.0` \
     (or point STRATA_GARAGE at a garage binary), or set STRATA_SKIP_GARAGE=1 to skip these \
     tests explicitly";

/// How long one `garage` admin command may take before it counts as hung.
const GARAGE_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// A one-node Garage on 127.0.0.1 (S3 API and RPC on free ports), with its metadata and data in
/// a temporary directory, the bucket [`BUCKET`] and a key allowed to read, write and own it.
/// Killed (and waited for) when dropped; the directory goes with it.
pub struct GarageServer {
    child: Child,
    binary: PathBuf,
    config: PathBuf,
    log: PathBuf,
    api_port: u16,
    rpc_port: u16,
    key_id: String,
    secret_key: String,
    startup: Duration,
    // Last, so it is removed after the server is gone.
    dir: tempfile::TempDir,
}

/// Why one start attempt failed; a port conflict is retried on other ports.
enum GarageStartError {
    PortTaken(String),
    Fatal(String),
}

impl GarageServer {
    /// Finds the binary, checks its version and starts a server (retrying on other ports if a
    /// port was taken between choosing it and Garage binding it).
    pub fn start() -> Result<Self, String> {
        let began = Instant::now();
        let binary = find_garage()?;
        let mut last_error = String::new();
        for _attempt in 0..5 {
            match Self::spawn(&binary, began) {
                Ok(server) => {
                    println!(
                        "Garage S3 server ({}) listening on {} (RPC 127.0.0.1:{}), started in \
                         {} ms",
                        binary.display(),
                        server.endpoint(),
                        server.rpc_port,
                        server.startup.as_millis()
                    );
                    return Ok(server);
                }
                Err(GarageStartError::PortTaken(e)) => last_error = e,
                Err(GarageStartError::Fatal(e)) => return Err(e),
            }
        }
        Err(last_error)
    }

    fn spawn(binary: &Path, began: Instant) -> Result<Self, GarageStartError> {
        use GarageStartError::Fatal;
        let (api_port, rpc_port) = two_free_ports().map_err(Fatal)?;
        let dir = tempfile::Builder::new()
            .prefix("strata-garage-")
            .tempdir()
            .map_err(|e| Fatal(format!("temporary directory for Garage: {e}")))?;
        let config = dir.path().join("garage.toml");
        let log = dir.path().join("garage.log");
        let toml = format!(
            "metadata_dir = {meta:?}\n\
             data_dir = {data:?}\n\
             db_engine = \"sqlite\"\n\
             replication_factor = 1\n\
             rpc_bind_addr = \"127.0.0.1:{rpc_port}\"\n\
             rpc_public_addr = \"127.0.0.1:{rpc_port}\"\n\
             rpc_secret = \"{secret}\"\n\
             \n\
             [s3_api]\n\
             s3_region = \"garage\"\n\
             api_bind_addr = \"127.0.0.1:{api_port}\"\n\
             root_domain = \".s3.garage.localhost\"\n",
            meta = dir.path().join("meta").display().to_string(),
            data = dir.path().join("data").display().to_string(),
            secret = random_hex(64),
        );
        std::fs::write(&config, toml).map_err(|e| Fatal(format!("write {config:?}: {e}")))?;
        let log_file =
            std::fs::File::create(&log).map_err(|e| Fatal(format!("create {log:?}: {e}")))?;
        let log_err = log_file
            .try_clone()
            .map_err(|e| Fatal(format!("clone {log:?}: {e}")))?;
        let child = garage_command(binary, &config)
            .arg("server")
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .map_err(|e| Fatal(format!("cannot start `{} server`: {e}", binary.display())))?;
        let mut server = Self {
            child,
            binary: binary.to_owned(),
            config,
            log,
            api_port,
            rpc_port,
            key_id: format!("GK{}", random_hex(24)),
            secret_key: random_hex(64),
            startup: Duration::ZERO,
            dir,
        };
        server.wait_until_up()?;
        server.set_up().map_err(Fatal)?;
        server.check_alive()?;
        server.startup = began.elapsed();
        Ok(server)
    }

    /// Polls `garage status` until the node answers on its RPC port.
    fn wait_until_up(&mut self) -> Result<(), GarageStartError> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            self.check_alive()?;
            let status = self.run(&["status"]);
            // Garage logs a failed bind (`Address already in use`) and shuts down.
            self.check_alive()?;
            match status {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(GarageStartError::Fatal(format!(
                        "Garage did not answer `garage status` within {STARTUP_TIMEOUT:?} (last: \
                         {e}); its log:\n{}",
                        self.output()
                    )))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Fails if the server exited or could not bind one of its ports.
    fn check_alive(&mut self) -> Result<(), GarageStartError> {
        let output = self.output();
        if output.contains("Address already in use") {
            return Err(GarageStartError::PortTaken(format!(
                "Garage could not bind 127.0.0.1:{} (S3) or 127.0.0.1:{} (RPC); its log:\n{output}",
                self.api_port, self.rpc_port
            )));
        }
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(GarageStartError::Fatal(format!(
                "Garage exited ({status}) while starting; its log:\n{output}"
            )));
        }
        Ok(())
    }

    /// The one-node layout, the key and the bucket.
    fn set_up(&self) -> Result<(), String> {
        let node = self.run(&["node", "id", "-q"])?;
        let node_id = node.trim().split('@').next().unwrap_or_default().to_owned();
        if node_id.is_empty() {
            return Err(format!("`garage node id -q` printed no node id: {node:?}"));
        }
        self.run(&["layout", "assign", "-z", "dc1", "-c", "1G", &node_id])?;
        self.run(&["layout", "apply", "--version", "1"])?;
        self.run(&[
            "key",
            "import",
            "--yes",
            "-n",
            "strata",
            &self.key_id,
            &self.secret_key,
        ])?;
        self.run(&["bucket", "create", BUCKET])?;
        self.run(&[
            "bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", "strata",
        ])?;
        Ok(())
    }

    /// Runs `garage -c <config> ARGS` (with a timeout); its stdout, or an error with its output
    /// and the server's log.
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        let what = format!("garage {}", args.join(" "));
        let out_path = self.dir.path().join("command.out");
        let err_path = self.dir.path().join("command.err");
        let out = std::fs::File::create(&out_path).map_err(|e| e.to_string())?;
        let err = std::fs::File::create(&err_path).map_err(|e| e.to_string())?;
        let mut child = garage_command(&self.binary, &self.config)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot run `{what}`: {e}"))?;
        let deadline = Instant::now() + GARAGE_COMMAND_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "`{what}` did not finish within {GARAGE_COMMAND_TIMEOUT:?}; server log:\n{}",
                        self.output()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("waiting for `{what}`: {e}")),
            }
        };
        let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
        if status.success() {
            Ok(stdout)
        } else {
            let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
            Err(format!(
                "`{what}` failed ({status}): {}{}\nserver log:\n{}",
                stdout.trim(),
                stderr.trim(),
                self.output()
            ))
        }
    }

    /// The server's log so far (colour codes removed).
    pub fn output(&self) -> String {
        strip_ansi(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }

    /// `http://127.0.0.1:<S3 API port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    /// The access key id and secret allowed on [`BUCKET`].
    pub fn credentials(&self) -> (&str, &str) {
        (&self.key_id, &self.secret_key)
    }

    /// The bucket the server was started with.
    pub fn bucket(&self) -> &str {
        BUCKET
    }

    /// The region Garage answers as.
    pub fn region(&self) -> &str {
        "garage"
    }

    /// How long finding, starting and setting up the server took.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// S3 options for this server (endpoint, region, credentials, plain HTTP, path style).
    pub fn s3_options(&self) -> S3Options {
        S3Options::new()
            .endpoint(self.endpoint())
            .region(self.region())
            .credentials(self.key_id.clone(), self.secret_key.clone())
            .allow_http(true)
            .path_style()
    }

    /// A backend on `s3://{BUCKET}/{prefix}` served by this Garage.
    pub fn backend(&self, prefix: &str) -> Arc<dyn Backend> {
        open_s3(self.s3_options(), BUCKET, prefix)
    }
}

impl Drop for GarageServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // `STRATA_GARAGE_LOG=/some/dir` keeps each server's log for debugging.
        if let Ok(dir) = std::env::var("STRATA_GARAGE_LOG") {
            let target = Path::new(&dir).join(format!("garage-{}.log", self.api_port));
            let _ = std::fs::write(target, self.output());
        }
    }
}

/// Garage with the bucket [`BUCKET`], or `None` when `STRATA_SKIP_GARAGE=1` asks to skip.
pub fn garage_or_skip(test: &str) -> Option<GarageServer> {
    if skip_requested("STRATA_SKIP_GARAGE", test, "Garage (an S3 server)") {
        return None;
    }
    Some(GarageServer::start().unwrap_or_else(|e| panic!("{e}\n\n{GARAGE_INSTALL_HINT}")))
}

/// `garage -c <config>`, without any `GARAGE_*` variables of the caller's environment (Garage
/// reads its RPC secret, host and config path from them).
fn garage_command(binary: &Path, config: &Path) -> Command {
    let mut command = Command::new(binary);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("GARAGE_") {
            command.env_remove(name);
        }
    }
    command.arg("-c").arg(config);
    command
}

/// The garage binary: `STRATA_GARAGE`, else the CI's pinned install, else `garage` on `PATH`;
/// warns if it is not Garage 2.5.0.
fn find_garage() -> Result<PathBuf, String> {
    let candidate = if let Some(path) = std::env::var_os("STRATA_GARAGE") {
        let path = PathBuf::from(path);
        if !path.is_file() {
            return Err(format!("STRATA_GARAGE={} is not a file", path.display()));
        }
        path
    } else {
        let pinned = std::env::var_os("HOME").map(|home| {
            Path::new(&home)
                .join(".cache/strata-ci")
                .join(format!("garage-{GARAGE_VERSION}"))
                .join("bin/garage")
        });
        match pinned {
            Some(path) if path.is_file() => path,
            _ => PathBuf::from("garage"),
        }
    };
    let output = Command::new(&candidate)
        .arg("--version")
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "no garage binary found: STRATA_GARAGE is unset, there is none at \
                     ~/.cache/strata-ci/garage-{GARAGE_VERSION}/bin/garage and none on PATH"
                )
            } else {
                format!("cannot run `{} --version`: {e}", candidate.display())
            }
        })?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() {
        return Err(format!(
            "`{} --version` failed ({}): {version}{}",
            candidate.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    // `garage cargo:2.5.0 [features: …]` from crates.io, `garage v2.5.0 […]` from a release.
    let pinned = version
        .split([' ', ':'])
        .any(|word| word.trim_start_matches('v') == GARAGE_VERSION);
    if !pinned {
        let warning = format!(
            "WARNING: {} reports `{version}`, not Garage {GARAGE_VERSION}; the tests are pinned \
             to {GARAGE_VERSION}",
            candidate.display()
        );
        println!("{warning}");
        eprintln!("{warning}");
    }
    Ok(candidate)
}

// ---------------------------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------------------------

/// Opens `s3://{bucket}/{prefix}` (the bucket root if `prefix` is empty).
fn open_s3(options: S3Options, bucket: &str, prefix: &str) -> Arc<dyn Backend> {
    let url = if prefix.is_empty() {
        format!("s3://{bucket}")
    } else {
        format!("s3://{bucket}/{prefix}")
    };
    OpenOptions::new()
        .s3(options)
        .open(&url)
        .unwrap_or_else(|e| panic!("open {url}: {e}"))
}

/// True (after a loud banner) if `variable=1` asks to skip `test`.
fn skip_requested(variable: &str, test: &str, server: &str) -> bool {
    if std::env::var(variable).as_deref() != Ok("1") {
        return false;
    }
    let banner = format!(
        "\n************************************************************\n\
         *** SKIPPED {test}: {variable}=1 is set.\n\
         *** The s3:// backend was NOT checked against {server}.\n\
         ************************************************************"
    );
    println!("{banner}");
    eprintln!("{banner}");
    true
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("no free loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| e.to_string())
}

/// Two different free loopback ports (both held while the second is chosen).
fn two_free_ports() -> Result<(u16, u16), String> {
    let bind = || {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| Ok((listener.local_addr()?.port(), listener)))
            .map_err(|e| format!("no free loopback port: {e}"))
    };
    let (first, _held) = bind()?;
    let (second, _held_too) = bind()?;
    Ok((first, second))
}

/// `len` random lowercase hex digits (from std's randomly keyed hasher).
fn random_hex(len: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::with_capacity(len + 16);
    let mut counter = 0u64;
    while out.len() < len {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(counter);
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        hasher.write_u32(std::process::id());
        out.push_str(&format!("{:016x}", hasher.finish()));
        counter += 1;
    }
    out.truncate(len);
    out
}

/// `text` without ANSI escape sequences (Garage colours its log even into a file).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters… final byte in '@'..='~'.
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
