//! [`SqsTransport`]: brood's queues on SQS standard queues, across regions.
//!
//! Transport-level names map to SQS queues of the deployment: `jobs-<region>` is the
//! deployment's jobs queue in that region ([`Deployment::jobs_queue`]); every other name (the
//! controller's `controller-<run>`, a worker's `ctl-<run>-<worker>`) is a run queue in the home
//! region ([`Deployment::run_queue`]), shortened with a hash when SQS's 80-character limit or
//! alphabet requires it, the same way in every process.
//!
//! Bodies are binary (signed envelopes), so they travel base64-encoded. A body whose encoding
//! exceeds [`MAX_MESSAGE_BYTES`] is stored in the bucket under `spill/<random>` and the message
//! holds only `spill:<key>`; `receive` fetches it transparently and `ack` deletes the object.
//! A spilled object is only ever deleted by an `ack`, so a pointer whose object is gone belongs
//! to a message some receiver already acknowledged: it is dropped as the duplicate it is. A
//! message that is neither (not written by brood) is delivered as its raw text, for the
//! protocol's decoder to reject.
//!
//! SQS's limits shape the rest: long polls last at most 20 s and are whole seconds (a shorter
//! wait is one short poll, then the rest of the wait asleep if it found nothing, so that a
//! caller polling in a loop makes a few calls a second, not hundreds); a receive returns at
//! most 10 messages per call (more are fetched with further short polls up to `max`);
//! visibility timeouts are whole seconds up to 12 hours. Queue URLs are cached per name.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use base64::Engine as _;
use brood_cluster::{ArtifactStore, BackendError, Delivery, QueueName, Transport};
use rand::Rng as _;

use crate::config::{check_region, for_region, sqs_client};
use crate::failure::{from_sdk, permanent};
use crate::{Deployment, S3Store, TAG_DEPLOYMENT, TAG_MANAGED_BY};

/// The largest message SQS takes (256 KiB), as brood uses it: bodies whose base64 encoding is
/// longer go to the bucket.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// Where spilled message bodies live in the bucket; the bucket's lifecycle rule should expire
/// what is left there (a message never acknowledged) after SQS's retention.
pub const SPILL_PREFIX: &str = "spill/";
/// A message body that points at a spilled body: `spill:spill/<32 hex digits>`.
const SPILL_MARK: &str = "spill:";
/// The transport-level prefix of a region's jobs queue: `jobs-<region>`.
pub const JOBS_PREFIX: &str = "jobs-";

const MAX_BATCH: usize = 10;
const MAX_WAIT_SECS: u64 = 20;
const MAX_VISIBILITY_SECS: u64 = 12 * 60 * 60;
const MAX_QUEUE_NAME: usize = 80;

/// Where a transport-level queue lives in SQS.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Located {
    region: String,
    name: String,
}

impl Located {
    /// How errors name the queue: `queue <name> in <region>`.
    fn resource(&self) -> String {
        format!("queue {} in {}", self.name, self.region)
    }
}

/// A [`Transport`] over SQS in the deployment's regions, spilling large bodies to S3.
#[derive(Debug)]
pub struct SqsTransport {
    base: SdkConfig,
    deployment: Deployment,
    spill: S3Store,
    clients: Mutex<HashMap<String, aws_sdk_sqs::Client>>,
    urls: Mutex<HashMap<QueueName, String>>,
}

impl SqsTransport {
    /// Queues of `deployment` with `config`'s credentials and endpoint (any region: each call
    /// goes to the queue's own region); large bodies spill to `spill`'s bucket.
    pub fn new(config: &SdkConfig, deployment: Deployment, spill: S3Store) -> SqsTransport {
        SqsTransport {
            base: config.clone(),
            deployment,
            spill,
            clients: Mutex::new(HashMap::new()),
            urls: Mutex::new(HashMap::new()),
        }
    }

    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// The SQS queue (region and name) a transport-level name maps to.
    pub fn sqs_queue(&self, queue: &QueueName) -> Result<(String, String), BackendError> {
        let located = self.locate(queue)?;
        Ok((located.region, located.name))
    }

    fn locate(&self, queue: &QueueName) -> Result<Located, BackendError> {
        if let Some(region) = queue.0.strip_prefix(JOBS_PREFIX) {
            check_region(region).map_err(|e| permanent("locate", &queue.0, e.to_string()))?;
            return Ok(Located {
                region: region.to_string(),
                name: self.deployment.jobs_queue(),
            });
        }
        if queue.0.is_empty() {
            return Err(permanent("locate", "queue \"\"", "a queue name is empty"));
        }
        Ok(Located {
            region: self.deployment.home_region.clone(),
            name: sqs_name(&self.deployment.run_queue(&queue.0)),
        })
    }

    fn client(&self, region: &str) -> aws_sdk_sqs::Client {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        clients
            .entry(region.to_string())
            .or_insert_with(|| sqs_client(&for_region(&self.base, region)))
            .clone()
    }

    fn cached_url(&self, queue: &QueueName) -> Option<String> {
        let urls = self.urls.lock().unwrap_or_else(PoisonError::into_inner);
        urls.get(queue).cloned()
    }

    fn cache_url(&self, queue: &QueueName, url: Option<String>) {
        let mut urls = self.urls.lock().unwrap_or_else(PoisonError::into_inner);
        match url {
            Some(url) => urls.insert(queue.clone(), url),
            None => urls.remove(queue),
        };
    }

    /// The queue's URL, from the cache or `GetQueueUrl`; `None` when the queue does not exist.
    async fn find_url(
        &self,
        queue: &QueueName,
        at: &Located,
        client: &aws_sdk_sqs::Client,
    ) -> Result<Option<String>, BackendError> {
        if let Some(url) = self.cached_url(queue) {
            return Ok(Some(url));
        }
        match client.get_queue_url().queue_name(&at.name).send().await {
            Ok(answer) => {
                let url = answer.queue_url().map(str::to_string);
                if let Some(url) = &url {
                    self.cache_url(queue, Some(url.clone()));
                }
                Ok(url)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_queue_does_not_exist()) =>
            {
                Ok(None)
            }
            Err(e) => Err(from_sdk("GetQueueUrl", &at.resource(), &e)),
        }
    }

    /// Client, URL and location of a queue that must exist.
    async fn resolve(
        &self,
        operation: &'static str,
        queue: &QueueName,
    ) -> Result<(aws_sdk_sqs::Client, String, Located), BackendError> {
        let at = self.locate(queue)?;
        let client = self.client(&at.region);
        match self.find_url(queue, &at, &client).await? {
            Some(url) => Ok((client, url, at)),
            None => Err(permanent(
                operation,
                &at.resource(),
                "the queue does not exist (not set up, or deleted)",
            )),
        }
    }

    /// Forgets a cached URL when SQS says its queue is gone, so the next call looks again.
    fn forget_if_gone<E: aws_sdk_sqs::error::ProvideErrorMetadata, R>(
        &self,
        queue: &QueueName,
        error: &aws_sdk_sqs::error::SdkError<E, R>,
    ) {
        if is_gone(error) {
            self.cache_url(queue, None);
        }
    }

    /// One `ReceiveMessage` call.
    async fn receive_once(
        &self,
        queue: &QueueName,
        (client, url, at): (&aws_sdk_sqs::Client, &str, &Located),
        max: usize,
        wait_secs: u64,
        visibility_secs: u64,
    ) -> Result<Vec<Message>, BackendError> {
        let answer = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.min(MAX_BATCH) as i32)
            .wait_time_seconds(wait_secs as i32)
            .visibility_timeout(visibility_secs as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| {
                self.forget_if_gone(queue, &e);
                from_sdk("ReceiveMessage", &at.resource(), &e)
            })?;
        Ok(answer.messages.unwrap_or_default())
    }

    /// A received message as a delivery: its body decoded or fetched from the bucket. `None`
    /// for a pointer whose spilled body is gone (already acknowledged by another receiver), or
    /// cannot be fetched for now (it comes back after the visibility timeout).
    async fn deliver(
        &self,
        (client, url): (&aws_sdk_sqs::Client, &str),
        message: Message,
    ) -> Result<Option<Delivery>, BackendError> {
        let handle = message.receipt_handle().unwrap_or_default().to_string();
        let receive_count = message
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let text = message.body().unwrap_or_default();
        let (body, receipt) = match text.strip_prefix(SPILL_MARK).filter(|k| is_spill_key(k)) {
            Some(key) => match self.spill.get(key).await {
                Ok(Some(body)) => (body, format!("{handle} {key}")),
                // The bucket is briefly unavailable: the message comes back after its
                // visibility timeout, and the rest of the batch is delivered now.
                Err(e) if e.transient => return Ok(None),
                Err(e) => return Err(e),
                Ok(None) => {
                    let _ = client
                        .delete_message()
                        .queue_url(url)
                        .receipt_handle(&handle)
                        .send()
                        .await;
                    return Ok(None);
                }
            },
            None => match base64::engine::general_purpose::STANDARD.decode(text) {
                Ok(body) => (body, handle),
                Err(_) => (text.as_bytes().to_vec(), handle),
            },
        };
        Ok(Some(Delivery {
            body,
            receipt,
            receive_count,
        }))
    }
}

/// A receipt as `ack` and `extend` get it: the SQS receipt handle, then the spilled body's key.
fn split_receipt(receipt: &str) -> (&str, Option<&str>) {
    match receipt.split_once(' ') {
        Some((handle, key)) if is_spill_key(key) => (handle, Some(key)),
        _ => (receipt, None),
    }
}

/// `spill/` and 32 lowercase hex digits: nothing else in the bucket is ever read or deleted
/// on a message's say-so.
fn is_spill_key(key: &str) -> bool {
    key.strip_prefix(SPILL_PREFIX).is_some_and(|id| {
        id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn new_spill_key() -> String {
    let id: u128 = rand::rng().random();
    format!("{SPILL_PREFIX}{id:032x}")
}

/// Whether SQS answered that the queue does not exist.
fn is_gone<E: aws_sdk_sqs::error::ProvideErrorMetadata, R>(
    error: &aws_sdk_sqs::error::SdkError<E, R>,
) -> bool {
    crate::failure::code(error)
        .is_some_and(|c| c == "AWS.SimpleQueueService.NonExistentQueue" || c == "QueueDoesNotExist")
}

/// Whether SQS answered that a receipt handle no longer (or never) names a message in flight.
fn is_stale_receipt<E: aws_sdk_sqs::error::ProvideErrorMetadata, R>(
    error: &aws_sdk_sqs::error::SdkError<E, R>,
) -> bool {
    crate::failure::code(error).is_some_and(|c| {
        c == "ReceiptHandleIsInvalid"
            || c == "AWS.SimpleQueueService.ReceiptHandleIsInvalid"
            || c == "InvalidParameterValue"
    })
}

/// An SQS queue name (1 to 80 of `A-Z a-z 0-9 - _`) for `name`: itself when it fits, else its
/// first 63 characters with other characters replaced by `_`, a dash and a 16-digit hash of
/// the whole name, so that two processes derive the same name and two names rarely collide.
pub fn sqs_name(name: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !name.is_empty() && name.len() <= MAX_QUEUE_NAME && name.chars().all(allowed) {
        return name.to_string();
    }
    let kept: String = name
        .chars()
        .take(63)
        .map(|c| if allowed(c) { c } else { '_' })
        .collect();
    format!("{kept}-{:016x}", fnv1a(name.as_bytes()))
}

/// FNV-1a, 64 bits: stable across builds and platforms, unlike the standard library's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whole seconds for SQS, rounded up (a visibility never ends sooner than asked), capped.
fn whole_secs_up(d: Duration, cap: u64) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.min(cap)
}

#[async_trait]
impl Transport for SqsTransport {
    async fn ensure_queue(&self, queue: &QueueName) -> Result<(), BackendError> {
        let at = self.locate(queue)?;
        let client = self.client(&at.region);
        if self.find_url(queue, &at, &client).await?.is_some() {
            return Ok(());
        }
        let created = client
            .create_queue()
            .queue_name(&at.name)
            .tags(TAG_DEPLOYMENT, &self.deployment.name)
            .tags(TAG_MANAGED_BY, "brood")
            .send()
            .await;
        match created {
            Ok(answer) => {
                self.cache_url(queue, answer.queue_url().map(str::to_string));
                Ok(())
            }
            // Created at the same moment by another process, with other attributes: it exists.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_queue_name_exists()) =>
            {
                self.find_url(queue, &at, &client).await.map(|_| ())
            }
            Err(e) => Err(from_sdk("CreateQueue", &at.resource(), &e)),
        }
    }

    async fn send(&self, queue: &QueueName, body: &[u8]) -> Result<(), BackendError> {
        let (client, url, at) = self.resolve("SendMessage", queue).await?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(body);
        let (text, spilled) = if encoded.len() > MAX_MESSAGE_BYTES {
            let key = new_spill_key();
            self.spill.put(&key, body).await?;
            (format!("{SPILL_MARK}{key}"), Some(key))
        } else {
            (encoded, None)
        };
        let sent = client
            .send_message()
            .queue_url(&url)
            .message_body(text)
            .send()
            .await;
        if let Err(e) = sent {
            self.forget_if_gone(queue, &e);
            if let Some(key) = spilled {
                let _ = self.spill.delete(&key).await;
            }
            return Err(from_sdk("SendMessage", &at.resource(), &e));
        }
        Ok(())
    }

    async fn receive(
        &self,
        queue: &QueueName,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, BackendError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let (client, url, at) = self.resolve("ReceiveMessage", queue).await?;
        let target = (&client, url.as_str(), &at);
        let visibility_secs = whole_secs_up(visibility, MAX_VISIBILITY_SECS);
        let wait_secs = wait.as_secs().min(MAX_WAIT_SECS);
        let mut messages = self
            .receive_once(queue, target, max, wait_secs, visibility_secs)
            .await?;
        if messages.is_empty() && wait_secs == 0 && !wait.is_zero() {
            // A wait shorter than SQS's one-second granularity: the short poll found nothing,
            // so the rest of the wait passes here instead of in the caller's next call.
            tokio::time::sleep(wait).await;
            return Ok(Vec::new());
        }
        // Fill up to `max` with short polls while full batches keep coming. (Polls side by side
        // would save round trips on SQS, but make the emulator hand one message out twice.)
        let mut last = messages.len();
        while last == MAX_BATCH && messages.len() < max {
            let more = self
                .receive_once(queue, target, max - messages.len(), 0, visibility_secs)
                .await?;
            last = more.len();
            messages.extend(more);
        }
        // Spilled bodies are fetched side by side.
        let deliveries = messages
            .into_iter()
            .map(|message| self.deliver((&client, &url), message));
        Ok(futures_util::future::try_join_all(deliveries)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    async fn ack(&self, queue: &QueueName, receipt: &str) -> Result<(), BackendError> {
        let (handle, spilled) = split_receipt(receipt);
        let at = self.locate(queue)?;
        let client = self.client(&at.region);
        let Some(url) = self.find_url(queue, &at, &client).await? else {
            // The queue is gone, and its messages with it.
            return Ok(());
        };
        let deleted = client
            .delete_message()
            .queue_url(&url)
            .receipt_handle(handle)
            .send()
            .await;
        match deleted {
            Ok(_) => {}
            Err(e) if is_stale_receipt(&e) || is_gone(&e) => self.forget_if_gone(queue, &e),
            Err(e) => return Err(from_sdk("DeleteMessage", &at.resource(), &e)),
        }
        if let Some(key) = spilled {
            self.spill.delete(key).await?;
        }
        Ok(())
    }

    async fn extend(
        &self,
        queue: &QueueName,
        receipt: &str,
        visibility: Duration,
    ) -> Result<(), BackendError> {
        let (handle, _) = split_receipt(receipt);
        let (client, url, at) = self.resolve("ChangeMessageVisibility", queue).await?;
        client
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(handle)
            .visibility_timeout(whole_secs_up(visibility, MAX_VISIBILITY_SECS) as i32)
            .send()
            .await
            .map_err(|e| {
                self.forget_if_gone(queue, &e);
                from_sdk("ChangeMessageVisibility", &at.resource(), &e)
            })?;
        Ok(())
    }

    async fn delete_queue(&self, queue: &QueueName) -> Result<(), BackendError> {
        let at = self.locate(queue)?;
        let client = self.client(&at.region);
        // Look the URL up afresh: a cached one may belong to a queue deleted meanwhile.
        self.cache_url(queue, None);
        let Some(url) = self.find_url(queue, &at, &client).await? else {
            return Ok(());
        };
        self.cache_url(queue, None);
        match client.delete_queue().queue_url(&url).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_gone(&e) => Ok(()),
            Err(e) => Err(from_sdk("DeleteQueue", &at.resource(), &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_valid_names_are_kept() {
        assert_eq!(
            sqs_name("brood-default-ctl-r1-w1"),
            "brood-default-ctl-r1-w1"
        );
        assert_eq!(sqs_name(&"a".repeat(80)), "a".repeat(80));
    }

    #[test]
    fn long_or_odd_names_get_a_stable_hash() {
        let long = format!("brood-default-ctl-{}-{}", "r".repeat(64), "w".repeat(64));
        let short = sqs_name(&long);
        assert_eq!(short.len(), 80);
        assert_eq!(short, sqs_name(&long), "the same in every process");
        assert_ne!(short, sqs_name(&format!("{long}x")));
        let dotted = sqs_name("brood-default-ctl-run.1-w1");
        assert!(
            dotted.starts_with("brood-default-ctl-run_1-w1-"),
            "{dotted}"
        );
        assert_ne!(dotted, sqs_name("brood-default-ctl-run_1-w1"));
        assert!(dotted
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn only_well_formed_spill_keys_are_followed() {
        let key = new_spill_key();
        assert!(is_spill_key(&key), "{key}");
        for bad in [
            "spill/",
            "runs/r1/a/w1/stats.csv",
            "spill/../runs/x",
            "spill/0123456789ABCDEF0123456789abcdef",
            "spill/0123456789abcdef0123456789abcde",
        ] {
            assert!(!is_spill_key(bad), "{bad}");
        }
        assert_eq!(
            split_receipt(&format!("handle+/= {key}")),
            ("handle+/=", Some(key.as_str()))
        );
        assert_eq!(split_receipt("handle runs/x"), ("handle runs/x", None));
    }

    #[test]
    fn durations_become_whole_seconds() {
        assert_eq!(whole_secs_up(Duration::from_millis(1), 10), 1);
        assert_eq!(whole_secs_up(Duration::from_secs(2), 10), 2);
        assert_eq!(whole_secs_up(Duration::from_millis(2_001), 10), 3);
        assert_eq!(whole_secs_up(Duration::from_secs(99), 10), 10);
        assert_eq!(whole_secs_up(Duration::ZERO, 10), 0);
    }
}
