//! `kesher models fit`: fit a model directly on a summary CSV, so that anyone can check kesher
//! against the published tables.

use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

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
}

pub fn run(c: ModelsCommand) -> anyhow::Result<ExitCode> {
    let ModelsCommand::Fit { model, summary, json } = c;
    let text = std::fs::read_to_string(&summary).with_context(|| format!("reading {}", summary.display()))?;
    let records =
        kesher_analytics::parse_summary_csv(&text).map_err(|e| anyhow::anyhow!("{}: {e}", summary.display()))?;
    let r = kesher_analytics::fit_report(&model, &records).map_err(|e| anyhow::anyhow!("fitting {model}: {e}"))?;
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
