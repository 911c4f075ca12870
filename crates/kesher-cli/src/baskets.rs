//! `kesher baskets`: mine a file directly (`mine`), or the database's sales (`rules`).

use anyhow::Context;
use clap::{Args, Subcommand};
use kesher_app::Settings;
use kesher_app::baskets::Level;
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
        /// Show this many rules (without --json).
        #[arg(long, default_value_t = 30)]
        top: usize,
        #[command(flatten)]
        t: Thresholds,
    },
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
        BasketsCommand::Rules { level, branch, top, t } => {
            let app = crate::open(db, settings)?;
            let level = Level::parse(&level).context("level")?;
            let result = app.basket_rules(level, branch.as_deref(), &t.params())?;
            print(&result, t.json, top);
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
