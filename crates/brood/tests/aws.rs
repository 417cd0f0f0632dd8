//! `brood run --backend aws` end to end against the AWS-compatible test server (moto, started by
//! `scripts/test.sh`, which exports `AWS_ENDPOINT_URL`). moto boots no instance, so the test
//! reads each region's launch template back, parses the `brood worker` command line of its user
//! data, and starts exactly those workers as local processes against a loopback target.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use brood_aws_fleet::{fleet, userdata, Aws};
use brood_cluster::ArtifactStore;
use brood_target::{Target, TargetConfig};

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

fn endpoint() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1"),
        "this test needs the AWS-compatible test server: run it with scripts/test.sh, which starts \
         moto and exports AWS_ENDPOINT_URL (got {endpoint:?})"
    );
    endpoint
}

/// The test server's default VPC in `region` made public, as on AWS (see `test_server`).
async fn public_default_vpc(aws: &Aws, region: &str) {
    brood_aws_fleet::test_server::public_default_vpc(aws, region)
        .await
        .unwrap();
}

fn brood() -> Command {
    Command::new(env!("CARGO_BIN_EXE_brood"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn output(args: &[&str]) -> (i32, String, String) {
    let out = brood().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts `brood worker` with the arguments an instance's user data would give it, in its own
/// folder (the user data's relative spool is relative to it).
fn start_worker(args: &[String], dir: &Path) -> Child {
    std::fs::create_dir_all(dir).unwrap();
    brood()
        .arg("worker")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("worker.log")).unwrap())
        .spawn()
        .unwrap()
}

/// Child processes killed when the test ends, also when it fails.
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn run_dir(results: &Path) -> PathBuf {
    let runs: Vec<_> = std::fs::read_dir(results.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

#[test]
fn a_run_in_two_regions_provisions_runs_collects_and_cleans_up() {
    endpoint();
    // A deployment of its own, so that nothing an earlier, interrupted run left can interfere.
    let deployment = format!("e2e-{}", std::process::id());
    let deployment = deployment.as_str();
    let rt = runtime();
    let aws = rt.block_on(Aws::load(None)).unwrap();
    for region in REGIONS {
        rt.block_on(public_default_vpc(&aws, region));
    }
    let target = Target::start(TargetConfig::default()).unwrap();
    let url = format!("http://{}/", target.addr());
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let regions = REGIONS.join(",");

    let (code, out, err) = output(&[
        "aws",
        "setup",
        "--deployment",
        deployment,
        "--regions",
        &regions,
        "--allow-target",
        "127.0.0.1",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ready in"), "{out}");

    // A target off the allow-list is refused before any instance starts.
    let (code, _, err) = output(&[
        "run",
        "http://192.0.2.1/",
        "-u",
        "1",
        "-t",
        "2s",
        "--backend",
        "aws",
        "--deployment",
        deployment,
        "--regions",
        "us-east-1",
        "--results",
        results.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("192.0.2.1") && err.contains("allow-list"),
        "{err}"
    );
    // Subnet ids belong to one region: with two regions a bare id is refused by its flag.
    let (code, _, err) = output(&[
        "run",
        &url,
        "-u",
        "1",
        "-t",
        "2s",
        "--backend",
        "aws",
        "--deployment",
        deployment,
        "--regions",
        &regions,
        "--subnets",
        "subnet-0a",
        "--results",
        results.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--subnets") && err.contains("REGION="),
        "{err}"
    );
    // So is a run whose cost preview is above --max-cost.
    let (code, out, err) = output(&[
        "run",
        &url,
        "-u",
        "1",
        "-t",
        "1h",
        "--backend",
        "aws",
        "--deployment",
        deployment,
        "--regions",
        &regions,
        "--workers",
        "3",
        "--max-cost",
        "0.01",
        "--results",
        results.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("Cost preview") && err.contains("--max-cost"),
        "{out}{err}"
    );

    let mut controller = Workers(vec![brood()
        .args([
            "run",
            &url,
            "-u",
            "4",
            "-r",
            "4",
            "-t",
            "4s",
            "--backend",
            "aws",
            "--deployment",
            deployment,
            "--regions",
            &regions,
            "--workers",
            "1",
            "--results",
            results.to_str().unwrap(),
            "--quiet",
            "--barrier-timeout",
            "90s",
        ])
        .stdout(std::fs::File::create(tmp.path().join("controller.out")).unwrap())
        .stderr(std::fs::File::create(tmp.path().join("controller.err")).unwrap())
        .spawn()
        .unwrap()]);
    let mut workers = Workers(Vec::new());
    for region in REGIONS {
        // The group exists at its desired capacity, and the template names this run's queue.
        let args = wait_for(
            &format!("the launch template in {region}"),
            Duration::from_secs(60),
            || {
                let text = rt
                    .block_on(fleet::user_data(&aws, deployment, region))
                    .unwrap()?;
                let desired = rt
                    .block_on(fleet::desired_capacity(&aws, deployment, region))
                    .unwrap()?;
                (desired == 1).then(|| userdata::worker_args(&text).unwrap())
            },
        );
        assert!(
            args.iter().any(|a| a.starts_with("controller-")),
            "{args:?}"
        );
        workers
            .0
            .push(start_worker(&args, &tmp.path().join(format!("w-{region}"))));
    }
    let status = wait_for("the controller to finish", Duration::from_secs(120), || {
        controller.0[0].try_wait().unwrap()
    });
    let log = |name: &str| std::fs::read_to_string(tmp.path().join(name)).unwrap_or_default();
    assert!(
        status.success(),
        "controller: {status}\n{}\n{}\nworkers:\n{}\n{}",
        log("controller.out"),
        log("controller.err"),
        log("w-us-east-1/worker.log"),
        log("w-eu-west-1/worker.log")
    );
    let stdout = log("controller.out");
    assert!(stdout.contains("Cost preview"), "{stdout}");

    // Results: in the bucket under runs/<run>/, downloaded and merged locally.
    let run = run_dir(&results);
    let run_id = run.file_name().unwrap().to_str().unwrap().to_string();
    let merged = std::fs::read_to_string(run.join("merged_stats.csv")).unwrap();
    let aggregated = merged.lines().find(|l| l.contains("Aggregated")).unwrap();
    let requests: u64 = aggregated.split(',').nth(2).unwrap().parse().unwrap();
    assert!(requests > 0, "{merged}");
    let home = aws.config(&aws.home_region);
    let account = rt.block_on(aws.account()).unwrap();
    let store = brood_aws::S3Store::new(&home, &format!("brood-{deployment}-{account}"));
    let keys = rt.block_on(store.list(&format!("runs/{run_id}/"))).unwrap();
    for region in REGIONS {
        let prefix = format!("runs/{run_id}/{region}/");
        let stored: Vec<&String> = keys.iter().filter(|k| k.starts_with(&prefix)).collect();
        assert!(
            !stored.is_empty(),
            "nothing stored under {prefix}: {keys:?}"
        );
        for key in stored {
            let local = run.join(key.strip_prefix(&format!("runs/{run_id}/")).unwrap());
            assert!(local.exists(), "{} was not downloaded", local.display());
        }
    }
    // Every group is back to zero.
    for region in REGIONS {
        let desired = rt
            .block_on(fleet::desired_capacity(&aws, deployment, region))
            .unwrap();
        assert_eq!(desired, Some(0), "{region}");
    }

    // (A worker refusing a job signed by another controller: tests/aws_worker.rs.)
    drop(workers);

    let (code, out, err) = output(&["cleanup", "--deployment", deployment, "--purge-results"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("removed group") && out.contains("removed bucket"),
        "{out}"
    );
    for region in REGIONS {
        assert_eq!(
            rt.block_on(fleet::desired_capacity(&aws, deployment, region))
                .unwrap(),
            None
        );
        assert_eq!(
            rt.block_on(fleet::user_data(&aws, deployment, region))
                .unwrap(),
            None
        );
    }
    let (code, out, err) = output(&["cleanup", "--deployment", deployment, "--purge-results"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("removed 0 resources"), "{out}");
}

/// A `brood run` of one user for two seconds with one worker per region, its exit code and output.
///
/// No worker starts, so the binary is a small stand-in: the run uploads it without loading the
/// test server for the test running beside it.
fn short_run(url: &str, deployment: &str, regions: &str, results: &Path) -> (i32, String, String) {
    let head = brood_aws_fleet::elf::craft::stand_in_worker();
    let binary = results.with_extension("brood");
    std::fs::write(&binary, head).unwrap();
    output(&[
        "run",
        url,
        "--worker-binary",
        binary.to_str().unwrap(),
        "-u",
        "1",
        "-t",
        "2s",
        "--backend",
        "aws",
        "--deployment",
        deployment,
        "--regions",
        regions,
        "--workers",
        "1",
        "--results",
        results.to_str().unwrap(),
        "--quiet",
    ])
}

/// Regions no other test uses: this test breaks the second one's default VPC on purpose.
const FIRST: &str = "ca-central-1";
const BROKEN: &str = "eu-central-1";

#[test]
fn a_deployment_runs_one_run_at_a_time_and_a_failed_start_takes_every_region_down() {
    use brood_aws_fleet::lock::{acquire, holder, LockHolder};
    endpoint();
    let deployment = format!("once-{}", std::process::id());
    let deployment = deployment.as_str();
    let rt = runtime();
    let aws = rt.block_on(Aws::load(None)).unwrap();
    let target = Target::start(TargetConfig::default()).unwrap();
    let url = format!("http://{}/", target.addr());
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let regions = format!("{FIRST},{BROKEN}");
    for region in [FIRST, BROKEN] {
        rt.block_on(public_default_vpc(&aws, region));
    }
    let (code, out, err) = output(&[
        "aws",
        "setup",
        "--deployment",
        deployment,
        "--regions",
        &regions,
        "--allow-target",
        "127.0.0.1",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let account = rt.block_on(aws.account()).unwrap();
    let bucket = format!("brood-{deployment}-{account}");

    // Another run holds the deployment: this one is refused before any instance starts, and
    // says which run, since and until when, and how to get past it.
    let other = rt
        .block_on(acquire(
            &aws,
            deployment,
            &bucket,
            LockHolder::new("run-elsewhere", "laptop", Duration::from_secs(3600)),
        ))
        .unwrap();
    let (code, out, err) = short_run(&url, deployment, &regions, &results);
    assert_eq!(code, 5, "{out}{err}");
    for part in [
        "run-elsewhere",
        "laptop",
        "since",
        "expires at",
        "--deployment",
    ] {
        assert!(err.contains(part), "{part:?} in {err}");
    }
    for region in [FIRST, BROKEN] {
        let desired = rt
            .block_on(fleet::desired_capacity(&aws, deployment, region))
            .unwrap();
        assert_eq!(desired, None, "{region}: a group was made");
    }
    // The refused run left the other run's lock as it was.
    assert_eq!(
        rt.block_on(holder(&aws, &bucket)).unwrap().as_ref(),
        Some(&other.holder)
    );
    assert!(rt.block_on(other.release()).unwrap());

    // The second region cannot come up (its default VPC has no subnets left): the run fails
    // naming it, no region is left with running workers, and the deployment is free again.
    rt.block_on(async {
        let ec2 = aws.ec2(BROKEN);
        let vpcs = ec2.describe_vpcs().send().await.unwrap();
        let vpc = vpcs
            .vpcs()
            .iter()
            .find(|v| v.is_default() == Some(true))
            .and_then(|v| v.vpc_id())
            .unwrap()
            .to_string();
        let subnets = ec2.describe_subnets().send().await.unwrap();
        for s in subnets.subnets() {
            if s.vpc_id() == Some(vpc.as_str()) {
                let id = s.subnet_id().unwrap();
                ec2.delete_subnet().subnet_id(id).send().await.unwrap();
            }
        }
    });
    let (code, out, err) = short_run(&url, deployment, &regions, &results);
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains(BROKEN) && err.contains("subnet"), "{err}");
    for region in [FIRST, BROKEN] {
        let desired = rt
            .block_on(fleet::desired_capacity(&aws, deployment, region))
            .unwrap();
        assert!(
            !matches!(desired, Some(n) if n > 0),
            "{region} was left running: {desired:?}"
        );
    }
    assert_eq!(rt.block_on(holder(&aws, &bucket)).unwrap(), None);

    let (code, out, err) = output(&["cleanup", "--deployment", deployment, "--purge-results"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn aws_policy_prints_the_policy_for_the_credentials_account_or_the_one_given() {
    endpoint();
    // The account and partition of the credentials (STS GetCallerIdentity).
    let (code, out, err) = output(&["aws", "policy", "--deployment", "ci"]);
    assert_eq!(code, 0, "{err}");
    let policy: serde_json::Value = serde_json::from_str(&out).unwrap();
    let text = policy.to_string();
    assert!(text.contains("arn:aws:s3:::brood-ci-"), "{text}");
    assert!(text.contains(":brood-ci_*"), "{text}");
    assert!(!text.contains("\"Action\":\"*\""), "{text}");

    // Given account and partition: no AWS call at all.
    let (code, out, err) = output(&[
        "aws",
        "policy",
        "--account",
        "123456789012",
        "--partition",
        "aws-cn",
        "--regions",
        "cn-north-1",
        "--workers",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("arn:aws-cn:sqs:cn-north-1:123456789012:brood-default-jobs"),
        "{out}"
    );

    let (code, _, err) = output(&["aws", "policy", "--account", "12345"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--account"), "{err}");
}
