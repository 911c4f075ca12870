use super::*;
use crate::analyze::AnalyzeOptions;
use crate::baskets::{Level, Scope};
use crate::import::ImportKind;
use crate::test_support::{TestApp, app_named, import};
use kesher_analytics::{Model, PeriodUnit};
use kesher_store::Identifier;

fn app() -> TestApp {
    app_named("segments")
}

/// Dana (B1, coffee and cake, SMS consent, a dog), Eli (B2, coffee only: cake is his next best
/// offer), Noa (a prospect), 30 members who buy coffee with cake and 30 who buy tea.
fn business(app: &App) {
    import(
        app,
        ImportKind::Branches,
        "branch_id,name,region,time_zone\nB1,North,North,Asia/Jerusalem\nB2,South,South,Asia/Jerusalem\n",
    );
    import(
        app,
        ImportKind::Products,
        "sku,name,category,list_price,unit_cost,currency\nCOF1,Espresso beans,coffee,40.00,20.00,ILS\nCAKE,Cheesecake,pastry,30.00,10.00,ILS\nTEA1,Green tea,tea,25.00,12.00,ILS\n",
    );
    let mut customers = String::from(
        "customer_id,name,language,birth_date,city,branch_id,consent_sms,email,attributes\n\
         M1,Dana Cohen,he,1985-04-12,Tel Aviv,B1,granted,,\"{\"\"pet\"\":\"\"dog\"\"}\"\n\
         M2,Eli Levi,en,1990-01-01,Haifa,B2,withdrawn,eli@example.com,\n\
         M3,Noa,fa,,Haifa,B2,,,\n",
    );
    for k in 0..60 {
        customers.push_str(&format!("F{k},Filler {k},en,,,B1,,,\n"));
    }
    import(app, ImportKind::Customers, &customers);
    let mut tx = String::from(
        "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n",
    );
    let mut line = |id: &str, who: &str, branch: &str, day: u32, sku: &str| {
        tx.push_str(&format!(
            "{id},{who},{branch},,2026-10-{day:02}T10:00:00Z,{sku},1,10.00,0,ILS\n"
        ));
    };
    for d in 1..=3 {
        line(&format!("D{d}"), "M1", "B1", d, "COF1");
        line(&format!("D{d}"), "M1", "B1", d, "CAKE");
    }
    line("E1", "M2", "B2", 5, "COF1");
    for k in 0..30 {
        line(&format!("C{k}"), &format!("F{k}"), "B1", 10, "COF1");
        line(&format!("C{k}"), &format!("F{k}"), "B1", 10, "CAKE");
    }
    for k in 30..60 {
        line(&format!("T{k}"), &format!("F{k}"), "B1", 12, "TEA1");
    }
    import(app, ImportKind::Transactions, &tx);
}

fn member_nos(app: &App, ids: &[CustomerId]) -> Vec<String> {
    let mut out: Vec<String> = ids
        .iter()
        .map(|id| app.store.get_customer(*id).unwrap().unwrap().member_no.unwrap())
        .collect();
    out.sort();
    out
}

fn members(app: &App, expr: &str) -> Vec<String> {
    let seg = Segment::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    member_nos(app, &app.evaluate_segment(&seg, None).unwrap().members)
}

fn id_of(app: &App, member: &str) -> CustomerId {
    app.store
        .lookup_customer(&Identifier::Member(member.into()))
        .unwrap()
        .unwrap()
        .id
}

#[test]
fn profile_purchase_and_offer_fields_select_the_right_customers() {
    let t = app();
    let app = &t.app;
    business(app);
    assert_eq!(members(app, r#"consent.sms and city ~ "tel""#), ["M1"]);
    assert_eq!(members(app, r#"attributes.pet = "dog""#), ["M1"]);
    assert_eq!(members(app, "email is set"), ["M2"]);
    assert_eq!(members(app, r#"language in ("he", "fa")"#), ["M1", "M3"]);
    assert_eq!(members(app, "birth_month = 4 and age >= 40"), ["M1"]);
    assert_eq!(members(app, r#"home_branch = "B2""#), ["M2", "M3"]);
    // Purchases: categories, visits, spend, dates; a customer without sales has none.
    assert_eq!(members(app, r#"visits = 0"#), ["M3"]);
    assert_eq!(members(app, "visits >= 3 and spend = 60"), ["M1"]);
    assert_eq!(
        members(app, r#"categories has "coffee" and not categories has "pastry""#),
        ["M2"]
    );
    assert_eq!(
        members(app, r#"last_purchase < 2026-10-04 and branches has "B1""#),
        ["M1"]
    );
    assert_eq!(members(app, "first_purchase is not set"), ["M3"]);
    assert_eq!(members(app, r#"categories has "tea""#).len(), 30);
    // The next best offer: Eli bought coffee but never cake, and coffee buyers buy cake.
    assert_eq!(members(app, r#"nbo = "CAKE""#), ["M2"]);
    assert_eq!(
        members(
            app,
            r#"nbo.category = "pastry" and nbo.name ~ "cheese" and nbo.score > 0"#
        ),
        ["M2"]
    );
    // Own-branch scoping.
    let b2 = app.store.branch_by_external("B2").unwrap().unwrap().id;
    let seg = Segment::parse("true").unwrap();
    let ev = app.evaluate_segment(&seg, Some(b2)).unwrap();
    assert_eq!(
        (ev.considered, member_nos(app, &ev.members)),
        (2, vec!["M2".to_string(), "M3".to_string()])
    );
}

#[test]
fn score_fields_come_from_the_latest_analysis_and_are_unknown_before_it() {
    let t = app();
    let app = &t.app;
    business(app);
    // 200 more buyers with a year of differing rhythms, so that the model has something to fit.
    let mut tx = String::from(
        "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n",
    );
    let start = jiff::Timestamp::from_second(1_738_400_000).unwrap(); // 2025-02-01
    let mut seed: u64 = 7;
    let mut rnd = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) % n) as i64
    };
    for k in 0..200 {
        let (mut day, purchases) = (rnd(120), 1 + rnd(8));
        for i in 0..purchases {
            let at = start + jiff::SignedDuration::from_hours(24 * day);
            tx.push_str(&format!("G{k}-{i},G{k},B1,,{at},,1,{}.00,0,ILS\n", 20 + rnd(50)));
            day += 3 + rnd(60);
        }
    }
    import(app, ImportKind::Transactions, &tx);
    let seg = Segment::parse(r#"stage = "prospect""#).unwrap();
    let before = app.evaluate_segment(&seg, None).unwrap();
    assert!(before.members.is_empty());
    assert_eq!(before.unknown, 263, "no analysis yet: every stage is unknown");
    assert_eq!(before.scores_as_of, None);
    let as_of: jiff::Timestamp = "2026-10-31T23:59:59Z".parse().unwrap();
    app.analyze(&AnalyzeOptions::new(as_of, PeriodUnit::Week, Model::ParetoNbd))
        .unwrap();
    let after = app.evaluate_segment(&seg, None).unwrap();
    assert_eq!(member_nos(app, &after.members), ["M3"]);
    assert_eq!(after.unknown, 0);
    assert_eq!(after.scores_as_of, Some(as_of));
    // Noa has no P(alive): neither side of a comparison on it selects her.
    let rich = app
        .evaluate_segment(&Segment::parse("p_alive >= 0.5").unwrap(), None)
        .unwrap();
    let not_rich = app
        .evaluate_segment(&Segment::parse("not p_alive >= 0.5").unwrap(), None)
        .unwrap();
    let noa = id_of(app, "M3");
    assert!(!rich.members.contains(&noa) && !not_rich.members.contains(&noa));
    assert_eq!(rich.members.len() + not_rich.members.len(), 262);
    assert_eq!(
        members(app, r#"stage != "prospect" and r between 1 and 5 and f >= 1"#).len(),
        262
    );
}

#[test]
fn saved_segments_are_checked_audited_and_resolved_by_name() {
    let t = app();
    let app = &t.app;
    business(app);
    let actor = Actor::new("marketing", app.now()).from("test");
    let saved = app
        .save_segment(
            "coffee-no-cake",
            r#"categories has "coffee" and not categories has "pastry""#,
            Some("upsell"),
            &actor,
        )
        .unwrap();
    assert_eq!(saved.updated_by, "marketing");
    app.save_segment("tea", r#"categories has "tea""#, None, &actor)
        .unwrap();
    let names: Vec<String> = app.list_segments().unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["coffee-no-cake", "tea"]);
    assert_eq!(
        app.get_segment("coffee-no-cake").unwrap().description.as_deref(),
        Some("upsell")
    );
    let seg = app.resolve_segment("coffee-no-cake").unwrap();
    assert_eq!(
        member_nos(app, &app.evaluate_segment(&seg, None).unwrap().members),
        ["M2"]
    );
    // An expression in place of a name works too.
    assert!(app.resolve_segment("visits > 2").is_ok());
    // Bad names and expressions are refused, nothing saved.
    let e = app.save_segment("bad name", "true", None, &actor).unwrap_err();
    assert!(matches!(e, SegmentError::Invalid { field: "name", .. }), "{e}");
    let e = app.save_segment("x", "clv >", None, &actor).unwrap_err();
    assert_eq!(
        e.to_string(),
        "column 6: expected a value (number, \"text\", date or true/false), found the end of the expression"
    );
    assert!(matches!(app.get_segment("x"), Err(SegmentError::NotFound(_))));
    app.delete_segment("tea", &actor).unwrap();
    assert!(matches!(
        app.delete_segment("tea", &actor),
        Err(SegmentError::NotFound(_))
    ));
    let log = app.store.audit_for_entity("segment.tea").unwrap();
    assert_eq!(
        log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["setting.update", "setting.delete"]
    );
    assert_eq!(log[0].actor, "marketing");
}

#[test]
fn templates_personalise_messages_with_the_next_best_offer() {
    let t = app();
    let app = &t.app;
    business(app);
    let seg = Segment::parse(r#"home_branch = "B2""#).unwrap();
    let out = app
        .render_for_segment(
            &seg,
            "Hi {{ customer.first_name }}{% if nbo %}, try our {{ nbo.name }} ({{ nbo.category }}){% endif %}!",
            None,
            10,
        )
        .unwrap();
    let texts: Vec<&str> = out.iter().map(|r| r.text.as_str()).collect();
    let mut sorted = texts.clone();
    sorted.sort();
    assert_eq!(sorted, ["Hi Eli, try our Cheesecake (pastry)!", "Hi Noa!"]);
    assert_eq!(
        app.render_for_segment(&seg, "x", None, 1).unwrap().len(),
        1,
        "limit holds"
    );
    // A missing value prints as nothing, not "none".
    let out = app
        .render_for_segment(
            &seg,
            "[{{ customer.city }}|{{ attributes.pet }}|{{ customer.age }}]",
            None,
            10,
        )
        .unwrap();
    let mut texts: Vec<&str> = out.iter().map(|r| r.text.as_str()).collect();
    texts.sort();
    assert_eq!(texts, ["[Haifa||36]", "[Haifa||]"]);
    let e = app
        .render_for_segment(&seg, "Hi {{ frist_name }}", None, 10)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "template: unknown variable `frist_name`; a template may use customer, nbo, score, attributes, business"
    );
    let e = app
        .render_for_segment(&seg, "line one\n{% if nbo %}never closed", None, 10)
        .unwrap_err();
    assert!(e.to_string().starts_with("template: line 2: "), "{e}");
}

#[test]
fn basket_mining_can_be_scoped_to_a_segment() {
    let t = app();
    let app = &t.app;
    business(app);
    let all = app.baskets(Level::Product, &Scope::default()).unwrap();
    let seg = Segment::parse(r#"categories has "coffee""#).unwrap();
    let scope = Scope {
        customers: Some(app.segment_members(&seg).unwrap()),
        ..Scope::default()
    };
    let coffee = app.baskets(Level::Product, &scope).unwrap();
    assert_eq!((all.len(), coffee.len()), (64, 34));
    let mut p = kesher_baskets::MineParams::new(0.1);
    p.min_confidence = 0.5;
    let rules = app.basket_rules(Level::Product, &scope, &p).unwrap();
    assert!(
        rules
            .itemsets
            .iter()
            .all(|s| s.items.iter().all(|i| rules.item_name(*i) != "TEA1"))
    );
}

#[test]
fn a_template_that_works_or_writes_without_bound_is_refused_with_the_reason() {
    let t = app();
    let app = &t.app;
    business(app);
    let seg = Segment::parse(r#"home_branch = "B2""#).unwrap();
    // A nested loop: a million steps (a few more loops and it would never end).
    let started = std::time::Instant::now();
    let nested = format!(
        "{{% set s = '{}' %}}{{% for a in s %}}{{% for b in s %}}{{% for c in s %}}{{% endfor %}}{{% endfor %}}{{% endfor %}}",
        "x".repeat(100)
    );
    let e = app.render_for_segment(&seg, &nested, None, 10).unwrap_err();
    assert!(matches!(e, SegmentError::Template { .. }), "{e}");
    assert!(e.to_string().contains("too much work"), "{e}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Little work, a great deal of text.
    let e = app
        .render_for_segment(
            &seg,
            &format!(
                "{{% for a in '{}' %}}{{{{ customer.first_name * 100 }}}}{{% endfor %}}",
                "x".repeat(2000)
            ),
            None,
            10,
        )
        .unwrap_err();
    assert!(matches!(e, SegmentError::Template { .. }), "{e}");
    assert!(e.to_string().contains("longer than"), "{e}");
    // An ordinary message stays well within both.
    let out = app
        .render_for_segment(
            &seg,
            "{% for i in 'abc' %}Hi {{ customer.first_name }}! {% endfor %}",
            None,
            10,
        )
        .unwrap();
    assert_eq!(out.len(), 2);
}

#[test]
fn the_live_count_of_a_small_business_is_exact() {
    let t = app();
    business(&t.app);
    let seg = Segment::parse("city = \"Haifa\"").unwrap();
    let e = t.app.estimate_segment(&seg, None).unwrap();
    assert!(e.exact);
    assert_eq!((e.count, e.low, e.high), (2, 2, 2));
    assert_eq!(member_nos(&t.app, &e.members), ["M2", "M3"]);
    assert_eq!(e.population, 63);
}

/// 2,000 customers, every third in Haifa: a 200-customer sample's estimate and its interval.
#[test]
fn a_sampled_estimate_is_reproducible_and_its_interval_holds_the_true_count() {
    let t = app();
    let mut customers = String::from("customer_id,name,city\n");
    for k in 0..2000 {
        let city = if k % 3 == 0 { "Haifa" } else { "Eilat" };
        customers.push_str(&format!("S{k},Someone {k},{city}\n"));
    }
    import(&t.app, ImportKind::Customers, &customers);
    let seg = Segment::parse("city = \"Haifa\"").unwrap();
    let truth = t.app.evaluate_segment(&seg, None).unwrap().members.len() as u64;
    assert_eq!(truth, 667);
    let sample = t.app.load_sample(200).unwrap();
    let e = estimate_on(&sample, None, &seg, None);
    assert!(!e.exact);
    assert_eq!((e.sampled, e.population, e.considered), (200, 2000, 2000));
    // Ids are drawn afresh each run, and so is the sample: a 95 % interval misses one run in
    // twenty. Twice its width (about four standard errors) misses one in ten thousand.
    let width = e.high - e.low;
    assert!(
        e.low.saturating_sub(width / 2) <= truth && truth <= e.high + width / 2,
        "{e:?}"
    );
    assert!(e.low <= e.count && e.count <= e.high, "{e:?}");
    // The interval of a third at n = 200 of 2,000 is about ± 6 points: ± 120 customers.
    assert!(e.high - e.low < 300, "{e:?}");
    // Members found are members, and the count is the sample's share scaled.
    assert_eq!(e.count, (e.members.len() as f64 * 10.0).round() as u64);
    let all: std::collections::HashSet<_> = t
        .app
        .evaluate_segment(&seg, None)
        .unwrap()
        .members
        .into_iter()
        .collect();
    assert!(e.members.iter().all(|m| all.contains(m)));
    // The same customers are drawn again: the ids hashing lowest.
    let again = estimate_on(&t.app.load_sample(200).unwrap(), None, &seg, None);
    assert_eq!(again, e);
    let mut hashes: Vec<u64> = Vec::new();
    t.app
        .store
        .for_each_customer(&mut |c| {
            hashes.push(sample_hash(c.id));
            Ok(())
        })
        .unwrap();
    hashes.sort_unstable();
    let mut drawn: Vec<u64> = sample.customers.iter().map(|c| sample_hash(c.id)).collect();
    drawn.sort_unstable();
    assert_eq!(drawn, hashes[..200]);
}

#[test]
fn the_wilson_interval_is_sure_of_what_the_sample_saw() {
    // No member seen: the count may still be above zero, never below.
    let (low, high) = wilson_interval(0, 100, 10_000);
    assert_eq!(low, 0);
    assert!(high > 0 && high < 10_000 / 20, "{high}");
    // Everyone a member.
    let (low, high) = wilson_interval(100, 100, 10_000);
    assert!(low > 9_000 && high == 10_000, "{low}");
    // The whole population evaluated: no uncertainty left.
    assert_eq!(wilson_interval(37, 100, 100), (37, 37));
    // Half of 16,384 sampled from 1M: about ± 0.77 points.
    let (low, high) = wilson_interval(8_192, 16_384, 1_000_000);
    assert!(
        (492_000..493_000).contains(&low) && (507_000..508_000).contains(&high),
        "{low} {high}"
    );
}

#[test]
fn an_analysis_loads_the_sample_again_with_its_scores() {
    let t = app();
    business(&t.app);
    t.app.warm_caches().unwrap();
    let before = t.app.caches.segment_sample.get().unwrap();
    assert!(before.data.scores.is_empty(), "no analysis yet");
    assert!(before.offers.get().is_some(), "the warmer computed the sample's offers");
    t.app
        .analyze(&AnalyzeOptions::new(
            "2026-10-31T23:59:59Z".parse().unwrap(),
            PeriodUnit::Week,
            Model::ParetoNbd,
        ))
        .unwrap();
    let after = t.app.caches.segment_sample.get().unwrap();
    assert!(!Arc::ptr_eq(&before, &after));
    assert_eq!(after.data.scores.len(), 63, "every customer, the prospect too");
}

#[test]
fn a_sampled_estimate_reads_the_offers_when_the_expression_names_them() {
    let t = app();
    business(&t.app);
    let sample = t.app.load_sample(20).unwrap();
    let seg = Segment::parse("nbo = \"CAKE\"").unwrap();
    let exact = t.app.evaluate_segment(&seg, None).unwrap().members;
    let e = estimate_on(&sample, Some(sample.offers(&t.app).unwrap()), &seg, None);
    assert!(!e.exact && e.sampled == 20);
    assert!(e.members.iter().all(|m| exact.contains(m)), "{e:?}");
    let drawn: HashSet<CustomerId> = sample.customers.iter().map(|c| c.id).collect();
    assert_eq!(e.members.len(), exact.iter().filter(|m| drawn.contains(m)).count());
}

#[test]
fn a_customer_page_does_not_wait_for_a_first_mining_another_caller_runs() {
    let t = app();
    business(&t.app);
    let eli = id_of(&t.app, "M2");
    {
        // The server's warmer mining the first model since the start.
        let _mining = t.app.caches.mining.lock().unwrap();
        assert_eq!(t.app.next_best_offers_if_mined(eli, 3).unwrap(), None);
    }
    // Nobody mining: the caller mines, and then the model is there for everyone.
    let offers = t.app.next_best_offers_if_mined(eli, 3).unwrap().unwrap();
    assert_eq!(offers[0].sku, "CAKE");
    let _mining = t.app.caches.mining.lock().unwrap();
    assert_eq!(t.app.next_best_offers_if_mined(eli, 3).unwrap(), Some(offers));
}
