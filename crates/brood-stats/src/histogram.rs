//! Response-time histograms: an auto-resizing HDR histogram with exact min, max and sum.
//!
//! The HDR buckets give percentiles within 0.1% at any magnitude; the exact extremes let every
//! percentile be clamped into `[min, max]`, so no report ever shows a p99 above the max.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DecodeError;

/// Significant decimal digits kept by every histogram. All histograms share one layout, which is
/// what makes bucket values comparable across processes and merges exact.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// An HDR histogram of microsecond values with no upper bound.
///
/// Serializes as a [`SparseHistogram`] (only the non-empty buckets), so a one-second delta stays
/// small however wide the histogram has grown.
#[derive(Clone, Deserialize)]
#[serde(try_from = "SparseHistogram")]
pub struct Histogram {
    inner: hdrhistogram::Histogram<u64>,
    /// Exact smallest value; `u64::MAX` while empty.
    min: u64,
    /// Exact largest value; 0 while empty.
    max: u64,
    /// Exact sum of all values (saturating), for an exact mean.
    sum: u64,
    /// The sparse form this histogram was decoded from, while it is unchanged. Merging a decoded
    /// delta then touches only its few non-empty buckets instead of the whole dense array: the
    /// difference between a coordinator that merges hundreds and thousands of snapshots a second.
    sparse: Option<Box<SparseHistogram>>,
}

/// The non-empty buckets of a [`Histogram`], with its exact extremes and sum.
///
/// Each bucket is `(value, count)` where `value` is the lowest value the bucket holds; buckets are
/// strictly ascending and counts are never zero.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SparseHistogram {
    pub min: u64,
    pub max: u64,
    pub sum: u64,
    pub buckets: Vec<(u64, u64)>,
}

fn empty_hdr() -> hdrhistogram::Histogram<u64> {
    hdrhistogram::Histogram::new(SIGNIFICANT_DIGITS)
        .expect("3 significant digits with a lowest value of 1 is a valid HDR layout")
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Serialize for Histogram {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_sparse().serialize(s)
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The dense counts array runs to thousands of zeros; the sparse form is what matters.
        let sparse = self.to_sparse();
        f.debug_struct("Histogram")
            .field("count", &self.count())
            .field("min", &sparse.min)
            .field("max", &sparse.max)
            .field("sum", &sparse.sum)
            .field("buckets", &sparse.buckets)
            .finish()
    }
}

impl PartialEq for Histogram {
    fn eq(&self, other: &Self) -> bool {
        // Two histograms that grew to different widths can still hold the same data.
        self.count() == other.count()
            && self.min() == other.min()
            && self.max == other.max
            && self.sum == other.sum
            && same_buckets(&self.inner, &other.inner)
    }
}

fn same_buckets(a: &hdrhistogram::Histogram<u64>, b: &hdrhistogram::Histogram<u64>) -> bool {
    let (mut a, mut b) = (a.iter_recorded(), b.iter_recorded());
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y))
                if x.value_iterated_to() == y.value_iterated_to()
                    && x.count_at_value() == y.count_at_value() => {}
            _ => return false,
        }
    }
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram {
            inner: empty_hdr(),
            min: u64::MAX,
            max: 0,
            sum: 0,
            sparse: None,
        }
    }

    pub fn record(&mut self, us: u64) {
        self.record_n(us, 1);
    }

    pub fn record_n(&mut self, us: u64, n: u64) {
        if n == 0 {
            return;
        }
        self.sparse = None;
        if self.inner.record_n(us, n).is_err() {
            // Only a failed resize (a usize too small for the counts array) lands here; keeping
            // the sample at the top of the range beats losing it.
            self.inner.saturating_record_n(us, n);
        }
        self.min = self.min.min(us);
        self.max = self.max.max(us);
        self.sum = self.sum.saturating_add(us.saturating_mul(n));
    }

    /// Adds every sample of `other`; the result is exactly what recording both would give.
    pub fn merge(&mut self, other: &Histogram) {
        if other.is_empty() {
            return;
        }
        if let Some(sparse) = &other.sparse {
            self.merge_sparse(sparse);
            return;
        }
        self.sparse = None;
        if self.inner.add(&other.inner).is_err() {
            // Unreachable with auto-resizing histograms, but a bucket-by-bucket copy is exact too.
            for v in other.inner.iter_recorded() {
                self.inner
                    .saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum = self.sum.saturating_add(other.sum);
    }

    /// Adds the samples of a sparse histogram (as kept per second by the run aggregator).
    pub fn merge_sparse(&mut self, other: &SparseHistogram) {
        if other.buckets.is_empty() {
            return;
        }
        self.sparse = None;
        for &(value, count) in top_first(&other.buckets) {
            if self.inner.record_n(value, count).is_err() {
                self.inner.saturating_record_n(value, count);
            }
        }
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum = self.sum.saturating_add(other.sum);
    }

    pub fn count(&self) -> u64 {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The exact smallest value, 0 when empty.
    pub fn min(&self) -> u64 {
        if self.is_empty() {
            0
        } else {
            self.min
        }
    }

    /// The exact largest value, 0 when empty.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The exact sum of the values (saturating at `u64::MAX`).
    pub fn sum(&self) -> u64 {
        self.sum
    }

    /// The exact mean, 0.0 when empty.
    pub fn mean(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.sum as f64 / self.count() as f64
        }
    }

    /// The value at percentile `p` (0..=100), within 0.1%, never above [`Histogram::max`] nor
    /// below [`Histogram::min`]; 0 when empty.
    pub fn value_at_percentile(&self, p: f64) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 100.0) };
        if p == 100.0 {
            // Exact, and HDR's top bucket saturates just short of u64::MAX.
            return self.max;
        }
        // HDR answers with the top of the bucket, which may lie past the largest real value.
        self.inner.value_at_percentile(p).clamp(self.min, self.max)
    }

    /// Empties the histogram, keeping its allocation so the hot path does not grow it again.
    pub fn clear(&mut self) {
        self.inner.reset();
        self.sparse = None;
        self.min = u64::MAX;
        self.max = 0;
        self.sum = 0;
    }

    /// The non-empty buckets, ascending.
    pub fn to_sparse(&self) -> SparseHistogram {
        if let Some(sparse) = &self.sparse {
            return (**sparse).clone();
        }
        let buckets = self
            .inner
            .iter_recorded()
            .map(|v| {
                let value = self.inner.lowest_equivalent(v.value_iterated_to());
                (value, v.count_at_value())
            })
            .collect();
        SparseHistogram {
            min: self.min(),
            max: self.max,
            sum: self.sum,
            buckets,
        }
    }

    /// Rebuilds a histogram, checking that the buckets are canonical and agree with the extremes,
    /// so that forged input cannot produce a histogram whose percentiles lie outside `[min, max]`.
    pub fn from_sparse(sparse: &SparseHistogram) -> Result<Histogram, DecodeError> {
        let mut h = Histogram::new();
        let (Some(first), Some(last)) = (sparse.buckets.first(), sparse.buckets.last()) else {
            if sparse.min != 0 || sparse.max != 0 || sparse.sum != 0 {
                return Err(DecodeError::Invalid(
                    "empty histogram with non-zero extremes",
                ));
            }
            return Ok(h);
        };
        let layout = &h.inner;
        if sparse.min > sparse.max
            || layout.lowest_equivalent(sparse.min) != first.0
            || layout.lowest_equivalent(sparse.max) != last.0
        {
            return Err(DecodeError::Invalid(
                "histogram extremes outside its buckets",
            ));
        }
        let mut total: u64 = 0;
        let mut previous: Option<u64> = None;
        for &(value, count) in &sparse.buckets {
            if count == 0 || previous.is_some_and(|p| p >= value) {
                return Err(DecodeError::Invalid("histogram buckets not ascending"));
            }
            if layout.lowest_equivalent(value) != value {
                return Err(DecodeError::Invalid("histogram bucket value not canonical"));
            }
            total = total
                .checked_add(count)
                .ok_or(DecodeError::Invalid("histogram count overflows"))?;
            previous = Some(value);
        }
        for &(value, count) in top_first(&sparse.buckets) {
            if h.inner.record_n(value, count).is_err() {
                return Err(DecodeError::Invalid("histogram value out of range"));
            }
        }
        h.min = sparse.min;
        h.max = sparse.max;
        h.sum = sparse.sum;
        h.sparse = Some(Box::new(sparse.clone()));
        Ok(h)
    }
}

/// The buckets with the largest first: recording it grows the counts array once, instead of
/// once per power of two as ascending values would.
fn top_first(buckets: &[(u64, u64)]) -> impl Iterator<Item = &(u64, u64)> {
    let split = buckets.len().saturating_sub(1);
    buckets[split..].iter().chain(&buckets[..split])
}

impl From<Histogram> for SparseHistogram {
    fn from(h: Histogram) -> Self {
        h.to_sparse()
    }
}

impl TryFrom<SparseHistogram> for Histogram {
    type Error = DecodeError;

    fn try_from(sparse: SparseHistogram) -> Result<Self, Self::Error> {
        Histogram::from_sparse(&sparse)
    }
}

impl SparseHistogram {
    pub fn count(&self) -> u64 {
        self.buckets
            .iter()
            .fold(0u64, |acc, &(_, c)| acc.saturating_add(c))
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Adds `other` bucket by bucket (both lists are ascending, so this is a merge of two runs).
    pub fn merge(&mut self, other: &SparseHistogram) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            *self = other.clone();
            return;
        }
        let mut merged = Vec::with_capacity(self.buckets.len() + other.buckets.len());
        let (mut a, mut b) = (
            self.buckets.iter().peekable(),
            other.buckets.iter().peekable(),
        );
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(&&(va, ca)), Some(&&(vb, cb))) if va == vb => {
                    a.next();
                    b.next();
                    (va, ca.saturating_add(cb))
                }
                (Some(&&x), Some(&&y)) => {
                    if x.0 < y.0 {
                        a.next();
                        x
                    } else {
                        b.next();
                        y
                    }
                }
                (Some(&&x), None) => {
                    a.next();
                    x
                }
                (None, Some(&&y)) => {
                    b.next();
                    y
                }
                (None, None) => break,
            };
            merged.push(next);
        }
        self.buckets = merged;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum = self.sum.saturating_add(other.sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_value_percentiles_are_the_value() {
        for v in [
            0,
            1,
            2047,
            2048,
            2049,
            4095,
            4096,
            123_456,
            60_000_000,
            u64::MAX / 4,
        ] {
            let mut h = Histogram::new();
            h.record(v);
            for p in [0.0, 50.0, 99.0, 99.99, 100.0] {
                assert_eq!(h.value_at_percentile(p), v, "value {v} p{p}");
            }
            assert_eq!((h.min(), h.max(), h.count()), (v, v, 1));
        }
    }

    #[test]
    fn percentile_never_above_max_at_bucket_edges() {
        // Values just past a power of two fall in wide buckets whose top lies well above them.
        let mut h = Histogram::new();
        for v in [2049, 4097, 8193, 1 << 20 | 1, (1 << 30) + 3] {
            h.record(v);
            for p in [50.0, 90.0, 99.0, 99.9, 100.0] {
                let q = h.value_at_percentile(p);
                assert!(q <= h.max() && q >= h.min(), "p{p} = {q}, max {}", h.max());
            }
        }
        assert_eq!(h.value_at_percentile(100.0), (1 << 30) + 3);
        assert_eq!(h.value_at_percentile(0.0), 2049);
    }

    #[test]
    fn sparse_round_trip_is_exact() {
        let mut h = Histogram::new();
        for v in (0..5000u64).map(|i| i * i) {
            h.record_n(v, v % 7 + 1);
        }
        let sparse = h.to_sparse();
        let back = Histogram::from_sparse(&sparse).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.value_at_percentile(99.0), h.value_at_percentile(99.0));
        assert_eq!(back.mean(), h.mean());
    }

    #[test]
    fn sparse_merge_matches_dense_merge() {
        let (mut a, mut b) = (Histogram::new(), Histogram::new());
        for i in 0..3000u64 {
            a.record(i * 37 % 9000);
            b.record(i * 101 % 700_000);
        }
        let mut sparse = a.to_sparse();
        sparse.merge(&b.to_sparse());
        a.merge(&b);
        assert_eq!(sparse, a.to_sparse());
        let mut dense = Histogram::new();
        dense.merge_sparse(&sparse);
        assert_eq!(dense, a);
    }

    #[test]
    fn forged_sparse_histograms_are_rejected() {
        let bad = [
            SparseHistogram {
                min: 5,
                max: 4,
                sum: 9,
                buckets: vec![(4, 1), (5, 1)],
            },
            SparseHistogram {
                min: 1,
                max: 1,
                sum: 1,
                buckets: vec![(1, 0)],
            },
            SparseHistogram {
                min: 1,
                max: 2,
                sum: 3,
                buckets: vec![(2, 1), (1, 1)],
            },
            SparseHistogram {
                min: 3000,
                max: 3000,
                sum: 3000,
                buckets: vec![(3001, 1)],
            },
            SparseHistogram {
                min: 7,
                max: 0,
                sum: 0,
                buckets: vec![],
            },
            SparseHistogram {
                min: 1,
                max: 2,
                sum: 3,
                buckets: vec![(1, u64::MAX), (2, 1)],
            },
        ];
        for s in bad {
            assert!(Histogram::from_sparse(&s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn clear_keeps_nothing() {
        let mut h = Histogram::new();
        h.record(10_000_000);
        h.clear();
        assert!(h.is_empty());
        assert_eq!((h.min(), h.max(), h.mean()), (0, 0, 0.0));
        h.record(3);
        assert_eq!((h.min(), h.max()), (3, 3));
    }
}
