//! The HTTP target: configuration, the accept loop, and serving HTTP/1.1 and HTTP/2 on one port.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::background::{self, Background, StopSignal};
use crate::respond::{respond, ConnectionControl, Shared};
use crate::shop::ShopCounts;
use crate::tls;

/// How to run a [`Target`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetConfig {
    /// Serve HTTPS with a fresh self-signed certificate for `127.0.0.1` and `localhost`
    /// (see [`Target::cert_der`]), offering `h2` and `http/1.1` by ALPN.
    pub tls: bool,
    /// Added before every response, to stand for the round trip to a far region.
    pub extra_latency: Duration,
    /// Where to listen; port 0 picks a free port (see [`Target::addr`]).
    pub bind: SocketAddr,
    /// Runtime worker threads serving connections. Two suit tests; a benchmark on a bigger
    /// machine may want more.
    pub workers: usize,
    /// Seeds the demo shop's catalogue, tokens, cart ids and latencies: under one seed, the
    /// same requests in the same order get the same answers after the same waits.
    pub shop_seed: u64,
}

/// The seed of the demo shop unless a config says otherwise.
const DEFAULT_SHOP_SEED: u64 = 0x00b2_00d5_4009;

impl Default for TargetConfig {
    fn default() -> Self {
        Self {
            tls: false,
            extra_latency: Duration::ZERO,
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            workers: 2,
            shop_seed: DEFAULT_SHOP_SEED,
        }
    }
}

/// An HTTP server with known, deterministic routes, running on a thread and runtime of its own
/// until it is shut down or dropped.
///
/// Routes, all answering any method:
///
/// - `/`: 200 `Hello, world!`.
/// - `/delay/{ms}`: 200 after `ms` milliseconds.
/// - `/bimodal/{fast_ms}/{slow_ms}/{every}`: the 1st, `every+1`-th, … request to `/bimodal`
///   waits `slow_ms`, the others `fast_ms`.
/// - `/status/{code}`: that status (200–999) with a short body.
/// - `/drop`: the connection closes with no response.
/// - `/slow-body/{chunks}/{interval_ms}`: 200 at once, then `chunks` chunks of 10 bytes, one
///   per interval.
/// - `/bytes/{n}`: `n` bytes of [`text`](crate::text) with Content-Length.
/// - `/chunked/{n}`: the same bytes in about four chunks of unknown total length.
/// - `/gzip/{n}`, `/brotli/{n}`: the same bytes, compressed when Accept-Encoding allows it
///   (`n` up to 16 MiB).
/// - `/redirect/{n}`, `/redirect-abs/{n}`: 302 to `…/{n-1}` with a relative or absolute
///   Location; 200 at 0.
/// - `/stall/{period_ms}/{stall_ms}`: 200, but a request arriving in the first `stall_ms` of a
///   `period_ms` period (counted from [`Target::started`]) waits for that stall to end.
/// - `/close`: 200 with `Connection: close`, then the connection closes (HTTP/2 by GOAWAY).
/// - `/echo`: 200 JSON `{method, path, query, headers, body}` of the request.
/// - `/cookies/set?name=value&…`: sets the cookies; `/cookies` answers the received ones as JSON.
/// - `/shop/…`: the demo shop, a JSON API with logins, carts and checkouts described in the
///   [crate documentation](crate#the-demo-shop).
///
/// Anything else is 404, and a known route with unusable parameters is 400. `/delay`,
/// `/bimodal` and `/stall` report the time they waited in the
/// [`DELAY_HEADER`](crate::DELAY_HEADER) response header.
#[derive(Debug)]
pub struct Target {
    shared: Arc<Shared>,
    addr: SocketAddr,
    cert_der: Option<Vec<u8>>,
    background: Background,
}

impl Target {
    /// Binds `config.bind` and starts serving before returning, so requests may be sent at once.
    pub fn start(config: TargetConfig) -> io::Result<Target> {
        let std_listener = StdTcpListener::bind(config.bind)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (acceptor, cert_der) = if config.tls {
            let (acceptor, cert_der) = tls::self_signed()?;
            (Some(acceptor), Some(cert_der))
        } else {
            (None, None)
        };
        let runtime = background::runtime("brood-target", config.workers)?;
        let listener = {
            // Registering the socket with the runtime's reactor needs the runtime entered.
            let _entered = runtime.enter();
            TcpListener::from_std(std_listener)?
        };
        let shared = Arc::new(Shared::new(
            config.tls,
            config.extra_latency,
            addr,
            config.shop_seed,
        ));
        let server = Server {
            shared: shared.clone(),
            acceptor,
            http: Arc::new(http_builder()),
        };
        let background = Background::spawn("brood-target", runtime, move |stop| {
            server.run(listener, stop)
        })?;
        Ok(Target {
            shared,
            addr,
            cert_der,
            background,
        })
    }

    /// The address the target listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of `path` on this target, such as `http://127.0.0.1:41234/delay/5`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.cert_der.is_some() {
            "https"
        } else {
            "http"
        };
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("{scheme}://{}{slash}{path}", self.addr)
    }

    /// Requests received, counted as soon as each request head is read, before any waiting.
    pub fn requests(&self) -> u64 {
        self.shared.counts.requests()
    }

    /// Requests whose path starts with `route`'s first segment: `"/delay"` (or `"/delay/5"`)
    /// counts every `/delay/{ms}`; `"/"` counts only the root.
    pub fn requests_to(&self, route: &str) -> u64 {
        self.shared.counts.requests_to(route)
    }

    /// Requests whose path starts with `prefix` segment by segment. Below `/shop` each endpoint
    /// counts apart: `"/shop/api/cart"` counts both methods of the cart, `"/shop/api"` every
    /// API call, and `"/shop/api/products/7"` every product lookup (ids are not told apart).
    /// Other routes count by first segment only, so elsewhere this is [`Target::requests_to`].
    pub fn requests_to_path(&self, prefix: &str) -> u64 {
        self.shared.counts.requests_to_path(prefix)
    }

    /// What the demo shop has done: logins, cart additions, carts, orders and failures.
    pub fn shop_counts(&self) -> ShopCounts {
        self.shared.shop.counts()
    }

    /// Logins to the demo shop answered 200.
    pub fn successful_logins(&self) -> u64 {
        self.shop_counts().logins
    }

    /// Demo shop carts holding at least one item now (added to and not checked out).
    pub fn carts_with_items(&self) -> u64 {
        self.shop_counts().carts_with_items
    }

    /// TCP connections accepted.
    pub fn connections(&self) -> u64 {
        self.shared.counts.connections()
    }

    /// TCP connections accepted and not yet closed.
    pub fn open_connections(&self) -> u64 {
        self.shared.counts.open_connections()
    }

    /// Zeroes the request and connection counts and restarts the `/bimodal` sequence, so the
    /// next `/bimodal` request is slow again. The demo shop forgets its sessions and carts and
    /// starts its sequences over, answering as if just started. Open connections stay counted.
    pub fn reset_counts(&self) {
        self.shared.reset();
    }

    /// When the target started: `/stall` periods are measured from here.
    pub fn started(&self) -> Instant {
        self.shared.started()
    }

    /// The target's self-signed certificate in DER, for clients to trust; `None` without TLS.
    pub fn cert_der(&self) -> Option<Vec<u8>> {
        self.cert_der.clone()
    }

    /// Stops accepting, closes every connection and waits for the target's thread to end.
    /// Dropping the target does the same.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.background.stop();
    }
}

/// Starts a target on `config` and blocks the calling thread while it serves, for a process
/// that ends by signal, such as `brood demo-target` stopped with Ctrl-C. Prints nothing.
///
/// Returns only if the target cannot start (say, its address is taken). A caller that wants
/// to stop cleanly instead keeps the [`Target`] from [`Target::start`] and drops it when told,
/// for example after `tokio::signal::ctrl_c().await`.
pub fn serve_forever(config: TargetConfig) -> io::Result<()> {
    let _target = Target::start(config)?;
    loop {
        // Nothing unparks this thread; the loop only absorbs spurious wake-ups.
        std::thread::park();
    }
}

/// Serves HTTP/1.1 with keep-alive and HTTP/2 on one socket: the auto builder tells them apart
/// by the HTTP/2 connection preface, so plain TCP takes h2c with prior knowledge and TLS
/// connections follow whichever protocol ALPN chose.
fn http_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Load tests multiplex many requests per connection; hyper's default of 200 concurrent
    // streams would queue a client's requests in the client and hide the target's behaviour.
    builder.http2().max_concurrent_streams(4096);
    builder
}

/// What the accept loop and its connection tasks share.
struct Server {
    shared: Arc<Shared>,
    acceptor: Option<TlsAcceptor>,
    http: Arc<auto::Builder<TokioExecutor>>,
}

impl Server {
    async fn run(self, listener: TcpListener, mut stop: StopSignal) {
        let server = Arc::new(self);
        loop {
            let accepted = tokio::select! {
                _ = &mut stop => return,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, _peer)) => {
                    server.shared.counts.connection_opened();
                    tokio::spawn(server.clone().connection(stream));
                }
                // Accept fails for reasons of the moment (out of descriptors, a peer that reset
                // before being accepted); pausing lets them pass instead of spinning on them.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    async fn connection(self: Arc<Self>, stream: TcpStream) {
        let _open = OpenConnection(self.shared.clone());
        // Responses are small and latency is what is measured: never hold a segment back.
        let _ = stream.set_nodelay(true);
        match &self.acceptor {
            Some(acceptor) => {
                if let Ok(tls) = acceptor.accept(stream).await {
                    self.serve(TokioIo::new(tls)).await;
                }
            }
            None => self.serve(TokioIo::new(stream)).await,
        }
    }

    async fn serve<I>(&self, io: I)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let control = Arc::new(ConnectionControl::default());
        let shared = self.shared.clone();
        let handler = control.clone();
        let service = service_fn(move |request| respond(shared.clone(), handler.clone(), request));
        let connection = self.http.serve_connection(io, service);
        tokio::pin!(connection);
        loop {
            tokio::select! {
                _ = connection.as_mut() => return,
                // Returning drops the connection and its socket: a bare close, with no response
                // written for the request that asked for it.
                _ = control.hangup.notified() => return,
                _ = control.close.notified() => connection.as_mut().graceful_shutdown(),
            }
        }
    }
}

/// Keeps a connection counted as open until its task ends, however it ends, including by the
/// runtime dropping it at shutdown.
struct OpenConnection(Arc<Shared>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.counts.connection_closed();
    }
}
