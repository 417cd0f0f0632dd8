//! The engine against in-process targets with known behaviour: exact counts, known latencies, failures
//! with their reasons, the open model's rate and what it reveals that the closed model hides.

use std::sync::Arc;
use std::time::Duration;

use brood_engine::{EngineConfig, StartAt};
use brood_plan::{
    ArrivalUnit, Curve, EntryName, Plan, Profile, RequestPlan, Segment, StepPlan, TaskPlan, Url,
    UserTypePlan, Wait,
};
use brood_stats::{EntryStats, Snapshot};
use brood_target::{RawMode, RawTarget, Target, TargetConfig};

fn request(url: &str) -> RequestPlan {
    RequestPlan {
        entry: 0,
        method: "GET".into(),
        url: Url::parse(url).unwrap(),
        headers: Vec::new(),
        body: None,
        timeout: Duration::from_secs(5),
        follow_redirects: true,
        decompress: false,
        http2: false,
        template: None,
        checks: Vec::new(),
        extract: Vec::new(),
    }
}

fn plan(requests: Vec<RequestPlan>, profile: Profile) -> Plan {
    let entries = vec![EntryName {
        method: "GET".into(),
        name: "test".into(),
    }];
    Plan {
        user_types: vec![UserTypePlan {
            name: "user".into(),
            weight: 1,
            fixed_count: None,
            wait: Wait::Constant(Duration::ZERO),
            tasks: vec![TaskPlan {
                name: "task".into(),
                weight: 1,
                steps: requests
                    .into_iter()
                    .map(|r| StepPlan::Request(Box::new(r)))
                    .collect(),
            }],
            on_start: Vec::new(),
            on_stop: Vec::new(),
            vars: Vec::new(),
            feeds: Vec::new(),
        }],
        entries,
        profile,
        stop_timeout: Duration::from_secs(10),
        thresholds: Vec::new(),
        insecure_tls: true,
        max_body: brood_plan::DEFAULT_MAX_BODY,
    }
}

fn users(n: f64, run_time: Duration) -> Profile {
    Profile::Users {
        curve: Curve::constant(n, Some(run_time)),
    }
}

fn arrivals(rate: f64, run_time: Duration, max_users: u32) -> Profile {
    Profile::Arrivals {
        curve: Curve::constant(rate, Some(run_time)),
        unit: ArrivalUnit::Requests,
        max_users,
    }
}

/// Runs `plan` to the end on two threads and merges every delta.
fn run(plan: Plan) -> Snapshot {
    let config = EngineConfig {
        threads: 2,
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

fn only_entry(s: &Snapshot) -> EntryStats {
    assert_eq!(
        s.entries.len(),
        1,
        "{:?}",
        s.entries.keys().collect::<Vec<_>>()
    );
    s.entries.values().next().unwrap().clone()
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

#[test]
fn closed_model_counts_every_request_exactly() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let s = run(plan(
        vec![request(&target.url("/"))],
        users(4.0, Duration::from_millis(1500)),
    ));
    let e = only_entry(&s);
    assert!(e.requests > 100, "{}", e.requests);
    assert_eq!(e.requests, target.requests());
    assert_eq!(e.failures, 0);
    assert_eq!(e.content_bytes, 13 * e.requests);
    assert_eq!(
        target.connections(),
        4,
        "one keep-alive connection per user"
    );
    assert!(e.hist.value_at_percentile(100.0) <= e.max_us);
}

#[test]
fn fixed_delays_show_in_percentiles() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let s = run(plan(
        vec![request(&target.url("/delay/20"))],
        users(3.0, Duration::from_millis(1200)),
    ));
    let e = only_entry(&s);
    assert_eq!(e.requests, target.requests());
    let p50 = ms(e.hist.value_at_percentile(50.0));
    assert!((20.0..40.0).contains(&p50), "p50 {p50}");
    assert!(ms(e.min_us) >= 20.0);
}

#[test]
fn bimodal_delays_split_the_distribution() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let s = run(plan(
        vec![request(&target.url("/bimodal/1/60/5"))],
        users(2.0, Duration::from_millis(1500)),
    ));
    let e = only_entry(&s);
    assert_eq!(e.requests, target.requests());
    let slow = e.requests.div_ceil(5);
    assert!(slow > 3);
    // One request in five is slow: p50 is fast, p99 is slow, and nothing exceeds the max.
    assert!(ms(e.hist.value_at_percentile(50.0)) < 30.0);
    assert!(ms(e.hist.value_at_percentile(99.0)) >= 60.0);
    assert!(e.hist.value_at_percentile(99.99) <= e.max_us);
}

#[test]
fn error_statuses_are_failures_with_their_reason() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let s = run(plan(
        vec![request(&target.url("/status/503"))],
        users(2.0, Duration::from_millis(500)),
    ));
    let e = only_entry(&s);
    assert_eq!(e.failures, e.requests);
    let (key, failure) = s.failures.iter().next().unwrap();
    assert_eq!(key.error, "HTTP 503 Service Unavailable");
    assert_eq!(failure.occurrences, e.requests);
}

#[test]
fn dropped_connections_are_failures() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let s = run(plan(
        vec![request(&target.url("/drop"))],
        users(1.0, Duration::from_millis(300)),
    ));
    let e = only_entry(&s);
    assert!(e.requests > 0);
    assert_eq!(e.failures, e.requests);
    let errors: Vec<_> = s.failures.keys().map(|k| k.error.as_str()).collect();
    assert!(
        errors
            .iter()
            .all(|e| e.contains("closed") || e.contains("reset")),
        "{errors:?}"
    );
}

#[test]
fn slow_bodies_count_in_the_response_time() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let s = run(plan(
        vec![request(&target.url("/slow-body/4/30"))],
        users(1.0, Duration::from_millis(400)),
    ));
    let e = only_entry(&s);
    assert_eq!(e.failures, 0);
    assert!(ms(e.min_us) >= 90.0, "min {}", ms(e.min_us));
    assert_eq!(e.content_bytes, 40 * e.requests);
}

#[test]
fn chunked_gzip_and_redirects() {
    let target = Target::start(TargetConfig::default()).unwrap();
    for encoding in ["gzip", "brotli"] {
        let mut compressed = request(&target.url(&format!("/{encoding}/1000")));
        compressed.decompress = true;
        let s = run(plan(
            vec![compressed],
            users(1.0, Duration::from_millis(300)),
        ));
        let e = only_entry(&s);
        assert_eq!(e.failures, 0, "{encoding}: {:?}", s.failures);
        assert_eq!(e.content_bytes, 1000 * e.requests, "{encoding} is decoded");
    }

    let s = run(plan(
        vec![request(&target.url("/chunked/5000"))],
        users(1.0, Duration::from_millis(300)),
    ));
    let e = only_entry(&s);
    assert_eq!((e.failures, e.content_bytes), (0, 5000 * e.requests));

    target.reset_counts();
    let s = run(plan(
        vec![request(&target.url("/redirect/3"))],
        users(1.0, Duration::from_millis(300)),
    ));
    let e = only_entry(&s);
    assert_eq!(e.failures, 0);
    assert_eq!(
        target.requests(),
        4 * e.requests,
        "each request follows three hops"
    );

    let mut no_follow = request(&target.url("/redirect/3"));
    no_follow.follow_redirects = false;
    target.reset_counts();
    let s = run(plan(
        vec![no_follow],
        users(1.0, Duration::from_millis(300)),
    ));
    let e = only_entry(&s);
    assert_eq!((e.failures, target.requests()), (0, e.requests));
}

#[test]
fn tls_and_http2_record_timings() {
    let target = Target::start(TargetConfig {
        tls: true,
        ..TargetConfig::default()
    })
    .unwrap();
    for http2 in [false, true] {
        let mut r = request(&target.url("/"));
        r.http2 = http2;
        let s = run(plan(vec![r], users(2.0, Duration::from_millis(400))));
        let e = only_entry(&s);
        assert_eq!(e.failures, 0, "http2 {http2}: {:?}", s.failures);
        assert!(e.requests > 10);
        assert_eq!(e.timing.tls_handshakes, 2, "one TLS connection per user");
        assert!(e.timing.connects >= 2);
    }
}

#[test]
fn garbage_responses_are_failures_not_crashes() {
    for script in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"[..],
        b"NOT HTTP AT ALL\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ] {
        let raw = RawTarget::start(
            script.to_vec(),
            RawMode {
                close_after: true,
                ..RawMode::default()
            },
        )
        .unwrap();
        let url = format!("http://{}/", raw.addr());
        let s = run(plan(
            vec![request(&url)],
            users(1.0, Duration::from_millis(200)),
        ));
        let e = only_entry(&s);
        assert!(e.requests > 0);
        assert_eq!(e.failures, e.requests, "{script:?}");
    }
}

#[test]
fn open_model_holds_its_rate() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let s = run(plan(
        vec![request(&target.url("/"))],
        arrivals(400.0, Duration::from_secs(2), 50),
    ));
    let e = only_entry(&s);
    let expected = 800.0;
    let off = (e.requests as f64 - expected).abs() / expected;
    assert!(off <= 0.01, "{} requests for {expected}", e.requests);
    assert_eq!(s.dropped_arrivals, 0);
}

#[test]
fn open_model_counts_dropped_arrivals() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let s = run(plan(
        vec![request(&target.url("/delay/200"))],
        arrivals(100.0, Duration::from_secs(1), 4),
    ));
    let e = only_entry(&s);
    // Four users can finish about 20 requests of 200 ms in a second; the other arrivals drop.
    assert!(s.dropped_arrivals > 50, "dropped {}", s.dropped_arrivals);
    assert!(e.requests + s.dropped_arrivals >= 99);
}

#[test]
fn open_model_shows_the_stalls_a_closed_model_hides() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let url = target.url("/stall/1000/400");
    let closed = only_entry(&run(plan(
        vec![request(&url)],
        users(1.0, Duration::from_millis(2000)),
    )));
    let open = only_entry(&run(plan(
        vec![request(&url)],
        arrivals(200.0, Duration::from_millis(2000), 200),
    )));
    let closed_p90 = ms(closed.hist.value_at_percentile(90.0));
    let open_p90 = ms(open.hist.value_at_percentile(90.0));
    // The closed user waits out each stall with a single slow request; the open model's arrivals
    // keep coming and each one measures the stall from its intended start.
    assert!(closed_p90 < 50.0, "closed p90 {closed_p90}");
    assert!(open_p90 > 100.0, "open p90 {open_p90}");
}
