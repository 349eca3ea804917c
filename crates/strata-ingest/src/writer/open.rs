//! Opening: the writer lock, recovery of what a crash left behind, the session's first state
//! and the background threads (the sealer here, the group-commit thread in `commit.rs`).

use super::*;

impl Writer {
    /// Opens the hot tier of the archive at `root` for writing with `config`: its settings
    /// ([`WriterSettings::from_config`]) and, for every slot `options.components` leaves empty,
    /// its built-in components. See [`Writer::open_with`].
    pub fn open(
        root: &Path,
        config: Config,
        catalog: Arc<Catalog>,
        options: WriterOptions,
    ) -> Result<Writer> {
        let settings = WriterSettings::from_config(&config)?;
        let components = options.components.clone().resolve(&config)?;
        Writer::open_with(root, settings, components, catalog, options)
    }

    /// Opens the hot tier of the archive at `root` for writing with exactly these settings and
    /// components (`options.components` is not read): recovers what a crash left behind (see
    /// [`crate::recovery`]), then starts the group-commit thread if the durability mode asks for
    /// one.
    pub fn open_with(
        root: &Path,
        settings: WriterSettings,
        components: Resolved,
        catalog: Arc<Catalog>,
        options: WriterOptions,
    ) -> Result<Writer> {
        let Resolved {
            naming,
            integrity,
            quotas,
            seal_schedule,
        } = components;
        let symbols = settings.symbols.clone();
        let started = (Instant::now(), chrono::Utc::now());
        let session_id = options
            .session_id
            .clone()
            .unwrap_or_else(|| started.1.format("%Y%m%dT%H%M%S%.6fZ").to_string());
        // One writer per archive: nothing is touched before the lock is ours.
        let writer_lock = WriterLock::acquire(root, &session_id, options.lock_wait)?;
        let Recovered {
            hot,
            quarantine,
            imports,
            next_segment_no,
            notes,
        } = Recovered::run(root, &settings, &*naming, &catalog, &session_id)?;
        let ledger = quota_ledger(quotas, &catalog, &symbols, started.1.date_naive())?;
        let report = running_report(&session_id, &options, started.1, notes);
        let state = State::at_open(
            ledger,
            quarantine,
            report,
            next_segment_no,
            open_file_bound(settings.max_open_segments),
        );
        let sealer = Sealer::start(
            root.to_path_buf(),
            settings.sealing,
            catalog,
            session_id.clone(),
        )?;
        let inner = Arc::new(Inner {
            root: root.to_path_buf(),
            hot,
            naming,
            integrity,
            seal_schedule,
            symbols,
            state: Mutex::new(state),
            commit_lock: Mutex::new(()),
            durable: AtomicU64::new(0),
            durable_changed: Condvar::new(),
            durable_mutex: Mutex::new(()),
            closed: AtomicBool::new(false),
            appends_done: Condvar::new(),
            abandoned: AtomicBool::new(false),
            wake: Arc::new(Wake::default()),
            session_id,
            started,
            committer: Mutex::new(None),
            sealer,
            report_write: Mutex::new(()),
            lock: Mutex::new(Some(writer_lock)),
            imports: Mutex::new(imports),
            failed: Mutex::new(None),
            durable_listeners: Mutex::new(Vec::new()),
            cleanup_listeners: Mutex::new(Vec::new()),
            fault_next_drain: AtomicBool::new(false),
            settings,
        });
        let writer = Writer { inner };
        writer.checkpoint()?;
        writer.start_committer()?;
        Ok(writer)
    }
}

/// What opening found before the writer takes over: the hot tier's folder, the quarantine and
/// import ledger as recovery left them, the next segment numbers, and what was done (notes for
/// the session report).
struct Recovered {
    hot: PathBuf,
    quarantine: Quarantine,
    imports: Ledger,
    next_segment_no: HashMap<String, u32>,
    notes: Vec<String>,
}

impl Recovered {
    /// Recovers what a crash left behind (see [`crate::recovery`]) and marks the sessions that
    /// ended without `close()`. Called with the writer lock held.
    fn run(
        root: &Path,
        settings: &WriterSettings,
        naming: &dyn Naming,
        catalog: &Catalog,
        session_id: &str,
    ) -> Result<Recovered> {
        let hot = root.join(paths::HOT);
        crate::lock::refuse_symlink(&hot)?;
        std::fs::create_dir_all(&hot).map_err(io_err(&hot))?;
        let mut quarantine = Quarantine::new(root, session_id);

        // Imports a crash left staged are finished (committed) or rolled back first; what they
        // move into `hot/` is then recovered and sealed like any segment left open.
        let mut imports = Ledger::load(root)?;
        let mut notes = crate::imports::recover_staging(root, &mut imports)?;
        // The sessions before this one, read once: which session opened each segment left
        // open (their lists; else the import ledger's last commit naming the file), and which
        // ended without close().
        let earlier = crate::session::EarlierSessions::read(root, session_id);
        notes.extend(earlier.notes().iter().cloned());
        let owner_of = |rel: &str| {
            earlier
                .owner_of(rel)
                .or_else(|| imports.session_of_file(rel))
                .map(str::to_string)
        };
        let seal_ctx = SealContext::new(root, &settings.sealing, catalog, session_id);
        let RecoveryReport {
            next_segment_no,
            notes: hot_notes,
            ..
        } = recovery::recover(root, naming, &seal_ctx, &owner_of, &mut quarantine)?;
        notes.extend(hot_notes);
        // The lists now name only what is still unsealed.
        notes.extend(earlier.prune(root));

        let interrupted =
            SessionReport::mark_interrupted(root, earlier.running(), session_id, &notes)?;
        notes.extend(
            interrupted
                .iter()
                .map(|id| format!("session {id} ended without close(): marked interrupted")),
        );
        Ok(Recovered {
            hot,
            quarantine,
            imports,
            next_segment_no,
            notes,
        })
    }
}

impl State {
    /// A new session's state: nothing open or pending yet, tickets from 1.
    fn at_open(
        ledger: QuotaLedger,
        quarantine: Quarantine,
        report: SessionReport,
        next_segment_no: HashMap<String, u32>,
        max_open: usize,
    ) -> State {
        State {
            last_ticket: 0,
            segments: HashMap::new(),
            next_segment_no,
            streams: Streams::default(),
            pending_files: Vec::new(),
            pending_dirs: Vec::new(),
            segment_list: None,
            ledger,
            quarantine,
            report,
            staging: None,
            next_import: 0,
            open_files: 0,
            open_order: std::collections::VecDeque::new(),
            max_open,
            clock: 0,
            in_flight: 0,
            cleanup_due: None,
        }
    }
}

/// The quota ledger of a session opened on `today`, primed with the usage the catalog holds.
fn quota_ledger(
    quotas: Vec<Arc<dyn QuotaPolicy>>,
    catalog: &Catalog,
    symbols: &SymbolRegistry,
    today: chrono::NaiveDate,
) -> Result<QuotaLedger> {
    Ok(QuotaLedger::new(
        quotas.clone(),
        recovery::usage_from_catalog(catalog, &quotas, symbols, today)?,
        today,
    ))
}

/// The report of a session just opened (state `running`), with what recovery did.
fn running_report(
    session_id: &str,
    options: &WriterOptions,
    started_at: chrono::DateTime<chrono::Utc>,
    notes: Vec<String>,
) -> SessionReport {
    SessionReport {
        id: session_id.to_string(),
        state: SessionState::Running,
        tags: options.tags.clone(),
        started_at: started_at.to_rfc3339(),
        recovery: notes,
        ..SessionReport::default()
    }
}
