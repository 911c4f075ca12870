//! `kesher models predict` against Python lifetimes 0.11.3 (fixtures made by
//! tests/fixtures/predict/make_predict_reference.py): per customer P(alive), expected purchases,
//! expected spend and CLV at lifetimes' parameters agree to relative 1e-6.

use super::{Dir, kesher, text};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/predict")
}

fn cdnow() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kesher-analytics/tests/fixtures/cdnow_customers_summary_with_transactions.csv")
}

/// lifetimes' predictions.csv: (header, rows of numbers).
fn reference() -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(fixtures().join("predictions.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(str::to_owned).collect();
    let rows = lines
        .map(|l| l.split(',').map(|c| c.parse().unwrap()).collect())
        .collect();
    (header, rows)
}

fn assert_close(what: &str, id: &str, got: f64, want: f64) {
    let err = (got - want).abs() / want.abs().max(1e-300);
    assert!(
        err <= 1e-6 || (got - want).abs() < 1e-300,
        "{what} customer {id}: kesher {got} lifetimes {want} (relative error {err:e})"
    );
}

fn predict(d: &Dir, args: &[&str]) -> serde_json::Value {
    let summary = cdnow();
    let mut all = vec!["models", "predict", "--summary", summary.to_str().unwrap(), "--json"];
    all.extend_from_slice(args);
    let o = kesher(&d.db(), &all);
    assert!(o.status.success(), "{:?}", text(&o));
    serde_json::from_str(&text(&o).0).unwrap()
}

#[test]
fn models_predict_matches_lifetimes_per_customer_on_the_same_parameters() {
    let d = Dir::new();
    let (header, rows) = reference();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let gg = fixtures().join("gamma-gamma.json");
    for model in ["bgnbd", "pareto-nbd", "mbgnbd"] {
        let params = fixtures().join(format!("{model}.json"));
        let (p, g) = (params.to_str().unwrap(), gg.to_str().unwrap());
        let common = [
            "--model", model, "--params", p, "--params", g, "--t", "52", "--freq", "W",
        ];
        let v = predict(&d, &common);
        let six = predict(
            &d,
            &[&common[..], &["--clv-months", "6", "--discount-rate", "0.02"]].concat(),
        );
        let customers = v["customers"].as_array().unwrap();
        assert_eq!(customers.len(), rows.len());
        assert_eq!(v["clv"]["freq"], "W");
        for (i, (c, want)) in customers.iter().zip(&rows).enumerate() {
            let id = c["id"].as_str().unwrap();
            assert_eq!(id, (want[col("ID")] as u64).to_string());
            let got = |k: &str| c[k].as_f64().unwrap();
            assert_close(
                &format!("{model} P(alive)"),
                id,
                got("p_alive"),
                want[col(&format!("{model}_palive"))],
            );
            assert_close(
                &format!("{model} expected purchases in 52 weeks"),
                id,
                got("expected_purchases"),
                want[col(&format!("{model}_e52"))],
            );
            assert_close("expected spend", id, got("expected_spend"), want[col("gg_spend")]);
            assert_close(
                &format!("{model} CLV"),
                id,
                got("clv"),
                want[col(&format!("{model}_clv"))],
            );
            let clv6 = six["customers"][i]["clv"].as_f64().unwrap();
            assert_close(
                &format!("{model} CLV over 6 months at 2 %"),
                id,
                clv6,
                want[col(&format!("{model}_clv6"))],
            );
        }
    }
}

/// `models fit --json` writes what `models predict --params` reads back; without parameters the
/// models are fitted, to the same predictions.
#[test]
fn models_predict_reads_back_a_models_fit_file_and_fits_without_one() {
    let d = Dir::new();
    let summary = cdnow();
    let mut files = Vec::new();
    for model in ["bgnbd", "gamma-gamma"] {
        let o = kesher(
            &d.db(),
            &[
                "models",
                "fit",
                "--model",
                model,
                "--summary",
                summary.to_str().unwrap(),
                "--json",
            ],
        );
        assert!(o.status.success(), "{:?}", text(&o));
        files.push(d.file(&format!("{model}.json"), &text(&o).0));
    }
    let (f0, f1) = (files[0].to_str().unwrap(), files[1].to_str().unwrap());
    let read_back = predict(
        &d,
        &[
            "--model", "bgnbd", "--params", f0, "--params", f1, "--t", "10", "--freq", "W",
        ],
    );
    let fitted = predict(&d, &["--model", "bgnbd", "--t", "10", "--freq", "W"]);
    // The same numbers up to the last bits (serde_json's float parsing may miss by an ulp).
    let same = |a: &serde_json::Value, b: &serde_json::Value| match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-12 * y.abs().max(1e-300),
        _ => a == b,
    };
    for k in ["r", "alpha", "a", "b"] {
        assert!(same(&read_back["params"][k], &fitted["params"][k]), "{k}");
    }
    let (rb, fi) = (
        read_back["customers"].as_array().unwrap(),
        fitted["customers"].as_array().unwrap(),
    );
    assert_eq!(rb.len(), 2357);
    for (a, b) in rb.iter().zip(fi) {
        for (k, v) in a.as_object().unwrap() {
            assert!(same(v, &b[k]), "{k}: {v} vs {}", b[k]);
        }
    }
    // Fader, Hardie & Lee (2005)'s BG/NBD.
    assert_eq!(format!("{:.3}", fitted["params"]["alpha"].as_f64().unwrap()), "4.414");
    // CSV: a header and one line per customer, the id echoed.
    let o = kesher(
        &d.db(),
        &[
            "models",
            "predict",
            "--model",
            "bgnbd",
            "--summary",
            summary.to_str().unwrap(),
            "--params",
            f0,
            "--params",
            f1,
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let out = text(&o).0;
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("id,frequency,recency,T,p_alive,expected_purchases,expected_spend,clv")
    );
    assert!(lines.next().unwrap().starts_with("1,2,30.43,38.86,"));
    assert_eq!(lines.count(), 2356);
    // Parameters of another model are refused.
    let pareto = fixtures().join("pareto-nbd.json");
    let o = kesher(
        &d.db(),
        &[
            "models",
            "predict",
            "--model",
            "bgnbd",
            "--summary",
            summary.to_str().unwrap(),
            "--params",
            pareto.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).1.contains("parameters of pareto-nbd"), "{:?}", text(&o));
}
