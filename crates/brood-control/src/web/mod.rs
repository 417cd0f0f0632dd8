//! `brood serve`: the web UI and JSON API on one address, runs on the local backend started in
//! this process, an optional embedded demo target, and the access token off loopback.

mod form;
mod handle;
mod observe;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use brood_web::Access;

use crate::outcome::Outcome;
use handle::ServeHandle;

/// How long a run in progress gets to stop when the server is interrupted.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(20);

/// The server's checked settings.
#[derive(Debug)]
pub struct ServeOptions {
    pub bind: SocketAddr,
    pub results: PathBuf,
    /// Where feed files of submitted scenarios are read from (`<results>/scenarios` when unset).
    pub data: Option<PathBuf>,
    pub demo_target: bool,
    pub limits: brood_web::Limits,
    /// Required on every request when set; generated when the address is not loopback.
    pub token: Option<String>,
}

/// Serves the page and the API until Ctrl-C, then stops a run in progress.
pub fn serve(mut options: ServeOptions) -> Outcome {
    if let Err(e) = std::fs::create_dir_all(&options.results) {
        eprintln!("brood: cannot create {}: {e}", options.results.display());
        return Outcome::Infrastructure;
    }
    let demo = if options.demo_target {
        match crate::process::demo_target() {
            Some(t) => Some(t),
            None => return Outcome::Infrastructure,
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
    let _ = crate::runs::recovered(&options.results);
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
        let interrupts = crate::process::interrupts();
        std::thread::spawn(move || {
            if interrupts.recv().is_ok() {
                let _ = stop_tx.send(true);
            }
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
