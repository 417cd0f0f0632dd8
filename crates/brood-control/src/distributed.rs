//! `brood run --backend local --regions …`: the controller. It signs one job per worker slot, brings
//! the fleet up, feeds what workers send to the coordinator state machine, carries out its actions,
//! and writes the merged and per-region results, the manifest and the run history.
//!
//! The controller reports to an [`Observer`] (the console for `brood run`, the web UI's live state
//! under `brood serve`) and takes [`Command`]s (stop, abort) from a channel that Ctrl-C or the web
//! feeds, so the same loop runs in the foreground or inside the server.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use brood_cluster::{
    split_regions, Action, ArtifactStore, Coordinator, CoordinatorConfig, Event, FleetRequest,
    QueueName, RunEnd, RunOutcome, Transport, WorkerEnd,
};
use brood_history::{Headline, History, RunRecord, Status};
use brood_plan::Plan;
use brood_protocol::{
    decode, encode, generate_signing_key, load_secret_key, new_nonce, plan_hash, public_key_to_hex,
    save_secret_key, Job, Message, Region, RunId, SigningKey, Start, Stop,
};
use brood_report::{evaluate, write_stats_csv, write_summary_table, ThresholdResult};
use brood_stats::{RunStats, Snapshot};

use crate::backend::Backend;
use crate::console::{print_thresholds, Console, Live};
use crate::error::Error;
use crate::observer::{Command, Observer};
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

/// `brood run --backend …` in the foreground: the console observes and Ctrl-C stops.
pub fn run(settings: Settings, dist: DistSettings) -> Outcome {
    let (tx, commands) = std::sync::mpsc::channel();
    let pressed = std::sync::atomic::AtomicUsize::new(0);
    let _ = ctrlc::set_handler(move || {
        let first = pressed.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
        let _ = tx.send(if first { Command::Stop } else { Command::Abort });
    });
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
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
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

struct Controller {
    run: RunId,
    key: SigningKey,
    transport: Arc<dyn Transport>,
    /// Workers told to start, for stops and keep-alives.
    started: Vec<String>,
    /// Workers whose control queue this controller created (on their first `Ready`): workers
    /// only read their control queue, so that their role needs no grant to create or delete
    /// queues. Deleted when the run ends.
    control_queues: std::collections::BTreeSet<String>,
    start_at: Option<u64>,
    last_keep_alive: Instant,
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
    mut dist: DistSettings,
    backend: Option<Backend>,
    observer: &mut dyn Observer,
    commands: &Receiver<Command>,
) -> Result<Outcome, Error> {
    std::fs::create_dir_all(&dist.results).map_err(Error::file("cannot create", &dist.results))?;
    let history = History::open(&dist.results.join("history.db"))?;
    let started_ms = brood_engine::unix_ms_now();
    let run = RunId::new(crate::record::run_id(started_ms))?;
    let backend = match backend {
        Some(backend) => backend,
        None => Backend::build(&settings, &mut dist, &run).await?,
    };
    let transport = backend.transport.clone();
    recover(&history, backend.store.as_ref(), &dist.results).await;
    let key = controller_key(&dist.results)?;
    let plan = settings.plan.clone();
    let controller_queue = QueueName(format!("controller-{run}"));
    transport.ensure_queue(&controller_queue).await?;
    for region in &dist.regions {
        Region::new(region.name.clone()).context("--regions")?;
        transport.ensure_queue(&jobs_queue(&region.name)).await?;
    }
    let run_dir = dist.results.join("runs").join(run.as_str());
    history.start(&RunRecord {
        id: run.to_string(),
        started_ms,
        ended_ms: None,
        status: Status::Running,
        backend: backend.name.into(),
        regions: dist.regions.iter().map(|r| r.name.clone()).collect(),
        settings: serde_json::to_value(&plan)?,
        results_dir: run_dir.display().to_string(),
        controller_pid: std::process::id(),
        headline: None,
        note: None,
    })?;
    observer.started(&run, &run_dir);
    let mut config = CoordinatorConfig::new(run.to_string(), dist.regions.clone());
    config.barrier_timeout = dist.barrier_timeout;
    config.start_with_fewer = dist.start_with_fewer;
    config.heartbeat_timeout = dist.heartbeat_timeout;
    config.start_delay = Duration::from_secs(2);
    config.stop_grace = plan.stop_timeout + Duration::from_secs(10);
    config.run_time = plan.run_time();
    config.full_history = settings.outputs.full_history;
    let mut coordinator = Coordinator::new(config, started_ms)?;
    send_jobs(&*transport, &key, &run, &plan, &dist, &controller_queue).await?;
    let mut actions = coordinator.handle(Event::JobsSent, brood_engine::unix_ms_now());
    let fleet = backend.fleet.clone();
    for region in &dist.regions {
        fleet
            .up(&FleetRequest {
                region: region.name.clone(),
                workers: region.workers,
                jobs: jobs_queue(&region.name),
                controller: controller_queue.clone(),
                controller_key: public_key_to_hex(&key.verifying_key()),
            })
            .await?;
    }
    let mut ctl = Controller {
        run: run.clone(),
        key,
        transport: transport.clone(),
        started: Vec::new(),
        control_queues: std::collections::BTreeSet::new(),
        start_at: None,
        last_keep_alive: Instant::now(),
    };
    let outcome = drive(
        &settings,
        &mut coordinator,
        &mut ctl,
        &controller_queue,
        &mut actions,
        observer,
        commands,
    )
    .await;
    for region in &dist.regions {
        let _ = fleet.down(&region.name).await;
    }
    for worker in ctl.started.iter().chain(&ctl.control_queues) {
        let _ = transport
            .delete_queue(&control_queue(run.as_str(), worker))
            .await;
    }
    let _ = transport.delete_queue(&controller_queue).await;
    let outcome = outcome?;
    match backend.download(&run, &run_dir).await {
        Ok(0) => {}
        Ok(n) => observer.note(&format!(
            "downloaded {n} result files of the workers into {}",
            run_dir.display()
        )),
        Err(e) => observer.note(&format!("downloading the workers' results: {e:#}")),
    }
    Ok(finish(
        &settings,
        &dist,
        &coordinator,
        &outcome,
        &run,
        &run_dir,
        &history,
        started_ms,
        observer,
    )?)
}

/// Feeds the coordinator until it finishes, reporting progress every second and taking commands.
#[allow(clippy::too_many_arguments)]
async fn drive(
    settings: &Settings,
    coordinator: &mut Coordinator,
    ctl: &mut Controller,
    controller_queue: &QueueName,
    pending: &mut Vec<Action>,
    observer: &mut dyn Observer,
    commands: &Receiver<Command>,
) -> Result<RunOutcome> {
    let mut commands_open = true;
    let mut last_view = Instant::now();
    let mut second = 0u64;
    let mut aborted = false;
    loop {
        for action in std::mem::take(pending) {
            if let Some(outcome) = act(ctl, observer, action).await? {
                return Ok(outcome);
            }
        }
        let deliveries = match ctl
            .transport
            .receive(controller_queue, 50, POLL, Duration::from_secs(30))
            .await
        {
            Ok(deliveries) => deliveries,
            // A throttled or briefly unreachable queue is not the end of a run: the heartbeat
            // timeout decides whether workers were lost meanwhile.
            Err(e) if e.transient => {
                observer.note(&format!("{e} (retrying)"));
                tokio::time::sleep(POLL).await;
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        };
        let now = brood_engine::unix_ms_now();
        // Acknowledgements go out side by side, off the loop: with many workers, one round trip
        // per message in turn would fall behind the snapshots arriving.
        for d in &deliveries {
            let transport = ctl.transport.clone();
            let queue = controller_queue.clone();
            let receipt = d.receipt.clone();
            tokio::spawn(async move {
                let _ = transport.ack(&queue, &receipt).await;
            });
        }
        let messages: Vec<_> = deliveries
            .iter()
            .map(|d| decode(&d.body).map(|m| m.into_message()))
            .collect();
        create_control_queues(ctl, &messages, observer).await;
        for message in messages {
            match message {
                Ok(message) if message.run_id() == &ctl.run => {
                    if let Some(event) = event_of(message) {
                        pending.extend(coordinator.handle(event, now));
                    }
                }
                Ok(_) => {}
                Err(e) => observer.note(&format!("ignored a malformed message: {e}")),
            }
        }
        pending.extend(coordinator.handle(Event::Tick, brood_engine::unix_ms_now()));
        while commands_open {
            let command = match commands.try_recv() {
                Ok(command) => command,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    commands_open = false;
                    break;
                }
            };
            observer.stopping(command == Command::Abort);
            let event = match command {
                Command::Stop => Event::StopRequested,
                Command::Abort => Event::AbortRequested,
            };
            pending.extend(coordinator.handle(event, brood_engine::unix_ms_now()));
        }
        if last_view.elapsed() >= Duration::from_secs(1) {
            last_view = Instant::now();
            second += 1;
            observer.second(coordinator, second);
            let stats = coordinator.global();
            if !aborted && ctl.start_at.is_some() {
                if let Some(failed) = crate::verdict::failed_abort_threshold(&settings.plan, stats)
                {
                    observer.note(&format!("threshold `{failed}` failed: stopping the run"));
                    aborted = true;
                    pending.extend(
                        coordinator.handle(Event::StopRequested, brood_engine::unix_ms_now()),
                    );
                }
            }
        }
        if ctl.start_at.is_some() && ctl.last_keep_alive.elapsed() >= KEEP_ALIVE_EVERY {
            keep_alive(ctl).await;
        }
    }
}

/// Creates the control queue of each worker that is ready for the first time, side by side,
/// before the coordinator hears of it (and so before any start is sent there).
async fn create_control_queues<E>(
    ctl: &mut Controller,
    messages: &[std::result::Result<Message, E>],
    observer: &mut dyn Observer,
) {
    let new: std::collections::BTreeSet<String> = messages
        .iter()
        .filter_map(|m| match m {
            Ok(Message::Ready(r)) if r.run_id == ctl.run => Some(r.worker_id.to_string()),
            _ => None,
        })
        .filter(|w| !ctl.control_queues.contains(w))
        .collect();
    let created: Vec<_> = new
        .into_iter()
        .map(|worker| {
            let transport = ctl.transport.clone();
            let queue = control_queue(ctl.run.as_str(), &worker);
            let task = tokio::spawn(async move { transport.ensure_queue(&queue).await });
            (worker, task)
        })
        .collect();
    for (worker, task) in created {
        match task.await {
            Ok(Ok(())) => {
                ctl.control_queues.insert(worker);
            }
            // Tried again on the worker's next ready message (it repeats them until started).
            Ok(Err(e)) => observer.note(&format!("control queue of {worker}: {e}")),
            Err(e) => observer.note(&format!("control queue of {worker}: {e}")),
        }
    }
}

async fn act(
    ctl: &mut Controller,
    observer: &mut dyn Observer,
    action: Action,
) -> Result<Option<RunOutcome>> {
    match action {
        Action::SendStart { at_ms, workers } => {
            ctl.start_at = Some(at_ms);
            ctl.started = workers;
            keep_alive(ctl).await;
        }
        Action::SendStop { abort } => {
            for worker in ctl.started.clone() {
                let stop = Message::Stop(Stop {
                    run_id: ctl.run.clone(),
                    abort,
                    issued_ms: brood_engine::unix_ms_now(),
                    expires_ms: brood_engine::unix_ms_now() + MESSAGE_VALIDITY.as_millis() as u64,
                    nonce: new_nonce()?,
                });
                send_signed(ctl, &worker, &stop).await;
            }
        }
        Action::WorkerLost { worker, region, .. } => observer.note(&format!(
            "worker {worker} in {region} went silent: marked lost, its data kept"
        )),
        Action::Log(line) => observer.note(&line),
        Action::Finished(outcome) => return Ok(Some(outcome)),
    }
    Ok(None)
}

/// (Re-)sends the start to every started worker: the first tells them when to start, the others
/// tell them the controller is alive (their dead-man switch).
async fn keep_alive(ctl: &mut Controller) {
    let Some(at) = ctl.start_at else { return };
    ctl.last_keep_alive = Instant::now();
    for worker in ctl.started.clone() {
        let Ok(nonce) = new_nonce() else { continue };
        let now = brood_engine::unix_ms_now();
        let start = Message::Start(Start {
            run_id: ctl.run.clone(),
            at_unix_ms: at,
            workers: ctl.started.len() as u32,
            issued_ms: now,
            expires_ms: now + MESSAGE_VALIDITY.as_millis() as u64,
            nonce,
        });
        send_signed(ctl, &worker, &start).await;
    }
}

async fn send_signed(ctl: &mut Controller, worker: &str, message: &Message) {
    let queue = control_queue(ctl.run.as_str(), worker);
    // Its creation on the worker's ready message failed: one more try before sending.
    if !ctl.control_queues.contains(worker) {
        match ctl.transport.ensure_queue(&queue).await {
            Ok(()) => {
                ctl.control_queues.insert(worker.to_string());
            }
            Err(e) => eprintln!("brood: control queue of {worker}: {e}"),
        }
    }
    match encode(message, Some(&ctl.key)) {
        Ok(bytes) => {
            if let Err(e) = ctl.transport.send(&queue, &bytes).await {
                eprintln!("brood: sending to {worker}: {e}");
            }
        }
        Err(e) => eprintln!("brood: encoding for {worker}: {e}"),
    }
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
            health: brood_cluster::Health {
                cpu_percent: s.health.cpu_percent,
                sched_lag_ms: s.health.sched_lag_ms,
                dropped_arrivals: s.health.dropped_arrivals,
                clock_offset_ms: s.health.clock_offset_ms,
            },
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

async fn send_jobs(
    transport: &dyn Transport,
    key: &SigningKey,
    run: &RunId,
    plan: &Plan,
    dist: &DistSettings,
    controller_queue: &QueueName,
) -> Result<()> {
    let hash = plan_hash(plan);
    for slot in split_regions(&dist.regions)? {
        let region = dist
            .regions
            .iter()
            .find(|r| r.name == slot.region)
            .ok_or_else(|| anyhow!("region {} vanished", slot.region))?;
        let now = brood_engine::unix_ms_now();
        let job = Job {
            run_id: run.clone(),
            region: Region::new(slot.region.clone())?,
            slot: slot.slot,
            workers_in_region: region.workers,
            segment: slot.segment,
            plan: plan.clone(),
            plan_hash: hash.clone(),
            controller_queue: controller_queue.0.clone(),
            issued_ms: now,
            expires_ms: now + (dist.barrier_timeout + MESSAGE_VALIDITY).as_millis() as u64,
            nonce: new_nonce()?,
            barrier_timeout_ms: dist.barrier_timeout.as_millis() as u64,
            heartbeat_ms: 1000,
        };
        let bytes = encode(&Message::Job(Box::new(job)), Some(key))?;
        transport.send(&jobs_queue(&slot.region), &bytes).await?;
    }
    Ok(())
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

/// Writes the merged results, the per-region breakdown and the manifest; records the run.
#[allow(clippy::too_many_arguments)]
fn finish(
    settings: &Settings,
    dist: &DistSettings,
    coordinator: &Coordinator,
    outcome: &RunOutcome,
    run: &RunId,
    run_dir: &Path,
    history: &History,
    started_ms: u64,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let ended_ms = brood_engine::unix_ms_now();
    let stats = coordinator.global();
    let results = evaluate(&settings.plan.thresholds, stats);
    let mut info = run_info(settings, stats, started_ms, ended_ms);
    info.run_id = run.to_string();
    info.regions = dist.regions.iter().map(|r| r.name.clone()).collect();
    info.workers = outcome
        .workers
        .iter()
        .filter(|w| w.worker.is_some())
        .count() as u64;
    // Rates count from the common start, not from the controller's own start-up.
    let since = outcome.start_at_ms.unwrap_or(started_ms);
    let elapsed = Duration::from_millis(ended_ms.saturating_sub(since));
    std::fs::create_dir_all(run_dir)?;
    let regions: Vec<(String, &RunStats)> = dist
        .regions
        .iter()
        .filter_map(|r| coordinator.region(&r.name).map(|s| (r.name.clone(), s)))
        .collect();
    let mut merged = crate::settings::Outputs {
        csv_prefix: Some(run_dir.join("merged").display().to_string()),
        full_history: settings.outputs.full_history,
        json: Some(run_dir.join("summary.json")),
        junit: None,
        html: Some(run_dir.join("report.html")),
    };
    let mut io_failed = write_outputs(&merged, stats, &info, &results, elapsed, &regions).is_err();
    io_failed |=
        write_outputs(&settings.outputs, stats, &info, &results, elapsed, &regions).is_err();
    for (name, region_stats) in &regions {
        let dir = run_dir.join(name);
        std::fs::create_dir_all(&dir)?;
        merged.csv_prefix = Some(dir.join("region").display().to_string());
        merged.json = None;
        merged.html = None;
        io_failed |= write_outputs(&merged, region_stats, &info, &results, elapsed, &[]).is_err();
    }
    let verdicts: Vec<String> = coordinator
        .verdicts()
        .into_iter()
        .map(|v| v.message)
        .collect();
    let manifest = serde_json::json!({
        "run_id": run.as_str(),
        "brood_version": env!("CARGO_PKG_VERSION"),
        "backend": if dist.aws.is_some() { "aws" } else { "local" },
        "started_ms": started_ms,
        "start_at_ms": outcome.start_at_ms,
        "ended_ms": ended_ms,
        "plan_hash": plan_hash(&settings.plan),
        "plan": settings.plan,
        "regions": dist.regions.iter().map(|r| serde_json::json!({
            "name": r.name, "weight": r.weight, "workers": r.workers,
        })).collect::<Vec<_>>(),
        "end": format!("{:?}", outcome.end),
        "workers": outcome.workers.iter().map(|w| serde_json::json!({
            "region": w.region, "slot": w.slot, "worker": w.worker, "end": format!("{:?}", w.end),
        })).collect::<Vec<_>>(),
        "verdicts": verdicts,
    });
    std::fs::write(
        run_dir.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    let mut out = Vec::new();
    let _ = write_summary_table(&mut out, stats.totals(), elapsed);
    print_outcome(&mut out, outcome, &verdicts);
    print_thresholds(&mut out, &results);
    let _ = writeln!(out, "results: {}", run_dir.display());
    observer.summary(&String::from_utf8_lossy(&out));
    let status = match &outcome.end {
        RunEnd::Completed => Status::Completed,
        RunEnd::Stopped => Status::Stopped,
        RunEnd::Aborted => Status::Aborted,
        RunEnd::Failed { .. } => Status::Failed,
    };
    let note = match &outcome.end {
        RunEnd::Failed { reason } => Some(reason.clone()),
        _ => None,
    };
    history.finish(
        run.as_str(),
        status,
        ended_ms,
        Some(&headline(stats)),
        note.as_deref(),
    )?;
    observer.finished(coordinator, outcome);
    if let RunEnd::Failed { reason } = &outcome.end {
        eprintln!("brood: the run failed: {reason}");
        return Ok(Outcome::Infrastructure);
    }
    Ok(decide(
        stats,
        &results,
        io_failed,
        settings.exit_code_on_error,
    ))
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

fn headline(stats: &RunStats) -> Headline {
    let a = stats.aggregated();
    let ms = |p: f64| a.hist.value_at_percentile(p) as f64 / 1000.0;
    Headline {
        requests: a.requests,
        failures: a.failures,
        rps: brood_stats::per_second(a.requests, stats.rate_secs()),
        p50_ms: ms(50.0),
        p95_ms: ms(95.0),
        p99_ms: ms(99.0),
    }
}

/// Runs left `running` by a controller that died: merge what their workers stored and mark them.
pub async fn recover(history: &History, store: &dyn ArtifactStore, results: &Path) {
    let alive = |pid: u32| Path::new(&format!("/proc/{pid}")).exists();
    let Ok(runs) = history.recover(alive) else {
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
            Some(&headline(&stats)),
            Some(&note),
        );
        eprintln!("brood: run {} was interrupted; {note}", run.id);
    }
}
