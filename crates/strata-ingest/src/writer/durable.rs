//! The durable watermark as the writer's users see it: waiting for it, the listeners told of
//! its advances, and the failed state after which it never moves again.

use super::*;

impl Writer {
    /// The highest ticket known durable.
    pub fn durable_watermark(&self) -> Ticket {
        self.inner.durable.load(Ordering::Acquire)
    }

    /// The error of the writer's failed state ([`Error::SyncFailed`] or [`Error::Panicked`]),
    /// if it failed: nothing more becomes durable in this session.
    pub fn failure(&self) -> Option<Error> {
        lock(&self.inner.failed).as_ref().map(Failure::error)
    }

    /// Calls `listener` with the new watermark each time the durable watermark advances, and
    /// with the watermark and the failure when the writer fails (a commit's fsync, or a panic of
    /// the seal schedule or of a listener; after that nothing more becomes durable in this
    /// session, see [`Writer::failure`]). It is called first with the watermark (and failure) as
    /// they are now. It runs on the committing thread but outside the writer's locks, so it may
    /// call the writer; it should return soon (send on a channel, wake a task). Calls from
    /// concurrent commits can overlap and arrive out of order: keep the highest watermark. A
    /// listener that panics puts the writer in its failed state ([`Error::Panicked`]). This is
    /// how an async handle awaits durability without a blocked thread per waiter.
    pub fn on_durable(&self, listener: impl Fn(Ticket, Option<&str>) + Send + Sync + 'static) {
        let listener: DurableListener = Arc::new(listener);
        // Registered before its first call, so no advance between the two is missed.
        lock(&self.inner.durable_listeners).push(Arc::clone(&listener));
        let failed = lock(&self.inner.failed).as_ref().map(Failure::message);
        let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            listener(self.durable_watermark(), failed.as_deref())
        }));
        if let Err(payload) = called {
            self.fail(Failure::Panic {
                what: "a durability listener".into(),
                message: panic_message(&*payload),
            });
        }
    }

    /// Blocks until `ticket` is durable or `timeout` passes; true when durable. False at once
    /// when the writer is in its failed state ([`Writer::wait_durable_checked`] says why).
    pub fn wait_durable(&self, ticket: Ticket, timeout: Duration) -> bool {
        self.wait_durable_checked(ticket, timeout).unwrap_or(false)
    }

    /// Blocks until `ticket` is durable (`Ok(true)`), `timeout` passes (`Ok(false)`) or the
    /// writer fails first: then its error ([`Error::SyncFailed`], [`Error::Panicked`]), at once.
    pub fn wait_durable_checked(&self, ticket: Ticket, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        let mut guard = lock(&self.inner.durable_mutex);
        while self.durable_watermark() < ticket {
            if let Some(e) = self.failure() {
                return Err(e);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            guard = match self
                .inner
                .durable_changed
                .wait_timeout(guard, deadline - now)
            {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        Ok(true)
    }

    /// Puts the writer in its failed state (the first failure is kept: every later commit
    /// returns its error) and, if it was not failed yet, wakes every waiter and tells every
    /// listener. Called outside the state and commit locks (listeners may call the writer).
    pub(super) fn fail(&self, failure: Failure) {
        let (failure, first) = self.set_failed(failure);
        if first {
            self.announce(&failure);
        }
    }

    /// Sets the failed state unless it is set: the failure kept, and whether it is `failure`.
    pub(super) fn set_failed(&self, failure: Failure) -> (Failure, bool) {
        let mut failed = lock(&self.inner.failed);
        match &*failed {
            Some(kept) => (kept.clone(), false),
            None => {
                tracing::error!(target: "strata::ingest", "the writer failed: {}", failure.message());
                *failed = Some(failure.clone());
                (failure, true)
            }
        }
    }

    /// [`Writer::fail`] when `e` is a caught panic.
    pub(super) fn fail_if_panicked(&self, e: &Error) {
        if let Error::Panicked { what, message } = e {
            self.fail(Failure::Panic {
                what: what.clone(),
                message: message.clone(),
            });
        }
    }

    /// Wakes the threads waiting for durability and tells the listeners of `failure`.
    pub(super) fn announce(&self, failure: &Failure) {
        {
            let _g = lock(&self.inner.durable_mutex);
            self.inner.durable_changed.notify_all();
        }
        // A listener that panics on the failure itself has nothing left to fail (logged).
        let _ = self.call_listeners(self.durable_watermark(), Some(&failure.message()));
    }

    /// Calls every listener with `watermark` (and the failure, if any) on a copy of the list,
    /// outside every lock; a listener's panic is caught (the others are still called): the first
    /// panic's message is returned.
    pub(super) fn call_listeners(&self, watermark: Ticket, failed: Option<&str>) -> Option<String> {
        let listeners: Vec<DurableListener> = lock(&self.inner.durable_listeners).clone();
        call_caught(&listeners, "a durability listener", |l| {
            l(watermark, failed)
        })
    }
}

/// Calls `call` on each of `listeners` (a copy: no lock is held), catching panics: each is
/// logged as `what`'s, the others are still called, and the first one's message is returned.
fn call_caught<L: ?Sized>(listeners: &[Arc<L>], what: &str, call: impl Fn(&L)) -> Option<String> {
    let mut panicked = None;
    for listener in listeners {
        let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(listener)));
        if let Err(payload) = called {
            let message = panic_message(&*payload);
            tracing::error!(target: "strata::ingest", "{what} panicked: {message}");
            panicked.get_or_insert(message);
        }
    }
    panicked
}

/// A callback [`Writer::on_quota_cleanup`] registers.
pub(super) type CleanupListener = Arc<dyn Fn(&Writer, &CleanupRequest) + Send + Sync>;

impl Writer {
    /// Calls `listener` each time a batch goes over a SoftLimit or DropOldest quota (QUOTA-2:
    /// the writer keeps writing; cleanup should start). It is called once per such batch, on
    /// the appending thread, after the batch is written and outside the writer's locks (it may
    /// call the writer): it should return soon — hand the request to a thread of its own.
    /// Once the cleanup has deleted files, [`Writer::release_quota_usage`] takes them off this
    /// writer's quotas. A listener's panic is caught and logged; the writer goes on.
    pub fn on_quota_cleanup(
        &self,
        listener: impl Fn(&Writer, &CleanupRequest) + Send + Sync + 'static,
    ) {
        lock(&self.inner.cleanup_listeners).push(Arc::new(listener));
    }

    /// Calls the cleanup listeners with `request`, outside every lock (a panic is logged).
    pub(super) fn call_cleanup_listeners(&self, request: &CleanupRequest) {
        let listeners: Vec<CleanupListener> = lock(&self.inner.cleanup_listeners).clone();
        call_caught(&listeners, "a quota cleanup listener", |l| l(self, request));
    }

    /// Takes `deleted` (files a cleanup removed while this writer was open) off the bytes and
    /// files its quotas count, so a byte or file HardLimit that refused lets writes in again
    /// once space is freed, and notes `note` among the session report's quota signals (lost
    /// once the writer is closed: its report is written).
    pub fn release_quota_usage(&self, deleted: &[strata_catalog::FileManifest], note: &str) {
        let mut st = lock(&self.inner.state);
        st.ledger.release(deleted, &self.inner.symbols);
        if !note.is_empty() {
            st.report.quota_signals.push(note.to_string());
        }
    }
}

/// A callback [`Writer::on_durable`] registers.
pub(super) type DurableListener = Arc<dyn Fn(Ticket, Option<&str>) + Send + Sync>;

/// Why a writer is in its failed state (the first failure is kept).
#[derive(Debug, Clone)]
pub(super) enum Failure {
    /// A commit could not hand bytes to the OS or fsync them: the message.
    Sync(String),
    /// The caller's code the writer runs panicked.
    Panic {
        /// What: the seal schedule (named) or a durability listener.
        what: String,
        /// The panic's message.
        message: String,
    },
}

impl Failure {
    /// The error every later commit returns.
    pub(super) fn error(&self) -> Error {
        match self {
            Failure::Sync(reason) => Error::SyncFailed {
                reason: reason.clone(),
            },
            Failure::Panic { what, message } => Error::Panicked {
                what: what.clone(),
                message: message.clone(),
            },
        }
    }

    /// What durability listeners are told.
    pub(super) fn message(&self) -> String {
        match self {
            Failure::Sync(reason) => reason.clone(),
            Failure::Panic { what, message } => format!("{what} panicked: {message}"),
        }
    }
}

/// The text of a caught panic.
pub(super) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}
