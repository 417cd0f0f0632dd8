//! A scripted TCP target: it reads each request head and answers with fixed bytes, however
//! broken, so a client's handling of malformed and truncated responses can be tested.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::background::{self, Background, StopSignal};

/// Largest request head the raw target reads before giving up on the connection.
const MAX_HEAD: usize = 64 << 10;

/// How a [`RawTarget`] treats each connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawMode {
    /// Close the connection right after answering its first request. Otherwise the target waits
    /// for the next request on the same connection, and closes only when the client does.
    pub close_after: bool,
    /// Close with a TCP reset instead of an orderly FIN (only with `close_after`).
    pub reset: bool,
    /// Wait this long after reading a request head before answering, to trip client timeouts.
    pub pause: Duration,
}

/// A TCP server that answers every request with the same script of bytes.
///
/// Requests are framed by their head (up to the blank line) and a Content-Length body, which is
/// read and discarded; chunked request bodies are not understood.
#[derive(Debug)]
pub struct RawTarget {
    addr: SocketAddr,
    counts: Arc<RawCounts>,
    background: Background,
}

#[derive(Debug, Default)]
struct RawCounts {
    requests: AtomicU64,
    connections: AtomicU64,
}

impl RawTarget {
    /// Listens on a free port of 127.0.0.1 and starts answering before returning.
    pub fn start(script: Vec<u8>, mode: RawMode) -> io::Result<RawTarget> {
        let std_listener = StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let runtime = background::runtime("brood-raw-target", 1)?;
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(std_listener)?
        };
        let counts = Arc::new(RawCounts::default());
        let script = Script {
            bytes: script.into(),
            mode,
            counts: counts.clone(),
        };
        let background = Background::spawn("brood-raw-target", runtime, move |stop| {
            accept(listener, Arc::new(script), stop)
        })?;
        Ok(RawTarget {
            addr,
            counts,
            background,
        })
    }

    /// The address the target listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `http://` URL of `path` on this target.
    pub fn url(&self, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("http://{}{slash}{path}", self.addr)
    }

    /// Request heads read.
    pub fn requests(&self) -> u64 {
        self.counts.requests.load(Ordering::Relaxed)
    }

    /// TCP connections accepted.
    pub fn connections(&self) -> u64 {
        self.counts.connections.load(Ordering::Relaxed)
    }

    /// Stops accepting, closes every connection and waits for the target's thread to end.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for RawTarget {
    fn drop(&mut self) {
        self.background.stop();
    }
}

#[derive(Debug)]
struct Script {
    bytes: Arc<[u8]>,
    mode: RawMode,
    counts: Arc<RawCounts>,
}

async fn accept(listener: TcpListener, script: Arc<Script>, mut stop: StopSignal) {
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                script.counts.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(answer(stream, script.clone()));
            }
            // As in the HTTP target: accept errors are transient, so wait and go on.
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

/// Answers each request on `stream` with the script until the client leaves or the mode says
/// to close. I/O errors end the connection, which is all a peer that broke it could expect.
async fn answer(mut stream: TcpStream, script: Arc<Script>) {
    let _ = stream.set_nodelay(true);
    let mut buffer = Vec::new();
    loop {
        match next_request(&mut stream, &mut buffer).await {
            Ok(true) => {}
            Ok(false) | Err(_) => return,
        }
        script.counts.requests.fetch_add(1, Ordering::Relaxed);
        if !script.mode.pause.is_zero() {
            tokio::time::sleep(script.mode.pause).await;
        }
        if stream.write_all(&script.bytes).await.is_err() {
            return;
        }
        if script.mode.close_after {
            if script.mode.reset {
                let _ = stream.set_zero_linger();
            } else {
                let _ = stream.shutdown().await;
            }
            return;
        }
    }
}

/// Reads one request (head and Content-Length body) from `stream`, leaving any bytes after it
/// in `buffer`. `Ok(false)` means the client closed before sending a whole head.
async fn next_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<bool> {
    let head_len = loop {
        if let Some(len) = head_length(buffer) {
            break len;
        }
        if buffer.len() > MAX_HEAD || stream.read_buf(buffer).await? == 0 {
            return Ok(false);
        }
    };
    let body_len = content_length(&buffer[..head_len]);
    let mut request_len = head_len.saturating_add(body_len);
    while buffer.len() < request_len {
        let before = buffer.len();
        if stream.read_buf(buffer).await? == 0 {
            // The body ended early; answer what arrived, as a lenient server would.
            request_len = before;
        }
    }
    buffer.drain(..request_len);
    Ok(true)
}

/// Length of the request head at the start of `buffer`, blank line included, once complete.
fn head_length(buffer: &[u8]) -> Option<usize> {
    buffer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// The Content-Length a request head declares, 0 if none or unreadable.
fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_end_at_the_blank_line() {
        assert_eq!(
            head_length(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest"),
            Some(27)
        );
        assert_eq!(head_length(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }

    #[test]
    fn content_length_is_read_case_insensitively() {
        assert_eq!(
            content_length(b"POST / HTTP/1.1\r\ncontent-LENGTH: 12\r\n\r\n"),
            12
        );
        assert_eq!(content_length(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
        assert_eq!(
            content_length(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            0
        );
    }
}
