//! The controller and its workers in one process, over the in-memory transport and store: a
//! two-region run against an in-process target, driven end to end by the coordinator's own
//! events. No sleeps and no time bounds: the run ends when the coordinator says so.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use brood_cluster::memory::{MemoryStore, MemoryTransport};
use brood_cluster::{
    BackendError, Coordinator, Fleet, FleetRequest, RunEnd, RunOutcome, WorkerEnd, WorkerState,
    WorkerStatus,
};
use brood_control::backend::Backend;
use brood_control::settings::dist_settings;
use brood_control::worker::{serve_on, WorkerBackend};
use brood_control::{Observer, Outcome, RunInput, Settings, WorkerInput};
use brood_protocol::{RunId, WorkerId};
use brood_target::{Target, TargetConfig};

/// Workers as threads of this process, each with its own runtime, over the shared memory
/// transport and store.
struct ThreadFleet {
    transport: Arc<MemoryTransport>,
    store: Arc<MemoryStore>,
    spool: std::path::PathBuf,
    threads: Mutex<Vec<std::thread::JoinHandle<Result<(), String>>>>,
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
        Ok(started)
    }

    async fn status(&self, _region: &str) -> Result<Vec<WorkerStatus>, BackendError> {
        Ok(Vec::new())
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
}

impl Observer for Recorder {
    fn started(&mut self, _run: &RunId, run_dir: &Path) {
        self.run_dir = Some(run_dir.to_path_buf());
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

#[test]
fn two_regions_of_in_process_workers_merge_what_the_target_saw() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let results = tempfile::tempdir().unwrap();
    let input = RunInput {
        url: Some(target.url("/")),
        users: Some("4".into()),
        spawn_rate: Some("100".into()),
        run_time: Some("2s".into()),
        // Requests in flight at the end finish and are counted.
        stop_timeout: Some("5s".into()),
        backend: Some("local".into()),
        regions: Some("mem-a,mem-b".into()),
        workers: Some("mem-a=2".into()),
        quiet: true,
        results: results.path().to_path_buf(),
        ..RunInput::default()
    };
    let settings = Settings::from_input(&input, None).unwrap();
    let dist = dist_settings(&input).unwrap();
    let transport = Arc::new(MemoryTransport::new());
    let store = Arc::new(MemoryStore::new());
    let fleet = Arc::new(ThreadFleet {
        transport: transport.clone(),
        store: store.clone(),
        spool: results.path().join("spool"),
        threads: Mutex::new(Vec::new()),
    });
    let backend = Backend::new("memory", transport, store.clone(), fleet.clone());
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
    assert_eq!(outcome, Outcome::Success, "{:?}", recorder.notes);
    let end = recorder.outcome.expect("the run finished");
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
    let run_dir = recorder.run_dir.unwrap();
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
    // Each worker stored its results in the store, then went idle and exited by itself.
    let stored = runtime
        .block_on(brood_cluster::ArtifactStore::list(&*store, "runs/"))
        .unwrap();
    for worker in ["mem-a-0", "mem-a-1", "mem-b-0"] {
        assert!(
            stored.iter().any(|k| k.contains(&format!("/{worker}/"))),
            "{worker} stored nothing: {stored:?}"
        );
    }
    for thread in fleet.threads.lock().unwrap().drain(..) {
        thread.join().unwrap().unwrap();
    }
    assert!(
        recorder.summary.contains("Aggregated"),
        "{}",
        recorder.summary
    );
}
