//! Absolute http(s) URLs: parsing, joining a relative path to a host, and RFC 3986
//! percent-encoding of paths, query strings and form bodies.
//!
//! A load tester needs only a small part of URL handling (two schemes, no user info, no
//! normalisation), so it is written here rather than pulled in with a general URL crate.

use std::net::Ipv6Addr;

use crate::plan::{Scheme, Url};

impl Url {
    /// Parses an absolute `http://` or `https://` URL.
    ///
    /// The host may be a name, an IPv4 address or a bracketed IPv6 address (`[::1]`); the port
    /// defaults to 80 or 443; the path defaults to `/` and keeps its query string. A fragment is
    /// dropped, as it is never sent. Characters that may not appear in a request line (spaces,
    /// non-ASCII) are percent-encoded.
    pub fn parse(text: &str) -> Result<Url, String> {
        parse_absolute(text)
    }
}

/// The work of [`Url::parse`].
fn parse_absolute(text: &str) -> Result<Url, String> {
    let text = text.trim();
    let Some((scheme_text, rest)) = text.split_once("://") else {
        return Err(format!(
            "{text:?} has no scheme (expected http:// or https://)"
        ));
    };
    let scheme = match scheme_text.to_ascii_lowercase().as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => {
            return Err(format!(
                "unsupported scheme {other:?} (expected http or https)"
            ))
        }
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(split);
    if authority.contains('@') {
        return Err("user names and passwords in URLs are not supported; \
                        send an Authorization header instead"
            .to_string());
    }
    let (host, port) = split_authority(authority, scheme)?;
    let path_and_query = match path_and_query {
        "" => "/".to_string(),
        p if p.starts_with('?') => format!("/{}", encode_uri(p)),
        p => encode_uri(p),
    };
    Ok(Url {
        scheme,
        host,
        port,
        path_and_query,
    })
}

impl Url {
    /// Appends a relative reference (`/products?page=2`) to this URL's path, the way Locust
    /// concatenates its `host` and a request path: `http://h/api` + `/items` is `http://h/api/items`.
    pub fn join(&self, relative: &str) -> Url {
        let base = self.path_and_query.split('?').next().unwrap_or_default();
        let base = base.trim_end_matches('/');
        let relative = relative.split('#').next().unwrap_or_default();
        let mut joined = self.clone();
        joined.path_and_query = format!("{base}{}", encode_uri(relative));
        if !joined.path_and_query.starts_with('/') {
            joined.path_and_query.insert(0, '/');
        }
        joined
    }

    /// Appends already-encoded `key=value` pairs to the query string.
    pub fn with_query(mut self, pairs: &[(String, String)]) -> Url {
        if pairs.is_empty() {
            return self;
        }
        let encoded = encode_pairs(pairs, Space::Percent);
        let separator = match self.path_and_query.find('?') {
            None => '?',
            Some(i) if i + 1 == self.path_and_query.len() => {
                self.path_and_query.pop();
                '?'
            }
            Some(_) => '&',
        };
        self.path_and_query.push(separator);
        self.path_and_query.push_str(&encoded);
        self
    }
}

fn split_authority(authority: &str, scheme: Scheme) -> Result<(String, u16), String> {
    let (host, port_text) = if let Some(inner) = authority.strip_prefix('[') {
        let Some((v6, after)) = inner.split_once(']') else {
            return Err(format!("unclosed '[' in host {authority:?}"));
        };
        if v6.parse::<Ipv6Addr>().is_err() {
            return Err(format!("invalid IPv6 address {v6:?}"));
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| {
                format!("unexpected {p:?} after the IPv6 address in {authority:?}")
            })?),
        };
        (v6.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err("the URL has no host".to_string());
    }
    if !host.contains(':') {
        if let Some(bad) = host
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')))
        {
            return Err(format!("invalid character {bad:?} in host {host:?}"));
        }
    }
    let port = match port_text {
        None | Some("") => match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        },
        Some(p) => match p.parse::<u16>() {
            Ok(port) if port > 0 && p.bytes().all(|b| b.is_ascii_digit()) => port,
            _ => return Err(format!("invalid port {p:?} (expected 1 to 65535)")),
        },
    };
    Ok((host, port))
}

/// Whether a byte is RFC 3986 "unreserved": never needs encoding anywhere.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// How a form body writes a space: HTML forms (and Python's `urlencode`) use `+`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    Percent,
    Plus,
}

/// Percent-encodes everything but unreserved characters, for one query or form key or value.
pub fn encode_component(text: &str, space: Space) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if is_unreserved(b) {
            out.push(b as char);
        } else if b == b' ' && space == Space::Plus {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k1=v1&k2=v2` with every key and value encoded.
pub fn encode_pairs(pairs: &[(String, String)], space: Space) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                encode_component(k, space),
                encode_component(v, space)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Encodes the bytes of a path-and-query that may not appear in a request line, keeping the
/// URL's own structure (`/`, `?`, `&`, `=`, existing `%XX` escapes) as written.
pub fn encode_uri(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        let keep = is_unreserved(b)
            || matches!(
                b,
                b'/' | b'?'
                    | b':'
                    | b'@'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'%'
                    | b'['
                    | b']'
            );
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(scheme: Scheme, host: &str, port: u16, pq: &str) -> Url {
        Url {
            scheme,
            host: host.to_string(),
            port,
            path_and_query: pq.to_string(),
        }
    }

    #[test]
    fn parses_absolute_urls() {
        let cases = [
            (
                "http://example.com",
                url(Scheme::Http, "example.com", 80, "/"),
            ),
            (
                "https://example.com",
                url(Scheme::Https, "example.com", 443, "/"),
            ),
            (
                "HTTP://h:8080/a?b=1",
                url(Scheme::Http, "h", 8080, "/a?b=1"),
            ),
            ("http://[::1]:9000/x", url(Scheme::Http, "::1", 9000, "/x")),
            ("https://[::1]", url(Scheme::Https, "::1", 443, "/")),
            ("http://h?q=1", url(Scheme::Http, "h", 80, "/?q=1")),
            ("http://h/a b#frag", url(Scheme::Http, "h", 80, "/a%20b")),
            (
                "http://127.0.0.1:/",
                url(Scheme::Http, "127.0.0.1", 80, "/"),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(Url::parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn rejects_bad_urls() {
        let cases = [
            ("example.com", "no scheme"),
            ("ftp://h/", "unsupported scheme"),
            ("http://", "no host"),
            ("http:///x", "no host"),
            ("http://h:0/", "invalid port"),
            ("http://h:99999/", "invalid port"),
            ("http://h:+80/", "invalid port"),
            ("http://u:p@h/", "user names"),
            ("http://[::1/", "unclosed"),
            ("http://[zz]/", "invalid IPv6"),
            ("http://[::1]x/", "unexpected"),
            ("http://h h/", "invalid character"),
        ];
        for (text, want) in cases {
            let err = Url::parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn joins_and_appends_queries() {
        let base = Url::parse("http://h:81/api/").unwrap();
        assert_eq!(
            base.join("/items?x=1").to_string(),
            "http://h:81/api/items?x=1"
        );
        let root = Url::parse("https://h").unwrap();
        assert_eq!(root.join("/").to_string(), "https://h/");
        let q = vec![
            ("q".to_string(), "red shoes".to_string()),
            ("n".into(), "ä&=".into()),
        ];
        assert_eq!(
            root.join("/s").with_query(&q).path_and_query,
            "/s?q=red%20shoes&n=%C3%A4%26%3D"
        );
        assert_eq!(
            root.join("/s?a=1").with_query(&q[..1]).path_and_query,
            "/s?a=1&q=red%20shoes"
        );
        assert_eq!(
            root.join("/s?").with_query(&q[..1]).path_and_query,
            "/s?q=red%20shoes"
        );
        assert_eq!(
            Url::parse("http://[::1]:8/").unwrap().to_string(),
            "http://[::1]:8/"
        );
    }

    #[test]
    fn form_encoding_uses_plus_for_spaces() {
        let pairs = vec![("a b".to_string(), "c~d".to_string())];
        assert_eq!(encode_pairs(&pairs, Space::Plus), "a+b=c~d");
    }
}
