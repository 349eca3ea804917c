//! Durable ingest rate on real trades (INGEST-1/2), printed as the Markdown tables of
//! `docs/PERFORMANCE.md` ("Ingest (INGEST-1/2)").
//!
//! ```text
//! cargo run --release -p strata-benches --bin ingest-rate
//! taskset -c 0 target/release/ingest-rate          # everything on one core
//! target/release/ingest-rate --reps 7 --batch 1000 --interval-ms 10 --skip-import
//! ```
//!
//! Per repetition, in this order: the serde_json ceiling, then strata with each seal setting
//! (none, lz4, zstd:1, gzip:6; hourly files, as the LowLatency profile writes), then strata with daily
//! files (one file for the day, so nothing is sealed before `close()`), each on a fresh
//! temporary folder; the tables give the median over the repetitions (min–max beside it). Then, unless `--skip-import`, each import input through the
//! importer alone and through `strata::archive::Archive::import_file` (hash, stage, commit) → close. Options:
//!
//! - `--reps N` (default 5), `--batch N` events per `append_batch` (default 1000),
//!   `--interval-ms N` group-commit interval (default 10), `--events N` use only the first N
//!   events (default all), `--import-reps N` (default 3), `--seal LIST` seal settings to run (default
//!   `none,lz4,zstd:1,gzip:6`), `--skip-import`, `--only-import`.
//! - `TMPDIR` chooses where the temporary folders go (the same file system as the workspace here).

// A measuring program: a failure is a panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use strata_benches::ingest::{
    allowed_cpus, check_ceiling_bytes, import_inputs, ingest_config, load_events, median,
    run_import_alone, run_import_into_writer, run_serde_ceiling, run_strata, spy_trades_day1,
    CeilingRun, SealSetting, StrataRun,
};
use strata_core::layout::Granularity;

struct Options {
    reps: usize,
    batch: usize,
    interval_ms: u64,
    events: Option<usize>,
    import_reps: usize,
    seals: Vec<SealSetting>,
    ingest: bool,
    import: bool,
}

fn options() -> Options {
    let mut o = Options {
        reps: 5,
        batch: 1000,
        interval_ms: 10,
        events: None,
        import_reps: 3,
        seals: SealSetting::ALL.to_vec(),
        ingest: true,
        import: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> usize {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match arg.as_str() {
            "--reps" => o.reps = value("--reps").max(1),
            "--batch" => o.batch = value("--batch").max(1),
            "--interval-ms" => o.interval_ms = value("--interval-ms") as u64,
            "--events" => o.events = Some(value("--events")),
            "--import-reps" => o.import_reps = value("--import-reps").max(1),
            "--seal" => {
                let list = args
                    .next()
                    .expect("--seal needs a list: none,lz4,zstd:1,gzip:6");
                o.seals = list
                    .split(',')
                    .map(|name| {
                        *SealSetting::ALL
                            .iter()
                            .find(|s| s.name() == name)
                            .unwrap_or_else(|| panic!("unknown seal setting `{name}`"))
                    })
                    .collect();
            }
            "--skip-import" => o.import = false,
            "--only-import" => o.ingest = false,
            "--help" | "-h" => {
                println!("see the doc comment of benches/ingest_rate.rs");
                std::process::exit(0);
            }
            other => panic!("unknown argument `{other}`"),
        }
    }
    o
}

/// The group-commit thread's name as `/proc` shows it (15 characters).
const GROUP_COMMIT: &str = "strata-group-co";
/// The background sealer's thread name.
const SEALER: &str = "strata-sealer";

/// On-CPU time of every thread but the writer's own (the appending thread; the ceiling and
/// strata run on the calling thread only).
fn appending_cpu(run: &StrataRun) -> f64 {
    ms(run
        .cpu
        .by_name
        .iter()
        .filter(|(n, _)| !n.starts_with(GROUP_COMMIT) && !n.starts_with(SEALER))
        .map(|(_, d)| *d)
        .sum())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn thousands(n: f64) -> String {
    strata_benches::grouped(n.round() as u64)
}

fn spread(values: &[f64]) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{}–{}", thousands(min), thousands(max))
}

fn main() {
    let o = options();
    println!(
        "ingest-rate: {} UTC, allowed CPUs {}, {} online, batch {}, group commit {} ms",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        allowed_cpus(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        o.batch,
        o.interval_ms
    );
    if o.ingest {
        ingest(&o);
    }
    if o.import {
        import(&o);
    }
}

fn ingest(o: &Options) {
    let input = spy_trades_day1();
    let mut events = load_events(&input).unwrap();
    if let Some(n) = o.events {
        events.truncate(n);
    }
    check_ceiling_bytes(&events).unwrap();
    println!(
        "\ninput: {} events from {}{} (ceiling rows checked byte-identical to strata's JSONL)",
        events.len(),
        input.path.display(),
        if input.is_cut {
            " (COMMITTED CUT: full data not found)"
        } else {
            ""
        }
    );

    let mut ceilings: Vec<CeilingRun> = Vec::new();
    let mut runs: Vec<Vec<StrataRun>> = vec![Vec::new(); o.seals.len()];
    // The same with daily files: one file for the day, so nothing is sealed before close().
    let mut daily: Vec<StrataRun> = Vec::new();
    for rep in 0..o.reps {
        let dir = tempfile::tempdir().unwrap();
        ceilings.push(run_serde_ceiling(&events, &dir.path().join("ceiling.jsonl")).unwrap());
        drop(dir);
        for (i, &seal) in o.seals.iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            let run = run_strata(
                &events,
                o.batch,
                ingest_config(seal, o.interval_ms),
                &dir.path().join("archive"),
            )
            .unwrap();
            eprintln!(
                "rep {rep} {:>6}: {:>10} ev/s, {:>10} ev/s to sealed, durable {:7.1} ms, close {:6.1} ms (ceiling {} ev/s)",
                seal.name(),
                thousands(run.events_per_sec()),
                thousands(run.sealed_events_per_sec()),
                ms(run.durable),
                ms(run.close),
                thousands(ceilings[rep].events_per_sec()),
            );
            runs[i].push(run);
        }
        let dir = tempfile::tempdir().unwrap();
        let mut config = ingest_config(SealSetting::None, o.interval_ms);
        config.layout.granularity = Granularity::Daily;
        daily.push(run_strata(&events, o.batch, config, &dir.path().join("archive")).unwrap());
    }

    let ceiling_rates: Vec<f64> = ceilings.iter().map(CeilingRun::events_per_sec).collect();
    let ceiling_median = median(&mut ceiling_rates.clone());
    let mut ceiling_ms: Vec<f64> = ceilings.iter().map(|c| ms(c.elapsed)).collect();
    let mut ceiling_cpu: Vec<f64> = ceilings.iter().map(|c| ms(c.cpu)).collect();
    println!(
        "\n| run | events/s to durable (median of {}) | min–max | ratio to ceiling | to durable (ms) | close: rest sealed (ms) | events/s to all sealed | CPU: appending thread (ms) | CPU: group-commit thread (ms) | CPU: sealer thread (ms) | files sealed | JSONL bytes |",
        o.reps
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| serde_json ceiling (BufWriter + 1 fsync) | {} | {} | 1.00 | {:.1} | – | – | {:.1} | – | – | – | {} |",
        thousands(ceiling_median),
        spread(&ceiling_rates),
        median(&mut ceiling_ms),
        median(&mut ceiling_cpu),
        thousands(ceilings[0].bytes as f64),
    );
    let row = |label: &str, r: &[StrataRun]| {
        let rates: Vec<f64> = r.iter().map(StrataRun::events_per_sec).collect();
        let rate = median(&mut rates.clone());
        println!(
            "| {label} | {} | {} | {:.2} | {:.1} | {:.1} | {} | {:.1} | {:.1} | {:.1} | {} | {} |",
            thousands(rate),
            spread(&rates),
            rate / ceiling_median,
            median(&mut r.iter().map(|x| ms(x.durable)).collect::<Vec<_>>()),
            median(&mut r.iter().map(|x| ms(x.close)).collect::<Vec<_>>()),
            thousands(median(
                &mut r
                    .iter()
                    .map(StrataRun::sealed_events_per_sec)
                    .collect::<Vec<_>>()
            )),
            median(&mut r.iter().map(appending_cpu).collect::<Vec<_>>()),
            median(
                &mut r
                    .iter()
                    .map(|x| ms(x.cpu.of(GROUP_COMMIT)))
                    .collect::<Vec<_>>()
            ),
            median(&mut r.iter().map(|x| ms(x.cpu.of(SEALER))).collect::<Vec<_>>()),
            r[0].files_sealed,
            thousands(r[0].bytes as f64),
        );
    };
    for (i, seal) in o.seals.iter().enumerate() {
        row(&format!("strata, seal {}", seal.name()), &runs[i]);
    }
    row("strata, seal none, daily files (sealed by close)", &daily);
    println!(
        "\nCPU = on-CPU time from /proc/self/task/*/schedstat between the first append and the durable point \
         (the appending thread is `main`; threads other than the writer's group-commit and sealer threads are added to it). \
         \"events/s to all sealed\" counts to the end of close(): every file sealed, verified, listed and indexed. \
         close() CPU of the calling thread, median: {}",
        o.seals
            .iter()
            .enumerate()
            .map(|(i, s)| format!(
                "{} {:.1} ms",
                s.name(),
                median(
                    &mut runs[i]
                        .iter()
                        .map(|x| ms(x.close_cpu))
                        .collect::<Vec<_>>()
                )
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn import(o: &Options) {
    println!(
        "\n| input | events stored | rows not imported (rejected/skipped) | importer alone: events/s (median of {}) | importer → writer → flush: events/s | with writer / alone | close (ms) | CPU: importing+appending thread (ms) | CPU: group-commit thread (ms) |",
        o.import_reps
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for input in import_inputs() {
        let mut alone = Vec::new();
        let mut through = Vec::new();
        for _ in 0..o.import_reps {
            alone.push(run_import_alone(&input).unwrap());
            let dir = tempfile::tempdir().unwrap();
            through.push(
                run_import_into_writer(
                    &input,
                    o.batch,
                    ingest_config(SealSetting::None, o.interval_ms),
                    &dir.path().join("archive"),
                )
                .unwrap(),
            );
        }
        let alone_rate = median(&mut alone.iter().map(|r| r.events_per_sec()).collect::<Vec<_>>());
        let through_rate = median(
            &mut through
                .iter()
                .map(|r| r.events_per_sec())
                .collect::<Vec<_>>(),
        );
        let gc = |r: &strata_benches::ingest::ImportRun| ms(r.cpu.of(GROUP_COMMIT));
        println!(
            "| {}{} | {} | {} | {} | {} | {:.2} | {:.1} | {:.1} | {:.1} |",
            input.name,
            if input.is_cut { " (committed cut)" } else { "" },
            thousands(through[0].events as f64),
            thousands(through[0].not_imported as f64),
            thousands(alone_rate),
            thousands(through_rate),
            through_rate / alone_rate,
            median(&mut through.iter().map(|r| ms(r.close)).collect::<Vec<_>>()),
            median(
                &mut through
                    .iter()
                    .map(|r| ms(r.cpu.total()) - gc(r))
                    .collect::<Vec<_>>()
            ),
            median(&mut through.iter().map(gc).collect::<Vec<_>>()),
        );
        if through[0].rejected_by_writer > 0 {
            println!(
                "  ({}: the writer refused {} events by its integrity checks: {:?})",
                input.name, through[0].rejected_by_writer, through[0].rejected_by_reason
            );
        }
    }
}
