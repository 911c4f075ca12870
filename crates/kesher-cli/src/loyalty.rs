//! `kesher loyalty`: the program's definition, enrolment and leaving, the members, a customer's
//! wallet, the end-of-period tier review, the benefits' grants and surprises, the KPIs, and the
//! design of a program from the business's data.

use crate::accounts::cli_actor;
use crate::customers::resolve;
use anyhow::{Context, bail};
use clap::Subcommand;
use kesher_app::App;
use kesher_app::loyalty::Enrolment;
use kesher_app::loyalty::kpis::{KpiParams, KpiReport};
use kesher_loyalty::benefits::Grant;
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
    /// The benefits catalogue's grants: list, grant, redeem for points, honour at the till,
    /// expire (docs/loyalty.md, "Benefits").
    Benefits {
        #[command(subcommand)]
        action: BenefitsAction,
    },
    /// Surprise benefits: draw one, show a stored draw.
    Surprise {
        #[command(subcommand)]
        action: SurpriseAction,
    },
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
    /// The program's KPIs over a window of local dates (docs/loyalty.md, "KPIs"): enrolments,
    /// data quality, identified sales, points, new vs returning members, benefits, financial
    /// impact. Aggregates only.
    Report {
        /// First date (YYYY-MM-DD); default 364 days before --to.
        #[arg(long)]
        from: Option<String>,
        /// Last date, included; default today.
        #[arg(long)]
        to: Option<String>,
        /// One branch (external id).
        #[arg(long)]
        branch: Option<String>,
        /// day, week or month.
        #[arg(long, default_value = "month")]
        by: String,
        /// A point's value in the program's currency, for the liability.
        #[arg(long, default_value = "0.05")]
        point_value: String,
        /// Months before and after enrolment compared by the difference in differences.
        #[arg(long, default_value_t = 3)]
        months: u32,
        /// The report as one JSON document.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum BenefitsAction {
    /// A customer's grants, oldest first, with their state.
    List { who: String },
    /// Grant a benefit of the catalogue by hand.
    Grant {
        who: String,
        benefit: String,
        /// A retried grant with the same key returns the first one.
        #[arg(long)]
        key: Option<String>,
    },
    /// Redeem points for a benefit (never below zero); the same key returns the first result.
    Redeem {
        who: String,
        benefit: String,
        #[arg(long)]
        key: String,
        /// The branch (external id) where the points are spent.
        #[arg(long)]
        branch: Option<String>,
    },
    /// Honour a grant at the till (a `points` benefit credits its points).
    Honour {
        grant: String,
        #[arg(long)]
        key: String,
        #[arg(long)]
        branch: Option<String>,
    },
    /// Write as expired every available grant whose time has passed (also a scheduled job).
    Expire,
}

#[derive(Subcommand)]
pub enum SurpriseAction {
    /// Draw a surprise: members of a segment or at random, under a budget, never the same
    /// surprise twice to a member within the no-repeat period, reproducible from the seed.
    Draw {
        #[arg(long)]
        benefit: String,
        /// A saved segment's name or an expression: its active members are the candidates.
        #[arg(long, conflicts_with = "random")]
        segment: Option<String>,
        /// At most this many active members, at random.
        #[arg(long)]
        random: Option<usize>,
        /// Money in the program's currency (a fixed credit) or points.
        #[arg(long)]
        budget: String,
        /// The draw's seed (default: the clock's microseconds, printed and stored).
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, default_value_t = 365)]
        no_repeat_days: i64,
    },
    /// A stored draw: benefit, seed, parameters, who, when, the members in the order drawn.
    Show { id: String },
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
        LoyaltyCommand::Report {
            from,
            to,
            branch,
            by,
            point_value,
            months,
            json,
        } => {
            let q = app.loyalty_kpi_query(&KpiParams {
                from: from.as_deref(),
                to: to.as_deref(),
                branch: branch.as_deref(),
                by: Some(&by),
                point_value: Some(&point_value),
                months: Some(months),
            })?;
            let r = app.loyalty_kpis(&q)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print_report(&r);
            }
        }
        LoyaltyCommand::Benefits { action } => benefits(app, action)?,
        LoyaltyCommand::Surprise { action } => surprise(app, action)?,
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

fn grant_line(g: &Grant) -> String {
    format!(
        "{}  {:<16} {:<9} {:<8} granted {} by {}  until {}{}",
        g.id,
        g.benefit,
        g.state.as_str(),
        g.source.as_str(),
        g.granted_at,
        g.granted_by,
        g.available_until,
        match (&g.used_at, &g.honoured_by) {
            (Some(at), Some(by)) => format!("  honoured {at} by {by}"),
            _ => String::new(),
        }
    )
}

fn benefits(app: &App, action: BenefitsAction) -> anyhow::Result<()> {
    use kesher_app::benefits::{GrantRequest, HonourRequest, RedeemBenefit};
    match action {
        BenefitsAction::List { who } => {
            let customer = resolve(app, &who)?;
            let grants = app.customer_benefits(customer)?;
            if grants.is_empty() {
                println!("{customer}: no benefits");
            }
            for g in &grants {
                println!("{}", grant_line(g));
            }
        }
        BenefitsAction::Grant { who, benefit, key } => {
            let customer = resolve(app, &who)?;
            let r = app.grant_benefit(
                customer,
                &GrantRequest {
                    benefit,
                    idempotency_key: key,
                },
                &cli_actor(app),
            )?;
            println!(
                "{} {}",
                if r.created { "granted:" } else { "already granted:" },
                grant_line(&r.value)
            );
        }
        BenefitsAction::Redeem {
            who,
            benefit,
            key,
            branch: b,
        } => {
            let customer = resolve(app, &who)?;
            let r = app.redeem_benefit(
                customer,
                &RedeemBenefit {
                    benefit,
                    idempotency_key: Some(key),
                    branch: branch(app, b)?,
                },
                &cli_actor(app),
            )?;
            println!(
                "{} {} points, balance {}; {}",
                if r.created { "redeemed:" } else { "already redeemed:" },
                -r.value.entry.points,
                r.value.entry.balance_after,
                grant_line(&r.value.grant)
            );
        }
        BenefitsAction::Honour { grant, key, branch: b } => {
            let id: kesher_core::BenefitGrantId = grant
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{grant:?} is not a grant id"))?;
            let r = app.honour_benefit(
                id,
                &HonourRequest {
                    idempotency_key: Some(key),
                    branch: branch(app, b)?,
                },
                &cli_actor(app),
            )?;
            println!(
                "{} {}",
                if r.created { "honoured:" } else { "already honoured:" },
                grant_line(&r.value)
            );
        }
        BenefitsAction::Expire => {
            let r = app.expire_benefits(&cli_actor(app))?;
            println!("{} grants expired", r.expired);
        }
    }
    Ok(())
}

fn surprise(app: &App, action: SurpriseAction) -> anyhow::Result<()> {
    use kesher_app::benefits::{SurprisePool, SurpriseRequest};
    match action {
        SurpriseAction::Draw {
            benefit,
            segment,
            random,
            budget,
            seed,
            no_repeat_days,
        } => {
            let pool = match (segment, random) {
                (Some(s), None) => SurprisePool::Segment(s),
                (None, Some(n)) => SurprisePool::Random(n),
                _ => bail!("give either --segment or --random"),
            };
            let seed = seed.unwrap_or_else(|| app.now().as_microsecond().unsigned_abs());
            let s = app.draw_surprise(
                &SurpriseRequest {
                    benefit,
                    pool,
                    budget,
                    seed,
                    no_repeat_days,
                },
                &cli_actor(app),
            )?;
            println!(
                "draw {}: {} members granted {:?} (seed {}; {})",
                s.draw.id,
                s.grants.len(),
                s.draw.benefit,
                s.draw.seed,
                s.draw.parameters
            );
            for g in &s.grants {
                println!("{}", grant_line(g));
            }
        }
        SurpriseAction::Show { id } => {
            let id: kesher_core::SurpriseDrawId = id
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{id:?} is not a draw id"))?;
            let d = app.surprise_draw(id)?;
            println!(
                "draw {}: {:?} at {} by {}, seed {}; {}",
                d.id, d.benefit, d.at, d.actor, d.seed, d.parameters
            );
            for m in &d.members {
                println!("{m}");
            }
        }
    }
    Ok(())
}

fn opt(v: Option<f64>, pct: bool) -> String {
    match v {
        Some(v) if pct => format!("{:.1}%", v * 100.0),
        Some(v) => format!("{v:.2}"),
        None => "-".into(),
    }
}

/// The report as text: one section per KPI.
fn print_report(r: &KpiReport) {
    let w = &r.window;
    println!(
        "Loyalty KPIs {} to {} by {:?}{} ({}, {})",
        w.from,
        w.to,
        w.by,
        w.branch.as_deref().map(|b| format!(", branch {b}")).unwrap_or_default(),
        w.time_zone,
        w.currency
    );
    let e = &r.enrolments;
    println!(
        "\nEnrolments: {} enrolled, {} rejoined, {} left",
        e.total.enrolled, e.total.rejoined, e.total.left
    );
    for p in &e.by_period {
        println!(
            "  {:<12} {:>6} enrolled {:>5} rejoined {:>5} left",
            p.period, p.moves.enrolled, p.moves.rejoined, p.moves.left
        );
    }
    for (what, rows) in [("branch", &e.by_branch), ("employee", &e.by_employee)] {
        for k in rows {
            println!(
                "  {what} {:<8} {:<20} {:>6} enrolled {:>5} rejoined {:>5} left",
                k.key,
                k.name.as_deref().unwrap_or("-"),
                k.figures.enrolled,
                k.figures.rejoined,
                k.figures.left
            );
        }
    }
    let dq = &r.data_quality;
    let missing = |q: &kesher_app::loyalty::kpis::Quality| {
        q.missing_share
            .iter()
            .map(|(k, v)| format!("{k} {:.0}%", v * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "\nData quality: {} members enrolled, average {}; missing: {}",
        dq.total.members,
        opt(dq.total.average_quality, false),
        missing(&dq.total)
    );
    for (what, rows) in [("branch", &dq.by_branch), ("employee", &dq.by_employee)] {
        for k in rows {
            println!(
                "  {what} {:<8} {:<20} {:>5} members, average {:>6}; missing: {}",
                k.key,
                k.name.as_deref().unwrap_or("-"),
                k.figures.members,
                opt(k.figures.average_quality, false),
                missing(&k.figures)
            );
        }
    }
    println!("\nIdentified sales (members / non-members / anonymous):");
    for s in r
        .identified_sales
        .total
        .iter()
        .chain(&r.identified_sales.by_period)
        .chain(&r.identified_sales.by_branch)
    {
        let label = s
            .period
            .clone()
            .or_else(|| s.branch.clone().map(|b| format!("branch {b}")))
            .unwrap_or_else(|| "total".into());
        println!(
            "  {:<12} {} {:>7} / {:>7} / {:>7} sales; revenue {} / {} / {}; members' share {} of sales, {} of revenue",
            label,
            s.currency,
            s.members.transactions,
            s.non_members.transactions,
            s.anonymous.transactions,
            s.members.revenue,
            s.non_members.revenue,
            s.anonymous.revenue,
            opt(s.member_share_of_transactions, true),
            opt(s.member_share_of_revenue, true)
        );
    }
    let p = &r.points;
    println!(
        "\nPoints: {} issued, {} redeemed, {} reversed, {} adjusted, {} expired; redemption rate {}",
        p.total.issued,
        p.total.redeemed,
        p.total.reversed,
        p.total.adjusted,
        p.total.expired,
        opt(p.redemption_rate, true)
    );
    for x in &p.by_period {
        println!(
            "  {:<12} {:>9} issued {:>9} redeemed {:>7} reversed {:>7} adjusted {:>7} expired",
            x.period, x.flow.issued, x.flow.redeemed, x.flow.reversed, x.flow.adjusted, x.flow.expired
        );
    }
    let l = &p.liability;
    println!(
        "  liability: {} points outstanding x {} {} a point = {} {} (as of {})",
        l.points,
        l.point_value,
        l.currency,
        l.value.as_deref().unwrap_or("-"),
        l.currency,
        l.as_of
    );
    println!(
        "\nNew vs returning members ({} new in the window):",
        r.new_vs_returning.total_new
    );
    for x in &r.new_vs_returning.by_period {
        println!("  {:<12} {:>6} new {:>6} returning", x.period, x.new, x.returning);
    }
    println!("\nBenefits (points given, sales, points reversed):");
    for k in &r.benefits.rules {
        println!(
            "  {:<28} {:>9} points on {:>7} sales, {:>6} reversed",
            k.key, k.figures.points, k.figures.sales, k.figures.reversed
        );
    }
    let f = &r.financial_impact;
    println!("\nFinancial impact ({}):", f.currency);
    for (what, g) in [("members", &f.members), ("non-members", &f.non_members)] {
        println!(
            "  {what:<12} {:>6} customers, {:>7} sales, revenue {}; per customer {} spend, {} visits; basket {}",
            g.customers,
            g.transactions,
            g.revenue,
            opt(g.spend_per_customer, false),
            opt(g.visits_per_customer, false),
            opt(g.basket_size, false)
        );
    }
    match &f.difference_in_differences {
        Some(d) => println!(
            "  difference in differences ({} months each side): {:+.2} a month (95% CI {:+.2} to {:+.2}); members {:+.2} from {:.2}, non-members {:+.2}; {} members, {} non-members, {} enrolment months",
            d.months,
            d.effect,
            d.ci_low,
            d.ci_high,
            d.members_change,
            d.members_before,
            d.non_members_change,
            d.members,
            d.non_members,
            d.cohorts
        ),
        None => {
            println!("  difference in differences: not enough data (no enrolment month with its months after over)")
        }
    }
    println!("  method: {}", f.method);
}
