//! The per-user HTTP client: its own connections (a user behaves like a separate client), keep-alive,
//! redirects, timeouts, decoding, and a timing breakdown of every request.
//!
//! HTTP/1.1 goes through the lean path in [`h1`]; HTTP/2 through hyper in [`h2`].

mod cookies;
mod decode;
mod h1;
mod h2;
mod stream;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use brood_plan::{RequestPlan, Scheme, Url};
use bytes::Bytes;
use http_body_util::Full;

pub(crate) use tls::TlsConfigs;

use h1::H1Conn;
use h2::H2Conn;

const MAX_REDIRECTS: usize = 10;

/// Why a request failed before an HTTP status could judge it. `Display` is the failure reason that
/// groups failures in the stats, so it stays short and stable (no addresses, no counters).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{op}: {reason}")]
    Io { op: &'static str, reason: String },
    #[error("connection closed before the response")]
    ClosedBeforeResponse,
    #[error("invalid response: {0}")]
    Protocol(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("timeout after {}", format_duration(*.0))]
    Timeout(Duration),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("redirect to an invalid location {0:?}")]
    BadRedirect(String),
    #[error("{0}")]
    Decode(String),
    /// A body that had to be kept (for checks, extraction or decoding) grew past `--max-body`.
    #[error("body larger than {}", format_size(*.0))]
    BodyTooLarge(u64),
}

impl ClientError {
    fn io(op: &'static str, e: &std::io::Error) -> ClientError {
        use std::io::ErrorKind as K;
        let reason = match e.kind() {
            K::ConnectionRefused => "connection refused".to_string(),
            K::ConnectionReset => "connection reset by peer".to_string(),
            K::ConnectionAborted => "connection aborted".to_string(),
            K::BrokenPipe => "broken pipe".to_string(),
            K::TimedOut => "timed out".to_string(),
            K::AddrNotAvailable => "address not available".to_string(),
            K::UnexpectedEof => "unexpected end of stream".to_string(),
            _ => e.to_string(),
        };
        ClientError::Io { op, reason }
    }

    /// The server may have closed an idle keep-alive connection just as the request went out.
    fn is_stale_connection(&self) -> bool {
        match self {
            ClientError::ClosedBeforeResponse => true,
            ClientError::Io { op, reason } => {
                *op == "write" || (*op == "read" && reason == "connection reset by peer")
            }
            _ => false,
        }
    }
}

/// A byte count as `--max-body` takes it: `16 MiB`, `512 KiB`, or bytes.
pub(crate) fn format_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

fn format_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Where a connection goes: the key of a user's connection list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
}

impl Origin {
    fn of(url: &Url) -> Origin {
        Origin {
            scheme: url.scheme,
            host: url.host.clone(),
            port: url.port,
        }
    }
}

/// A request turned into bytes once, before the run: the hot path only writes them.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub method: String,
    pub url: Url,
    pub origin: Origin,
    pub wire: Vec<u8>,
    /// Where the blank line that ends the head starts in `wire`.
    pub head_end: usize,
    pub headers: Vec<(String, String)>,
    pub body: Option<brood_plan::Body>,
    pub timeout: Duration,
    pub follow_redirects: bool,
    pub decompress: bool,
    pub http2: bool,
}

impl Prepared {
    pub(crate) fn new(plan: &RequestPlan) -> Prepared {
        Prepared::build(
            plan.url.clone(),
            plan.headers.clone(),
            plan.body.clone(),
            plan,
        )
    }

    /// A request with parts rendered for one send, and the rest of its settings from `plan`.
    pub(crate) fn build(
        url: Url,
        headers: Vec<(String, String)>,
        body: Option<brood_plan::Body>,
        plan: &RequestPlan,
    ) -> Prepared {
        let mut p = Prepared {
            method: plan.method.clone(),
            origin: Origin::of(&url),
            url,
            wire: Vec::new(),
            head_end: 0,
            headers,
            body,
            timeout: plan.timeout,
            follow_redirects: plan.follow_redirects,
            decompress: plan.decompress,
            http2: plan.http2,
        };
        (p.wire, p.head_end) = p.h1_bytes();
        p
    }

    /// The request for a redirect target: same headers; 303 (and 301/302 after a POST) become GET.
    fn redirected(&self, status: u16, location: &str) -> Result<Prepared, ClientError> {
        let url = resolve(&self.url, location)?;
        let to_get = status == 303 || ((status == 301 || status == 302) && self.method == "POST");
        let mut p = Prepared {
            method: if to_get {
                "GET".into()
            } else {
                self.method.clone()
            },
            origin: Origin::of(&url),
            url,
            wire: Vec::new(),
            head_end: 0,
            headers: self.headers.clone(),
            body: if to_get { None } else { self.body.clone() },
            timeout: self.timeout,
            follow_redirects: true,
            decompress: self.decompress,
            http2: self.http2,
        };
        (p.wire, p.head_end) = p.h1_bytes();
        Ok(p)
    }

    fn h1_bytes(&self) -> (Vec<u8>, usize) {
        let mut w = Vec::with_capacity(128);
        let push = |w: &mut Vec<u8>, parts: &[&str]| {
            for part in parts {
                w.extend_from_slice(part.as_bytes());
            }
        };
        push(
            &mut w,
            &[&self.method, " ", &self.url.path_and_query, " HTTP/1.1\r\n"],
        );
        push(&mut w, &["Host: ", &host_header(&self.url), "\r\n"]);
        let has = |name: &str| {
            self.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        if !has("user-agent") {
            push(
                &mut w,
                &["User-Agent: brood/", env!("CARGO_PKG_VERSION"), "\r\n"],
            );
        }
        if self.decompress && !has("accept-encoding") {
            push(
                &mut w,
                &["Accept-Encoding: ", decode::ACCEPT_ENCODING, "\r\n"],
            );
        }
        for (name, value) in &self.headers {
            push(&mut w, &[name, ": ", value, "\r\n"]);
        }
        let body = self.body.as_ref();
        if let Some(ct) = body.and_then(|b| b.content_type.as_deref()) {
            if !has("content-type") {
                push(&mut w, &["Content-Type: ", ct, "\r\n"]);
            }
        }
        let len = body.map_or(0, |b| b.bytes.len());
        if len > 0 || matches!(self.method.as_str(), "POST" | "PUT" | "PATCH") {
            push(&mut w, &["Content-Length: ", &len.to_string(), "\r\n"]);
        }
        let head_end = w.len();
        w.extend_from_slice(b"\r\n");
        if let Some(b) = body {
            w.extend_from_slice(&b.bytes);
        }
        (w, head_end)
    }

    fn h2_request(&self, cookie: Option<&str>) -> Result<http::Request<Full<Bytes>>, ClientError> {
        let scheme = match self.url.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        let uri = format!(
            "{scheme}://{}{}",
            host_header(&self.url),
            self.url.path_and_query
        );
        let mut builder = http::Request::builder()
            .method(self.method.as_str())
            .uri(uri)
            .version(http::Version::HTTP_2);
        let has = |name: &str| {
            self.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        if !has("user-agent") {
            builder = builder.header("user-agent", concat!("brood/", env!("CARGO_PKG_VERSION")));
        }
        if self.decompress && !has("accept-encoding") {
            builder = builder.header("accept-encoding", decode::ACCEPT_ENCODING);
        }
        if let Some(cookie) = cookie {
            builder = builder.header("cookie", cookie);
        }
        for (name, value) in &self.headers {
            // Connection-specific headers are not allowed in HTTP/2.
            if !matches!(
                name.to_ascii_lowercase().as_str(),
                "connection" | "keep-alive" | "host"
            ) {
                builder = builder.header(name.as_str(), value.as_str());
            }
        }
        let body = match &self.body {
            Some(b) => {
                if let (Some(ct), false) = (&b.content_type, has("content-type")) {
                    builder = builder.header("content-type", ct.as_str());
                }
                Bytes::from(b.bytes.clone())
            }
            None => Bytes::new(),
        };
        builder
            .body(Full::new(body))
            .map_err(|e| ClientError::Protocol(format!("cannot build HTTP/2 request: {e}")))
    }
}

fn host_header(url: &Url) -> String {
    let host = if url.host.contains(':') {
        format!("[{}]", url.host)
    } else {
        url.host.clone()
    };
    let default = match url.scheme {
        Scheme::Http => 80,
        Scheme::Https => 443,
    };
    if url.port == default {
        host
    } else {
        format!("{host}:{}", url.port)
    }
}

/// Resolves a `Location` header against the URL it answered.
fn resolve(base: &Url, location: &str) -> Result<Url, ClientError> {
    let bad = || ClientError::BadRedirect(location.to_string());
    if location.trim().is_empty() {
        return Err(bad());
    }
    if location.starts_with("http://") || location.starts_with("https://") {
        return Url::parse(location).map_err(|_| bad());
    }
    if location.starts_with("//") {
        let scheme = match base.scheme {
            Scheme::Http => "http:",
            Scheme::Https => "https:",
        };
        return Url::parse(&format!("{scheme}{location}")).map_err(|_| bad());
    }
    let path_and_query = if location.starts_with('/') {
        location.to_string()
    } else {
        let path = base.path_and_query.split('?').next().unwrap_or("/");
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{dir}{location}")
    };
    if path_and_query.is_empty() || path_and_query.contains(char::is_whitespace) {
        return Err(bad());
    }
    Ok(Url {
        path_and_query,
        ..base.clone()
    })
}

/// What the caller needs kept of a response beyond its status and size.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Want {
    pub body: bool,
    pub headers: bool,
}

/// A completed exchange that reached an HTTP status.
#[derive(Debug, Default)]
pub(crate) struct Response {
    pub status: u16,
    pub reason: String,
    /// The (decoded) body, when it was asked for.
    pub body: Option<Vec<u8>>,
    /// Lower-case names; only when asked for.
    pub headers: Vec<(String, String)>,
    pub content_bytes: u64,
    pub connect_us: Option<u64>,
    pub tls_us: Option<u64>,
    pub ttfb_us: Option<u64>,
}

#[derive(Debug)]
enum Conn {
    H1(H1Conn),
    H2(H2Conn),
}

/// A user's connections, one per origin it has talked to, and its cookies.
#[derive(Debug)]
pub(crate) struct Client {
    conns: Vec<(Origin, Conn)>,
    tls: Arc<TlsConfigs>,
    jar: cookies::CookieJar,
    /// The most body bytes kept or decoded for one response.
    max_body: u64,
}

impl Client {
    pub(crate) fn new(tls: Arc<TlsConfigs>, max_body: u64) -> Client {
        Client {
            conns: Vec::new(),
            tls,
            jar: cookies::CookieJar::default(),
            max_body,
        }
    }

    /// The value of a cookie the user holds.
    pub(crate) fn cookie(&self, name: &str) -> Option<&str> {
        self.jar.get(name)
    }

    /// Sends `request` (following redirects when it says so) within its timeout.
    pub(crate) async fn send(
        &mut self,
        request: &Prepared,
        want: Want,
    ) -> Result<Response, ClientError> {
        match tokio::time::timeout(request.timeout, self.send_following(request, want)).await {
            Ok(result) => result,
            Err(_) => {
                // The connection is in an unknown state: drop it.
                self.conns.retain(|(o, _)| *o != request.origin);
                Err(ClientError::Timeout(request.timeout))
            }
        }
    }

    async fn send_following(
        &mut self,
        request: &Prepared,
        want: Want,
    ) -> Result<Response, ClientError> {
        let mut response = self.send_once(request, want).await?;
        if !request.follow_redirects {
            return Ok(response.into());
        }
        let mut current: Option<Prepared> = None;
        for _ in 0..MAX_REDIRECTS {
            if !is_redirect(response.status) {
                return Ok(response.into());
            }
            let Some(location) = response.location.take() else {
                return Ok(response.into());
            };
            let next = current
                .as_ref()
                .unwrap_or(request)
                .redirected(response.status, &location)?;
            let (connect_us, tls_us) = (response.connect_us, response.tls_us);
            response = self.send_once(&next, want).await?;
            response.connect_us = add(connect_us, response.connect_us);
            response.tls_us = add(tls_us, response.tls_us);
            current = Some(next);
        }
        if is_redirect(response.status) {
            return Err(ClientError::TooManyRedirects);
        }
        Ok(response.into())
    }

    async fn send_once(
        &mut self,
        request: &Prepared,
        want: Want,
    ) -> Result<WithLocation, ClientError> {
        let mut timings = (None, None);
        let mut index = match self.conn_index(request) {
            Some(i) => i,
            None => self.open(request, &mut timings).await?,
        };
        let cookie = if self.jar.is_empty() {
            None
        } else {
            self.jar
                .header_for(&request.origin.host, &request.url.path_and_query)
        };
        let extra = cookie.as_ref().map(|c| format!("Cookie: {c}\r\n"));
        let ask = h1::Ask {
            wire: &request.wire,
            head_end: request.head_end,
            extra: extra.as_deref().unwrap_or("").as_bytes(),
            head_request: request.method == "HEAD",
            body: want.body,
            body_if_encoded: request.decompress,
            headers: want.headers,
            max_body: self.max_body,
        };
        let mut kept = Vec::new();
        let mut retried = false;
        let result = loop {
            let attempt = match &mut self.conns[index].1 {
                Conn::H1(conn) => {
                    let reused = conn.reused;
                    match conn.exchange(&ask, &mut kept).await {
                        Ok(x) => {
                            if !x.reusable {
                                self.conns.swap_remove(index);
                            }
                            Ok(WithLocation::from_h1(x))
                        }
                        // Retry once on a fresh connection, as browsers and HTTP libraries do.
                        Err(e) if reused && !retried && e.is_stale_connection() => {
                            self.conns.swap_remove(index);
                            retried = true;
                            kept.clear();
                            index = self.open(request, &mut timings).await?;
                            continue;
                        }
                        Err(e) => Err(e),
                    }
                }
                Conn::H2(conn) => {
                    let keep = h2::Keep {
                        body: want.body,
                        body_if_encoded: request.decompress,
                        headers: want.headers,
                        max_body: self.max_body,
                    };
                    let r = request.h2_request(cookie.as_deref())?;
                    conn.exchange(r, keep, &mut kept)
                        .await
                        .map(WithLocation::from_h2)
                }
            };
            break attempt;
        };
        let mut response = match result {
            Ok(r) => r,
            Err(e) => {
                self.conns.retain(|(o, _)| *o != request.origin);
                return Err(e);
            }
        };
        (response.connect_us, response.tls_us) = timings;
        for header in std::mem::take(&mut response.set_cookies) {
            self.jar
                .store(&request.origin.host, &request.url.path_and_query, &header);
        }
        if response.body_kept {
            let decoded = if request.decompress {
                decode::decode(response.content_encoding.as_deref(), kept, self.max_body)?
            } else {
                kept
            };
            response.content_bytes = decoded.len() as u64;
            response.body = want.body.then_some(decoded);
        }
        Ok(response)
    }

    fn conn_index(&self, request: &Prepared) -> Option<usize> {
        self.conns
            .iter()
            .position(|(o, c)| *o == request.origin && usable(c))
    }

    /// Opens a connection for `request`'s origin, replacing any old one; records its timings.
    async fn open(
        &mut self,
        request: &Prepared,
        timings: &mut (Option<u64>, Option<u64>),
    ) -> Result<usize, ClientError> {
        let (conn, connect_us, tls_us) = self.connect(request).await?;
        *timings = (Some(connect_us), tls_us);
        self.conns.retain(|(o, _)| *o != request.origin);
        self.conns.push((request.origin.clone(), conn));
        Ok(self.conns.len() - 1)
    }

    async fn connect(&self, request: &Prepared) -> Result<(Conn, u64, Option<u64>), ClientError> {
        let tls = match request.origin.scheme {
            Scheme::Http => None,
            Scheme::Https if request.http2 => Some(&self.tls.h2),
            Scheme::Https => Some(&self.tls.h1),
        };
        let opened = stream::open(&request.origin.host, request.origin.port, tls).await?;
        // Over TLS, ALPN decides; over plain TCP, `http2` means prior knowledge (h2c).
        let h2 = match request.origin.scheme {
            Scheme::Https => opened.h2,
            Scheme::Http => request.http2,
        };
        let conn = if h2 {
            Conn::H2(H2Conn::handshake(opened.stream).await?)
        } else {
            Conn::H1(H1Conn::new(opened.stream))
        };
        Ok((conn, opened.connect_us, opened.tls_us))
    }
}

fn usable(conn: &Conn) -> bool {
    match conn {
        Conn::H1(_) => true,
        Conn::H2(c) => c.is_usable(),
    }
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

fn add(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    }
}

/// A response that still carries what redirects and the cookie jar need.
#[derive(Debug, Default)]
struct WithLocation {
    status: u16,
    reason: String,
    location: Option<String>,
    content_encoding: Option<String>,
    set_cookies: Vec<String>,
    headers: Vec<(String, String)>,
    body_kept: bool,
    body: Option<Vec<u8>>,
    content_bytes: u64,
    connect_us: Option<u64>,
    tls_us: Option<u64>,
    ttfb_us: Option<u64>,
}

impl WithLocation {
    fn from_h1(x: h1::Exchange) -> WithLocation {
        WithLocation {
            status: x.head.status,
            reason: x.head.reason,
            location: x.head.location,
            content_encoding: x.head.content_encoding,
            set_cookies: x.head.set_cookies,
            headers: x.head.headers,
            body_kept: x.body_kept,
            content_bytes: x.body_len,
            ttfb_us: Some(x.ttfb_us),
            ..WithLocation::default()
        }
    }

    fn from_h2(x: h2::H2Exchange) -> WithLocation {
        WithLocation {
            status: x.status,
            reason: x.reason,
            location: x.location,
            content_encoding: x.content_encoding,
            set_cookies: x.set_cookies,
            headers: x.headers,
            body_kept: x.body_kept,
            content_bytes: x.body_len,
            ttfb_us: Some(x.ttfb_us),
            ..WithLocation::default()
        }
    }
}

impl From<WithLocation> for Response {
    fn from(w: WithLocation) -> Response {
        Response {
            status: w.status,
            reason: w.reason,
            body: w.body,
            headers: w.headers,
            content_bytes: w.content_bytes,
            connect_us: w.connect_us,
            tls_us: w.tls_us,
            ttfb_us: w.ttfb_us,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn resolves_locations() {
        let base = url("http://a.test:8080/x/y?q=1");
        assert_eq!(resolve(&base, "/z").unwrap().path_and_query, "/z");
        assert_eq!(resolve(&base, "w").unwrap().path_and_query, "/x/w");
        let abs = resolve(&base, "https://b.test/p").unwrap();
        assert_eq!(
            (abs.scheme, abs.host.as_str(), abs.port),
            (Scheme::Https, "b.test", 443)
        );
        assert!(resolve(&base, "").is_err());
    }

    #[test]
    fn writes_http1_requests() {
        let p = Prepared::new(&RequestPlan {
            entry: 0,
            method: "POST".into(),
            url: url("http://[::1]:8080/login?x=1"),
            headers: vec![("X-A".into(), "b".into())],
            body: Some(brood_plan::Body {
                content_type: Some("application/json".into()),
                bytes: b"{}".to_vec(),
            }),
            timeout: Duration::from_secs(1),
            follow_redirects: true,
            decompress: false,
            http2: false,
            template: None,
            checks: Vec::new(),
            extract: Vec::new(),
        });
        let text = String::from_utf8(p.wire.clone()).unwrap();
        assert_eq!(&p.wire[p.head_end..p.head_end + 4], b"\r\n{}");
        assert!(
            text.starts_with("POST /login?x=1 HTTP/1.1\r\nHost: [::1]:8080\r\n"),
            "{text}"
        );
        assert!(text
            .contains("X-A: b\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"));
    }
}
