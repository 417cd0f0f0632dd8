//! The web's observer of a distributed run: every second it turns the coordinator's merged,
//! per-region and per-worker figures into the web's [`LiveState`] and publishes it on a watch
//! channel that the live view, the event stream and `/metrics` read.

use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use brood_cluster::{Coordinator, RunEnd, RunOutcome, WorkerPhase};
use brood_protocol::RunId;
use brood_stats::RunStats;
use brood_web::model::{
    EntryRow, ExceptionRow, FailureRow, Latency, LiveState, Note, Point, ProvisionRow, View,
    WorkerRow,
};
use tokio::sync::watch;

use crate::observer::{Observer, Provisioning};

/// Notes kept for the page, newest last.
const NOTES_KEPT: usize = 200;

/// What the controller thread tells the server once the run has an id.
pub struct Started {
    pub run: String,
    pub run_dir: PathBuf,
    pub live: watch::Receiver<Arc<LiveState>>,
}

/// Builds and publishes the live state of one run.
pub struct WebObserver {
    state: LiveState,
    tx: Option<watch::Sender<Arc<LiveState>>>,
    started: Option<SyncSender<Started>>,
    /// Cumulative dropped arrivals at the last point, for all regions then each region.
    dropped: Vec<u64>,
    /// The last note, which explains a run that never got an id.
    pub last_note: Option<String>,
}

impl WebObserver {
    pub fn new(started: SyncSender<Started>, run_time: Option<std::time::Duration>) -> WebObserver {
        WebObserver {
            state: LiveState {
                state: "starting".into(),
                run_time_s: run_time.map(|d| d.as_secs()),
                ..LiveState::default()
            },
            tx: None,
            started: Some(started),
            dropped: Vec::new(),
            last_note: None,
        }
    }

    fn publish(&self) {
        if let Some(tx) = &self.tx {
            tx.send_replace(Arc::new(self.state.clone()));
        }
    }

    /// Marks a run that ended without `finished` (the controller failed) as failed.
    pub fn fail_unless_finished(&mut self) {
        if self.state.end.is_none() {
            self.state.state = "finished".into();
            self.state.end = Some(format!(
                "failed: {}",
                self.last_note
                    .as_deref()
                    .unwrap_or("the controller stopped")
            ));
            self.publish();
        }
    }

    fn refresh(&mut self, coordinator: &Coordinator) {
        let now_ms = brood_engine::unix_ms_now();
        self.state.start_at_ms = coordinator.start_at_ms();
        if self.state.start_at_ms.is_some() && self.state.state == "starting" {
            self.state.state = "running".into();
        }
        let regions: Vec<String> = coordinator
            .config()
            .regions
            .iter()
            .map(|r| r.name.clone())
            .collect();
        self.dropped.resize(regions.len() + 1, 0);
        update_view(
            &mut self.state.all,
            "all",
            coordinator.global(),
            &mut self.dropped[0],
            now_ms,
        );
        self.state.regions.resize_with(regions.len(), View::default);
        for (i, name) in regions.iter().enumerate() {
            if let Some(stats) = coordinator.region(name) {
                update_view(
                    &mut self.state.regions[i],
                    name,
                    stats,
                    &mut self.dropped[i + 1],
                    now_ms,
                );
            }
        }
        self.state.workers = coordinator
            .workers()
            .map(|w| WorkerRow {
                worker: w.worker.clone(),
                region: w.region.clone(),
                state: phase(w.phase).into(),
                last_heartbeat_ms: w.last_seen_ms,
                cpu_percent: w.health.map(|h| h.cpu_percent),
                users: w.users,
                requests: w.requests,
                failures: w.failures,
            })
            .collect();
        self.state
            .workers
            .sort_by(|a, b| (&a.region, &a.worker).cmp(&(&b.region, &b.worker)));
        let totals = coordinator.global().totals();
        let mut failures: Vec<FailureRow> = totals
            .failures
            .iter()
            .map(|(k, f)| FailureRow {
                method: k.method.clone(),
                name: k.name.clone(),
                error: k.error.clone(),
                occurrences: f.occurrences,
            })
            .collect();
        failures.sort_by_key(|f| std::cmp::Reverse(f.occurrences));
        self.state.failures = failures;
        self.state.exceptions = totals
            .exceptions
            .iter()
            .map(|(message, e)| ExceptionRow {
                count: e.count,
                message: message.clone(),
                traceback: e.traceback.clone(),
                nodes: e.nodes.iter().cloned().collect(),
            })
            .collect();
        self.state.verdicts = coordinator
            .verdicts()
            .into_iter()
            .map(|v| v.message)
            .collect();
    }
}

fn phase(p: WorkerPhase) -> &'static str {
    match p {
        WorkerPhase::Ready => "ready",
        WorkerPhase::Running => "running",
        WorkerPhase::Finishing => "finishing",
        WorkerPhase::Done => "done",
        WorkerPhase::Lost => "lost",
        WorkerPhase::Errored => "errored",
        WorkerPhase::NotStarted => "not started",
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Appends the seconds `stats` has ticked since the last call and rebuilds the table.
fn update_view(view: &mut View, name: &str, stats: &RunStats, dropped: &mut u64, now_ms: u64) {
    view.name = name.to_string();
    let last_t = view.series.last().map(|p| p.t);
    let total_dropped = stats.totals().dropped_arrivals;
    let mut first_new = true;
    for row in stats.history().iter().filter(|r| r.entry.is_none()) {
        if last_t.is_some_and(|t| row.timestamp_s <= t) {
            continue;
        }
        let pct = |i: usize| row.window_percentiles_us.map(|p| ms(p[i]));
        view.series.push(Point {
            t: row.timestamp_s,
            rps: row.current.rps,
            fps: row.current.fps,
            p50_ms: pct(0),
            p95_ms: pct(5),
            p99_ms: pct(7),
            users: row.users,
            // Drops since the last point land on the first new second.
            dropped: if first_new {
                total_dropped.saturating_sub(*dropped)
            } else {
                0
            },
        });
        first_new = false;
    }
    if !first_new {
        *dropped = total_dropped;
    }
    let row = |method: &str,
               entry_name: &str,
               e: &brood_stats::EntryStats,
               current: brood_stats::Rates| {
        let some = e.requests > 0;
        let at = |p: f64| some.then(|| ms(e.hist.value_at_percentile(p)));
        EntryRow {
            method: method.to_string(),
            name: entry_name.to_string(),
            requests: e.requests,
            failures: e.failures,
            median_ms: at(50.0),
            p95_ms: at(95.0),
            p99_ms: at(99.0),
            avg_ms: some.then(|| e.avg_us() / 1000.0),
            min_ms: some.then(|| ms(e.min_us)),
            max_ms: some.then(|| ms(e.max_us)),
            avg_size: e.avg_content_bytes(),
            current_rps: current.rps,
            current_fps: current.fps,
            latency: Latency::of(&e.hist),
        }
    };
    let mut table: Vec<EntryRow> = stats
        .totals()
        .entries
        .iter()
        .map(|(n, e)| row(&n.method, &n.name, e, stats.current_entry(n, now_ms)))
        .collect();
    table.sort_by(|a, b| (&a.name, &a.method).cmp(&(&b.name, &b.method)));
    table.push(row(
        "",
        "Aggregated",
        stats.aggregated(),
        stats.current(now_ms),
    ));
    view.table = table;
}

impl Observer for WebObserver {
    fn started(&mut self, run: &RunId, run_dir: &Path) {
        self.state.run_id = run.to_string();
        self.state.started_ms = brood_engine::unix_ms_now();
        let (tx, rx) = watch::channel(Arc::new(self.state.clone()));
        self.tx = Some(tx);
        if let Some(started) = self.started.take() {
            let _ = started.send(Started {
                run: run.to_string(),
                run_dir: run_dir.to_path_buf(),
                live: rx,
            });
        }
    }

    fn provisioning(&mut self, regions: &[Provisioning]) {
        let rows: Vec<ProvisionRow> = regions
            .iter()
            .map(|r| ProvisionRow {
                region: r.region.clone(),
                requested: r.requested,
                starting: r.starting,
                in_service: r.in_service,
                exited: r.exited,
            })
            .collect();
        if rows != self.state.provisioning {
            self.state.provisioning = rows;
            self.publish();
        }
    }

    fn second(&mut self, coordinator: &Coordinator, _second: u64) {
        self.refresh(coordinator);
        self.publish();
    }

    fn note(&mut self, text: &str) {
        self.last_note = Some(text.to_string());
        self.state.notes.push(Note {
            at_ms: brood_engine::unix_ms_now(),
            text: text.to_string(),
        });
        let extra = self.state.notes.len().saturating_sub(NOTES_KEPT);
        self.state.notes.drain(..extra);
        self.publish();
    }

    fn stopping(&mut self, abort: bool) {
        self.state.state = "stopping".into();
        self.note(if abort {
            "aborting: running requests are cut off"
        } else {
            "stopping: running tasks may finish"
        });
    }

    fn summary(&mut self, _text: &str) {}

    fn finished(&mut self, coordinator: &Coordinator, outcome: &RunOutcome) {
        self.refresh(coordinator);
        self.state.state = "finished".into();
        self.state.end = Some(match &outcome.end {
            RunEnd::Completed => "completed".into(),
            RunEnd::Stopped => "stopped".into(),
            RunEnd::Aborted => "aborted".into(),
            RunEnd::Failed { reason } => format!("failed: {reason}"),
        });
        self.publish();
    }
}
