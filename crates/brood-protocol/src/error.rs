//! [`ProtocolError`]: why a message could not be encoded or decoded, why an id or a key was
//! refused, and why a key file could not be read or written.

use std::io;
use std::path::PathBuf;

use crate::kind::Kind;

/// Everything in this crate that can fail, except a verifier's verdict (that is a
/// [`Rejection`](crate::Rejection), which a worker logs and moves past).
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error(
        "the message is {len} bytes and the limit is {max}; put the payload in the artifact store \
         and send a reference to it"
    )]
    Oversized { len: usize, max: usize },
    #[error("not a brood message: it does not start with the bytes \"BRD\"")]
    BadMagic,
    #[error(
        "protocol version {found} is not supported: this build reads version {supported} only"
    )]
    UnsupportedVersion { found: u16, supported: u16 },
    #[error("unknown message kind {0:#04x}")]
    UnknownKind(u8),
    #[error(
        "the message ends inside its {what}: {needed} bytes are needed and {remaining} remain"
    )]
    Truncated {
        what: &'static str,
        needed: u64,
        remaining: usize,
    },
    #[error(
        "{0} bytes follow the payload; a message ends there or with a 64-byte signature, nothing else"
    )]
    TrailingBytes(usize),
    #[error("the {kind} payload cannot be read: {reason}")]
    Payload { kind: Kind, reason: String },
    #[error("the stats snapshot in a {kind} message cannot be read: {source}")]
    Stats {
        kind: Kind,
        source: brood_stats::DecodeError,
    },
    #[error(
        "a {kind} message carries {len} attachment bytes, but only snapshot messages have one"
    )]
    UnexpectedAttachment { kind: Kind, len: usize },
    #[error("invalid {kind} message: `{field}` {reason}")]
    Invalid {
        kind: Kind,
        field: &'static str,
        reason: String,
    },
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidId {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("the text form is not standard base64: {0}")]
    Base64(String),
    #[error("invalid {what}: {reason}")]
    Key { what: &'static str, reason: String },
    #[error("cannot {action} key file {path}: {source}")]
    KeyFile {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("key file {path} can be read by other users (mode {mode:03o}); run `chmod 600` on it")]
    KeyFilePermissions { path: PathBuf, mode: u32 },
    #[error("the operating system gave no random bytes: {0}")]
    Random(String),
}
