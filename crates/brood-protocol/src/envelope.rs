//! The envelope: how a [`Message`] becomes bytes (and base64 text, for queues that carry text)
//! and back, with an optional Ed25519 signature over everything before it.
//!
//! Byte layout (all integers big-endian; the README has the full table):
//!
//! ```text
//! "BRD" | version u16 | kind u8 | body_len u32 | body | attachment_len u32 | attachment | [signature 64]
//! ```
//!
//! Decoding treats its input as hostile: the total size is checked first, every length is
//! checked against the bytes that remain before anything is sliced, the version is checked
//! before anything after it is read, and nothing panics.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, SIGNATURE_LENGTH};

use crate::error::ProtocolError;
use crate::kind::Kind;
use crate::message::Message;

/// The first three bytes of every message.
pub const MAGIC: [u8; 3] = *b"BRD";
/// The version this build writes, and the only one it reads.
pub const PROTOCOL_VERSION: u16 = 1;
/// The largest message, in bytes for [`encode`]/[`decode`] and in characters for
/// [`encode_text`]/[`decode_text`]: 256 KiB, SQS's limit for a message body.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// Bytes before the body: magic, version, kind, body length.
pub const HEADER_LEN: usize = 3 + 2 + 1 + 4;

/// A message read from the wire, with the signature it carried (if any) and the bytes that
/// signature covers. Only [`decode`] makes one, so the signed bytes are always the ones the
/// message was read from.
#[derive(Clone, Debug)]
pub struct Decoded {
    version: u16,
    message: Message,
    signature: Option<Signature>,
    /// Everything before the signature; empty when there is none.
    signed: Vec<u8>,
}

impl Decoded {
    pub fn version(&self) -> u16 {
        self.version
    }

    pub fn kind(&self) -> Kind {
        self.message.kind()
    }

    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The message, trusting it as it is: for worker messages, which are not signed. Controller
    /// messages go through a [`Verifier`](crate::Verifier) instead.
    pub fn into_message(self) -> Message {
        self.message
    }

    pub fn is_signed(&self) -> bool {
        self.signature.is_some()
    }

    /// The signature and the bytes it claims to cover.
    pub(crate) fn signed_parts(&self) -> Option<(&Signature, &[u8])> {
        self.signature.as_ref().map(|s| (s, self.signed.as_slice()))
    }
}

/// The message as bytes, signed with `key` when one is given (controller messages must be, for
/// workers to accept them). Fails when the message does not pass [`Message::validate`], when a
/// job's `plan_hash` is not its plan's hash, or when the result would exceed
/// [`MAX_MESSAGE_BYTES`]; a caller can then store the payload elsewhere and send a reference.
pub fn encode(message: &Message, key: Option<&SigningKey>) -> Result<Vec<u8>, ProtocolError> {
    message.validate()?;
    if let Message::Job(job) = message {
        let computed = job.plan.as_ref().map(crate::plan_hash);
        if let Some(computed) = computed.filter(|c| *c != job.plan_hash) {
            return Err(ProtocolError::Invalid {
                kind: Kind::Job,
                field: "plan_hash",
                reason: format!("is {} but the plan hashes to {computed}", job.plan_hash),
            });
        }
    }
    let (body, attachment) = message.to_parts()?;
    let signature_len = if key.is_some() { SIGNATURE_LENGTH } else { 0 };
    let len = HEADER_LEN + body.len() + 4 + attachment.len() + signature_len;
    if len > MAX_MESSAGE_BYTES {
        return Err(ProtocolError::Oversized {
            len,
            max: MAX_MESSAGE_BYTES,
        });
    }
    // Both lengths are below MAX_MESSAGE_BYTES, so they fit in a u32.
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    out.push(message.kind().code());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&(attachment.len() as u32).to_be_bytes());
    out.extend_from_slice(&attachment);
    if let Some(key) = key {
        let signature = key.sign(&out);
        out.extend_from_slice(&signature.to_bytes());
    }
    Ok(out)
}

/// Reads what [`encode`] wrote, checks it (see the module docs and [`Message::validate`]), and
/// keeps the signature for a [`Verifier`](crate::Verifier). Does not check the signature: that
/// needs the controller's key.
pub fn decode(bytes: &[u8]) -> Result<Decoded, ProtocolError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(ProtocolError::Oversized {
            len: bytes.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    let prefix = &bytes[..bytes.len().min(MAGIC.len())];
    if !MAGIC.starts_with(prefix) {
        return Err(ProtocolError::BadMagic);
    }
    let mut reader = Reader { bytes, pos: 0 };
    reader.take(MAGIC.len(), "magic")?;
    let version = u16::from_be_bytes(reader.array("version")?);
    if version != PROTOCOL_VERSION {
        return Err(ProtocolError::UnsupportedVersion {
            found: version,
            supported: PROTOCOL_VERSION,
        });
    }
    let [code] = reader.array("kind")?;
    let kind = Kind::from_code(code).ok_or(ProtocolError::UnknownKind(code))?;
    let body_len = u32::from_be_bytes(reader.array("body length")?);
    let body = reader.take_u32(body_len, "body")?;
    let attachment_len = u32::from_be_bytes(reader.array("attachment length")?);
    let attachment = reader.take_u32(attachment_len, "attachment")?;
    let signed_end = reader.pos;
    let signature = match bytes.len() - signed_end {
        0 => None,
        SIGNATURE_LENGTH => {
            let raw: [u8; SIGNATURE_LENGTH] = reader.array("signature")?;
            Some(Signature::from_bytes(&raw))
        }
        extra => return Err(ProtocolError::TrailingBytes(extra)),
    };
    let message = Message::from_parts(kind, body, attachment)?;
    message.validate()?;
    let signed = match signature {
        Some(_) => bytes[..signed_end].to_vec(),
        None => Vec::new(),
    };
    Ok(Decoded {
        version,
        message,
        signature,
        signed,
    })
}

/// [`encode`], then standard base64 with padding, for transports whose bodies are text. The
/// limit applies to the text: base64 makes 4 characters of every 3 bytes, so the largest
/// message that fits is 196,608 bytes before encoding.
pub fn encode_text(message: &Message, key: Option<&SigningKey>) -> Result<String, ProtocolError> {
    let bytes = encode(message, key)?;
    let text_len = bytes.len().div_ceil(3) * 4;
    if text_len > MAX_MESSAGE_BYTES {
        return Err(ProtocolError::Oversized {
            len: text_len,
            max: MAX_MESSAGE_BYTES,
        });
    }
    Ok(STANDARD.encode(bytes))
}

/// Reads [`encode_text`]'s form: exactly standard base64 with padding (no whitespace, no URL
/// alphabet), then [`decode`].
pub fn decode_text(text: &str) -> Result<Decoded, ProtocolError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(ProtocolError::Oversized {
            len: text.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    let bytes = STANDARD
        .decode(text)
        .map_err(|e| ProtocolError::Base64(e.to_string()))?;
    decode(&bytes)
}

/// A cursor that never reads past the end: every take is checked against what remains.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], ProtocolError> {
        let remaining = self.bytes.len() - self.pos;
        if len > remaining {
            return Err(ProtocolError::Truncated {
                what,
                needed: len as u64,
                remaining,
            });
        }
        let out = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    fn take_u32(&mut self, len: u32, what: &'static str) -> Result<&'a [u8], ProtocolError> {
        let remaining = self.bytes.len() - self.pos;
        match usize::try_from(len) {
            Ok(len) => self.take(len, what),
            Err(_) => Err(ProtocolError::Truncated {
                what,
                needed: u64::from(len),
                remaining,
            }),
        }
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ProtocolError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Heartbeat, Region, RunId, WorkerId};

    fn heartbeat() -> Message {
        Message::Heartbeat(Heartbeat {
            run_id: RunId::new("run-1").unwrap(),
            region: Region::new("local-a").unwrap(),
            worker_id: WorkerId::new("w-0").unwrap(),
            sent_ms: 1_700_000_000_000,
        })
    }

    #[test]
    fn layout_is_as_documented() {
        let bytes = encode(&heartbeat(), None).unwrap();
        assert_eq!(&bytes[..3], b"BRD");
        assert_eq!(&bytes[3..5], &[0, 1]);
        assert_eq!(bytes[5], 0x15);
        let body_len = u32::from_be_bytes(bytes[6..10].try_into().unwrap()) as usize;
        let body = std::str::from_utf8(&bytes[10..10 + body_len]).unwrap();
        assert_eq!(
            body,
            r#"{"run_id":"run-1","region":"local-a","worker_id":"w-0","sent_ms":1700000000000}"#
        );
        assert_eq!(&bytes[10 + body_len..], &[0, 0, 0, 0]);
    }

    #[test]
    fn short_inputs_name_what_is_missing() {
        assert!(matches!(
            decode(b""),
            Err(ProtocolError::Truncated { what: "magic", .. })
        ));
        assert!(matches!(
            decode(b"BR"),
            Err(ProtocolError::Truncated { what: "magic", .. })
        ));
        assert!(matches!(decode(b"BX"), Err(ProtocolError::BadMagic)));
        assert!(matches!(
            decode(b"BRD\0"),
            Err(ProtocolError::Truncated {
                what: "version",
                ..
            })
        ));
        let bytes = encode(&heartbeat(), None).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_huge_length_is_checked_before_it_is_used() {
        let mut bytes = b"BRD\x00\x01\x15".to_vec();
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        let err = decode(&bytes).unwrap_err();
        assert!(
            matches!(err, ProtocolError::Truncated { what: "body", needed, remaining: 0 } if needed == u64::from(u32::MAX)),
            "{err}"
        );
    }
}
