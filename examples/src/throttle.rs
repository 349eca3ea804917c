//! A bandwidth-limiting [`Backend`] decorator: what a user writes to put a policy of their own
//! in front of any store (here: "never move more than N bytes per second", as one would for a
//! shared uplink or a metered bucket). It passes the backend conformance suite over `memory://`
//! and `file://` (`examples/tests/custom_backend_passes_the_conformance_suite.rs`).
//!
//! [`Throttled`] wraps any backend — a [`strata::backend::ObjectStoreBackend`], an
//! `Arc<dyn Backend>` from a URL, or another decorator such as
//! [`Worm`](strata::backend::Worm) — and paces the bytes it moves: writes (puts, upload
//! parts) wait *before* they go out, reads wait *after* they come back, each direction with its
//! own budget. Metadata calls (head, list, delete, copy inside the store) move no payload and
//! pass straight through. It also counts what it moved and how long callers waited, so a
//! program can report it.
//!
//! The pacing is a token bucket in its "virtual clock" form (GCRA): each transfer pushes a
//! theoretical arrival time forward by `bytes / rate`; a transfer may start as soon as that
//! time is no more than the burst allowance ahead of now. Concurrent callers share the budget
//! fairly in arrival order, and the lock is never held across an `.await`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use strata::backend::{
    async_trait, Backend, BackendKind, BoxStream, Bytes, Capabilities, GetOptions, Listing,
    ObjectMeta, PutOptions, Result, Upload, UploadSummary, UploadWriter,
};
use tokio::time::Instant;

/// One direction's budget: `rate` bytes per second with a burst allowance.
#[derive(Debug)]
struct Pacer {
    bytes_per_second: u64,
    burst: Duration,
    /// When the bytes granted so far would have finished at exactly `rate`.
    theoretical_arrival: Mutex<Instant>,
}

impl Pacer {
    fn new(bytes_per_second: u64, burst_bytes: u64) -> Self {
        let bytes_per_second = bytes_per_second.max(1);
        Self {
            bytes_per_second,
            burst: Duration::from_secs_f64(burst_bytes as f64 / bytes_per_second as f64),
            theoretical_arrival: Mutex::new(Instant::now()),
        }
    }

    /// Reserves `bytes` of the budget and waits until they may move; returns the wait.
    async fn take(&self, bytes: u64) -> Duration {
        if bytes == 0 {
            return Duration::ZERO;
        }
        let cost = Duration::from_secs_f64(bytes as f64 / self.bytes_per_second as f64);
        let now = Instant::now();
        let ready_at = {
            // A panic elsewhere cannot leave the instant half-written: keep using it.
            let mut tat = self
                .theoretical_arrival
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let start = (*tat).max(now);
            *tat = start + cost;
            (*tat).checked_sub(self.burst).unwrap_or(now)
        };
        if ready_at <= now {
            return Duration::ZERO;
        }
        tokio::time::sleep_until(ready_at).await;
        ready_at - now
    }
}

/// What a [`Throttled`] backend moved, and how long its callers waited for the budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThrottleStats {
    /// Payload bytes written (puts and upload parts).
    pub bytes_written: u64,
    /// Payload bytes read.
    pub bytes_read: u64,
    /// Time spent waiting for the write budget, summed over callers.
    pub write_wait: Duration,
    /// Time spent waiting for the read budget, summed over callers.
    pub read_wait: Duration,
}

#[derive(Debug, Default)]
struct Counters {
    bytes_written: AtomicU64,
    bytes_read: AtomicU64,
    write_wait_nanos: AtomicU64,
    read_wait_nanos: AtomicU64,
}

fn nanos(wait: Duration) -> u64 {
    u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX)
}

/// The budgets and counters, shared by a backend and its uploads in flight.
#[derive(Debug)]
struct Shared {
    write: Pacer,
    read: Pacer,
    counters: Counters,
}

impl Shared {
    async fn before_write(&self, bytes: u64) {
        let waited = self.write.take(bytes).await;
        let counters = &self.counters;
        counters.bytes_written.fetch_add(bytes, Ordering::Relaxed);
        counters
            .write_wait_nanos
            .fetch_add(nanos(waited), Ordering::Relaxed);
    }

    async fn after_read(&self, bytes: u64) {
        let waited = self.read.take(bytes).await;
        let counters = &self.counters;
        counters.bytes_read.fetch_add(bytes, Ordering::Relaxed);
        counters
            .read_wait_nanos
            .fetch_add(nanos(waited), Ordering::Relaxed);
    }
}

/// A backend whose payload moves at no more than a set number of bytes per second each way.
///
/// ```
/// use std::sync::Arc;
/// use strata::backend::prelude::*;
/// use strata_examples::throttle::Throttled;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = strata::backend::open("memory://")?;
/// // 64 MiB/s each way, the first 1 MiB without waiting.
/// let backend: Arc<dyn Backend> = Arc::new(Throttled::new(store, 64 << 20).with_burst(1 << 20));
/// backend.put("a.bin", vec![0u8; 4096]).await?;
/// assert_eq!(backend.get("a.bin").await?.len(), 4096);
/// # Ok::<(), strata::backend::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Throttled<B> {
    inner: B,
    shared: Arc<Shared>,
}

impl<B: Backend> Throttled<B> {
    /// Limits `inner` to `bytes_per_second` for writes and, separately, for reads; the burst
    /// allowance defaults to 64 KiB.
    pub fn new(inner: B, bytes_per_second: u64) -> Self {
        Self::with_rates(inner, bytes_per_second, bytes_per_second)
    }

    /// Different limits for writes and reads (bytes per second each).
    pub fn with_rates(inner: B, write_bytes_per_second: u64, read_bytes_per_second: u64) -> Self {
        const DEFAULT_BURST: u64 = 64 * 1024;
        Self {
            inner,
            shared: Arc::new(Shared {
                write: Pacer::new(write_bytes_per_second, DEFAULT_BURST),
                read: Pacer::new(read_bytes_per_second, DEFAULT_BURST),
                counters: Counters::default(),
            }),
        }
    }

    /// Lets up to `bytes` move at once (each way) after a quiet spell; 0 paces every byte.
    /// Resets the counters.
    pub fn with_burst(self, bytes: u64) -> Self {
        let rate = |pacer: &Pacer| pacer.bytes_per_second;
        Self {
            shared: Arc::new(Shared {
                write: Pacer::new(rate(&self.shared.write), bytes),
                read: Pacer::new(rate(&self.shared.read), bytes),
                counters: Counters::default(),
            }),
            inner: self.inner,
        }
    }

    /// The backend underneath.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// What moved so far, and the waits.
    pub fn stats(&self) -> ThrottleStats {
        let counters = &self.shared.counters;
        ThrottleStats {
            bytes_written: counters.bytes_written.load(Ordering::Relaxed),
            bytes_read: counters.bytes_read.load(Ordering::Relaxed),
            write_wait: Duration::from_nanos(counters.write_wait_nanos.load(Ordering::Relaxed)),
            read_wait: Duration::from_nanos(counters.read_wait_nanos.load(Ordering::Relaxed)),
        }
    }
}

#[async_trait]
impl<B: Backend> Backend for Throttled<B> {
    // Metadata: the inner backend's.
    fn url(&self) -> &str {
        self.inner.url()
    }

    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }

    fn is_worm(&self) -> bool {
        self.inner.is_worm()
    }

    fn part_size(&self) -> usize {
        self.inner.part_size()
    }

    // Payload: paced.
    async fn put_opts(&self, key: &str, data: Bytes, options: PutOptions) -> Result<()> {
        // A malformed key is refused before it costs any budget.
        strata::backend::key::validate_key(key)?;
        self.shared.before_write(data.len() as u64).await;
        self.inner.put_opts(key, data, options).await
    }

    async fn get_opts(&self, key: &str, options: GetOptions) -> Result<Bytes> {
        let bytes = self.inner.get_opts(key, options).await?;
        self.shared.after_read(bytes.len() as u64).await;
        Ok(bytes)
    }

    async fn upload_opts(&self, key: &str, options: PutOptions) -> Result<UploadWriter> {
        let inner = self.inner.upload_opts(key, options).await?;
        Ok(UploadWriter::new(ThrottledUpload {
            inner: inner.into_inner(),
            shared: Arc::clone(&self.shared),
        }))
    }

    // No payload moves: forwarded as they are (including the inner store's efficient
    // `list_dir` and its staging clean-up, which the trait's defaults would replace).
    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        self.inner.head(key).await
    }

    fn list_stream(&self, prefix: &str) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_stream(prefix)
    }

    async fn list_dir(&self, prefix: &str) -> Result<Listing> {
        self.inner.list_dir(prefix).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(key).await
    }

    async fn copy_opts(&self, from: &str, to: &str, options: PutOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn purge_staging(&self) -> Result<usize> {
        self.inner.purge_staging().await
    }

    async fn capabilities(&self) -> Result<Capabilities> {
        self.inner.capabilities().await
    }
}

/// An upload through a [`Throttled`] backend: each write waits for its budget first.
#[derive(Debug)]
struct ThrottledUpload {
    inner: Box<dyn Upload>,
    shared: Arc<Shared>,
}

#[async_trait]
impl Upload for ThrottledUpload {
    fn key(&self) -> &str {
        self.inner.key()
    }

    fn bytes_written(&self) -> u64 {
        self.inner.bytes_written()
    }

    async fn write(&mut self, data: &[u8]) -> Result<()> {
        self.shared.before_write(data.len() as u64).await;
        self.inner.write(data).await
    }

    async fn write_bytes(&mut self, data: Bytes) -> Result<()> {
        self.shared.before_write(data.len() as u64).await;
        self.inner.write_bytes(data).await
    }

    async fn finish(self: Box<Self>) -> Result<UploadSummary> {
        self.inner.finish().await
    }

    async fn abort(self: Box<Self>) -> Result<()> {
        self.inner.abort().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_passes_at_once_and_the_rest_is_paced() {
        let pacer = Pacer::new(1 << 20, 64 << 10);
        assert_eq!(pacer.take(64 << 10).await, Duration::ZERO);
        let started = Instant::now();
        let waited = pacer.take(128 << 10).await;
        // 128 KiB at 1 MiB/s is 125 ms.
        assert!(waited >= Duration::from_millis(110), "{waited:?}");
        assert!(started.elapsed() >= Duration::from_millis(110));
        assert_eq!(pacer.take(0).await, Duration::ZERO);
    }
}
