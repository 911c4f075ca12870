//! Special functions (log-gamma, digamma, Gauss 2F1) and forward-mode dual numbers for exact gradients.

use std::ops::{Add, Div, Mul, Neg, Sub};

const LANCZOS_G: f64 = 7.0;
const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];

/// ln Γ(x) for x > 0 (NaN for x ≤ 0); relative error about 1e-15.
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1-x) = π / sin(πx)
        let s = (std::f64::consts::PI * x).sin();
        return (std::f64::consts::PI / s).ln() - ln_gamma(1.0 - x);
    }
    if x > 1e15 {
        // Stirling is exact to double precision here.
        return (x - 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln();
    }
    let x = x - 1.0;
    let mut acc = LANCZOS[0];
    let t = x + LANCZOS_G + 0.5;
    for (i, c) in LANCZOS.iter().enumerate().skip(1) {
        acc += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + acc.ln()
}

/// ψ(x) = d ln Γ(x) / dx for x > 0.
pub fn digamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut x = x;
    let mut acc = 0.0;
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    acc + x.ln()
        - 0.5 * inv
        - inv2
            * (1.0 / 12.0 - inv2 * (1.0 / 120.0 - inv2 * (1.0 / 252.0 - inv2 * (1.0 / 240.0 - inv2 * (1.0 / 132.0)))))
}

/// A number the likelihoods can be written over: `f64`, or a dual number carrying a gradient.
pub(crate) trait Real:
    Copy
    + Send
    + Sync
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
{
    fn cst(v: f64) -> Self;
    fn val(self) -> f64;
    fn ln(self) -> Self;
    fn exp(self) -> Self;
    fn ln_1p(self) -> Self;
    fn exp_m1(self) -> Self;
    fn ln_gamma(self) -> Self;
    fn zero() -> Self {
        Self::cst(0.0)
    }
    /// ln(e^self + e^other), stable.
    fn log_add_exp(self, other: Self) -> Self {
        if self.val() >= other.val() {
            self + (other - self).exp().ln_1p()
        } else {
            other + (self - other).exp().ln_1p()
        }
    }
    /// ln(e^self - e^other) for self > other, stable.
    fn log_sub_exp(self, other: Self) -> Self {
        self + (-(other - self).exp_m1()).ln()
    }
}

impl Real for f64 {
    fn cst(v: f64) -> Self {
        v
    }
    fn val(self) -> f64 {
        self
    }
    fn ln(self) -> Self {
        f64::ln(self)
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn ln_1p(self) -> Self {
        f64::ln_1p(self)
    }
    fn exp_m1(self) -> Self {
        f64::exp_m1(self)
    }
    fn ln_gamma(self) -> Self {
        ln_gamma(self)
    }
}

/// Forward-mode dual number with `N` partial derivatives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Dual<const N: usize> {
    pub v: f64,
    pub d: [f64; N],
}

impl<const N: usize> Dual<N> {
    /// The `i`-th independent variable with value `v`.
    pub fn var(v: f64, i: usize) -> Self {
        let mut d = [0.0; N];
        if let Some(slot) = d.get_mut(i) {
            *slot = 1.0;
        }
        Dual { v, d }
    }
    fn chain(self, v: f64, dv: f64) -> Self {
        let mut d = self.d;
        for x in &mut d {
            *x *= dv;
        }
        Dual { v, d }
    }
}

impl<const N: usize> Add for Dual<N> {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        let mut d = self.d;
        for (x, y) in d.iter_mut().zip(o.d) {
            *x += y;
        }
        Dual { v: self.v + o.v, d }
    }
}
impl<const N: usize> Sub for Dual<N> {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        let mut d = self.d;
        for (x, y) in d.iter_mut().zip(o.d) {
            *x -= y;
        }
        Dual { v: self.v - o.v, d }
    }
}
impl<const N: usize> Mul for Dual<N> {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        let mut d = self.d;
        for (x, y) in d.iter_mut().zip(o.d) {
            *x = *x * o.v + self.v * y;
        }
        Dual { v: self.v * o.v, d }
    }
}
impl<const N: usize> Div for Dual<N> {
    type Output = Self;
    fn div(self, o: Self) -> Self {
        let inv = 1.0 / o.v;
        let q = self.v * inv;
        let mut d = self.d;
        for (x, y) in d.iter_mut().zip(o.d) {
            *x = (*x - q * y) * inv;
        }
        Dual { v: q, d }
    }
}
impl<const N: usize> Neg for Dual<N> {
    type Output = Self;
    fn neg(self) -> Self {
        self.chain(-self.v, -1.0)
    }
}
impl<const N: usize> Add<f64> for Dual<N> {
    type Output = Self;
    fn add(self, o: f64) -> Self {
        Dual {
            v: self.v + o,
            d: self.d,
        }
    }
}
impl<const N: usize> Sub<f64> for Dual<N> {
    type Output = Self;
    fn sub(self, o: f64) -> Self {
        Dual {
            v: self.v - o,
            d: self.d,
        }
    }
}
impl<const N: usize> Mul<f64> for Dual<N> {
    type Output = Self;
    fn mul(self, o: f64) -> Self {
        self.chain(self.v * o, o)
    }
}
impl<const N: usize> Div<f64> for Dual<N> {
    type Output = Self;
    fn div(self, o: f64) -> Self {
        self.chain(self.v / o, 1.0 / o)
    }
}

impl<const N: usize> Real for Dual<N> {
    fn cst(v: f64) -> Self {
        Dual { v, d: [0.0; N] }
    }
    fn val(self) -> f64 {
        self.v
    }
    fn ln(self) -> Self {
        self.chain(self.v.ln(), 1.0 / self.v)
    }
    fn exp(self) -> Self {
        let e = self.v.exp();
        self.chain(e, e)
    }
    fn ln_1p(self) -> Self {
        self.chain(self.v.ln_1p(), 1.0 / (1.0 + self.v))
    }
    fn exp_m1(self) -> Self {
        self.chain(self.v.exp_m1(), self.v.exp())
    }
    fn ln_gamma(self) -> Self {
        self.chain(ln_gamma(self.v), digamma(self.v))
    }
}

/// ln of the Gauss hypergeometric series 2F1(a, b; c; z) for 0 ≤ z < 1, summed directly
/// with rescaling so that huge sums do not overflow. Returns `None` when the sum is not
/// positive or the series does not converge.
pub(crate) fn ln_hyp2f1_series<T: Real>(a: T, b: T, c: T, z: T, max_terms: usize) -> Option<T> {
    const BIG: f64 = 1e200;
    let zv = z.val();
    if !(0.0..1.0).contains(&zv) {
        return None;
    }
    let mut term = T::cst(1.0);
    let mut sum = T::cst(1.0);
    let mut offset = 0.0_f64;
    if zv == 0.0 {
        return Some(z * 0.0 + a * 0.0 + b * 0.0 + c * 0.0);
    }
    // The term ratio is z (a+n)(b+n) / ((c+n)(n+1)) ≈ z (1 + (a+b-c-1)/n): past `settled` it
    // stays below 1, so a negligible term there means the tail is negligible too.
    let settled = ((a.val() + b.val() - c.val() - 1.0).max(0.0) * zv / (1.0 - zv)).min(1e7);
    for n in 0..max_terms {
        let nf = n as f64;
        term = term * (a + nf) * (b + nf) / ((c + nf) * (nf + 1.0)) * z;
        sum = sum + term;
        if !sum.val().is_finite() {
            return None;
        }
        if sum.val().abs() > BIG {
            sum = sum / BIG;
            term = term / BIG;
            offset += BIG.ln();
        }
        let t = term.val().abs();
        if t == 0.0 || (t <= sum.val().abs() * 1e-16 && nf > settled) {
            if sum.val() <= 0.0 {
                return None;
            }
            return Some(sum.ln() + offset);
        }
    }
    None
}

/// ln 2F1(a, b; c; z) for 0 ≤ z < 1 with c > 0, choosing between the direct series and
/// Euler's transformation 2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z), whichever has the
/// smaller upper parameters (and so converges without a long growing prefix).
pub(crate) fn ln_hyp2f1<T: Real>(a: T, b: T, c: T, z: T) -> Option<T> {
    ln_hyp2f1_capped(a, b, c, z, PREDICTION_TERMS)
}

/// Series terms allowed when predicting: enough for z up to about 1 − 2e-5.
pub(crate) const PREDICTION_TERMS: usize = 2_000_000;
/// Series terms allowed inside a likelihood being optimised (z up to about 1 − 2e-3): a trial
/// point beyond fails fast and the line search backs away from it.
pub(crate) const FIT_TERMS: usize = 20_000;

/// As [`ln_hyp2f1`] with at most `max_terms` series terms (`None` beyond).
pub(crate) fn ln_hyp2f1_capped<T: Real>(a: T, b: T, c: T, z: T, max_terms: usize) -> Option<T> {
    let direct_cost = a.val().abs() * b.val().abs();
    let euler_cost = (c.val() - a.val()).abs() * (c.val() - b.val()).abs();
    if euler_cost < direct_cost {
        let s = ln_hyp2f1_series(c - a, c - b, c, z, max_terms)?;
        let ln1mz = (-z).ln_1p();
        Some(s + (c - a - b) * ln1mz)
    } else {
        ln_hyp2f1_series(a, b, c, z, max_terms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_known_values() {
        assert!((ln_gamma(1.0)).abs() < 1e-15);
        assert!((ln_gamma(0.5) - 0.572_364_942_924_700_1).abs() < 1e-14);
        assert!((ln_gamma(10.0) - 12.801_827_480_081_469).abs() < 1e-12);
        assert!((ln_gamma(0.243) - 1.318_043_584_699_669_9).abs() < 1e-13);
        assert!((ln_gamma(1000.5) - 5_908.674_175_848_678).abs() < 1e-9);
    }

    #[test]
    fn digamma_known_values() {
        assert!((digamma(1.0) + 0.577_215_664_901_532_9).abs() < 1e-13);
        assert!((digamma(0.5) + 1.963_510_026_021_423_5).abs() < 1e-13);
        let h = 1e-6;
        let x = 3.7;
        let num = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
        assert!((digamma(x) - num).abs() < 1e-8);
    }

    #[test]
    fn hyp2f1_closed_forms() {
        // 2F1(1,1;2;z) = -ln(1-z)/z
        let z: f64 = 0.7;
        let v = ln_hyp2f1(1.0, 1.0, 2.0, z).unwrap().exp();
        assert!((v - (-(1.0 - z).ln() / z)).abs() < 1e-13);
        // 2F1(a,b;b;z) = (1-z)^-a
        let v = ln_hyp2f1(2.5, 3.0, 3.0, 0.4).unwrap();
        assert!((v - (-2.5 * (0.6f64).ln())).abs() < 1e-13);
        // Large upper parameters: 2F1(a,b;b;z) with a huge
        let v = ln_hyp2f1(500.0, 3.0, 3.0, 0.9).unwrap();
        assert!((v - (-500.0 * (0.1f64).ln())).abs() < 1e-9 * v.abs());
        // Terms that shrink, then grow, then shrink: 2F1(a,b;b;z) = (1-z)^-a through the
        // direct series (c = b, so no Euler shortcut is cheaper).
        let v = ln_hyp2f1_series(60.0, 0.1, 0.1, 0.99, PREDICTION_TERMS).unwrap();
        assert!((v - (-60.0 * (0.01f64).ln())).abs() < 1e-9 * v.abs());
    }

    #[test]
    fn dual_gradient_matches_finite_difference() {
        let f = |a: f64, z: f64| ln_hyp2f1(a, 1.7, a + 1.0, z).unwrap();
        let da = Dual::<2>::var(2.3, 0);
        let dz = Dual::<2>::var(0.35, 1);
        let d = ln_hyp2f1(da, Dual::cst(1.7), da + 1.0, dz).unwrap();
        let h = 1e-6;
        let ga = (f(2.3 + h, 0.35) - f(2.3 - h, 0.35)) / (2.0 * h);
        let gz = (f(2.3, 0.35 + h) - f(2.3, 0.35 - h)) / (2.0 * h);
        assert!((d.d[0] - ga).abs() < 1e-7);
        assert!((d.d[1] - gz).abs() < 1e-7);
    }
}
