//! What the target does with each request: count it, wait as the route says, and answer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Map, Value};
use tokio::sync::Notify;

use crate::body::{self, ResponseBody};
use crate::counts::Counts;
use crate::encoding::{self, Coding};
use crate::route::{action_of, Action, DELAY_HEADER};
use crate::shop::{self, Answer, Shop};

/// State every connection of one target shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) counts: Counts,
    pub(crate) shop: Shop,
    /// Requests `/bimodal` has seen since start or the last reset; picks the slow ones.
    bimodal_seen: AtomicU64,
    /// The origin of `/stall` periods.
    started: Instant,
    scheme: &'static str,
    extra_latency: Duration,
    addr: SocketAddr,
}

impl Shared {
    pub(crate) fn new(
        tls: bool,
        extra_latency: Duration,
        addr: SocketAddr,
        shop_seed: u64,
    ) -> Self {
        Self {
            counts: Counts::default(),
            shop: Shop::new(shop_seed),
            bimodal_seen: AtomicU64::new(0),
            started: Instant::now(),
            scheme: if tls { "https" } else { "http" },
            extra_latency,
            addr,
        }
    }

    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    pub(crate) fn reset(&self) {
        self.counts.reset();
        self.bimodal_seen.store(0, Ordering::Relaxed);
        self.shop.reset();
    }
}

/// What a request may ask of the connection that carries it.
#[derive(Debug, Default)]
pub(crate) struct ConnectionControl {
    /// Drop the socket at once, with nothing written: how `/drop` closes without a byte.
    pub(crate) hangup: Notify,
    /// Finish the requests in flight, then close: how `/close` reaches HTTP/2, whose
    /// connections ignore a `Connection: close` header.
    pub(crate) close: Notify,
}

/// Answers one request arriving on the connection that `control` steers.
pub(crate) async fn respond(
    shared: Arc<Shared>,
    control: Arc<ConnectionControl>,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    shared.counts.request(request.uri().path());
    let action = action_of(request.uri().path());
    if !shared.extra_latency.is_zero() {
        tokio::time::sleep(shared.extra_latency).await;
    }
    if action == Action::Drop {
        control.hangup.notify_one();
        // The connection task drops this future along with the socket, so it never resolves
        // and hyper never gets a response to write.
        return std::future::pending().await;
    }
    let (parts, request_body) = request.into_parts();
    let received = match action {
        Action::Echo => body::read_all(request_body).await,
        Action::Shop => match body::read_up_to(request_body, shop::MAX_BODY).await {
            Some(received) => received,
            None => return Ok(Answer::too_large().into_response()),
        },
        _ => {
            body::discard(request_body).await;
            Bytes::new()
        }
    };
    if action == Action::Close {
        control.close.notify_one();
    }
    Ok(shared.act(action, &parts, received).await)
}

impl Shared {
    async fn act(&self, action: Action, parts: &Parts, received: Bytes) -> Response<ResponseBody> {
        match action {
            Action::Hello => text(StatusCode::OK, "Hello, world!"),
            Action::Delay(wait) => waited(wait).await,
            Action::Bimodal { fast, slow, every } => {
                let seen = self.bimodal_seen.fetch_add(1, Ordering::Relaxed);
                waited(if seen % every == 0 { slow } else { fast }).await
            }
            Action::Stall { period, stall } => waited(self.stall_left(period, stall)).await,
            Action::Status(code) => status(code),
            Action::SlowBody { chunks, interval } => {
                plain(StatusCode::OK, ResponseBody::paced(chunks, interval))
            }
            Action::Bytes(n) => {
                let mut response = plain(StatusCode::OK, ResponseBody::text(n));
                insert(&mut response, header::CONTENT_LENGTH, HeaderValue::from(n));
                response
            }
            Action::Chunked(n) => plain(StatusCode::OK, ResponseBody::chunked_text(n)),
            Action::Gzip(n) => encoded(parts, Coding::Gzip, n),
            Action::Brotli(n) => encoded(parts, Coding::Brotli, n),
            Action::Redirect {
                remaining,
                absolute,
            } => self.redirect(parts, remaining, absolute),
            Action::Close => {
                let mut response = text(StatusCode::OK, "closing\n");
                insert(
                    &mut response,
                    header::CONNECTION,
                    HeaderValue::from_static("close"),
                );
                response
            }
            Action::Echo => echo(parts, &received),
            Action::SetCookies => set_cookies(parts),
            Action::Cookies => cookies(parts),
            Action::Shop => {
                let answer = self.shop.handle(parts, &received);
                if !answer.latency.is_zero() {
                    tokio::time::sleep(answer.latency).await;
                }
                answer.into_response()
            }
            Action::NotFound => text(StatusCode::NOT_FOUND, "not found\n"),
            Action::BadRequest(why) => text(StatusCode::BAD_REQUEST, why),
            // Handled in `respond` before the request body is read.
            Action::Drop => text(StatusCode::INTERNAL_SERVER_ERROR, "unreachable\n"),
        }
    }

    /// How long a request arriving now must wait for the current stall to end: periods start at
    /// the target's start, and the first `stall` of each is frozen.
    fn stall_left(&self, period: Duration, stall: Duration) -> Duration {
        let elapsed = self.started.elapsed().as_nanos();
        let into_period = elapsed % period.as_nanos();
        let left = stall.as_nanos().saturating_sub(into_period);
        Duration::from_nanos(u64::try_from(left).unwrap_or(u64::MAX))
    }

    fn redirect(&self, parts: &Parts, remaining: u64, absolute: bool) -> Response<ResponseBody> {
        if remaining == 0 {
            return text(StatusCode::OK, "redirects done\n");
        }
        let prefix = if absolute {
            "/redirect-abs"
        } else {
            "/redirect"
        };
        let path = format!("{prefix}/{}", remaining - 1);
        let location = if absolute {
            format!("{}://{}{path}", self.scheme, self.authority(parts))
        } else {
            path
        };
        let mut response = text(StatusCode::FOUND, "redirecting\n");
        if let Ok(value) = HeaderValue::from_str(&location) {
            insert(&mut response, header::LOCATION, value);
        }
        response
    }

    /// The authority the client addressed: the URI's (HTTP/2 and absolute-form requests), else
    /// the Host header, else the socket the target listens on.
    fn authority(&self, parts: &Parts) -> String {
        if let Some(authority) = parts.uri.authority() {
            return authority.to_string();
        }
        parts
            .headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .map_or_else(|| self.addr.to_string(), str::to_owned)
    }
}

fn insert(response: &mut Response<ResponseBody>, name: HeaderName, value: HeaderValue) {
    response.headers_mut().insert(name, value);
}

fn plain(status: StatusCode, body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    insert(
        &mut response,
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain"),
    );
    response
}

fn text(status: StatusCode, body: &'static str) -> Response<ResponseBody> {
    plain(status, ResponseBody::full(body))
}

fn json(value: Value) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::full(value.to_string()));
    let content_type = HeaderValue::from_static("application/json");
    insert(&mut response, header::CONTENT_TYPE, content_type);
    response
}

async fn waited(wait: Duration) -> Response<ResponseBody> {
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    let mut response = text(StatusCode::OK, "ok\n");
    insert(
        &mut response,
        HeaderName::from_static(DELAY_HEADER),
        HeaderValue::from(millis),
    );
    response
}

fn status(code: StatusCode) -> Response<ResponseBody> {
    // These two statuses forbid a body; every other one gets its code and reason as text.
    if code == StatusCode::NO_CONTENT || code == StatusCode::NOT_MODIFIED {
        let mut response = Response::new(ResponseBody::empty());
        *response.status_mut() = code;
        return response;
    }
    let reason = code.canonical_reason().unwrap_or("");
    let body = format!("{} {reason}\n", code.as_u16());
    plain(code, ResponseBody::full(body))
}

fn encoded(parts: &Parts, coding: Coding, n: usize) -> Response<ResponseBody> {
    let plain_text = body::text(n);
    let mut response = if encoding::accepts(&parts.headers, coding) {
        let mut response = plain(
            StatusCode::OK,
            ResponseBody::full(coding.compress(&plain_text)),
        );
        let token = HeaderValue::from_static(coding.token());
        insert(&mut response, header::CONTENT_ENCODING, token);
        response
    } else {
        plain(StatusCode::OK, ResponseBody::full(plain_text))
    };
    let vary = HeaderValue::from_static("accept-encoding");
    insert(&mut response, header::VARY, vary);
    response
}

fn echo(parts: &Parts, received: &[u8]) -> Response<ResponseBody> {
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        // Repeated headers fold into one comma-separated value, as RFC 9110 §5.3 allows.
        match headers.get_mut(name.as_str()) {
            Some(Value::String(seen)) => {
                seen.push_str(", ");
                seen.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(value.into_owned()));
            }
        }
    }
    let mut object = Map::new();
    object.insert("method".into(), parts.method.as_str().into());
    object.insert("path".into(), parts.uri.path().into());
    object.insert("query".into(), parts.uri.query().unwrap_or("").into());
    object.insert("headers".into(), Value::Object(headers));
    object.insert("body".into(), String::from_utf8_lossy(received).into());
    json(Value::Object(object))
}

/// `/cookies/set?a=1&b=2` sets each pair as a cookie for the whole target, unencoded, and
/// answers with the pairs it set as JSON.
fn set_cookies(parts: &Parts) -> Response<ResponseBody> {
    let mut set = Map::new();
    let mut cookies = Vec::new();
    let pairs = parts.uri.query().unwrap_or("").split('&');
    for (name, value) in pairs.filter_map(|pair| pair.split_once('=')) {
        if let Ok(header) = HeaderValue::from_str(&format!("{name}={value}; Path=/")) {
            cookies.push(header);
            set.insert(name.to_owned(), value.into());
        }
    }
    let mut response = json(Value::Object(set));
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `/cookies` answers with the cookies the request carried, as a JSON object.
fn cookies(parts: &Parts) -> Response<ResponseBody> {
    let mut received = Map::new();
    for value in parts.headers.get_all(header::COOKIE) {
        let value = String::from_utf8_lossy(value.as_bytes());
        for pair in value.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                received.insert(name.to_owned(), value.into());
            }
        }
    }
    json(Value::Object(received))
}
