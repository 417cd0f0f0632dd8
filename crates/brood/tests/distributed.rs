//! Distributed runs with the real binary: a controller and worker processes on the local backend,
//! against an in-process target on loopback.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use brood_stats::{Histogram, Snapshot};
use brood_target::{Target, TargetConfig};

fn brood() -> Command {
    Command::new(env!("CARGO_BIN_EXE_brood"))
}

fn run_dir(results: &Path) -> PathBuf {
    let runs: Vec<_> = std::fs::read_dir(results.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// The Aggregated row of a Locust stats CSV.
fn aggregated(path: &Path) -> Vec<String> {
    read_csv(path)
        .into_iter()
        .find(|r| r[1] == "Aggregated")
        .unwrap()
}

/// Every worker's stored snapshot under a run folder.
fn worker_snapshots(run: &Path) -> Vec<Snapshot> {
    let mut found = Vec::new();
    for region in std::fs::read_dir(run).unwrap() {
        let region = region.unwrap().path();
        if !region.is_dir() {
            continue;
        }
        for worker in std::fs::read_dir(&region).unwrap() {
            let file = worker.unwrap().path().join("snapshot.bin");
            if file.exists() {
                found.push(Snapshot::decode(&std::fs::read(file).unwrap()).unwrap());
            }
        }
    }
    found
}

fn whole_ms(us: u64) -> String {
    ((us + 500) / 1000).to_string()
}

#[test]
fn two_regions_of_two_workers_merge_exactly() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let results = tempfile::tempdir().unwrap();
    let o = brood()
        .args([
            "run",
            &target.url("/bimodal/1/30/7"),
            "-u",
            "8",
            "-r",
            "100",
            "-t",
            "3s",
            "--stop-timeout",
            "5s",
            "--backend",
            "local",
            "--regions",
            "local-a,local-b:3",
            "--workers",
            "2",
            "--region-latency",
            "local-b:20ms",
            "--quiet",
            "--results",
        ])
        .arg(results.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let run = run_dir(results.path());
    let merged = aggregated(&run.join("merged_stats.csv"));
    let requests: u64 = merged[2].parse().unwrap();
    assert!(requests > 100);
    assert_eq!(
        requests,
        target.requests(),
        "merged counts equal what the target received"
    );

    // Merged percentiles are those of the union of every worker's histogram.
    let workers = worker_snapshots(&run);
    assert_eq!(workers.len(), 4);
    let mut union = Histogram::new();
    for w in &workers {
        for e in w.entries.values() {
            union.merge(&e.hist);
        }
    }
    assert_eq!(union.count(), requests);
    for (column, p) in [(11, 50.0), (16, 95.0), (18, 99.0), (21, 100.0)] {
        assert_eq!(
            merged[column],
            whole_ms(union.value_at_percentile(p)),
            "p{p}"
        );
    }

    // Per-region results; local-b has three times the weight and added latency.
    let a: u64 = aggregated(&run.join("local-a/region_stats.csv"))[2]
        .parse()
        .unwrap();
    let b_row = aggregated(&run.join("local-b/region_stats.csv"));
    let b: u64 = b_row[2].parse().unwrap();
    assert_eq!(a + b, requests);
    let b_min: u64 = b_row[6].parse().unwrap();
    assert!(b_min >= 20, "local-b's added latency shows: min {b_min} ms");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["regions"].as_array().unwrap().len(), 2);
    assert_eq!(manifest["plan_hash"].as_str().unwrap().len(), 64);
    assert!(run.join("summary.json").exists());
    let report = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(report.contains("local-b") && report.contains("<svg"));

    // The run is in the history, which outlives the controller.
    let listed = brood()
        .arg("runs")
        .arg("--results")
        .arg(results.path())
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    let id = run.file_name().unwrap().to_string_lossy().to_string();
    let line = listed
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(line.contains("completed"), "{line}");
    assert!(line.contains(&requests.to_string()), "{line}");
}

/// The pids of `brood worker` processes whose command line names `dir`.
fn worker_pids(dir: &Path) -> Vec<u32> {
    let needle = dir.display().to_string();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(" worker ") && cmd.contains(&needle) {
            pids.push(pid);
        }
    }
    pids
}

#[test]
fn a_killed_worker_is_reported_lost_and_the_run_completes() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let results = tempfile::tempdir().unwrap();
    let child = brood()
        .args([
            "run",
            &target.url("/delay/2"),
            "-u",
            "6",
            "-r",
            "100",
            "-t",
            "8s",
            "--stop-timeout",
            "3s",
            "--backend",
            "local",
            "--regions",
            "local-a,local-b",
            "--workers",
            "2",
            "--heartbeat-timeout",
            "3s",
            "--exit-code-on-error",
            "0",
            "--quiet",
            "--results",
        ])
        .arg(results.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run is under way (the target sees requests), then kill one worker hard.
    let started = Instant::now();
    while target.requests() < 50 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Long enough for every worker to have sent a few snapshots.
    std::thread::sleep(Duration::from_secs(4));
    let pids = worker_pids(results.path());
    assert_eq!(pids.len(), 4, "{pids:?}");
    let victim = pids[0];
    let killed = Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("LOST"), "{out}");
    let run = run_dir(results.path());
    let survivors = worker_snapshots(&run);
    assert_eq!(survivors.len(), 3, "every other worker stored its results");
    let merged: u64 = aggregated(&run.join("merged_stats.csv"))[2]
        .parse()
        .unwrap();
    let stored: u64 = survivors.iter().map(|s| s.aggregated().requests).sum();
    assert!(merged > stored, "the lost worker's data up to its last snapshot is kept: merged {merged}, stored {stored}\n{out}\n{err}");
    assert!(merged <= target.requests());
    let manifest = std::fs::read_to_string(run.join("manifest.json")).unwrap();
    assert!(manifest.contains("Lost"), "{manifest}");
}

#[test]
fn a_worker_rejects_a_job_signed_by_another_controller() {
    use brood_cluster::{QueueName, Transport};
    let dir = tempfile::tempdir().unwrap();
    let ours = brood_protocol::generate_signing_key().unwrap();
    let theirs = brood_protocol::generate_signing_key().unwrap();
    let plan = brood_plan::compile(
        &brood_plan::Scenario::quick("http://127.0.0.1:9/").unwrap(),
        &brood_plan::LoadOptions::default(),
    )
    .unwrap();
    let now = brood_engine::unix_ms_now();
    let job = brood_protocol::Job {
        run_id: brood_protocol::RunId::new("run-x").unwrap(),
        region: brood_protocol::Region::new("local-a").unwrap(),
        slot: 0,
        workers_in_region: 1,
        segment: brood_plan::Segment::WHOLE,
        plan_hash: brood_protocol::plan_hash(&plan),
        plan: Some(plan),
        controller_queue: "controller-run-x".into(),
        issued_ms: now,
        expires_ms: now + 60_000,
        nonce: brood_protocol::new_nonce().unwrap(),
        barrier_timeout_ms: 1000,
        heartbeat_ms: 1000,
    };
    let message = brood_protocol::Message::Job(Box::new(job));
    let forged = brood_protocol::encode(&message, Some(&theirs)).unwrap();
    let mut tampered = brood_protocol::encode(&message, Some(&ours)).unwrap();
    let flip = tampered.len() / 2;
    tampered[flip] ^= 0x20;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let transport = brood_local::SqliteTransport::open_in(dir.path()).unwrap();
    let queue = QueueName("jobs-local-a".into());
    runtime.block_on(async {
        transport.ensure_queue(&queue).await.unwrap();
        transport.send(&queue, &forged).await.unwrap();
        transport.send(&queue, &tampered).await.unwrap();
    });
    let o = brood()
        .args(["worker", "--backend", "local", "--dir"])
        .arg(dir.path())
        .args([
            "--region",
            "local-a",
            "--queue",
            "jobs-local-a",
            "--controller-queue",
            "controller-run-x",
            "--controller-key",
            &brood_protocol::public_key_to_hex(&ours.verifying_key()),
            "--idle-exit",
            "3s",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("rejected a job").count(), 2, "{err}");
    // Nothing ran: no Ready reached the controller's queue.
    let left = runtime.block_on(async {
        let q = QueueName("controller-run-x".into());
        transport.ensure_queue(&q).await.unwrap();
        transport
            .receive(&q, 10, Duration::from_millis(100), Duration::from_secs(1))
            .await
            .unwrap()
    });
    assert!(left.is_empty());
}

#[test]
fn ctrl_c_stops_every_worker_quickly_and_keeps_the_results() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let results = tempfile::tempdir().unwrap();
    let child = brood()
        .args([
            "run",
            &target.url("/"),
            "-u",
            "4",
            "-r",
            "100",
            "-t",
            "120s",
            "--backend",
            "local",
            "--regions",
            "local-a,local-b",
            "--quiet",
            "--results",
        ])
        .arg(results.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while target.requests() < 100 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let asked = Instant::now();
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let o = child.wait_with_output().unwrap();
    let took = asked.elapsed();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(took < Duration::from_secs(8), "stopping took {took:?}");
    let after = target.requests();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        target.requests(),
        after,
        "no worker sends after the run ended"
    );
    let run = run_dir(results.path());
    assert_eq!(worker_snapshots(&run).len(), 2);
    let merged: u64 = aggregated(&run.join("merged_stats.csv"))[2]
        .parse()
        .unwrap();
    // With no stop timeout (Locust's default) requests in flight at the stop are cut off
    // uncounted: at most one per user.
    assert!(
        merged <= after && after - merged <= 4,
        "merged {merged}, target {after}"
    );
    assert!(worker_pids(results.path()).is_empty());
}

#[test]
fn a_run_whose_controller_died_is_recovered_from_what_workers_stored() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let results = tempfile::tempdir().unwrap();
    let mut controller = brood()
        .args([
            "run",
            &target.url("/"),
            "-u",
            "2",
            "-r",
            "100",
            "-t",
            "4s",
            "--backend",
            "local",
            "--regions",
            "local-a,local-b",
            "--quiet",
            "--results",
        ])
        .arg(results.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while target.requests() < 50 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    controller.kill().unwrap();
    let _ = controller.wait();
    // Straight after, no worker has stored anything: the run is not recorded as recovered from
    // 0 workers, it waits for them.
    let early = brood()
        .arg("runs")
        .arg("--results")
        .arg(results.path())
        .output()
        .unwrap();
    let early = String::from_utf8_lossy(&early.stdout);
    assert!(early.contains("recovery pending"), "{early}");
    assert!(!early.contains("merged the results of 0"), "{early}");
    // The workers finish the run by its run time and store their results without a controller.
    let deadline = Instant::now() + Duration::from_secs(30);
    let stored = |dir: &Path| {
        let runs = dir.join("runs");
        std::fs::read_dir(&runs).map_or(0, |rs| {
            rs.flatten()
                .map(|r| worker_snapshots(&r.path()).len())
                .sum::<usize>()
        })
    };
    while stored(results.path()) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    for pid in worker_pids(results.path()) {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    assert_eq!(stored(results.path()), 2);
    let listed = brood()
        .arg("runs")
        .arg("--results")
        .arg(results.path())
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("interrupted"), "{listed}");
    assert!(
        listed.contains("merged the results of 2 workers"),
        "{listed}"
    );
    let run = run_dir(results.path());
    let recovered = aggregated(&run.join("recovered_stats.csv"));
    let requests: u64 = recovered[2].parse().unwrap();
    assert!(requests > 0 && requests <= target.requests());
}

/// Hardening item 9: a worker sent SIGTERM mid-run (as a fleet going down, or a spot instance
/// being reclaimed, sends it) stops its share of the load, stores its results and reports done
/// before it exits; the run goes on with the others.
#[test]
fn hardening_9_a_worker_stores_its_results_on_sigterm() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let results = tempfile::tempdir().unwrap();
    let child = brood()
        .args(["run", &target.url("/"), "-u", "4", "-r", "100", "-t", "6s"])
        .args(["--backend", "local", "--regions", "local-a,local-b"])
        .args(["--exit-code-on-error", "0", "--quiet", "--results"])
        .arg(results.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while target.requests() < 200 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let pids = worker_pids(results.path());
    assert_eq!(pids.len(), 2, "{pids:?}");
    let sent = Command::new("kill")
        .args(["-TERM", &pids[0].to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let o = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    let run = run_dir(results.path());
    // Both workers stored their results, the terminated one too, and neither was lost.
    assert_eq!(worker_snapshots(&run).len(), 2, "{out}\n{err}");
    assert!(!out.contains("LOST"), "{out}");
    assert_eq!(out.matches(" done").count(), 2, "{out}");
}
