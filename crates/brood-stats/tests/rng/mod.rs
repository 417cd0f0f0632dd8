//! A tiny deterministic xorshift generator, so randomized tests need no extra dependency and
//! every failure reproduces from its seed.

pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        // A zero state would stay zero forever.
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform-ish in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A latency spread over many orders of magnitude, as real runs see: mostly small, some huge.
    pub fn latency_us(&mut self) -> u64 {
        let magnitude = self.below(40);
        self.next() >> (63 - magnitude.min(62))
    }
}
