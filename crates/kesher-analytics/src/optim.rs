//! A small BFGS minimiser with a strong-Wolfe line search, plus Hessian and covariance helpers.

use crate::error::{AnalyticsError, Result};

/// Outcome of a minimisation.
#[derive(Debug, Clone)]
pub(crate) struct Minimum<const N: usize> {
    pub x: [f64; N],
    /// Objective at `x`.
    #[allow(dead_code)]
    pub f: f64,
    pub iterations: usize,
}

/// Iterations of one minimisation at most, whatever the budget says.
pub(crate) const MAX_ITER: usize = 1000;

/// What one fit may spend: iterations of the optimiser and a deadline its caller checks (pure
/// crates read no clock: the caller passes a closure that says whether time is up).
#[derive(Clone, Copy)]
pub struct FitBudget<'a> {
    /// Optimiser iterations at most (capped at 1000).
    pub max_iterations: usize,
    deadline: Option<&'a (dyn Fn() -> bool + Sync)>,
}

impl std::fmt::Debug for FitBudget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FitBudget")
            .field("max_iterations", &self.max_iterations)
            .field("deadline", &self.deadline.is_some())
            .finish()
    }
}

impl Default for FitBudget<'_> {
    /// 1000 iterations, no deadline.
    fn default() -> Self {
        FitBudget {
            max_iterations: MAX_ITER,
            deadline: None,
        }
    }
}

impl<'a> FitBudget<'a> {
    /// At most `max_iterations` iterations, no deadline.
    pub fn iterations(max_iterations: usize) -> Self {
        FitBudget {
            max_iterations,
            deadline: None,
        }
    }
    /// The same budget, stopping as soon as `expired()` returns true (e.g. a wall clock the
    /// caller measures).
    pub fn with_deadline(self, expired: &'a (dyn Fn() -> bool + Sync)) -> Self {
        FitBudget {
            deadline: Some(expired),
            ..self
        }
    }
    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| d())
    }
}
/// Objective evaluations allowed in one minimisation (line searches included).
const MAX_EVALS: usize = 2000;
const GTOL: f64 = 1e-9;
/// Largest step of any coordinate in one line search (parameters are on log scale).
const MAX_STEP: f64 = 3.0;

fn dot<const N: usize>(a: &[f64; N], b: &[f64; N]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm_inf<const N: usize>(a: &[f64; N]) -> f64 {
    a.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn axpy<const N: usize>(x: &[f64; N], t: f64, d: &[f64; N]) -> [f64; N] {
    let mut y = *x;
    for (yi, di) in y.iter_mut().zip(d) {
        *yi += t * di;
    }
    y
}

/// Evaluates `f`, mapping errors and non-finite values to +∞ so the line search backs off.
fn eval<const N: usize, F>(f: &F, x: &[f64; N]) -> (f64, [f64; N])
where
    F: Fn(&[f64; N]) -> Result<(f64, [f64; N])>,
{
    match f(x) {
        Ok((v, g)) if v.is_finite() && g.iter().all(|x| x.is_finite()) => (v, g),
        _ => (f64::INFINITY, [0.0; N]),
    }
}

/// Minimises `f` (value and gradient) from `x0` with BFGS, within `budget`: at most its
/// iterations (and [`MAX_ITER`]), and [`AnalyticsError::BudgetExhausted`] as soon as its
/// deadline check says time is up (checked before every evaluation of `f`).
pub(crate) fn minimize<const N: usize, F>(f: F, x0: [f64; N], budget: &FitBudget<'_>) -> Result<Minimum<N>>
where
    F: Fn(&[f64; N]) -> Result<(f64, [f64; N])>,
{
    let max_iter = budget.max_iterations.min(MAX_ITER);
    let evals = std::cell::Cell::new(0usize);
    let iterations_done = std::cell::Cell::new(0usize);
    let expired = std::cell::Cell::new(false);
    let counted = |x: &[f64; N]| -> Result<(f64, [f64; N])> {
        evals.set(evals.get() + 1);
        if evals.get() > MAX_EVALS {
            return Err(AnalyticsError::DidNotConverge {
                iterations: max_iter,
                gradient_norm: f64::NAN,
            });
        }
        if expired.get() || budget.expired() {
            expired.set(true);
            return Err(AnalyticsError::BudgetExhausted {
                iterations: iterations_done.get(),
            });
        }
        f(x)
    };
    let f = counted;
    let mut x = x0;
    let (mut fx, mut g) = f(&x)?;
    if !fx.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return Err(AnalyticsError::Numerical {
            what: "objective at the starting point",
        });
    }
    let mut h = identity::<N>();
    let mut stalls = 0;
    let mut iterations = 0;
    for iter in 0..max_iter {
        iterations = iter + 1;
        iterations_done.set(iter);
        if evals.get() >= MAX_EVALS || expired.get() {
            break;
        }
        let gn = norm_inf(&g);
        if gn < GTOL {
            break;
        }
        let mut d = mat_vec(&h, &g).map(|v| -v);
        if dot(&d, &g) >= 0.0 {
            h = identity::<N>();
            d = g.map(|v| -v);
        }
        let dn = norm_inf(&d);
        if dn > MAX_STEP {
            d = d.map(|v| v * MAX_STEP / dn);
        }
        let Some((t, fnew, gnew)) = line_search(&f, &x, fx, &g, &d) else {
            // Line search failed: restart from steepest descent once, then give up.
            if stalls > 2 {
                break;
            }
            if norm_inf(&g) < 1e-6 && stalls > 0 {
                break;
            }
            stalls += 1;
            h = identity::<N>();
            continue;
        };
        let xnew = axpy(&x, t, &d);
        let s: [f64; N] = std::array::from_fn(|i| xnew[i] - x[i]);
        let y: [f64; N] = std::array::from_fn(|i| gnew[i] - g[i]);
        let sy = dot(&s, &y);
        let improvement = fx - fnew;
        x = xnew;
        fx = fnew;
        g = gnew;
        if sy > 1e-300 {
            if iter == 0 || stalls > 0 {
                // Scale the initial inverse Hessian (Nocedal & Wright 6.20).
                let yy = dot(&y, &y);
                if yy > 0.0 {
                    h = identity::<N>();
                    for (i, row) in h.iter_mut().enumerate() {
                        row[i] = sy / yy;
                    }
                }
            }
            bfgs_update(&mut h, &s, &y, sy);
        }
        if improvement.abs() <= 1e-15 * fx.abs().max(1.0) {
            stalls += 1;
            if stalls > 3 {
                break;
            }
        } else {
            stalls = 0;
        }
    }
    // Polish with Newton steps on the gradient: near the optimum of an ill-conditioned
    // likelihood the objective stops changing in the last digits before the gradient is nil.
    let (x, fx, g) = if norm_inf(&g) < GTOL || expired.get() {
        (x, fx, g)
    } else {
        newton_polish(&f, x, fx, g)
    };
    let gn = norm_inf(&g);
    if gn < 1e-6 {
        return Ok(Minimum { x, f: fx, iterations });
    }
    if expired.get() || (iterations >= max_iter && max_iter < MAX_ITER) {
        return Err(AnalyticsError::BudgetExhausted { iterations });
    }
    Err(AnalyticsError::DidNotConverge {
        iterations,
        gradient_norm: gn,
    })
}

fn newton_polish<const N: usize, F>(f: &F, mut x: [f64; N], mut fx: f64, mut g: [f64; N]) -> ([f64; N], f64, [f64; N])
where
    F: Fn(&[f64; N]) -> Result<(f64, [f64; N])>,
{
    for _ in 0..8 {
        let gn = norm_inf(&g);
        if gn < 1e-13 {
            break;
        }
        let grad = |p: &[f64; N]| f(p).map(|(_, g)| g);
        let Ok(h) = hessian_with_step(grad, &x, 1e-4) else {
            break;
        };
        let Some(inv) = spd_inverse(&h) else {
            break;
        };
        let step = mat_vec(&inv, &g);
        if norm_inf(&step) > 0.1 {
            break;
        }
        let xn = axpy(&x, -1.0, &step);
        let (fnew, gnew) = eval(f, &xn);
        // Accept when the gradient shrinks and the objective did not get visibly worse.
        if !(fnew.is_finite() && norm_inf(&gnew) < gn && fnew <= fx + 1e-12 * fx.abs().max(1.0)) {
            break;
        }
        x = xn;
        fx = fnew;
        g = gnew;
    }
    (x, fx, g)
}

fn identity<const N: usize>() -> [[f64; N]; N] {
    let mut m = [[0.0; N]; N];
    for (i, row) in m.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    m
}

fn mat_vec<const N: usize>(m: &[[f64; N]; N], v: &[f64; N]) -> [f64; N] {
    std::array::from_fn(|i| dot(&m[i], v))
}

fn bfgs_update<const N: usize>(h: &mut [[f64; N]; N], s: &[f64; N], y: &[f64; N], sy: f64) {
    let rho = 1.0 / sy;
    let hy = mat_vec(h, y);
    let yhy = dot(y, &hy);
    for i in 0..N {
        for j in 0..N {
            h[i][j] += -rho * (hy[i] * s[j] + s[i] * hy[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
        }
    }
}

/// Strong-Wolfe line search (Nocedal & Wright, algorithms 3.5 and 3.6).
fn line_search<const N: usize, F>(
    f: &F,
    x: &[f64; N],
    f0: f64,
    g0: &[f64; N],
    d: &[f64; N],
) -> Option<(f64, f64, [f64; N])>
where
    F: Fn(&[f64; N]) -> Result<(f64, [f64; N])>,
{
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    let dg0 = dot(g0, d);
    if dg0 >= 0.0 {
        return None;
    }
    let phi = |t: f64| {
        let (v, g) = eval(f, &axpy(x, t, d));
        (v, dot(&g, d), g)
    };
    let mut t_prev = 0.0;
    let mut f_prev = f0;
    let mut dg_prev = dg0;
    let mut t = 1.0;
    for i in 0..40 {
        let (ft, dgt, gt) = phi(t);
        if !ft.is_finite() {
            // Too far: shrink towards the last good point.
            t = t_prev + (t - t_prev) * 0.1;
            if (t - t_prev).abs() < 1e-16 {
                return None;
            }
            continue;
        }
        if ft > f0 + C1 * t * dg0 || (i > 0 && ft >= f_prev) {
            return zoom(&phi, f0, dg0, t_prev, f_prev, dg_prev, t, ft, dgt);
        }
        if dgt.abs() <= -C2 * dg0 {
            return Some((t, ft, gt));
        }
        if dgt >= 0.0 {
            return zoom(&phi, f0, dg0, t, ft, dgt, t_prev, f_prev, dg_prev);
        }
        t_prev = t;
        f_prev = ft;
        dg_prev = dgt;
        t *= 2.0;
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn zoom<const N: usize, P>(
    phi: &P,
    f0: f64,
    dg0: f64,
    mut lo: f64,
    mut f_lo: f64,
    mut dg_lo: f64,
    mut hi: f64,
    mut f_hi: f64,
    mut dg_hi: f64,
) -> Option<(f64, f64, [f64; N])>
where
    P: Fn(f64) -> (f64, f64, [f64; N]),
{
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    let mut best: Option<(f64, f64, [f64; N])> = None;
    for _ in 0..60 {
        // Cubic interpolation, safeguarded to the middle of the bracket.
        let mut t = cubic_min(lo, f_lo, dg_lo, hi, f_hi, dg_hi);
        let (a, b) = if lo < hi { (lo, hi) } else { (hi, lo) };
        let w = b - a;
        if !(t.is_finite() && t > a + 0.1 * w && t < b - 0.1 * w) {
            t = 0.5 * (a + b);
        }
        let (ft, dgt, gt) = phi(t);
        if ft.is_finite() && ft < f0 && best.as_ref().is_none_or(|b| ft < b.1) {
            best = Some((t, ft, gt));
        }
        if !ft.is_finite() || ft > f0 + C1 * t * dg0 || ft >= f_lo {
            hi = t;
            f_hi = ft;
            dg_hi = dgt;
        } else {
            if dgt.abs() <= -C2 * dg0 {
                return Some((t, ft, gt));
            }
            if dgt * (hi - lo) >= 0.0 {
                hi = lo;
                f_hi = f_lo;
                dg_hi = dg_lo;
            }
            lo = t;
            f_lo = ft;
            dg_lo = dgt;
        }
        if (hi - lo).abs() < 1e-14 * lo.abs().max(1e-10) {
            break;
        }
    }
    best
}

fn cubic_min(a: f64, fa: f64, ga: f64, b: f64, fb: f64, gb: f64) -> f64 {
    if !fb.is_finite() {
        return f64::NAN;
    }
    let d1 = ga + gb - 3.0 * (fa - fb) / (a - b);
    let disc = d1 * d1 - ga * gb;
    if disc < 0.0 {
        return f64::NAN;
    }
    let d2 = (b - a).signum() * disc.sqrt();
    b - (b - a) * (gb + d2 - d1) / (gb - ga + 2.0 * d2)
}

/// Inverts a symmetric positive-definite matrix by Cholesky; `None` if it is not.
#[allow(clippy::needless_range_loop)] // index notation mirrors the textbook algorithm
pub(crate) fn spd_inverse<const N: usize>(m: &[[f64; N]; N]) -> Option<[[f64; N]; N]> {
    let mut l = [[0.0; N]; N];
    for i in 0..N {
        for j in 0..=i {
            let mut s = m[i][j];
            for k in 0..j {
                s -= l[i][k] * l[j][k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    // Solve L L^T X = I column by column.
    let mut inv = [[0.0; N]; N];
    for c in 0..N {
        let mut y = [0.0; N];
        for i in 0..N {
            let mut s = if i == c { 1.0 } else { 0.0 };
            for k in 0..i {
                s -= l[i][k] * y[k];
            }
            y[i] = s / l[i][i];
        }
        let mut x = [0.0; N];
        for i in (0..N).rev() {
            let mut s = y[i];
            for k in i + 1..N {
                s -= l[k][i] * x[k];
            }
            x[i] = s / l[i][i];
        }
        for r in 0..N {
            inv[r][c] = x[r];
        }
    }
    Some(inv)
}

/// Central-difference Hessian of a function given its exact gradient, symmetrised.
pub(crate) fn hessian_from_gradient<const N: usize, G>(grad: G, x: &[f64; N]) -> Result<[[f64; N]; N]>
where
    G: Fn(&[f64; N]) -> Result<[f64; N]>,
{
    hessian_with_step(grad, x, 1e-5)
}

#[allow(clippy::needless_range_loop)]
/// As [`hessian_from_gradient`] with steps `rel` × max(|x|, 1e-3) … relative to each coordinate.
fn hessian_with_step<const N: usize, G>(grad: G, x: &[f64; N], rel: f64) -> Result<[[f64; N]; N]>
where
    G: Fn(&[f64; N]) -> Result<[f64; N]>,
{
    let mut h = [[0.0; N]; N];
    for j in 0..N {
        let step = rel * x[j].abs().max(1e-3);
        let mut xp = *x;
        let mut xm = *x;
        xp[j] += step;
        xm[j] -= step;
        let gp = grad(&xp)?;
        let gm = grad(&xm)?;
        for i in 0..N {
            h[i][j] = (gp[i] - gm[i]) / (2.0 * step);
        }
    }
    for i in 0..N {
        for j in 0..i {
            let m = 0.5 * (h[i][j] + h[j][i]);
            h[i][j] = m;
            h[j][i] = m;
        }
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_rosenbrock() {
        let f = |x: &[f64; 2]| {
            let (a, b) = (x[0], x[1]);
            let v = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
            let g = [-2.0 * (1.0 - a) - 400.0 * a * (b - a * a), 200.0 * (b - a * a)];
            Ok((v, g))
        };
        let m = minimize(f, [-1.2, 1.0], &FitBudget::default()).unwrap();
        assert!((m.x[0] - 1.0).abs() < 1e-7, "{:?}", m);
        assert!((m.x[1] - 1.0).abs() < 1e-7, "{:?}", m);
    }

    #[test]
    fn a_budget_stops_the_minimisation() {
        let f = |x: &[f64; 2]| {
            let (a, b) = (x[0], x[1]);
            let v = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
            let g = [-2.0 * (1.0 - a) - 400.0 * a * (b - a * a), 200.0 * (b - a * a)];
            Ok((v, g))
        };
        let e = minimize(f, [-1.2, 1.0], &FitBudget::iterations(3)).unwrap_err();
        assert_eq!(e, AnalyticsError::BudgetExhausted { iterations: 3 });
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let deadline = || calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= 5;
        let e = minimize(f, [-1.2, 1.0], &FitBudget::default().with_deadline(&deadline)).unwrap_err();
        assert!(matches!(e, AnalyticsError::BudgetExhausted { .. }), "{e:?}");
    }

    #[test]
    fn inverse_of_spd() {
        let m = [[4.0, 1.0], [1.0, 3.0]];
        let inv = spd_inverse(&m).unwrap();
        assert!((inv[0][0] - 3.0 / 11.0).abs() < 1e-14);
        assert!((inv[0][1] + 1.0 / 11.0).abs() < 1e-14);
        assert!(spd_inverse(&[[1.0, 2.0], [2.0, 1.0]]).is_none());
    }
}
