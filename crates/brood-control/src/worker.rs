//! `brood worker`: takes signed jobs from its region's queue, runs its share of the load with the
//! engine, streams stats back every second, stores its results, and only then acknowledges the job.
//!
//! The worker trusts nothing it did not verify: a job must be signed by the controller's key, fresh,
//! not replayed, and its plan must match its hash. A job signed by another key belongs to another
//! controller's run and is left in the queue for that run's workers; only a job no controller
//! could use (unsigned, expired, malformed) is deleted. It exits by itself when it has had no job for
//! `--idle-exit`, and stops a run when the controller has been silent for `--dead-man`.

use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use brood_cluster::{ArtifactStore, Delivery, QueueName, Transport};
use brood_engine::{EngineConfig, StartAt};
use brood_protocol::{
    decode, encode, public_key_from_hex, read_stored_plan, stored_plan_key, Control, Done,
    ErrorReport, Health, Heartbeat, Job, Message, Ready, Region, Rejection, RunId, SnapshotReport,
    Verifier, WorkerId,
};
use brood_report::{write_exceptions_csv, write_failures_csv, write_stats_csv, StatsHistoryWriter};
use brood_stats::{RunStats, Snapshot};

use crate::input::WorkerInput;
use crate::observer::Command;
use crate::outcome::Outcome;
use crate::queues::control_queue;

/// How long a taken job stays hidden from other workers; extended while the worker holds it.
const JOB_VISIBILITY: Duration = Duration::from_secs(60);
const EXTEND_EVERY: Duration = Duration::from_secs(20);
/// How often a control queue that is not there yet is looked for again.
const CONTROL_RETRY: Duration = Duration::from_millis(100);
/// How soon a job signed by another controller is visible again in its queue after this worker
/// left it there.
const FOREIGN_JOB_RETURNS: Duration = Duration::from_secs(5);
/// Attempts to store results before they stay spooled on local disk.
const STORE_ATTEMPTS: u32 = 5;

pub fn worker(args: &WorkerInput) -> Outcome {
    let runtime = match crate::process::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("brood worker: {e}");
            return Outcome::Infrastructure;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => Outcome::Success,
        Err(e) => {
            eprintln!("brood worker: {e:#}");
            Outcome::Infrastructure
        }
    }
}

/// One worker: what it was given, the backend it talks to, and whom it trusts.
struct Worker<'a> {
    args: &'a WorkerInput,
    transport: Arc<dyn Transport>,
    store: Arc<dyn ArtifactStore>,
    /// Where results wait when the store stays unavailable.
    spool: PathBuf,
    verifier: Verifier,
    worker_id: WorkerId,
    region: Region,
    /// SIGTERM and Ctrl-C, for a worker that is its own process: the run in progress stops and
    /// its results are stored before the worker exits.
    interrupts: Option<Receiver<Command>>,
    /// Interrupted: leave after the current job.
    leaving: bool,
}

impl Worker<'_> {
    /// Runs one verified job to its end; the job is acknowledged once results are stored.
    async fn run_job(
        &mut self,
        queue: &QueueName,
        delivery: &Delivery,
        mut job: Job,
    ) -> Result<()> {
        self.fetch_plan(&mut job).await?;
        let run = job.run_id.clone();
        let control = control_queue(run.as_str(), self.worker_id.as_str());
        let controller = QueueName(job.controller_queue.clone());
        // The controller creates the control queue when this worker's ready message arrives (and
        // deletes it when the run ends): a worker only reads it, so its role cannot create, drain or
        // delete any queue. Until then, reading it fails and is tried again.
        self.send(
            &controller,
            &Message::Ready(Ready {
                run_id: run.clone(),
                region: self.region.clone(),
                worker_id: self.worker_id.clone(),
                slot: job.slot,
                host: hostname(),
                clock_ms: brood_engine::unix_ms_now(),
            }),
        )
        .await?;
        let mut extended = Instant::now();
        let barrier = Duration::from_millis(job.barrier_timeout_ms) + Duration::from_secs(30);
        let waited = Instant::now();
        let start = loop {
            if waited.elapsed() > barrier {
                let _ = self.transport.ack(queue, &delivery.receipt).await;
                return Err(anyhow!("run {run}: no start within {barrier:?}"));
            }
            if extended.elapsed() > EXTEND_EVERY {
                let _ = self
                    .transport
                    .extend(queue, &delivery.receipt, JOB_VISIBILITY)
                    .await;
                extended = Instant::now();
            }
            self.heartbeat(&controller, &run).await;
            match self
                .next_control(&control, &run, Duration::from_secs(1))
                .await
            {
                Some(Control::Start(s)) => break s,
                Some(Control::Stop(_)) => {
                    let _ = self.transport.ack(queue, &delivery.receipt).await;
                    return Ok(());
                }
                // Not started yet: the job goes back to its queue for another worker.
                None if self.interrupted().is_some() => return Ok(()),
                None => {}
            }
        };
        let offset_ms = brood_engine::unix_ms_now() as i64 - start.issued_ms as i64;
        let assignment = Assignment {
            job: &job,
            control: &control,
            controller: &controller,
            queue,
            delivery,
        };
        let stats = self.drive(&assignment, start.at_unix_ms, offset_ms).await?;
        let prefix = format!("runs/{}/{}/{}", run, self.region, self.worker_id);
        self.store_results(&prefix, &stats.0, &stats.1).await;
        self.send(
            &controller,
            &Message::Done(Done {
                run_id: run.clone(),
                region: self.region.clone(),
                worker_id: self.worker_id.clone(),
                artifacts_prefix: prefix,
                final_seq: stats.2,
            }),
        )
        .await?;
        self.transport.ack(queue, &delivery.receipt).await?;
        Ok(())
    }

    /// The job's plan, when it did not travel in the job: read from the artifact store and
    /// accepted only if it hashes to the job's signed `plan_hash`.
    async fn fetch_plan(&self, job: &mut Job) -> Result<()> {
        if job.plan.is_some() {
            return Ok(());
        }
        let key = stored_plan_key(&job.run_id, &job.plan_hash);
        let bytes = self
            .store
            .get(&key)
            .await
            .with_context(|| format!("reading the run's plan at {key}"))?
            .ok_or_else(|| anyhow!("the run's plan is not in the artifact store at {key}"))?;
        let plan = read_stored_plan(&bytes, &job.plan_hash).map_err(|r| anyhow!("{r}"))?;
        job.plan = Some(plan);
        Ok(())
    }

    /// Runs the engine from the common start, sending a snapshot every second and obeying stops.
    /// Returns the worker's own stats, its history rows' CSV, and its last snapshot seq.
    async fn drive(
        &mut self,
        assignment: &Assignment<'_>,
        at_unix_ms: u64,
        mut offset_ms: i64,
    ) -> Result<(RunStats, Vec<u8>, u64)> {
        let Assignment {
            job,
            control,
            controller,
            queue,
            delivery,
        } = *assignment;
        let now = brood_engine::unix_ms_now();
        let start = StartAt {
            instant: Instant::now() + Duration::from_millis(at_unix_ms.saturating_sub(now)),
            unix_ms: at_unix_ms,
        };
        let config = EngineConfig {
            node: self.worker_id.to_string(),
            added_latency: Duration::from_millis(self.args.added_latency_ms()),
            ..EngineConfig::default()
        };
        let plan = job.plan.clone().context("the job's plan was not read")?;
        let (engine, deltas) = brood_engine::start(Arc::new(plan), job.segment, &config, start)
            .context("starting the engine")?;
        let mut stats = RunStats::new(at_unix_ms);
        let mut history = StatsHistoryWriter::new(Vec::new())?;
        let mut seq = 0u64;
        let mut cpu = CpuClock::new();
        let mut last_heard = Instant::now();
        let dead_man = crate::settings::duration_flag(&self.args.dead_man, "--dead-man")?;
        let mut extended = Instant::now();
        let mut finished = false;
        while !finished {
            let mut window = Snapshot::new(0, 0);
            let mut got = false;
            let tick = Instant::now() + Duration::from_secs(1);
            while Instant::now() < tick {
                match deltas.try_recv() {
                    Ok(delta) => {
                        window.merge(&delta);
                        got = true;
                        continue;
                    }
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                        finished = true;
                        break;
                    }
                    Err(std::sync::mpsc::TryRecvError::Empty) => {}
                }
                // Wait for control messages until the tick: on SQS, whose long polls are whole
                // seconds, that is about one call a second instead of ten.
                let until_tick = tick
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(10));
                match self.next_control(control, &job.run_id, until_tick).await {
                    Some(Control::Stop(stop)) => {
                        if stop.abort {
                            engine.abort();
                        } else {
                            engine.stop();
                        }
                        last_heard = Instant::now();
                    }
                    Some(Control::Start(start)) => {
                        last_heard = Instant::now();
                        // Each keep-alive is a fresh sample of delay plus clock offset; delays are
                        // never negative, so the smallest sample is the best estimate.
                        let sample = brood_engine::unix_ms_now() as i64 - start.issued_ms as i64;
                        offset_ms = offset_ms.min(sample);
                    }
                    None => {}
                }
            }
            match self.interrupted() {
                Some(Command::Stop) => {
                    eprintln!(
                        "brood worker {}: interrupted; stopping the run and storing its results",
                        self.worker_id
                    );
                    engine.stop();
                }
                Some(Command::Abort) => engine.abort(),
                None => {}
            }
            if last_heard.elapsed() > dead_man {
                eprintln!(
                    "brood worker {}: the controller is silent; stopping",
                    self.worker_id
                );
                engine.stop();
                last_heard = Instant::now();
            }
            if extended.elapsed() > EXTEND_EVERY {
                let _ = self
                    .transport
                    .extend(queue, &delivery.receipt, JOB_VISIBILITY)
                    .await;
                extended = Instant::now();
            }
            if got {
                window.users = engine.users();
                stats.add(&window);
                stats.set_users(engine.users());
                let rows = stats.tick(brood_engine::unix_ms_now()).to_vec();
                history.write_rows(&rows)?;
                seq += 1;
                let report = SnapshotReport {
                    run_id: job.run_id.clone(),
                    region: self.region.clone(),
                    worker_id: self.worker_id.clone(),
                    seq,
                    health: Health {
                        cpu_percent: cpu.percent(),
                        sched_lag_ms: engine.take_sched_lag().as_secs_f32() * 1000.0,
                        dropped_arrivals: window.dropped_arrivals,
                        clock_offset_ms: offset_ms,
                    },
                    stats: window,
                    sent_ms: brood_engine::unix_ms_now(),
                };
                if let Err(e) = self
                    .send(controller, &Message::Snapshot(Box::new(report)))
                    .await
                {
                    eprintln!(
                        "brood worker {}: snapshot {seq} not sent: {e:#}",
                        self.worker_id
                    );
                }
            } else {
                self.heartbeat(controller, &job.run_id).await;
            }
        }
        engine.join();
        let history = history.into_inner()?;
        Ok((stats, history, seq))
    }

    /// Writes the worker's Locust CSVs and raw histograms; retries, and keeps a local spool copy
    /// when the store stays unavailable.
    async fn store_results(&self, prefix: &str, stats: &RunStats, history: &[u8]) {
        let mut files: Vec<(&str, Vec<u8>)> = vec![("stats_history.csv", history.to_vec())];
        let mut add =
            |name, write: &dyn Fn(&mut Vec<u8>) -> Result<(), brood_report::ReportError>| {
                let mut buf = Vec::new();
                if write(&mut buf).is_ok() {
                    files.push((name, buf));
                }
            };
        add("stats.csv", &|w| write_stats_csv(w, stats));
        add("failures.csv", &|w| write_failures_csv(w, stats));
        add("exceptions.csv", &|w| write_exceptions_csv(w, stats));
        files.push(("snapshot.bin", stats.totals().encode()));
        for (name, bytes) in &files {
            let key = format!("{prefix}/{name}");
            let mut stored = false;
            for attempt in 0..STORE_ATTEMPTS {
                match self.store.put(&key, bytes).await {
                    Ok(()) => {
                        stored = true;
                        break;
                    }
                    Err(e) => {
                        eprintln!("brood worker {}: storing {key}: {e}", self.worker_id);
                        tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                    }
                }
            }
            if !stored {
                let spool = self.spool.join(&key);
                if let Some(parent) = spool.parent() {
                    let _ = std::fs::create_dir_all(parent);
                }
                match std::fs::write(&spool, bytes) {
                    Ok(()) => eprintln!("brood worker: kept {key} in {}", spool.display()),
                    Err(e) => eprintln!("brood worker: cannot spool {key}: {e}"),
                }
            }
        }
    }

    async fn next_control(
        &mut self,
        control: &QueueName,
        run: &RunId,
        wait: Duration,
    ) -> Option<Control> {
        let deliveries = match self
            .transport
            .receive(control, 10, wait, Duration::from_secs(30))
            .await
        {
            Ok(deliveries) => deliveries,
            Err(_) => {
                // Not created yet (the controller creates it on this worker's ready message) or
                // briefly unavailable: tried again within the wait, so that a start sent the
                // moment it exists is read at once, and callers polling in a loop do not spin.
                let deadline = Instant::now() + wait.max(Duration::from_millis(200));
                loop {
                    tokio::time::sleep(CONTROL_RETRY.min(deadline - Instant::now())).await;
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    if let Ok(d) = self
                        .transport
                        .receive(control, 10, left, Duration::from_secs(30))
                        .await
                    {
                        break d;
                    }
                }
            }
        };
        let mut found = None;
        for d in deliveries {
            let _ = self.transport.ack(control, &d.receipt).await;
            let verified = decode(&d.body).map_err(|e| e.to_string()).and_then(|m| {
                self.verifier
                    .verify_control(&m, brood_engine::unix_ms_now())
                    .map_err(|r| r.to_string())
            });
            match verified {
                Ok(c) if control_run(&c) == run => {
                    // A stop wins over a repeated start in the same batch.
                    if found.is_none() || matches!(c, Control::Stop(_)) {
                        found = Some(c);
                    }
                }
                Ok(_) => eprintln!(
                    "brood worker {}: ignored a control message for another run",
                    self.worker_id
                ),
                Err(reason) => eprintln!(
                    "brood worker {}: rejected a control message: {reason}",
                    self.worker_id
                ),
            }
        }
        found
    }

    async fn heartbeat(&self, controller: &QueueName, run: &RunId) {
        let beat = Message::Heartbeat(Heartbeat {
            run_id: run.clone(),
            region: self.region.clone(),
            worker_id: self.worker_id.clone(),
            sent_ms: brood_engine::unix_ms_now(),
        });
        let _ = self.send(controller, &beat).await;
    }

    async fn send(&self, queue: &QueueName, message: &Message) -> Result<()> {
        let bytes = encode(message, None)?;
        self.transport.send(queue, &bytes).await?;
        Ok(())
    }

    /// Reports an error the worker cannot get past to the controller.
    async fn report_error(&self, controller: &QueueName, run: &RunId, message: &str) {
        let report = ErrorReport::new(
            run.clone(),
            self.region.clone(),
            self.worker_id.clone(),
            message,
        );
        let _ = self.send(controller, &Message::Error(report)).await;
    }

    /// A signal since the last look, if any; after one the worker leaves once its job is done.
    fn interrupted(&mut self) -> Option<Command> {
        let command = self.interrupts.as_ref()?.try_recv().ok()?;
        self.leaving = true;
        Some(command)
    }
}

/// The queues, the store and the spool folder a worker uses, and its id.
pub struct WorkerBackend {
    pub transport: Arc<dyn Transport>,
    pub store: Arc<dyn ArtifactStore>,
    /// Where results wait when the store stays unavailable.
    pub spool: PathBuf,
    pub worker_id: WorkerId,
}

impl std::fmt::Debug for WorkerBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerBackend")
            .field("worker_id", &self.worker_id)
            .field("spool", &self.spool)
            .finish_non_exhaustive()
    }
}

async fn backend(args: &WorkerInput) -> Result<WorkerBackend> {
    match args.backend.as_str() {
        "local" => {
            let dir = args
                .dir
                .clone()
                .ok_or_else(|| anyhow!("--dir: required with --backend local"))?;
            Ok(WorkerBackend {
                transport: Arc::new(
                    brood_local::SqliteTransport::open_in(&dir).context("opening the queues")?,
                ),
                store: Arc::new(brood_local::DirStore::new(dir.clone())),
                spool: args.spool.clone().unwrap_or_else(|| dir.join("spool")),
                worker_id: WorkerId::new(format!("{}-{}", args.region, std::process::id()))
                    .context("worker id")?,
            })
        }
        "aws" => aws_backend(args).await,
        other => Err(anyhow!(
            "--backend: unknown backend {other:?} (known: local, aws)"
        )),
    }
}

/// SQS queues and the S3 bucket of a deployment, on the standard credential chain.
async fn aws_backend(args: &WorkerInput) -> Result<WorkerBackend> {
    brood_aws::check_region(&args.region).context("--region")?;
    let home = args
        .home_region
        .clone()
        .unwrap_or_else(|| args.region.clone());
    brood_aws::check_region(&home).context("--home-region")?;
    brood_aws::check_deployment_name(&args.deployment).context("--deployment")?;
    let expected = format!("{}{}", brood_aws::JOBS_PREFIX, args.region);
    if args.queue != expected {
        return Err(anyhow!(
            "--queue: {:?} is not this region's jobs queue; with --backend aws it is {expected:?}",
            args.queue
        ));
    }
    let config = brood_aws::sdk_config(&home, None).await;
    let account = brood_aws::account_id(&config)
        .await
        .context("AWS credentials (from the standard chain: instance profile, environment)")?;
    let deployment = brood_aws::Deployment {
        name: args.deployment.clone(),
        home_region: home,
        account,
    };
    let bucket = args
        .bucket
        .clone()
        .unwrap_or_else(|| deployment.default_bucket());
    let store = brood_aws::S3Store::new(&config, &bucket);
    let transport = brood_aws::SqsTransport::new(&config, deployment, store.clone());
    // Instances of a region may share process ids; a random suffix keeps workers apart.
    let suffix: u32 = rand::random();
    Ok(WorkerBackend {
        transport: Arc::new(transport),
        store: Arc::new(store),
        spool: args
            .spool
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("brood-spool")),
        worker_id: WorkerId::new(format!("{}-{suffix:08x}", args.region)).context("worker id")?,
    })
}

async fn serve(args: &WorkerInput) -> Result<()> {
    let backend = backend(args).await?;
    serve_with(args, backend, Some(crate::process::interrupts())).await
}

/// Takes and runs jobs from `args.queue` over `backend` until idle for `--idle-exit`.
pub async fn serve_on(args: &WorkerInput, backend: WorkerBackend) -> Result<()> {
    serve_with(args, backend, None).await
}

async fn serve_with(
    args: &WorkerInput,
    backend: WorkerBackend,
    interrupts: Option<Receiver<Command>>,
) -> Result<()> {
    let key = public_key_from_hex(&args.controller_key).context("--controller-key")?;
    let region = Region::new(args.region.clone()).context("--region")?;
    let mut ctx = Worker {
        args,
        transport: backend.transport,
        store: backend.store,
        spool: backend.spool,
        verifier: Verifier::new(key),
        worker_id: backend.worker_id,
        region,
        interrupts,
        leaving: false,
    };
    let queue = QueueName(args.queue.clone());
    let idle_exit = crate::settings::duration_flag(&args.idle_exit, "--idle-exit")?;
    let mut idle_since = Instant::now();
    // Jobs of other controllers seen already: reported once each.
    let mut foreign = std::collections::HashSet::new();
    eprintln!(
        "brood worker {}: waiting for jobs on {}",
        ctx.worker_id, queue.0
    );
    loop {
        if ctx.interrupted().is_some() || ctx.leaving {
            eprintln!("brood worker {}: interrupted, exiting", ctx.worker_id);
            return Ok(());
        }
        if idle_since.elapsed() >= idle_exit {
            eprintln!(
                "brood worker {}: no job for {idle_exit:?}, exiting",
                ctx.worker_id
            );
            return Ok(());
        }
        let received = ctx
            .transport
            .receive(&queue, 1, Duration::from_secs(2), JOB_VISIBILITY)
            .await;
        let deliveries = match received {
            Ok(d) => d,
            Err(e) => {
                eprintln!("brood worker {}: {e}", ctx.worker_id);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for delivery in deliveries {
            let job = decode(&delivery.body)
                .map_err(|e| (false, e.to_string()))
                .and_then(|d| {
                    ctx.verifier
                        .verify_job(&d, brood_engine::unix_ms_now())
                        .map_err(|r| (matches!(r, Rejection::BadSignature { .. }), r.to_string()))
                });
            match job {
                // Signed with another key: the job of another controller's run. It is not ours to
                // delete: it goes back to the queue shortly, for the workers of the run it belongs
                // to (a few seconds rather than at once, so that this worker does not take it
                // again and again, each time counting towards the dead-letter queue's limit).
                Err((true, reason)) => {
                    if foreign.insert(fingerprint(&delivery.body)) {
                        eprintln!(
                            "brood worker {}: rejected a job: {reason}; left in {} for its own \
                             controller's workers",
                            ctx.worker_id, queue.0
                        );
                    }
                    let _ = ctx
                        .transport
                        .extend(&queue, &delivery.receipt, FOREIGN_JOB_RETURNS)
                        .await;
                }
                Err((false, reason)) => {
                    // A bad job is never retried: it would be rejected the same way forever.
                    eprintln!("brood worker {}: rejected a job: {reason}", ctx.worker_id);
                    let _ = ctx.transport.ack(&queue, &delivery.receipt).await;
                }
                Ok(job) => {
                    let (run, controller) =
                        (job.run_id.clone(), QueueName(job.controller_queue.clone()));
                    if let Err(e) = ctx.run_job(&queue, &delivery, job).await {
                        let message = format!("{e:#}");
                        eprintln!("brood worker {}: {message}", ctx.worker_id);
                        // The controller hears of it at once instead of by a heartbeat timeout.
                        ctx.report_error(&controller, &run, &message).await;
                    }
                    idle_since = Instant::now();
                }
            }
        }
    }
}

/// The job a worker runs, where it came from, and the queues of its run.
struct Assignment<'a> {
    job: &'a Job,
    /// This worker's control queue in the run.
    control: &'a QueueName,
    controller: &'a QueueName,
    /// The jobs queue the job was taken from, and its delivery (kept hidden while it runs).
    queue: &'a QueueName,
    delivery: &'a Delivery,
}

/// A message's body, condensed to tell repeated deliveries of one message apart from others.
fn fingerprint(body: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    h.finish()
}

fn control_run(c: &Control) -> &RunId {
    match c {
        Control::Start(s) => &s.run_id,
        Control::Stop(s) => &s.run_id,
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// The process's CPU use between calls, from /proc (Linux), as a percentage of the cores.
struct CpuClock {
    last_ticks: u64,
    last: Instant,
}

impl CpuClock {
    fn new() -> CpuClock {
        CpuClock {
            last_ticks: cpu_ticks(),
            last: Instant::now(),
        }
    }

    fn percent(&mut self) -> f32 {
        let ticks = cpu_ticks();
        let wall = self.last.elapsed().as_secs_f32();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f32;
        let used = ticks.saturating_sub(self.last_ticks) as f32 / 100.0;
        (self.last_ticks, self.last) = (ticks, Instant::now());
        if wall <= 0.0 {
            0.0
        } else {
            (used / wall / cores * 100.0).min(100.0)
        }
    }
}

/// utime + stime of this process in clock ticks (USER_HZ, 100 on Linux).
fn cpu_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    // The command name may hold spaces; fields are counted after its closing parenthesis.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}
