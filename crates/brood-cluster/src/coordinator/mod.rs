//! The run coordinator: a deterministic state machine with no I/O and no clock, in the manner of
//! quinn-proto. A driver feeds it [`Event`]s with the current time and performs the [`Action`]s
//! it returns; start, barrier, heartbeat loss, stop and abort are therefore plain unit tests.
//!
//! A run goes through four stages:
//!
//! 1. **Gathering.** Workers take jobs and report [`Event::Ready`] for their slot. When every slot
//!    of every region is ready, or the barrier times out ([`CoordinatorConfig::barrier_timeout`]
//!    after [`Event::JobsSent`]) and starting with fewer is allowed, one absolute start time is
//!    sent to exactly the ready workers. Otherwise the run fails.
//! 2. **Running.** Snapshots are merged as they arrive (see [`Coordinator::global`]); a worker
//!    silent for [`CoordinatorConfig::heartbeat_timeout`] is marked lost once and the run goes on
//!    with its data so far.
//! 3. **Stopping.** After the run time plus the stop grace, or on the user's stop, every worker
//!    is told to stop; those still busy a stop grace later are told to abort, and those silent a
//!    heartbeat timeout after that are marked lost.
//! 4. **Finished**, once every started worker is done, lost or failed.
//!
//! Deliveries are at-least-once, so repeats are expected: `Ready` and `Done` count once per
//! worker, and a snapshot once per (worker, seq).

mod health;
mod live;
mod model;
mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use brood_stats::{RunStats, Snapshot};

pub use health::{
    Verdict, CLOCK_OFFSET_LIMIT_MS, SCHED_LAG_LIMIT_MS, SCHED_LAG_SUSTAINED, SIZING_CPU_PERCENT,
};
pub use model::{
    Action, CoordinatorConfig, Event, Health, RunEnd, RunOutcome, WorkerEnd, WorkerOutcome,
};
pub use worker::{WorkerPhase, WorkerView};

use health::Limits;
use live::Live;
use worker::WorkerRecord;

use crate::{check_regions, ClusterError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Gathering,
    Running,
    Stopping,
    Finished,
}

/// What the user asked for, which decides how a run that ends is named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Request {
    Stop,
    Abort,
}

/// When stops went out.
#[derive(Clone, Copy, Debug)]
struct StopSent {
    graceful_ms: u64,
    abort_ms: Option<u64>,
}

/// The state of one distributed run. See the module docs for its stages.
#[derive(Debug)]
pub struct Coordinator {
    config: CoordinatorConfig,
    limits: Limits,
    stage: Stage,
    jobs_sent_ms: Option<u64>,
    start_at_ms: Option<u64>,
    request: Option<Request>,
    stop: Option<StopSent>,
    /// Per region, per slot: the worker holding it.
    slots: Vec<Vec<Option<String>>>,
    workers: BTreeMap<String, WorkerRecord>,
    /// Workers that failed before taking a slot: reported in the outcome.
    failed_unknown: Vec<WorkerOutcome>,
    /// Workers heard from without a `Ready`, logged once each.
    strangers: BTreeSet<String>,
    live: Live,
    outcome: Option<RunOutcome>,
}

impl Coordinator {
    /// A coordinator for a run whose jobs are about to be sent; `now_ms` is Unix ms.
    pub fn new(config: CoordinatorConfig, now_ms: u64) -> Result<Coordinator, ClusterError> {
        check_regions(&config.regions)?;
        if config.heartbeat_timeout.is_zero() {
            return Err(ClusterError::InvalidSetting {
                setting: "heartbeat_timeout",
                problem: "must be longer than zero".into(),
            });
        }
        if !(config.high_cpu_percent.is_finite() && config.high_cpu_percent > 0.0) {
            return Err(ClusterError::InvalidSetting {
                setting: "high_cpu_percent",
                problem: format!("{} is not a positive percentage", config.high_cpu_percent),
            });
        }
        let limits = Limits {
            cpu_percent: config.high_cpu_percent,
            cpu_for_ms: ms(config.high_cpu_for),
        };
        let slots = config
            .regions
            .iter()
            .map(|r| vec![None; r.workers as usize])
            .collect();
        let live = Live::new(config.regions.len(), config.full_history, now_ms);
        Ok(Coordinator {
            config,
            limits,
            stage: Stage::Gathering,
            jobs_sent_ms: None,
            start_at_ms: None,
            request: None,
            stop: None,
            slots,
            workers: BTreeMap::new(),
            failed_unknown: Vec::new(),
            strangers: BTreeSet::new(),
            live,
            outcome: None,
        })
    }

    /// Takes one event at `now_ms` (Unix ms, the controller's clock) and says what to do.
    pub fn handle(&mut self, event: Event, now_ms: u64) -> Vec<Action> {
        let mut out = Vec::new();
        if self.stage == Stage::Finished {
            return out;
        }
        match event {
            Event::JobsSent => {
                self.jobs_sent_ms.get_or_insert(now_ms);
            }
            Event::Ready {
                worker,
                region,
                slot,
            } => self.on_ready(&worker, &region, slot, now_ms, &mut out),
            Event::Snapshot {
                worker,
                seq,
                stats,
                health,
                ..
            } => self.on_snapshot(&worker, seq, &stats, &health, now_ms, &mut out),
            Event::Done {
                worker, final_seq, ..
            } => self.on_done(&worker, final_seq, now_ms, &mut out),
            Event::WorkerError {
                worker,
                region,
                message,
            } => self.on_error(&worker, &region, &message, now_ms, &mut out),
            Event::Heartbeat { worker, .. } => {
                self.touch(&worker, now_ms, &mut out);
            }
            Event::Tick => self.on_tick(now_ms, &mut out),
            Event::StopRequested => self.on_request(Request::Stop, now_ms, &mut out),
            Event::AbortRequested => self.on_request(Request::Abort, now_ms, &mut out),
        }
        self.settle(now_ms, &mut out);
        out
    }

    /// The run's merged stats (all regions, all workers).
    pub fn global(&self) -> &RunStats {
        self.live.global()
    }

    /// One region's merged stats; `None` for a region not in the run.
    pub fn region(&self, name: &str) -> Option<&RunStats> {
        self.live.region(self.region_index(name)?)
    }

    /// Every worker heard from, by id.
    pub fn workers(&self) -> impl Iterator<Item = &WorkerView> {
        self.workers.values().map(|w| &w.view)
    }

    /// Sentences on whether each region's figures can be trusted, regions in configured order.
    pub fn verdicts(&self) -> Vec<Verdict> {
        let mut out = Vec::new();
        for (index, spec) in self.config.regions.iter().enumerate() {
            let tracks = self
                .workers
                .values()
                .filter(|w| w.region_index == index)
                .map(|w| (w.view.worker.as_str(), &w.health));
            out.extend(health::region_verdicts(&spec.name, tracks, self.limits));
        }
        out
    }

    /// The common start, once it is set.
    pub fn start_at_ms(&self) -> Option<u64> {
        self.start_at_ms
    }

    /// How the run ended, once it has.
    pub fn outcome(&self) -> Option<&RunOutcome> {
        self.outcome.as_ref()
    }

    pub fn config(&self) -> &CoordinatorConfig {
        &self.config
    }

    fn region_index(&self, name: &str) -> Option<usize> {
        self.config.regions.iter().position(|r| r.name == name)
    }

    /// Notes that `worker` is alive; `None` (logged once) for a worker that never said ready.
    fn touch(&mut self, worker: &str, now_ms: u64, out: &mut Vec<Action>) -> Option<usize> {
        if let Some(record) = self.workers.get_mut(worker) {
            record.view.last_seen_ms = record.view.last_seen_ms.max(now_ms);
            return Some(record.region_index);
        }
        if self.strangers.insert(worker.to_string()) {
            out.push(Action::Log(format!(
                "worker {worker} sent messages without taking a slot; they are ignored"
            )));
        }
        None
    }

    fn on_ready(&mut self, worker: &str, region: &str, slot: u32, now: u64, out: &mut Vec<Action>) {
        if self.workers.contains_key(worker) {
            self.touch(worker, now, out);
            return;
        }
        let Some(index) = self.region_index(region) else {
            out.push(Action::Log(format!(
                "worker {worker} is ready for region {region}, which is not in this run"
            )));
            return;
        };
        let Some(held) = self.slots[index].get_mut(slot as usize) else {
            out.push(Action::Log(format!(
                "worker {worker} is ready for slot {slot} of {region}, which has only {} workers",
                self.config.regions[index].workers
            )));
            return;
        };
        let mut record = WorkerRecord::new(worker, region, index, slot, now);
        if self.stage != Stage::Gathering {
            record.view.phase = WorkerPhase::NotStarted;
            out.push(Action::Log(format!(
                "{region}: worker {worker} became ready for slot {slot} after the start; it is \
                 not started"
            )));
        } else if let Some(holder) = held {
            record.view.phase = WorkerPhase::NotStarted;
            out.push(Action::Log(format!(
                "{region}: worker {worker} is ready for slot {slot}, which worker {holder} holds; \
                 it will not be started"
            )));
        } else {
            *held = Some(worker.to_string());
        }
        self.workers.insert(worker.to_string(), record);
    }

    fn on_snapshot(
        &mut self,
        worker: &str,
        seq: u64,
        stats: &Snapshot,
        health: &Health,
        now: u64,
        out: &mut Vec<Action>,
    ) {
        if self.touch(worker, now, out).is_none() {
            return;
        }
        let Some(record) = self.workers.get_mut(worker) else {
            return;
        };
        // A worker left out of the start ran no load that belongs to this run.
        if record.view.phase == WorkerPhase::NotStarted || !record.seqs.insert(seq) {
            return;
        }
        let view = &mut record.view;
        let (requests, failures) = live::counts(stats);
        view.snapshots += 1;
        view.requests = view.requests.saturating_add(requests);
        view.failures = view.failures.saturating_add(failures);
        let newest = record.seqs.max() == Some(seq);
        view.last_seq = record.seqs.max();
        let region = record.region_index;
        self.live.merge(region, stats);
        if newest {
            view.health = Some(*health);
            if matches!(view.phase, WorkerPhase::Ready | WorkerPhase::Running) {
                let old = std::mem::replace(&mut view.users, stats.users);
                self.live.users_changed(region, old, stats.users);
            }
        }
        let window = (stats.start_ms, stats.end_ms);
        for trouble in record.health.note(seq, health, window, self.limits) {
            let view = &record.view;
            out.push(Action::Log(health::worker_sentence(
                trouble,
                &view.region,
                &view.worker,
                &record.health,
                self.limits,
            )));
        }
        if record.view.phase == WorkerPhase::Finishing && record.missing_snapshots() == 0 {
            record.view.phase = WorkerPhase::Done;
        }
    }

    fn on_done(&mut self, worker: &str, final_seq: u64, now: u64, out: &mut Vec<Action>) {
        if self.touch(worker, now, out).is_none() {
            return;
        }
        let gathering = self.stage == Stage::Gathering;
        let Some(record) = self.workers.get_mut(worker) else {
            return;
        };
        if record.done.is_some() {
            return;
        }
        record.done = Some((final_seq, now));
        let (phase, region) = (record.view.phase, record.view.region.clone());
        let drained = record.missing_snapshots() == 0;
        match phase {
            WorkerPhase::Ready if gathering => {
                out.push(Action::Log(format!(
                    "{region}: worker {worker} quit before the start"
                )));
                self.leave(worker, WorkerPhase::Errored, "quit before the start");
            }
            WorkerPhase::Ready | WorkerPhase::Running => {
                let phase = if drained {
                    WorkerPhase::Done
                } else {
                    WorkerPhase::Finishing
                };
                self.leave(worker, phase, "");
            }
            WorkerPhase::Lost => out.push(Action::Log(format!(
                "{region}: worker {worker} finished after it was marked lost; it stays lost"
            ))),
            _ => {}
        }
    }

    fn on_error(
        &mut self,
        worker: &str,
        region: &str,
        message: &str,
        now: u64,
        out: &mut Vec<Action>,
    ) {
        let Some(record) = self.workers.get_mut(worker) else {
            if !self
                .failed_unknown
                .iter()
                .any(|w| w.worker.as_deref() == Some(worker))
            {
                out.push(Action::Log(format!(
                    "{region}: worker {worker} failed: {message}"
                )));
                self.failed_unknown.push(WorkerOutcome {
                    region: region.to_string(),
                    slot: None,
                    worker: Some(worker.to_string()),
                    end: WorkerEnd::Errored {
                        message: message.to_string(),
                    },
                });
            }
            return;
        };
        record.view.last_seen_ms = record.view.last_seen_ms.max(now);
        if record.view.phase.is_final() {
            return;
        }
        let kept = if record.view.phase == WorkerPhase::Ready {
            ""
        } else {
            "; its data so far is kept"
        };
        out.push(Action::Log(format!(
            "{}: worker {worker} failed: {message}{kept}",
            record.view.region
        )));
        self.leave(worker, WorkerPhase::Errored, message);
    }

    /// Moves a worker out of the running set: its users gauge drops to zero, and a slot held
    /// before the start is freed for another worker to take.
    fn leave(&mut self, worker: &str, phase: WorkerPhase, error: &str) {
        let gathering = self.stage == Stage::Gathering;
        let Some(record) = self.workers.get_mut(worker) else {
            return;
        };
        let was = record.view.phase;
        record.view.phase = phase;
        if phase == WorkerPhase::Errored {
            record.error = Some(error.to_string());
        }
        let old = std::mem::take(&mut record.view.users);
        self.live.users_changed(record.region_index, old, 0);
        if gathering && was == WorkerPhase::Ready {
            let held = &mut self.slots[record.region_index][record.view.slot as usize];
            if held.as_deref() == Some(worker) {
                *held = None;
            }
        }
    }

    fn on_tick(&mut self, now: u64, out: &mut Vec<Action>) {
        self.check_silence(now, out);
        self.check_drained(now, out);
        match self.stage {
            Stage::Gathering => self.check_barrier_timeout(now, out),
            Stage::Running => self.check_run_time(now, out),
            Stage::Stopping => self.check_stop_deadlines(now, out),
            Stage::Finished => {}
        }
        if self.start_at_ms.is_some() {
            self.live.tick(now);
        }
    }

    /// Marks workers silent past the heartbeat timeout as lost, once each.
    fn check_silence(&mut self, now: u64, out: &mut Vec<Action>) {
        let timeout = ms(self.config.heartbeat_timeout);
        let silent: Vec<String> = self
            .workers
            .values()
            .filter(|w| matches!(w.view.phase, WorkerPhase::Ready | WorkerPhase::Running))
            .filter(|w| now.saturating_sub(w.view.last_seen_ms) > timeout)
            .map(|w| w.view.worker.clone())
            .collect();
        for worker in silent {
            let what = format!(
                "silent for more than {}",
                secs(self.config.heartbeat_timeout)
            );
            self.mark_lost(&worker, &what, out);
        }
    }

    fn mark_lost(&mut self, worker: &str, why: &str, out: &mut Vec<Action>) {
        self.leave(worker, WorkerPhase::Lost, "");
        let Some(record) = self.workers.get(worker) else {
            return;
        };
        let view = &record.view;
        let kept = match view.last_seq {
            Some(seq) => format!("its data up to snapshot {seq} is kept"),
            None => "it sent no data".to_string(),
        };
        out.push(Action::Log(format!(
            "{}: worker {worker} lost ({why}); {kept}",
            view.region
        )));
        out.push(Action::WorkerLost {
            worker: worker.to_string(),
            region: view.region.clone(),
            last_seen_ms: view.last_seen_ms,
        });
    }

    /// Workers done with snapshots still missing a heartbeat timeout later are done without them.
    fn check_drained(&mut self, now: u64, out: &mut Vec<Action>) {
        let timeout = ms(self.config.heartbeat_timeout);
        for record in self.workers.values_mut() {
            let Some((_, done_ms)) = record.done else {
                continue;
            };
            if record.view.phase == WorkerPhase::Finishing && now.saturating_sub(done_ms) >= timeout
            {
                record.view.phase = WorkerPhase::Done;
                out.push(Action::Log(format!(
                    "{}: worker {} finished with {} snapshots that never arrived",
                    record.view.region,
                    record.view.worker,
                    record.missing_snapshots()
                )));
            }
        }
    }

    fn check_barrier_timeout(&mut self, now: u64, out: &mut Vec<Action>) {
        let Some(sent) = self.jobs_sent_ms else {
            return;
        };
        if now < sent.saturating_add(ms(self.config.barrier_timeout)) {
            return;
        }
        let expected: usize = self.slots.iter().map(Vec::len).sum();
        let ready = self.slots.iter().flatten().filter(|s| s.is_some()).count();
        let waited = secs(self.config.barrier_timeout);
        let missing = self.missing_slots();
        if self.config.start_with_fewer && ready > 0 {
            out.push(Action::Log(format!(
                "only {ready} of {expected} workers ready after {waited}; starting with them \
                 (missing: {missing})"
            )));
            self.start(now, out);
        } else {
            let reason = format!(
                "only {ready} of {expected} workers ready after {waited} (missing: {missing})"
            );
            out.push(Action::SendStop { abort: true });
            self.finish(RunEnd::Failed { reason }, out);
        }
    }

    /// The free slots, e.g. `us-east-1 slots 2, 3; eu-west-1 slot 0`.
    fn missing_slots(&self) -> String {
        let mut parts = Vec::new();
        for (spec, slots) in self.config.regions.iter().zip(&self.slots) {
            let free: Vec<String> = (0..slots.len())
                .filter(|&i| slots[i].is_none())
                .map(|i| i.to_string())
                .collect();
            match free.len() {
                0 => {}
                1 => parts.push(format!("{} slot {}", spec.name, free[0])),
                _ => parts.push(format!("{} slots {}", spec.name, free.join(", "))),
            }
        }
        parts.join("; ")
    }

    /// Sets the common start and tells the ready workers.
    fn start(&mut self, now: u64, out: &mut Vec<Action>) {
        let at_ms = now.saturating_add(ms(self.config.start_delay));
        let mut started = Vec::new();
        for slots in &self.slots {
            for worker in slots.iter().flatten() {
                if let Some(record) = self.workers.get_mut(worker) {
                    record.view.phase = WorkerPhase::Running;
                    started.push(worker.clone());
                }
            }
        }
        out.push(Action::Log(format!(
            "run {}: starting {} workers at {at_ms}",
            self.config.run_id,
            started.len()
        )));
        out.push(Action::SendStart {
            at_ms,
            workers: started,
        });
        self.stage = Stage::Running;
        self.start_at_ms = Some(at_ms);
        self.live.start_at(at_ms);
    }

    fn check_run_time(&mut self, now: u64, out: &mut Vec<Action>) {
        let (Some(run_time), Some(start)) = (self.config.run_time, self.start_at_ms) else {
            return;
        };
        let deadline = start
            .saturating_add(ms(run_time))
            .saturating_add(ms(self.config.stop_grace));
        if now >= deadline {
            out.push(Action::Log(format!(
                "the run time is over and {} workers are still running; stopping them",
                self.count(WorkerPhase::Running)
            )));
            self.send_stop(false, now, out);
        }
    }

    fn check_stop_deadlines(&mut self, now: u64, out: &mut Vec<Action>) {
        let Some(stop) = self.stop else {
            return;
        };
        match stop.abort_ms {
            None if now >= stop.graceful_ms.saturating_add(ms(self.config.stop_grace)) => {
                out.push(Action::Log(format!(
                    "{} workers did not finish within {} of the stop; aborting them",
                    self.count(WorkerPhase::Running),
                    secs(self.config.stop_grace)
                )));
                self.send_stop(true, now, out);
            }
            Some(abort) if now >= abort.saturating_add(ms(self.config.heartbeat_timeout)) => {
                let running: Vec<String> = self
                    .workers
                    .values()
                    .filter(|w| w.view.phase == WorkerPhase::Running)
                    .map(|w| w.view.worker.clone())
                    .collect();
                let why = format!(
                    "no end {} after the abort",
                    secs(self.config.heartbeat_timeout)
                );
                for worker in running {
                    self.mark_lost(&worker, &why, out);
                }
            }
            _ => {}
        }
    }

    fn on_request(&mut self, request: Request, now: u64, out: &mut Vec<Action>) {
        let abort = request == Request::Abort;
        if self.request == Some(Request::Abort) || (self.request.is_some() && !abort) {
            return;
        }
        self.request = Some(request);
        if self.stage == Stage::Gathering {
            // Nothing runs yet: tell the waiting workers to go, and end here.
            out.push(Action::SendStop { abort });
            let end = if abort {
                RunEnd::Aborted
            } else {
                RunEnd::Stopped
            };
            self.finish(end, out);
            return;
        }
        out.push(Action::Log(
            if abort {
                "aborting the run"
            } else {
                "stopping the run"
            }
            .to_string(),
        ));
        self.send_stop(abort, now, out);
    }

    fn send_stop(&mut self, abort: bool, now: u64, out: &mut Vec<Action>) {
        match &mut self.stop {
            None => {
                self.stop = Some(StopSent {
                    graceful_ms: now,
                    abort_ms: abort.then_some(now),
                });
                out.push(Action::SendStop { abort });
            }
            Some(stop) if abort && stop.abort_ms.is_none() => {
                stop.abort_ms = Some(now);
                out.push(Action::SendStop { abort: true });
            }
            Some(_) => {}
        }
        self.stage = Stage::Stopping;
    }

    /// Starts when every slot is ready; finishes when every started worker is over.
    fn settle(&mut self, now: u64, out: &mut Vec<Action>) {
        match self.stage {
            Stage::Gathering => {
                if self.slots.iter().flatten().all(Option::is_some) {
                    out.push(Action::Log("every worker is ready".to_string()));
                    self.start(now, out);
                }
            }
            Stage::Running | Stage::Stopping => {
                let over = self.workers.values().all(|w| {
                    !matches!(w.view.phase, WorkerPhase::Running | WorkerPhase::Finishing)
                });
                if over {
                    let end = self.natural_end();
                    self.finish(end, out);
                }
            }
            Stage::Finished => {}
        }
    }

    fn natural_end(&self) -> RunEnd {
        if self.request == Some(Request::Abort) {
            return RunEnd::Aborted;
        }
        if self.count(WorkerPhase::Done) == 0 {
            return RunEnd::Failed {
                reason: format!(
                    "no started worker finished ({} lost, {} failed)",
                    self.count(WorkerPhase::Lost),
                    self.count(WorkerPhase::Errored)
                ),
            };
        }
        match self.request {
            Some(Request::Stop) => RunEnd::Stopped,
            _ => RunEnd::Completed,
        }
    }

    fn count(&self, phase: WorkerPhase) -> usize {
        self.workers
            .values()
            .filter(|w| w.view.phase == phase)
            .count()
    }

    fn finish(&mut self, end: RunEnd, out: &mut Vec<Action>) {
        let mut workers = Vec::new();
        for (index, spec) in self.config.regions.iter().enumerate() {
            for slot in 0..spec.workers {
                let before = workers.len();
                workers.extend(
                    self.workers
                        .values()
                        .filter(|w| w.region_index == index && w.view.slot == slot)
                        .map(|w| WorkerOutcome {
                            region: spec.name.clone(),
                            slot: Some(slot),
                            worker: Some(w.view.worker.clone()),
                            end: w.end(),
                        }),
                );
                if workers.len() == before {
                    workers.push(WorkerOutcome {
                        region: spec.name.clone(),
                        slot: Some(slot),
                        worker: None,
                        end: WorkerEnd::NeverReady,
                    });
                }
            }
        }
        workers.extend(self.failed_unknown.iter().cloned());
        let outcome = RunOutcome {
            end,
            start_at_ms: self.start_at_ms,
            workers,
        };
        self.stage = Stage::Finished;
        self.outcome = Some(outcome.clone());
        out.push(Action::Finished(outcome));
    }
}

/// Whole milliseconds of `d`, saturating.
fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `d` for a sentence, e.g. `40 s`.
fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}
