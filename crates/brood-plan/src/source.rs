//! Reading scenario text (YAML or TOML) into a [`Scenario`], and turning what goes wrong into a
//! [`PlanError`] with file, line, column and field path.
//!
//! Errors found after parsing (by [`Scenario::check`], or by the compiler once flags are known)
//! carry only a field path. To place them, the text is walked again up to that path and the
//! walk stops with an error there: the format library then reports the position for us, so no
//! second, position-tracking parser is needed.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny};

use crate::error::{closest, scenario_error, FieldPath, Issue, PathPart, PlanError, Position};
use crate::scenario::Scenario;

/// The language of a scenario file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Toml,
}

impl Format {
    /// The format a file name's extension names: `.yaml`, `.yml` or `.toml`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "toml" => Some(Format::Toml),
            _ => None,
        }
    }
}

/// The text a scenario came from, kept to place errors found after parsing.
pub struct ScenarioSource {
    /// The file name, as errors show it.
    pub label: String,
    pub format: Format,
    pub text: String,
}

impl fmt::Debug for ScenarioSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScenarioSource")
            .field("label", &self.label)
            .field("format", &self.format)
            .field("bytes", &self.text.len())
            .finish()
    }
}

impl ScenarioSource {
    /// The position of the value at `path`, or of its deepest ancestor that exists.
    pub fn locate(&self, path: &FieldPath) -> Option<Position> {
        let probe = Probe { path: &path.0 };
        match self.format {
            Format::Yaml => {
                let de = serde_yaml_ng::Deserializer::from_str(&self.text);
                let err = probe.deserialize(de).err()?;
                err.location().map(|l| Position {
                    line: l.line(),
                    column: l.column(),
                })
            }
            Format::Toml => {
                let de = toml::Deserializer::parse(&self.text).ok()?;
                let err = probe.deserialize(de).err()?;
                err.span().map(|span| position_of(&self.text, span.start))
            }
        }
    }

    /// The error for an issue whose path starts at the document root.
    pub fn error(&self, issue: Issue) -> PlanError {
        let position = self.locate(&issue.path);
        scenario_error(
            &self.label,
            position,
            &issue.path,
            issue.message,
            issue.hint,
        )
    }
}

/// Reads and parses a scenario file, and the feed files it names (relative to its folder); the
/// format comes from the extension.
pub fn load_scenario(path: &Path) -> Result<Scenario, PlanError> {
    let label = path.display().to_string();
    let format = Format::from_path(path).ok_or_else(|| PlanError::UnknownFormat {
        file: label.clone(),
    })?;
    let text = std::fs::read_to_string(path).map_err(|source| PlanError::ReadScenario {
        file: label.clone(),
        source,
    })?;
    let mut scenario = parse_scenario(&text, format, &label)?;
    let dir = path.parent().unwrap_or(Path::new(""));
    scenario.read_feeds(dir)?;
    Ok(scenario)
}

/// Parses scenario text; `file_label` names it in errors.
pub fn parse_scenario(text: &str, format: Format, file_label: &str) -> Result<Scenario, PlanError> {
    let source = Arc::new(ScenarioSource {
        label: file_label.to_string(),
        format,
        text: text.to_string(),
    });
    let parsed = match format {
        Format::Yaml => parse_yaml(&source),
        Format::Toml => parse_toml(&source),
    };
    let mut scenario = parsed?;
    scenario.check().map_err(|issue| source.error(issue))?;
    scenario.source = Some(source);
    Ok(scenario)
}

fn parse_yaml(source: &ScenarioSource) -> Result<Scenario, PlanError> {
    if source.text.trim().is_empty() {
        return Err(scenario_error(
            &source.label,
            None,
            &FieldPath::root(),
            "the scenario is empty".into(),
            None,
        ));
    }
    let de = serde_yaml_ng::Deserializer::from_str(&source.text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = serde_path(err.path());
        let inner = err.into_inner();
        let position = inner.location().map(|l| Position {
            line: l.line(),
            column: l.column(),
        });
        let message = undecorate(inner.to_string(), &path, position);
        placed(source, path, position, &message)
    })
}

/// serde_yaml_ng's message with the path it puts in front and the position it puts behind
/// taken off, since the error shows both in its own way. Its path may be an ancestor of ours.
fn undecorate(mut message: String, path: &FieldPath, position: Option<Position>) -> String {
    if let Some(p) = position {
        message = message.replacen(&format!(" at line {} column {}", p.line, p.column), "", 1);
    }
    for len in (1..=path.0.len()).rev() {
        let prefix = format!("{}: ", FieldPath(path.0[..len].to_vec()));
        if let Some(rest) = message.strip_prefix(&prefix) {
            return rest.to_string();
        }
    }
    message
}

fn parse_toml(source: &ScenarioSource) -> Result<Scenario, PlanError> {
    let de = toml::Deserializer::parse(&source.text).map_err(|err| {
        let position = err.span().map(|s| position_of(&source.text, s.start));
        scenario_error(
            &source.label,
            position,
            &FieldPath::root(),
            err.message().trim().to_string(),
            None,
        )
    })?;
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = serde_path(err.path());
        let inner = err.into_inner();
        let position = inner.span().map(|s| position_of(&source.text, s.start));
        placed(source, path, position, inner.message().trim())
    })
}

/// Builds the error for a failed deserialization at `path`: one of our issues (placed at its
/// own sub-path), or one of serde's messages, reworded where it helps.
fn placed(
    source: &ScenarioSource,
    path: FieldPath,
    position: Option<Position>,
    message: &str,
) -> PlanError {
    if let Some(issue) = Issue::decode(message) {
        let full = path.join(&issue.path);
        // The value being checked may be a whole table, and the issue names a field in it.
        let position = source.locate(&full).or(position);
        return scenario_error(&source.label, position, &full, issue.message, issue.hint);
    }
    let (path, message, hint) = reword(path, message);
    scenario_error(&source.label, position, &path, message, hint)
}

/// Rewords serde's own messages: names in quotes, and a suggestion for a misspelt key.
fn reword(path: FieldPath, message: &str) -> (FieldPath, String, Option<String>) {
    let ticked = |text: &str| -> Vec<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    for (prefix, what) in [("unknown field `", "field"), ("unknown variant `", "value")] {
        if !message.starts_with(prefix) {
            continue;
        }
        let names = ticked(message);
        let Some((found, expected)) = names.split_first() else {
            break;
        };
        // serde_path_to_error already ends the path with the unknown key; add it only when a
        // format did not report it.
        let path = match path.0.last() {
            Some(PathPart::Key(last)) if what == "field" && last != found => path.key(found),
            None if what == "field" => path.key(found),
            _ => path,
        };
        return match closest(found, expected) {
            Some(best) => (
                path,
                format!("unknown {what} {found:?} (did you mean {best:?}?)"),
                None,
            ),
            None if expected.is_empty() => (path, format!("unknown {what} {found:?}"), None),
            None => (
                path,
                format!("unknown {what} {found:?}"),
                Some(format!("expected one of: {}", expected.join(", "))),
            ),
        };
    }
    for (prefix, what) in [
        ("missing field `", "missing field"),
        ("duplicate field `", "duplicate field"),
    ] {
        if message.starts_with(prefix) {
            if let Some(name) = ticked(message).first() {
                return (path, format!("{what} {name:?}"), None);
            }
        }
    }
    (path, message.to_string(), None)
}

fn serde_path(path: &serde_path_to_error::Path) -> FieldPath {
    let segments =
        path.iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => Some(PathPart::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(PathPart::Key(key.clone())),
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
    FieldPath(segments)
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
fn position_of(text: &str, offset: usize) -> Position {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

/// Walks the document along `path` and fails at the value found there, or at the deepest
/// ancestor that exists. The failure carries the position.
struct Probe<'p> {
    path: &'p [PathPart],
}

const FOUND: &str = "found";

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> de::Visitor<'de> for Probe<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if let Some((PathPart::Key(want), rest)) = self.path.split_first() {
            while let Some(key) = map.next_key::<Key>()? {
                if key.0 == *want {
                    return map.next_value_seed(Probe { path: rest });
                }
                map.next_value::<IgnoredAny>()?;
            }
        }
        Err(de::Error::custom(FOUND))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Some((PathPart::Index(want), rest)) = self.path.split_first() {
            let mut index = 0;
            while index < *want {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    return Err(de::Error::custom(FOUND));
                }
                index += 1;
            }
            if seq.next_element_seed(Probe { path: rest })?.is_some() {
                return Ok(());
            }
        }
        Err(de::Error::custom(FOUND))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(FOUND))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(FOUND))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(FOUND))
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
}

/// A map key of any scalar type, as text; other keys never match a path.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        d.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> de::Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
        Ok(Key(String::new()))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Key, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Key(String::new()))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Key, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Key(String::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters() {
        let text = "ab\nçd: x\n";
        assert_eq!(position_of(text, 0), Position { line: 1, column: 1 });
        assert_eq!(position_of(text, 3), Position { line: 2, column: 1 });
        assert_eq!(position_of(text, 7), Position { line: 2, column: 4 });
        assert_eq!(position_of(text, 4), Position { line: 2, column: 1 });
        assert_eq!(position_of(text, 999), Position { line: 3, column: 1 });
    }

    #[test]
    fn probes_yaml_and_toml_paths() {
        let yaml = "a:\n  b:\n    - 1\n    - {c: x}\n";
        let toml = "[a]\nb = [1, { c = \"x\" }]\n";
        let path = FieldPath::root().key("a").key("b").index(1).key("c");
        let at = |format, text: &str| {
            ScenarioSource {
                label: "t".into(),
                format,
                text: text.into(),
            }
            .locate(&path)
        };
        assert_eq!(
            at(Format::Yaml, yaml),
            Some(Position {
                line: 4,
                column: 11
            })
        );
        assert_eq!(
            at(Format::Toml, toml),
            Some(Position {
                line: 2,
                column: 15
            })
        );
        let missing = FieldPath::root().key("a").key("zz");
        let source = ScenarioSource {
            label: "t".into(),
            format: Format::Yaml,
            text: yaml.into(),
        };
        assert_eq!(
            source.locate(&missing),
            Some(Position { line: 2, column: 3 })
        );
    }
}
