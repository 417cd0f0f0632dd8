//! The documented exit codes (see `brood --help`).

use std::process::ExitCode;

/// Why brood exits, most serious first when several apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Requests failed; the code is the user's `--exit-code-on-error`.
    RequestsFailed(u8),
    InvalidInput,
    ThresholdsFailed,
    /// No request completed (in the whole run, or in one of its regions): nothing was measured,
    /// so nothing passed.
    NoLoad,
    Infrastructure,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::RequestsFailed(code) => code,
            Outcome::InvalidInput => 2,
            Outcome::ThresholdsFailed => 3,
            Outcome::NoLoad => 4,
            Outcome::Infrastructure => 5,
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> ExitCode {
        ExitCode::from(o.code())
    }
}
