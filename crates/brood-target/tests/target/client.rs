//! A tiny HTTP client for the tests: hyper's connection API over plain TCP or rustls, plus raw
//! byte exchanges for what an HTTP client would hide.

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brood_target::Target;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, Version};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Which protocol a [`Client`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Http1,
    Http2,
}

/// A response read whole, with the time from sending to its last body byte.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub elapsed: Duration,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("utf-8 body")
    }

    /// The `brood-delay-ms` header as a number.
    pub fn delay_ms(&self) -> u64 {
        let value = self
            .header(brood_target::DELAY_HEADER)
            .expect("delay header");
        value.parse().expect("numeric delay header")
    }
}

enum Sender {
    Http1(http1::SendRequest<Full<Bytes>>),
    Http2(http2::SendRequest<Full<Bytes>>),
}

/// One connection to a target, over TLS when the target has a certificate.
pub struct Client {
    sender: Sender,
    base: String,
    /// The ALPN protocol agreed on, for TLS connections.
    pub alpn: Option<Vec<u8>>,
}

impl Client {
    pub async fn connect(target: &Target, proto: Proto) -> Client {
        let tcp = TcpStream::connect(target.addr()).await.expect("connect");
        let base = target.url("");
        let base = base.trim_end_matches('/').to_owned();
        match target.cert_der() {
            None => Client {
                sender: handshake(TokioIo::new(tcp), proto).await,
                base,
                alpn: None,
            },
            Some(cert) => {
                let tls = tls_connect(tcp, cert, proto).await;
                let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
                Client {
                    sender: handshake(TokioIo::new(tls), proto).await,
                    base,
                    alpn,
                }
            }
        }
    }

    /// A GET of `path` with the given extra headers.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
        let mut builder = Request::get(self.uri(path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        self.finish(builder, Bytes::new())
    }

    /// A request with a method, headers and body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Request<Full<Bytes>> {
        let mut builder = Request::builder().method(method).uri(self.uri(path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        self.finish(builder, Bytes::copy_from_slice(body.as_bytes()))
    }

    fn uri(&self, path: &str) -> String {
        match self.sender {
            // HTTP/1.1 requests carry the path and a Host header; HTTP/2 ones the whole URI.
            Sender::Http1(_) => path.to_owned(),
            Sender::Http2(_) => format!("{}{path}", self.base),
        }
    }

    fn finish(&self, builder: http::request::Builder, body: Bytes) -> Request<Full<Bytes>> {
        let builder = match self.sender {
            Sender::Http1(_) => {
                let authority = self.base.split("://").nth(1).expect("authority");
                builder.header("host", authority)
            }
            Sender::Http2(_) => builder,
        };
        builder.body(Full::new(body)).expect("request")
    }

    /// Sends `request` and reads the whole response, or the error that stopped it.
    pub async fn try_send(&mut self, request: Request<Full<Bytes>>) -> Result<Reply, hyper::Error> {
        let started = Instant::now();
        let response = match &mut self.sender {
            Sender::Http1(sender) => {
                sender.ready().await?;
                sender.send_request(request).await?
            }
            Sender::Http2(sender) => {
                sender.ready().await?;
                sender.send_request(request).await?
            }
        };
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply {
            status: parts.status,
            version: parts.version,
            headers: parts.headers,
            body,
            elapsed: started.elapsed(),
        })
    }

    pub async fn send(&mut self, request: Request<Full<Bytes>>) -> Reply {
        self.try_send(request).await.expect("response")
    }

    /// A GET of `path` without extra headers, read whole.
    pub async fn fetch(&mut self, path: &str) -> Reply {
        let request = self.get(path, &[]);
        self.send(request).await
    }

    /// An HTTP/2 sender sharing this connection, for concurrent streams.
    pub fn h2_sender(&self) -> http2::SendRequest<Full<Bytes>> {
        match &self.sender {
            Sender::Http2(sender) => sender.clone(),
            Sender::Http1(_) => panic!("HTTP/1.1 connections carry one request at a time"),
        }
    }
}

async fn handshake<I>(io: I, proto: Proto) -> Sender
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    match proto {
        Proto::Http1 => {
            let (sender, connection) = http1::handshake(io).await.expect("http1 handshake");
            tokio::spawn(connection);
            Sender::Http1(sender)
        }
        Proto::Http2 => {
            let (sender, connection) = http2::handshake(TokioExecutor::new(), io)
                .await
                .expect("http2 handshake");
            tokio::spawn(connection);
            Sender::Http2(sender)
        }
    }
}

async fn tls_connect(
    tcp: TcpStream,
    cert: Vec<u8>,
    proto: Proto,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(cert))
        .expect("trust the target");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = match proto {
        Proto::Http1 => vec![b"http/1.1".to_vec()],
        Proto::Http2 => vec![b"h2".to_vec()],
    };
    let name = ServerName::try_from("localhost").expect("server name");
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("tls handshake")
}

/// Sends `request` as raw bytes and reads until the server closes (or five seconds pass),
/// without any runtime: the targets must serve plain threads too.
pub fn raw_exchange(addr: SocketAddr, request: &str) -> io::Result<Vec<u8>> {
    let mut stream = StdTcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(request.as_bytes())?;
    let mut received = Vec::new();
    stream.read_to_end(&mut received)?;
    Ok(received)
}

/// Polls `condition` until it holds, for at most five seconds, letting the test's own runtime
/// run meanwhile (its connection tasks may be what the condition waits for).
pub async fn until(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    condition()
}

/// Polls `condition` until it holds, for at most five seconds, from a plain thread.
pub fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    condition()
}

/// Splits a raw HTTP/1.1 response into its head and body.
pub fn split_head(raw: &[u8]) -> (String, Vec<u8>) {
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    (
        String::from_utf8_lossy(&raw[..at]).into_owned(),
        raw[at + 4..].to_vec(),
    )
}
