//! The page, its assets and the JSON API's handlers. Errors answer with `{"error": …}` and, for
//! form problems, `{"errors": [{field, message, line?, column?}]}`; nothing internal leaks.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::model::{FieldError, RunRequest, StartError};
use crate::{AppState, StopError};

/// Points of each series carried by a live update after the first (which carries them all).
const UPDATE_POINTS: usize = 5;

/// An API failure, shown to the client without internals.
pub(crate) enum ApiError {
    NotFound(String),
    Invalid(Vec<FieldError>),
    Conflict(String),
    BadRequest(String),
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, json!({ "error": what })),
            ApiError::Invalid(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "error": "the form has errors", "errors": errors }),
            ),
            ApiError::Conflict(why) => (StatusCode::CONFLICT, json!({ "error": why })),
            ApiError::BadRequest(why) => (StatusCode::BAD_REQUEST, json!({ "error": why })),
            ApiError::Internal(why) => (StatusCode::INTERNAL_SERVER_ERROR, json!({ "error": why })),
        };
        (status, Json(body)).into_response()
    }
}

impl From<StartError> for ApiError {
    fn from(e: StartError) -> ApiError {
        match e {
            StartError::Invalid(errors) => ApiError::Invalid(errors),
            StartError::Busy(_) => ApiError::Conflict(e.to_string()),
            StartError::Internal(why) => ApiError::Internal(why),
        }
    }
}

/// Runs `f` on the blocking pool: handle calls may read files or the history database.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::Internal("the request was interrupted".into()))
}

/// A JSON body as a form; a body that is not one names what is wrong.
fn form(body: &Bytes) -> Result<RunRequest, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not a valid run request: {e}")))
}

fn check_id(id: &str) -> Result<(), ApiError> {
    let fine = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if fine {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("no run {id:?}")))
    }
}

pub(crate) async fn index(State(app): State<Arc<AppState>>) -> Response {
    let page = crate::INDEX_HTML.replace("{{csrf}}", &app.access.csrf);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response()
}

/// One of the page's ES modules, from the table built into the binary.
pub(crate) async fn js_module(Path(name): Path<String>) -> Response {
    match crate::JS_MODULES.iter().find(|(file, _)| *file == name) {
        Some((_, source)) => (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            *source,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub(crate) async fn app_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        crate::APP_CSS,
    )
        .into_response()
}

pub(crate) async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::OPENAPI_JSON,
    )
        .into_response()
}

pub(crate) async fn session(State(app): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(json!({ "csrf": app.access.csrf, "version": env!("CARGO_PKG_VERSION") }))
}

pub(crate) async fn config(State(app): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let config = app.handle.config();
    let fields = crate::fields::form(&config.backends);
    Json(json!({ "config": config, "fields": fields, "latest": app.handle.latest() }))
}

pub(crate) async fn preview(
    State(app): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = form(&body)?;
    let handle = app.handle.clone();
    let preview = blocking(move || handle.preview(&request)).await?;
    Ok(Json(preview.map_err(ApiError::Invalid)?).into_response())
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    limit: Option<usize>,
}

pub(crate) async fn list_runs(
    State(app): State<Arc<AppState>>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let handle = app.handle.clone();
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let runs = blocking(move || handle.runs(limit))
        .await?
        .map_err(ApiError::Internal)?;
    Ok(Json(json!({ "runs": runs, "latest": app.handle.latest() })).into_response())
}

async fn start(app: &Arc<AppState>, request: RunRequest) -> Result<Response, ApiError> {
    let handle = app.handle.clone();
    let id = blocking(move || handle.start(request)).await??;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/runs/{id}"))],
        Json(json!({ "id": id })),
    )
        .into_response())
}

pub(crate) async fn start_run(
    State(app): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = form(&body)?;
    start(&app, request).await
}

pub(crate) async fn rerun(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    let handle = app.handle.clone();
    let lookup = id.clone();
    let request = blocking(move || handle.request_of(&lookup))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("run {id} has no stored form to run again")))?;
    start(&app, request).await
}

pub(crate) async fn get_run(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    let handle = app.handle.clone();
    let lookup = id.clone();
    let run = blocking(move || handle.run(&lookup))
        .await?
        .map_err(ApiError::Internal)?
        .ok_or_else(|| ApiError::NotFound(format!("no run {id}")))?;
    Ok(Json(run).into_response())
}

pub(crate) async fn request_of(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    let handle = app.handle.clone();
    let lookup = id.clone();
    let request = blocking(move || handle.request_of(&lookup))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("run {id} has no stored form")))?;
    Ok(Json(request).into_response())
}

pub(crate) async fn live(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rx = app
        .handle
        .live(&id)
        .ok_or_else(|| ApiError::NotFound(format!("run {id} is not live in this server")))?;
    let state = rx.borrow().clone();
    Ok(Json(&*state).into_response())
}

/// Server-sent events: `full` with the whole state first, then `update` every second with the
/// newest points, until the run has ended.
pub(crate) async fn events(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rx = app
        .handle
        .live(&id)
        .ok_or_else(|| ApiError::NotFound(format!("run {id} is not live in this server")))?;
    let stream =
        futures_util::stream::unfold((rx, true, false), |(mut rx, first, done)| async move {
            if done {
                return None;
            }
            if !first && rx.changed().await.is_err() {
                return None;
            }
            let state = rx.borrow_and_update().clone();
            let ended = state.end.is_some();
            let event = if first {
                Event::default().event("full").json_data(&*state)
            } else {
                Event::default()
                    .event("update")
                    .json_data(state.tail(UPDATE_POINTS))
            };
            Some((event, (rx, false, ended)))
        });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StopBody {
    #[serde(default)]
    abort: bool,
}

pub(crate) async fn stop(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let stop: StopBody = if body.is_empty() {
        StopBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadRequest(format!("abort: expected {{\"abort\": bool}}: {e}"))
        })?
    };
    match app.handle.stop(&id, stop.abort) {
        Ok(()) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "id": id, "abort": stop.abort })),
        )
            .into_response()),
        Err(e @ StopError::NotRunning(_)) => Err(ApiError::Conflict(e.to_string())),
    }
}

#[derive(Deserialize)]
pub(crate) struct ArtifactQuery {
    download: Option<String>,
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("csv") => "text/csv; charset=utf-8",
        Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

pub(crate) async fn artifact(
    State(app): State<Arc<AppState>>,
    Path((id, name)): Path<(String, String)>,
    Query(q): Query<ArtifactQuery>,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    let handle = app.handle.clone();
    let lookup = id.clone();
    // Only files the handle lists are served, so a name can never reach outside the run.
    let found = blocking(move || handle.artifacts(&lookup))
        .await?
        .into_iter()
        .find(|a| a.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("run {id} has no file {name:?}")))?;
    let bytes = tokio::fs::read(&found.path)
        .await
        .map_err(|_| ApiError::NotFound(format!("run {id}: {name} cannot be read")))?;
    let file = name.rsplit('/').next().unwrap_or(&name);
    let attach = q.download.is_some() || !name.ends_with(".html");
    let disposition = if attach {
        format!("attachment; filename=\"{id}_{}\"", file.replace('"', ""))
    } else {
        "inline".to_string()
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type(&name).to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}
