//! The compact binary form of a [`Snapshot`]: LEB128 varints, sparse delta-coded histograms, and
//! a leading format-version byte.
//!
//! Decoding treats its input as hostile: it never panics, checks every length against the bytes
//! that remain before allocating, requires sorted unique keys (so each snapshot has one encoding)
//! and rejects trailing bytes.

use std::collections::{BTreeMap, BTreeSet};

use brood_plan::EntryName;

use crate::{
    EntryStats, ExceptionStats, FailureKey, FailureStats, Histogram, Snapshot, SparseHistogram,
    Timing,
};

/// The format version written by [`Snapshot::encode`]. Version 2 added the count of requests
/// cut off at the end; version 1 (without it) is still read, as a count of 0.
pub const FORMAT_VERSION: u8 = 2;

/// Why bytes could not be read back as stats.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty input: no format version byte")]
    Empty,
    #[error(
        "snapshot format version {0} is not supported (this build reads 1 to {FORMAT_VERSION})"
    )]
    Version(u8),
    #[error("input ends inside {0}")]
    Truncated(&'static str),
    #[error("a varint in {0} is longer than 64 bits")]
    VarintOverflow(&'static str),
    #[error("{what} claims {len} items or bytes but only {remaining} bytes remain")]
    Length {
        what: &'static str,
        len: u64,
        remaining: usize,
    },
    #[error("{0} is not valid UTF-8")]
    Utf8(&'static str),
    #[error("invalid snapshot: {0}")]
    Invalid(&'static str),
    #[error("{0} bytes left over after the snapshot")]
    Trailing(usize),
}

impl Snapshot {
    /// The compact binary form; see the module docs.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.entries.len() * 96);
        out.push(FORMAT_VERSION);
        for v in [
            self.start_ms,
            self.end_ms,
            self.users,
            self.dropped_arrivals,
            self.cut_off,
        ] {
            put_varint(&mut out, v);
        }
        put_varint(&mut out, self.entries.len() as u64);
        for (name, stats) in &self.entries {
            put_str(&mut out, &name.method);
            put_str(&mut out, &name.name);
            put_entry(&mut out, stats);
        }
        put_varint(&mut out, self.failures.len() as u64);
        for (key, stats) in &self.failures {
            put_str(&mut out, &key.method);
            put_str(&mut out, &key.name);
            put_str(&mut out, &key.error);
            for v in [stats.occurrences, stats.first_seen_ms, stats.last_seen_ms] {
                put_varint(&mut out, v);
            }
        }
        put_varint(&mut out, self.exceptions.len() as u64);
        for (message, stats) in &self.exceptions {
            put_str(&mut out, message);
            put_varint(&mut out, stats.count);
            put_str(&mut out, &stats.traceback);
            put_varint(&mut out, stats.nodes.len() as u64);
            for node in &stats.nodes {
                put_str(&mut out, node);
            }
        }
        out
    }

    /// Reads what [`Snapshot::encode`] wrote; see the module docs for what is rejected.
    pub fn decode(bytes: &[u8]) -> Result<Snapshot, DecodeError> {
        let (&version, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
        if !(1..=FORMAT_VERSION).contains(&version) {
            return Err(DecodeError::Version(version));
        }
        let mut r = Reader { bytes: rest };
        let mut snap = Snapshot {
            start_ms: r.varint("window")?,
            end_ms: r.varint("window")?,
            users: r.varint("users")?,
            dropped_arrivals: r.varint("dropped arrivals")?,
            ..Snapshot::default()
        };
        if version >= 2 {
            snap.cut_off = r.varint("cut-off requests")?;
        }
        snap.entries = read_entries(&mut r)?;
        snap.failures = read_failures(&mut r)?;
        snap.exceptions = read_exceptions(&mut r)?;
        if !r.bytes.is_empty() {
            return Err(DecodeError::Trailing(r.bytes.len()));
        }
        Ok(snap)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_option(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put_varint(out, v);
        }
    }
}

fn put_entry(out: &mut Vec<u8>, e: &EntryStats) {
    let t = &e.timing;
    for v in [
        e.requests,
        e.failures,
        e.total_us,
        e.min_us,
        e.max_us,
        e.content_bytes,
        t.connect_us,
        t.connects,
        t.tls_us,
        t.tls_handshakes,
        t.ttfb_us,
        t.ttfb_count,
    ] {
        put_varint(out, v);
    }
    put_option(out, e.first_request_ms);
    put_option(out, e.last_request_ms);
    put_histogram(out, &e.hist);
}

fn put_histogram(out: &mut Vec<u8>, h: &Histogram) {
    let sparse = h.to_sparse();
    for v in [sparse.min, sparse.max, sparse.sum] {
        put_varint(out, v);
    }
    put_varint(out, sparse.buckets.len() as u64);
    // Bucket values ascend, so deltas keep most of them to one or two bytes.
    let mut previous = 0;
    for (value, count) in sparse.buckets {
        put_varint(out, value - previous);
        put_varint(out, count);
        previous = value;
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        let (&b, rest) = self
            .bytes
            .split_first()
            .ok_or(DecodeError::Truncated(what))?;
        self.bytes = rest;
        Ok(b)
    }

    fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte(what)?;
            let bits = u64::from(b & 0x7f);
            // The tenth byte may carry only the top bit of a u64.
            if shift == 63 && bits > 1 {
                return Err(DecodeError::VarintOverflow(what));
            }
            value |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::VarintOverflow(what))
    }

    /// A count of items that each take at least `min_bytes` bytes, checked against what is left
    /// so that a forged count cannot make the caller allocate more than the input justifies.
    fn count(&mut self, what: &'static str, min_bytes: usize) -> Result<usize, DecodeError> {
        let len = self.varint(what)?;
        let fits = usize::try_from(len)
            .ok()
            .and_then(|n| n.checked_mul(min_bytes))
            .is_some_and(|need| need <= self.bytes.len());
        if !fits {
            return Err(DecodeError::Length {
                what,
                len,
                remaining: self.bytes.len(),
            });
        }
        Ok(len as usize)
    }

    fn str(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let len = self.count(what, 1)?;
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        std::str::from_utf8(head)
            .map(str::to_owned)
            .map_err(|_| DecodeError::Utf8(what))
    }

    fn option(&mut self, what: &'static str) -> Result<Option<u64>, DecodeError> {
        match self.byte(what)? {
            0 => Ok(None),
            1 => Ok(Some(self.varint(what)?)),
            _ => Err(DecodeError::Invalid("option tag is neither 0 nor 1")),
        }
    }
}

fn read_entries(r: &mut Reader<'_>) -> Result<BTreeMap<EntryName, EntryStats>, DecodeError> {
    // An entry takes at least 2 string lengths, 12 varints, 2 option tags and 4 histogram varints.
    let n = r.count("entries", 20)?;
    let mut entries = BTreeMap::new();
    for _ in 0..n {
        let name = EntryName {
            method: r.str("entry method")?,
            name: r.str("entry name")?,
        };
        let stats = read_entry(r)?;
        insert_ascending(&mut entries, name, stats, "entries not sorted and unique")?;
    }
    Ok(entries)
}

fn read_entry(r: &mut Reader<'_>) -> Result<EntryStats, DecodeError> {
    let mut v = [0u64; 12];
    for slot in &mut v {
        *slot = r.varint("entry")?;
    }
    let first_request_ms = r.option("first request time")?;
    let last_request_ms = r.option("last request time")?;
    let hist = read_histogram(r)?;
    Ok(EntryStats {
        requests: v[0],
        failures: v[1],
        total_us: v[2],
        min_us: v[3],
        max_us: v[4],
        content_bytes: v[5],
        hist,
        timing: Timing {
            connect_us: v[6],
            connects: v[7],
            tls_us: v[8],
            tls_handshakes: v[9],
            ttfb_us: v[10],
            ttfb_count: v[11],
        },
        first_request_ms,
        last_request_ms,
    })
}

fn read_histogram(r: &mut Reader<'_>) -> Result<Histogram, DecodeError> {
    let min = r.varint("histogram")?;
    let max = r.varint("histogram")?;
    let sum = r.varint("histogram")?;
    let n = r.count("histogram buckets", 2)?;
    let mut buckets = Vec::with_capacity(n);
    let mut value: u64 = 0;
    for i in 0..n {
        let delta = r.varint("histogram bucket")?;
        // Buckets ascend strictly; a zero delta after the first would repeat a bucket.
        if i > 0 && delta == 0 {
            return Err(DecodeError::Invalid("histogram buckets not ascending"));
        }
        value = value
            .checked_add(delta)
            .ok_or(DecodeError::Invalid("histogram bucket value overflows"))?;
        buckets.push((value, r.varint("histogram bucket")?));
    }
    Histogram::from_sparse(&SparseHistogram {
        min,
        max,
        sum,
        buckets,
    })
}

fn read_failures(r: &mut Reader<'_>) -> Result<BTreeMap<FailureKey, FailureStats>, DecodeError> {
    let n = r.count("failures", 6)?;
    let mut failures = BTreeMap::new();
    for _ in 0..n {
        let key = FailureKey {
            method: r.str("failure method")?,
            name: r.str("failure name")?,
            error: r.str("failure error")?,
        };
        let stats = FailureStats {
            occurrences: r.varint("failure")?,
            first_seen_ms: r.varint("failure")?,
            last_seen_ms: r.varint("failure")?,
        };
        insert_ascending(&mut failures, key, stats, "failures not sorted and unique")?;
    }
    Ok(failures)
}

fn read_exceptions(r: &mut Reader<'_>) -> Result<BTreeMap<String, ExceptionStats>, DecodeError> {
    let n = r.count("exceptions", 4)?;
    let mut exceptions = BTreeMap::new();
    for _ in 0..n {
        let message = r.str("exception message")?;
        let count = r.varint("exception")?;
        let traceback = r.str("exception traceback")?;
        let node_count = r.count("exception nodes", 1)?;
        let mut nodes = BTreeSet::new();
        for _ in 0..node_count {
            let node = r.str("exception node")?;
            if nodes.last().is_some_and(|last: &String| *last >= node) {
                return Err(DecodeError::Invalid(
                    "exception nodes not sorted and unique",
                ));
            }
            nodes.insert(node);
        }
        let stats = ExceptionStats {
            count,
            traceback,
            nodes,
        };
        insert_ascending(
            &mut exceptions,
            message,
            stats,
            "exceptions not sorted and unique",
        )?;
    }
    Ok(exceptions)
}

fn insert_ascending<K: Ord, V>(
    map: &mut BTreeMap<K, V>,
    key: K,
    value: V,
    unsorted: &'static str,
) -> Result<(), DecodeError> {
    if map.last_key_value().is_some_and(|(last, _)| *last >= key) {
        return Err(DecodeError::Invalid(unsorted));
    }
    map.insert(key, value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        for v in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::MAX / 2,
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut r = Reader { bytes: &out };
            assert_eq!(r.varint("test"), Ok(v));
            assert!(r.bytes.is_empty());
        }
        let too_long = [0xff; 11];
        assert!(Reader { bytes: &too_long }.varint("t").is_err());
        let eleventh_bit = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(
            Reader {
                bytes: &eleventh_bit
            }
            .varint("t"),
            Err(DecodeError::VarintOverflow("t"))
        );
    }

    #[test]
    fn empty_snapshot_is_small_and_versioned() {
        let bytes = Snapshot::new(1_700_000_000_000, 1_700_000_001_000).encode();
        assert_eq!(bytes[0], FORMAT_VERSION);
        assert!(bytes.len() < 20, "{} bytes", bytes.len());
        assert_eq!(
            Snapshot::decode(&bytes).unwrap(),
            Snapshot::new(1_700_000_000_000, 1_700_000_001_000)
        );
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(Snapshot::decode(&trailing), Err(DecodeError::Trailing(1)));
        let mut other_version = bytes;
        other_version[0] = FORMAT_VERSION + 1;
        assert_eq!(
            Snapshot::decode(&other_version),
            Err(DecodeError::Version(FORMAT_VERSION + 1))
        );
        let mut cut = Snapshot::new(1, 2);
        cut.cut_off = 5;
        assert_eq!(Snapshot::decode(&cut.encode()).unwrap().cut_off, 5);
        // Version 1 had no cut-off count: the same bytes without it.
        let v1 = [1, 1, 2, 0, 0, 0, 0, 0];
        assert_eq!(Snapshot::decode(&v1).unwrap(), Snapshot::new(1, 2));
        assert_eq!(Snapshot::decode(&[]), Err(DecodeError::Empty));
    }

    #[test]
    fn forged_lengths_are_rejected_before_allocating() {
        let mut bytes = vec![FORMAT_VERSION, 0, 0, 0, 0, 0];
        put_varint(&mut bytes, u64::MAX);
        assert!(matches!(
            Snapshot::decode(&bytes),
            Err(DecodeError::Length {
                what: "entries",
                ..
            })
        ));
        let mut bytes = vec![FORMAT_VERSION, 0, 0, 0, 0, 0, 1];
        put_varint(&mut bytes, 1 << 40);
        bytes.extend_from_slice(&[0; 40]);
        assert!(matches!(
            Snapshot::decode(&bytes),
            Err(DecodeError::Length {
                what: "entry method",
                ..
            })
        ));
    }
}
