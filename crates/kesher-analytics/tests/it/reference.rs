//! kesher against lifetimes 0.11.3 (fixtures made by tests/fixtures/make_reference.py):
//! every formula evaluated at lifetimes' own parameters must agree to relative 1e-6, and
//! kesher's fits must land on lifetimes' fits to relative 1e-4.

use std::collections::HashMap;

use kesher_analytics::*;

fn fits() -> HashMap<(String, String), f64> {
    include_str!("../fixtures/reference_fits.csv")
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            ((c[0].to_owned(), c[1].to_owned()), c[2].parse().unwrap())
        })
        .collect()
}

struct Table {
    header: Vec<String>,
    rows: Vec<Vec<f64>>,
}

impl Table {
    fn col(&self, name: &str) -> Vec<f64> {
        let i = self.header.iter().position(|h| h == name).unwrap();
        self.rows.iter().map(|r| r[i]).collect()
    }
}

fn predictions() -> Table {
    let mut lines = include_str!("../fixtures/reference_predictions.csv").lines();
    let header = lines.next().unwrap().split(',').map(str::to_owned).collect();
    let rows = lines
        .map(|l| l.split(',').map(|c| c.parse().unwrap()).collect())
        .collect();
    Table { header, rows }
}

fn assert_close(what: &str, i: usize, got: f64, want: f64, tol: f64) {
    let err = (got - want).abs() / want.abs().max(1e-300);
    assert!(
        err <= tol || (got - want).abs() < 1e-300,
        "{what} row {i}: kesher {got} lifetimes {want} (relative error {err:e})"
    );
}

/// lifetimes' BG/NBD fit on CDNOW.
pub fn lifetimes_bgnbd() -> BgNbd {
    let f = fits();
    let g = |k: &str| f[&("bgnbd".to_owned(), k.to_owned())];
    BgNbd {
        r: g("r"),
        alpha: g("alpha"),
        a: g("a"),
        b: g("b"),
    }
}

fn model_at_lifetimes_params(name: &str) -> Box<dyn TransactionModel> {
    let f = fits();
    let g = |k: &str| f[&(name.to_owned(), k.to_owned())];
    match name {
        "bgnbd" => Box::new(BgNbd {
            r: g("r"),
            alpha: g("alpha"),
            a: g("a"),
            b: g("b"),
        }),
        "pareto-nbd" => Box::new(ParetoNbd {
            r: g("r"),
            alpha: g("alpha"),
            s: g("s"),
            beta: g("beta"),
        }),
        _ => Box::new(ModifiedBgNbd {
            r: g("r"),
            alpha: g("alpha"),
            a: g("a"),
            b: g("b"),
        }),
    }
}

#[test]
fn predictions_match_lifetimes_per_customer() {
    let t = predictions();
    let (x, tx, big_t) = (t.col("frequency"), t.col("recency"), t.col("T"));
    let f = fits();
    for name in ["bgnbd", "pareto-nbd", "mbgnbd"] {
        let m = model_at_lifetimes_params(name);
        let mut ll = 0.0;
        for (col, horizon) in [("e10", 10.0), ("e39", 39.0)] {
            let want = t.col(&format!("{name}_{col}"));
            for i in 0..x.len() {
                let got = m.expected_purchases(horizon, x[i], tx[i], big_t[i]).unwrap();
                assert_close(&format!("{name} {col}"), i, got, want[i], 1e-6);
            }
            let new = m.expected_purchases_new(horizon).unwrap();
            let key = (name.to_owned(), format!("new_{}", horizon as u32));
            assert_close(&format!("{name} new"), 0, new, f[&key], 1e-6);
        }
        let want = t.col(&format!("{name}_palive"));
        for i in 0..x.len() {
            let got = m.probability_alive(x[i], tx[i], big_t[i]).unwrap();
            assert_close(&format!("{name} P(alive)"), i, got, want[i], 1e-6);
            ll += m.log_likelihood(x[i], tx[i], big_t[i]).unwrap();
        }
        let key = (name.to_owned(), "log_likelihood".to_owned());
        assert_close(&format!("{name} LL"), 0, ll, f[&key], 1e-9);
    }
}

#[test]
fn spend_and_clv_match_lifetimes_per_customer() {
    let t = predictions();
    let f = fits();
    let gg = GammaGamma {
        p: f[&("gamma-gamma".into(), "p".into())],
        q: f[&("gamma-gamma".into(), "q".into())],
        v: f[&("gamma-gamma".into(), "v".into())],
    };
    let bg = model_at_lifetimes_params("bgnbd");
    let (x, tx, big_t, m) = (
        t.col("frequency"),
        t.col("recency"),
        t.col("T"),
        t.col("monetary_value"),
    );
    let (spend, clv) = (t.col("gg_spend"), t.col("clv_bgnbd"));
    let opts = ClvOptions::lifetimes_default(PeriodUnit::Week);
    let records: Vec<SummaryRecord> = (0..x.len())
        .map(|i| SummaryRecord {
            frequency: x[i] as u32,
            recency: tx[i],
            t: big_t[i],
            monetary_value: Some(m[i]),
        })
        .collect();
    for i in 0..x.len() {
        let s = gg.expected_average_spend(x[i], m[i]).unwrap();
        assert_close("GG spend", i, s, spend[i], 1e-6);
        let c = customer_lifetime_value(bg.as_ref(), &gg, &records[i], &opts).unwrap();
        assert_close("CLV", i, c, clv[i], 1e-6);
    }
    // The batch scorer (compressed rows, parallel) agrees with the one-at-a-time path.
    let scores = score_customers(
        bg.as_ref(),
        Some(&gg),
        &records,
        &ScoreOptions {
            horizon: 39.0,
            clv: opts,
        },
    )
    .unwrap();
    let e39 = t.col("bgnbd_e39");
    for i in 0..x.len() {
        assert_close("score CLV", i, scores[i].clv.unwrap(), clv[i], 1e-6);
        assert_close("score E39", i, scores[i].expected_purchases, e39[i], 1e-6);
    }
    let ll: f64 = (0..x.len())
        .filter(|&i| x[i] > 0.0)
        .map(|i| gg.log_likelihood(x[i], m[i]).unwrap())
        .sum();
    assert_close(
        "GG LL",
        0,
        ll,
        f[&("gamma-gamma".into(), "log_likelihood".into())],
        1e-9,
    );
}

#[test]
fn fitted_params_match_lifetimes_fits() {
    let f = fits();
    let rows = compress(&crate::cdnow::summary_records()).unwrap().rows;
    for model in Model::ALL {
        let fit = model.fit(&rows).unwrap();
        // lifetimes fits Pareto/NBD by Nelder-Mead from random starting points: its own
        // estimates move by about 2e-4 from run to run along the flat ridge in (α, β).
        let tol = if model == Model::ParetoNbd { 5e-4 } else { 1e-4 };
        for (k, v) in fit.params() {
            let want = f[&(model.name().to_owned(), k.to_owned())];
            assert_close(&format!("{} {k}", model.name()), 0, v, want, tol);
        }
        if let Some(se) = fit.std_errors() {
            for (k, v) in se {
                if let Some(want) = f.get(&(model.name().to_owned(), format!("se_{k}"))) {
                    assert_close(&format!("{} se {k}", model.name()), 0, v, *want, 1e-3);
                }
            }
        } else {
            panic!("{} has no standard errors", model.name());
        }
        let want = f[&(model.name().to_owned(), "log_likelihood".to_owned())];
        // kesher's optimum is at least as good as lifetimes'.
        assert!(fit.fit_log_likelihood() >= want - 1e-6);
    }
    let gg = fit_gamma_gamma(&crate::cdnow::spend_records()).unwrap();
    for (k, v) in gg.params.params() {
        let want = f[&("gamma-gamma".to_owned(), k.to_owned())];
        assert_close(&format!("gamma-gamma {k}"), 0, v, want, 1e-4);
    }
    for (k, v) in gg.std_errors.unwrap().params() {
        let want = f[&("gamma-gamma".to_owned(), format!("se_{k}"))];
        assert_close(&format!("gamma-gamma se {k}"), 0, v, want, 1e-3);
    }
}
