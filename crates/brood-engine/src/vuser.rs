//! The virtual user: one loop that picks tasks, runs their steps (requests, think time, weighted
//! picks), checks and extracts, records the outcomes and waits.
//!
//! Every load model runs this same user. The closed model lets it loop with think time; the open model
//! hands it arrivals one at a time and measures from each arrival's intended time.

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use brood_plan::{Auth, Body, BodyTemplate, FeedScope, RequestTemplate, Url, Wait};
use brood_stats::Outcome;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::checks::{extract, failure, Seen};
use crate::client::{Client, Prepared, Response};
use crate::control::{RunState, UserCtl};
use crate::feeds::Take;
use crate::render::{component, render, render_string, Escape, RenderCtx};
use crate::scenario::{PRequest, PStep, PTask};
use crate::shard_state::Shard;

/// Counts live users; the count drops when the user's task ends, however it ends.
struct Alive(Rc<Shard>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.live.set(self.0.live.get() - 1);
    }
}

/// Counts a request in flight from its send to its answer (or its error); one dropped with the
/// runtime at the end was cut off, and the shard has counted it by then.
struct InFlight<'a>(&'a Shard);

impl<'a> InFlight<'a> {
    fn start(shard: &'a Shard) -> InFlight<'a> {
        shard.in_flight.set(shard.in_flight.get() + 1);
        InFlight(shard)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0
            .in_flight
            .set(self.0.in_flight.get().saturating_sub(1));
    }
}

/// What the rest of a task does after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Next,
    /// The scenario failed (an exception): skip the rest of the task.
    EndTask,
    /// The user must stop (told to, or its feed ran dry).
    StopUser,
}

pub(crate) struct VUser {
    shard: Rc<Shard>,
    user_type: usize,
    user_id: u64,
    client: Client,
    rng: SmallRng,
    vars: HashMap<String, String>,
    iteration: u64,
    /// Where the current step is, for exception tracebacks.
    task_name: String,
    /// The open model's per-request arrivals: the requests left in the current task.
    pending: VecDeque<Rc<PRequest>>,
}

impl VUser {
    pub(crate) fn new(shard: Rc<Shard>, user_type: usize, user_id: u64, seed: u64) -> VUser {
        shard.live.set(shard.live.get() + 1);
        let vars = shard.plan.user_types[user_type]
            .vars
            .iter()
            .cloned()
            .collect();
        VUser {
            client: Client::new(shard.tls.clone(), shard.plan.max_body),
            rng: SmallRng::seed_from_u64(seed),
            user_type,
            user_id,
            shard,
            vars,
            iteration: 0,
            task_name: String::new(),
            pending: VecDeque::new(),
        }
    }

    /// The closed model: on_start, then tasks and think time until told to stop, then on_stop.
    pub(crate) async fn run_closed(mut self, ctl: Rc<UserCtl>) {
        let _alive = Alive(self.shard.clone());
        if self.start().await == Flow::StopUser {
            return;
        }
        while !ctl.stop.get() {
            // A task that ends before any await (an exception before its first request, with
            // no think time) would otherwise loop forever and starve the shard: its scheduler
            // could never tell it to stop. The budget yields only once it is used up.
            tokio::task::consume_budget().await;
            let started = Instant::now();
            let task = self.pick_task();
            if self.begin_iteration() == Flow::StopUser {
                break;
            }
            let shard = self.shard.clone();
            let flow = self
                .run_steps(&shard.users[self.user_type].tasks[task], None)
                .await;
            if flow == Flow::StopUser {
                break;
            }
            let wait = self.wait_after(started.elapsed());
            if !wait.is_zero() && !ctl.stop.get() {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = ctl.wake.notified() => {}
                }
            }
        }
        self.finish().await;
    }

    /// The open model: one arrival at a time, each a whole task or a single request.
    pub(crate) async fn run_open(mut self, ctl: Rc<UserCtl>, per_request: bool) {
        let _alive = Alive(self.shard.clone());
        if self.start().await == Flow::StopUser {
            return;
        }
        loop {
            let intended = loop {
                if ctl.stop.get() {
                    self.finish().await;
                    return;
                }
                if let Some(t) = ctl.arrival.take() {
                    break t;
                }
                ctl.wake.notified().await;
            };
            let flow = if per_request {
                self.next_request(&ctl, intended).await
            } else {
                let task = self.pick_task();
                match self.begin_iteration() {
                    Flow::StopUser => Flow::StopUser,
                    _ => {
                        let shard = self.shard.clone();
                        let task = &shard.users[self.user_type].tasks[task];
                        self.run_steps(task, Some(intended)).await
                    }
                }
            };
            if flow == Flow::StopUser {
                self.finish().await;
                return;
            }
            self.shard.idle.borrow_mut()[self.user_type].push(ctl.clone());
        }
    }

    async fn start(&mut self) -> Flow {
        if self.take_feeds(FeedScope::User) == Flow::StopUser {
            return Flow::StopUser;
        }
        let shard = self.shard.clone();
        let on_start = &shard.users[self.user_type].on_start;
        if on_start.is_empty() {
            return Flow::Next;
        }
        self.task_name = "on_start".into();
        match self.run_leaves(on_start, None).await {
            Flow::StopUser => Flow::StopUser,
            _ => Flow::Next,
        }
    }

    async fn finish(&mut self) {
        let shard = self.shard.clone();
        let on_stop = &shard.users[self.user_type].on_stop;
        if !on_stop.is_empty() {
            self.task_name = "on_stop".into();
            // Stopping is already under way: think steps in on_stop must not wait for a wake-up.
            let _ = self.run_leaves(on_stop, None).await;
        }
    }

    fn begin_iteration(&mut self) -> Flow {
        self.iteration += 1;
        self.take_feeds(FeedScope::Iteration)
    }

    /// Takes a row from each feed of the given scope into the variables.
    fn take_feeds(&mut self, scope: FeedScope) -> Flow {
        let shard = self.shard.clone();
        let feeds = &shard.plan.user_types[self.user_type].feeds;
        for (i, feed) in feeds.iter().enumerate() {
            if feed.per != scope {
                continue;
            }
            match shard.feeds[self.user_type][i].take(feed, &mut self.rng) {
                Take::Row(row) => {
                    for (column, value) in feed.columns.iter().zip(&feed.rows[row]) {
                        self.vars.insert(column.clone(), value.clone());
                    }
                }
                Take::StopUser => return Flow::StopUser,
                Take::StopRun => {
                    shard.control.raise(RunState::Stopping);
                    return Flow::StopUser;
                }
            }
        }
        Flow::Next
    }

    fn pick_task(&mut self) -> usize {
        let weights = &self.shard.users[self.user_type].weights;
        pick(weights, &mut self.rng)
    }

    /// Runs a task's steps in order; a `Pick` runs one of its sub-tasks.
    async fn run_steps(&mut self, task: &PTask, intended: Option<Instant>) -> Flow {
        self.task_name.clone_from(&task.name);
        self.run_leaves(&task.steps, intended).await
    }

    async fn run_leaves(&mut self, steps: &[PStep], mut intended: Option<Instant>) -> Flow {
        for step in steps {
            let flow = match step {
                PStep::Request(r) => self.send(r, intended.take()).await,
                PStep::Think(wait) => self.think(wait).await,
                PStep::Pick { weights, tasks } => {
                    let sub = &tasks[pick(weights, &mut self.rng)];
                    let mut flow = Flow::Next;
                    for leaf in &sub.steps {
                        flow = match leaf {
                            PStep::Request(r) => self.send(r, intended.take()).await,
                            PStep::Think(wait) => self.think(wait).await,
                            // The plan allows one level of nesting; deeper picks never reach here.
                            PStep::Pick { .. } => Flow::Next,
                        };
                        if flow != Flow::Next {
                            break;
                        }
                    }
                    flow
                }
            };
            if flow != Flow::Next {
                return flow;
            }
        }
        Flow::Next
    }

    /// The open model's per-request arrivals: the next request of the current task, or of a new one.
    async fn next_request(&mut self, ctl: &UserCtl, intended: Instant) -> Flow {
        if self.pending.is_empty() {
            let task = self.pick_task();
            if self.begin_iteration() == Flow::StopUser {
                return Flow::StopUser;
            }
            let shard = self.shard.clone();
            let task = &shard.users[self.user_type].tasks[task];
            self.task_name.clone_from(&task.name);
            for step in &task.steps {
                match step {
                    PStep::Request(r) => self.pending.push_back(r.clone()),
                    PStep::Think(_) => {}
                    PStep::Pick { weights, tasks } => {
                        let sub = &tasks[pick(weights, &mut self.rng)];
                        for leaf in &sub.steps {
                            if let PStep::Request(r) = leaf {
                                self.pending.push_back(r.clone());
                            }
                        }
                    }
                }
            }
        }
        let Some(request) = self.pending.pop_front() else {
            return Flow::Next;
        };
        let flow = self.send(&request, Some(intended)).await;
        if flow == Flow::EndTask {
            self.pending.clear();
        }
        if ctl.stop.get() {
            return Flow::StopUser;
        }
        Flow::Next
    }

    /// Think time inside a task. A stop request does not cut it short: the task finishes within the
    /// stop timeout, as Locust lets a stopping user finish its task.
    async fn think(&mut self, wait: &Wait) -> Flow {
        let pause = self.wait_for(wait, Duration::ZERO);
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        Flow::Next
    }

    fn wait_after(&mut self, task_took: Duration) -> Duration {
        let wait = self.shard.plan.user_types[self.user_type].wait.clone();
        self.wait_for(&wait, task_took)
    }

    fn wait_for(&mut self, wait: &Wait, task_took: Duration) -> Duration {
        match wait {
            Wait::Constant(d) => *d,
            Wait::Between(lo, hi) => {
                let span = hi.saturating_sub(*lo);
                *lo + span.mul_f64(self.rng.random::<f64>())
            }
            Wait::ConstantPacing(d) => d.saturating_sub(task_took),
            Wait::ConstantThroughput(per_second) if *per_second > 0.0 => {
                Duration::from_secs_f64(1.0 / per_second).saturating_sub(task_took)
            }
            Wait::ConstantThroughput(_) => Duration::ZERO,
        }
    }

    /// Sends one request, judges it, extracts from it and records it. `intended` is the open
    /// model's scheduled start: latency is measured from it, so a stalled target shows in the
    /// figures (coordinated omission corrected).
    async fn send(&mut self, request: &PRequest, intended: Option<Instant>) -> Flow {
        let shard = self.shard.clone();
        let rendered;
        let prepared: &Prepared = match &request.plan.template {
            None => &request.fixed,
            Some(template) => match self.render(request, template) {
                Ok(p) => {
                    rendered = p;
                    &rendered
                }
                Err(message) => {
                    self.exception(request, &message);
                    return Flow::EndTask;
                }
            },
        };
        let started = intended.unwrap_or_else(Instant::now);
        if !shard.added_latency.is_zero() {
            tokio::time::sleep(shard.added_latency).await;
        }
        let flight = InFlight::start(&shard);
        let result = self.client.send(prepared, request.want).await;
        drop(flight);
        let ended = Instant::now();
        let elapsed = ended.saturating_duration_since(started);
        let now_ms = shard.clock.unix_ms(ended);
        let entry = request.plan.entry;
        let mut flow = Flow::Next;
        match result {
            Ok(response) => {
                let seen = Seen::new(&response, elapsed);
                let error = failure(&request.checks, &seen);
                let error = error.as_deref().map(|e| shard.redact(e));
                record(&shard, entry, elapsed, &response, error.as_deref(), now_ms);
                for extractor in &request.extract {
                    let client = &self.client;
                    match extract(extractor, &seen, |name| {
                        client.cookie(name).map(str::to_string)
                    }) {
                        Ok(value) => {
                            self.vars.insert(extractor.var.clone(), value);
                        }
                        Err(message) => {
                            self.exception(request, &message);
                            flow = Flow::EndTask;
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                let reason = e.to_string();
                let reason = shard.redact(&reason);
                let outcome = Outcome {
                    elapsed_us: elapsed.as_micros() as u64,
                    error: Some(&reason),
                    ..Outcome::default()
                };
                shard.recorder.borrow_mut().record(entry, &outcome, now_ms);
            }
        }
        flow
    }

    fn exception(&self, request: &PRequest, message: &str) {
        let shard = &self.shard;
        let traceback = format!(
            "user type {:?}, task {:?}, request {}",
            shard.users[self.user_type].name, self.task_name, request.label
        );
        let now_ms = shard.clock.unix_ms(Instant::now());
        let message = shard.redact(message);
        let traceback = shard.redact(&traceback);
        shard
            .recorder
            .borrow_mut()
            .record_exception(&message, &traceback, &shard.node, now_ms);
    }

    /// Fills a templated request for this user.
    fn render(&mut self, request: &PRequest, t: &RequestTemplate) -> Result<Prepared, String> {
        let shard = self.shard.clone();
        let env = |name: &str| shard.env(name);
        let mut ctx = RenderCtx {
            vars: &self.vars,
            env: &env,
            user_id: self.user_id,
            iteration: self.iteration,
            now_ms: shard.clock.unix_ms(Instant::now()),
            rng: &mut self.rng,
        };
        let plan = &request.plan;
        let url = url(&plan.url, t, &mut ctx)?;
        let templated = |name: &str| t.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        let mut headers: Vec<(String, String)> = plan
            .headers
            .iter()
            .filter(|(n, _)| {
                let replaced_by_auth = t.auth.is_some() && n.eq_ignore_ascii_case("authorization");
                !(templated(n) || replaced_by_auth)
            })
            .cloned()
            .collect();
        for (name, value) in &t.headers {
            headers.push((
                name.clone(),
                render_string(value, Escape::Header, &mut ctx)?,
            ));
        }
        if let Some(auth) = &t.auth {
            headers.push(("Authorization".into(), authorization(auth, &mut ctx)?));
        }
        let body = match &t.body {
            None => plan.body.clone(),
            Some(b) => Some(body(b, &mut ctx)?),
        };
        Ok(Prepared::build(url, headers, body, plan))
    }
}

fn record(
    shard: &Shard,
    entry: usize,
    elapsed: Duration,
    response: &Response,
    error: Option<&str>,
    now_ms: u64,
) {
    let outcome = Outcome {
        elapsed_us: elapsed.as_micros() as u64,
        content_bytes: response.content_bytes,
        connect_us: response.connect_us,
        tls_us: response.tls_us,
        ttfb_us: response.ttfb_us,
        error,
    };
    shard.recorder.borrow_mut().record(entry, &outcome, now_ms);
}

fn pick(cumulative: &[u64], rng: &mut SmallRng) -> usize {
    if cumulative.len() <= 1 {
        return 0;
    }
    let total = *cumulative.last().unwrap_or(&1);
    let x = rng.random_range(0..total);
    cumulative.partition_point(|&c| c <= x)
}

fn url(base: &Url, t: &RequestTemplate, ctx: &mut RenderCtx<'_>) -> Result<Url, String> {
    let text = render_string(&t.url, Escape::Path, ctx)?;
    let mut url = if text.starts_with("http://") || text.starts_with("https://") {
        Url::parse(&text).map_err(|e| format!("rendered URL {text:?} is invalid: {e}"))?
    } else {
        let path = if text.starts_with('/') {
            text
        } else {
            format!("/{text}")
        };
        Url {
            path_and_query: path,
            ..base.clone()
        }
    };
    for (key, value) in &t.query {
        let sep = if url.path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        url.path_and_query.push(sep);
        url.path_and_query.push_str(&component(key, false));
        url.path_and_query.push('=');
        render(value, Escape::Component, ctx, &mut url.path_and_query)?;
    }
    Ok(url)
}

fn authorization(auth: &Auth, ctx: &mut RenderCtx<'_>) -> Result<String, String> {
    Ok(match auth {
        Auth::Bearer(token) => format!("Bearer {}", render_string(token, Escape::Header, ctx)?),
        Auth::Basic { username, password } => {
            let user = render_string(username, Escape::None, ctx)?;
            let pass = render_string(password, Escape::None, ctx)?;
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            format!("Basic {encoded}")
        }
    })
}

fn body(b: &BodyTemplate, ctx: &mut RenderCtx<'_>) -> Result<Body, String> {
    Ok(match b {
        BodyTemplate::Raw {
            content_type,
            template,
        } => Body {
            content_type: content_type.clone(),
            bytes: render_string(template, Escape::None, ctx)?.into_bytes(),
        },
        BodyTemplate::Json(template) => Body {
            content_type: Some("application/json".into()),
            bytes: render_string(template, Escape::Json, ctx)?.into_bytes(),
        },
        BodyTemplate::Form(pairs) => {
            let mut text = String::new();
            for (i, (key, value)) in pairs.iter().enumerate() {
                if i > 0 {
                    text.push('&');
                }
                text.push_str(&component(key, true));
                text.push('=');
                render(value, Escape::Form, ctx, &mut text)?;
            }
            Body {
                content_type: Some("application/x-www-form-urlencoded".into()),
                bytes: text.into_bytes(),
            }
        }
    })
}
