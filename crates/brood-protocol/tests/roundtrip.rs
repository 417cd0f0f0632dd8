//! Every message survives encoding and decoding unchanged, signed and unsigned, as bytes and as
//! text; sizes are limited on both sides.

mod common;

use brood_protocol::{
    decode, decode_text, encode, encode_text, plan_hash, Kind, Message, ProtocolError,
    MAX_MESSAGE_BYTES, PROTOCOL_VERSION,
};
use common::*;

#[test]
fn every_message_round_trips_signed_and_unsigned_as_bytes_and_text() {
    let key = controller_key();
    let messages = every_message();
    assert_eq!(
        messages.iter().map(Message::kind).collect::<Vec<_>>(),
        Kind::ALL
    );
    for message in &messages {
        for signer in [None, Some(&key)] {
            let bytes = encode(message, signer).unwrap();
            let decoded = decode(&bytes).unwrap();
            assert_eq!(decoded.message(), message, "{}", message.kind());
            assert_eq!(decoded.kind(), message.kind());
            assert_eq!(decoded.version(), PROTOCOL_VERSION);
            assert_eq!(decoded.is_signed(), signer.is_some());

            let text = encode_text(message, signer).unwrap();
            assert!(text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)));
            let from_text = decode_text(&text).unwrap();
            assert_eq!(from_text.message(), message);
            assert_eq!(from_text.is_signed(), signer.is_some());
            assert_eq!(decode_text(&text).unwrap().into_message(), *message);
        }
    }
}

#[test]
fn a_decoded_plan_hashes_like_the_original_and_its_floats_are_exact() {
    let Message::Job(job) = &every_message()[0] else {
        unreachable!()
    };
    let bytes = encode(&Message::Job(job.clone()), Some(&controller_key())).unwrap();
    let Message::Job(back) = decode(&bytes).unwrap().into_message() else {
        unreachable!()
    };
    assert_eq!(plan_hash(back.plan.as_ref().unwrap()), job.plan_hash);
    assert_eq!(back.segment.start.to_bits(), job.segment.start.to_bits());
    assert_eq!(back.segment.end.to_bits(), job.segment.end.to_bits());
}

#[test]
fn the_plan_hash_is_fixed_hex_and_sees_every_change() {
    let plan = plan();
    let hash = plan_hash(&plan);
    assert_eq!(hash.len(), 64);
    assert_eq!(hash, plan_hash(&plan.clone()));
    let mut changed = plan.clone();
    changed.insecure_tls = !changed.insecure_tls;
    assert_ne!(plan_hash(&changed), hash);
    let mut changed = plan;
    changed.user_types[1].weight += 1;
    assert_ne!(plan_hash(&changed), hash);
}

#[test]
fn encode_refuses_a_job_whose_hash_is_not_its_plans() {
    let mut job = job("0123456789abcdef0123456789abcdef");
    job.plan_hash = "0".repeat(64);
    let err = encode(&Message::Job(Box::new(job)), Some(&controller_key())).unwrap_err();
    assert!(
        matches!(
            err,
            ProtocolError::Invalid {
                field: "plan_hash",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn encode_refuses_ill_formed_messages_with_the_field_named() {
    let nonce = "0123456789abcdef0123456789abcdef";
    let mut bad_slot = job(nonce);
    bad_slot.slot = 3;
    let mut backwards = start(nonce);
    backwards.expires_ms = backwards.issued_ms;
    let mut short_nonce = stop(nonce, false);
    short_nonce.nonce = "abc".to_string();
    let mut upper_nonce = stop(nonce, false);
    upper_nonce.nonce = nonce.to_uppercase();
    let Message::Snapshot(mut nan) = every_message().remove(4) else {
        unreachable!()
    };
    nan.health.cpu_percent = f32::NAN;
    let cases = [
        (Message::Job(Box::new(bad_slot)), "slot"),
        (Message::Start(backwards), "expires_ms"),
        (Message::Stop(short_nonce), "nonce"),
        (Message::Stop(upper_nonce), "nonce"),
        (Message::Snapshot(nan), "health.cpu_percent"),
    ];
    for (message, field) in cases {
        let err = encode(&message, None).unwrap_err();
        assert!(
            matches!(&err, ProtocolError::Invalid { field: f, .. } if *f == field),
            "{field}: {err}"
        );
    }
}

#[test]
fn oversized_messages_are_refused_on_encode_with_the_size() {
    let big = Message::Job(Box::new(job_with_plan(
        plan_with_feed(MAX_MESSAGE_BYTES + 10_000),
        "0123456789abcdef0123456789abcdef",
    )));
    let err = encode(&big, Some(&controller_key())).unwrap_err();
    assert!(
        matches!(err, ProtocolError::Oversized { len, max } if len > max && max == MAX_MESSAGE_BYTES),
        "{err}"
    );
    assert!(err.to_string().contains("artifact store"));

    // Fits as bytes, but not as base64 text: the limit applies to what the queue carries.
    let medium = Message::Job(Box::new(job_with_plan(
        plan_with_feed(220_000),
        "0123456789abcdef0123456789abcdef",
    )));
    let bytes = encode(&medium, Some(&controller_key())).unwrap();
    assert!(bytes.len() > MAX_MESSAGE_BYTES * 3 / 4 && bytes.len() <= MAX_MESSAGE_BYTES);
    assert!(decode(&bytes).is_ok());
    let err = encode_text(&medium, Some(&controller_key())).unwrap_err();
    assert!(matches!(err, ProtocolError::Oversized { .. }), "{err}");
}

#[test]
fn oversized_input_is_refused_on_decode_before_it_is_read() {
    let mut bytes = encode(&every_message()[7], None).unwrap();
    bytes.resize(MAX_MESSAGE_BYTES + 1, 0);
    assert!(matches!(
        decode(&bytes),
        Err(ProtocolError::Oversized { len, .. }) if len == MAX_MESSAGE_BYTES + 1
    ));
    let text = "A".repeat(MAX_MESSAGE_BYTES + 4);
    assert!(matches!(
        decode_text(&text),
        Err(ProtocolError::Oversized { .. })
    ));
}

#[test]
fn text_form_is_strict_standard_base64() {
    let text = encode_text(&every_message()[7], None).unwrap();
    assert!(decode_text(&format!("{text}\n")).is_err());
    // "BR" is "QlI=" in base64: the padding is required.
    assert!(matches!(decode_text("QlI"), Err(ProtocolError::Base64(_))));
    assert!(matches!(
        decode_text("QlI="),
        Err(ProtocolError::Truncated { .. })
    ));
    assert!(matches!(decode_text("QlI-"), Err(ProtocolError::Base64(_))));
    let err = decode_text("not base64!").unwrap_err();
    assert!(matches!(err, ProtocolError::Base64(_)), "{err}");
}

#[test]
fn an_unknown_version_or_kind_is_refused_with_a_reason() {
    let body = br#"{"run_id":"r","region":"a","worker_id":"w","sent_ms":1}"#;
    assert!(decode(&raw_envelope(1, 0x15, body, b"", None)).is_ok());
    let err = decode(&raw_envelope(2, 0x15, body, b"", None)).unwrap_err();
    assert!(
        matches!(
            err,
            ProtocolError::UnsupportedVersion {
                found: 2,
                supported: 1
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("version 2 is not supported"));
    // A future version may change everything after the version field; it is still refused by
    // version, not misread.
    let err = decode(b"BRD\xff\xffwhatever follows").unwrap_err();
    assert!(matches!(
        err,
        ProtocolError::UnsupportedVersion { found: 0xffff, .. }
    ));
    let err = decode(&raw_envelope(1, 0x7f, body, b"", None)).unwrap_err();
    assert!(matches!(err, ProtocolError::UnknownKind(0x7f)), "{err}");
}

#[test]
fn bodies_refuse_unknown_and_missing_fields_and_stray_attachments() {
    let extra = br#"{"run_id":"r","region":"a","worker_id":"w","sent_ms":1,"more":2}"#;
    let missing = br#"{"run_id":"r","region":"a","worker_id":"w"}"#;
    let bad_id = br#"{"run_id":"r/../x","region":"a","worker_id":"w","sent_ms":1}"#;
    let float = br#"{"run_id":"r","region":"a","worker_id":"w","sent_ms":1.5}"#;
    let trailing = br#"{"run_id":"r","region":"a","worker_id":"w","sent_ms":1} {}"#;
    for body in [&extra[..], missing, bad_id, float, trailing] {
        let err = decode(&raw_envelope(1, 0x15, body, b"", None)).unwrap_err();
        assert!(
            matches!(
                err,
                ProtocolError::Payload {
                    kind: Kind::Heartbeat,
                    ..
                }
            ),
            "{err}"
        );
    }
    let ok = br#"{"run_id":"r","region":"a","worker_id":"w","sent_ms":1}"#;
    let err = decode(&raw_envelope(1, 0x15, ok, b"\x01", None)).unwrap_err();
    assert!(
        matches!(err, ProtocolError::UnexpectedAttachment { .. }),
        "{err}"
    );
}

#[test]
fn bytes_after_the_payload_must_be_a_whole_signature() {
    let mut bytes = encode(&every_message()[7], None).unwrap();
    bytes.extend_from_slice(&[0; 10]);
    assert!(matches!(
        decode(&bytes),
        Err(ProtocolError::TrailingBytes(10))
    ));
    bytes.resize(bytes.len() - 10 + 65, 0);
    assert!(matches!(
        decode(&bytes),
        Err(ProtocolError::TrailingBytes(65))
    ));
}
