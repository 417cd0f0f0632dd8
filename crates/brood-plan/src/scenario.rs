//! The scenario file model: host, request defaults, load, thresholds and user types with their
//! tasks, as deserialized from YAML or TOML and checked field by field.
//!
//! The model keeps what the file says (optional fields stay `None`); defaults are applied by
//! `compile()`. A task holds a list of [`Step`]s: requests, think times and picks.
//! How each form of task and step is read lives in `step.rs`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::de::{Deserialize, Deserializer};

use crate::error::{FieldPath, Issue};
use crate::feed::FeedSpec;
use crate::load::LoadSpec;
use crate::plan::{Threshold, Url, Wait};
use crate::request::{self, AuthSpec, RequestSpec};
use crate::response::var_name;
use crate::scalar;
use crate::source::ScenarioSource;
use crate::threshold;

/// A parsed scenario file.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Base for relative request URLs; `--host` overrides it.
    #[serde(default, deserialize_with = "host")]
    pub host: Option<Url>,
    #[serde(default)]
    pub defaults: RequestDefaults,
    #[serde(default)]
    pub load: LoadSpec,
    #[serde(default, deserialize_with = "threshold::thresholds")]
    pub thresholds: Vec<Threshold>,
    pub users: Vec<UserSpec>,
    /// The text the scenario was parsed from, to place errors found after parsing.
    #[serde(skip)]
    pub source: Option<Arc<ScenarioSource>>,
}

/// Settings every request gets unless it sets its own.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestDefaults {
    #[serde(default, deserialize_with = "request::headers")]
    pub headers: Vec<(String, String)>,
    #[serde(default, deserialize_with = "scalar::opt_positive_duration")]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub follow_redirects: Option<bool>,
    #[serde(default)]
    pub decompress: Option<bool>,
    #[serde(default)]
    pub http2: Option<bool>,
    /// Credentials for every request, unless a user type or a request sets its own.
    #[serde(default)]
    pub auth: Option<AuthSpec>,
}

/// A user type: Locust's `User` class.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    #[serde(default)]
    pub name: Option<String>,
    /// Relative share of the users (default 1).
    #[serde(default, deserialize_with = "scalar::opt_count")]
    pub weight: Option<u32>,
    /// Exactly this many users, instead of a weight.
    #[serde(default, deserialize_with = "scalar::opt_count")]
    pub fixed_count: Option<u32>,
    #[serde(default, deserialize_with = "scalar::opt_wait")]
    pub wait: Option<Wait>,
    /// Variables every user starts with; values are plain text.
    #[serde(default, deserialize_with = "vars")]
    pub vars: Vec<(String, String)>,
    #[serde(default)]
    pub feeds: Vec<FeedSpec>,
    /// Credentials for the type's requests, unless a request sets its own.
    #[serde(default)]
    pub auth: Option<AuthSpec>,
    /// Steps each user runs once when it starts (Locust's `on_start`), and when it stops.
    #[serde(default)]
    pub on_start: Vec<Step>,
    #[serde(default)]
    pub on_stop: Vec<Step>,
    pub tasks: Vec<TaskSpec>,
}

/// A task, or a choice of a pick: picked by weight, then its steps run in order.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSpec {
    pub name: Option<String>,
    /// Relative weight among the user type's tasks, or the pick's choices (at least 1).
    pub weight: u32,
    pub tags: Vec<String>,
    /// Never empty.
    pub steps: Vec<Step>,
    /// How the task was written, to point errors at the right field.
    pub layout: TaskLayout,
}

/// One thing a task does.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Request(Box<RequestSpec>),
    /// `think: 1s`: a pause between two steps.
    Think {
        wait: Wait,
        tags: Vec<String>,
    },
    /// `pick: [...]`: one of the choices, by weight, runs its steps.
    Pick {
        choices: Vec<TaskSpec>,
        tags: Vec<String>,
    },
}

impl Step {
    pub fn tags(&self) -> &[String] {
        match self {
            Step::Request(r) => &r.tags,
            Step::Think { tags, .. } | Step::Pick { tags, .. } => tags,
        }
    }
}

/// Which form a task was written in; each puts its steps at a different field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskLayout {
    /// `request: {...}`.
    Request,
    /// `requests: [...]`.
    Requests,
    /// `steps: [...]`.
    Steps,
    /// `pick: [...]`: one pick step, written as the task itself.
    Pick,
    /// The request is the task itself: a method key (`post: /login`) or a url with the
    /// request's fields beside it, or a `"GET /path"` string.
    Inline,
}

impl TaskLayout {
    /// The path of step `index`, relative to the task.
    pub fn step_path(&self, index: usize) -> FieldPath {
        let task = FieldPath::root();
        match self {
            TaskLayout::Request => task.key("request"),
            TaskLayout::Requests => task.key("requests").index(index),
            TaskLayout::Steps => task.key("steps").index(index),
            TaskLayout::Pick | TaskLayout::Inline => task,
        }
    }
}

fn vars<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    let pairs = request::single_pairs(d)?;
    for (name, value) in &pairs {
        var_name(name).map_err(|issue| issue.at_key(name).into_de())?;
        if value.contains("{{") {
            return Err(
                Issue::new("a variable's first value is plain text, not a template")
                    .hint("set it from another value with `extract`, or write the value itself")
                    .at_key(name)
                    .into_de(),
            );
        }
    }
    Ok(pairs)
}

fn host<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    host_from_text(&text).map(Some).map_err(Issue::into_de)
}

/// Checks a host: an absolute http(s) URL, perhaps with a base path, but no query.
pub(crate) fn host_from_text(text: &str) -> Result<Url, Issue> {
    let url = Url::parse(text).map_err(|why| {
        let issue = Issue::new(format!("invalid host {text:?}: {why}"));
        if text.contains("://") {
            issue
        } else {
            issue.hint(format!("add the scheme, e.g. http://{}", text.trim()))
        }
    })?;
    if url.path_and_query.contains('?') {
        return Err(Issue::new(format!("the host {text:?} has a query string"))
            .hint("put query parameters on the requests"));
    }
    Ok(url)
}

impl Scenario {
    /// Checks what no single field can: at least one user type with at least one task, weight or
    /// fixed count but not both, distinct user names, and one load model. Issue paths start at
    /// the document root.
    pub fn check(&self) -> Result<(), Issue> {
        self.load.check().map_err(|issue| issue.at_key("load"))?;
        if self.users.is_empty() {
            return Err(Issue::new("the scenario has no user types")
                .hint("add a user type with at least one task under `users`")
                .at_key("users"));
        }
        let tasks: usize = self.users.iter().map(|u| u.tasks.len()).sum();
        if tasks > MAX_TASKS {
            return Err(Issue::new(format!(
                "the scenario has {tasks} tasks; the most is {MAX_TASKS}"
            ))
            .hint("give one task weights or a pick of requests instead of many copies")
            .at_key("users"));
        }
        let mut names = HashSet::new();
        for (i, user) in self.users.iter().enumerate() {
            let at = |issue: Issue| issue.at_index(i).at_key("users");
            user.check().map_err(at)?;
            if let Some(name) = &user.name {
                if !names.insert(name.as_str()) {
                    return Err(at(
                        Issue::new(format!("two user types are named {name:?}")).at_key("name")
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The most tasks over all user types: each costs memory in every user, and no journey needs
/// more.
pub const MAX_TASKS: usize = 10_000;

impl TaskSpec {
    /// Checks a task (or, with `in_pick`, a pick's choice) on its own. Issue paths start at it.
    pub fn check(&self, in_pick: bool) -> Result<(), Issue> {
        if self.weight == 0 {
            return Err(Issue::new("must be at least 1, found 0").at_key("weight"));
        }
        if !self.steps.iter().any(|s| !matches!(s, Step::Think { .. })) {
            let issue = Issue::new("the task sends no request");
            return Err(if self.steps.is_empty() {
                issue
            } else {
                issue.hint("think steps pause between requests; add a request")
            });
        }
        for (i, step) in self.steps.iter().enumerate() {
            step.check(in_pick)
                .map_err(|issue| issue.under(&self.layout.step_path(i)))?;
        }
        Ok(())
    }
}

impl Step {
    /// Checks a step; `in_pick` says it belongs to a pick's choice, where picks cannot nest.
    pub fn check(&self, in_pick: bool) -> Result<(), Issue> {
        let Step::Pick { choices, .. } = self else {
            return Ok(());
        };
        if in_pick {
            return Err(Issue::new("`pick` cannot be nested inside `pick`")
                .hint("a pick's choices hold requests, think steps and flows; move the inner choices up")
                .at_key("pick"));
        }
        if choices.is_empty() {
            return Err(Issue::new("`pick` is empty").at_key("pick"));
        }
        for (i, choice) in choices.iter().enumerate() {
            choice
                .check(true)
                .map_err(|issue| issue.at_index(i).at_key("pick"))?;
        }
        Ok(())
    }

    /// The path (from the step) of the first tag in or below it.
    fn first_tag(&self) -> Option<FieldPath> {
        if !self.tags().is_empty() {
            return Some(FieldPath::root().key("tags"));
        }
        let Step::Pick { choices, .. } = self else {
            return None;
        };
        choices.iter().enumerate().find_map(|(i, choice)| {
            let at = FieldPath::root().key("pick").index(i);
            if !choice.tags.is_empty() {
                return Some(at.key("tags"));
            }
            choice.steps.iter().enumerate().find_map(|(j, step)| {
                let step_at = at.clone().join(&choice.layout.step_path(j));
                step.first_tag().map(|p| step_at.join(&p))
            })
        })
    }
}

impl UserSpec {
    /// Checks the user type on its own. Deserialization already rejects most of this; the
    /// checks are repeated for scenarios built in code.
    pub fn check(&self) -> Result<(), Issue> {
        if self.tasks.is_empty() {
            return Err(Issue::new("the user type has no tasks").at_key("tasks"));
        }
        if self.weight.is_some() && self.fixed_count.is_some() {
            return Err(Issue::new("`fixed_count` cannot be combined with `weight`")
                .hint("a user type runs a fixed number of users or takes a weighted share")
                .at_key("fixed_count"));
        }
        for (field, value) in [("weight", self.weight), ("fixed_count", self.fixed_count)] {
            if value == Some(0) {
                return Err(Issue::new("must be at least 1, found 0").at_key(field));
            }
        }
        for (i, task) in self.tasks.iter().enumerate() {
            task.check(false)
                .map_err(|issue| issue.at_index(i).at_key("tasks"))?;
        }
        for (i, feed) in self.feeds.iter().enumerate() {
            feed.check()
                .map_err(|issue| issue.at_index(i).at_key("feeds"))?;
        }
        for key in ["on_start", "on_stop"] {
            let steps = if key == "on_start" {
                &self.on_start
            } else {
                &self.on_stop
            };
            for (i, step) in steps.iter().enumerate() {
                step.check(false)
                    .map_err(|issue| issue.at_index(i).at_key(key))?;
                if let Some(path) = step.first_tag() {
                    return Err(Issue::new(format!("tags have no effect in {key}"))
                        .hint(format!(
                            "{key} runs whatever --tags say; tag the tasks instead"
                        ))
                        .under(&path)
                        .at_index(i)
                        .at_key(key));
                }
            }
        }
        Ok(())
    }
}
