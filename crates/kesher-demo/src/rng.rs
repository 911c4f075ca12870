//! Small deterministic PRNG (xoshiro256** seeded by splitmix64) and the samplers the generator needs

/// One step of splitmix64: advances `state` and returns a well-mixed 64-bit value.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Mixes a seed, a stream tag and an index into one 64-bit value (stateless hash).
pub(crate) fn mix(seed: u64, stream: u64, index: u64) -> u64 {
    let mut s = seed ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let a = splitmix64(&mut s);
    let mut t = a ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    splitmix64(&mut t)
}

/// xoshiro256** generator.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator for one independent stream: `(seed, stream, index)` fully determines it.
    pub(crate) fn for_stream(seed: u64, stream: u64, index: u64) -> Rng {
        let mut sm = mix(seed, stream, index);
        let mut s = [0u64; 4];
        for slot in &mut s {
            *slot = splitmix64(&mut sm);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `(0, 1]`, safe for logarithms.
    fn f64_open0(&mut self) -> f64 {
        1.0 - self.f64()
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Uniform integer in `[0, n)`; `n == 0` gives 0.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift; the tiny bias is irrelevant for demo data.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform index into a slice of length `n`.
    pub(crate) fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform integer in `[lo, hi]`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// Picks one element of a slice; callers only pass non-empty constant tables.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = self.index(items.len());
        &items[i.min(items.len().saturating_sub(1))]
    }

    /// Exponential with rate 1.
    pub(crate) fn exp1(&mut self) -> f64 {
        -self.f64_open0().ln()
    }

    /// Standard normal (Marsaglia polar method, one value per call).
    pub(crate) fn normal(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.f64() - 1.0;
            let v = 2.0 * self.f64() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * (-2.0 * s.ln() / s).sqrt();
            }
        }
    }

    /// Gamma with the given shape and scale (Marsaglia–Tsang; boosted for shape < 1).
    pub(crate) fn gamma(&mut self, shape: f64, scale: f64) -> f64 {
        if shape <= 0.0 {
            return 0.0;
        }
        if shape < 1.0 {
            let g = self.gamma(shape + 1.0, 1.0);
            return g * self.f64_open0().powf(1.0 / shape) * scale;
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = self.f64_open0();
            if u < 1.0 - 0.0331 * x * x * x * x || u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
                return d * v * scale;
            }
        }
    }

    /// Beta(a, b) from two gammas.
    pub(crate) fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a, 1.0);
        let y = self.gamma(b, 1.0);
        if x + y <= 0.0 { 0.5 } else { x / (x + y) }
    }

    /// Poisson with the given mean (Knuth for small means, rounded normal above 30).
    pub(crate) fn poisson(&mut self, mean: f64) -> u64 {
        if mean <= 0.0 {
            return 0;
        }
        if mean > 30.0 {
            let x = mean + mean.sqrt() * self.normal();
            return x.round().max(0.0) as u64;
        }
        let limit = (-mean).exp();
        let mut k = 0u64;
        let mut p = self.f64_open0();
        while p > limit {
            k += 1;
            p *= self.f64_open0();
        }
        k
    }

    /// Index drawn from cumulative weights (`cum` ascending, last element = total).
    pub(crate) fn weighted(&mut self, cum: &[f64]) -> usize {
        let total = cum.last().copied().unwrap_or(0.0);
        let x = self.f64() * total;
        let i = cum.partition_point(|&c| c <= x);
        i.min(cum.len().saturating_sub(1))
    }
}

/// Cumulative sums of `weights`, for [`Rng::weighted`].
pub(crate) fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut total = 0.0;
    weights
        .into_iter()
        .map(|w| {
            total += w.max(0.0);
            total
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_var(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let m = xs.iter().sum::<f64>() / n;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
        (m, v)
    }

    #[test]
    fn streams_are_deterministic_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::for_stream(7, 1, 2).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::for_stream(7, 1, 2).next_u64(), Rng::for_stream(7, 1, 3).next_u64());
        assert_ne!(Rng::for_stream(7, 1, 2).next_u64(), Rng::for_stream(8, 1, 2).next_u64());
    }

    #[test]
    fn gamma_moments_match() {
        let mut r = Rng::for_stream(1, 0, 0);
        for (shape, scale) in [(0.5, 2.0), (2.5, 1.5), (9.0, 0.1)] {
            let xs: Vec<f64> = (0..40_000).map(|_| r.gamma(shape, scale)).collect();
            let (m, v) = mean_var(&xs);
            assert!((m - shape * scale).abs() < 0.05 * shape * scale + 0.01, "{shape} {m}");
            let want = shape * scale * scale;
            assert!((v - want).abs() < 0.1 * want + 0.01, "{shape} {v}");
        }
    }

    #[test]
    fn beta_poisson_exp_means() {
        let mut r = Rng::for_stream(2, 0, 0);
        let b: Vec<f64> = (0..40_000).map(|_| r.beta(2.0, 6.0)).collect();
        assert!((mean_var(&b).0 - 0.25).abs() < 0.01);
        for mean in [0.7, 4.0, 45.0] {
            let p: Vec<f64> = (0..40_000).map(|_| r.poisson(mean) as f64).collect();
            let (m, v) = mean_var(&p);
            assert!((m - mean).abs() < 0.03 * mean + 0.02, "{mean} {m}");
            assert!((v - mean).abs() < 0.1 * mean + 0.05, "{mean} {v}");
        }
        let e: Vec<f64> = (0..40_000).map(|_| r.exp1()).collect();
        assert!((mean_var(&e).0 - 1.0).abs() < 0.03);
    }

    #[test]
    fn weighted_and_range_stay_in_bounds() {
        let mut r = Rng::for_stream(3, 0, 0);
        let cum = cumulative([1.0, 0.0, 3.0]);
        let mut counts = [0usize; 3];
        for _ in 0..10_000 {
            counts[r.weighted(&cum)] += 1;
            let x = r.range(-2, 2);
            assert!((-2..=2).contains(&x));
        }
        assert_eq!(counts[1], 0);
        assert!(counts[2] > 2 * counts[0]);
    }
}
