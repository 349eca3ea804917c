//! The conformance suite every backend must pass (BACKEND-2, EXT-2); cargo feature
//! `conformance`.
//!
//! Each scenario is a `pub async fn(&dyn Backend) -> Result<(), Failure>`; [`run_all`] runs
//! them all in the order of [`SCENARIOS`] and returns the names of those it ran. Any
//! [`Backend`] — a store or a decorator of your own — proves itself by calling it from its
//! tests, as strata's own `memory://`, `file://` and `s3://` tests do:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let backend = strata_backend::open("memory://").unwrap();
//! let ran = strata_backend::conformance::run_all(&*backend).await?;
//! assert_eq!(ran, strata_backend::conformance::SCENARIOS);
//! # Ok::<(), strata_backend::conformance::Failure>(())
//! # }).unwrap();
//! ```
//!
//! The suite needs a writable (non-WORM) backend; it derives its own write-once view with
//! [`Worm`](crate::Worm) for `worm_refusals`. It needs a tokio runtime for its timers, and
//! races writers against readers by running them concurrently in the calling task (the
//! store's own I/O runs in parallel where the store has any). Every scenario works under its
//! own `conformance/<name>/` prefix, removes what it finds there first, and cleans up after
//! itself, so it can run against a shared bucket. The scenarios stop at the first broken
//! expectation and say which one in [`Failure::detail`].
//!
//! Nothing is skipped. Where a backend's [`capabilities`](Backend::capabilities) say it
//! cannot guarantee create-only writes (an S3 server that ignores `If-None-Match: *`), the
//! scenarios that exercise them assert the refusal instead — every create-only put, copy,
//! upload and WORM write fails with [`Error::Unsupported`] and leaves nothing behind — and
//! end [refused as designed](Verdict::RefusedAsDesigned); [`run_all_verdicts`] reports
//! each scenario's [`Verdict`]. A backend that claims a capability it lacks fails the
//! scenarios that exercise it.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use crate::backend::{Backend, BackendExt, PutOptions};
use crate::error::{Error, WormOp};

/// A scenario whose expectation the backend broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Which scenario (a name from [`SCENARIOS`], or `run_all`).
    pub scenario: &'static str,
    /// What was expected and what happened instead.
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "conformance scenario `{}` failed: {}",
            self.scenario, self.detail
        )
    }
}

impl std::error::Error for Failure {}

/// The body of a scenario: `Err` carries the failure detail.
type Check = Result<(), String>;

/// How a scenario ended on a backend that met every expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every operation behaved as [`Backend`] promises.
    Passed,
    /// The store cannot give a guarantee the scenario exercises (its
    /// [`Backend::capabilities`] say so: the text is why), and every operation that needs it
    /// was refused with [`Error::Unsupported`] and changed nothing; the rest passed.
    RefusedAsDesigned(String),
}

impl Verdict {
    /// `passed` or `refused as designed`.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::RefusedAsDesigned(_) => "refused as designed",
        }
    }
}

/// One scenario's verdict, from [`run_all_verdicts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The scenario's name (from [`SCENARIOS`]).
    pub scenario: &'static str,
    /// How it ended.
    pub verdict: Verdict,
}

/// What a scenario body returns: nothing (it passed) or a [`Verdict`].
trait IntoVerdict {
    fn into_verdict(self) -> Verdict;
}

impl IntoVerdict for () {
    fn into_verdict(self) -> Verdict {
        Verdict::Passed
    }
}

impl IntoVerdict for Verdict {
    fn into_verdict(self) -> Verdict {
        self
    }
}

/// Why the backend cannot guarantee create-only writes, or `None` if it can.
async fn create_only_missing(backend: &dyn Backend) -> Result<Option<String>, String> {
    let caps = backend.capabilities().await.ctx("capabilities")?;
    Ok(caps.create_only().err().map(|missing| missing.to_string()))
}

fn expect_unsupported<T>(result: crate::Result<T>, key: &str, what: &str) -> Check {
    match &result {
        Err(Error::Unsupported { key: k, .. }) if k == key => Ok(()),
        other => Err(format!(
            "{what}: the backend's capabilities say create-only writes cannot be guaranteed, \
             so expected Unsupported {{ key: {key:?} }}, got {}",
            outcome(other)
        )),
    }
}

/// A create-only write onto an existing key: `AlreadyExists`, or `Unsupported` where the
/// backend cannot enforce create-only writes (`missing` says why).
fn expect_refused<T>(
    result: crate::Result<T>,
    key: &str,
    missing: &Option<String>,
    what: &str,
) -> Check {
    match missing {
        Some(_) => expect_unsupported(result, key, what),
        None => expect_already_exists(result, key, what),
    }
}

/// Checks that nothing is stored under `key`.
async fn expect_absent(backend: &dyn Backend, key: &str, what: &str) -> Check {
    if backend.exists(key).await.ctx("exists")? {
        return Err(format!("{what}: `{key}` exists but the write was refused"));
    }
    Ok(())
}

/// Fails the scenario with a formatted detail unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($detail:tt)+) => {
        if !$cond {
            return Err(format!($($detail)+));
        }
    };
}

/// Attaches what was being done to an unexpected backend error.
trait Context<T> {
    fn ctx(self, what: impl fmt::Display) -> Result<T, String>;
}

impl<T> Context<T> for crate::Result<T> {
    fn ctx(self, what: impl fmt::Display) -> Result<T, String> {
        self.map_err(|e| format!("{what}: unexpected error: {e}"))
    }
}

/// "success" or the error, for failure details.
fn outcome<T>(result: &crate::Result<T>) -> String {
    match result {
        Ok(_) => "success".to_owned(),
        Err(e) => format!("error `{e}`"),
    }
}

fn expect_not_found<T>(result: crate::Result<T>, key: &str, what: &str) -> Check {
    match &result {
        Err(Error::NotFound { key: k }) if k == key => Ok(()),
        other => Err(format!(
            "{what}: expected NotFound {{ key: {key:?} }}, got {}",
            outcome(other)
        )),
    }
}

fn expect_already_exists<T>(result: crate::Result<T>, key: &str, what: &str) -> Check {
    match &result {
        Err(Error::AlreadyExists { key: k }) if k == key => Ok(()),
        other => Err(format!(
            "{what}: expected AlreadyExists {{ key: {key:?} }}, got {}",
            outcome(other)
        )),
    }
}

fn expect_worm<T>(result: crate::Result<T>, key: &str, op: WormOp, what: &str) -> Check {
    match &result {
        Err(Error::WormViolation { key: k, op: o }) if k == key && *o == op => Ok(()),
        other => Err(format!(
            "{what}: expected WormViolation {{ key: {key:?}, op: {op} }}, got {}",
            outcome(other)
        )),
    }
}

fn expect_invalid_key<T>(result: crate::Result<T>, key: &str, what: &str) -> Check {
    match &result {
        Err(Error::InvalidKey { key: k, .. }) if k == key => Ok(()),
        other => Err(format!(
            "{what}: expected InvalidKey {{ key: {key:?} }}, got {}",
            outcome(other)
        )),
    }
}

fn expect_invalid_range<T>(result: crate::Result<T>, what: &str) -> Check {
    match &result {
        Err(Error::InvalidRange { .. }) => Ok(()),
        other => Err(format!(
            "{what}: expected InvalidRange, got {}",
            outcome(other)
        )),
    }
}

/// Checks that `key` holds exactly `expected`.
async fn expect_content(backend: &dyn Backend, key: &str, expected: &[u8], what: &str) -> Check {
    let got = backend.get(key).await.ctx(format!("{what}: get `{key}`"))?;
    ensure!(
        got.as_ref() == expected,
        "{what}: `{key}` holds {} bytes that differ from the {} bytes expected",
        got.len(),
        expected.len()
    );
    let meta = backend
        .head(key)
        .await
        .ctx(format!("{what}: head `{key}`"))?;
    ensure!(
        meta.size == expected.len() as u64 && meta.key == key,
        "{what}: head `{key}` says key {:?}, size {}; expected size {}",
        meta.key,
        meta.size,
        expected.len()
    );
    Ok(())
}

/// Deterministic pseudo-random bytes (xorshift64*), distinct per `seed`, so any
/// misplaced, missing or duplicated byte shows.
pub fn pattern(len: usize, seed: u64) -> Bytes {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

/// The prefix a scenario works under.
fn namespace(scenario: &str) -> String {
    format!("conformance/{scenario}")
}

/// Removes everything under `prefix` (leftovers of an earlier, interrupted run).
async fn clear(backend: &dyn Backend, prefix: &str) -> Check {
    for meta in backend.list(prefix).await.ctx(format!("list `{prefix}`"))? {
        backend
            .delete(&meta.key)
            .await
            .ctx(format!("delete `{}`", meta.key))?;
    }
    let left = backend.list(prefix).await.ctx(format!("list `{prefix}`"))?;
    ensure!(
        left.is_empty(),
        "after deleting everything under `{prefix}`, {} objects are still listed",
        left.len()
    );
    Ok(())
}

fn keys(listing: &[crate::ObjectMeta]) -> Vec<&str> {
    listing.iter().map(|m| m.key.as_str()).collect()
}

/// What a reader saw while a write was in flight.
#[derive(Debug, Default)]
struct Observations {
    /// Observations made before the write had returned.
    in_flight: usize,
    missing: usize,
    whole: usize,
}

/// Runs `write` concurrently with a reader that keeps reading `key` (head, get, list) until
/// the write has returned. Every observation must be "no object" (only if `may_be_missing`)
/// or exactly one of `allowed`. At least one observation is made before the write starts,
/// and the write's own result must be success.
async fn watch_write<W>(
    backend: &dyn Backend,
    key: &str,
    allowed: &[Bytes],
    may_be_missing: bool,
    write: W,
) -> Result<Observations, String>
where
    W: Future<Output = crate::Result<()>>,
{
    let done = AtomicBool::new(false);
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let writer = async {
        // Start writing only once the reader has looked at least once (or given up).
        let _ = started_rx.await;
        let result = write.await;
        done.store(true, Ordering::SeqCst);
        result
    };
    let parent = key.rsplit_once('/').map_or("", |(dir, _)| dir);
    let reader = async {
        let mut seen = Observations::default();
        let mut started_tx = Some(started_tx);
        loop {
            let finished = done.load(Ordering::SeqCst);
            observe(backend, key, parent, allowed, may_be_missing, &mut seen).await?;
            if !finished {
                seen.in_flight += 1;
            }
            if let Some(tx) = started_tx.take() {
                let _ = tx.send(());
            }
            if finished {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok::<_, String>(seen)
    };
    let (written, seen) = futures::join!(writer, reader);
    let seen = seen?;
    if let Err(e) = written {
        return Err(format!("the watched write of `{key}` failed: {e}"));
    }
    ensure!(
        seen.in_flight >= 1,
        "no observation of `{key}` was made while the write was in flight"
    );
    Ok(seen)
}

/// One round of reads; see [`watch_write`].
async fn observe(
    backend: &dyn Backend,
    key: &str,
    parent: &str,
    allowed: &[Bytes],
    may_be_missing: bool,
    seen: &mut Observations,
) -> Check {
    let sizes: Vec<u64> = allowed.iter().map(|b| b.len() as u64).collect();
    let size_ok = |size: u64| sizes.contains(&size);
    match backend.head(key).await {
        Ok(meta) => ensure!(
            size_ok(meta.size),
            "head `{key}` during a write saw a partial object of {} bytes (allowed: {sizes:?})",
            meta.size
        ),
        Err(Error::NotFound { .. }) if may_be_missing => {}
        Err(e) => return Err(format!("head `{key}` during a write: {e}")),
    }
    match backend.get(key).await {
        Ok(bytes) => {
            ensure!(
                allowed.contains(&bytes),
                "get `{key}` during a write returned {} bytes that are not one of the complete \
                 versions (sizes {sizes:?}): a partial or torn object was visible",
                bytes.len()
            );
            seen.whole += 1;
        }
        Err(Error::NotFound { .. }) if may_be_missing => seen.missing += 1,
        Err(e) => return Err(format!("get `{key}` during a write: {e}")),
    }
    let listing = backend
        .list(parent)
        .await
        .ctx(format!("list `{parent}` during a write"))?;
    for meta in listing.iter().filter(|m| m.key == key) {
        ensure!(
            size_ok(meta.size),
            "list `{parent}` during a write showed `{key}` with a partial size of {} bytes",
            meta.size
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

async fn check_put_get(backend: &dyn Backend) -> Check {
    let ns = namespace("put_get");
    clear(backend, &ns).await?;
    let small = format!("{ns}/small.txt");
    backend
        .put(&small, "hello, strata")
        .await
        .ctx("put small")?;
    expect_content(backend, &small, b"hello, strata", "small object").await?;

    let empty = format!("{ns}/empty");
    backend.put(&empty, Bytes::new()).await.ctx("put empty")?;
    expect_content(backend, &empty, b"", "empty object").await?;

    let big = format!("{ns}/deep/er/big.bin");
    let data = pattern(3 * 1024 * 1024 + 17, 1);
    backend.put(&big, data.clone()).await.ctx("put 3 MiB")?;
    expect_content(backend, &big, &data, "3 MiB object").await?;

    ensure!(
        backend.exists(&small).await.ctx("exists")?,
        "exists(`{small}`) is false after put"
    );
    let absent = format!("{ns}/absent");
    ensure!(
        !backend.exists(&absent).await.ctx("exists")?,
        "exists(`{absent}`) is true for a key never put"
    );
    clear(backend, &ns).await
}

async fn check_ranged_get(backend: &dyn Backend) -> Check {
    let ns = namespace("ranged_get");
    clear(backend, &ns).await?;
    let key = format!("{ns}/data.bin");
    let data = pattern(100_000, 2);
    backend.put(&key, data.clone()).await.ctx("put")?;
    for range in [
        0..10,
        10..20,
        50_000..50_001,
        99_990..100_000,
        0..100_000,
        12_345..67_890,
    ] {
        let got = backend
            .get_range(&key, range.clone())
            .await
            .ctx(format!("get_range {range:?}"))?;
        let lo = usize::try_from(range.start).map_err(|e| e.to_string())?;
        let hi = usize::try_from(range.end).map_err(|e| e.to_string())?;
        ensure!(
            got.as_ref() == &data[lo..hi],
            "get_range {range:?} returned {} bytes that differ from the object's bytes",
            got.len()
        );
    }
    let tail = backend
        .get_range(&key, 99_990..200_000)
        .await
        .ctx("get_range past the end")?;
    ensure!(
        tail.as_ref() == &data[99_990..],
        "get_range 99990..200000 of a 100000-byte object returned {} bytes; expected the \
         last 10",
        tail.len()
    );
    expect_invalid_range(
        backend.get_range(&key, 100_000..100_010).await,
        "get_range starting at the end",
    )?;
    expect_invalid_range(
        backend.get_range(&key, 200_000..200_001).await,
        "get_range starting past the end",
    )?;
    expect_invalid_range(backend.get_range(&key, 5..5).await, "empty get_range")?;
    let missing = format!("{ns}/missing.bin");
    expect_not_found(
        backend.get_range(&missing, 0..10).await,
        &missing,
        "get_range of a missing key",
    )?;
    clear(backend, &ns).await
}

async fn check_list_prefix(backend: &dyn Backend) -> Check {
    let ns = namespace("list_prefix");
    clear(backend, &ns).await?;
    let all = [
        format!("{ns}/a.txt"),
        format!("{ns}/a/1"),
        format!("{ns}/a/2"),
        format!("{ns}/a/sub/3"),
        format!("{ns}/ab/4"),
        format!("{ns}/b/5"),
    ];
    for (i, key) in all.iter().enumerate() {
        backend
            .put(key, pattern(10 + i, 3))
            .await
            .ctx(format!("put `{key}`"))?;
    }
    let under_a = [all[1].as_str(), all[2].as_str(), all[3].as_str()];
    for prefix in [format!("{ns}/a"), format!("{ns}/a/")] {
        let listing = backend
            .list(&prefix)
            .await
            .ctx(format!("list `{prefix}`"))?;
        ensure!(
            keys(&listing) == under_a,
            "list `{prefix}` returned {:?}; expected exactly {under_a:?} (sorted; not \
             `{ns}/a.txt` or `{ns}/ab/4`)",
            keys(&listing)
        );
        for meta in &listing {
            let index = all.iter().position(|k| *k == meta.key).unwrap_or(0);
            ensure!(
                meta.size == 10 + index as u64,
                "list `{prefix}` gives size {} for `{}`; expected {}",
                meta.size,
                meta.key,
                10 + index
            );
        }
    }
    let everything = backend.list(&ns).await.ctx("list namespace")?;
    let expected: Vec<&str> = all.iter().map(String::as_str).collect();
    ensure!(
        keys(&everything) == expected,
        "list `{ns}` returned {:?}; expected {expected:?}",
        keys(&everything)
    );

    let mut streamed = BTreeSet::new();
    let mut stream = backend.list_stream(&format!("{ns}/a"));
    while let Some(meta) = stream.next().await {
        streamed.insert(meta.ctx("list_stream")?.key);
    }
    ensure!(
        streamed.iter().map(String::as_str).eq(under_a),
        "list_stream `{ns}/a` returned {streamed:?}; expected {under_a:?}"
    );

    let nothing = backend
        .list(&format!("{ns}/zzz"))
        .await
        .ctx("list empty prefix")?;
    ensure!(
        nothing.is_empty(),
        "list of a prefix with no objects returned {:?}",
        keys(&nothing)
    );
    let root = backend.list("").await.ctx("list root")?;
    ensure!(
        all.iter().all(|k| root.iter().any(|m| &m.key == k)),
        "list of the root misses some of {all:?}"
    );
    ensure!(
        root.iter()
            .all(|m| !m.key.starts_with(crate::key::STAGING_DIR)),
        "list of the root shows staged uploads"
    );

    let top = backend.list_dir(&ns).await.ctx("list_dir namespace")?;
    let expected_prefixes = [format!("{ns}/a"), format!("{ns}/ab"), format!("{ns}/b")];
    ensure!(
        keys(&top.objects) == [all[0].as_str()] && top.prefixes == expected_prefixes,
        "list_dir `{ns}` returned objects {:?} and prefixes {:?}; expected [{:?}] and {:?}",
        keys(&top.objects),
        top.prefixes,
        all[0],
        expected_prefixes
    );
    let a = backend
        .list_dir(&format!("{ns}/a/"))
        .await
        .ctx("list_dir a")?;
    ensure!(
        keys(&a.objects) == [all[1].as_str(), all[2].as_str()]
            && a.prefixes == [format!("{ns}/a/sub")],
        "list_dir `{ns}/a/` returned objects {:?} and prefixes {:?}",
        keys(&a.objects),
        a.prefixes
    );
    expect_invalid_key(
        backend.list("../x").await,
        "../x",
        "list with a `..` prefix",
    )?;
    clear(backend, &ns).await
}

async fn check_delete(backend: &dyn Backend) -> Check {
    let ns = namespace("delete");
    clear(backend, &ns).await?;
    let gone = format!("{ns}/dir/gone");
    let kept = format!("{ns}/dir/kept");
    backend.put(&gone, "bye").await.ctx("put")?;
    backend.put(&kept, "stay").await.ctx("put")?;
    backend.delete(&gone).await.ctx("delete")?;
    expect_not_found(backend.get(&gone).await, &gone, "get after delete")?;
    expect_not_found(backend.head(&gone).await, &gone, "head after delete")?;
    ensure!(
        !backend.exists(&gone).await.ctx("exists")?,
        "exists after delete"
    );
    let listing = backend.list(&ns).await.ctx("list after delete")?;
    ensure!(
        keys(&listing) == [kept.as_str()],
        "list after delete returned {:?}; expected only the sibling",
        keys(&listing)
    );
    expect_content(backend, &kept, b"stay", "sibling of a deleted object").await?;
    // Deleting a missing key succeeds on every backend (idempotent, as on S3).
    backend
        .delete(&gone)
        .await
        .ctx("second delete of the same key (must succeed: delete is idempotent)")?;
    backend
        .delete(&format!("{ns}/never/existed"))
        .await
        .ctx("delete of a key never put (must succeed: delete is idempotent)")?;
    backend.put(&gone, "back").await.ctx("put after delete")?;
    expect_content(backend, &gone, b"back", "put after delete").await?;
    clear(backend, &ns).await
}

async fn check_overwrite_and_create_only(backend: &dyn Backend) -> Result<Verdict, String> {
    let ns = namespace("overwrite_and_create_only");
    clear(backend, &ns).await?;
    let key = format!("{ns}/object");
    backend.put(&key, "version one").await.ctx("first put")?;
    backend
        .put(&key, "version two, longer")
        .await
        .ctx("overwriting put")?;
    expect_content(backend, &key, b"version two, longer", "after overwrite").await?;
    backend
        .put_opts(&key, "v3".into(), PutOptions::overwrite())
        .await
        .ctx("explicit overwrite")?;
    expect_content(backend, &key, b"v3", "after explicit overwrite").await?;

    let missing = create_only_missing(backend).await?;
    expect_refused(
        backend
            .put_opts(&key, "intruder".into(), PutOptions::create_only())
            .await,
        &key,
        &missing,
        "create-only put onto an existing key",
    )?;
    expect_content(backend, &key, b"v3", "after a refused create-only put").await?;
    let fresh = format!("{ns}/fresh");
    if let Some(missing) = missing {
        expect_unsupported(
            backend
                .put_opts(&fresh, "first".into(), PutOptions::create_only())
                .await,
            &fresh,
            "create-only put of a new key",
        )?;
        expect_absent(backend, &fresh, "create-only put of a new key").await?;
        clear(backend, &ns).await?;
        return Ok(Verdict::RefusedAsDesigned(missing));
    }
    backend
        .put_opts(&fresh, "first".into(), PutOptions::create_only())
        .await
        .ctx("create-only put of a new key")?;
    expect_already_exists(
        backend
            .put_opts(&fresh, "second".into(), PutOptions::create_only())
            .await,
        &fresh,
        "second create-only put",
    )?;
    expect_content(backend, &fresh, b"first", "after a second create-only put").await?;
    clear(backend, &ns).await?;
    Ok(Verdict::Passed)
}

async fn check_create_only_race(backend: &dyn Backend) -> Result<Verdict, String> {
    const WRITERS: usize = 8;
    let ns = namespace("create_only_race");
    clear(backend, &ns).await?;
    let key = format!("{ns}/contested");
    let attempts = (0..WRITERS).map(|writer| {
        let key = key.as_str();
        async move {
            let body = format!("written by writer {writer}");
            let result = backend
                .put_opts(key, body.clone().into(), PutOptions::create_only())
                .await;
            (body, result)
        }
    });
    let missing = create_only_missing(backend).await?;
    let mut winners = Vec::new();
    for (body, result) in futures::future::join_all(attempts).await {
        if missing.is_some() {
            expect_unsupported(result, &key, "a racing create-only put")?;
            continue;
        }
        match result {
            Ok(()) => winners.push(body),
            Err(Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(format!("a racing create-only put failed oddly: {e}")),
        }
    }
    if let Some(missing) = missing {
        expect_absent(backend, &key, "racing create-only puts").await?;
        clear(backend, &ns).await?;
        return Ok(Verdict::RefusedAsDesigned(missing));
    }
    ensure!(
        winners.len() == 1,
        "{} of {WRITERS} racing create-only puts of one key succeeded; exactly one must",
        winners.len()
    );
    let winner = winners.concat();
    expect_content(backend, &key, winner.as_bytes(), "the race's winner").await?;
    clear(backend, &ns).await?;
    Ok(Verdict::Passed)
}

async fn check_copy(backend: &dyn Backend) -> Result<Verdict, String> {
    let ns = namespace("copy");
    clear(backend, &ns).await?;
    let src = format!("{ns}/src");
    let dst = format!("{ns}/copies/dst");
    let data = pattern(70_000, 4);
    backend.put(&src, data.clone()).await.ctx("put source")?;
    backend.copy(&src, &dst).await.ctx("copy")?;
    expect_content(backend, &dst, &data, "copy").await?;
    expect_content(backend, &src, &data, "source after copy").await?;

    // The copy is independent of its source.
    backend
        .put(&src, "new source")
        .await
        .ctx("overwrite source")?;
    expect_content(backend, &dst, &data, "copy after its source changed").await?;

    // Copy onto an existing object replaces it.
    backend
        .copy(&src, &dst)
        .await
        .ctx("copy onto an existing key")?;
    expect_content(backend, &dst, b"new source", "overwriting copy").await?;

    let missing = format!("{ns}/missing");
    expect_not_found(
        backend.copy(&missing, &format!("{ns}/never")).await,
        &missing,
        "copy from a missing key",
    )?;
    let missing_create_only = create_only_missing(backend).await?;
    expect_refused(
        backend.copy_if_not_exists(&src, &dst).await,
        &dst,
        &missing_create_only,
        "copy_if_not_exists onto an existing key",
    )?;
    expect_content(backend, &dst, b"new source", "after a refused copy").await?;
    let fresh = format!("{ns}/copies/fresh");
    if let Some(why) = missing_create_only {
        expect_unsupported(
            backend.copy_if_not_exists(&src, &fresh).await,
            &fresh,
            "copy_if_not_exists to a new key",
        )?;
        expect_absent(backend, &fresh, "copy_if_not_exists to a new key").await?;
        clear(backend, &ns).await?;
        return Ok(Verdict::RefusedAsDesigned(why));
    }
    backend
        .copy_if_not_exists(&src, &fresh)
        .await
        .ctx("copy_if_not_exists to a new key")?;
    expect_content(backend, &fresh, b"new source", "create-only copy").await?;

    // Large enough to be copied part-wise by the server (small ones are read and put).
    let large = format!("{ns}/large");
    let big = pattern(backend.part_size() + 1, 15);
    backend
        .put(&large, big.clone())
        .await
        .ctx("put a large source")?;
    let large_copy = format!("{ns}/copies/large");
    backend
        .copy_if_not_exists(&large, &large_copy)
        .await
        .ctx("copy_if_not_exists of an object above the part size")?;
    expect_content(
        backend,
        &large_copy,
        &big,
        "create-only copy of a large object",
    )
    .await?;
    expect_already_exists(
        backend.copy_if_not_exists(&src, &large_copy).await,
        &large_copy,
        "copy_if_not_exists onto an existing large object",
    )?;

    expect_not_found(
        backend
            .copy_if_not_exists(&missing, &format!("{ns}/never"))
            .await,
        &missing,
        "create-only copy from a missing key",
    )?;
    ensure!(
        !backend.exists(&format!("{ns}/never")).await.ctx("exists")?,
        "a failed copy created its destination"
    );
    clear(backend, &ns).await?;
    Ok(Verdict::Passed)
}

async fn check_not_found(backend: &dyn Backend) -> Check {
    let ns = namespace("not_found");
    clear(backend, &ns).await?;
    let sibling = format!("{ns}/dir/present");
    backend.put(&sibling, "here").await.ctx("put")?;
    for missing in [
        format!("{ns}/absent"),
        format!("{ns}/dir/absent"),
        format!("{ns}/dir"),
        format!("{ns}/no/such/dir/file"),
    ] {
        expect_not_found(backend.get(&missing).await, &missing, "get")?;
        expect_not_found(backend.head(&missing).await, &missing, "head")?;
        expect_not_found(
            backend.get_range(&missing, 0..1).await,
            &missing,
            "get_range",
        )?;
    }
    clear(backend, &ns).await
}

async fn check_create_only_uploads(backend: &dyn Backend) -> Result<Verdict, String> {
    let ns = namespace("create_only_uploads");
    clear(backend, &ns).await?;
    let taken = format!("{ns}/taken");
    backend.put(&taken, "original").await.ctx("put")?;
    let missing = create_only_missing(backend).await?;
    expect_refused(
        backend.upload_opts(&taken, PutOptions::create_only()).await,
        &taken,
        &missing,
        "create-only upload onto an existing key",
    )?;
    if let Some(missing) = missing {
        let fresh = format!("{ns}/fresh");
        expect_unsupported(
            backend.upload_opts(&fresh, PutOptions::create_only()).await,
            &fresh,
            "create-only upload of a new key",
        )?;
        expect_absent(backend, &fresh, "create-only upload of a new key").await?;
        expect_content(backend, &taken, b"original", "after refused uploads").await?;
        clear(backend, &ns).await?;
        return Ok(Verdict::RefusedAsDesigned(missing));
    }

    // A key that appears while a create-only upload is running still wins: a small upload
    // (one put) and one of several parts.
    for (name, size) in [
        ("contested", 1000),
        ("contested-parts", backend.part_size() + 1),
    ] {
        let contested = format!("{ns}/{name}");
        let mut upload = backend
            .upload_opts(&contested, PutOptions::create_only())
            .await
            .ctx("start create-only upload")?;
        upload
            .write(&pattern(size, 5))
            .await
            .ctx("write create-only upload")?;
        backend
            .put(&contested, "first come")
            .await
            .ctx("put during the upload")?;
        expect_already_exists(
            upload.finish().await,
            &contested,
            &format!(
                "finishing a create-only upload of {size} bytes whose key was taken meanwhile"
            ),
        )?;
        expect_content(backend, &contested, b"first come", "after a refused upload").await?;
    }

    let fresh = format!("{ns}/fresh");
    let data = pattern(backend.part_size() + 4321, 6);
    let mut upload = backend
        .upload_opts(&fresh, PutOptions::create_only())
        .await
        .ctx("start create-only upload of a new key")?;
    upload.write(&data).await.ctx("write")?;
    let summary = upload.finish().await.ctx("finish")?;
    ensure!(
        summary.size == data.len() as u64 && summary.parts == 2 && summary.key == fresh,
        "create-only upload summary {summary:?}; expected 2 parts of {} bytes in all",
        data.len()
    );
    expect_content(backend, &fresh, &data, "create-only upload").await?;
    let root = backend.list("").await.ctx("list root")?;
    ensure!(
        root.iter()
            .all(|m| !m.key.starts_with(crate::key::STAGING_DIR)),
        "staged uploads are visible in the root listing"
    );
    let stale = backend.purge_staging().await.ctx("purge_staging")?;
    ensure!(
        stale == 0,
        "{stale} staged objects were left behind by finished or refused uploads"
    );
    clear(backend, &ns).await?;
    Ok(Verdict::Passed)
}

async fn check_unusual_keys(backend: &dyn Backend) -> Check {
    let ns = namespace("unusual_keys");
    clear(backend, &ns).await?;
    let names = [
        "space in name.txt",
        "sub dir/with space",
        "percent/100%",
        "percent/%41%2F%zz",
        "equals/a=b=c",
        "plus/a+b c+d",
        "tilde/~user~",
        "unicode/üñïçødé/日本語.json",
        "unicode/emoji 📈",
        "mixed/k=v&x=y;z,@!$'()",
        "hash/a#b",
        "hash#1/dir",
        "dots/.hidden",
        "dots/...",
        "dots/a..b",
    ];
    let keys_put: Vec<String> = names.iter().map(|n| format!("{ns}/{n}")).collect();
    for key in &keys_put {
        backend
            .put(key, key.clone())
            .await
            .ctx(format!("put `{key}`"))?;
    }
    for key in &keys_put {
        expect_content(backend, key, key.as_bytes(), "unusual key").await?;
        let head = backend
            .get_range(key, 0..3)
            .await
            .ctx(format!("get_range `{key}`"))?;
        ensure!(
            head.as_ref() == &key.as_bytes()[..3],
            "get_range of `{key}` returned the wrong bytes"
        );
    }
    let listed: BTreeSet<String> = backend
        .list(&ns)
        .await
        .ctx("list")?
        .into_iter()
        .map(|m| m.key)
        .collect();
    let expected: BTreeSet<String> = keys_put.iter().cloned().collect();
    ensure!(
        listed == expected,
        "list does not return the keys as they were put:\n  only listed: {:?}\n  only put: \
         {:?}",
        listed.difference(&expected).collect::<Vec<_>>(),
        expected.difference(&listed).collect::<Vec<_>>()
    );
    let dir = format!("{ns}/sub dir");
    let listing = backend.list(&dir).await.ctx("list a prefix with a space")?;
    ensure!(
        keys(&listing) == [format!("{ns}/sub dir/with space").as_str()],
        "list `{dir}` returned {:?}",
        keys(&listing)
    );
    let unicode_dir = backend
        .list_dir(&format!("{ns}/unicode"))
        .await
        .ctx("list_dir unicode")?;
    ensure!(
        keys(&unicode_dir.objects) == [format!("{ns}/unicode/emoji 📈").as_str()]
            && unicode_dir.prefixes == [format!("{ns}/unicode/üñïçødé")],
        "list_dir of `{ns}/unicode` returned objects {:?} and prefixes {:?}",
        keys(&unicode_dir.objects),
        unicode_dir.prefixes
    );
    let copy = format!("{ns}/copy of 100% + ü");
    backend
        .copy(&keys_put[2], &copy)
        .await
        .ctx("copy between unusual keys")?;
    expect_content(backend, &copy, keys_put[2].as_bytes(), "copied unusual key").await?;
    for key in keys_put.iter().chain([&copy]) {
        backend.delete(key).await.ctx(format!("delete `{key}`"))?;
        expect_not_found(backend.get(key).await, key, "get after delete")?;
    }
    clear(backend, &ns).await
}

async fn check_invalid_keys(backend: &dyn Backend) -> Check {
    let ns = namespace("invalid_keys");
    clear(backend, &ns).await?;
    let good = format!("{ns}/good");
    backend.put(&good, "ok").await.ctx("put")?;
    let bad_keys = [
        String::new(),
        "/absolute".to_owned(),
        format!("{ns}//double"),
        format!("{ns}/./dot"),
        format!("{ns}/../escape"),
        "..".to_owned(),
        format!("{ns}/trailing/"),
        format!("{ns}/bell\u{7}"),
        format!("{ns}/back\\slash"),
        format!("{ns}/colon:"),
        format!("{ns}/inflight#12"),
        format!("{}/x", crate::key::STAGING_DIR),
        "k".repeat(crate::key::MAX_KEY_LEN + 1),
    ];
    for bad in &bad_keys {
        let what = |op: &str| format!("{op} with invalid key {bad:?}");
        expect_invalid_key(backend.put(bad, "x").await, bad, &what("put"))?;
        expect_invalid_key(
            backend
                .put_opts(bad, "x".into(), PutOptions::create_only())
                .await,
            bad,
            &what("create-only put"),
        )?;
        expect_invalid_key(backend.get(bad).await, bad, &what("get"))?;
        expect_invalid_key(backend.get_range(bad, 0..1).await, bad, &what("get_range"))?;
        expect_invalid_key(backend.head(bad).await, bad, &what("head"))?;
        expect_invalid_key(backend.delete(bad).await, bad, &what("delete"))?;
        expect_invalid_key(backend.copy(bad, &good).await, bad, &what("copy from"))?;
        expect_invalid_key(backend.copy(&good, bad).await, bad, &what("copy to"))?;
        expect_invalid_key(backend.upload(bad).await, bad, &what("upload"))?;
    }
    let listing = backend.list(&ns).await.ctx("list")?;
    ensure!(
        keys(&listing) == [good.as_str()],
        "invalid keys left objects behind: {:?}",
        keys(&listing)
    );
    clear(backend, &ns).await
}

async fn check_multipart_upload(backend: &dyn Backend) -> Check {
    let ns = namespace("multipart_upload");
    clear(backend, &ns).await?;
    let key = format!("{ns}/large.bin");
    let part = backend.part_size();
    // Three parts, the last one short; more than 10 MiB since parts are at least 5 MiB.
    let data = pattern(2 * part + 777_777, 7);
    let mut upload = backend.upload(&key).await.ctx("start upload")?;
    // Uneven writes that straddle part boundaries, some copied and some zero-copy.
    let mut offset = 0;
    let mut step = 0;
    while offset < data.len() {
        let len = [1_000_003, 17, 2_345_679, 65_536][step % 4].min(data.len() - offset);
        if step % 2 == 0 {
            upload
                .write(&data[offset..offset + len])
                .await
                .ctx("write")?;
        } else {
            upload
                .write_bytes(data.slice(offset..offset + len))
                .await
                .ctx("write_bytes")?;
        }
        offset += len;
        step += 1;
    }
    ensure!(
        upload.bytes_written() == data.len() as u64,
        "bytes_written is {} after writing {} bytes",
        upload.bytes_written(),
        data.len()
    );
    expect_not_found(backend.head(&key).await, &key, "head before finish")?;
    let summary = upload.finish().await.ctx("finish")?;
    ensure!(
        summary.size == data.len() as u64 && summary.parts == 3,
        "upload summary {summary:?}; expected {} bytes in 3 parts",
        data.len()
    );
    ensure!(
        data.len() > 10 * 1024 * 1024,
        "the multipart object must exceed 10 MiB"
    );
    expect_content(backend, &key, &data, "multipart upload").await?;

    // An upload replaces an existing object.
    let replacement = pattern(part + 1, 8);
    let mut upload = backend.upload(&key).await.ctx("start replacing upload")?;
    upload.write_bytes(replacement.clone()).await.ctx("write")?;
    upload.finish().await.ctx("finish replacing upload")?;
    expect_content(backend, &key, &replacement, "replacing upload").await?;

    // An aborted upload publishes nothing.
    let aborted = format!("{ns}/aborted.bin");
    let mut upload = backend.upload(&aborted).await.ctx("start upload")?;
    upload
        .write_bytes(pattern(part + 10, 9))
        .await
        .ctx("write")?;
    upload.abort().await.ctx("abort")?;
    expect_not_found(backend.head(&aborted).await, &aborted, "head after abort")?;

    // An empty upload makes an empty object.
    let empty = format!("{ns}/empty.bin");
    let upload = backend.upload(&empty).await.ctx("start empty upload")?;
    let summary = upload.finish().await.ctx("finish empty upload")?;
    ensure!(
        summary.size == 0 && summary.parts == 0,
        "empty upload summary {summary:?}"
    );
    expect_content(backend, &empty, b"", "empty upload").await?;
    clear(backend, &ns).await
}

async fn check_atomic_put_visibility(backend: &dyn Backend) -> Result<Verdict, String> {
    let ns = namespace("atomic_put_visibility");
    clear(backend, &ns).await?;
    let key = format!("{ns}/big.bin");
    let first = pattern(12 * 1024 * 1024 + 3, 10);
    let second = pattern(9 * 1024 * 1024 + 12_345, 11);

    // A new object: readers see nothing, then all of it.
    let put = backend.put(&key, first.clone());
    watch_write(backend, &key, std::slice::from_ref(&first), true, put).await?;
    expect_content(backend, &key, &first, "after the first put").await?;

    // An overwrite: readers see the old object or the new one, never a mix or nothing.
    let put = backend.put(&key, second.clone());
    let versions = [first.clone(), second.clone()];
    watch_write(backend, &key, &versions, false, put).await?;
    expect_content(backend, &key, &second, "after the overwrite").await?;

    // A create-only put appears as atomically.
    let fresh = format!("{ns}/fresh.bin");
    if let Some(missing) = create_only_missing(backend).await? {
        expect_unsupported(
            backend
                .put_opts(&fresh, second.clone(), PutOptions::create_only())
                .await,
            &fresh,
            "a large create-only put",
        )?;
        expect_absent(backend, &fresh, "a large create-only put").await?;
        clear(backend, &ns).await?;
        return Ok(Verdict::RefusedAsDesigned(missing));
    }
    let put = backend.put_opts(&fresh, second.clone(), PutOptions::create_only());
    watch_write(backend, &fresh, std::slice::from_ref(&second), true, put).await?;
    expect_content(backend, &fresh, &second, "after the create-only put").await?;
    clear(backend, &ns).await?;
    Ok(Verdict::Passed)
}

/// Uploads `data` to `key` in small writes, yielding between them so readers get a look in.
async fn slow_upload(
    backend: &dyn Backend,
    key: &str,
    data: Bytes,
    options: PutOptions,
) -> crate::Result<()> {
    let mut upload = backend.upload_opts(key, options).await?;
    for chunk in data.chunks(256 * 1024) {
        upload.write(chunk).await?;
        tokio::task::yield_now().await;
    }
    upload.finish().await.map(|_| ())
}

async fn check_atomic_multipart_visibility(backend: &dyn Backend) -> Result<Verdict, String> {
    let ns = namespace("atomic_multipart_visibility");
    clear(backend, &ns).await?;
    let key = format!("{ns}/multipart.bin");
    let data = pattern(2 * backend.part_size() + 12_345, 12);
    let upload = slow_upload(backend, &key, data.clone(), PutOptions::overwrite());
    let seen = watch_write(backend, &key, std::slice::from_ref(&data), true, upload).await?;
    ensure!(
        seen.whole + seen.missing >= 2,
        "too few observations of `{key}` ({seen:?})"
    );
    expect_content(backend, &key, &data, "after the multipart upload").await?;

    // Overwriting by multipart: the old object stays whole until the new one replaces it.
    let newer = pattern(backend.part_size() + 999, 13);
    let upload = slow_upload(backend, &key, newer.clone(), PutOptions::overwrite());
    let versions = [data.clone(), newer.clone()];
    watch_write(backend, &key, &versions, false, upload).await?;
    expect_content(backend, &key, &newer, "after the overwriting upload").await?;

    // A staged (create-only) upload is published as atomically.
    let staged = format!("{ns}/staged.bin");
    if let Some(missing) = create_only_missing(backend).await? {
        expect_unsupported(
            slow_upload(backend, &staged, data.clone(), PutOptions::create_only()).await,
            &staged,
            "a create-only multipart upload",
        )?;
        expect_absent(backend, &staged, "a create-only multipart upload").await?;
        clear(backend, &ns).await?;
        return Ok(Verdict::RefusedAsDesigned(missing));
    }
    let upload = slow_upload(backend, &staged, data.clone(), PutOptions::create_only());
    watch_write(backend, &staged, std::slice::from_ref(&data), true, upload).await?;
    expect_content(backend, &staged, &data, "after the create-only upload").await?;
    clear(backend, &ns).await?;
    Ok(Verdict::Passed)
}

async fn check_download(backend: &dyn Backend) -> Check {
    let ns = namespace("download");
    clear(backend, &ns).await?;
    let dir = std::env::temp_dir().join(format!(
        "strata-conformance-download-{}-{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("temporary folder: {e}"))?;
    let outcome = download_into(backend, &ns, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome?;
    clear(backend, &ns).await
}

async fn download_into(backend: &dyn Backend, ns: &str, dir: &std::path::Path) -> Check {
    let file = dir.join("object.bin");
    // Empty, small, and several parts (ranges on S3), each replacing the file before it.
    for (i, size) in [0, 1_000, 2 * backend.part_size() + 12_345]
        .into_iter()
        .enumerate()
    {
        let key = format!("{ns}/object-{i}");
        let data = pattern(size, 16 + i as u64);
        backend.put(&key, data.clone()).await.ctx("put")?;
        let got = backend.download(&key, &file).await.ctx("download")?;
        let on_disk = std::fs::read(&file).map_err(|e| format!("read the download: {e}"))?;
        ensure!(
            got == size as u64 && on_disk[..] == data[..],
            "download of {size} bytes: reported {got}, the file has {} bytes{}",
            on_disk.len(),
            if on_disk.len() == size {
                " that differ"
            } else {
                ""
            }
        );
    }
    // A missing key is NotFound and leaves the file as it was, and no temporary file.
    let missing = format!("{ns}/missing");
    expect_not_found(
        backend.download(&missing, &file).await,
        &missing,
        "download",
    )?;
    let left: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|entry| entry.ok().map(|e| e.file_name()))
        .collect();
    ensure!(
        left.len() == 1 && file.exists(),
        "after a failed download the folder holds {left:?}"
    );
    Ok(())
}

async fn check_worm_refusals(backend: &dyn Backend) -> Result<Verdict, String> {
    let ns = namespace("worm_refusals");
    clear(backend, &ns).await?;
    let worm = backend.write_once();
    ensure!(worm.is_worm(), "Worm::new did not give a WORM view");
    ensure!(!backend.is_worm(), "Worm::new changed the original handle");
    if let Some(missing) = create_only_missing(backend).await? {
        // Nothing is written through a WORM view the store cannot keep write-once.
        let sealed = format!("{ns}/sealed");
        expect_unsupported(worm.put(&sealed, "immutable").await, &sealed, "WORM put")?;
        expect_absent(backend, &sealed, "WORM put").await?;
        let other = format!("{ns}/other");
        backend.put(&other, "other").await.ctx("put")?;
        expect_unsupported(worm.copy(&other, &sealed).await, &sealed, "WORM copy")?;
        expect_unsupported(worm.upload(&sealed).await, &sealed, "WORM upload")?;
        expect_absent(backend, &sealed, "WORM copy and upload").await?;
        expect_worm(
            worm.delete(&other).await,
            &other,
            WormOp::Delete,
            "WORM delete",
        )?;
        expect_content(backend, &other, b"other", "after a refused WORM delete").await?;
        clear(backend, &ns).await?;
        return Ok(Verdict::RefusedAsDesigned(missing));
    }

    let sealed = format!("{ns}/sealed");
    worm.put(&sealed, "immutable")
        .await
        .ctx("WORM put of a new key")?;
    expect_worm(
        worm.put(&sealed, "changed").await,
        &sealed,
        WormOp::Overwrite,
        "WORM overwrite",
    )?;
    expect_already_exists(
        worm.put_opts(&sealed, "changed".into(), PutOptions::create_only())
            .await,
        &sealed,
        "WORM create-only put onto an existing key",
    )?;
    expect_worm(
        worm.delete(&sealed).await,
        &sealed,
        WormOp::Delete,
        "WORM delete",
    )?;
    let never = format!("{ns}/never-written");
    expect_worm(
        worm.delete(&never).await,
        &never,
        WormOp::Delete,
        "WORM delete of a missing key",
    )?;

    let other = format!("{ns}/other");
    worm.put(&other, "other").await.ctx("WORM put")?;
    expect_worm(
        worm.copy(&other, &sealed).await,
        &sealed,
        WormOp::Overwrite,
        "WORM copy onto an existing key",
    )?;
    let copied = format!("{ns}/copied");
    worm.copy(&other, &copied)
        .await
        .ctx("WORM copy to a new key")?;
    expect_content(&worm, &copied, b"other", "WORM copy").await?;

    expect_worm(
        worm.upload(&sealed).await,
        &sealed,
        WormOp::Overwrite,
        "WORM upload onto an existing key",
    )?;
    let uploaded = format!("{ns}/uploaded");
    let data = pattern(backend.part_size() + 5, 14);
    let mut upload = worm
        .upload(&uploaded)
        .await
        .ctx("WORM upload of a new key")?;
    upload.write(&data).await.ctx("write")?;
    upload.finish().await.ctx("finish WORM upload")?;
    expect_content(&worm, &uploaded, &data, "WORM upload").await?;

    // The key is taken while a WORM upload runs: publishing it would overwrite, so refused.
    let raced = format!("{ns}/raced");
    let mut upload = worm.upload(&raced).await.ctx("WORM upload")?;
    upload.write(b"late").await.ctx("write")?;
    worm.put(&raced, "early")
        .await
        .ctx("WORM put during the upload")?;
    expect_worm(
        upload.finish().await,
        &raced,
        WormOp::Overwrite,
        "finishing a WORM upload whose key was taken meanwhile",
    )?;

    for (key, content) in [
        (&sealed, b"immutable".as_slice()),
        (&raced, b"early".as_slice()),
    ] {
        expect_content(&worm, key, content, "after every refusal").await?;
    }
    // The writable handle is unaffected (retention is enforced above this layer).
    clear(backend, &ns).await?;
    Ok(Verdict::Passed)
}

macro_rules! scenarios {
    ($($(#[$doc:meta])* $name:ident => $body:ident,)+) => {
        $(
            $(#[$doc])*
            pub async fn $name(backend: &dyn Backend) -> Result<Verdict, Failure> {
                match $body(backend).await {
                    Ok(ended) => Ok(IntoVerdict::into_verdict(ended)),
                    Err(detail) => Err(Failure {
                        scenario: stringify!($name),
                        detail,
                    }),
                }
            }
        )+

        /// The names of all scenarios, in the order [`run_all`] runs them.
        pub const SCENARIOS: &[&str] = &[$(stringify!($name)),+];

        /// Runs every scenario against `backend` (which must not be WORM), stopping at the
        /// first failure; returns the names of the scenarios run, in order. A scenario counts
        /// as run when it passed or was [refused as designed](Verdict::RefusedAsDesigned);
        /// [`run_all_verdicts`] tells which.
        pub async fn run_all(backend: &dyn Backend) -> Result<Vec<&'static str>, Failure> {
            Ok(run_all_verdicts(backend)
                .await?
                .into_iter()
                .map(|outcome| outcome.scenario)
                .collect())
        }

        /// Runs every scenario like [`run_all`] and returns each one's [`Verdict`].
        pub async fn run_all_verdicts(backend: &dyn Backend) -> Result<Vec<Outcome>, Failure> {
            if backend.is_worm() {
                return Err(Failure {
                    scenario: "run_all",
                    detail: "the suite needs a writable backend; it derives its own WORM view"
                        .to_owned(),
                });
            }
            let mut ran = Vec::with_capacity(SCENARIOS.len());
            $(
                ran.push(Outcome {
                    scenario: stringify!($name),
                    verdict: $name(backend).await?,
                });
            )+
            Ok(ran)
        }
    };
}

scenarios! {
    /// put then get and head: small, empty and multi-MiB objects; `exists`.
    put_get => check_put_get,
    /// Ranged reads: exact bytes, a range cut at the end, invalid ranges, missing keys.
    ranged_get => check_ranged_get,
    /// Listing by prefix is recursive, segment-wise, sorted, exact, and hides staging;
    /// `list_stream` and `list_dir` agree.
    list_prefix => check_list_prefix,
    /// Delete removes exactly one object; deleting a missing key succeeds.
    delete => check_delete,
    /// Overwrite replaces; a create-only put onto an existing key is `AlreadyExists` and
    /// changes nothing.
    overwrite_and_create_only => check_overwrite_and_create_only,
    /// Eight concurrent create-only puts of one key: exactly one wins.
    create_only_race => check_create_only_race,
    /// Copies: independent of the source, overwrite or create-only, missing source.
    copy => check_copy,
    /// get, head and get_range of missing keys (also "directories") are `NotFound`.
    not_found => check_not_found,
    /// Create-only multipart uploads: refused up front, or at finish when the key was taken
    /// meanwhile; staged data never shows and never stays behind.
    create_only_uploads => check_create_only_uploads,
    /// Keys with spaces, `%`, `=`, `+`, `~`, `#`, unicode round-trip through every operation.
    unusual_keys => check_unusual_keys,
    /// Every operation refuses malformed keys with `InvalidKey` and writes nothing.
    invalid_keys => check_invalid_keys,
    /// A multipart upload of three parts (> 10 MiB) in uneven writes; replace; abort; empty.
    multipart_upload => check_multipart_upload,
    /// Readers racing large puts (new, overwrite, create-only) never see a partial object.
    atomic_put_visibility => check_atomic_put_visibility,
    /// Readers racing multipart uploads (new, overwrite, staged) never see a partial object.
    atomic_multipart_visibility => check_atomic_multipart_visibility,
    /// `download` writes empty, small and multi-part objects whole to a file, replacing it; a
    /// missing key is `NotFound` and leaves nothing behind.
    download => check_download,
    /// A WORM view refuses overwrites and deletes (puts, copies, uploads) and changes nothing;
    /// on a store that cannot keep it write-once, it writes nothing at all.
    worm_refusals => check_worm_refusals,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_differ_by_seed_and_are_deterministic() {
        assert_eq!(pattern(1000, 1), pattern(1000, 1));
        assert_ne!(pattern(1000, 1), pattern(1000, 2));
        assert_eq!(pattern(13, 5).len(), 13);
        assert_eq!(pattern(0, 5).len(), 0);
    }

    #[tokio::test]
    async fn run_all_refuses_a_worm_backend() {
        let backend = crate::ObjectStoreBackend::memory().write_once();
        let failure = run_all(&backend).await.unwrap_err();
        assert_eq!(failure.scenario, "run_all");
    }

    #[test]
    fn scenario_names_are_unique() {
        let unique: BTreeSet<_> = SCENARIOS.iter().collect();
        assert_eq!(unique.len(), SCENARIOS.len());
    }
}
