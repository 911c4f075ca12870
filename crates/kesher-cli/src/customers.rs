//! `kesher customers`: find likely duplicates, merge two records, show one.

use anyhow::{Context, bail};
use clap::Subcommand;
use kesher_app::App;
use kesher_core::{CustomerId, Email, Phone};
use kesher_store::Identifier;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum CustomersCommand {
    /// List likely duplicate pairs with a score and the reason, best first.
    Duplicates {
        /// Only pairs scoring at least this (0 to 1).
        #[arg(long, default_value_t = 0.7)]
        min_score: f64,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Merge DROP into KEEP: transactions, interactions, identifiers move; DROP is removed (audited).
    Merge {
        /// Customer id, member number, phone, e-mail or card of the record to keep.
        keep: String,
        /// ... and of the record to merge into it.
        drop: String,
    },
    /// Show one customer (id, member number, phone, e-mail or card) as JSON.
    Show { who: String },
    /// Everything held about one customer, as JSON (the right of access); audited.
    Export {
        who: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Erase one customer's personal data (the right to be forgotten); transactions stay, anonymised.
    Erase {
        who: String,
        /// Confirm: erasure cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(app: &App, c: CustomersCommand) -> anyhow::Result<ExitCode> {
    match c {
        CustomersCommand::Duplicates { min_score, limit, json } => {
            let pairs = app.duplicates(min_score)?;
            for p in pairs.iter().take(limit) {
                let a = app.get_customer(p.a)?;
                let b = app.get_customer(p.b)?;
                let label = |c: &Option<kesher_core::Customer>| {
                    c.as_ref()
                        .map(|c| {
                            format!(
                                "{} {}",
                                c.member_no.as_deref().unwrap_or("-"),
                                c.name.as_deref().unwrap_or("")
                            )
                        })
                        .unwrap_or_default()
                };
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"a": p.a.to_string(), "b": p.b.to_string(), "score": p.score, "reasons": p.reasons,
                            "a_label": label(&a), "b_label": label(&b)})
                    );
                } else {
                    println!(
                        "{:.3}\t{}\t{}\t{}\t[{}] / [{}]",
                        p.score,
                        p.a,
                        p.b,
                        p.reasons.join("; "),
                        label(&a),
                        label(&b)
                    );
                }
            }
            eprintln!(
                "{} likely duplicate pairs (showing {})",
                pairs.len(),
                pairs.len().min(limit)
            );
            Ok(ExitCode::SUCCESS)
        }
        CustomersCommand::Merge { keep, drop } => {
            let k = resolve(app, &keep)?;
            let d = resolve(app, &drop)?;
            let r = app.merge_customers(k, d, &crate::accounts::cli_actor(app))?;
            println!(
                "merged {} into {}: {} transactions, {} interactions, {} child accounts moved; identifiers kept as aliases: {}",
                r.dropped_id,
                r.kept.id,
                r.transactions_moved,
                r.interactions_moved,
                r.children_moved,
                if r.identifiers_moved.is_empty() {
                    "none".to_string()
                } else {
                    r.identifiers_moved.join(", ")
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        CustomersCommand::Export { who, out } => {
            let id = resolve(app, &who)?;
            let doc = app.export_customer(id, &crate::accounts::cli_actor(app))?;
            let text = serde_json::to_string_pretty(&doc)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("exported customer {id} to {}", path.display());
                }
                None => println!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        CustomersCommand::Erase { who, yes } => {
            if !yes {
                bail!("erasure cannot be undone: add --yes to erase {who}");
            }
            let id = resolve(app, &who)?;
            let r = app.erase_customer(id, &crate::accounts::cli_actor(app))?;
            println!(
                "erased customer {id}: identifiers and free text removed ({} contact notes cleared, {} aliases, {} consent events, {} audit entries redacted); transactions kept anonymised",
                r.interactions_cleared, r.aliases_removed, r.consent_events_removed, r.audit_entries_redacted
            );
            Ok(ExitCode::SUCCESS)
        }
        CustomersCommand::Show { who } => {
            let id = resolve(app, &who)?;
            let c = app.get_customer(id)?.context("customer vanished")?;
            let mut v = serde_json::json!({
                "id": c.id.to_string(), "member_no": c.member_no, "kind": c.kind.as_str(), "name": c.name,
                "phone": c.phone.map(|p| p.to_string()), "email": c.email.map(|e| e.to_string()), "card": c.card,
                "language": c.language, "created_at": c.created_at.to_string(),
            });
            // The latest analysis, when `kesher analyze` has run.
            if let Some(s) = app.customer_score(id)? {
                v["score"] = serde_json::json!({
                    "as_of": s.as_of.to_string(), "stage": s.stage, "p_alive": s.p_alive,
                    "expected_purchases": s.expected_purchases, "clv_minor": s.clv, "rfm": s.rfm,
                    "segment": s.segment, "tier": s.tier, "wallet_minor": s.wallet,
                    "share_of_wallet": s.share_of_wallet,
                });
            }
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A customer by id, or by member number, phone, e-mail or card.
pub fn resolve(app: &App, who: &str) -> anyhow::Result<CustomerId> {
    if let Ok(id) = who.parse::<CustomerId>() {
        if app.get_customer(id)?.is_some() {
            return Ok(id);
        }
        if let Some(k) = app.merged_into(id)? {
            bail!("customer {id} was already merged into {k}");
        }
        bail!("no customer {id}");
    }
    let mut tries = vec![Identifier::Member(who.to_string()), Identifier::Card(who.to_string())];
    if let Ok(p) = Phone::parse(who, app.settings.default_country) {
        tries.push(Identifier::Phone(p));
    }
    if let Ok(e) = Email::parse(who) {
        tries.push(Identifier::Email(e));
    }
    for t in tries {
        if let Some(c) = app.lookup_customer(&t)? {
            return Ok(c.id);
        }
    }
    bail!("no customer with id, member number, card, phone or e-mail {who:?}")
}
