//! The crate's one error type, [`PlanError`], and the located [`Issue`]s it is built from.
//!
//! Checks deep inside the scenario model do not know the file name or the position of the value
//! they reject, so they produce an [`Issue`]: a message, an optional hint, and the field path below
//! the value being checked. The parser adds the path from the document root and finds the line and
//! column; the compiler does the same for problems that only show once command-line flags are known.
//!
//! Two helpers that every module reporting errors shares live here too: `scenario_error` builds
//! the error for a file from its parts, and `closest` finds the known name a misspelt one most
//! likely meant, for the "did you mean" of messages.

use std::fmt;

use serde::de;

/// Why a scenario or a command-line value could not become a [`crate::Plan`].
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Something in a scenario file is wrong.
    #[error("{}", DisplayScenario { file, position: *position, path, message, hint: hint.as_deref() })]
    InvalidScenario {
        /// The file name as given, or a label such as `<scenario>` for text from elsewhere.
        file: String,
        /// Where in the file, when it is known.
        position: Option<Position>,
        /// The field path, e.g. `users[0].tasks[1].request.method`; empty for syntax errors.
        path: String,
        message: String,
        hint: Option<String>,
    },
    /// A value given on the command line is wrong; `flag` names it (`--users`, `URL`).
    #[error("{flag}: {message}{}", HintSuffix(hint.as_deref()))]
    InvalidOption {
        flag: String,
        message: String,
        hint: Option<String>,
    },
    /// A stand-alone value (a duration, a threshold) is wrong. [`PlanError::for_flag`] turns this
    /// into [`PlanError::InvalidOption`] once the caller knows which flag the value came from.
    #[error("{message}{}", HintSuffix(hint.as_deref()))]
    InvalidValue {
        message: String,
        hint: Option<String>,
    },
    /// The scenario file could not be read.
    #[error("{file}: cannot read the scenario file: {source}")]
    ReadScenario {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The file name does not say which format the scenario is in.
    #[error("{file}: unknown scenario format (hint: name the file *.yaml, *.yml or *.toml)")]
    UnknownFormat { file: String },
}

impl PlanError {
    /// Names the flag a stand-alone value came from; other errors are returned unchanged.
    pub fn for_flag(self, flag: &str) -> PlanError {
        match self {
            PlanError::InvalidValue { message, hint } => PlanError::InvalidOption {
                flag: flag.to_string(),
                message,
                hint,
            },
            other => other,
        }
    }

    /// The message without its location, path or hint.
    pub fn message(&self) -> String {
        match self {
            PlanError::InvalidScenario { message, .. }
            | PlanError::InvalidOption { message, .. }
            | PlanError::InvalidValue { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// A suggestion for fixing the problem, when there is one.
    pub fn hint(&self) -> Option<&str> {
        match self {
            PlanError::InvalidScenario { hint, .. }
            | PlanError::InvalidOption { hint, .. }
            | PlanError::InvalidValue { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn option(flag: &str, issue: Issue) -> PlanError {
        PlanError::InvalidOption {
            flag: flag.to_string(),
            message: issue.message,
            hint: issue.hint,
        }
    }
}

impl From<Issue> for PlanError {
    /// An issue not tied to a file or a flag: a stand-alone value.
    fn from(issue: Issue) -> PlanError {
        PlanError::InvalidValue {
            message: issue.message,
            hint: issue.hint,
        }
    }
}

/// A 1-based line and column (in characters) in a scenario file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

struct DisplayScenario<'a> {
    file: &'a str,
    position: Option<Position>,
    path: &'a str,
    message: &'a str,
    hint: Option<&'a str>,
}

impl fmt::Display for DisplayScenario<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file)?;
        if let Some(p) = self.position {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        f.write_str(": ")?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}{}", self.message, HintSuffix(self.hint))
    }
}

struct HintSuffix<'a>(Option<&'a str>);

impl fmt::Display for HintSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(hint) => write!(f, " (hint: {hint})"),
            None => Ok(()),
        }
    }
}

/// One step of a field path: a map key or a list index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathPart {
    Key(String),
    Index(usize),
}

/// Where a value sits in the scenario document, e.g. `users[0].tasks[1].request`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<PathPart>);

impl FieldPath {
    pub fn root() -> FieldPath {
        FieldPath(Vec::new())
    }

    pub fn key(mut self, key: &str) -> FieldPath {
        self.0.push(PathPart::Key(key.to_string()));
        self
    }

    pub fn index(mut self, index: usize) -> FieldPath {
        self.0.push(PathPart::Index(index));
        self
    }

    pub fn join(mut self, tail: &FieldPath) -> FieldPath {
        self.0.extend(tail.0.iter().cloned());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for FieldPath {
    /// The same shape serde_yaml_ng gives its paths, so its messages can be recognised.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                PathPart::Key(key) if i == 0 => f.write_str(key)?,
                PathPart::Key(key) => write!(f, ".{key}")?,
                PathPart::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A problem found by a check, before it is placed in a file or tied to a flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// Below the value that was checked; the caller prepends where that value is.
    pub path: FieldPath,
    pub message: String,
    pub hint: Option<String>,
}

/// Serde carries only a message string from a `Deserialize` impl to the parser, so an issue
/// raised while deserializing travels inside that string between these markers. The format
/// libraries may put a path in front and a position behind; the markers survive both.
const START: char = '\u{1e}';
const FIELD: char = '\u{1f}';
const STEP: char = '\u{1d}';

impl Issue {
    pub fn new(message: impl Into<String>) -> Issue {
        Issue {
            path: FieldPath::root(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Issue {
        self.hint = Some(hint.into());
        self
    }

    /// Places the issue below `key` of the value being checked.
    pub fn at_key(mut self, key: &str) -> Issue {
        self.path.0.insert(0, PathPart::Key(key.to_string()));
        self
    }

    /// Places the issue below item `index` of the list being checked.
    pub fn at_index(mut self, index: usize) -> Issue {
        self.path.0.insert(0, PathPart::Index(index));
        self
    }

    /// Places the issue below `prefix`.
    pub fn under(mut self, prefix: &FieldPath) -> Issue {
        self.path = prefix.clone().join(&self.path);
        self
    }

    /// The issue as a serde error, to return from a `Deserialize` impl.
    pub fn into_de<E: de::Error>(self) -> E {
        let mut text = String::new();
        text.push(START);
        for (i, segment) in self.path.0.iter().enumerate() {
            if i > 0 {
                text.push(STEP);
            }
            match segment {
                PathPart::Key(key) => text.push_str(&format!("k{key}")),
                PathPart::Index(index) => text.push_str(&format!("i{index}")),
            }
        }
        text.push(FIELD);
        text.push_str(&self.message);
        text.push(FIELD);
        text.push_str(self.hint.as_deref().unwrap_or(""));
        text.push(START);
        E::custom(text)
    }

    /// Recovers an issue from a serde error message made by [`Issue::into_de`].
    pub fn decode(text: &str) -> Option<Issue> {
        let start = text.find(START)?;
        let rest = &text[start + START.len_utf8()..];
        let inner = &rest[..rest.find(START)?];
        let mut fields = inner.split(FIELD);
        let path_text = fields.next()?;
        let message = fields.next()?.to_string();
        let hint = fields.next().filter(|h| !h.is_empty()).map(str::to_string);
        let mut path = FieldPath::root();
        for step in path_text.split(STEP).filter(|s| !s.is_empty()) {
            let segment = if let Some(key) = step.strip_prefix('k') {
                PathPart::Key(key.to_string())
            } else {
                PathPart::Index(step.strip_prefix('i')?.parse().ok()?)
            };
            path.0.push(segment);
        }
        Some(Issue {
            path,
            message,
            hint,
        })
    }
}

/// The error for an issue in scenario `file`, at `path` and, when known, `position`.
pub(crate) fn scenario_error(
    file: &str,
    position: Option<Position>,
    path: &FieldPath,
    message: String,
    hint: Option<String>,
) -> PlanError {
    PlanError::InvalidScenario {
        file: file.to_string(),
        position,
        path: path.to_string(),
        message,
        hint,
    }
}

/// The known name closest to a misspelt one, if any is close enough to be a likely typo.
pub(crate) fn closest<'a, S: AsRef<str>>(found: &str, known: &'a [S]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(found, k.as_ref()), k.as_ref()))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_survive_a_trip_through_serde_messages() {
        let issue = Issue::new("weight must be at least 1")
            .hint("use fixed_count")
            .at_key("weight")
            .at_index(2);
        let err: serde_json::Error = issue.clone().into_de();
        let wrapped = format!("users: {err} at line 3 column 4");
        assert_eq!(Issue::decode(&wrapped), Some(issue));
        assert_eq!(Issue::decode("plain message"), None);
    }

    #[test]
    fn display_reads_like_a_compiler_message() {
        let err = PlanError::InvalidScenario {
            file: "scenario.yaml".into(),
            position: Some(Position {
                line: 12,
                column: 7,
            }),
            path: "users[0].tasks[1].request.method".into(),
            message: "invalid method \"G ET\"".into(),
            hint: Some("a method is one word".into()),
        };
        assert_eq!(
            err.to_string(),
            "scenario.yaml:12:7: users[0].tasks[1].request.method: invalid method \"G ET\" \
             (hint: a method is one word)"
        );
        let flag = PlanError::from(Issue::new("bad")).for_flag("--users");
        assert_eq!(flag.to_string(), "--users: bad");
        let path = FieldPath::root().key("users").index(0).key("tasks");
        assert_eq!(path.to_string(), "users[0].tasks");
    }

    #[test]
    fn suggests_the_closest_key() {
        let known: Vec<String> = ["name", "weight", "fixed_count"].map(String::from).to_vec();
        assert_eq!(closest("wieght", &known), Some("weight"));
        assert_eq!(closest("fixedcount", &known), Some("fixed_count"));
        assert_eq!(closest("zzz", &known), None);
    }
}
