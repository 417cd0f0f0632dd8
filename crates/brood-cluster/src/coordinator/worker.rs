//! What the coordinator knows about each worker: its phase, the snapshots it has merged (to
//! ignore repeats), its figures, and its health.

use std::collections::BTreeMap;

use super::health::HealthTrack;
use super::model::{Health, WorkerEnd};

/// Where a worker is in the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerPhase {
    /// Took a slot and waits for the start.
    Ready,
    /// Told to start.
    Running,
    /// Said it is done; some of its snapshots are still in flight.
    Finishing,
    Done,
    Lost,
    Errored,
    /// Ready, but left out of the start.
    NotStarted,
}

impl WorkerPhase {
    /// True once nothing more is expected from the worker.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            WorkerPhase::Done | WorkerPhase::Lost | WorkerPhase::Errored | WorkerPhase::NotStarted
        )
    }
}

/// A worker's live figures, for views and reports.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerView {
    pub worker: String,
    pub region: String,
    pub slot: u32,
    pub phase: WorkerPhase,
    /// When any message from it last arrived (controller clock, Unix ms).
    pub last_seen_ms: u64,
    /// The highest snapshot seq merged.
    pub last_seq: Option<u64>,
    /// Distinct snapshots merged.
    pub snapshots: u64,
    pub requests: u64,
    pub failures: u64,
    /// Running users in its newest snapshot.
    pub users: u64,
    /// Health in its newest snapshot.
    pub health: Option<Health>,
}

/// The seqs seen so far, as disjoint inclusive ranges: a worker's steady 1, 2, 3, … stays one
/// range however long the run, while repeats and reordering are still told apart exactly.
#[derive(Clone, Debug, Default)]
pub(crate) struct SeqSet {
    ranges: BTreeMap<u64, u64>,
}

impl SeqSet {
    /// Adds `seq`; false when it was already there.
    pub(crate) fn insert(&mut self, seq: u64) -> bool {
        let before = self.ranges.range(..=seq).next_back().map(|(&s, &e)| (s, e));
        if let Some((_, end)) = before {
            if end >= seq {
                return false;
            }
        }
        let mut start = seq;
        let mut end = seq;
        if let Some((s, e)) = before {
            if e.checked_add(1) == Some(seq) {
                start = s;
            }
        }
        if let Some(next) = seq.checked_add(1) {
            if let Some(e) = self.ranges.remove(&next) {
                end = e;
            }
        }
        self.ranges.insert(start, end);
        true
    }

    /// How many of `1..=n` are present.
    pub(crate) fn count_up_to(&self, n: u64) -> u64 {
        self.ranges
            .range(..=n)
            .map(|(&s, &e)| {
                let (lo, hi) = (s.max(1), e.min(n));
                if lo <= hi {
                    hi - lo + 1
                } else {
                    0
                }
            })
            .sum()
    }

    pub(crate) fn max(&self) -> Option<u64> {
        self.ranges.last_key_value().map(|(_, &e)| e)
    }
}

/// Everything kept per worker.
#[derive(Debug)]
pub(crate) struct WorkerRecord {
    pub(crate) view: WorkerView,
    pub(crate) region_index: usize,
    pub(crate) seqs: SeqSet,
    /// Set by its `Done`: the last seq and when it arrived.
    pub(crate) done: Option<(u64, u64)>,
    pub(crate) error: Option<String>,
    pub(crate) health: HealthTrack,
}

impl WorkerRecord {
    pub(crate) fn new(
        worker: &str,
        region: &str,
        region_index: usize,
        slot: u32,
        now_ms: u64,
    ) -> WorkerRecord {
        WorkerRecord {
            view: WorkerView {
                worker: worker.to_string(),
                region: region.to_string(),
                slot,
                phase: WorkerPhase::Ready,
                last_seen_ms: now_ms,
                last_seq: None,
                snapshots: 0,
                requests: 0,
                failures: 0,
                users: 0,
                health: None,
            },
            region_index,
            seqs: SeqSet::default(),
            done: None,
            error: None,
            health: HealthTrack::default(),
        }
    }

    /// Snapshots up to its final seq that never arrived (0 before its `Done`).
    pub(crate) fn missing_snapshots(&self) -> u64 {
        self.done
            .map_or(0, |(last, _)| last - self.seqs.count_up_to(last))
    }

    /// Its end for the outcome; a worker still running when the run ends counts as lost.
    pub(crate) fn end(&self) -> WorkerEnd {
        match self.view.phase {
            WorkerPhase::Done => WorkerEnd::Done {
                final_seq: self.done.map_or(0, |(last, _)| last),
                missing_snapshots: self.missing_snapshots(),
            },
            WorkerPhase::Errored => WorkerEnd::Errored {
                message: self.error.clone().unwrap_or_default(),
            },
            // Still waiting when the run ended: the run never started it.
            WorkerPhase::NotStarted | WorkerPhase::Ready => WorkerEnd::NotStarted,
            WorkerPhase::Running | WorkerPhase::Finishing | WorkerPhase::Lost => WorkerEnd::Lost {
                last_seq: self.view.last_seq,
                last_seen_ms: self.view.last_seen_ms,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_set_tells_repeats_apart_in_any_order() {
        let mut set = SeqSet::default();
        for seq in [3, 1, 2, 7, 5, 6] {
            assert!(set.insert(seq), "{seq} is new");
        }
        for seq in [1, 2, 3, 5, 6, 7] {
            assert!(!set.insert(seq), "{seq} is a repeat");
        }
        assert_eq!(set.ranges.len(), 2);
        assert_eq!(set.count_up_to(7), 6);
        assert_eq!(set.count_up_to(4), 3);
        assert_eq!(set.count_up_to(0), 0);
        assert_eq!(set.max(), Some(7));
        assert!(set.insert(4));
        assert_eq!(set.ranges.len(), 1);
        assert!(set.insert(0));
        assert_eq!(set.count_up_to(7), 7);
        assert!(set.insert(u64::MAX));
        assert!(!set.insert(u64::MAX));
    }
}
