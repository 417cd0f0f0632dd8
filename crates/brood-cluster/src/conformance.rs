//! Conformance suites: what every backend must do, checked the same way for each. A backend's
//! tests call [`transport_suite`] and [`store_suite`] with their implementation, under whatever
//! executor the backend needs.
//!
//! The suites panic at the first failed check with a message naming it, as test helpers do. They
//! use real time (visibility timeouts, long polls) with generous bounds; the timed transport
//! checks run side by side on separate queues, so the whole transport suite takes a few seconds.
//! Waiting is done with a timer thread, never by blocking the executor, so the suites run under
//! a minimal executor as well as under a runtime.

use std::collections::BTreeSet;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::timer::sleep;
use crate::{
    ArtifactStore, BackendError, Delivery, Fleet, FleetRequest, QueueName, Transport, WorkerState,
};

/// Long enough that a message received with it stays hidden for the rest of a check.
const LONG: Duration = Duration::from_secs(60);
const SHORT_VISIBILITY: Duration = Duration::from_secs(1);

fn ok<V>(check: &str, step: &str, result: Result<V, BackendError>) -> V {
    result.unwrap_or_else(|e| panic!("transport conformance, {check}: {step} failed: {e}"))
}

fn bodies(deliveries: &[Delivery]) -> Vec<&[u8]> {
    deliveries.iter().map(|d| d.body.as_slice()).collect()
}

/// Runs two futures side by side and returns both results.
async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        match (ra.take(), rb.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                (ra, rb) = (x, y);
                Poll::Pending
            }
        }
    })
    .await
}

/// Checks a [`Transport`]: round trips, at-least-once redelivery, acknowledgement, extension,
/// long polls, batches, isolation between queues and idempotent deletion. Every queue it uses is
/// named `<unique_prefix>-<check>` and deleted at the end.
///
/// # Panics
/// At the first check the transport fails.
pub async fn transport_suite<T: Transport>(t: &T, unique_prefix: &str) {
    let queue = |name: &str| QueueName(format!("{unique_prefix}-{name}"));
    let names = [
        "round-trip",
        "batch",
        "isolated-a",
        "isolated-b",
        "redelivery",
        "ack",
        "extend",
        "long-poll",
        "empty",
    ];
    for name in names {
        ok(name, "ensure_queue", t.ensure_queue(&queue(name)).await);
    }
    // Creating a queue twice is fine.
    ok(
        "round-trip",
        "second ensure_queue",
        t.ensure_queue(&queue("round-trip")).await,
    );
    round_trip_and_double_ack(t, &queue("round-trip")).await;
    batches(t, &queue("batch")).await;
    isolation(t, &queue("isolated-a"), &queue("isolated-b")).await;
    both(
        both(
            redelivery(t, &queue("redelivery")),
            ack_deletes(t, &queue("ack")),
        ),
        both(
            extend_hides(t, &queue("extend")),
            both(
                long_poll_returns_early(t, &queue("long-poll")),
                empty_wait(t, &queue("empty")),
            ),
        ),
    )
    .await;
    for name in names {
        ok(name, "delete_queue", t.delete_queue(&queue(name)).await);
        ok(
            name,
            "second delete_queue",
            t.delete_queue(&queue(name)).await,
        );
    }
    let never = queue("never-created");
    ok(
        "delete",
        "delete_queue of a missing queue",
        t.delete_queue(&never).await,
    );
}

async fn round_trip_and_double_ack<T: Transport>(t: &T, q: &QueueName) {
    let check = "round trip";
    ok(check, "send", t.send(q, b"hello").await);
    let got = ok(
        check,
        "receive",
        t.receive(q, 10, Duration::from_secs(2), LONG).await,
    );
    assert_eq!(bodies(&got), vec![b"hello".as_slice()], "{check}: body");
    assert_eq!(
        got[0].receive_count, 1,
        "{check}: first delivery has receive_count 1"
    );
    ok(check, "ack", t.ack(q, &got[0].receipt).await);
    ok("ack twice", "second ack", t.ack(q, &got[0].receipt).await);
}

async fn batches<T: Transport>(t: &T, q: &QueueName) {
    let check = "batches";
    let sent: BTreeSet<Vec<u8>> = (0..5u8).map(|i| vec![b'm', i]).collect();
    for body in &sent {
        ok(check, "send", t.send(q, body).await);
    }
    let mut seen = BTreeSet::new();
    for _ in 0..10 {
        if seen.len() == sent.len() {
            break;
        }
        let got = ok(
            check,
            "receive",
            t.receive(q, 3, Duration::from_secs(1), LONG).await,
        );
        assert!(
            got.len() <= 3,
            "{check}: {} messages for a max of 3",
            got.len()
        );
        for d in got {
            assert!(seen.insert(d.body.clone()), "{check}: a message came twice");
            ok(check, "ack", t.ack(q, &d.receipt).await);
        }
    }
    assert_eq!(seen, sent, "{check}: every message arrives (in any order)");
}

async fn isolation<T: Transport>(t: &T, a: &QueueName, b: &QueueName) {
    let check = "separate queues";
    ok(check, "send", t.send(a, b"for a").await);
    let from_b = ok(
        check,
        "receive b",
        t.receive(b, 10, Duration::ZERO, LONG).await,
    );
    assert!(
        from_b.is_empty(),
        "{check}: a message sent to one queue came out of another"
    );
    let from_a = ok(
        check,
        "receive a",
        t.receive(a, 10, Duration::from_secs(2), LONG).await,
    );
    assert_eq!(bodies(&from_a), vec![b"for a".as_slice()], "{check}");
    ok(check, "ack", t.ack(a, &from_a[0].receipt).await);
}

async fn redelivery<T: Transport>(t: &T, q: &QueueName) {
    let check = "redelivery";
    ok(check, "send", t.send(q, b"again").await);
    let first = ok(
        check,
        "receive",
        t.receive(q, 1, Duration::from_secs(2), SHORT_VISIBILITY)
            .await,
    );
    assert_eq!(first.len(), 1, "{check}: first receive");
    // Not acknowledged: it comes back once the visibility timeout ends, within this wait.
    let second = ok(
        check,
        "receive again",
        t.receive(q, 1, Duration::from_secs(4), LONG).await,
    );
    assert_eq!(
        bodies(&second),
        vec![b"again".as_slice()],
        "{check}: came back"
    );
    assert_eq!(second[0].receive_count, 2, "{check}: receive_count");
    assert_ne!(
        second[0].receipt, first[0].receipt,
        "{check}: a new receipt"
    );
    ok(check, "ack", t.ack(q, &second[0].receipt).await);
}

async fn ack_deletes<T: Transport>(t: &T, q: &QueueName) {
    let check = "ack deletes";
    ok(check, "send", t.send(q, b"once").await);
    let got = ok(
        check,
        "receive",
        t.receive(q, 1, Duration::from_secs(2), SHORT_VISIBILITY)
            .await,
    );
    assert_eq!(got.len(), 1, "{check}: receive");
    ok(check, "ack", t.ack(q, &got[0].receipt).await);
    let after = ok(
        check,
        "receive after ack",
        t.receive(q, 1, Duration::from_secs(2), LONG).await,
    );
    assert!(
        after.is_empty(),
        "{check}: an acknowledged message came back"
    );
}

async fn extend_hides<T: Transport>(t: &T, q: &QueueName) {
    let check = "extend";
    ok(check, "send", t.send(q, b"held").await);
    let got = ok(
        check,
        "receive",
        t.receive(q, 1, Duration::from_secs(2), SHORT_VISIBILITY)
            .await,
    );
    assert_eq!(got.len(), 1, "{check}: receive");
    ok(
        check,
        "extend",
        t.extend(q, &got[0].receipt, Duration::from_secs(6)).await,
    );
    let during = ok(
        check,
        "receive",
        t.receive(q, 1, Duration::from_secs(2), LONG).await,
    );
    assert!(
        during.is_empty(),
        "{check}: an extended message came back early"
    );
    ok(check, "ack", t.ack(q, &got[0].receipt).await);
}

async fn long_poll_returns_early<T: Transport>(t: &T, q: &QueueName) {
    let check = "long poll";
    let wait = Duration::from_secs(5);
    let receive = async {
        let began = Instant::now();
        let got = ok(check, "receive", t.receive(q, 10, wait, LONG).await);
        (got, began.elapsed())
    };
    let send = async {
        sleep(Duration::from_millis(500)).await;
        ok(check, "send", t.send(q, b"during the wait").await);
    };
    let ((got, took), ()) = both(receive, send).await;
    assert_eq!(bodies(&got), vec![b"during the wait".as_slice()], "{check}");
    assert!(
        took < Duration::from_secs(3),
        "{check}: a message sent 0.5 s into a 5 s wait arrived after {took:?}"
    );
    ok(check, "ack", t.ack(q, &got[0].receipt).await);
}

async fn empty_wait<T: Transport>(t: &T, q: &QueueName) {
    let check = "empty queue";
    let began = Instant::now();
    let got = ok(
        check,
        "receive",
        t.receive(q, 10, Duration::from_secs(1), LONG).await,
    );
    let took = began.elapsed();
    assert!(got.is_empty(), "{check}: got messages from an empty queue");
    assert!(
        (Duration::from_millis(750)..Duration::from_secs(4)).contains(&took),
        "{check}: a 1 s wait took {took:?}"
    );
}

fn stored<V>(step: &str, result: Result<V, BackendError>) -> V {
    result.unwrap_or_else(|e| panic!("store conformance: {step} failed: {e}"))
}

/// Checks an [`ArtifactStore`]: put and get, missing keys, overwrites, binary data, sorted
/// listing by prefix, and deletion. Every key it writes starts with `<unique_prefix>/` and is
/// deleted at the end.
///
/// # Panics
/// At the first check the store fails.
pub async fn store_suite<S: ArtifactStore>(s: &S, unique_prefix: &str) {
    let key = |k: &str| format!("{unique_prefix}/{k}");
    stored("put", s.put(&key("run/a.csv"), b"first").await);
    let got = stored("get", s.get(&key("run/a.csv")).await);
    assert_eq!(
        got.as_deref(),
        Some(b"first".as_slice()),
        "store: get after put"
    );
    let missing = stored("get of a missing key", s.get(&key("run/missing")).await);
    assert_eq!(missing, None, "store: a missing key is None");

    stored(
        "overwrite",
        s.put(&key("run/a.csv"), b"second, longer").await,
    );
    let got = stored("get", s.get(&key("run/a.csv")).await);
    assert_eq!(
        got.as_deref(),
        Some(b"second, longer".as_slice()),
        "store: overwrite"
    );

    let binary: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    stored("put binary", s.put(&key("run/blob.bin"), &binary).await);
    let got = stored("get binary", s.get(&key("run/blob.bin")).await);
    assert_eq!(got, Some(binary), "store: binary data round trip");
    stored("put empty", s.put(&key("run/empty"), b"").await);
    let got = stored("get empty", s.get(&key("run/empty")).await);
    assert_eq!(
        got,
        Some(Vec::new()),
        "store: an empty object is not a missing one"
    );

    for k in [
        "run/z/1.csv",
        "run/b.json",
        "runs-other/x",
        "run/a/nested.csv",
    ] {
        stored("put", s.put(&key(k), b"x").await);
    }
    let listed = stored("list", s.list(&key("run/")).await);
    let expected: Vec<String> = [
        "run/a.csv",
        "run/a/nested.csv",
        "run/b.json",
        "run/blob.bin",
        "run/empty",
        "run/z/1.csv",
    ]
    .iter()
    .map(|k| key(k))
    .collect();
    assert_eq!(listed, expected, "store: list by prefix, sorted");
    let none = stored("list", s.list(&key("nothing-here/")).await);
    assert!(none.is_empty(), "store: list of an unused prefix");

    stored("delete", s.delete(&key("run/b.json")).await);
    let got = stored("get after delete", s.get(&key("run/b.json")).await);
    assert_eq!(got, None, "store: a deleted key is gone");
    let everything = stored("list", s.list(&key("")).await);
    assert!(
        !everything.contains(&key("run/b.json")),
        "store: a deleted key is still listed"
    );
    for k in everything {
        stored("delete", s.delete(&k).await);
    }
    let left = stored("list", s.list(&key("")).await);
    assert!(
        left.is_empty(),
        "store: keys left after deleting them all: {left:?}"
    );
}

/// Checks a [`Fleet`] whose workers stay up until taken down: `up` starts exactly the workers
/// asked for and reports them, `status` sees them running, `down` stops them all and is
/// idempotent, and another region is left alone.
///
/// # Panics
/// At the first check the fleet fails.
pub async fn fleet_suite<F: Fleet>(f: &F, request: &FleetRequest, other_region: &str) {
    let started = f.up(request).await.expect("fleet: up");
    assert_eq!(
        started.len(),
        request.workers as usize,
        "fleet: up starts every worker"
    );
    assert!(
        started.iter().all(|w| w.region == request.region),
        "fleet: workers belong to their region"
    );
    let mut ids: Vec<&str> = started.iter().map(|w| w.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), started.len(), "fleet: worker ids are distinct");
    let running = f.status(&request.region).await.expect("fleet: status");
    assert_eq!(
        running.len(),
        started.len(),
        "fleet: status lists every worker"
    );
    assert!(
        running
            .iter()
            .all(|w| matches!(w.state, WorkerState::Starting | WorkerState::Running)),
        "fleet: workers run until taken down: {running:?}"
    );
    let elsewhere = f
        .status(other_region)
        .await
        .expect("fleet: status elsewhere");
    assert!(elsewhere.is_empty(), "fleet: another region has no workers");
    f.down(&request.region).await.expect("fleet: down");
    let after = f
        .status(&request.region)
        .await
        .expect("fleet: status after down");
    assert!(
        after
            .iter()
            .all(|w| matches!(w.state, WorkerState::Exited { .. })),
        "fleet: down stops every worker: {after:?}"
    );
    f.down(&request.region).await.expect("fleet: down twice");
}
