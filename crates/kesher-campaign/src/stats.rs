//! The measurement of a campaign, recipients against the control group, and its planning:
//!
//! - **Response** ([`response_lift`]): the rates, their difference (absolute lift) with
//!   Newcombe's hybrid score interval (method 10 of Newcombe 1998, built from the two Wilson
//!   intervals), the relative lift with the Katz log interval of the rate ratio, and the
//!   two-sided p-value of the pooled two-proportion z-test.
//! - **Revenue per customer** ([`revenue_lift`]): Welch's t-test (unequal variances) with the
//!   Welch–Satterthwaite degrees of freedom, its two-sided p-value and the 95 % interval of the
//!   difference of means.
//! - **Projection** ([`project`]): the incremental responders and revenue if the campaign went
//!   to the whole eligible population, with the intervals scaled alike.
//! - **Sample size** ([`sample_size`]): customers per group to detect a relative lift of a
//!   baseline rate, two-sided, with the pooled-variance formula (Fleiss, Levin & Paik,
//!   *Statistical Methods for Rates and Proportions*, 3rd ed., 2003, §4.2, without the
//!   continuity correction).
//!
//! The distributions are our own, in f64: ln Γ by Lanczos (Numerical Recipes 3rd ed. §6.1,
//! `gammln`), the regularized incomplete gamma (§6.2: series and continued fraction) for the
//! normal tails (`erfc(x) = Q(½, x²)`), the regularized incomplete beta (§6.4, its continued
//! fraction by the modified Lentz method) for Student's t, and the normal quantile by Acklam's
//! rational approximation refined by one Halley step. The tests hold them to values printed by
//! scipy.

use crate::Result;
use kesher_core::DomainError;

/// The confidence of every interval here.
pub const CONFIDENCE: f64 = 0.95;

const EPS: f64 = 1e-15;
const FPMIN: f64 = 1e-300;
const MAX_ITERATIONS: usize = 100_000;

/// ln Γ(x) for x > 0 (Lanczos, Numerical Recipes 3rd ed. `gammln`; relative error < 1e-15).
// The coefficients as the book prints them.
#[allow(clippy::excessive_precision)]
pub fn ln_gamma(x: f64) -> f64 {
    const COF: [f64; 14] = [
        57.156_235_665_862_923_5,
        -59.597_960_355_475_491_2,
        14.136_097_974_741_747_1,
        -0.491_913_816_097_620_199,
        0.339_946_499_848_118_887e-4,
        0.465_236_289_270_485_756e-4,
        -0.983_744_753_048_795_646e-4,
        0.158_088_703_224_912_494e-3,
        -0.210_264_441_724_104_883e-3,
        0.217_439_618_115_212_643e-3,
        -0.164_318_106_536_763_890e-3,
        0.844_182_239_838_527_433e-4,
        -0.261_908_384_015_814_087e-4,
        0.368_991_826_595_316_234e-5,
    ];
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut y = x;
    let tmp = x + 5.242_187_5;
    let tmp = (x + 0.5) * tmp.ln() - tmp;
    let mut ser: f64 = 0.999_999_999_999_997_092;
    for c in COF {
        y += 1.0;
        ser += c / y;
    }
    tmp + (2.506_628_274_631_000_5 * ser / x).ln()
}

/// The regularized lower incomplete gamma P(a, x) by its series (x < a + 1).
fn gamma_series(a: f64, x: f64) -> f64 {
    let mut ap = a;
    let mut del = 1.0 / a;
    let mut sum = del;
    for _ in 0..MAX_ITERATIONS {
        ap += 1.0;
        del *= x / ap;
        sum += del;
        if del.abs() < sum.abs() * EPS {
            break;
        }
    }
    sum * (-x + a * x.ln() - ln_gamma(a)).exp()
}

/// The regularized upper incomplete gamma Q(a, x) by its continued fraction (x ≥ a + 1).
fn gamma_fraction(a: f64, x: f64) -> f64 {
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / FPMIN;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..MAX_ITERATIONS {
        let i = i as f64;
        let an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < FPMIN {
            d = FPMIN;
        }
        c = b + an / c;
        if c.abs() < FPMIN {
            c = FPMIN;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    (-x + a * x.ln() - ln_gamma(a)).exp() * h
}

/// The regularized upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a), a > 0, x ≥ 0.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x.is_nan() || a.is_nan() || a <= 0.0 || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x < a + 1.0 {
        1.0 - gamma_series(a, x)
    } else {
        gamma_fraction(a, x)
    }
}

/// The complementary error function.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let q = gamma_q(0.5, x * x);
    if x >= 0.0 { q } else { 2.0 - q }
}

/// The standard normal distribution function Φ(x).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal quantile Φ⁻¹(p), 0 < p < 1 (Acklam's approximation, then one Halley
/// step on [`normal_cdf`]).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.024_25;
    if p.is_nan() || p <= 0.0 || p >= 1.0 {
        return match p {
            0.0 => f64::NEG_INFINITY,
            1.0 => f64::INFINITY,
            _ => f64::NAN,
        };
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// The correction of Stirling's formula, ln Γ(x) − ((x − ½) ln x − x + ½ ln 2π), for x ≥ 10
/// (its asymptotic series; the first omitted term is below 1e-17 there).
fn stirling_correction(x: f64) -> f64 {
    // B₂ₙ / (2n (2n − 1)) for n = 1 … 8.
    const COEFFICIENTS: [f64; 8] = [
        1.0 / 12.0,
        -1.0 / 360.0,
        1.0 / 1260.0,
        -1.0 / 1680.0,
        1.0 / 1188.0,
        -691.0 / 360_360.0,
        1.0 / 156.0,
        -3617.0 / 122_400.0,
    ];
    let inverse_square = 1.0 / (x * x);
    let mut sum = 0.0;
    for c in COEFFICIENTS.iter().rev() {
        sum = sum * inverse_square + c;
    }
    sum / x
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), without the cancellation of the three large
/// terms when a or b is large (the arrangement of R's `lbeta`: Stirling's formula with its
/// correction for the large arguments).
pub fn ln_beta(a: f64, b: f64) -> f64 {
    const HALF_LN_TWO_PI: f64 = 0.918_938_533_204_672_8;
    let (p, q) = (a.min(b), a.max(b));
    if p.is_nan() || p <= 0.0 {
        return f64::NAN;
    }
    let sum = p + q;
    if p >= 10.0 {
        let correction = stirling_correction(p) + stirling_correction(q) - stirling_correction(sum);
        -0.5 * q.ln() + HALF_LN_TWO_PI + correction + (p - 0.5) * (p / sum).ln() + q * (-p / sum).ln_1p()
    } else if q >= 10.0 {
        let correction = stirling_correction(q) - stirling_correction(sum);
        ln_gamma(p) + correction + p - p * sum.ln() + (q - 0.5) * (-p / sum).ln_1p()
    } else {
        ln_gamma(p) + ln_gamma(q) - ln_gamma(sum)
    }
}

/// The continued fraction of the incomplete beta (Numerical Recipes `betacf`, modified Lentz).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < FPMIN {
        d = FPMIN;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..MAX_ITERATIONS {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < FPMIN {
            d = FPMIN;
        }
        c = 1.0 + aa / c;
        if c.abs() < FPMIN {
            c = FPMIN;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < FPMIN {
            d = FPMIN;
        }
        c = 1.0 + aa / c;
        if c.abs() < FPMIN {
            c = FPMIN;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// The regularized incomplete beta I_x(a, b), a, b > 0, 0 ≤ x ≤ 1 (Numerical Recipes
/// `betai`: the continued fraction on the side of `x` where it converges fast).
pub fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if a.is_nan() || b.is_nan() || x.is_nan() || a <= 0.0 || b <= 0.0 || !(0.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    if x == 0.0 || x == 1.0 {
        return x;
    }
    let ln_front = a * x.ln() + b * (-x).ln_1p() - ln_beta(a, b);
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// Student's t distribution function with `df` > 0 degrees of freedom.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
    if t > 0.0 { 1.0 - tail } else { tail }
}

/// The two-sided p-value of a t statistic: P(|T| ≥ |t|).
pub fn student_t_two_sided(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    incomplete_beta(df / 2.0, 0.5, df / (df + t * t)).min(1.0)
}

/// Student's t quantile, 0 < p < 1 (bisection on [`student_t_cdf`] to the last bit).
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    if p.is_nan() || df.is_nan() || df <= 0.0 || p <= 0.0 || p >= 1.0 {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -student_t_quantile(1.0 - p, df);
    }
    let (mut low, mut high) = (0.0, normal_quantile(p).max(1.0));
    while student_t_cdf(high, df) < p && high < 1e300 {
        low = high;
        high *= 2.0;
    }
    for _ in 0..2_000 {
        let mid = 0.5 * (low + high);
        if mid <= low || mid >= high {
            break;
        }
        if student_t_cdf(mid, df) < p {
            low = mid;
        } else {
            high = mid;
        }
    }
    0.5 * (low + high)
}

/// A two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    fn scaled(self, factor: f64) -> Interval {
        let (a, b) = (self.low * factor, self.high * factor);
        Interval {
            low: a.min(b),
            high: a.max(b),
        }
    }

    /// Whether the interval holds `x`.
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// `successes` of `trials` (responders of a group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proportion {
    pub successes: u64,
    pub trials: u64,
}

impl Proportion {
    pub fn rate(&self) -> f64 {
        self.successes as f64 / self.trials as f64
    }

    /// The Wilson score interval at `z`.
    pub fn wilson(&self, z: f64) -> Interval {
        let n = self.trials as f64;
        let x = self.successes as f64;
        let z2 = z * z;
        let centre = (x + z2 / 2.0) / (n + z2);
        let half = z / (n + z2) * (x * (n - x) / n + z2 / 4.0).sqrt();
        Interval {
            low: (centre - half).max(0.0),
            high: (centre + half).min(1.0),
        }
    }

    fn check(&self, field: &'static str) -> Result<()> {
        if self.trials == 0 {
            return Err(DomainError::new(
                "campaign.stats.empty",
                field,
                "the group is empty: nothing to measure",
            ));
        }
        if self.successes > self.trials {
            return Err(DomainError::new(
                "campaign.stats.invalid",
                field,
                format!("{} responders of {} customers", self.successes, self.trials),
            )
            .with(
                "reason",
                format!("{} responders of {} customers", self.successes, self.trials),
            ));
        }
        Ok(())
    }
}

/// Recipients' response against the control group's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResponseLift {
    pub treatment_rate: f64,
    pub control_rate: f64,
    /// The absolute lift: treatment rate − control rate.
    pub difference: f64,
    /// Newcombe's hybrid score interval (method 10) of the difference.
    pub difference_ci: Interval,
    /// The relative lift, difference / control rate (`None` when the control rate is 0).
    pub relative: Option<f64>,
    /// The Katz log interval of the rate ratio, less one (`None` when either group has no
    /// responder).
    pub relative_ci: Option<Interval>,
    /// The pooled two-proportion z statistic (0 when nobody or everybody responded).
    pub z: f64,
    /// Its two-sided p-value.
    pub p_value: f64,
}

/// The response of recipients (`treatment`) against the control group: see [`ResponseLift`].
pub fn response_lift(treatment: Proportion, control: Proportion) -> Result<ResponseLift> {
    treatment.check("treatment")?;
    control.check("control")?;
    let z_crit = normal_quantile(0.5 + CONFIDENCE / 2.0);
    let (p1, p2) = (treatment.rate(), control.rate());
    let (n1, n2) = (treatment.trials as f64, control.trials as f64);
    let (x1, x2) = (treatment.successes as f64, control.successes as f64);
    let difference = p1 - p2;
    let (w1, w2) = (treatment.wilson(z_crit), control.wilson(z_crit));
    let difference_ci = Interval {
        low: difference - ((p1 - w1.low).powi(2) + (w2.high - p2).powi(2)).sqrt(),
        high: difference + ((w1.high - p1).powi(2) + (p2 - w2.low).powi(2)).sqrt(),
    };
    let relative = (p2 > 0.0).then(|| difference / p2);
    let relative_ci = (x1 > 0.0 && x2 > 0.0).then(|| {
        let ln_ratio = (p1 / p2).ln();
        let se = (1.0 / x1 - 1.0 / n1 + 1.0 / x2 - 1.0 / n2).max(0.0).sqrt();
        Interval {
            low: (ln_ratio - z_crit * se).exp() - 1.0,
            high: (ln_ratio + z_crit * se).exp() - 1.0,
        }
    });
    let pooled = (x1 + x2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let z = if se > 0.0 { difference / se } else { 0.0 };
    let p_value = if se > 0.0 {
        erfc(z.abs() / std::f64::consts::SQRT_2)
    } else {
        1.0
    };
    Ok(ResponseLift {
        treatment_rate: p1,
        control_rate: p2,
        difference,
        difference_ci,
        relative,
        relative_ci,
        z,
        p_value,
    })
}

/// A group's revenue per customer (zeros included): its size, mean and sample variance
/// (divisor n − 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub n: u64,
    pub mean: f64,
    pub variance: f64,
}

impl Sample {
    /// The summary of `values` (Welford's one-pass update).
    pub fn of(values: &[f64]) -> Sample {
        let (mut n, mut mean, mut m2) = (0u64, 0.0, 0.0);
        for &v in values {
            n += 1;
            let delta = v - mean;
            mean += delta / n as f64;
            m2 += delta * (v - mean);
        }
        let variance = if n > 1 { m2 / (n - 1) as f64 } else { 0.0 };
        Sample { n, mean, variance }
    }
}

/// Recipients' revenue per customer against the control group's (Welch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RevenueLift {
    pub treatment_mean: f64,
    pub control_mean: f64,
    /// treatment mean − control mean.
    pub difference: f64,
    /// difference ± t(0.975, df) × standard error.
    pub difference_ci: Interval,
    /// difference / control mean (`None` when the control mean is 0).
    pub relative: Option<f64>,
    /// Welch's t statistic.
    pub t: f64,
    /// The Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// The two-sided p-value of `t` on `df` degrees of freedom.
    pub p_value: f64,
}

/// Welch's t-test of the difference of mean revenue per customer, recipients (`treatment`)
/// against the control group. Each group needs at least two customers.
pub fn revenue_lift(treatment: &Sample, control: &Sample) -> Result<RevenueLift> {
    for (sample, field) in [(treatment, "treatment"), (control, "control")] {
        if sample.n < 2 {
            return Err(DomainError::new(
                "campaign.stats.empty",
                field,
                "the group is empty: nothing to measure",
            ));
        }
        if !(sample.mean.is_finite() && sample.variance.is_finite() && sample.variance >= 0.0) {
            let reason = "the mean and variance must be finite, the variance not negative";
            return Err(DomainError::new("campaign.stats.invalid", field, reason).with("reason", reason));
        }
    }
    let (n1, n2) = (treatment.n as f64, control.n as f64);
    let (v1, v2) = (treatment.variance / n1, control.variance / n2);
    let se = (v1 + v2).sqrt();
    let difference = treatment.mean - control.mean;
    let relative = (control.mean != 0.0).then(|| difference / control.mean);
    if se == 0.0 {
        let (t, p_value) = if difference == 0.0 {
            (0.0, 1.0)
        } else {
            (difference.signum() * f64::INFINITY, 0.0)
        };
        return Ok(RevenueLift {
            treatment_mean: treatment.mean,
            control_mean: control.mean,
            difference,
            difference_ci: Interval {
                low: difference,
                high: difference,
            },
            relative,
            t,
            df: n1 + n2 - 2.0,
            p_value,
        });
    }
    let df = (v1 + v2).powi(2) / (v1 * v1 / (n1 - 1.0) + v2 * v2 / (n2 - 1.0));
    let t = difference / se;
    let t_crit = student_t_quantile(0.5 + CONFIDENCE / 2.0, df);
    Ok(RevenueLift {
        treatment_mean: treatment.mean,
        control_mean: control.mean,
        difference,
        difference_ci: Interval {
            low: difference - t_crit * se,
            high: difference + t_crit * se,
        },
        relative,
        t,
        df,
        p_value: student_t_two_sided(t, df),
    })
}

/// What rolling the campaign out to the whole eligible population would add.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    pub population: u64,
    /// population × the response difference.
    pub incremental_responders: f64,
    pub responders_ci: Interval,
    /// population × the revenue difference per customer (in the revenue's unit: minor units).
    pub incremental_revenue: f64,
    pub revenue_ci: Interval,
}

/// The measured lifts scaled to `population` customers (the intervals alike: the population
/// is taken as known, the per-customer effect as the test measured it).
pub fn project(population: u64, response: &ResponseLift, revenue: &RevenueLift) -> Projection {
    let n = population as f64;
    Projection {
        population,
        incremental_responders: n * response.difference,
        responders_ci: response.difference_ci.scaled(n),
        incremental_revenue: n * revenue.difference,
        revenue_ci: revenue.difference_ci.scaled(n),
    }
}

/// Customers needed in each group (recipients and control alike) to detect the response rate
/// moving from `baseline` to `baseline × (1 + lift)` with a two-sided test at `alpha` and the
/// given `power`:
///
/// n = ⌈(z₁₋α/₂ √(2 p̄ q̄) + z_power √(p₁q₁ + p₂q₂))² / (p₂ − p₁)²⌉, p̄ = (p₁ + p₂) / 2.
pub fn sample_size(baseline: f64, lift: f64, alpha: f64, power: f64) -> Result<u64> {
    let bad = |field: &'static str, expected: &str, value: f64| {
        DomainError::new(
            "campaign.plan.parameter",
            field,
            format!("invalid value {value}: expected {expected}"),
        )
        .with("value", value.to_string())
        .with("expected", expected.to_string())
    };
    if !(baseline > 0.0 && baseline < 1.0) {
        return Err(bad("baseline", "a rate between 0 and 1", baseline));
    }
    let target = baseline * (1.0 + lift);
    if !(lift.is_finite() && lift != 0.0 && target > 0.0 && target < 1.0) {
        return Err(bad(
            "lift",
            "a relative change other than 0 that keeps the rate between 0 and 1",
            lift,
        ));
    }
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(bad("alpha", "a level between 0 and 1", alpha));
    }
    if !(power > 0.0 && power < 1.0) {
        return Err(bad("power", "a probability between 0 and 1", power));
    }
    let z_alpha = normal_quantile(1.0 - alpha / 2.0);
    let z_power = normal_quantile(power);
    let (p1, p2) = (baseline, target);
    let mean = (p1 + p2) / 2.0;
    let root = z_alpha * (2.0 * mean * (1.0 - mean)).sqrt() + z_power * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    let n = (root * root / ((p2 - p1) * (p2 - p1))).ceil();
    if !(n.is_finite() && n < 1e15) {
        return Err(bad("lift", "a change large enough to measure", lift));
    }
    Ok(n as u64)
}
