//! Deciding on the worker whether a controller message may be acted on: the [`Verifier`], its
//! verdict [`Rejection`] (said in words for the worker's log), and the [`ReplayGuard`] that
//! refuses a message seen before.
//!
//! The order of the checks matters. The signature comes first, so nothing else about a forged
//! message is believed (not even its expiry), and only messages the controller really sent can
//! occupy the replay guard. The nonce is recorded last, so a message refused for another reason
//! does not use up its nonce.
//!
//! Time comes in as `now_ms` (Unix ms) from the caller; nothing here reads a clock.

use std::collections::HashMap;
use std::fmt;

use brood_plan::Plan;
use ed25519_dalek::VerifyingKey;

use crate::error::ProtocolError;
use crate::kind::Kind;
use crate::message::{Job, Message, Start, Stop, Validity};
use crate::Decoded;

/// How far the worker's clock may be from the controller's, either way: a message is accepted
/// from `issued_ms - CLOCK_SKEW_MS` until `expires_ms + CLOCK_SKEW_MS`.
pub const CLOCK_SKEW_MS: u64 = 30_000;

/// How many nonces a [`ReplayGuard`] made by [`Verifier::new`] holds at most. A worker sees one
/// job and a few control messages per run, so this is far more than any run needs.
pub const DEFAULT_REPLAY_CAPACITY: usize = 4096;

/// Why a worker refused a message. Its `Display` is a sentence for the worker's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// A controller message without a signature.
    Unsigned {
        kind: Kind,
    },
    /// The signature does not match: the message was altered, or another key signed it.
    BadSignature {
        kind: Kind,
    },
    /// A well-signed message of a kind this call does not accept (a start where a job belongs).
    WrongKind {
        expected: &'static str,
        found: Kind,
    },
    Expired {
        expires_ms: u64,
        now_ms: u64,
    },
    NotYetValid {
        issued_ms: u64,
        now_ms: u64,
    },
    Replayed {
        nonce: String,
    },
    /// The replay guard is full of nonces that have not expired yet, so a new one cannot be
    /// remembered; accepting the message anyway would let it be replayed.
    ReplayGuardFull {
        capacity: usize,
    },
    PlanHashMismatch {
        stated: String,
        computed: String,
    },
    /// The plan in the artifact store is not a plan this build reads.
    StoredPlan {
        reason: String,
    },
    WrongVersion {
        found: u16,
        supported: u16,
    },
    Oversized {
        len: usize,
        max: usize,
    },
    /// The bytes are not a well-formed message; the reason says where.
    Malformed {
        reason: String,
    },
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Unsigned { kind } => write!(
                f,
                "{kind} message rejected: it is not signed, and only messages signed by the \
                 controller are acted on"
            ),
            Rejection::BadSignature { kind } => write!(
                f,
                "{kind} message rejected: the signature does not match the controller's key (the \
                 message was altered, or another controller signed it)"
            ),
            Rejection::WrongKind { expected, found } => {
                write!(f, "{found} message rejected: expected {expected}")
            }
            Rejection::Expired { expires_ms, now_ms } => write!(
                f,
                "message rejected: it expired at {expires_ms} and it is now {now_ms} (Unix ms), \
                 beyond the {CLOCK_SKEW_MS} ms allowed for clock skew"
            ),
            Rejection::NotYetValid { issued_ms, now_ms } => write!(
                f,
                "message rejected: it was issued at {issued_ms} and it is now {now_ms} (Unix ms); \
                 the clocks differ by more than the {CLOCK_SKEW_MS} ms allowed"
            ),
            Rejection::Replayed { nonce } => write!(
                f,
                "message rejected: nonce {nonce} was already used (a replayed or duplicated message)"
            ),
            Rejection::ReplayGuardFull { capacity } => write!(
                f,
                "message rejected: {capacity} unexpired nonces are remembered already and no more \
                 fit"
            ),
            Rejection::PlanHashMismatch { stated, computed } => write!(
                f,
                "job rejected: its plan hashes to {computed} but the job says {stated} (the \
                 controller and this worker read plans differently; run the same brood version)"
            ),
            Rejection::StoredPlan { reason } => write!(
                f,
                "job rejected: its plan in the artifact store cannot be read ({reason}; run the \
                 same brood version as the controller)"
            ),
            Rejection::WrongVersion { found, supported } => write!(
                f,
                "message rejected: protocol version {found}, and this worker reads version \
                 {supported} only (run the same brood version as the controller)"
            ),
            Rejection::Oversized { len, max } => write!(
                f,
                "message rejected: {len} bytes, more than the limit of {max}"
            ),
            Rejection::Malformed { reason } => write!(f, "message rejected: {reason}"),
        }
    }
}

impl std::error::Error for Rejection {}

impl From<ProtocolError> for Rejection {
    /// A message that could not even be decoded.
    fn from(error: ProtocolError) -> Rejection {
        match error {
            ProtocolError::UnsupportedVersion { found, supported } => {
                Rejection::WrongVersion { found, supported }
            }
            ProtocolError::Oversized { len, max } => Rejection::Oversized { len, max },
            other => Rejection::Malformed {
                reason: other.to_string(),
            },
        }
    }
}

/// Remembers the nonces of accepted messages until they expire, so each is acted on once.
///
/// Memory is bounded: at most `capacity` nonces. When it is full, expired nonces are dropped;
/// if none has expired, the new message is refused ([`Rejection::ReplayGuardFull`]) rather than
/// an unexpired nonce forgotten.
#[derive(Clone, Debug)]
pub struct ReplayGuard {
    /// Nonce → the Unix ms after which the message is refused as expired anyway.
    seen: HashMap<String, u64>,
    capacity: usize,
}

impl ReplayGuard {
    pub fn new(capacity: usize) -> ReplayGuard {
        ReplayGuard {
            seen: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// Refuses a nonce seen before; otherwise remembers it until `expires_ms` plus the skew
    /// allowance, after which the message would be refused as expired anyway.
    pub fn check_and_remember(
        &mut self,
        nonce: &str,
        expires_ms: u64,
        now_ms: u64,
    ) -> Result<(), Rejection> {
        if self.seen.contains_key(nonce) {
            return Err(Rejection::Replayed {
                nonce: nonce.to_string(),
            });
        }
        if self.seen.len() >= self.capacity {
            self.forget_expired(now_ms);
            if self.seen.len() >= self.capacity {
                return Err(Rejection::ReplayGuardFull {
                    capacity: self.capacity,
                });
            }
        }
        let forget_after = expires_ms.saturating_add(CLOCK_SKEW_MS);
        self.seen.insert(nonce.to_string(), forget_after);
        Ok(())
    }

    /// Drops the nonces whose messages would now be refused as expired.
    pub fn forget_expired(&mut self, now_ms: u64) {
        self.seen.retain(|_, forget_after| now_ms < *forget_after);
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// A verified control message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    Start(Start),
    Stop(Stop),
}

/// Checks controller messages on a worker against the controller's public key, the clock the
/// caller passes in, and the nonces already seen.
#[derive(Debug)]
pub struct Verifier {
    controller_key: VerifyingKey,
    replay: ReplayGuard,
}

impl Verifier {
    /// A verifier with a [`ReplayGuard`] of [`DEFAULT_REPLAY_CAPACITY`].
    pub fn new(controller_key: VerifyingKey) -> Verifier {
        Verifier::with_replay_guard(controller_key, ReplayGuard::new(DEFAULT_REPLAY_CAPACITY))
    }

    pub fn with_replay_guard(controller_key: VerifyingKey, replay: ReplayGuard) -> Verifier {
        Verifier {
            controller_key,
            replay,
        }
    }

    /// The job, if the controller signed it, it is valid at `now_ms`, its nonce is new, and its
    /// plan hashes to its `plan_hash`.
    pub fn verify_job(&mut self, decoded: &Decoded, now_ms: u64) -> Result<Job, Rejection> {
        let job = match self.check_signature(decoded)? {
            Message::Job(job) => job,
            other => {
                return Err(Rejection::WrongKind {
                    expected: "a job",
                    found: other.kind(),
                })
            }
        };
        check_window(job.issued_ms, job.expires_ms, now_ms)?;
        if let Some(plan) = &job.plan {
            check_plan_hash(plan, &job.plan_hash)?;
        }
        self.replay
            .check_and_remember(&job.nonce, job.expires_ms, now_ms)?;
        Ok((**job).clone())
    }

    /// The start or stop, if the controller signed it, it is valid at `now_ms` and its nonce is
    /// new. The caller still checks that its `run_id` is the run this worker is part of.
    pub fn verify_control(&mut self, decoded: &Decoded, now_ms: u64) -> Result<Control, Rejection> {
        let (control, validity) = match self.check_signature(decoded)? {
            Message::Start(start) => (Control::Start(start.clone()), start_validity(start)),
            Message::Stop(stop) => (Control::Stop(stop.clone()), stop_validity(stop)),
            other => {
                return Err(Rejection::WrongKind {
                    expected: "a start or a stop",
                    found: other.kind(),
                })
            }
        };
        check_window(validity.issued_ms, validity.expires_ms, now_ms)?;
        self.replay
            .check_and_remember(validity.nonce, validity.expires_ms, now_ms)?;
        Ok(control)
    }

    /// The message, if it carries a signature by the controller's key over the bytes it was
    /// read from.
    fn check_signature<'d>(&self, decoded: &'d Decoded) -> Result<&'d Message, Rejection> {
        let kind = decoded.kind();
        let (signature, signed) = decoded.signed_parts().ok_or(Rejection::Unsigned { kind })?;
        self.controller_key
            .verify_strict(signed, signature)
            .map_err(|_| Rejection::BadSignature { kind })?;
        Ok(decoded.message())
    }
}

fn start_validity(start: &Start) -> Validity<'_> {
    Validity {
        issued_ms: start.issued_ms,
        expires_ms: start.expires_ms,
        nonce: &start.nonce,
    }
}

fn stop_validity(stop: &Stop) -> Validity<'_> {
    Validity {
        issued_ms: stop.issued_ms,
        expires_ms: stop.expires_ms,
        nonce: &stop.nonce,
    }
}

/// Accepted from `issued_ms - CLOCK_SKEW_MS` until just before `expires_ms + CLOCK_SKEW_MS`.
fn check_window(issued_ms: u64, expires_ms: u64, now_ms: u64) -> Result<(), Rejection> {
    if now_ms.saturating_add(CLOCK_SKEW_MS) < issued_ms {
        return Err(Rejection::NotYetValid { issued_ms, now_ms });
    }
    if now_ms >= expires_ms.saturating_add(CLOCK_SKEW_MS) {
        return Err(Rejection::Expired { expires_ms, now_ms });
    }
    Ok(())
}

/// The plan of a verified job whose plan waits in the artifact store: `bytes` read from
/// [`stored_plan_key`](crate::stored_plan_key), accepted only when they hash to the job's
/// signed `plan_hash`.
pub fn read_stored_plan(bytes: &[u8], plan_hash: &str) -> Result<Plan, Rejection> {
    let plan: Plan = serde_json::from_slice(bytes).map_err(|e| Rejection::StoredPlan {
        reason: e.to_string(),
    })?;
    check_plan_hash(&plan, plan_hash)?;
    Ok(plan)
}

fn check_plan_hash(plan: &Plan, stated: &str) -> Result<(), Rejection> {
    let computed = crate::plan_hash(plan);
    if computed != stated {
        return Err(Rejection::PlanHashMismatch {
            stated: stated.to_string(),
            computed,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_refuses_a_nonce_twice_and_forgets_it_after_expiry() {
        let mut guard = ReplayGuard::new(8);
        guard.check_and_remember("a", 1_000, 0).unwrap();
        assert_eq!(
            guard.check_and_remember("a", 1_000, 10),
            Err(Rejection::Replayed {
                nonce: "a".to_string()
            })
        );
        guard.forget_expired(1_000 + CLOCK_SKEW_MS - 1);
        assert_eq!(guard.len(), 1);
        guard.forget_expired(1_000 + CLOCK_SKEW_MS);
        assert!(guard.is_empty());
    }

    #[test]
    fn a_full_guard_drops_expired_nonces_and_refuses_rather_than_forget_live_ones() {
        let mut guard = ReplayGuard::new(2);
        guard.check_and_remember("a", 100, 0).unwrap();
        guard.check_and_remember("b", 1_000_000, 0).unwrap();
        assert_eq!(
            guard.check_and_remember("c", 1_000_000, 50),
            Err(Rejection::ReplayGuardFull { capacity: 2 })
        );
        // Once "a" has expired there is room again.
        guard
            .check_and_remember("c", 1_000_000, 100 + CLOCK_SKEW_MS)
            .unwrap();
        assert_eq!(guard.len(), 2);
        assert!(guard.check_and_remember("b", 1_000_000, 200).is_err());
    }

    #[test]
    fn decode_errors_become_rejections_with_their_reason() {
        let version = Rejection::from(ProtocolError::UnsupportedVersion {
            found: 7,
            supported: 1,
        });
        assert_eq!(
            version,
            Rejection::WrongVersion {
                found: 7,
                supported: 1
            }
        );
        assert!(version.to_string().contains("protocol version 7"));
        let malformed = Rejection::from(ProtocolError::BadMagic);
        assert!(
            malformed.to_string().contains("does not start with"),
            "{malformed}"
        );
    }
}
