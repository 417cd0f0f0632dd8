//! `brood serve` as a process: a real local 2-region run started, watched and stopped through the
//! JSON API, its files downloaded; the token off loopback. Plain HTTP/1.1 over a socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use brood_target::{Target, TargetConfig};

/// A `brood serve` child process, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(extra: &[&str], results: &std::path::Path) -> (Server, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_brood"))
        .args(["serve", "--results"])
        .arg(results)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut addr = None;
    while addr.is_none() {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "brood serve ended: {lines:?}"
        );
        if let Some(rest) = line.split("listening on http://").nth(1) {
            addr = Some(rest.split('/').next().unwrap().to_string());
        }
        lines.push(line);
    }
    // The lines after it (token, demo target) come at once; the last says where results go.
    while !lines
        .last()
        .is_some_and(|l: &String| l.starts_with("results under"))
    {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "brood serve ended: {lines:?}"
        );
        lines.push(line);
    }
    let addr = addr.unwrap().replace("localhost", "127.0.0.1");
    (Server { child, addr }, lines)
}

/// One request; the status and body.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text[9..12].parse().unwrap();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        unchunk(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}

fn unchunk(mut rest: &str) -> String {
    let mut out = String::new();
    loop {
        let Some((size, after)) = rest.split_once("\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn a_local_two_region_run_started_watched_and_stopped_through_the_api() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let results = tempfile::tempdir().unwrap();
    let (server, _) = serve(&["--bind", "127.0.0.1:0"], results.path());
    let addr = server.addr.clone();
    let (status, session) = http(&addr, "GET", "/api/session", &[], "");
    assert_eq!(status, 200);
    let csrf = json(&session)["csrf"].as_str().unwrap().to_string();
    let post = |path: &str, body: &str| {
        http(
            &addr,
            "POST",
            path,
            &[
                ("Content-Type", "application/json"),
                ("X-CSRF-Token", &csrf),
            ],
            body,
        )
    };
    let form = serde_json::json!({
        "url": target.url("/fixed/2"), "users": "4", "spawn_rate": "100", "run_time": "5m",
        "regions": "local-a,local-b:3", "workers": "1",
    });
    let mut bad = form.clone();
    bad["regions"] = "local-a,local-a".into();
    let (status, body) = post("/api/runs", &bad.to_string());
    assert_eq!(status, 422, "{body}");
    assert_eq!(json(&body)["errors"][0]["field"], "regions");

    let (status, body) = post("/api/runs", &form.to_string());
    assert_eq!(status, 201, "{body}");
    let id = json(&body)["id"].as_str().unwrap().to_string();
    let (status, _) = post("/api/runs", &form.to_string());
    assert_eq!(status, 409, "one run at a time");

    // Live figures for both regions arrive.
    let deadline = Instant::now() + Duration::from_secs(40);
    let live = loop {
        let (status, body) = http(&addr, "GET", &format!("/api/runs/{id}/live"), &[], "");
        assert_eq!(status, 200);
        let live = json(&body);
        let counted = |v: &serde_json::Value| {
            v["table"]
                .as_array()
                .and_then(|t| t.last())
                .and_then(|r| r["requests"].as_u64())
                .unwrap_or(0)
        };
        let regions = live["regions"].as_array().unwrap();
        if regions.len() == 2 && regions.iter().all(|r| counted(r) > 0) {
            break live;
        }
        assert!(Instant::now() < deadline, "no live figures: {live}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(live["state"], "running");
    assert_eq!(live["workers"].as_array().unwrap().len(), 2);
    let (_, metrics) = http(&addr, "GET", "/metrics", &[], "");
    assert!(
        metrics
            .contains("brood_requests_total{region=\"local-b\",method=\"GET\",name=\"/fixed/2\"}"),
        "{metrics}"
    );

    let (status, body) = post(&format!("/api/runs/{id}/stop"), "{}");
    assert_eq!(status, 202, "{body}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let live = loop {
        let (_, body) = http(&addr, "GET", &format!("/api/runs/{id}/live"), &[], "");
        let live = json(&body);
        if live["end"].is_string() {
            break live;
        }
        assert!(Instant::now() < deadline, "the run did not stop: {live}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(live["end"], "stopped");

    let (status, body) = http(&addr, "GET", &format!("/api/runs/{id}"), &[], "");
    assert_eq!(status, 200);
    let run = json(&body);
    assert_eq!(run["status"], "stopped");
    let requests = run["headline"]["requests"].as_u64().unwrap();
    assert!(requests > 0);
    assert!(run["rerunnable"].as_bool().unwrap());
    let names: Vec<&str> = run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    for want in [
        "merged_stats.csv",
        "merged_stats_history.csv",
        "summary.json",
        "report.html",
        "local-a/region_stats.csv",
        "local-b/region_stats.csv",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let (status, csv) = http(
        &addr,
        "GET",
        &format!("/api/runs/{id}/artifacts/merged_stats.csv"),
        &[],
        "",
    );
    assert_eq!(status, 200);
    assert!(csv.starts_with("Type,Name,Request Count,Failure Count,"));
    let aggregated = csv.lines().last().unwrap();
    assert!(
        aggregated.starts_with(&format!(",Aggregated,{requests},")),
        "{aggregated} vs {requests}"
    );
    // The target saw what the merged figures count, plus at most one request per user that the
    // stop cut off in flight.
    let seen = target.requests();
    assert!(
        seen >= requests && seen - requests <= 4,
        "target saw {seen}, merged {requests}"
    );
}

#[test]
fn off_loopback_a_token_is_generated_and_required() {
    let results = tempfile::tempdir().unwrap();
    let (server, lines) = serve(&["--bind", "0.0.0.0:0"], results.path());
    let token = lines
        .iter()
        .find_map(|l| l.split("?token=").nth(1))
        .map(|t| t.trim().to_string())
        .unwrap_or_else(|| panic!("no token printed: {lines:?}"));
    assert_eq!(token.len(), 32);
    let addr = server.addr.replace("0.0.0.0", "127.0.0.1");
    for path in ["/", "/api/runs", "/api/config", "/metrics"] {
        assert_eq!(http(&addr, "GET", path, &[], "").0, 401, "{path}");
        let wrong = [("Authorization", "Bearer 00000000000000000000000000000000")];
        assert_eq!(http(&addr, "GET", path, &wrong, "").0, 401, "{path}");
    }
    let bearer = format!("Bearer {token}");
    let (status, body) = http(&addr, "GET", "/api/runs", &[("Authorization", &bearer)], "");
    assert_eq!(status, 200, "{body}");
    let (status, page) = http(
        &addr,
        "GET",
        "/",
        &[("Cookie", &format!("brood_token={token}"))],
        "",
    );
    assert_eq!(status, 200);
    assert!(!page.contains(&token), "the page never shows the token");
}

#[test]
fn bad_serve_flags_name_themselves() {
    let results = tempfile::tempdir().unwrap();
    for (args, words) in [
        (vec!["--bind", "nowhere"], "--bind"),
        (vec!["--token", "short"], "--token"),
        (vec!["--config", "/nonexistent/brood.toml"], "--config"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_brood"))
            .arg("serve")
            .args(&args)
            .arg("--results")
            .arg(results.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(words), "{args:?}: {err}");
    }
    let config = results.path().join("serve.toml");
    std::fs::write(&config, "bind = \"127.0.0.1:0\"\nport = 1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_brood"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("port"));
}
