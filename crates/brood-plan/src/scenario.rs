//! The scenario file model: host, request defaults, load, thresholds and user types with their
//! tasks, as deserialized from YAML or TOML and checked field by field.
//!
//! The model keeps what the file says (optional fields stay `None`); defaults are applied by
//! [`crate::compile()`]. Tasks hold a list of [`Step`]s so that later kinds of step (checks,
//! extraction, flows) are new variants rather than a new model.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer};

use crate::error::{FieldPath, Issue};
use crate::load::LoadSpec;
use crate::plan::{Threshold, Url, Wait};
use crate::request::{self, RequestFields, RequestSpec};
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
    pub tasks: Vec<TaskSpec>,
}

/// A task: picked by weight, then its steps run in order.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSpec {
    pub name: Option<String>,
    /// Relative weight among the user type's tasks (at least 1).
    pub weight: u32,
    /// Never empty.
    pub steps: Vec<Step>,
    /// How the task was written, to point errors at the right field.
    pub layout: TaskLayout,
}

/// One thing a task does.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Request(RequestSpec),
}

/// Which form a task was written in; each puts its requests at a different field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskLayout {
    /// `request: {...}`.
    Request,
    /// `requests: [...]`.
    Requests,
    /// A method key (`post: /login`) with the request's fields beside it.
    MethodKey(String),
    /// The whole task is a `"GET /path"` string.
    Text,
}

impl TaskLayout {
    /// The path of `field` of step `index`, relative to the task.
    pub fn step_field(&self, index: usize, field: &str) -> FieldPath {
        let task = FieldPath::root();
        match self {
            TaskLayout::Request => task.key("request").key(field),
            TaskLayout::Requests => task.key("requests").index(index).key(field),
            TaskLayout::MethodKey(key) if field == "url" || field == "method" => task.key(key),
            TaskLayout::MethodKey(_) => task.key(field),
            TaskLayout::Text => task,
        }
    }
}

/// The method keys of the shorthand task form.
const METHOD_KEYS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

/// Every field a task table may have: its own, a method key, and (with a method key) the
/// request's fields.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskFields {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "scalar::opt_count")]
    weight: Option<u32>,
    #[serde(default)]
    request: Option<RequestSpec>,
    #[serde(default)]
    requests: Option<Vec<RequestSpec>>,
    #[serde(default, deserialize_with = "opt_url")]
    get: Option<String>,
    #[serde(default, deserialize_with = "opt_url")]
    post: Option<String>,
    #[serde(default, deserialize_with = "opt_url")]
    put: Option<String>,
    #[serde(default, deserialize_with = "opt_url")]
    patch: Option<String>,
    #[serde(default, deserialize_with = "opt_url")]
    delete: Option<String>,
    #[serde(default, deserialize_with = "opt_url")]
    head: Option<String>,
    #[serde(default, deserialize_with = "opt_url")]
    options: Option<String>,
    #[serde(default, deserialize_with = "request::headers")]
    headers: Vec<(String, String)>,
    #[serde(default, deserialize_with = "request::pairs")]
    query: Vec<(String, String)>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default, deserialize_with = "opt_json")]
    json: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "request::opt_pairs")]
    form: Option<Vec<(String, String)>>,
    #[serde(default, deserialize_with = "scalar::opt_positive_duration")]
    timeout: Option<Duration>,
    #[serde(default)]
    follow_redirects: Option<bool>,
    #[serde(default)]
    decompress: Option<bool>,
    #[serde(default)]
    http2: Option<bool>,
}

fn opt_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    request::url(d).map(Some)
}

fn opt_json<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

impl TaskFields {
    fn method_keys(&self) -> Vec<(&'static str, &str)> {
        let values = [
            &self.get,
            &self.post,
            &self.put,
            &self.patch,
            &self.delete,
            &self.head,
            &self.options,
        ];
        METHOD_KEYS
            .iter()
            .zip(values)
            .filter_map(|(key, url)| url.as_deref().map(|url| (*key, url)))
            .collect()
    }

    /// The request fields set beside `request`/`requests`, where they do not belong.
    fn stray_request_field(&self) -> Option<&'static str> {
        let set = [
            ("headers", !self.headers.is_empty()),
            ("query", !self.query.is_empty()),
            ("body", self.body.is_some()),
            ("json", self.json.is_some()),
            ("form", self.form.is_some()),
            ("timeout", self.timeout.is_some()),
            ("follow_redirects", self.follow_redirects.is_some()),
            ("decompress", self.decompress.is_some()),
            ("http2", self.http2.is_some()),
        ];
        set.iter().find(|(_, on)| *on).map(|(field, _)| *field)
    }

    fn into_task(self) -> Result<TaskSpec, Issue> {
        let forms = [
            ("request", self.request.is_some()),
            ("requests", self.requests.is_some()),
        ];
        let keys = self.method_keys();
        let mut written: Vec<&str> = forms.iter().filter(|f| f.1).map(|f| f.0).collect();
        written.extend(keys.iter().map(|(key, _)| *key));
        let form_hint = "give `request`, `requests`, or a method key such as `get: /path`";
        match written.as_slice() {
            [] => return Err(Issue::new("the task sends no request").hint(form_hint)),
            [_] => {}
            [_, second, ..] => {
                return Err(Issue::new(format!(
                    "`{second}` cannot be combined with `{}`",
                    written[0]
                ))
                .hint(form_hint)
                .at_key(second));
            }
        }
        let weight = self.weight.unwrap_or(1);
        let name = self.name.clone();
        if keys.is_empty() {
            if let Some(field) = self.stray_request_field() {
                let inside = if self.request.is_some() {
                    "request"
                } else {
                    "each of requests"
                };
                return Err(Issue::new(format!("`{field}` belongs inside {inside}")).at_key(field));
            }
        }
        let (steps, layout) = if let Some(spec) = self.request {
            (vec![spec], TaskLayout::Request)
        } else if let Some(specs) = self.requests {
            if specs.is_empty() {
                return Err(Issue::new("`requests` is empty").at_key("requests"));
            }
            (specs, TaskLayout::Requests)
        } else {
            let (key, url) = keys[0];
            let key = key.to_string();
            let url = url.to_string();
            let spec = self.shorthand_fields(&key, url).into_spec()?;
            (vec![spec], TaskLayout::MethodKey(key))
        };
        Ok(TaskSpec {
            name,
            weight,
            steps: steps.into_iter().map(Step::Request).collect(),
            layout,
        })
    }

    fn shorthand_fields(self, method: &str, url: String) -> RequestFields {
        RequestFields {
            method: Some(method.to_ascii_uppercase()),
            url,
            // The shorthand's one name serves as the task name and the stats entry name.
            name: self.name,
            headers: self.headers,
            query: self.query,
            body: self.body,
            json: self.json,
            form: self.form,
            timeout: self.timeout,
            follow_redirects: self.follow_redirects,
            decompress: self.decompress,
            http2: self.http2,
        }
    }
}

struct TaskVisitor;

impl<'de> de::Visitor<'de> for TaskVisitor {
    type Value = TaskSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a task: {name, weight, request | requests | get: /path} or \"GET /path\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<TaskSpec, E> {
        let spec = request::shorthand(v).map_err(Issue::into_de)?;
        Ok(TaskSpec {
            name: None,
            weight: 1,
            steps: vec![Step::Request(spec)],
            layout: TaskLayout::Text,
        })
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<TaskSpec, A::Error> {
        TaskFields::deserialize(de::value::MapAccessDeserializer::new(map))?
            .into_task()
            .map_err(Issue::into_de)
    }
}

impl<'de> Deserialize<'de> for TaskSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TaskSpec, D::Error> {
        d.deserialize_any(TaskVisitor)
    }
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
            let at = |issue: Issue| issue.at_index(i).at_key("tasks");
            if task.weight == 0 {
                return Err(at(
                    Issue::new("must be at least 1, found 0").at_key("weight")
                ));
            }
            if task.steps.is_empty() {
                return Err(at(Issue::new("the task sends no request")));
            }
        }
        Ok(())
    }
}
