//! What a request does with its response: the `check` table (status, body, JSON, header and
//! time conditions) and the `extract` table (values taken into variables), read straight into
//! the plan's [`Check`] and [`Extract`] with every pattern and pointer checked on the way.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer};

use crate::error::Issue;
use crate::plan::{Check, Extract, ExtractFrom};
use crate::request;
use crate::scalar::{self, Scalar};
use crate::template::{is_identifier, BUILTIN_NAMES};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFields {
    #[serde(default, deserialize_with = "statuses")]
    status: Option<Vec<(u16, u16)>>,
    #[serde(default, deserialize_with = "strings")]
    body_contains: Vec<String>,
    #[serde(default, deserialize_with = "patterns")]
    body_matches: Vec<String>,
    #[serde(default, deserialize_with = "json_checks")]
    json: Vec<Check>,
    #[serde(default, deserialize_with = "request::headers")]
    header: Vec<(String, String)>,
    #[serde(default, deserialize_with = "scalar::opt_duration")]
    response_time_below: Option<Duration>,
}

/// The `check` table of a request, as a list of checks (status first, then headers, time,
/// body and JSON conditions).
pub(crate) fn opt_checks<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Check>>, D::Error> {
    let fields = CheckFields::deserialize(d)?;
    let mut checks = Vec::new();
    if let Some(ranges) = fields.status {
        checks.push(Check::Status(ranges));
    }
    checks.extend(
        fields
            .header
            .into_iter()
            .map(|(name, value)| Check::HeaderEquals { name, value }),
    );
    checks.extend(fields.response_time_below.map(Check::ResponseTimeBelow));
    checks.extend(fields.body_contains.into_iter().map(Check::BodyContains));
    checks.extend(fields.body_matches.into_iter().map(Check::BodyMatches));
    checks.extend(fields.json);
    Ok(Some(checks))
}

const STATUS_HINT: &str =
    "write a status (200), a class (2xx), a range (200-299), or a list of them";

/// Parses one status item: `200`, `2xx` or `200-299`.
pub(crate) fn status_range(text: &str) -> Result<(u16, u16), Issue> {
    let text = text.trim();
    let invalid =
        |why: &str| Issue::new(format!("invalid status {text:?}: {why}")).hint(STATUS_HINT);
    let code = |t: &str| -> Result<u16, Issue> {
        match t.trim().parse::<u16>() {
            Ok(n) if (100..=599).contains(&n) => Ok(n),
            Ok(_) => Err(invalid("status codes run from 100 to 599")),
            Err(_) => Err(invalid("not a number")),
        }
    };
    let lower = text.to_ascii_lowercase();
    if let Some(class) = lower.strip_suffix("xx") {
        return match class.parse::<u16>() {
            Ok(c @ 1..=5) => Ok((c * 100, c * 100 + 99)),
            _ => Err(invalid("classes run from 1xx to 5xx")),
        };
    }
    if let Some((lo, hi)) = text.split_once('-') {
        let (lo, hi) = (code(lo)?, code(hi)?);
        if lo > hi {
            return Err(invalid("the range ends before it starts"));
        }
        return Ok((lo, hi));
    }
    code(text).map(|c| (c, c))
}

fn statuses<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<(u16, u16)>>, D::Error> {
    let ScalarList(items, listed) = ScalarList::deserialize(d)?;
    if items.is_empty() {
        return Err(Issue::new("no status given").hint(STATUS_HINT).into_de());
    }
    let mut ranges = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let range = status_range(&item.into_text()).map_err(|issue| {
            let issue = if listed { issue.at_index(i) } else { issue };
            issue.into_de()
        })?;
        ranges.push(range);
    }
    Ok(Some(ranges))
}

/// A scalar or a list of scalars (`true` when written as a list, so issues name the item).
struct ScalarList(Vec<Scalar>, bool);

impl<'de> Deserialize<'de> for ScalarList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ScalarList, D::Error> {
        d.deserialize_any(ScalarListVisitor)
    }
}

struct ScalarListVisitor;

impl<'de> de::Visitor<'de> for ScalarListVisitor {
    type Value = ScalarList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or a list of values")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ScalarList, E> {
        Ok(ScalarList(vec![Scalar::Text(v.to_string())], false))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ScalarList, E> {
        Ok(ScalarList(vec![Scalar::Text(v.to_string())], false))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ScalarList, E> {
        Ok(ScalarList(vec![Scalar::Text(v.to_string())], false))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<ScalarList, E> {
        Ok(ScalarList(vec![Scalar::Text(v.to_string())], false))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<ScalarList, E> {
        Ok(ScalarList(vec![Scalar::Bool(v)], false))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<ScalarList, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Scalar>()? {
            items.push(item);
        }
        Ok(ScalarList(items, true))
    }
}

fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(ScalarList::deserialize(d)?
        .0
        .into_iter()
        .map(Scalar::into_text)
        .collect())
}

fn patterns<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let ScalarList(items, listed) = ScalarList::deserialize(d)?;
    let list: Vec<String> = items.into_iter().map(Scalar::into_text).collect();
    for (i, pattern) in list.iter().enumerate() {
        if let Err(issue) = compile_regex(pattern) {
            let issue = if listed { issue.at_index(i) } else { issue };
            return Err(issue.into_de());
        }
    }
    Ok(list)
}

/// Compiles a pattern as the engine will, and returns how many capture groups it has.
pub(crate) fn compile_regex(pattern: &str) -> Result<usize, Issue> {
    match regex::Regex::new(pattern) {
        Ok(re) => Ok(re.captures_len() - 1),
        Err(regex::Error::Syntax(text)) => {
            // The library's message draws the pattern with a caret; its last line says why.
            let why = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid")
                .trim()
                .trim_start_matches("error: ");
            Err(Issue::new(format!("invalid regex {pattern:?}: {why}"))
                .hint("patterns use Rust regex syntax, e.g. \"id\":\\s*(\\d+)"))
        }
        Err(_) => Err(Issue::new(format!("the regex {pattern:?} is too large"))),
    }
}

/// Checks an RFC 6901 JSON pointer: empty (the whole document) or `/`-separated tokens in which
/// `~` is only used as `~0` or `~1`.
pub(crate) fn json_pointer(pointer: &str) -> Result<(), Issue> {
    let hint = "a JSON pointer starts with / and names keys or indexes, e.g. /items/0/id (empty for the whole body)";
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(Issue::new(format!(
            "invalid JSON pointer {pointer:?}: it must start with \"/\""
        ))
        .hint(hint));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(Issue::new(format!(
                "invalid JSON pointer {pointer:?}: \"~\" must be followed by 0 or 1"
            ))
            .hint("write ~1 for a / in a key and ~0 for a ~"));
        }
    }
    Ok(())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonCheckFields {
    #[serde(default)]
    exists: Option<bool>,
    #[serde(default, deserialize_with = "request::json")]
    equals: Option<serde_json::Value>,
}

fn json_checks<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Check>, D::Error> {
    d.deserialize_map(JsonChecksVisitor)
}

struct JsonChecksVisitor;

impl<'de> de::Visitor<'de> for JsonChecksVisitor {
    type Value = Vec<Check>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of JSON pointers to {exists: true} or {equals: VALUE}")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Vec<Check>, A::Error> {
        let mut checks = Vec::new();
        while let Some(pointer) = map.next_key::<String>()? {
            let fields = map.next_value::<JsonCheckFields>()?;
            json_pointer(&pointer).map_err(|issue| issue.at_key(&pointer).into_de())?;
            match (fields.exists, fields.equals) {
                (Some(false), _) => {
                    return Err(Issue::new("`exists: false` cannot be checked")
                        .hint("check that the value exists, or that it `equals` something")
                        .at_key(&pointer)
                        .into_de())
                }
                (None, None) => {
                    return Err(Issue::new("give `exists: true` or `equals: VALUE`")
                        .at_key(&pointer)
                        .into_de())
                }
                (_, Some(value)) => checks.push(Check::JsonEquals {
                    pointer: pointer.clone(),
                    value,
                }),
                (Some(true), None) => checks.push(Check::JsonExists(pointer.clone())),
            }
        }
        Ok(checks)
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtractFields {
    #[serde(default)]
    json: Option<String>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    group: Option<usize>,
    #[serde(default)]
    header: Option<String>,
    #[serde(default)]
    cookie: Option<String>,
}

impl ExtractFields {
    fn into_source(self) -> Result<ExtractFrom, Issue> {
        let given: Vec<&str> = [
            ("json", self.json.is_some()),
            ("regex", self.regex.is_some()),
            ("header", self.header.is_some()),
            ("cookie", self.cookie.is_some()),
        ]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(k, _)| *k)
        .collect();
        let hint =
            "take a value from one of json: /pointer, regex: PATTERN, header: NAME or cookie: NAME";
        if let [first, second, ..] = given.as_slice() {
            return Err(
                Issue::new(format!("`{second}` cannot be combined with `{first}`"))
                    .hint(hint)
                    .at_key(second),
            );
        }
        if self.group.is_some() && self.regex.is_none() {
            return Err(Issue::new("`group` belongs to `regex`").at_key("group"));
        }
        if let Some(pointer) = self.json {
            json_pointer(&pointer).map_err(|i| i.at_key("json"))?;
            return Ok(ExtractFrom::Json(pointer));
        }
        if let Some(pattern) = self.regex {
            let groups = compile_regex(&pattern).map_err(|i| i.at_key("regex"))?;
            let group = self.group.unwrap_or(usize::from(groups > 0));
            if group > groups {
                return Err(Issue::new(format!(
                    "the pattern has {groups} capture group(s), so there is no group {group}"
                ))
                .hint("group 0 is the whole match, 1 the first (...)")
                .at_key("group"));
            }
            return Ok(ExtractFrom::Regex { pattern, group });
        }
        if let Some(name) = self.header {
            if name.is_empty() || !name.bytes().all(request::is_token_byte) {
                return Err(Issue::new(format!("invalid header name {name:?}")).at_key("header"));
            }
            return Ok(ExtractFrom::Header(name));
        }
        match self.cookie {
            Some(name) if name.trim().is_empty() => {
                Err(Issue::new("empty cookie name").at_key("cookie"))
            }
            Some(name) => Ok(ExtractFrom::Cookie(name)),
            None => Err(Issue::new("nothing to extract from").hint(hint)),
        }
    }
}

/// Checks the name of a variable a scenario defines.
pub(crate) fn var_name(name: &str) -> Result<(), Issue> {
    if !is_identifier(name) {
        return Err(Issue::new(format!("invalid variable name {name:?}"))
            .hint("a name is letters, digits and _, not starting with a digit"));
    }
    if BUILTIN_NAMES.contains(&name) || name == "env" || name == "random_int" {
        return Err(Issue::new(format!(
            "{name:?} is a built-in name; pick another variable name"
        )));
    }
    Ok(())
}

pub(crate) fn opt_extract<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<Extract>>, D::Error> {
    d.deserialize_map(ExtractVisitor).map(Some)
}

struct ExtractVisitor;

impl<'de> de::Visitor<'de> for ExtractVisitor {
    type Value = Vec<Extract>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of variable names to {json: /pointer}, {regex: PATTERN}, {header: NAME} or {cookie: NAME}")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Vec<Extract>, A::Error> {
        let mut out = Vec::new();
        while let Some(var) = map.next_key::<String>()? {
            let fields = map.next_value::<ExtractFields>()?;
            var_name(&var).map_err(|i| i.at_key(&var).into_de())?;
            let from = fields.into_source().map_err(|i| i.at_key(&var).into_de())?;
            out.push(Extract { var, from });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_items() {
        let cases = [
            ("200", Ok((200, 200))),
            ("2xx", Ok((200, 299))),
            ("5XX", Ok((500, 599))),
            (" 200-204 ", Ok((200, 204))),
        ];
        for (text, want) in cases {
            assert_eq!(status_range(text).map_err(|i| i.message), want, "{text}");
        }
        for (text, why) in [
            ("600", "status codes run from 100 to 599"),
            ("99", "status codes run from 100 to 599"),
            ("6xx", "classes run from 1xx to 5xx"),
            ("299-200", "the range ends before it starts"),
            ("ok", "not a number"),
        ] {
            let issue = status_range(text).unwrap_err();
            assert!(issue.message.ends_with(why), "{text}: {}", issue.message);
        }
    }

    #[test]
    fn pointers_and_patterns() {
        for ok in ["", "/", "/a/0", "/a~1b/~0"] {
            assert!(json_pointer(ok).is_ok(), "{ok}");
        }
        for bad in ["a", "/a~", "/a~2"] {
            assert!(json_pointer(bad).is_err(), "{bad}");
        }
        assert_eq!(compile_regex(r"(\d+)-(\d+)"), Ok(2));
        let err = compile_regex("(").unwrap_err();
        assert_eq!(err.message, "invalid regex \"(\": unclosed group");
        assert!(var_name("uuid").is_err() && var_name("1a").is_err() && var_name("_ok").is_ok());
    }
}
