//! Decoding never panics, whatever the bytes: random input, every truncation and byte flips of
//! valid encodings, and forged lengths all end in `Ok` or `Err`.

mod rng;

use brood_stats::{EntryName, Outcome, Recorder, Snapshot, FORMAT_VERSION};
use rng::XorShift;

fn valid_encoding(seed: u64) -> Vec<u8> {
    let mut rng = XorShift::new(seed);
    let names = [
        EntryName {
            method: "GET".into(),
            name: "/a".into(),
        },
        EntryName {
            method: "PUT".into(),
            name: "/b".into(),
        },
    ];
    let mut r = Recorder::new(&names);
    for i in 0..200 {
        let error = (i % 7 == 0).then_some("HTTP 502");
        let outcome = Outcome {
            elapsed_us: rng.latency_us(),
            error,
            ..Outcome::default()
        };
        r.record(rng.below(2) as usize, &outcome, 1000 + i);
    }
    r.record_exception("boom", "trace", "w1", 5000);
    r.add_dropped_arrivals(9);
    r.take(4, 6000).encode()
}

/// Anything that decodes must behave: percentiles within the extremes, re-encoding readable.
fn check(bytes: &[u8]) {
    if let Ok(snap) = Snapshot::decode(bytes) {
        for e in snap.entries.values() {
            let h = &e.hist;
            let p = h.value_at_percentile(99.9);
            assert!(h.is_empty() || (p >= h.min() && p <= h.max()));
        }
        let again = snap.encode();
        assert_eq!(Snapshot::decode(&again).as_ref(), Ok(&snap));
        let mut merged = snap.clone();
        merged.merge(&snap);
        let _ = merged.aggregated();
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = XorShift::new(42);
    for _ in 0..20_000 {
        let len = rng.below(200) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if rng.below(2) == 0 && !bytes.is_empty() {
            bytes[0] = FORMAT_VERSION;
        }
        check(&bytes);
    }
}

#[test]
fn every_truncation_is_rejected() {
    let bytes = valid_encoding(1);
    assert!(Snapshot::decode(&bytes).is_ok());
    for cut in 0..bytes.len() {
        assert!(Snapshot::decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn flipped_bytes_never_panic() {
    let mut rng = XorShift::new(7);
    for seed in 1..6 {
        let bytes = valid_encoding(seed);
        for _ in 0..2500 {
            let mut forged = bytes.clone();
            for _ in 0..=rng.below(3) {
                let at = rng.below(forged.len() as u64) as usize;
                forged[at] = match rng.below(3) {
                    0 => rng.next() as u8,
                    1 => 0xff,
                    _ => forged[at] ^ (1 << rng.below(8)),
                };
            }
            check(&forged);
        }
    }
}

#[test]
fn forged_huge_values_stay_cheap() {
    // A histogram bucket at u64::MAX is legal (no cap on latency) and must not blow up.
    let mut r = Recorder::new(&[EntryName {
        method: "GET".into(),
        name: "/".into(),
    }]);
    r.record(
        0,
        &Outcome {
            elapsed_us: u64::MAX,
            ..Outcome::default()
        },
        1,
    );
    r.record(
        0,
        &Outcome {
            elapsed_us: 0,
            ..Outcome::default()
        },
        1,
    );
    let snap = r.take(0, 2);
    let back = Snapshot::decode(&snap.encode()).unwrap();
    assert_eq!(back, snap);
    let e = back.aggregated();
    assert_eq!(e.hist.value_at_percentile(100.0), u64::MAX);
    assert_eq!(e.hist.value_at_percentile(50.0), 0);
}
