//! The plan's user types made ready to run on one engine thread: requests serialized once, checks
//! and extractors compiled, weights as cumulative tables.

use std::rc::Rc;

use brood_plan::{Plan, RequestPlan, StepPlan, TaskPlan, UserTypePlan, Wait};

use crate::checks::{compile_check, compile_extract, needs, Compiled, Extractor};
use crate::client::{Prepared, Want};

#[derive(Debug)]
pub(crate) struct PUser {
    pub name: String,
    pub tasks: Vec<PTask>,
    /// Cumulative task weights, for a binary search.
    pub weights: Vec<u64>,
    pub on_start: Vec<PStep>,
    pub on_stop: Vec<PStep>,
}

#[derive(Debug)]
pub(crate) struct PTask {
    pub name: String,
    pub steps: Vec<PStep>,
}

#[derive(Debug)]
pub(crate) enum PStep {
    Request(Rc<PRequest>),
    Think(Wait),
    Pick {
        weights: Vec<u64>,
        tasks: Vec<PTask>,
    },
}

#[derive(Debug)]
pub(crate) struct PRequest {
    pub plan: RequestPlan,
    /// The request as written, serialized once; sent as is when the plan has no template.
    pub fixed: Prepared,
    pub checks: Vec<Compiled>,
    pub extract: Vec<Extractor>,
    pub want: Want,
    /// `METHOD name`, for exception tracebacks.
    pub label: String,
}

pub(crate) fn prepare(plan: &Plan) -> Result<Vec<PUser>, String> {
    plan.user_types.iter().map(|t| user(plan, t)).collect()
}

fn user(plan: &Plan, t: &UserTypePlan) -> Result<PUser, String> {
    let tasks = t
        .tasks
        .iter()
        .map(|task| prepare_task(plan, task))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PUser {
        name: t.name.clone(),
        weights: cumulative(t.tasks.iter().map(|task| task.weight)),
        tasks,
        on_start: steps(plan, &t.on_start)?,
        on_stop: steps(plan, &t.on_stop)?,
    })
}

fn prepare_task(plan: &Plan, task: &TaskPlan) -> Result<PTask, String> {
    Ok(PTask {
        name: task.name.clone(),
        steps: steps(plan, &task.steps)?,
    })
}

fn steps(plan: &Plan, steps: &[StepPlan]) -> Result<Vec<PStep>, String> {
    steps
        .iter()
        .map(|s| {
            Ok(match s {
                StepPlan::Request(r) => PStep::Request(Rc::new(request(plan, r)?)),
                StepPlan::Think(w) => PStep::Think(w.clone()),
                StepPlan::Pick(tasks) => PStep::Pick {
                    weights: cumulative(tasks.iter().map(|t| t.weight)),
                    tasks: tasks
                        .iter()
                        .map(|t| prepare_task(plan, t))
                        .collect::<Result<_, _>>()?,
                },
            })
        })
        .collect()
}

fn request(plan: &Plan, r: &RequestPlan) -> Result<PRequest, String> {
    let checks = r
        .checks
        .iter()
        .map(compile_check)
        .collect::<Result<Vec<_>, _>>()?;
    let extract = r
        .extract
        .iter()
        .map(compile_extract)
        .collect::<Result<Vec<_>, _>>()?;
    let (body, headers) = needs(&checks, &extract);
    let entry = plan.entries.get(r.entry);
    Ok(PRequest {
        fixed: Prepared::new(r),
        label: entry.map_or_else(|| r.method.clone(), |e| format!("{} {}", e.method, e.name)),
        plan: r.clone(),
        checks,
        extract,
        want: Want { body, headers },
    })
}

fn cumulative(weights: impl Iterator<Item = u32>) -> Vec<u64> {
    weights
        .scan(0u64, |acc, w| {
            *acc += w.max(1) as u64;
            Some(*acc)
        })
        .collect()
}
