//! The queue across real processes and `kill -9`: an unacknowledged message comes back after its
//! holder dies, an acknowledged one never does, a sender killed mid-stream loses nothing it was
//! told was sent, and four receiving processes share 500 messages exactly once.
//!
//! Each test re-runs this test binary as its child processes, filtered to itself, with
//! [`ROLE_ENV`] naming the part the child plays; [`child_role`] at the top of each test hands
//! control to that part. A child reports over stdout in lines starting with [`MARK`].

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Lines};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use brood_cluster::{QueueName, Transport};
use brood_local::SqliteTransport;

const ROLE_ENV: &str = "BROOD_LOCAL_TEST_ROLE";
const DIR_ENV: &str = "BROOD_LOCAL_TEST_DIR";
const MARK: &str = "brood-local-child: ";
const QUEUE: &str = "jobs";
const LONG: Duration = Duration::from_secs(60);
/// How long a child that waits to be killed lives if nobody kills it.
const ORPHAN_LIMIT: Duration = Duration::from_secs(120);

fn queue() -> QueueName {
    QueueName(QUEUE.to_owned())
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(future)
}

/// In a child, plays its role and returns true; in the test itself, returns false.
fn child_role() -> bool {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return false;
    };
    let dir = std::env::var(DIR_ENV).expect("child without a directory");
    let t = SqliteTransport::open_in(Path::new(&dir)).unwrap();
    let q = queue();
    block_on(async {
        match role.as_str() {
            "claim" | "claim-and-ack" => {
                let got = t
                    .receive(&q, 1, Duration::from_secs(10), CLAIM_VISIBILITY)
                    .await
                    .unwrap();
                let body = String::from_utf8_lossy(&got[0].body).into_owned();
                if role == "claim-and-ack" {
                    t.ack(&q, &got[0].receipt).await.unwrap();
                }
                println!("{MARK}{role} {body}");
                tokio::time::sleep(ORPHAN_LIMIT).await;
                panic!("was not killed");
            }
            "send" => {
                for i in 0.. {
                    t.send(&q, i.to_string().as_bytes()).await.unwrap();
                    println!("{MARK}sent {i}");
                }
            }
            "drain" => {
                // Start together, so the receivers really compete.
                println!("{MARK}ready");
                let go = Path::new(&dir).join(GO_FILE);
                let deadline = Instant::now() + ORPHAN_LIMIT;
                while !go.exists() {
                    assert!(Instant::now() < deadline, "never told to go");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                drain(&t, &q).await;
            }
            other => panic!("unknown role {other}"),
        }
    });
    true
}

/// Receives and acknowledges until the queue stays empty for a second.
async fn drain(t: &SqliteTransport, q: &QueueName) {
    loop {
        let batch = t
            .receive(q, 10, Duration::from_secs(1), LONG)
            .await
            .unwrap();
        if batch.is_empty() {
            return;
        }
        for d in batch {
            t.ack(q, &d.receipt).await.unwrap();
            let body = String::from_utf8_lossy(&d.body);
            println!("{MARK}got {body} {}", d.receive_count);
        }
    }
}

/// The file whose appearance releases the draining children.
const GO_FILE: &str = "go";

const CLAIM_VISIBILITY: Duration = Duration::from_millis(1500);

/// A child process running `test` as `role`; killed and reaped when dropped.
struct Helper {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Helper {
    fn start(test: &str, role: &str, dir: &Path) -> Helper {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(ROLE_ENV, role)
            .env(DIR_ENV, dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Helper { child, lines }
    }

    /// The next report, or `None` once the child has closed stdout. libtest may print the test's
    /// name on the same line first, hence the search for the mark.
    fn next_report(&mut self) -> Option<String> {
        for line in self.lines.by_ref() {
            let line = line.unwrap();
            if let Some(at) = line.find(MARK) {
                return Some(line[at + MARK.len()..].to_owned());
            }
        }
        None
    }

    /// `kill -9`, then reap.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.kill();
    }
}

fn ready_queue(dir: &Path) -> SqliteTransport {
    let t = SqliteTransport::open_in(dir).unwrap();
    block_on(t.ensure_queue(&queue())).unwrap();
    t
}

#[test]
fn a_message_held_by_a_killed_process_comes_back_after_its_visibility_timeout() {
    if child_role() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = ready_queue(dir.path());
    block_on(t.send(&queue(), b"job-1")).unwrap();

    let mut holder = Helper::start(
        "a_message_held_by_a_killed_process_comes_back_after_its_visibility_timeout",
        "claim",
        dir.path(),
    );
    assert_eq!(holder.next_report().as_deref(), Some("claim job-1"));
    let claimed = Instant::now();
    holder.kill();

    let hidden = block_on(t.receive(&queue(), 1, Duration::ZERO, LONG)).unwrap();
    assert!(hidden.is_empty(), "visible again before its timeout");
    let back = block_on(t.receive(&queue(), 1, Duration::from_secs(10), LONG)).unwrap();
    assert!(claimed.elapsed() >= CLAIM_VISIBILITY - Duration::from_millis(100));
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body, b"job-1");
    assert_eq!(back[0].receive_count, 2);
}

#[test]
fn a_message_acknowledged_before_the_kill_never_comes_back() {
    if child_role() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = ready_queue(dir.path());
    block_on(t.send(&queue(), b"job-1")).unwrap();

    let mut holder = Helper::start(
        "a_message_acknowledged_before_the_kill_never_comes_back",
        "claim-and-ack",
        dir.path(),
    );
    assert_eq!(holder.next_report().as_deref(), Some("claim-and-ack job-1"));
    holder.kill();

    // Well past the visibility timeout the holder used.
    let wait = CLAIM_VISIBILITY + Duration::from_secs(1);
    let got = block_on(t.receive(&queue(), 1, wait, Duration::ZERO)).unwrap();
    assert!(got.is_empty(), "acknowledged message delivered again");
}

#[test]
fn a_sender_killed_mid_stream_loses_nothing_it_reported_sent() {
    if child_role() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = ready_queue(dir.path());

    let mut sender = Helper::start(
        "a_sender_killed_mid_stream_loses_nothing_it_reported_sent",
        "send",
        dir.path(),
    );
    let mut reported = 0;
    while reported < 150 {
        let report = sender.next_report().expect("sender died on its own");
        reported = report["sent ".len()..].parse().unwrap();
    }
    sender.kill();

    let integrity: String = rusqlite::Connection::open(t.path())
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut bodies = Vec::new();
    loop {
        let batch = block_on(t.receive(&queue(), 100, Duration::ZERO, LONG)).unwrap();
        if batch.is_empty() {
            break;
        }
        for d in batch {
            bodies.push(String::from_utf8(d.body).unwrap().parse::<u64>().unwrap());
            block_on(t.ack(&queue(), &d.receipt)).unwrap();
        }
    }
    // Every reported send is there, and what follows is a clean run of the ones committed
    // after the last report: no gap, no duplicate.
    let expected: Vec<u64> = (0..bodies.len() as u64).collect();
    assert_eq!(bodies, expected);
    assert!(bodies.len() as u64 > reported);
}

#[test]
fn four_receiving_processes_share_500_messages_exactly_once() {
    if child_role() {
        return;
    }
    const MESSAGES: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let t = ready_queue(dir.path());
    block_on(async {
        for i in 0..MESSAGES {
            t.send(&queue(), format!("m{i:03}").as_bytes())
                .await
                .unwrap();
        }
    });

    let mut receivers: Vec<Helper> = (0..4)
        .map(|_| {
            Helper::start(
                "four_receiving_processes_share_500_messages_exactly_once",
                "drain",
                dir.path(),
            )
        })
        .collect();
    for receiver in &mut receivers {
        assert_eq!(receiver.next_report().as_deref(), Some("ready"));
    }
    std::fs::write(dir.path().join(GO_FILE), b"").unwrap();
    let mut deliveries: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut busy = 0;
    for receiver in &mut receivers {
        let mut got = 0;
        while let Some(report) = receiver.next_report() {
            let mut words = report.split(' ').skip(1);
            let (body, count) = (words.next().unwrap(), words.next().unwrap());
            deliveries
                .entry(body.to_owned())
                .or_default()
                .push(count.to_owned());
            got += 1;
        }
        let status = receiver.child.wait().unwrap();
        assert!(status.success(), "a receiver failed: {status}");
        busy += usize::from(got > 0);
    }

    assert_eq!(deliveries.len(), MESSAGES);
    for (body, counts) in &deliveries {
        assert_eq!(counts, &["1"], "{body} delivered {} times", counts.len());
    }
    assert!(busy >= 2, "only {busy} of 4 receivers got any message");
    assert!(block_on(t.receive(&queue(), 1, Duration::ZERO, LONG))
        .unwrap()
        .is_empty());
}
