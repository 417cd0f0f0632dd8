//! Each route of the HTTP target over plain HTTP/1.1: status, headers, body and counts.

use std::io::Read as _;
use std::time::Duration;

use brood_target::{text, Target, TargetConfig};
use serde_json::Value;

use crate::client::{raw_exchange, split_head, until, Client, Proto};

fn start() -> Target {
    Target::start(TargetConfig::default()).expect("target starts")
}

async fn h1(target: &Target) -> Client {
    Client::connect(target, Proto::Http1).await
}

#[tokio::test]
async fn root_says_hello_like_the_benchmark_nginx() {
    let target = start();
    let mut client = h1(&target).await;
    let reply = client.fetch("/").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "Hello, world!");
    assert_eq!(reply.header("content-length"), Some("13"));
    assert_eq!(target.requests(), 1);
    assert_eq!(target.requests_to("/"), 1);
    assert_eq!(target.connections(), 1);
}

#[tokio::test]
async fn keep_alive_reuses_one_connection() {
    let target = start();
    let mut client = h1(&target).await;
    for _ in 0..5 {
        assert_eq!(client.fetch("/").await.status, 200);
    }
    assert_eq!(target.requests(), 5);
    assert_eq!(target.connections(), 1);
    assert_eq!(target.open_connections(), 1);
}

#[tokio::test]
async fn delay_waits_the_given_milliseconds() {
    let target = start();
    let mut client = h1(&target).await;
    let reply = client.fetch("/delay/150").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.delay_ms(), 150);
    assert!(
        reply.elapsed >= Duration::from_millis(150),
        "{:?}",
        reply.elapsed
    );
    assert!(
        reply.elapsed < Duration::from_millis(1500),
        "{:?}",
        reply.elapsed
    );
    assert_eq!(target.requests_to("/delay"), 1);
    assert_eq!(client.fetch("/delay/soon").await.status, 400);
}

#[tokio::test]
async fn bimodal_slows_every_nth_request_starting_with_the_first() {
    let target = start();
    let mut client = h1(&target).await;
    let mut delays = Vec::new();
    for _ in 0..7 {
        let reply = client.fetch("/bimodal/1/120/3").await;
        if reply.delay_ms() == 120 {
            assert!(
                reply.elapsed >= Duration::from_millis(120),
                "{:?}",
                reply.elapsed
            );
        }
        delays.push(reply.delay_ms());
    }
    assert_eq!(delays, [120, 1, 1, 120, 1, 1, 120]);
    assert_eq!(target.requests_to("/bimodal"), 7);
    // A reset restarts the sequence, so the next request is the slow first one again.
    target.reset_counts();
    assert_eq!(client.fetch("/bimodal/1/120/3").await.delay_ms(), 120);
    assert_eq!(client.fetch("/bimodal/0/120/0").await.status, 400);
}

#[tokio::test]
async fn status_answers_the_asked_code() {
    let target = start();
    let mut client = h1(&target).await;
    let reply = client.fetch("/status/503").await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.text(), "503 Service Unavailable\n");
    let reply = client.fetch("/status/204").await;
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty());
    assert_eq!(client.fetch("/status/299").await.status, 299);
    assert_eq!(client.fetch("/status/100").await.status, 400);
    assert_eq!(target.requests_to("/status"), 4);
}

#[test]
fn drop_closes_the_connection_without_a_byte() {
    let target = start();
    let request = "GET /drop HTTP/1.1\r\nHost: t\r\n\r\n";
    match raw_exchange(target.addr(), request) {
        Ok(received) => assert!(received.is_empty(), "{received:?}"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    assert_eq!(target.requests_to("/drop"), 1);
    assert!(crate::client::eventually(|| target.open_connections() == 0));
}

#[tokio::test]
async fn drop_fails_an_http_client_without_a_response() {
    let target = start();
    let mut client = h1(&target).await;
    let request = client.get("/drop", &[]);
    let error = client.try_send(request).await.expect_err("no response");
    assert!(
        error.is_incomplete_message() || error.is_closed(),
        "{error}"
    );
}

#[tokio::test]
async fn slow_body_sends_headers_then_paced_chunks() {
    let target = start();
    let mut client = h1(&target).await;
    let reply = client.fetch("/slow-body/3/100").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert_eq!(reply.text(), "000000000\n000000001\n000000002\n");
    assert!(
        reply.elapsed >= Duration::from_millis(300),
        "{:?}",
        reply.elapsed
    );
    assert!(
        reply.elapsed < Duration::from_millis(2000),
        "{:?}",
        reply.elapsed
    );
}

#[test]
fn slow_body_head_arrives_before_the_body() {
    let target = start();
    let mut stream = std::net::TcpStream::connect(target.addr()).expect("connect");
    let request = "GET /slow-body/2/300 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    std::io::Write::write_all(&mut stream, request.as_bytes()).expect("send");
    let started = std::time::Instant::now();
    let mut first = [0u8; 16];
    let n = stream.read(&mut first).expect("head");
    assert!(first[..n].starts_with(b"HTTP/1.1 200"));
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn bytes_sends_a_counted_body_of_the_reference_text() {
    let target = start();
    let mut client = h1(&target).await;
    let reply = client.fetch("/bytes/200000").await;
    assert_eq!(reply.header("content-length"), Some("200000"));
    assert_eq!(reply.header("transfer-encoding"), None);
    assert_eq!(reply.body.as_ref(), text(200_000).as_slice());
    let empty = client.fetch("/bytes/0").await;
    assert_eq!(empty.header("content-length"), Some("0"));
    assert!(empty.body.is_empty());
}

#[test]
fn chunked_sends_several_chunks_without_a_length() {
    let target = start();
    let request = "GET /chunked/1000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    let raw = raw_exchange(target.addr(), request).expect("exchange");
    let (head, body) = split_head(&raw);
    let head = head.to_ascii_lowercase();
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    // 1000 bytes in four chunks of 250, then the last, empty chunk.
    let (sizes, data) = dechunk(&body);
    assert_eq!(sizes, [250, 250, 250, 250, 0]);
    assert_eq!(data, text(1000));
}

/// The chunk sizes of a chunked body (the last, empty one included) and its data.
fn dechunk(mut body: &[u8]) -> (Vec<usize>, Vec<u8>) {
    let (mut sizes, mut data) = (Vec::new(), Vec::new());
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("size line");
        let size_text = std::str::from_utf8(&body[..line_end]).expect("ascii size");
        let size = usize::from_str_radix(size_text, 16).expect("hex size");
        sizes.push(size);
        body = &body[line_end + 2..];
        if size == 0 {
            assert_eq!(body, b"\r\n", "nothing after the last chunk");
            return (sizes, data);
        }
        data.extend_from_slice(&body[..size]);
        assert_eq!(&body[size..size + 2], b"\r\n");
        body = &body[size + 2..];
    }
}

#[tokio::test]
async fn gzip_and_brotli_follow_accept_encoding() {
    let target = start();
    let mut client = h1(&target).await;
    let n = 50_000;

    let request = client.get("/gzip/50000", &[("accept-encoding", "gzip, br")]);
    let reply = client.send(request).await;
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
    assert!(
        reply.body.len() < n / 10,
        "compressed to {}",
        reply.body.len()
    );
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(reply.body.as_ref())
        .read_to_end(&mut plain)
        .expect("gunzip");
    assert_eq!(plain, text(n));

    let request = client.get("/brotli/50000", &[("accept-encoding", "gzip, br")]);
    let reply = client.send(request).await;
    assert_eq!(reply.header("content-encoding"), Some("br"));
    let mut plain = Vec::new();
    brotli::Decompressor::new(reply.body.as_ref(), 4096)
        .read_to_end(&mut plain)
        .expect("unbrotli");
    assert_eq!(plain, text(n));

    for path in ["/gzip/50000", "/brotli/50000"] {
        let request = client.get(path, &[("accept-encoding", "identity")]);
        let reply = client.send(request).await;
        assert_eq!(reply.header("content-encoding"), None, "{path}");
        assert_eq!(reply.body.as_ref(), text(n).as_slice(), "{path}");
    }
    assert_eq!(target.requests_to("/gzip"), 2);
    assert_eq!(target.requests_to("/brotli"), 2);
}

#[tokio::test]
async fn redirects_count_down_to_a_200() {
    let target = start();
    let mut client = h1(&target).await;
    let mut path = "/redirect/3".to_owned();
    let mut hops = 0;
    loop {
        let reply = client.fetch(&path).await;
        if reply.status == 200 {
            break;
        }
        assert_eq!(reply.status, 302);
        path = reply.header("location").expect("location").to_owned();
        hops += 1;
    }
    assert_eq!(hops, 3);
    assert_eq!(path, "/redirect/0");
    assert_eq!(target.requests_to("/redirect"), 4);

    let reply = client.fetch("/redirect-abs/2").await;
    assert_eq!(reply.status, 302);
    assert_eq!(
        reply.header("location"),
        Some(target.url("/redirect-abs/1").as_str())
    );
    assert_eq!(client.fetch("/redirect-abs/0").await.status, 200);
    assert_eq!(target.requests_to("/redirect-abs"), 2);
}

#[tokio::test]
async fn stall_freezes_the_start_of_every_period() {
    let target = start();
    let period = Duration::from_millis(600);
    let mut client = h1(&target).await;
    // Aim at 50 ms into the next period (inside the 300 ms stall), then at 400 ms (outside).
    let into = |at: Duration| {
        let phase = target.started().elapsed().as_nanos() % period.as_nanos();
        let phase = Duration::from_nanos(phase as u64);
        if phase <= at {
            at - phase
        } else {
            period - phase + at
        }
    };
    tokio::time::sleep(into(Duration::from_millis(50))).await;
    let stalled = client.fetch("/stall/600/300").await;
    assert!(stalled.delay_ms() > 100, "{}", stalled.delay_ms());
    assert!(
        stalled.elapsed >= Duration::from_millis(100),
        "{:?}",
        stalled.elapsed
    );

    tokio::time::sleep(into(Duration::from_millis(400))).await;
    let free = client.fetch("/stall/600/300").await;
    assert_eq!(free.delay_ms(), 0);
    assert!(
        free.elapsed < Duration::from_millis(200),
        "{:?}",
        free.elapsed
    );
    assert_eq!(target.requests_to("/stall"), 2);
}

#[test]
fn close_answers_then_closes() {
    let target = start();
    // No "Connection: close" from the client: the server alone decides to close.
    let raw =
        raw_exchange(target.addr(), "GET /close HTTP/1.1\r\nHost: t\r\n\r\n").expect("exchange");
    let (head, body) = split_head(&raw);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    assert_eq!(body, b"closing\n");
}

#[tokio::test]
async fn echo_reports_what_was_sent() {
    let target = start();
    let mut client = h1(&target).await;
    let headers = [
        ("x-test", "one"),
        ("x-test", "two"),
        ("content-type", "text/plain"),
    ];
    let request = client.request("POST", "/echo/sub?a=1&b=2", &headers, "hello body");
    let reply = client.send(request).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let echo: Value = serde_json::from_slice(&reply.body).expect("json");
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/echo/sub");
    assert_eq!(echo["query"], "a=1&b=2");
    assert_eq!(echo["headers"]["x-test"], "one, two");
    assert_eq!(echo["headers"]["content-length"], "10");
    assert_eq!(echo["body"], "hello body");
}

#[tokio::test]
async fn cookies_are_set_and_read_back() {
    let target = start();
    let mut client = h1(&target).await;
    let reply = client.fetch("/cookies/set?session=abc&theme=dark").await;
    let set: Vec<&str> = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii"))
        .collect();
    assert_eq!(set, ["session=abc; Path=/", "theme=dark; Path=/"]);

    let request = client.get("/cookies", &[("cookie", "session=abc; theme=dark")]);
    let received: Value = serde_json::from_slice(&client.send(request).await.body).expect("json");
    assert_eq!(
        received,
        serde_json::json!({"session": "abc", "theme": "dark"})
    );
    assert_eq!(target.requests_to("/cookies"), 2);
}

#[tokio::test]
async fn unknown_paths_are_not_found_and_counted_by_prefix() {
    let target = start();
    let mut client = h1(&target).await;
    assert_eq!(client.fetch("/nope/1").await.status, 404);
    assert_eq!(client.fetch("/nope").await.status, 404);
    assert_eq!(client.fetch("/delay").await.status, 404);
    assert_eq!(target.requests_to("/nope"), 2);
    assert_eq!(target.requests_to("/delay"), 1);
    assert_eq!(target.requests(), 3);
    drop(client);
    assert!(until(|| target.open_connections() == 0).await);
}
