//! The service of `examples/tokio_feed.rs`: takes a feed over TCP and acknowledges each batch to
//! its sender only once the batch is durable (EXT-4).
//!
//! The protocol is line-based: each line is one event in strata's JSONL form; a line holding
//! only `.` ends a batch. The service answers each batch with one line — `ok <accepted>
//! <rejected>` once every event of it survives a crash (rejected events are in the quarantine
//! with their reason), or `err <reason>` when nothing of it was written (a line that is not an
//! event or is longer than [`Limits::max_line_bytes`], naming its line number; a batch of more
//! than [`Limits::max_batch_events`] events; a quota's refusal) — or when it was written but
//! could not be made durable (a failed commit, a closed writer): the sender must then resend.
//! After an `err` the connection stays open for the next batch.
//!
//! Delivery is at least once. A sender resends what was not acknowledged; within one run of the
//! service the archive's duplicate check (`[integrity] detect_duplicates`, in memory: the last
//! `integrity.duplicate_window` events of each stream) drops what a resend repeats, so a resend
//! is stored once. That memory starts empty when the service restarts: a batch written before a
//! crash or restart but never acknowledged, resent afterwards, is stored twice. Readers that need
//! exactly once across restarts deduplicate on a field of the event (a trade id, say).
//!
//! [`serve`] refuses a writer in durability mode `none`, whose acknowledgements would promise
//! what a crash loses.

use std::io;

use strata::config::DurabilityMode;
use strata::model::jsonl;
use strata::service::AsyncWriter;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How much one sender may send at once; beyond either the batch is refused with an `err` line
/// and the service goes on with the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest line, in bytes without its line end (default 1 MiB).
    pub max_line_bytes: usize,
    /// The most events in one batch (default 10,000).
    pub max_batch_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: 1024 * 1024,
            max_batch_events: 10_000,
        }
    }
}

/// Serves every connection `listener` accepts, one task each, until the listener fails, with
/// the default [`Limits`]. See [`serve_with`].
pub async fn serve(listener: TcpListener, writer: AsyncWriter) -> io::Result<()> {
    serve_with(listener, writer, Limits::default()).await
}

/// Serves every connection `listener` accepts, one task each, until the listener fails. An
/// error at once (`InvalidInput`) when the writer's durability mode is `none`.
pub async fn serve_with(
    listener: TcpListener,
    writer: AsyncWriter,
    limits: Limits,
) -> io::Result<()> {
    if writer.durability_mode() == DurabilityMode::None {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the feed acknowledges batches once durable, but the writer's durability mode is \
             `none` (config key durability.mode), which never fsyncs; use `per_batch` or \
             `group_commit`",
        ));
    }
    loop {
        let (socket, peer) = listener.accept().await?;
        let writer = writer.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(socket, writer, limits).await {
                eprintln!("feed from {peer}: {e}");
            }
        });
    }
}

/// One line read with a length cap.
enum Line {
    /// The line, without its line end.
    Text(Vec<u8>),
    /// The line was longer than the cap (its bytes were skipped up to its end).
    TooLong,
}

/// Reads the next line, keeping at most `max` bytes of it; `None` at the end of the input.
async fn next_line<R: AsyncBufRead + Unpin>(
    read: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<Line>> {
    buf.clear();
    // `max` bytes, its `\r` and its `\n` at most.
    let cap = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(2);
    let n = (&mut *read).take(cap).read_until(b'\n', buf).await?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        if buf.len() <= max {
            return Ok(Some(Line::Text(std::mem::take(buf))));
        }
        return Ok(Some(Line::TooLong));
    }
    if buf.len() <= max {
        // The last line, without a line end.
        return Ok(Some(Line::Text(std::mem::take(buf))));
    }
    // Too long: skip the rest of it without keeping it.
    loop {
        let chunk = read.fill_buf().await?;
        if chunk.is_empty() {
            break;
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                read.consume(i + 1);
                break;
            }
            None => {
                let len = chunk.len();
                read.consume(len);
            }
        }
    }
    Ok(Some(Line::TooLong))
}

/// One sender's batches, in order.
async fn handle(socket: TcpStream, writer: AsyncWriter, limits: Limits) -> io::Result<()> {
    socket.set_nodelay(true)?;
    let (read, mut write) = socket.into_split();
    let mut read = BufReader::new(read);
    let mut buf = Vec::new();
    let mut batch = Vec::new();
    let mut bad: Option<String> = None;
    let mut line_no = 0u64;
    while let Some(line) = next_line(&mut read, &mut buf, limits.max_line_bytes).await? {
        line_no += 1;
        let line = match line {
            Line::Text(text) => text,
            Line::TooLong => {
                if bad.is_none() {
                    bad = Some(format!(
                        "line {line_no} is longer than {} bytes; nothing of this batch was written",
                        limits.max_line_bytes
                    ));
                    batch.clear();
                }
                continue;
            }
        };
        if line == b"." {
            let events = std::mem::take(&mut batch);
            let reply = match bad.take() {
                Some(reason) => format!("err {reason}\n"),
                None => match writer.append_durable(events).await {
                    Ok(outcome) => format!("ok {} {}\n", outcome.accepted, outcome.rejected),
                    Err(e) => format!("err {e}\n"),
                },
            };
            write.write_all(reply.as_bytes()).await?;
            continue;
        }
        if bad.is_some() {
            continue;
        }
        if batch.len() >= limits.max_batch_events {
            bad = Some(format!(
                "the batch has more than {} events (line {line_no}); nothing of this batch was \
                 written; send smaller batches",
                limits.max_batch_events
            ));
            batch.clear();
            continue;
        }
        match jsonl::decode_line(&line) {
            Ok(event) => batch.push(event),
            Err(e) => {
                bad = Some(format!(
                    "line {line_no} is not an event ({e}); nothing of this batch was written"
                ));
                batch.clear();
            }
        }
    }
    Ok(())
}
