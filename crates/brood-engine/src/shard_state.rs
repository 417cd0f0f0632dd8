//! What every user of a shard reads: the plan prepared for this thread, its feeds, recorder, clock
//! and connections' TLS settings, and the users waiting for an arrival.

use std::borrow::Cow;
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
use crate::render;
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
    /// Every spelling of those values, longest first, with the template that stands for it.
    pub secrets: RefCell<Vec<(String, String)>>,
    pub tls: Arc<TlsConfigs>,
    pub recorder: RefCell<Recorder>,
    pub clock: Clock,
    /// Users whose task is still running.
    pub live: Cell<usize>,
    /// Requests sent and not yet answered: those left when the run ends are cut off.
    pub in_flight: Cell<u64>,
    /// Open model: users waiting for an arrival, per user type.
    pub idle: RefCell<Vec<Vec<Rc<UserCtl>>>>,
}

impl Shard {
    pub(crate) fn env(&self, name: &str) -> Option<String> {
        if let Some(value) = self.env.borrow().get(name) {
            return value.clone();
        }
        let value = std::env::var(name).ok();
        if let Some(v) = value.as_deref().filter(|v| v.len() >= MIN_REDACTED) {
            let mark = format!("{{{{env.{name}}}}}");
            let mut secrets = self.secrets.borrow_mut();
            secrets.extend(render::spellings(v).into_iter().map(|s| (s, mark.clone())));
            secrets.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        }
        self.env
            .borrow_mut()
            .insert(name.to_string(), value.clone());
        value
    }

    /// `text` with every environment value a template has read, in any spelling a request or a
    /// message gives it, shown as its template `{{env.NAME}}`: failure reasons and exceptions
    /// quote URLs and responses, and a secret used in a URL must not reach a report through them.
    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let secrets = self.secrets.borrow();
        let mut out = Cow::Borrowed(text);
        for (secret, mark) in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), mark));
            }
        }
        out
    }
}

/// Environment values shorter than this are not redacted from messages: no secret is that short,
/// and replacing every `1` in a reason would make it unreadable.
const MIN_REDACTED: usize = 3;
