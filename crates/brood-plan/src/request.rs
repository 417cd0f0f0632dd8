//! One HTTP request as written in a scenario: the `"GET /path"` shorthand or the full table with
//! method, url, name, headers, query, a body, auth, per-request client settings, and what to
//! check and extract from the response; plus the deserializers of its values.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer};

use crate::error::{FieldPath, Issue};
use crate::plan::{Check, Extract, Url, Wait};
use crate::scalar::Scalar;

/// A request as the scenario file describes it, before the host and defaults are applied.
/// String values may hold `{{...}}` templates; they are parsed when the scenario is compiled.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestSpec {
    /// Upper-case method token.
    pub method: String,
    /// As written: a path relative to the host (`/cart`) or an absolute http(s) URL.
    pub url: String,
    /// The stats entry name; the url as written when `None`.
    pub name: Option<String>,
    pub headers: Vec<(String, String)>,
    /// Query parameters, not yet encoded.
    pub query: Vec<(String, String)>,
    pub body: Option<BodySpec>,
    pub timeout: Option<Duration>,
    pub follow_redirects: Option<bool>,
    pub decompress: Option<bool>,
    pub http2: Option<bool>,
    /// Conditions on the response.
    pub checks: Vec<Check>,
    /// Values taken from the response into variables.
    pub extract: Vec<Extract>,
    /// Replaces the user type's and the defaults' auth; [`AuthSpec::None`] sends none.
    pub auth: Option<AuthSpec>,
    /// Think time after the request.
    pub think: Option<Wait>,
    pub tags: Vec<String>,
    /// How the request was written, to point errors at the right field.
    pub layout: RequestLayout,
}

impl RequestSpec {
    /// A plain request with nothing but a method and a URL.
    pub fn new(method: &str, url: &str) -> RequestSpec {
        RequestSpec {
            method: method.to_string(),
            url: url.to_string(),
            name: None,
            headers: Vec::new(),
            query: Vec::new(),
            body: None,
            timeout: None,
            follow_redirects: None,
            decompress: None,
            http2: None,
            checks: Vec::new(),
            extract: Vec::new(),
            auth: None,
            think: None,
            tags: Vec::new(),
            layout: RequestLayout::Text,
        }
    }

    /// The stats entry name: the explicit name, else the url as written.
    pub fn entry_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.url)
    }
}

/// Which form a request was written in; each puts its fields at different paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestLayout {
    /// `{method: GET, url: /x, ...}`: every field under its own key.
    Table,
    /// `{get: /x, ...}`: the method key holds the url; other fields under their own keys.
    MethodKey(String),
    /// `"GET /x"`: everything is the one string.
    Text,
}

impl RequestLayout {
    /// Where `field` (`url`, `method`, `headers`, ...) sits, relative to the request.
    pub fn field(&self, field: &str) -> FieldPath {
        let here = FieldPath::root();
        match self {
            RequestLayout::Text => here,
            RequestLayout::MethodKey(key) if field == "url" || field == "method" => here.key(key),
            RequestLayout::MethodKey(_) | RequestLayout::Table => here.key(field),
        }
    }
}

/// A request body, exactly one of the file's `body`, `json` and `form`.
#[derive(Clone, Debug, PartialEq)]
pub enum BodySpec {
    /// Sent as written, with no content type unless a header sets one.
    Text(String),
    /// Serialized as JSON, sent as `application/json`.
    Json(serde_json::Value),
    /// Sent as `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
}

/// Credentials sent in the `Authorization` header, as written (values may be templates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthSpec {
    /// `auth: none`: no credentials, even when the user type or the defaults have some.
    None,
    /// `auth: {bearer: TOKEN}`.
    Bearer(String),
    /// `auth: {basic: {username: U, password: P}}`.
    Basic { username: String, password: String },
}

impl AuthSpec {
    /// Where the template of each credential sits, relative to the `auth` field.
    pub fn values(&self) -> Vec<(FieldPath, &str)> {
        match self {
            AuthSpec::None => Vec::new(),
            AuthSpec::Bearer(token) => vec![(FieldPath::root().key("bearer"), token)],
            AuthSpec::Basic { username, password } => {
                let basic = FieldPath::root().key("basic");
                vec![
                    (basic.clone().key("username"), username),
                    (basic.key("password"), password),
                ]
            }
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFields {
    #[serde(default)]
    bearer: Option<String>,
    #[serde(default)]
    basic: Option<BasicFields>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BasicFields {
    username: String,
    password: String,
}

struct AuthVisitor;

impl<'de> de::Visitor<'de> for AuthVisitor {
    type Value = AuthSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{bearer: TOKEN}, {basic: {username: U, password: P}} or none")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<AuthSpec, E> {
        if v.trim().eq_ignore_ascii_case("none") {
            return Ok(AuthSpec::None);
        }
        Err(Issue::new(format!("invalid auth {v:?}"))
            .hint("write {bearer: \"{{token}}\"}, {basic: {username: U, password: P}} or none")
            .into_de())
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<AuthSpec, A::Error> {
        let fields = AuthFields::deserialize(de::value::MapAccessDeserializer::new(map))?;
        match (fields.bearer, fields.basic) {
            (Some(token), None) => Ok(AuthSpec::Bearer(token)),
            (None, Some(b)) => Ok(AuthSpec::Basic {
                username: b.username,
                password: b.password,
            }),
            (Some(_), Some(_)) => Err(Issue::new("`basic` cannot be combined with `bearer`")
                .at_key("basic")
                .into_de()),
            (None, None) => Err(Issue::new("auth needs `bearer` or `basic`")
                .hint("write {bearer: \"{{token}}\"} or {basic: {username: U, password: P}}")
                .into_de()),
        }
    }
}

impl<'de> Deserialize<'de> for AuthSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AuthSpec, D::Error> {
        d.deserialize_any(AuthVisitor)
    }
}

/// Checks an HTTP method (any RFC 7230 token) and upper-cases it.
pub(crate) fn method_from_text(text: &str) -> Result<String, Issue> {
    if !text.is_empty() && text.bytes().all(is_token_byte) {
        return Ok(text.to_ascii_uppercase());
    }
    Err(Issue::new(format!("invalid method {text:?}"))
        .hint("a method is one word of letters, digits or !#$%&'*+-.^_`|~, e.g. GET or POST"))
}

pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Checks a request URL as written: a path starting with `/`, or an absolute http(s) URL.
pub(crate) fn url_from_text(text: &str) -> Result<String, Issue> {
    if text.starts_with('/') {
        return Ok(text.to_string());
    }
    if text.contains("://") {
        let after_scheme = text.find("://").map_or(0, |i| i + 3);
        let authority_end = text[after_scheme..]
            .find(['/', '?'])
            .map_or(text.len(), |i| after_scheme + i);
        if text[..authority_end].contains("{{") {
            return Err(Issue::new(format!(
                "templates may only be in the path and query of a URL, not in {:?}",
                &text[..authority_end]
            ))
            .hint("write the host itself, or leave it out and set `host` or --host"));
        }
        return Url::parse(text)
            .map(|_| text.to_string())
            .map_err(|why| Issue::new(format!("invalid URL {text:?}: {why}")));
    }
    let issue = if text.trim().is_empty() {
        Issue::new("empty URL")
    } else {
        Issue::new(format!(
            "invalid URL {text:?}: relative URLs start with '/'"
        ))
    };
    Err(issue.hint("write a path such as /cart, or a full URL such as http://example.com/cart"))
}

/// Parses the `"METHOD url"` shorthand; a lone URL means `GET`.
pub(crate) fn shorthand(text: &str) -> Result<RequestSpec, Issue> {
    let text = text.trim();
    let (method, url) = match text.split_once(char::is_whitespace) {
        Some((method, url)) => (method_from_text(method)?, url.trim()),
        None => ("GET".to_string(), text),
    };
    Ok(RequestSpec::new(&method, &url_from_text(url)?))
}

pub(crate) fn opt_method<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    method_from_text(&text).map(Some).map_err(Issue::into_de)
}

pub(crate) fn url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    url_from_text(&text).map_err(Issue::into_de)
}

pub(crate) fn json<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    // `json: null` sends the JSON `null`, so a present field is always `Some`.
    serde_json::Value::deserialize(d).map(Some)
}

/// Header maps: names must be tokens and values single lines, or the request line breaks.
pub(crate) fn headers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    let pairs = d.deserialize_map(PairsVisitor { lists: false })?;
    for (name, value) in &pairs {
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(Issue::new(format!("invalid header name {name:?}"))
                .hint("header names are one word, e.g. X-Request-Id")
                .at_key(name)
                .into_de());
        }
        if value.contains(['\r', '\n', '\0']) {
            return Err(
                Issue::new(format!("header {name} has a line break in its value"))
                    .at_key(name)
                    .into_de(),
            );
        }
    }
    Ok(pairs)
}

/// Query and form maps: values are strings, numbers or booleans, or lists of them for repeated
/// keys (`tag: [a, b]` gives `tag=a&tag=b`).
pub(crate) fn pairs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    d.deserialize_map(PairsVisitor { lists: true })
}

/// Maps of one value per name (a user type's `vars`).
pub(crate) fn single_pairs<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<(String, String)>, D::Error> {
    d.deserialize_map(PairsVisitor { lists: false })
}

pub(crate) fn opt_pairs<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<(String, String)>>, D::Error> {
    pairs(d).map(Some)
}

struct PairsVisitor {
    lists: bool,
}

impl<'de> de::Visitor<'de> for PairsVisitor {
    type Value = Vec<(String, String)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of names to values")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(key) = map.next_key::<Scalar>()? {
            let key = key.into_text();
            let values = map.next_value::<Values>()?;
            if values.listed && !self.lists {
                return Err(Issue::new("expected a single value, not a list")
                    .at_key(&key)
                    .into_de());
            }
            out.extend(values.items.into_iter().map(|v| (key.clone(), v)));
        }
        Ok(out)
    }
}

/// One value or a list of values in a header, query or form map.
struct Values {
    items: Vec<String>,
    listed: bool,
}

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Values, D::Error> {
        d.deserialize_any(ValuesVisitor)
    }
}

struct ValuesVisitor;

impl ValuesVisitor {
    fn one(value: String) -> Values {
        Values {
            items: vec![value],
            listed: false,
        }
    }
}

impl<'de> de::Visitor<'de> for ValuesVisitor {
    type Value = Values;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, a number, a boolean, or a list of them")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Values, E> {
        Ok(Self::one(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Values, E> {
        Ok(Self::one(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Values, E> {
        Ok(Self::one(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Values, E> {
        Ok(Self::one(v.to_string()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Values, E> {
        Ok(Self::one(v.to_string()))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Values, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Scalar>()? {
            items.push(item.into_text());
        }
        Ok(Values {
            items,
            listed: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_tokens() {
        assert_eq!(method_from_text("get").unwrap(), "GET");
        assert_eq!(method_from_text("PURGE").unwrap(), "PURGE");
        for bad in ["", "G ET", "GET\n", "GÉT", "a/b"] {
            assert!(method_from_text(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn shorthand_requests() {
        let cases = [
            ("GET /products", "GET", "/products"),
            ("post  /api/login", "POST", "/api/login"),
            ("/about", "GET", "/about"),
            ("DELETE https://h/x?y=1", "DELETE", "https://h/x?y=1"),
        ];
        for (text, method, url) in cases {
            let spec = shorthand(text).unwrap();
            assert_eq!(
                (spec.method.as_str(), spec.url.as_str()),
                (method, url),
                "{text}"
            );
        }
        for bad in ["GET products", "GET", "G(ET /x", "ftp://h/", "GET http://"] {
            assert!(shorthand(bad).is_err(), "{bad:?}");
        }
    }
}
