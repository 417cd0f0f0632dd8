//! How many worker snapshots the coordinator merges per second on one core.
//!
//! Simulates 1,000 workers in four regions, each with 50 entries, sending one delta a second for
//! 20 s of run time, plus the driver's ticks every 200 ms. Each delta holds a few hundred
//! requests per entry spread over a long-tailed latency distribution, built by the engine's own
//! recorder, so its histograms are the size decoded wire snapshots are. Only the time spent in
//! `Coordinator::handle` is counted; preparing the next event is not.
//!
//! Run with `cargo run --release -p brood-cluster --example coordinator_bench [SECS [ENTRIES]]`
//! (prefix `taskset -c 0` to pin it to one core; it uses one thread either way).

use std::time::{Duration, Instant};

use brood_cluster::{Action, Coordinator, CoordinatorConfig, Event, Health, RegionSpec};
use brood_stats::{EntryName, Outcome, Recorder, Snapshot};

const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "ap-south-1", "sa-east-1"];
const WORKERS_PER_REGION: u32 = 250;
/// Entries per delta, unless the second argument says otherwise.
const ENTRIES: usize = 50;
/// Seconds of run time simulated, unless the first argument says otherwise.
const RUN_SECS: u64 = 20;
/// Distinct deltas to draw from; more would only cost memory (about 4 MB each).
const TEMPLATES: u64 = 24;
const T0: u64 = 1_700_000_000_000;

/// A small xorshift generator, so every run measures the same data.
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

/// One worker-second: 200 to 400 requests per entry, log-normal around 5 to 80 ms with 1% of
/// them in a tail up to 2 s, and 2% failures.
fn template(seed: u64, names: &[EntryName]) -> Snapshot {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut recorder = Recorder::new(names);
    for entry in 0..names.len() {
        let median_us = 5_000.0 + 75_000.0 * (entry as f64 / names.len() as f64);
        let requests = 200 + rng.next() % 201;
        for i in 0..requests {
            // Sum of uniforms: roughly normal, exponentiated: roughly log-normal.
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
            recorder.record(entry, &outcome, T0 + i * 3);
        }
    }
    recorder.take(40, T0 + 1_000)
}

fn ready_all(c: &mut Coordinator, workers: &[(String, String, u32)]) -> u64 {
    c.handle(Event::JobsSent, T0);
    let mut start = None;
    for (worker, region, slot) in workers {
        let event = Event::Ready {
            worker: worker.clone(),
            region: region.clone(),
            slot: *slot,
        };
        for action in c.handle(event, T0) {
            if let Action::SendStart { at_ms, .. } = action {
                start = Some(at_ms);
            }
        }
    }
    start.expect("every worker ready starts the run")
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Time spent in `handle`, and the snapshots it merged.
struct Measured {
    in_handle: Duration,
    snapshots: u64,
}

/// Feeds every worker's deltas for `run_secs`, ticks, then every worker's `Done`.
fn simulate(
    c: &mut Coordinator,
    workers: &[(String, String, u32)],
    templates: &[Snapshot],
    start: u64,
    run_secs: u64,
) -> Measured {
    let mut m = Measured {
        in_handle: Duration::ZERO,
        snapshots: 0,
    };
    let mut timed = |c: &mut Coordinator, event: Event, now: u64| {
        let began = Instant::now();
        let actions = c.handle(event, now);
        m.in_handle += began.elapsed();
        actions
    };
    for seq in 1..=run_secs {
        let window = start + (seq - 1) * 1_000;
        for (i, (worker, region, _)) in workers.iter().enumerate() {
            let mut stats = templates[(i as u64 + seq) as usize % templates.len()].clone();
            stats.start_ms = window;
            stats.end_ms = window + 1_000;
            let now = window + 1_000 + (i as u64 % 200);
            let event = Event::Snapshot {
                worker: worker.clone(),
                region: region.clone(),
                seq,
                stats,
                health: Health {
                    cpu_percent: 40.0,
                    ..Health::default()
                },
            };
            timed(c, event, now);
            m.snapshots += 1;
            if i % 200 == 199 {
                timed(c, Event::Tick, now);
            }
        }
    }
    let mut finished = false;
    for (worker, region, _) in workers {
        let event = Event::Done {
            worker: worker.clone(),
            region: region.clone(),
            final_seq: run_secs,
        };
        let actions = timed(c, event, start + run_secs * 1_000 + 500);
        finished |= actions.iter().any(|a| matches!(a, Action::Finished(_)));
    }
    assert!(finished, "the run finishes once every worker is done");
    m
}

fn main() {
    let arg = |n: usize| std::env::args().nth(n).and_then(|a| a.parse::<u64>().ok());
    let run_secs = arg(1).unwrap_or(RUN_SECS);
    let entries = arg(2).map_or(ENTRIES, |e| e.max(1) as usize);
    let names: Vec<EntryName> = (0..entries)
        .map(|i| EntryName {
            method: if i % 5 == 0 { "POST" } else { "GET" }.into(),
            name: format!("/api/v1/resource-{i}"),
        })
        .collect();
    // Through the wire format, as the controller receives them.
    let templates: Vec<Snapshot> = (0..TEMPLATES)
        .map(|s| {
            let built = template(s + 1, &names);
            Snapshot::decode(&built.encode()).expect("a snapshot decodes back")
        })
        .collect();
    println!(
        "{} requests over {entries} entries per delta, {TEMPLATES} distinct deltas",
        templates[0].aggregated().requests
    );

    let regions: Vec<RegionSpec> = REGIONS
        .iter()
        .map(|r| RegionSpec::new(*r, 1.0, WORKERS_PER_REGION))
        .collect();
    let mut config = CoordinatorConfig::new("bench", regions);
    config.run_time = Some(Duration::from_secs(run_secs));
    let mut c = Coordinator::new(config, T0).expect("valid config");
    let workers: Vec<(String, String, u32)> = REGIONS
        .iter()
        .flat_map(|r| (0..WORKERS_PER_REGION).map(move |s| (format!("{r}-{s}"), r.to_string(), s)))
        .collect();
    let start = ready_all(&mut c, &workers);

    let wall = Instant::now();
    let m = simulate(&mut c, &workers, &templates, start, run_secs);
    let requests = c.global().aggregated().requests;
    assert_eq!(requests, c.workers().map(|w| w.requests).sum::<u64>());
    let rate = m.snapshots as f64 / m.in_handle.as_secs_f64();
    let needed = f64::from(WORKERS_PER_REGION) * REGIONS.len() as f64;
    println!(
        "merged {} snapshots ({requests} requests) in {:.2} s of handle time ({:.1} s wall)",
        m.snapshots,
        m.in_handle.as_secs_f64(),
        wall.elapsed().as_secs_f64()
    );
    println!(
        "{rate:.0} snapshots/s on one core, {:.0} µs each; headroom {:.2}x over the {needed:.0}/s \
         of 1,000 workers",
        1e6 / rate,
        rate / needed
    );
    if let Some(mib) = peak_rss_mib() {
        println!("peak resident memory {mib:.0} MiB");
    }
}
