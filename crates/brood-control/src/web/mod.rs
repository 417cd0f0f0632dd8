//! `brood serve`: the web UI and JSON API on one address, runs on the local backend started in
//! this process, an optional embedded demo target, and the access token off loopback.

mod form;
mod handle;
mod observe;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use brood_target::{Target, TargetConfig};
use brood_web::Access;
use serde::Deserialize;

use crate::cli::ServeArgs;
use crate::exit::Outcome;
use handle::ServeHandle;

const DEFAULT_BIND: &str = "127.0.0.1:5000";
/// How long a run in progress gets to stop when the server is interrupted.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(20);

/// `brood serve --config FILE`: the same settings as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    bind: Option<String>,
    results: Option<PathBuf>,
    data: Option<PathBuf>,
    demo_target: Option<bool>,
    head_timeout: Option<String>,
    max_connections: Option<usize>,
    token: Option<String>,
}

/// The server's checked settings.
#[derive(Debug)]
struct Options {
    bind: SocketAddr,
    results: PathBuf,
    /// Where feed files of submitted scenarios are read from (`<results>/scenarios` when unset).
    data: Option<PathBuf>,
    demo_target: bool,
    limits: brood_web::Limits,
    token: Option<String>,
}

fn options(args: &ServeArgs) -> Result<Options, String> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--config: cannot read {}: {e}", path.display()))?;
            toml::from_str::<ConfigFile>(&text)
                .map_err(|e| format!("--config: {}: {e}", path.display()))?
        }
        None => ConfigFile::default(),
    };
    let bind_text = args
        .bind
        .clone()
        .or(file.bind)
        .unwrap_or_else(|| DEFAULT_BIND.into());
    let bind = bind_text.parse().map_err(|_| {
        format!("--bind: expected an address like 127.0.0.1:5000, got {bind_text:?}")
    })?;
    let token = args.token.clone().or(file.token);
    if let Some(t) = &token {
        let fine = t.len() >= 16
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if !fine {
            return Err(
                "--token: expected at least 16 letters, digits, '-', '_' or '.'".to_string(),
            );
        }
    }
    let mut limits = brood_web::Limits::default();
    if let Some(text) = args.head_timeout.clone().or(file.head_timeout) {
        limits.head_timeout = brood_plan::parse_duration(&text)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                format!("--head-timeout: expected a duration above zero like 10s, got {text:?}")
            })?;
    }
    if let Some(n) = args.max_connections.or(file.max_connections) {
        if n == 0 {
            return Err("--max-connections: expected 1 or more".to_string());
        }
        limits.max_connections = n;
    }
    Ok(Options {
        bind,
        results: args
            .results
            .clone()
            .or(file.results)
            .unwrap_or_else(|| PathBuf::from("brood-results")),
        data: args.data.clone().or(file.data),
        demo_target: args.demo_target || file.demo_target.unwrap_or(false),
        limits,
        token,
    })
}

pub fn serve(args: &ServeArgs) -> Outcome {
    let mut options = match options(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("brood: {e}");
            return Outcome::InvalidInput;
        }
    };
    if let Err(e) = std::fs::create_dir_all(&options.results) {
        eprintln!("brood: cannot create {}: {e}", options.results.display());
        return Outcome::Infrastructure;
    }
    let demo = if options.demo_target {
        match Target::start(TargetConfig::default()) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("brood: cannot start the demo target: {e}");
                return Outcome::Infrastructure;
            }
        }
    } else {
        None
    };
    options.limits.max_connections = within_open_file_limit(options.limits.max_connections);
    let loopback = brood_web::is_loopback(&options.bind);
    let generated = !loopback && options.token.is_none();
    if generated {
        options.token = Some(brood_web::security::random_token());
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("brood: {e}");
            return Outcome::Infrastructure;
        }
    };
    let demo_url = demo.as_ref().map(|t| format!("http://{}", t.addr()));
    let handle = Arc::new(ServeHandle::new(
        options.results.clone(),
        options.data.clone(),
        demo_url.clone(),
    ));
    recover(&options.results);
    let outcome = runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(options.bind).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("brood: cannot listen on {}: {e}", options.bind);
                return Outcome::Infrastructure;
            }
        };
        let addr = listener.local_addr().unwrap_or(options.bind);
        let shown = if addr.ip().is_unspecified() {
            format!("localhost:{}", addr.port())
        } else {
            addr.to_string()
        };
        match (&options.token, generated) {
            (Some(token), true) => println!(
                "brood serve: listening on http://{shown}/ (not loopback: a token is required)\n  \
                 open http://{shown}/?token={token}\n  or send Authorization: Bearer {token}"
            ),
            (Some(_), false) => {
                println!("brood serve: listening on http://{shown}/ (open /?token=YOUR_TOKEN once)")
            }
            (None, _) => println!("brood serve: listening on http://{shown}/"),
        }
        if let Some(url) = &demo_url {
            println!("demo target on {url} (shop API under /shop/)");
        }
        println!(
            "results under {}; Ctrl-C to stop",
            options.results.display()
        );
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let _ = ctrlc::set_handler(move || {
            let _ = stop_tx.send(true);
        });
        let access = Access::new(options.token.clone(), loopback);
        let app = brood_web::app(handle.clone(), access);
        let mut shutdown_rx = stop_rx.clone();
        let shutdown = async move {
            let _ = shutdown_rx.wait_for(|stop| *stop).await;
        };
        let server = brood_web::serve(listener, app, options.limits, shutdown);
        tokio::pin!(server);
        tokio::select! {
            result = &mut server => {
                if let Err(e) = result {
                    eprintln!("brood: the server failed: {e}");
                    return Outcome::Infrastructure;
                }
            }
            _ = stop_rx.wait_for(|stop| *stop) => {
                eprintln!("brood: stopping; a run in progress is stopped first");
                // Live event streams would hold a graceful shutdown open: give it a moment only.
                let _ = tokio::time::timeout(Duration::from_secs(2), &mut server).await;
            }
        }
        Outcome::Success
    });
    let handle_for_stop = handle.clone();
    handle_for_stop.stop_and_wait(SHUTDOWN_WAIT);
    drop(runtime);
    if let Some(t) = demo {
        t.shutdown();
    }
    outcome
}

/// File descriptors kept back for runs, history and results beside the server's connections.
const RESERVED_FILES: u64 = 256;

/// Raises this process's open-file limit, and lowers the connection cap where the limit stays
/// below it, so that accepting never fails for lack of descriptors while the cap is not reached.
fn within_open_file_limit(max_connections: usize) -> usize {
    let Some(limit) = brood_engine::raise_open_files_limit() else {
        return max_connections;
    };
    let allowed = limit.saturating_sub(RESERVED_FILES).max(16);
    let allowed = usize::try_from(allowed).unwrap_or(usize::MAX);
    if allowed < max_connections {
        eprintln!(
            "brood serve: at most {allowed} connections at once (the open-file limit is {limit})"
        );
    }
    max_connections.min(allowed)
}

/// Runs left `running` by a controller that died are marked and their results merged.
fn recover(results: &std::path::Path) {
    let path = results.join("history.db");
    if !path.exists() {
        return;
    }
    let Ok(history) = brood_history::History::open(&path) else {
        return;
    };
    let store = brood_local::DirStore::new(results.to_path_buf());
    if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        rt.block_on(crate::distributed::recover(&history, &store, results));
    }
}
