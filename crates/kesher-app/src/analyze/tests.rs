use super::*;
use crate::import::ImportKind;
use crate::test_support::{TestApp, app_named, import};
use kesher_store::Identifier;

fn app() -> TestApp {
    app_named("analyze")
}

/// M1..M5 with wallet estimates (or not), and 300 other buyers who start in February 2025.
fn business(app: &App) {
    let mut customers = String::from("customer_id,name,attributes\n");
    customers.push_str("M1,Dana,\"{\"\"estimated_annual_spend\"\":\"\"1000.00\"\"}\"\n");
    customers.push_str("M2,Eli,\"{\"\"estimated_annual_spend\"\":500}\"\n");
    customers.push_str("M3,Noa,\n");
    customers.push_str("M4,Avi,\"{\"\"estimated_annual_spend\"\":\"\"abc\"\"}\"\n");
    customers.push_str("M5,Rut,\"{\"\"estimated_annual_spend\"\":\"\"200.00\"\"}\"\n");
    import(app, ImportKind::Customers, &customers);
    let mut tx = String::from(
        "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n",
    );
    for (id, who, at, price) in [
        // Outside the year before as_of: not in the share of wallet.
        ("T1", "M1", "2024-05-01T10:00:00Z", "100.00"),
        ("T2", "M1", "2025-01-10T10:00:00Z", "150.00"),
        ("T3", "M1", "2025-03-15T10:00:00Z", "50.00"),
        ("T4", "M2", "2025-02-01T10:00:00Z", "125.00"),
        ("T5", "M3", "2025-04-01T10:00:00Z", "80.00"),
        ("T6", "M4", "2025-04-02T10:00:00Z", "10.00"),
    ] {
        tx.push_str(&format!("{id},{who},B1,,{at},,1,{price},0,ILS\n"));
    }
    let start = jiff::Timestamp::from_second(1_738_400_000).unwrap(); // 2025-02-01
    // A fixed pseudo-random mix of rhythms, some buyers stopping early (the models need both).
    let mut seed: u64 = 7;
    let mut rnd = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) % n) as i64
    };
    for k in 0..300 {
        let (first, purchases) = (rnd(120), 1 + rnd(8));
        let mut day = first;
        for i in 0..purchases {
            let at = start + jiff::SignedDuration::from_hours(24 * day);
            tx.push_str(&format!("F{k}-{i},F{k},B1,,{at},,1,{}.00,0,ILS\n", 20 + rnd(50)));
            day += 3 + rnd(60);
        }
    }
    import(app, ImportKind::Transactions, &tx);
}

fn score(app: &App, member: &str) -> CustomerScore {
    let c = app
        .store
        .lookup_customer(&Identifier::Member(member.into()))
        .unwrap()
        .unwrap();
    app.store.customer_score(c.id).unwrap().unwrap()
}

fn as_of() -> jiff::Timestamp {
    "2025-06-30T23:59:59Z".parse().unwrap()
}

#[test]
fn share_of_wallet_is_the_years_spend_over_the_estimate_and_unknown_without_one() {
    let t = app();
    business(&t.app);
    let r = t
        .app
        .analyze(&AnalyzeOptions::new(as_of(), PeriodUnit::Week, Model::BgNbd))
        .unwrap();
    // M1, M2 and M5 have usable estimates; M4's is not an amount.
    assert_eq!(r.wallets, 3);
    let m1 = score(&t.app, "M1");
    assert_eq!((m1.wallet, m1.share_of_wallet), (Some(100_000), Some(0.2)));
    let m2 = score(&t.app, "M2");
    assert_eq!((m2.wallet, m2.share_of_wallet), (Some(50_000), Some(0.25)));
    let m3 = score(&t.app, "M3");
    assert_eq!((m3.wallet, m3.share_of_wallet), (None, None));
    let m4 = score(&t.app, "M4");
    assert_eq!((m4.wallet, m4.share_of_wallet), (None, None));
    // A prospect with an estimate has bought nothing of it.
    let m5 = score(&t.app, "M5");
    assert_eq!(m5.stage, "prospect");
    assert_eq!((m5.wallet, m5.share_of_wallet), (Some(20_000), Some(0.0)));
}

#[test]
fn backfill_records_every_past_month_so_past_transitions_work_on_a_fresh_database() {
    let t = app();
    business(&t.app);
    let mut o = AnalyzeOptions::new(as_of(), PeriodUnit::Week, Model::BgNbd);
    // Without the flag only the month of the run is recorded.
    t.app.analyze(&o).unwrap();
    let months: std::collections::BTreeSet<String> =
        t.app.store.stage_counts().unwrap().into_iter().map(|c| c.0).collect();
    assert_eq!(months.into_iter().collect::<Vec<_>>(), vec!["2025-06".to_string()]);

    o.backfill_history = true;
    let r = t.app.analyze(&o).unwrap();
    // 2024-05 (the first purchase) to 2025-05, the month before the run's.
    assert_eq!(r.backfilled_months, 13);
    let counts = t.app.store.stage_counts().unwrap();
    let month =
        |m: &str| -> Vec<(String, u64)> { counts.iter().filter(|c| c.0 == m).map(|c| (c.1.clone(), c.2)).collect() };
    // May 2024: M1's first purchase, the only buyer then.
    assert_eq!(month("2024-05"), vec![("first_time".to_string(), 1)]);
    // December 2024: 35 weeks without a second purchase (a one-time buyer at risk after 13).
    assert_eq!(month("2024-12"), vec![("at_risk".to_string(), 1)]);
    // January 2025: the second purchase makes M1 core.
    assert_eq!(
        t.app.store.stage_transitions("2024-12", "2025-01").unwrap(),
        vec![("at_risk".to_string(), "core".to_string(), 1)]
    );
    // February 2025: the other buyers arrive, new to the history.
    let feb = t.app.store.stage_transitions("2025-01", "2025-02").unwrap();
    assert!(feb.contains(&("core".to_string(), "core".to_string(), 1)), "{feb:?}");
    assert_eq!(
        feb.iter().filter(|x| x.0 == "new").map(|x| x.2).sum::<u64>(),
        feb.iter().map(|x| x.2).sum::<u64>() - 1
    );
    // A second backfill replaces the months, it does not add to them.
    let before = t.app.store.stage_counts().unwrap();
    t.app.analyze(&o).unwrap();
    assert_eq!(t.app.store.stage_counts().unwrap(), before);
}

/// A shop whose few customers have each bought once: no purchase model has a finite optimum on
/// such data. The refresh still runs and says so; stages follow the purchase rhythm, value
/// tiers rank past revenue, and nothing model-made is invented.
#[test]
fn a_business_without_repeat_purchases_is_analysed_without_a_purchase_model() {
    let t = app();
    let mut customers = String::from("customer_id,name\n");
    let mut tx = String::from(
        "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n",
    );
    for (k, (at, price)) in [
        ("2025-06-20T10:00:00Z", "300.00"),
        ("2025-06-01T10:00:00Z", "20.00"),
        ("2025-01-15T10:00:00Z", "80.00"),
        ("2024-03-15T10:00:00Z", "50.00"),
    ]
    .into_iter()
    .enumerate()
    {
        customers.push_str(&format!("S{k},Shopper {k}\n"));
        tx.push_str(&format!("X{k},S{k},B1,,{at},,1,{price},0,ILS\n"));
    }
    import(&t.app, ImportKind::Customers, &customers);
    import(&t.app, ImportKind::Transactions, &tx);
    let r = t
        .app
        .analyze(&AnalyzeOptions::new(as_of(), PeriodUnit::Week, Model::BgNbd))
        .unwrap();
    assert_eq!((r.model, r.log_likelihood, r.params.len()), ("none", None, 0));
    let note = r.model_note.unwrap();
    for m in Model::ALL {
        assert!(note.contains(&format!("{} could not be fitted", m.name())), "{note}");
    }
    assert_eq!(r.tiers_by, "revenue");
    assert_eq!(r.buyers, 4);
    let s0 = score(&t.app, "S0");
    assert_eq!((s0.p_alive, s0.expected_purchases, s0.clv), (None, None, None));
    assert_eq!(s0.model, "none");
    // The biggest spender is the top tier; the rhythm rules place the one-time buyers by age.
    assert_eq!(s0.tier.as_deref(), Some("top"));
    assert_eq!(s0.stage, "first_time");
    assert_eq!(score(&t.app, "S3").stage, "defected");
    assert_eq!(s0.rfm.as_deref().map(str::len), Some(3));
}

/// When the model asked for cannot be fitted, the others are tried in order and the note names
/// what failed.
#[test]
fn the_purchase_model_falls_back_in_order_and_says_why() {
    // Every customer bought once: nothing fits; the note names the three in order.
    let none = [kesher_analytics::CompressedRow {
        frequency: 0,
        recency: 0.0,
        t: 10.0,
        count: 5,
    }];
    let limits = FitLimits::default();
    let fit = |m,
               rows: &[kesher_analytics::CompressedRow],
               apply: &dyn Fn(&FittedModel) -> Result<(), kesher_analytics::AnalyticsError>| {
        let r = fit_purchase_model(m, rows, &limits, limits.wall_clock, apply);
        (r.fitted, r.note)
    };
    let (f, note) = fit(Model::ParetoNbd, &none, &|_| Ok(()));
    assert!(f.is_none());
    let note = note.unwrap();
    let at = |m: Model| note.find(m.name()).unwrap();
    assert!(
        at(Model::ParetoNbd) < at(Model::BgNbd) && at(Model::BgNbd) < at(Model::ModifiedBgNbd),
        "{note}"
    );
    // Histories drawn from the BG/NBD process itself (λ ~ Gamma(1, 5), p ~ Beta(1, 3)): every
    // model fits them; each is used when asked for, without a note.
    let mut seed: u64 = 11;
    let mut uniform = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let rows: Vec<_> = (0..2000u32)
        .map(|i| {
            let lambda = -uniform().ln() / 5.0;
            let p = 1.0 - (1.0 - uniform()).powf(1.0 / 3.0);
            let t = f64::from(20 + i % 30);
            let (mut at, mut x, mut last) = (0.0, 0u32, 0.0);
            loop {
                at += -uniform().ln() / lambda;
                if at > t {
                    break;
                }
                (x, last) = (x + 1, at);
                if uniform() < p {
                    break;
                }
            }
            // Whole weeks, as the summary has them: few distinct rows.
            let recency = if x == 0 { 0.0 } else { last.ceil().min(t) };
            kesher_analytics::CompressedRow {
                frequency: x,
                recency,
                t,
                count: 1,
            }
        })
        .collect();
    for m in Model::ALL {
        let (f, note) = fit(m, &rows, &|_| Ok(()));
        assert_eq!((f.map(|(f, ())| f.model()), note), (Some(m), None));
    }
    // A fit whose predictions fail is no fit: the next model is used, and the note says why.
    let (f, note) = fit(Model::BgNbd, &rows, &|f| match f.model() {
        Model::BgNbd => Err(kesher_analytics::AnalyticsError::Numerical { what: "test" }),
        _ => Ok(()),
    });
    assert_eq!(f.map(|(f, ())| f.model()), Some(Model::ParetoNbd));
    // Two iterations per fit are not enough for any model: each is reported as having spent its
    // budget, in order, and the refresh goes on without a purchase model.
    let tight = FitLimits {
        iterations_per_fit: 2,
        ..FitLimits::default()
    };
    let r = fit_purchase_model(Model::BgNbd, &rows, &tight, tight.wall_clock, |_| Ok(()));
    assert!(r.fitted.is_none());
    let outcomes: Vec<(&str, FitOutcome)> = r.attempts.iter().map(|a| (a.model, a.outcome)).collect();
    assert_eq!(
        outcomes,
        vec![
            ("bgnbd", FitOutcome::BudgetExhausted),
            ("pareto-nbd", FitOutcome::BudgetExhausted),
            ("mbgnbd", FitOutcome::BudgetExhausted)
        ]
    );
    assert!(
        r.note
            .unwrap()
            .contains("bgnbd could not be fitted on these sales (fit budget exhausted after 2 iterations)")
    );
    // A deadline already past stops every fit before its first iteration.
    let r = fit_purchase_model(Model::BgNbd, &rows, &limits, std::time::Duration::ZERO, |_| Ok(()));
    assert!(
        r.attempts
            .iter()
            .all(|a| a.outcome == FitOutcome::BudgetExhausted && a.iterations == 0),
        "{:?}",
        r.attempts
    );
    assert_eq!(
        note.as_deref(),
        Some("bgnbd could not be fitted on these sales (numerical failure in test); pareto-nbd used instead")
    );
}

/// A repeat customer whose purchases were all free (mean repeat spend 0) does not stop the
/// spend model: Gamma-Gamma leaves that customer out and the report says so.
#[test]
fn a_repeat_customer_with_zero_spend_is_left_out_of_gamma_gamma_and_reported() {
    let t = app();
    business(&t.app);
    import(&t.app, ImportKind::Customers, "customer_id,name\nZ1,Free Rider\n");
    let mut tx = String::from(
        "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n",
    );
    for (id, at) in [
        ("Z-1", "2025-02-03T10:00:00Z"),
        ("Z-2", "2025-03-03T10:00:00Z"),
        ("Z-3", "2025-04-07T10:00:00Z"),
    ] {
        tx.push_str(&format!("{id},Z1,B1,,{at},,1,0.00,0,ILS\n"));
    }
    import(&t.app, ImportKind::Transactions, &tx);
    let r = t
        .app
        .analyze(&AnalyzeOptions::new(as_of(), PeriodUnit::Week, Model::BgNbd))
        .unwrap();
    assert!(r.spend_params.is_some(), "{:?}", r.spend_note);
    let note = r.spend_note.unwrap();
    assert!(note.contains("left out 1 repeat customers"), "{note}");
}

/// Sales with no buy-till-you-die structure: each of `sales` sales goes to a customer drawn
/// uniformly from `customers` at a time drawn uniformly over the two years before
/// [`as_of`] (no dropout, no individual rhythm). Deterministic for a `seed`.
fn structureless_sales(customers: u64, sales: u64, mut seed: u64) -> String {
    let mut rnd = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 24) % n
    };
    let end = as_of().as_second();
    let span = 2 * 365 * 86_400;
    let mut tx = String::from(
        "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n",
    );
    for k in 0..sales {
        let who = rnd(customers);
        let at = jiff::Timestamp::from_second(end - span + rnd(span as u64) as i64).unwrap();
        let price = 5 + rnd(200);
        tx.push_str(&format!("U{k},C{who},B1,,{at},,1,{price}.00,0,ILS\n"));
    }
    tx
}

/// On sales without buy-till-you-die structure (the probe's 96k customers with uniformly random
/// purchase times ran 569 s in the BG/NBD fit and stored nothing) the refresh finishes within its
/// fit budget, reports every model it tried and how each ended, names what it used instead, and
/// stores every buyer's scores.
#[test]
fn structureless_sales_are_analysed_within_the_fit_budget_and_the_fallback_is_named() {
    let t = app();
    import(
        &t.app,
        ImportKind::Transactions,
        &structureless_sales(20_000, 70_000, 3),
    );
    let mut o = AnalyzeOptions::new(as_of(), PeriodUnit::Week, Model::BgNbd);
    o.fit_budget.wall_clock = std::time::Duration::from_secs(6);
    let r = t.app.analyze(&o).unwrap();
    assert!(r.buyers > 19_000, "{}", r.buyers);
    // Every purchase model tried is reported in the documented order, up to the one used.
    let tried: Vec<&str> = r.attempts.iter().map(|a| a.model).collect();
    let used = r
        .attempts
        .iter()
        .position(|a| a.outcome == FitOutcome::Converged && a.model != "gamma-gamma");
    let expected: Vec<&str> = ["bgnbd", "pareto-nbd", "mbgnbd"]
        .into_iter()
        .take(used.map_or(3, |i| i + 1))
        .chain(["gamma-gamma"])
        .collect();
    assert_eq!(tried, expected, "{:?}", r.attempts);
    assert_eq!(r.model, used.map_or("none", |i| r.attempts[i].model));
    for a in &r.attempts[..tried.len() - 1] {
        if a.outcome != FitOutcome::Converged {
            let note = r.model_note.as_deref().unwrap();
            assert!(note.contains(&format!("{} could not be fitted", a.model)), "{note}");
            assert!(a.reason.is_some());
        }
    }
    let s = score(&t.app, "C1");
    assert_eq!(s.model, r.model);
    assert!(s.rfm.is_some() && s.tier.is_some());
}

#[test]
fn analyze_stores_the_analytics_pages_report_with_a_holdout_the_calibration_api_repeats() {
    let t = app();
    business(&t.app);
    assert!(
        t.app.analytics_report().unwrap().is_none(),
        "nothing before the first run"
    );
    let mut o = AnalyzeOptions::new(as_of(), PeriodUnit::Week, Model::BgNbd);
    o.progress_job = Some("job-1".into());
    let r = t.app.analyze(&o).unwrap();
    let page = t.app.analytics_report().unwrap().expect("stored");
    assert_eq!(page.as_of, as_of().to_string());
    assert_eq!(page.model, r.model);
    assert_eq!(page.buyers, r.buyers as u64);
    assert_eq!(page.customers, r.customers as u64);
    let params: Vec<(String, f64)> = r.params.iter().map(|(k, v)| ((*k).to_string(), *v)).collect();
    assert_eq!(page.params, params);
    assert_eq!(page.attempts.len(), r.attempts.len());
    assert!(page.seconds > 0.0);
    // Every scored buyer is in one RFM cell.
    assert_eq!(page.rfm.len(), 25);
    assert_eq!(page.rfm.iter().map(|c| c.customers).sum::<u64>(), r.buyers as u64);
    assert_eq!(
        page.tiers.iter().map(|t| t.customers).sum::<u64>(),
        r.tiers.iter().map(|t| t.1 as u64).sum::<u64>()
    );
    // The holdout: the last quarter of the span from the first purchase (2024-05-01) in weeks.
    let h = page
        .holdout
        .as_ref()
        .unwrap_or_else(|| panic!("{:?}", page.holdout_note));
    let first = PeriodUnit::Week.period_of("2024-05-01T10:00:00Z".parse::<jiff::Timestamp>().unwrap().as_second());
    let end = PeriodUnit::Week.period_of(as_of().as_second());
    assert_eq!(i64::from(h.periods), (end - first) / 4);
    let cal: jiff::Timestamp = h.calibration_end.parse().unwrap();
    let api = t.app.calibration(cal, as_of(), PeriodUnit::Week, Model::BgNbd).unwrap();
    assert_eq!(h.customers, api.customers as u64);
    assert_eq!(h.table.len(), api.table.len());
    assert_eq!(h.cumulative.len(), api.cumulative.len());
    for (mine, theirs) in h.models.iter().zip(&api.models) {
        assert_eq!(mine.model, theirs.0);
        assert!((mine.log_likelihood - theirs.1).abs() < 1e-6, "{mine:?} vs {theirs:?}");
    }
    // The sales have no SKUs: no rules, said why rather than failing the run.
    assert!(page.baskets.is_some() || page.baskets_note.is_some());
    // A run under a job recorded its steps, the last one last.
    let p = t.app.analyze_progress().unwrap().expect("recorded");
    assert_eq!(p.job.as_deref(), Some("job-1"));
    assert_eq!(p.step, "refreshing the saved segments");
    assert_eq!(p.step_no as usize, report::STEPS.len());
}

#[test]
fn the_holdout_is_left_out_when_the_sales_span_less_than_four_periods() {
    let t = app();
    import(
        &t.app,
        ImportKind::Transactions,
        "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n\
         T1,C1,B1,,2025-06-20T10:00:00Z,,1,10.00,0,ILS\nT2,C1,B1,,2025-06-27T10:00:00Z,,1,10.00,0,ILS\n\
         T3,C2,B1,,2025-06-21T10:00:00Z,,1,10.00,0,ILS\n",
    );
    t.app
        .analyze(&AnalyzeOptions::new(as_of(), PeriodUnit::Week, Model::BgNbd))
        .unwrap();
    let page = t.app.analytics_report().unwrap().unwrap();
    assert!(page.holdout.is_none());
    assert!(page.holdout_note.unwrap().contains("fewer than four periods"));
    // No job ran it: no progress recorded.
    assert!(t.app.analyze_progress().unwrap().is_none());
}
