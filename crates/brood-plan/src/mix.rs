//! Walking a plan's requests, and the share of requests each stats entry should get.

use crate::plan::{EntryName, Plan, RequestPlan, StepPlan, UserTypePlan};

impl StepPlan {
    /// Calls `f` on every request of `steps` in order, those inside picks included.
    pub fn each_request<'a>(steps: &'a [StepPlan], f: &mut dyn FnMut(&'a RequestPlan)) {
        for step in steps {
            match step {
                StepPlan::Request(request) => f(request),
                StepPlan::Think(_) => {}
                StepPlan::Pick(choices) => {
                    for choice in choices {
                        StepPlan::each_request(&choice.steps, f);
                    }
                }
            }
        }
    }

    fn each_request_mut(steps: &mut [StepPlan], f: &mut dyn FnMut(&mut RequestPlan)) {
        for step in steps {
            match step {
                StepPlan::Request(request) => f(request),
                StepPlan::Think(_) => {}
                StepPlan::Pick(choices) => {
                    for choice in choices {
                        StepPlan::each_request_mut(&mut choice.steps, f);
                    }
                }
            }
        }
    }
}

impl UserTypePlan {
    /// Every request of the type: `on_start`, the tasks, then `on_stop`.
    pub fn requests(&self) -> Vec<&RequestPlan> {
        let mut out = Vec::new();
        StepPlan::each_request(&self.on_start, &mut |r| out.push(r));
        for task in &self.tasks {
            StepPlan::each_request(&task.steps, &mut |r| out.push(r));
        }
        StepPlan::each_request(&self.on_stop, &mut |r| out.push(r));
        out
    }

    /// The type's share of the load: its weight, or its user count when it has a fixed count.
    fn share(&self) -> f64 {
        f64::from(self.fixed_count.unwrap_or(self.weight))
    }
}

impl Plan {
    /// Every request of every user type, in plan order.
    pub fn requests(&self) -> Vec<&RequestPlan> {
        self.user_types.iter().flat_map(|t| t.requests()).collect()
    }

    /// Drops the entries no request uses (those of tasks the tags left out) and renumbers the
    /// rest, keeping their order.
    pub(crate) fn drop_unused_entries(&mut self) {
        let mut used = vec![false; self.entries.len()];
        for request in self.requests() {
            used[request.entry] = true;
        }
        let mut new_index = Vec::with_capacity(used.len());
        let mut next = 0;
        for &u in &used {
            new_index.push(next);
            next += usize::from(u);
        }
        let mut renumber = |r: &mut RequestPlan| r.entry = new_index[r.entry];
        for user in &mut self.user_types {
            StepPlan::each_request_mut(&mut user.on_start, &mut renumber);
            StepPlan::each_request_mut(&mut user.on_stop, &mut renumber);
            for task in &mut user.tasks {
                StepPlan::each_request_mut(&mut task.steps, &mut renumber);
            }
        }
        let mut keep = used.into_iter();
        self.entries.retain(|_| keep.next().unwrap_or(false));
    }

    /// The fraction of all requests each entry should get, in the order of [`Plan::entries`],
    /// adding up to 1.
    ///
    /// It assumes every user of every type runs tasks at the same rate, so a type's share of
    /// requests is its share of users (its weight, or its count for a `fixed_count` type, over
    /// the sum of these) times the requests one of its tasks sends on average, picks weighed
    /// in. Think and wait times, response times and `on_start`/`on_stop` are left out: entries
    /// used only there get 0.
    pub fn expected_mix(&self) -> Vec<(EntryName, f64)> {
        let mut per_entry = vec![0.0; self.entries.len()];
        let total_share: f64 = self.user_types.iter().map(UserTypePlan::share).sum();
        for user in &self.user_types {
            let task_total: f64 = user.tasks.iter().map(|t| f64::from(t.weight)).sum();
            if total_share <= 0.0 || task_total <= 0.0 {
                continue;
            }
            for task in &user.tasks {
                let p = user.share() / total_share * f64::from(task.weight) / task_total;
                add_requests(&task.steps, p, &mut per_entry);
            }
        }
        let total: f64 = per_entry.iter().sum();
        self.entries
            .iter()
            .zip(per_entry)
            .map(|(entry, n)| (entry.clone(), if total > 0.0 { n / total } else { 0.0 }))
            .collect()
    }
}

/// Adds `p` (the chance the steps run) for each request of `steps` to its entry.
fn add_requests(steps: &[StepPlan], p: f64, per_entry: &mut [f64]) {
    for step in steps {
        match step {
            StepPlan::Request(r) => {
                if let Some(n) = per_entry.get_mut(r.entry) {
                    *n += p;
                }
            }
            StepPlan::Think(_) => {}
            StepPlan::Pick(choices) => {
                let total: f64 = choices.iter().map(|c| f64::from(c.weight)).sum();
                for choice in choices {
                    if total > 0.0 {
                        add_requests(
                            &choice.steps,
                            p * f64::from(choice.weight) / total,
                            per_entry,
                        );
                    }
                }
            }
        }
    }
}
