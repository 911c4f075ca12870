//! `kesher analyze`: run the analytics refresh and print what it found.

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use kesher_analytics::{Model, PeriodUnit};
use kesher_app::App;
use kesher_app::analyze::{AnalyzeOptions, Progress};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// Also compute and record the lifecycle stage of every past month since the first purchase
    /// (the ladder's history, for transitions between past months).
    #[arg(long)]
    backfill_history: bool,
    /// Wall-clock seconds the model fits may take together (each fit also stops after 1000
    /// iterations); a model whose share runs out is reported and the next one tried.
    #[arg(long, default_value_t = 20.0)]
    fit_seconds: f64,
    /// Lifecycle ladder: purchase periods needed to be core [default: 2].
    #[arg(long)]
    core_min_purchases: Option<u32>,
    /// Ladder: at risk beyond this many of the customer's own mean gaps since the last purchase [default: 2].
    #[arg(long)]
    at_risk_gaps: Option<f64>,
    /// Ladder: defected beyond this many own mean gaps [default: 4].
    #[arg(long)]
    defected_gaps: Option<f64>,
    /// Ladder: at risk below this P(alive) [default: 0.5].
    #[arg(long)]
    p_alive_at_risk: Option<f64>,
    /// Ladder: defected below this P(alive) [default: 0.1].
    #[arg(long)]
    p_alive_defected: Option<f64>,
    /// Ladder: a one-time buyer is at risk after this many periods [default: 13 weeks / 91 days].
    #[arg(long)]
    one_time_at_risk_after: Option<f64>,
    /// Ladder: a one-time buyer is defected after this many periods [default: 52 weeks / 365 days].
    #[arg(long)]
    one_time_defected_after: Option<f64>,
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
    opts.backfill_history = a.backfill_history;
    opts.fit_budget.wall_clock =
        Duration::try_from_secs_f64(a.fit_seconds).map_err(|_| anyhow::anyhow!("--fit-seconds must be ≥ 0"))?;
    let l = &mut opts.ladder;
    l.core_min_purchases = a.core_min_purchases.unwrap_or(l.core_min_purchases);
    l.at_risk_gaps = a.at_risk_gaps.unwrap_or(l.at_risk_gaps);
    l.defected_gaps = a.defected_gaps.unwrap_or(l.defected_gaps);
    l.p_alive_at_risk = a.p_alive_at_risk.unwrap_or(l.p_alive_at_risk);
    l.p_alive_defected = a.p_alive_defected.unwrap_or(l.p_alive_defected);
    l.one_time_at_risk_after = a.one_time_at_risk_after.unwrap_or(l.one_time_at_risk_after);
    l.one_time_defected_after = a.one_time_defected_after.unwrap_or(l.one_time_defected_after);
    let spinner = StepSpinner::start();
    opts.progress = spinner.progress();
    let r = app.analyze(&opts);
    spinner.finish();
    let r = r?;
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
            "model_note": r.model_note, "tiers_by": r.tiers_by,
            "spend_params": r.spend_params.as_deref().map(kv), "spend_note": r.spend_note,
            "stages": r.stages.iter().map(|(s, n)| ((*s).to_string(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
            "tiers": r.tiers.iter().map(|(t, n, share)| serde_json::json!({"tier": t, "customers": n, "share_of_value": share})).collect::<Vec<_>>(),
            "attempts": r.attempts.iter().map(|a| serde_json::json!({
                "model": a.model, "outcome": a.outcome.name(), "log_likelihood": a.log_likelihood,
                "iterations": a.iterations, "seconds": a.seconds, "reason": a.reason,
            })).collect::<Vec<_>>(),
            "wallets": r.wallets, "backfilled_months": r.backfilled_months,
            "left_out": r.left_out.iter().map(|(c, figure)| serde_json::json!({
                "customer_id": c.to_string(), "figure": figure, "reason": kesher_app::analyze::left_out_reason(figure),
            })).collect::<Vec<_>>(),
            "segments": match &r.segments {
                Ok(s) => serde_json::to_value(s)?,
                Err(e) => serde_json::json!({ "error": e }),
            },
            "seconds": total,
        });
        println!("{doc}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "analysed {} customers ({} buyers, {} sales) as of {as_of} in {total:.2} s",
        r.customers, r.buyers, r.transactions
    );
    if let Some(note) = &r.model_note {
        eprintln!("warning: {note}");
    }
    match &r.segments {
        Ok(s) if !s.segments.is_empty() || !s.ended.is_empty() => {
            let (entered, left) = s
                .segments
                .iter()
                .chain(&s.ended)
                .fold((0, 0), |(e, l), x| (e + x.entered, l + x.left));
            println!(
                "saved segments refreshed: {} ({entered} entered, {left} left)",
                s.segments.len()
            );
        }
        Ok(_) => {}
        Err(e) => eprintln!("warning: the saved segments were not refreshed: {e}"),
    }
    for (c, figure) in &r.left_out {
        eprintln!(
            "warning: customer {c}: {}",
            kesher_app::analyze::left_out_reason(figure)
        );
    }
    for a in &r.attempts {
        let ll = a
            .log_likelihood
            .map(|v| format!(", log-likelihood {v:.1}"))
            .unwrap_or_default();
        eprintln!(
            "fit {}: {} after {} iterations in {:.2} s{ll}",
            a.model,
            a.outcome.name().replace('_', " "),
            a.iterations,
            a.seconds
        );
    }
    let params: Vec<String> = r.params.iter().map(|(k, v)| format!("{k}={v:.4}")).collect();
    match r.log_likelihood {
        Some(ll) => println!("{}: {} (log-likelihood {ll:.1})", r.model, params.join(" ")),
        None => println!("purchase model: none could be fitted"),
    }
    if let Some(sp) = &r.spend_params {
        let sp: Vec<String> = sp.iter().map(|(k, v)| format!("{k}={v:.4}")).collect();
        println!("gamma-gamma: {}", sp.join(" "));
    }
    if let Some(note) = &r.spend_note {
        eprintln!("note: {note}");
    }
    println!("lifecycle ladder:");
    for (s, n) in &r.stages {
        println!("  {s:<11} {n:>9}");
    }
    println!(
        "value tiers by {}:",
        if r.tiers_by == "clv" { "CLV" } else { "past revenue" }
    );
    for (t, n, share) in &r.tiers {
        println!("  {t:<7} {n:>9} customers  {:>5.1}% of value", share * 100.0);
    }
    println!("share of wallet known for {} customers", r.wallets);
    if a.backfill_history {
        println!("stage history backfilled for {} past months", r.backfilled_months);
    }
    let steps: Vec<String> = r.timings.iter().map(|(s, t)| format!("{s} {t:.2}s")).collect();
    eprintln!("timings: {}", steps.join(", "));
    Ok(ExitCode::SUCCESS)
}

/// A spinner on stderr for any analyze step that runs longer than a second (only on a
/// terminal): a watcher thread polls the current step every 100 ms.
struct StepSpinner {
    state: Arc<Mutex<SpinnerState>>,
    watcher: Option<std::thread::JoinHandle<()>>,
}

struct SpinnerState {
    step: &'static str,
    since: Instant,
    done: bool,
}

impl StepSpinner {
    fn start() -> StepSpinner {
        let state = Arc::new(Mutex::new(SpinnerState {
            step: "starting",
            since: Instant::now(),
            done: false,
        }));
        let watcher = std::io::stderr().is_terminal().then(|| {
            let state = Arc::clone(&state);
            std::thread::spawn(move || {
                let mut bar: Option<ProgressBar> = None;
                loop {
                    std::thread::sleep(Duration::from_millis(100));
                    let Ok(s) = state.lock() else { break };
                    if s.done {
                        break;
                    }
                    let elapsed = s.since.elapsed();
                    if elapsed >= Duration::from_secs(1) {
                        let b = bar.get_or_insert_with(|| {
                            let b = ProgressBar::new_spinner();
                            b.set_style(
                                ProgressStyle::with_template("{spinner} {msg}")
                                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                            );
                            b
                        });
                        b.set_message(format!("{} ({:.0} s)", s.step, elapsed.as_secs_f64()));
                        b.tick();
                    } else if let Some(b) = &bar {
                        b.set_message(s.step);
                    }
                }
                if let Some(b) = bar {
                    b.finish_and_clear();
                }
            })
        });
        StepSpinner { state, watcher }
    }

    fn progress(&self) -> Progress {
        let state = Arc::clone(&self.state);
        Progress::new(move |step| {
            if let Ok(mut s) = state.lock() {
                s.step = step;
                s.since = Instant::now();
            }
        })
    }

    fn finish(mut self) {
        if let Ok(mut s) = self.state.lock() {
            s.done = true;
        }
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
    }
}
