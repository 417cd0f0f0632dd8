//! [`Kind`]: which message an envelope carries, as the byte written in its header and as a name
//! for messages and logs.

use std::fmt;

/// The kind byte of the envelope. Controller kinds are `0x0_`, worker kinds `0x1_`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Job,
    Start,
    Stop,
    Ready,
    Snapshot,
    Done,
    Error,
    Heartbeat,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Job,
        Kind::Start,
        Kind::Stop,
        Kind::Ready,
        Kind::Snapshot,
        Kind::Done,
        Kind::Error,
        Kind::Heartbeat,
    ];

    /// The byte written in the envelope.
    pub fn code(self) -> u8 {
        match self {
            Kind::Job => 0x01,
            Kind::Start => 0x02,
            Kind::Stop => 0x03,
            Kind::Ready => 0x11,
            Kind::Snapshot => 0x12,
            Kind::Done => 0x13,
            Kind::Error => 0x14,
            Kind::Heartbeat => 0x15,
        }
    }

    pub fn from_code(code: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Lower-case name for messages and logs.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Job => "job",
            Kind::Start => "start",
            Kind::Stop => "stop",
            Kind::Ready => "ready",
            Kind::Snapshot => "snapshot",
            Kind::Done => "done",
            Kind::Error => "error",
            Kind::Heartbeat => "heartbeat",
        }
    }

    /// Sent by the controller, so it must be signed and carries a validity window and a nonce.
    pub fn from_controller(self) -> bool {
        matches!(self, Kind::Job | Kind::Start | Kind::Stop)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
