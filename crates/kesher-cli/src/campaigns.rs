//! `kesher campaigns …`: create a campaign from its JSON definition, list, show, preview a
//! customer's message, launch, pause, deliver the outbox, the recurring campaigns' run of the day,
//! the report, and the sample-size plan
//! (docs/campaigns.md).

use crate::accounts::cli_actor;
use anyhow::Context;
use clap::Subcommand;
use kesher_app::App;
use kesher_core::CampaignId;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum CampaignsCommand {
    /// Create a campaign (a draft) from its JSON definition file.
    Create { file: PathBuf },
    /// List the campaigns, the newest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// A campaign: its state, definition and outbox counts.
    Show { id: CampaignId },
    /// The message a customer (member number, phone, e-mail or id) would get.
    Preview {
        id: CampaignId,
        #[arg(long)]
        customer: String,
        /// A variant's texts (0 for the first).
        #[arg(long)]
        variant: Option<usize>,
    },
    /// Launch (or resume) a campaign: the control group drawn, every message written to the outbox.
    Launch { id: CampaignId },
    /// Pause a launched campaign: its queued messages wait.
    Pause { id: CampaignId },
    /// Deliver the due messages of launched campaigns now (what the campaigns.deliver job does).
    Deliver {
        #[arg(long, default_value_t = 1_000)]
        limit: usize,
    },
    /// Write the day's greetings of launched recurring campaigns (birthday, membership
    /// anniversary): what the daily campaigns.recurring job does. Once per customer and year,
    /// however often it runs.
    RunRecurring {
        /// The local day greeted (YYYY-MM-DD; today in the business's time zone by default). A
        /// past day is a catch-up: its greetings go at once.
        #[arg(long)]
        as_of: Option<jiff::civil::Date>,
    },
    /// The campaign's measured effect against its control group.
    Report {
        id: CampaignId,
        #[arg(long)]
        json: bool,
    },
    /// The campaigns' prices: show them, or set them (decimal amounts in the currency).
    Costs {
        /// ISO 4217 code of the prices (required when setting).
        #[arg(long)]
        currency: Option<String>,
        /// Price of 1,000 e-mails.
        #[arg(long)]
        email: Option<String>,
        /// Price of 1,000 text messages.
        #[arg(long)]
        sms: Option<String>,
        /// Price of 1,000 messages on the log channel (what they stand for: the demo's are e-mails).
        #[arg(long)]
        log: Option<String>,
        /// What winning one new customer costs.
        #[arg(long)]
        acquisition: Option<String>,
    },
    /// What each launched campaign cost per customer it kept, beside winning a new one.
    Economics {
        #[arg(long)]
        json: bool,
    },
    /// The address the SMS provider posts customers' replies to (an opt-out word such as STOP,
    /// הסר or لغو withdraws the SMS consent): `KESHER_PUBLIC_URL` + `/api/sms/replies?key=…`.
    SmsReplies,
    /// A customer's reply to an SMS, as the provider would pass it on (an opt-out word withdraws
    /// the SMS consent of the customer holding the number).
    SmsReply {
        /// The number it came from.
        #[arg(long)]
        from: String,
        /// What the customer wrote.
        #[arg(long)]
        text: String,
    },
    /// Customers per group to detect a lift of the response rate (α 0.05, power 0.8).
    Plan {
        #[arg(long)]
        baseline: f64,
        #[arg(long)]
        lift: f64,
    },
}

pub fn run(app: &App, c: CampaignsCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match c {
        CampaignsCommand::Create { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let row = app.create_campaign(&text, &cli_actor(app))?;
            writeln!(out, "{}", row.id)?;
        }
        CampaignsCommand::List { json } => {
            let rows = app.list_campaigns()?;
            if json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|r| {
                        json!({"id": r.id.to_string(), "name": r.name, "state": r.state.as_str(),
                               "created_at": r.created_at.to_string(),
                               "launched_at": r.launched_at.map(|t| t.to_string())})
                    })
                    .collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
            } else {
                for r in rows {
                    writeln!(out, "{}  {:<9} {}", r.id, r.state.as_str(), r.name)?;
                }
            }
        }
        CampaignsCommand::Show { id } => {
            let v = app.campaign(id)?;
            let counts: Vec<_> = v
                .counts
                .rows
                .iter()
                .map(|(s, reason, n)| json!({"state": s.as_str(), "reason": reason, "count": n}))
                .collect();
            let definition: serde_json::Value =
                serde_json::from_str(&v.row.definition).unwrap_or(serde_json::Value::Null);
            let doc = json!({"id": v.row.id.to_string(), "name": v.row.name, "state": v.row.state.as_str(),
                "seed": v.row.seed.to_string(), "created_by": v.row.created_by,
                "created_at": v.row.created_at.to_string(), "launched_at": v.row.launched_at.map(|t| t.to_string()),
                "outbox": counts, "definition": definition});
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        CampaignsCommand::Preview { id, customer, variant } => {
            let who = crate::customers::resolve(app, &customer)?;
            let p = app.preview_campaign(id, who, variant)?;
            let doc = json!({"customer_id": p.customer_id.to_string(),
                "channel": p.channel.map(|c| c.as_str()).unwrap_or("none"),
                "suppressed": p.channel.err().map(|s| s.as_str()),
                "language": p.language, "subject": p.subject, "body": p.body, "sms": p.sms,
                "sms_segments": p.sms_segments});
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        CampaignsCommand::Launch { id } => {
            let r = app.launch_campaign(id, &cli_actor(app))?;
            let doc = json!({"audience": r.audience, "written": r.written, "queued": r.queued,
                "waiting": r.waiting, "control": r.control, "suppressed": r.suppressed});
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        CampaignsCommand::Pause { id } => {
            let r = app.pause_campaign(id, &cli_actor(app))?;
            writeln!(out, "{} {}", r.id, r.state.as_str())?;
        }
        CampaignsCommand::Deliver { limit } => {
            let r = app.deliver_campaign_messages(&app.campaign_senders()?, limit)?;
            writeln!(out, "{}", serde_json::to_string_pretty(&r)?)?;
        }
        CampaignsCommand::RunRecurring { as_of } => {
            let r = app.run_recurring_campaigns(as_of, &cli_actor(app))?;
            writeln!(out, "{}", serde_json::to_string_pretty(&r)?)?;
        }
        CampaignsCommand::Report { id, json } => {
            let r = app.campaign_report(id)?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&r)?)?;
            } else {
                writeln!(
                    out,
                    "sent {}  control {}  queued {}  failed {}",
                    r.sent, r.control, r.queued, r.failed
                )?;
                for (reason, n) in &r.suppressed {
                    writeln!(out, "suppressed {reason}: {n}")?;
                }
                if r.possible_duplicates > 0 {
                    writeln!(
                        out,
                        "possible duplicates: {} (sent again after a sender stopped unrecorded; same Message-ID)",
                        r.possible_duplicates
                    )?;
                }
                writeln!(
                    out,
                    "recipients: {} customers, {} responded, {:.2} per customer",
                    r.recipients.customers, r.recipients.responders, r.recipients.revenue_per_customer
                )?;
                writeln!(
                    out,
                    "control:    {} customers, {} responded, {:.2} per customer",
                    r.control_group.customers, r.control_group.responders, r.control_group.revenue_per_customer
                )?;
                writeln!(out, "response: {}", r.response)?;
                writeln!(out, "revenue: {}", r.revenue)?;
                writeln!(out, "projection: {}", r.projection)?;
                if !r.complete {
                    writeln!(
                        out,
                        "(the attribution window of {} days has not ended)",
                        r.attribution_days
                    )?;
                }
            }
        }
        CampaignsCommand::Costs {
            currency,
            email,
            sms,
            log,
            acquisition,
        } => {
            let setting =
                email.is_some() || sms.is_some() || log.is_some() || acquisition.is_some() || currency.is_some();
            let costs = if setting {
                let mut per_thousand = std::collections::BTreeMap::new();
                for (channel, price) in [("email", email), ("sms", sms), ("log", log)] {
                    if let Some(p) = price {
                        per_thousand.insert(channel.to_string(), p);
                    }
                }
                let text = kesher_app::campaigns::economics::CostsText {
                    currency: currency.context("--currency is needed to set the prices")?,
                    per_thousand,
                    acquisition,
                };
                Some(app.set_campaign_costs(&serde_json::to_string(&text)?, &cli_actor(app))?)
            } else {
                app.campaign_costs()?
            };
            match costs {
                Some(c) => writeln!(out, "{}", serde_json::to_string_pretty(&c.text)?)?,
                None => writeln!(
                    out,
                    "no prices set (kesher campaigns costs --currency ILS --email 2.00 --sms 80.00 --acquisition 45.00)"
                )?,
            }
        }
        CampaignsCommand::Economics { json } => {
            let r = app.campaign_economics()?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&r)?)?;
            } else {
                let currency = kesher_core::Currency::parse(&r.currency)?;
                let money = |minor: f64| format!("{} {}", currency.format_amount(minor.round() as i64), r.currency);
                for row in &r.economics.rows {
                    let kept = row.kept.map_or("-".to_string(), |k| format!("{k:.0}"));
                    let per = row
                        .cost_per_kept
                        .map_or_else(|| row.note.unwrap_or("-").to_string(), money);
                    writeln!(
                        out,
                        "{:<32} cost {:>14}  kept {:>7}  per customer kept {per}",
                        row.name,
                        money(row.cost as f64),
                        kept
                    )?;
                }
                if let Some(p) = r.economics.cost_per_kept {
                    writeln!(out, "all campaigns: {} per customer kept", money(p))?;
                }
                if let (Some(a), Some(ratio)) = (r.economics.acquisition, r.economics.acquisition_ratio) {
                    writeln!(
                        out,
                        "winning a new customer costs {}: keeping one was {ratio:.1} times cheaper",
                        money(a as f64)
                    )?;
                }
                if let Some(best) = &r.economics.best {
                    writeln!(
                        out,
                        "the next unit of campaign money keeps the most customers in: {best}"
                    )?;
                }
            }
        }
        CampaignsCommand::SmsReplies => {
            let public = std::env::var("KESHER_PUBLIC_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
            writeln!(
                out,
                "{}/api/sms/replies?key={}",
                public.trim_end_matches('/'),
                app.sms_reply_key()?
            )?;
        }
        CampaignsCommand::SmsReply { from, text } => {
            let r = app.sms_reply(&from, &text, "cli")?;
            let said = match (r.opt_out, r.known, r.withdrawn) {
                (false, _, _) => "not an opt-out word: nothing changed",
                (true, false, _) => "an opt-out word, from a number no customer holds: nothing changed",
                (true, true, false) => "an opt-out word; the customer's SMS consent was already withdrawn",
                (true, true, true) => "an opt-out word: the customer's SMS consent is withdrawn",
            };
            writeln!(out, "{said}")?;
        }
        CampaignsCommand::Plan { baseline, lift } => {
            let n = kesher_campaign::stats::sample_size(baseline, lift, 0.05, 0.8)?;
            writeln!(out, "{n} customers per group")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
