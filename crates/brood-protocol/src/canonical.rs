//! The plan hash: SHA-256 over one canonical byte form of a [`Plan`], so that a controller and a
//! worker that hold equal plans compute equal hashes, and a worker that reads the plan
//! differently (another brood version, a field it does not know) computes another.
//!
//! ## Why the form is canonical
//!
//! The plan is turned into a JSON value tree and written with:
//!
//! - object keys sorted by their UTF-8 bytes at every level, so neither the declaration order of
//!   struct fields nor the insertion order of a JSON map (a check's expected value, whose order
//!   depends on whether serde_json's `preserve_order` feature is on somewhere in the build)
//!   changes the bytes;
//! - no whitespace;
//! - integers in decimal, floats in the shortest form that reads back to the same bits (ryu),
//!   and this crate turns on serde_json's `float_roundtrip`, so a float that crossed the wire as
//!   text is the same float on the other side;
//! - strings with serde_json's minimal escaping, which depends only on the string.
//!
//! The plan holds no hash maps (whose iteration order varies from process to process), so the
//! tree is a function of the plan's value, and decoding a job and hashing its plan reproduces
//! the controller's bytes exactly.
//! Non-finite floats have no JSON form (they become `null`); compiled plans contain none.

use brood_plan::Plan;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The canonical bytes of `plan`; see the module docs.
pub fn canonical_plan_bytes(plan: &Plan) -> Vec<u8> {
    // A plan has no map with non-string keys and no serializer of its own that can fail, so
    // turning it into a JSON tree cannot fail; a failure would be a bug in a `Serialize` impl.
    let tree = serde_json::to_value(plan).expect("a plan is representable as JSON");
    canonical_json(&tree)
}

/// Lower-case hex SHA-256 of [`canonical_plan_bytes`].
pub fn plan_hash(plan: &Plan) -> String {
    let digest = Sha256::digest(canonical_plan_bytes(plan));
    crate::keys::hex_encode(&digest)
}

/// `value` written compactly with object keys sorted at every level.
fn canonical_json(value: &Value) -> Vec<u8> {
    let sorted = sort_keys(value);
    // Writing an in-memory tree of string-keyed objects cannot fail.
    serde_json::to_vec(&sorted).expect("a JSON tree can be written")
}

fn sort_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k.clone(), sort_keys(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_at_every_level_and_nothing_else_moves() {
        let value: Value = serde_json::from_str(
            r#"{ "b": 1, "a": { "d": [1.5, { "z": null, "y": true }], "c": "x\u00e9\n" },
                 "B": [3, 2, 1], "é": 0.1 }"#,
        )
        .unwrap();
        let text = String::from_utf8(canonical_json(&value)).unwrap();
        assert_eq!(
            text,
            r#"{"B":[3,2,1],"a":{"c":"xé\n","d":[1.5,{"y":true,"z":null}]},"b":1,"é":0.1}"#
        );
    }

    #[test]
    fn floats_read_back_to_the_same_bits() {
        let tricky = [
            1.0 / 3.0,
            0.1 + 0.2,
            2.0f64.powi(-1074),
            f64::MAX,
            9007199254740993.0,
            123456.789e-300,
        ];
        for x in tricky {
            let text = serde_json::to_string(&x).unwrap();
            let back: f64 = serde_json::from_str(&text).unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{text}");
        }
    }
}
