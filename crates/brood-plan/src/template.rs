//! `{{...}}` templates: parsing a scenario value into [`Template`] parts once, at compile time,
//! and writing a template back in the form it was written in.
//!
//! Inside the braces go a variable name, `env.NAME`, a built-in (`user_id`, `iteration`, `uuid`,
//! `timestamp`, `timestamp_ms`, `random_int(a, b)`), or a string literal: `{{"{{"}}` is how a
//! literal `{{` is written. Spaces next to the braces are allowed. A lone `}}` is plain text.

use std::fmt;

use crate::plan::{Builtin, Template, TemplatePart};

/// The built-ins written without arguments.
pub(crate) const BUILTIN_NAMES: [&str; 5] =
    ["user_id", "iteration", "uuid", "timestamp", "timestamp_ms"];

/// The built-ins called with arguments.
const FUNCTIONS: [&str; 1] = ["random_int"];

/// What may go between the braces, for hints.
pub(crate) const TEMPLATE_HINT: &str = "inside {{ }} write a variable name, env.NAME, user_id, \
     iteration, uuid, timestamp, timestamp_ms or random_int(a, b); write {{\"{{\"}} for a literal {{";

impl Template {
    /// Parses `text`, whose `{{...}}` become holes. Errors name the column (in characters, from 1)
    /// where the problem starts, e.g. `unclosed "{{" at column 7`.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut template = Template::default();
        let mut at = 0;
        while let Some(found) = text[at..].find("{{") {
            let open = at + found;
            template.push_text(&text[at..open]);
            let (hole, end) = hole(text, open)?;
            match hole {
                Hole::Literal(literal) => template.push_text(&literal),
                Hole::Part(part) => template.parts.push(part),
            }
            at = end;
        }
        template.push_text(&text[at..]);
        Ok(template)
    }

    /// A template without holes.
    pub fn literal(text: &str) -> Template {
        let mut template = Template::default();
        template.push_text(text);
        template
    }

    /// Appends text, merging it with text before it, so equal templates have equal parts.
    pub fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(TemplatePart::Text(last)) = self.parts.last_mut() {
            last.push_str(text);
        } else {
            self.parts.push(TemplatePart::Text(text.to_string()));
        }
    }

    /// True when the template has no holes: it renders to the same text every time.
    pub fn is_static(&self) -> bool {
        self.parts
            .iter()
            .all(|p| matches!(p, TemplatePart::Text(_)))
    }

    /// The text of a template without holes.
    pub fn static_text(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                TemplatePart::Text(text) => out.push_str(text),
                _ => return None,
            }
        }
        Some(out)
    }

    /// The variables the template reads, in order, with repeats.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p.hole() {
            TemplatePart::Var(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// The environment variables the template reads, in order, with repeats.
    pub fn env_names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p.hole() {
            TemplatePart::Env(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// The same template with `map` applied to each text part (holes are kept), e.g. to
    /// percent-encode the literal text of a URL once at compile time.
    pub fn map_text(&self, map: impl Fn(&str) -> String) -> Template {
        let mut out = Template::default();
        for part in &self.parts {
            match part {
                TemplatePart::Text(text) => out.push_text(&map(text)),
                hole => out.parts.push(hole.clone()),
            }
        }
        out
    }
}

impl TemplatePart {
    /// The hole itself: a `JsonValue` unwrapped, other parts as they are.
    pub fn hole(&self) -> &TemplatePart {
        match self {
            TemplatePart::JsonValue(inner) => inner.hole(),
            other => other,
        }
    }
}

impl fmt::Display for Template {
    /// The template as it would be written: holes in braces, and a `{` of the text that would
    /// otherwise open a hole written as `{{"{"}}`, so that parsing the output gives the same
    /// template back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.parts.iter().enumerate() {
            let next_opens = match self.parts.get(i + 1) {
                None | Some(TemplatePart::JsonValue(_)) => false,
                Some(TemplatePart::Text(text)) => text.starts_with('{'),
                Some(_) => true,
            };
            match part {
                TemplatePart::Text(text) => write_text(f, text, next_opens)?,
                TemplatePart::JsonValue(inner) => write!(f, "\"{}\"", PartText(inner))?,
                hole => write!(f, "{}", PartText(hole))?,
            }
        }
        Ok(())
    }
}

fn write_text(f: &mut fmt::Formatter<'_>, text: &str, next_opens: bool) -> fmt::Result {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let opens = match chars.peek() {
            Some(next) => *next == '{',
            None => next_opens,
        };
        if c == '{' && opens {
            f.write_str("{{\"{\"}}")?;
        } else {
            write!(f, "{c}")?;
        }
    }
    Ok(())
}

/// One part in its written form.
struct PartText<'a>(&'a TemplatePart);

impl fmt::Display for PartText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            TemplatePart::Text(text) => write_text(f, text, false),
            TemplatePart::Var(name) => write!(f, "{{{{{name}}}}}"),
            TemplatePart::Env(name) => write!(f, "{{{{env.{name}}}}}"),
            TemplatePart::Builtin(b) => write!(f, "{{{{{b}}}}}"),
            TemplatePart::JsonValue(inner) => write!(f, "\"{}\"", PartText(inner)),
        }
    }
}

impl fmt::Display for Builtin {
    /// The built-in as written inside the braces, e.g. `random_int(1, 500)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Builtin::UserId => f.write_str("user_id"),
            Builtin::Iteration => f.write_str("iteration"),
            Builtin::RandomInt { min, max } => write!(f, "random_int({min}, {max})"),
            Builtin::Uuid => f.write_str("uuid"),
            Builtin::Timestamp => f.write_str("timestamp"),
            Builtin::TimestampMs => f.write_str("timestamp_ms"),
        }
    }
}

enum Hole {
    /// A string literal: plain text.
    Literal(String),
    Part(TemplatePart),
}

/// The 1-based column, in characters, of byte `at` of `text`.
fn column(text: &str, at: usize) -> usize {
    text[..at].chars().count() + 1
}

/// Parses the hole opening at byte `open`; returns it and the byte after its `}}`.
fn hole(text: &str, open: usize) -> Result<(Hole, usize), String> {
    if !text[open + 2..].contains("}}") {
        return Err(format!(
            "unclosed \"{{{{\" at column {}",
            column(text, open)
        ));
    }
    let mut at = skip_spaces(text, open + 2);
    let rest = &text[at..];
    let hole = if rest.starts_with('"') {
        let (literal, end) = string_literal(text, at)?;
        at = end;
        Hole::Literal(literal)
    } else {
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(if rest.starts_with("}}") {
                format!(
                    "nothing between \"{{{{\" and \"}}}}\" at column {}",
                    column(text, open)
                )
            } else {
                unexpected(text, at)
            });
        }
        let name = &rest[..len];
        let name_at = at;
        at = skip_spaces(text, at + len);
        if text[at..].starts_with('(') {
            let close = text[at..]
                .find(')')
                .map(|i| at + i)
                .ok_or_else(|| format!("unclosed \"(\" at column {}", column(text, at)))?;
            let part = call(name, &text[at + 1..close])?;
            at = skip_spaces(text, close + 1);
            Hole::Part(part)
        } else {
            Hole::Part(named(name, column(text, name_at))?)
        }
    };
    if !text[at..].starts_with("}}") {
        return Err(if at == text.len() {
            format!("unclosed \"{{{{\" at column {}", column(text, open))
        } else {
            format!(
                "expected \"}}}}\" at column {}, found {:?}",
                column(text, at),
                text[at..].chars().next().unwrap_or(' ')
            )
        });
    }
    Ok((hole, at + 2))
}

fn skip_spaces(text: &str, at: usize) -> usize {
    at + text[at..].len() - text[at..].trim_start_matches([' ', '\t']).len()
}

fn unexpected(text: &str, at: usize) -> String {
    let found = text[at..].chars().next().unwrap_or(' ');
    format!("unexpected {found:?} at column {}", column(text, at))
}

/// A `"..."` literal starting at byte `at`, with `\"` and `\\` escapes.
fn string_literal(text: &str, at: usize) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut chars = text[at + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, at + 1 + i + 1)),
            '\\' => match chars.next() {
                Some((_, escaped @ ('"' | '\\'))) => out.push(escaped),
                _ => {
                    return Err(format!(
                        "unknown escape in string at column {} (only \\\" and \\\\ are escapes)",
                        column(text, at + 1 + i)
                    ))
                }
            },
            c => out.push(c),
        }
    }
    Err(format!("unclosed string at column {}", column(text, at)))
}

pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A name without arguments: an environment variable, a built-in or a user variable.
fn named(name: &str, col: usize) -> Result<TemplatePart, String> {
    if let Some(env) = name.strip_prefix("env.") {
        if is_identifier(env) {
            return Ok(TemplatePart::Env(env.to_string()));
        }
        return Err(format!(
            "invalid environment variable name {env:?} at column {}",
            col + 4
        ));
    }
    let builtin = match name {
        "user_id" => Builtin::UserId,
        "iteration" => Builtin::Iteration,
        "uuid" => Builtin::Uuid,
        "timestamp" => Builtin::Timestamp,
        "timestamp_ms" => Builtin::TimestampMs,
        "random_int" => return Err("random_int needs two numbers, e.g. random_int(1, 100)".into()),
        _ if is_identifier(name) => return Ok(TemplatePart::Var(name.to_string())),
        _ => {
            return Err(format!(
                "invalid variable name {name:?} at column {col} (a name is letters, digits and _, \
                 not starting with a digit)"
            ))
        }
    };
    Ok(TemplatePart::Builtin(builtin))
}

/// A call such as `random_int(1, 500)`; `args` is the text between the parentheses.
fn call(name: &str, args: &str) -> Result<TemplatePart, String> {
    if name != "random_int" {
        if BUILTIN_NAMES.contains(&name) {
            return Err(format!("{name} takes no arguments: write {{{{{name}}}}}"));
        }
        return Err(match crate::error::closest(name, &FUNCTIONS) {
            Some(best) => format!("unknown function {name:?} (did you mean {best:?}?)"),
            None => format!("unknown function {name:?} (the one function is random_int(a, b))"),
        });
    }
    let numbers: Vec<Option<i64>> = args.split(',').map(|a| a.trim().parse().ok()).collect();
    match numbers.as_slice() {
        [Some(min), Some(max)] if min <= max => Ok(TemplatePart::Builtin(Builtin::RandomInt {
            min: *min,
            max: *max,
        })),
        [Some(min), Some(max)] => Err(format!(
            "random_int({min}, {max}): the first number is above the second"
        )),
        _ => Err(format!(
            "random_int needs two whole numbers, e.g. random_int(1, 100), not ({})",
            args.trim()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TemplatePart::{Builtin as B, Env, Text, Var};

    fn text(s: &str) -> TemplatePart {
        Text(s.to_string())
    }

    #[test]
    fn parses_holes() {
        let cases: Vec<(&str, Vec<TemplatePart>)> = vec![
            ("", vec![]),
            ("/plain", vec![text("/plain")]),
            ("{{token}}", vec![Var("token".into())]),
            (
                "/p/{{ random_int(1, 500) }}?x",
                vec![
                    text("/p/"),
                    B(Builtin::RandomInt { min: 1, max: 500 }),
                    text("?x"),
                ],
            ),
            ("{{env.PASS}}", vec![Env("PASS".into())]),
            (
                "{{user_id}}-{{iteration}}",
                vec![B(Builtin::UserId), text("-"), B(Builtin::Iteration)],
            ),
            (
                "{{uuid}}{{timestamp}}{{timestamp_ms}}",
                vec![
                    B(Builtin::Uuid),
                    B(Builtin::Timestamp),
                    B(Builtin::TimestampMs),
                ],
            ),
            ("a{{\"{{\"}}b}}", vec![text("a{{b}}")]),
            ("{{\"a\\\"b\\\\\"}}", vec![text("a\"b\\")]),
            (
                "{{random_int(-5,-5)}}",
                vec![B(Builtin::RandomInt { min: -5, max: -5 })],
            ),
            ("}} { }", vec![text("}} { }")]),
        ];
        for (input, parts) in cases {
            assert_eq!(Template::parse(input), Ok(Template { parts }), "{input}");
        }
    }

    #[test]
    fn reports_mistakes_with_columns() {
        let cases = [
            ("/cart/{{id", "unclosed \"{{\" at column 7"),
            ("{{}}", "nothing between \"{{\" and \"}}\" at column 1"),
            ("ab{{ }}", "nothing between \"{{\" and \"}}\" at column 3"),
            (
                "{{rand_int(1, 2)}}",
                "unknown function \"rand_int\" (did you mean \"random_int\"?)",
            ),
            (
                "{{shout(1)}}",
                "unknown function \"shout\" (the one function is random_int(a, b))",
            ),
            ("{{uuid()}}", "uuid takes no arguments: write {{uuid}}"),
            (
                "{{random_int(1)}}",
                "random_int needs two whole numbers, e.g. random_int(1, 100), not (1)",
            ),
            (
                "{{random_int(9, 1)}}",
                "random_int(9, 1): the first number is above the second",
            ),
            (
                "{{random_int}}",
                "random_int needs two numbers, e.g. random_int(1, 100)",
            ),
            ("{{a b}}", "expected \"}}\" at column 5, found 'b'"),
            ("{{-a}}", "unexpected '-' at column 3"),
            (
                "{{1a}}",
                "invalid variable name \"1a\" at column 3 (a name is letters, digits and _, not starting with a digit)",
            ),
            (
                "{{a.b}}",
                "invalid variable name \"a.b\" at column 3 (a name is letters, digits and _, not starting with a digit)",
            ),
            ("{{env.}}", "invalid environment variable name \"\" at column 7"),
            ("{{\"abc}}", "unclosed string at column 3"),
            (
                "{{\"\\n\"}}",
                "unknown escape in string at column 4 (only \\\" and \\\\ are escapes)",
            ),
            ("{{random_int(1, 2}}", "unclosed \"(\" at column 13"),
            ("é{{x", "unclosed \"{{\" at column 2"),
        ];
        for (input, want) in cases {
            assert_eq!(Template::parse(input), Err(want.to_string()), "{input}");
        }
    }

    #[test]
    fn display_gives_back_what_parses_to_the_same_template() {
        let cases = [
            ("/p/{{ random_int(1, 500) }}", "/p/{{random_int(1, 500)}}"),
            ("{{env.A}}:{{user_id}}", "{{env.A}}:{{user_id}}"),
            ("a{{\"{{\"}}b", "a{{\"{\"}}{b"),
            ("{{\"{\"}}{{x}}", "{{\"{\"}}{{x}}"),
            ("x}}{{y}}}", "x}}{{y}}}"),
        ];
        for (input, shown) in cases {
            let template = Template::parse(input).unwrap();
            assert_eq!(template.to_string(), shown, "{input}");
            assert_eq!(Template::parse(shown), Ok(template), "{input}");
        }
        let json = Template {
            parts: vec![
                text("{\"id\":"),
                TemplatePart::JsonValue(Box::new(Var("id".into()))),
                text("}"),
            ],
        };
        assert_eq!(json.to_string(), "{\"id\":\"{{id}}\"}");
    }

    #[test]
    fn reports_what_it_reads() {
        let t = Template::parse("{{a}}{{env.B}}{{a}}{{uuid}}").unwrap();
        assert_eq!(t.vars().collect::<Vec<_>>(), ["a", "a"]);
        assert_eq!(t.env_names().collect::<Vec<_>>(), ["B"]);
        assert!(!t.is_static() && t.static_text().is_none());
        let plain = Template::literal("x");
        assert!(plain.is_static());
        assert_eq!(plain.static_text().as_deref(), Some("x"));
        let upper = Template::parse("a{{b}}c")
            .unwrap()
            .map_text(|s| s.to_uppercase());
        assert_eq!(upper.to_string(), "A{{b}}C");
    }
}
