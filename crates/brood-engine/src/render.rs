//! Template rendering: fills `{{...}}` from a user's variables, the environment and built-ins, with
//! the escaping the destination needs (URL, query, form, JSON, header).

use std::collections::HashMap;
use std::fmt::Write;

use brood_plan::{Builtin, Template, TemplatePart};
use rand::rngs::SmallRng;
use rand::Rng;

/// Where a rendered value goes, which decides how inserted values are escaped. Literal text of
/// the template is never escaped: it was written for its place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Escape {
    /// Inside a URL path (and a query written into the URL): unsafe characters percent-encoded.
    Path,
    /// A query or form value: everything but unreserved characters percent-encoded.
    Component,
    /// A form value: as `Component`, with spaces as `+`.
    Form,
    /// Inside a JSON string literal.
    Json,
    /// A header value: inserted as is, but a line break is refused.
    Header,
    /// Raw bodies.
    None,
}

/// What a template can read while rendering for one user.
pub(crate) struct RenderCtx<'a> {
    pub vars: &'a HashMap<String, String>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub user_id: u64,
    pub iteration: u64,
    pub now_ms: u64,
    pub rng: &'a mut SmallRng,
}

/// Renders `t` into `out`. An undefined variable is the user's scenario failing: the caller records
/// it as an exception.
pub(crate) fn render(
    t: &Template,
    escape: Escape,
    ctx: &mut RenderCtx<'_>,
    out: &mut String,
) -> Result<(), String> {
    for part in &t.parts {
        render_part(part, escape, ctx, out)?;
    }
    Ok(())
}

fn render_part(
    part: &TemplatePart,
    escape: Escape,
    ctx: &mut RenderCtx<'_>,
    out: &mut String,
) -> Result<(), String> {
    {
        match part {
            TemplatePart::JsonValue(inner) => {
                let mut value = String::new();
                render_part(inner, Escape::None, ctx, &mut value)?;
                match serde_json::from_str::<serde_json::Value>(&value) {
                    Ok(v) if !v.is_string() && !v.is_object() && !v.is_array() => {
                        out.push_str(&value)
                    }
                    _ => {
                        let quoted = serde_json::to_string(&value).map_err(|e| e.to_string())?;
                        out.push_str(&quoted);
                    }
                }
            }
            TemplatePart::Text(text) => out.push_str(text),
            TemplatePart::Var(name) => match ctx.vars.get(name) {
                Some(value) => insert(value, escape, out)?,
                None => return Err(format!("variable {name:?} is not set")),
            },
            TemplatePart::Env(name) => match (ctx.env)(name) {
                Some(value) => insert(&value, escape, out)?,
                None => return Err(format!("environment variable {name} is not set")),
            },
            TemplatePart::Builtin(b) => {
                let value = builtin(*b, ctx);
                insert(&value, escape, out)?;
            }
        }
    }
    Ok(())
}

/// Renders into a new string.
pub(crate) fn render_string(
    t: &Template,
    escape: Escape,
    ctx: &mut RenderCtx<'_>,
) -> Result<String, String> {
    let mut out = String::new();
    render(t, escape, ctx, &mut out)?;
    Ok(out)
}

fn builtin(b: Builtin, ctx: &mut RenderCtx<'_>) -> String {
    match b {
        Builtin::UserId => ctx.user_id.to_string(),
        Builtin::Iteration => ctx.iteration.to_string(),
        Builtin::RandomInt { min, max } => {
            let (lo, hi) = if min <= max { (min, max) } else { (max, min) };
            ctx.rng.random_range(lo..=hi).to_string()
        }
        Builtin::Uuid => uuid_v4(ctx.rng.random()),
        Builtin::Timestamp => (ctx.now_ms / 1000).to_string(),
        Builtin::TimestampMs => ctx.now_ms.to_string(),
    }
}

/// A random (version 4, variant 1) UUID in its usual text form.
fn uuid_v4(bits: u128) -> String {
    let b = (bits & !(0xF << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{b:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn insert(value: &str, escape: Escape, out: &mut String) -> Result<(), String> {
    match escape {
        Escape::None => out.push_str(value),
        Escape::Header => {
            if value.contains(['\r', '\n']) {
                return Err("a header value would contain a line break".into());
            }
            out.push_str(value);
        }
        Escape::Json => {
            let quoted = serde_json::to_string(value).map_err(|e| e.to_string())?;
            out.push_str(&quoted[1..quoted.len() - 1]);
        }
        Escape::Path => percent_encode(value, out, |b| !path_safe(b), false),
        Escape::Component => percent_encode(value, out, |b| !unreserved(b), false),
        Escape::Form => percent_encode(value, out, |b| !unreserved(b), true),
    }
    Ok(())
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn path_safe(b: u8) -> bool {
    unreserved(b) || b"!$&'()*+,;=:@/%".contains(&b)
}

/// Appends `value` with the bytes `encode` selects written as `%XX`.
pub(crate) fn percent_encode(
    value: &str,
    out: &mut String,
    encode: impl Fn(u8) -> bool,
    space_as_plus: bool,
) {
    for &b in value.as_bytes() {
        if space_as_plus && b == b' ' {
            out.push('+');
        } else if encode(b) {
            let _ = write!(out, "%{b:02X}");
        } else {
            out.push(b as char);
        }
    }
}

/// Encodes a query or form value for the static parts written around rendered ones.
pub(crate) fn component(value: &str, space_as_plus: bool) -> String {
    let mut out = String::new();
    percent_encode(value, &mut out, |b| !unreserved(b), space_as_plus);
    out
}

/// Every way `value` can appear once rendered into a request and then quoted in a message: as
/// is, with each escaping a template applies, and as Rust's `{:?}` and JSON write it. Longest first.
pub(crate) fn spellings(value: &str) -> Vec<String> {
    let mut all = vec![value.to_string()];
    for escape in [Escape::Path, Escape::Component, Escape::Form, Escape::Json] {
        let mut out = String::new();
        if insert(value, escape, &mut out).is_ok() {
            all.push(out);
        }
    }
    let debug = format!("{value:?}");
    all.push(debug[1..debug.len() - 1].to_string());
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn t(parts: Vec<TemplatePart>) -> Template {
        Template { parts }
    }

    #[test]
    fn spellings_cover_every_escaping_longest_first() {
        let all = spellings("a b/\"c\"");
        for want in [
            "a b/\"c\"",
            "a%20b/%22c%22",
            "a%20b%2F%22c%22",
            "a+b%2F%22c%22",
            "a b/\\\"c\\\"",
        ] {
            assert!(all.iter().any(|s| s == want), "{want} in {all:?}");
        }
        assert!(all.windows(2).all(|w| w[0].len() >= w[1].len()), "{all:?}");
    }

    #[test]
    fn renders_with_escaping() {
        let vars = HashMap::from([("q".to_string(), "a b&\"c\"/é".to_string())]);
        let env = |name: &str| (name == "TOKEN").then(|| "s3cret".to_string());
        let mut rng = SmallRng::seed_from_u64(1);
        let mut ctx = RenderCtx {
            vars: &vars,
            env: &env,
            user_id: 7,
            iteration: 3,
            now_ms: 1_700_000_000_123,
            rng: &mut rng,
        };
        let q = t(vec![
            TemplatePart::Text("x=".into()),
            TemplatePart::Var("q".into()),
        ]);
        assert_eq!(
            render_string(&q, Escape::Component, &mut ctx).unwrap(),
            "x=a%20b%26%22c%22%2F%C3%A9"
        );
        assert_eq!(
            render_string(&q, Escape::Form, &mut ctx).unwrap(),
            "x=a+b%26%22c%22%2F%C3%A9"
        );
        assert_eq!(
            render_string(&q, Escape::Path, &mut ctx).unwrap(),
            "x=a%20b&%22c%22/%C3%A9"
        );
        assert_eq!(
            render_string(&q, Escape::Json, &mut ctx).unwrap(),
            "x=a b&\\\"c\\\"/é"
        );
        let e = t(vec![TemplatePart::Env("TOKEN".into())]);
        assert_eq!(
            render_string(&e, Escape::Header, &mut ctx).unwrap(),
            "s3cret"
        );
        let missing = t(vec![TemplatePart::Var("nope".into())]);
        assert!(render_string(&missing, Escape::None, &mut ctx)
            .unwrap_err()
            .contains("nope"));
        let b = t(vec![
            TemplatePart::Builtin(Builtin::UserId),
            TemplatePart::Text(":".into()),
            TemplatePart::Builtin(Builtin::Iteration),
            TemplatePart::Text(":".into()),
            TemplatePart::Builtin(Builtin::Timestamp),
        ]);
        assert_eq!(
            render_string(&b, Escape::None, &mut ctx).unwrap(),
            "7:3:1700000000"
        );
        let r = t(vec![TemplatePart::Builtin(Builtin::RandomInt {
            min: 5,
            max: 6,
        })]);
        for _ in 0..20 {
            let v: i64 = render_string(&r, Escape::None, &mut ctx)
                .unwrap()
                .parse()
                .unwrap();
            assert!((5..=6).contains(&v));
        }
        let u = render_string(
            &t(vec![TemplatePart::Builtin(Builtin::Uuid)]),
            Escape::None,
            &mut ctx,
        )
        .unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        let crlf = HashMap::from([("h".to_string(), "a\r\nX: y".to_string())]);
        ctx.vars = &crlf;
        assert!(render_string(
            &t(vec![TemplatePart::Var("h".into())]),
            Escape::Header,
            &mut ctx
        )
        .is_err());
    }
}
