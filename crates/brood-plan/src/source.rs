//! The text a scenario came from ([`ScenarioSource`]: its file name, [`Format`] and text), and
//! finding where in it a field path is, so that errors show a line and column.
//!
//! Errors found after parsing (by [`crate::Scenario::check`], or by the compiler once flags are
//! known) carry only a field path. To place them, the text is walked again up to that path and the
//! walk stops with an error there: the format library then reports the position for us, so no
//! second, position-tracking parser is needed.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny};

use crate::error::{scenario_error, FieldPath, Issue, PathPart, PlanError, Position};

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

/// The 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn position_of(text: &str, offset: usize) -> Position {
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
