//! `LocalFleet` starts workers with the agreed command line and logs, reports them, stops them
//! politely or by force, and leaves no process behind. The workers here are shell scripts that
//! print what they were given and then sleep.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use brood_cluster::{Fleet, FleetRequest, QueueName, WorkerState};
use brood_local::{LocalFleet, LATENCY_ENV};

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Prints its arguments and latency, then sleeps until stopped.
fn sleeper(dir: &Path) -> PathBuf {
    script(
        dir,
        "sleeper.sh",
        &format!(
            "echo \"args: $*\"\necho \"latency: ${{{LATENCY_ENV}:-none}}\"\nexec /bin/sleep 30"
        ),
    )
}

fn request(region: &str, workers: u32) -> FleetRequest {
    FleetRequest {
        region: region.to_owned(),
        workers,
        jobs: QueueName(format!("jobs-{region}")),
        controller: QueueName("controller".to_owned()),
        controller_key: "ab12".to_owned(),
    }
}

/// Waits for a worker's log to contain `text`.
fn log_containing(path: &Path, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = std::fs::read_to_string(path).unwrap_or_default();
        if log.contains(text) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "{} lacks {text:?}: {log:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn process_exists(pid: &str) -> bool {
    Path::new("/proc").join(pid).exists()
}

#[tokio::test]
async fn workers_get_the_worker_command_line_and_their_own_logs() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("run");
    let fleet = LocalFleet::new(sleeper(dir.path()), base.clone())
        .with_latency("local-b", Duration::from_millis(250));

    let a = fleet.up(&request("local-a", 2)).await.unwrap();
    let b = fleet.up(&request("local-b", 1)).await.unwrap();
    assert_eq!(a.len(), 2);
    assert_ne!(a[0].id, a[1].id);
    assert!(a
        .iter()
        .all(|w| w.region == "local-a" && w.state == WorkerState::Running));

    let expected = format!(
        "args: worker --backend local --dir {} --region local-a --queue jobs-local-a \
         --controller-queue controller --controller-key ab12\nlatency: none\n",
        base.display()
    );
    for n in 0..2 {
        let path = base.join("logs").join(format!("local-a-{n}.log"));
        assert_eq!(fleet.log_path("local-a", n), path);
        assert_eq!(log_containing(&path, "latency:"), expected);
    }
    log_containing(&base.join("logs/local-b-0.log"), "latency: 250\n");
    assert_eq!(b[0].state, WorkerState::Running);
    assert_eq!(fleet.status("local-a").await.unwrap(), a);

    fleet.down("local-a").await.unwrap();
    assert!(fleet.status("local-a").await.unwrap().is_empty());
    assert!(a.iter().all(|w| !process_exists(&w.id)));
    assert_eq!(fleet.status("local-b").await.unwrap(), b);
    fleet.down("local-a").await.unwrap();
    fleet.down("never-up").await.unwrap();
}

#[tokio::test]
async fn status_reports_a_worker_that_exited_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = LocalFleet::new(script(dir.path(), "fail.sh", "exit 3"), dir.path().into());
    fleet.up(&request("local-a", 1)).await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = fleet.status("local-a").await.unwrap();
        if status[0].state == (WorkerState::Exited { code: Some(3) }) {
            break;
        }
        assert!(Instant::now() < deadline, "{status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Its workers are gone, so the region may start again.
    fleet.up(&request("local-a", 1)).await.unwrap();
}

#[tokio::test]
async fn a_worker_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let stubborn = script(
        dir.path(),
        "stubborn.sh",
        "trap '' TERM\necho ready\nexec /bin/sleep 30",
    );
    let grace = Duration::from_millis(300);
    let fleet = LocalFleet::new(stubborn, dir.path().into()).with_grace(grace);
    let workers = fleet.up(&request("local-a", 1)).await.unwrap();
    log_containing(&fleet.log_path("local-a", 0), "ready");

    let started = Instant::now();
    fleet.down("local-a").await.unwrap();
    let took = started.elapsed();
    assert!(
        took >= grace,
        "stopped in {took:?}, before the grace period"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(!process_exists(&workers[0].id));
}

#[tokio::test]
async fn a_region_still_running_is_not_started_twice() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = LocalFleet::new(sleeper(dir.path()), dir.path().into());
    fleet.up(&request("local-a", 1)).await.unwrap();
    let error = fleet.up(&request("local-a", 1)).await.unwrap_err();
    assert!(error.message.contains("still running"), "{error}");
    assert_eq!(fleet.status("local-a").await.unwrap().len(), 1);
}

#[tokio::test]
async fn dropping_the_fleet_kills_its_workers() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = LocalFleet::new(sleeper(dir.path()), dir.path().into());
    let workers = fleet.up(&request("local-a", 3)).await.unwrap();
    assert!(workers.iter().all(|w| process_exists(&w.id)));
    drop(fleet);
    assert!(workers.iter().all(|w| !process_exists(&w.id)));
}

#[tokio::test]
async fn bad_regions_and_missing_binaries_start_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = LocalFleet::new(sleeper(dir.path()), dir.path().into());
    for region in ["", "..", "a/b"] {
        let error = fleet.up(&request(region, 1)).await.unwrap_err();
        assert!(error.message.contains("region name"), "{error}");
    }

    let missing = LocalFleet::new(dir.path().join("no-such-worker"), dir.path().into());
    let error = missing.up(&request("local-a", 2)).await.unwrap_err();
    assert!(error.message.contains("no-such-worker"), "{error}");
    assert!(missing.status("local-a").await.unwrap().is_empty());
}

#[tokio::test]
async fn passes_the_fleet_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = LocalFleet::new(sleeper(dir.path()), dir.path().join("base"))
        .with_grace(Duration::from_millis(500));
    brood_cluster::conformance::fleet_suite(&fleet, &request("suite-a", 3), "suite-b").await;
}
