//! The controller and its workers in one process, over the in-memory transport and store: a
//! two-region run against an in-process target, driven end to end by the coordinator's own
//! events. No sleeps and no time bounds: the run ends when the coordinator says so.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use brood_cluster::memory::{MemoryStore, MemoryTransport};
use brood_cluster::{
    BackendError, Coordinator, Delivery, Fleet, FleetRequest, QueueName, RunEnd, RunOutcome,
    Transport, WorkerEnd, WorkerState, WorkerStatus,
};
use brood_control::backend::{Backend, SpendCap};
use brood_control::observer::Provisioning;
use brood_control::settings::dist_settings;
use brood_control::worker::{serve_on, WorkerBackend};
use brood_control::{DistSettings, Observer, Outcome, RunInput, Settings, WorkerInput};
use brood_protocol::{RunId, WorkerId};
use brood_target::{Target, TargetConfig};

/// Workers as threads of this process, each with its own runtime, over the shared memory
/// transport and store.
struct ThreadFleet {
    transport: Arc<dyn Transport>,
    store: Arc<MemoryStore>,
    spool: std::path::PathBuf,
    threads: Mutex<Vec<std::thread::JoinHandle<Result<(), String>>>>,
    /// Every worker started, by region.
    started: Mutex<Vec<WorkerStatus>>,
}

#[async_trait]
impl Fleet for ThreadFleet {
    async fn up(&self, request: &FleetRequest) -> Result<Vec<WorkerStatus>, BackendError> {
        let mut started = Vec::new();
        for n in 0..request.workers {
            let id = format!("{}-{n}", request.region);
            let input = WorkerInput {
                region: request.region.clone(),
                queue: request.jobs.0.clone(),
                controller_queue: request.controller.0.clone(),
                controller_key: request.controller_key.clone(),
                // Back to waiting for jobs once its run is done, then out soon after.
                idle_exit: "1s".into(),
                ..WorkerInput::default()
            };
            let backend = WorkerBackend {
                transport: self.transport.clone(),
                store: self.store.clone(),
                spool: self.spool.join(&id),
                worker_id: WorkerId::new(id.clone()).unwrap(),
            };
            let thread = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime
                    .block_on(serve_on(&input, backend))
                    .map_err(|e| format!("{e:#}"))
            });
            self.threads.lock().unwrap().push(thread);
            started.push(WorkerStatus {
                region: request.region.clone(),
                id,
                state: WorkerState::Running,
            });
        }
        self.started.lock().unwrap().extend(started.clone());
        Ok(started)
    }

    async fn status(&self, region: &str) -> Result<Vec<WorkerStatus>, BackendError> {
        let started = self.started.lock().unwrap();
        Ok(started
            .iter()
            .filter(|w| w.region == region)
            .cloned()
            .collect())
    }

    async fn down(&self, _region: &str) -> Result<(), BackendError> {
        Ok(())
    }
}

/// What the run told its observer.
#[derive(Default)]
struct Recorder {
    run_dir: Option<std::path::PathBuf>,
    notes: Vec<String>,
    summary: String,
    outcome: Option<RunOutcome>,
    merged_requests: u64,
    provisioning: Vec<Vec<Provisioning>>,
}

impl Observer for Recorder {
    fn started(&mut self, _run: &RunId, run_dir: &Path) {
        self.run_dir = Some(run_dir.to_path_buf());
    }
    fn provisioning(&mut self, regions: &[Provisioning]) {
        self.provisioning.push(regions.to_vec());
    }
    fn second(&mut self, _coordinator: &Coordinator, _second: u64) {}
    fn note(&mut self, text: &str) {
        self.notes.push(text.to_string());
    }
    fn summary(&mut self, text: &str) {
        self.summary.push_str(text);
    }
    fn finished(&mut self, coordinator: &Coordinator, outcome: &RunOutcome) {
        self.merged_requests = coordinator.global().aggregated().requests;
        self.outcome = Some(outcome.clone());
    }
}

/// A run of `input` with in-process workers over the memory backend; the recorder, the store
/// and the fleet afterwards, once every worker thread has exited by itself.
fn run_in_process(
    input: &RunInput,
    spend_cap: Option<SpendCap>,
) -> (Outcome, Recorder, Arc<MemoryStore>) {
    run_in_process_over(input, spend_cap, Arc::new(MemoryTransport::new()))
}

/// [`run_in_process`] over `transport` instead of a plain memory transport.
fn run_in_process_over(
    input: &RunInput,
    spend_cap: Option<SpendCap>,
    transport: Arc<dyn Transport>,
) -> (Outcome, Recorder, Arc<MemoryStore>) {
    let settings = Settings::from_input(input, None).unwrap();
    let dist = dist_settings(input).unwrap();
    let store = Arc::new(MemoryStore::new());
    let fleet = Arc::new(ThreadFleet {
        transport: transport.clone(),
        store: store.clone(),
        spool: input.results.join("spool"),
        threads: Mutex::new(Vec::new()),
        started: Mutex::new(Vec::new()),
    });
    let mut backend = Backend::new("memory", transport, store.clone(), fleet.clone());
    if let Some(cap) = spend_cap {
        backend = backend.with_spend_cap(cap);
    }
    let (outcome, recorder) = run_on(settings, dist, backend);
    for thread in fleet.threads.lock().unwrap().drain(..) {
        thread.join().unwrap().unwrap();
    }
    (outcome, recorder, store)
}

/// The controller over `backend`, on a runtime of its own, with a recording observer.
fn run_on(settings: Settings, dist: DistSettings, backend: Backend) -> (Outcome, Recorder) {
    let (_commands_tx, commands) = std::sync::mpsc::channel();
    let mut recorder = Recorder::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime.block_on(brood_control::distributed::run_on(
        settings,
        dist,
        backend,
        &mut recorder,
        commands,
    ));
    (outcome, recorder)
}

fn two_region_input(target: &Target, results: &Path, run_time: &str) -> RunInput {
    RunInput {
        url: Some(target.url("/")),
        users: Some("4".into()),
        spawn_rate: Some("100".into()),
        run_time: Some(run_time.into()),
        // Requests in flight at the end finish and are counted.
        stop_timeout: Some("5s".into()),
        backend: Some("local".into()),
        regions: Some("mem-a,mem-b".into()),
        workers: Some("mem-a=2".into()),
        quiet: true,
        results: results.to_path_buf(),
        ..RunInput::default()
    }
}

#[test]
fn two_regions_of_in_process_workers_merge_what_the_target_saw() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let results = tempfile::tempdir().unwrap();
    let input = two_region_input(&target, results.path(), "2s");
    let (outcome, recorder, store) = run_in_process(&input, None);
    assert_eq!(outcome, Outcome::Success, "{:?}", recorder.notes);
    let end = recorder.outcome.clone().expect("the run finished");
    assert_eq!(end.end, RunEnd::Completed, "{:?}", recorder.notes);
    assert_eq!(end.workers.len(), 3, "{:?}", end.workers);
    for w in &end.workers {
        assert!(
            matches!(
                w.end,
                WorkerEnd::Done {
                    missing_snapshots: 0,
                    ..
                }
            ),
            "{w:?}"
        );
    }
    // Every request the target answered was merged once, from both regions.
    assert!(recorder.merged_requests > 0);
    assert_eq!(recorder.merged_requests, target.requests());
    let run_dir = recorder.run_dir.clone().unwrap();
    let merged = std::fs::read_to_string(run_dir.join("merged_stats.csv")).unwrap();
    assert!(
        merged
            .lines()
            .last()
            .unwrap()
            .starts_with(&format!(",Aggregated,{},", target.requests())),
        "{merged}"
    );
    for region in ["mem-a", "mem-b"] {
        assert!(
            run_dir.join(region).join("region_stats.csv").exists(),
            "{region}"
        );
    }
    // Each worker stored its results in the store before it went idle and exited.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let stored = runtime
        .block_on(brood_cluster::ArtifactStore::list(&*store, "runs/"))
        .unwrap();
    for worker in ["mem-a-0", "mem-a-1", "mem-b-0"] {
        assert!(
            stored.iter().any(|k| k.contains(&format!("/{worker}/"))),
            "{worker} stored nothing: {stored:?}"
        );
    }
    assert!(
        recorder.summary.contains("Aggregated"),
        "{}",
        recorder.summary
    );
    // Workers on this machine share its clock: no offset worth a warning (the delay of the
    // first start message is not taken for one).
    assert!(
        !recorder.notes.iter().any(|n| n.contains("clock")) && !recorder.summary.contains("clock"),
        "{:?}\n{}",
        recorder.notes,
        recorder.summary
    );
    // The provisioning phase told the observer each region's fleet, ending with all in service.
    let last = recorder
        .provisioning
        .last()
        .expect("provisioning was observed");
    let counts: Vec<(&str, u32, u32)> = last
        .iter()
        .map(|r| (r.region.as_str(), r.requested, r.in_service))
        .collect();
    assert_eq!(counts, [("mem-a", 2, 2), ("mem-b", 1, 1)]);
}

/// A cloud run's spending is held to `--max-cost` while it runs: at $1 a second and a cap of
/// $3, a 10-minute run stops on its own, as stopped, with the reason said.
#[test]
fn a_run_stops_when_its_estimated_spending_reaches_the_cap() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let results = tempfile::tempdir().unwrap();
    let input = two_region_input(&target, results.path(), "10m");
    let cap = SpendCap {
        usd_per_hour: 3600.0,
        max_usd: 3.0,
    };
    let (_, recorder, _) = run_in_process(&input, Some(cap));
    let end = recorder.outcome.clone().expect("the run finished");
    assert_eq!(end.end, RunEnd::Stopped, "{:?}", recorder.notes);
    assert!(
        recorder
            .notes
            .iter()
            .any(|n| n.contains("reaching --max-cost $3.00: stopping the run")),
        "{:?}",
        recorder.notes
    );
    assert!(recorder.merged_requests > 0);
    assert_eq!(recorder.merged_requests, target.requests());
}

/// A fleet whose second region cannot launch, as AutoScaling reports a quota.
#[derive(Default)]
struct QuotaFleet {
    downs: Mutex<Vec<String>>,
}

#[async_trait]
impl Fleet for QuotaFleet {
    async fn up(&self, request: &FleetRequest) -> Result<Vec<WorkerStatus>, BackendError> {
        Ok(vec![WorkerStatus {
            region: request.region.clone(),
            id: format!("{}-0", request.region),
            state: WorkerState::Starting,
        }])
    }

    async fn status(&self, region: &str) -> Result<Vec<WorkerStatus>, BackendError> {
        let state = if region == "mem-b" {
            WorkerState::Failed {
                reason: "VcpuLimitExceeded: You have requested more vCPU capacity".into(),
            }
        } else {
            WorkerState::Starting
        };
        Ok(vec![WorkerStatus {
            region: region.into(),
            id: format!("{region}-0"),
            state,
        }])
    }

    async fn down(&self, region: &str) -> Result<(), BackendError> {
        self.downs.lock().unwrap().push(region.into());
        Ok(())
    }
}

#[test]
fn a_launch_the_backend_gives_up_on_ends_the_run_with_its_reason_and_every_region_down() {
    let results = tempfile::tempdir().unwrap();
    let input = RunInput {
        url: Some("http://127.0.0.1:9/".into()),
        run_time: Some("1m".into()),
        backend: Some("local".into()),
        regions: Some("mem-a,mem-b".into()),
        quiet: true,
        results: results.path().to_path_buf(),
        ..RunInput::default()
    };
    let settings = Settings::from_input(&input, None).unwrap();
    let dist = dist_settings(&input).unwrap();
    let fleet = Arc::new(QuotaFleet::default());
    let backend = Backend::new(
        "memory",
        Arc::new(MemoryTransport::new()),
        Arc::new(MemoryStore::new()),
        fleet.clone(),
    );
    let (outcome, recorder) = run_on(settings, dist, backend);
    assert_eq!(outcome, Outcome::Infrastructure);
    let last = recorder.notes.last().unwrap();
    assert!(
        last.contains("region mem-b") && last.contains("VcpuLimitExceeded"),
        "{:?}",
        recorder.notes
    );
    assert!(
        recorder
            .notes
            .iter()
            .any(|n| n.starts_with("provisioning mem-a: 1 requested")),
        "{:?}",
        recorder.notes
    );
    assert_eq!(*fleet.downs.lock().unwrap(), ["mem-a", "mem-b"]);
    let history = brood_history::History::open(&results.path().join("history.db")).unwrap();
    let runs = history.list(10).unwrap();
    assert_eq!(runs[0].status, brood_history::Status::Failed);
    assert!(runs[0]
        .note
        .as_deref()
        .unwrap()
        .contains("VcpuLimitExceeded"));
}

/// A plan too big for a message (a 450 KB feed) goes to the workers through the artifact store:
/// the run passes, every request the target answered is merged, the notes say why, and the
/// stored plan is gone once the run is over.
#[test]
fn a_feed_larger_than_a_message_reaches_the_workers_through_the_store() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let results = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rows = String::from("term\n");
    for n in 0..30_000 {
        rows.push_str(&format!("term-number-{n:08}\n"));
    }
    assert!(rows.len() > 400_000, "{}", rows.len());
    std::fs::write(dir.path().join("terms.csv"), rows).unwrap();
    let scenario = dir.path().join("big-feed.yaml");
    std::fs::write(
        &scenario,
        format!(
            "users:\n  - name: searcher\n    feeds:\n      - {{ file: terms.csv }}\n    tasks:\n      \
             - get: {}\n        query: {{ q: \"{{{{term}}}}\" }}\n",
            target.url("/")
        ),
    )
    .unwrap();
    let input = RunInput {
        url: None,
        scenario: Some(scenario),
        ..two_region_input(&target, results.path(), "2s")
    };
    let (outcome, recorder, store) = run_in_process(&input, None);
    assert_eq!(outcome, Outcome::Success, "{:?}", recorder.notes);
    assert!(
        recorder
            .notes
            .iter()
            .any(|n| n.contains("the workers read it from the artifact store")),
        "{:?}",
        recorder.notes
    );
    assert!(recorder.merged_requests > 0);
    assert_eq!(recorder.merged_requests, target.requests());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let left = runtime
        .block_on(brood_cluster::ArtifactStore::list(&*store, "spill/plans/"))
        .unwrap();
    assert!(left.is_empty(), "the stored plan was left behind: {left:?}");
}

/// The memory transport, whose controller queue breaks for good once it has delivered `after`
/// messages, as a queue database does when its file is damaged or its disk fills mid-run.
struct BreakingTransport {
    inner: MemoryTransport,
    after: usize,
    delivered: Mutex<usize>,
}

#[async_trait]
impl Transport for BreakingTransport {
    async fn ensure_queue(&self, queue: &QueueName) -> Result<(), BackendError> {
        self.inner.ensure_queue(queue).await
    }
    async fn send(&self, queue: &QueueName, body: &[u8]) -> Result<(), BackendError> {
        self.inner.send(queue, body).await
    }
    async fn receive(
        &self,
        queue: &QueueName,
        max: usize,
        wait: std::time::Duration,
        visibility: std::time::Duration,
    ) -> Result<Vec<Delivery>, BackendError> {
        let controller = queue.0.starts_with("controller-");
        if controller && *self.delivered.lock().unwrap() >= self.after {
            return Err(BackendError {
                operation: "receive",
                resource: queue.0.clone(),
                message: "file is not a database (the queue database /results/queue.db)".into(),
                transient: false,
            });
        }
        let got = self.inner.receive(queue, max, wait, visibility).await?;
        if controller {
            *self.delivered.lock().unwrap() += got.len();
        }
        Ok(got)
    }
    async fn ack(&self, queue: &QueueName, receipt: &str) -> Result<(), BackendError> {
        self.inner.ack(queue, receipt).await
    }
    async fn extend(
        &self,
        queue: &QueueName,
        receipt: &str,
        visibility: std::time::Duration,
    ) -> Result<(), BackendError> {
        self.inner.extend(queue, receipt, visibility).await
    }
    async fn delete_queue(&self, queue: &QueueName) -> Result<(), BackendError> {
        self.inner.delete_queue(queue).await
    }
}

/// Hardening item 10: a queue that breaks mid-run (a damaged queue database, a full disk) ends
/// the run as an infrastructure failure naming the database, with the figures merged until then
/// written (marked incomplete) and recorded, not lost.
#[test]
fn hardening_10_a_queue_that_breaks_mid_run_keeps_what_was_merged() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let results = tempfile::tempdir().unwrap();
    // Long enough that the queue breaks well before the end (three workers send a snapshot a
    // second), short enough that the workers, unheard, end by the run time.
    let input = two_region_input(&target, results.path(), "12s");
    let transport = Arc::new(BreakingTransport {
        inner: MemoryTransport::new(),
        // Ready messages and heartbeats, then a few seconds of snapshots from three workers.
        after: 30,
        delivered: Mutex::new(0),
    });
    let (outcome, recorder, _) = run_in_process_over(&input, None, transport);
    assert_eq!(outcome, Outcome::Infrastructure, "{:?}", recorder.notes);
    let said = recorder.notes.join("\n");
    assert!(said.contains("/results/queue.db"), "{said}");
    assert!(said.contains("marked incomplete"), "{said}");
    let run_dir = recorder.run_dir.clone().unwrap();
    let merged = std::fs::read_to_string(run_dir.join("merged_stats.csv")).unwrap();
    let requests: u64 = merged
        .lines()
        .last()
        .unwrap()
        .split(',')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert!(requests > 0, "{merged}");
    let manifest = std::fs::read_to_string(run_dir.join("manifest.json")).unwrap();
    assert!(manifest.contains("incomplete"), "{manifest}");
    let history = brood_history::History::open(&results.path().join("history.db")).unwrap();
    let run = &history.list(1).unwrap()[0];
    assert_eq!(run.status, brood_history::Status::Failed);
    assert_eq!(run.headline.as_ref().unwrap().requests, requests);
}
