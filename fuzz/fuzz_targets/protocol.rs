//! Feeds arbitrary bytes to the protocol decoder (as bytes and as base64 text) and to the
//! worker's verifier; any panic is a bug.
//!
//! The first byte picks what the rest is. A signature stops random bytes at the verifier's door,
//! so one mode wraps the input in a correctly signed envelope: that reaches the body parser, the
//! message checks and every verification step after the signature.

#![no_main]

use brood_protocol::{decode, decode_text, Decoded, Kind, SigningKey, Verifier, PROTOCOL_VERSION};
use ed25519_dalek::Signer;
use libfuzzer_sys::fuzz_target;

/// The fixtures' clock: a plausible Unix ms.
const NOW: u64 = 1_750_000_000_000;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn check(decoded: Result<Decoded, brood_protocol::ProtocolError>) {
    match decoded {
        Ok(decoded) => {
            let mut verifier = Verifier::new(key().verifying_key());
            let _ = verifier.verify_job(&decoded, NOW);
            let _ = verifier.verify_control(&decoded, NOW);
            let _ = verifier.verify_control(&decoded, NOW);
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
}

/// `body` (and, for snapshots, an attachment split off at the second byte's value) in a
/// correctly signed envelope of the kind the first byte picks.
fn signed_envelope(data: &[u8]) -> Option<Vec<u8>> {
    let (&pick, rest) = data.split_first()?;
    let kind = Kind::ALL[usize::from(pick) % Kind::ALL.len()];
    let (body, attachment) = match (kind, rest.split_first()) {
        (Kind::Snapshot, Some((&split, rest))) => rest.split_at(usize::from(split).min(rest.len())),
        _ => (rest, &[][..]),
    };
    let mut out = b"BRD".to_vec();
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    out.push(kind.code());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&(attachment.len() as u32).to_be_bytes());
    out.extend_from_slice(attachment);
    let signature = key().sign(&out);
    out.extend_from_slice(&signature.to_bytes());
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => check(decode(rest)),
        // Lossy decoding keeps inputs with a stray invalid byte useful instead of discarding them.
        1 => check(decode_text(&String::from_utf8_lossy(rest))),
        _ => {
            if let Some(bytes) = signed_envelope(rest) {
                check(decode(&bytes));
            }
        }
    }
});
