//! `kesher models fit` and `kesher models predict`: fit a model directly on a summary CSV, so
//! that anyone can check kesher against the published tables, and per-customer predictions
//! (P(alive), expected purchases, expected spend, CLV) as Python lifetimes gives them.

use anyhow::Context;
use clap::Subcommand;
use kesher_analytics::{ClvOptions, FitBudget, GammaGamma, Model, ScoreOptions, TransactionModel};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// Fit MODEL on a CSV with columns frequency,recency,T (and monetary_value for gamma-gamma).
    Fit {
        #[arg(long, value_parser = kesher_analytics::MODEL_NAMES)]
        model: String,
        /// Summary CSV: columns found by header name, extra columns ignored.
        #[arg(long)]
        summary: PathBuf,
        /// Print {"model", "params", "std_errors", "log_likelihood", "customers", "excluded"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Per customer of a summary CSV: P(alive), expected purchases in the next T periods and,
    /// with a monetary_value column, Gamma-Gamma's expected mean spend and CLV (lifetimes'
    /// conditional_probability_alive, conditional_expected_number_of_purchases_up_to_time,
    /// conditional_expected_average_profit and customer_lifetime_value).
    Predict {
        #[arg(long, value_parser = ["bgnbd", "pareto-nbd", "mbgnbd"])]
        model: String,
        /// Summary CSV: frequency,recency,T[,monetary_value]; an id/ID/customer_id column is
        /// echoed (else the row number).
        #[arg(long)]
        summary: PathBuf,
        /// A `models fit --json` output to use instead of fitting: one for the purchase model and,
        /// optionally, one for gamma-gamma (repeat the flag). Models without one are fitted.
        #[arg(long)]
        params: Vec<PathBuf>,
        /// Horizon of the expected purchases, in the summary's time unit.
        #[arg(long, default_value_t = 1.0)]
        t: f64,
        /// CLV: months ahead (lifetimes' `time`).
        #[arg(long, default_value_t = 12)]
        clv_months: u32,
        /// CLV: discount rate per month (lifetimes' `discount_rate`).
        #[arg(long, default_value_t = 0.01)]
        discount_rate: f64,
        /// CLV: the summary's time unit as lifetimes' `freq`: D (30 a month), W (4.345 a month),
        /// M, H (720 a month).
        #[arg(long, default_value = "D", value_parser = ["D", "W", "M", "H"])]
        freq: String,
        /// CLV: share of spend that is profit (1 = revenue, as lifetimes).
        #[arg(long, default_value_t = 1.0)]
        margin: f64,
        /// Print {"model", "params", "spend_params", "t", "clv", "customers": [...]} as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(c: ModelsCommand) -> anyhow::Result<ExitCode> {
    match c {
        ModelsCommand::Fit { model, summary, json } => fit(model, summary, json),
        p @ ModelsCommand::Predict { .. } => predict(p),
    }
}

fn fit(model: String, summary: PathBuf, json: bool) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&summary).with_context(|| format!("reading {}", summary.display()))?;
    let records =
        kesher_analytics::parse_summary_csv(&text).map_err(|e| anyhow::anyhow!("{}: {e}", summary.display()))?;
    let started = Instant::now();
    let deadline = move || started.elapsed() >= Duration::from_secs(FIT_SECONDS);
    let budget = FitBudget::default().with_deadline(&deadline);
    let r = kesher_analytics::fit_report_within(&model, &records, &budget)
        .map_err(|e| anyhow::anyhow!("fitting {model}: {e}"))?;
    if json {
        let obj = |v: &[(&str, f64)]| {
            v.iter()
                .map(|(k, x)| ((*k).to_string(), serde_json::json!(x)))
                .collect::<serde_json::Map<_, _>>()
        };
        let doc = serde_json::json!({
            "model": r.model,
            "params": obj(&r.params),
            "std_errors": r.std_errors.as_deref().map(obj),
            "log_likelihood": r.log_likelihood,
            "customers": r.customers,
            "excluded": r.excluded,
        });
        println!("{doc}");
    } else {
        println!(
            "{} on {} customers: log-likelihood {:.4}",
            r.model, r.customers, r.log_likelihood
        );
        if r.excluded > 0 {
            println!(
                "  {} repeat customers left out: their mean repeat spend is not positive",
                r.excluded
            );
        }
        for (i, (k, v)) in r.params.iter().enumerate() {
            let se = r
                .std_errors
                .as_ref()
                .and_then(|s| s.get(i))
                .map(|(_, s)| format!("  (s.e. {s:.4})"))
                .unwrap_or_default();
            println!("  {k:>6} = {v:.6}{se}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The longest a fit run by `models fit` or `models predict` may take (each also stops after
/// 1000 iterations).
const FIT_SECONDS: u64 = 60;

/// Reads a `models fit --json` file: its model name and parameters.
fn read_params(path: &std::path::Path) -> anyhow::Result<(String, Vec<(String, f64)>)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let model = doc["model"]
        .as_str()
        .with_context(|| format!("{}: no \"model\" name", path.display()))?
        .to_owned();
    let params = doc["params"]
        .as_object()
        .with_context(|| format!("{}: no \"params\" object", path.display()))?
        .iter()
        .map(|(k, v)| {
            v.as_f64()
                .map(|v| (k.clone(), v))
                .with_context(|| format!("{}: parameter {k} is not a number", path.display()))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok((model, params))
}

/// The id column's values (id, ID, customer_id, cust), else row numbers, one per data line.
fn ids(text: &str) -> Vec<String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let col = header
        .iter()
        .position(|h| ["id", "customer_id", "cust"].contains(&h.as_str()));
    lines
        .enumerate()
        .map(|(i, l)| match col {
            Some(c) => l.split(',').nth(c).unwrap_or("").trim().trim_matches('"').to_owned(),
            None => (i + 1).to_string(),
        })
        .collect()
}

fn predict(c: ModelsCommand) -> anyhow::Result<ExitCode> {
    let ModelsCommand::Predict {
        model,
        summary,
        params,
        t,
        clv_months,
        discount_rate,
        freq,
        margin,
        json,
    } = c
    else {
        anyhow::bail!("not a predict command");
    };
    let m = Model::parse(&model).with_context(|| format!("--model {model}"))?;
    let text = std::fs::read_to_string(&summary).with_context(|| format!("reading {}", summary.display()))?;
    let records =
        kesher_analytics::parse_summary_csv(&text).map_err(|e| anyhow::anyhow!("{}: {e}", summary.display()))?;
    let ids = ids(&text);
    let with_spend = records.iter().any(|r| r.monetary_value.is_some());
    let mut purchase_params = None;
    let mut spend_params = None;
    for path in &params {
        let (name, values) = read_params(path)?;
        if name == "gamma-gamma" {
            spend_params = Some(values);
        } else if name == model {
            purchase_params = Some(values);
        } else {
            anyhow::bail!(
                "{}: parameters of {name}, not of {model} or gamma-gamma",
                path.display()
            );
        }
    }
    let started = Instant::now();
    let deadline = move || started.elapsed() >= Duration::from_secs(FIT_SECONDS);
    let budget = FitBudget::default().with_deadline(&deadline);
    let fitted;
    let purchase: &dyn TransactionModel = match purchase_params {
        Some(p) => {
            fitted = m.at_params(&p).with_context(|| format!("--params for {model}"))?;
            fitted.as_ref()
        }
        None => {
            let rows = kesher_analytics::compress(&records)?.rows;
            let f = m
                .fit_within(&rows, &budget)
                .with_context(|| format!("fitting {model}"))?;
            fitted = Box::new(f);
            fitted.as_ref()
        }
    };
    let spend: Option<GammaGamma> = match (spend_params, with_spend) {
        (Some(p), true) => Some(GammaGamma::at_params(&p).context("--params for gamma-gamma")?),
        (Some(_), false) => anyhow::bail!("gamma-gamma parameters given but the summary has no monetary_value"),
        (None, true) => Some(
            kesher_analytics::fit_gamma_gamma_within(&records, &budget)
                .context("fitting gamma-gamma")?
                .params,
        ),
        (None, false) => None,
    };
    let opts = ScoreOptions {
        horizon: t,
        clv: ClvOptions {
            months: clv_months,
            monthly_discount_rate: discount_rate,
            margin,
            periods_per_month: match freq.as_str() {
                "W" => 4.345,
                "M" => 1.0,
                "H" => 720.0,
                _ => 30.0,
            },
        },
    };
    let scores = kesher_analytics::score_customers(purchase, spend.as_ref(), &records, &opts)?;
    let kv = |v: &[(&str, f64)]| {
        v.iter()
            .map(|(k, x)| ((*k).to_string(), serde_json::json!(x)))
            .collect::<serde_json::Map<_, _>>()
    };
    let id = |i: usize| ids.get(i).cloned().unwrap_or_else(|| (i + 1).to_string());
    if json {
        let customers: Vec<serde_json::Value> = records
            .iter()
            .zip(&scores)
            .enumerate()
            .map(|(i, (r, s))| {
                serde_json::json!({
                    "id": id(i), "frequency": r.frequency, "recency": r.recency, "T": r.t,
                    "monetary_value": r.monetary_value,
                    "p_alive": s.probability_alive, "expected_purchases": s.expected_purchases,
                    "expected_spend": s.expected_spend, "clv": s.clv,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "model": model, "params": kv(&purchase.params()),
            "spend_params": spend.as_ref().map(|g| kv(&g.params())),
            "t": t,
            "clv": spend.as_ref().map(|_| serde_json::json!({
                "months": clv_months, "discount_rate": discount_rate, "freq": freq, "margin": margin,
            })),
            "customers": customers,
        });
        println!("{doc}");
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let spend_cols = if spend.is_some() { ",expected_spend,clv" } else { "" };
    writeln!(out, "id,frequency,recency,T,p_alive,expected_purchases{spend_cols}")?;
    for (i, (r, s)) in records.iter().zip(&scores).enumerate() {
        write!(
            out,
            "{},{},{},{},{},{}",
            id(i),
            r.frequency,
            r.recency,
            r.t,
            s.probability_alive,
            s.expected_purchases
        )?;
        if let (Some(e), Some(c)) = (s.expected_spend, s.clv) {
            write!(out, ",{e},{c}")?;
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
