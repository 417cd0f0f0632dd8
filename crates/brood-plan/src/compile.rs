//! Compiling a [`Scenario`] and the command-line [`LoadOptions`] into the [`Plan`] the engine runs:
//! URLs resolved against the host, defaults applied, variables checked, tags applied, stats
//! entries numbered, load turned into a curve.
//!
//! Tags are applied while compiling: everything in the file is compiled (so a file is valid or
//! not whatever the flags), and what the tags leave out is then not put in the plan. Stats
//! entries used only by what was left out are dropped at the end.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use crate::error::{scenario_error, FieldPath, Issue, PlanError};
use crate::load;
use crate::options::LoadOptions;
use crate::plan::{
    EntryName, FeedExhausted, FeedPlan, Plan, StepPlan, TaskPlan, Threshold, Url, UserTypePlan,
    Wait,
};
use crate::request::RequestSpec;
use crate::request_plan::{self, Context, Scope};
use crate::scenario::{host_from_text, Scenario, Step, TaskLayout, TaskSpec, UserSpec};

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
            tags: Vec::new(),
            steps: vec![Step::Request(Box::new(request))],
            layout: TaskLayout::Inline,
        };
        Ok(Scenario {
            host: Some(host),
            users: vec![UserSpec {
                name: Some("user".to_string()),
                weight: None,
                fixed_count: None,
                wait: None,
                vars: Vec::new(),
                feeds: Vec::new(),
                auth: None,
                on_start: Vec::new(),
                on_stop: Vec::new(),
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
        if let Some(plan) = compiler.user_type(i, user, &at).map_err(file_error)? {
            user_types.push(plan);
        }
    }
    if user_types.is_empty() {
        return Err(nothing_left(scenario, opts));
    }
    let mut thresholds = scenario.thresholds.clone();
    thresholds.extend(opts.thresholds.iter().cloned());
    let mut plan = Plan {
        user_types,
        entries: compiler.entries,
        profile,
        stop_timeout,
        thresholds,
        insecure_tls: opts.insecure_tls,
        max_body: opts.max_body.unwrap_or(crate::plan::DEFAULT_MAX_BODY),
    };
    plan.drop_unused_entries();
    let from_file = scenario.thresholds.len();
    for (i, threshold) in plan.thresholds.iter().enumerate() {
        if let Some(issue) = unknown_entry(threshold, &plan.entries) {
            return Err(match i.checked_sub(from_file) {
                None => file_error(issue.at_index(i).at_key("thresholds")),
                Some(_) => PlanError::option("--threshold", issue),
            });
        }
    }
    Ok(plan)
}

/// A threshold on an entry the plan has no request for would be judged on nothing, after the
/// whole run: refused before it, with the entries there are.
fn unknown_entry(threshold: &Threshold, entries: &[EntryName]) -> Option<Issue> {
    let selector = threshold.entry.as_ref()?;
    let matches = |e: &&EntryName| {
        e.name == selector.name
            && selector
                .method
                .as_ref()
                .is_none_or(|m| m.eq_ignore_ascii_case(&e.method))
    };
    if entries.iter().any(|e| matches(&e)) {
        return None;
    }
    let known: Vec<String> = entries
        .iter()
        .map(|e| format!("{} {}", e.method, e.name))
        .collect();
    let wanted = match &selector.method {
        Some(method) => format!("{method} {}", selector.name),
        None => selector.name.clone(),
    };
    Some(
        Issue::new(format!(
            "`{}` names the entry `{wanted}`, which no request of the scenario makes",
            threshold.source
        ))
        .hint(format!(
            "the entries are {} (an entry is a request's `name:`, else its path)",
            known.join(", ")
        )),
    )
}

/// The error when the tags leave no task, naming the flag that did it.
fn nothing_left(scenario: &Scenario, opts: &LoadOptions) -> PlanError {
    let mut tags = BTreeSet::new();
    for user in &scenario.users {
        for task in &user.tasks {
            collect_tags(task, &mut tags);
        }
    }
    let known = if tags.is_empty() {
        "the scenario has no tags".to_string()
    } else {
        format!(
            "the scenario's tags: {}",
            tags.into_iter().collect::<Vec<_>>().join(", ")
        )
    };
    let (flag, message) = if opts.tags.is_empty() {
        ("--exclude-tags", "every task is excluded".to_string())
    } else {
        (
            "--tags",
            format!("no task is left to run with tags {}", opts.tags.join(",")),
        )
    };
    PlanError::option(flag, Issue::new(message).hint(known))
}

fn collect_tags<'a>(task: &'a TaskSpec, out: &mut BTreeSet<&'a str>) {
    out.extend(task.tags.iter().map(String::as_str));
    for step in &task.steps {
        out.extend(step.tags().iter().map(String::as_str));
        if let Step::Pick { choices, .. } = step {
            for choice in choices {
                collect_tags(choice, out);
            }
        }
    }
}

/// `--tags` and `--exclude-tags`.
struct Tags<'a> {
    include: &'a [String],
    exclude: &'a [String],
}

impl Tags<'_> {
    fn excluded(&self, tags: &[String]) -> bool {
        tags.iter().any(|t| self.exclude.contains(t))
    }

    /// Whether something with `tags` passes `--tags` by itself (always, without the flag).
    fn included(&self, tags: &[String]) -> bool {
        self.include.is_empty() || tags.iter().any(|t| self.include.contains(t))
    }
}

struct Compiler<'a> {
    scenario: &'a Scenario,
    opts: &'a LoadOptions,
    host: Option<&'a Url>,
    entries: Vec<EntryName>,
    entry_index: HashMap<EntryName, usize>,
}

impl<'a> Compiler<'a> {
    /// The user type's plan, or `None` when the tags leave it no task.
    fn user_type(
        &mut self,
        index: usize,
        user: &UserSpec,
        at: &FieldPath,
    ) -> Result<Option<UserTypePlan>, Issue> {
        let (scope, feeds) = scope(user, at)?;
        let ctx = Context {
            host: self.host,
            defaults: &self.scenario.defaults,
            http2: self.opts.http2,
            scope: &scope,
            user_auth: user.auth.as_ref().map(|a| (a, at.clone().key("auth"))),
        };
        let on_start = self.steps(
            &ctx,
            &user.on_start,
            &|i| at.clone().key("on_start").index(i),
            true,
        )?;
        let on_stop = self.steps(
            &ctx,
            &user.on_stop,
            &|i| at.clone().key("on_stop").index(i),
            true,
        )?;
        let mut tasks = Vec::with_capacity(user.tasks.len());
        for (i, task) in user.tasks.iter().enumerate() {
            let task_at = at.clone().key("tasks").index(i);
            // The default name matches the error paths (`tasks[2]` is `task 2`).
            if let Some(plan) = self.task(&ctx, task, &task_at, &format!("task {i}"), false)? {
                tasks.push(plan);
            }
        }
        if tasks.is_empty() {
            return Ok(None);
        }
        let wait = self
            .opts
            .wait
            .clone()
            .or_else(|| user.wait.clone())
            .unwrap_or(Wait::Constant(Duration::ZERO));
        Ok(Some(UserTypePlan {
            name: user.name.clone().unwrap_or_else(|| format!("user {index}")),
            weight: if user.fixed_count.is_some() {
                0
            } else {
                user.weight.unwrap_or(1)
            },
            fixed_count: user.fixed_count,
            wait,
            tasks,
            on_start,
            on_stop,
            vars: user.vars.clone(),
            feeds,
        }))
    }

    /// A task or a pick's choice, or `None` when the tags leave out all its requests.
    /// `inherited` says an enclosing task or pick passed `--tags` already.
    fn task(
        &mut self,
        ctx: &Context<'_>,
        task: &TaskSpec,
        at: &FieldPath,
        default_name: &str,
        inherited: bool,
    ) -> Result<Option<TaskPlan>, Issue> {
        let tags = self.tags();
        let excluded = tags.excluded(&task.tags);
        let inherited = inherited || tags.included(&task.tags);
        let steps = self.steps(
            ctx,
            &task.steps,
            &|i| at.clone().join(&task.layout.step_path(i)),
            inherited,
        )?;
        let sends = steps
            .iter()
            .any(|s| matches!(s, StepPlan::Request(_) | StepPlan::Pick(_)));
        if excluded || !sends {
            return Ok(None);
        }
        Ok(Some(TaskPlan {
            name: task
                .name
                .clone()
                .unwrap_or_else(|| default_name.to_string()),
            weight: task.weight,
            steps,
        }))
    }

    fn tags(&self) -> Tags<'a> {
        let opts: &'a LoadOptions = self.opts;
        Tags {
            include: &opts.tags,
            exclude: &opts.exclude_tags,
        }
    }

    /// Compiles a list of steps; `path` gives each step's path. With `inherited`, the list's
    /// task or pick passed `--tags`, so only `--exclude-tags` can leave steps out.
    fn steps(
        &mut self,
        ctx: &Context<'_>,
        steps: &[Step],
        path: &dyn Fn(usize) -> FieldPath,
        inherited: bool,
    ) -> Result<Vec<StepPlan>, Issue> {
        let tags = self.tags();
        let keep = |step_tags: &[String]| {
            !tags.excluded(step_tags) && (inherited || tags.included(step_tags))
        };
        let mut out = Vec::with_capacity(steps.len());
        for (i, step) in steps.iter().enumerate() {
            let at = path(i);
            match step {
                Step::Request(spec) => {
                    let request = self.request(ctx, spec, &at)?;
                    if keep(&spec.tags) {
                        out.push(StepPlan::Request(Box::new(request)));
                        out.extend(spec.think.clone().map(StepPlan::Think));
                    }
                }
                // An untagged pause stays with the requests around it.
                Step::Think { wait, tags: own } => {
                    if own.is_empty() || keep(own) {
                        out.push(StepPlan::Think(wait.clone()));
                    }
                }
                Step::Pick { choices, tags: own } => {
                    let inherited = inherited || (!tags.include.is_empty() && tags.included(own));
                    let mut kept = Vec::with_capacity(choices.len());
                    for (k, choice) in choices.iter().enumerate() {
                        let choice_at = at.clone().key("pick").index(k);
                        let name = format!("choice {k}");
                        if let Some(plan) = self.task(ctx, choice, &choice_at, &name, inherited)? {
                            kept.push(plan);
                        }
                    }
                    if !kept.is_empty() && !tags.excluded(own) {
                        out.push(StepPlan::Pick(kept));
                    }
                }
            }
        }
        Ok(out)
    }

    fn request(
        &mut self,
        ctx: &Context<'_>,
        spec: &RequestSpec,
        at: &FieldPath,
    ) -> Result<crate::plan::RequestPlan, Issue> {
        let entry = self.entry(&spec.method, spec.entry_name());
        request_plan::build(ctx, spec, at, entry)
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

/// The variables of a user type, and its feeds as the plan carries them.
fn scope(user: &UserSpec, at: &FieldPath) -> Result<(Scope, Vec<FeedPlan>), Issue> {
    let mut scope = Scope::default();
    let mut set_by: HashMap<String, String> = HashMap::new();
    for (name, _) in &user.vars {
        set_by.insert(name.clone(), "`vars`".to_string());
    }
    let mut feeds = Vec::with_capacity(user.feeds.len());
    for (i, feed) in user.feeds.iter().enumerate() {
        let file_at = at.clone().key("feeds").index(i).key("file");
        let Some(table) = &feed.table else {
            return Err(Issue::new(format!("the feed file {:?} has not been read", feed.file))
                .hint("load the scenario with load_scenario, which reads feed files next to it (or call Scenario::read_feeds)")
                .under(&file_at));
        };
        for column in &table.columns {
            if let Some(other) = set_by.insert(column.clone(), format!("{:?}", feed.file)) {
                return Err(Issue::new(format!(
                    "column {column:?} of {:?} is also set by {other}",
                    feed.file
                ))
                .hint("give each variable one source")
                .under(&file_at));
            }
        }
        feeds.push(FeedPlan {
            name: feed.file.clone(),
            columns: table.columns.clone(),
            rows: table.rows.clone(),
            order: feed.order,
            per: feed.per,
            when_exhausted: feed.when_exhausted.unwrap_or(FeedExhausted::Recycle),
        });
    }
    scope.preset = set_by.keys().cloned().collect();
    let mut lists: Vec<&[Step]> = vec![&user.on_start, &user.on_stop];
    for task in &user.tasks {
        lists.push(&task.steps);
    }
    while let Some(steps) = lists.pop() {
        for step in steps {
            match step {
                Step::Request(spec) => {
                    for extract in &spec.extract {
                        *scope.extracted.entry(extract.var.clone()).or_default() += 1;
                    }
                }
                Step::Pick { choices, .. } => {
                    lists.extend(choices.iter().map(|c| c.steps.as_slice()))
                }
                Step::Think { .. } => {}
            }
        }
    }
    scope.defined = scope
        .preset
        .iter()
        .chain(scope.extracted.keys())
        .cloned()
        .collect();
    Ok((scope, feeds))
}
