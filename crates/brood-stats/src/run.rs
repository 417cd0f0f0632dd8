//! The run aggregator: cumulative totals plus the recent seconds behind "current" figures.
//!
//! Deltas (from one process's recorders, or from many workers) are merged into totals and into a
//! per-second ring keyed by the second of each delta's end. Current rates and window percentiles
//! are read from the last [`CURRENT_WINDOW_SECS`] complete seconds. Per-second data is kept as
//! sparse histograms, and per entry only with full history, so memory stays small however many
//! entries a run has.

use std::collections::BTreeMap;
use std::ops::Range;

use brood_plan::EntryName;
use serde::{Deserialize, Serialize};

use crate::{EntryStats, Histogram, Snapshot, SparseHistogram};

/// Locust's reported percentiles, in percent.
pub const PERCENTILES: [f64; 11] = [
    50.0, 66.0, 75.0, 80.0, 90.0, 95.0, 98.0, 99.0, 99.9, 99.99, 100.0,
];

/// Seconds averaged for current rates and window percentiles, as Locust's.
pub const CURRENT_WINDOW_SECS: u64 = 10;

/// Seconds kept past the window, so a delta that arrives a little late still lands in its second.
const RETAINED_EXTRA_SECS: u64 = 3;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStatsConfig {
    /// Keep per-entry window histograms and write a history row per entry, not only Aggregated.
    pub full_history: bool,
    /// Most recent complete seconds left out of current figures, for deltas still in flight
    /// (0 for a single process; a coordinator of remote workers wants 1 or 2, as Locust's 2).
    pub settle_secs: u64,
}

/// Requests and failures per second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub rps: f64,
    pub fps: f64,
}

/// One row of history: the figures behind `_stats_history.csv` and the charts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// Unix seconds.
    pub timestamp_s: u64,
    pub users: u64,
    /// `None` for the Aggregated row.
    pub entry: Option<EntryName>,
    /// Current rates: the mean over the last complete seconds.
    pub current: Rates,
    /// [`PERCENTILES`] over the last window, µs; `None` when the window saw no request.
    pub window_percentiles_us: Option<[u64; 11]>,
    /// Cumulative figures since the start of the run.
    pub total_requests: u64,
    pub total_failures: u64,
    pub total_median_us: u64,
    pub total_avg_us: f64,
    pub total_min_us: u64,
    pub total_max_us: u64,
    pub total_avg_content_bytes: f64,
}

#[derive(Clone, Debug, Default)]
struct SecondEntry {
    requests: u64,
    failures: u64,
    /// Only with full history.
    hist: Option<SparseHistogram>,
}

#[derive(Clone, Debug, Default)]
struct Second {
    requests: u64,
    failures: u64,
    /// Dense: a second gathers deltas from every worker, and merging a delta's few buckets into a
    /// dense histogram costs far less than rebuilding a sparse one each time.
    hist: Histogram,
    entries: BTreeMap<EntryName, SecondEntry>,
}

/// Cumulative and recent stats of a whole run.
#[derive(Clone, Debug)]
pub struct RunStats {
    config: RunStatsConfig,
    start_ms: u64,
    totals: Snapshot,
    aggregated: EntryStats,
    users: u64,
    users_peak: u64,
    seconds: BTreeMap<u64, Second>,
    /// The first second any delta landed in; windows never reach before it, so a run's first
    /// partial second does not dilute its early rates.
    first_sec: Option<u64>,
    history: Vec<HistoryRow>,
    last_tick_sec: Option<u64>,
}

impl RunStats {
    /// A run that started at `start_ms` (Unix ms), aggregated history only, no settling.
    pub fn new(start_ms: u64) -> RunStats {
        RunStats::with_config(start_ms, RunStatsConfig::default())
    }

    pub fn with_config(start_ms: u64, config: RunStatsConfig) -> RunStats {
        RunStats {
            config,
            start_ms,
            totals: Snapshot::new(start_ms, start_ms),
            aggregated: EntryStats::default(),
            users: 0,
            users_peak: 0,
            seconds: BTreeMap::new(),
            first_sec: None,
            history: Vec::new(),
            last_tick_sec: None,
        }
    }

    /// Merges a delta into the totals and into the second of `delta.end_ms`.
    pub fn add(&mut self, delta: &Snapshot) {
        self.totals.merge(delta);
        // The window is the run's, and users is a gauge that only set_users moves.
        self.totals.start_ms = self.start_ms;
        self.totals.users = self.users;
        for e in delta.entries.values() {
            self.aggregated.merge(e);
        }
        let sec = delta.end_ms / 1000;
        self.first_sec = Some(self.first_sec.map_or(sec, |f| f.min(sec)));
        let newest = self
            .seconds
            .last_key_value()
            .map_or(sec, |(&s, _)| s.max(sec));
        if sec < self.horizon(newest) {
            return;
        }
        let second = self.seconds.entry(sec).or_default();
        for (name, e) in delta.entries.iter().filter(|(_, e)| e.requests > 0) {
            second.requests += e.requests;
            second.failures += e.failures;
            second.hist.merge(&e.hist);
            if !second.entries.contains_key(name) {
                second.entries.insert(name.clone(), SecondEntry::default());
            }
            let Some(slot) = second.entries.get_mut(name) else {
                continue;
            };
            slot.requests += e.requests;
            slot.failures += e.failures;
            if self.config.full_history {
                slot.hist.get_or_insert_default().merge(&e.hist.to_sparse());
            }
        }
        self.prune(newest);
    }

    /// The current number of running users (across all sources).
    pub fn set_users(&mut self, users: u64) {
        self.users = users;
        self.users_peak = self.users_peak.max(users);
        self.totals.users = users;
    }

    pub fn users(&self) -> u64 {
        self.users
    }

    pub fn users_peak(&self) -> u64 {
        self.users_peak
    }

    pub fn start_ms(&self) -> u64 {
        self.start_ms
    }

    pub fn config(&self) -> RunStatsConfig {
        self.config
    }

    /// Everything since the start: window `start_ms..` the latest delta's end.
    pub fn totals(&self) -> &Snapshot {
        &self.totals
    }

    /// All entries of [`RunStats::totals`] merged (kept up to date, not recomputed).
    pub fn aggregated(&self) -> &EntryStats {
        &self.aggregated
    }

    /// The seconds Locust divides cumulative counts by: from the run start to the last request.
    pub fn rate_secs(&self) -> f64 {
        match self.aggregated.last_request_ms {
            Some(last) if last > self.start_ms => (last - self.start_ms) as f64 / 1000.0,
            _ => 0.0,
        }
    }

    /// `count` over [`RunStats::rate_secs`]: Locust's cumulative Requests/s and Failures/s.
    pub fn total_rate(&self, count: u64) -> f64 {
        per_second(count, self.rate_secs())
    }

    /// The complete seconds that current figures cover at `now_ms`.
    pub fn window(&self, now_ms: u64) -> Range<u64> {
        let end = (now_ms / 1000).saturating_sub(self.config.settle_secs);
        let start = end
            .saturating_sub(CURRENT_WINDOW_SECS)
            .max(self.first_sec.unwrap_or(end));
        start..end.max(start)
    }

    /// Aggregated current rates at `now_ms`.
    pub fn current(&self, now_ms: u64) -> Rates {
        self.rates(now_ms, |s| Some((s.requests, s.failures)))
    }

    /// Current rates of one entry at `now_ms`.
    pub fn current_entry(&self, name: &EntryName, now_ms: u64) -> Rates {
        self.rates(now_ms, |s| {
            s.entries.get(name).map(|e| (e.requests, e.failures))
        })
    }

    fn rates(&self, now_ms: u64, counts: impl Fn(&Second) -> Option<(u64, u64)>) -> Rates {
        let window = self.window(now_ms);
        let secs = (window.end - window.start) as f64;
        if secs == 0.0 {
            return Rates::default();
        }
        let (mut requests, mut failures) = (0u64, 0u64);
        for (r, f) in self.seconds.range(window).filter_map(|(_, s)| counts(s)) {
            requests += r;
            failures += f;
        }
        Rates {
            rps: requests as f64 / secs,
            fps: failures as f64 / secs,
        }
    }

    /// All response times of the current window at `now_ms`, aggregated.
    pub fn window_histogram(&self, now_ms: u64) -> Histogram {
        let mut h = Histogram::new();
        for (_, s) in self.seconds.range(self.window(now_ms)) {
            h.merge(&s.hist);
        }
        h
    }

    /// [`PERCENTILES`] of the current window at `now_ms`, µs; `None` when it saw no request.
    pub fn window_percentiles(&self, now_ms: u64) -> Option<[u64; 11]> {
        percentiles(&self.window_histogram(now_ms))
    }

    /// One entry's response times of the current window; `None` without full history.
    pub fn window_entry_histogram(&self, name: &EntryName, now_ms: u64) -> Option<Histogram> {
        if !self.config.full_history {
            return None;
        }
        let mut h = Histogram::new();
        for (_, s) in self.seconds.range(self.window(now_ms)) {
            if let Some(sparse) = s.entries.get(name).and_then(|e| e.hist.as_ref()) {
                h.merge_sparse(sparse);
            }
        }
        Some(h)
    }

    /// Appends the history rows for the second of `now_ms` (per entry with full history, then
    /// Aggregated) and returns them; returns nothing when that second already has its rows.
    pub fn tick(&mut self, now_ms: u64) -> &[HistoryRow] {
        let sec = now_ms / 1000;
        if self.last_tick_sec.is_some_and(|last| last >= sec) {
            return &[];
        }
        self.last_tick_sec = Some(sec);
        let from = self.history.len();
        if self.config.full_history {
            let mut names: Vec<&EntryName> = self.totals.entries.keys().collect();
            // Locust orders rows by name, then method.
            names.sort_by(|a, b| (&a.name, &a.method).cmp(&(&b.name, &b.method)));
            let rows: Vec<HistoryRow> = names
                .into_iter()
                .map(|name| {
                    let window = self
                        .window_entry_histogram(name, now_ms)
                        .unwrap_or_default();
                    let total = &self.totals.entries[name];
                    self.row(
                        sec,
                        Some(name),
                        self.current_entry(name, now_ms),
                        &window,
                        total,
                    )
                })
                .collect();
            self.history.extend(rows);
        }
        let window = self.window_histogram(now_ms);
        let row = self.row(sec, None, self.current(now_ms), &window, &self.aggregated);
        self.history.push(row);
        self.prune(sec);
        &self.history[from..]
    }

    fn row(
        &self,
        sec: u64,
        entry: Option<&EntryName>,
        current: Rates,
        window: &Histogram,
        total: &EntryStats,
    ) -> HistoryRow {
        HistoryRow {
            timestamp_s: sec,
            users: self.users,
            entry: entry.cloned(),
            current,
            window_percentiles_us: percentiles(window),
            total_requests: total.requests,
            total_failures: total.failures,
            total_median_us: total.hist.value_at_percentile(50.0),
            total_avg_us: total.avg_us(),
            total_min_us: total.min_us,
            total_max_us: total.max_us,
            total_avg_content_bytes: total.avg_content_bytes(),
        }
    }

    /// Every history row so far, in order.
    pub fn history(&self) -> &[HistoryRow] {
        &self.history
    }

    /// The oldest second still worth keeping when the newest is `newest`.
    fn horizon(&self, newest: u64) -> u64 {
        newest.saturating_sub(CURRENT_WINDOW_SECS + self.config.settle_secs + RETAINED_EXTRA_SECS)
    }

    fn prune(&mut self, newest: u64) {
        let keep = self.seconds.split_off(&self.horizon(newest));
        self.seconds = keep;
    }
}

/// [`PERCENTILES`] of `h`, `None` when it is empty.
pub fn percentiles(h: &Histogram) -> Option<[u64; 11]> {
    (!h.is_empty()).then(|| PERCENTILES.map(|p| h.value_at_percentile(p)))
}

/// `count / secs`, 0.0 when no time has passed.
pub fn per_second(count: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}
