//! Mergeable statistics for a time window: per-entry figures, failures and script exceptions.
//!
//! Every merge here is exact: counts add, extremes take the min or max, histograms add bucket by
//! bucket. Merging worker snapshots in any order or grouping gives the numbers one process would
//! have recorded.

use std::collections::{BTreeMap, BTreeSet};

use brood_plan::EntryName;
use serde::{Deserialize, Serialize};

use crate::reason::{MAX_FAILURE_KEYS, OTHER_REASON};
use crate::Histogram;

/// Connection-phase timings of an entry's requests, as sums and counts so they merge exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// Sum of TCP connect times (µs) over `connects` new connections.
    pub connect_us: u64,
    pub connects: u64,
    /// Sum of TLS handshake times (µs) over `tls_handshakes` handshakes.
    pub tls_us: u64,
    pub tls_handshakes: u64,
    /// Sum of times to first response byte (µs) over `ttfb_count` responses.
    pub ttfb_us: u64,
    pub ttfb_count: u64,
}

impl Timing {
    pub fn merge(&mut self, other: &Timing) {
        self.connect_us = self.connect_us.saturating_add(other.connect_us);
        self.connects = self.connects.saturating_add(other.connects);
        self.tls_us = self.tls_us.saturating_add(other.tls_us);
        self.tls_handshakes = self.tls_handshakes.saturating_add(other.tls_handshakes);
        self.ttfb_us = self.ttfb_us.saturating_add(other.ttfb_us);
        self.ttfb_count = self.ttfb_count.saturating_add(other.ttfb_count);
    }

    /// Mean connect time in µs, `None` when no connection was opened.
    pub fn avg_connect_us(&self) -> Option<f64> {
        mean(self.connect_us, self.connects)
    }

    pub fn avg_tls_us(&self) -> Option<f64> {
        mean(self.tls_us, self.tls_handshakes)
    }

    pub fn avg_ttfb_us(&self) -> Option<f64> {
        mean(self.ttfb_us, self.ttfb_count)
    }
}

fn mean(sum: u64, count: u64) -> Option<f64> {
    (count > 0).then(|| sum as f64 / count as f64)
}

/// The figures of one (method, name) entry. Failed requests count as requests too, as in Locust.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EntryStats {
    pub requests: u64,
    pub failures: u64,
    /// Sum of response times, µs.
    pub total_us: u64,
    /// Smallest response time, µs; meaningless (0) while `requests` is 0.
    pub min_us: u64,
    pub max_us: u64,
    /// Response body bytes, summed.
    pub content_bytes: u64,
    pub hist: Histogram,
    pub timing: Timing,
    /// Unix ms of the first and last request recorded.
    pub first_request_ms: Option<u64>,
    pub last_request_ms: Option<u64>,
}

impl EntryStats {
    pub fn merge(&mut self, other: &EntryStats) {
        if other.requests > 0 {
            self.min_us = if self.requests == 0 {
                other.min_us
            } else {
                self.min_us.min(other.min_us)
            };
            self.max_us = self.max_us.max(other.max_us);
        }
        self.requests = self.requests.saturating_add(other.requests);
        self.failures = self.failures.saturating_add(other.failures);
        self.total_us = self.total_us.saturating_add(other.total_us);
        self.content_bytes = self.content_bytes.saturating_add(other.content_bytes);
        self.hist.merge(&other.hist);
        self.timing.merge(&other.timing);
        self.first_request_ms = min_some(self.first_request_ms, other.first_request_ms);
        self.last_request_ms = self.last_request_ms.max(other.last_request_ms);
    }

    /// Mean response time, µs; 0.0 without requests.
    pub fn avg_us(&self) -> f64 {
        mean(self.total_us, self.requests).unwrap_or(0.0)
    }

    /// Failures ÷ requests; 0.0 without requests.
    pub fn failure_rate(&self) -> f64 {
        mean(self.failures, self.requests).unwrap_or(0.0)
    }

    /// Mean response size in bytes; 0.0 without requests.
    pub fn avg_content_bytes(&self) -> f64 {
        mean(self.content_bytes, self.requests).unwrap_or(0.0)
    }
}

fn min_some(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Failures are grouped by entry and error text, as in Locust's failures table; the text is the
/// reason with its variable parts replaced ([`crate::reason::normalise`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FailureKey {
    pub method: String,
    pub name: String,
    pub error: String,
}

impl FailureKey {
    /// The one key every failure past [`MAX_FAILURE_KEYS`] distinct keys is counted under: no
    /// method and no name, so that row cannot multiply with the entries either.
    pub fn other() -> FailureKey {
        FailureKey {
            method: String::new(),
            name: String::new(),
            error: OTHER_REASON.to_string(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureStats {
    pub occurrences: u64,
    /// Unix ms.
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
}

impl FailureStats {
    pub fn merge(&mut self, other: &FailureStats) {
        self.occurrences = self.occurrences.saturating_add(other.occurrences);
        self.first_seen_ms = self.first_seen_ms.min(other.first_seen_ms);
        self.last_seen_ms = self.last_seen_ms.max(other.last_seen_ms);
    }
}

/// An error raised by the load script itself (not by the target), keyed by its message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionStats {
    pub count: u64,
    /// One traceback seen for the message (the smallest, when sources disagree).
    pub traceback: String,
    /// Ids of the workers (or nodes) where it happened.
    pub nodes: BTreeSet<String>,
}

impl ExceptionStats {
    pub fn merge(&mut self, other: &ExceptionStats) {
        // Sources cannot tell which traceback came first, so the choice is by content, which
        // keeps merges order-independent.
        if self.traceback.is_empty()
            || (!other.traceback.is_empty() && other.traceback < self.traceback)
        {
            self.traceback.clone_from(&other.traceback);
        }
        self.count = self.count.saturating_add(other.count);
        self.nodes.extend(other.nodes.iter().cloned());
    }
}

/// Stats for the window `[start_ms, end_ms]` from one or more sources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Unix ms. A window of `0..0` (the default) means "no window yet" and yields to any other.
    pub start_ms: u64,
    pub end_ms: u64,
    #[serde(with = "pairs")]
    pub entries: BTreeMap<EntryName, EntryStats>,
    #[serde(with = "pairs")]
    pub failures: BTreeMap<FailureKey, FailureStats>,
    /// Keyed by the exception message.
    pub exceptions: BTreeMap<String, ExceptionStats>,
    /// Running users at the end of the window (a gauge; parallel sources add up).
    pub users: u64,
    /// Open-model arrivals dropped because every allowed user was busy.
    pub dropped_arrivals: u64,
    /// Requests still waiting for their response when the run ended, cut off unanswered: they
    /// are in no entry's counts, so a target that never answers shows here.
    #[serde(default)]
    pub cut_off: u64,
}

impl Snapshot {
    /// An empty snapshot for the given window.
    pub fn new(start_ms: u64, end_ms: u64) -> Snapshot {
        Snapshot {
            start_ms,
            end_ms,
            ..Snapshot::default()
        }
    }

    /// Adds `other` exactly. The window becomes the union; `users` add because merged snapshots
    /// come from sources running side by side.
    pub fn merge(&mut self, other: &Snapshot) {
        if self.start_ms == 0 && self.end_ms == 0 {
            self.start_ms = other.start_ms;
            self.end_ms = other.end_ms;
        } else if other.start_ms != 0 || other.end_ms != 0 {
            self.start_ms = self.start_ms.min(other.start_ms);
            self.end_ms = self.end_ms.max(other.end_ms);
        }
        for (name, stats) in &other.entries {
            match self.entries.get_mut(name) {
                Some(mine) => mine.merge(stats),
                None => {
                    self.entries.insert(name.clone(), stats.clone());
                }
            }
        }
        for (key, stats) in &other.failures {
            self.add_failure(key, stats);
        }
        for (message, stats) in &other.exceptions {
            self.exceptions
                .entry(message.clone())
                .or_default()
                .merge(stats);
        }
        self.users = self.users.saturating_add(other.users);
        self.dropped_arrivals = self.dropped_arrivals.saturating_add(other.dropped_arrivals);
        self.cut_off = self.cut_off.saturating_add(other.cut_off);
    }

    /// Counts `stats` under `key`, or under [`FailureKey::other`] once the snapshot holds
    /// [`MAX_FAILURE_KEYS`] distinct keys: the failures table stays bounded whatever the
    /// target answers, and no failure goes uncounted.
    pub fn add_failure(&mut self, key: &FailureKey, stats: &FailureStats) {
        if let Some(mine) = self.failures.get_mut(key) {
            mine.merge(stats);
            return;
        }
        let other = FailureKey::other();
        let distinct = self.failures.len() - usize::from(self.failures.contains_key(&other));
        if distinct < MAX_FAILURE_KEYS {
            self.failures.insert(key.clone(), *stats);
            return;
        }
        match self.failures.get_mut(&other) {
            Some(mine) => mine.merge(stats),
            None => {
                self.failures.insert(other, *stats);
            }
        }
    }

    /// All entries merged: Locust's "Aggregated" row.
    pub fn aggregated(&self) -> EntryStats {
        let mut total = EntryStats::default();
        for stats in self.entries.values() {
            total.merge(stats);
        }
        total
    }

    /// True when the snapshot carries no request, failure, exception, dropped arrival or cut-off
    /// request.
    pub fn is_idle(&self) -> bool {
        self.entries.values().all(|e| e.requests == 0)
            && self.failures.is_empty()
            && self.exceptions.is_empty()
            && self.dropped_arrivals == 0
            && self.cut_off == 0
    }
}

/// Maps whose keys are structs serialize as a list of pairs, since JSON object keys are strings.
mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K, V, S>(map: &BTreeMap<K, V>, s: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize,
        V: Serialize,
        S: Serializer,
    {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        let pairs = Vec::<(K, V)>::deserialize(d)?;
        Ok(pairs.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(values: &[u64], failures: u64, at_ms: u64) -> EntryStats {
        let mut e = EntryStats::default();
        for &v in values {
            e.merge(&EntryStats {
                requests: 1,
                total_us: v,
                min_us: v,
                max_us: v,
                content_bytes: 10,
                hist: {
                    let mut h = Histogram::new();
                    h.record(v);
                    h
                },
                first_request_ms: Some(at_ms),
                last_request_ms: Some(at_ms),
                ..EntryStats::default()
            });
        }
        e.failures = failures;
        e
    }

    #[test]
    fn entry_merge_keeps_extremes_and_sums() {
        let mut a = entry(&[500, 900], 1, 2_000);
        a.merge(&entry(&[100, 7000], 0, 1_000));
        a.merge(&EntryStats::default());
        assert_eq!((a.requests, a.failures, a.total_us), (4, 1, 8500));
        assert_eq!((a.min_us, a.max_us), (100, 7000));
        assert_eq!(
            (a.first_request_ms, a.last_request_ms),
            (Some(1000), Some(2000))
        );
        assert_eq!(a.avg_us(), 2125.0);
        assert_eq!(a.failure_rate(), 0.25);
        assert_eq!(a.avg_content_bytes(), 10.0);
    }

    #[test]
    fn snapshot_merge_adds_users_and_unions_windows() {
        let mut a = Snapshot::new(1_000, 2_000);
        a.users = 3;
        let mut b = Snapshot::new(1_500, 2_500);
        b.users = 4;
        b.dropped_arrivals = 2;
        let mut merged = Snapshot::default();
        merged.merge(&a);
        merged.merge(&b);
        assert_eq!((merged.start_ms, merged.end_ms), (1_000, 2_500));
        assert_eq!((merged.users, merged.dropped_arrivals), (7, 2));
        a.merge(&Snapshot::default());
        assert_eq!((a.start_ms, a.end_ms), (1_000, 2_000));
    }

    #[test]
    fn json_round_trip_with_struct_keys() {
        let mut s = Snapshot::new(1, 2);
        let name = EntryName {
            method: "GET".into(),
            name: "/a".into(),
        };
        s.entries.insert(name, entry(&[1, 2, 3], 1, 5));
        s.failures.insert(
            FailureKey {
                method: "GET".into(),
                name: "/a".into(),
                error: "500".into(),
            },
            FailureStats {
                occurrences: 1,
                first_seen_ms: 5,
                last_seen_ms: 5,
            },
        );
        let json = serde_json::to_string(&s).unwrap();
        let back: Snapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }
}
