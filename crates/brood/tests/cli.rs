//! The real `brood` binary against in-process targets: exit codes, error messages that name the
//! flag or field, and result files that parse back with Locust's exact headers.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use brood_target::{Target, TargetConfig};

fn brood(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brood"))
        .args(args)
        .env("SHOP_PASSWORD", "secret")
        .current_dir(dir)
        .output()
        .expect("brood runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

const STATS_HEADER: &str = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";
const HISTORY_HEADER: &str = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size";
const FAILURES_HEADER: &str = "Method,Name,Error,Occurrences,First Seen,Last Seen";
const EXCEPTIONS_HEADER: &str = "Count,Message,Traceback,Nodes";

#[test]
fn bad_flags_name_the_flag_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["run", "http://127.0.0.1:9/", "-u", "-5"], "--users"),
        (&["run", "http://127.0.0.1:9/", "-r", "0"], "--spawn-rate"),
        (&["run", "http://127.0.0.1:9/", "-t", "5x"], "--run-time"),
        (&["run", "127.0.0.1:9/x"], "URL"),
        (
            &["run", "http://127.0.0.1:9/", "--threshold", "p95 <"],
            "--threshold",
        ),
        (
            &["run", "http://127.0.0.1:9/", "--wait", "3s..1s"],
            "--wait",
        ),
        (
            &["run", "http://127.0.0.1:9/", "--threads", "0"],
            "--threads",
        ),
        (&["run"], "URL"),
    ];
    for (args, flag) in cases {
        let o = brood(args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(flag), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}");
    }
}

#[test]
fn scenario_errors_point_at_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(
        &file,
        "host: http://127.0.0.1:9\nusers:\n  - name: a\n    wieght: 2\n    tasks: [\"GET /\"]\n",
    )
    .unwrap();
    for command in ["run", "check"] {
        let o = brood(&[command, "-f", file.to_str().unwrap()], dir.path());
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("s.yaml:4:"), "{err}");
        assert!(err.contains("wieght") && err.contains("weight"), "{err}");
    }
}

#[test]
fn a_quick_run_writes_locust_files_that_match_the_target() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = target.url("/delay/2");
    let o = brood(
        &[
            "run",
            &url,
            "-u",
            "5",
            "-r",
            "100",
            "-t",
            "2s",
            "--stop-timeout",
            "5s",
            "--csv",
            "out",
            "--json",
            "out.json",
            "--junit",
            "out.xml",
            "--html",
            "out.html",
            "--threshold",
            "p95 < 2s",
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let (header, rows) = read_csv(&dir.path().join("out_stats.csv"));
    assert_eq!(header.join(","), STATS_HEADER);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][..2], ["GET".to_string(), "/delay/2".to_string()]);
    assert_eq!(rows[1][1], "Aggregated");
    let requests: u64 = rows[1][2].parse().unwrap();
    assert_eq!(
        requests,
        target.requests(),
        "every request the target saw is counted"
    );
    let (header, history) = read_csv(&dir.path().join("out_stats_history.csv"));
    assert_eq!(header.join(","), HISTORY_HEADER);
    assert!(history.len() >= 2);
    let (header, _) = read_csv(&dir.path().join("out_failures.csv"));
    assert_eq!(header.join(","), FAILURES_HEADER);
    let (header, _) = read_csv(&dir.path().join("out_exceptions.csv"));
    assert_eq!(header.join(","), EXCEPTIONS_HEADER);

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out.json")).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 1);
    let html = std::fs::read_to_string(dir.path().join("out.html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains("/delay/2"),
        "an HTML report with charts"
    );
    assert!(!html.contains("<script"), "the report needs no script");
    let junit = std::fs::read_to_string(dir.path().join("out.xml")).unwrap();
    assert!(junit.contains("tests=\"1\" failures=\"0\""), "{junit}");
    let summary = String::from_utf8_lossy(&o.stdout);
    assert!(
        summary.contains("Aggregated") && summary.contains("pass"),
        "{summary}"
    );
}

#[test]
fn exit_codes_follow_the_table() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ok = target.url("/");
    let failing = target.url("/status/500");
    let run = |extra: &[&str], url: &str| {
        let mut args = vec!["run", url, "-u", "2", "-r", "100", "-t", "1s", "--quiet"];
        args.extend_from_slice(extra);
        brood(&args, dir.path()).status.code()
    };
    assert_eq!(run(&[], &ok), Some(0));
    assert_eq!(run(&["--threshold", "rps > 100000000"], &ok), Some(3));
    assert_eq!(
        run(&[], &failing),
        Some(1),
        "Locust's --exit-code-on-error default"
    );
    assert_eq!(run(&["--exit-code-on-error", "7"], &failing), Some(7));
    assert_eq!(run(&["--exit-code-on-error", "0"], &failing), Some(0));
    assert_eq!(
        run(&["--threshold", "failure_rate < 1%"], &failing),
        Some(3)
    );
}

#[test]
fn a_failing_threshold_can_abort_the_run() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let o = brood(
        &[
            "run",
            &target.url("/status/500"),
            "-u",
            "2",
            "-t",
            "60s",
            "--threshold",
            "failure_rate < 1%",
            "--abort-on-fail",
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(stderr(&o).contains("failure_rate < 1%"), "{}", stderr(&o));
}

#[test]
fn a_scenario_runs_its_user_types_and_the_open_model_from_flags() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mix.toml");
    std::fs::write(
        &file,
        r#"
[[users]]
name = "reader"
weight = 3
tasks = [{ request = { url = "/bytes/10", name = "read" } }]

[[users]]
name = "writer"
weight = 1
tasks = [{ post = "/echo", json = { a = 1 }, name = "write" }]
"#,
    )
    .unwrap();
    let host = format!("http://{}", target.addr());
    let o = brood(
        &[
            "run",
            "-f",
            "mix.toml",
            "-H",
            &host,
            "--arrival-rate",
            "200",
            "--max-users",
            "40",
            "-t",
            "2s",
            "--stop-timeout",
            "5s",
            "--csv",
            "mix",
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (_, rows) = read_csv(&dir.path().join("mix_stats.csv"));
    let count = |name: &str| -> u64 {
        rows.iter()
            .find(|r| r[1] == name)
            .map_or(0, |r| r[2].parse().unwrap())
    };
    let total = count("Aggregated");
    assert!(
        (396..=404).contains(&total),
        "{total} requests for 200/s over 2 s"
    );
    assert_eq!(total, target.requests());
    assert!(count("read") > 0 && count("write") > 0);
}

#[test]
fn every_example_scenario_checks() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "toml")
        ) {
            continue;
        }
        let o = brood(&["check", "-f", path.to_str().unwrap()], &examples);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            stderr(&o)
        );
        seen += 1;
    }
    assert!(seen > 0);
}

/// Runs an example scenario against an in-process demo target; returns the stats CSV rows.
fn run_example(name: &str, target: &Target, extra: &[&str]) -> (Output, Vec<Vec<String>>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let file = examples.join(name);
    let host = format!("http://{}", target.addr());
    let mut args = vec![
        "run",
        "-f",
        file.to_str().unwrap(),
        "-H",
        &host,
        "--csv",
        "ex",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let o = brood(&args, dir.path());
    let (_, rows) = read_csv(&dir.path().join("ex_stats.csv"));
    let (_, exceptions) = read_csv(&dir.path().join("ex_exceptions.csv"));
    (o, rows, exceptions.len())
}

fn requests_of(rows: &[Vec<String>], method: &str, name: &str) -> u64 {
    rows.iter()
        .find(|r| r[0] == method && r[1] == name)
        .map_or(0, |r| r[2].parse().unwrap())
}

#[test]
fn the_token_journey_example_carries_its_token_and_cookie() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let (o, rows, exceptions) = run_example(
        "api-tokens.yaml",
        &target,
        &[
            "-u",
            "8",
            "-r",
            "100",
            "-t",
            "4s",
            "--stop-timeout",
            "10s",
            "--exit-code-on-error",
            "0",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(exceptions, 0);
    let shop = target.shop_counts();
    assert_eq!(requests_of(&rows, "POST", "/shop/api/login"), 8);
    assert_eq!(
        shop.logins, 8,
        "every user logged in once, with the right password"
    );
    let adds = requests_of(&rows, "POST", "/shop/api/cart");
    assert!(adds > 0);
    assert_eq!(
        shop.cart_adds, adds,
        "every cart add carried a valid token and body"
    );
    let checkouts = requests_of(&rows, "POST", "/shop/api/checkout");
    assert_eq!(
        shop.orders + shop.failed_checkouts,
        checkouts,
        "every checkout had its cookie"
    );
}

#[test]
fn every_example_runs_against_the_demo_shop_without_exceptions() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let target = Target::start(TargetConfig::default()).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let (o, rows, exceptions) = run_example(
            &name,
            &target,
            &[
                "-u",
                "10",
                "-r",
                "100",
                "-t",
                "3s",
                "--stop-timeout",
                "10s",
                "--exit-code-on-error",
                "0",
            ],
        );
        assert!(
            matches!(o.status.code(), Some(0 | 3)),
            "{name}: {}",
            stderr(&o)
        );
        assert_eq!(exceptions, 0, "{name}");
        let total: u64 = rows.last().unwrap()[2].parse().unwrap();
        assert!(total > 0, "{name}");
        assert_eq!(total, target.requests(), "{name}");
    }
}

#[test]
fn the_ported_locustfile_gives_the_same_request_mix() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/locustfile-port.yaml");
    let host = format!("http://{}", target.addr());
    let o = Command::new(env!("CARGO_BIN_EXE_brood"))
        .args([
            "run",
            "-f",
            file.to_str().unwrap(),
            "-H",
            &host,
            "--wait",
            "0s",
        ])
        .args([
            "-u",
            "100",
            "-r",
            "1000",
            "-t",
            "8s",
            "--stop-timeout",
            "5s",
        ])
        .args(["--exit-code-on-error", "0", "--csv", "port", "--quiet"])
        .env("SHOP_PASSWORD", "secret")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (_, rows) = read_csv(&dir.path().join("port_exceptions.csv"));
    assert!(rows.is_empty(), "{rows:?}");
    let (_, rows) = read_csv(&dir.path().join("port_stats.csv"));
    let total: u64 = rows.last().unwrap()[2].parse().unwrap();
    eprintln!("ported locustfile: {total} requests");
    // Enough requests for the shares below to sit well within 0.02 of the weights (one standard
    // deviation is under 0.007 at this count), even on a loaded two-core machine.
    assert!(
        total >= 6_000,
        "a run of at least 6,000 requests, got {total}"
    );

    // Locust's mix follows the task weights: browse 3, checkout 1 (three requests).
    let scenario = brood_plan::load_scenario(&file).unwrap();
    let opts = brood_plan::LoadOptions {
        host: Some(host.clone()),
        ..brood_plan::LoadOptions::default()
    };
    let expected = brood_plan::compile(&scenario, &opts)
        .unwrap()
        .expected_mix();
    assert_eq!(expected.len(), 5);
    for (entry, share) in expected {
        let got = requests_of(&rows, &entry.method, &entry.name) as f64 / total as f64;
        assert!(
            (got - share).abs() < 0.02,
            "{} {}: {got:.4} of requests, expected {share:.4}",
            entry.method,
            entry.name
        );
    }
}

/// Hardening item 4: a secret read from the environment into a URL never reaches a report, the
/// console or the JSON, even when the request fails with a reason that quotes the URL (a redirect
/// to a bad location that echoes it, as written and percent-encoded).
#[test]
fn hardening_4_secrets_in_urls_are_shown_as_their_templates() {
    const SECRET: &str = "Sup3r/S3cret value";
    const ENCODED: &str = "Sup3r%2FS3cret%20value";
    let script = format!(
        "HTTP/1.1 302 Found\r\nLocation: http://[bad/?key={ENCODED}&again={SECRET}\r\nContent-Length: 0\r\n\r\n"
    );
    let target =
        brood_target::RawTarget::start(script.into_bytes(), brood_target::RawMode::default())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let scenario = format!(
        "host: http://{}\nusers:\n  - name: u\n    wait: constant(50ms)\n    tasks:\n      - request: {{ url: /login, query: {{ key: \"{{{{env.BROOD_SECRET}}}}\" }}, name: /login }}\n      - request: {{ url: \"/p/{{{{env.BROOD_SECRET}}}}/x\", name: /p }}\n",
        target.addr()
    );
    std::fs::write(dir.path().join("s.yaml"), scenario).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_brood"))
        .args(["run", "-f", "s.yaml", "-u", "2", "-r", "100", "-t", "2s"])
        .args(["--csv", "out", "--json", "out.json", "--html", "out.html"])
        .env("BROOD_SECRET", SECRET)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let mut seen = String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(&o);
    for file in [
        "out.json",
        "out.html",
        "out_stats.csv",
        "out_failures.csv",
        "out_exceptions.csv",
        "out_stats_history.csv",
    ] {
        seen += &std::fs::read_to_string(dir.path().join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    let failures = std::fs::read_to_string(dir.path().join("out_failures.csv")).unwrap();
    assert!(
        failures.contains("redirect to an invalid location"),
        "the bad redirect is a failure: {failures}"
    );
    assert!(failures.contains("{{env.BROOD_SECRET}}"), "{failures}");
    for spelling in [SECRET, ENCODED, "Sup3r", "S3cret"] {
        assert!(!seen.contains(spelling), "{spelling:?} reached the output");
    }
}

/// Hardening item 15: the summary table's req/s is the JSON's (and the CSV's and the history's):
/// both divide by the seconds from the start to the last request.
#[test]
fn hardening_15_the_summary_table_and_the_json_agree_on_req_s() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_brood"))
        .args(["run", &target.url("/"), "-u", "2", "-r", "100", "-t", "2s"])
        .args(["--json", "out.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("Aggregated") && l.contains('|'))
        .unwrap_or_else(|| panic!("{stdout}"));
    let fields: Vec<&str> = line.split_whitespace().collect();
    let table_rps: f64 = fields[fields.len() - 2].parse().unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.json")).unwrap())
            .unwrap();
    let json_rps = json["totals"]["rps"].as_f64().unwrap();
    assert!(json_rps > 0.0);
    assert!(
        (table_rps - json_rps).abs() < 0.01 + json_rps * 1e-4,
        "table {table_rps} vs JSON {json_rps}: {line}"
    );
}

/// A run that sent nothing never passes: no user starts within the run time (spawn rate 1,
/// 1 s), or no user at all.
#[test]
fn a_run_that_generated_no_load_exits_4_and_says_why() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = target.url("/");
    let cases: [&[&str]; 2] = [
        &["run", &url, "-u", "0", "-t", "1s"],
        &["run", &url, "-u", "2", "-r", "0.1", "-t", "1s"],
    ];
    for args in cases {
        let o = brood(args, dir.path());
        assert_eq!(o.status.code(), Some(4), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("the run generated no load"),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(target.requests(), 0);
}

/// Hardening item 15: the JSON summary and the HTML report are written whole at the end or not
/// at all: a run killed before its end leaves an earlier run's files as they were, never an
/// empty file, and no temporary file behind.
#[test]
fn hardening_15_reports_are_never_left_empty() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("out.json"), "{\"earlier\": true}").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_brood"))
        .args([
            "run",
            &target.url("/"),
            "-u",
            "2",
            "-r",
            "100",
            "-t",
            "60s",
            "--quiet",
        ])
        .args(["--json", "out.json", "--html", "out.html"])
        .current_dir(dir.path())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while target.requests() < 100 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.json")).unwrap(),
        "{\"earlier\": true}"
    );
    assert!(!dir.path().join("out.html").exists());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["out.json"], "{left:?}");
}

/// Hardening item 14: a response with two different Content-Length values is a failure with
/// that reason (RFC 9112 §6.3), not a hang or a success with leftover bytes.
#[test]
fn hardening_14_conflicting_content_lengths_are_failures() {
    let script = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nhello".to_vec();
    let target = brood_target::RawTarget::start(script, brood_target::RawMode::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = brood(
        &[
            "run",
            &target.url("/"),
            "-u",
            "1",
            "-r",
            "10",
            "-t",
            "1s",
            "--csv",
            "c",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let failures = std::fs::read_to_string(dir.path().join("c_failures.csv")).unwrap();
    assert!(
        failures.contains("conflicting Content-Length values 2 and 5"),
        "{failures}"
    );
}

/// Hardening item 5: load figures past what this machine can run are refused at once with an
/// error naming the flag, the limit and the override, and the refused run stays small.
#[test]
fn hardening_5_huge_loads_are_refused_naming_flag_limit_and_override() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["-u", "10000000", "-r", "10000000", "-t", "3s"], "--users"),
        (&["--arrival-rate", "1e9", "-t", "15s"], "--arrival-rate"),
        (&["--arrival-rate", "1e308", "-t", "15s"], "--arrival-rate"),
        (&["--stages", "1s:10000000"], "--stages"),
        (
            &[
                "--arrival-rate",
                "10",
                "--max-users",
                "4000000000",
                "-t",
                "1s",
            ],
            "--max-users",
        ),
    ];
    for (flags, flag) in cases {
        let mut args = vec!["run", "http://127.0.0.1:9/"];
        args.extend_from_slice(flags);
        let started = Instant::now();
        let child = Command::new(env!("CARGO_BIN_EXE_brood"))
            .args(&args)
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let o = child.wait_with_output().unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: {err}");
        assert!(err.contains("at most"), "{args:?}: {err}");
        assert!(err.contains("--allow-huge-load"), "{args:?}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{args:?} was not refused at once"
        );
    }
}

/// Hardening item 5: the override runs what the bounds refuse (a rate far above the machine's,
/// capped by --max-users, for one second against a closed port): the engine's dispatcher still
/// yields, the run ends on time, and its peak RSS stays below 256 MiB.
#[test]
fn hardening_5_the_override_runs_capped_and_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_brood"))
        .args([
            "run",
            "http://127.0.0.1:9/",
            "--arrival-rate",
            "1e9",
            "--max-users",
            "1000",
            "-t",
            "1s",
            "-q",
            "--allow-huge-load",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        let text = std::fs::read_to_string(&status_file).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.starts_with("VmHWM:")) {
            let kib = line[6..].trim().trim_end_matches("kB").trim().parse();
            peak_kib = peak_kib.max(kib.unwrap_or(0));
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the run did not end"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(peak_kib > 0, "no memory figure read");
    assert!(peak_kib < 256 * 1024, "peak RSS {} MiB", peak_kib / 1024);
    // Nothing answers on port 9: every request fails, so the run does not pass.
    assert_ne!(status.code(), Some(0));
    assert_ne!(status.code(), Some(2));
}

/// Hardening item 13: an unset `{{env.X}}` makes every task end before its request. The run
/// still ends on time (the users used to spin without yielding), exits 4, and says why.
#[test]
fn hardening_13_an_unset_env_variable_ends_the_run_with_exit_4() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("env.yaml"),
        format!(
            "host: {}\nusers:\n  - name: u\n    tasks:\n      - request: {{ url: \"/?k={{{{env.BROOD_TEST_UNSET_SECRET}}}}\" }}\n",
            target.url("")
        ),
    )
    .unwrap();
    let started = Instant::now();
    let o = brood(
        &[
            "run", "-f", "env.yaml", "-u", "2", "-r", "10", "-t", "1s", "-q",
        ],
        dir.path(),
    );
    let err = stderr(&o);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("scenario error(s) ended tasks"), "{err}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Scenario errors"), "{out}");
    assert!(out.contains("BROOD_TEST_UNSET_SECRET"), "{out}");
}

/// Hardening item 13: against a target that never answers, the summary text, the JSON and the
/// verdict all say how many requests were cut off in flight.
#[test]
fn hardening_13_cut_off_requests_are_reported_and_never_pass() {
    let target = brood_target::RawTarget::start(
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
        brood_target::RawMode {
            pause: Duration::from_secs(3600),
            ..brood_target::RawMode::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = brood(
        &[
            "run",
            &target.url("/"),
            "-u",
            "5",
            "-r",
            "100",
            "-t",
            "1s",
            "-q",
            "--json",
            "s.json",
        ],
        dir.path(),
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("5 requests in flight at the end were cut off"),
        "{out}"
    );
    assert!(
        err.contains("5 requests in flight at the end were cut off"),
        "{err}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("s.json")).unwrap()).unwrap();
    assert_eq!(json["cut_off_requests"], 5);
}

/// Hardening item 6: `--max-body` takes sizes and refuses nonsense, naming the flag.
#[test]
fn hardening_6_max_body_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["0", "12XB", "1.5MiB", "99999999999999999999GiB"] {
        let o = brood(
            &["run", "http://127.0.0.1:9/", "--max-body", bad, "--dry-run"],
            dir.path(),
        );
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(stderr(&o).contains("--max-body"), "{bad}: {}", stderr(&o));
    }
    let o = brood(
        &[
            "run",
            "http://127.0.0.1:9/",
            "--max-body",
            "1MiB",
            "--dry-run",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
