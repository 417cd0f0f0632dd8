//! `brood-fault-proxy`: the fault proxy as a program, for trying rules by hand against a test
//! server.
//!
//! ```text
//! brood-fault-proxy --upstream http://127.0.0.1:5000 --rules faults.json [--listen 127.0.0.1:0]
//! ```
//!
//! It prints `listening on http://<address>` once it accepts connections, and serves until it
//! is stopped. The rules file is a JSON list of rules (see the crate's `Rule`).

use std::process::ExitCode;

use brood_fault_proxy::{serve, Rule, Rules, Upstream};

const USAGE: &str =
    "usage: brood-fault-proxy --upstream http://HOST:PORT --rules FILE.json [--listen ADDR]";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("brood-fault-proxy: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let (mut upstream, mut rules, mut listen) = (None, None, "127.0.0.1:0".to_string());
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--upstream" => upstream = Some(value()?),
            "--rules" => rules = Some(value()?),
            "--listen" => listen = value()?,
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    let upstream = upstream.ok_or("--upstream is missing")?;
    let upstream = Upstream::parse(&upstream).map_err(|e| format!("--upstream: {e}"))?;
    let path = rules.ok_or("--rules is missing")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("--rules {path}: {e}"))?;
    let rules: Vec<Rule> =
        serde_json::from_str(&text).map_err(|e| format!("--rules {path}: {e}"))?;
    let rules =
        Rules::new(rules, std::time::Instant::now()).map_err(|e| format!("--rules {path}: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|e| format!("--listen {listen}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("--listen {listen}: {e}"))?;
        println!("listening on http://{addr}");
        let rules = std::sync::Arc::new(std::sync::Mutex::new(rules));
        serve(listener, upstream, rules, std::future::pending()).await;
        Ok(())
    })
}
