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
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("Host: {addr}\r\n"));
    }
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
        metrics.contains(&format!(
            "brood_requests_total{{run=\"{id}\",region=\"local-b\",method=\"GET\",name=\"/fixed/2\"}}"
        )),
        "{metrics}"
    );
    assert!(!metrics.contains("region=\"all\""), "{metrics}");

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

/// The CSRF token a page on this server would send.
fn csrf(addr: &str) -> String {
    let (status, session) = http(addr, "GET", "/api/session", &[], "");
    assert_eq!(status, 200, "{session}");
    json(&session)["csrf"].as_str().unwrap().to_string()
}

/// Hardening item 1: a scenario submitted through the page reads feed files only from the folder
/// `brood serve` was told to use; every other path is refused with an error that quotes nothing
/// of the file, the server's signing key and environment included.
#[test]
fn hardening_1_the_web_form_reads_no_file_outside_its_data_folder() {
    let results = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("users.csv"), "name\nann\nbob\n").unwrap();
    std::fs::write(results.path().join("controller.key"), "KEYBYTES-0123\nx\n").unwrap();
    let (server, _) = serve(
        &[
            "--bind",
            "127.0.0.1:0",
            "--data",
            data.path().to_str().unwrap(),
        ],
        results.path(),
    );
    let addr = server.addr.clone();
    let csrf = csrf(&addr);
    let preview = |file: &str| {
        let scenario = format!(
            "host: http://127.0.0.1:9\nusers:\n  - name: u\n    feeds: [{{file: {file:?}}}]\n    tasks: [GET /]\n"
        );
        let form = serde_json::json!({ "scenario": scenario, "users": "1", "run_time": "1s" });
        http(
            &addr,
            "POST",
            "/api/preview",
            &[
                ("Content-Type", "application/json"),
                ("X-CSRF-Token", &csrf),
            ],
            &form.to_string(),
        )
    };
    let key = results.path().join("controller.key");
    for file in [
        "/proc/self/environ",
        "/etc/passwd",
        "../../../../etc/passwd",
        key.to_str().unwrap(),
        &format!("../{}/controller.key", results.path().display()),
    ] {
        let (status, body) = preview(file);
        assert_eq!(status, 422, "{file}: {body}");
        assert!(
            body.contains("is outside the folder feed files are read from"),
            "{file}: {body}"
        );
        for leaked in ["KEYBYTES", "root:", "PATH=", "HOME="] {
            assert!(!body.contains(leaked), "{file} leaked {leaked}: {body}");
        }
    }
    let (status, body) = preview("users.csv");
    assert_eq!(status, 200, "a feed in the data folder is read: {body}");
}

/// Hardening item 2: on loopback, only the exact loopback names are answered, in any case; names
/// that merely start like a loopback address (DNS rebinding) get nothing, not even the CSRF token.
#[test]
fn hardening_2_dns_rebinding_host_names_are_refused() {
    let results = tempfile::tempdir().unwrap();
    let (server, _) = serve(&["--bind", "127.0.0.1:0"], results.path());
    let addr = server.addr.clone();
    let port = addr.rsplit_once(':').unwrap().1;
    for host in [
        "127.attacker.example",
        "127.0.0.1.nip.io",
        "localhost.evil.example",
    ] {
        let host = format!("{host}:{port}");
        let (status, body) = http(&addr, "GET", "/api/session", &[("Host", &host)], "");
        assert_eq!(status, 403, "{host}: {body}");
        assert!(!body.contains("csrf"), "{host}: {body}");
    }
    for host in ["LOCALHOST", "localhost", "127.0.0.1"] {
        let host = format!("{host}:{port}");
        let (status, body) = http(&addr, "GET", "/api/session", &[("Host", &host)], "");
        assert_eq!(status, 200, "{host}: {body}");
    }
}

/// Hardening item 3: clients that send their request head slowly (a byte at a time) or not at all
/// are cut off after the head timeout, connections past the cap are refused at once, and normal
/// requests are served again as soon as the slow clients are gone.
#[test]
fn hardening_3_slowloris_clients_are_cut_off() {
    let open_slowly = |addr: &str, n: usize| -> Vec<TcpStream> {
        (0..n)
            .map(|_| {
                let mut s = TcpStream::connect(addr).unwrap();
                let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
                s
            })
            .collect()
    };
    let answer = |s: &mut TcpStream| -> std::io::Result<Vec<u8>> {
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut buf = Vec::new();
        match s.read_to_end(&mut buf) {
            Ok(_) => Ok(buf),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(buf),
            Err(e) => Err(e),
        }
    };

    // The cap: with a head timeout far longer than the test, 40 slow clients hold every slot and
    // each connection past them is answered 503 at once, normal requests included.
    let results = tempfile::tempdir().unwrap();
    let (server, _) = serve(
        &[
            "--bind",
            "127.0.0.1:0",
            "--head-timeout",
            "60s",
            "--max-connections",
            "40",
        ],
        results.path(),
    );
    let held = open_slowly(&server.addr, 40);
    std::thread::sleep(Duration::from_millis(300));
    let mut refused = 0;
    // Past the cap, connections that send nothing yet (so the server's close is a clean one,
    // not a reset over unread bytes).
    for mut s in (0..60).map(|_| TcpStream::connect(&server.addr).unwrap()) {
        let got = answer(&mut s).expect("a connection past the cap is answered at once");
        refused += usize::from(got.starts_with(b"HTTP/1.1 503"));
    }
    assert_eq!(refused, 60, "connections past the cap of 40");
    drop(held);
    // Until the server has seen the held connections close, a new one may still be refused
    // (and reset while its request is written): probe without insisting on an answer.
    let served = |addr: &str| -> bool {
        let Ok(mut s) = TcpStream::connect(addr) else {
            return false;
        };
        let probe =
            format!("GET /api/config HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        let mut got = Vec::new();
        s.write_all(probe.as_bytes()).is_ok()
            && s.read_to_end(&mut got).is_ok()
            && got.starts_with(b"HTTP/1.1 200")
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !served(&server.addr) {
        assert!(Instant::now() < deadline, "slots were not freed");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);

    // The head timeout: clients trickling a byte every 250 ms are cut off after 1 s, since the
    // timeout is for the whole head, not for each read.
    let results = tempfile::tempdir().unwrap();
    let (server, _) = serve(
        &["--bind", "127.0.0.1:0", "--head-timeout", "1s"],
        results.path(),
    );
    let started = Instant::now();
    let mut slow = open_slowly(&server.addr, 50);
    for _ in 0..8 {
        std::thread::sleep(Duration::from_millis(250));
        for s in &mut slow {
            let _ = s.write_all(b"X");
        }
    }
    for s in &mut slow {
        let got = answer(s).unwrap_or_else(|e| {
            panic!(
                "a slow client was still connected after {:?}: {e}",
                started.elapsed()
            )
        });
        assert!(
            !got.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&got)
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "slow clients held on for {:?}",
        started.elapsed()
    );
    let (status, _) = http(&server.addr, "GET", "/api/config", &[], "");
    assert_eq!(status, 200);
}
