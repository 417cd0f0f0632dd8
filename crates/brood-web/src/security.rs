//! Who may use the server: the access token (required whenever one is set, and always set off
//! loopback), the Host check that defeats DNS rebinding on loopback, and the cross-site checks on
//! every state-changing request (Origin, Sec-Fetch-Site and a CSRF token for cookie sessions).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::AppState;

/// The cookie a browser session carries the token in.
pub const TOKEN_COOKIE: &str = "brood_token";
/// The header a page sends its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The server's access rules.
#[derive(Clone, Debug)]
pub struct Access {
    /// Required on every request when set.
    pub token: Option<String>,
    /// Bound to a loopback address: only loopback Host names are accepted.
    pub loopback: bool,
    /// Sent by the page with state-changing requests; random per server start.
    pub csrf: String,
}

impl Access {
    /// Rules for a server bound to loopback (`loopback`) or not, with a fresh CSRF token.
    pub fn new(token: Option<String>, loopback: bool) -> Access {
        Access {
            token,
            loopback,
            csrf: random_token(),
        }
    }
}

/// 32 random hex digits, for access and CSRF tokens.
pub fn random_token() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without stopping at the first difference, so timing tells nothing about a token.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn refuse(status: StatusCode, path: &str, message: &str) -> Response {
    if path.starts_with("/api/") {
        (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
    } else {
        (status, message.to_string()).into_response()
    }
}

/// Host names a loopback server answers to, by exact name or address (any case, with or without
/// a port); anything else, `127.attacker.example` included, is a rebinding attempt.
fn loopback_host(host: &str) -> bool {
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((name, "")) => (name, None),
            Some((name, port)) => match port.strip_prefix(':') {
                Some(port) => (name, Some(port)),
                None => return false,
            },
            None => return false,
        },
        None => match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok && (name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "::1")
}

/// The middleware in front of every route.
pub async fn guard(State(app): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let access = &app.access;
    let path = request.uri().path().to_string();
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    if access.loopback && !host.is_empty() && !loopback_host(&host) {
        return refuse(
            StatusCode::FORBIDDEN,
            &path,
            "this server answers only to localhost",
        );
    }
    let mut by_bearer = false;
    if let Some(token) = &access.token {
        by_bearer = bearer(headers).is_some_and(|t| same(t, token));
        let by_cookie = cookie(headers, TOKEN_COOKIE).is_some_and(|t| same(t, token));
        if !by_bearer && !by_cookie {
            // Visiting /?token=… starts a browser session and drops the token from the address.
            let given = request.uri().query().and_then(|q| query_param(q, "token"));
            if request.method() == Method::GET
                && path == "/"
                && given.is_some_and(|t| same(t, token))
            {
                let mut response = Redirect::to("/").into_response();
                let cookie = format!("{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
                if let Ok(value) = cookie.parse() {
                    response.headers_mut().insert(header::SET_COOKIE, value);
                }
                return response;
            }
            let mut response = refuse(
                StatusCode::UNAUTHORIZED,
                &path,
                "a valid token is required: Authorization: Bearer TOKEN, or open /?token=TOKEN",
            );
            if let Ok(value) = "Bearer".parse() {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            return response;
        }
    }
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes_state {
        if let Some(reason) = cross_site(headers, &host, access, by_bearer) {
            return refuse(StatusCode::FORBIDDEN, &path, reason);
        }
    }
    let response = next.run(request).await;
    api_errors_as_json(&path, response).await
}

/// Bodies larger than this are read for a rejection's text at most.
const REJECTION_TEXT_LIMIT: usize = 4096;

/// Rejections axum writes as plain text (a body over the size limit, a body that is not JSON,
/// a wrong content type) become `{"error": …}` under `/api/`, as every other API error is.
async fn api_errors_as_json(path: &str, response: Response) -> Response {
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/plain"));
    let status = response.status();
    if !path.starts_with("/api/")
        || !plain
        || !(status.is_client_error() || status.is_server_error())
    {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), REJECTION_TEXT_LIMIT)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let message = match text.trim() {
        "" => status.canonical_reason().unwrap_or("refused").to_string(),
        t => t.to_string(),
    };
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// Why a state-changing request is refused as cross-site, if it is.
fn cross_site(
    headers: &HeaderMap,
    host: &str,
    access: &Access,
    by_bearer: bool,
) -> Option<&'static str> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        if site != "same-origin" && site != "none" {
            return Some("cross-site request refused");
        }
    }
    if let Some(origin) = text("origin") {
        let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
        if origin == "null" || origin_host != host {
            return Some("cross-origin request refused");
        }
    }
    // A bearer token is never added by a browser on its own, so it proves intent; a cookie (or
    // no token on loopback) needs the page's CSRF token as well.
    if !by_bearer && !text(CSRF_HEADER).is_some_and(|t| same(t, &access.csrf)) {
        return Some(
            "missing or wrong CSRF token (send the X-CSRF-Token header from /api/session)",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for ok in [
            "localhost:5000",
            "LOCALHOST:5000",
            "LocalHost",
            "127.0.0.1:5000",
            "127.0.0.1",
            "[::1]:5000",
            "[::1]",
            "localhost",
        ] {
            assert!(loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:5000",
            "localhost.evil.example",
            "localhost.:5000",
            "10.0.0.1:5000",
            // DNS rebinding through names that only start like loopback addresses.
            "127.attacker.example:5000",
            "127.0.0.1.nip.io",
            "127.0.0.1.nip.io:5000",
            "127.1:5000",
            "[::1].evil:5000",
            "[::1]x",
            "localhost:5000:1",
            "localhost:evil",
            "localhost:",
            "::1",
        ] {
            assert!(!loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
        assert_eq!(random_token().len(), 32);
        assert_ne!(random_token(), random_token());
    }
}
