//! The router without a socket (`oneshot`), over an in-memory controller handle: every endpoint,
//! the access token off loopback, the cross-site checks, and form errors that name their field.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use brood_web::model::*;
use brood_web::{app, Access, ControllerHandle, StopError};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::sync::watch;
use tower::ServiceExt;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// A run the fake started: its id, form and live state.
type FakeRun = (String, RunRequest, watch::Sender<Arc<LiveState>>);

/// Runs in memory: `start` makes a live run whose state the test moves on.
struct Fake {
    dir: PathBuf,
    runs: Mutex<Vec<FakeRun>>,
    stops: Mutex<Vec<(String, bool)>>,
    running: Mutex<Option<String>>,
}

impl Fake {
    fn new() -> Arc<Fake> {
        let dir = tempfile::tempdir().unwrap().keep();
        Arc::new(Fake {
            dir,
            runs: Mutex::new(Vec::new()),
            stops: Mutex::new(Vec::new()),
            running: Mutex::new(None),
        })
    }

    /// A run folder with a stats CSV and a summary whose /a endpoint has `p95` ms.
    fn add_finished(&self, id: &str, p95: f64) {
        let dir = self.dir.join(id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("merged_stats.csv"),
            "Type,Name,Request Count\nGET,/a,10\n",
        )
        .unwrap();
        let entry = |name: &str| {
            json!({"method": "GET", "name": name, "requests": 10, "failures": 0, "rps": p95 / 10.0,
                   "response_time_ms": {"percentiles": [{"p": 50.0, "ms": 1.0}, {"p": 95.0, "ms": p95}, {"p": 99.0, "ms": p95}]}})
        };
        let summary =
            json!({"run": {"run_id": id}, "entries": [entry("/a")], "totals": entry("Aggregated")});
        std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
    }

    fn push(&self, id: &str, state: LiveState) {
        let runs = self.runs.lock().unwrap();
        let (_, _, tx) = runs.iter().find(|(r, _, _)| r == id).unwrap();
        tx.send_replace(Arc::new(state));
    }
}

fn check(request: &RunRequest) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if request.url.is_empty() && request.scenario.is_empty() {
        errors.push(FieldError::new("url", "nothing to load"));
    }
    if !request.users.is_empty() && request.users.parse::<u64>().is_err() {
        errors.push(FieldError::new("users", "expected a whole number"));
    }
    if request.scenario.contains("oops") {
        errors.push(FieldError {
            line: Some(2),
            column: Some(3),
            ..FieldError::new("scenario", "unknown field `oops`")
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

impl ControllerHandle for Fake {
    fn config(&self) -> UiConfig {
        UiConfig {
            version: "test".into(),
            backends: vec![BackendInfo {
                name: "local".into(),
                label: "local".into(),
                regions: "local-a,local-b".into(),
            }],
            ..UiConfig::default()
        }
    }

    fn preview(&self, request: &RunRequest) -> Result<Preview, Vec<FieldError>> {
        check(request)?;
        Ok(Preview {
            backend: "local".into(),
            cost_usd: 0.0,
            ..Preview::default()
        })
    }

    fn start(&self, request: RunRequest) -> Result<String, StartError> {
        check(&request).map_err(StartError::Invalid)?;
        let mut running = self.running.lock().unwrap();
        if let Some(id) = running.as_ref() {
            return Err(StartError::Busy(id.clone()));
        }
        let mut runs = self.runs.lock().unwrap();
        let id = format!("run-{}", runs.len() + 1);
        let (tx, _) = watch::channel(Arc::new(LiveState {
            run_id: id.clone(),
            state: "starting".into(),
            ..LiveState::default()
        }));
        runs.push((id.clone(), request, tx));
        *running = Some(id.clone());
        Ok(id)
    }

    fn stop(&self, run_id: &str, abort: bool) -> Result<(), StopError> {
        if self.running.lock().unwrap().as_deref() != Some(run_id) {
            return Err(StopError::NotRunning(run_id.into()));
        }
        self.stops.lock().unwrap().push((run_id.into(), abort));
        Ok(())
    }

    fn latest(&self) -> Option<String> {
        self.runs.lock().unwrap().last().map(|r| r.0.clone())
    }

    fn live(&self, run_id: &str) -> Option<watch::Receiver<Arc<LiveState>>> {
        let runs = self.runs.lock().unwrap();
        runs.iter()
            .find(|(r, _, _)| r == run_id)
            .map(|(_, _, tx)| tx.subscribe())
    }

    fn runs(&self, _limit: usize) -> Result<Vec<RunSummary>, String> {
        Ok(self
            .runs
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _, _)| RunSummary {
                id: id.clone(),
                status: "running".into(),
                ..RunSummary::default()
            })
            .collect())
    }

    fn run(&self, run_id: &str) -> Result<Option<RunDetail>, String> {
        Ok(self.dir.join(run_id).exists().then(|| RunDetail {
            run: RunSummary {
                id: run_id.into(),
                status: "completed".into(),
                ..RunSummary::default()
            },
            artifacts: self.artifacts(run_id),
            ..RunDetail::default()
        }))
    }

    fn request_of(&self, run_id: &str) -> Option<RunRequest> {
        let runs = self.runs.lock().unwrap();
        runs.iter()
            .find(|(r, _, _)| r == run_id)
            .map(|(_, req, _)| req.clone())
    }

    fn artifacts(&self, run_id: &str) -> Vec<Artifact> {
        ["merged_stats.csv", "summary.json"]
            .iter()
            .map(|name| self.dir.join(run_id).join(name))
            .filter(|p| p.exists())
            .map(|path| Artifact {
                name: path.file_name().unwrap().to_string_lossy().into(),
                bytes: 0,
                label: "file".into(),
                path,
            })
            .collect()
    }
}

fn loopback(fake: &Arc<Fake>) -> (Router, String) {
    let access = Access::new(None, true);
    let csrf = access.csrf.clone();
    (app(fake.clone(), access), csrf)
}

fn exposed(fake: &Arc<Fake>) -> (Router, String) {
    let access = Access::new(Some(TOKEN.into()), false);
    let csrf = access.csrf.clone();
    (app(fake.clone(), access), csrf)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, "localhost:5000")
        .body(Body::empty())
        .unwrap()
}

fn post(uri: &str, csrf: &str, body: Value) -> Request<Body> {
    Request::post(uri)
        .header(header::HOST, "localhost:5000")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-csrf-token", csrf)
        .header("origin", "http://localhost:5000")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn send(
    router: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

async fn json_of(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let (status, _, body) = send(router, request).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|_| json!({ "raw": body })),
    )
}

fn quick() -> Value {
    json!({ "url": "http://127.0.0.1:9/", "users": "2", "run_time": "5s" })
}

/// Every route of the router, with a method and a concrete path.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/assets/js/main.js"),
    ("GET", "/assets/app.css"),
    ("GET", "/metrics"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/session"),
    ("GET", "/api/config"),
    ("POST", "/api/preview"),
    ("GET", "/api/runs"),
    ("POST", "/api/runs"),
    ("GET", "/api/runs/run-1"),
    ("GET", "/api/runs/run-1/live"),
    ("GET", "/api/runs/run-1/events"),
    ("POST", "/api/runs/run-1/stop"),
    ("GET", "/api/runs/run-1/request"),
    ("POST", "/api/runs/run-1/rerun"),
    ("GET", "/api/runs/run-1/artifacts/merged_stats.csv"),
    ("GET", "/api/compare?a=x&b=y"),
];

#[tokio::test]
async fn off_loopback_every_route_needs_the_token() {
    let fake = Fake::new();
    let (router, csrf) = exposed(&fake);
    for (method, uri) in ROUTES {
        for auth in [None, Some("Bearer wrong"), Some("Bearer ")] {
            let mut request = Request::builder()
                .method(*method)
                .uri(*uri)
                .header(header::HOST, "10.0.0.5:5000")
                .header(header::CONTENT_TYPE, "application/json")
                .header("x-csrf-token", &csrf);
            if let Some(auth) = auth {
                request = request.header(header::AUTHORIZATION, auth);
            }
            let (status, headers, _) = send(
                &router,
                request.body(Body::from(quick().to_string())).unwrap(),
            )
            .await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} with {auth:?}"
            );
            assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        }
    }
    // A wrong cookie is no better.
    let request = Request::get("/api/runs")
        .header(header::COOKIE, "brood_token=nope")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&router, request).await.0, StatusCode::UNAUTHORIZED);
    assert!(fake.runs.lock().unwrap().is_empty(), "nothing started");
}

#[tokio::test]
async fn the_token_opens_every_door() {
    let fake = Fake::new();
    let (router, _) = exposed(&fake);
    let request = Request::get("/api/runs")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&router, request).await.0, StatusCode::OK);
    // Visiting /?token= sets a session cookie and drops the token from the address.
    let (status, headers, _) = send(&router, get(&format!("/?token={TOKEN}"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("brood_token={TOKEN};")),
        "{cookie}"
    );
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let (status, _, _) = send(&router, get("/?token=wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let request = Request::get("/")
        .header(header::COOKIE, format!("other=1; brood_token={TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let (status, _, page) = send(&router, request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(TOKEN), "the page never shows the token");
    // A bearer POST needs no CSRF token: a browser never adds that header on its own.
    let request = Request::post("/api/runs")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(quick().to_string()))
        .unwrap();
    assert_eq!(send(&router, request).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let fake = Fake::new();
    let (router, csrf) = loopback(&fake);
    let cases: Vec<(&str, Request<Body>)> = vec![
        ("foreign origin", {
            let mut r = post("/api/runs", &csrf, quick());
            r.headers_mut()
                .insert("origin", "http://evil.example".parse().unwrap());
            r
        }),
        ("null origin", {
            let mut r = post("/api/runs", &csrf, quick());
            r.headers_mut().insert("origin", "null".parse().unwrap());
            r
        }),
        ("cross-site fetch", {
            let mut r = post("/api/runs", &csrf, quick());
            r.headers_mut()
                .insert("sec-fetch-site", "cross-site".parse().unwrap());
            r
        }),
        ("no CSRF token", {
            let mut r = post("/api/runs", &csrf, quick());
            r.headers_mut().remove("x-csrf-token");
            r
        }),
        ("wrong CSRF token", post("/api/runs", "forged", quick())),
        ("rebinding Host", {
            let mut r = post("/api/runs", &csrf, quick());
            r.headers_mut()
                .insert(header::HOST, "evil.example:5000".parse().unwrap());
            r
        }),
        ("stop without CSRF", {
            let mut r = post("/api/runs/run-1/stop", &csrf, json!({}));
            r.headers_mut().remove("x-csrf-token");
            r
        }),
    ];
    for (what, request) in cases {
        let (status, body) = json_of(&router, request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
        assert!(body["error"].as_str().is_some(), "{what}");
    }
    assert!(fake.runs.lock().unwrap().is_empty(), "nothing started");
    let (status, _) = json_of(&router, post("/api/runs", &csrf, quick())).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn form_errors_name_their_field() {
    let fake = Fake::new();
    let (router, csrf) = loopback(&fake);
    for uri in ["/api/preview", "/api/runs"] {
        let (status, body) = json_of(
            &router,
            post(uri, &csrf, json!({ "url": "/", "users": "many" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}");
        assert_eq!(body["errors"][0]["field"], "users", "{uri}: {body}");
        let (status, body) = json_of(
            &router,
            post(uri, &csrf, json!({ "scenario": "users:\n  oops: 1\n" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["errors"][0]["field"], "scenario");
        assert_eq!(body["errors"][0]["line"], 2);
        assert_eq!(body["errors"][0]["column"], 3);
        // A body that is not a form is a 400 that says so, never a panic.
        let (status, body) = json_of(&router, post(uri, &csrf, json!({ "userz": "1" }))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["error"].as_str().unwrap().contains("userz"));
        let mut bad = post(uri, &csrf, json!({}));
        *bad.body_mut() = Body::from("{not json");
        assert_eq!(json_of(&router, bad).await.0, StatusCode::BAD_REQUEST);
    }
    let (status, body) = json_of(&router, post("/api/preview", &csrf, quick())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["cost_usd"], 0.0);
    assert!(fake.runs.lock().unwrap().is_empty());
}

#[tokio::test]
async fn start_watch_and_stop_a_run() {
    let fake = Fake::new();
    let (router, csrf) = loopback(&fake);
    let (status, body) = json_of(&router, post("/api/runs", &csrf, quick())).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = body["id"].as_str().unwrap().to_string();
    // One run at a time.
    let (status, body) = json_of(&router, post("/api/runs", &csrf, quick())).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let point = |t| Point {
        t,
        rps: 10.0,
        ..Point::default()
    };
    fake.push(
        &id,
        LiveState {
            run_id: id.clone(),
            state: "running".into(),
            all: View {
                name: "all".into(),
                series: (1..=20).map(point).collect(),
                table: vec![EntryRow {
                    method: "GET".into(),
                    name: "/".into(),
                    requests: 7,
                    ..EntryRow::default()
                }],
            },
            ..LiveState::default()
        },
    );
    let (status, live) = json_of(&router, get(&format!("/api/runs/{id}/live"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(live["state"], "running");
    assert_eq!(live["all"]["series"].as_array().unwrap().len(), 20);
    // The stream opens with the whole state, then carries the newest points only.
    let response = router
        .clone()
        .oneshot(get(&format!("/api/runs/{id}/events")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let first = String::from_utf8_lossy(&first).into_owned();
    assert!(first.starts_with("event: full\ndata: {"), "{first}");
    assert!(first.contains("\"t\":1,") && first.contains("\"t\":20,"));
    fake.push(
        &id,
        LiveState {
            run_id: id.clone(),
            state: "finished".into(),
            all: View {
                name: "all".into(),
                series: (1..=21).map(point).collect(),
                table: Vec::new(),
            },
            end: Some("stopped".into()),
            ..LiveState::default()
        },
    );
    let next = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let next = String::from_utf8_lossy(&next).into_owned();
    assert!(next.starts_with("event: update\ndata: {"), "{next}");
    assert!(
        next.contains("\"t\":21,") && !next.contains("\"t\":16,"),
        "{next}"
    );
    assert!(body.frame().await.is_none(), "the stream ends with the run");

    let (status, body) = json_of(
        &router,
        post(
            &format!("/api/runs/{id}/stop"),
            &csrf,
            json!({"abort": true}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(*fake.stops.lock().unwrap(), vec![(id.clone(), true)]);
    let (status, _) = json_of(&router, post("/api/runs/other/stop", &csrf, json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = json_of(
        &router,
        post(
            &format!("/api/runs/{id}/stop"),
            &csrf,
            json!({"abort": "yes"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (_, list) = json_of(&router, get("/api/runs")).await;
    assert_eq!(list["runs"][0]["id"], id.as_str());
    assert_eq!(list["latest"], id.as_str());
    let (status, request) = json_of(&router, get(&format!("/api/runs/{id}/request"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(request["users"], "2");
    let (_, _, metrics) = send(&router, get("/metrics")).await;
    assert!(
        metrics.contains(&format!(
            "brood_run_info{{run=\"{id}\",state=\"finished\"}} 1"
        )),
        "{metrics}"
    );
    // Run again while the first is still marked running: refused as busy.
    let (status, _) = json_of(
        &router,
        post(&format!("/api/runs/{id}/rerun"), &csrf, json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    *fake.running.lock().unwrap() = None;
    let (status, body) = json_of(
        &router,
        post(&format!("/api/runs/{id}/rerun"), &csrf, json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["id"], "run-2");
    assert_eq!(fake.request_of("run-2").unwrap().users, "2");
    let (status, _) = json_of(&router, get("/api/runs/nope/live")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn downloads_and_comparisons() {
    let fake = Fake::new();
    fake.add_finished("old", 100.0);
    fake.add_finished("new", 80.0);
    let (router, _) = loopback(&fake);
    let (status, run) = json_of(&router, get("/api/runs/old")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(run["artifacts"].as_array().unwrap().len(), 2);
    assert!(
        run["artifacts"][0].get("path").is_none(),
        "paths stay on the server"
    );
    let (status, headers, body) =
        send(&router, get("/api/runs/old/artifacts/merged_stats.csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("Type,Name,Request Count\n"));
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"old_merged_stats.csv\""
    );
    for bad in [
        "/api/runs/old/artifacts/secret.txt",
        "/api/runs/old/artifacts/../new/summary.json",
        "/api/runs/old/artifacts/%2e%2e%2fcontroller.key",
        "/api/runs/..%2fx/artifacts/summary.json",
        "/api/runs/missing",
    ] {
        assert_eq!(
            send(&router, get(bad)).await.0,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
    let (status, cmp) = json_of(&router, get("/api/compare?a=old&b=new")).await;
    assert_eq!(status, StatusCode::OK, "{cmp}");
    let rows = cmp["rows"].as_array().unwrap();
    assert_eq!(rows[0]["name"], "/a");
    assert_eq!(rows[0]["diff"]["p95_ms"], -20.0);
    assert_eq!(rows[1]["name"], "Aggregated");
    let (status, body) = json_of(&router, get("/api/compare?a=old")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = json_of(&router, get("/api/compare?a=old&b=gone")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().starts_with("b:"));
}

#[tokio::test]
async fn page_assets_session_and_config() {
    let fake = Fake::new();
    let (router, csrf) = loopback(&fake);
    let (status, headers, page) = send(&router, get("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page.contains(&format!("content=\"{csrf}\"")));
    assert!(!page.contains("{{csrf}}"));
    assert!(page.contains(r#"<script type="module" src="/assets/js/main.js"></script>"#));
    let (status, headers, body) = send(&router, get("/assets/app.css")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(body.len() > 100);
    let (_, session) = json_of(&router, get("/api/session")).await;
    assert_eq!(session["csrf"], csrf.as_str());
    let (_, config) = json_of(&router, get("/api/config")).await;
    assert_eq!(config["config"]["backends"][0]["name"], "local");
    // The form's fields come with it, the backend's choices being the server's backends.
    let fields = config["fields"].as_array().unwrap();
    assert_eq!(fields.len(), brood_web::fields::table().len());
    let backend = fields.iter().find(|f| f["name"] == "backend").unwrap();
    assert_eq!(backend["kind"], "select");
    assert_eq!(backend["options"][0]["value"], "local");
    assert_eq!(backend["default"], "local");
    let (status, _, metrics) = send(&router, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(metrics.contains("brood_up 1"));
}

/// Every `/api` route in the router is described, with its methods, in the OpenAPI document.
#[tokio::test]
async fn openapi_describes_every_api_route() {
    let fake = Fake::new();
    let (router, _) = loopback(&fake);
    let (status, doc) = json_of(&router, get("/api/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    let source = include_str!("../src/lib.rs");
    let mut seen = 0;
    for line in source.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix(".route(\"/api/") else {
            continue;
        };
        let path = format!("/api/{}", rest.split('"').next().unwrap()).replace("{*name}", "{name}");
        let described = &doc["paths"][&path];
        assert!(described.is_object(), "{path} is missing from openapi.json");
        for (method, call) in [
            ("get", "get(api"),
            ("post", "post(api"),
            ("get", "get(compare"),
        ] {
            if line.contains(call) {
                assert!(
                    described[method].is_object(),
                    "{method} {path} is not described"
                );
            }
        }
        seen += 1;
    }
    assert!(seen >= 12, "found only {seen} routes");
}

/// Every file of `assets/js` is served, as it is on disk, with JavaScript's content type; every
/// module a module imports is one of them; anything else under `/assets/js/` is not found.
#[tokio::test]
async fn every_es_module_is_served() {
    let fake = Fake::new();
    let (router, _) = loopback(&fake);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/js");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".js") {
            names.push(name);
        }
    }
    assert!(
        names.len() >= 10 && names.contains(&"main.js".to_string()),
        "{names:?}"
    );
    for name in &names {
        let (status, headers, body) = send(&router, get(&format!("/assets/js/{name}"))).await;
        assert_eq!(status, StatusCode::OK, "{name} is not served");
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8",
            "{name}"
        );
        assert_eq!(
            body,
            std::fs::read_to_string(dir.join(name)).unwrap(),
            "{name}"
        );
        for import in body.lines().filter_map(|l| l.split(" from \"./").nth(1)) {
            let imported = import.split('"').next().unwrap();
            assert!(
                names.iter().any(|n| n == imported),
                "{name} imports {imported}"
            );
        }
    }
    for missing in [
        "/assets/js/nope.js",
        "/assets/js/package.json",
        "/assets/js/",
        "/assets/app.js",
    ] {
        assert_eq!(
            send(&router, get(missing)).await.0,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
}

/// Hardening item 15: a body over the limit (and a body that is not JSON) is refused under
/// `/api/` with a JSON error like every other API error, not plain text.
#[tokio::test]
async fn oversized_and_malformed_api_bodies_get_json_errors() {
    let fake = Fake::new();
    let (router, csrf) = loopback(&fake);
    let huge = "x".repeat(3 << 20);
    let request = Request::post("/api/preview")
        .header("host", "127.0.0.1:5000")
        .header("content-type", "application/json")
        .header("x-csrf-token", &csrf)
        .body(Body::from(format!("{{\"url\": \"{huge}\"}}")))
        .unwrap();
    let (status, headers, body) = send(&router, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let error: Value = serde_json::from_str(&body).unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("length limit"),
        "{body}"
    );
    let request = Request::post("/api/preview")
        .header("host", "127.0.0.1:5000")
        .header("content-type", "application/json")
        .header("x-csrf-token", &csrf)
        .body(Body::from("{not json"))
        .unwrap();
    let (status, _, body) = send(&router, request).await;
    assert!(status.is_client_error(), "{status}");
    assert!(
        serde_json::from_str::<Value>(&body).unwrap()["error"].is_string(),
        "{body}"
    );
}
