//! A timer that works under any executor: a helper thread waits on a condvar until the deadline
//! and wakes the task. Dropping the timer releases its thread at once, so a receive that returns
//! early leaves nothing behind.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct State {
    fired: bool,
    cancelled: bool,
    waker: Option<Waker>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    cond: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fire(&self) {
        let waker = {
            let mut state = self.lock();
            state.fired = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Wakes the last registered waker at `deadline`.
#[derive(Debug)]
pub(crate) struct Timer {
    deadline: Instant,
    shared: Arc<Shared>,
}

impl Timer {
    pub(crate) fn new(deadline: Instant, waker: &Waker) -> Timer {
        let shared = Arc::new(Shared::default());
        shared.lock().waker = Some(waker.clone());
        let waiting = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name("brood-timer".into())
            .spawn(move || wait_until(deadline, &waiting));
        if spawned.is_err() {
            // Without a thread to wait in, wake now: the task polls again and finds the time.
            shared.fire();
        }
        Timer { deadline, shared }
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Wakes `waker` instead of the one given before (at once if the deadline has passed).
    pub(crate) fn set_waker(&self, waker: &Waker) {
        let mut state = self.shared.lock();
        if state.fired {
            drop(state);
            waker.wake_by_ref();
            return;
        }
        if !state.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            state.waker = Some(waker.clone());
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.shared.lock().cancelled = true;
        self.shared.cond.notify_all();
    }
}

fn wait_until(deadline: Instant, shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if state.cancelled {
            return;
        }
        let now = Instant::now();
        if now >= deadline {
            drop(state);
            shared.fire();
            return;
        }
        state = match shared.cond.wait_timeout(state, deadline - now) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        };
    }
}

/// A future that is ready after a duration.
#[derive(Debug)]
pub(crate) struct Sleep {
    deadline: Instant,
    timer: Option<Timer>,
}

pub(crate) fn sleep(duration: Duration) -> Sleep {
    Sleep {
        deadline: far(Instant::now(), duration),
        timer: None,
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if Instant::now() >= this.deadline {
            return Poll::Ready(());
        }
        match &this.timer {
            Some(timer) => timer.set_waker(cx.waker()),
            None => this.timer = Some(Timer::new(this.deadline, cx.waker())),
        }
        Poll::Pending
    }
}

/// `from + d`, or a year from `from` when that does not fit in an `Instant`.
pub(crate) fn far(from: Instant, d: Duration) -> Instant {
    from.checked_add(d)
        .or_else(|| from.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(from)
}
