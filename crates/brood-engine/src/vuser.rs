//! The virtual user: one loop that picks tasks, sends their requests, records the outcomes and waits.
//!
//! Every load model runs this same user. The closed model lets it loop with think time; the open model
//! hands it arrivals one at a time and measures from each arrival's intended time.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use brood_plan::Wait;
use brood_stats::Outcome;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Notify;

use crate::client::{Client, Prepared};
use crate::shard::Shard;

/// How the scheduler talks to one user.
#[derive(Debug, Default)]
pub(crate) struct UserCtl {
    stop: Cell<bool>,
    /// Set by the open model's dispatcher: the intended start of the next arrival.
    arrival: Cell<Option<Instant>>,
    wake: Notify,
}

impl UserCtl {
    pub(crate) fn stop(&self) {
        self.stop.set(true);
        self.wake.notify_one();
    }

    pub(crate) fn give(&self, intended: Instant) {
        self.arrival.set(Some(intended));
        self.wake.notify_one();
    }
}

/// Counts live users; the count drops when the user's task ends, however it ends.
struct Alive(Rc<Shard>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.live.set(self.0.live.get() - 1);
    }
}

pub(crate) struct VUser {
    shard: Rc<Shard>,
    user_type: usize,
    client: Client,
    rng: SmallRng,
    /// The open model's per-request arrivals walk through a task: (task, next request).
    cursor: Option<(usize, usize)>,
}

impl VUser {
    pub(crate) fn new(shard: Rc<Shard>, user_type: usize, seed: u64) -> VUser {
        shard.live.set(shard.live.get() + 1);
        VUser {
            client: Client::new(shard.tls.clone()),
            rng: SmallRng::seed_from_u64(seed),
            user_type,
            shard,
            cursor: None,
        }
    }

    /// The closed model: tasks and think time until told to stop.
    pub(crate) async fn run_closed(mut self, ctl: Rc<UserCtl>) {
        let _alive = Alive(self.shard.clone());
        while !ctl.stop.get() {
            let started = Instant::now();
            let task = self.pick_task();
            let len = self.shard.prepared[self.user_type][task].len();
            for request in 0..len {
                self.send(task, request, None).await;
            }
            let wait = self.wait_after(started.elapsed());
            if !wait.is_zero() && !ctl.stop.get() {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = ctl.wake.notified() => {}
                }
            }
        }
    }

    /// The open model: one arrival at a time, each a whole task or a single request.
    pub(crate) async fn run_open(mut self, ctl: Rc<UserCtl>, per_request: bool) {
        let _alive = Alive(self.shard.clone());
        loop {
            let intended = loop {
                if ctl.stop.get() {
                    return;
                }
                if let Some(t) = ctl.arrival.take() {
                    break t;
                }
                ctl.wake.notified().await;
            };
            if per_request {
                let (task, request) = match self.cursor {
                    Some(c) => c,
                    None => (self.pick_task(), 0),
                };
                self.send(task, request, Some(intended)).await;
                let len = self.shard.prepared[self.user_type][task].len();
                self.cursor = (request + 1 < len).then_some((task, request + 1));
            } else {
                let task = self.pick_task();
                let len = self.shard.prepared[self.user_type][task].len();
                for request in 0..len {
                    self.send(task, request, (request == 0).then_some(intended))
                        .await;
                }
            }
            self.shard.idle.borrow_mut()[self.user_type].push(ctl.clone());
        }
    }

    fn pick_task(&mut self) -> usize {
        let weights = &self.shard.task_weights[self.user_type];
        let total = *weights.last().unwrap_or(&1);
        if weights.len() == 1 {
            return 0;
        }
        let x = self.rng.random_range(0..total);
        weights.partition_point(|&cumulative| cumulative <= x)
    }

    fn wait_after(&mut self, task_took: Duration) -> Duration {
        match &self.shard.plan.user_types[self.user_type].wait {
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

    /// Sends one request and records it. `intended` is the open model's scheduled start: latency is
    /// measured from it, so a stalled target shows in the figures (coordinated omission corrected).
    async fn send(&mut self, task: usize, request: usize, intended: Option<Instant>) {
        let shard = self.shard.clone();
        let prepared: &Prepared = &shard.prepared[self.user_type][task][request];
        let started = intended.unwrap_or_else(Instant::now);
        let result = self.client.send(prepared, false).await;
        let ended = Instant::now();
        let elapsed_us = ended.saturating_duration_since(started).as_micros() as u64;
        let now_ms = shard.clock.unix_ms(ended);
        let entry = shard.plan.user_types[self.user_type].tasks[task].requests[request].entry;
        let mut recorder = shard.recorder.borrow_mut();
        match result {
            Ok(response) => {
                let status_error;
                let error = if response.status < 400 {
                    None
                } else {
                    status_error = format!("HTTP {} {}", response.status, response.reason);
                    Some(status_error.as_str())
                };
                let outcome = Outcome {
                    elapsed_us,
                    content_bytes: response.content_bytes,
                    connect_us: response.connect_us,
                    tls_us: response.tls_us,
                    ttfb_us: response.ttfb_us,
                    error,
                };
                recorder.record(entry, &outcome, now_ms);
            }
            Err(e) => {
                let reason = e.to_string();
                let outcome = Outcome {
                    elapsed_us,
                    content_bytes: 0,
                    connect_us: None,
                    tls_us: None,
                    ttfb_us: None,
                    error: Some(&reason),
                };
                recorder.record(entry, &outcome, now_ms);
            }
        }
    }
}
