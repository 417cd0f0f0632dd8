//! Reading scenario text, YAML or TOML, into a [`Scenario`] (and for a file, the feed files it
//! names), and turning what goes wrong into a [`PlanError`] with file, line, column and field path.
//!
//! serde's own messages are reworded on the way (names in quotes, a suggestion for a misspelt
//! key); the issues of the scenario model's own checks are placed at their field.

use std::path::Path;
use std::sync::Arc;

use crate::error::{closest, scenario_error, FieldPath, Issue, PathPart, PlanError, Position};
use crate::feed::{confined, read_table};
use crate::scenario::Scenario;
use crate::shape::{check_shape, Shape};
use crate::source::{position_of, Format, ScenarioSource};

/// Reads and parses a scenario file, and the feed files it names (relative to its folder); the
/// format comes from the extension.
pub fn load_scenario(path: &Path) -> Result<Scenario, PlanError> {
    load_scenario_with_feeds(path, None)
}

/// As [`load_scenario`], with feed files read from `feed_dir` (and below) when it is given
/// instead of the scenario file's folder.
pub fn load_scenario_with_feeds(
    path: &Path,
    feed_dir: Option<&Path>,
) -> Result<Scenario, PlanError> {
    let label = path.display().to_string();
    let format = Format::from_path(path).ok_or_else(|| PlanError::UnknownFormat {
        file: label.clone(),
    })?;
    let text = std::fs::read_to_string(path).map_err(|source| PlanError::ReadScenario {
        file: label.clone(),
        source,
    })?;
    let mut scenario = parse_scenario(&text, format, &label)?;
    let dir = feed_dir.unwrap_or(path.parent().unwrap_or(Path::new("")));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    scenario.read_feeds(dir)?;
    Ok(scenario)
}

/// Parses scenario text; `file_label` names it in errors.
pub fn parse_scenario(text: &str, format: Format, file_label: &str) -> Result<Scenario, PlanError> {
    if let Err(shape) = check_shape(text, format) {
        let position = match &shape {
            Shape::TooDeep { at } => Some(*at),
            Shape::TooBig { .. } => None,
        };
        return Err(scenario_error(
            file_label,
            position,
            &FieldPath::root(),
            shape.message(),
            Some(shape.hint().to_string()),
        ));
    }
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

impl Scenario {
    /// Reads every feed file, relative to `dir` (the scenario file's folder) unless absolute.
    /// [`crate::load_scenario`] calls this; scenarios parsed from text need it before
    /// [`crate::compile()`] when they have feeds.
    pub fn read_feeds(&mut self, dir: &Path) -> Result<(), PlanError> {
        for (u, user) in self.users.iter_mut().enumerate() {
            for (f, feed) in user.feeds.iter_mut().enumerate() {
                let at = FieldPath::root()
                    .key("users")
                    .index(u)
                    .key("feeds")
                    .index(f)
                    .key("file");
                let read = confined(dir, &feed.file)
                    .and_then(|path| {
                        std::fs::read_to_string(path).map_err(|e| {
                            Issue::new(format!("cannot read the feed file {:?}: {e}", feed.file))
                                .hint(format!(
                                    "feed files are read from {} and below",
                                    dir.display()
                                ))
                        })
                    })
                    .and_then(|text| read_table(&text, &feed.file));
                match read {
                    Ok(table) => feed.table = Some(table),
                    Err(issue) => {
                        let issue = issue.under(&at);
                        return Err(match &self.source {
                            Some(source) => source.error(issue),
                            None => scenario_error(
                                "<scenario>",
                                None,
                                &issue.path,
                                issue.message,
                                issue.hint,
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}
