//! `brood serve`'s web UI and JSON API: an axum router over a [`ControllerHandle`], with the page,
//! its script and styles embedded in the binary.
//!
//! The page is one HTML file and native ES modules (`assets/js/`, no build step, typed with JSDoc)
//! that draw its charts as SVG and take live updates from a server-sent event stream; it uses only
//! the JSON API under `/api/`, which is documented in `assets/openapi.json` (served at
//! `/api/openapi.json`). `/metrics` gives the latest run's figures in Prometheus's text format.
//!
//! Invariant: no engine, no backend, no cloud SDK here. Everything about runs goes through the
//! handle, which the binary implements; access rules live in [`security`].

mod api;
mod compare;
pub mod fields;
mod handle;
mod metrics;
pub mod model;
pub mod security;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;

pub use handle::{ControllerHandle, StopError};
pub use security::Access;

/// The page, its styles, and the API description, built into the binary.
const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_CSS: &str = include_str!("../assets/app.css");
const OPENAPI_JSON: &str = include_str!("../assets/openapi.json");

/// The page's ES modules by file name, served at `/assets/js/<name>`; `main.js` is the entry.
const JS_MODULES: &[(&str, &str)] = &[
    ("api.js", include_str!("../assets/js/api.js")),
    ("charts.js", include_str!("../assets/js/charts.js")),
    ("compare.js", include_str!("../assets/js/compare.js")),
    ("dom.js", include_str!("../assets/js/dom.js")),
    ("fields.js", include_str!("../assets/js/fields.js")),
    ("form.js", include_str!("../assets/js/form.js")),
    ("format.js", include_str!("../assets/js/format.js")),
    ("live.js", include_str!("../assets/js/live.js")),
    ("main.js", include_str!("../assets/js/main.js")),
    ("results.js", include_str!("../assets/js/results.js")),
    ("run.js", include_str!("../assets/js/run.js")),
    ("runs.js", include_str!("../assets/js/runs.js")),
    ("types.js", include_str!("../assets/js/types.js")),
    ("widgets.js", include_str!("../assets/js/widgets.js")),
];

/// What every handler sees.
pub struct AppState {
    pub handle: Arc<dyn ControllerHandle>,
    pub access: Access,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// The whole web application: page, assets, API and metrics, behind the access rules.
pub fn app(handle: Arc<dyn ControllerHandle>, access: Access) -> Router {
    let state = Arc::new(AppState { handle, access });
    Router::new()
        .route("/", get(api::index))
        .route("/assets/js/{name}", get(api::js_module))
        .route("/assets/app.css", get(api::app_css))
        .route("/metrics", get(metrics::metrics))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/session", get(api::session))
        .route("/api/config", get(api::config))
        .route("/api/preview", post(api::preview))
        .route("/api/runs", get(api::list_runs).post(api::start_run))
        .route("/api/runs/{id}", get(api::get_run))
        .route("/api/runs/{id}/live", get(api::live))
        .route("/api/runs/{id}/events", get(api::events))
        .route("/api/runs/{id}/stop", post(api::stop))
        .route("/api/runs/{id}/request", get(api::request_of))
        .route("/api/runs/{id}/rerun", post(api::rerun))
        .route("/api/runs/{id}/artifacts/{*name}", get(api::artifact))
        .route("/api/compare", get(compare::compare))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::guard,
        ))
        .with_state(state)
}

/// What one server lets its clients hold: slow or idle clients are cut off, and connections past
/// the cap are answered 503 and closed, so no number of them can take the server down.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Longest a client may take to send a request head, counted from the connection's start or
    /// the end of the previous response (so it is also the idle timeout between requests).
    pub head_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            head_timeout: Duration::from_secs(10),
            max_connections: 4096,
        }
    }
}

/// Largest request head accepted; larger heads are answered 431.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Serves `app` on `listener` within `limits` until `shutdown` completes, then lets the
/// connections in progress finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout)
        .max_buf_size(MAX_HEAD_BYTES.max(8192));
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors (or a connection gone before it was accepted):
                    // the listener stays, and the next accept is tried shortly.
                    if !matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
                    ) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Full: say so without waiting on the client, and close.
            let _ = stream.try_write(
                b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            );
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// True when `addr` only accepts connections from this machine.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}
