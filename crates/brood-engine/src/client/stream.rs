//! Byte streams to a target: plain TCP or TLS over TCP, opened with their set-up times measured.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::ClientError;

/// A connection's byte stream. An enum rather than a trait object: one branch per read, no vtable.
#[derive(Debug)]
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// A freshly opened stream with the time each phase took.
#[derive(Debug)]
pub(crate) struct Opened {
    pub stream: Stream,
    pub connect_us: u64,
    pub tls_us: Option<u64>,
    /// The protocol the server chose by ALPN.
    pub h2: bool,
}

/// Connects to `host:port`, then runs the TLS handshake when `tls` is given.
pub(crate) async fn open(
    host: &str,
    port: u16,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Opened, ClientError> {
    let started = Instant::now();
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| ClientError::io("connect", &e))?;
    // Requests are written whole; Nagle's algorithm would only add latency.
    tcp.set_nodelay(true)
        .map_err(|e| ClientError::io("connect", &e))?;
    let connect_us = started.elapsed().as_micros() as u64;
    let Some(config) = tls else {
        return Ok(Opened {
            stream: Stream::Plain(tcp),
            connect_us,
            tls_us: None,
            h2: false,
        });
    };
    let handshake = Instant::now();
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| ClientError::Tls(format!("invalid server name {host:?}")))?;
    let stream = TlsConnector::from(Arc::clone(config))
        .connect(name, tcp)
        .await
        .map_err(|e| ClientError::Tls(tls_reason(&e)))?;
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    Ok(Opened {
        stream: Stream::Tls(Box::new(stream)),
        connect_us,
        tls_us: Some(handshake.elapsed().as_micros() as u64),
        h2,
    })
}

/// A short, stable reason for a failed handshake (it becomes a failure group in the stats).
fn tls_reason(e: &io::Error) -> String {
    match e.get_ref() {
        Some(inner) => inner.to_string(),
        None => e.to_string(),
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
