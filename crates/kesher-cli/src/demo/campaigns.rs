//! The demo's campaigns, run over its history through the ordinary workflows with the app's clock
//! set to the day each ran (docs/campaigns.md, "The demo"):
//!
//! - **Win-back pilot**, 75 days before the end: a sample of up to 5,000 lapsed customers (two
//!   purchases or more, none in the 90 days before, one in the year before) tagged
//!   `attributes.winback_pilot = "yes"` as a marketer's list import would; a control group of
//!   20 % drawn by the launch; the messages delivered on the `log` channel. The simulation then
//!   does what a good win-back does: about one recipient in five comes back within four weeks
//!   and buys again what they bought last (the control group is left to its own history), so the
//!   report shows a real, significant lift measured against the control group.
//! - **Holiday greeting**, 30 days before the end: up to 5,000 active customers, 10 % control,
//!   and no effect simulated: the report shows a campaign whose lift is not significant.
//!
//! - **Birthday greeting**, a recurring campaign launched `BIRTHDAY_DAYS` days before the end:
//!   every customer with a birth date, greeted on the `log` channel at 10:00 business time on
//!   their birthday, 10 % control drawn per year; the daily job's run (`App::run_recurring_campaigns`)
//!   is replayed day by day on the manual clock, so its report counts real greetings and the
//!   purchases that followed them.
//!
//! The samples are bounded so that a million-customer demo spends no more on them than a small one
//! (the birthday greeting reads every customer once a day: it runs over fewer days on a large
//! demo).

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use kesher_app::App;
use kesher_app::clock::ManualClock;
use kesher_core::{CustomerId, Transaction, TransactionId};
use kesher_store::Actor;
use std::collections::HashMap;
use std::sync::Arc;

/// The most customers one demo campaign addresses.
const SAMPLE: usize = 5_000;
/// Days of history the birthday greeting ran over, on a demo of up to `BIRTHDAY_FULL` customers
/// (one week on a larger one: each day's run reads every customer).
const BIRTHDAY_DAYS: i64 = 42;
const BIRTHDAY_FULL: u64 = 100_000;
/// The share of win-back recipients the simulation brings back (parts per 1,000).
const COMEBACK_PER_MILLE: u64 = 200;

/// What one customer's history looked like before a campaign's day.
#[derive(Default, Clone, Copy)]
struct Before {
    purchases: u32,
    last: Option<(Timestamp, TransactionId)>,
}

/// SplitMix64: the demo's deterministic choices.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn key(seed: u64, c: CustomerId, salt: u64) -> u64 {
    let v = c.0.as_u128();
    mix(seed ^ mix(v as u64 ^ mix((v >> 64) as u64 ^ salt)))
}

/// Each identified customer's purchases before `at` (refunds left out).
fn history_before(app: &App, at: Timestamp) -> anyhow::Result<HashMap<CustomerId, Before>> {
    let mut seen: HashMap<CustomerId, Before> = HashMap::new();
    app.for_each_sale_fact(Timestamp::MIN, at, &mut |s| {
        if let Some(c) = s.customer_id
            && !s.refund
        {
            let b = seen.entry(c).or_default();
            b.purchases += 1;
            if b.last.is_none_or(|(t, _)| s.occurred_at > t) {
                b.last = Some((s.occurred_at, s.id));
            }
        }
        Ok(())
    })?;
    Ok(seen)
}

/// At most `SAMPLE` of `ids`, an even spread in a seeded order.
fn sample(mut ids: Vec<CustomerId>, seed: u64, salt: u64) -> Vec<CustomerId> {
    ids.sort_by_key(|c| key(seed, *c, salt));
    ids.truncate(SAMPLE);
    ids.sort();
    ids
}

/// Tag each customer with `attribute = value`, as the list a marketer would import.
fn tag(app: &App, ids: &[CustomerId], attribute: &str, value: &str, actor: &Actor) -> anyhow::Result<()> {
    for id in ids {
        let Some(mut c) = app.get_customer(*id)? else { continue };
        c.attributes
            .insert(attribute.into(), serde_json::Value::String(value.into()));
        app.update_customer(&c, actor)?;
    }
    Ok(())
}

/// The demo's messages, in the three languages.
fn definition(name: &str, at: &str, audience: &str, control_bp: u32, texts: [(&str, &str, &str); 3]) -> String {
    let mut templates = serde_json::Map::new();
    for (lang, subject, body) in texts {
        templates.insert(lang.into(), serde_json::json!({"subject": subject, "body": body}));
    }
    serde_json::json!({
        "name": name,
        "kind": {"type": "scheduled", "at": at},
        "audience": audience,
        "channels": ["log"],
        "default_language": "he",
        "templates": templates,
        "control_bp": control_bp,
        "attribution_days": 28
    })
    .to_string()
}

/// Create, launch and deliver a campaign at `at` on the app's clock. Returns its id.
fn run_at(
    app: &App,
    clock: &ManualClock,
    at: Timestamp,
    text: &str,
    actor: &Actor,
) -> anyhow::Result<kesher_core::CampaignId> {
    let before = at - SignedDuration::from_hours(48);
    clock.set(before);
    let row = app
        .create_campaign(
            text,
            &Actor {
                at: before,
                ..actor.clone()
            },
        )
        .map_err(|e| anyhow::anyhow!("the demo's campaign: {e}"))?;
    clock.set(at);
    app.launch_campaign(row.id, &Actor { at, ..actor.clone() })
        .map_err(|e| anyhow::anyhow!("launching the demo's campaign: {e}"))?;
    let senders = app.campaign_senders().map_err(|e| anyhow::anyhow!("{e}"))?;
    while app
        .deliver_campaign_messages(&senders, 5_000)
        .map_err(|e| anyhow::anyhow!("delivering the demo's campaign: {e}"))?
        .claimed
        > 0
    {}
    Ok(row.id)
}

/// The win-back pilot and the holiday greeting, run at their days; `now` is the demo's end.
pub fn run(app: &App, actor: &Actor, now: Timestamp, seed: u64) -> anyhow::Result<()> {
    let t = std::time::Instant::now();
    let clock = Arc::new(ManualClock::new(now));
    let then = app.clone().with_clock(clock.clone());
    let zone = app.business_time_zone().unwrap_or(jiff::tz::TimeZone::UTC);
    let local = |at: Timestamp| {
        at.to_zoned(zone.clone())
            .datetime()
            .strftime("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let day = |days: i64, hour: i64| -> anyhow::Result<Timestamp> {
        let midnight = now
            .to_zoned(zone.clone())
            .date()
            .checked_sub(jiff::Span::new().days(days))?
            .to_zoned(zone.clone())?
            .timestamp();
        Ok(midnight + SignedDuration::from_hours(hour))
    };

    // The win-back pilot.
    let winback_at = day(75, 10).context("the win-back's day")?;
    let history = history_before(app, winback_at)?;
    let lapsed: Vec<CustomerId> = history
        .iter()
        .filter(|(_, b)| {
            b.purchases >= 2
                && b.last.is_some_and(|(t, _)| {
                    t < winback_at - SignedDuration::from_hours(24 * 90)
                        && t >= winback_at - SignedDuration::from_hours(24 * 365)
                })
        })
        .map(|(c, _)| *c)
        .collect();
    let pilot = sample(lapsed, seed, 1);
    clock.set(winback_at - SignedDuration::from_hours(72));
    tag(
        &then,
        &pilot,
        "winback_pilot",
        "yes",
        &Actor {
            at: winback_at - SignedDuration::from_hours(72),
            ..actor.clone()
        },
    )?;
    let winback = run_at(
        &then,
        &clock,
        winback_at,
        &definition(
            "Win-back pilot: we miss you",
            &local(winback_at),
            "attributes.winback_pilot = \"yes\"",
            2_000,
            [
                (
                    "he",
                    "{{ customer.first_name }}, התגעגענו אליך",
                    "<p dir=\"rtl\">{{ customer.first_name }}, עבר זמן מאז ביקורך האחרון. נשמח לראות אותך שוב בסניף.</p>",
                ),
                (
                    "fa",
                    "{{ customer.first_name }}، دلمان برایتان تنگ شده",
                    "<p dir=\"rtl\">{{ customer.first_name }}، مدتی است که به ما سر نزده‌اید. خوشحال می‌شویم دوباره شما را ببینیم.</p>",
                ),
                (
                    "en",
                    "{{ customer.first_name }}, we miss you",
                    "<p>{{ customer.first_name }}, it has been a while since your last visit. We would love to see you again.</p>",
                ),
            ],
        ),
        actor,
    )?;
    // About one recipient in five comes back within four weeks and buys again what they bought
    // last; the control group keeps its own history.
    let mut recipients = Vec::new();
    app.for_each_campaign_message(winback, &mut |m| {
        if m.state == kesher_store::MessageState::Sent {
            recipients.push(m.customer_id);
        }
        Ok(())
    })?;
    let mut back = 0u64;
    for customer in recipients {
        let k = key(seed, customer, 2);
        if k % 1_000 >= COMEBACK_PER_MILLE {
            continue;
        }
        let Some((_, last_sale)) = history.get(&customer).and_then(|b| b.last) else {
            continue;
        };
        let Some(basket) = app.get_transaction(last_sale)? else {
            continue;
        };
        let when = winback_at + SignedDuration::from_mins(((k >> 10) % (27 * 24 * 60)) as i64 + 24 * 60);
        let sale = Transaction {
            id: kesher_app::ids::transaction(),
            external_id: format!("demo-winback-{}", customer.0.simple()),
            occurred_at: when,
            employee_id: None,
            refund_of: None,
            ..basket
        };
        if sale.occurred_at < now {
            app.record_transaction(&sale)?;
            back += 1;
        }
    }

    // The holiday greeting: active customers, no effect.
    let holiday_at = day(30, 9).context("the holiday's day")?;
    let active: Vec<CustomerId> = history_before(app, holiday_at)?
        .into_iter()
        .filter(|(_, b)| {
            b.last
                .is_some_and(|(t, _)| t >= holiday_at - SignedDuration::from_hours(24 * 60))
        })
        .map(|(c, _)| c)
        .collect();
    let greeted = sample(active, seed, 3);
    clock.set(holiday_at - SignedDuration::from_hours(72));
    tag(
        &then,
        &greeted,
        "holiday_list",
        "yes",
        &Actor {
            at: holiday_at - SignedDuration::from_hours(72),
            ..actor.clone()
        },
    )?;
    run_at(
        &then,
        &clock,
        holiday_at,
        &definition(
            "Holiday greeting",
            &local(holiday_at),
            "attributes.holiday_list = \"yes\"",
            1_000,
            [
                (
                    "he",
                    "חג שמח, {{ customer.first_name }}",
                    "<p dir=\"rtl\">חג שמח, {{ customer.first_name }}! תודה שאתה איתנו.</p>",
                ),
                (
                    "fa",
                    "{{ customer.first_name }}، عیدتان مبارک",
                    "<p dir=\"rtl\">{{ customer.first_name }}، عیدتان مبارک! از همراهی شما سپاسگزاریم.</p>",
                ),
                (
                    "en",
                    "Happy holidays, {{ customer.first_name }}",
                    "<p>Happy holidays, {{ customer.first_name }}! Thank you for being with us.</p>",
                ),
            ],
        ),
        actor,
    )?;
    // The birthday greeting: a recurring campaign, its daily run replayed day by day.
    let customers = app.counts().map(|c| c.customers).unwrap_or(0);
    let days = if customers <= BIRTHDAY_FULL { BIRTHDAY_DAYS } else { 7 };
    let birthday_start = day(days, 0).context("the birthday greeting's start")?;
    let mut templates = serde_json::Map::new();
    for (lang, subject, body) in [
        (
            "he",
            "יום הולדת שמח, {{ customer.first_name }}!",
            "<p dir=\"rtl\">יום הולדת שמח, {{ customer.first_name }}! מחכה לך הפתעה בסניף.</p>",
        ),
        (
            "fa",
            "{{ customer.first_name }}، تولدت مبارک!",
            "<p dir=\"rtl\">{{ customer.first_name }}، تولدت مبارک! هدیه‌ای در فروشگاه منتظر شماست.</p>",
        ),
        (
            "en",
            "Happy birthday, {{ customer.first_name }}!",
            "<p>Happy birthday, {{ customer.first_name }}! A treat waits for you in store.</p>",
        ),
    ] {
        templates.insert(lang.into(), serde_json::json!({"subject": subject, "body": body}));
    }
    let birthday_text = serde_json::json!({
        "name": "Birthday greeting",
        "kind": {"type": "recurring", "on": "birthday", "days_before": 0, "local_time": "10:00"},
        "audience": "visits >= 0",
        "channels": ["log"],
        "default_language": "he",
        "templates": templates,
        "control_bp": 1_000,
        "attribution_days": 14
    })
    .to_string();
    clock.set(birthday_start);
    let birthday_actor = Actor {
        at: birthday_start,
        ..actor.clone()
    };
    let birthday = then
        .create_campaign(&birthday_text, &birthday_actor)
        .map_err(|e| anyhow::anyhow!("the demo's birthday greeting: {e}"))?;
    then.launch_campaign(birthday.id, &birthday_actor)
        .map_err(|e| anyhow::anyhow!("launching the demo's birthday greeting: {e}"))?;
    let senders = then.campaign_senders().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut greeted_birthdays = 0u64;
    for back in (1..=days).rev() {
        let run_at = day(back, 0).context("a birthday run's day")? + SignedDuration::from_mins(15);
        clock.set(run_at);
        let run = then
            .run_recurring_campaigns(
                None,
                &Actor {
                    at: run_at,
                    ..actor.clone()
                },
            )
            .map_err(|e| anyhow::anyhow!("the demo's birthday run: {e}"))?;
        greeted_birthdays += run.campaigns.iter().map(|c| c.written).sum::<u64>();
        clock.set(day(back, 10).context("a birthday's send")?);
        while then
            .deliver_campaign_messages(&senders, 5_000)
            .map_err(|e| anyhow::anyhow!("delivering the demo's birthday greeting: {e}"))?
            .claimed
            > 0
        {}
    }

    // The prices: the demo's log channel stands for e-mail.
    let prices = serde_json::json!({"currency": "ILS", "acquisition": "45.00",
        "per_thousand": {"email": "2.00", "sms": "80.00", "log": "2.00"}});
    app.set_campaign_costs(&prices.to_string(), actor)
        .map_err(|e| anyhow::anyhow!("the demo's campaign prices: {e}"))?;
    eprintln!(
        "  campaigns: a win-back pilot to {} lapsed customers ({back} came back), a holiday greeting to {}, \
         birthday greetings over {days} days to {greeted_birthdays} in {:.1} s",
        pilot.len(),
        greeted.len(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
