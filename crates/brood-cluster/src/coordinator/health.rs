//! Validity verdicts: whether a region's generators were healthy enough for its figures to be
//! trusted, judged from the [`Health`] sent with each snapshot and nothing else.
//!
//! "Sustained" conditions are measured on the snapshots' own windows (the worker's clock), so
//! queue batching and transport lag do not stretch or shrink them; an older snapshot arriving
//! late does not reset or extend a streak, since only newer ones carry the current state.

use std::time::Duration;

use super::model::Health;
use super::ms;

/// Scheduling lag above this, sustained, means the generator sent requests late.
pub const SCHED_LAG_LIMIT_MS: f32 = 50.0;
/// How long scheduling lag must stay above [`SCHED_LAG_LIMIT_MS`] to count.
pub const SCHED_LAG_SUSTAINED: Duration = Duration::from_secs(10);
/// What fleet sizing fills a generator's CPU to (percent), leaving room below the CPU validity
/// threshold (85 % by default) for what the estimate misses; also the level the CPU verdict's
/// advice on the number of workers aims at.
pub const SIZING_CPU_PERCENT: f32 = 60.0;
/// A worker clock this far off the controller's misplaces its per-second figures.
pub const CLOCK_OFFSET_LIMIT_MS: u64 = 500;

/// A sentence about the validity of a region's (or one worker's) figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub region: String,
    /// Set when exactly one worker is concerned.
    pub worker: Option<String>,
    pub message: String,
}

/// The kinds of trouble, in the order verdicts are listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trouble {
    Cpu,
    Lag,
    Dropped,
    Clock,
}

const TROUBLES: [Trouble; 4] = [Trouble::Cpu, Trouble::Lag, Trouble::Dropped, Trouble::Clock];

/// The thresholds in force.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) cpu_percent: f32,
    pub(crate) cpu_for_ms: u64,
}

/// A run of consecutive snapshots over a limit.
#[derive(Clone, Copy, Debug, Default)]
struct Streak {
    since_ms: Option<u64>,
    longest_ms: u64,
}

impl Streak {
    fn note(&mut self, over: bool, window: (u64, u64)) {
        if !over {
            self.since_ms = None;
            return;
        }
        let since = *self.since_ms.get_or_insert(window.0);
        self.longest_ms = self.longest_ms.max(window.1.saturating_sub(since));
    }
}

/// One worker's health over the run.
#[derive(Clone, Debug, Default)]
pub(crate) struct HealthTrack {
    newest_seq: Option<u64>,
    cpu: Streak,
    lag: Streak,
    dropped_arrivals: u64,
    worst_offset_ms: u64,
    /// CPU percent summed over the snapshots above the CPU limit, and their count.
    hot_cpu_sum: f64,
    hot_snapshots: u64,
}

impl HealthTrack {
    /// Takes the health of snapshot `seq` covering `window` (worker clock, Unix ms); returns the
    /// troubles it newly shows.
    pub(crate) fn note(
        &mut self,
        seq: u64,
        health: &Health,
        window: (u64, u64),
        limits: Limits,
    ) -> Vec<Trouble> {
        let before = TROUBLES.map(|t| self.shows(t, limits));
        // Dropped arrivals are counts of their own window: every distinct snapshot adds.
        self.dropped_arrivals = self
            .dropped_arrivals
            .saturating_add(health.dropped_arrivals);
        if self.newest_seq.is_none_or(|newest| seq > newest) {
            self.newest_seq = Some(seq);
            let hot = health.cpu_percent > limits.cpu_percent;
            self.cpu.note(hot, window);
            if hot {
                self.hot_cpu_sum += f64::from(health.cpu_percent);
                self.hot_snapshots += 1;
            }
            self.lag
                .note(health.sched_lag_ms > SCHED_LAG_LIMIT_MS, window);
            // The worker's estimate only gets better (it keeps the smallest delay it has seen),
            // so the newest one is the one to judge.
            self.worst_offset_ms = health.clock_offset_ms.unsigned_abs();
        }
        TROUBLES
            .into_iter()
            .zip(before)
            .filter(|&(t, was)| !was && self.shows(t, limits))
            .map(|(t, _)| t)
            .collect()
    }

    pub(crate) fn reported(&self) -> bool {
        self.newest_seq.is_some()
    }

    fn shows(&self, trouble: Trouble, limits: Limits) -> bool {
        match trouble {
            Trouble::Cpu => self.cpu.longest_ms >= limits.cpu_for_ms,
            Trouble::Lag => self.lag.longest_ms >= ms(SCHED_LAG_SUSTAINED),
            Trouble::Dropped => self.dropped_arrivals > 0,
            Trouble::Clock => self.worst_offset_ms > CLOCK_OFFSET_LIMIT_MS,
        }
    }
}

/// The verdicts of one region, from the health of its workers `(id, track)`.
pub(crate) fn region_verdicts<'a>(
    region: &str,
    workers: impl Iterator<Item = (&'a str, &'a HealthTrack)>,
    limits: Limits,
) -> Vec<Verdict> {
    let reporting: Vec<(&str, &HealthTrack)> = workers.filter(|(_, h)| h.reported()).collect();
    let mut out = Vec::new();
    for trouble in TROUBLES {
        let affected: Vec<&(&str, &HealthTrack)> = reporting
            .iter()
            .filter(|(_, h)| h.shows(trouble, limits))
            .collect();
        let Some(&&(first, _)) = affected.first() else {
            continue;
        };
        let scope = match affected.len() {
            n if n == reporting.len() => String::new(),
            1 => format!(" on worker {first}"),
            n => format!(" on {n} of {} workers", reporting.len()),
        };
        let tracks: Vec<&HealthTrack> = affected.iter().map(|(_, h)| *h).collect();
        let mut message = sentence(trouble, region, &scope, &tracks, limits);
        if trouble == Trouble::Cpu {
            message += &needed_workers(&tracks, reporting.len());
        }
        out.push(Verdict {
            region: region.to_string(),
            worker: (affected.len() == 1).then(|| first.to_string()),
            message,
        });
    }
    out
}

/// How many workers the region should have had: the hot workers' CPU while hot, spread to
/// [`SIZING_CPU_PERCENT`] each, plus the others. A lower bound, since a saturated generator shows
/// 100 % whatever it was asked for.
fn needed_workers(hot: &[&HealthTrack], reporting: usize) -> String {
    let load: f64 = hot
        .iter()
        .filter(|t| t.hot_snapshots > 0)
        .map(|t| t.hot_cpu_sum / t.hot_snapshots as f64)
        .sum();
    let mean = load / hot.len().max(1) as f64;
    let others = reporting.saturating_sub(hot.len());
    let needed = (load / f64::from(SIZING_CPU_PERCENT)).ceil() as usize + others;
    format!(
        "; at {mean:.0}% CPU it needed at least {needed} workers (instances on aws) instead of \
         {reporting} to stay near {SIZING_CPU_PERCENT}%"
    )
}

/// The sentence for one worker's newly shown trouble, for the live log.
pub(crate) fn worker_sentence(
    trouble: Trouble,
    region: &str,
    worker: &str,
    track: &HealthTrack,
    limits: Limits,
) -> String {
    sentence(
        trouble,
        region,
        &format!(" on worker {worker}"),
        &[track],
        limits,
    )
}

fn sentence(
    trouble: Trouble,
    region: &str,
    scope: &str,
    tracks: &[&HealthTrack],
    limits: Limits,
) -> String {
    match trouble {
        Trouble::Cpu => format!(
            "{region}: generator CPU above {}% for {} s{scope}: latencies may be inflated",
            limits.cpu_percent,
            secs(limits.cpu_for_ms)
        ),
        Trouble::Lag => format!(
            "{region}: scheduling lag above {SCHED_LAG_LIMIT_MS} ms for {} s{scope}: requests \
             went out late and latencies may be inflated",
            secs(ms(SCHED_LAG_SUSTAINED))
        ),
        Trouble::Dropped => {
            let dropped: u64 = tracks.iter().map(|t| t.dropped_arrivals).sum();
            format!(
                "{region}: {dropped} arrivals dropped for want of a free user{scope}: the \
                 arrival rate was not reached"
            )
        }
        Trouble::Clock => {
            let worst = tracks.iter().map(|t| t.worst_offset_ms).max().unwrap_or(0);
            format!(
                "{region}: clock {worst} ms off the controller's{scope}: per-second figures may \
                 be misaligned"
            )
        }
    }
}

fn secs(ms: u64) -> String {
    format!("{}", ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        cpu_percent: 85.0,
        cpu_for_ms: 40_000,
    };

    fn cpu(percent: f32) -> Health {
        Health {
            cpu_percent: percent,
            ..Health::default()
        }
    }

    fn second(seq: u64) -> (u64, u64) {
        (seq * 1000, (seq + 1) * 1000)
    }

    #[test]
    fn cpu_streak_must_last_the_whole_time() {
        let mut track = HealthTrack::default();
        for seq in 1..=39 {
            assert!(track.note(seq, &cpu(90.0), second(seq), LIMITS).is_empty());
        }
        // A dip resets the streak; a late, older snapshot does not.
        track.note(40, &cpu(50.0), second(40), LIMITS);
        track.note(12, &cpu(10.0), second(12), LIMITS);
        for seq in 41..=79 {
            assert!(track.note(seq, &cpu(90.0), second(seq), LIMITS).is_empty());
        }
        assert_eq!(
            track.note(80, &cpu(90.0), second(80), LIMITS),
            vec![Trouble::Cpu]
        );
        assert!(track.note(81, &cpu(90.0), second(81), LIMITS).is_empty());
    }

    #[test]
    fn verdicts_name_the_scope() {
        let mut hot = HealthTrack::default();
        let mut calm = HealthTrack::default();
        for seq in 1..=40 {
            hot.note(seq, &cpu(99.0), second(seq), LIMITS);
            calm.note(seq, &cpu(20.0), second(seq), LIMITS);
        }
        let alone = region_verdicts("us-east-1", [("w1", &hot)].into_iter(), LIMITS);
        assert_eq!(
            alone,
            vec![Verdict {
                region: "us-east-1".into(),
                worker: Some("w1".into()),
                message: "us-east-1: generator CPU above 85% for 40 s: latencies may be inflated; \
                          at 99% CPU it needed at least 2 workers (instances on aws) instead of \
                          1 to stay near 60%"
                    .into(),
            }]
        );
        let mixed = region_verdicts(
            "eu",
            [("w1", &hot), ("w2", &calm), ("w3", &hot)].into_iter(),
            LIMITS,
        );
        assert_eq!(
            mixed[0].message,
            "eu: generator CPU above 85% for 40 s on 2 of 3 workers: latencies may be inflated; \
             at 99% CPU it needed at least 5 workers (instances on aws) instead of 3 to stay \
             near 60%"
        );
        assert_eq!(mixed[0].worker, None);
    }

    #[test]
    fn lag_drops_and_clock() {
        let mut track = HealthTrack::default();
        let mut seen = Vec::new();
        for seq in 1..=10 {
            let health = Health {
                cpu_percent: 10.0,
                sched_lag_ms: 80.0,
                dropped_arrivals: if seq == 3 { 7 } else { 0 },
                clock_offset_ms: -730,
            };
            seen.extend(track.note(seq, &health, second(seq), LIMITS));
        }
        assert_eq!(seen, vec![Trouble::Clock, Trouble::Dropped, Trouble::Lag]);
        let messages: Vec<String> = region_verdicts("ap", [("w", &track)].into_iter(), LIMITS)
            .into_iter()
            .map(|v| v.message)
            .collect();
        assert_eq!(
            messages,
            vec![
                "ap: scheduling lag above 50 ms for 10 s: requests went out late and latencies \
                 may be inflated",
                "ap: 7 arrivals dropped for want of a free user: the arrival rate was not reached",
                "ap: clock 730 ms off the controller's: per-second figures may be misaligned",
            ]
        );
    }
}
