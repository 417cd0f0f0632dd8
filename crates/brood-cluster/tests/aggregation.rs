//! Live aggregation and validity verdicts, driven by event scripts: merged figures are exactly
//! those of every request of every worker, and verdicts come from the health in the events.

mod support;

use std::collections::BTreeMap;

use brood_cluster::{Action, Event, Health, RegionSpec, Verdict};
use brood_stats::{percentiles, EntryName, Histogram, PERCENTILES};
use support::*;

/// Per worker a different latency distribution (fast, slow, bimodal), five seconds of deltas.
#[test]
fn merged_percentiles_are_those_of_the_union_of_all_histograms() {
    let mut s = Script::new(config());
    let start = s.start_all();
    let typical = [("a0", "a", 800), ("a1", "a", 25_000), ("b0", "b", 3_000)];
    let mut union = Histogram::new();
    let mut union_a = Histogram::new();
    let mut union_by_entry: BTreeMap<EntryName, Histogram> = BTreeMap::new();
    for seq in 1..=5u64 {
        let window = start + (seq - 1) * 1_000;
        for (i, (worker, region, typical_us)) in typical.into_iter().enumerate() {
            let mut values = latencies(seq * 10 + i as u64, 300, typical_us);
            if worker == "b0" {
                values.extend(latencies(seq, 40, 900_000));
            }
            let stats = delta(&values, 7, window);
            for (name, entry) in &stats.entries {
                union.merge(&entry.hist);
                union_by_entry
                    .entry(name.clone())
                    .or_default()
                    .merge(&entry.hist);
                if region == "a" {
                    union_a.merge(&entry.hist);
                }
            }
            s.at(window + 1_050, snapshot(worker, region, seq, stats));
        }
    }
    let global = s.c.global();
    assert_eq!(global.aggregated().requests, 5 * (300 * 3 + 40));
    assert_eq!(
        global.aggregated().hist,
        union,
        "the merged histogram is the union"
    );
    for p in PERCENTILES {
        assert_eq!(
            global.aggregated().hist.value_at_percentile(p),
            union.value_at_percentile(p),
            "p{p}"
        );
    }
    assert_eq!(global.aggregated().max_us, union.max());
    assert_eq!(global.aggregated().min_us, union.min());
    for (name, hist) in &union_by_entry {
        let merged = &global.totals().entries[name].hist;
        assert_eq!(percentiles(merged), percentiles(hist), "{}", name.name);
    }
    let region_a = s.c.region("a").expect("region a");
    assert_eq!(
        percentiles(&region_a.aggregated().hist),
        percentiles(&union_a)
    );
    assert!(s.c.region("nowhere").is_none());
}

#[test]
fn snapshots_are_merged_within_the_call_that_delivers_them() {
    let mut s = Script::new(config());
    let start = s.start_all();
    s.at(
        start + 1_000,
        snapshot("a0", "a", 1, delta(&latencies(1, 120, 1_000), 3, start)),
    );
    assert_eq!(s.c.global().aggregated().requests, 120);
    assert_eq!(s.c.region("a").map(|r| r.aggregated().requests), Some(120));
    assert_eq!(s.c.region("b").map(|r| r.aggregated().requests), Some(0));
    let a0 = s.c.workers().find(|w| w.worker == "a0").expect("a0");
    assert_eq!((a0.requests, a0.failures, a0.last_seq), (120, 12, Some(1)));
}

#[test]
fn ticks_write_history_rows_once_a_second() {
    let mut s = Script::new(config());
    let start = s.start_all();
    for seq in 1..=6u64 {
        let window = start + (seq - 1) * 1_000;
        for (worker, region, _) in WORKERS {
            s.at(
                window + 1_010,
                snapshot(
                    worker,
                    region,
                    seq,
                    delta(&latencies(seq, 100, 2_000), 4, window),
                ),
            );
        }
        for tick in 0..5 {
            s.at(window + 1_020 + tick * 150, Event::Tick);
        }
    }
    let history = s.c.global().history();
    assert_eq!(history.len(), 6, "one aggregated row a second");
    let last = &history[history.len() - 1];
    assert_eq!((last.total_requests, last.users), (1_800, 12));
    assert!(last.current.rps > 0.0);
    assert_eq!(s.c.region("b").map(|r| r.history().len()), Some(6));
}

fn hot(cpu_percent: f32) -> Health {
    Health {
        cpu_percent,
        ..Health::default()
    }
}

#[test]
fn sustained_high_cpu_gives_a_verdict_for_the_region() {
    let mut config = config();
    config.regions = vec![
        RegionSpec::new("us-east-1", 1.0, 1),
        RegionSpec::new("eu-west-1", 1.0, 2),
    ];
    let mut s = Script::new(config);
    s.at(T0, Event::JobsSent);
    s.at(T0, ready("u", "us-east-1", 0));
    s.at(T0, ready("e0", "eu-west-1", 0));
    s.at(T0, ready("e1", "eu-west-1", 1));
    let start = start_of(&s.actions).expect("start").0;
    for seq in 1..=45u64 {
        let window = start + (seq - 1) * 1_000;
        let stats = || delta(&latencies(seq, 20, 5_000), 2, window);
        s.at(
            window + 1_010,
            snapshot_with("u", "us-east-1", seq, stats(), hot(97.0)),
        );
        s.at(
            window + 1_010,
            snapshot_with(
                "e0",
                "eu-west-1",
                seq,
                stats(),
                hot(if seq % 20 == 0 { 50.0 } else { 99.0 }),
            ),
        );
        s.at(
            window + 1_010,
            snapshot_with("e1", "eu-west-1", seq, stats(), hot(40.0)),
        );
        if seq == 39 {
            assert!(s.c.verdicts().is_empty(), "39 s of high CPU is not yet 40");
        }
    }
    assert_eq!(
        s.c.verdicts(),
        vec![Verdict {
            region: "us-east-1".into(),
            worker: Some("u".into()),
            message: "us-east-1: generator CPU above 85% for 40 s: latencies may be inflated; at \
                      97% CPU it needed at least 2 workers (instances on aws) instead of 1 to \
                      stay near 60%"
                .into(),
        }],
        "e0's CPU dipped every 20 s, so eu-west-1 has no verdict"
    );
    let live: Vec<&String> = s
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Log(line) if line.contains("CPU") => Some(line),
            _ => None,
        })
        .collect();
    assert_eq!(
        live,
        vec!["us-east-1: generator CPU above 85% for 40 s on worker u: latencies may be inflated"],
        "said once, as it happened"
    );
}

#[test]
fn lag_drops_and_clock_offsets_give_verdicts() {
    let mut s = Script::new(config());
    let start = s.start_all();
    for seq in 1..=12u64 {
        let window = start + (seq - 1) * 1_000;
        let stats = || delta(&latencies(seq, 20, 5_000), 2, window);
        let lagging = Health {
            cpu_percent: 30.0,
            sched_lag_ms: 120.0,
            dropped_arrivals: 3,
            clock_offset_ms: 0,
        };
        let skewed = Health {
            clock_offset_ms: -900,
            ..Health::default()
        };
        s.at(
            window + 1_010,
            snapshot_with("a0", "a", seq, stats(), lagging),
        );
        s.at(
            window + 1_010,
            snapshot_with("a1", "a", seq, stats(), Health::default()),
        );
        s.at(
            window + 1_010,
            snapshot_with("b0", "b", seq, stats(), skewed),
        );
    }
    let messages: Vec<(String, Option<String>, String)> =
        s.c.verdicts()
            .into_iter()
            .map(|v| (v.region, v.worker, v.message))
            .collect();
    assert_eq!(
        messages,
        vec![
            (
                "a".into(),
                Some("a0".into()),
                "a: scheduling lag above 50 ms for 10 s on worker a0: requests went out late \
                 and latencies may be inflated"
                    .into()
            ),
            (
                "a".into(),
                Some("a0".into()),
                "a: 36 arrivals dropped for want of a free user on worker a0: the arrival rate \
                 was not reached"
                    .into()
            ),
            (
                "b".into(),
                Some("b0".into()),
                "b: clock 900 ms off the controller's: per-second figures may be misaligned".into()
            ),
        ]
    );
}
