//! The messages: what the controller tells workers ([`Job`], [`Start`], [`Stop`], signed) and
//! what workers tell the controller ([`Ready`], [`SnapshotReport`], [`Done`], [`ErrorReport`],
//! [`Heartbeat`], not signed), with the checks every message passes when it is encoded and again
//! when it is decoded.
//!
//! Checks here are about one message alone (a slot below the region's worker count, a nonce of
//! 32 hex digits, a finite CPU figure). Whether a message is *acceptable now* (signature, expiry,
//! replay, plan hash) is the [`Verifier`](crate::Verifier)'s business.

use brood_plan::{Plan, Segment};
use serde::{Deserialize, Serialize};

use crate::error::ProtocolError;
use crate::id::{Region, RunId, WorkerId};
use crate::kind::Kind;

/// Length of a nonce: 128 random bits as lower-case hex.
pub const NONCE_HEX_LEN: usize = 32;
/// Length of a plan hash: SHA-256 as lower-case hex.
pub const PLAN_HASH_HEX_LEN: usize = 64;
/// Longest queue name or URL, artifact prefix: the longest S3 key is 1024 bytes.
pub const MAX_LOCATION_LEN: usize = 1024;
/// Longest host name a worker reports (DNS's limit is 253).
pub const MAX_HOST_LEN: usize = 255;
/// Longest error text a worker sends; [`ErrorReport::new`] cuts longer text to fit.
pub const MAX_ERROR_LEN: usize = 16 * 1024;

/// Where a job's plan waits in the artifact store when it does not travel in the job: under the
/// prefix for the large parts of messages (which workers may read), named by run and plan hash,
/// so the signed job names it without a field of its own.
pub fn stored_plan_key(run: &RunId, plan_hash: &str) -> String {
    format!("spill/plans/{run}/{plan_hash}.json")
}

/// Controller → one worker: run your part of this plan. Signed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    pub run_id: RunId,
    pub region: Region,
    /// This worker's index within its region, `0..workers_in_region`.
    pub slot: u32,
    pub workers_in_region: u32,
    /// The worker's fraction of the whole run's load, `0 <= start <= end <= 1`.
    pub segment: Segment,
    /// The plan, in the job itself; `None` when the job would be larger than a message
    /// ([`MAX_MESSAGE_BYTES`](crate::MAX_MESSAGE_BYTES): big feeds) and the plan waits in the
    /// artifact store at [`stored_plan_key`], as its [`canonical_plan_bytes`](crate::canonical_plan_bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// [`plan_hash`](crate::plan_hash) of the plan; a worker refuses a job whose plan hashes
    /// differently (another brood version would read the plan differently, or the stored plan
    /// is not the one the controller signed for).
    pub plan_hash: String,
    /// Where the worker sends its messages (a queue name or URL, as the transport names it).
    pub controller_queue: String,
    /// Unix ms when the controller issued the job; see [`Validity`].
    pub issued_ms: u64,
    /// Unix ms after which the job must not be started.
    pub expires_ms: u64,
    /// 128 random bits as 32 lower-case hex digits; see [`new_nonce`](crate::new_nonce).
    pub nonce: String,
    /// How long the worker waits for [`Start`] after sending [`Ready`] before it gives up.
    pub barrier_timeout_ms: u64,
    /// How often the worker sends a [`Heartbeat`] while it has no snapshot to send.
    pub heartbeat_ms: u64,
}

/// Controller → every worker of a run: start the load at `at_unix_ms`, the one start time every
/// worker shares once all are ready (the barrier). Signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Start {
    pub run_id: RunId,
    pub at_unix_ms: u64,
    /// How many workers take part, for the worker's log.
    pub workers: u32,
    pub issued_ms: u64,
    pub expires_ms: u64,
    pub nonce: String,
}

/// Controller → every worker of a run: stop. Signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stop {
    pub run_id: RunId,
    /// `false`: let running tasks finish within the plan's stop timeout, then report.
    /// `true`: drop everything at once (a threshold with `abort` failed, or the user aborted).
    pub abort: bool,
    pub issued_ms: u64,
    pub expires_ms: u64,
    pub nonce: String,
}

/// Worker → controller: the job is accepted and the engine is ready to start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    pub run_id: RunId,
    pub region: Region,
    pub worker_id: WorkerId,
    /// The job's slot, so the controller can tell duplicates of one job apart from two workers.
    pub slot: u32,
    /// The worker's host name, for reports.
    pub host: String,
    /// The worker's clock (Unix ms) when it sent this, to estimate its offset from the controller.
    pub clock_ms: u64,
}

/// How a worker's load generator is coping; reported with each snapshot.
pub use brood_stats::Health;

/// Worker → controller: one window of stats (a delta, merged exactly by the controller). The
/// envelope carries `stats` in [`brood_stats::Snapshot::encode`]'s own compact form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotReport {
    pub run_id: RunId,
    pub region: Region,
    pub worker_id: WorkerId,
    /// 1, 2, 3… per worker, so the controller drops duplicates and notices gaps.
    pub seq: u64,
    pub stats: brood_stats::Snapshot,
    pub health: Health,
    pub sent_ms: u64,
}

/// Worker → controller: the segment is finished and its artifacts are stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Done {
    pub run_id: RunId,
    pub region: Region,
    pub worker_id: WorkerId,
    /// Where in the artifact store the worker put its files.
    pub artifacts_prefix: String,
    /// The `seq` of the last snapshot sent, so the controller knows when it has them all.
    pub final_seq: u64,
}

/// Worker → controller: the worker cannot go on (or refused a job), and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorReport {
    pub run_id: RunId,
    pub region: Region,
    pub worker_id: WorkerId,
    /// At most [`MAX_ERROR_LEN`] bytes; no control characters but newline and tab.
    pub message: String,
}

impl ErrorReport {
    /// An error report whose text is made to pass the checks: control characters other than
    /// newline and tab become U+FFFD, and text beyond [`MAX_ERROR_LEN`] bytes is cut at a
    /// character boundary. A failing worker should always be able to say why.
    pub fn new(run_id: RunId, region: Region, worker_id: WorkerId, message: &str) -> ErrorReport {
        let mut text = String::with_capacity(message.len().min(MAX_ERROR_LEN));
        for c in message.chars() {
            let c = if c.is_control() && c != '\n' && c != '\t' {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            };
            if text.len() + c.len_utf8() > MAX_ERROR_LEN {
                break;
            }
            text.push(c);
        }
        ErrorReport {
            run_id,
            region,
            worker_id,
            message: text,
        }
    }
}

/// Worker → controller: still alive, nothing else to say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    pub run_id: RunId,
    pub region: Region,
    pub worker_id: WorkerId,
    pub sent_ms: u64,
}

/// Every message of protocol version 1.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Job(Box<Job>),
    Start(Start),
    Stop(Stop),
    Ready(Ready),
    Snapshot(Box<SnapshotReport>),
    Done(Done),
    Error(ErrorReport),
    Heartbeat(Heartbeat),
}

/// The window in which a signed message may be acted on, and its one-time nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity<'a> {
    pub issued_ms: u64,
    pub expires_ms: u64,
    pub nonce: &'a str,
}

impl Message {
    pub fn kind(&self) -> Kind {
        match self {
            Message::Job(_) => Kind::Job,
            Message::Start(_) => Kind::Start,
            Message::Stop(_) => Kind::Stop,
            Message::Ready(_) => Kind::Ready,
            Message::Snapshot(_) => Kind::Snapshot,
            Message::Done(_) => Kind::Done,
            Message::Error(_) => Kind::Error,
            Message::Heartbeat(_) => Kind::Heartbeat,
        }
    }

    /// The run every message belongs to.
    pub fn run_id(&self) -> &RunId {
        match self {
            Message::Job(m) => &m.run_id,
            Message::Start(m) => &m.run_id,
            Message::Stop(m) => &m.run_id,
            Message::Ready(m) => &m.run_id,
            Message::Snapshot(m) => &m.run_id,
            Message::Done(m) => &m.run_id,
            Message::Error(m) => &m.run_id,
            Message::Heartbeat(m) => &m.run_id,
        }
    }

    /// The validity window of a controller message; `None` for worker messages.
    pub fn validity(&self) -> Option<Validity<'_>> {
        let (issued_ms, expires_ms, nonce) = match self {
            Message::Job(m) => (m.issued_ms, m.expires_ms, &m.nonce),
            Message::Start(m) => (m.issued_ms, m.expires_ms, &m.nonce),
            Message::Stop(m) => (m.issued_ms, m.expires_ms, &m.nonce),
            _ => return None,
        };
        Some(Validity {
            issued_ms,
            expires_ms,
            nonce,
        })
    }

    /// The checks that make a message well-formed on its own; [`encode`](crate::encode) and
    /// [`decode`](crate::decode) both run them, so nothing ill-formed is sent or accepted.
    pub fn validate(&self) -> Result<(), ProtocolError> {
        let kind = self.kind();
        let invalid = |field: &'static str, reason: String| ProtocolError::Invalid {
            kind,
            field,
            reason,
        };
        if let Some(v) = self.validity() {
            if v.expires_ms <= v.issued_ms {
                return Err(invalid(
                    "expires_ms",
                    format!("{} is not after issued_ms {}", v.expires_ms, v.issued_ms),
                ));
            }
            check_hex(v.nonce, NONCE_HEX_LEN).map_err(|r| invalid("nonce", r))?;
        }
        match self {
            Message::Job(job) => validate_job(job).map_err(|(f, r)| invalid(f, r)),
            Message::Start(start) if start.workers == 0 => {
                Err(invalid("workers", "is 0".to_string()))
            }
            Message::Ready(ready) => {
                check_text(&ready.host, MAX_HOST_LEN, false).map_err(|r| invalid("host", r))
            }
            Message::Snapshot(report) => {
                let h = &report.health;
                for (field, value) in [
                    ("health.cpu_percent", h.cpu_percent),
                    ("health.sched_lag_ms", h.sched_lag_ms),
                ] {
                    if !value.is_finite() || value < 0.0 {
                        return Err(invalid(
                            field,
                            format!("is {value}, not a finite value >= 0"),
                        ));
                    }
                }
                Ok(())
            }
            Message::Done(done) => check_text(&done.artifacts_prefix, MAX_LOCATION_LEN, false)
                .map_err(|r| invalid("artifacts_prefix", r)),
            Message::Error(error) => {
                check_text(&error.message, MAX_ERROR_LEN, true).map_err(|r| invalid("message", r))
            }
            Message::Start(_) | Message::Stop(_) | Message::Heartbeat(_) => Ok(()),
        }
    }
}

fn validate_job(job: &Job) -> Result<(), (&'static str, String)> {
    if job.workers_in_region == 0 {
        return Err(("workers_in_region", "is 0".to_string()));
    }
    if job.slot >= job.workers_in_region {
        return Err((
            "slot",
            format!(
                "is {} but the region has {} workers",
                job.slot, job.workers_in_region
            ),
        ));
    }
    let Segment { start, end } = job.segment;
    if !(start.is_finite() && end.is_finite() && 0.0 <= start && start <= end && end <= 1.0) {
        return Err((
            "segment",
            format!("is [{start}, {end}), not within [0, 1] in order"),
        ));
    }
    check_hex(&job.plan_hash, PLAN_HASH_HEX_LEN).map_err(|r| ("plan_hash", r))?;
    check_text(&job.controller_queue, MAX_LOCATION_LEN, false)
        .map_err(|r| ("controller_queue", r))?;
    if job.barrier_timeout_ms == 0 {
        return Err(("barrier_timeout_ms", "is 0".to_string()));
    }
    if job.heartbeat_ms == 0 {
        return Err(("heartbeat_ms", "is 0".to_string()));
    }
    Ok(())
}

fn check_hex(value: &str, len: usize) -> Result<(), String> {
    if value.len() != len
        || !value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(format!("must be {len} lower-case hex digits"));
    }
    Ok(())
}

/// Non-empty (unless `multiline`, which is free text), at most `max` bytes, no control
/// characters (`multiline` allows newline and tab).
fn check_text(value: &str, max: usize, multiline: bool) -> Result<(), String> {
    if value.is_empty() && !multiline {
        return Err("is empty".to_string());
    }
    if value.len() > max {
        return Err(format!("is {} bytes, more than {max}", value.len()));
    }
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\t'));
    if let Some(c) = value.chars().find(|&c| !allowed(c)) {
        return Err(format!("contains the control character {c:?}"));
    }
    Ok(())
}

/// The JSON body of a snapshot message: the report without its stats, which travel as the
/// envelope's attachment in their own encoding.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotBody {
    run_id: RunId,
    region: Region,
    worker_id: WorkerId,
    seq: u64,
    health: Health,
    sent_ms: u64,
}

impl Message {
    /// The envelope's body (JSON) and attachment (empty but for snapshots).
    pub(crate) fn to_parts(&self) -> Result<(Vec<u8>, Vec<u8>), ProtocolError> {
        let kind = self.kind();
        let json = |r: serde_json::Result<Vec<u8>>| {
            r.map_err(|e| ProtocolError::Payload {
                kind,
                reason: e.to_string(),
            })
        };
        let body = match self {
            Message::Job(m) => json(serde_json::to_vec(m))?,
            Message::Start(m) => json(serde_json::to_vec(m))?,
            Message::Stop(m) => json(serde_json::to_vec(m))?,
            Message::Ready(m) => json(serde_json::to_vec(m))?,
            Message::Snapshot(m) => {
                let body = SnapshotBody {
                    run_id: m.run_id.clone(),
                    region: m.region.clone(),
                    worker_id: m.worker_id.clone(),
                    seq: m.seq,
                    health: m.health,
                    sent_ms: m.sent_ms,
                };
                return Ok((json(serde_json::to_vec(&body))?, m.stats.encode()));
            }
            Message::Done(m) => json(serde_json::to_vec(m))?,
            Message::Error(m) => json(serde_json::to_vec(m))?,
            Message::Heartbeat(m) => json(serde_json::to_vec(m))?,
        };
        Ok((body, Vec::new()))
    }

    /// Reads a body and attachment back; the caller then runs [`Message::validate`].
    pub(crate) fn from_parts(
        kind: Kind,
        body: &[u8],
        attachment: &[u8],
    ) -> Result<Message, ProtocolError> {
        if kind != Kind::Snapshot && !attachment.is_empty() {
            return Err(ProtocolError::UnexpectedAttachment {
                kind,
                len: attachment.len(),
            });
        }
        fn parse<'a, T: Deserialize<'a>>(kind: Kind, body: &'a [u8]) -> Result<T, ProtocolError> {
            serde_json::from_slice(body).map_err(|e| ProtocolError::Payload {
                kind,
                reason: e.to_string(),
            })
        }
        Ok(match kind {
            Kind::Job => Message::Job(Box::new(parse(kind, body)?)),
            Kind::Start => Message::Start(parse(kind, body)?),
            Kind::Stop => Message::Stop(parse(kind, body)?),
            Kind::Ready => Message::Ready(parse(kind, body)?),
            Kind::Snapshot => {
                let b: SnapshotBody = parse(kind, body)?;
                let stats = brood_stats::Snapshot::decode(attachment)
                    .map_err(|source| ProtocolError::Stats { kind, source })?;
                Message::Snapshot(Box::new(SnapshotReport {
                    run_id: b.run_id,
                    region: b.region,
                    worker_id: b.worker_id,
                    seq: b.seq,
                    stats,
                    health: b.health,
                    sent_ms: b.sent_ms,
                }))
            }
            Kind::Done => Message::Done(parse(kind, body)?),
            Kind::Error => Message::Error(parse(kind, body)?),
            Kind::Heartbeat => Message::Heartbeat(parse(kind, body)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_codes_are_distinct_and_read_back() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_code(kind.code()), Some(kind));
            assert_eq!(kind.from_controller(), kind.code() < 0x10);
        }
        assert_eq!(Kind::from_code(0x00), None);
        assert_eq!(Kind::from_code(0x04), None);
    }

    #[test]
    fn error_report_text_is_made_acceptable() {
        let id = || RunId::new("r").unwrap();
        let long = "é".repeat(MAX_ERROR_LEN);
        let report = ErrorReport::new(
            id(),
            Region::new("a").unwrap(),
            WorkerId::new("w").unwrap(),
            &format!("bad\u{7}bell\nnext line\t{long}"),
        );
        assert!(report.message.starts_with("bad\u{FFFD}bell\nnext line\t"));
        assert!(report.message.len() <= MAX_ERROR_LEN);
        Message::Error(report).validate().unwrap();
    }

    #[test]
    fn text_checks_name_the_problem() {
        assert_eq!(check_text("", 10, false).unwrap_err(), "is empty");
        assert!(check_text("", 10, true).is_ok());
        assert!(check_text("a\rb", 10, true)
            .unwrap_err()
            .contains("control"));
        assert!(check_text("abcdef", 3, false)
            .unwrap_err()
            .contains("more than 3"));
        assert!(check_hex("ABCDEF", 6).is_err());
        assert!(check_hex("abcdef", 6).is_ok());
    }
}
