//! The scripted raw target: exact bytes out, and what an HTTP client makes of them.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use brood_target::{RawMode, RawTarget};

use crate::client::raw_exchange;

const GET: &str = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

fn closing() -> RawMode {
    RawMode {
        close_after: true,
        ..RawMode::default()
    }
}

/// Sends one GET with hyper's HTTP/1.1 client and reads the whole response.
async fn hyper_get(target: &RawTarget) -> Result<(u16, Vec<u8>), hyper::Error> {
    use http_body_util::{BodyExt as _, Empty};
    let tcp = tokio::net::TcpStream::connect(target.addr())
        .await
        .expect("connect");
    let io = hyper_util::rt::TokioIo::new(tcp);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(connection);
    let request = http::Request::get("/")
        .header("host", "t")
        .body(Empty::<bytes::Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body.to_vec()))
}

#[test]
fn sends_the_script_exactly() {
    let script = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi".to_vec();
    let target = RawTarget::start(script.clone(), closing()).expect("raw target");
    assert_eq!(raw_exchange(target.addr(), GET).expect("exchange"), script);
    assert_eq!(target.requests(), 1);
    assert_eq!(target.connections(), 1);
}

#[tokio::test]
async fn malformed_status_line_is_a_parse_error() {
    let target =
        RawTarget::start(b"HTTP/1.1 two hundred\r\n\r\n".to_vec(), closing()).expect("raw");
    let error = hyper_get(&target).await.expect_err("garbage refused");
    assert!(error.is_parse(), "{error}");
}

#[tokio::test]
async fn truncated_body_is_an_unexpected_eof() {
    let script = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".to_vec();
    let target = RawTarget::start(script, closing()).expect("raw target");
    let error = hyper_get(&target).await.expect_err("truncated");
    // The head parsed, so the failure is the body's: the connection ended seven bytes short.
    let cause = std::error::Error::source(&error).and_then(|e| e.downcast_ref::<std::io::Error>());
    assert_eq!(
        cause.map(std::io::Error::kind),
        Some(ErrorKind::UnexpectedEof),
        "{error:?}"
    );
}

#[tokio::test]
async fn close_delimited_body_ends_at_the_close() {
    let script = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end".to_vec();
    let target = RawTarget::start(script, closing()).expect("raw target");
    let (status, body) = hyper_get(&target).await.expect("response");
    assert_eq!(status, 200);
    assert_eq!(body, b"until the end");
}

#[test]
fn keep_alive_answers_each_request_on_the_connection() {
    let script = b"HTTP/1.1 204 No Content\r\n\r\n".to_vec();
    let target = RawTarget::start(script.clone(), RawMode::default()).expect("raw target");
    let mut stream = TcpStream::connect(target.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let post = "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
    for request in [GET, post, GET] {
        stream.write_all(request.as_bytes()).expect("send");
        let mut answer = vec![0; script.len()];
        stream.read_exact(&mut answer).expect("answer");
        assert_eq!(answer, script);
    }
    assert_eq!(target.requests(), 3);
    assert_eq!(target.connections(), 1);
}

#[test]
fn reset_mode_resets_instead_of_closing() {
    let mode = RawMode {
        reset: true,
        ..closing()
    };
    let target = RawTarget::start(b"HTTP/1.1 200 OK\r\n".to_vec(), mode).expect("raw target");
    let error = raw_exchange(target.addr(), GET).expect_err("reset");
    assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
}

#[test]
fn pause_delays_the_answer() {
    let mode = RawMode {
        pause: Duration::from_millis(200),
        ..closing()
    };
    let target = RawTarget::start(b"HTTP/1.1 200 OK\r\n\r\n".to_vec(), mode).expect("raw target");
    let started = Instant::now();
    raw_exchange(target.addr(), GET).expect("exchange");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    target.shutdown();
}
