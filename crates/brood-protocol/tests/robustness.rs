//! Hostile input: random bytes, valid messages with bytes flipped, cut, inserted or with their
//! length fields rewritten, and the same as text. Decoding and verifying them must return an
//! answer, never panic.

mod common;

use brood_protocol::{decode, decode_text, encode, encode_text, Decoded, Verifier, MAGIC};
use common::*;

const INPUTS: usize = 20_000;

/// Runs everything a worker or the controller would run on received bytes.
fn swallow(
    verifier: &mut Verifier,
    result: Result<Decoded, brood_protocol::ProtocolError>,
) -> bool {
    match result {
        Ok(decoded) => {
            let _ = verifier.verify_job(&decoded, NOW);
            let _ = verifier.verify_control(&decoded, NOW);
            true
        }
        Err(error) => {
            // Every error can be shown.
            assert!(!error.to_string().is_empty());
            false
        }
    }
}

fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = bytes.len();
        match rng.below(7) {
            0 if len > 0 => bytes[rng.below(len)] ^= 1 << rng.below(8),
            1 if len > 0 => bytes[rng.below(len)] = rng.next() as u8,
            2 => bytes.truncate(rng.below(len + 1)),
            3 => {
                let at = rng.below(len + 1);
                bytes.insert(at, rng.next() as u8);
            }
            4 if len > 0 => {
                let at = rng.below(len);
                bytes.remove(at);
            }
            // Rewrite a length field (body at 6, attachment somewhere later) with a nearby or
            // absurd value.
            5 if len >= 10 => {
                let at = if rng.below(2) == 0 {
                    6
                } else {
                    rng.below(len - 3)
                };
                let value = match rng.below(3) {
                    0 => u32::MAX,
                    1 => rng.next() as u32,
                    _ => u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
                        .wrapping_add(rng.below(5) as u32)
                        .wrapping_sub(2),
                };
                bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
            }
            _ => {
                let extra = rng.below(80);
                bytes.extend((0..extra).map(|_| rng.next() as u8));
            }
        }
    }
    bytes
}

#[test]
fn random_and_mutated_inputs_never_panic() {
    let key = controller_key();
    let seeds: Vec<Vec<u8>> = every_message()
        .iter()
        .flat_map(|m| [encode(m, None).unwrap(), encode(m, Some(&key)).unwrap()])
        .collect();
    let mut verifier = Verifier::new(key.verifying_key());
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut decoded = 0;
    for i in 0..INPUTS {
        let input = match i % 4 {
            // Pure noise.
            0 => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
            // Noise behind a valid header, to get past the magic and version checks.
            1 => {
                let mut bytes = MAGIC.to_vec();
                bytes.extend_from_slice(&[
                    0,
                    1,
                    [0x01, 0x02, 0x03, 0x11, 0x12, 0x15][rng.below(6)],
                ]);
                bytes.extend((0..rng.below(200)).map(|_| rng.next() as u8));
                bytes
            }
            // Valid messages, damaged.
            _ => {
                let seed = &seeds[rng.below(seeds.len())];
                mutate(&mut rng, seed)
            }
        };
        if swallow(&mut verifier, decode(&input)) {
            decoded += 1;
        }
        // The same bytes as text: as base64 (exercises decode) and as raw text (exercises the
        // base64 reader).
        let text = base64_of(&input);
        swallow(&mut verifier, decode_text(&text));
        swallow(&mut verifier, decode_text(&String::from_utf8_lossy(&input)));
    }
    // Some mutations leave a valid message (a flipped bit in a string or the signature).
    assert!(decoded > 0);
}

#[test]
fn mutated_text_forms_never_panic() {
    let key = controller_key();
    let texts: Vec<String> = every_message()
        .iter()
        .map(|m| encode_text(m, Some(&key)).unwrap())
        .collect();
    let mut verifier = Verifier::new(key.verifying_key());
    let mut rng = XorShift(42);
    for _ in 0..2_000 {
        let seed = texts[rng.below(texts.len())].as_bytes();
        let mutated = mutate(&mut rng, seed);
        swallow(
            &mut verifier,
            decode_text(&String::from_utf8_lossy(&mutated)),
        );
    }
}

/// Standard base64 without the crate, so the test does not share the code under test.
fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn the_test_base64_matches_the_standard() {
    assert_eq!(base64_of(b""), "");
    assert_eq!(base64_of(b"B"), "Qg==");
    assert_eq!(base64_of(b"BR"), "QlI=");
    assert_eq!(base64_of(b"BRD"), "QlJE");
    let message = &every_message()[7];
    let bytes = encode(message, None).unwrap();
    assert_eq!(base64_of(&bytes), encode_text(message, None).unwrap());
}
