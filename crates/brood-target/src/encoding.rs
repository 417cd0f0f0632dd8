//! Content codings: reading what a request's Accept-Encoding allows, and compressing to it.

use std::io::Write as _;

use flate2::write::GzEncoder;
use http::header::ACCEPT_ENCODING;
use http::HeaderMap;

/// A content coding the target can apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Brotli,
}

impl Coding {
    /// The token naming the coding in Accept-Encoding and Content-Encoding.
    pub(crate) fn token(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Brotli => "br",
        }
    }

    /// Compresses `input` whole. The targets' bodies are in memory already, so a one-shot call
    /// into a `Vec` is the simplest form and cannot fail.
    pub(crate) fn compress(self, input: &[u8]) -> Vec<u8> {
        match self {
            Coding::Gzip => {
                let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
                // Writing into a Vec cannot fail, so neither can the encoder.
                let _ = encoder.write_all(input);
                encoder.finish().unwrap_or_default()
            }
            Coding::Brotli => {
                // Quality 4 and a 4 MiB window: fast enough to serve per request, and still a
                // real brotli stream that a client must decode.
                let mut encoder = brotli::CompressorWriter::new(Vec::new(), 4096, 4, 22);
                let _ = encoder.write_all(input);
                encoder.into_inner()
            }
        }
    }
}

/// Whether the request's Accept-Encoding headers allow `coding`.
///
/// Follows RFC 9110 §12.5.3: an explicit entry for the coding wins over `*`, and `q=0` means
/// "not acceptable". Absent the header, only the identity coding is assumed.
pub(crate) fn accepts(headers: &HeaderMap, coding: Coding) -> bool {
    let mut wildcard = None;
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for entry in value.split(',') {
            let mut parts = entry.split(';');
            let token = parts.next().unwrap_or("").trim();
            let acceptable = parts.all(|param| !is_zero_quality(param));
            if token.eq_ignore_ascii_case(coding.token()) {
                return acceptable;
            }
            if token == "*" {
                wildcard = Some(acceptable);
            }
        }
    }
    wildcard.unwrap_or(false)
}

fn is_zero_quality(param: &str) -> bool {
    let Some((name, value)) = param.split_once('=') else {
        return false;
    };
    name.trim().eq_ignore_ascii_case("q") && value.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(ACCEPT_ENCODING, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn explicit_entries_and_quality_decide() {
        assert!(accepts(&headers(&["gzip, deflate, br"]), Coding::Gzip));
        assert!(accepts(&headers(&["gzip, deflate, br"]), Coding::Brotli));
        assert!(accepts(&headers(&["deflate", "BR;q=0.5"]), Coding::Brotli));
        assert!(!accepts(&headers(&["gzip;q=0"]), Coding::Gzip));
        assert!(!accepts(&headers(&["identity"]), Coding::Gzip));
        assert!(!accepts(&headers(&[]), Coding::Brotli));
    }

    #[test]
    fn wildcard_applies_only_without_an_explicit_entry() {
        assert!(accepts(&headers(&["*"]), Coding::Gzip));
        assert!(!accepts(&headers(&["gzip;q=0, *"]), Coding::Gzip));
        assert!(accepts(&headers(&["*;q=0, br"]), Coding::Brotli));
        assert!(!accepts(&headers(&["*;q=0.000"]), Coding::Brotli));
    }
}
