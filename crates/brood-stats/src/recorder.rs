//! The hot path: one [`Recorder`] per engine thread collects outcomes and hands out deltas.
//!
//! Recording a successful request touches one slot by index and one histogram: no lookup by name,
//! no allocation once the histogram has grown to the latencies seen. Nothing per request is kept.

use std::collections::{BTreeSet, HashMap};

use brood_plan::EntryName;

use crate::reason::{normalise, OTHER_REASON};
use crate::{EntryStats, ExceptionStats, FailureKey, FailureStats, Snapshot, Timing};

/// Distinct error texts remembered per entry between takes. Past this, new texts are counted as
/// [`OTHER_REASON`] and the remembered texts are forgotten at the next take, so errors that embed
/// unique ids cannot grow memory without bound (most of those ids are already gone after
/// [`normalise`]).
const MAX_REMEMBERED_ERRORS: usize = 256;

/// What happened to one request.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcome<'a> {
    /// Response time, µs.
    pub elapsed_us: u64,
    /// Response body bytes (after decompression).
    pub content_bytes: u64,
    /// Set when the request opened a new connection.
    pub connect_us: Option<u64>,
    /// Set when the request performed a TLS handshake.
    pub tls_us: Option<u64>,
    /// Time to the first response byte, when a response started.
    pub ttfb_us: Option<u64>,
    /// `Some(reason)` when the request failed.
    pub error: Option<&'a str>,
}

#[derive(Debug, Default)]
struct Slot {
    stats: EntryStats,
    /// Failure counts of this window by error text; zeroed (not removed) at each take, so an
    /// error seen again allocates nothing.
    errors: HashMap<Box<str>, FailureStats>,
}

impl Slot {
    fn reset(&mut self) {
        let s = &mut self.stats;
        s.requests = 0;
        s.failures = 0;
        s.total_us = 0;
        s.min_us = 0;
        s.max_us = 0;
        s.content_bytes = 0;
        s.timing = Timing::default();
        s.first_request_ms = None;
        s.last_request_ms = None;
        // Clearing keeps the histogram's counts array, so the next window does not regrow it.
        s.hist.clear();
    }

    fn record_failure(&mut self, error: &str, now_ms: u64) {
        let normalised = normalise(error);
        let mut error: &str = &normalised;
        // Past the cap a new reason is counted as "other" until the next take forgets them.
        if self.errors.len() >= MAX_REMEMBERED_ERRORS && !self.errors.contains_key(error) {
            error = OTHER_REASON;
        }
        if let Some(f) = self.errors.get_mut(error) {
            if f.occurrences == 0 {
                f.first_seen_ms = now_ms;
                f.last_seen_ms = now_ms;
            }
            f.occurrences += 1;
            f.first_seen_ms = f.first_seen_ms.min(now_ms);
            f.last_seen_ms = f.last_seen_ms.max(now_ms);
            return;
        }
        self.errors.insert(
            error.into(),
            FailureStats {
                occurrences: 1,
                first_seen_ms: now_ms,
                last_seen_ms: now_ms,
            },
        );
    }
}

/// Per-thread collector of request outcomes. Not shared: each engine thread owns one and sends
/// the [`Snapshot`]s from [`Recorder::take`] to the aggregator.
#[derive(Debug)]
pub struct Recorder {
    names: Vec<EntryName>,
    /// name → (method, index), so [`Recorder::entry`] can look up by `&str` without allocating.
    by_name: HashMap<String, Vec<(String, usize)>>,
    slots: Vec<Slot>,
    exceptions: HashMap<String, ExceptionStats>,
    dropped_arrivals: u64,
    cut_off: u64,
    /// Start of the current window: the previous take, or the first event before any take.
    window_start_ms: Option<u64>,
    took_once: bool,
}

impl Recorder {
    /// A recorder whose entry indexes are the positions in `entries`.
    pub fn new(entries: &[EntryName]) -> Recorder {
        let mut r = Recorder {
            names: Vec::with_capacity(entries.len()),
            by_name: HashMap::new(),
            slots: Vec::with_capacity(entries.len()),
            exceptions: HashMap::new(),
            dropped_arrivals: 0,
            cut_off: 0,
            window_start_ms: None,
            took_once: false,
        };
        for e in entries {
            r.push(e.clone());
        }
        r
    }

    fn push(&mut self, name: EntryName) -> usize {
        let index = self.slots.len();
        self.by_name
            .entry(name.name.clone())
            .or_default()
            .push((name.method.clone(), index));
        self.names.push(name);
        self.slots.push(Slot::default());
        index
    }

    /// The index of `(method, name)`, appending an entry for a name not known up front.
    pub fn entry(&mut self, method: &str, name: &str) -> usize {
        if let Some(methods) = self.by_name.get(name) {
            if let Some(&(_, index)) = methods.iter().find(|(m, _)| m == method) {
                return index;
            }
        }
        self.push(EntryName {
            method: method.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The entries known so far, by index.
    pub fn entries(&self) -> &[EntryName] {
        &self.names
    }

    /// Records one request. Panics if `entry` is not an index handed out by this recorder.
    pub fn record(&mut self, entry: usize, outcome: &Outcome<'_>, now_ms: u64) {
        self.note_time(now_ms);
        let slot = &mut self.slots[entry];
        let s = &mut slot.stats;
        let us = outcome.elapsed_us;
        if s.requests == 0 {
            s.min_us = us;
            s.max_us = us;
            s.first_request_ms = Some(now_ms);
            s.last_request_ms = Some(now_ms);
        } else {
            s.min_us = s.min_us.min(us);
            s.max_us = s.max_us.max(us);
            s.first_request_ms = s.first_request_ms.min(Some(now_ms));
            s.last_request_ms = s.last_request_ms.max(Some(now_ms));
        }
        s.requests += 1;
        s.total_us = s.total_us.saturating_add(us);
        s.content_bytes = s.content_bytes.saturating_add(outcome.content_bytes);
        s.hist.record(us);
        add_timing(&mut s.timing, outcome);
        if let Some(error) = outcome.error {
            s.failures += 1;
            slot.record_failure(error, now_ms);
        }
    }

    /// Records an error raised by the load script itself on `node` (a worker id).
    pub fn record_exception(&mut self, message: &str, traceback: &str, node: &str, now_ms: u64) {
        self.note_time(now_ms);
        let Some(e) = self.exceptions.get_mut(message) else {
            self.exceptions.insert(
                message.to_owned(),
                ExceptionStats {
                    count: 1,
                    traceback: traceback.to_owned(),
                    nodes: BTreeSet::from([node.to_owned()]),
                },
            );
            return;
        };
        e.count += 1;
        // The same rule as ExceptionStats::merge, so one recorder and many merged agree.
        if traceback < e.traceback.as_str() {
            e.traceback = traceback.to_owned();
        }
        if !e.nodes.contains(node) {
            e.nodes.insert(node.to_owned());
        }
    }

    /// Counts open-model arrivals that found no free user.
    pub fn add_dropped_arrivals(&mut self, n: u64) {
        self.dropped_arrivals = self.dropped_arrivals.saturating_add(n);
    }

    /// Counts requests still in flight when the run ended, cut off unanswered.
    pub fn add_cut_off(&mut self, n: u64) {
        self.cut_off = self.cut_off.saturating_add(n);
    }

    /// Everything recorded since the previous take (or since creation), as a snapshot for the
    /// window ending at `now_ms`; the recorder starts a new window. Entries without requests are
    /// left out.
    pub fn take(&mut self, users: u64, now_ms: u64) -> Snapshot {
        let start_ms = self.window_start_ms.unwrap_or(now_ms).min(now_ms);
        let mut snap = Snapshot::new(start_ms, now_ms);
        for (name, slot) in self.names.iter().zip(&mut self.slots) {
            if slot.stats.requests > 0 {
                match snap.entries.get_mut(name) {
                    Some(existing) => existing.merge(&slot.stats),
                    None => {
                        snap.entries.insert(name.clone(), slot.stats.clone());
                    }
                }
                slot.reset();
            }
            take_failures(name, slot, &mut snap);
        }
        snap.exceptions = self.exceptions.drain().collect();
        snap.users = users;
        snap.dropped_arrivals = std::mem::take(&mut self.dropped_arrivals);
        snap.cut_off = std::mem::take(&mut self.cut_off);
        self.window_start_ms = Some(now_ms);
        self.took_once = true;
        snap
    }

    fn note_time(&mut self, now_ms: u64) {
        // Before the first take the window opens at the earliest event; afterwards it opens at
        // the previous take.
        if !self.took_once {
            let start = self.window_start_ms.get_or_insert(now_ms);
            *start = (*start).min(now_ms);
        }
    }
}

fn add_timing(t: &mut Timing, outcome: &Outcome<'_>) {
    if let Some(us) = outcome.connect_us {
        t.connect_us = t.connect_us.saturating_add(us);
        t.connects += 1;
    }
    if let Some(us) = outcome.tls_us {
        t.tls_us = t.tls_us.saturating_add(us);
        t.tls_handshakes += 1;
    }
    if let Some(us) = outcome.ttfb_us {
        t.ttfb_us = t.ttfb_us.saturating_add(us);
        t.ttfb_count += 1;
    }
}

fn take_failures(name: &EntryName, slot: &mut Slot, snap: &mut Snapshot) {
    for (error, f) in slot.errors.iter_mut().filter(|(_, f)| f.occurrences > 0) {
        let key = if &**error == OTHER_REASON {
            FailureKey::other()
        } else {
            FailureKey {
                method: name.method.clone(),
                name: name.name.clone(),
                error: error.to_string(),
            }
        };
        snap.add_failure(&key, f);
        f.occurrences = 0;
    }
    if slot.errors.len() > MAX_REMEMBERED_ERRORS {
        slot.errors.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(method: &str, name: &str) -> EntryName {
        EntryName {
            method: method.into(),
            name: name.into(),
        }
    }

    #[test]
    fn records_and_resets_between_takes() {
        let mut r = Recorder::new(&[name("GET", "/"), name("POST", "/login")]);
        let ok = Outcome {
            elapsed_us: 1500,
            content_bytes: 100,
            connect_us: Some(300),
            ttfb_us: Some(1200),
            ..Outcome::default()
        };
        r.record(0, &ok, 10_000);
        r.record(
            0,
            &Outcome {
                elapsed_us: 500,
                error: Some("HTTP 503"),
                ..ok
            },
            10_400,
        );
        r.add_dropped_arrivals(3);
        let snap = r.take(5, 11_000);
        assert_eq!(
            (snap.start_ms, snap.end_ms, snap.users),
            (10_000, 11_000, 5)
        );
        assert_eq!(snap.dropped_arrivals, 3);
        assert_eq!(
            snap.entries.len(),
            1,
            "entries without requests are left out"
        );
        let e = &snap.entries[&name("GET", "/")];
        assert_eq!(
            (e.requests, e.failures, e.min_us, e.max_us),
            (2, 1, 500, 1500)
        );
        assert_eq!((e.timing.connects, e.timing.connect_us), (2, 600));
        assert_eq!(
            (e.first_request_ms, e.last_request_ms),
            (Some(10_000), Some(10_400))
        );
        let key = FailureKey {
            method: "GET".into(),
            name: "/".into(),
            error: "HTTP 503".into(),
        };
        assert_eq!(snap.failures[&key].occurrences, 1);

        let next = r.take(5, 12_000);
        assert_eq!((next.start_ms, next.end_ms), (11_000, 12_000));
        assert!(next.is_idle());
        assert_eq!(next.dropped_arrivals, 0);
    }

    #[test]
    fn unknown_names_append_and_repeat_lookups_agree() {
        let mut r = Recorder::new(&[name("GET", "/")]);
        let a = r.entry("GET", "/item/{id}");
        let b = r.entry("POST", "/item/{id}");
        assert_eq!((a, b), (1, 2));
        assert_eq!(r.entry("GET", "/item/{id}"), 1);
        assert_eq!(r.entry("GET", "/"), 0);
        assert_eq!(r.entries()[2], name("POST", "/item/{id}"));
    }

    #[test]
    fn exceptions_collect_nodes() {
        let mut r = Recorder::new(&[]);
        r.record_exception("no match for $.id", "at step 2", "w1", 5);
        r.record_exception("no match for $.id", "at step 2", "w2", 6);
        r.record_exception("no match for $.id", "at step 2", "w1", 7);
        let snap = r.take(0, 8);
        let e = &snap.exceptions["no match for $.id"];
        assert_eq!(e.count, 3);
        assert_eq!(e.nodes.iter().collect::<Vec<_>>(), ["w1", "w2"]);
        assert_eq!(snap.start_ms, 5);
    }
}
