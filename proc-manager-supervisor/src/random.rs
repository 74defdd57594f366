//! A small non-cryptographic random source for back-off jitter
//! (SplitMix64), seeded per supervisor from the standard library's
//! per-process hash keys, so the crate needs no random-number dependency.

use std::hash::{BuildHasher, RandomState};

/// A stream of pseudo-random numbers.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded differently for every call.
    pub(crate) fn from_entropy() -> Self {
        Self(RandomState::new().hash_one(std::time::SystemTime::now()))
    }

    /// A generator with a fixed seed (tests).
    #[cfg(test)]
    pub(crate) fn seeded(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        // The top 53 bits fill an f64 mantissa exactly.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_in_range_and_spread() {
        let mut rng = Rng::seeded(7);
        let samples: Vec<f64> = (0..10_000).map(|_| rng.unit()).collect();
        assert!(samples.iter().all(|u| (0.0..1.0).contains(u)));
        let low = samples.iter().filter(|&&u| u < 0.5).count();
        assert!((4_500..5_500).contains(&low), "{low} of 10000 below 0.5");
    }

    #[test]
    fn two_generators_from_entropy_differ() {
        let mut a = Rng::from_entropy();
        let mut b = Rng::from_entropy();
        assert_ne!(a.next_u64(), b.next_u64());
    }
}
