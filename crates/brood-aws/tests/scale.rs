//! 1,000 simulated workers (20 regions × 50, the size ARCHITECTURE.md works through) send one
//! stats snapshot each through SQS on the AWS-compatible server to a controller that feeds a
//! real `Coordinator`, as `brood run --backend aws` does. Every snapshot must be merged exactly
//! once, and the figures (messages/s, bytes) are printed for ARCHITECTURE.md's arithmetic.
//!
//! The snapshots are real: each is built by the engine's own `Recorder` from a long-tailed
//! latency distribution (20 entries, 50 to 150 requests each), encoded in a protocol envelope
//! exactly as `brood worker` sends it.

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brood_aws::SqsTransport;
use brood_cluster::QueueName;
use brood_cluster::{Action, Coordinator, CoordinatorConfig, Event, RegionSpec, Transport};
use brood_protocol::{decode, encode, Health, Message, Region, RunId, SnapshotReport, WorkerId};
use brood_stats::{EntryName, Outcome, Recorder, Snapshot};

const REGIONS: [&str; 20] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "me-south-1",
    "af-south-1",
];
const WORKERS_PER_REGION: u32 = 50;
const ENTRIES: usize = 20;
const TEMPLATES: u64 = 37;
/// Worker tasks sending at once (each worker's one send in real life is independent).
const SENDERS: usize = 32;
/// Most messages sent but not yet merged. The emulator scans a queue's every message on each
/// call, so a deep backlog would measure its scans; in a run the controller keeps up with one
/// snapshot per worker per second, and SQS's cost does not depend on depth.
const BACKLOG: usize = 100;
const RUN: &str = "scale-run";

/// A small xorshift generator, so every run sends the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One worker-second of stats: log-normal latencies around 5 to 80 ms, 1% in a tail up to 2 s,
/// 2% failures.
fn worker_second(seed: u64, names: &[EntryName], start_ms: u64) -> Snapshot {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut recorder = Recorder::new(names);
    for entry in 0..names.len() {
        let median_us = 5_000.0 + 75_000.0 * (entry as f64 / names.len() as f64);
        for i in 0..50 + rng.next() % 101 {
            let z = (0..4).map(|_| rng.unit()).sum::<f64>() - 2.0;
            let mut us = median_us * (z * 0.9).exp();
            if rng.next() % 100 == 1 {
                us = 200_000.0 + rng.unit() * 1_800_000.0;
            }
            let outcome = Outcome {
                elapsed_us: us as u64,
                content_bytes: 2_048,
                error: (rng.next() % 50 == 1).then_some("HTTP 503"),
                ..Outcome::default()
            };
            recorder.record(entry, &outcome, start_ms + i * 5);
        }
    }
    recorder.take(40, start_ms + 1_000)
}

/// Every simulated worker as (worker, region, slot).
fn workers() -> Vec<(String, String, u32)> {
    REGIONS
        .iter()
        .flat_map(|r| (0..WORKERS_PER_REGION).map(move |s| (format!("{r}-w{s}"), r.to_string(), s)))
        .collect()
}

/// The coordinator of a 20 × 50 run, every worker ready; returns it and the start time.
fn started_coordinator(workers: &[(String, String, u32)], now: u64) -> (Coordinator, u64) {
    let regions = REGIONS
        .iter()
        .map(|r| RegionSpec::new(*r, 1.0, WORKERS_PER_REGION))
        .collect();
    let mut config = CoordinatorConfig::new(RUN, regions);
    config.heartbeat_timeout = Duration::from_secs(600);
    let mut c = Coordinator::new(config, now).expect("a valid coordinator config");
    c.handle(Event::JobsSent, now);
    let mut start = None;
    for (worker, region, slot) in workers {
        let ready = Event::Ready {
            worker: worker.clone(),
            region: region.clone(),
            slot: *slot,
        };
        for action in c.handle(ready, now) {
            if let Action::SendStart { at_ms, .. } = action {
                start = Some(at_ms);
            }
        }
    }
    (c, start.expect("every worker ready starts the run"))
}

/// The envelope `brood worker` sends for its first snapshot.
fn envelope(worker: &str, region: &str, stats: Snapshot, sent_ms: u64) -> Vec<u8> {
    let report = SnapshotReport {
        run_id: RunId::new(RUN).expect("run id"),
        region: Region::new(region).expect("region"),
        worker_id: WorkerId::new(worker).expect("worker id"),
        seq: 1,
        stats,
        health: Health {
            cpu_percent: 35.0,
            sched_lag_ms: 0.4,
            dropped_arrivals: 0,
            clock_offset_ms: 3,
        },
        sent_ms,
    };
    encode(&Message::Snapshot(Box::new(report)), None).expect("encode a snapshot envelope")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_workers_snapshots_reach_the_coordinator_through_sqs() {
    let (config, account) = support::account_config().await;
    let deployment = support::deployment(&account);
    let store = support::bucket(&config, &deployment).await;
    let transport = Arc::new(SqsTransport::new(&config, deployment, store));
    let controller = QueueName(format!("controller-{RUN}"));
    transport
        .ensure_queue(&controller)
        .await
        .expect("the controller's queue");

    let t0 = 1_700_000_000_000;
    let workers = workers();
    let (mut coordinator, start) = started_coordinator(&workers, t0);
    let names: Vec<EntryName> = (0..ENTRIES)
        .map(|i| EntryName {
            method: if i % 5 == 0 { "POST" } else { "GET" }.into(),
            name: format!("/api/v1/resource-{i}"),
        })
        .collect();
    // Distinct worker-seconds to draw from: building all 1,000 would only cost test time.
    let seconds: Vec<Snapshot> = (0..TEMPLATES)
        .map(|i| worker_second(i + 1, &names, start))
        .collect();
    let expected_requests: u64 = (0..workers.len())
        .map(|i| seconds[i % seconds.len()].aggregated().requests)
        .sum();

    // Workers encode and send while the controller receives, as in a run.
    let began = Instant::now();
    let seconds = Arc::new(seconds);
    let work = Arc::new(workers.clone());
    let bytes = Arc::new(AtomicUsize::new(0));
    let largest = Arc::new(AtomicUsize::new(0));
    let backlog = Arc::new(tokio::sync::Semaphore::new(BACKLOG));
    let mut senders = tokio::task::JoinSet::new();
    for lane in 0..SENDERS {
        let (transport, controller, backlog) =
            (transport.clone(), controller.clone(), backlog.clone());
        let (seconds, work, bytes, largest) = (
            seconds.clone(),
            work.clone(),
            bytes.clone(),
            largest.clone(),
        );
        senders.spawn(async move {
            for i in (lane..work.len()).step_by(SENDERS) {
                let (worker, region, _) = &work[i];
                let stats = seconds[i % seconds.len()].clone();
                let body = envelope(worker, region, stats, start + 1_000);
                bytes.fetch_add(body.len(), Ordering::Relaxed);
                largest.fetch_max(body.len(), Ordering::Relaxed);
                backlog
                    .acquire()
                    .await
                    .expect("the backlog's semaphore")
                    .forget();
                transport
                    .send(&controller, &body)
                    .await
                    .expect("a worker's send");
            }
        });
    }
    // Delivery is at least once: a snapshot may come twice, and the coordinator drops the copy.
    let mut distinct = HashSet::new();
    let mut received = 0usize;
    let mut receives = 0usize;
    let deadline = Instant::now() + Duration::from_secs(180);
    while distinct.len() < workers.len() {
        assert!(
            Instant::now() < deadline,
            "only {} of {} snapshots arrived within 180 s",
            distinct.len(),
            workers.len()
        );
        let deliveries = transport
            .receive(
                &controller,
                50,
                Duration::from_secs(1),
                Duration::from_secs(30),
            )
            .await
            .expect("the controller's receive");
        receives += 1;
        for d in deliveries {
            transport.ack(&controller, &d.receipt).await.expect("ack");
            let message = decode(&d.body).expect("a snapshot decodes").into_message();
            let Message::Snapshot(s) = message else {
                panic!(
                    "a message that is not a snapshot arrived: {:?}",
                    message.kind()
                );
            };
            distinct.insert((s.worker_id.to_string(), s.seq));
            let event = Event::Snapshot {
                worker: s.worker_id.to_string(),
                region: s.region.to_string(),
                seq: s.seq,
                stats: s.stats,
                health: brood_cluster::Health {
                    cpu_percent: s.health.cpu_percent,
                    sched_lag_ms: s.health.sched_lag_ms,
                    dropped_arrivals: s.health.dropped_arrivals,
                    clock_offset_ms: s.health.clock_offset_ms,
                },
            };
            coordinator.handle(event, start + 1_500);
            received += 1;
            backlog.add_permits(1);
        }
    }
    let took = began.elapsed();
    while let Some(sent) = senders.join_next().await {
        sent.expect("a sender task");
    }

    assert!(received >= workers.len(), "{received} deliveries");
    assert_eq!(
        coordinator.global().aggregated().requests,
        expected_requests,
        "the merged request count is the sum of every worker's"
    );
    assert!(
        coordinator
            .workers()
            .all(|w| w.snapshots == 1 && w.last_seq == Some(1)),
        "every worker's snapshot was merged exactly once"
    );
    for region in REGIONS {
        let merged = coordinator.region(region).expect("a region's stats");
        assert!(
            merged.aggregated().requests > 0,
            "{region} has its requests"
        );
    }
    let left = transport
        .receive(
            &controller,
            10,
            Duration::from_secs(1),
            Duration::from_secs(30),
        )
        .await
        .expect("a last receive");
    assert!(
        left.is_empty(),
        "{} messages left after all were merged",
        left.len()
    );

    let bytes = bytes.load(Ordering::Relaxed);
    let largest = largest.load(Ordering::Relaxed);
    let n = workers.len() as f64;
    println!(
        "scale: {} snapshots ({expected_requests} requests) through SQS to the coordinator in \
         {:.2} s: {:.0} messages/s; envelope {:.1} KiB average, {:.1} KiB largest, {:.1} KiB \
         on the wire (base64); {:.2} MiB in all; {receives} receive calls; {} duplicate \
         deliveries dropped",
        workers.len(),
        took.as_secs_f64(),
        n / took.as_secs_f64(),
        bytes as f64 / n / 1024.0,
        largest as f64 / 1024.0,
        bytes as f64 / n / 1024.0 * 4.0 / 3.0,
        bytes as f64 / 1024.0 / 1024.0,
        received - workers.len(),
    );
}
