//! `brood run --backend local --regions …`: the controller. It signs one job per worker slot, brings
//! the fleet up, feeds what workers send to the coordinator state machine, carries out its actions,
//! and writes the merged and per-region results, the manifest and the run history.
//!
//! The controller reports to an [`Observer`] (the console for `brood run`, the web UI's live state
//! under `brood serve`) and takes [`Command`]s (stop, abort) from a channel that Ctrl-C or the web
//! feeds, so the same loop runs in the foreground or inside the server.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use brood_cluster::{
    split_regions, Action, ArtifactStore, Coordinator, CoordinatorConfig, Event, FleetRequest,
    QueueName, RunEnd, RunOutcome, WorkerEnd, WorkerState,
};
use brood_history::{Headline, History, RunRecord, Status};
use brood_protocol::{
    canonical_plan_bytes, decode, encode, generate_signing_key, load_secret_key, new_nonce,
    plan_hash, public_key_to_hex, save_secret_key, stored_plan_key, Job, Message, ProtocolError,
    Region, RunId, SigningKey, Start, Stop,
};
use brood_report::{evaluate, write_stats_csv, write_summary_table, ThresholdResult};
use brood_stats::{RunStats, Snapshot};

use crate::backend::Backend;
use crate::console::{print_thresholds, Console, Live};
use crate::error::Error;
use crate::observer::{Command, Observer, Provisioning};
use crate::outcome::Outcome;
use crate::outputs::Files;
use crate::queues::{control_queue, jobs_queue};
use crate::record::run_info;
use crate::settings::{DistSettings, Settings};
use crate::verdict::decide;

/// Signed messages are valid this long; a start is re-sent (as a keep-alive) well within it.
const MESSAGE_VALIDITY: Duration = Duration::from_secs(120);
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(200);
/// How often the provisioning phase asks the fleet how its workers are doing.
const PROVISION_POLL: Duration = Duration::from_millis(500);

/// `brood run --backend …` in the foreground: the console observes and Ctrl-C stops.
pub fn run(settings: Settings, dist: DistSettings) -> Outcome {
    let commands = crate::process::interrupts();
    let mut console = Console {
        live: Live::new(settings.quiet),
        end: settings.plan.run_time(),
    };
    run_observed(settings, dist, &mut console, commands)
}

/// Runs the controller on a runtime of its own, reporting to `observer`.
pub fn run_observed(
    settings: Settings,
    dist: DistSettings,
    observer: &mut dyn Observer,
    commands: Receiver<Command>,
) -> Outcome {
    let runtime = match crate::process::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            observer.note(&e.to_string());
            return Outcome::Infrastructure;
        }
    };
    match runtime.block_on(control(settings, dist, None, observer, &commands)) {
        Ok(outcome) => outcome,
        Err(e) => {
            observer.note(&e.to_string());
            e.outcome()
        }
    }
}

/// One distributed run under way: what it was given, what it set up, and the coordinator that
/// decides. [`Controller::start`] signs the jobs and brings the fleet up, [`Controller::drive`]
/// feeds the coordinator until it finishes, [`Controller::finish`] writes the results and records
/// the run.
struct Controller<'o> {
    settings: Settings,
    dist: DistSettings,
    backend: Backend,
    history: History,
    run: RunId,
    run_dir: PathBuf,
    started_ms: u64,
    key: SigningKey,
    controller_queue: QueueName,
    coordinator: Coordinator,
    /// Actions the coordinator asked for that are not carried out yet.
    pending: Vec<Action>,
    /// Workers told to start, for stops and keep-alives.
    started: Vec<String>,
    /// Workers whose control queue this controller created (on their first `Ready`): workers
    /// only read their control queue, so that their role needs no grant to create or delete
    /// queues. Deleted when the run ends.
    control_queues: BTreeSet<String>,
    /// The plan waits in the artifact store (too big for the jobs); removed at the end.
    plan_stored: bool,
    start_at: Option<u64>,
    last_keep_alive: Instant,
    /// When the fleet was asked for its workers: what a cloud run spends counts from here.
    launched: Option<Instant>,
    observer: &'o mut dyn Observer,
}

/// The controller over a backend built by the caller (in-process workers, say), on the caller's
/// runtime.
pub async fn run_on(
    settings: Settings,
    dist: DistSettings,
    backend: Backend,
    observer: &mut dyn Observer,
    commands: Receiver<Command>,
) -> Outcome {
    match control(settings, dist, Some(backend), observer, &commands).await {
        Ok(outcome) => outcome,
        Err(e) => {
            observer.note(&e.to_string());
            e.outcome()
        }
    }
}

async fn control(
    settings: Settings,
    dist: DistSettings,
    backend: Option<Backend>,
    observer: &mut dyn Observer,
    commands: &Receiver<Command>,
) -> Result<Outcome, Error> {
    let mut ctl = Controller::start(settings, dist, backend, observer).await?;
    // Whatever part of the launch or the run fails, every region the fleet touched goes down.
    let outcome = match ctl.launch().await {
        Ok(()) => ctl.drive(commands).await.map_err(Error::from),
        Err(e) => Err(e),
    };
    ctl.tear_down().await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            ctl.write_partial(&e);
            ctl.record_failure(&e);
            return Err(e);
        }
    };
    ctl.download().await;
    ctl.finish(&outcome)
}

impl<'o> Controller<'o> {
    /// The run's id, folder, history record and signing key, and its queues.
    async fn start(
        settings: Settings,
        mut dist: DistSettings,
        backend: Option<Backend>,
        observer: &'o mut dyn Observer,
    ) -> Result<Controller<'o>, Error> {
        std::fs::create_dir_all(&dist.results)
            .map_err(Error::file("cannot create", &dist.results))?;
        let history = History::open(&dist.results.join("history.db"))?;
        let started_ms = brood_engine::unix_ms_now();
        let run = RunId::new(crate::record::run_id(started_ms))?;
        let mut backend = match backend {
            Some(backend) => backend,
            None => Backend::build(&settings, &mut dist, &run).await?,
        };
        // From here the backend may hold the deployment's run lock: a failure gives it up.
        let opened = open(&settings, &dist, &backend, &history, &run, started_ms).await;
        let (key, controller_queue, run_dir, coordinator) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                if let Some(note) = backend.release().await {
                    observer.note(&note);
                }
                return Err(e);
            }
        };
        observer.started(&run, &run_dir);
        let ctl = Controller {
            settings,
            dist,
            backend,
            history,
            run,
            run_dir,
            started_ms,
            key,
            controller_queue,
            coordinator,
            pending: Vec::new(),
            started: Vec::new(),
            control_queues: BTreeSet::new(),
            plan_stored: false,
            start_at: None,
            last_keep_alive: Instant::now(),
            launched: None,
            observer,
        };
        Ok(ctl)
    }

    /// The signed jobs, then the fleet in every region, in service.
    async fn launch(&mut self) -> Result<(), Error> {
        self.send_jobs().await?;
        self.launched = Some(Instant::now());
        self.fleet_up().await?;
        self.provision().await?;
        // The barrier counts from here: booting is the provisioning phase's time, not the
        // workers' time to get ready.
        let now = brood_engine::unix_ms_now();
        self.pending = self.coordinator.handle(Event::JobsSent, now);
        Ok(())
    }

    /// A run that could not go on once its load had started: the figures merged until then are
    /// written (summary, CSVs, report, manifest) with the run marked failed and the reason, so
    /// none of what was collected is lost. Best effort: a full disk is said, naming the file.
    fn write_partial(&mut self, e: &Error) {
        if self.start_at.is_none() {
            return;
        }
        let outcome = RunOutcome {
            end: RunEnd::Failed {
                reason: format!("incomplete: the controller could not go on: {e}"),
            },
            start_at_ms: self.start_at,
            workers: Vec::new(),
        };
        let note = match self.write_results(&outcome, brood_engine::unix_ms_now()) {
            Ok(_) => format!(
                "the figures merged until the failure ({} requests) are in {}, marked incomplete",
                self.coordinator.global().aggregated().requests,
                self.run_dir.display()
            ),
            Err(w) => format!("writing the figures merged until the failure: {w}"),
        };
        self.observer.note(&note);
    }

    /// A run that could not go on is recorded as failed, with the reason.
    fn record_failure(&self, e: &Error) {
        let _ = self.history.finish(
            self.run.as_str(),
            Status::Failed,
            brood_engine::unix_ms_now(),
            Some(&Headline::of(self.coordinator.global())),
            Some(&e.to_string()),
        );
    }

    /// The provisioning phase: waits until the fleet says every region's workers are in
    /// service, telling the observer each region's counts as they change. A worker the backend
    /// gives up on ends the run at once with the backend's reason, and so does the provisioning
    /// timeout; either way every region is taken down again by the caller.
    async fn provision(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + self.dist.provision_timeout;
        let mut shown: Vec<String> = vec![String::new(); self.dist.regions.len()];
        loop {
            let mut all_in_service = true;
            let mut rows = Vec::with_capacity(self.dist.regions.len());
            for (i, region) in self.dist.regions.iter().enumerate() {
                let statuses = self.backend.fleet.status(&region.name).await?;
                let count =
                    |f: fn(&WorkerState) -> bool| statuses.iter().filter(|w| f(&w.state)).count();
                let running = count(|s| matches!(s, WorkerState::Running));
                if let Some(reason) = statuses.iter().find_map(|w| match &w.state {
                    WorkerState::Failed { reason } => Some(reason.clone()),
                    _ => None,
                }) {
                    return Err(Error::Infrastructure(anyhow!(
                        "region {}: the workers cannot start: {reason}",
                        region.name
                    )));
                }
                let row = Provisioning {
                    region: region.name.clone(),
                    requested: region.workers,
                    starting: count(|s| matches!(s, WorkerState::Starting)) as u32,
                    in_service: running as u32,
                    exited: count(|s| matches!(s, WorkerState::Exited { .. })) as u32,
                };
                let line = format!(
                    "provisioning {}: {} requested, {} starting, {} in service, {} exited",
                    row.region, row.requested, row.starting, row.in_service, row.exited,
                );
                rows.push(row);
                if line != shown[i] {
                    self.observer.note(&line);
                    shown[i] = line;
                }
                all_in_service &= running >= region.workers as usize;
            }
            self.observer.provisioning(&rows);
            if all_in_service {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::Infrastructure(anyhow!(
                    "the workers were not in service within --provision-timeout {:?}: {}",
                    self.dist.provision_timeout,
                    shown.join("; ")
                )));
            }
            tokio::time::sleep(PROVISION_POLL).await;
        }
    }

    /// Brings every region's workers up; the first region that fails ends the start.
    async fn fleet_up(&self) -> Result<(), Error> {
        let controller_key = public_key_to_hex(&self.key.verifying_key());
        for region in &self.dist.regions {
            self.backend
                .fleet
                .up(&FleetRequest {
                    region: region.name.clone(),
                    workers: region.workers,
                    jobs: jobs_queue(&region.name),
                    controller: self.controller_queue.clone(),
                    controller_key: controller_key.clone(),
                })
                .await?;
        }
        Ok(())
    }

    /// Takes the fleet down in every region, deletes the run's own queues and gives up the
    /// deployment's run lock, whatever happened.
    async fn tear_down(&mut self) {
        let transport = &self.backend.transport;
        for region in &self.dist.regions {
            let _ = self.backend.fleet.down(&region.name).await;
        }
        for worker in self.started.iter().chain(&self.control_queues) {
            let _ = transport
                .delete_queue(&control_queue(self.run.as_str(), worker))
                .await;
        }
        let _ = transport.delete_queue(&self.controller_queue).await;
        if self.plan_stored {
            let key = stored_plan_key(&self.run, &plan_hash(&self.settings.plan));
            let _ = self.backend.store.delete(&key).await;
        }
        if let Some(note) = self.backend.release().await {
            self.observer.note(&note);
        }
    }

    /// Copies what a remote store holds of the run into its folder.
    async fn download(&mut self) {
        match self.backend.download(&self.run, &self.run_dir).await {
            Ok(0) => {}
            Ok(n) => self.observer.note(&format!(
                "downloaded {n} result files of the workers into {}",
                self.run_dir.display()
            )),
            Err(e) => self
                .observer
                .note(&format!("downloading the workers' results: {e:#}")),
        }
    }

    /// Feeds the coordinator until it finishes, reporting progress every second and taking
    /// commands.
    async fn drive(&mut self, commands: &Receiver<Command>) -> Result<RunOutcome> {
        let mut commands_open = true;
        let mut last_view = Instant::now();
        let mut second = 0u64;
        let mut aborted = false;
        let mut capped = false;
        loop {
            for action in std::mem::take(&mut self.pending) {
                if let Some(outcome) = self.act(action).await? {
                    return Ok(outcome);
                }
            }
            self.receive().await?;
            self.handle(Event::Tick);
            while commands_open {
                let command = match commands.try_recv() {
                    Ok(command) => command,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        commands_open = false;
                        break;
                    }
                };
                self.observer.stopping(command == Command::Abort);
                self.handle(match command {
                    Command::Stop => Event::StopRequested,
                    Command::Abort => Event::AbortRequested,
                });
            }
            if last_view.elapsed() >= Duration::from_secs(1) {
                last_view = Instant::now();
                second += 1;
                self.observer.second(&self.coordinator, second);
                if !aborted && self.start_at.is_some() {
                    let stats = self.coordinator.global();
                    let plan = &self.settings.plan;
                    if let Some(failed) = crate::verdict::failed_abort_threshold(plan, stats) {
                        self.observer
                            .note(&format!("threshold `{failed}` failed: stopping the run"));
                        aborted = true;
                        self.handle(Event::StopRequested);
                    }
                }
                if let (Some(cap), Some(launched), false) =
                    (self.backend.spend_cap, self.launched, capped)
                {
                    let spent = cap.spent(launched.elapsed());
                    if spent >= cap.max_usd {
                        self.observer.note(&format!(
                            "the fleet has cost an estimated ${spent:.2}, reaching --max-cost \
                             ${:.2}: stopping the run",
                            cap.max_usd
                        ));
                        capped = true;
                        self.handle(Event::StopRequested);
                    }
                }
            }
            if self.start_at.is_some() && self.last_keep_alive.elapsed() >= KEEP_ALIVE_EVERY {
                self.keep_alive().await;
            }
        }
    }

    /// What the coordinator makes of `event` now joins the pending actions.
    fn handle(&mut self, event: Event) {
        let actions = self.coordinator.handle(event, brood_engine::unix_ms_now());
        self.pending.extend(actions);
    }

    /// One long poll of the controller's queue; every message of this run becomes an event.
    async fn receive(&mut self) -> Result<()> {
        let deliveries = match self
            .backend
            .transport
            .receive(&self.controller_queue, 50, POLL, Duration::from_secs(30))
            .await
        {
            Ok(deliveries) => deliveries,
            // A throttled or briefly unreachable queue is not the end of a run: the heartbeat
            // timeout decides whether workers were lost meanwhile.
            Err(e) if e.transient => {
                self.observer.note(&format!("{e} (retrying)"));
                tokio::time::sleep(POLL).await;
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        };
        let now = brood_engine::unix_ms_now();
        // Acknowledgements go out side by side, off the loop: with many workers, one round trip
        // per message in turn would fall behind the snapshots arriving.
        for d in &deliveries {
            let transport = self.backend.transport.clone();
            let queue = self.controller_queue.clone();
            let receipt = d.receipt.clone();
            tokio::spawn(async move {
                let _ = transport.ack(&queue, &receipt).await;
            });
        }
        let messages: Vec<_> = deliveries
            .iter()
            .map(|d| decode(&d.body).map(|m| m.into_message()))
            .collect();
        self.create_control_queues(&messages).await;
        for message in messages {
            match message {
                Ok(message) if message.run_id() == &self.run => {
                    if let Some(event) = event_of(message) {
                        let actions = self.coordinator.handle(event, now);
                        self.pending.extend(actions);
                    }
                }
                Ok(_) => {}
                Err(e) => self
                    .observer
                    .note(&format!("ignored a malformed message: {e}")),
            }
        }
        Ok(())
    }

    /// Creates the control queue of each worker that is ready for the first time, side by side,
    /// before the coordinator hears of it (and so before any start is sent there).
    async fn create_control_queues<E>(&mut self, messages: &[std::result::Result<Message, E>]) {
        let new: BTreeSet<String> = messages
            .iter()
            .filter_map(|m| match m {
                Ok(Message::Ready(r)) if r.run_id == self.run => Some(r.worker_id.to_string()),
                _ => None,
            })
            .filter(|w| !self.control_queues.contains(w))
            .collect();
        let created: Vec<_> = new
            .into_iter()
            .map(|worker| {
                let transport = self.backend.transport.clone();
                let queue = control_queue(self.run.as_str(), &worker);
                let task = tokio::spawn(async move { transport.ensure_queue(&queue).await });
                (worker, task)
            })
            .collect();
        for (worker, task) in created {
            match task.await {
                Ok(Ok(())) => {
                    self.control_queues.insert(worker);
                }
                // Tried again on the worker's next ready message (it repeats them until started).
                Ok(Err(e)) => self
                    .observer
                    .note(&format!("control queue of {worker}: {e}")),
                Err(e) => self
                    .observer
                    .note(&format!("control queue of {worker}: {e}")),
            }
        }
    }

    /// Carries out one of the coordinator's actions; `Some` when the run is over.
    async fn act(&mut self, action: Action) -> Result<Option<RunOutcome>> {
        match action {
            Action::SendStart { at_ms, workers } => {
                self.start_at = Some(at_ms);
                self.started = workers;
                self.keep_alive().await;
            }
            Action::SendStop { abort } => {
                for worker in self.started.clone() {
                    let now = brood_engine::unix_ms_now();
                    let stop = Message::Stop(Stop {
                        run_id: self.run.clone(),
                        abort,
                        issued_ms: now,
                        expires_ms: now + MESSAGE_VALIDITY.as_millis() as u64,
                        nonce: new_nonce()?,
                    });
                    self.send_signed(&worker, &stop).await;
                }
            }
            Action::WorkerLost { worker, region, .. } => self.observer.note(&format!(
                "worker {worker} in {region} went silent: marked lost, its data kept"
            )),
            Action::Log(line) => self.observer.note(&line),
            Action::Finished(outcome) => return Ok(Some(outcome)),
        }
        Ok(None)
    }

    /// (Re-)sends the start to every started worker: the first tells them when to start, the
    /// others tell them the controller is alive (their dead-man switch).
    async fn keep_alive(&mut self) {
        let Some(at) = self.start_at else { return };
        self.last_keep_alive = Instant::now();
        for worker in self.started.clone() {
            let Ok(nonce) = new_nonce() else { continue };
            let now = brood_engine::unix_ms_now();
            let start = Message::Start(Start {
                run_id: self.run.clone(),
                at_unix_ms: at,
                workers: self.started.len() as u32,
                issued_ms: now,
                expires_ms: now + MESSAGE_VALIDITY.as_millis() as u64,
                nonce,
            });
            self.send_signed(&worker, &start).await;
        }
    }

    async fn send_signed(&mut self, worker: &str, message: &Message) {
        let queue = control_queue(self.run.as_str(), worker);
        // Its creation on the worker's ready message failed: one more try before sending.
        if !self.control_queues.contains(worker) {
            match self.backend.transport.ensure_queue(&queue).await {
                Ok(()) => {
                    self.control_queues.insert(worker.to_string());
                }
                Err(e) => self
                    .observer
                    .note(&format!("control queue of {worker}: {e}")),
            }
        }
        let sent = match encode(message, Some(&self.key)) {
            Ok(bytes) => self
                .backend
                .transport
                .send(&queue, &bytes)
                .await
                .map_err(|e| format!("sending to {worker}: {e}")),
            Err(e) => Err(format!("encoding for {worker}: {e}")),
        };
        if let Err(why) = sent {
            self.observer.note(&why);
        }
    }

    /// One signed job per worker slot, into its region's jobs queue.
    async fn send_jobs(&mut self) -> Result<()> {
        let hash = plan_hash(&self.settings.plan);
        let barrier = self.dist.barrier_timeout;
        // Jobs wait in their queues while the fleet comes up.
        let provisioning = self.dist.provision_timeout;
        for slot in split_regions(&self.dist.regions)? {
            let region = self
                .dist
                .regions
                .iter()
                .find(|r| r.name == slot.region)
                .ok_or_else(|| anyhow!("region {} vanished", slot.region))?;
            let now = brood_engine::unix_ms_now();
            let mut job = Job {
                run_id: self.run.clone(),
                region: Region::new(slot.region.clone())?,
                slot: slot.slot,
                workers_in_region: region.workers,
                segment: slot.segment,
                plan: (!self.plan_stored).then(|| self.settings.plan.clone()),
                plan_hash: hash.clone(),
                controller_queue: self.controller_queue.0.clone(),
                issued_ms: now,
                expires_ms: now + (provisioning + barrier + MESSAGE_VALIDITY).as_millis() as u64,
                nonce: new_nonce()?,
                barrier_timeout_ms: barrier.as_millis() as u64,
                heartbeat_ms: 1000,
            };
            let bytes = match encode(&Message::Job(Box::new(job.clone())), Some(&self.key)) {
                Err(ProtocolError::Oversized { len, .. }) if job.plan.is_some() => {
                    self.store_plan(len).await?;
                    job.plan = None;
                    encode(&Message::Job(Box::new(job)), Some(&self.key))?
                }
                other => other?,
            };
            self.backend
                .transport
                .send(&jobs_queue(&slot.region), &bytes)
                .await?;
        }
        Ok(())
    }

    /// Puts the plan where workers read it when a job with it would be larger than a message
    /// (big feeds): the artifact store, under the key its signed hash names.
    async fn store_plan(&mut self, job_len: usize) -> Result<()> {
        let key = stored_plan_key(&self.run, &plan_hash(&self.settings.plan));
        let bytes = canonical_plan_bytes(&self.settings.plan);
        self.backend
            .store
            .put(&key, &bytes)
            .await
            .with_context(|| format!("storing the plan ({} bytes) at {key}", bytes.len()))?;
        self.plan_stored = true;
        self.observer.note(&format!(
            "the plan with its feeds is {} KiB, more than a message carries ({job_len} bytes with \
             the job): the workers read it from the artifact store",
            bytes.len() / 1024
        ));
        Ok(())
    }

    /// Writes the results, tells the observer the summary, records the run and decides its
    /// outcome.
    fn finish(&mut self, outcome: &RunOutcome) -> Result<Outcome, Error> {
        let ended_ms = brood_engine::unix_ms_now();
        let written = self.write_results(outcome, ended_ms)?;
        let stats = self.coordinator.global();
        let mut out = Vec::new();
        // The same seconds the JSON, the CSVs and the history divide by.
        let rate = Duration::from_secs_f64(stats.rate_secs());
        let _ = write_summary_table(&mut out, stats.totals(), rate);
        print_outcome(&mut out, outcome, &written.verdicts);
        print_thresholds(&mut out, &written.thresholds);
        let _ = writeln!(out, "results: {}", self.run_dir.display());
        self.observer.summary(&String::from_utf8_lossy(&out));
        self.record(outcome, ended_ms)?;
        self.observer.finished(&self.coordinator, outcome);
        if let RunEnd::Failed { reason } = &outcome.end {
            self.observer.note(&format!("the run failed: {reason}"));
            return Ok(Outcome::Infrastructure);
        }
        let decided = decide(
            self.coordinator.global(),
            &written.thresholds,
            written.io_failed,
            self.settings.exit_code_on_error,
        );
        if decided == Outcome::NoLoad {
            self.observer
                .note(&crate::verdict::no_load_note(self.coordinator.global()));
            return Ok(decided);
        }
        // Every region must have generated load for the run to pass.
        let idle: Vec<&str> = self
            .dist
            .regions
            .iter()
            .filter(|r| {
                self.coordinator
                    .region(&r.name)
                    .is_none_or(|s| s.aggregated().requests == 0)
            })
            .map(|r| r.name.as_str())
            .collect();
        if !idle.is_empty() && decided != Outcome::Infrastructure {
            self.observer.note(&format!(
                "no request completed in {}: those regions generated no load, so the run did \
                 not pass (exit code 4)",
                idle.join(", ")
            ));
            return Ok(Outcome::NoLoad);
        }
        Ok(decided)
    }

    /// The merged results, the per-region breakdown, the user's own outputs and the manifest.
    fn write_results(&self, outcome: &RunOutcome, ended_ms: u64) -> Result<Written, Error> {
        let (settings, dist, run_dir) = (&self.settings, &self.dist, &self.run_dir);
        let stats = self.coordinator.global();
        let thresholds = evaluate(&settings.plan.thresholds, stats);
        let mut info = run_info(settings, stats, self.started_ms, ended_ms);
        info.run_id = self.run.to_string();
        info.regions = dist.regions.iter().map(|r| r.name.clone()).collect();
        info.workers = outcome
            .workers
            .iter()
            .filter(|w| w.worker.is_some())
            .count() as u64;
        // Rates count from the common start, not from the controller's own start-up.
        let since = outcome.start_at_ms.unwrap_or(self.started_ms);
        let elapsed = Duration::from_millis(ended_ms.saturating_sub(since));
        std::fs::create_dir_all(run_dir).map_err(Error::file("cannot create", run_dir))?;
        let regions: Vec<(String, &RunStats)> = dist
            .regions
            .iter()
            .filter_map(|r| {
                let stats = self.coordinator.region(&r.name)?;
                Some((r.name.clone(), stats))
            })
            .collect();
        let mut merged = crate::settings::Outputs {
            csv_prefix: Some(run_dir.join("merged").display().to_string()),
            full_history: settings.outputs.full_history,
            json: Some(run_dir.join("summary.json")),
            junit: None,
            html: Some(run_dir.join("report.html")),
        };
        let write = |outputs: &crate::settings::Outputs, stats: &RunStats, regions| {
            write_outputs(outputs, stats, &info, &thresholds, elapsed, regions).is_err()
        };
        let mut io_failed = write(&merged, stats, &regions);
        io_failed |= write(&settings.outputs, stats, &regions);
        for (name, region_stats) in &regions {
            let dir = run_dir.join(name);
            std::fs::create_dir_all(&dir).map_err(Error::file("cannot create", &dir))?;
            merged.csv_prefix = Some(dir.join("region").display().to_string());
            merged.json = None;
            merged.html = None;
            io_failed |= write(&merged, region_stats, &[]);
        }
        let verdicts: Vec<String> = self
            .coordinator
            .verdicts()
            .into_iter()
            .map(|v| v.message)
            .collect();
        let manifest = self.manifest(outcome, ended_ms, &verdicts);
        let path = run_dir.join("manifest.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&manifest)?)
            .map_err(Error::file("cannot write", &path))?;
        Ok(Written {
            thresholds,
            verdicts,
            io_failed,
        })
    }

    /// What ran, where, and how each worker ended.
    fn manifest(
        &self,
        outcome: &RunOutcome,
        ended_ms: u64,
        verdicts: &[String],
    ) -> serde_json::Value {
        let (settings, dist) = (&self.settings, &self.dist);
        serde_json::json!({
            "run_id": self.run.as_str(),
            "brood_version": env!("CARGO_PKG_VERSION"),
            "backend": if dist.aws.is_some() { "aws" } else { "local" },
            "started_ms": self.started_ms,
            "start_at_ms": outcome.start_at_ms,
            "ended_ms": ended_ms,
            "plan_hash": plan_hash(&settings.plan),
            "plan": settings.plan,
            "regions": dist.regions.iter().map(|r| serde_json::json!({
                "name": r.name, "weight": r.weight, "workers": r.workers,
            })).collect::<Vec<_>>(),
            "end": format!("{:?}", outcome.end),
            "workers": outcome.workers.iter().map(|w| serde_json::json!({
                "region": w.region, "slot": w.slot, "worker": w.worker,
                "end": format!("{:?}", w.end),
            })).collect::<Vec<_>>(),
            "verdicts": verdicts,
        })
    }

    /// The run's end, headline figures and note in the history.
    fn record(&self, outcome: &RunOutcome, ended_ms: u64) -> Result<(), Error> {
        let status = match &outcome.end {
            RunEnd::Completed => Status::Completed,
            RunEnd::Stopped => Status::Stopped,
            RunEnd::Aborted => Status::Aborted,
            RunEnd::Failed { .. } => Status::Failed,
        };
        let note = match &outcome.end {
            RunEnd::Failed { reason } => Some(reason.as_str()),
            _ => None,
        };
        let headline = Headline::of(self.coordinator.global());
        self.history
            .finish(self.run.as_str(), status, ended_ms, Some(&headline), note)?;
        Ok(())
    }
}

/// The run's signing key, queues, history record and coordinator.
async fn open(
    settings: &Settings,
    dist: &DistSettings,
    backend: &Backend,
    history: &History,
    run: &RunId,
    started_ms: u64,
) -> Result<(SigningKey, QueueName, PathBuf, Coordinator), Error> {
    recover(history, backend.store.as_ref(), &dist.results).await;
    let key = controller_key(&dist.results)?;
    let controller_queue = QueueName(format!("controller-{run}"));
    backend.transport.ensure_queue(&controller_queue).await?;
    for region in &dist.regions {
        Region::new(region.name.clone()).context("--regions")?;
        backend
            .transport
            .ensure_queue(&jobs_queue(&region.name))
            .await?;
    }
    let run_dir = dist.results.join("runs").join(run.as_str());
    history.start(&RunRecord {
        id: run.to_string(),
        started_ms,
        ended_ms: None,
        status: Status::Running,
        backend: backend.name.into(),
        regions: dist.regions.iter().map(|r| r.name.clone()).collect(),
        settings: serde_json::to_value(&settings.plan)?,
        results_dir: run_dir.display().to_string(),
        controller_pid: std::process::id(),
        headline: None,
        note: None,
    })?;
    let coordinator = Coordinator::new(coordinator_config(settings, dist, run), started_ms)?;
    Ok((key, controller_queue, run_dir, coordinator))
}

/// What writing a run's results found out.
struct Written {
    thresholds: Vec<ThresholdResult>,
    verdicts: Vec<String>,
    io_failed: bool,
}

/// The coordinator's settings for this run.
fn coordinator_config(settings: &Settings, dist: &DistSettings, run: &RunId) -> CoordinatorConfig {
    let plan = &settings.plan;
    let mut config = CoordinatorConfig::new(run.to_string(), dist.regions.clone());
    config.barrier_timeout = dist.barrier_timeout;
    config.start_with_fewer = dist.start_with_fewer;
    config.heartbeat_timeout = dist.heartbeat_timeout;
    config.start_delay = Duration::from_secs(2);
    config.stop_grace = plan.stop_timeout + Duration::from_secs(10);
    config.run_time = plan.run_time();
    config.full_history = settings.outputs.full_history;
    config
}

fn event_of(message: Message) -> Option<Event> {
    Some(match message {
        Message::Ready(r) => Event::Ready {
            worker: r.worker_id.to_string(),
            region: r.region.to_string(),
            slot: r.slot,
        },
        Message::Snapshot(s) => Event::Snapshot {
            worker: s.worker_id.to_string(),
            region: s.region.to_string(),
            seq: s.seq,
            stats: s.stats,
            health: s.health,
        },
        Message::Done(d) => Event::Done {
            worker: d.worker_id.to_string(),
            region: d.region.to_string(),
            final_seq: d.final_seq,
        },
        Message::Error(e) => Event::WorkerError {
            worker: e.worker_id.to_string(),
            region: e.region.to_string(),
            message: e.message,
        },
        Message::Heartbeat(h) => Event::Heartbeat {
            worker: h.worker_id.to_string(),
            region: h.region.to_string(),
        },
        Message::Job(_) | Message::Start(_) | Message::Stop(_) => return None,
    })
}

/// The controller's signing key, made on first use and kept private to the results folder.
fn controller_key(results: &Path) -> Result<SigningKey> {
    let path = results.join("controller.key");
    if path.exists() {
        return Ok(load_secret_key(&path)?);
    }
    let key = generate_signing_key()?;
    save_secret_key(&path, &key)?;
    Ok(key)
}

fn write_outputs(
    outputs: &crate::settings::Outputs,
    stats: &RunStats,
    info: &brood_report::RunInfo,
    results: &[ThresholdResult],
    elapsed: Duration,
    regions: &[(String, &RunStats)],
) -> Result<()> {
    let mut files = Files::create(outputs)?;
    files.finish(stats, stats.history(), info, results, elapsed, regions)
}

fn print_outcome(out: &mut impl std::io::Write, outcome: &RunOutcome, verdicts: &[String]) {
    let _ = writeln!(out, "\nWorkers:");
    for w in &outcome.workers {
        let name = w.worker.as_deref().unwrap_or("-");
        let end = match &w.end {
            WorkerEnd::Done {
                missing_snapshots: 0,
                ..
            } => "done".to_string(),
            WorkerEnd::Done {
                missing_snapshots, ..
            } => format!("done, {missing_snapshots} snapshots missing"),
            WorkerEnd::Lost { last_seq, .. } => {
                format!("LOST (data kept up to snapshot {})", last_seq.unwrap_or(0))
            }
            WorkerEnd::Errored { message } => format!("error: {message}"),
            WorkerEnd::NeverReady => "never ready".into(),
            WorkerEnd::NotStarted => "not started".into(),
        };
        let _ = writeln!(out, "  {:<10} {:<24} {end}", w.region, name);
    }
    for v in verdicts {
        let _ = writeln!(out, "  validity: {v}");
    }
}

/// How long after a run's planned end its workers may still be storing results once the
/// controller is gone: the workers' dead-man timeout (`--dead-man`, 30 s: they stop when the
/// controller's keep-alives do), then storing, with room for a slow store.
const RECOVERY_GRACE: Duration = Duration::from_secs(3 * 60);

/// Until when a run whose controller died may still get results from its workers: its planned
/// end (start, run time, stop timeout) plus [`RECOVERY_GRACE`]; the start alone plus the grace
/// for a run without a set run time (its workers stop by the dead-man timeout).
pub fn recovery_deadline_ms(run: &RunRecord) -> u64 {
    let planned = serde_json::from_value::<brood_plan::Plan>(run.settings.clone())
        .ok()
        .map(|plan| plan.run_time().unwrap_or_default() + plan.stop_timeout)
        .unwrap_or_default();
    run.started_ms + (planned + RECOVERY_GRACE).as_millis() as u64
}

/// Runs left `running` by a controller that died: merge what their workers stored and mark them
/// interrupted. A run none of whose workers has stored anything yet stays `running` with the
/// note "recovery pending" until its [`recovery_deadline_ms`], so that results stored later are
/// not recorded as "0 workers".
pub async fn recover(history: &History, store: &dyn ArtifactStore, results: &Path) {
    let alive = |pid: u32| Path::new(&format!("/proc/{pid}")).exists();
    let Ok(runs) = history.orphaned(alive) else {
        return;
    };
    for run in runs {
        let prefix = format!("runs/{}/", run.id);
        let keys = store.list(&prefix).await.unwrap_or_default();
        let mut merged = Snapshot::new(run.started_ms, run.started_ms);
        let mut workers = 0;
        for key in keys.iter().filter(|k| k.ends_with("/snapshot.bin")) {
            if let Ok(Some(bytes)) = store.get(key).await {
                if let Ok(s) = Snapshot::decode(&bytes) {
                    merged.merge(&s);
                    workers += 1;
                }
            }
        }
        let deadline = recovery_deadline_ms(&run);
        if workers == 0 && brood_engine::unix_ms_now() < deadline {
            let _ = history.note(
                &run.id,
                &format!(
                    "recovery pending: the controller stopped during the run and no worker has \
                     stored results yet; they are merged once stored, or the run is marked \
                     interrupted after {}",
                    brood_report::utc_timestamp(deadline / 1000)
                ),
            );
            continue;
        }
        let mut stats = RunStats::new(run.started_ms);
        stats.add(&merged);
        let note = format!(
            "the controller stopped during the run; merged the results of {workers} workers"
        );
        let dir = results.join("runs").join(&run.id);
        if workers > 0 && std::fs::create_dir_all(&dir).is_ok() {
            if let Ok(file) = std::fs::File::create(dir.join("recovered_stats.csv")) {
                let _ = write_stats_csv(file, &stats);
            }
        }
        let ended = merged.end_ms.max(run.started_ms);
        let _ = history.finish(
            &run.id,
            Status::Interrupted,
            ended,
            Some(&Headline::of(&stats)),
            Some(&note),
        );
        eprintln!("brood: run {} was interrupted; {note}", run.id);
    }
}
