//! `kesher demo`: generate a realistic business, import it through the normal importer, serve it.

use crate::import::import_file;
use anyhow::{Context, bail};
use clap::Args;
use kesher_app::Settings;
use kesher_app::import::{ImportKind, ImportOptions};
use std::path::{Path, PathBuf};

mod campaigns;

/// The audit action that marks a database as a demo's (so that a re-run may replace it).
const DEMO_ACTION: &str = "demo.generate";
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args)]
pub struct DemoArgs {
    /// Number of customers (prospects included).
    #[arg(long, default_value_t = 20_000)]
    customers: usize,
    /// Seed: the same seed gives the same business.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Generate and import only; do not serve.
    #[arg(long)]
    no_serve: bool,
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: std::net::SocketAddr,
}

pub fn run(a: DemoArgs, db: &Path, settings: Settings) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    if db.exists() {
        // Only a database that a demo made may be replaced: never a business's real data.
        let existing = crate::open(db, settings.clone())?;
        let made_by_demo = existing.has_audit_action(DEMO_ACTION)?;
        let empty = existing.counts()?.customers == 0;
        drop(existing);
        if !made_by_demo && !empty {
            bail!(
                "{} holds data that a demo did not make; choose another --db for the demo",
                db.display()
            );
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("replacing {}", p.display()))?;
        }
    }
    let dir = std::env::temp_dir().join(format!("kesher-demo-{}-{}", std::process::id(), a.seed));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = generate_and_import(&a, db, settings, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let app = result?;
    let c = app.counts()?;
    println!(
        "demo business ready in {:.1} s: {} branches, {} employees, {} products, {} customers, {} transactions ({} lines), {} interactions -> {}",
        started.elapsed().as_secs_f64(),
        c.branches,
        c.employees,
        c.products,
        c.customers,
        c.transactions,
        c.transaction_lines,
        c.interactions,
        db.display()
    );
    if !a.no_serve {
        crate::serve(app, a.bind)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn generate_and_import(a: &DemoArgs, db: &Path, settings: Settings, dir: &Path) -> anyhow::Result<kesher_app::App> {
    let t = Instant::now();
    // The history ends now (the clock's: --now / KESHER_NOW in tests), not at the end of today.
    let now = crate::clock().now();
    let end = now
        .to_zoned(jiff::tz::TimeZone::get("Asia/Jerusalem").unwrap_or(jiff::tz::TimeZone::UTC))
        .date();
    let cfg = kesher_demo::DemoConfig {
        customers: a.customers,
        seed: a.seed,
        end,
        now: Some(now),
    };
    let mut sinks = kesher_demo::DemoSinks::try_new(|name| std::fs::File::create(dir.join(name)))
        .with_context(|| format!("creating files in {}", dir.display()))?;
    let stats = kesher_demo::generate(&cfg, &mut sinks).context("generating the demo business")?;
    drop(sinks);
    eprintln!(
        "generated {} customers, {} transactions ({} lines) in {:.1} s; importing",
        stats.customers,
        stats.transactions,
        stats.transaction_lines,
        t.elapsed().as_secs_f64()
    );
    let app = crate::open(db, settings)?;
    let actor = kesher_store::Actor::new("demo", app.now()).from("cli");
    let note =
        serde_json::json!({"customers": a.customers, "seed": a.seed, "end": end.to_string(), "now": now.to_string()});
    app.append_audit(&actor, DEMO_ACTION, "database", "-", Some(&note))?;
    for (name, kind) in kesher_demo::FILES.iter().zip([
        ImportKind::Branches,
        ImportKind::Employees,
        ImportKind::Products,
        ImportKind::Customers,
        ImportKind::Transactions,
        ImportKind::Interactions,
    ]) {
        let t = Instant::now();
        let s = import_file(&app, kind, &dir.join(name), ImportOptions::default(), true)?;
        eprintln!("  {name}: {} rows in {:.1} s", s.inserted, t.elapsed().as_secs_f64());
    }
    // The campaigns that ran over the history (their response sales then earn under the program
    // like every member's sale).
    campaigns::run(&app, &actor, now, a.seed)?;
    // The loyalty program, launched half a year before the history ends: members enrolled at
    // the till on days spread over that half year, then every member's sales since their
    // enrolment earn as they would have then (the program's rates, tiers, promotions and bonuses,
    // each entry at its sale's time), so that the program's KPIs have a history to show.
    let ils = kesher_core::Currency::parse("ILS")?;
    let rule = kesher_loyalty::EarningRule::new().with(
        ils,
        kesher_loyalty::EarnRate::per_whole_unit(ils, 1).map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    app.set_earning_rule(&rule, &actor)?;
    let launch = end
        .checked_sub(jiff::Span::new().days(182))
        .context("the program's launch date")?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .context("the program's launch date")?
        .timestamp();
    let members = enrol_demo_members(&app, &actor, end, launch)?;
    let t = Instant::now();
    let enrolled_at: std::collections::HashMap<kesher_core::CustomerId, jiff::Timestamp> =
        members.into_iter().collect();
    let mut sales = Vec::new();
    app.for_each_sale_fact(launch, jiff::Timestamp::MAX, &mut |s| {
        if let Some(since) = s.customer_id.and_then(|c| enrolled_at.get(&c))
            && s.occurred_at >= *since
        {
            sales.push((s.occurred_at, s.id));
        }
        Ok(())
    })?;
    sales.sort();
    let ids: Vec<kesher_core::TransactionId> = sales.into_iter().map(|(_, id)| id).collect();
    let r = app.replay_accruals(&ids, "demo")?;
    eprintln!(
        "  points: {} members' sales since their enrolment earned, {} refunds reversed: {} points in {:.1} s",
        r.earned,
        r.reversed,
        r.points,
        t.elapsed().as_secs_f64()
    );
    // Points last 150 days from when they become spendable: the lots of the program's first weeks
    // have expired by now.
    let expired = app.expire_points(app.now(), &actor)?;
    eprintln!(
        "  expiry: {} points expired from {} members",
        expired.points, expired.customers
    );
    demo_benefits(&app, &actor)?;
    Ok(app)
}

/// The demo's benefits at its end: a thank-you surprise of 100 points drawn three weeks ago
/// among 250 members under a 20,000-point budget (seed 2026), a tasting invitation drawn among
/// 40 members; every fourth member with enough spendable points redeems 400 of them
/// for 20 off, and about two grants in three are honoured at the member's branch; then the
/// grants whose time has passed are expired. Every figure of the KPIs' benefits comes from these.
fn demo_benefits(app: &kesher_app::App, actor: &kesher_store::Actor) -> anyhow::Result<()> {
    use kesher_app::benefits::{GrantRequest, HonourRequest, RedeemBenefit, SurprisePool, SurpriseRequest};
    let t = Instant::now();
    let now = app.now();
    let back = |days: i64| now.checked_sub(jiff::SignedDuration::from_hours(24 * days));
    let past = std::sync::Arc::new(kesher_app::clock::ManualClock::new(back(21)?));
    let then = app.clone().with_clock(past.clone());
    let draw = |benefit: &str, pool: SurprisePool, budget: &str, seed: u64, at: jiff::Timestamp| {
        past.set(at);
        then.draw_surprise(
            &SurpriseRequest {
                benefit: benefit.into(),
                pool,
                budget: budget.into(),
                seed,
                no_repeat_days: 365,
            },
            &kesher_store::Actor { at, ..actor.clone() },
        )
    };
    let thanks = draw("thank-you", SurprisePool::Random(250), "20000", 2026, back(21)?)
        .map_err(|e| anyhow::anyhow!("the demo's surprise: {e}"))?;
    // The scores are computed after the demo is loaded: the tasting goes to members at random.
    let tasting = draw("tasting", SurprisePool::Random(40), "6000", 7, back(40)?)
        .map_err(|e| anyhow::anyhow!("the demo's tasting surprise: {e}"))?;

    // Redemptions and honours at the till, now.
    let (mut redeemed, mut honoured, mut n) = (0u64, 0u64, 0u64);
    let mut after = None;
    loop {
        let page = app.loyalty_members(Some(kesher_loyalty::MemberStatus::Active), None, after, 1000)?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer_id);
        for m in &page {
            n += 1;
            let c = m.customer_id;
            if n % 4 == 0 && app.points_balance(c)? >= 400 {
                match app.redeem_benefit(
                    c,
                    &RedeemBenefit {
                        benefit: "20-off".into(),
                        idempotency_key: Some(format!("demo-redeem-{c}")),
                        branch: m.branch_id,
                    },
                    actor,
                ) {
                    Ok(_) => redeemed += 1,
                    // Points still pending (inside the return window) are not spendable yet.
                    Err(e) if e.code() == "points.insufficient" => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if n % 97 == 0 {
                app.grant_benefit(
                    c,
                    &GrantRequest {
                        benefit: "10-percent".into(),
                        idempotency_key: Some(format!("demo-grant-{c}")),
                    },
                    actor,
                )?;
            }
            for g in app.customer_benefits(c)? {
                if g.state != kesher_loyalty::benefits::GrantState::Available
                    || (n + g.granted_at.as_second() as u64).is_multiple_of(3)
                {
                    continue;
                }
                app.honour_benefit(
                    g.id,
                    &HonourRequest {
                        idempotency_key: Some(format!("demo-honour-{}", g.id)),
                        branch: m.branch_id,
                    },
                    actor,
                )?;
                honoured += 1;
            }
        }
    }
    let expired = app.expire_benefits(actor)?;
    eprintln!(
        "  benefits: surprises {} (thank-you) and {} (tasting) members, {redeemed} redemptions, {honoured} honoured, {} expired in {:.1} s",
        thanks.grants.len(),
        tasting.grants.len(),
        expired.expired,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The demo's loyalty program: three tiers by spend over a year, wine and coffee earning double,
/// a promotion over the history's last two weeks, first-purchase and referral bonuses, points
/// held for 14 days and lasting 150; two of every three customers with two visits in the last
/// year before enrolment enrolled by an employee of their branch (every tenth invited by another
/// member), on a day between the launch and a week before the end. Returns the members with the
/// instant each enrolled; their sales since are replayed under the program by the caller.
fn enrol_demo_members(
    app: &kesher_app::App,
    actor: &kesher_store::Actor,
    end: jiff::civil::Date,
    launch: jiff::Timestamp,
) -> anyhow::Result<Vec<(kesher_core::CustomerId, jiff::Timestamp)>> {
    let t = Instant::now();
    let clock = std::sync::Arc::new(kesher_app::clock::ManualClock::new(launch));
    let at_till = app.clone().with_clock(clock.clone());
    let mut members = Vec::new();
    let from = end
        .checked_sub(jiff::Span::new().days(13))
        .context("the promotion's start")?;
    let program = serde_json::json!({
        "name": "Kesher Club",
        "positioning": "popular",
        "currency": "ILS",
        "joining": {"min_visits": {"count": 2, "days": 365}},
        "earning": {"categories": {"Wine": {"points": 2, "per": "1.00"}, "Coffee": {"points": 2, "per": "1.00"}}},
        "qualification": {"by": "spend", "days": 365},
        "tiers": [
            {"key": "silver", "name": "Silver", "threshold": "0"},
            {"key": "gold", "name": "Gold", "threshold": "1500.00", "multiplier": "1.25", "benefits": ["Free delivery"]},
            {"key": "platinum", "name": "Platinum", "threshold": "4000.00", "multiplier": "1.5",
             "benefits": ["Free delivery", "Priority service", "Invitation to the spring tasting"]}
        ],
        "promotions": [{"key": "year-end", "name": "Double points at year end", "multiplier": "2",
                        "from": from.to_string(), "until": end.to_string()}],
        "bonuses": {"first_purchase": 50, "birthday_month_multiplier": "2", "referral": 100},
        "expiry": {"lifetime_days": 150},
        "pending": {"days": 14},
        "benefits": [
            {"key": "20-off", "name": "20 off your next visit", "kind": "hard",
             "value": {"type": "fixed_credit", "amount": "20.00"}, "cost_points": 400, "valid_days": 60},
            {"key": "10-percent", "name": "10% off one purchase", "kind": "hard",
             "value": {"type": "percent_discount", "percent": "10"}, "cost_points": 250, "valid_days": 30},
            {"key": "priority", "name": "Priority service", "kind": "soft", "valid_days": 365,
             "tiers": ["platinum"]},
            {"key": "tasting", "name": "Invitation to the spring tasting", "kind": "soft", "valid_days": 90,
             "tiers": ["gold", "platinum"], "cost_points": 150},
            {"key": "thank-you", "name": "A thank-you of 100 points", "kind": "hard",
             "value": {"type": "points", "points": 100}, "valid_days": 30}
        ]
    });
    app.set_loyalty_program(&program.to_string(), actor)?;
    let employees = app.list_employees()?;
    let (mut enrolled, mut refused, mut n) = (0u64, 0u64, 0u64);
    // Every tenth member was brought by the member enrolled before them.
    let mut last_member: Option<kesher_core::CustomerId> = None;
    let mut offset = 0u64;
    loop {
        let page = app.search_customers(&kesher_store::CustomerQuery {
            text: None,
            phone: None,
            branch: None,
            limit: 1000,
            offset,
        })?;
        if page.items.is_empty() {
            break;
        }
        offset += page.items.len() as u64;
        for c in &page.items {
            n += 1;
            if n % 3 == 0 {
                continue;
            }
            let staff: Vec<&kesher_core::Employee> = employees
                .iter()
                .filter(|e| e.branch_id.is_some() && e.branch_id == c.source_branch)
                .collect();
            let employee = staff.get((n as usize) % staff.len().max(1)).map(|e| e.id);
            let e = kesher_app::loyalty::Enrolment {
                customer: c.id,
                branch: c.source_branch,
                employee,
                invited_by: last_member.filter(|_| enrolled % 10 == 9),
                fee_paid: 0,
            };
            // A day of the program's first 175, at a shop hour (UTC).
            let when = launch
                .checked_add(jiff::SignedDuration::from_hours(
                    ((n * 7919) % 175) as i64 * 24 + 7 + (n % 9) as i64,
                ))
                .context("an enrolment's date")?;
            clock.set(when);
            let at_when = kesher_store::Actor {
                at: when,
                ..actor.clone()
            };
            match at_till.enrol_member(&e, &at_when) {
                Ok(_) => {
                    enrolled += 1;
                    last_member = Some(c.id);
                    members.push((c.id, when));
                }
                // Those who do not meet the conditions stay out, as at a real till.
                Err(kesher_store::StoreError::Invalid { .. }) => refused += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
    eprintln!(
        "  loyalty: {enrolled} members enrolled ({refused} did not meet the conditions) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(members)
}
