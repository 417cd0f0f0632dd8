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
mod handle;
mod metrics;
pub mod model;
pub mod security;

use std::net::SocketAddr;
use std::sync::Arc;

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

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// True when `addr` only accepts connections from this machine.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}
