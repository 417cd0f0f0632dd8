//! Data feeds at run time: which row a user gets next, per engine thread.
//!
//! Threads of one engine take interleaved rows (thread `i` of `n` starts at row `i` and steps by
//! `n`), so `unique` rows are never used twice within the engine.

use std::cell::Cell;

use brood_plan::{FeedExhausted, FeedOrder, FeedPlan};
use rand::rngs::SmallRng;
use rand::Rng;

#[derive(Debug)]
pub(crate) struct FeedState {
    /// How many rows this thread has taken (the next one is `offset + taken * stride`).
    taken: Cell<u64>,
    offset: u64,
    stride: u64,
}

/// The result of asking a feed for a row.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Take {
    Row(usize),
    StopUser,
    StopRun,
}

impl FeedState {
    pub(crate) fn new(thread: u64, threads: u64) -> FeedState {
        FeedState {
            taken: Cell::new(0),
            offset: thread,
            stride: threads.max(1),
        }
    }

    /// The index of the next row of `feed` for a user of this thread.
    pub(crate) fn take(&self, feed: &FeedPlan, rng: &mut SmallRng) -> Take {
        let len = feed.rows.len() as u64;
        if len == 0 {
            return Take::StopUser;
        }
        let n = self.taken.get();
        match feed.order {
            FeedOrder::Random => Take::Row(rng.random_range(0..len) as usize),
            FeedOrder::RoundRobin => {
                self.taken.set(n + 1);
                Take::Row(((self.offset + n * self.stride) % len) as usize)
            }
            FeedOrder::Unique => {
                let index = self.offset + n * self.stride;
                if index < len {
                    self.taken.set(n + 1);
                    return Take::Row(index as usize);
                }
                match feed.when_exhausted {
                    FeedExhausted::Recycle => {
                        self.taken.set(1);
                        Take::Row((self.offset % len) as usize)
                    }
                    FeedExhausted::StopUser => Take::StopUser,
                    FeedExhausted::StopRun => Take::StopRun,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brood_plan::FeedScope;
    use rand::SeedableRng;

    fn feed(order: FeedOrder, when_exhausted: FeedExhausted) -> FeedPlan {
        FeedPlan {
            name: "f.csv".into(),
            columns: vec!["a".into()],
            rows: (0..5).map(|i| vec![i.to_string()]).collect(),
            order,
            per: FeedScope::Iteration,
            when_exhausted,
        }
    }

    #[test]
    fn threads_share_unique_rows_without_overlap() {
        let mut rng = SmallRng::seed_from_u64(1);
        let f = feed(FeedOrder::Unique, FeedExhausted::StopRun);
        let (a, b) = (FeedState::new(0, 2), FeedState::new(1, 2));
        let mut rows = Vec::new();
        for _ in 0..3 {
            for s in [&a, &b] {
                if let Take::Row(i) = s.take(&f, &mut rng) {
                    rows.push(i);
                }
            }
        }
        rows.sort();
        assert_eq!(rows, vec![0, 1, 2, 3, 4]);
        assert_eq!(a.take(&f, &mut rng), Take::StopRun);
        let recycle = feed(FeedOrder::Unique, FeedExhausted::Recycle);
        let s = FeedState::new(0, 1);
        let got: Vec<_> = (0..7).map(|_| s.take(&recycle, &mut rng)).collect();
        assert_eq!(got[5], Take::Row(0));
        let rr = feed(FeedOrder::RoundRobin, FeedExhausted::StopUser);
        let s = FeedState::new(0, 1);
        assert_eq!(
            (0..6).map(|_| s.take(&rr, &mut rng)).last(),
            Some(Take::Row(0))
        );
    }
}
