//! HTTP/2, TLS with ALPN, extra latency, counting, and the target's life cycle.

use std::time::{Duration, Instant};

use brood_target::{text, Target, TargetConfig};
use http::Version;
use http_body_util::BodyExt as _;

use crate::client::{eventually, raw_exchange, split_head, until, Client, Proto};

fn tls_target() -> Target {
    let config = TargetConfig {
        tls: true,
        ..TargetConfig::default()
    };
    Target::start(config).expect("tls target starts")
}

#[tokio::test]
async fn h2c_multiplexes_streams_on_one_connection() {
    let target = Target::start(TargetConfig::default()).expect("target starts");
    let mut client = Client::connect(&target, Proto::Http2).await;
    let hello = client.fetch("/").await;
    assert_eq!(hello.version, Version::HTTP_2);
    assert_eq!(hello.text(), "Hello, world!");

    // Ten 300 ms requests at once finish together when they truly share the connection.
    let started = Instant::now();
    let mut streams = Vec::new();
    for _ in 0..10 {
        let mut sender = client.h2_sender();
        let request = client.get("/delay/300", &[]);
        streams.push(tokio::spawn(async move {
            let response = sender.send_request(request).await.expect("response");
            response.into_body().collect().await.expect("body");
        }));
    }
    for stream in streams {
        stream.await.expect("stream task");
    }
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(target.requests_to("/delay"), 10);
    assert_eq!(target.connections(), 1);
}

#[tokio::test]
async fn h2c_serves_bodies_and_drops() {
    let target = Target::start(TargetConfig::default()).expect("target starts");
    let mut client = Client::connect(&target, Proto::Http2).await;
    let reply = client.fetch("/chunked/1000").await;
    assert_eq!(reply.body.as_ref(), text(1000).as_slice());
    let reply = client.fetch("/slow-body/2/10").await;
    assert_eq!(reply.text(), "000000000\n000000001\n");
    let request = client.get("/drop", &[]);
    assert!(client.try_send(request).await.is_err());
    assert_eq!(target.requests(), 3);
}

#[tokio::test]
async fn close_ends_an_h2_connection_after_the_response() {
    let target = Target::start(TargetConfig::default()).expect("target starts");
    let mut client = Client::connect(&target, Proto::Http2).await;
    let reply = client.fetch("/close").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "closing\n");
    // The client still holds its end; the server alone closes the connection.
    assert!(until(|| target.open_connections() == 0).await);
    let request = client.get("/", &[]);
    assert!(client.try_send(request).await.is_err());
}

#[tokio::test]
async fn tls_negotiates_http1_by_alpn() {
    let target = tls_target();
    assert!(target.url("/").starts_with("https://127.0.0.1:"));
    let mut client = Client::connect(&target, Proto::Http1).await;
    assert_eq!(client.alpn.as_deref(), Some(b"http/1.1".as_slice()));
    let reply = client.fetch("/").await;
    assert_eq!(reply.version, Version::HTTP_11);
    assert_eq!(reply.text(), "Hello, world!");
    let reply = client.fetch("/redirect-abs/1").await;
    assert_eq!(
        reply.header("location"),
        Some(target.url("/redirect-abs/0").as_str())
    );
}

#[tokio::test]
async fn tls_negotiates_h2_by_alpn() {
    let target = tls_target();
    let mut client = Client::connect(&target, Proto::Http2).await;
    assert_eq!(client.alpn.as_deref(), Some(b"h2".as_slice()));
    let reply = client.fetch("/bytes/100000").await;
    assert_eq!(reply.version, Version::HTTP_2);
    assert_eq!(reply.body.as_ref(), text(100_000).as_slice());
    assert_eq!(target.connections(), 1);
}

#[test]
fn plain_targets_have_no_certificate() {
    let target = Target::start(TargetConfig::default()).expect("target starts");
    assert_eq!(target.cert_der(), None);
    assert_eq!(
        target.url("delay/5"),
        format!("http://{}/delay/5", target.addr())
    );
}

#[tokio::test]
async fn extra_latency_comes_before_every_response() {
    let config = TargetConfig {
        extra_latency: Duration::from_millis(200),
        ..TargetConfig::default()
    };
    let target = Target::start(config).expect("target starts");
    let mut client = Client::connect(&target, Proto::Http1).await;
    for path in ["/", "/delay/50"] {
        let reply = client.fetch(path).await;
        assert!(
            reply.elapsed >= Duration::from_millis(200),
            "{path}: {:?}",
            reply.elapsed
        );
        assert!(
            reply.elapsed < Duration::from_millis(2000),
            "{path}: {:?}",
            reply.elapsed
        );
    }
    let reply = client.fetch("/delay/50").await;
    assert!(
        reply.elapsed >= Duration::from_millis(250),
        "{:?}",
        reply.elapsed
    );
    // The route's own wait is reported without the extra latency.
    assert_eq!(reply.delay_ms(), 50);
}

#[tokio::test]
async fn requests_are_counted_when_their_head_arrives() {
    let target = Target::start(TargetConfig::default()).expect("target starts");
    let mut client = Client::connect(&target, Proto::Http1).await;
    let request = client.get("/delay/600", &[]);
    let pending = tokio::spawn(async move { client.send(request).await });
    assert!(until(|| target.requests_to("/delay") == 1).await);
    assert!(!pending.is_finished());
    assert_eq!(pending.await.expect("reply").status, 200);
    target.reset_counts();
    assert_eq!(target.requests(), 0);
    assert_eq!(target.requests_to("/delay"), 0);
    assert_eq!(target.connections(), 0);
}

#[tokio::test]
async fn open_connections_follow_clients() {
    let target = Target::start(TargetConfig::default()).expect("target starts");
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut client = Client::connect(&target, Proto::Http1).await;
        client.fetch("/").await;
        clients.push(client);
    }
    assert_eq!(target.connections(), 3);
    assert!(until(|| target.open_connections() == 3).await);
    drop(clients);
    assert!(until(|| target.open_connections() == 0).await);
    assert_eq!(target.connections(), 3);
}

#[tokio::test]
async fn shutdown_is_prompt_and_closes_connections() {
    let target = Target::start(TargetConfig::default()).expect("target starts");
    let addr = target.addr();
    let mut client = Client::connect(&target, Proto::Http1).await;
    client.fetch("/").await;
    // A request still waiting must not hold the shutdown up.
    let request = client.get("/delay/10000", &[]);
    let pending = tokio::spawn(async move { client.try_send(request).await });
    assert!(until(|| target.requests() == 2).await);
    let started = Instant::now();
    target.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(pending.await.expect("task").is_err());
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[test]
fn serves_plain_threads_without_any_runtime() {
    let target = Target::start(TargetConfig::default()).expect("target starts");
    let request = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    let raw = raw_exchange(target.addr(), request).expect("exchange");
    let (head, body) = split_head(&raw);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"Hello, world!");
    assert!(eventually(|| target.open_connections() == 0));
}

#[test]
fn serves_runtimes_built_by_the_test() {
    let target = Target::start(TargetConfig::default()).expect("target starts");
    for _ in 0..2 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let reply = runtime.block_on(async {
            let mut client = Client::connect(&target, Proto::Http2).await;
            let request = client.request("PUT", "/echo", &[], "x");
            client.send(request).await
        });
        assert_eq!(reply.status, 200);
    }
    assert_eq!(target.requests_to("/echo"), 2);
}
