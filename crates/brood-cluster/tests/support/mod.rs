//! Event scripts for coordinator tests: a coordinator fed events at explicit times, realistic
//! stats deltas from the engine's own recorder, and look-ups in the actions it returned.

#![allow(dead_code)]

use std::time::Duration;

use brood_cluster::{
    Action, Coordinator, CoordinatorConfig, Event, Health, RegionSpec, RunOutcome,
};
use brood_stats::{EntryName, Outcome, Recorder, Snapshot};

/// A fixed Unix time the scripts count from.
pub const T0: u64 = 1_700_000_000_000;

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Region `a` with two workers and region `b` with one; a 10 s barrier, a 2 s start delay, a
/// 5 s heartbeat timeout and a 5 s stop grace.
pub fn config() -> CoordinatorConfig {
    let mut c = CoordinatorConfig::new(
        "run-1",
        vec![RegionSpec::new("a", 2.0, 2), RegionSpec::new("b", 1.0, 1)],
    );
    c.barrier_timeout = secs(10);
    c.start_delay = secs(2);
    c.heartbeat_timeout = secs(5);
    c.stop_grace = secs(5);
    c
}

/// The workers of [`config`], as (worker, region, slot).
pub const WORKERS: [(&str, &str, u32); 3] = [("a0", "a", 0), ("a1", "a", 1), ("b0", "b", 0)];

/// A coordinator and every action it returned.
pub struct Script {
    pub c: Coordinator,
    pub actions: Vec<Action>,
}

impl Script {
    pub fn new(config: CoordinatorConfig) -> Script {
        Script {
            c: Coordinator::new(config, T0).expect("valid config"),
            actions: Vec::new(),
        }
    }

    pub fn at(&mut self, now_ms: u64, event: Event) -> Vec<Action> {
        let actions = self.c.handle(event, now_ms);
        self.actions.extend(actions.iter().cloned());
        actions
    }

    /// Sends the jobs and makes every worker of [`config`] ready; returns the start time.
    pub fn start_all(&mut self) -> u64 {
        self.at(T0, Event::JobsSent);
        for (i, (worker, region, slot)) in WORKERS.into_iter().enumerate() {
            self.at(T0 + 100 * i as u64, ready(worker, region, slot));
        }
        start_of(&self.actions)
            .expect("every worker ready starts the run")
            .0
    }

    pub fn outcome(&self) -> Option<RunOutcome> {
        finished(&self.actions)
    }

    pub fn logs(&self) -> Vec<String> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Log(line) => Some(line.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn count(&self, wanted: impl Fn(&Action) -> bool) -> usize {
        self.actions.iter().filter(|a| wanted(a)).count()
    }
}

pub fn ready(worker: &str, region: &str, slot: u32) -> Event {
    Event::Ready {
        worker: worker.into(),
        region: region.into(),
        slot,
    }
}

pub fn heartbeat(worker: &str, region: &str) -> Event {
    Event::Heartbeat {
        worker: worker.into(),
        region: region.into(),
    }
}

pub fn done(worker: &str, region: &str, final_seq: u64) -> Event {
    Event::Done {
        worker: worker.into(),
        region: region.into(),
        final_seq,
    }
}

pub fn snapshot(worker: &str, region: &str, seq: u64, stats: Snapshot) -> Event {
    snapshot_with(worker, region, seq, stats, Health::default())
}

pub fn snapshot_with(
    worker: &str,
    region: &str,
    seq: u64,
    stats: Snapshot,
    health: Health,
) -> Event {
    Event::Snapshot {
        worker: worker.into(),
        region: region.into(),
        seq,
        stats,
        health,
    }
}

pub fn start_of(actions: &[Action]) -> Option<(u64, Vec<String>)> {
    actions.iter().find_map(|a| match a {
        Action::SendStart { at_ms, workers } => Some((*at_ms, workers.clone())),
        _ => None,
    })
}

pub fn finished(actions: &[Action]) -> Option<RunOutcome> {
    actions.iter().find_map(|a| match a {
        Action::Finished(outcome) => Some(outcome.clone()),
        _ => None,
    })
}

pub fn entries() -> Vec<EntryName> {
    ["/", "/cart", "/checkout"]
        .into_iter()
        .map(|name| EntryName {
            method: "GET".into(),
            name: name.into(),
        })
        .collect()
}

/// Latencies (µs) drawn from a skewed distribution around `typical_us`, deterministically.
pub fn latencies(seed: u64, count: usize, typical_us: u64) -> Vec<u64> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x % 10_000) as f64 / 10_000.0;
            // Mostly near the typical value, with a long tail up to 20x.
            (typical_us as f64 * (0.5 + u * u * u * 20.0)) as u64
        })
        .collect()
}

/// The delta an engine sends for the window `[start_ms, start_ms + 1000)`: the requests spread
/// over the entries, every tenth one failed.
pub fn delta(values_us: &[u64], users: u64, start_ms: u64) -> Snapshot {
    let names = entries();
    let mut recorder = Recorder::new(&names);
    for (i, &us) in values_us.iter().enumerate() {
        let outcome = Outcome {
            elapsed_us: us,
            content_bytes: 512,
            error: (i % 10 == 9).then_some("HTTP 500"),
            ..Outcome::default()
        };
        recorder.record(i % names.len(), &outcome, start_ms + (i as u64 * 7) % 1000);
    }
    let mut snap = recorder.take(users, start_ms + 1000);
    snap.start_ms = start_ms;
    snap
}
