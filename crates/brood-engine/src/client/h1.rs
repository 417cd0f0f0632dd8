//! A lean HTTP/1.1 exchange over one connection: write a prepared request, parse the response head with
//! `httparse`, and frame the body (length, chunked or close-delimited) without allocating per request.
//!
//! The read buffer belongs to the connection and is reused; bodies are only kept when the caller asks
//! for them (decompression, later checks and extraction), otherwise they are counted and dropped.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::stream::Stream;
use super::ClientError;

/// Most response heads are a few hundred bytes; the buffer grows when a response needs it.
const INITIAL_BUFFER: usize = 2048;
/// Larger heads are refused rather than buffered without bound.
const MAX_HEAD: usize = 64 * 1024;
/// Discarded bodies are read in pieces of at most this size.
const MAX_BUFFER: usize = 64 * 1024;
const MAX_HEADERS: usize = 96;

/// One HTTP/1.1 connection with its read buffer.
#[derive(Debug)]
pub(crate) struct H1Conn {
    stream: Stream,
    buf: Vec<u8>,
    /// Bytes `buf[start..end]` are read but not yet consumed.
    start: usize,
    end: usize,
    /// At least one exchange completed on this connection (so an immediate EOF means the server
    /// closed an idle keep-alive connection, and the request may be retried on a new one).
    pub(crate) reused: bool,
}

/// What the caller needs from a response head.
#[derive(Debug, Default)]
pub(crate) struct Head {
    pub status: u16,
    pub reason: String,
    pub location: Option<String>,
    pub content_encoding: Option<String>,
    /// The connection cannot carry another request after this response.
    pub close: bool,
    /// `Set-Cookie` values, for the user's cookie jar.
    pub set_cookies: Vec<String>,
    /// Every header, only when asked for (checks and extraction).
    pub headers: Vec<(String, String)>,
}

/// One request to write and what to keep of its response.
#[derive(Debug)]
pub(crate) struct Ask<'a> {
    /// The serialized request.
    pub wire: &'a [u8],
    /// Where the blank line ending the head starts in `wire`: `extra` goes there.
    pub head_end: usize,
    /// Header lines added for this request only (e.g. `Cookie`), each ending in CRLF.
    pub extra: &'a [u8],
    pub head_request: bool,
    /// Keep the body: always, or only when it is content-encoded (to decode it).
    pub body: bool,
    pub body_if_encoded: bool,
    pub headers: bool,
    /// The most body bytes kept; past it the exchange fails with [`ClientError::BodyTooLarge`].
    pub max_body: u64,
}

/// How the body of a response is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// The body being kept, and how large it may grow.
#[derive(Debug)]
struct Kept<'a> {
    bytes: &'a mut Vec<u8>,
    max: u64,
}

/// The result of one exchange.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub head: Head,
    pub body_kept: bool,
    /// Body bytes as received (before any content decoding).
    pub body_len: u64,
    /// Microseconds from the end of the write to the first byte of the response.
    pub ttfb_us: u64,
    /// The connection may be used again.
    pub reusable: bool,
}

impl H1Conn {
    pub(crate) fn new(stream: Stream) -> H1Conn {
        H1Conn {
            stream,
            buf: vec![0; INITIAL_BUFFER],
            start: 0,
            end: 0,
            reused: false,
        }
    }

    /// Sends a request and reads the whole response; kept body bytes are appended to `kept`.
    pub(crate) async fn exchange(
        &mut self,
        ask: &Ask<'_>,
        kept: &mut Vec<u8>,
    ) -> Result<Exchange, ClientError> {
        self.start = 0;
        self.end = 0;
        let write = if ask.extra.is_empty() {
            self.stream.write_all(ask.wire).await
        } else {
            let mut joined = Vec::with_capacity(ask.wire.len() + ask.extra.len());
            joined.extend_from_slice(&ask.wire[..ask.head_end]);
            joined.extend_from_slice(ask.extra);
            joined.extend_from_slice(&ask.wire[ask.head_end..]);
            self.stream.write_all(&joined).await
        };
        write.map_err(|e| ClientError::io("write", &e))?;
        // A no-op for plain TCP; TLS may hold the last record until flushed.
        self.stream
            .flush()
            .await
            .map_err(|e| ClientError::io("write", &e))?;
        let written = std::time::Instant::now();
        let mut ttfb_us = None;
        let (head, framing, consumed) = loop {
            let n = self.fill().await?;
            if ttfb_us.is_none() {
                ttfb_us = Some(written.elapsed().as_micros() as u64);
            }
            if n == 0 {
                return Err(if self.end == 0 {
                    ClientError::ClosedBeforeResponse
                } else {
                    ClientError::Protocol("connection closed inside the response head".into())
                });
            }
            if let Some(parsed) = parse_head(&self.buf[..self.end], ask.head_request, ask.headers)?
            {
                break parsed;
            }
            if self.end == self.buf.len() {
                if self.buf.len() >= MAX_HEAD {
                    return Err(ClientError::Protocol(format!(
                        "response head larger than {MAX_HEAD} bytes"
                    )));
                }
                self.buf.resize(self.buf.len() * 2, 0);
            }
        };
        self.start = consumed;
        let keep = ask.body || (ask.body_if_encoded && head.content_encoding.is_some());
        if keep {
            if let Framing::Length(n) = framing {
                // Known too large before a byte of it is read.
                if n > ask.max_body {
                    return Err(ClientError::BodyTooLarge(ask.max_body));
                }
            }
        }
        let mut body = keep.then_some(Kept {
            bytes: kept,
            max: ask.max_body,
        });
        let body_len = match framing {
            Framing::None => 0,
            Framing::Length(n) => self.read_length(n, &mut body).await?,
            Framing::Chunked => self.read_chunked(&mut body).await?,
            Framing::UntilClose => self.read_until_close(&mut body).await?,
        };
        let leftover = self.end > self.start;
        let reusable = !head.close && framing != Framing::UntilClose && !leftover;
        self.reused = true;
        Ok(Exchange {
            head,
            body_kept: keep,
            body_len,
            ttfb_us: ttfb_us.unwrap_or(0),
            reusable,
        })
    }

    /// Reads more bytes after `end`, returning how many (0 at EOF).
    async fn fill(&mut self) -> Result<usize, ClientError> {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.buf.len() < MAX_BUFFER {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let n = self
            .stream
            .read(&mut self.buf[self.end..])
            .await
            .map_err(|e| ClientError::io("read", &e))?;
        self.end += n;
        Ok(n)
    }

    /// Takes up to `max` buffered bytes, reading when the buffer is empty. Returns 0 only at EOF.
    async fn take(&mut self, max: u64, body: &mut Option<Kept<'_>>) -> Result<u64, ClientError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.fill().await? == 0 {
                return Ok(0);
            }
        }
        let n = ((self.end - self.start) as u64).min(max) as usize;
        if let Some(body) = body.as_mut() {
            if (body.bytes.len() + n) as u64 > body.max {
                return Err(ClientError::BodyTooLarge(body.max));
            }
            body.bytes
                .extend_from_slice(&self.buf[self.start..self.start + n]);
        }
        self.start += n;
        Ok(n as u64)
    }

    async fn read_length(
        &mut self,
        len: u64,
        body: &mut Option<Kept<'_>>,
    ) -> Result<u64, ClientError> {
        let mut left = len;
        while left > 0 {
            let n = self.take(left, body).await?;
            if n == 0 {
                return Err(ClientError::Protocol(format!(
                    "connection closed after {} of {len} body bytes",
                    len - left
                )));
            }
            left -= n;
        }
        Ok(len)
    }

    async fn read_until_close(&mut self, body: &mut Option<Kept<'_>>) -> Result<u64, ClientError> {
        let mut total = 0;
        loop {
            let n = self.take(u64::MAX, body).await?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    }

    async fn read_chunked(&mut self, body: &mut Option<Kept<'_>>) -> Result<u64, ClientError> {
        let mut total = 0;
        loop {
            let size = self.chunk_size_line().await?;
            if size == 0 {
                self.skip_trailers().await?;
                return Ok(total);
            }
            let mut left = size;
            while left > 0 {
                let n = self.take(left, body).await?;
                if n == 0 {
                    return Err(ClientError::Protocol(
                        "connection closed inside a chunk".into(),
                    ));
                }
                left -= n;
            }
            total += size;
            self.expect_crlf().await?;
        }
    }

    /// Parses a chunk-size line at `start`, reading more as needed.
    async fn chunk_size_line(&mut self) -> Result<u64, ClientError> {
        loop {
            match httparse::parse_chunk_size(&self.buf[self.start..self.end]) {
                Ok(httparse::Status::Complete((used, size))) => {
                    self.start += used;
                    return Ok(size);
                }
                Ok(httparse::Status::Partial) => self.fill_or_eof("a chunk size").await?,
                Err(_) => return Err(ClientError::Protocol("invalid chunk size line".into())),
            }
        }
    }

    async fn expect_crlf(&mut self) -> Result<(), ClientError> {
        while self.end - self.start < 2 {
            self.fill_or_eof("a chunk end").await?;
        }
        if &self.buf[self.start..self.start + 2] != b"\r\n" {
            return Err(ClientError::Protocol("chunk not followed by CRLF".into()));
        }
        self.start += 2;
        Ok(())
    }

    /// Skips trailer lines up to and including the empty line that ends a chunked body.
    async fn skip_trailers(&mut self) -> Result<(), ClientError> {
        loop {
            let pending = &self.buf[self.start..self.end];
            if let Some(pos) = pending.windows(2).position(|w| w == b"\r\n") {
                self.start += pos + 2;
                if pos == 0 {
                    return Ok(());
                }
                continue;
            }
            self.fill_or_eof("the chunked trailer").await?;
        }
    }

    async fn fill_or_eof(&mut self, what: &str) -> Result<(), ClientError> {
        if self.fill().await? == 0 {
            return Err(ClientError::Protocol(format!(
                "connection closed while reading {what}"
            )));
        }
        Ok(())
    }
}

/// Parses a complete response head, or returns `None` when more bytes are needed.
///
/// Kept synchronous so the header array never lives across an await point (it would inflate every
/// user's future).
fn parse_head(
    bytes: &[u8],
    head_request: bool,
    all_headers: bool,
) -> Result<Option<(Head, Framing, usize)>, ClientError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let used = match response.parse(bytes) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(ClientError::Protocol(format!("invalid response head: {e}"))),
    };
    let status = response.code.unwrap_or(0);
    let mut head = Head {
        status,
        // Only a failing status's reason is ever shown; not copying the others saves an
        // allocation per request.
        reason: if status >= 400 {
            response.reason.unwrap_or("").to_string()
        } else {
            String::new()
        },
        close: response.version == Some(0),
        ..Head::default()
    };
    let mut length = None;
    let mut chunked = false;
    for h in response.headers.iter() {
        let name = h.name;
        if all_headers {
            let value = String::from_utf8_lossy(h.value).into_owned();
            head.headers.push((name.to_ascii_lowercase(), value));
        }
        if name.eq_ignore_ascii_case("set-cookie") {
            head.set_cookies
                .push(String::from_utf8_lossy(h.value).into_owned());
            continue;
        }
        if name.eq_ignore_ascii_case("content-length") {
            // RFC 9112 §6.3: repeated values (in one field or several) must all agree, or the
            // message's framing is unknown and the connection cannot be trusted.
            let text = std::str::from_utf8(h.value).unwrap_or("").trim();
            for part in text.split(',').map(str::trim) {
                let n = part.parse::<u64>().map_err(|_| {
                    ClientError::Protocol(format!("invalid Content-Length {text:?}"))
                })?;
                match length {
                    Some(earlier) if earlier != n => {
                        return Err(ClientError::Protocol(format!(
                            "conflicting Content-Length values {earlier} and {n}"
                        )))
                    }
                    _ => length = Some(n),
                }
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = contains_token(h.value, "chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            if contains_token(h.value, "close") {
                head.close = true;
            } else if contains_token(h.value, "keep-alive") {
                head.close = false;
            }
        } else if name.eq_ignore_ascii_case("location") {
            head.location = Some(String::from_utf8_lossy(h.value).into_owned());
        } else if name.eq_ignore_ascii_case("content-encoding") {
            head.content_encoding =
                Some(String::from_utf8_lossy(h.value).trim().to_ascii_lowercase());
        }
    }
    let framing = if head_request || status < 200 || status == 204 || status == 304 {
        Framing::None
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    Ok(Some((head, framing, used)))
}

fn contains_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|part| part.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_heads_and_framing() {
        let (head, framing, used) = parse_head(
            b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello",
            false,
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!((head.status, framing, used), (200, Framing::Length(13), 39));
        let (_, framing, _) = parse_head(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            false,
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(framing, Framing::Chunked);
        let (head, framing, _) = parse_head(b"HTTP/1.0 200 OK\r\n\r\n", false, false)
            .unwrap()
            .unwrap();
        assert!(head.close);
        assert_eq!(framing, Framing::UntilClose);
        let (_, framing, _) =
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true, false)
                .unwrap()
                .unwrap();
        assert_eq!(framing, Framing::None);
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le", false, false)
            .unwrap()
            .is_none());
        assert!(parse_head(
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            false,
            false
        )
        .is_err());
        assert!(parse_head(b"garbage\r\n\r\n", false, false).is_err());
        // Hardening item 14: conflicting lengths are an error; repeated equal ones are not.
        let conflict = parse_head(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n",
            false,
            false,
        );
        assert_eq!(
            conflict.unwrap_err().to_string(),
            "invalid response: conflicting Content-Length values 5 and 7"
        );
        assert!(parse_head(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
            false,
            false
        )
        .is_err());
        let (_, framing, _) = parse_head(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n",
            false,
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(framing, Framing::Length(5));
        let (head, _, _) = parse_head(b"HTTP/1.1 302 Found\r\nLocation: /next\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false, false)
        .unwrap()
        .unwrap();
        assert_eq!(head.location.as_deref(), Some("/next"));
        assert!(head.close);
    }
}
