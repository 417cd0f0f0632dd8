//! A worker's verifier accepts exactly the controller's fresh, untouched, unreplayed messages,
//! and says why it refuses the rest.

mod common;

use brood_protocol::{
    canonical_plan_bytes, decode, decode_text, encode, encode_text, read_stored_plan,
    stored_plan_key, Control, Kind, Message, Rejection, ReplayGuard, Verifier, CLOCK_SKEW_MS,
};
use common::*;

const NONCE: &str = "0123456789abcdef0123456789abcdef";

fn verifier() -> Verifier {
    Verifier::new(controller_key().verifying_key())
}

fn signed_job() -> Vec<u8> {
    encode(&Message::Job(Box::new(job(NONCE))), Some(&controller_key())).unwrap()
}

#[test]
fn a_signed_fresh_job_is_accepted_once() {
    let mut verifier = verifier();
    let decoded = decode(&signed_job()).unwrap();
    let accepted = verifier.verify_job(&decoded, NOW + 1).unwrap();
    assert_eq!(accepted, job(NONCE));
    let again = verifier.verify_job(&decoded, NOW + 2).unwrap_err();
    assert_eq!(
        again,
        Rejection::Replayed {
            nonce: NONCE.to_string()
        }
    );
    assert!(again.to_string().contains("already used"), "{again}");
}

#[test]
fn the_text_form_verifies_too() {
    let text = encode_text(&Message::Job(Box::new(job(NONCE))), Some(&controller_key())).unwrap();
    let decoded = decode_text(&text).unwrap();
    assert!(verifier().verify_job(&decoded, NOW).is_ok());
}

#[test]
fn tampering_with_any_single_byte_of_a_signed_job_is_rejected() {
    let bytes = signed_job();
    let mut by_decode = 0;
    let mut by_verifier = 0;
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80] {
            let mut tampered = bytes.clone();
            tampered[i] ^= flip;
            match decode(&tampered) {
                Err(_) => by_decode += 1,
                Ok(decoded) => {
                    // A fresh verifier each time, so a refusal cannot come from the replay guard.
                    let verdict = verifier().verify_job(&decoded, NOW);
                    assert!(
                        matches!(verdict, Err(Rejection::BadSignature { .. })),
                        "byte {i} ^ {flip:#x}: {verdict:?}"
                    );
                    by_verifier += 1;
                }
            }
        }
    }
    // Both paths were exercised: flips in JSON structure fail decoding, flips inside values
    // and in the signature decode fine and fail verification.
    assert!(
        by_decode > 0 && by_verifier > 0,
        "{by_decode} {by_verifier}"
    );
}

#[test]
fn a_job_signed_by_another_controller_is_rejected() {
    let forged = encode(&Message::Job(Box::new(job(NONCE))), Some(&other_key())).unwrap();
    let rejection = verifier()
        .verify_job(&decode(&forged).unwrap(), NOW)
        .unwrap_err();
    assert_eq!(rejection, Rejection::BadSignature { kind: Kind::Job });
    assert!(rejection.to_string().contains("another controller"));
}

#[test]
fn an_unsigned_job_is_rejected() {
    let unsigned = encode(&Message::Job(Box::new(job(NONCE))), None).unwrap();
    let rejection = verifier()
        .verify_job(&decode(&unsigned).unwrap(), NOW)
        .unwrap_err();
    assert_eq!(rejection, Rejection::Unsigned { kind: Kind::Job });
    assert!(rejection.to_string().contains("not signed"));
}

#[test]
fn expiry_and_issue_time_allow_thirty_seconds_of_skew_and_no_more() {
    let decoded = decode(&signed_job()).unwrap();
    let expires = NOW + LIFETIME;
    let verdict = |now| verifier().verify_job(&decoded, now);
    assert!(verdict(NOW - CLOCK_SKEW_MS).is_ok());
    assert!(verdict(expires + CLOCK_SKEW_MS - 1).is_ok());
    let late = verdict(expires + CLOCK_SKEW_MS).unwrap_err();
    assert_eq!(
        late,
        Rejection::Expired {
            expires_ms: expires,
            now_ms: expires + CLOCK_SKEW_MS
        }
    );
    assert!(late.to_string().contains("expired"));
    let early = verdict(NOW - CLOCK_SKEW_MS - 1).unwrap_err();
    assert!(matches!(early, Rejection::NotYetValid { .. }), "{early}");
    assert!(early.to_string().contains("clocks differ"));
}

#[test]
fn a_refused_message_does_not_use_up_its_nonce() {
    let mut verifier = verifier();
    let decoded = decode(&signed_job()).unwrap();
    assert!(verifier.verify_job(&decoded, NOW + LIFETIME * 10).is_err());
    assert!(verifier.verify_job(&decoded, NOW).is_ok());
}

#[test]
fn a_plan_hash_mismatch_is_rejected_even_when_signed() {
    // `encode` refuses such a job, so it is built by hand from the documented layout.
    let mut job = job(NONCE);
    job.plan_hash = "ab".repeat(32);
    let body = serde_json::to_vec(&job).unwrap();
    let bytes = raw_envelope(1, 0x01, &body, b"", Some(&controller_key()));
    let rejection = verifier()
        .verify_job(&decode(&bytes).unwrap(), NOW)
        .unwrap_err();
    assert!(
        matches!(&rejection, Rejection::PlanHashMismatch { stated, .. } if *stated == "ab".repeat(32)),
        "{rejection}"
    );
    assert!(rejection.to_string().contains("same brood version"));
}

#[test]
fn a_job_whose_plan_waits_in_the_store_is_verified_by_the_stored_bytes_hash() {
    let full = job(NONCE);
    let plan = full.plan.clone().unwrap();
    let mut small = full.clone();
    small.plan = None;
    let bytes = encode(
        &Message::Job(Box::new(small.clone())),
        Some(&controller_key()),
    )
    .unwrap();
    let accepted = verifier()
        .verify_job(&decode(&bytes).unwrap(), NOW)
        .unwrap();
    assert_eq!(accepted.plan, None);
    assert_eq!(
        stored_plan_key(&accepted.run_id, &accepted.plan_hash),
        format!("spill/plans/{}/{}.json", full.run_id, full.plan_hash)
    );

    let stored = canonical_plan_bytes(&plan);
    assert_eq!(
        read_stored_plan(&stored, &accepted.plan_hash).unwrap(),
        plan
    );

    // Another plan under the key (a tampered or stale object) is refused by the signed hash.
    let mut other = plan.clone();
    other.stop_timeout = std::time::Duration::from_secs(99);
    let rejection =
        read_stored_plan(&canonical_plan_bytes(&other), &accepted.plan_hash).unwrap_err();
    assert!(
        matches!(rejection, Rejection::PlanHashMismatch { .. }),
        "{rejection}"
    );
    let rejection = read_stored_plan(b"{not json", &accepted.plan_hash).unwrap_err();
    assert!(
        rejection.to_string().contains("artifact store"),
        "{rejection}"
    );
}

#[test]
fn wrong_version_oversized_and_malformed_inputs_become_rejections() {
    let mut bytes = signed_job();
    bytes[4] = 2;
    let rejection = Rejection::from(decode(&bytes).unwrap_err());
    assert_eq!(
        rejection,
        Rejection::WrongVersion {
            found: 2,
            supported: 1
        }
    );
    let huge = vec![0u8; brood_protocol::MAX_MESSAGE_BYTES + 1];
    assert!(matches!(
        Rejection::from(decode(&huge).unwrap_err()),
        Rejection::Oversized { .. }
    ));
    let malformed = Rejection::from(decode(b"BRD\x00\x01\x01\x00\x00\x00\x02{}").unwrap_err());
    assert!(
        matches!(malformed, Rejection::Malformed { .. }),
        "{malformed}"
    );
}

#[test]
fn control_messages_verify_and_kinds_are_not_mixed_up() {
    let key = controller_key();
    let start_bytes = encode(&Message::Start(start(NONCE)), Some(&key)).unwrap();
    let stop_bytes = encode(
        &Message::Stop(stop("ffffffffffffffffffffffffffffffff", true)),
        Some(&key),
    )
    .unwrap();
    let mut verifier = verifier();
    let start_decoded = decode(&start_bytes).unwrap();
    assert_eq!(
        verifier.verify_job(&start_decoded, NOW).unwrap_err(),
        Rejection::WrongKind {
            expected: "a job",
            found: Kind::Start
        }
    );
    assert_eq!(
        verifier.verify_control(&start_decoded, NOW).unwrap(),
        Control::Start(start(NONCE))
    );
    assert!(matches!(
        verifier.verify_control(&decode(&stop_bytes).unwrap(), NOW),
        Ok(Control::Stop(stop)) if stop.abort
    ));
    assert!(matches!(
        verifier.verify_control(&decode(&signed_job()).unwrap(), NOW),
        Err(Rejection::WrongKind {
            found: Kind::Job,
            ..
        })
    ));
    // A worker message signed with the controller key is still no control message.
    let heartbeat = encode(&every_message()[7], Some(&key)).unwrap();
    assert!(matches!(
        verifier.verify_control(&decode(&heartbeat).unwrap(), NOW),
        Err(Rejection::WrongKind { .. })
    ));
    // A start replayed later within its validity is refused.
    assert!(matches!(
        verifier.verify_control(&start_decoded, NOW + 10),
        Err(Rejection::Replayed { .. })
    ));
}

#[test]
fn a_small_replay_guard_bounds_memory() {
    let mut verifier =
        Verifier::with_replay_guard(controller_key().verifying_key(), ReplayGuard::new(1));
    let key = controller_key();
    let first = encode(&Message::Stop(stop(NONCE, false)), Some(&key)).unwrap();
    let second = encode(
        &Message::Stop(stop("00000000000000000000000000000000", false)),
        Some(&key),
    )
    .unwrap();
    assert!(verifier
        .verify_control(&decode(&first).unwrap(), NOW)
        .is_ok());
    assert_eq!(
        verifier.verify_control(&decode(&second).unwrap(), NOW),
        Err(Rejection::ReplayGuardFull { capacity: 1 })
    );
}
