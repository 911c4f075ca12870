//! `kesher loyalty`: the program's definition, enrolment and leaving, the members, a customer's
//! wallet, the end-of-period tier review, and the design of a program from the business's data.

use crate::accounts::cli_actor;
use crate::customers::resolve;
use anyhow::{Context, bail};
use clap::Subcommand;
use kesher_app::App;
use kesher_app::loyalty::Enrolment;
use kesher_loyalty::{Member, MemberStatus};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum LoyaltyCommand {
    /// The program: `show` prints its definition, `set FILE` replaces it (JSON, docs/loyalty.md).
    Program {
        #[command(subcommand)]
        action: ProgramAction,
    },
    /// Enrol a customer (id, member number, phone, e-mail or card): the program's conditions are
    /// checked and the first that fails is named.
    Enrol {
        who: String,
        /// The branch (external id) the enrolment is made at.
        #[arg(long)]
        branch: Option<String>,
        /// The employee (external id) who enrolled the member.
        #[arg(long)]
        employee: Option<String>,
        /// The member who invited this customer.
        #[arg(long)]
        invited_by: Option<String>,
        /// The enrolment fee paid, in the program's currency (e.g. 25.00).
        #[arg(long)]
        fee_paid: Option<String>,
    },
    /// Record that a member left the program.
    Leave {
        who: String,
        #[arg(long)]
        branch: Option<String>,
    },
    /// The members, by customer id.
    Members {
        /// active or left.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        tier: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// A customer's balance, membership, tier and progress to the next tier, and history.
    Wallet { who: String },
    /// Review the tiers of the members whose qualification period has ended (also a scheduled
    /// job): each is placed in the tier their qualifying value reaches, down as well as up.
    ReviewTiers,
    /// Design a program from the sales and product costs: is there enough repeat buying, spend
    /// and visit percentiles, tiers, the benefit rate the margin can carry, and the suggested
    /// program replayed over the last months (docs/loyalty.md).
    Design {
        /// The report as JSON (amounts in minor units).
        #[arg(long)]
        json: bool,
        /// Share of the issued points assumed redeemed, 0 to 1.
        #[arg(long, default_value = "0.6")]
        redemption_rate: String,
        /// Months of history the simulation replays (1 to 120).
        #[arg(long, default_value = "12")]
        months: String,
        /// Share of the gross margin the business gives back, above 0 up to 1.
        #[arg(long, default_value = "0.1")]
        margin_share: String,
        /// What one point is worth when redeemed (default: one minor unit, 0.01 ILS).
        #[arg(long)]
        point_value: Option<String>,
        /// The currency (default: the program's, else the one most sales were made in).
        #[arg(long)]
        currency: Option<String>,
    },
    /// Expire the points of lots older than the program's lifetime, as of a date (start of that
    /// day in the business's time zone) or now; also a scheduled job.
    Expire {
        #[arg(long)]
        as_of: Option<jiff::civil::Date>,
    },
}

#[derive(Subcommand)]
pub enum ProgramAction {
    Show,
    Set { file: std::path::PathBuf },
}

fn member_line(m: &Member) -> String {
    format!(
        "{}  {:<6}  tier {:<10}  quality {:>3}  enrolled {}{}",
        m.customer_id,
        m.status.as_str(),
        m.tier.as_deref().unwrap_or("-"),
        m.quality,
        m.enrolled_at,
        if m.quality_missing.is_empty() {
            String::new()
        } else {
            format!("  missing: {}", m.quality_missing.join(", "))
        }
    )
}

fn member_json(m: &Member) -> serde_json::Value {
    serde_json::json!({
        "customer_id": m.customer_id.to_string(), "status": m.status.as_str(), "tier": m.tier,
        "tier_since": m.tier_since.map(|t| t.to_string()), "tier_review_at": m.tier_review_at.map(|t| t.to_string()),
        "enrolled_at": m.enrolled_at.to_string(), "branch_id": m.branch_id.map(|b| b.to_string()),
        "employee_id": m.employee_id.map(|e| e.to_string()), "quality": m.quality,
        "quality_missing": m.quality_missing, "invited_by": m.invited_by.map(|c| c.to_string()),
        "fee_paid": m.fee_paid, "left_at": m.left_at.map(|t| t.to_string()),
    })
}

fn branch(app: &App, b: Option<String>) -> anyhow::Result<Option<kesher_core::BranchId>> {
    Ok(match b {
        Some(b) => Some(
            app.branch_by_external(&b)?
                .with_context(|| format!("no branch {b:?}"))?
                .id,
        ),
        None => None,
    })
}

pub fn run(app: &App, c: LoyaltyCommand) -> anyhow::Result<ExitCode> {
    match c {
        LoyaltyCommand::Program { action } => match action {
            ProgramAction::Show => match app.loyalty_program()? {
                Some(p) => println!("{}", p.to_json()),
                None => bail!("no loyalty program is set: `kesher loyalty program set FILE`"),
            },
            ProgramAction::Set { file } => {
                let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
                let p = app.set_loyalty_program(&text, &cli_actor(app))?;
                println!(
                    "program {:?} set: {} tiers, currency {}",
                    p.name(),
                    p.tiers().len(),
                    p.currency()
                );
            }
        },
        LoyaltyCommand::Enrol {
            who,
            branch: b,
            employee,
            invited_by,
            fee_paid,
        } => {
            let customer = resolve(app, &who)?;
            let program = app
                .loyalty_program()?
                .context("no loyalty program is set: `kesher loyalty program set FILE`")?;
            let employee = match employee {
                Some(e) => Some(
                    app.employee_by_external(&e)?
                        .with_context(|| format!("no employee {e:?}"))?
                        .id,
                ),
                None => None,
            };
            let invited_by = invited_by.map(|w| resolve(app, &w)).transpose()?;
            let fee_paid = match fee_paid {
                Some(f) => program
                    .currency()
                    .parse_amount(&f, "fee_paid")
                    .map_err(|e| anyhow::anyhow!("--fee-paid: {}", e.reason))?,
                None => 0,
            };
            let r = app.enrol_member(
                &Enrolment {
                    customer,
                    branch: branch(app, b)?,
                    employee,
                    invited_by,
                    fee_paid,
                },
                &cli_actor(app),
            )?;
            println!(
                "{} {}",
                if r.rejoined { "rejoined:" } else { "enrolled:" },
                member_line(&r.member)
            );
        }
        LoyaltyCommand::Leave { who, branch: b } => {
            let customer = resolve(app, &who)?;
            let m = app.leave_program(customer, branch(app, b)?, &cli_actor(app))?;
            println!("left: {}", member_line(&m));
        }
        LoyaltyCommand::Members {
            status,
            tier,
            limit,
            json,
        } => {
            let status = status
                .map(|s| MemberStatus::parse(&s).with_context(|| format!("--status {s:?}: active or left")))
                .transpose()?;
            let mut after = None;
            let mut left = limit;
            while left > 0 {
                let page = app.loyalty_members(status, tier.as_deref(), after, left.min(1000))?;
                for m in &page {
                    if json {
                        println!("{}", member_json(m));
                    } else {
                        println!("{}", member_line(m));
                    }
                }
                left -= page.len();
                match page.last() {
                    Some(m) if page.len() == 1000 => after = Some(m.customer_id),
                    _ => break,
                }
            }
        }
        LoyaltyCommand::Wallet { who } => {
            let customer = resolve(app, &who)?;
            let w = app.wallet(customer)?;
            println!("{customer}: {} points", w.balance);
            match &w.member {
                Some(m) => println!("{}", member_line(m)),
                None => println!("not a member"),
            }
            if let Some(p) = &w.progress {
                print!(
                    "tier {} ({}), qualifying value {}",
                    p.tier.as_deref().unwrap_or("-"),
                    w.tier_name.as_deref().unwrap_or("-"),
                    p.value
                );
                match &p.next {
                    Some(n) => println!("; {} more to reach {}", n.remaining, n.key),
                    None => println!("; the highest tier"),
                }
            }
            for b in &w.benefits {
                println!("benefit: {b}");
            }
            for l in &w.lots {
                println!(
                    "lot: {} of {} points earned {} expire {}",
                    l.remaining, l.points, l.earned_at, l.expires_at
                );
            }
            for e in app.member_events(customer)? {
                println!("{}  {:<9} {}  {}", e.at, e.kind.as_str(), e.actor, e.detail);
            }
        }
        LoyaltyCommand::Design {
            json,
            redemption_rate,
            months,
            margin_share,
            point_value,
            currency,
        } => {
            let d = app.loyalty_design(&kesher_app::loyalty_design::DesignRequest {
                currency,
                redemption_rate: Some(redemption_rate),
                months: Some(months),
                margin_share: Some(margin_share),
                point_value,
            })?;
            let text = if json {
                format!("{}\n", serde_json::to_string_pretty(&d)?)
            } else {
                kesher_app::loyalty_design::render_text(&d)
            };
            // A reader that stops early (`| head`) is not an error.
            use std::io::Write;
            match std::io::stdout().lock().write_all(text.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(anyhow::Error::new(e).context("writing the design"));
                }
                _ => {}
            }
        }
        LoyaltyCommand::Expire { as_of } => {
            let at = match as_of {
                Some(d) => d
                    .to_zoned(app.business_time_zone()?)
                    .with_context(|| format!("--as-of {d}"))?
                    .timestamp(),
                None => app.now(),
            };
            let r = app.expire_points(at, &cli_actor(app))?;
            println!(
                "as of {at}: {} points expired from {} customers ({} examined)",
                r.points, r.customers, r.examined
            );
        }
        LoyaltyCommand::ReviewTiers => {
            let r = app.review_tiers(&cli_actor(app))?;
            println!(
                "{} members reviewed: {} moved down, {} moved up",
                r.reviewed, r.downgraded, r.upgraded
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
