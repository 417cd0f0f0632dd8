//! The engine against hostile raw targets: bodies past `max_body` (kept or decoded) fail their
//! request instead of growing memory, and requests a silent target never answers are counted as
//! cut off at the end.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use brood_engine::{EngineConfig, StartAt};
use brood_plan::{
    Curve, EntryName, Plan, Profile, RequestPlan, Segment, StepPlan, TaskPlan, Url, UserTypePlan,
    Wait,
};
use brood_stats::Snapshot;
use brood_target::{RawMode, RawTarget};

fn request(url: &str, decompress: bool) -> RequestPlan {
    RequestPlan {
        entry: 0,
        method: "GET".into(),
        url: Url::parse(url).unwrap(),
        headers: Vec::new(),
        body: None,
        timeout: Duration::from_secs(30),
        follow_redirects: true,
        decompress,
        http2: false,
        template: None,
        checks: Vec::new(),
        extract: Vec::new(),
    }
}

fn plan(request: RequestPlan, users: f64, run_time: Duration, max_body: u64) -> Plan {
    Plan {
        user_types: vec![UserTypePlan {
            name: "user".into(),
            weight: 1,
            fixed_count: None,
            wait: Wait::Constant(Duration::from_millis(50)),
            tasks: vec![TaskPlan {
                name: "task".into(),
                weight: 1,
                steps: vec![StepPlan::Request(Box::new(request))],
            }],
            on_start: Vec::new(),
            on_stop: Vec::new(),
            vars: Vec::new(),
            feeds: Vec::new(),
        }],
        entries: vec![EntryName {
            method: "GET".into(),
            name: "test".into(),
        }],
        profile: Profile::Users {
            curve: Curve::constant(users, Some(run_time)),
        },
        stop_timeout: Duration::ZERO,
        thresholds: Vec::new(),
        insecure_tls: false,
        max_body,
    }
}

fn run(plan: Plan) -> Snapshot {
    let config = EngineConfig {
        threads: 1,
        node: "test".into(),
        added_latency: Duration::ZERO,
    };
    let (engine, rx) =
        brood_engine::start(Arc::new(plan), Segment::WHOLE, &config, StartAt::now()).unwrap();
    let mut total = Snapshot::new(0, 0);
    for delta in rx {
        total.merge(&delta);
    }
    engine.join();
    total
}

/// This process's peak resident memory (`VmHWM`), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line[6..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

fn only_reason(s: &Snapshot) -> String {
    let reasons: Vec<_> = s.failures.keys().map(|k| k.error.clone()).collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    reasons[0].clone()
}

/// Hardening item 6: a 1 MiB gzip body that decodes to 1 GiB fails at the 16 MiB limit, and the
/// process stays far below the decoded size.
#[test]
fn hardening_6_a_gzip_bomb_stops_at_the_body_limit() {
    // 256 gzip members of 4 MiB of zeros each: about 1 MiB on the wire, 1 GiB decoded.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![0u8; 4 << 20]).unwrap();
    let member = enc.finish().unwrap();
    let body = member.repeat(256);
    let mut script = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    script.extend_from_slice(&body);
    let target = RawTarget::start(script, RawMode::default()).unwrap();
    let max_body = brood_plan::DEFAULT_MAX_BODY;
    let s = run(plan(
        request(&target.url("/"), true),
        2.0,
        Duration::from_millis(1500),
        max_body,
    ));
    let e = &s.entries.values().next().unwrap();
    assert!(e.requests > 0);
    assert_eq!(e.failures, e.requests);
    assert_eq!(only_reason(&s), "body larger than 16 MiB");
    let peak = peak_rss();
    assert!(
        peak < 256 << 20,
        "peak RSS {} MiB for a body decoding to 1 GiB",
        peak >> 20
    );
}

/// Hardening item 6: a kept body past `max_body` fails its request as soon as it passes the
/// limit, whatever its framing says.
#[test]
fn hardening_6_kept_bodies_past_the_limit_fail() {
    let body = vec![b'x'; 4096];
    for framing in ["Content-Length: 4096", "Connection: close"] {
        let mut script =
            format!("HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\n{framing}\r\n\r\n")
                .into_bytes();
        script.extend_from_slice(&body);
        let target = RawTarget::start(
            script,
            RawMode {
                close_after: true,
                ..RawMode::default()
            },
        )
        .unwrap();
        let s = run(plan(
            request(&target.url("/"), true),
            1.0,
            Duration::from_millis(400),
            1024,
        ));
        assert_eq!(only_reason(&s), "body larger than 1 KiB", "{framing}");
        let within = run(plan(
            request(&target.url("/"), true),
            1.0,
            Duration::from_millis(400),
            4096,
        ));
        assert!(
            within.failures.is_empty(),
            "{framing}: {:?}",
            within.failures
        );
    }
}

/// Hardening item 13: against a target that never answers, the requests in flight when the run
/// ends are counted as cut off, not dropped silently.
#[test]
fn hardening_13_requests_a_silent_target_never_answers_are_cut_off() {
    let target = RawTarget::start(
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
        RawMode {
            pause: Duration::from_secs(3600),
            ..RawMode::default()
        },
    )
    .unwrap();
    let s = run(plan(
        request(&target.url("/"), false),
        3.0,
        Duration::from_millis(500),
        brood_plan::DEFAULT_MAX_BODY,
    ));
    assert_eq!(s.aggregated().requests, 0);
    assert_eq!(s.cut_off, 3);
}
