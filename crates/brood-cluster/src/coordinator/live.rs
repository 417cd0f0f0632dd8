//! Live aggregation: every distinct snapshot is merged, within the call that delivers it, into
//! the run's stats and its region's. Percentiles are only ever read from these merged
//! histograms, so they are the percentiles of every request of every worker.

use brood_stats::{RunStats, RunStatsConfig, Snapshot};

/// Seconds of "current" figures left out while deltas from remote workers are still in flight.
const SETTLE_SECS: u64 = 2;

#[derive(Debug)]
pub(crate) struct Live {
    config: RunStatsConfig,
    global: RunStats,
    regions: Vec<RunStats>,
    /// Running users per region: the sum of each active worker's newest gauge.
    region_users: Vec<u64>,
    merged_any: bool,
}

impl Live {
    pub(crate) fn new(regions: usize, full_history: bool, start_ms: u64) -> Live {
        let config = RunStatsConfig {
            full_history,
            settle_secs: SETTLE_SECS,
        };
        Live {
            config,
            global: RunStats::with_config(start_ms, config),
            regions: (0..regions)
                .map(|_| RunStats::with_config(start_ms, config))
                .collect(),
            region_users: vec![0; regions],
            merged_any: false,
        }
    }

    /// Moves the run's start to the common start, unless data already arrived (a worker that
    /// started early), which is kept with the earlier start rather than dropped.
    pub(crate) fn start_at(&mut self, at_ms: u64) {
        if !self.merged_any {
            *self = Live::new(self.regions.len(), self.config.full_history, at_ms);
        }
    }

    pub(crate) fn merge(&mut self, region: usize, delta: &Snapshot) {
        self.merged_any = true;
        self.global.add(delta);
        if let Some(stats) = self.regions.get_mut(region) {
            stats.add(delta);
        }
    }

    /// A worker's users gauge moved from `old` to `new`.
    pub(crate) fn users_changed(&mut self, region: usize, old: u64, new: u64) {
        let Some(users) = self.region_users.get_mut(region) else {
            return;
        };
        *users = users.saturating_sub(old).saturating_add(new);
        let users = *users;
        self.regions[region].set_users(users);
        let total = self.region_users.iter().sum();
        self.global.set_users(total);
    }

    /// Appends the history rows of the second of `now_ms`.
    pub(crate) fn tick(&mut self, now_ms: u64) {
        self.global.tick(now_ms);
        for stats in &mut self.regions {
            stats.tick(now_ms);
        }
    }

    pub(crate) fn global(&self) -> &RunStats {
        &self.global
    }

    pub(crate) fn region(&self, index: usize) -> Option<&RunStats> {
        self.regions.get(index)
    }
}

/// Requests and failures of a delta, without merging its histograms.
pub(crate) fn counts(delta: &Snapshot) -> (u64, u64) {
    delta.entries.values().fold((0, 0), |(r, f), e| {
        (r.saturating_add(e.requests), f.saturating_add(e.failures))
    })
}
