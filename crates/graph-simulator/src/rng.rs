//! A tiny PRNG (SplitMix64) owned by the simulator.
//!
//! The population must be identical for a given seed on every platform and with every version of
//! the `rand` crate, because tests compute expected metrics from `Population::generate(n, seed)`
//! and benchmarks compare runs. `rand`'s small generators explicitly do not promise that, so the
//! simulator carries its own ten-line generator. It is not cryptographic and does not need to be.

/// The SplitMix64 finaliser: a cheap bijective mixer used both by the generator and to derive
/// independent streams (one per user, one per drift step) from a single seed.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over bytes, finalised with [`mix64`]. Used to derive stable per-user policy bits from a
/// user id, so that flags stay consistent when tests or drift change a user's methods.
pub(crate) fn hash_str(s: &str, salt: u64) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325 ^ salt;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix64(h)
}

/// SplitMix64 generator state.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// An independent stream for (`seed`, `stream`): user `i` of a population always gets the same
    /// numbers whatever the population size, so a larger population extends a smaller one.
    pub(crate) fn for_stream(seed: u64, stream: u64) -> Self {
        SplitMix64(mix64(seed ^ mix64(stream.wrapping_add(0x9E37_79B9_7F4A_7C15))))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (`n` > 0). Multiply-shift: the bias is far below anything a test can see.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| SplitMix64::for_stream(7, 1).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(SplitMix64::for_stream(7, 1).next_u64(), SplitMix64::for_stream(7, 2).next_u64());
        assert_ne!(SplitMix64::for_stream(7, 1).next_u64(), SplitMix64::for_stream(8, 1).next_u64());
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = SplitMix64::for_stream(1, 1);
        for n in [1u64, 2, 3, 10, 1000] {
            for _ in 0..1000 {
                assert!(r.below(n) < n);
            }
        }
        let u = r.unit();
        assert!((0.0..1.0).contains(&u));
    }
}
