//! The compiled load plan: what the engine executes, with every name resolved and every value checked.
//!
//! A [`Plan`] is pure data. It does no I/O and reads no clock: time enters only as the `Duration`
//! arguments of [`Curve::value`] and friends, supplied by whoever runs the plan.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything the engine needs to generate one run's load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// User types, in file order. Never empty.
    pub user_types: Vec<UserTypePlan>,
    /// Stats entries; [`RequestPlan::entry`] indexes into this list.
    pub entries: Vec<EntryName>,
    /// How many users (or arrivals) over time.
    pub profile: Profile,
    /// How long running tasks may go on after the end of the run before they are cut off.
    pub stop_timeout: Duration,
    /// Thresholds to evaluate at the end of the run (and while it runs, for `abort` ones).
    pub thresholds: Vec<Threshold>,
    /// Accept any TLS certificate (staging hosts with self-signed certificates).
    pub insecure_tls: bool,
    /// The most bytes of a response body kept (for checks and extraction) or decoded; a larger
    /// body fails its request instead of growing memory.
    #[serde(default = "default_max_body")]
    pub max_body: u64,
}

/// The most bytes of a response body kept or decoded when `--max-body` does not say: far above
/// any API response, far below what a thousand users may hold at once.
pub const DEFAULT_MAX_BODY: u64 = 16 * 1024 * 1024;

fn default_max_body() -> u64 {
    DEFAULT_MAX_BODY
}

impl Plan {
    /// When the run ends by itself; `None` runs until stopped.
    pub fn run_time(&self) -> Option<Duration> {
        match &self.profile {
            Profile::Users { curve } | Profile::Arrivals { curve, .. } => curve.end,
        }
    }
}

/// A stats entry: Locust's (Type, Name) pair.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntryName {
    pub method: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserTypePlan {
    pub name: String,
    /// Relative weight among the types without a fixed count (0 when `fixed_count` is set).
    pub weight: u32,
    /// Exactly this many users of the type, taken before weighted users, as Locust's `fixed_count`.
    pub fixed_count: Option<u32>,
    pub wait: Wait,
    /// Never empty.
    pub tasks: Vec<TaskPlan>,
    /// Steps each user runs once when it starts, and once when it stops (Locust's on_start/on_stop).
    pub on_start: Vec<StepPlan>,
    pub on_stop: Vec<StepPlan>,
    /// Variables every user of the type starts with.
    pub vars: Vec<(String, String)>,
    /// Data feeds whose columns become variables.
    pub feeds: Vec<FeedPlan>,
}

/// A task: its steps run in order each time it is picked (a flow, as Locust's SequentialTaskSet).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskPlan {
    pub name: String,
    /// Relative weight among the user type's tasks (at least 1).
    pub weight: u32,
    /// Never empty.
    pub steps: Vec<StepPlan>,
}

/// One thing a task does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StepPlan {
    Request(Box<RequestPlan>),
    /// Think time between two steps.
    Think(Wait),
    /// Weighted random sub-tasks, as Locust's TaskSet: one is picked and its steps run. Nested one
    /// level only: the sub-tasks' steps contain no `Pick`.
    Pick(Vec<TaskPlan>),
}

/// One HTTP request, ready to send.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestPlan {
    /// Index into [`Plan::entries`].
    pub entry: usize,
    /// Upper-case method token, e.g. `GET`.
    pub method: String,
    /// Absolute URL; the query parameters of the scenario are already encoded into it. For a
    /// templated request only its origin (scheme, host, port) is used, and its path and query
    /// show the template as written (`/products/{{id}}`), for display.
    pub url: Url,
    /// Header names as written; `Host`, `Content-Length` and `Accept-Encoding` are added by the client.
    /// Templated values (and templated auth) appear as written, for display; the template's
    /// parts replace them.
    pub headers: Vec<(String, String)>,
    /// Request body, with its content type (also present in `headers` when the file set one).
    pub body: Option<Body>,
    pub timeout: Duration,
    pub follow_redirects: bool,
    /// Ask for gzip/brotli (`Accept-Encoding`) and decode the response body.
    pub decompress: bool,
    /// Use HTTP/2: ALPN `h2` over TLS, prior knowledge (h2c) over plain TCP.
    pub http2: bool,
    /// The parts rendered per request from variables; `None` when the request is static (then
    /// `url`, `headers` and `body` are sent as they are, serialized once before the run).
    pub template: Option<RequestTemplate>,
    /// Checks on the response; a failed check makes the request a failure with the check's reason.
    /// Without a `Status` check, a status of 400 or more is a failure.
    pub checks: Vec<Check>,
    /// Values taken from the response into the user's variables.
    pub extract: Vec<Extract>,
}

/// The templated parts of a request. Rendering fills `{{...}}` from the user's variables.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestTemplate {
    /// The path and query (the compiler always writes one starting with `/`, the host's base path
    /// included), which replace those of `RequestPlan::url`; an absolute URL is also accepted.
    /// Filled even when only other parts are templated. Literal text is already
    /// percent-encoded; inserted values are percent-encoded where a URL needs it.
    pub url: Template,
    /// Appended to the rendered URL in order. Names are plain; the literal text of values is
    /// already percent-encoded, inserted values are percent-encoded.
    pub query: Vec<(String, Template)>,
    /// The templated header values only (names are plain); a rendered value with CR or LF is
    /// refused. Each replaces the header of the same name in `RequestPlan::headers`.
    pub headers: Vec<(String, Template)>,
    /// `None` when the body is static: `RequestPlan::body` is sent.
    pub body: Option<BodyTemplate>,
    /// Credentials with a template; replaces any `Authorization` header of `RequestPlan::headers`.
    /// Static credentials are a plain header instead.
    pub auth: Option<Auth>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum BodyTemplate {
    /// Sent as rendered, with this content type.
    Raw {
        content_type: Option<String>,
        template: Template,
    },
    /// JSON text whose `{{...}}` sit inside string literals; inserted values are JSON-escaped.
    Json(Template),
    /// `application/x-www-form-urlencoded`; names plain, literal text of values already encoded,
    /// inserted values percent-encoded (spaces as `+`).
    Form(Vec<(String, Template)>),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Auth {
    Basic {
        username: Template,
        password: Template,
    },
    Bearer(Template),
}

/// A string with `{{...}}` holes, parsed once at compile time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TemplatePart {
    Text(String),
    /// `{{name}}`: a per-user variable (extracted, from a feed, or from `vars`).
    Var(String),
    /// `{{env.NAME}}`: read from the environment of the process that runs the load, so secrets
    /// never travel in a plan or a job, and never appear in a report.
    Env(String),
    Builtin(Builtin),
    /// In a JSON body, a `{{...}}` that was a whole string value (`"qty": "{{n}}"`): its value is
    /// inserted as a JSON number, boolean or null when it reads as one, else as a quoted string.
    /// The surrounding quotes are not in the neighbouring text parts.
    JsonValue(Box<TemplatePart>),
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Builtin {
    /// `{{user_id}}`: the user's number within the run.
    UserId,
    /// `{{iteration}}`: how many tasks this user has started, from 1.
    Iteration,
    /// `{{random_int(min, max)}}`, both inclusive.
    RandomInt {
        min: i64,
        max: i64,
    },
    /// `{{uuid}}`: a random version-4 UUID.
    Uuid,
    /// `{{timestamp}}`: Unix seconds; `{{timestamp_ms}}`: Unix milliseconds.
    Timestamp,
    TimestampMs,
}

/// A condition on a response, as Locust's `catch_response`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Check {
    /// The status is in one of these inclusive ranges (`200`, `200-299`, `2xx`).
    Status(Vec<(u16, u16)>),
    BodyContains(String),
    /// A regular expression (Rust `regex` syntax) that must match somewhere in the body.
    BodyMatches(String),
    /// The JSON value at an RFC 6901 pointer equals this value.
    JsonEquals {
        pointer: String,
        value: serde_json::Value,
    },
    JsonExists(String),
    /// A response header (case-insensitive name) equals this value exactly.
    HeaderEquals {
        name: String,
        value: String,
    },
    /// The response time is below this.
    ResponseTimeBelow(Duration),
}

/// Takes a value from a response into a variable. Finding nothing is an exception.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Extract {
    pub var: String,
    pub from: ExtractFrom,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ExtractFrom {
    /// RFC 6901 pointer into the JSON body; strings are taken as they are, other values as JSON.
    Json(String),
    /// A capture group (0 = the whole match) of the first match in the body.
    Regex {
        pattern: String,
        group: usize,
    },
    Header(String),
    /// A cookie the user holds after the response.
    Cookie(String),
}

/// Rows of a CSV file whose columns become variables.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedPlan {
    /// The file as written in the scenario, for messages.
    pub name: String,
    pub columns: Vec<String>,
    /// Never empty; every row has `columns.len()` cells.
    pub rows: Vec<Vec<String>>,
    pub order: FeedOrder,
    /// When a user takes the next row.
    pub per: FeedScope,
    pub when_exhausted: FeedExhausted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedOrder {
    /// Rows in file order, shared by the users, wrapping around.
    RoundRobin,
    Random,
    /// Each row is used once in the whole run; see `FeedExhausted` for what happens after.
    Unique,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedScope {
    /// One row for the user's whole life, taken when it starts.
    User,
    /// A new row at the start of each task.
    Iteration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedExhausted {
    /// Start again from the first row (only meaningful for `Unique`).
    Recycle,
    /// The user that found no row stops.
    StopUser,
    /// The run stops.
    StopRun,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Body {
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scheme {
    Http,
    Https,
}

/// An absolute http(s) URL, split the way a client needs it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Url {
    pub scheme: Scheme,
    /// Host name or IP address, without brackets for IPv6.
    pub host: String,
    pub port: u16,
    /// Starts with `/`; includes the query string.
    pub path_and_query: String,
}

impl fmt::Display for Url {
    /// The URL as text, with the port only when it is not the scheme's default.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scheme, default_port) = match self.scheme {
            Scheme::Http => ("http", 80),
            Scheme::Https => ("https", 443),
        };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]", self.host)?;
        } else {
            write!(f, "{scheme}://{}", self.host)?;
        }
        if self.port != default_port {
            write!(f, ":{}", self.port)?;
        }
        f.write_str(&self.path_and_query)
    }
}

/// Think time after each task, as in Locust's `wait_time`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Wait {
    /// `constant(d)`; `Duration::ZERO` for no think time.
    Constant(Duration),
    /// `between(min, max)`, uniform.
    Between(Duration, Duration),
    /// `constant_pacing(d)`: a task starts every `d`, whatever it took.
    ConstantPacing(Duration),
    /// `constant_throughput(n)`: `n` tasks per second per user.
    ConstantThroughput(f64),
}

/// The load over time. Every load model compiles to one of these two.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Profile {
    /// Closed model: `curve` gives the number of concurrent users.
    Users { curve: Curve },
    /// Open model: `curve` gives arrivals per second; each arrival runs one task (or one request),
    /// on a free user; when none is free and `max_users` are busy, the arrival is dropped and counted.
    Arrivals {
        curve: Curve,
        unit: ArrivalUnit,
        max_users: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArrivalUnit {
    /// An arrival is one whole task (an iteration).
    Iterations,
    /// An arrival is a single request: the next one of the task.
    Requests,
}

/// A piecewise-linear function of time since the start of the run.
///
/// Before the first point the value is the first point's value; after the last point it holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// Sorted by `at`; never empty.
    pub points: Vec<CurvePoint>,
    /// The run ends here; `None` runs until stopped.
    pub end: Option<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub at: Duration,
    pub value: f64,
}

impl Curve {
    /// A value that holds from the start.
    pub fn constant(value: f64, end: Option<Duration>) -> Curve {
        Curve {
            points: vec![CurvePoint {
                at: Duration::ZERO,
                value,
            }],
            end,
        }
    }

    /// The value at `t` since the start.
    pub fn value(&self, t: Duration) -> f64 {
        let first = self.points[0];
        if t <= first.at {
            return first.value;
        }
        for pair in self.points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if t <= b.at {
                let span = (b.at - a.at).as_secs_f64();
                if span == 0.0 {
                    return b.value;
                }
                let f = (t - a.at).as_secs_f64() / span;
                return a.value + (b.value - a.value) * f;
            }
        }
        self.points[self.points.len() - 1].value
    }

    /// The integral of the curve from 0 to `t` (for arrivals: how many should have happened).
    pub fn integral(&self, t: Duration) -> f64 {
        let t_s = t.as_secs_f64();
        let first = self.points[0];
        let mut total = first.value * first.at.as_secs_f64().min(t_s);
        for pair in self.points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (a_s, b_s) = (a.at.as_secs_f64(), b.at.as_secs_f64());
            if t_s <= a_s {
                return total;
            }
            let upto = t_s.min(b_s);
            let va = a.value;
            let vu = self.value(Duration::from_secs_f64(upto));
            total += (va + vu) / 2.0 * (upto - a_s);
        }
        let last = self.points[self.points.len() - 1];
        let last_s = last.at.as_secs_f64();
        if t_s > last_s {
            total += last.value * (t_s - last_s.max(0.0));
        }
        total
    }

    /// The largest value the curve reaches.
    pub fn peak(&self) -> f64 {
        self.points.iter().map(|p| p.value).fold(0.0, f64::max)
    }
}

/// A fraction `[start, end)` of the whole load, as k6's execution segments.
///
/// Shares are computed so that segments which tile `[0, 1)` add up to exactly the whole: the users of
/// a segment at a load of `n` are `floor(n * end) - floor(n * start)`, and the sum over adjacent
/// segments telescopes to `floor(n)`. No user is lost to rounding.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
}

impl Segment {
    pub const WHOLE: Segment = Segment {
        start: 0.0,
        end: 1.0,
    };

    /// The `index`-th of `count` equal segments.
    pub fn nth(index: usize, count: usize) -> Segment {
        assert!(count > 0 && index < count, "segment {index} of {count}");
        let bound = |i: usize| {
            if i == count {
                1.0
            } else {
                i as f64 / count as f64
            }
        };
        Segment {
            start: bound(index),
            end: bound(index + 1),
        }
    }

    /// Sub-segments of `self` in proportion to `weights` (which must not all be zero).
    pub fn split(&self, weights: &[f64]) -> Vec<Segment> {
        let total: f64 = weights.iter().sum();
        let width = self.end - self.start;
        let mut acc = 0.0;
        let mut out = Vec::with_capacity(weights.len());
        for (i, w) in weights.iter().enumerate() {
            let start = self.start + width * (acc / total);
            acc += w;
            let end = if i + 1 == weights.len() {
                self.end
            } else {
                self.start + width * (acc / total)
            };
            out.push(Segment { start, end });
        }
        out
    }

    /// This segment's whole share of `n` things (users, arrivals so far).
    pub fn share(&self, n: f64) -> u64 {
        let n = n.max(0.0);
        ((n * self.end).floor() - (n * self.start).floor()).max(0.0) as u64
    }

    /// This segment's part of a continuous quantity (a rate).
    pub fn scale(&self, x: f64) -> f64 {
        x * (self.end - self.start)
    }

    pub fn width(&self) -> f64 {
        self.end - self.start
    }
}

/// A pass/fail condition on the run's results, e.g. `p95 < 500ms`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The text as the user wrote it, for reports.
    pub source: String,
    /// `None` for the aggregated figures, else one entry (`GET /cart`, or a name alone for any method).
    pub entry: Option<EntrySelector>,
    pub metric: Metric,
    pub op: Comparison,
    /// In the metric's unit: milliseconds for times, a fraction (0.01 = 1%) for rates, per second for rps.
    pub value: f64,
    /// Stop the run as soon as the threshold fails.
    pub abort_on_fail: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntrySelector {
    pub method: Option<String>,
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Metric {
    /// A response-time percentile, 0..=100 (p50 = median).
    Percentile(f64),
    AvgResponseTime,
    MinResponseTime,
    MaxResponseTime,
    /// Failures ÷ requests.
    FailureRate,
    /// Requests per second over the whole run.
    Rps,
    Requests,
    Failures,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

impl Comparison {
    pub fn holds(self, actual: f64, bound: f64) -> bool {
        match self {
            Comparison::Lt => actual < bound,
            Comparison::Le => actual <= bound,
            Comparison::Gt => actual > bound,
            Comparison::Ge => actual >= bound,
            Comparison::Eq => actual == bound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_tile_users_exactly() {
        for count in 1..7 {
            let segs: Vec<_> = (0..count).map(|i| Segment::nth(i, count)).collect();
            for n in 0..200 {
                let n = n as f64 * 0.7;
                let sum: u64 = segs.iter().map(|s| s.share(n)).sum();
                assert_eq!(sum, n.floor() as u64, "count {count} n {n}");
            }
        }
        let weighted = Segment::WHOLE.split(&[1.0, 2.0, 3.0]);
        let sum: u64 = weighted.iter().map(|s| s.share(1001.0)).sum();
        assert_eq!(sum, 1001);
        assert_eq!(weighted[2].share(600.0), 300);
    }

    #[test]
    fn curve_interpolates_and_integrates() {
        let c = Curve {
            points: vec![
                CurvePoint {
                    at: Duration::ZERO,
                    value: 0.0,
                },
                CurvePoint {
                    at: Duration::from_secs(10),
                    value: 100.0,
                },
            ],
            end: Some(Duration::from_secs(20)),
        };
        assert_eq!(c.value(Duration::from_secs(5)), 50.0);
        assert_eq!(c.value(Duration::from_secs(15)), 100.0);
        assert!((c.integral(Duration::from_secs(10)) - 500.0).abs() < 1e-9);
        assert!((c.integral(Duration::from_secs(20)) - 1500.0).abs() < 1e-9);
        let flat = Curve::constant(10.0, None);
        assert!((flat.integral(Duration::from_millis(2500)) - 25.0).abs() < 1e-9);
    }
}
