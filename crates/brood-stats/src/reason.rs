//! Failure reasons as bounded keys: the parts of a reason that change from request to request
//! (ids, uuids, long numbers, query values) are replaced by placeholders, the text is cut to a
//! fixed length, and past [`MAX_FAILURE_KEYS`] distinct keys further reasons are counted under
//! [`OTHER_REASON`].
//!
//! A target that echoes a per-request URL in its errors (a redirect to a bad `Location` holding a
//! uuid) would otherwise make one failure row per request, and the failures table, the JSON
//! summary and the memory of every process holding stats would grow with the run.

use std::borrow::Cow;

/// The most distinct failure keys a snapshot or a run's totals hold; further reasons are counted
/// in one row under [`OTHER_REASON`].
pub const MAX_FAILURE_KEYS: usize = 1000;

/// The error text of the row that counts failures past [`MAX_FAILURE_KEYS`] distinct keys.
pub const OTHER_REASON: &str = "other reasons (more than 1000 distinct failure reasons)";

/// The longest reason kept, in bytes; longer ones are cut at a character boundary.
pub const MAX_REASON_BYTES: usize = 240;

/// `reason` with its variable parts replaced: a uuid by `{uuid}`, a run of 4 or more digits by
/// `{n}`, a word of 8 or more letters and digits that holds a digit (hex ids, tokens) by `{id}`,
/// and in a URL every query value by `{v}`. Short numbers stay: `HTTP 503` and `timeout after
/// 60s` are what tells reasons apart. Borrows when nothing changes.
pub fn normalise(reason: &str) -> Cow<'_, str> {
    let bytes = reason.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    // Inside a token (no space or quote since) that holds a `/`: a URL or a path, whose query
    // values are variable.
    let mut in_url = false;
    let mut in_query = false;
    while i < bytes.len() {
        let b = bytes[i];
        let (len, placeholder) = if b.is_ascii_alphanumeric() {
            let word = bytes[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
            if starts_word && is_uuid(&bytes[i..]) {
                (36, Some("{uuid}"))
            } else if in_query && i > 0 && bytes[i - 1] == b'=' {
                let value = bytes[i..]
                    .iter()
                    .take_while(|c| {
                        !matches!(c, b'&' | b'#' | b'"' | b'\'') && !c.is_ascii_whitespace()
                    })
                    .count();
                (value, Some("{v}"))
            } else {
                (word, word_placeholder(&bytes[i..i + word]))
            }
        } else {
            match b {
                b'/' => in_url = true,
                b'?' if in_url => in_query = true,
                b'"' | b'\'' => (in_url, in_query) = (false, false),
                c if c.is_ascii_whitespace() => (in_url, in_query) = (false, false),
                _ => {}
            }
            (1, None)
        };
        if let Some(placeholder) = placeholder {
            let out = out.get_or_insert_with(|| String::with_capacity(reason.len()));
            out.push_str(&reason[copied..i]);
            out.push_str(placeholder);
            copied = i + len;
        }
        i += len.max(1);
    }
    let text = match out {
        None => Cow::Borrowed(reason),
        Some(mut out) => {
            out.push_str(&reason[copied..]);
            Cow::Owned(out)
        }
    };
    cut(text)
}

/// What replaces a word of letters and digits, if anything.
fn word_placeholder(word: &[u8]) -> Option<&'static str> {
    let digits = word.iter().filter(|c| c.is_ascii_digit()).count();
    if digits == word.len() && digits >= 4 {
        Some("{n}")
    } else if word.len() >= 8 && digits > 0 {
        Some("{id}")
    } else {
        None
    }
}

/// `8-4-4-4-12` hex digits at the start of `bytes`, not followed by another letter or digit.
fn is_uuid(bytes: &[u8]) -> bool {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let mut at = 0;
    for (n, group) in GROUPS.iter().enumerate() {
        if n > 0 {
            if bytes.get(at) != Some(&b'-') {
                return false;
            }
            at += 1;
        }
        let hex = bytes[at.min(bytes.len())..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        if hex != *group {
            return false;
        }
        at += group;
    }
    !bytes.get(at).is_some_and(|c| c.is_ascii_alphanumeric())
}

fn cut(text: Cow<'_, str>) -> Cow<'_, str> {
    if text.len() <= MAX_REASON_BYTES {
        return text;
    }
    let mut end = MAX_REASON_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_tells_reasons_apart() {
        for text in [
            "HTTP 503 Service Unavailable",
            "timeout after 60s",
            "connect: connection refused",
            "check failed: JSON /id is not 7",
            "more than 10 redirects",
        ] {
            assert!(matches!(normalise(text), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn replaces_variable_parts() {
        let cases = [
            (
                r#"redirect to an invalid location "http://x.test/a b/3f2a9c1e-0b4d-4c6e-8f00-1234567890ab""#,
                r#"redirect to an invalid location "http://x.test/a b/{uuid}""#,
            ),
            (
                "invalid response: connection closed after 123456 of 99999999 body bytes",
                "invalid response: connection closed after {n} of {n} body bytes",
            ),
            (
                r#"redirect to an invalid location "/x?id=17&t=abc def""#,
                r#"redirect to an invalid location "/x?id={v}&t={v} def""#,
            ),
            ("HTTP 500 trace 9f86d081884c7d65", "HTTP 500 trace {id}"),
        ];
        for (text, want) in cases {
            assert_eq!(normalise(text), want, "{text}");
        }
    }

    #[test]
    fn long_reasons_are_cut_at_a_character_boundary() {
        let text = "é".repeat(500);
        let cut = normalise(&text);
        assert!(cut.len() <= MAX_REASON_BYTES + '…'.len_utf8());
        assert!(cut.ends_with('…'));
    }
}
