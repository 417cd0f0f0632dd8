//! A fault proxy for brood's AWS tests: an HTTP proxy between the AWS SDK and an AWS-compatible
//! test server (moto) that forwards every request unchanged, except those its [`Rule`]s answer
//! with a fault real AWS produces and the test server does not: throttling bursts, a queue
//! deleted too recently to be created again, a security group still in use by terminating
//! instances, an instance profile not yet known to EC2, a failed scaling activity. Errors come
//! in each service's own wire format (`wire.rs`), so the SDK parses their codes as it does
//! AWS's.
//!
//! Tests start one with [`FaultProxy::start`] on `127.0.0.1:0` in front of the server and point
//! the SDK's endpoint at [`FaultProxy::url`]; `brood-fault-proxy` is the same as a program, with
//! the rules in a JSON file.

mod rules;
mod wire;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

pub use rules::{Call, Fault, Rule, RuleError, Rules};

/// What can keep the proxy from starting.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("the upstream {url:?} is not an http://host:port URL")]
    Upstream { url: String },
    #[error(transparent)]
    Rules(#[from] RuleError),
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

/// Where requests go: `host:port` of an `http://` URL.
#[derive(Clone, Debug)]
pub struct Upstream(String);

impl Upstream {
    pub fn parse(url: &str) -> Result<Upstream, ProxyError> {
        let bad = || ProxyError::Upstream { url: url.into() };
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') || !authority.contains(':') {
            return Err(bad());
        }
        Ok(Upstream(authority.to_string()))
    }
}

/// The rules, shared by the connections and whoever asks how often they fired.
pub type SharedRules = Arc<Mutex<Rules>>;

/// Serves `listener` until `shutdown` completes: each request is decided by `rules`, then
/// answered with its fault or forwarded to `upstream`.
pub async fn serve(
    listener: TcpListener,
    upstream: Upstream,
    rules: SharedRules,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(_) => continue,
            },
            () = &mut shutdown => return,
        };
        let (upstream, rules) = (upstream.clone(), rules.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let (upstream, rules) = (upstream.clone(), rules.clone());
                async move { Ok::<_, Infallible>(handle(request, &upstream, &rules).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}

/// Headers that belong to one connection, not to the message.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

async fn handle(
    request: Request<Incoming>,
    upstream: &Upstream,
    rules: &SharedRules,
) -> Response<Full<Bytes>> {
    let (mut parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return plain(400, &format!("reading the request body: {e}")),
    };
    let call = wire::call(&parts.headers, parts.uri.query(), &body);
    let json = parts.headers.contains_key("x-amz-target");
    let (fault, n) = {
        let mut rules = rules.lock().unwrap_or_else(|p| p.into_inner());
        (rules.decide(&call, Instant::now()), rules.calls())
    };
    // Distinct per answer, as AWS's are; nothing parses them.
    let request_id = format!("fa017000-0000-4000-8000-{n:012x}");
    let (status, code, message) = match &fault {
        Some(Fault::Throttle) => {
            let (s, c, m) = wire::throttling(&call, json);
            (s, c.to_string(), m.to_string())
        }
        Some(Fault::Error {
            code,
            message,
            status,
        }) => (status.unwrap_or(400), code.clone(), message.clone()),
        _ => (0, String::new(), String::new()),
    };
    if status != 0 {
        let answer = wire::error_answer(&call, json, status, &code, &message, &request_id);
        let mut response = Response::new(Full::new(Bytes::from(answer.body)));
        *response.status_mut() = answer.status;
        let headers = response.headers_mut();
        headers.insert(
            "content-type",
            HeaderValue::from_static(answer.content_type),
        );
        if let Ok(id) = HeaderValue::from_str(&request_id) {
            headers.insert("x-amzn-requestid", id);
        }
        if let Some(q) = answer
            .query_error
            .and_then(|q| HeaderValue::from_str(&q).ok())
        {
            headers.insert("x-amzn-query-error", q);
        }
        return response;
    }
    strip_hop_by_hop(&mut parts.headers);
    let forwarded = Request::from_parts(parts, Full::new(body));
    let mut response = match forward(forwarded, upstream).await {
        Ok(r) => r,
        Err(e) => return plain(502, &format!("forwarding to {}: {e}", upstream.0)),
    };
    if let Some(Fault::FailedScalingActivity { message }) = fault {
        let group = call.group.as_deref().unwrap_or_default();
        let body = wire::with_failed_activity(response.body(), group, &message, SystemTime::now());
        response.headers_mut().remove("content-length");
        *response.body_mut() = Bytes::from(body);
    }
    response.map(Full::new)
}

/// One request over a fresh connection to the upstream, its answer read whole.
async fn forward(
    request: Request<Full<Bytes>>,
    upstream: &Upstream,
) -> Result<Response<Bytes>, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(&upstream.0).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let body = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, body))
}

fn plain(status: u16, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text.to_string())));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    response
}

/// A proxy on `127.0.0.1:0`, served on a thread of its own; stopped when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    rules: SharedRules,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`http://127.0.0.1:<port>`) with `rules`.
    pub fn start(upstream: &str, rules: Vec<Rule>) -> Result<FaultProxy, ProxyError> {
        let upstream = Upstream::parse(upstream)?;
        let rules = Arc::new(Mutex::new(Rules::new(rules, Instant::now())?));
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|source| ProxyError::Listen {
                addr: "127.0.0.1:0".into(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ProxyError::Listen {
            addr: "127.0.0.1:0".into(),
            source,
        })?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = rules.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("a tokio listener");
                serve(listener, upstream, shared, async {
                    let _ = stopped.await;
                })
                .await;
            });
        });
        Ok(FaultProxy {
            addr,
            rules,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`: the endpoint to give the SDK.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many calls the rule named `name` has faulted.
    pub fn fired(&self, name: &str) -> u32 {
        self.rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .fired(name)
    }

    /// How many calls of `action` came through, faulted or not.
    pub fn seen(&self, action: &str) -> u32 {
        self.rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .seen(action)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
