//! A user's cookie jar: what `Set-Cookie` gave it, sent back on later requests to the same host.
//!
//! Deliberately small: host-only cookies (a `Domain` attribute widens to subdomains), path
//! prefixes, deletion by `Max-Age=0` or an empty value. Expiry dates are not tracked: a load test's
//! users live minutes, not days.

#[derive(Clone, Debug, PartialEq, Eq)]
struct Cookie {
    name: String,
    value: String,
    /// Lower-case host, without a leading dot.
    domain: String,
    /// The cookie applies to subdomains too (it had a `Domain` attribute).
    wide: bool,
    path: String,
}

#[derive(Debug, Default)]
pub(crate) struct CookieJar {
    cookies: Vec<Cookie>,
}

impl CookieJar {
    pub(crate) fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// Stores a `Set-Cookie` header received from `host` for a request to `path`.
    pub(crate) fn store(&mut self, host: &str, path: &str, header: &str) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim(), value.trim().trim_matches('"'));
        if name.is_empty() {
            return;
        }
        let mut cookie = Cookie {
            name: name.to_string(),
            value: value.to_string(),
            domain: host.to_ascii_lowercase(),
            wide: false,
            path: default_path(path),
        };
        let mut delete = value.is_empty();
        for attr in parts {
            let (key, val) = attr.split_once('=').unwrap_or((attr, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "domain" if !val.trim().is_empty() => {
                    cookie.domain = val.trim().trim_start_matches('.').to_ascii_lowercase();
                    cookie.wide = true;
                }
                "path" if val.trim().starts_with('/') => cookie.path = val.trim().to_string(),
                "max-age" if val.trim().parse::<i64>().is_ok_and(|n| n <= 0) => delete = true,
                _ => {}
            }
        }
        self.cookies.retain(|c| {
            !(c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path)
        });
        if !delete {
            self.cookies.push(cookie);
        }
    }

    /// The `Cookie` header value for a request, or `None` when no cookie applies.
    pub(crate) fn header_for(&self, host: &str, path: &str) -> Option<String> {
        let host = host.to_ascii_lowercase();
        let mut out = String::new();
        for c in &self.cookies {
            let host_ok = host == c.domain || (c.wide && host.ends_with(&format!(".{}", c.domain)));
            if host_ok && path_matches(path, &c.path) {
                if !out.is_empty() {
                    out.push_str("; ");
                }
                out.push_str(&c.name);
                out.push('=');
                out.push_str(&c.value);
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// The value of the cookie `name`, if the user holds one.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .rev()
            .find(|c| c.name == name)
            .map(|c| c.value.as_str())
    }
}

/// RFC 6265's default path: the request path up to its last `/`.
fn default_path(request_path: &str) -> String {
    let path = request_path.split('?').next().unwrap_or("/");
    match path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => path[..i].to_string(),
    }
}

fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    let path = request_path.split('?').next().unwrap_or("/");
    path == cookie_path
        || (path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || path[cookie_path.len()..].starts_with('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_matches_and_deletes() {
        let mut jar = CookieJar::default();
        jar.store(
            "shop.test",
            "/shop/api/cart",
            "cart=c1; Path=/shop; HttpOnly",
        );
        jar.store("shop.test", "/login", "sid=\"abc\"");
        assert_eq!(
            jar.header_for("shop.test", "/shop/api/cart").as_deref(),
            Some("cart=c1; sid=abc")
        );
        assert_eq!(
            jar.header_for("shop.test", "/shopping").as_deref(),
            Some("sid=abc")
        );
        assert_eq!(jar.header_for("other.test", "/shop"), None);
        assert_eq!(jar.get("cart"), Some("c1"));
        jar.store("shop.test", "/shop/x", "cart=; Path=/shop; Max-Age=0");
        assert_eq!(jar.get("cart"), None);
        jar.store("a.test", "/", "w=1; Domain=.a.test");
        assert_eq!(jar.header_for("www.a.test", "/x").as_deref(), Some("w=1"));
        jar.store("a.test", "/", "garbage");
        assert!(!jar.is_empty());
    }
}
