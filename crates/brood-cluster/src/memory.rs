//! In-memory backends: a [`MemoryTransport`] with the queue semantics of the [`Transport`] trait
//! (at-least-once, visibility timeouts, long polls) and a [`MemoryStore`]. Both pass the
//! conformance suites, and serve tests and single-process runs.
//!
//! A waiting receive does not block its thread: it registers its task with the queue (woken by a
//! send) and with a timer thread (woken when the wait ends or a hidden message comes back), so it
//! works under any executor.

use std::collections::{BTreeMap, HashMap};
use std::future::poll_fn;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::timer::{far, Timer};
use crate::{ArtifactStore, BackendError, Delivery, QueueName, Transport};

/// Queues held in this process.
#[derive(Debug, Default)]
pub struct MemoryTransport {
    state: Mutex<Queues>,
}

#[derive(Debug, Default)]
struct Queues {
    queues: HashMap<QueueName, Queue>,
    next_id: u64,
}

#[derive(Debug, Default)]
struct Queue {
    messages: Vec<Message>,
    /// Receivers waiting for a send.
    waiters: Vec<Waker>,
}

#[derive(Debug)]
struct Message {
    id: u64,
    body: Vec<u8>,
    receive_count: u32,
    /// The receipt of the latest delivery; older receipts no longer act on the message.
    receipt: Option<String>,
    hidden_until: Option<Instant>,
}

impl Message {
    fn visible(&self, now: Instant) -> bool {
        self.hidden_until.is_none_or(|t| t <= now)
    }
}

impl Queue {
    fn take(&mut self, max: usize, now: Instant, visibility: Duration) -> Vec<Delivery> {
        let hidden_until = far(now, visibility);
        let mut out = Vec::new();
        for m in self
            .messages
            .iter_mut()
            .filter(|m| m.visible(now))
            .take(max)
        {
            m.receive_count += 1;
            let receipt = format!("{}-{}", m.id, m.receive_count);
            m.receipt = Some(receipt.clone());
            m.hidden_until = Some(hidden_until);
            out.push(Delivery {
                body: m.body.clone(),
                receipt,
                receive_count: m.receive_count,
            });
        }
        out
    }

    fn wake_all(&mut self) {
        for waker in self.waiters.drain(..) {
            waker.wake();
        }
    }

    /// When the next hidden message comes back.
    fn next_visible(&self, now: Instant) -> Option<Instant> {
        self.messages
            .iter()
            .filter_map(|m| m.hidden_until)
            .filter(|&t| t > now)
            .min()
    }
}

fn no_queue(operation: &'static str, queue: &QueueName) -> BackendError {
    BackendError {
        operation,
        resource: queue.0.clone(),
        message: "no such queue".into(),
        transient: false,
    }
}

impl MemoryTransport {
    pub fn new() -> MemoryTransport {
        MemoryTransport::default()
    }

    fn lock(&self) -> MutexGuard<'_, Queues> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn poll_receive(
        &self,
        queue: &QueueName,
        max: usize,
        deadline: Instant,
        visibility: Duration,
        timer: &mut Option<Timer>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Vec<Delivery>, BackendError>> {
        let mut state = self.lock();
        let Some(q) = state.queues.get_mut(queue) else {
            return Poll::Ready(Err(no_queue("receive", queue)));
        };
        let now = Instant::now();
        let out = q.take(max, now, visibility);
        if !out.is_empty() || now >= deadline || max == 0 {
            return Poll::Ready(Ok(out));
        }
        if !q.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            q.waiters.push(cx.waker().clone());
        }
        let wake_at = q.next_visible(now).map_or(deadline, |t| t.min(deadline));
        match timer {
            Some(t) if t.deadline() == wake_at => t.set_waker(cx.waker()),
            _ => *timer = Some(Timer::new(wake_at, cx.waker())),
        }
        Poll::Pending
    }
}

#[async_trait]
impl Transport for MemoryTransport {
    async fn ensure_queue(&self, queue: &QueueName) -> Result<(), BackendError> {
        self.lock().queues.entry(queue.clone()).or_default();
        Ok(())
    }

    async fn send(&self, queue: &QueueName, body: &[u8]) -> Result<(), BackendError> {
        let mut state = self.lock();
        let id = state.next_id;
        state.next_id += 1;
        let q = state
            .queues
            .get_mut(queue)
            .ok_or_else(|| no_queue("send", queue))?;
        q.messages.push(Message {
            id,
            body: body.to_vec(),
            receive_count: 0,
            receipt: None,
            hidden_until: None,
        });
        q.wake_all();
        Ok(())
    }

    async fn receive(
        &self,
        queue: &QueueName,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, BackendError> {
        let deadline = far(Instant::now(), wait);
        let mut timer = None;
        poll_fn(|cx| self.poll_receive(queue, max, deadline, visibility, &mut timer, cx)).await
    }

    async fn ack(&self, queue: &QueueName, receipt: &str) -> Result<(), BackendError> {
        let mut state = self.lock();
        let q = state
            .queues
            .get_mut(queue)
            .ok_or_else(|| no_queue("ack", queue))?;
        q.messages.retain(|m| m.receipt.as_deref() != Some(receipt));
        Ok(())
    }

    async fn extend(
        &self,
        queue: &QueueName,
        receipt: &str,
        visibility: Duration,
    ) -> Result<(), BackendError> {
        let mut state = self.lock();
        let q = state
            .queues
            .get_mut(queue)
            .ok_or_else(|| no_queue("extend", queue))?;
        let Some(m) = q
            .messages
            .iter_mut()
            .find(|m| m.receipt.as_deref() == Some(receipt))
        else {
            return Err(BackendError {
                operation: "extend",
                resource: queue.0.clone(),
                message: format!("receipt {receipt} is no longer valid"),
                transient: false,
            });
        };
        m.hidden_until = Some(far(Instant::now(), visibility));
        // A zero visibility hands the message back at once.
        q.wake_all();
        Ok(())
    }

    async fn delete_queue(&self, queue: &QueueName) -> Result<(), BackendError> {
        if let Some(mut q) = self.lock().queues.remove(queue) {
            q.wake_all();
        }
        Ok(())
    }
}

/// Artifacts held in this process, by key.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.objects.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl ArtifactStore for MemoryStore {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BackendError> {
        self.lock().insert(key.to_string(), bytes.to_vec());
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(self.lock().get(key).cloned())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BackendError> {
        Ok(self
            .lock()
            .range(prefix.to_string()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }

    async fn delete(&self, key: &str) -> Result<(), BackendError> {
        self.lock().remove(key);
        Ok(())
    }
}
