//! Reading what a shop request carries: the bearer token, the cart cookie, query parameters, and
//! login and cart bodies in JSON or form encoding.

use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use http::HeaderMap;
use serde_json::Value;

use super::catalog::PRODUCTS;

/// Largest quantity one cart request may add.
pub(crate) const MAX_QTY: u64 = 99;

/// The token of an `Authorization: Bearer <token>` header, if the request has one.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The value of cookie `name`, looked for in every Cookie header (HTTP/2 clients may send one
/// header per cookie).
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The decoded value of the first `name` parameter of an `application/x-www-form-urlencoded`
/// text, which is also how query strings are written.
pub(crate) fn form_value(text: &str, name: &str) -> Option<String> {
    text.split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(key, _)| decode(key) == name)
        .map(|(_, value)| decode(value))
}

/// Undoes form encoding: `+` is a space and `%XX` a byte. Malformed escapes stay as written,
/// and bytes that are not UTF-8 become replacement characters.
pub(crate) fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match bytes.get(i + 1..i + 3).and_then(hex_byte) {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_byte(digits: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(digits).ok()?;
    u8::from_str_radix(text, 16).ok()
}

/// A login attempt's username and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) username: String,
    pub(crate) password: String,
}

/// The credentials of a login body: form-encoded when the Content-Type says so, JSON when it
/// says so, and whichever parses when it says neither. `None` when the body holds no non-empty
/// username and password.
pub(crate) fn credentials(headers: &HeaderMap, body: &[u8]) -> Option<Credentials> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let parsed = if content_type.starts_with("application/x-www-form-urlencoded") {
        form_credentials(body)
    } else if content_type.contains("json") {
        json_credentials(body)
    } else {
        json_credentials(body).or_else(|| form_credentials(body))
    };
    parsed.filter(|c| !c.username.is_empty() && !c.password.is_empty())
}

fn json_credentials(body: &[u8]) -> Option<Credentials> {
    let value: Value = serde_json::from_slice(body).ok()?;
    Some(Credentials {
        username: value.get("username")?.as_str()?.to_owned(),
        password: value.get("password")?.as_str()?.to_owned(),
    })
}

fn form_credentials(body: &[u8]) -> Option<Credentials> {
    let text = std::str::from_utf8(body).ok()?;
    Some(Credentials {
        username: form_value(text, "username")?,
        password: form_value(text, "password")?,
    })
}

/// What a cart request asks to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) product_id: u64,
    pub(crate) qty: u64,
}

/// Parses a cart body, `{"product_id": N, "qty": M}`, where `N` names a product and `M` (1 if
/// absent) is from 1 to [`MAX_QTY`]. Both must be JSON integers: a value templated into a
/// string is a client's mistake worth showing. The error says what is wrong.
pub(crate) fn line(body: &[u8]) -> Result<Line, &'static str> {
    let value: Value = serde_json::from_slice(body).map_err(|_| "body must be a JSON object")?;
    let object = value.as_object().ok_or("body must be a JSON object")?;
    let product_id = object
        .get("product_id")
        .ok_or("product_id is missing")?
        .as_u64()
        .ok_or("product_id must be a positive integer")?;
    if !(1..=PRODUCTS).contains(&product_id) {
        return Err("product_id names no product");
    }
    let qty = match object.get("qty") {
        None => 1,
        Some(qty) => qty.as_u64().ok_or("qty must be a positive integer")?,
    };
    if !(1..=MAX_QTY).contains(&qty) {
        return Err("qty must be from 1 to 99");
    }
    Ok(Line { product_id, qty })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn bearer_tokens_need_the_scheme_and_a_token() {
        assert_eq!(
            bearer(&headers(&[("authorization", "Bearer abc")])),
            Some("abc")
        );
        assert_eq!(
            bearer(&headers(&[("authorization", "bearer  abc ")])),
            Some("abc")
        );
        assert_eq!(bearer(&headers(&[("authorization", "Basic abc")])), None);
        assert_eq!(bearer(&headers(&[("authorization", "Bearer ")])), None);
        assert_eq!(bearer(&headers(&[])), None);
    }

    #[test]
    fn cookies_are_found_in_any_cookie_header() {
        let map = headers(&[("cookie", "a=1; cart=c9"), ("cookie", "b=2")]);
        assert_eq!(cookie(&map, "cart"), Some("c9"));
        assert_eq!(cookie(&map, "b"), Some("2"));
        assert_eq!(cookie(&map, "car"), None);
    }

    #[test]
    fn form_values_are_decoded() {
        assert_eq!(
            form_value("q=red+lamp&x=1", "q").as_deref(),
            Some("red lamp")
        );
        assert_eq!(form_value("q=%41%62%zz%", "q").as_deref(), Some("Ab%zz%"));
        assert_eq!(form_value("q", "q").as_deref(), Some(""));
        assert_eq!(form_value("page=2", "q"), None);
        assert_eq!(decode("caf%C3%A9"), "café");
    }

    #[test]
    fn credentials_come_as_json_or_form() {
        let json = br#"{"username": "ann", "password": "secret"}"#;
        let form = b"username=ann&password=secret";
        let expected = Some(Credentials {
            username: "ann".into(),
            password: "secret".into(),
        });
        assert_eq!(credentials(&headers(&[]), json), expected);
        assert_eq!(credentials(&headers(&[]), form), expected);
        let typed = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        assert_eq!(credentials(&typed, form), expected);
        assert_eq!(credentials(&typed, json), None);
        assert_eq!(credentials(&headers(&[]), br#"{"username": "ann"}"#), None);
        assert_eq!(credentials(&headers(&[]), b"username=&password=x"), None);
    }

    #[test]
    fn cart_lines_need_integers_in_range() {
        let ok = |product_id, qty| Ok(Line { product_id, qty });
        assert_eq!(line(br#"{"product_id": 3, "qty": 2}"#), ok(3, 2));
        assert_eq!(line(br#"{"product_id": 500}"#), ok(500, 1));
        assert!(line(br#"{"product_id": "3"}"#).is_err());
        assert!(line(br#"{"product_id": 3.5}"#).is_err());
        assert!(line(br#"{"product_id": 501}"#).is_err());
        assert!(line(br#"{"product_id": 3, "qty": 0}"#).is_err());
        assert!(line(br#"{"product_id": 3, "qty": 100}"#).is_err());
        assert!(line(br#"[3]"#).is_err());
        assert!(line(b"product_id=3").is_err());
    }
}
