//! What every user of a shard reads: the plan prepared for this thread, its feeds, recorder, clock
//! and connections' TLS settings, and the users waiting for an arrival.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use brood_plan::Plan;
use brood_stats::Recorder;

use crate::client::TlsConfigs;
use crate::control::{Control, UserCtl};
use crate::feeds::FeedState;
use crate::scenario::PUser;
use crate::StartAt;

/// Wall-clock milliseconds for a monotonic instant, anchored at the run's start.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    pub start: StartAt,
}

impl Clock {
    pub(crate) fn unix_ms(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.start.instant).as_millis() as u64;
        self.start.unix_ms + since
    }
}

/// What every user of a shard reads.
pub(crate) struct Shard {
    pub plan: Arc<Plan>,
    /// The plan's user types, ready to run on this thread.
    pub users: Vec<PUser>,
    /// `[user type][feed]`.
    pub feeds: Vec<Vec<FeedState>>,
    pub control: Arc<Control>,
    /// This process's name in exception reports.
    pub node: String,
    pub added_latency: Duration,
    /// Environment variables read by templates, looked up once each; read through [`Shard::env`].
    pub env: RefCell<HashMap<String, Option<String>>>,
    pub tls: Arc<TlsConfigs>,
    pub recorder: RefCell<Recorder>,
    pub clock: Clock,
    /// Users whose task is still running.
    pub live: Cell<usize>,
    /// Open model: users waiting for an arrival, per user type.
    pub idle: RefCell<Vec<Vec<Rc<UserCtl>>>>,
}

impl Shard {
    pub(crate) fn env(&self, name: &str) -> Option<String> {
        self.env
            .borrow_mut()
            .entry(name.to_string())
            .or_insert_with(|| std::env::var(name).ok())
            .clone()
    }
}
