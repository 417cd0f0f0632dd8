//! The in-memory backends pass the conformance suites, run under a minimal executor (no async
//! runtime): the same suites any other backend's tests call. Backends with one flaw each show
//! that the suites catch it.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

use async_trait::async_trait;
use brood_cluster::conformance::{store_suite, transport_suite};
use brood_cluster::memory::{MemoryStore, MemoryTransport};
use brood_cluster::{ArtifactStore, BackendError, Delivery, QueueName, Transport};

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread, parking between wake-ups.
fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

#[test]
fn memory_transport_passes_the_transport_suite() {
    block_on(transport_suite(&MemoryTransport::new(), "conformance"));
}

#[test]
fn memory_store_passes_the_store_suite() {
    block_on(store_suite(&MemoryStore::new(), "conformance"));
}

#[test]
fn suites_can_share_a_backend_under_different_prefixes() {
    let transport = MemoryTransport::new();
    let store = MemoryStore::new();
    thread::scope(|scope| {
        scope.spawn(|| block_on(transport_suite(&transport, "one")));
        scope.spawn(|| block_on(transport_suite(&transport, "two")));
        scope.spawn(|| block_on(store_suite(&store, "one")));
        block_on(store_suite(&store, "two"));
    });
}

#[derive(Clone, Copy, Debug)]
enum Flaw {
    /// Receive never waits.
    NoLongPoll,
    /// Receive sits out the whole wait even when a message arrives.
    LateWakeUp,
    AckIgnored,
    ExtendIgnored,
    /// Every delivery claims to be the first.
    CountStuck,
    ListUnsorted,
    DeleteIgnored,
    MissingAsEmpty,
}

struct Flawed {
    flaw: Flaw,
    queues: MemoryTransport,
    store: MemoryStore,
}

impl Flawed {
    fn new(flaw: Flaw) -> Flawed {
        Flawed {
            flaw,
            queues: MemoryTransport::new(),
            store: MemoryStore::new(),
        }
    }
}

#[async_trait]
impl Transport for Flawed {
    async fn ensure_queue(&self, queue: &QueueName) -> Result<(), BackendError> {
        self.queues.ensure_queue(queue).await
    }

    async fn send(&self, queue: &QueueName, body: &[u8]) -> Result<(), BackendError> {
        self.queues.send(queue, body).await
    }

    async fn receive(
        &self,
        queue: &QueueName,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, BackendError> {
        let wait = match self.flaw {
            Flaw::NoLongPoll => Duration::ZERO,
            Flaw::LateWakeUp => {
                let idle = QueueName("idle".into());
                self.queues.ensure_queue(&idle).await?;
                self.queues.receive(&idle, 1, wait, visibility).await?;
                Duration::ZERO
            }
            _ => wait,
        };
        let mut got = self.queues.receive(queue, max, wait, visibility).await?;
        if let Flaw::CountStuck = self.flaw {
            got.iter_mut().for_each(|d| d.receive_count = 1);
        }
        Ok(got)
    }

    async fn ack(&self, queue: &QueueName, receipt: &str) -> Result<(), BackendError> {
        match self.flaw {
            Flaw::AckIgnored => Ok(()),
            _ => self.queues.ack(queue, receipt).await,
        }
    }

    async fn extend(
        &self,
        queue: &QueueName,
        receipt: &str,
        visibility: Duration,
    ) -> Result<(), BackendError> {
        match self.flaw {
            Flaw::ExtendIgnored => Ok(()),
            _ => self.queues.extend(queue, receipt, visibility).await,
        }
    }

    async fn delete_queue(&self, queue: &QueueName) -> Result<(), BackendError> {
        self.queues.delete_queue(queue).await
    }
}

#[async_trait]
impl ArtifactStore for Flawed {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BackendError> {
        self.store.put(key, bytes).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
        let got = self.store.get(key).await?;
        match self.flaw {
            Flaw::MissingAsEmpty => Ok(Some(got.unwrap_or_default())),
            _ => Ok(got),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BackendError> {
        let mut keys = self.store.list(prefix).await?;
        if let Flaw::ListUnsorted = self.flaw {
            keys.reverse();
        }
        Ok(keys)
    }

    async fn delete(&self, key: &str) -> Result<(), BackendError> {
        match self.flaw {
            Flaw::DeleteIgnored => Ok(()),
            _ => self.store.delete(key).await,
        }
    }
}

/// The message the suite fails with on a backend with `flaw`.
fn failure(flaw: Flaw, suite: fn(&Flawed) -> ()) -> String {
    let backend = Flawed::new(flaw);
    let Err(payload) = catch_unwind(AssertUnwindSafe(|| suite(&backend))) else {
        panic!("the suite passed a backend with {flaw:?}");
    };
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn transport(backend: &Flawed) {
    block_on(transport_suite(backend, "flawed"));
}

fn store(backend: &Flawed) {
    block_on(store_suite(backend, "flawed"));
}

#[test]
fn the_transport_suite_catches_a_receive_that_does_not_wait() {
    let message = failure(Flaw::NoLongPoll, transport);
    assert!(message.contains("redelivery"), "{message}");
}

#[test]
fn the_transport_suite_catches_a_long_poll_that_sits_out_its_wait() {
    let message = failure(Flaw::LateWakeUp, transport);
    assert!(message.contains("long poll"), "{message}");
}

#[test]
fn the_transport_suite_catches_ignored_acks_and_extensions() {
    let message = failure(Flaw::AckIgnored, transport);
    assert!(message.contains("ack deletes"), "{message}");
    let message = failure(Flaw::ExtendIgnored, transport);
    assert!(message.contains("extend"), "{message}");
}

#[test]
fn the_transport_suite_catches_a_wrong_receive_count() {
    let message = failure(Flaw::CountStuck, transport);
    assert!(message.contains("redelivery: receive_count"), "{message}");
}

#[test]
fn the_store_suite_catches_its_flaws() {
    for (flaw, check) in [
        (Flaw::ListUnsorted, "list by prefix, sorted"),
        (Flaw::DeleteIgnored, "a deleted key is gone"),
        (Flaw::MissingAsEmpty, "a missing key is None"),
    ] {
        let message = failure(flaw, store);
        assert!(message.contains(check), "{flaw:?}: {message}");
    }
}
