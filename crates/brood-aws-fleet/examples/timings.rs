//! How long `setup`, a run's provisioning and `cleanup` take for three regions, against the
//! endpoint in `AWS_ENDPOINT_URL` (the AWS-compatible test server; refuses to run without it):
//!
//!   source scripts/moto.sh && cargo run -p brood-aws-fleet --example timings
//!
//! Provisioning is what `brood run --backend aws` does per region before workers can report:
//! upload the worker binary (once), resolve the AMI, the launch template and the group.

use std::time::{Duration, Instant};

use brood_aws_fleet::{cleanup, setup, AsgFleet, Aws, CleanupOptions, FleetOptions, SetupOptions};
use brood_cluster::{Fleet, FleetRequest, QueueName};
use futures::future::try_join_all;

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-south-1"];

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    if !endpoint.starts_with("http://127.0.0.1") {
        return Err("set AWS_ENDPOINT_URL to the test server (source scripts/moto.sh)".into());
    }
    let aws = Aws::load(None).await?;
    let options = SetupOptions {
        deployment: "timings".into(),
        regions: REGIONS.iter().map(|r| r.to_string()).collect(),
        allow_targets: vec!["127.0.0.1".into()],
        ..Default::default()
    };
    // The test server's default VPCs lack the internet gateway every account's has.
    for region in REGIONS {
        brood_aws_fleet::test_server::public_default_vpc(&aws, region)
            .await
            .map_err(|e| e.to_string())?;
    }
    let first = setup(&aws, &options).await?;
    let again = setup(&aws, &options).await?;
    let dir = std::env::temp_dir().join(format!("brood-timings-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let binary = dir.join("brood");
    // A 20 MB x86_64 Linux executable stand-in (a release brood is about that size).
    let mut bytes = brood_aws_fleet::elf::craft::executable(0x3e, None, &[], 0);
    bytes.resize(20 << 20, 0x90);
    std::fs::write(&binary, bytes)?;
    let fleet = AsgFleet::new(
        aws.clone(),
        first.deployment.clone(),
        first.config.clone(),
        FleetOptions {
            run_id: "timings-run".into(),
            worker_binary: binary,
            instance_type: None,
            ami: Default::default(),
            spot: false,
            idle_exit: "3m".into(),
            stop_after: Duration::from_secs(3600),
        },
    );
    let started = Instant::now();
    let up = try_join_all(REGIONS.iter().map(|region| {
        let fleet = &fleet;
        async move {
            fleet
                .up(&FleetRequest {
                    region: region.to_string(),
                    workers: 2,
                    jobs: QueueName(format!("jobs-{region}")),
                    controller: QueueName("controller-timings-run".into()),
                    controller_key: "ab".repeat(32),
                })
                .await
        }
    }))
    .await?;
    let provisioning = started.elapsed();
    let started = Instant::now();
    try_join_all(REGIONS.iter().map(|r| fleet.down(r))).await?;
    let down = started.elapsed();
    let report = cleanup(
        &aws,
        &CleanupOptions {
            deployment: "timings".into(),
            purge_results: true,
            ..Default::default()
        },
    )
    .await?;
    let noop = cleanup(
        &aws,
        &CleanupOptions {
            deployment: "timings".into(),
            purge_results: true,
            ..Default::default()
        },
    )
    .await?;
    let _ = std::fs::remove_dir_all(&dir);
    println!("3 regions ({}), against {endpoint}:", REGIONS.join(", "));
    println!(
        "  setup (first)              {:>6.2}s",
        first.elapsed.as_secs_f64()
    );
    println!(
        "  setup (again, idempotent)  {:>6.2}s",
        again.elapsed.as_secs_f64()
    );
    println!(
        "  provisioning, 2 instances per region ({} up)  {:>6.2}s",
        up.iter().map(Vec::len).sum::<usize>(),
        provisioning.as_secs_f64()
    );
    println!("  scale to zero              {:>6.2}s", down.as_secs_f64());
    println!(
        "  cleanup ({} resources, {} regions searched)  {:>6.2}s",
        report.removed.len(),
        report.regions_searched,
        report.elapsed.as_secs_f64()
    );
    println!(
        "  cleanup again (no-op)      {:>6.2}s",
        noop.elapsed.as_secs_f64()
    );
    Ok(())
}
