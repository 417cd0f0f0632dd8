//! Reading tasks, pick choices, steps and requests. All of them are tables drawn from one set of
//! keys (a request's fields, `think`, `pick`, `steps`, ...), so one field list serves them all
//! and a misspelt key gets the closest known key as a hint wherever it is; which keys a context
//! accepts is checked after reading.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer};

use crate::error::Issue;
use crate::plan::{Check, Extract, Wait};
use crate::request::{self, AuthSpec, BodySpec, RequestLayout, RequestSpec};
use crate::response;
use crate::scalar;
use crate::scenario::{Step, TaskLayout, TaskSpec};

/// The method keys of the shorthand forms.
const METHOD_KEYS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

const TASK_HINT: &str =
    "give `request`, `requests`, `steps`, `pick`, or a method key such as `get: /path`";
const STEP_HINT: &str = "a step is a request (e.g. `get: /path`), `think: 1s`, or `pick: [...]`";

/// Every key a task, a pick choice, a step or a request table may have.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "scalar::opt_count")]
    weight: Option<u32>,
    #[serde(default, deserialize_with = "tags")]
    tags: Vec<String>,
    #[serde(default)]
    request: Option<RequestSpec>,
    #[serde(default)]
    requests: Option<Vec<Step>>,
    #[serde(default)]
    steps: Option<Vec<Step>>,
    #[serde(default)]
    pick: Option<Vec<Choice>>,
    #[serde(default, deserialize_with = "request::opt_method")]
    method: Option<String>,
    #[serde(default, deserialize_with = "opt_url")]
    url: Option<String>,
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
    #[serde(default, deserialize_with = "request::json")]
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
    #[serde(default, deserialize_with = "response::opt_checks")]
    check: Option<Vec<Check>>,
    #[serde(default, deserialize_with = "response::opt_extract")]
    extract: Option<Vec<Extract>>,
    #[serde(default)]
    auth: Option<AuthSpec>,
    #[serde(default, deserialize_with = "think")]
    think: Option<Wait>,
}

fn opt_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    request::url(d).map(Some)
}

/// Tags: one word each (no spaces or commas, since `--tags` is a comma-separated list).
fn tags<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let tags = match OneOrMany::deserialize(d)? {
        OneOrMany::One(tag) => vec![tag],
        OneOrMany::Many(tags) => tags,
    };
    for tag in &tags {
        if tag.is_empty() || tag.contains(|c: char| c.is_whitespace() || c == ',') {
            return Err(Issue::new(format!("invalid tag {tag:?}"))
                .hint("a tag is one word without spaces or commas, e.g. checkout")
                .into_de());
        }
    }
    Ok(tags)
}

/// Think time: a pause, so `1s`, `1s..3s` or `between(1s, 3s)`.
fn think<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Wait>, D::Error> {
    match scalar::opt_wait(d)? {
        Some(Wait::ConstantPacing(_) | Wait::ConstantThroughput(_)) => {
            Err(Issue::new("think time is a pause, not a pace")
                .hint("use 1s, 1s..3s or between(1s, 3s)")
                .into_de())
        }
        other => Ok(other),
    }
}

/// The request fields set in the table, in field order.
const REQUEST_FIELDS: [&str; 14] = [
    "method",
    "headers",
    "query",
    "body",
    "json",
    "form",
    "timeout",
    "follow_redirects",
    "decompress",
    "http2",
    "check",
    "extract",
    "auth",
    "think",
];

impl Fields {
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

    /// The forms written: `request`, `requests`, `steps`, `pick`, method keys and `url`.
    fn forms(&self) -> Vec<&'static str> {
        let mut forms: Vec<&str> = [
            ("request", self.request.is_some()),
            ("requests", self.requests.is_some()),
            ("steps", self.steps.is_some()),
            ("pick", self.pick.is_some()),
        ]
        .iter()
        .filter(|f| f.1)
        .map(|f| f.0)
        .collect();
        forms.extend(self.method_keys().iter().map(|(key, _)| *key));
        if self.url.is_some() {
            forms.push("url");
        }
        forms
    }

    fn request_fields(&self) -> Vec<&'static str> {
        let set = [
            self.method.is_some(),
            !self.headers.is_empty(),
            !self.query.is_empty(),
            self.body.is_some(),
            self.json.is_some(),
            self.form.is_some(),
            self.timeout.is_some(),
            self.follow_redirects.is_some(),
            self.decompress.is_some(),
            self.http2.is_some(),
            self.check.is_some(),
            self.extract.is_some(),
            self.auth.is_some(),
            self.think.is_some(),
        ];
        REQUEST_FIELDS
            .iter()
            .zip(set)
            .filter(|(_, on)| *on)
            .map(|(field, _)| *field)
            .collect()
    }

    /// The one form written, or the issue with none or several.
    fn one_form(&self, none: Issue) -> Result<&'static str, Issue> {
        match self.forms().as_slice() {
            [] => Err(none),
            [one] => Ok(one),
            [first, second, ..] => Err(Issue::new(format!(
                "`{second}` cannot be combined with `{first}`"
            ))
            .hint(TASK_HINT)
            .at_key(second)),
        }
    }

    /// A task, or with `in_pick` a pick's choice.
    fn into_task(self, in_pick: bool) -> Result<TaskSpec, Issue> {
        let what = if in_pick { "choice" } else { "task" };
        let form =
            self.one_form(Issue::new(format!("the {what} sends no request")).hint(TASK_HINT))?;
        let (name, weight, tags) = (
            self.name.clone(),
            self.weight.unwrap_or(1),
            self.tags.clone(),
        );
        let inside = match form {
            "request" => "request",
            "requests" => "each of requests",
            "steps" => "each of steps",
            "pick" => "each choice of pick",
            _ => "",
        };
        if !inside.is_empty() {
            if let Some(field) = self.request_fields().first() {
                return Err(Issue::new(format!("`{field}` belongs inside {inside}")).at_key(field));
            }
        }
        let (steps, layout) = match form {
            "request" => (
                vec![Step::Request(Box::new(
                    self.request.unwrap_or_else(|| RequestSpec::new("GET", "/")),
                ))],
                TaskLayout::Request,
            ),
            "requests" | "steps" => {
                let steps = if form == "requests" {
                    self.requests
                } else {
                    self.steps
                };
                let steps = steps.unwrap_or_default();
                if steps.is_empty() {
                    return Err(Issue::new(format!("`{form}` is empty")).at_key(form));
                }
                let layout = if form == "requests" {
                    TaskLayout::Requests
                } else {
                    TaskLayout::Steps
                };
                (steps, layout)
            }
            "pick" => {
                let choices = self.pick.unwrap_or_default();
                let pick = Step::Pick {
                    choices: choices.into_iter().map(|c| c.0).collect(),
                    tags: Vec::new(),
                };
                (vec![pick], TaskLayout::Pick)
            }
            _ => {
                // The request is the task itself; its tags are the task's.
                let mut fields = self;
                fields.tags = Vec::new();
                fields.weight = None;
                (
                    vec![Step::Request(Box::new(fields.into_request()?))],
                    TaskLayout::Inline,
                )
            }
        };
        let task = TaskSpec {
            name,
            weight,
            tags,
            steps,
            layout,
        };
        task.check(in_pick)?;
        Ok(task)
    }

    fn into_step(self) -> Result<Step, Issue> {
        if self.weight.is_some() {
            return Err(Issue::new("`weight` belongs to a task or a pick's choice")
                .hint("steps of a flow run in order; use `pick` for weighted choices")
                .at_key("weight"));
        }
        let forms = self.forms();
        if let Some(nested) = forms
            .iter()
            .find(|f| matches!(**f, "request" | "requests" | "steps"))
        {
            return Err(
                Issue::new(format!("`{nested}` cannot be used inside a step"))
                    .hint(STEP_HINT)
                    .at_key(nested),
            );
        }
        if self.pick.is_some() {
            let others = self.request_fields();
            let stray = others
                .first()
                .copied()
                .or(self.name.as_ref().map(|_| "name"))
                .or(forms.iter().find(|f| **f != "pick").copied());
            if let Some(field) = stray {
                return Err(
                    Issue::new(format!("`{field}` cannot be combined with `pick`"))
                        .hint(
                            "a pick step has only `pick` and `tags`; its choices hold the requests",
                        )
                        .at_key(field),
                );
            }
            let step = Step::Pick {
                choices: self
                    .pick
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| c.0)
                    .collect(),
                tags: self.tags,
            };
            step.check(false)?;
            return Ok(step);
        }
        if forms.is_empty() {
            let think_alone = self.request_fields() == ["think"] && self.name.is_none();
            return match self.think {
                Some(wait) if think_alone => Ok(Step::Think {
                    wait,
                    tags: self.tags,
                }),
                _ => Err(Issue::new("the step sends no request").hint(STEP_HINT)),
            };
        }
        let mut fields = self;
        let tags = std::mem::take(&mut fields.tags);
        let mut request = fields.into_request()?;
        request.tags = tags;
        Ok(Step::Request(Box::new(request)))
    }

    fn into_request(self) -> Result<RequestSpec, Issue> {
        if !self.tags.is_empty() {
            return Err(
                Issue::new("tags belong to the task or step, not to `request`").at_key("tags"),
            );
        }
        if self.weight.is_some() {
            return Err(Issue::new("`weight` belongs to the task").at_key("weight"));
        }
        let form = self.one_form(
            Issue::new("the request has no URL")
                .hint("give `url: /path` or a method key such as `get: /path`"),
        )?;
        if matches!(form, "request" | "requests" | "steps" | "pick") {
            return Err(
                Issue::new(format!("`{form}` cannot be used inside a request"))
                    .hint("a request is {method, url, ...} or a method key such as `get: /path`")
                    .at_key(form),
            );
        }
        let (method, url, layout) = match self.method_keys().first() {
            Some((key, url)) => {
                if self.method.is_some() {
                    return Err(
                        Issue::new(format!("`method` cannot be combined with `{key}`"))
                            .hint(format!("the key `{key}` already says the method"))
                            .at_key("method"),
                    );
                }
                let url = url.to_string();
                (
                    key.to_ascii_uppercase(),
                    url,
                    RequestLayout::MethodKey(key.to_string()),
                )
            }
            None => (
                self.method.clone().unwrap_or_else(|| "GET".to_string()),
                self.url.clone().unwrap_or_default(),
                RequestLayout::Table,
            ),
        };
        let body = match (self.body, self.json, self.form) {
            (None, None, None) => None,
            (Some(text), None, None) => Some(BodySpec::Text(text)),
            (None, Some(json), None) => Some(BodySpec::Json(json)),
            (None, None, Some(form)) => Some(BodySpec::Form(form)),
            (_, json, _) => {
                let second = if json.is_some() { "json" } else { "form" };
                return Err(
                    Issue::new("a request has one body: `body`, `json` or `form`")
                        .hint("keep one of them")
                        .at_key(second),
                );
            }
        };
        Ok(RequestSpec {
            method,
            url,
            name: self.name,
            headers: self.headers,
            query: self.query,
            body,
            timeout: self.timeout,
            follow_redirects: self.follow_redirects,
            decompress: self.decompress,
            http2: self.http2,
            checks: self.check.unwrap_or_default(),
            extract: self.extract.unwrap_or_default(),
            auth: self.auth,
            think: self.think,
            tags: Vec::new(),
            layout,
        })
    }
}

fn read_fields<'de, A: de::MapAccess<'de>>(map: A) -> Result<Fields, A::Error> {
    Fields::deserialize(de::value::MapAccessDeserializer::new(map))
}

/// What a table (or a `"GET /path"` string) is read as.
#[derive(Clone, Copy)]
enum Kind {
    Task,
    Choice,
    Step,
    Request,
}

enum Read {
    Task(TaskSpec),
    Step(Step),
    Request(Box<RequestSpec>),
}

struct Visitor(Kind);

impl<'de> de::Visitor<'de> for Visitor {
    type Value = Read;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Kind::Task | Kind::Choice => {
                "a task: {name, weight, request | requests | steps | pick | get: /path} or \"GET /path\""
            }
            Kind::Step => "a step: \"GET /path\", {get: /path, ...}, {think: 1s} or {pick: [...]}",
            Kind::Request => "a request: \"GET /path\" or {method: GET, url: /path}",
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Read, E> {
        let spec = request::shorthand(v).map_err(Issue::into_de)?;
        Ok(match self.0 {
            Kind::Task | Kind::Choice => Read::Task(TaskSpec {
                name: None,
                weight: 1,
                tags: Vec::new(),
                steps: vec![Step::Request(Box::new(spec))],
                layout: TaskLayout::Inline,
            }),
            Kind::Step => Read::Step(Step::Request(Box::new(spec))),
            Kind::Request => Read::Request(Box::new(spec)),
        })
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Read, A::Error> {
        let fields = read_fields(map)?;
        let read = match self.0 {
            Kind::Task => fields.into_task(false).map(Read::Task),
            Kind::Choice => fields.into_task(true).map(Read::Task),
            Kind::Step => fields.into_step().map(Read::Step),
            Kind::Request => fields.into_request().map(|r| Read::Request(Box::new(r))),
        };
        read.map_err(Issue::into_de)
    }
}

impl<'de> Deserialize<'de> for TaskSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TaskSpec, D::Error> {
        match d.deserialize_any(Visitor(Kind::Task))? {
            Read::Task(task) => Ok(task),
            _ => Err(de::Error::custom("expected a task")),
        }
    }
}

/// A pick's choice: a task in which picks cannot nest.
struct Choice(TaskSpec);

impl<'de> Deserialize<'de> for Choice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Choice, D::Error> {
        match d.deserialize_any(Visitor(Kind::Choice))? {
            Read::Task(task) => Ok(Choice(task)),
            _ => Err(de::Error::custom("expected a choice")),
        }
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Step, D::Error> {
        match d.deserialize_any(Visitor(Kind::Step))? {
            Read::Step(step) => Ok(step),
            _ => Err(de::Error::custom("expected a step")),
        }
    }
}

impl<'de> Deserialize<'de> for RequestSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RequestSpec, D::Error> {
        match d.deserialize_any(Visitor(Kind::Request))? {
            Read::Request(request) => Ok(*request),
            _ => Err(de::Error::custom("expected a request")),
        }
    }
}
