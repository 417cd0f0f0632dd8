//! The controller handle behind `brood serve`: starts distributed runs on a thread of their own
//! (one at a time), forwards stops, keeps their live states, and reads the run history and run
//! folders for the history pages and downloads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brood_history::{History, RunRecord};
use brood_web::model::{
    Artifact, BackendInfo, FieldError, LiveState, Preview, RunDetail, RunRequest, RunSummary,
    StartError, UiConfig,
};
use brood_web::{ControllerHandle, StopError};
use tokio::sync::watch;

use super::form;
use super::observe::WebObserver;
use crate::observer::Command;

/// Live states kept for runs started by this server (the newest ones).
const LIVE_KEPT: usize = 20;
/// How long `start` waits for the controller to give the run an id.
const START_WAIT: Duration = Duration::from_secs(30);
/// The form each web run was started from, in its folder.
const REQUEST_FILE: &str = "request.json";

struct Running {
    id: String,
    commands: Sender<Command>,
    thread: std::thread::JoinHandle<()>,
}

#[derive(Default)]
struct Inner {
    running: Option<Running>,
    live: BTreeMap<String, watch::Receiver<Arc<LiveState>>>,
    order: Vec<String>,
}

/// Runs on the local backend, results under one folder.
pub struct ServeHandle {
    results: PathBuf,
    /// Where feed files of submitted scenarios are read from; `<results>/scenarios` when `None`.
    data: Option<PathBuf>,
    demo: Option<String>,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for ServeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeHandle")
            .field("results", &self.results)
            .finish_non_exhaustive()
    }
}

impl ServeHandle {
    /// `demo` is the base URL of an embedded demo target the form starts aimed at.
    pub fn new(results: PathBuf, data: Option<PathBuf>, demo: Option<String>) -> ServeHandle {
        ServeHandle {
            results,
            data,
            demo,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run_dir(&self, id: &str) -> PathBuf {
        self.results.join("runs").join(id)
    }

    fn history(&self) -> Result<Option<History>, String> {
        let path = self.results.join("history.db");
        if !path.exists() {
            return Ok(None);
        }
        History::open(&path).map(Some).map_err(|e| e.to_string())
    }

    /// Asks a running run to stop and waits up to `wait` for it to end (at shutdown).
    pub fn stop_and_wait(&self, wait: Duration) {
        let running = self.inner().running.take();
        if let Some(running) = running {
            let _ = running.commands.send(Command::Stop);
            let deadline = std::time::Instant::now() + wait;
            while !running.thread.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            if !running.thread.is_finished() {
                let _ = running.commands.send(Command::Abort);
                std::thread::sleep(Duration::from_secs(2));
            }
        }
    }

    /// What a run started elsewhere (`brood run`) loaded, from its JSON summary.
    fn described_by_summary(&self, id: &str) -> Option<String> {
        let bytes = std::fs::read(self.run_dir(id).join("summary.json")).ok()?;
        let summary: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let run = &summary["run"];
        let mut parts = vec![run["scenario"]
            .as_str()
            .or(run["target"].as_str())?
            .to_string()];
        parts.extend(run["model"][0].as_str().map(str::to_string));
        Some(parts.join(", "))
    }

    fn summary(&self, record: &RunRecord) -> RunSummary {
        let description = match self.request_of(&record.id) {
            Some(r) => describe(&r),
            None => self.described_by_summary(&record.id).unwrap_or_default(),
        };
        RunSummary {
            id: record.id.clone(),
            started_ms: record.started_ms,
            ended_ms: record.ended_ms,
            status: record.status.as_str().into(),
            backend: record.backend.clone(),
            regions: record.regions.clone(),
            description,
            headline: record.headline.clone(),
            note: record.note.clone(),
        }
    }
}

/// A run's form in a line: what it loaded and how hard.
fn describe(r: &RunRequest) -> String {
    let what = if r.scenario.trim().is_empty() {
        format!("GET {}", r.url.trim())
    } else {
        "scenario".to_string()
    };
    let load = match r.shape.as_str() {
        "stages" => format!("stages {}", r.stages.trim()),
        "arrival" => format!("{}/s arrivals", r.arrival_rate.trim()),
        _ if r.users.trim().is_empty() => String::new(),
        _ => format!("{} users", r.users.trim()),
    };
    [what, load, r.run_time.trim().to_string()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

fn label(name: &str) -> String {
    let (scope, file) = match name.split_once('/') {
        Some((region, file)) => (format!("{region}: "), file),
        None => (String::new(), name),
    };
    let what = match file {
        "summary.json" => "JSON summary".to_string(),
        "report.html" => "HTML report".to_string(),
        "manifest.json" => "manifest".to_string(),
        f => f.trim_end_matches(".csv").replace('_', " ") + " CSV",
    };
    format!("{scope}{what}")
}

impl ServeHandle {
    /// `local` always; `aws` when this machine has an AWS configuration to run it with.
    fn backends(&self) -> Vec<BackendInfo> {
        let mut backends = vec![BackendInfo {
            name: "local".into(),
            label: "local (worker processes on this machine)".into(),
            regions: "local-a,local-b".into(),
        }];
        if aws_configured() {
            backends.push(BackendInfo {
                name: "aws".into(),
                label: "aws (AutoScaling groups of workers per region)".into(),
                regions: "us-east-1,eu-west-1".into(),
            });
        }
        backends
    }
}

/// Whether the standard AWS configuration chain has something to start from: credentials or a
/// profile in the environment, an endpoint override, or the shared config files.
fn aws_configured() -> bool {
    const VARS: [&str; 4] = [
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ];
    if VARS.iter().any(|v| std::env::var_os(v).is_some()) {
        return true;
    }
    std::env::var_os("HOME").is_some_and(|home| {
        let aws = std::path::Path::new(&home).join(".aws");
        aws.join("config").exists() || aws.join("credentials").exists()
    })
}

impl ControllerHandle for ServeHandle {
    fn config(&self) -> UiConfig {
        let defaults = RunRequest {
            url: self
                .demo
                .as_ref()
                .map_or(String::new(), |d| format!("{d}/shop/")),
            host: self.demo.clone().unwrap_or_default(),
            scenario_format: "yaml".into(),
            shape: "closed".into(),
            users: "20".into(),
            spawn_rate: "10".into(),
            run_time: "60s".into(),
            backend: "local".into(),
            regions: "local-a,local-b".into(),
            workers: "1".into(),
            region_latency: if self.demo.is_some() {
                "local-b:40ms".into()
            } else {
                String::new()
            },
            max_users: "100".into(),
            ..RunRequest::default()
        };
        UiConfig {
            version: env!("CARGO_PKG_VERSION").into(),
            backends: self.backends(),
            defaults,
            demo_target: self.demo.clone(),
        }
    }

    fn preview(&self, request: &RunRequest) -> Result<Preview, Vec<FieldError>> {
        let checked = form::check(request, &self.results, self.data.as_deref())?;
        if let Some(path) = &checked.scenario_file {
            let _ = std::fs::remove_file(path);
        }
        form::preview(&checked)
    }

    fn start(&self, request: RunRequest) -> Result<String, StartError> {
        let mut inner = self.inner();
        if let Some(running) = &inner.running {
            if !running.thread.is_finished() {
                return Err(StartError::Busy(running.id.clone()));
            }
        }
        let checked = form::check(&request, &self.results, self.data.as_deref())
            .map_err(StartError::Invalid)?;
        let (commands, rx) = std::sync::mpsc::channel();
        let (started_tx, started_rx) = std::sync::mpsc::sync_channel(1);
        let (error_tx, error_rx) = std::sync::mpsc::channel::<String>();
        let run_time = checked.settings.plan.run_time();
        let thread = std::thread::Builder::new()
            .name("brood-controller".into())
            .spawn(move || {
                let mut observer = WebObserver::new(started_tx, run_time);
                crate::distributed::run_observed(checked.settings, checked.dist, &mut observer, rx);
                observer.fail_unless_finished();
                if let Some(note) = observer.last_note.take() {
                    let _ = error_tx.send(note);
                }
            })
            .map_err(|e| StartError::Internal(format!("cannot start the controller: {e}")))?;
        let started = match started_rx.recv_timeout(START_WAIT) {
            Ok(started) => started,
            Err(_) => {
                let why = error_rx
                    .recv_timeout(Duration::from_secs(1))
                    .unwrap_or_else(|_| "the controller did not start".into());
                return Err(StartError::Internal(why));
            }
        };
        let _ = std::fs::create_dir_all(&started.run_dir);
        if let Ok(json) = serde_json::to_vec_pretty(&request) {
            let _ = std::fs::write(started.run_dir.join(REQUEST_FILE), json);
        }
        inner.live.insert(started.run.clone(), started.live);
        inner.order.push(started.run.clone());
        while inner.order.len() > LIVE_KEPT {
            let old = inner.order.remove(0);
            inner.live.remove(&old);
        }
        inner.running = Some(Running {
            id: started.run.clone(),
            commands,
            thread,
        });
        Ok(started.run)
    }

    fn stop(&self, run_id: &str, abort: bool) -> Result<(), StopError> {
        let inner = self.inner();
        match &inner.running {
            Some(r) if r.id == run_id && !r.thread.is_finished() => {
                let _ = r
                    .commands
                    .send(if abort { Command::Abort } else { Command::Stop });
                Ok(())
            }
            _ => Err(StopError::NotRunning(run_id.to_string())),
        }
    }

    fn latest(&self) -> Option<String> {
        self.inner().order.last().cloned()
    }

    fn live(&self, run_id: &str) -> Option<watch::Receiver<Arc<LiveState>>> {
        self.inner().live.get(run_id).cloned()
    }

    fn runs(&self, limit: usize) -> Result<Vec<RunSummary>, String> {
        let Some(history) = self.history()? else {
            return Ok(Vec::new());
        };
        let records = history.list(limit).map_err(|e| e.to_string())?;
        Ok(records.iter().map(|r| self.summary(r)).collect())
    }

    fn run(&self, run_id: &str) -> Result<Option<RunDetail>, String> {
        let Some(history) = self.history()? else {
            return Ok(None);
        };
        let Some(record) = history.get(run_id).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        Ok(Some(RunDetail {
            run: self.summary(&record),
            settings: record.settings.clone(),
            artifacts: self.artifacts(run_id),
            live: self.inner().live.contains_key(run_id),
            rerunnable: self.run_dir(run_id).join(REQUEST_FILE).exists(),
        }))
    }

    fn request_of(&self, run_id: &str) -> Option<RunRequest> {
        let bytes = std::fs::read(self.run_dir(run_id).join(REQUEST_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn artifacts(&self, run_id: &str) -> Vec<Artifact> {
        let dir = self.run_dir(run_id);
        let mut found = Vec::new();
        collect(&dir, "", &mut found);
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let mut regions: Vec<_> = entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            regions.sort();
            for region in regions {
                collect(&dir.join(&region), &format!("{region}/"), &mut found);
            }
        }
        found
    }
}

/// The result files directly in `dir`, named with `prefix`.
fn collect(dir: &Path, prefix: &str, out: &mut Vec<Artifact>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<_> = entries
        .flatten()
        .filter(|e| e.path().is_file())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let wanted =
                (name.ends_with(".csv") || name.ends_with(".json") || name.ends_with(".html"))
                    && name != REQUEST_FILE;
            wanted.then(|| (name, e.path(), e.metadata().map_or(0, |m| m.len())))
        })
        .collect();
    files.sort();
    for (name, path, bytes) in files {
        let name = format!("{prefix}{name}");
        out.push(Artifact {
            label: label(&name),
            name,
            bytes,
            path,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_started_elsewhere_are_described_by_their_summary() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("runs").join("r2");
        std::fs::create_dir_all(&run).unwrap();
        let summary = serde_json::json!({"run": {"scenario": null, "target": "http://t/",
            "model": ["users: 0 → 5 from 0.0s to 1.0s", "run time: 5.0s"]}});
        std::fs::write(run.join("summary.json"), summary.to_string()).unwrap();
        let handle = ServeHandle::new(dir.path().to_path_buf(), None, None);
        assert_eq!(
            handle.described_by_summary("r2").as_deref(),
            Some("http://t/, users: 0 → 5 from 0.0s to 1.0s")
        );
        assert_eq!(handle.described_by_summary("r3"), None);
        assert!(handle.request_of("r2").is_none());
    }

    #[test]
    fn artifacts_are_the_result_files_of_the_run_and_its_regions() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("runs").join("r1");
        std::fs::create_dir_all(run.join("eu").join("w1")).unwrap();
        for f in [
            "merged_stats.csv",
            "summary.json",
            "report.html",
            "request.json",
            "notes.txt",
        ] {
            std::fs::write(run.join(f), "x").unwrap();
        }
        std::fs::write(run.join("eu").join("region_stats.csv"), "x").unwrap();
        std::fs::write(run.join("eu").join("w1").join("snapshot.bin"), "x").unwrap();
        let handle = ServeHandle::new(dir.path().to_path_buf(), None, None);
        let names: Vec<_> = handle
            .artifacts("r1")
            .into_iter()
            .map(|a| (a.name, a.label))
            .collect();
        assert_eq!(
            names,
            [
                (
                    "merged_stats.csv".to_string(),
                    "merged stats CSV".to_string()
                ),
                ("report.html".into(), "HTML report".into()),
                ("summary.json".into(), "JSON summary".into()),
                ("eu/region_stats.csv".into(), "eu: region stats CSV".into()),
            ]
        );
    }
}
