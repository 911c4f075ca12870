//! `kesher analyze`: run the analytics refresh and print what it found.

use anyhow::Context;
use clap::Args;
use kesher_analytics::{Model, PeriodUnit};
use kesher_app::App;
use kesher_app::analyze::AnalyzeOptions;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args)]
pub struct AnalyzeArgs {
    /// Observation end: a date (end of that day, UTC) or an RFC 3339 instant [default: now].
    #[arg(long)]
    as_of: Option<String>,
    #[arg(long, default_value = "week", value_parser = ["week", "day"])]
    period: String,
    #[arg(long, default_value = "bgnbd", value_parser = ["bgnbd", "pareto-nbd", "mbgnbd"])]
    model: String,
    /// Share of spend that is profit, for CLV (0 to 1).
    #[arg(long, default_value_t = 1.0)]
    margin: f64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(app: &App, a: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let as_of = match a.as_of.as_deref() {
        None => app.now(),
        Some(s) if s.len() == 10 => {
            let d: jiff::civil::Date = s
                .parse()
                .with_context(|| format!("--as-of {s:?}: expected YYYY-MM-DD"))?;
            d.at(23, 59, 59, 0)
                .to_zoned(jiff::tz::TimeZone::UTC)
                .context("--as-of")?
                .timestamp()
        }
        Some(s) => s
            .parse()
            .with_context(|| format!("--as-of {s:?}: expected a date or an RFC 3339 instant"))?,
    };
    if !(0.0..=1.0).contains(&a.margin) {
        anyhow::bail!("--margin must be 0 to 1");
    }
    let unit = if a.period == "day" {
        PeriodUnit::Day
    } else {
        PeriodUnit::Week
    };
    let model = Model::parse(&a.model).context("--model")?;
    let mut opts = AnalyzeOptions::new(as_of, unit, model);
    opts.margin = a.margin;
    let r = app.analyze(&opts)?;
    let total = started.elapsed().as_secs_f64();
    if a.json {
        let kv = |v: &[(&str, f64)]| {
            v.iter()
                .map(|(k, x)| ((*k).to_string(), serde_json::json!(x)))
                .collect::<serde_json::Map<_, _>>()
        };
        let doc = serde_json::json!({
            "as_of": as_of.to_string(), "customers": r.customers, "buyers": r.buyers, "transactions": r.transactions,
            "model": r.model, "params": kv(&r.params), "log_likelihood": r.log_likelihood,
            "spend_params": r.spend_params.as_deref().map(kv),
            "stages": r.stages.iter().map(|(s, n)| ((*s).to_string(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
            "tiers": r.tiers.iter().map(|(t, n, share)| serde_json::json!({"tier": t, "customers": n, "share_of_value": share})).collect::<Vec<_>>(),
            "seconds": total,
        });
        println!("{doc}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "analysed {} customers ({} buyers, {} sales) as of {as_of} in {total:.2} s",
        r.customers, r.buyers, r.transactions
    );
    let params: Vec<String> = r.params.iter().map(|(k, v)| format!("{k}={v:.4}")).collect();
    println!(
        "{}: {} (log-likelihood {:.1})",
        r.model,
        params.join(" "),
        r.log_likelihood
    );
    if let Some(sp) = &r.spend_params {
        let sp: Vec<String> = sp.iter().map(|(k, v)| format!("{k}={v:.4}")).collect();
        println!("gamma-gamma: {}", sp.join(" "));
    }
    println!("lifecycle ladder:");
    for (s, n) in &r.stages {
        println!("  {s:<11} {n:>9}");
    }
    println!("value tiers by CLV:");
    for (t, n, share) in &r.tiers {
        println!("  {t:<7} {n:>9} customers  {:>5.1}% of value", share * 100.0);
    }
    let steps: Vec<String> = r.timings.iter().map(|(s, t)| format!("{s} {t:.2}s")).collect();
    eprintln!("timings: {}", steps.join(", "));
    Ok(ExitCode::SUCCESS)
}
