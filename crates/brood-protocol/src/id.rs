//! Identifier newtypes: [`RunId`], [`WorkerId`] and [`Region`], each checked when made and when
//! read from the wire.
//!
//! They end up in queue names, artifact keys and file paths, so the alphabet is the one all of
//! those accept unescaped: 1 to 64 characters of `A-Z a-z 0-9 . _ -`, and not `.` or `..` alone
//! (which a path would read as a directory).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ProtocolError;

/// The longest identifier accepted, in characters (all ASCII, so also bytes).
pub const MAX_ID_LEN: usize = 64;

fn check(what: &'static str, value: &str) -> Result<(), ProtocolError> {
    let reason = if value.is_empty() {
        Some("it is empty")
    } else if value.len() > MAX_ID_LEN {
        Some("it is longer than 64 characters")
    } else if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Some("only letters, digits, '.', '_' and '-' are allowed")
    } else if value == "." || value == ".." {
        Some("it would name a directory in a path")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ProtocolError::InvalidId {
            what,
            value: value.chars().take(80).collect(),
            reason,
        }),
        None => Ok(()),
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `value` against the identifier rules of the module docs.
            pub fn new(value: impl Into<String>) -> Result<$name, ProtocolError> {
                let value = value.into();
                check($what, &value)?;
                Ok($name(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = ProtocolError;
            fn from_str(s: &str) -> Result<$name, ProtocolError> {
                $name::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ProtocolError;
            fn try_from(value: String) -> Result<$name, ProtocolError> {
                $name::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// One distributed run, e.g. `20250612-140301-k3f9`. Every message names the run it belongs
    /// to, so a worker can drop messages of runs it is not part of.
    RunId,
    "run id"
);
id_type!(
    /// One worker process, as the fleet named it (an instance id, a process id).
    WorkerId,
    "worker id"
);
id_type!(
    /// A region's name as the fleet knows it, e.g. `eu-west-1` or `local-a`.
    Region,
    "region"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        for ok in ["a", "eu-west-1", "i-0abc.DEF_9", &"x".repeat(64), "..a"] {
            assert_eq!(RunId::new(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_everything_else_with_a_reason() {
        for bad in ["", &"x".repeat(65), "a b", "a/b", "é", ".", "..", "a\n"] {
            let err = Region::new(bad).unwrap_err();
            assert!(err.to_string().starts_with("invalid region"), "{err}");
        }
    }

    #[test]
    fn serde_validates_and_round_trips() {
        let id = WorkerId::new("w-1").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"w-1\"");
        assert_eq!(serde_json::from_str::<WorkerId>(&json).unwrap(), id);
        let err = serde_json::from_str::<WorkerId>("\"../etc\"").unwrap_err();
        assert!(err.to_string().contains("invalid worker id"), "{err}");
        assert_eq!("w-1".parse::<WorkerId>().unwrap().to_string(), "w-1");
    }
}
