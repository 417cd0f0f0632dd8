//! HTTP/2 through hyper's connection-level client: one connection per user, requests multiplexed on it.

use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::stream::Stream;
use super::ClientError;

#[derive(Debug)]
pub(crate) struct H2Conn {
    sender: SendRequest<Full<Bytes>>,
}

/// What came back on an HTTP/2 stream.
#[derive(Debug)]
pub(crate) struct H2Exchange {
    pub status: u16,
    pub reason: String,
    pub location: Option<String>,
    pub content_encoding: Option<String>,
    pub set_cookies: Vec<String>,
    pub headers: Vec<(String, String)>,
    pub body_kept: bool,
    pub body_len: u64,
    pub ttfb_us: u64,
}

/// What to keep of an HTTP/2 response.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Keep {
    pub body: bool,
    pub body_if_encoded: bool,
    pub headers: bool,
    /// The most body bytes kept; past it the exchange fails with [`ClientError::BodyTooLarge`].
    pub max_body: u64,
}

impl H2Conn {
    /// Runs the HTTP/2 preface on `stream` and drives the connection on the current runtime.
    pub(crate) async fn handshake(stream: Stream) -> Result<H2Conn, ClientError> {
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .map_err(|e| ClientError::Protocol(format!("HTTP/2 handshake: {e}")))?;
        // The connection future ends when the server goes away or every sender is dropped.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(H2Conn { sender })
    }

    pub(crate) fn is_usable(&self) -> bool {
        !self.sender.is_closed()
    }

    pub(crate) async fn exchange(
        &mut self,
        request: http::Request<Full<Bytes>>,
        keep: Keep,
        kept: &mut Vec<u8>,
    ) -> Result<H2Exchange, ClientError> {
        self.sender
            .ready()
            .await
            .map_err(|e| ClientError::Protocol(format!("HTTP/2 connection: {e}")))?;
        let sent = Instant::now();
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| ClientError::Protocol(format!("HTTP/2 request: {e}")))?;
        let ttfb_us = sent.elapsed().as_micros() as u64;
        let status = response.status();
        let header = |name: http::header::HeaderName| {
            response
                .headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string())
        };
        let location = header(http::header::LOCATION);
        let content_encoding =
            header(http::header::CONTENT_ENCODING).map(|v| v.to_ascii_lowercase());
        let set_cookies = response
            .headers()
            .get_all(http::header::SET_COOKIE)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let headers = if keep.headers {
            response
                .headers()
                .iter()
                .map(|(n, v)| {
                    let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                    (n.as_str().to_string(), value)
                })
                .collect()
        } else {
            Vec::new()
        };
        let body_kept = keep.body || (keep.body_if_encoded && content_encoding.is_some());
        let mut body = body_kept.then_some(kept);
        let mut incoming = response.into_body();
        let mut body_len = 0u64;
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|e| ClientError::Protocol(format!("HTTP/2 body: {e}")))?;
            if let Ok(data) = frame.into_data() {
                body_len += data.len() as u64;
                if let Some(body) = body.as_deref_mut() {
                    if (body.len() + data.len()) as u64 > keep.max_body {
                        return Err(ClientError::BodyTooLarge(keep.max_body));
                    }
                    body.extend_from_slice(&data);
                }
            }
        }
        Ok(H2Exchange {
            status: status.as_u16(),
            reason: if status.as_u16() >= 400 {
                status.canonical_reason().unwrap_or("").to_string()
            } else {
                String::new()
            },
            location,
            content_encoding,
            set_cookies,
            headers,
            body_kept,
            body_len,
            ttfb_us,
        })
    }
}
