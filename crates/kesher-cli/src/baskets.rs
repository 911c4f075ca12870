//! `kesher baskets`: mine a file directly (`mine`), or the database's sales (`rules`).

use anyhow::Context;
use clap::{Args, Subcommand};
use kesher_app::Settings;
use kesher_app::baskets::{Level, Scope};
use kesher_baskets::{InputFormat, MineParams, MineResult};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct Thresholds {
    /// Minimum support of an itemset (share of baskets, 0 to 1).
    #[arg(long)]
    min_support: f64,
    /// Minimum confidence of a rule [default: 0.8].
    #[arg(long)]
    min_confidence: Option<f64>,
    /// Minimum lift of a rule.
    #[arg(long)]
    min_lift: Option<f64>,
    /// Longest itemset.
    #[arg(long)]
    max_len: Option<usize>,
    /// Leave this item out (repeatable).
    #[arg(long)]
    exclude: Vec<String>,
    /// Print the whole result as JSON.
    #[arg(long)]
    json: bool,
}

impl Thresholds {
    fn params(&self) -> MineParams {
        let mut p = MineParams::new(self.min_support);
        if let Some(c) = self.min_confidence {
            p.min_confidence = c;
        }
        p.min_lift = self.min_lift;
        p.max_len = self.max_len;
        p.exclude = self.exclude.clone();
        p
    }
}

#[derive(Subcommand)]
pub enum BasketsCommand {
    /// Mine a file without a database: FIMI (one basket a line) or kesher's transactions CSV.
    Mine {
        #[arg(long)]
        input: PathBuf,
        #[arg(long, default_value = "fimi", value_parser = ["fimi", "csv"])]
        format: String,
        #[command(flatten)]
        t: Thresholds,
    },
    /// Mine the database's sales at the product or category level, for all branches or one.
    Rules {
        #[arg(long, default_value = "product", value_parser = ["product", "category"])]
        level: String,
        /// External id of one branch.
        #[arg(long)]
        branch: Option<String>,
        #[command(flatten)]
        period: Period,
        /// Show this many rules (without --json).
        #[arg(long, default_value_t = 30)]
        top: usize,
        #[command(flatten)]
        t: Thresholds,
    },
    /// Cross-sell report: per rule, the customers with its antecedents but not its consequents,
    /// and the revenue expected if its confidence held for them.
    CrossSell {
        #[arg(long, default_value = "product", value_parser = ["product", "category"])]
        level: String,
        /// External id of one branch.
        #[arg(long)]
        branch: Option<String>,
        #[command(flatten)]
        period: Period,
        #[arg(long, default_value_t = 30)]
        top: usize,
        /// Every branch at once, each branch's rules grouped by the category of what they offer
        /// (then --top is the number of rules per group).
        #[arg(long, conflicts_with = "branch")]
        by_branch: bool,
        #[command(flatten)]
        t: Thresholds,
    },
}

/// The period of sales to mine.
#[derive(Args)]
pub struct Period {
    /// Sales on or after this date (YYYY-MM-DD, UTC).
    #[arg(long)]
    since: Option<jiff::civil::Date>,
    /// Sales before this date.
    #[arg(long)]
    until: Option<jiff::civil::Date>,
    /// Only the sales of a segment's members: a saved segment's name or an expression
    /// (docs/segments.md).
    #[arg(long)]
    segment: Option<String>,
}

fn scope(app: &kesher_app::App, branch: Option<String>, p: &Period) -> anyhow::Result<Scope> {
    let at = |d: jiff::civil::Date| d.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp());
    let customers = match p.segment.as_deref() {
        Some(s) => Some(app.segment_members(&app.resolve_segment(s).context("--segment")?)?),
        None => None,
    };
    Ok(Scope {
        branch,
        since: p.since.map(at).transpose()?,
        until: p.until.map(at).transpose()?,
        customers,
    })
}

pub fn run(db: &Path, settings: Settings, c: BasketsCommand) -> anyhow::Result<ExitCode> {
    match c {
        BasketsCommand::Mine { input, format, t } => {
            let f = std::fs::File::open(&input).with_context(|| format!("opening {}", input.display()))?;
            let fmt: InputFormat = format.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            let baskets = kesher_baskets::read_baskets(std::io::BufReader::with_capacity(1 << 20, f), fmt)
                .with_context(|| format!("reading {}", input.display()))?;
            let result = kesher_baskets::mine(&baskets, &t.params())?;
            print(&result, t.json, 30);
        }
        BasketsCommand::Rules {
            level,
            branch,
            period,
            top,
            t,
        } => {
            let app = crate::open(db, settings)?;
            let level = Level::parse(&level).context("level")?;
            let result = app.basket_rules(level, &scope(&app, branch, &period)?, &t.params())?;
            print(&result, t.json, top);
        }
        BasketsCommand::CrossSell {
            level,
            branch,
            period,
            top,
            by_branch,
            t,
        } => {
            let app = crate::open(db, settings)?;
            let level = Level::parse(&level).context("level")?;
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            if by_branch {
                let groups =
                    app.cross_sell_by_branch_and_category(level, &scope(&app, None, &period)?, &t.params(), top)?;
                if t.json {
                    let doc: Vec<serde_json::Value> = groups
                        .iter()
                        .map(|g| {
                            serde_json::json!({"branch": g.branch, "branch_name": g.branch_name, "category": g.category,
                                "expected_incremental_minor": g.expected_incremental_minor,
                                "rules": g.rows.iter().map(|r| serde_json::json!({"antecedents": r.antecedents,
                                    "consequents": r.consequents, "confidence": r.confidence, "lift": r.lift,
                                    "with_antecedents": r.with_antecedents, "missing_consequents": r.missing_consequents,
                                    "expected_incremental_minor": r.expected_incremental_minor})).collect::<Vec<_>>()})
                        })
                        .collect();
                    let _ = writeln!(out, "{}", serde_json::Value::Array(doc));
                } else {
                    for g in &groups {
                        let _ = writeln!(
                            out,
                            "{} ({}) / {}: expected {} (minor units)",
                            g.branch, g.branch_name, g.category, g.expected_incremental_minor
                        );
                        for r in &g.rows {
                            let _ = writeln!(
                                out,
                                "    {:<36} -> {:<20} conf {:.3} lift {:.2} lack it {} expected {}",
                                r.antecedents.join(" + "),
                                r.consequents.join(" + "),
                                r.confidence,
                                r.lift,
                                r.missing_consequents,
                                r.expected_incremental_minor
                            );
                        }
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
            let rows = app.cross_sell(level, &scope(&app, branch, &period)?, &t.params())?;
            if t.json {
                let doc: Vec<serde_json::Value> = rows
                    .iter()
                    .take(top)
                    .map(|r| {
                        serde_json::json!({"antecedents": r.antecedents, "consequents": r.consequents, "confidence": r.confidence,
                            "lift": r.lift, "with_antecedents": r.with_antecedents, "missing_consequents": r.missing_consequents,
                            "expected_incremental_minor": r.expected_incremental_minor})
                    })
                    .collect();
                let _ = writeln!(out, "{}", serde_json::Value::Array(doc));
            } else {
                let _ = writeln!(
                    out,
                    "{:<36} {:<20} {:>6} {:>6} {:>9} {:>9} {:>14}",
                    "if bought", "offer", "conf", "lift", "have it", "lack it", "expected (minor)"
                );
                for r in rows.iter().take(top) {
                    let _ = writeln!(
                        out,
                        "{:<36} {:<20} {:>6.3} {:>6.2} {:>9} {:>9} {:>14}",
                        r.antecedents.join(" + "),
                        r.consequents.join(" + "),
                        r.confidence,
                        r.lift,
                        r.with_antecedents,
                        r.missing_consequents,
                        r.expected_incremental_minor
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print(r: &MineResult, json: bool, top: usize) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) ends the output quietly.
    if json {
        let _ = writeln!(out, "{}", kesher_baskets::to_json(r));
        return;
    }
    let names = |ids: &[u32]| ids.iter().map(|i| r.item_name(*i)).collect::<Vec<_>>().join(" + ");
    let _ = writeln!(
        out,
        "{} baskets, {} frequent itemsets, {} rules",
        r.baskets,
        r.itemsets.len(),
        r.rules.len()
    );
    let _ = writeln!(
        out,
        "{:<40} {:<24} {:>8} {:>10} {:>7} {:>10}",
        "if bought", "then also", "support", "confidence", "lift", "conviction"
    );
    for rule in r.rules.iter().take(top) {
        let _ = writeln!(
            out,
            "{:<40} {:<24} {:>8.4} {:>10.3} {:>7.2} {:>10.2}",
            names(&rule.antecedents),
            names(&rule.consequents),
            rule.support,
            rule.confidence,
            rule.lift,
            rule.conviction
        );
    }
}
