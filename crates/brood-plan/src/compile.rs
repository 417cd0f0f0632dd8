//! Compiling a [`Scenario`] and the command-line [`LoadOptions`] into the [`Plan`] the engine runs:
//! URLs resolved against the host, defaults applied, stats entries numbered, load turned into a
//! curve.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::{FieldPath, Issue, PlanError};
use crate::load::{self, Stage};
use crate::plan::{
    ArrivalUnit, Body, EntryName, Plan, RequestPlan, StepPlan, TaskPlan, Threshold, Url,
    UserTypePlan, Wait,
};
use crate::request::{BodySpec, RequestSpec};
use crate::scenario::{host_from_text, Scenario, Step, TaskLayout, TaskSpec, UserSpec};
use crate::source::scenario_error;
use crate::url::{encode_pairs, Space};

/// A request's timeout when neither it nor the defaults set one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// What the command line says about the run. Every `Some` overrides the scenario file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadOptions {
    /// `--host`: base for relative URLs.
    pub host: Option<String>,
    pub users: Option<u64>,
    /// Users started per second.
    pub spawn_rate: Option<f64>,
    pub run_time: Option<Duration>,
    /// `--stages`: replaces the file's load model.
    pub stages: Option<Vec<Stage>>,
    /// `--arrival-rate`: the open model, arrivals per second.
    pub arrival_rate: Option<f64>,
    pub arrival_unit: Option<ArrivalUnit>,
    pub max_users: Option<u32>,
    pub stop_timeout: Option<Duration>,
    /// Added to the file's thresholds.
    pub thresholds: Vec<Threshold>,
    /// Think time for every user type (quick mode has no file to say it).
    pub wait: Option<Wait>,
    pub insecure_tls: bool,
    /// Use HTTP/2 for every request, or for none.
    pub http2: Option<bool>,
}

impl Scenario {
    /// The scenario of quick mode: one user type whose one task GETs `url`. The entry is named
    /// after the URL's path and query.
    pub fn quick(url: &str) -> Result<Scenario, PlanError> {
        let parsed = Url::parse(url).map_err(|why| {
            let issue = Issue::new(format!("invalid URL {url:?}: {why}"));
            let issue = if url.contains("://") {
                issue
            } else {
                issue.hint(format!("add the scheme, e.g. http://{}", url.trim()))
            };
            PlanError::option("URL", issue)
        })?;
        let path = parsed.path_and_query.clone();
        let host = Url {
            path_and_query: "/".to_string(),
            ..parsed
        };
        let mut request = RequestSpec::new("GET", &path);
        request.name = Some(path.clone());
        let task = TaskSpec {
            name: Some(path),
            weight: 1,
            steps: vec![Step::Request(request)],
            layout: TaskLayout::Text,
        };
        Ok(Scenario {
            host: Some(host),
            users: vec![UserSpec {
                name: Some("user".to_string()),
                weight: None,
                fixed_count: None,
                wait: None,
                tasks: vec![task],
            }],
            ..Scenario::default()
        })
    }
}

/// Compiles a scenario with the command line's options into a plan.
pub fn compile(scenario: &Scenario, opts: &LoadOptions) -> Result<Plan, PlanError> {
    let file_error = |issue: Issue| match &scenario.source {
        Some(source) => source.error(issue),
        None => scenario_error(
            "<scenario>",
            None,
            &issue.path.clone(),
            issue.message,
            issue.hint,
        ),
    };
    scenario.check().map_err(file_error)?;
    let host = match &opts.host {
        Some(text) => Some(host_from_text(text).map_err(|i| PlanError::option("--host", i))?),
        None => scenario.host.clone(),
    };
    let (profile, stop_timeout) = load::profile(&scenario.load, opts, &|issue| {
        file_error(issue.at_key("load"))
    })?;
    let mut compiler = Compiler {
        scenario,
        opts,
        host: host.as_ref(),
        entries: Vec::new(),
        entry_index: HashMap::new(),
    };
    let mut user_types = Vec::with_capacity(scenario.users.len());
    for (i, user) in scenario.users.iter().enumerate() {
        let at = FieldPath::root().key("users").index(i);
        user_types.push(compiler.user_type(i, user, &at).map_err(file_error)?);
    }
    let mut thresholds = scenario.thresholds.clone();
    thresholds.extend(opts.thresholds.iter().cloned());
    Ok(Plan {
        user_types,
        entries: compiler.entries,
        profile,
        stop_timeout,
        thresholds,
        insecure_tls: opts.insecure_tls,
    })
}

struct Compiler<'a> {
    scenario: &'a Scenario,
    opts: &'a LoadOptions,
    host: Option<&'a Url>,
    entries: Vec<EntryName>,
    entry_index: HashMap<EntryName, usize>,
}

impl Compiler<'_> {
    fn user_type(
        &mut self,
        index: usize,
        user: &UserSpec,
        at: &FieldPath,
    ) -> Result<UserTypePlan, Issue> {
        let mut tasks = Vec::with_capacity(user.tasks.len());
        for (i, task) in user.tasks.iter().enumerate() {
            let task_at = at.clone().key("tasks").index(i);
            tasks.push(self.task(i, task, &task_at)?);
        }
        let wait = self
            .opts
            .wait
            .clone()
            .or_else(|| user.wait.clone())
            .unwrap_or(Wait::Constant(Duration::ZERO));
        Ok(UserTypePlan {
            name: user.name.clone().unwrap_or_else(|| format!("user {index}")),
            weight: if user.fixed_count.is_some() {
                0
            } else {
                user.weight.unwrap_or(1)
            },
            fixed_count: user.fixed_count,
            wait,
            tasks,
            on_start: Vec::new(),
            on_stop: Vec::new(),
            vars: Vec::new(),
            feeds: Vec::new(),
        })
    }

    fn task(&mut self, index: usize, task: &TaskSpec, at: &FieldPath) -> Result<TaskPlan, Issue> {
        let mut requests = Vec::with_capacity(task.steps.len());
        for (i, step) in task.steps.iter().enumerate() {
            match step {
                Step::Request(spec) => {
                    let url_at = at.clone().join(&task.layout.step_field(i, "url"));
                    requests.push(StepPlan::Request(Box::new(self.request(spec, &url_at)?)));
                }
            }
        }
        Ok(TaskPlan {
            // The index matches the error paths (`tasks[2]` is `task 2`).
            name: task.name.clone().unwrap_or_else(|| format!("task {index}")),
            weight: task.weight,
            steps: requests,
        })
    }

    fn request(&mut self, spec: &RequestSpec, url_at: &FieldPath) -> Result<RequestPlan, Issue> {
        let defaults = &self.scenario.defaults;
        let url = self
            .resolve(&spec.url)
            .map_err(|issue| issue.under(url_at))?;
        let url = url.with_query(&spec.query);
        let mut headers = defaults.headers.clone();
        for (name, value) in &spec.headers {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.clone(), value.clone()));
        }
        let content_type = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone());
        let body = spec
            .body
            .as_ref()
            .map(|body| encode_body(body, content_type));
        let entry = self.entry(&spec.method, spec.entry_name());
        Ok(RequestPlan {
            entry,
            method: spec.method.clone(),
            url,
            headers,
            body,
            timeout: spec.timeout.or(defaults.timeout).unwrap_or(DEFAULT_TIMEOUT),
            follow_redirects: spec
                .follow_redirects
                .or(defaults.follow_redirects)
                .unwrap_or(true),
            decompress: spec.decompress.or(defaults.decompress).unwrap_or(true),
            http2: self
                .opts
                .http2
                .or(spec.http2)
                .or(defaults.http2)
                .unwrap_or(false),
            template: None,
            checks: Vec::new(),
            extract: Vec::new(),
        })
    }

    fn resolve(&self, url: &str) -> Result<Url, Issue> {
        if !url.starts_with('/') {
            return Url::parse(url)
                .map_err(|why| Issue::new(format!("invalid URL {url:?}: {why}")));
        }
        match self.host {
            Some(host) => Ok(host.join(url)),
            None => Err(Issue::new(format!("the relative URL {url:?} needs a host"))
                .hint("set `host` in the scenario or pass --host")),
        }
    }

    /// The index of the (method, name) entry, added on first use.
    fn entry(&mut self, method: &str, name: &str) -> usize {
        let key = EntryName {
            method: method.to_string(),
            name: name.to_string(),
        };
        let next = self.entries.len();
        let index = *self.entry_index.entry(key.clone()).or_insert(next);
        if index == next {
            self.entries.push(key);
        }
        index
    }
}

fn encode_body(body: &BodySpec, content_type: Option<String>) -> Body {
    let (implied, bytes) = match body {
        BodySpec::Text(text) => (None, text.as_bytes().to_vec()),
        BodySpec::Json(value) => (Some("application/json"), value.to_string().into_bytes()),
        BodySpec::Form(pairs) => (
            Some("application/x-www-form-urlencoded"),
            encode_pairs(pairs, Space::Plus).into_bytes(),
        ),
    };
    Body {
        content_type: content_type.or(implied.map(str::to_string)),
        bytes,
    }
}
