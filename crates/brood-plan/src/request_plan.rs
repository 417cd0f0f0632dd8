//! One [`RequestPlan`] from a [`RequestSpec`]: URL, query, headers, body and auth, each static
//! where the file wrote plain text and templated where it wrote `{{...}}`.
//!
//! A request without a hole keeps `template: None`, so the engine serializes it once. A request
//! with holes gets a [`RequestTemplate`] with every templated part, and its static fields hold
//! the same parts with the holes as written (`{{token}}`), for display. Literal text of a
//! template is encoded here, once, for where it goes (URL, query, form, JSON); the engine only
//! escapes the values it inserts.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::error::{closest, FieldPath, Issue};
use crate::options::DEFAULT_TIMEOUT;
use crate::plan::{
    Auth, Body, BodyTemplate, RequestPlan, RequestTemplate, Template, TemplatePart, Url,
};
use crate::request::{AuthSpec, BodySpec, RequestSpec};
use crate::scenario::RequestDefaults;
use crate::template::{BUILTIN_NAMES, TEMPLATE_HINT};
use crate::url::{encode_component, encode_uri, Space};

/// The variables a user type defines, to check every `{{name}}` its requests use.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    /// Every name: `vars`, feed columns and extracted variables.
    pub defined: BTreeSet<String>,
    /// Names set before any request runs: `vars` and feed columns.
    pub preset: HashSet<String>,
    /// How many requests of the type extract each name.
    pub extracted: HashMap<String, usize>,
}

impl Scope {
    fn check(&self, var: &str) -> Result<(), Issue> {
        if self.defined.contains(var) {
            return Ok(());
        }
        let mut known: Vec<&str> = self.defined.iter().map(String::as_str).collect();
        known.extend(BUILTIN_NAMES);
        let message = match closest(var, &known) {
            Some(best) => format!("unknown variable {var:?} (did you mean {best:?}?)"),
            None => format!("unknown variable {var:?}"),
        };
        Err(Issue::new(message)
            .hint("define it in the user type's `vars`, as a feed column, or with `extract`"))
    }
}

/// What a request gets from around it.
pub(crate) struct Context<'a> {
    pub host: Option<&'a Url>,
    pub defaults: &'a RequestDefaults,
    /// `--http2`, which beats the file.
    pub http2: Option<bool>,
    pub scope: &'a Scope,
    /// The user type's auth and where it is written.
    pub user_auth: Option<(&'a AuthSpec, FieldPath)>,
}

/// A request being built: its templated parts, and the variables they read.
struct Build<'a> {
    ctx: &'a Context<'a>,
    template: RequestTemplate,
    templated: bool,
    used: Vec<String>,
}

pub(crate) fn build(
    ctx: &Context<'_>,
    spec: &RequestSpec,
    at: &FieldPath,
    entry: usize,
) -> Result<RequestPlan, Issue> {
    let field = |name: &str| at.clone().join(&spec.layout.field(name));
    let mut b = Build {
        ctx,
        template: RequestTemplate {
            url: Template::default(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            auth: None,
        },
        templated: false,
        used: Vec::new(),
    };
    let url = b.url(spec, &field("url"), &field("query"))?;
    let mut headers = b.headers(spec, &field("headers"))?;
    b.auth(spec, &field("auth"), &mut headers)?;
    let content_type = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .filter(|v| !v.contains("{{"));
    let body = match &spec.body {
        None => None,
        Some(body) => Some(b.body(body, content_type, &field)?),
    };
    b.own_extracts(spec, at)?;
    if b.templated && b.template.url.parts.is_empty() {
        // Only other parts are templated: the URL goes as it is, path and query together.
        b.template.url = Template::literal(&url.path_and_query);
    }
    let defaults = ctx.defaults;
    Ok(RequestPlan {
        entry,
        method: spec.method.clone(),
        url,
        headers,
        body,
        timeout: spec.timeout.or(defaults.timeout).unwrap_or(DEFAULT_TIMEOUT),
        follow_redirects: spec
            .follow_redirects
            .or(defaults.follow_redirects)
            .unwrap_or(true),
        decompress: spec.decompress.or(defaults.decompress).unwrap_or(true),
        http2: ctx.http2.or(spec.http2).or(defaults.http2).unwrap_or(false),
        template: b.templated.then_some(b.template),
        checks: spec.checks.clone(),
        extract: spec.extract.clone(),
    })
}

impl Build<'_> {
    /// Parses a value of the file and checks the variables it reads.
    fn parse(&mut self, text: &str, at: &FieldPath) -> Result<Template, Issue> {
        let template = Template::parse(text).map_err(|why| {
            Issue::new(format!("invalid template {text:?}: {why}"))
                .hint(TEMPLATE_HINT)
                .under(at)
        })?;
        for var in template.vars() {
            self.ctx.scope.check(var).map_err(|i| i.under(at))?;
            self.used.push(var.to_string());
        }
        Ok(template)
    }

    fn url(
        &mut self,
        spec: &RequestSpec,
        at: &FieldPath,
        query_at: &FieldPath,
    ) -> Result<Url, Issue> {
        // Checked again here for scenarios built in code, before the variables it reads.
        crate::request::url_from_text(&spec.url).map_err(|i| i.under(at))?;
        let written = self.parse(&spec.url, at)?;
        let mut query = Vec::with_capacity(spec.query.len());
        for (key, value) in &spec.query {
            let value = self.parse(value, &query_at.clone().key(key))?;
            query.push((key.clone(), value));
        }
        let static_query: Option<Vec<(String, String)>> = query
            .iter()
            .map(|(k, v)| v.static_text().map(|v| (k.clone(), v)))
            .collect();
        if let (Some(url), Some(pairs)) = (written.static_text(), static_query) {
            return Ok(self
                .resolve(&url)
                .map_err(|i| i.under(at))?
                .with_query(&pairs));
        }
        self.templated = true;
        let (origin, path) = self
            .split_origin(&spec.url, &written)
            .map_err(|i| i.under(at))?;
        let path = path.map_text(encode_uri);
        let query: Vec<(String, Template)> = query
            .into_iter()
            .map(|(k, v)| (k, v.map_text(|t| encode_component(t, Space::Percent))))
            .collect();
        let mut shown = path.to_string();
        for (key, value) in &query {
            shown.push(if shown.contains('?') { '&' } else { '?' });
            shown.push_str(&format!(
                "{}={value}",
                encode_component(key, Space::Percent)
            ));
        }
        self.template.url = path;
        self.template.query = query;
        Ok(Url {
            path_and_query: shown,
            ..origin
        })
    }

    fn resolve(&self, url: &str) -> Result<Url, Issue> {
        if !url.starts_with('/') {
            return Url::parse(url)
                .map_err(|why| Issue::new(format!("invalid URL {url:?}: {why}")));
        }
        match self.ctx.host {
            Some(host) => Ok(host.join(url)),
            None => Err(Issue::new(format!("the relative URL {url:?} needs a host"))
                .hint("set `host` in the scenario or pass --host")),
        }
    }

    /// The origin of a templated URL, and its path and query as a template that includes the
    /// host's base path. Holes may only be in the path and query.
    fn split_origin(&self, text: &str, written: &Template) -> Result<(Url, Template), Issue> {
        let mut path = Template::default();
        if text.starts_with('/') {
            let origin = self.resolve("/")?;
            let base = origin.path_and_query.trim_end_matches('/').to_string();
            path.push_text(&base);
            path.parts.extend(written.parts.iter().cloned());
            return Ok((origin, without_fragment(path)));
        }
        let after_scheme = text.find("://").map_or(0, |i| i + 3);
        let authority_end = text[after_scheme..]
            .find(['/', '?'])
            .map_or(text.len(), |i| after_scheme + i);
        let first_hole = text.find("{{").unwrap_or(text.len());
        if first_hole < authority_end {
            return Err(Issue::new(format!(
                "templates may only be in the path and query of a URL, not in {:?}",
                &text[..authority_end]
            ))
            .hint("write the host itself, or leave it out and set `host` or --host"));
        }
        let origin = self.resolve(&text[..authority_end])?;
        let prefix_len = authority_end;
        let mut skipped = 0;
        for part in &written.parts {
            match part {
                TemplatePart::Text(t) if skipped < prefix_len => {
                    let cut = (prefix_len - skipped).min(t.len());
                    skipped += cut;
                    path.push_text(&t[cut..]);
                }
                other => path.parts.push(other.clone()),
            }
        }
        if !matches!(path.parts.first(), Some(TemplatePart::Text(t)) if t.starts_with('/')) {
            path.parts.insert(0, TemplatePart::Text("/".into()));
            path = path.map_text(str::to_string);
        }
        Ok((origin, without_fragment(path)))
    }

    /// Default headers and the request's own (which replace a default of the same name), with
    /// the templated ones recorded.
    fn headers(
        &mut self,
        spec: &RequestSpec,
        at: &FieldPath,
    ) -> Result<Vec<(String, String)>, Issue> {
        let defaults_at = FieldPath::root().key("defaults").key("headers");
        let mut written: Vec<(&str, &str, FieldPath)> = self
            .ctx
            .defaults
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str(), defaults_at.clone().key(n)))
            .collect();
        for (name, value) in &spec.headers {
            written.retain(|(n, _, _)| !n.eq_ignore_ascii_case(name));
            written.push((name, value, at.clone().key(name)));
        }
        let mut headers = Vec::with_capacity(written.len());
        for (name, value, path) in written {
            let template = self.parse(value, &path)?;
            if !template.is_static() {
                self.templated = true;
                self.template
                    .headers
                    .push((name.to_string(), template.clone()));
            }
            let shown = template
                .static_text()
                .unwrap_or_else(|| template.to_string());
            headers.push((name.to_string(), shown));
        }
        Ok(headers)
    }

    /// The request's auth, else the user type's, else the defaults'; an inherited one yields to
    /// an `Authorization` header the request sets itself.
    fn auth(
        &mut self,
        spec: &RequestSpec,
        at: &FieldPath,
        headers: &mut Vec<(String, String)>,
    ) -> Result<(), Issue> {
        let own_header = spec
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization"));
        let defaults_at = FieldPath::root().key("defaults").key("auth");
        let chosen = match (&spec.auth, &self.ctx.user_auth) {
            (Some(auth), _) => Some((auth, at.clone())),
            (None, _) if own_header => None,
            (None, Some((auth, user_at))) => Some((*auth, user_at.clone())),
            (None, None) => self.ctx.defaults.auth.as_ref().map(|a| (a, defaults_at)),
        };
        let Some((auth, auth_at)) = chosen else {
            return Ok(());
        };
        let mut values = Vec::new();
        for (path, text) in auth.values() {
            values.push(self.parse(text, &auth_at.clone().join(&path))?);
        }
        let plan = match (auth, values.as_slice()) {
            (AuthSpec::Bearer(_), [token]) => Auth::Bearer(token.clone()),
            (AuthSpec::Basic { .. }, [username, password]) => Auth::Basic {
                username: username.clone(),
                password: password.clone(),
            },
            _ => return Ok(()),
        };
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
        self.template
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
        let shown = match &plan {
            Auth::Bearer(token) => {
                let token = token.static_text().unwrap_or_else(|| token.to_string());
                format!("Bearer {token}")
            }
            Auth::Basic { username, password } => {
                match (username.static_text(), password.static_text()) {
                    (Some(u), Some(p)) => {
                        format!("Basic {}", base64(format!("{u}:{p}").as_bytes()))
                    }
                    _ => format!("Basic {username}:{password}"),
                }
            }
        };
        if values.iter().any(|v| !v.is_static()) {
            self.templated = true;
            self.template.auth = Some(plan);
        }
        headers.push(("Authorization".to_string(), shown));
        Ok(())
    }

    fn body(
        &mut self,
        body: &BodySpec,
        content_type: Option<String>,
        field: &dyn Fn(&str) -> FieldPath,
    ) -> Result<Body, Issue> {
        let (implied, template) = match body {
            BodySpec::Text(text) => {
                let t = self.parse(text, &field("body"))?;
                let raw = BodyTemplate::Raw {
                    content_type: content_type.clone(),
                    template: t.clone(),
                };
                (None, (t, raw))
            }
            BodySpec::Json(value) => {
                let mut t = Template::default();
                self.json(value, &field("json"), &mut t)?;
                (Some("application/json"), (t.clone(), BodyTemplate::Json(t)))
            }
            BodySpec::Form(pairs) => {
                let mut shown = Template::default();
                let mut templates = Vec::with_capacity(pairs.len());
                for (i, (key, value)) in pairs.iter().enumerate() {
                    let value = self.parse(value, &field("form").key(key))?;
                    let value = value.map_text(|t| encode_component(t, Space::Plus));
                    if i > 0 {
                        shown.push_text("&");
                    }
                    shown.push_text(&format!("{}=", encode_component(key, Space::Plus)));
                    shown.parts.extend(value.parts.iter().cloned());
                    templates.push((key.clone(), value));
                }
                let form = "application/x-www-form-urlencoded";
                (Some(form), (shown, BodyTemplate::Form(templates)))
            }
        };
        let (shown, body_template) = template;
        let bytes = match shown.static_text() {
            Some(text) => text.into_bytes(),
            None => {
                self.templated = true;
                self.template.body = Some(body_template);
                shown.to_string().into_bytes()
            }
        };
        Ok(Body {
            content_type: content_type.or(implied.map(str::to_string)),
            bytes,
        })
    }

    /// Writes `value` as compact JSON text into `out`; its strings may hold templates. A string
    /// that is exactly one hole becomes a [`TemplatePart::JsonValue`].
    fn json(
        &mut self,
        value: &serde_json::Value,
        at: &FieldPath,
        out: &mut Template,
    ) -> Result<(), Issue> {
        use serde_json::Value;
        match value {
            Value::String(text) => {
                let t = self.parse(text, at)?;
                match t.parts.as_slice() {
                    [] | [TemplatePart::Text(_)] => out.push_text(&json_string(text)),
                    [hole] => out
                        .parts
                        .push(TemplatePart::JsonValue(Box::new(hole.clone()))),
                    parts => {
                        out.push_text("\"");
                        for part in parts {
                            match part {
                                TemplatePart::Text(t) => {
                                    let quoted = json_string(t);
                                    out.push_text(&quoted[1..quoted.len() - 1]);
                                }
                                hole => out.parts.push(hole.clone()),
                            }
                        }
                        out.push_text("\"");
                    }
                }
            }
            Value::Array(items) => {
                out.push_text("[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_text(",");
                    }
                    self.json(item, &at.clone().index(i), out)?;
                }
                out.push_text("]");
            }
            Value::Object(map) => {
                out.push_text("{");
                for (i, (key, item)) in map.iter().enumerate() {
                    if key.contains("{{") {
                        return Err(Issue::new("keys of a JSON body cannot be templates")
                            .hint("put the template in the value")
                            .under(&at.clone().key(key)));
                    }
                    if i > 0 {
                        out.push_text(",");
                    }
                    out.push_text(&format!("{}:", json_string(key)));
                    self.json(item, &at.clone().key(key), out)?;
                }
                out.push_text("}");
            }
            other => out.push_text(&other.to_string()),
        }
        Ok(())
    }

    /// A variable that only this request extracts is not set yet when the request is sent.
    fn own_extracts(&self, spec: &RequestSpec, at: &FieldPath) -> Result<(), Issue> {
        let scope = self.ctx.scope;
        for var in &self.used {
            let own = spec.extract.iter().filter(|e| &e.var == var).count();
            if own > 0 && !scope.preset.contains(var) && scope.extracted.get(var) == Some(&own) {
                let hint = if spec.auth.is_none() && self.template.auth.is_some() {
                    "the auth comes from the user type or the defaults: give this request `auth: none`"
                } else {
                    "extract it in an earlier step, or give it a first value in `vars`"
                };
                return Err(Issue::new(format!(
                    "{{{{{var}}}}} is set only by this request's own `extract`, so it is not set when the request is sent"
                ))
                .hint(hint)
                .under(at));
            }
        }
        Ok(())
    }
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// The template up to a `#`: a fragment is never sent.
fn without_fragment(template: Template) -> Template {
    let mut out = Template::default();
    for part in template.parts {
        match part {
            TemplatePart::Text(text) => {
                if let Some(cut) = text.find('#') {
                    out.push_text(&text[..cut]);
                    break;
                }
                out.push_text(&text);
            }
            hole => out.parts.push(hole),
        }
    }
    out
}

/// Standard base64 with padding, for static `basic` credentials.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("user:secret", "dXNlcjpzZWNyZXQ="),
        ];
        for (text, want) in cases {
            assert_eq!(base64(text.as_bytes()), want);
        }
    }
}
