//! Failures are grouped by a bounded key: variable parts of reasons are normalised, and past
//! [`MAX_FAILURE_KEYS`] distinct keys the rest are counted in one "other" row.

use brood_stats::{
    EntryName, FailureKey, Outcome, Recorder, RunStats, MAX_FAILURE_KEYS, OTHER_REASON,
};

fn entry() -> EntryName {
    EntryName {
        method: "GET".into(),
        name: "/r".into(),
    }
}

/// A uuid-like text that differs for every `n`.
fn uuid(n: u64) -> String {
    let hex = format!(
        "{:032x}",
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15) as u128 * 7 + n as u128
    );
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[test]
fn hardening_8_a_redirect_echoing_uuids_makes_one_failure_row() {
    let mut r = Recorder::new(&[entry()]);
    let mut stats = RunStats::new(0);
    let mut sent = 0u64;
    for second in 1..=20u64 {
        for i in 0..3_000u64 {
            let reason = format!(
                "redirect to an invalid location \"http://127.0.0.1:1/next /{}?n={i}\"",
                uuid(second * 10_000 + i)
            );
            let outcome = Outcome {
                elapsed_us: 100,
                error: Some(&reason),
                ..Outcome::default()
            };
            r.record(0, &outcome, second * 1000 - 1);
            sent += 1;
        }
        stats.add(&r.take(1, second * 1000));
    }
    let failures = &stats.totals().failures;
    assert_eq!(failures.len(), 1, "{failures:?}");
    let (key, f) = failures.iter().next().unwrap();
    assert_eq!(
        key.error,
        "redirect to an invalid location \"http://127.0.0.1:1/next /{uuid}?n={v}\""
    );
    assert_eq!(f.occurrences, sent);
}

#[test]
fn hardening_8_distinct_reasons_past_the_cap_are_counted_as_other() {
    let mut r = Recorder::new(&[entry()]);
    let mut stats = RunStats::new(0);
    let words = [
        "alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta",
    ];
    let mut sent = 0u64;
    // Reasons that normalising cannot merge: letters only, a new combination each time.
    for second in 1..=10u64 {
        for i in 0..600u64 {
            let n = second * 600 + i;
            let reason = format!(
                "HTTP 500 {} {} {} {}",
                words[(n % 8) as usize],
                words[(n / 8 % 8) as usize],
                words[(n / 64 % 8) as usize],
                words[(n / 512 % 8) as usize],
            );
            let outcome = Outcome {
                elapsed_us: 100,
                error: Some(&reason),
                ..Outcome::default()
            };
            r.record(0, &outcome, second * 1000 - 1);
            sent += 1;
        }
        stats.add(&r.take(1, second * 1000));
    }
    let failures = &stats.totals().failures;
    assert_eq!(failures.len(), MAX_FAILURE_KEYS + 1);
    let other = &failures[&FailureKey::other()];
    assert_eq!(FailureKey::other().error, OTHER_REASON);
    assert!(other.occurrences > 0);
    let counted: u64 = failures.values().map(|f| f.occurrences).sum();
    assert_eq!(counted, sent, "every failure is counted once");
}
