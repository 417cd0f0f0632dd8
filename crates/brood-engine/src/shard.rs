//! One engine thread: a current-thread runtime running its share of the users, a scheduler that
//! follows the plan's profile, and a ticker that ships a stats delta every second.
//!
//! Shards share nothing while running: each has its own recorder, connections and timers, so a
//! request never touches a lock or an atomic shared with another core.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use brood_plan::{ArrivalUnit, Curve, Plan, Profile, Segment};
use brood_stats::{Recorder, Snapshot};

use crate::arrivals::time_of_integral;
use crate::client::TlsConfigs;
use crate::control::{Control, RunState, UserCtl};
use crate::feeds::FeedState;
use crate::mix::UserMix;
use crate::shard_state::{Clock, Shard};
use crate::vuser::VUser;
use crate::StartAt;

/// How often the scheduler re-reads the profile and the control state.
const SCHEDULER_TICK: Duration = Duration::from_millis(10);

/// Where this shard sits: the engine's segment and this thread's place among the engine's threads.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Place {
    pub segment: Segment,
    pub index: u64,
    pub count: u64,
}

impl Place {
    /// This thread's part of `n` engine-level things: the ones whose index ≡ `index` (mod `count`).
    fn part(&self, n: u64) -> u64 {
        if n > self.index {
            (n - self.index - 1) / self.count + 1
        } else {
            0
        }
    }
}

pub(crate) struct ShardRun {
    pub plan: Arc<Plan>,
    pub place: Place,
    pub start: StartAt,
    pub control: Arc<Control>,
    pub tls: Arc<TlsConfigs>,
    pub node: String,
    pub added_latency: Duration,
    pub snapshots: Sender<Snapshot>,
}

impl ShardRun {
    /// Runs the shard to completion on the calling thread.
    pub(crate) fn run(self) -> std::io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, self.drive());
        Ok(())
    }

    async fn drive(self) {
        let prepared = match crate::scenario::prepare(&self.plan) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("brood: cannot prepare the scenario: {e}");
                return;
            }
        };
        let shard = Rc::new(Shard {
            users: prepared,
            feeds: self
                .plan
                .user_types
                .iter()
                .map(|t| {
                    t.feeds
                        .iter()
                        .map(|_| FeedState::new(self.place.index, self.place.count))
                        .collect()
                })
                .collect(),
            control: self.control.clone(),
            node: self.node.clone(),
            added_latency: self.added_latency,
            env: RefCell::new(HashMap::new()),
            secrets: RefCell::new(Vec::new()),
            recorder: RefCell::new(Recorder::new(&self.plan.entries)),
            plan: self.plan.clone(),
            tls: self.tls.clone(),
            clock: Clock { start: self.start },
            live: Cell::new(0),
            in_flight: Cell::new(0),
            idle: RefCell::new(vec![Vec::new(); self.plan.user_types.len()]),
        });
        let users = Rc::new(Cell::new(0u64));
        let ticker = tokio::task::spawn_local(tick_stats(
            shard.clone(),
            users.clone(),
            self.start,
            self.snapshots.clone(),
        ));
        let mix = UserMix::new(&self.plan, self.place.segment);
        let mut active = Vec::new();
        match &self.plan.profile {
            Profile::Users { curve } => {
                self.follow_users(&shard, curve, &mix, &mut active, &users)
                    .await
            }
            Profile::Arrivals {
                curve,
                unit,
                max_users,
            } => {
                let per_request = *unit == ArrivalUnit::Requests;
                let cap = self
                    .place
                    .part(self.place.segment.share(*max_users as f64).max(1))
                    .max(1);
                let open = OpenModel {
                    curve,
                    per_request,
                    cap,
                    mix: &mix,
                };
                self.follow_arrivals(&shard, &open, &mut active, &users)
                    .await
            }
        }
        self.wind_down(&shard, &active).await;
        self.control.set_users(self.place.index, 0);
        ticker.abort();
        let now = Instant::now();
        // No await from here on: the requests still in flight are the ones the end cuts off, and
        // none can complete before the last delta says so.
        let mut recorder = shard.recorder.borrow_mut();
        recorder.add_cut_off(shard.in_flight.get());
        let last = recorder.take(users.get(), shard.clock.unix_ms(now));
        drop(recorder);
        let _ = self.snapshots.send(last);
    }

    fn elapsed(&self) -> Duration {
        self.start.instant.elapsed()
    }

    fn ended(&self, curve: &Curve) -> bool {
        self.control.get() != RunState::Running
            || curve.end.is_some_and(|end| self.elapsed() >= end)
    }

    fn seed(&self, user: u64) -> u64 {
        self.start.unix_ms ^ (self.place.index << 48) ^ user.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    async fn follow_users(
        &self,
        shard: &Rc<Shard>,
        curve: &Curve,
        mix: &UserMix,
        active: &mut Vec<Rc<UserCtl>>,
        users: &Cell<u64>,
    ) {
        tokio::time::sleep_until(self.start.instant.into()).await;
        while !self.ended(curve) {
            let mut wanted = self.place.segment.share(curve.value(self.elapsed()));
            if let Some(limit) = mix.limit() {
                wanted = wanted.min(limit);
            }
            let mine = self.place.part(wanted) as usize;
            while active.len() < mine {
                let index = active.len() as u64 * self.place.count + self.place.index;
                let Some(user_type) = mix.type_for(index) else {
                    break;
                };
                let ctl = Rc::new(UserCtl::default());
                let user = VUser::new(shard.clone(), user_type, index, self.seed(index));
                tokio::task::spawn_local(user.run_closed(ctl.clone()));
                active.push(ctl);
            }
            while active.len() > mine {
                if let Some(ctl) = active.pop() {
                    ctl.stop();
                }
            }
            users.set(active.len() as u64);
            self.control
                .set_users(self.place.index, active.len() as u64);
            self.nap().await;
        }
    }

    /// Sleeps one scheduler tick and notes how late the wake-up came.
    async fn nap(&self) {
        let due = Instant::now() + SCHEDULER_TICK;
        tokio::time::sleep_until(due.into()).await;
        self.control.note_lag(
            self.place.index,
            Instant::now().saturating_duration_since(due),
        );
    }

    async fn follow_arrivals(
        &self,
        shard: &Rc<Shard>,
        open: &OpenModel<'_>,
        active: &mut Vec<Rc<UserCtl>>,
        users: &Cell<u64>,
    ) {
        let segment = self.place.segment;
        let width = segment.width();
        // Workers with different segments start their arrival sequences at different phases, so
        // their requests interleave instead of arriving in bursts.
        let phase = segment.start;
        let mut n = self.place.index;
        while !self.ended(open.curve) && width > 0.0 {
            let Some(due_at) = time_of_integral(open.curve, (n as f64 + phase) / width) else {
                self.nap().await;
                continue;
            };
            if open.curve.end.is_some_and(|end| due_at >= end) {
                self.nap().await;
                continue;
            }
            let due = self.start.instant + due_at;
            let now = Instant::now();
            if due > now + Duration::from_millis(1) {
                let nap = due.min(now + SCHEDULER_TICK * 10);
                tokio::time::sleep_until(nap.into()).await;
                let late = Instant::now().saturating_duration_since(nap);
                self.control.note_lag(self.place.index, late);
                continue;
            }
            self.dispatch(shard, open, open.mix.arrival_type(n), due, active);
            users.set(active.len() as u64);
            self.control
                .set_users(self.place.index, active.len() as u64);
            n += self.place.count;
            // Far behind its schedule the dispatcher would loop without an await: the users it
            // hands arrivals to, the ticker and the stop would never run.
            tokio::task::consume_budget().await;
        }
    }

    /// Hands one arrival to an idle user of its type, starts a new one, or counts the arrival as
    /// dropped when `cap` users are busy.
    fn dispatch(
        &self,
        shard: &Rc<Shard>,
        open: &OpenModel<'_>,
        user_type: usize,
        due: Instant,
        active: &mut Vec<Rc<UserCtl>>,
    ) {
        if let Some(ctl) = shard.idle.borrow_mut()[user_type].pop() {
            ctl.give(due);
            return;
        }
        if (active.len() as u64) < open.cap {
            let index = active.len() as u64 * self.place.count + self.place.index;
            let ctl = Rc::new(UserCtl::default());
            ctl.give(due);
            let user = VUser::new(shard.clone(), user_type, index, self.seed(index));
            tokio::task::spawn_local(user.run_open(ctl.clone(), open.per_request));
            active.push(ctl);
            return;
        }
        shard.recorder.borrow_mut().add_dropped_arrivals(1);
    }

    /// Tells every user to stop after its current task and waits up to the stop timeout; whatever is
    /// still running after that is cut off when the runtime is dropped.
    async fn wind_down(&self, shard: &Rc<Shard>, active: &[Rc<UserCtl>]) {
        for ctl in active {
            ctl.stop();
        }
        let deadline = Instant::now() + self.plan.stop_timeout;
        while shard.live.get() > 0
            && self.control.get() != RunState::Aborting
            && Instant::now() < deadline
        {
            let nap = deadline.min(Instant::now() + SCHEDULER_TICK);
            tokio::time::sleep_until(nap.into()).await;
        }
    }
}

struct OpenModel<'a> {
    curve: &'a Curve,
    per_request: bool,
    cap: u64,
    mix: &'a UserMix,
}

/// Sends the shard's stats delta once a second, on whole seconds since the start.
async fn tick_stats(shard: Rc<Shard>, users: Rc<Cell<u64>>, start: StartAt, tx: Sender<Snapshot>) {
    let mut next = start.instant + Duration::from_secs(1);
    loop {
        tokio::time::sleep_until(next.into()).await;
        let delta = shard
            .recorder
            .borrow_mut()
            .take(users.get(), shard.clock.unix_ms(next));
        if tx.send(delta).is_err() {
            return;
        }
        next += Duration::from_secs(1);
    }
}
