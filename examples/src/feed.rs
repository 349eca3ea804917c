//! The service of `examples/tokio_feed.rs`: takes a feed over TCP and acknowledges each batch to
//! its sender only once the batch is durable (EXT-4).
//!
//! The protocol is line-based: each line is one event in strata's JSONL form; a line holding
//! only `.` ends a batch. The service answers each batch with one line — `ok <accepted>
//! <rejected>` once every event of it survives a crash (rejected events are in the quarantine
//! with their reason), or `err <reason>` when nothing of it was written (a line that is not an
//! event, naming its line number; a quota's refusal). A sender resends what was not
//! acknowledged; the archive's duplicate check drops what a resend repeats.

use std::io;

use strata::model::jsonl;
use strata::service::AsyncWriter;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Serves every connection `listener` accepts, one task each, until the listener fails.
pub async fn serve(listener: TcpListener, writer: AsyncWriter) -> io::Result<()> {
    loop {
        let (socket, peer) = listener.accept().await?;
        let writer = writer.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(socket, writer).await {
                eprintln!("feed from {peer}: {e}");
            }
        });
    }
}

/// One sender's batches, in order.
async fn handle(socket: TcpStream, writer: AsyncWriter) -> io::Result<()> {
    socket.set_nodelay(true)?;
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut batch = Vec::new();
    let mut bad: Option<String> = None;
    let mut line_no = 0u64;
    while let Some(line) = lines.next_line().await? {
        line_no += 1;
        if line == "." {
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
        match jsonl::decode_line(line.as_bytes()) {
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
