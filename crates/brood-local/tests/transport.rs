//! `SqliteTransport` keeps the `Transport` contract: at-least-once delivery with visibility
//! timeouts, receipts that expire with their claim, long polls, idempotent queue management, and
//! exactly-once delivery among concurrent receivers that acknowledge in time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use brood_cluster::{QueueName, Transport};
use brood_local::{SqliteTransport, QUEUES_FILE};

const NO_WAIT: Duration = Duration::ZERO;
const LONG: Duration = Duration::from_secs(60);

fn queue(name: &str) -> QueueName {
    QueueName(name.to_owned())
}

async fn ready(dir: &tempfile::TempDir, name: &str) -> (SqliteTransport, QueueName) {
    let transport = SqliteTransport::open_in(dir.path()).unwrap();
    let queue = queue(name);
    transport.ensure_queue(&queue).await.unwrap();
    (transport, queue)
}

#[tokio::test]
async fn a_sent_message_is_received_once_and_gone_after_ack() {
    let dir = tempfile::tempdir().unwrap();
    let (t, q) = ready(&dir, "jobs").await;
    assert_eq!(t.path(), dir.path().join(QUEUES_FILE));
    t.send(&q, b"hello").await.unwrap();

    let got = t.receive(&q, 10, NO_WAIT, LONG).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, b"hello");
    assert_eq!(got[0].receive_count, 1);
    assert!(t.receive(&q, 10, NO_WAIT, LONG).await.unwrap().is_empty());

    t.ack(&q, &got[0].receipt).await.unwrap();
    t.ack(&q, &got[0].receipt).await.unwrap();
    t.ack(&q, "never-issued").await.unwrap();
    assert!(t
        .receive(&q, 10, NO_WAIT, Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn bodies_are_bytes_and_receive_returns_at_most_max_in_send_order() {
    let dir = tempfile::tempdir().unwrap();
    let (t, q) = ready(&dir, "jobs").await;
    let bodies: Vec<Vec<u8>> = (0u8..5).map(|i| vec![0, 255, i]).chain([vec![]]).collect();
    for body in &bodies {
        t.send(&q, body).await.unwrap();
    }

    let first = t.receive(&q, 4, NO_WAIT, LONG).await.unwrap();
    let rest = t.receive(&q, 4, NO_WAIT, LONG).await.unwrap();
    assert_eq!(first.len(), 4);
    assert_eq!(rest.len(), 2);
    let got: Vec<Vec<u8>> = first.iter().chain(&rest).map(|d| d.body.clone()).collect();
    assert_eq!(got, bodies);
    assert!(t.receive(&q, 0, NO_WAIT, LONG).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_unacknowledged_message_comes_back_with_a_new_receipt_and_higher_count() {
    let dir = tempfile::tempdir().unwrap();
    let (t, q) = ready(&dir, "jobs").await;
    t.send(&q, b"job").await.unwrap();

    let visibility = Duration::from_millis(300);
    let first = t.receive(&q, 1, NO_WAIT, visibility).await.unwrap();
    let claimed = Instant::now();
    let second = t
        .receive(&q, 1, Duration::from_secs(5), LONG)
        .await
        .unwrap();
    assert!(claimed.elapsed() >= visibility - Duration::from_millis(50));
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].body, b"job");
    assert_eq!(second[0].receive_count, 2);
    assert_ne!(second[0].receipt, first[0].receipt);

    // The first holder's receipt expired with its claim: acknowledging it deletes nothing and
    // extending it is refused.
    t.ack(&q, &first[0].receipt).await.unwrap();
    let stale = t.extend(&q, &first[0].receipt, LONG).await.unwrap_err();
    assert!(stale.message.contains("receipt"), "{stale}");
    t.ack(&q, &second[0].receipt).await.unwrap();
    assert!(t.extend(&q, &second[0].receipt, LONG).await.is_err());
}

#[tokio::test]
async fn extend_keeps_a_message_hidden_past_its_first_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (t, q) = ready(&dir, "jobs").await;
    t.send(&q, b"job").await.unwrap();

    let got = t
        .receive(&q, 1, NO_WAIT, Duration::from_millis(200))
        .await
        .unwrap();
    t.extend(&q, &got[0].receipt, LONG).await.unwrap();
    let later = t
        .receive(&q, 1, Duration::from_millis(600), LONG)
        .await
        .unwrap();
    assert!(later.is_empty(), "came back despite the extension");

    // Extending to zero hands the message back at once.
    t.extend(&q, &got[0].receipt, Duration::ZERO).await.unwrap();
    let back = t.receive(&q, 1, NO_WAIT, LONG).await.unwrap();
    assert_eq!(back[0].receive_count, 2);
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_a_message_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let (t, q) = ready(&dir, "jobs").await;
    let sender = SqliteTransport::open_in(dir.path()).unwrap();

    let started = Instant::now();
    let (got, ()) = tokio::join!(t.receive(&q, 1, Duration::from_secs(20), LONG), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        sender.send(&q, b"late").await.unwrap();
    });
    assert_eq!(got.unwrap()[0].body, b"late");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
}

#[tokio::test]
async fn a_long_poll_on_an_empty_queue_waits_out_its_wait_and_returns_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (t, q) = ready(&dir, "jobs").await;
    let started = Instant::now();
    let got = t
        .receive(&q, 1, Duration::from_millis(300), LONG)
        .await
        .unwrap();
    assert!(got.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn queues_are_separate_and_managed_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let (t, a) = ready(&dir, "a").await;
    let b = queue("b");
    t.ensure_queue(&b).await.unwrap();
    t.ensure_queue(&b).await.unwrap();
    t.send(&a, b"for a").await.unwrap();
    t.send(&b, b"for b").await.unwrap();

    t.delete_queue(&b).await.unwrap();
    t.delete_queue(&b).await.unwrap();
    let missing = t.send(&b, b"x").await.unwrap_err();
    assert!(missing.message.contains("no such queue"), "{missing}");
    assert!(!missing.transient);
    assert!(t.receive(&b, 1, NO_WAIT, LONG).await.is_err());

    // Recreated empty: the deleted queue's message went with it.
    t.ensure_queue(&b).await.unwrap();
    assert!(t.receive(&b, 1, NO_WAIT, LONG).await.unwrap().is_empty());
    assert_eq!(
        t.receive(&a, 1, NO_WAIT, LONG).await.unwrap()[0].body,
        b"for a"
    );
    assert!(t.ensure_queue(&queue("")).await.is_err());
}

#[tokio::test]
async fn messages_outlive_the_transport_that_sent_them() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (t, q) = ready(&dir, "jobs").await;
        t.send(&q, b"kept").await.unwrap();
    }
    let reopened = SqliteTransport::open_in(dir.path()).unwrap();
    let got = reopened
        .receive(&queue("jobs"), 1, NO_WAIT, LONG)
        .await
        .unwrap();
    assert_eq!(got[0].body, b"kept");
}

#[test]
fn opening_a_file_that_is_not_a_database_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queues.db");
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    let error = SqliteTransport::open(&path).unwrap_err();
    assert!(error.resource.ends_with("queues.db"), "{error}");
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(future)
}

/// Four receivers, each on its own thread with its own connection, drain 500 messages while a
/// fifth thread is still sending them.
#[test]
fn concurrent_receivers_that_ack_promptly_get_every_message_exactly_once() {
    const MESSAGES: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let q = queue("jobs");
    block_on(
        SqliteTransport::open_in(dir.path())
            .unwrap()
            .ensure_queue(&q),
    )
    .unwrap();

    let delivered = AtomicUsize::new(0);
    let seen: Mutex<BTreeMap<String, Vec<u32>>> = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let t = SqliteTransport::open_in(dir.path()).unwrap();
            block_on(async {
                for i in 0..MESSAGES {
                    t.send(&q, format!("m{i:03}").as_bytes()).await.unwrap();
                }
            });
        });
        for _ in 0..4 {
            scope.spawn(|| {
                let t = SqliteTransport::open_in(dir.path()).unwrap();
                let deadline = Instant::now() + Duration::from_secs(120);
                block_on(async {
                    while delivered.load(Ordering::SeqCst) < MESSAGES {
                        assert!(Instant::now() < deadline, "receivers stalled");
                        let batch = t
                            .receive(&q, 7, Duration::from_millis(100), LONG)
                            .await
                            .unwrap();
                        for d in batch {
                            let body = String::from_utf8(d.body).unwrap();
                            seen.lock()
                                .unwrap()
                                .entry(body)
                                .or_default()
                                .push(d.receive_count);
                            t.ack(&q, &d.receipt).await.unwrap();
                            delivered.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                });
            });
        }
    });

    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), MESSAGES);
    for (body, counts) in &seen {
        assert_eq!(counts, &[1], "{body} delivered {} times", counts.len());
    }
    let t = SqliteTransport::open_in(dir.path()).unwrap();
    assert!(block_on(t.receive(&q, 10, NO_WAIT, Duration::ZERO))
        .unwrap()
        .is_empty());
}
