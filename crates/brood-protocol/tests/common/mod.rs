//! Fixtures shared by the integration tests: fixed keys, a compiled plan with the awkward parts
//! (floats, a JSON check value with unsorted keys), and one message of every kind.

#![allow(dead_code)]

use brood_plan::{
    compile, parse_scenario, Check, FeedExhausted, FeedOrder, FeedPlan, FeedScope, Format,
    LoadOptions, Plan, Segment, StepPlan,
};
use brood_protocol::{
    plan_hash, Done, ErrorReport, Health, Heartbeat, Job, Message, Ready, Region, RunId,
    SigningKey, SnapshotReport, Start, Stop, WorkerId,
};
use brood_stats::{Outcome, Recorder};

/// Unix ms all fixtures are issued at.
pub const NOW: u64 = 1_750_000_000_000;
/// Fixtures expire this long after [`NOW`].
pub const LIFETIME: u64 = 600_000;

pub fn controller_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

pub fn other_key() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

pub fn run_id() -> RunId {
    RunId::new("20250615-120000-k3f9").unwrap()
}

pub fn region() -> Region {
    Region::new("eu-west-1").unwrap()
}

pub fn worker_id() -> WorkerId {
    WorkerId::new("i-0123456789abcdef0").unwrap()
}

const SCENARIO: &str = r#"
host: http://127.0.0.1:8080
load: { users: 100, spawn_rate: 3.3, run_time: 1m, stop_timeout: 10s }
thresholds: [ "p95 < 500ms", "failure_rate < 1%" ]
users:
  - name: browser
    weight: 3
    wait: between(1s, 3s)
    tasks:
      - name: index
        weight: 5
        request: { method: GET, url: /, name: home }
      - post: /api/login
        json: { user: a }
  - name: admin
    fixed_count: 2
    wait: constant_throughput(0.3333)
    tasks:
      - GET /admin?page=1
"#;

/// A compiled plan, plus a check whose expected JSON value has unsorted keys and floats that
/// only read back exactly with a correct float parser.
pub fn plan() -> Plan {
    let scenario = parse_scenario(SCENARIO, Format::Yaml, "test.yaml").unwrap();
    let mut plan = compile(&scenario, &LoadOptions::default()).unwrap();
    let value: serde_json::Value = serde_json::from_str(
        r#"{"z": 1, "a": [0.1, 0.30000000000000004, 1e-300], "m": {"y": null, "b": "é"}}"#,
    )
    .unwrap();
    let StepPlan::Request(request) = &mut plan.user_types[0].tasks[0].steps[0] else {
        panic!("the first step of the fixture is a request");
    };
    request.checks.push(Check::JsonEquals {
        pointer: "/cart".to_string(),
        value,
    });
    plan
}

/// `plan()` with a data feed of about `bytes` bytes, to make messages large.
pub fn plan_with_feed(bytes: usize) -> Plan {
    let mut plan = plan();
    let row = "x".repeat(1000);
    plan.user_types[0].feeds.push(FeedPlan {
        name: "big.csv".to_string(),
        columns: vec!["v".to_string()],
        rows: (0..bytes / 1006).map(|_| vec![row.clone()]).collect(),
        order: FeedOrder::RoundRobin,
        per: FeedScope::User,
        when_exhausted: FeedExhausted::Recycle,
    });
    plan
}

pub fn job_with_plan(plan: Plan, nonce: &str) -> Job {
    Job {
        run_id: run_id(),
        region: region(),
        slot: 1,
        workers_in_region: 3,
        segment: Segment::WHOLE.split(&[1.0, 2.0, 3.0])[1],
        plan_hash: plan_hash(&plan),
        plan: Some(plan),
        controller_queue: "https://sqs.eu-west-1.amazonaws.com/123456789012/brood-ctl".to_string(),
        issued_ms: NOW,
        expires_ms: NOW + LIFETIME,
        nonce: nonce.to_string(),
        barrier_timeout_ms: 120_000,
        heartbeat_ms: 5_000,
    }
}

pub fn job(nonce: &str) -> Job {
    job_with_plan(plan(), nonce)
}

pub fn start(nonce: &str) -> Start {
    Start {
        run_id: run_id(),
        at_unix_ms: NOW + 5_000,
        workers: 6,
        issued_ms: NOW,
        expires_ms: NOW + LIFETIME,
        nonce: nonce.to_string(),
    }
}

pub fn stop(nonce: &str, abort: bool) -> Stop {
    Stop {
        run_id: run_id(),
        abort,
        issued_ms: NOW,
        expires_ms: NOW + LIFETIME,
        nonce: nonce.to_string(),
    }
}

pub fn stats() -> brood_stats::Snapshot {
    let mut recorder = Recorder::new(&[]);
    let home = recorder.entry("GET", "home");
    let login = recorder.entry("POST", "/api/login");
    for i in 0..500u64 {
        let outcome = Outcome {
            elapsed_us: 1_000 + i * 37,
            content_bytes: 512,
            connect_us: (i % 50 == 0).then_some(300),
            ttfb_us: Some(800),
            ..Outcome::default()
        };
        recorder.record(home, &outcome, NOW + i);
    }
    let failed = Outcome {
        elapsed_us: 90_000,
        error: Some("HTTP 503"),
        ..Outcome::default()
    };
    recorder.record(login, &failed, NOW + 7);
    recorder.record_exception("variable token missing", "", "w-1", NOW + 9);
    recorder.add_dropped_arrivals(4);
    recorder.take(42, NOW + 1_000)
}

/// One message of every kind, controller kinds first.
pub fn every_message() -> Vec<Message> {
    vec![
        Message::Job(Box::new(job("0123456789abcdef0123456789abcdef"))),
        Message::Start(start("11111111111111111111111111111111")),
        Message::Stop(stop("22222222222222222222222222222222", true)),
        Message::Ready(Ready {
            run_id: run_id(),
            region: region(),
            worker_id: worker_id(),
            slot: 1,
            host: "ip-10-0-3-17.eu-west-1.compute.internal".to_string(),
            clock_ms: NOW + 12,
        }),
        Message::Snapshot(Box::new(SnapshotReport {
            run_id: run_id(),
            region: region(),
            worker_id: worker_id(),
            seq: 3,
            stats: stats(),
            health: Health {
                cpu_percent: 87.25,
                sched_lag_ms: 0.375,
                dropped_arrivals: 4,
                clock_offset_ms: -17,
            },
            sent_ms: NOW + 1_001,
        })),
        Message::Done(Done {
            run_id: run_id(),
            region: region(),
            worker_id: worker_id(),
            artifacts_prefix: "runs/20250615-120000-k3f9/eu-west-1/i-0123456789abcdef0/"
                .to_string(),
            final_seq: 61,
        }),
        Message::Error(ErrorReport::new(
            run_id(),
            region(),
            worker_id(),
            "engine failed to start:\n\tbind: address in use",
        )),
        Message::Heartbeat(Heartbeat {
            run_id: run_id(),
            region: region(),
            worker_id: worker_id(),
            sent_ms: NOW + 2_000,
        }),
    ]
}

/// A deterministic xorshift64* generator, so every run of a test sees the same inputs.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Builds an envelope by hand from the documented layout, for inputs `encode` refuses to make.
pub fn raw_envelope(
    version: u16,
    kind: u8,
    body: &[u8],
    attachment: &[u8],
    key: Option<&SigningKey>,
) -> Vec<u8> {
    use ed25519_dalek::Signer;
    let mut out = b"BRD".to_vec();
    out.extend_from_slice(&version.to_be_bytes());
    out.push(kind);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&(attachment.len() as u32).to_be_bytes());
    out.extend_from_slice(attachment);
    if let Some(key) = key {
        out.extend_from_slice(&key.sign(&out).to_bytes());
    }
    out
}
