//! Checks on responses and extraction of values from them, compiled once per engine thread.
//!
//! A failed check turns the request into a failure whose reason names the check (stable text, so
//! failures group well). Extraction that finds nothing is the scenario's own error: an exception.

use std::cell::OnceCell;
use std::time::Duration;

use brood_plan::{Check, Extract, ExtractFrom};
use regex::Regex;

use crate::client::Response;

#[derive(Debug)]
pub(crate) enum Compiled {
    Status(Vec<(u16, u16)>),
    Contains(String),
    Matches(Regex),
    JsonEquals(String, serde_json::Value),
    JsonExists(String),
    Header(String, String),
    Below(Duration),
}

#[derive(Debug)]
pub(crate) enum Source {
    Json(String),
    Regex(Regex, usize),
    Header(String),
    Cookie(String),
}

#[derive(Debug)]
pub(crate) struct Extractor {
    pub var: String,
    pub source: Source,
}

/// A pattern the plan accepted but this regex engine refuses (they are the same crate, so only
/// size limits can differ).
fn regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("invalid regular expression {pattern:?}: {e}"))
}

pub(crate) fn compile_check(c: &Check) -> Result<Compiled, String> {
    Ok(match c {
        Check::Status(ranges) => Compiled::Status(ranges.clone()),
        Check::BodyContains(s) => Compiled::Contains(s.clone()),
        Check::BodyMatches(p) => Compiled::Matches(regex(p)?),
        Check::JsonEquals { pointer, value } => {
            Compiled::JsonEquals(pointer.clone(), value.clone())
        }
        Check::JsonExists(pointer) => Compiled::JsonExists(pointer.clone()),
        Check::HeaderEquals { name, value } => {
            Compiled::Header(name.to_ascii_lowercase(), value.clone())
        }
        Check::ResponseTimeBelow(d) => Compiled::Below(*d),
    })
}

pub(crate) fn compile_extract(e: &Extract) -> Result<Extractor, String> {
    let source = match &e.from {
        ExtractFrom::Json(pointer) => Source::Json(pointer.clone()),
        ExtractFrom::Regex { pattern, group } => Source::Regex(regex(pattern)?, *group),
        ExtractFrom::Header(name) => Source::Header(name.to_ascii_lowercase()),
        ExtractFrom::Cookie(name) => Source::Cookie(name.clone()),
    };
    Ok(Extractor {
        var: e.var.clone(),
        source,
    })
}

/// What the checks and extractors of a request need kept of its response.
pub(crate) fn needs(checks: &[Compiled], extract: &[Extractor]) -> (bool, bool) {
    let body = checks.iter().any(|c| {
        matches!(
            c,
            Compiled::Contains(_)
                | Compiled::Matches(_)
                | Compiled::JsonEquals(..)
                | Compiled::JsonExists(_)
        )
    }) || extract
        .iter()
        .any(|e| matches!(e.source, Source::Json(_) | Source::Regex(..)));
    let headers = checks.iter().any(|c| matches!(c, Compiled::Header(..)))
        || extract
            .iter()
            .any(|e| matches!(e.source, Source::Header(_)));
    (body, headers)
}

/// A response's body, parsed as JSON at most once for all checks and extractors.
pub(crate) struct Seen<'a> {
    pub response: &'a Response,
    pub elapsed: Duration,
    json: OnceCell<Option<serde_json::Value>>,
}

impl<'a> Seen<'a> {
    pub(crate) fn new(response: &'a Response, elapsed: Duration) -> Seen<'a> {
        Seen {
            response,
            elapsed,
            json: OnceCell::new(),
        }
    }

    fn body(&self) -> &[u8] {
        self.response.body.as_deref().unwrap_or_default()
    }

    fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.body())
    }

    fn json(&self) -> Option<&serde_json::Value> {
        self.json
            .get_or_init(|| serde_json::from_slice(self.body()).ok())
            .as_ref()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.response
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The first failed check's reason, or whether the status alone fails the request.
pub(crate) fn failure(checks: &[Compiled], seen: &Seen<'_>) -> Option<String> {
    let status = seen.response.status;
    let has_status_check = checks.iter().any(|c| matches!(c, Compiled::Status(_)));
    if !has_status_check && status >= 400 {
        return Some(format!("HTTP {status} {}", seen.response.reason));
    }
    for check in checks {
        let failed = match check {
            Compiled::Status(ranges) => {
                (!ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&status))).then(|| {
                    format!(
                        "check failed: status {status} not in {}",
                        show_ranges(ranges)
                    )
                })
            }
            Compiled::Contains(s) => (!seen.text().contains(s.as_str()))
                .then(|| format!("check failed: body does not contain {s:?}")),
            Compiled::Matches(re) => (!re.is_match(&seen.text()))
                .then(|| format!("check failed: body does not match {:?}", re.as_str())),
            Compiled::JsonEquals(pointer, value) => {
                match seen.json().and_then(|j| j.pointer(pointer)) {
                    Some(actual) if actual == value => None,
                    Some(_) => Some(format!("check failed: JSON {pointer} is not {value}")),
                    None => Some(format!("check failed: JSON {pointer} not found")),
                }
            }
            Compiled::JsonExists(pointer) => seen
                .json()
                .and_then(|j| j.pointer(pointer))
                .is_none()
                .then(|| format!("check failed: JSON {pointer} not found")),
            Compiled::Header(name, value) => (seen.header(name) != Some(value.as_str()))
                .then(|| format!("check failed: header {name} is not {value:?}")),
            Compiled::Below(limit) => (seen.elapsed >= *limit).then(|| {
                format!(
                    "check failed: response time not below {}ms",
                    limit.as_millis()
                )
            }),
        };
        if failed.is_some() {
            return failed;
        }
    }
    None
}

fn show_ranges(ranges: &[(u16, u16)]) -> String {
    let parts: Vec<String> = ranges
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Runs one extractor; `cookie` reads the user's jar. `Err` says what was not found.
pub(crate) fn extract(
    e: &Extractor,
    seen: &Seen<'_>,
    cookie: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    match &e.source {
        Source::Json(pointer) => match seen.json() {
            None => Err(format!("extract {}: the body is not JSON", e.var)),
            Some(json) => match json.pointer(pointer) {
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                Some(other) => Ok(other.to_string()),
                None => Err(format!("extract {}: JSON {pointer} not found", e.var)),
            },
        },
        Source::Regex(re, group) => re
            .captures(&seen.text())
            .and_then(|c| c.get(*group).map(|m| m.as_str().to_string()))
            .ok_or_else(|| format!("extract {}: {:?} did not match", e.var, re.as_str())),
        Source::Header(name) => seen
            .header(name)
            .map(str::to_string)
            .ok_or_else(|| format!("extract {}: no header {name}", e.var)),
        Source::Cookie(name) => {
            cookie(name).ok_or_else(|| format!("extract {}: no cookie {name}", e.var))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            reason: "R".into(),
            body: Some(body.as_bytes().to_vec()),
            headers: vec![("content-type".into(), "application/json".into())],
            ..Response::default()
        }
    }

    #[test]
    fn checks_pass_and_fail_with_stable_reasons() {
        let r = response(201, r#"{"cart_id": 5, "items": 2, "token": "t1"}"#);
        let seen = Seen::new(&r, Duration::from_millis(10));
        let ok = [
            Compiled::Status(vec![(200, 299)]),
            Compiled::Contains("cart_id".into()),
            Compiled::Matches(Regex::new(r#""items":\s*\d+"#).unwrap()),
            Compiled::JsonEquals("/cart_id".into(), serde_json::json!(5)),
            Compiled::JsonExists("/items".into()),
            Compiled::Header("content-type".into(), "application/json".into()),
            Compiled::Below(Duration::from_millis(50)),
        ];
        assert_eq!(failure(&ok, &seen), None);
        let bad = [Compiled::Status(vec![(200, 200), (204, 204)])];
        assert_eq!(
            failure(&bad, &seen).unwrap(),
            "check failed: status 201 not in [200, 204]"
        );
        let bad = [Compiled::JsonEquals(
            "/cart_id".into(),
            serde_json::json!(6),
        )];
        assert_eq!(
            failure(&bad, &seen).unwrap(),
            "check failed: JSON /cart_id is not 6"
        );
        let r404 = response(404, "");
        let seen404 = Seen::new(&r404, Duration::ZERO);
        assert_eq!(failure(&[], &seen404).unwrap(), "HTTP 404 R");
        assert_eq!(
            failure(&[Compiled::Status(vec![(404, 404)])], &seen404),
            None
        );

        let token = Extractor {
            var: "token".into(),
            source: Source::Json("/token".into()),
        };
        assert_eq!(extract(&token, &seen, |_| None).unwrap(), "t1");
        let num = Extractor {
            var: "n".into(),
            source: Source::Json("/items".into()),
        };
        assert_eq!(extract(&num, &seen, |_| None).unwrap(), "2");
        let re = Extractor {
            var: "c".into(),
            source: Source::Regex(Regex::new(r#""cart_id": (\d+)"#).unwrap(), 1),
        };
        assert_eq!(extract(&re, &seen, |_| None).unwrap(), "5");
        let missing = Extractor {
            var: "x".into(),
            source: Source::Json("/nope".into()),
        };
        assert!(extract(&missing, &seen, |_| None)
            .unwrap_err()
            .contains("/nope"));
        let cookie = Extractor {
            var: "k".into(),
            source: Source::Cookie("cart".into()),
        };
        assert_eq!(
            extract(&cookie, &seen, |_| Some("c9".into())).unwrap(),
            "c9"
        );
    }
}
