//! RunStats semantics: current rates average the last complete seconds, window percentiles see
//! only that window, several sources merge per second, and tick writes one set of rows a second.

use brood_stats::{EntryName, Outcome, Recorder, RunStats, RunStatsConfig, Snapshot, PERCENTILES};

const T0: u64 = 1_000_000_000; // Unix ms, on a second boundary

fn get(name: &str) -> EntryName {
    EntryName {
        method: "GET".into(),
        name: name.into(),
    }
}

/// A delta for the second ending at `T0 + sec * 1000`: `n` requests of `us` each, every
/// `fail_every`-th one failed (0: none).
fn delta(entry: &EntryName, sec: u64, n: u64, us: u64, fail_every: u64) -> Snapshot {
    let mut r = Recorder::new(std::slice::from_ref(entry));
    let end = T0 + sec * 1000;
    for i in 0..n {
        let failed = fail_every > 0 && i % fail_every == 0;
        let outcome = Outcome {
            elapsed_us: us,
            error: failed.then_some("HTTP 500"),
            ..Outcome::default()
        };
        r.record(0, &outcome, end - 500);
    }
    r.take(1, end)
}

#[test]
fn current_rates_average_the_last_ten_complete_seconds() {
    let mut stats = RunStats::new(T0);
    let root = get("/");
    for sec in 1..=30 {
        stats.add(&delta(&root, sec, sec, 1000, 2));
    }
    // At 30.2 s the second keyed 30 is still open: seconds 20..=29 count, a mean of 24.5.
    let now = T0 + 30_200;
    assert_eq!(stats.window(now), 1_000_020..1_000_030);
    let current = stats.current(now);
    assert_eq!(current.rps, 24.5);
    // Every second odd request failed: ceil(n/2) per second, 10..=15 twice over 20..=29.
    assert_eq!(
        current.fps,
        (10 + 11 + 11 + 12 + 12 + 13 + 13 + 14 + 14 + 15) as f64 / 10.0
    );
    assert_eq!(stats.current_entry(&root, now), current);
    assert_eq!(stats.current_entry(&get("/missing"), now).rps, 0.0);

    // Early in the run, only the complete seconds since the first delta count.
    let mut early = RunStats::new(T0);
    for sec in 1..=4 {
        early.add(&delta(&root, sec, sec, 1000, 0));
    }
    assert_eq!(early.current(T0 + 5_500).rps, 2.5);
    assert_eq!(early.current(T0 + 1_100).rps, 0.0, "no complete second yet");
}

#[test]
fn settling_leaves_out_the_newest_seconds() {
    let config = RunStatsConfig {
        settle_secs: 2,
        ..RunStatsConfig::default()
    };
    let mut stats = RunStats::with_config(T0, config);
    for sec in 1..=30 {
        stats.add(&delta(&get("/"), sec, sec, 1000, 0));
    }
    assert_eq!(stats.current(T0 + 30_200).rps, 22.5);
}

#[test]
fn sources_for_the_same_second_merge() {
    let mut stats = RunStats::new(T0);
    for sec in 1..=10 {
        stats.add(&delta(&get("/a"), sec, 10, 1000, 0));
        stats.add(&delta(&get("/b"), sec, 30, 3000, 0));
    }
    let now = T0 + 11_000;
    assert_eq!(stats.current(now).rps, 40.0);
    assert_eq!(stats.current_entry(&get("/b"), now).rps, 30.0);
    assert_eq!(stats.totals().aggregated().requests, 400);
    assert_eq!(stats.aggregated().requests, 400);
    assert_eq!(
        stats.totals().users,
        0,
        "users is set, not summed from deltas"
    );
    let window = stats.window_histogram(now);
    assert_eq!(window.count(), 400);
    assert_eq!(window.value_at_percentile(50.0), 3000);
    assert_eq!(window.value_at_percentile(25.0), 1000);
}

#[test]
fn window_percentiles_forget_old_seconds() {
    let mut stats = RunStats::new(T0);
    let root = get("/");
    for sec in 1..=15 {
        stats.add(&delta(&root, sec, 100, 1_000, 0));
    }
    for sec in 16..=30 {
        stats.add(&delta(&root, sec, 10, 100_000, 0));
    }
    let rows = stats.tick(T0 + 30_500).to_vec();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.entry, None);
    assert_eq!(row.window_percentiles_us, Some([100_000; 11]));
    assert_eq!(row.total_median_us, 1_000);
    assert_eq!(row.total_requests, 1650);
    assert_eq!((row.total_min_us, row.total_max_us), (1_000, 100_000));
    assert_eq!(row.current.rps, 10.0);

    // A delta for a second long gone still counts in the totals but not in the window.
    stats.add(&delta(&root, 2, 1000, 5_000_000, 0));
    assert_eq!(stats.totals().aggregated().requests, 2650);
    assert_eq!(stats.current(T0 + 31_000).rps, 10.0);
    assert_eq!(stats.window_histogram(T0 + 31_000).max(), 100_000);
}

#[test]
fn tick_appends_one_set_of_rows_per_second() {
    let config = RunStatsConfig {
        full_history: true,
        ..RunStatsConfig::default()
    };
    let mut stats = RunStats::with_config(T0, config);
    let names = [
        get("/b"),
        EntryName {
            method: "POST".into(),
            name: "/a".into(),
        },
        get("/a"),
    ];
    stats.set_users(7);
    for sec in 1..=3 {
        for (i, name) in names.iter().enumerate() {
            stats.add(&delta(
                name,
                sec,
                10 * (i as u64 + 1),
                2_000 * (i as u64 + 1),
                5,
            ));
        }
    }
    let rows = stats.tick(T0 + 3_100).to_vec();
    let labels: Vec<String> = rows
        .iter()
        .map(|r| {
            r.entry
                .as_ref()
                .map_or("Aggregated".into(), |e| format!("{} {}", e.method, e.name))
        })
        .collect();
    assert_eq!(labels, ["GET /a", "POST /a", "GET /b", "Aggregated"]);
    assert!(stats.tick(T0 + 3_900).is_empty(), "same second");
    let get_a = &rows[0];
    assert_eq!((get_a.timestamp_s, get_a.users), (1_000_003, 7));
    assert_eq!(get_a.current.rps, 30.0);
    assert_eq!(get_a.current.fps, 6.0);
    assert_eq!(get_a.window_percentiles_us, Some([6_000; 11]));
    assert_eq!((get_a.total_requests, get_a.total_failures), (90, 18));

    stats.set_users(3);
    let next = stats.tick(T0 + 4_000).to_vec();
    assert_eq!(next.len(), 4);
    assert_eq!(next[3].users, 3);
    assert_eq!(stats.history().len(), 8);
    assert_eq!(stats.users_peak(), 7);

    // Without full history only the Aggregated row is written.
    let mut plain = RunStats::new(T0);
    plain.add(&delta(&get("/a"), 1, 5, 1_000, 0));
    let rows = plain.tick(T0 + 2_000);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].window_percentiles_us.map(|p| p.len()),
        Some(PERCENTILES.len())
    );
    assert!(plain
        .window_entry_histogram(&get("/a"), T0 + 2_000)
        .is_none());
}

#[test]
fn idle_window_has_no_percentiles() {
    let mut stats = RunStats::new(T0);
    stats.add(&delta(&get("/"), 1, 5, 1_000, 0));
    let rows = stats.tick(T0 + 60_000);
    assert_eq!(rows[0].window_percentiles_us, None);
    assert_eq!(rows[0].current.rps, 0.0);
    assert_eq!(rows[0].total_requests, 5);
    assert_eq!(stats.rate_secs(), 0.5);
    assert_eq!(stats.total_rate(5), 10.0);
}
