//! The `load` section of a scenario (users and spawn rate, stages, or an arrival rate), its
//! merge with command-line flags, and its compilation into one [`Profile`] curve.
//!
//! Every load model becomes a piecewise-linear [`Curve`], so the engine runs one loop whatever
//! the model: users over time for the closed model, arrivals per second for the open one.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer};

use crate::error::{Issue, PlanError};
use crate::options::{LoadOptions, Stage, StageTarget};
use crate::plan::{ArrivalUnit, Curve, CurvePoint, Profile};
use crate::scalar::{self, duration_from_text};

/// The `load` section of a scenario file. Every field is optional; flags override them.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    /// Closed model: how many concurrent users.
    #[serde(default, deserialize_with = "scalar::opt_users")]
    pub users: Option<u64>,
    /// Closed model: users started per second until `users` run.
    #[serde(default, deserialize_with = "scalar::opt_rate")]
    pub spawn_rate: Option<f64>,
    #[serde(default, deserialize_with = "scalar::opt_positive_duration")]
    pub run_time: Option<Duration>,
    #[serde(default, deserialize_with = "scalar::opt_duration")]
    pub stop_timeout: Option<Duration>,
    /// Ramping users or ramping arrival rate; all stages one kind.
    #[serde(default, deserialize_with = "opt_stages")]
    pub stages: Option<Vec<Stage>>,
    /// Open model: arrivals per second.
    #[serde(default, deserialize_with = "scalar::opt_rate")]
    pub arrival_rate: Option<f64>,
    #[serde(default, deserialize_with = "opt_arrival_unit")]
    pub arrival_unit: Option<ArrivalUnit>,
    /// Open model: the most users busy with arrivals at once.
    #[serde(default, deserialize_with = "scalar::opt_count")]
    pub max_users: Option<u32>,
    /// Rate stages: the rate at the start of the first stage (default 0, as k6).
    #[serde(default, deserialize_with = "scalar::opt_rate_or_zero")]
    pub start_rate: Option<f64>,
}

impl LoadSpec {
    /// Checks that the fields describe one load model. Issue paths are relative to `load`.
    pub fn check(&self) -> Result<(), Issue> {
        let conflict = |field: &str, other: &str| {
            Issue::new(format!("`{field}` cannot be combined with `{other}`"))
                .hint("pick one load model: users (+ spawn_rate), stages, or arrival_rate")
                .at_key(field)
        };
        self.check_values()?;
        if let Some(stages) = &self.stages {
            for other in ["users", "spawn_rate", "arrival_rate"] {
                if self.is_set(other) {
                    return Err(conflict(other, "stages"));
                }
            }
            check_stages(stages).map_err(|issue| issue.at_key("stages"))?;
        }
        if self.arrival_rate.is_some() {
            for other in ["users", "spawn_rate"] {
                if self.is_set(other) {
                    return Err(conflict(other, "arrival_rate"));
                }
            }
        }
        let open = self.arrival_rate.is_some() || self.has_rate_stages();
        for field in ["arrival_unit", "max_users", "start_rate"] {
            if self.is_set(field) && !open {
                return Err(Issue::new(format!(
                    "`{field}` applies only to the open model (arrival_rate or rate stages)"
                ))
                .at_key(field));
            }
        }
        if self.start_rate.is_some() && !self.has_rate_stages() {
            return Err(Issue::new("`start_rate` applies only to rate stages").at_key("start_rate"));
        }
        Ok(())
    }

    /// Bounds that deserialization enforces, repeated for a `LoadSpec` built in code.
    fn check_values(&self) -> Result<(), Issue> {
        let rates = [
            ("spawn_rate", self.spawn_rate, false),
            ("arrival_rate", self.arrival_rate, false),
            ("start_rate", self.start_rate, true),
        ];
        for (field, value, zero_ok) in rates {
            if let Some(value) = value {
                scalar::rate(value, zero_ok).map_err(|issue| issue.at_key(field))?;
            }
        }
        if self.run_time == Some(Duration::ZERO) {
            return Err(Issue::new("must be longer than zero").at_key("run_time"));
        }
        if self.max_users == Some(0) {
            return Err(Issue::new("must be at least 1, found 0").at_key("max_users"));
        }
        Ok(())
    }

    fn is_set(&self, field: &str) -> bool {
        match field {
            "users" => self.users.is_some(),
            "spawn_rate" => self.spawn_rate.is_some(),
            "arrival_rate" => self.arrival_rate.is_some(),
            "arrival_unit" => self.arrival_unit.is_some(),
            "max_users" => self.max_users.is_some(),
            "start_rate" => self.start_rate.is_some(),
            _ => false,
        }
    }

    fn has_rate_stages(&self) -> bool {
        matches!(self.stages.as_deref(), Some([first, ..]) if matches!(first.target, StageTarget::Rate(_)))
    }
}

/// Checks a list of stages: at least one, all one kind, and some time in total.
fn check_stages(stages: &[Stage]) -> Result<(), Issue> {
    let Some(first) = stages.first() else {
        return Err(Issue::new("no stages").hint("give at least one stage, e.g. 30s:100"));
    };
    for (i, stage) in stages.iter().enumerate() {
        if let StageTarget::Rate(rate) = stage.target {
            scalar::rate(rate, true).map_err(|issue| issue.at_key("rate").at_index(i))?;
        }
        if stage.target.kind() != first.target.kind() {
            return Err(Issue::new(format!(
                "stage {i} sets `{}` but stage 0 sets `{}`; all stages must be one kind",
                stage.target.kind(),
                first.target.kind()
            ))
            .at_index(i));
        }
    }
    match total(stages) {
        None => Err(Issue::new("the stages are too long in total")),
        Some(Duration::ZERO) => Err(Issue::new("the stages last no time at all")
            .hint("give at least one stage a duration above zero")),
        Some(_) => Ok(()),
    }
}

fn total(stages: &[Stage]) -> Option<Duration> {
    stages
        .iter()
        .try_fold(Duration::ZERO, |acc, s| acc.checked_add(s.duration))
}

/// Parses the `--stages` flag: `30s:100,1m:100,30s:0` ramps users; `30s:100/s,1m:500/s` ramps
/// the arrival rate.
pub fn parse_stages(text: &str) -> Result<Vec<Stage>, PlanError> {
    let stages = text
        .split(',')
        .map(stage_from_text)
        .collect::<Result<Vec<_>, _>>()?;
    check_stages(&stages)?;
    Ok(stages)
}

/// Parses an arrival unit: `iterations` (a whole task) or `requests` (a single request).
pub fn parse_arrival_unit(text: &str) -> Result<ArrivalUnit, PlanError> {
    arrival_unit_from_text(text).map_err(PlanError::from)
}

fn arrival_unit_from_text(text: &str) -> Result<ArrivalUnit, Issue> {
    match text.trim().to_ascii_lowercase().as_str() {
        "iterations" | "iteration" | "tasks" => Ok(ArrivalUnit::Iterations),
        "requests" | "request" => Ok(ArrivalUnit::Requests),
        _ => Err(Issue::new(format!("unknown arrival unit {text:?}"))
            .hint("use iterations (a whole task per arrival) or requests (one request)")),
    }
}

fn stage_from_text(text: &str) -> Result<Stage, Issue> {
    let hint = "write DURATION:USERS or DURATION:RATE/s, e.g. 30s:100 or 1m:500/s";
    let Some((duration, target)) = text.split_once(':') else {
        return Err(Issue::new(format!("invalid stage {text:?}")).hint(hint));
    };
    let duration = duration_from_text(duration)?;
    let target = target.trim();
    let bad_target = || Issue::new(format!("invalid stage target {target:?}")).hint(hint);
    let target = match target.strip_suffix("/s") {
        Some(rate) => {
            let rate: f64 = rate.trim().parse().map_err(|_| bad_target())?;
            StageTarget::Rate(scalar::rate(rate, true)?)
        }
        None => StageTarget::Users(target.parse().map_err(|_| bad_target())?),
    };
    Ok(Stage { duration, target })
}

/// A stage in the file: `{duration: 30s, users: 100}`, `{duration: 1m, rate: 500}`, or the
/// flag's form as a string (`30s:100`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StageTable {
    #[serde(deserialize_with = "scalar::duration")]
    duration: Duration,
    #[serde(default, deserialize_with = "scalar::opt_users")]
    users: Option<u64>,
    #[serde(default, deserialize_with = "scalar::opt_rate_or_zero")]
    rate: Option<f64>,
}

struct StageVisitor;

impl<'de> de::Visitor<'de> for StageVisitor {
    type Value = Stage;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a stage such as {duration: 30s, users: 100} or \"30s:100\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Stage, E> {
        stage_from_text(v).map_err(Issue::into_de)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Stage, A::Error> {
        let table = StageTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
        let target = match (table.users, table.rate) {
            (Some(users), None) => StageTarget::Users(users),
            (None, Some(rate)) => StageTarget::Rate(rate),
            (Some(_), Some(_)) => {
                return Err(Issue::new("a stage sets `users` or `rate`, not both")
                    .at_key("rate")
                    .into_de())
            }
            (None, None) => {
                return Err(Issue::new("a stage needs `users` or `rate`")
                    .hint("e.g. {duration: 30s, users: 100}")
                    .into_de())
            }
        };
        Ok(Stage {
            duration: table.duration,
            target,
        })
    }
}

struct StageSeed;

impl<'de> de::DeserializeSeed<'de> for StageSeed {
    type Value = Stage;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Stage, D::Error> {
        d.deserialize_any(StageVisitor)
    }
}

struct StagesVisitor;

impl<'de> de::Visitor<'de> for StagesVisitor {
    type Value = Vec<Stage>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of stages")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Stage>, A::Error> {
        let mut stages = Vec::new();
        while let Some(stage) = seq.next_element_seed(StageSeed)? {
            stages.push(stage);
        }
        Ok(stages)
    }
}

fn opt_stages<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Stage>>, D::Error> {
    d.deserialize_seq(StagesVisitor).map(Some)
}

fn opt_arrival_unit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ArrivalUnit>, D::Error> {
    let text = String::deserialize(d)?;
    arrival_unit_from_text(&text)
        .map(Some)
        .map_err(Issue::into_de)
}

/// The load model once the file and the flags are merged.
enum Model {
    Closed { users: u64, spawn_rate: f64 },
    Stages(Vec<Stage>),
    Open { rate: f64 },
}

/// Where a value came from, to name it in an error.
#[derive(Clone, Copy)]
enum Origin {
    Flag(&'static str),
    File(&'static str),
}

/// Merges the file's `load` with the flags and compiles the result. Flags override field by
/// field; a flag that picks another model (`--stages`, `--arrival-rate`, `--users`) replaces the
/// file's model, and the file's fields that only belonged to that model are dropped.
///
/// `file_error` places an issue with a path below `load` in the scenario file.
pub(crate) fn profile(
    file: &LoadSpec,
    opts: &LoadOptions,
    file_error: &dyn Fn(Issue) -> PlanError,
) -> Result<(Profile, Duration), PlanError> {
    check_options(opts)?;
    let (model, origin) = pick_model(file, opts);
    let run_time = opts.run_time.or(file.run_time);
    let open = match &model {
        Model::Open { .. } => true,
        Model::Stages(stages) => matches!(stages[0].target, StageTarget::Rate(_)),
        Model::Closed { .. } => false,
    };
    if !open {
        let flags = [
            ("--arrival-unit", opts.arrival_unit.is_some()),
            ("--max-users", opts.max_users.is_some()),
        ];
        if let Some((flag, _)) = flags.iter().find(|(_, set)| *set) {
            return Err(PlanError::option(
                flag,
                Issue::new("applies only to the open model (--arrival-rate or rate stages)"),
            ));
        }
    }
    let curve = match &model {
        Model::Closed { users, spawn_rate } => closed_curve(*users, *spawn_rate, run_time)
            .map_err(|issue| match origin {
                Origin::Flag(flag) => PlanError::option(flag, issue),
                Origin::File(field) => file_error(issue.at_key(field)),
            })?,
        Model::Stages(stages) => {
            // Users stages always start from no users; only rate stages have a start rate.
            let start = match stages[0].target {
                StageTarget::Rate(_) => file.start_rate.unwrap_or(0.0),
                StageTarget::Users(_) => 0.0,
            };
            stages_curve(stages, start, run_time)
        }
        Model::Open { rate } => Curve::constant(*rate, run_time),
    };
    let profile = if open {
        let file_open = file.arrival_rate.is_some() || file.has_rate_stages();
        let unit = opts
            .arrival_unit
            .or(file.arrival_unit.filter(|_| file_open))
            .unwrap_or(ArrivalUnit::Iterations);
        let max_users = opts
            .max_users
            .or(file.max_users.filter(|_| file_open))
            .unwrap_or_else(|| default_max_users(curve.peak()));
        Profile::Arrivals {
            curve,
            unit,
            max_users,
        }
    } else {
        Profile::Users { curve }
    };
    let stop_timeout = opts
        .stop_timeout
        .or(file.stop_timeout)
        .unwrap_or(Duration::ZERO);
    Ok((profile, stop_timeout))
}

/// The users an open model may keep busy when nothing says: twice the peak rate, so tasks of up
/// to two seconds keep up with the rate, and never fewer than 100.
pub fn default_max_users(peak_rate: f64) -> u32 {
    (2.0 * peak_rate).ceil().clamp(100.0, u32::MAX as f64) as u32
}

fn check_options(opts: &LoadOptions) -> Result<(), PlanError> {
    let flag = PlanError::option;
    if let Some(rate) = opts.spawn_rate {
        scalar::rate(rate, false).map_err(|i| flag("--spawn-rate", i))?;
    }
    if let Some(rate) = opts.arrival_rate {
        scalar::rate(rate, false).map_err(|i| flag("--arrival-rate", i))?;
    }
    if opts.run_time == Some(Duration::ZERO) {
        return Err(flag("--run-time", Issue::new("must be longer than zero")));
    }
    if opts.max_users == Some(0) {
        return Err(flag("--max-users", Issue::new("must be at least 1")));
    }
    if let Some(stages) = &opts.stages {
        check_stages(stages).map_err(|i| flag("--stages", i))?;
        for (other, set) in [
            ("--users", opts.users.is_some()),
            ("--spawn-rate", opts.spawn_rate.is_some()),
            ("--arrival-rate", opts.arrival_rate.is_some()),
        ] {
            if set {
                return Err(flag(
                    "--stages",
                    Issue::new(format!("cannot be combined with {other}")),
                ));
            }
        }
    }
    if opts.arrival_rate.is_some() {
        for (other, set) in [
            ("--users", opts.users.is_some()),
            ("--spawn-rate", opts.spawn_rate.is_some()),
        ] {
            if set {
                return Err(flag(
                    "--arrival-rate",
                    Issue::new(format!("cannot be combined with {other}"))
                        .hint("--arrival-rate runs the open model; cap it with --max-users"),
                ));
            }
        }
    }
    Ok(())
}

fn pick_model(file: &LoadSpec, opts: &LoadOptions) -> (Model, Origin) {
    if let Some(stages) = &opts.stages {
        return (Model::Stages(stages.clone()), Origin::Flag("--stages"));
    }
    if let Some(rate) = opts.arrival_rate {
        return (Model::Open { rate }, Origin::Flag("--arrival-rate"));
    }
    let file_closed = file.stages.is_none() && file.arrival_rate.is_none();
    if opts.users.is_some() || opts.spawn_rate.is_some() {
        let users = opts.users.or(file.users.filter(|_| file_closed));
        let spawn_rate = opts.spawn_rate.or(file.spawn_rate.filter(|_| file_closed));
        let origin = match (opts.spawn_rate, file.spawn_rate) {
            (None, Some(_)) if file_closed => Origin::File("spawn_rate"),
            _ => Origin::Flag("--spawn-rate"),
        };
        let model = Model::Closed {
            users: users.unwrap_or(1),
            spawn_rate: spawn_rate.unwrap_or(1.0),
        };
        return (model, origin);
    }
    if let Some(stages) = &file.stages {
        return (Model::Stages(stages.clone()), Origin::File("stages"));
    }
    if let Some(rate) = file.arrival_rate {
        return (Model::Open { rate }, Origin::File("arrival_rate"));
    }
    let model = Model::Closed {
        users: file.users.unwrap_or(1),
        spawn_rate: file.spawn_rate.unwrap_or(1.0),
    };
    (model, Origin::File("spawn_rate"))
}

fn point(at: Duration, value: f64) -> CurvePoint {
    CurvePoint { at, value }
}

/// Locust's ramp: from no users, `spawn_rate` more every second until `users` run.
fn closed_curve(users: u64, spawn_rate: f64, end: Option<Duration>) -> Result<Curve, Issue> {
    if users == 0 {
        return Ok(Curve::constant(0.0, end));
    }
    let ramp = Duration::try_from_secs_f64(users as f64 / spawn_rate).map_err(|_| {
        Issue::new(format!(
            "starting {users} users at {spawn_rate} per second would take too long"
        ))
    })?;
    Ok(Curve {
        points: vec![point(Duration::ZERO, 0.0), point(ramp, users as f64)],
        end,
    })
}

/// Stages ramp linearly from the previous target, starting from `start` at time zero. The run
/// ends at `end` when given (holding the last target past the stages), else with the stages.
fn stages_curve(stages: &[Stage], start: f64, end: Option<Duration>) -> Curve {
    let mut points = vec![point(Duration::ZERO, start)];
    let mut at = Duration::ZERO;
    for stage in stages {
        at = at.saturating_add(stage.duration);
        points.push(point(at, stage.target.value()));
    }
    Curve {
        points,
        end: end.or(Some(at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn parses_stage_flags() {
        let users = parse_stages("30s:100,1m:100,30s:0").unwrap();
        assert_eq!(
            users,
            vec![
                Stage {
                    duration: secs(30),
                    target: StageTarget::Users(100)
                },
                Stage {
                    duration: secs(60),
                    target: StageTarget::Users(100)
                },
                Stage {
                    duration: secs(30),
                    target: StageTarget::Users(0)
                },
            ]
        );
        let rates = parse_stages("30s:100/s, 1m:500/s").unwrap();
        assert_eq!(
            rates[1],
            Stage {
                duration: secs(60),
                target: StageTarget::Rate(500.0)
            }
        );
    }

    #[test]
    fn rejects_bad_stage_flags() {
        let cases = [
            ("", "invalid stage"),
            ("30s", "invalid stage"),
            ("30s:x", "invalid stage target"),
            ("30s:-1", "invalid stage target"),
            ("30s:-1/s", "zero or more"),
            ("30s:100,30s:5/s", "all stages must be one kind"),
            ("0s:10", "no time at all"),
            ("5x:10", "unknown unit"),
        ];
        for (text, want) in cases {
            let err = parse_stages(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn default_cap_on_open_model_users() {
        assert_eq!(default_max_users(10.0), 100);
        assert_eq!(default_max_users(200.0), 400);
        assert_eq!(default_max_users(f64::MAX), u32::MAX);
    }
}
