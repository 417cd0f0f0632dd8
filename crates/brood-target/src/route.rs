//! The target's routes: which prefix a path belongs to, what a path asks the target to do, and
//! the header that reports how long a route waited.
//!
//! Parsing is pure so the whole table can be checked without a socket.

use std::time::Duration;

use http::StatusCode;

/// Response header carrying how long the route itself waited, in milliseconds, on `/delay`,
/// `/bimodal` and `/stall`. Tests read it to tell slow answers from fast ones without timing.
pub const DELAY_HEADER: &str = "brood-delay-ms";

/// Largest body `/gzip/{n}` and `/brotli/{n}` will compress. They compress in memory per request,
/// so the bound keeps one request from taking the target's memory with it.
pub(crate) const MAX_COMPRESSED_INPUT: usize = 16 << 20;

/// A route of the target, named by its first path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Root,
    Delay,
    Bimodal,
    Status,
    Drop,
    SlowBody,
    Bytes,
    Chunked,
    Gzip,
    Brotli,
    Redirect,
    RedirectAbs,
    Stall,
    Close,
    Echo,
    Cookies,
    Shop,
}

impl Route {
    pub(crate) const ALL: [Route; 17] = [
        Route::Root,
        Route::Delay,
        Route::Bimodal,
        Route::Status,
        Route::Drop,
        Route::SlowBody,
        Route::Bytes,
        Route::Chunked,
        Route::Gzip,
        Route::Brotli,
        Route::Redirect,
        Route::RedirectAbs,
        Route::Stall,
        Route::Close,
        Route::Echo,
        Route::Cookies,
        Route::Shop,
    ];

    /// The prefix the route is counted under, as `Target::requests_to` takes it.
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Route::Root => "/",
            Route::Delay => "/delay",
            Route::Bimodal => "/bimodal",
            Route::Status => "/status",
            Route::Drop => "/drop",
            Route::SlowBody => "/slow-body",
            Route::Bytes => "/bytes",
            Route::Chunked => "/chunked",
            Route::Gzip => "/gzip",
            Route::Brotli => "/brotli",
            Route::Redirect => "/redirect",
            Route::RedirectAbs => "/redirect-abs",
            Route::Stall => "/stall",
            Route::Close => "/close",
            Route::Echo => "/echo",
            Route::Cookies => "/cookies",
            Route::Shop => "/shop",
        }
    }

    /// Position in [`Route::ALL`], used to index per-route counters.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    fn from_prefix(prefix: &str) -> Option<Route> {
        Route::ALL
            .into_iter()
            .find(|route| route.prefix() == prefix)
    }
}

/// The first segment of `path` with its leading slash: `/delay/5` gives `/delay`, `/` gives `/`.
pub(crate) fn prefix_of(path: &str) -> &str {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    if end == 0 {
        "/"
    } else {
        &path[..end + usize::from(path.starts_with('/'))]
    }
}

/// The known route `path` belongs to, if any.
pub(crate) fn route_of(path: &str) -> Option<Route> {
    Route::from_prefix(prefix_of(path))
}

/// What a request asks the target to do, with its parameters parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Hello,
    Delay(Duration),
    Bimodal {
        fast: Duration,
        slow: Duration,
        every: u64,
    },
    Status(StatusCode),
    Drop,
    SlowBody {
        chunks: u32,
        interval: Duration,
    },
    Bytes(u64),
    Chunked(u64),
    Gzip(usize),
    Brotli(usize),
    Redirect {
        remaining: u64,
        absolute: bool,
    },
    Stall {
        period: Duration,
        stall: Duration,
    },
    Close,
    Echo,
    SetCookies,
    Cookies,
    /// Anything below `/shop`, which the shop routes itself.
    Shop,
    NotFound,
    /// A known route with parameters it cannot use; the text says which.
    BadRequest(&'static str),
}

/// Parses `path` (without the query) into the action it names.
pub(crate) fn action_of(path: &str) -> Action {
    let Some(route) = route_of(path) else {
        return Action::NotFound;
    };
    let params: Vec<&str> = path[route.prefix().len()..]
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    match (route, params.as_slice()) {
        (Route::Root, []) => Action::Hello,
        (Route::Delay, [ms]) => millis(ms).map_or(BAD_NUMBER, Action::Delay),
        (Route::Bimodal, [fast, slow, every]) => bimodal(fast, slow, every),
        (Route::Status, [code]) => status(code),
        (Route::Drop, []) => Action::Drop,
        (Route::SlowBody, [chunks, interval]) => slow_body(chunks, interval),
        (Route::Bytes, [n]) => number(n).map_or(BAD_NUMBER, Action::Bytes),
        (Route::Chunked, [n]) => number(n).map_or(BAD_NUMBER, Action::Chunked),
        (Route::Gzip, [n]) => compressed_len(n).map_or(TOO_LARGE, Action::Gzip),
        (Route::Brotli, [n]) => compressed_len(n).map_or(TOO_LARGE, Action::Brotli),
        (Route::Redirect, [n]) => redirect(n, false),
        (Route::RedirectAbs, [n]) => redirect(n, true),
        (Route::Stall, [period, stall]) => stall_action(period, stall),
        (Route::Close, []) => Action::Close,
        (Route::Echo, _) => Action::Echo,
        (Route::Cookies, []) => Action::Cookies,
        (Route::Cookies, ["set"]) => Action::SetCookies,
        (Route::Shop, _) => Action::Shop,
        _ => Action::NotFound,
    }
}

const BAD_NUMBER: Action = Action::BadRequest("path parameters must be non-negative integers\n");
const TOO_LARGE: Action = Action::BadRequest("compressed bodies are limited to 16 MiB\n");

fn number(text: &str) -> Option<u64> {
    text.parse().ok()
}

fn millis(text: &str) -> Option<Duration> {
    number(text).map(Duration::from_millis)
}

fn bimodal(fast: &str, slow: &str, every: &str) -> Action {
    match (millis(fast), millis(slow), number(every)) {
        (Some(_), Some(_), Some(0)) => Action::BadRequest("bimodal needs every >= 1\n"),
        (Some(fast), Some(slow), Some(every)) => Action::Bimodal { fast, slow, every },
        _ => BAD_NUMBER,
    }
}

fn status(code: &str) -> Action {
    // 1xx codes are interim responses in HTTP and cannot end an exchange, so they are refused.
    match code
        .parse::<u16>()
        .ok()
        .and_then(|c| StatusCode::from_u16(c).ok())
    {
        Some(code) if code.as_u16() >= 200 => Action::Status(code),
        _ => Action::BadRequest("status must be a code from 200 to 999\n"),
    }
}

fn slow_body(chunks: &str, interval: &str) -> Action {
    match (chunks.parse::<u32>().ok(), millis(interval)) {
        (Some(chunks), Some(interval)) => Action::SlowBody { chunks, interval },
        _ => BAD_NUMBER,
    }
}

fn compressed_len(text: &str) -> Option<usize> {
    text.parse::<usize>()
        .ok()
        .filter(|&n| n <= MAX_COMPRESSED_INPUT)
}

fn redirect(n: &str, absolute: bool) -> Action {
    number(n).map_or(BAD_NUMBER, |remaining| Action::Redirect {
        remaining,
        absolute,
    })
}

fn stall_action(period: &str, stall: &str) -> Action {
    match (millis(period), millis(stall)) {
        (Some(period), _) if period.is_zero() => Action::BadRequest("stall needs period >= 1\n"),
        (Some(period), Some(stall)) => Action::Stall { period, stall },
        _ => BAD_NUMBER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_first_segments() {
        assert_eq!(prefix_of("/"), "/");
        assert_eq!(prefix_of(""), "/");
        assert_eq!(prefix_of("/delay/5"), "/delay");
        assert_eq!(prefix_of("/delay"), "/delay");
        assert_eq!(prefix_of("/cookies/set"), "/cookies");
        assert_eq!(prefix_of("/echo?x=1"), "/echo");
        assert_eq!(prefix_of("/redirect-abs/3"), "/redirect-abs");
    }

    #[test]
    fn every_route_round_trips_through_its_prefix() {
        for (i, route) in Route::ALL.into_iter().enumerate() {
            assert_eq!(route.index(), i);
            assert_eq!(route_of(route.prefix()), Some(route));
        }
    }

    #[test]
    fn actions_parse_their_parameters() {
        let ms = Duration::from_millis;
        assert_eq!(action_of("/"), Action::Hello);
        assert_eq!(action_of("/delay/25"), Action::Delay(ms(25)));
        assert_eq!(
            action_of("/bimodal/1/200/10"),
            Action::Bimodal {
                fast: ms(1),
                slow: ms(200),
                every: 10
            }
        );
        assert_eq!(
            action_of("/status/503"),
            Action::Status(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(
            action_of("/slow-body/3/20"),
            Action::SlowBody {
                chunks: 3,
                interval: ms(20)
            }
        );
        assert_eq!(action_of("/gzip/100"), Action::Gzip(100));
        assert_eq!(
            action_of("/redirect-abs/2"),
            Action::Redirect {
                remaining: 2,
                absolute: true
            }
        );
        assert_eq!(action_of("/cookies/set"), Action::SetCookies);
        assert_eq!(action_of("/echo/anything/below"), Action::Echo);
        assert_eq!(action_of("/shop"), Action::Shop);
        assert_eq!(action_of("/shop/api/cart"), Action::Shop);
    }

    #[test]
    fn bad_parameters_are_refused_and_strangers_are_not_found() {
        assert!(matches!(action_of("/delay/soon"), Action::BadRequest(_)));
        assert!(matches!(action_of("/bimodal/1/2/0"), Action::BadRequest(_)));
        assert!(matches!(action_of("/status/101"), Action::BadRequest(_)));
        assert!(matches!(action_of("/stall/0/0"), Action::BadRequest(_)));
        assert!(matches!(
            action_of("/gzip/999999999"),
            Action::BadRequest(_)
        ));
        assert_eq!(action_of("/delay"), Action::NotFound);
        assert_eq!(action_of("/delay/1/2"), Action::NotFound);
        assert_eq!(action_of("/delayed/1"), Action::NotFound);
        assert_eq!(action_of("/nope"), Action::NotFound);
        assert_eq!(action_of("/close/extra"), Action::NotFound);
    }
}
