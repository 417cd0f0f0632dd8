//! `brood serve`: the flags and the `--config` file become the server's options.

use std::path::PathBuf;

use brood_control::web::ServeOptions;
use brood_control::Outcome;
use serde::Deserialize;

use crate::cli::ServeArgs;

const DEFAULT_BIND: &str = "127.0.0.1:5000";

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

/// The flags, over the `--config` file's values.
fn options(args: &ServeArgs) -> Result<ServeOptions, String> {
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
    Ok(ServeOptions {
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

/// Serves the web UI until interrupted.
pub fn serve(args: &ServeArgs) -> Outcome {
    match options(args) {
        Ok(options) => brood_control::web::serve(options),
        Err(e) => {
            eprintln!("brood: {e}");
            Outcome::InvalidInput
        }
    }
}
