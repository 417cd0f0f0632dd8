//! A plan as readable text, for `brood run --dry-run`: user types, tasks and their steps, picks,
//! checks, extraction and feeds, then the request mix the plan should produce.

use std::fmt::{self, Write};
use std::time::Duration;

use crate::plan::{
    Auth, Check, Extract, ExtractFrom, FeedExhausted, FeedOrder, FeedPlan, FeedScope, Plan,
    RequestPlan, StepPlan, TaskPlan, UserTypePlan, Wait,
};

/// A duration the way a scenario file writes it: `500ms`, `1.5s`, `1m30s`, `2h`.
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_string();
    }
    if d < Duration::from_secs(1) {
        let ms = d.as_secs_f64() * 1000.0;
        return format!("{}ms", trim_number(ms));
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    let frac = f64::from(d.subsec_nanos()) / 1e9;
    if s > 0 || frac > 0.0 {
        out.push_str(&format!("{}s", trim_number(s as f64 + frac)));
    }
    out
}

/// A number with at most three decimals and no trailing zeros.
fn trim_number(x: f64) -> String {
    let text = format!("{x:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl fmt::Display for Wait {
    /// The wait in the scenario syntax: `none`, `2s`, `between(1s, 3s)`, `constant_pacing(2s)`,
    /// `constant_throughput(0.5)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wait::Constant(d) if d.is_zero() => f.write_str("none"),
            Wait::Constant(d) => f.write_str(&format_duration(*d)),
            Wait::Between(a, b) => write!(
                f,
                "between({}, {})",
                format_duration(*a),
                format_duration(*b)
            ),
            Wait::ConstantPacing(d) => write!(f, "constant_pacing({})", format_duration(*d)),
            Wait::ConstantThroughput(n) => write!(f, "constant_throughput({n})"),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Status(ranges) => {
                let items: Vec<String> = ranges
                    .iter()
                    .map(|&(lo, hi)| match (lo, hi) {
                        _ if lo == hi => lo.to_string(),
                        _ if lo % 100 == 0 && hi == lo + 99 => format!("{}xx", lo / 100),
                        _ => format!("{lo}-{hi}"),
                    })
                    .collect();
                write!(f, "status {}", items.join(", "))
            }
            Check::BodyContains(text) => write!(f, "body contains {text:?}"),
            Check::BodyMatches(pattern) => write!(f, "body matches {pattern:?}"),
            Check::JsonEquals { pointer, value } => write!(f, "json {pointer:?} equals {value}"),
            Check::JsonExists(pointer) => write!(f, "json {pointer:?} exists"),
            Check::HeaderEquals { name, value } => write!(f, "header {name} is {value:?}"),
            Check::ResponseTimeBelow(d) => {
                write!(f, "response time below {}", format_duration(*d))
            }
        }
    }
}

impl fmt::Display for Extract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} from ", self.var)?;
        match &self.from {
            ExtractFrom::Json(pointer) => write!(f, "json {pointer:?}"),
            ExtractFrom::Regex { pattern, group } => {
                write!(f, "regex {pattern:?} group {group}")
            }
            ExtractFrom::Header(name) => write!(f, "header {name}"),
            ExtractFrom::Cookie(name) => write!(f, "cookie {name}"),
        }
    }
}

fn percent(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        format!("{:.1}%", 100.0 * part / whole)
    } else {
        "0%".to_string()
    }
}

impl Plan {
    /// The plan as readable text, one item a line, nested by indentation.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let weighted: f64 = self.user_types.iter().map(|t| f64::from(t.weight)).sum();
        for user in &self.user_types {
            let share = match user.fixed_count {
                Some(n) => format!("fixed count {n}"),
                None => format!(
                    "weight {} ({} of the weighted users)",
                    user.weight,
                    percent(f64::from(user.weight), weighted)
                ),
            };
            let _ = writeln!(
                out,
                "user type {:?}: {share}, wait {}",
                user.name, user.wait
            );
            self.describe_user(user, &mut out);
        }
        out.push_str(
            "expected request mix (every user iterating at the same rate; on_start/on_stop not counted):\n",
        );
        for (entry, share) in self.expected_mix() {
            let _ = writeln!(
                out,
                "  {:>6}  {} {}",
                percent(share, 1.0),
                entry.method,
                entry.name
            );
        }
        out
    }

    fn describe_user(&self, user: &UserTypePlan, out: &mut String) {
        if !user.vars.is_empty() {
            let vars: Vec<String> = user
                .vars
                .iter()
                .map(|(k, v)| format!("{k} = {v:?}"))
                .collect();
            let _ = writeln!(out, "  vars: {}", vars.join(", "));
        }
        for feed in &user.feeds {
            let _ = writeln!(out, "  feed {}", describe_feed(feed));
        }
        for (label, steps) in [("on_start", &user.on_start), ("on_stop", &user.on_stop)] {
            if !steps.is_empty() {
                let _ = writeln!(out, "  {label}:");
                self.describe_steps(steps, 2, out);
            }
        }
        let total: f64 = user.tasks.iter().map(|t| f64::from(t.weight)).sum();
        for task in &user.tasks {
            self.describe_task("task", task, total, 1, out);
        }
    }

    fn describe_task(
        &self,
        what: &str,
        task: &TaskPlan,
        total: f64,
        depth: usize,
        out: &mut String,
    ) {
        let _ = writeln!(
            out,
            "{}{what} {:?}: weight {} ({})",
            "  ".repeat(depth),
            task.name,
            task.weight,
            percent(f64::from(task.weight), total)
        );
        self.describe_steps(&task.steps, depth + 1, out);
    }

    fn describe_steps(&self, steps: &[StepPlan], depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        for step in steps {
            match step {
                StepPlan::Request(request) => self.describe_request(request, depth, out),
                StepPlan::Think(wait) => {
                    let _ = writeln!(out, "{pad}think {wait}");
                }
                StepPlan::Pick(choices) => {
                    let _ = writeln!(out, "{pad}pick one:");
                    let total: f64 = choices.iter().map(|c| f64::from(c.weight)).sum();
                    for choice in choices {
                        self.describe_task("choice", choice, total, depth + 1, out);
                    }
                }
            }
        }
    }

    fn describe_request(&self, request: &RequestPlan, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        let _ = write!(out, "{pad}{} {}", request.method, request.url);
        if let Some(entry) = self.entries.get(request.entry) {
            if entry.name != request.url.path_and_query {
                let _ = write!(out, "  (as {:?})", entry.name);
            }
        }
        out.push('\n');
        if let Some(auth) = request.template.as_ref().and_then(|t| t.auth.as_ref()) {
            let _ = match auth {
                Auth::Bearer(token) => writeln!(out, "{pad}  auth bearer {token}"),
                Auth::Basic { username, .. } => writeln!(out, "{pad}  auth basic as {username}"),
            };
        }
        if let Some(body) = &request.body {
            let text = String::from_utf8_lossy(&body.bytes);
            let shown: String = text.chars().take(80).collect();
            let more = if text.chars().count() > 80 { "…" } else { "" };
            let _ = writeln!(out, "{pad}  body {shown}{more}");
        }
        for check in &request.checks {
            let _ = writeln!(out, "{pad}  check {check}");
        }
        for extract in &request.extract {
            let _ = writeln!(out, "{pad}  extract {extract}");
        }
    }
}

fn describe_feed(feed: &FeedPlan) -> String {
    let order = match feed.order {
        FeedOrder::RoundRobin => "round_robin",
        FeedOrder::Random => "random",
        FeedOrder::Unique => "unique",
    };
    let per = match feed.per {
        FeedScope::User => "a row per user",
        FeedScope::Iteration => "a row per iteration",
    };
    let exhausted = match (feed.order, feed.when_exhausted) {
        (FeedOrder::Unique, FeedExhausted::Recycle) => ", recycled when used up",
        (FeedOrder::Unique, FeedExhausted::StopUser) => ", the user stops when used up",
        (FeedOrder::Unique, FeedExhausted::StopRun) => ", the run stops when used up",
        _ => "",
    };
    format!(
        "{}: {} row(s) of {}; {order}, {per}{exhausted}",
        feed.name,
        feed.rows.len(),
        feed.columns.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_waits_read_as_written() {
        let ms = Duration::from_millis;
        let cases = [
            (ms(0), "0s"),
            (ms(500), "500ms"),
            (Duration::from_micros(1500), "1.5ms"),
            (ms(1500), "1.5s"),
            (ms(90_000), "1m30s"),
            (ms(7_200_000), "2h"),
        ];
        for (d, want) in cases {
            assert_eq!(format_duration(d), want);
        }
        assert_eq!(
            Wait::Between(ms(1000), ms(3000)).to_string(),
            "between(1s, 3s)"
        );
        assert_eq!(Wait::Constant(ms(0)).to_string(), "none");
        assert_eq!(
            Wait::ConstantThroughput(0.5).to_string(),
            "constant_throughput(0.5)"
        );
        let status = Check::Status(vec![(200, 200), (200, 299), (301, 302)]);
        assert_eq!(status.to_string(), "status 200, 2xx, 301-302");
    }
}
