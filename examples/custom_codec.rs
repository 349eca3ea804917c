//! A codec strata does not ship, plugged in: bzip2 (`strata_examples::bzip2_codec`, from the
//! `bzip2` crate) implements `strata::codec::Codec`, joins a `CodecRegistry`, and from then on
//! its files are written and recognised by their content like gzip's or zstd's.
//!
//! Real data: the committed cut of the Binance USDⓈ-M BTCUSDT capture (3,000 messages), imported,
//! written as strata JSONL compressed with bzip2 and with zstd, read back by sniffing, compared.
//! Run it with `cargo run -p strata-examples --example custom_codec`.

// An example may stop on the first error with a readable message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Arc;

use strata::codec::CodecRegistry;
use strata::import::{import_file, Format, ImportOptions, Record};
use strata::model::jsonl;
use strata_examples::bzip2_codec::Bzip2Codec;

fn main() {
    let capture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/binance/btcusdt_20240808_first3000.txt.gz");
    let events: Vec<_> = import_file(&capture, Format::Binance, &ImportOptions::default())
        .expect("the committed capture imports")
        .filter_map(|record| match record {
            Record::Event(event) => Some(event),
            _ => None,
        })
        .collect();
    let mut lines = Vec::new();
    for event in &events {
        lines.extend(jsonl::encode_line(event).expect("every event encodes"));
    }

    let mut registry = CodecRegistry::default();
    registry
        .register(Arc::new(Bzip2Codec))
        .expect("bzip2 is told apart from the built-ins");

    let dir = tempfile::tempdir().expect("a temporary folder");
    for (name, level) in [("bzip2", Some(9)), ("zstd", Some(3))] {
        let codec = registry.get(name).expect("registered");
        let path = dir
            .path()
            .join(format!("events.jsonl{}", codec.extension()));
        let file = std::fs::File::create(&path).expect("create");
        let mut encoder = codec.encoder(level, Box::new(file)).expect("encoder");
        encoder.write_all(&lines).expect("write");
        encoder.finish().expect("finish");

        // Read back by content: the registry recognises the codec from the magic bytes.
        let file = std::fs::File::open(&path).expect("open");
        let (found, reader) = registry
            .decoder_for_content(Box::new(file))
            .expect("a known codec");
        assert_eq!(found.name(), name);
        let mut back = Vec::new();
        for line in BufReader::new(reader).lines() {
            back.push(jsonl::decode_line(line.expect("read").as_bytes()).expect("decode"));
        }
        assert_eq!(back, events, "{name}: every event back exactly");
        let size = std::fs::metadata(&path).expect("stat").len();
        println!(
            "{name:>5}: {} events, {} JSONL bytes -> {size} bytes (ratio {:.1}), read back by sniffing `{}`",
            events.len(),
            lines.len(),
            lines.len() as f64 / size as f64,
            found.name()
        );
    }
}
