//! Threshold expressions (`p95 < 500ms`, `GET /cart: p99 < 1s`, `failure_rate < 1%`) and their
//! form in the scenario file.

use serde::de::{self, Deserialize, Deserializer};

use crate::error::{Issue, PlanError};
use crate::plan::{Comparison, EntrySelector, Metric, Threshold};
use crate::scalar::duration_from_text;

const HINT: &str = "write [METHOD NAME:] METRIC OP VALUE, e.g. \"p95 < 500ms\", \
                    \"failure_rate < 1%\", \"rps > 100\" or \"GET /cart: p99 < 1s\"";

/// Parses a threshold such as `p95 < 500ms`, `p99.9<=2s`, `avg < 200ms`, `median < 100` (bare
/// times are milliseconds), `failure_rate < 1%`, `rps > 1000`, `failures == 0`, optionally for
/// one entry: `GET /cart: p99 < 1s` or `/cart: p95 < 300ms` (any method).
///
/// Metrics: `pN` (0 to 100), `median`, `avg`, `min`, `max`, `failure_rate`, `rps`, `requests`,
/// `failures`. `abort_on_fail` is false; the file's `{check, abort}` form sets it.
pub fn parse_threshold(text: &str) -> Result<Threshold, PlanError> {
    threshold_from_text(text).map_err(PlanError::from)
}

pub(crate) fn threshold_from_text(text: &str) -> Result<Threshold, Issue> {
    let invalid = |why: String| Issue::new(format!("invalid threshold {text:?}: {why}")).hint(HINT);
    // The condition never contains ':', so the last one ends the entry selector, and a name
    // may itself contain colons (`http://other/x`).
    let (entry, condition) = match text.rfind(':') {
        Some(i) => (Some(selector(&text[..i]).map_err(invalid)?), &text[i + 1..]),
        None => (None, text),
    };
    let condition = condition.trim();
    let op_at = condition
        .find(['<', '>', '=', '!'])
        .ok_or_else(|| invalid("no comparison (<, <=, >, >=, ==)".to_string()))?;
    let (metric_text, rest) = condition.split_at(op_at);
    let (op, value_text) = comparison(rest).map_err(invalid)?;
    let metric = metric(metric_text.trim()).map_err(invalid)?;
    let value = value(metric, value_text.trim()).map_err(invalid)?;
    Ok(Threshold {
        source: text.trim().to_string(),
        entry,
        metric,
        op,
        value,
        abort_on_fail: false,
    })
}

fn selector(text: &str) -> Result<EntrySelector, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty entry name before ':'".to_string());
    }
    // A first word in capitals followed by more text is a method: `GET /cart`. A lone word is a
    // name, so an entry named `HOME` can still be selected.
    if let Some((first, rest)) = text.split_once(char::is_whitespace) {
        let is_method = first
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_');
        if is_method && !rest.trim().is_empty() {
            return Ok(EntrySelector {
                method: Some(first.to_string()),
                name: rest.trim().to_string(),
            });
        }
    }
    Ok(EntrySelector {
        method: None,
        name: text.to_string(),
    })
}

fn comparison(text: &str) -> Result<(Comparison, &str), String> {
    let ops = [
        ("<=", Comparison::Le),
        (">=", Comparison::Ge),
        ("==", Comparison::Eq),
        ("<", Comparison::Lt),
        (">", Comparison::Gt),
        ("=", Comparison::Eq),
    ];
    ops.iter()
        .find_map(|(token, op)| text.strip_prefix(token).map(|rest| (*op, rest)))
        .ok_or_else(|| format!("unknown comparison in {text:?} (use <, <=, >, >=, ==)"))
}

fn metric(text: &str) -> Result<Metric, String> {
    let metric = match text.to_ascii_lowercase().as_str() {
        "" => return Err("no metric before the comparison".to_string()),
        "median" => Metric::Percentile(50.0),
        "avg" | "mean" | "average" => Metric::AvgResponseTime,
        "min" => Metric::MinResponseTime,
        "max" => Metric::MaxResponseTime,
        "failure_rate" | "fail_ratio" | "error_rate" => Metric::FailureRate,
        "rps" => Metric::Rps,
        "requests" => Metric::Requests,
        "failures" => Metric::Failures,
        lower => match lower.strip_prefix('p').map(str::parse::<f64>) {
            Some(Ok(p)) if (0.0..=100.0).contains(&p) => Metric::Percentile(p),
            Some(_) => return Err(format!("percentile {text:?} is not between p0 and p100")),
            None => return Err(format!("unknown metric {text:?}")),
        },
    };
    Ok(metric)
}

fn value(metric: Metric, text: &str) -> Result<f64, String> {
    if text.is_empty() {
        return Err("no value after the comparison".to_string());
    }
    let plain = || match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{text:?} is not a number of zero or more")),
    };
    match metric {
        Metric::Percentile(_)
        | Metric::AvgResponseTime
        | Metric::MinResponseTime
        | Metric::MaxResponseTime => {
            // Response times are read in milliseconds, so a bare number is milliseconds here.
            if let Ok(ms) = plain() {
                return Ok(ms);
            }
            duration_from_text(text)
                .map(|d| d.as_secs_f64() * 1000.0)
                .map_err(|issue| issue.message)
        }
        Metric::FailureRate => {
            let (number, scale) = match text.strip_suffix('%') {
                Some(n) => (n.trim(), 100.0),
                None => (text, 1.0),
            };
            match number.parse::<f64>() {
                Ok(v) if v.is_finite() && (0.0..=scale).contains(&v) => Ok(v / scale),
                _ => Err(format!(
                    "failure rate {text:?} is not a fraction from 0 to 1 or a percentage \
                     such as 1%"
                )),
            }
        }
        Metric::Rps => text.strip_suffix("/s").map_or_else(plain, |n| {
            n.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("{text:?} is not a rate"))
        }),
        Metric::Requests | Metric::Failures => plain(),
    }
}

/// The table form of a threshold in the file: `{check: "...", abort: true}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[serde(deserialize_with = "checked")]
    check: Threshold,
    #[serde(default)]
    abort: bool,
}

fn checked<'de, D: Deserializer<'de>>(d: D) -> Result<Threshold, D::Error> {
    let text = String::deserialize(d)?;
    threshold_from_text(&text).map_err(Issue::into_de)
}

/// The `thresholds` list of the scenario file.
pub(crate) fn thresholds<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Threshold>, D::Error> {
    d.deserialize_seq(ListVisitor)
}

struct ListVisitor;

impl<'de> de::Visitor<'de> for ListVisitor {
    type Value = Vec<Threshold>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of thresholds")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Threshold>, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element_seed(EntrySeed)? {
            out.push(item);
        }
        Ok(out)
    }
}

struct EntrySeed;

impl<'de> de::DeserializeSeed<'de> for EntrySeed {
    type Value = Threshold;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Threshold, D::Error> {
        d.deserialize_any(EntryVisitor)
    }
}

/// Tells the string form from the table form by what the format reports, rather than with an
/// untagged enum, so that errors keep their position and field path.
struct EntryVisitor;

impl<'de> de::Visitor<'de> for EntryVisitor {
    type Value = Threshold;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a threshold such as \"p95 < 500ms\", or {check: ..., abort: true}")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Threshold, E> {
        threshold_from_text(v).map_err(Issue::into_de)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Threshold, A::Error> {
        let table = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Threshold {
            abort_on_fail: table.abort,
            ..table.check
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(
        entry: Option<(Option<&str>, &str)>,
        metric: Metric,
        op: Comparison,
        value: f64,
    ) -> Threshold {
        Threshold {
            source: String::new(),
            entry: entry.map(|(method, name)| EntrySelector {
                method: method.map(str::to_string),
                name: name.to_string(),
            }),
            metric,
            op,
            value,
            abort_on_fail: false,
        }
    }

    #[test]
    fn parses_thresholds() {
        use Comparison::*;
        use Metric::*;
        let cases = [
            ("p95 < 500ms", t(None, Percentile(95.0), Lt, 500.0)),
            ("p99.9<=2s", t(None, Percentile(99.9), Le, 2000.0)),
            ("avg < 200ms", t(None, AvgResponseTime, Lt, 200.0)),
            ("median < 100", t(None, Percentile(50.0), Lt, 100.0)),
            ("max < 1s", t(None, MaxResponseTime, Lt, 1000.0)),
            ("min >= 1", t(None, MinResponseTime, Ge, 1.0)),
            ("failure_rate < 1%", t(None, FailureRate, Lt, 0.01)),
            ("failure_rate < 0.01", t(None, FailureRate, Lt, 0.01)),
            ("rps > 1000", t(None, Rps, Gt, 1000.0)),
            ("rps > 50/s", t(None, Rps, Gt, 50.0)),
            ("requests >= 10", t(None, Requests, Ge, 10.0)),
            ("failures == 0", t(None, Failures, Eq, 0.0)),
            (
                "GET /cart: p99 < 1s",
                t(Some((Some("GET"), "/cart")), Percentile(99.0), Lt, 1000.0),
            ),
            (
                "/cart: p95<300ms",
                t(Some((None, "/cart")), Percentile(95.0), Lt, 300.0),
            ),
            (
                "home: p50 < 1.5s",
                t(Some((None, "home")), Percentile(50.0), Lt, 1500.0),
            ),
            (
                "GET http://x/a: avg<1",
                t(Some((Some("GET"), "http://x/a")), AvgResponseTime, Lt, 1.0),
            ),
        ];
        for (text, mut want) in cases {
            want.source = text.to_string();
            let got = parse_threshold(text).unwrap();
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn rejects_bad_thresholds() {
        let cases = [
            ("p95 500ms", "no comparison"),
            ("p95 < ", "no value"),
            ("< 5", "no metric"),
            ("p101 < 5", "not between p0 and p100"),
            ("latency < 5", "unknown metric"),
            ("p95 << 5", "expected a number"),
            ("p95 != 5", "unknown comparison"),
            ("p95 < 5x", "unknown unit"),
            ("failure_rate < 5", "fraction"),
            ("failure_rate < 101%", "fraction"),
            ("rps > -1", "not a number"),
            (": p95 < 1", "empty entry name"),
        ];
        for (text, want) in cases {
            let err = parse_threshold(text).unwrap_err();
            assert!(err.to_string().contains(want), "{text}: {err}");
            assert!(err.hint().is_some(), "{text}");
        }
    }
}
