//! The feed service of `examples/tokio_feed.rs` in-process: an acknowledgement waits for the
//! durable watermark (not merely for the OS), mode `none` is refused, and oversize lines and
//! batches get an `err` line while the connection goes on serving.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use strata::archive::Archive;
use strata::config::{Config, DurabilityMode};
use strata::model::{jsonl, Decimal, Event, Payload, Timestamp, Trade};
use strata::service::AsyncWriter;
use strata_examples::feed::{self, Limits};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

fn trade(i: i64) -> Event {
    Event::new(
        "feed",
        "SPY",
        Timestamp::from_nanos(1_705_323_600_000_000_000 + i * 1_000_000),
        Payload::Trade(Trade {
            price: Decimal::from_int(470 + i),
            size: Decimal::from_int(100),
            side: None,
            trade_id: Some(i.to_string()),
            conditions: None,
        }),
    )
}

/// A writer whose group commit is `interval_ms` apart.
fn writer(root: &Path, mode: DurabilityMode, interval_ms: u64) -> AsyncWriter {
    let mut config = Config::default();
    config.durability.mode = mode;
    config.durability.group_commit_interval_ms = interval_ms;
    let archive = Archive::open(root, config).unwrap();
    AsyncWriter::open(&archive, Default::default()).unwrap()
}

/// Starts the service; a connection to it.
async fn connect(
    writer: &AsyncWriter,
    limits: Limits,
) -> (Lines<BufReader<OwnedReadHalf>>, OwnedWriteHalf) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(feed::serve_with(listener, writer.clone(), limits));
    let (read, write) = TcpStream::connect(address).await.unwrap().into_split();
    (BufReader::new(read).lines(), write)
}

fn batch(ids: std::ops::Range<i64>) -> Vec<u8> {
    let mut text = Vec::new();
    for i in ids {
        text.extend(jsonl::encode_line(&trade(i)).unwrap());
    }
    text.extend_from_slice(b".\n");
    text
}

async fn reply(replies: &mut Lines<BufReader<OwnedReadHalf>>) -> String {
    tokio::time::timeout(Duration::from_secs(10), replies.next_line())
        .await
        .expect("no reply within 10 s")
        .unwrap()
        .expect("the service closed the connection")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_acknowledged_only_once_the_watermark_covers_it() {
    let dir = tempfile::tempdir().unwrap();
    // The group commit is an hour away: only a flush makes the batch durable.
    let writer = writer(dir.path(), DurabilityMode::GroupCommit, 3_600_000);
    let (mut replies, mut write) = connect(&writer, Limits::default()).await;
    write.write_all(&batch(0..3)).await.unwrap();
    // Written (the writer counts it) but not durable: no acknowledgement.
    let written = async {
        while writer.writer().report().events < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), written)
        .await
        .expect("the batch was not written");
    let early = tokio::time::timeout(Duration::from_millis(300), replies.next_line()).await;
    assert!(early.is_err(), "acknowledged before durable: {early:?}");
    assert_eq!(writer.writer().durable_watermark(), 0);
    let watermark = writer.flush().await.unwrap();
    assert_eq!(watermark, 3);
    assert_eq!(reply(&mut replies).await, "ok 3 0");
    writer.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_refuses_a_writer_that_never_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let writer = writer(dir.path(), DurabilityMode::None, 5);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        feed::serve(listener, writer.clone()),
    )
    .await
    .expect("serve() should refuse at once")
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("`none`"), "{err}");
    writer.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_line_or_batch_is_refused_and_the_connection_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let writer = writer(dir.path(), DurabilityMode::GroupCommit, 5);
    let limits = Limits {
        max_line_bytes: 4096,
        max_batch_events: 5,
    };
    let (mut replies, mut write) = connect(&writer, limits).await;

    // A line over the cap (line 2), inside a batch of good lines: nothing of the batch is
    // written.
    let mut text = jsonl::encode_line(&trade(0)).unwrap();
    text.extend(vec![b'x'; 10_000]);
    text.extend_from_slice(b"\n");
    text.extend(batch(1..3));
    write.write_all(&text).await.unwrap();
    let answer = reply(&mut replies).await;
    assert!(
        answer.starts_with("err line 2 is longer than 4096 bytes"),
        "{answer}"
    );

    // Six events where five are allowed (lines 6 to 11): refused whole.
    write.write_all(&batch(10..16)).await.unwrap();
    let answer = reply(&mut replies).await;
    assert!(
        answer.starts_with("err the batch has more than 5 events (line 11)"),
        "{answer}"
    );

    // The same connection goes on: a batch within both caps is stored.
    write.write_all(&batch(20..25)).await.unwrap();
    assert_eq!(reply(&mut replies).await, "ok 5 0");
    assert_eq!(writer.writer().report().events, 5);
    writer.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_caps_are_one_mebibyte_lines_and_ten_thousand_events() {
    assert_eq!(
        Limits::default(),
        Limits {
            max_line_bytes: 1024 * 1024,
            max_batch_events: 10_000,
        }
    );
    let dir = tempfile::tempdir().unwrap();
    let writer = writer(dir.path(), DurabilityMode::GroupCommit, 5);
    let (mut replies, mut write) = connect(&writer, Limits::default()).await;
    let mut text = vec![b'{'; 1024 * 1024 + 1];
    text.extend_from_slice(b"\n.\n");
    write.write_all(&text).await.unwrap();
    let answer = reply(&mut replies).await;
    assert!(
        answer.starts_with("err line 1 is longer than 1048576 bytes"),
        "{answer}"
    );
    write.write_all(&batch(0..2)).await.unwrap();
    assert_eq!(reply(&mut replies).await, "ok 2 0");
    writer.close().await.unwrap();
}
