//! A service that embeds strata: it takes a feed over a TCP socket on loopback and acknowledges
//! each batch to the sender only once the batch is durable (`strata_examples::feed`, over
//! `strata::service::AsyncWriter`). `tests/tokio_feed_acknowledges_only_durable_batches.rs`
//! SIGKILLs it and checks every acknowledged event is in the archive.
//!
//! `cargo run -p strata-examples --example tokio_feed -- ARCHIVE_DIR [PORT]` serves until killed.
//! Without arguments it serves a scratch archive, sends itself the committed Binance capture in
//! batches of 1,000 events, prints each acknowledgement and stops.
//!
//! Acknowledgements are at least once across restarts: see `strata_examples::feed`.

// An example may stop on the first error with a readable message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use strata::archive::Archive;
use strata::model::jsonl;
use strata::service::AsyncWriter;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let scratch = tempfile::tempdir()?;
    let (root, serve_forever) = match args.next() {
        Some(dir) => (std::path::PathBuf::from(dir), true),
        None => (scratch.path().to_path_buf(), false),
    };
    let port: u16 = args.next().map(|p| p.parse()).transpose()?.unwrap_or(0);
    let archive = Archive::open_dir(&root)?;
    // The archive's config gives the durability mode; the feed refuses mode `none`.
    let writer = AsyncWriter::open(&archive, Default::default())?;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    println!("listening {address}");
    let service = tokio::spawn(strata_examples::feed::serve(listener, writer.clone()));
    if serve_forever {
        service.await??;
        return Ok(());
    }

    // The demo sender: the committed capture, 1,000 events a batch.
    let events = strata_examples::data::binance_cut_events()?;
    let socket = TcpStream::connect(address).await?;
    let (read, mut write) = socket.into_split();
    let mut replies = BufReader::new(read).lines();
    for batch in events.chunks(1_000) {
        let mut text = Vec::new();
        for event in batch {
            text.extend(jsonl::encode_line(event)?);
        }
        text.extend_from_slice(b".\n");
        let started = std::time::Instant::now();
        write.write_all(&text).await?;
        let reply = replies.next_line().await?.unwrap_or_default();
        println!(
            "{} events: {reply} after {:?}",
            batch.len(),
            started.elapsed()
        );
    }
    service.abort();
    let report = writer.close().await?;
    println!("session {}: {} events stored", report.id, report.events);
    Ok(())
}
