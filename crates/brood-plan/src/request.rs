//! One HTTP request as written in a scenario: the `"GET /path"` shorthand or the full table with
//! method, url, name, headers, query, a body, and per-request client settings.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer};

use crate::error::Issue;
use crate::plan::Url;
use crate::scalar::{self, Scalar};

/// A request as the scenario file describes it, before the host and defaults are applied.
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
        }
    }

    /// The stats entry name: the explicit name, else the url as written.
    pub fn entry_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.url)
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

/// The fields of a request table. A shorthand task (`post: /login` with `json:` beside it)
/// fills the same struct from its own fields.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestFields {
    #[serde(default, deserialize_with = "opt_method")]
    pub method: Option<String>,
    #[serde(deserialize_with = "url")]
    pub url: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "headers")]
    pub headers: Vec<(String, String)>,
    #[serde(default, deserialize_with = "pairs")]
    pub query: Vec<(String, String)>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default, deserialize_with = "json")]
    pub json: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "opt_pairs")]
    pub form: Option<Vec<(String, String)>>,
    #[serde(default, deserialize_with = "scalar::opt_positive_duration")]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub follow_redirects: Option<bool>,
    #[serde(default)]
    pub decompress: Option<bool>,
    #[serde(default)]
    pub http2: Option<bool>,
}

impl RequestFields {
    pub fn into_spec(self) -> Result<RequestSpec, Issue> {
        let body = match (self.body, self.json, self.form) {
            (None, None, None) => None,
            (Some(text), None, None) => Some(BodySpec::Text(text)),
            (None, Some(json), None) => Some(BodySpec::Json(json)),
            (None, None, Some(form)) => Some(BodySpec::Form(form)),
            (_, json, _) => {
                let second = if json.is_some() { "json" } else { "form" };
                return Err(
                    Issue::new("a request has one body: `body`, `json` or `form`")
                        .hint("keep one of them")
                        .at_key(second),
                );
            }
        };
        Ok(RequestSpec {
            method: self.method.unwrap_or_else(|| "GET".to_string()),
            url: self.url,
            name: self.name,
            headers: self.headers,
            query: self.query,
            body,
            timeout: self.timeout,
            follow_redirects: self.follow_redirects,
            decompress: self.decompress,
            http2: self.http2,
        })
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

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Checks a request URL as written: a path starting with `/`, or an absolute http(s) URL.
pub(crate) fn url_from_text(text: &str) -> Result<String, Issue> {
    if text.starts_with('/') {
        return Ok(text.to_string());
    }
    if text.contains("://") {
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

fn opt_method<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    method_from_text(&text).map(Some).map_err(Issue::into_de)
}

pub(crate) fn url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    url_from_text(&text).map_err(Issue::into_de)
}

fn json<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
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

struct RequestVisitor;

impl<'de> de::Visitor<'de> for RequestVisitor {
    type Value = RequestSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a request: \"GET /path\" or {method: GET, url: /path}")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RequestSpec, E> {
        shorthand(v).map_err(Issue::into_de)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<RequestSpec, A::Error> {
        RequestFields::deserialize(de::value::MapAccessDeserializer::new(map))?
            .into_spec()
            .map_err(Issue::into_de)
    }
}

impl<'de> Deserialize<'de> for RequestSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RequestSpec, D::Error> {
        d.deserialize_any(RequestVisitor)
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
