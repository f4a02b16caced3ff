//! A small deterministic random number generator (SplitMix64) and exact allocation helpers.
//!
//! Every stream is derived from the estate seed and a stream number, so one part of the estate
//! (a team, a namespace) does not change when another part draws more or fewer numbers.

/// SplitMix64: fast, well mixed, and identical on every platform.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

/// The SplitMix64 finaliser: a bijection on `u64`.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// The stream `stream` of the estate with this seed.
    pub(crate) fn stream(seed: u64, stream: u64) -> Rng {
        Rng(mix(seed ^ mix(stream.wrapping_add(0x9e37_79b9_7f4a_7c15))))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in `0..n` (`0` when `n == 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        ((self.next_u64() >> 11) % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    pub(crate) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    /// `n` lowercase hex digits.
    pub(crate) fn hex(&mut self, n: usize) -> String {
        let mut digits = String::with_capacity(n);
        while digits.len() < n {
            let bits = self.next_u64();
            for i in 0..16 {
                if digits.len() == n {
                    break;
                }
                let digit = ((bits >> (i * 4)) & 0xf) as u32;
                digits.push(char::from_digit(digit, 16).unwrap_or('0'));
            }
        }
        digits
    }

    /// A random UUID-shaped id (`8-4-4-4-12` hex), as the identity store writes them.
    pub(crate) fn uuid(&mut self) -> String {
        let digits = self.hex(32);
        format!(
            "{}-{}-4{}-a{}-{}",
            &digits[0..8],
            &digits[8..12],
            &digits[13..16],
            &digits[17..20],
            &digits[20..32]
        )
    }

    /// `n` base62 characters (namespace ids look like `Hq2Tz`).
    pub(crate) fn base62(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..n)
            .map(|_| ALPHABET[self.below(ALPHABET.len())] as char)
            .collect()
    }
}

/// Split `total` into parts proportional to `weights`, summing to exactly `total` (largest
/// remainder; ties go to the lower index). All zero weights split evenly.
pub(crate) fn distribute(total: usize, weights: &[f64]) -> Vec<usize> {
    let count = weights.len();
    if count == 0 {
        return Vec::new();
    }
    let sum: f64 = weights.iter().copied().filter(|w| *w > 0.0).sum();
    let shares: Vec<f64> = if sum > 0.0 {
        weights
            .iter()
            .map(|w| w.max(0.0) / sum * total as f64)
            .collect()
    } else {
        vec![total as f64 / count as f64; count]
    };
    let mut out: Vec<usize> = shares.iter().map(|s| s.floor() as usize).collect();
    let assigned: usize = out.iter().sum();
    let mut left = total.saturating_sub(assigned);
    if left > 0 {
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by(|&a, &b| {
            let rem_a = shares[a] - shares[a].floor();
            let rem_b = shares[b] - shares[b].floor();
            rem_b.total_cmp(&rem_a).then(a.cmp(&b))
        });
        for &i in order.iter().cycle() {
            if left == 0 {
                break;
            }
            out[i] += 1;
            left -= 1;
        }
    }
    // Floating-point rounding can only ever leave too little, never too much; check anyway.
    let mut over = out.iter().sum::<usize>().saturating_sub(total);
    for v in out.iter_mut().rev() {
        if over == 0 {
            break;
        }
        let take = (*v).min(over);
        *v -= take;
        over -= take;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribute_is_exact() {
        for total in [0, 1, 7, 100, 999_999] {
            for weights in [
                vec![1.0],
                vec![1.0, 2.0, 3.5],
                vec![0.0, 0.0],
                vec![0.3; 17],
            ] {
                let parts = distribute(total, &weights);
                assert_eq!(parts.iter().sum::<usize>(), total, "{total} {weights:?}");
            }
        }
        assert_eq!(distribute(10, &[1.0, 1.0]), [5, 5]);
        assert_eq!(distribute(3, &[1.0, 1.0]), [2, 1]);
    }

    #[test]
    fn streams_are_stable_and_distinct() {
        let draws: Vec<u64> = (0..4).map(|_| Rng::stream(1, 2).next_u64()).collect();
        assert!(draws.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::stream(1, 2).next_u64(), Rng::stream(1, 3).next_u64());
        assert_ne!(Rng::stream(1, 2).next_u64(), Rng::stream(2, 2).next_u64());
        let uuid = Rng::stream(0, 0).uuid();
        assert_eq!(uuid.len(), 36);
    }
}
