//! The import pipeline: an input (a file or a reader) through the codec layer into the
//! importer of its [`Format`], yielding [`Records`]. Re-exported at the crate root.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use strata_codec::CodecRegistry;
use strata_model::{Event, EventKind};

use crate::error::{ImportError, Result};
use crate::input::{self, Ended, Input, LineImport};
use crate::options::{Format, ImportOptions};
use crate::record::Record;
use crate::{binance, csv, dbn, jsonl, lean, tardis, zipentry};

/// The records of one import, in input order, ending with [`Record::End`].
pub type Records = Box<dyn Iterator<Item = Record> + Send>;

/// Imports the file at `path` as `format`, streaming: rows are read and parsed as the iterator
/// is advanced.
///
/// Compressed files (`.gz`, `.zst`, `.lz4`) are decompressed transparently. For
/// [`Format::Lean`], a `.zip` must be a zip archive (each file entry is read in turn); any other
/// name is read as the CSV itself, with what the path cannot tell supplied by
/// [`ImportOptions::lean`]. [`import_file_with`] reads codecs strata does not ship as well.
pub fn import_file(path: &Path, format: Format, options: &ImportOptions) -> Result<Records> {
    import_file_with(path, format, options, &CodecRegistry::default())
}

/// [`import_file`] with the codecs of `codecs`: a file compressed with a registered codec
/// (bzip2, say) is decompressed like a gzip one, and its name must agree with its content over
/// every registered codec (CODEC-2: a `.bz2` file must hold bzip2). A file in a compression
/// format no registered codec reads is an [`ImportError::Codec`] naming the file, never read as
/// plain data. The codecs are not import settings: the same content imports as the same events
/// whatever it was compressed with. A Lean `.zip` is read as before (a zip is not a codec).
pub fn import_file_with(
    path: &Path,
    format: Format,
    options: &ImportOptions,
    codecs: &CodecRegistry,
) -> Result<Records> {
    let name = path.display().to_string();
    if format == Format::Lean {
        let ctx = lean::context_for(&name, options)?;
        if is_zip_name(&name) {
            let opener = Box::new(zipentry::FileOpener(path.to_path_buf()));
            return Ok(Box::new(Ended::new(lean::LeanImport::zip(
                opener, &name, ctx,
            )?)));
        }
        let input = input::open_decoded_with(path, codecs)?;
        return lean_csv(input, &name, ctx, options);
    }
    let input = input::open_decoded_with(path, codecs)?;
    import_decoded(input, &name, format, options)
}

/// Imports from any reader, as [`import_file`] does for a file; `name` stands for the file in
/// errors and rejections (and, for Lean, is the path whose layout tells what the data holds).
/// A Lean zip read this way is held in memory (a zip needs random access); its rows still
/// stream. [`import_reader_with`] reads codecs strata does not ship as well.
pub fn import_reader<R: Read + Send + 'static>(
    reader: R,
    name: &str,
    format: Format,
    options: &ImportOptions,
) -> Result<Records> {
    import_reader_with(reader, name, format, options, &CodecRegistry::default())
}

/// [`import_reader`] with the codecs of `codecs`: content compressed with a registered codec is
/// decompressed, content in a compression format no registered codec reads is an
/// [`ImportError::Codec`] naming `name`. The name is not checked against the content (a reader's
/// name may be `-`); [`import_file_with`] checks a file's.
pub fn import_reader_with<R: Read + Send + 'static>(
    reader: R,
    name: &str,
    format: Format,
    options: &ImportOptions,
    codecs: &CodecRegistry,
) -> Result<Records> {
    if format == Format::Lean {
        let ctx = lean::context_for(name, options)?;
        let mut reader = reader;
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|source| ImportError::Open {
                file: name.to_string(),
                source,
            })?;
        if bytes.starts_with(b"PK\x03\x04") || is_zip_name(name) {
            let opener = Box::new(zipentry::BytesOpener(Arc::from(bytes)));
            return Ok(Box::new(Ended::new(lean::LeanImport::zip(
                opener, name, ctx,
            )?)));
        }
        let input = input::decoded_reader(std::io::Cursor::new(bytes), name, codecs)?;
        return lean_csv(input, name, ctx, options);
    }
    let input = input::decoded_reader(reader, name, codecs)?;
    import_decoded(input, name, format, options)
}

/// The import settings that decide what events an input becomes, in one canonical line: with the
/// input's content hash, the key under which the import ledger remembers an import (INGEST-8).
/// Two imports with equal settings of equal bytes store the same events. `name` is the input's
/// path (or name): for Lean it tells the security type, market, symbol, date and tick type.
///
/// ```
/// use strata_import::{import_settings, Format, ImportOptions};
///
/// let a = import_settings("x.dbn.zst", Format::Dbn, &ImportOptions::default()).unwrap();
/// let b = import_settings("y.dbn.zst", Format::Dbn, &ImportOptions::default()).unwrap();
/// assert_eq!(a, b); // the name does not matter outside Lean
/// let c = import_settings("x.dbn.zst", Format::Dbn, &ImportOptions {
///     source: Some("cme".into()),
///     ..ImportOptions::default()
/// }).unwrap();
/// assert_ne!(a, c);
/// ```
pub fn import_settings(name: &str, format: Format, options: &ImportOptions) -> Result<String> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut out = format!(
        "v1;format={};source={};symbol={};kind={};venue={};csv={}",
        format.as_str(),
        options.source_for(format),
        opt(&options.symbol),
        options.kind.map_or("", EventKind::as_str),
        opt(&options.venue),
        options
            .csv
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    );
    if format == Format::Lean {
        let ctx = lean::context_for(name, options)?;
        let f = ctx.file();
        out.push_str(&format!(
            ";lean={:?}/{}/{:?}/{}/{}/{:?};tz={}",
            f.security_type,
            f.market,
            f.resolution,
            f.symbol,
            f.date.map(|d| d.to_string()).unwrap_or_default(),
            f.tick_type,
            ctx.time_zone(),
        ));
        // An option on a future's entries do not name the future: its expiry folder does, so
        // two files of the same bytes under two futures are two inputs. (Only then, so that the
        // keys of every other Lean file stay as they were.)
        if let Some(expiry) = f.underlying_expiry {
            out.push_str(&format!(";underlying_expiry={expiry}"));
        }
    }
    Ok(out)
}

/// The asset class an input's instruments belong to, as far as the format and the name tell:
/// a Lean path names its security type (`equity/usa/tick/spy/…` is equity; CFDs are `other`,
/// strata having no class for them), Binance captures are crypto. `None` when the input does
/// not say (JSONL, CSV, DBN: the symbol registry decides, else `other`).
///
/// ```
/// use strata_import::{asset_class_of, Format, ImportOptions};
/// use strata_model::AssetClass;
///
/// let o = ImportOptions::default();
/// let lean = "data/equity/usa/tick/spy/20131007_trade.zip";
/// assert_eq!(asset_class_of(lean, Format::Lean, &o), Some(AssetClass::Equity));
/// assert_eq!(asset_class_of("btcusdt.gz", Format::Binance, &o), Some(AssetClass::Crypto));
/// assert_eq!(asset_class_of("deribit_trades_2020-04-01_BTC-PERPETUAL.csv.gz", Format::Tardis, &o), Some(AssetClass::Crypto));
/// assert_eq!(asset_class_of("x.jsonl", Format::Jsonl, &o), None);
/// ```
pub fn asset_class_of(
    name: &str,
    format: Format,
    options: &ImportOptions,
) -> Option<strata_model::AssetClass> {
    match format {
        Format::Lean => {
            let ctx = lean::context_for(name, options).ok()?;
            Some(ctx.file().security_type.asset_class())
        }
        Format::Binance | Format::Tardis => Some(strata_model::AssetClass::Crypto),
        Format::Dbn => dbn::dataset_of_file(Path::new(name))
            .as_deref()
            .and_then(dbn::asset_class_of_dataset),
        _ => None,
    }
}

/// A Lean CSV stream (not a zip): for futures and options its name must say which contract it
/// holds, unless `--symbol` names the instrument.
fn lean_csv(
    input: Input,
    name: &str,
    ctx: lean::LeanContext,
    options: &ImportOptions,
) -> Result<Records> {
    let contract = match ctx.file().contract_of_entry(name) {
        // `--symbol` names what the CSV holds.
        _ if options.symbol.is_some() => None,
        Ok(contract) => contract,
        Err(reason) => {
            return Err(ImportError::LeanPath {
                file: name.to_string(),
                reason: format!("{reason}; set --symbol to import it as one instrument"),
            })
        }
    };
    Ok(Box::new(Ended::new(lean::LeanImport::csv(
        input, name, ctx, contract,
    ))))
}

fn is_zip_name(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".zip")
}

/// The importers that read a decompressed byte stream.
fn import_decoded(
    input: Input,
    name: &str,
    format: Format,
    options: &ImportOptions,
) -> Result<Records> {
    Ok(match format {
        Format::Jsonl => {
            let lines = jsonl::JsonlLines {
                file: name.to_string(),
                overrides: jsonl::JsonlOverrides::from_options(options),
                kind: options.kind,
            };
            Box::new(Ended::new(LineImport::new(input, name, lines)))
        }
        Format::Csv => Box::new(Ended::new(csv::CsvImport::new(input, name, options)?)),
        Format::Binance => {
            let ctx = binance::BinanceContext {
                source: options.source_for(Format::Binance),
                venue: "BINANCE".into(),
                symbol: options.symbol.clone(),
            };
            let lines = binance::BinanceLines::new(name, ctx, options.kind);
            Box::new(Ended::new(LineImport::new(input, name, lines)))
        }
        Format::Dbn => Box::new(Ended::new(dbn::DbnImport::new(input, name, options)?)),
        Format::Tardis => {
            let mut input = std::io::BufReader::with_capacity(input::READ_BUFFER, input);
            let Some((columns, header_line)) = tardis::read_header(&mut input, name)? else {
                // Tardis.dev serves an empty file for a day without data: nothing to import.
                return Ok(Box::new(std::iter::once(Record::End { rows: 0 })));
            };
            if !columns.names_symbols() && options.symbol.is_none() {
                return Err(ImportError::TardisHeader {
                    file: name.to_string(),
                    line: header_line,
                    reason: "the header has no `symbol` column; pass --symbol".into(),
                });
            }
            let ctx = tardis::TardisContext {
                source: options.source_for(Format::Tardis),
                symbol: options.symbol.clone(),
                venue: options.venue.clone(),
            };
            let lines = tardis::TardisLines::new(name, columns, ctx, options.kind);
            Box::new(Ended::new(
                LineImport::new(Box::new(input), name, lines).after_lines(header_line),
            ))
        }
        Format::Lean => {
            let ctx = lean::context_for(name, options)?;
            return lean_csv(input, name, ctx, options);
        }
    })
}

/// `event` as a record, or a skip when `--kind` selected another kind.
pub(crate) fn select_kind(event: Event, kind: Option<EventKind>, line: u64) -> Record {
    match kind {
        Some(kind) if kind != event.kind() => Record::Skipped {
            line,
            reason: format!("{} event not selected (--kind {kind})", event.kind()),
        },
        _ => Record::Event(event),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use strata_codec::{BuiltinCodec, Codec, CodecFamily, StreamEncoder};

    use super::*;

    /// gzip behind a magic of its own: a codec strata does not know.
    #[derive(Debug)]
    struct Wrapped;

    const MAGIC: &[u8] = b"WGZ\x01";

    impl Codec for Wrapped {
        fn name(&self) -> &str {
            "wgz"
        }
        fn extension(&self) -> &str {
            ".wgz"
        }
        fn magic(&self) -> &[u8] {
            MAGIC
        }
        fn levels(&self) -> Option<(i32, i32)> {
            Some((1, 9))
        }
        fn encoder<'w>(
            &self,
            level: Option<i32>,
            mut out: Box<dyn Write + Send + 'w>,
        ) -> strata_codec::Result<Box<dyn StreamEncoder + 'w>> {
            out.write_all(MAGIC).map_err(|e| {
                strata_codec::Error::from_io(
                    CodecFamily::None,
                    strata_codec::Operation::Compress,
                    e,
                )
            })?;
            BuiltinCodec(CodecFamily::Gzip).encoder(level, out)
        }
        fn decoder<'r>(
            &self,
            mut input: Box<dyn Read + Send + 'r>,
        ) -> strata_codec::Result<Box<dyn Read + Send + 'r>> {
            let mut magic = [0u8; 4];
            input.read_exact(&mut magic).map_err(|e| {
                strata_codec::Error::from_io(CodecFamily::None, strata_codec::Operation::Sniff, e)
            })?;
            BuiltinCodec(CodecFamily::Gzip).decoder(input)
        }
    }

    fn registry() -> CodecRegistry {
        let mut codecs = CodecRegistry::default();
        codecs.register(Arc::new(Wrapped)).unwrap();
        codecs
    }

    fn pack(codec: &dyn Codec, plain: &[u8]) -> Vec<u8> {
        let mut packed = Vec::new();
        let mut encoder = codec.encoder(None, Box::new(&mut packed)).unwrap();
        encoder.write_all(plain).unwrap();
        encoder.finish().unwrap();
        packed
    }

    const CSV: &[u8] = b"ts,px,qty\n1723161256298,60123.10,0.005\n1723161256299,oops,1\n1723161256300,60123.20,0.010\n";

    fn options() -> ImportOptions {
        ImportOptions {
            symbol: Some("BTCUSDT".into()),
            csv: Some("time=ts:ms,price=px,size=qty".parse().unwrap()),
            ..ImportOptions::default()
        }
    }

    #[test]
    fn a_registered_codec_reads_like_a_builtin() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("t.csv");
        std::fs::write(&plain, CSV).unwrap();
        let packed = dir.path().join("t.csv.wgz");
        std::fs::write(&packed, pack(&Wrapped, CSV)).unwrap();

        let expected: Vec<Record> = import_file(&plain, Format::Csv, &options())
            .unwrap()
            .collect();
        assert_eq!(expected.len(), 4, "{expected:?}");
        let got: Vec<Record> = import_file_with(&packed, Format::Csv, &options(), &registry())
            .unwrap()
            .collect();
        // The rejection names the file it came from; everything else is the same.
        let named = |records: Vec<Record>| -> Vec<Record> {
            records
                .into_iter()
                .map(|r| match r {
                    Record::Rejected(mut r) => {
                        r.file = String::new();
                        Record::Rejected(r)
                    }
                    other => other,
                })
                .collect()
        };
        assert_eq!(named(got), named(expected.clone()));

        let read: Vec<Record> = import_reader_with(
            std::io::Cursor::new(pack(&Wrapped, CSV)),
            "-",
            Format::Csv,
            &options(),
            &registry(),
        )
        .unwrap()
        .collect();
        assert_eq!(named(read), named(expected));
    }

    #[test]
    fn a_registered_codec_name_must_hold_that_codec() {
        let dir = tempfile::tempdir().unwrap();
        let gz = strata_codec::compress("gzip:6".parse().unwrap(), CSV).unwrap();
        let lying = dir.path().join("t.csv.wgz");
        std::fs::write(&lying, &gz).unwrap();
        let Err(err) = import_file_with(&lying, Format::Csv, &options(), &registry()) else {
            panic!("a .wgz file holding gzip was read");
        };
        assert_eq!(
            err.to_string(),
            format!(
                "{}: extension says wgz but content is gzip",
                lying.display()
            )
        );
        assert!(
            matches!(&err, ImportError::Codec { source, .. } if source.is_integrity_error()),
            "{err:?}"
        );
        assert_eq!(err.file(), Some(lying.display().to_string().as_str()));
        // And a .gz file holding the registered codec.
        let other = dir.path().join("t.csv.gz");
        std::fs::write(&other, pack(&Wrapped, CSV)).unwrap();
        let Err(err) = import_file_with(&other, Format::Csv, &options(), &registry()) else {
            panic!("a .gz file holding wgz was read");
        };
        assert!(
            err.to_string()
                .ends_with("extension says gzip but content is wgz"),
            "{err}"
        );
    }

    #[test]
    fn a_compression_format_no_codec_reads_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let bz = dir.path().join("t.csv.bz2");
        std::fs::write(&bz, b"BZh91AY&SY\x01\x02\x03\x04").unwrap();
        for result in [
            import_file(&bz, Format::Csv, &options()),
            import_file_with(&bz, Format::Jsonl, &options(), &registry()),
        ] {
            let Err(err) = result else {
                panic!("bzip2 content was read as plain data");
            };
            assert_eq!(
                err.to_string(),
                format!(
                    "{}: the content is bzip2, which no registered codec reads; register a `Codec` for bzip2",
                    bz.display()
                )
            );
        }
        let reader = std::io::Cursor::new(std::fs::read(&bz).unwrap());
        let Err(err) = import_reader(reader, "stdin", Format::Csv, &options()) else {
            panic!("bzip2 content was read as plain data");
        };
        assert!(
            err.to_string().starts_with("stdin: the content is bzip2"),
            "{err}"
        );
    }
}
