//! Versioned, signed wire messages between brood's controller and its workers: jobs and control
//! messages one way (signed with the controller's Ed25519 key), readiness, stats, results and
//! heartbeats the other (strictly checked, not signed).
//!
//! The path through the crate: build a [`Message`], [`encode`] it (or [`encode_text`] for a
//! queue that carries text) with the controller's key when it is a job, start or stop; on the
//! other side [`decode`] (or [`decode_text`]) gives a [`Decoded`], and a worker hands that to its
//! [`Verifier`], which returns the [`Job`] or [`Control`] or a [`Rejection`] to log.
//!
//! Invariant: no I/O but the key file helpers, no clock (time comes in as `now_ms`), no async
//! runtime, no network or cloud crate. Bad input is an error, never a panic.
//!
//! The rest of this page is the wire format, every message and field, and the versioning rule.
//!
#![doc = include_str!("../README.md")]

mod canonical;
mod envelope;
mod error;
mod id;
mod keys;
mod kind;
mod message;
mod verify;

pub use canonical::{canonical_plan_bytes, plan_hash};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use envelope::{
    decode, decode_text, encode, encode_text, Decoded, HEADER_LEN, MAGIC, MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
};
pub use error::ProtocolError;
pub use id::{Region, RunId, WorkerId, MAX_ID_LEN};
pub use keys::{
    generate_key_pair, generate_signing_key, load_secret_key, new_nonce, public_key_from_hex,
    public_key_to_hex, save_secret_key, secret_key_from_hex, secret_key_to_hex,
};
pub use kind::Kind;
pub use message::{
    stored_plan_key, Done, ErrorReport, Health, Heartbeat, Job, Message, Ready, SnapshotReport,
    Start, Stop, Validity, MAX_ERROR_LEN, MAX_HOST_LEN, MAX_LOCATION_LEN, NONCE_HEX_LEN,
    PLAN_HASH_HEX_LEN,
};
pub use verify::{
    read_stored_plan, Control, Rejection, ReplayGuard, Verifier, CLOCK_SKEW_MS,
    DEFAULT_REPLAY_CAPACITY,
};
