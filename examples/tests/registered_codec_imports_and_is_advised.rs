//! EXT-1 end to end: a codec strata does not ship (the example's bzip2), registered on the
//! archive builder, reads vendor files like gzip does — the same events are stored as from the
//! plain file, the import ledger knows it as the same input, and a `.bz2` name must hold bzip2 —
//! and is measured and advised beside strata's own codecs. The data is a real cut: the first
//! 3,000 messages of a Binance BTCUSDT capture (`testdata/binance/`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use strata::archive::{Archive, FileImport};
use strata::codec::{advise, measure, measure_codec, Codec, CodecSpec, MeasuredCodec, Question};
use strata::config::Config;
use strata::import::{Format, ImportOptions};
use strata::ingest::{reader, WriterOptions};
use strata::model::Event;
use strata_examples::bzip2_codec::Bzip2Codec;

/// The committed cut, gzip-compressed as captured.
fn cut_gz() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/binance/btcusdt_20240808_first3000.txt.gz")
}

fn plain_cut() -> Vec<u8> {
    strata::codec::decompress(&std::fs::read(cut_gz()).unwrap()).unwrap()
}

fn bzip2(plain: &[u8]) -> Vec<u8> {
    let mut packed = Vec::new();
    let mut encoder = Bzip2Codec.encoder(Some(9), Box::new(&mut packed)).unwrap();
    encoder.write_all(plain).unwrap();
    encoder.finish().unwrap();
    packed
}

/// The cut as `name` in `dir`: plain, or bzip2-compressed.
fn write_cut(dir: &Path, name: &str, packed: bool) -> PathBuf {
    let plain = plain_cut();
    let path = dir.join(name);
    std::fs::write(&path, if packed { bzip2(&plain) } else { plain }).unwrap();
    path
}

fn with_bzip2(root: &Path) -> Archive {
    Archive::builder(root)
        .config(Config::default())
        .register_codec(Arc::new(Bzip2Codec))
        .unwrap()
        .open()
        .unwrap()
}

fn import(archive: &Archive, path: &Path) -> strata::Result<FileImport> {
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let done = archive.import_file(
        &writer,
        path,
        Format::Binance,
        &ImportOptions::default(),
        &mut |_| {},
    );
    writer.close().unwrap();
    done
}

fn stored(root: &Path) -> Vec<Event> {
    let mut events = Vec::new();
    for path in reader::hot_files(root).unwrap() {
        events.extend(reader::read_events(&path).unwrap());
    }
    events
}

#[test]
fn a_bzip2_cut_stores_the_events_of_the_plain_file() {
    let inputs = tempfile::tempdir().unwrap();
    let plain = write_cut(inputs.path(), "btcusdt_20240808_first3000.txt", false);
    let packed = write_cut(inputs.path(), "btcusdt_20240808_first3000.txt.bz2", true);

    let from_plain = tempfile::tempdir().unwrap();
    let expected = import(
        &Archive::open(from_plain.path(), Config::default()).unwrap(),
        &plain,
    )
    .unwrap();
    let from_bzip2 = tempfile::tempdir().unwrap();
    let archive = with_bzip2(from_bzip2.path());
    assert!(archive.codecs().get("bzip2").is_some());
    let got = import(&archive, &packed).unwrap();

    assert_eq!(got.summary.rows, 3000);
    assert_eq!(got.summary.to_string(), expected.summary.to_string());
    assert_eq!(
        (got.accepted, got.refused),
        (expected.accepted, expected.refused)
    );
    assert!(got.accepted > 3000, "{}", got.summary);
    let events = stored(from_bzip2.path());
    assert_eq!(events.len() as u64, got.accepted);
    assert_eq!(events, stored(from_plain.path()));

    // The ledger keys an import by the content once decompressed: the plain file is the input
    // imported already.
    let again = import(&archive, &plain).unwrap();
    assert!(again.already_imported.is_some(), "{again:?}");
    assert_eq!(stored(from_bzip2.path()).len(), events.len());

    // A reader (standard input, say) holding bzip2 is decoded too.
    let piped = tempfile::tempdir().unwrap();
    let archive = with_bzip2(piped.path());
    let writer = archive.writer(WriterOptions::default()).unwrap();
    let done = archive
        .import_reader(
            &writer,
            std::io::Cursor::new(std::fs::read(&packed).unwrap()),
            "-",
            Format::Binance,
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    writer.close().unwrap();
    assert_eq!(done.accepted, expected.accepted);
    assert_eq!(stored(piped.path()), events);
}

#[test]
fn without_the_codec_the_bzip2_file_is_refused_naming_it() {
    let inputs = tempfile::tempdir().unwrap();
    let packed = write_cut(inputs.path(), "btcusdt_20240808_first3000.txt.bz2", true);
    let root = tempfile::tempdir().unwrap();
    let archive = Archive::open(root.path(), Config::default()).unwrap();
    let err = import(&archive, &packed).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: the content is bzip2, which no registered codec reads; register a `Codec` for bzip2",
            packed.display()
        )
    );
    assert!(stored(root.path()).is_empty());

    // Renamed, it is still told by its content.
    let renamed = inputs.path().join("btcusdt.txt");
    std::fs::rename(&packed, &renamed).unwrap();
    let err = import(&archive, &renamed).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}: the content is bzip2", renamed.display())),
        "{err}"
    );
}

#[test]
fn a_bz2_name_must_hold_bzip2() {
    let inputs = tempfile::tempdir().unwrap();
    let lying = inputs.path().join("btcusdt_20240808_first3000.txt.bz2");
    std::fs::copy(cut_gz(), &lying).unwrap();
    let root = tempfile::tempdir().unwrap();
    let archive = with_bzip2(root.path());
    let err = import(&archive, &lying).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: extension says bzip2 but content is gzip",
            lying.display()
        )
    );
    assert!(stored(root.path()).is_empty());

    // And a gzip name holding bzip2.
    let other = write_cut(inputs.path(), "btcusdt.txt.gz", true);
    let err = import(&archive, &other).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: extension says gzip but content is bzip2",
            other.display()
        )
    );
}

#[test]
fn bzip2_is_measured_and_advised_beside_the_builtins() {
    let sample = plain_cut();
    let min = Duration::from_millis(20);
    let specs: Vec<CodecSpec> = ["none", "lz4", "gzip:6", "zstd:3"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let mut measurements = measure(&sample, &specs, min).unwrap();
    let bz = measure_codec(&sample, &Bzip2Codec, Some(9), min).unwrap();
    assert_eq!(
        bz.codec,
        MeasuredCodec::Registered {
            name: "bzip2".into(),
            level: Some(9)
        }
    );
    assert_eq!(bz.output_bytes, bzip2(&sample).len() as u64);
    assert!(bz.ratio() > 3.0, "{bz:?}");
    measurements.push(bz.clone());

    // Favouring ratio: the answer is the measurement with the highest ratio, whichever it is.
    let smallest = advise(
        &measurements,
        Question::SmallestAtSpeedAtLeast {
            min_compress_mb_s: 0.0,
        },
    )
    .unwrap();
    let best_ratio = measurements
        .iter()
        .map(|m| m.ratio())
        .fold(f64::MIN, f64::max);
    assert_eq!(smallest.chosen.ratio(), best_ratio);
    assert_eq!(smallest.considered, 5);
    // Asking for at least bzip2's ratio: bzip2 qualifies, and the answer is the fastest of
    // those that reach it — bzip2 itself unless a built-in is both as small and faster.
    let at_bzip2 = advise(
        &measurements,
        Question::FastestWithRatioAtLeast {
            min_ratio: bz.ratio(),
        },
    )
    .unwrap();
    assert!(at_bzip2.chosen.ratio() >= bz.ratio());
    assert!(at_bzip2.chosen.compress_mb_s >= bz.compress_mb_s);
    let faster_and_as_small = measurements.iter().any(|m| {
        m.codec != bz.codec && m.ratio() >= bz.ratio() && m.compress_mb_s > bz.compress_mb_s
    });
    if !faster_and_as_small {
        assert_eq!(at_bzip2.codec().to_string(), "bzip2:9");
    }

    // The advice names the codec by its text, as a saved report does.
    assert_eq!(
        at_bzip2.codec().to_string(),
        at_bzip2.chosen.codec.to_string()
    );
    assert!(smallest.reason.starts_with(&smallest.codec().to_string()));
}
