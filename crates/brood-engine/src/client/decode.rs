//! Content decoding of response bodies (gzip, deflate, brotli), done only when a request asks for it.

use std::io::Read;

use super::ClientError;

/// The `Accept-Encoding` a decoding request sends.
pub(crate) const ACCEPT_ENCODING: &str = "gzip, deflate, br";

/// Decodes `body` according to a `Content-Encoding` value; unknown or absent encodings pass through.
/// Decoding stops one byte past `max`: a small body that expands without end (a compression bomb)
/// fails with [`ClientError::BodyTooLarge`] having used at most `max` bytes more.
pub(crate) fn decode(
    encoding: Option<&str>,
    body: Vec<u8>,
    max: u64,
) -> Result<Vec<u8>, ClientError> {
    let mut out = Vec::with_capacity((body.len().saturating_mul(4) as u64).min(max) as usize);
    let limit = max.saturating_add(1);
    let result = match encoding {
        Some("gzip") | Some("x-gzip") => flate2::read::MultiGzDecoder::new(&body[..])
            .take(limit)
            .read_to_end(&mut out),
        Some("deflate") => flate2::read::ZlibDecoder::new(&body[..])
            .take(limit)
            .read_to_end(&mut out),
        Some("br") => brotli_decompressor::Decompressor::new(&body[..], 4096)
            .take(limit)
            .read_to_end(&mut out),
        _ => return Ok(body),
    };
    match result {
        Ok(_) if out.len() as u64 > max => Err(ClientError::BodyTooLarge(max)),
        Ok(_) => Ok(out),
        Err(e) => Err(ClientError::Decode(format!(
            "invalid {} body: {e}",
            encoding.unwrap_or_default()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn decodes_gzip_and_passes_identity() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"hello hello hello").unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(
            decode(Some("gzip"), gz.clone(), 17).unwrap(),
            b"hello hello hello"
        );
        assert_eq!(
            decode(Some("gzip"), gz, 16).unwrap_err().to_string(),
            "body larger than 16 bytes"
        );
        assert_eq!(decode(None, b"plain".to_vec(), 5).unwrap(), b"plain");
        assert!(decode(Some("gzip"), b"not gzip".to_vec(), 100).is_err());
        assert!(decode(Some("br"), b"\xff\xff\xff".to_vec(), 100).is_err());
    }
}
