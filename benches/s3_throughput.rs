//! S3 upload and download throughput through strata's `s3://` backend against boto3's managed
//! transfers (`upload_file` / `download_file`), on one Garage server on loopback, in the same
//! run (issue 10; `docs/PERFORMANCE.md`, "S3 throughput (BACKEND-1, issue 10)").
//!
//! ```text
//! cargo run --release -p strata-benches --bin s3-throughput
//! target/release/s3-throughput --sizes 64,512 --reps 5 --strata default --strata part=16,inflight=8
//! ```
//!
//! Setup: one Garage (the `s3://` tests' harness, `crates/strata-backend/tests/support`), one
//! strata backend per `--strata` configuration and one boto3 client (`benches/s3_boto3.py`,
//! driven over a pipe, so its client and connection pool live for the whole run like the
//! backend's). Per size, random bytes are written once to a temporary file; every tool uploads
//! that file and downloads into a file.
//!
//! One repetition, per size: every strata configuration and boto3 upload the file under their
//! own key; then each downloads the *same* object (uploaded by strata's first configuration in
//! even repetitions, by boto3 in odd ones) into a fresh file; every download is compared with the
//! source bytes; the objects and files are deleted. The tools take turns in an order that rotates
//! by repetition, and `sync` runs (untimed) before every transfer, so that none pays for the
//! writeback of another's data. One untimed warm-up repetition comes first.
//!
//! What is timed:
//! - strata upload: open the file, read it in 1 MiB chunks (`tokio::fs`), `write` each chunk to
//!   `backend.upload(key)`, `finish()` (with `memory`: one `write_bytes` of the bytes already in
//!   memory instead of reading the file);
//! - strata download: `backend.download(key, file)`, which fetches part-size ranges
//!   `max_concurrent_parts` at a time (each after the first conditional on its ETag) and writes
//!   each to the file as it arrives, as boto3's `download_file` does; `backend.get(key)` into
//!   memory is timed before it and reported beside it;
//! - boto3: the `upload_file` / `download_file` call (`time.perf_counter` in the script).
//!
//! MB/s are 10^6 bytes per second; tables give the median over the repetitions (min–max
//! beside it) and the ratio of the medians strata/boto3.
//!
//! Options:
//! - `--sizes LIST` object sizes in MiB (default `1,64,512`);
//! - `--reps N` repetitions for every size (default 5 for sizes up to 64 MiB, 3 above);
//! - `--warmup N` untimed repetitions first (default 1);
//! - `--strata SPEC` (repeatable; default `default`): `default`, or a comma list of
//!   `part=MiB` (`OpenOptions::part_size`), `inflight=N` (`max_concurrent_parts` and `max_concurrent_reads`), `unsigned`
//!   (the S3 option `aws_unsigned_payload=true`: no SHA-256 of each body), `memory` (see above);
//! - `--boto3-checksums when_supported|when_required` (default `when_supported`, botocore's
//!   default: a CRC32 with every upload);
//! - `STRATA_PYTHON` picks the interpreter (default `python3`), `STRATA_GARAGE` the Garage
//!   binary (see the harness), `TMPDIR` where the files and Garage's data go.

// A measuring program: a failure is a panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../crates/strata-backend/tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use strata_backend::prelude::*;
use strata_backend::{Bytes, OpenOptions};
use tokio::io::AsyncReadExt;

use support::GarageServer;

const MIB: usize = 1024 * 1024;
/// The chunk strata's upload reads from the file and writes to the upload.
const READ_CHUNK: usize = MIB;

/// One strata configuration (`--strata SPEC`).
#[derive(Debug, Clone)]
struct StrataConfig {
    spec: String,
    part_mib: Option<usize>,
    in_flight: Option<usize>,
    unsigned: bool,
    from_memory: bool,
}

impl StrataConfig {
    fn parse(spec: &str) -> Self {
        let mut config = Self {
            spec: spec.to_owned(),
            part_mib: None,
            in_flight: None,
            unsigned: false,
            from_memory: false,
        };
        if spec == "default" {
            return config;
        }
        for item in spec.split(',') {
            let number = |v: &str| -> usize {
                v.parse()
                    .unwrap_or_else(|_| panic!("`{item}` in --strata {spec} needs a number"))
            };
            match item.split_once('=') {
                Some(("part", v)) => config.part_mib = Some(number(v)),
                Some(("inflight", v)) => config.in_flight = Some(number(v)),
                None if item == "unsigned" => config.unsigned = true,
                None if item == "memory" => config.from_memory = true,
                _ => panic!("unknown item `{item}` in --strata {spec}"),
            }
        }
        config
    }

    fn open(&self, server: &GarageServer) -> Arc<dyn Backend> {
        let mut s3 = server.s3_options();
        if self.unsigned {
            s3 = s3.option("aws_unsigned_payload", "true");
        }
        let mut options = OpenOptions::new().s3(s3);
        if let Some(mib) = self.part_mib {
            options = options.part_size(mib * MIB);
        }
        if let Some(n) = self.in_flight {
            options = options.max_concurrent_parts(n).max_concurrent_reads(n);
        }
        let url = format!("s3://{}", server.bucket());
        options
            .open(&url)
            .unwrap_or_else(|e| panic!("open {url} ({}): {e}", self.spec))
    }
}

struct Options {
    sizes_mib: Vec<usize>,
    reps: Option<usize>,
    warmup: usize,
    strata: Vec<StrataConfig>,
    boto3_checksums: String,
}

fn options() -> Options {
    let mut o = Options {
        sizes_mib: vec![1, 64, 512],
        reps: None,
        warmup: 1,
        strata: Vec::new(),
        boto3_checksums: "when_supported".to_owned(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> String {
            args.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
        };
        match arg.as_str() {
            "--sizes" => {
                o.sizes_mib = value("--sizes")
                    .split(',')
                    .map(|s| s.parse().expect("--sizes: MiB numbers"))
                    .collect();
            }
            "--reps" => o.reps = Some(value("--reps").parse::<usize>().expect("--reps N").max(1)),
            "--warmup" => o.warmup = value("--warmup").parse().expect("--warmup N"),
            "--strata" => o.strata.push(StrataConfig::parse(&value("--strata"))),
            "--boto3-checksums" => o.boto3_checksums = value("--boto3-checksums"),
            "--help" | "-h" => {
                println!("see the doc comment of benches/s3_throughput.rs");
                std::process::exit(0);
            }
            other => panic!("unknown argument `{other}`"),
        }
    }
    if o.strata.is_empty() {
        o.strata.push(StrataConfig::parse("default"));
    }
    o
}

// ---------------------------------------------------------------------------------------------
// boto3, driven over a pipe
// ---------------------------------------------------------------------------------------------

struct Boto3 {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    versions: Value,
}

impl Boto3 {
    fn start(server: &GarageServer, checksums: &str) -> Self {
        let python = std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("s3_boto3.py");
        let (key, secret) = server.credentials();
        let mut child = Command::new(&python)
            .arg(&script)
            .args(["--endpoint", &server.endpoint()])
            .args(["--bucket", server.bucket()])
            .args(["--region", server.region()])
            .args(["--checksums", checksums])
            .env("STRATA_BENCH_S3_KEY", key)
            .env("STRATA_BENCH_S3_SECRET", secret)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{python} {}`: {e}", script.display()));
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut boto3 = Self {
            child,
            stdin,
            stdout,
            versions: Value::Null,
        };
        boto3.versions =
            boto3.read_reply("start (is boto3 installed? `python3 -m pip install boto3`)");
        boto3
    }

    fn read_reply(&mut self, what: &str) -> Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let reply: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("boto3 {what}: no reply ({e}): {line:?}"));
        assert!(reply["ok"] == json!(true), "boto3 {what} failed: {reply}");
        reply
    }

    fn call(&mut self, command: Value) -> Value {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
        self.read_reply(&command.to_string())
    }

    fn upload(&mut self, file: &Path, key: &str) -> f64 {
        let reply = self.call(json!({"op": "upload", "file": file, "key": key}));
        reply["seconds"].as_f64().unwrap()
    }

    fn download(&mut self, key: &str, file: &Path) -> f64 {
        let reply = self.call(json!({"op": "download", "key": key, "file": file}));
        reply["seconds"].as_f64().unwrap()
    }

    fn delete(&mut self, key: &str) {
        self.call(json!({"op": "delete", "key": key}));
    }
}

impl Drop for Boto3 {
    fn drop(&mut self) {
        drop(self.stdin.take()); // end of input: the script returns
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// strata
// ---------------------------------------------------------------------------------------------

/// Uploads `file` (or `data`, with `memory`) under `key`; the seconds it took.
async fn strata_upload(
    backend: &Arc<dyn Backend>,
    config: &StrataConfig,
    file: &Path,
    data: &Bytes,
    key: &str,
) -> f64 {
    let start = Instant::now();
    let mut upload = backend.upload(key).await.unwrap();
    if config.from_memory {
        upload.write_bytes(data.clone()).await.unwrap();
    } else {
        let mut input = tokio::fs::File::open(file).await.unwrap();
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            let n = input.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            upload.write(&chunk[..n]).await.unwrap();
        }
    }
    let summary = upload.finish().await.unwrap();
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(summary.size, data.len() as u64);
    seconds
}

/// Reads `key` into memory (`get`), then downloads it into `file` (`download`, the public call
/// that fetches ranges concurrently and writes each as it arrives, as boto3's `download_file`
/// does); (seconds of the get, seconds of the download) and the bytes the get read.
async fn strata_download(backend: &Arc<dyn Backend>, key: &str, file: &Path) -> (f64, f64, Bytes) {
    let start = Instant::now();
    let bytes = backend.get(key).await.unwrap();
    let in_memory = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let size = backend.download(key, file).await.unwrap();
    let with_file = start.elapsed().as_secs_f64();
    assert_eq!(size, bytes.len() as u64);
    (in_memory, with_file, bytes)
}

// ---------------------------------------------------------------------------------------------
// measurement
// ---------------------------------------------------------------------------------------------

/// Random (incompressible) bytes: splitmix64 seeded by the size.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ len as u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Before every timed transfer: `sync`, so that no measurement pays for the writeback of what
/// an earlier one wrote (Garage's data, the previous download).
fn settle() {
    let status = Command::new("sync").status().expect("run `sync`");
    assert!(status.success(), "`sync` failed: {status}");
}

fn mbps(bytes: usize, seconds: f64) -> f64 {
    bytes as f64 / 1e6 / seconds
}

/// The median (the mean of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn cell(values: &[f64]) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{:.0} ({:.0}–{:.0})", median(values), min, max)
}

fn assert_file_is(path: &Path, expected: &[u8], what: &str) {
    let got = std::fs::read(path).unwrap();
    assert!(
        got.len() == expected.len() && got == expected,
        "{what}: {} holds {} bytes that differ from the {} uploaded",
        path.display(),
        got.len(),
        expected.len()
    );
}

/// MB/s of every timed repetition, per tool.
#[derive(Default, Clone)]
struct Rates {
    upload: Vec<f64>,
    get: Vec<f64>,
    download: Vec<f64>,
}

struct SizeResult {
    mib: usize,
    reps: usize,
    strata: Vec<Rates>,
    boto3: Rates,
}

fn measure_size(
    rt: &tokio::runtime::Runtime,
    backends: &[Arc<dyn Backend>],
    configs: &[StrataConfig],
    boto3: &mut Boto3,
    mib: usize,
    reps: usize,
    warmup: usize,
) -> SizeResult {
    let size = mib * MIB;
    let dir = tempfile::Builder::new()
        .prefix("strata-s3-throughput-")
        .tempdir()
        .unwrap();
    let source = dir.path().join(format!("source-{mib}MiB.bin"));
    let data = Bytes::from(random_bytes(size));
    std::fs::write(&source, &data).unwrap();
    let out = |tool: &str| -> PathBuf { dir.path().join(format!("download-{tool}.bin")) };

    let mut strata = vec![Rates::default(); configs.len()];
    let mut boto = Rates::default();
    for rep in 0..warmup + reps {
        let timed = rep >= warmup;
        let label = if timed {
            format!("rep {}", rep - warmup)
        } else {
            "warm-up".to_owned()
        };
        let strata_keys: Vec<String> = (0..configs.len())
            .map(|i| format!("bench/{mib}MiB/{rep}/strata-{i}"))
            .collect();
        let boto_key = format!("bench/{mib}MiB/{rep}/boto3");

        // Uploads, then downloads of one object (uploaded by strata's first configuration in
        // even repetitions, by boto3 in odd ones), each tool in turn; the order rotates by
        // repetition so no tool always goes first (right after the uploads' writeback).
        let tools = configs.len() + 1; // the strata configurations, then boto3
        let order: Vec<usize> = (0..tools).map(|t| (t + rep) % tools).collect();
        let mut up = vec![0.0; configs.len()];
        let mut boto_up = 0.0;
        for &tool in &order {
            settle();
            if tool < configs.len() {
                up[tool] = rt.block_on(strata_upload(
                    &backends[tool],
                    &configs[tool],
                    &source,
                    &data,
                    &strata_keys[tool],
                ));
            } else {
                boto_up = boto3.upload(&source, &boto_key);
            }
        }
        let object = if rep % 2 == 0 {
            &strata_keys[0]
        } else {
            &boto_key
        };
        let mut down = vec![(0.0, 0.0); configs.len()];
        let mut boto_down = 0.0;
        for &tool in &order {
            if tool < configs.len() {
                let config = &configs[tool];
                let file = out(&format!("strata-{tool}"));
                let _ = std::fs::remove_file(&file);
                settle();
                let (get, with_file, bytes) =
                    rt.block_on(strata_download(&backends[tool], object, &file));
                down[tool] = (get, with_file);
                assert!(
                    bytes[..] == data[..],
                    "strata ({}) got other bytes than uploaded for {object}",
                    config.spec
                );
                assert_file_is(&file, &data, &format!("strata ({})", config.spec));
                std::fs::remove_file(&file).unwrap();
            } else {
                let file = out("boto3");
                let _ = std::fs::remove_file(&file);
                settle();
                boto_down = boto3.download(object, &file);
                assert_file_is(&file, &data, "boto3");
                std::fs::remove_file(&file).unwrap();
            }
        }

        // Both tools read back what the other uploaded (once per size is enough).
        if rep == 0 {
            let got = rt.block_on(backends[0].get(&boto_key)).unwrap();
            assert!(got == data, "strata read other bytes than boto3 uploaded");
            let file = out("cross");
            boto3.download(&strata_keys[0], &file);
            assert_file_is(&file, &data, "boto3 reading strata's upload");
            std::fs::remove_file(&file).unwrap();
        }

        for key in &strata_keys {
            rt.block_on(backends[0].delete(key)).unwrap();
        }
        boto3.delete(&boto_key);

        let mut line = format!(
            "{mib:>4} MiB {label:>7}: boto3 up {:>6.0} down {:>6.0} MB/s",
            mbps(size, boto_up),
            mbps(size, boto_down)
        );
        for (i, config) in configs.iter().enumerate() {
            line.push_str(&format!(
                " | strata[{}] up {:>6.0} get {:>6.0} get+file {:>6.0}",
                config.spec,
                mbps(size, up[i]),
                mbps(size, down[i].0),
                mbps(size, down[i].1)
            ));
        }
        eprintln!("{line}");
        if timed {
            boto.upload.push(mbps(size, boto_up));
            boto.download.push(mbps(size, boto_down));
            for (i, rates) in strata.iter_mut().enumerate() {
                rates.upload.push(mbps(size, up[i]));
                rates.get.push(mbps(size, down[i].0));
                rates.download.push(mbps(size, down[i].1));
            }
        }
    }
    SizeResult {
        mib,
        reps,
        strata,
        boto3: boto,
    }
}

fn main() {
    let o = options();
    let began = chrono::Utc::now();
    let server = GarageServer::start().unwrap_or_else(|e| panic!("cannot start Garage: {e}"));
    let backends: Vec<Arc<dyn Backend>> = o.strata.iter().map(|c| c.open(&server)).collect();
    let mut boto3 = Boto3::start(&server, &o.boto3_checksums);
    let rt = tokio::runtime::Runtime::new().unwrap();
    println!(
        "s3-throughput: {} UTC, Garage {} (pinned by the harness) on {}, {} CPUs online, \
         boto3 {}",
        began.format("%Y-%m-%d %H:%M"),
        support::GARAGE_VERSION,
        server.endpoint(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        boto3.versions
    );

    let mut results = Vec::new();
    for &mib in &o.sizes_mib {
        let reps = o.reps.unwrap_or(if mib <= 64 { 5 } else { 3 });
        results.push(measure_size(
            &rt, &backends, &o.strata, &mut boto3, mib, reps, o.warmup,
        ));
    }
    let ended = chrono::Utc::now();

    println!(
        "\n{}–{} UTC; MB/s = 10^6 bytes/s, median (min–max); ratio = median strata / median \
         boto3; strata download = get + write to file (get alone beside it)\n",
        began.format("%Y-%m-%d %H:%M"),
        ended.format("%H:%M"),
    );
    println!(
        "| size | reps | strata | strata upload MB/s | boto3 upload MB/s | ratio | strata \
         download MB/s | boto3 download MB/s | ratio | strata get (memory) MB/s |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for result in &results {
        let boto = &result.boto3;
        for (config, rates) in o.strata.iter().zip(&result.strata) {
            println!(
                "| {} MiB | {} | {} | {} | {} | {:.2} | {} | {} | {:.2} | {} |",
                result.mib,
                result.reps,
                config.spec,
                cell(&rates.upload),
                cell(&boto.upload),
                median(&rates.upload) / median(&boto.upload),
                cell(&rates.download),
                cell(&boto.download),
                median(&rates.download) / median(&boto.download),
                cell(&rates.get),
            );
        }
    }
    drop(boto3);
    drop(server);
}
