//! Merging snapshots is exact: any split of the same events over recorders and windows, merged in
//! any order and grouping, equals recording everything into one recorder.

mod rng;

use brood_stats::{EntryName, Outcome, Recorder, Snapshot, PERCENTILES};
use rng::XorShift;

const ERRORS: [&str; 3] = ["HTTP 500", "connection reset", "timeout after 30s"];

fn names() -> Vec<EntryName> {
    ["/", "/cart", "/item/{id}", "/login"]
        .iter()
        .enumerate()
        .map(|(i, n)| EntryName {
            method: if i % 2 == 0 { "GET" } else { "POST" }.into(),
            name: (*n).into(),
        })
        .collect()
}

/// Feeds the same pseudo-random events to `sources` recorders (taking a delta now and then) and
/// to one reference recorder; returns the deltas and the reference snapshot.
fn record(seed: u64, sources: usize, events: usize) -> (Vec<Snapshot>, Snapshot) {
    let mut rng = XorShift::new(seed);
    let names = names();
    let mut reference = Recorder::new(&names);
    let mut recorders: Vec<Recorder> = (0..sources).map(|_| Recorder::new(&names)).collect();
    let mut deltas = Vec::new();
    let mut now = 1_700_000_000_000u64;
    for _ in 0..events {
        now += rng.below(30);
        let source = rng.below(sources as u64) as usize;
        let r = &mut recorders[source];
        match rng.below(100) {
            0 => {
                let message = format!("extraction {} failed", rng.below(3));
                let trace = format!("step {}", rng.below(4));
                let node = format!("w{source}");
                r.record_exception(&message, &trace, &node, now);
                reference.record_exception(&message, &trace, &node, now);
            }
            1 => {
                r.add_dropped_arrivals(2);
                reference.add_dropped_arrivals(2);
            }
            2..=4 => deltas.push(r.take(0, now)),
            _ => {
                let entry = rng.below(names.len() as u64) as usize;
                let failed = rng.below(10) == 0;
                let outcome = Outcome {
                    elapsed_us: rng.latency_us(),
                    content_bytes: rng.below(5000),
                    connect_us: (rng.below(4) == 0).then(|| rng.below(900)),
                    tls_us: (rng.below(8) == 0).then(|| rng.below(9000)),
                    ttfb_us: Some(rng.below(50_000)),
                    error: failed.then(|| ERRORS[rng.below(3) as usize]),
                };
                r.record(entry, &outcome, now);
                reference.record(entry, &outcome, now);
            }
        }
    }
    let end = now + 1;
    let mut users = 0;
    for (i, r) in recorders.iter_mut().enumerate() {
        deltas.push(r.take(i as u64 + 1, end));
        users += i as u64 + 1;
    }
    (deltas, reference.take(users, end))
}

/// Merges `parts` pairwise in a random order, as a coordinator receiving them would in any shape.
fn merge_randomly(mut parts: Vec<Snapshot>, rng: &mut XorShift) -> Snapshot {
    while parts.len() > 1 {
        let a = parts.swap_remove(rng.below(parts.len() as u64) as usize);
        let b = parts.swap_remove(rng.below(parts.len() as u64) as usize);
        let (mut into, from) = if rng.below(2) == 0 { (a, b) } else { (b, a) };
        into.merge(&from);
        parts.push(into);
    }
    parts.pop().unwrap_or_default()
}

/// A source that took an (empty) delta before its first event opened its window at that take,
/// earlier than the reference's first event; only that start may differ.
fn same_window(mut merged: Snapshot, reference: &Snapshot) -> Snapshot {
    assert!(merged.start_ms <= reference.start_ms);
    assert_eq!(merged.end_ms, reference.end_ms);
    merged.start_ms = reference.start_ms;
    merged
}

#[test]
fn merged_deltas_equal_one_recorder() {
    for seed in 1..16 {
        let (deltas, reference) = record(seed, 1 + seed as usize % 6, 3000);
        let mut rng = XorShift::new(seed * 7919);
        let merged = merge_randomly(deltas.clone(), &mut rng);
        assert_eq!(same_window(merged, &reference), reference, "seed {seed}");

        // Folding from an empty snapshot in another order gives the same again.
        let mut folded = Snapshot::default();
        for d in deltas.iter().rev() {
            folded.merge(d);
        }
        assert_eq!(same_window(folded, &reference), reference, "seed {seed}");
    }
}

#[test]
fn merged_percentiles_are_percentiles_of_the_union() {
    let (deltas, reference) = record(99, 5, 20_000);
    let merged = merge_randomly(deltas, &mut XorShift::new(5));
    let (agg, want) = (merged.aggregated(), reference.aggregated());
    assert_eq!(agg, want);
    for p in PERCENTILES {
        let v = agg.hist.value_at_percentile(p);
        assert_eq!(v, want.hist.value_at_percentile(p), "p{p}");
        assert!(
            v <= agg.max_us && v >= agg.min_us,
            "p{p} = {v} outside [{}, {}]",
            agg.min_us,
            agg.max_us
        );
    }
    assert_eq!(agg.hist.value_at_percentile(100.0), agg.max_us);
    assert_eq!(agg.hist.count(), agg.requests);
}

#[test]
fn random_snapshots_round_trip_through_both_encodings() {
    for seed in 1..8 {
        let (deltas, reference) = record(seed, 3, 2000);
        for snap in deltas.iter().chain([&reference]) {
            let bytes = snap.encode();
            assert_eq!(&Snapshot::decode(&bytes).unwrap(), snap, "seed {seed}");
            let json = serde_json::to_vec(snap).unwrap();
            assert_eq!(&serde_json::from_slice::<Snapshot>(&json).unwrap(), snap);
        }
    }
}

#[test]
fn sparse_encoding_is_compact() {
    let (_, reference) = record(3, 1, 20_000);
    let bytes = reference.encode();
    let requests = reference.aggregated().requests;
    // Dense HDR counts for these latencies would take hundreds of kilobytes per entry.
    assert!(
        bytes.len() < 120 * 1024,
        "{} bytes for {requests} requests",
        bytes.len()
    );
}
