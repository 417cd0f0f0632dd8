//! `brood run --backend aws` refuses a worker binary the instances cannot run before it creates
//! anything: against the AWS-compatible test server (moto, started by `scripts/test.sh`, which
//! exports `AWS_ENDPOINT_URL`), whose `DescribeInstanceTypes` gives the types' architectures.
//! Also the `--ami` and `--ami-glibc` flags, checked against the run's regions.

use brood_aws_fleet::elf::craft::executable;
use brood_control::settings::dist_settings;
use brood_control::{RunInput, Settings};

const LD_X86: &str = "/lib64/ld-linux-x86-64.so.2";

fn input(dir: &std::path::Path, binary: &[u8], regions: &str) -> RunInput {
    let path = dir.join("brood-worker");
    std::fs::write(&path, binary).unwrap();
    RunInput {
        url: Some("http://127.0.0.1:9/".into()),
        run_time: Some("1m".into()),
        backend: Some("aws".into()),
        regions: Some(regions.into()),
        deployment: "bincheck".into(),
        workers: Some("1".into()),
        worker_binary: Some(path),
        quiet: true,
        results: dir.to_path_buf(),
        ..RunInput::default()
    }
}

/// What `brood run` would answer, and whether the deployment's bucket exists afterwards.
async fn prepare(input: &RunInput) -> (Result<(), String>, bool) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1"),
        "this test needs the AWS-compatible test server: run it with scripts/test.sh or \
         `source scripts/moto.sh` (got AWS_ENDPOINT_URL={endpoint:?})"
    );
    let settings = Settings::from_input(input, None).unwrap();
    let mut dist = dist_settings(input).unwrap();
    let aws_settings = dist.aws.take().unwrap();
    let result = brood_control::aws::prepare(&settings, &mut dist, &aws_settings)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    let aws = brood_aws_fleet::Aws::load(None).await.unwrap();
    let buckets = aws.s3().list_buckets().send().await.unwrap();
    let made = buckets
        .buckets()
        .iter()
        .any(|b| b.name().is_some_and(|n| n.starts_with("brood-bincheck-")));
    (result, made)
}

#[tokio::test]
async fn a_binary_the_instances_cannot_run_is_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let newer = executable(0x3e, Some(LD_X86), &["GLIBC_2.17", "GLIBC_2.39"], 0);
    let (result, made) = prepare(&input(dir.path(), &newer, "us-east-1")).await;
    let e = result.unwrap_err();
    assert!(e.contains("--worker-binary: needs GLIBC_2.39"), "{e}");
    assert!(
        e.contains("glibc 2.34") && e.contains("scripts/build-worker.sh"),
        "{e}"
    );
    assert!(!made, "setup ran before the binary was checked");

    let mach_o = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01".repeat(16);
    let (result, made) = prepare(&input(dir.path(), &mach_o, "us-east-1")).await;
    let e = result.unwrap_err();
    assert!(e.contains("a macOS (Mach-O) binary"), "{e}");
    assert!(!made);

    // An x86_64 build on a Graviton type, as EC2 describes the type.
    let good = executable(0x3e, Some(LD_X86), &["GLIBC_2.17"], 0);
    let mut graviton = input(dir.path(), &good, "eu-west-1");
    graviton.instance_type = Some("c7g.xlarge".into());
    let (result, made) = prepare(&graviton).await;
    let e = result.unwrap_err();
    assert!(e.contains("c7g.xlarge in eu-west-1 runs arm64"), "{e}");
    assert!(!made);

    let mut unknown = input(dir.path(), &good, "eu-west-1");
    unknown.instance_type = Some("t3.gigantic".into());
    let (result, made) = prepare(&unknown).await;
    let e = result.unwrap_err();
    assert!(
        e.contains("--instance-type: t3.gigantic") && e.contains("eu-west-1"),
        "{e}"
    );
    assert!(!made);
}

#[test]
fn images_are_named_per_region() {
    let dir = tempfile::tempdir().unwrap();
    let good = executable(0x3e, Some(LD_X86), &["GLIBC_2.17"], 0);
    let mut two = input(dir.path(), &good, "us-east-1,eu-west-1");
    two.ami = vec!["ami-0abc".into()];
    let e = dist_settings(&two).unwrap_err().to_string();
    assert!(e.starts_with("--ami: ami-0abc without a region"), "{e}");
    two.ami = vec!["us-east-1=ami-0abc".into(), "eu-west-1=ami-0def".into()];
    two.ami_glibc = Some("2.31".into());
    let aws = dist_settings(&two).unwrap().aws.unwrap();
    assert_eq!(aws.ami.get("eu-west-1"), Some("ami-0def"));
    assert_eq!(
        aws.ami_glibc.map(|v| v.to_string()).as_deref(),
        Some("2.31")
    );

    let mut one = input(dir.path(), &good, "us-east-1");
    one.ami = vec!["ami-0abc".into()];
    assert_eq!(
        dist_settings(&one)
            .unwrap()
            .aws
            .unwrap()
            .ami
            .get("us-east-1"),
        Some("ami-0abc")
    );
    one.ami = Vec::new();
    one.ami_glibc = Some("2.31".into());
    let e = dist_settings(&one).unwrap_err().to_string();
    assert!(e.starts_with("--ami-glibc: "), "{e}");
    one.ami_glibc = Some("two".into());
    let e = dist_settings(&one).unwrap_err().to_string();
    assert!(
        e.starts_with("--ami-glibc: \"two\" is not a glibc version"),
        "{e}"
    );
}
