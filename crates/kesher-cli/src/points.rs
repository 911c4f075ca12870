//! `kesher points`: a customer's balance and history, redemptions and adjustments, the earning
//! rule, and awarding points to sales recorded without them.

use crate::accounts::cli_actor;
use crate::customers::resolve;
use anyhow::{Context, bail};
use clap::Subcommand;
use kesher_app::App;
use kesher_core::Currency;
use kesher_loyalty::{EarnRate, EarningRule};
use kesher_store::PointsRequest;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum PointsCommand {
    /// A customer's balance (id, member number, phone, e-mail or card).
    Balance { who: String },
    /// A customer's ledger, newest first.
    History {
        who: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Correct a customer's points (either sign), with a reason; audited.
    Adjust {
        who: String,
        /// Points to add, or to take away when negative (`--points=-20`).
        #[arg(long, allow_hyphen_values = true)]
        points: i64,
        #[arg(long)]
        reason: String,
        /// Makes a retried command harmless.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Spend a customer's points; audited.
    Redeem {
        who: String,
        #[arg(long)]
        points: i64,
        /// Required: a retry with the same key redeems nothing more.
        #[arg(long)]
        idempotency_key: String,
        #[arg(long)]
        reason: Option<String>,
        /// The branch (external id) the points are spent at.
        #[arg(long)]
        branch: Option<String>,
    },
    /// Show the earning rule, or set one currency's rate: `kesher points rule ILS 1` (one point
    /// per whole shekel), `--per-minor 1000` for one per ten shekels, `0` to stop earning.
    Rule {
        currency: Option<String>,
        points: Option<i64>,
        #[arg(long)]
        per_minor: Option<i64>,
    },
    /// Earn points for every sale of a customer that has not earned yet (e.g. after importing
    /// without `--award-points`), and take back for their refunds; one transaction.
    Award {
        /// Only sales at or after this instant (RFC 3339, e.g. 2025-01-01T00:00:00Z).
        #[arg(long)]
        since: Option<String>,
    },
}

fn show_rule(rule: &EarningRule) {
    if rule.is_empty() {
        println!("no earning rule: sales earn no points");
    }
    for (c, r) in rule.rates() {
        println!("{c}: {} points per {} {c}", r.points(), c.format_amount(r.per_minor()));
    }
}

pub fn run(app: &App, c: PointsCommand) -> anyhow::Result<ExitCode> {
    match c {
        PointsCommand::Balance { who } => {
            let id = resolve(app, &who)?;
            println!("{id}: {} points", app.points_balance(id)?);
        }
        PointsCommand::History { who, limit, json } => {
            let id = resolve(app, &who)?;
            let page = app.points_ledger(id, limit.clamp(1, 500), 0)?;
            for e in &page.items {
                if json {
                    let v = serde_json::json!({
                        "seq": e.seq, "kind": e.kind.as_str(), "points": e.points, "balance_after": e.balance_after,
                        "reason": e.reason, "idempotency_key": e.idempotency_key,
                        "transaction_id": e.transaction_id.map(|t| t.to_string()),
                        "branch_id": e.branch_id.map(|b| b.to_string()), "actor": e.actor, "at": e.at.to_string(),
                    });
                    println!("{v}");
                } else {
                    println!(
                        "{}  {:<7} {:>+8}  balance {:>8}  {}  {}",
                        e.at,
                        e.kind.as_str(),
                        e.points,
                        e.balance_after,
                        e.actor,
                        e.reason.as_deref().unwrap_or("")
                    );
                }
            }
            if !json {
                println!(
                    "{} of {} entries; balance {}",
                    page.items.len(),
                    page.total,
                    app.points_balance(id)?
                );
            }
        }
        PointsCommand::Adjust {
            who,
            points,
            reason,
            idempotency_key,
        } => {
            let id = resolve(app, &who)?;
            let req = PointsRequest {
                points,
                reason: Some(reason),
                idempotency_key,
                branch_id: None,
            };
            let r = app.adjust_points(id, &req, &cli_actor(app))?;
            let done = if r.created {
                "adjusted"
            } else {
                "already adjusted (same key)"
            };
            println!("{id}: {done} {:+}; balance {}", r.value.points, r.value.balance_after);
        }
        PointsCommand::Redeem {
            who,
            points,
            idempotency_key,
            reason,
            branch,
        } => {
            let id = resolve(app, &who)?;
            let branch_id = match branch {
                Some(b) => Some(
                    app.branch_by_external(&b)?
                        .with_context(|| format!("no branch {b:?}"))?
                        .id,
                ),
                None => None,
            };
            let req = PointsRequest {
                points,
                reason,
                idempotency_key: Some(idempotency_key),
                branch_id,
            };
            let r = app.redeem_points(id, &req, &cli_actor(app))?;
            let done = if r.created {
                "redeemed"
            } else {
                "already redeemed (same key)"
            };
            println!("{id}: {done} {}; balance {}", -r.value.points, r.value.balance_after);
        }
        PointsCommand::Rule {
            currency,
            points,
            per_minor,
        } => {
            let mut rule = app.earning_rule()?;
            match (currency, points) {
                (None, None) => {}
                (Some(c), Some(p)) => {
                    let cur = Currency::parse(&c).map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.reason))?;
                    let rate = match per_minor {
                        Some(per) => EarnRate::new(p, per),
                        None => EarnRate::per_whole_unit(cur, p),
                    }
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                    rule.set(cur, (p > 0).then_some(rate));
                    app.set_earning_rule(&rule, &cli_actor(app))?;
                }
                _ => bail!("give a currency and its points, or nothing to show the rule"),
            }
            show_rule(&rule);
        }
        PointsCommand::Award { since } => {
            let since = since
                .map(|s| s.parse::<jiff::Timestamp>().with_context(|| format!("--since {s:?}")))
                .transpose()?;
            let r = app.award_points(since, &cli_actor(app))?;
            println!(
                "{} sales earned, {} refunds reversed: {:+} points",
                r.earned, r.reversed, r.points
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
