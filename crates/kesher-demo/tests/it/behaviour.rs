//! The business behaves as promised: prospects, anonymous sales, BTYD dropout, bundles, duplicates

use std::collections::{HashMap, HashSet};

use crate::support::{business, config, name_key, rows, run, table};

/// Baskets as (transaction id, customer id, date, skus), refunds excluded.
fn baskets() -> Vec<(String, String, jiff::civil::Date, Vec<String>)> {
    let mut out: Vec<(String, String, jiff::civil::Date, Vec<String>)> = Vec::new();
    for t in table("transactions") {
        if !t["refund_of"].is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.0 == t["transaction_id"] => last.3.push(t["sku"].clone()),
            _ => {
                let date = t["occurred_at"][..10].parse().unwrap();
                out.push((
                    t["transaction_id"].clone(),
                    t["customer_id"].clone(),
                    date,
                    vec![t["sku"].clone()],
                ));
            }
        }
    }
    out
}

#[test]
fn prospects_and_anonymous_sales_have_the_expected_shares() {
    let s = business().stats;
    let consumers = table("customers").iter().filter(|c| c["kind"] == "consumer").count() as f64;
    let prospects = s.prospects as f64 / consumers;
    assert!((0.07..0.13).contains(&prospects), "{prospects}");
    let anonymous = s.anonymous_transactions as f64 / s.transactions as f64;
    assert!((0.06..0.10).contains(&anonymous), "{anonymous}");
    let buyers: HashSet<String> = baskets().into_iter().map(|b| b.1).filter(|c| !c.is_empty()).collect();
    assert_eq!(buyers.len() as u64, s.buyers);
    assert_eq!(s.buyers + s.prospects, s.customers);
}

#[test]
fn buyers_have_heterogeneous_histories_of_plausible_length() {
    let mut lines: HashMap<&str, u64> = HashMap::new();
    for t in table("transactions") {
        if !t["customer_id"].is_empty() {
            *lines.entry(t["customer_id"].as_str()).or_default() += 1;
        }
    }
    let mean = lines.values().sum::<u64>() as f64 / lines.len() as f64;
    assert!((15.0..=28.0).contains(&mean), "{mean} lines per buyer");
    let mut counts: HashMap<String, u64> = HashMap::new();
    for b in baskets() {
        if !b.1.is_empty() {
            *counts.entry(b.1).or_default() += 1;
        }
    }
    let n = counts.len() as f64;
    let m = counts.values().sum::<u64>() as f64 / n;
    let sd = (counts.values().map(|&c| (c as f64 - m).powi(2)).sum::<f64>() / n).sqrt();
    assert!(sd / m > 0.8, "purchase counts too uniform: mean {m}, sd {sd}");
    let once = counts.values().filter(|&&c| c == 1).count() as f64 / n;
    assert!((0.05..0.5).contains(&once), "{once} buy only once");
}

#[test]
fn some_customers_stop_buying_long_before_the_end() {
    let end = business().end;
    let mut last: HashMap<String, (u32, jiff::civil::Date)> = HashMap::new();
    for (_, c, d, _) in baskets() {
        if c.is_empty() {
            continue;
        }
        let e = last.entry(c).or_insert((0, d));
        e.0 += 1;
        e.1 = e.1.max(d);
    }
    let regular: Vec<_> = last.values().filter(|(n, _)| *n >= 3).collect();
    let gone = regular.iter().filter(|(_, d)| (end - *d).get_days() > 180).count() as f64 / regular.len() as f64;
    let active = regular.iter().filter(|(_, d)| (end - *d).get_days() < 30).count() as f64 / regular.len() as f64;
    assert!(gone > 0.1, "only {gone} of repeat buyers defected");
    assert!(active > 0.15, "only {active} of repeat buyers are still active");
    assert!(business().stats.defected > 0);
}

#[test]
fn planted_bundles_show_up_as_association_rules() {
    let bs: Vec<HashSet<String>> = baskets().into_iter().map(|b| b.3.into_iter().collect()).collect();
    let n = bs.len() as f64;
    let support = |items: &[&str]| bs.iter().filter(|b| items.iter().all(|i| b.contains(*i))).count() as f64 / n;
    let lift = |a: &str, b: &str| support(&[a, b]) / (support(&[a]) * support(&[b]));
    // Pasta night, mezze, shabbat and cleaning bundles.
    for (a, b) in [("P101", "P069"), ("P081", "P082"), ("P042", "P199"), ("P184", "P186")] {
        let l = lift(a, b);
        assert!(l > 2.0, "lift({a}, {b}) = {l}");
    }
    // An unrelated pair shows no such lift.
    let l = lift("P101", "P186");
    assert!(l < 2.0, "lift of an unrelated pair = {l}");
}

#[test]
fn traffic_has_weekly_seasonality() {
    let mut per_weekday = [0u64; 7];
    for (_, _, d, _) in baskets() {
        per_weekday[d.weekday().to_sunday_zero_offset() as usize] += 1;
    }
    // Thursday and Friday are the busy days, Monday is quiet.
    assert!(
        per_weekday[4] > per_weekday[1] && per_weekday[5] > per_weekday[1],
        "{per_weekday:?}"
    );
}

#[test]
fn refunds_return_what_the_customer_bought() {
    let mut lines: HashMap<(String, String), (String, i64)> = HashMap::new();
    for t in table("transactions") {
        lines.insert(
            (t["transaction_id"].clone(), t["sku"].clone()),
            (t["customer_id"].clone(), t["quantity"].parse().unwrap()),
        );
    }
    for t in table("transactions").iter().filter(|t| !t["refund_of"].is_empty()) {
        let (customer, qty) = &lines[&(t["refund_of"].clone(), t["sku"].clone())];
        assert_eq!(customer, &t["customer_id"]);
        assert!(-t["quantity"].parse::<i64>().unwrap() <= *qty);
    }
}

#[test]
fn satisfaction_is_lower_for_customers_who_leave() {
    let end = business().end;
    let mut last: HashMap<String, jiff::civil::Date> = HashMap::new();
    for (_, c, d, _) in baskets() {
        let e = last.entry(c).or_insert(d);
        *e = (*e).max(d);
    }
    let (mut gone, mut stay) = (Vec::new(), Vec::new());
    for i in table("interactions") {
        let Ok(s) = i["satisfaction"].parse::<f64>() else {
            continue;
        };
        match last.get(&i["customer_id"]) {
            Some(d) if (end - *d).get_days() > 180 => gone.push(s),
            Some(d) if (end - *d).get_days() < 30 => stay.push(s),
            _ => {}
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(gone.len() > 30 && stay.len() > 30);
    assert!(mean(&gone) + 0.3 < mean(&stay), "{} vs {}", mean(&gone), mean(&stay));
}

#[test]
fn names_and_texts_are_in_the_customers_language() {
    let hebrew = |s: &str| s.chars().any(|c| ('\u{05D0}'..='\u{05EA}').contains(&c));
    let persian = |s: &str| s.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c));
    let mut lang = HashMap::new();
    for c in table("customers").iter().filter(|c| c["kind"] == "consumer") {
        match c["language"].as_str() {
            "he" => assert!(hebrew(&c["name"]), "{c:?}"),
            "fa" => assert!(persian(&c["name"]), "{c:?}"),
            _ => assert!(c["name"].is_ascii(), "{c:?}"),
        }
        lang.insert(c["customer_id"].clone(), c["language"].clone());
    }
    let persian_letters = table("customers")
        .iter()
        .filter(|c| c["name"].contains('\u{06CC}') || c["name"].contains('\u{06A9}'))
        .count();
    assert!(persian_letters > 50);
    for i in table("interactions") {
        match lang.get(&i["customer_id"]).map(String::as_str) {
            Some("he") => assert!(hebrew(&i["text"])),
            Some("fa") => assert!(persian(&i["text"])),
            Some(_) => assert!(i["text"].is_ascii()),
            None => {}
        }
    }
}

#[test]
fn planted_duplicates_are_findable_by_name_and_birth_date() {
    let b = run(&config(6000, 5));
    let customers = rows(&b.raw.customers);
    let mut by_key: HashMap<(String, String), Vec<&str>> = HashMap::new();
    for c in customers.iter().filter(|c| !c["birth_date"].is_empty()) {
        by_key
            .entry((name_key(&c["name"]), c["birth_date"].clone()))
            .or_default()
            .push(&c["name"]);
    }
    let pairs = by_key.values().filter(|v| v.len() > 1).count() as u64;
    assert!(b.stats.planted_duplicates >= 15, "{}", b.stats.planted_duplicates);
    assert!(
        pairs >= b.stats.planted_duplicates * 9 / 10,
        "{pairs} pairs for {} planted",
        b.stats.planted_duplicates
    );
    // Some duplicates differ only by Arabic instead of Persian yeh/kaf.
    let arabic = by_key
        .values()
        .filter(|v| v.len() > 1 && v.iter().any(|n| n.contains('\u{064A}') || n.contains('\u{0643}')))
        .count();
    assert!(arabic >= 1);
}

#[test]
fn no_row_is_later_than_the_demos_now() {
    // Mid-morning in Israel on the last day: the history ends here, not at midnight.
    let now: jiff::Timestamp = "2025-06-30T07:30:00Z".parse().unwrap();
    let mut cfg = config(1500, 3);
    cfg.now = Some(now);
    let b = run(&cfg);
    let mut latest = jiff::Timestamp::MIN;
    for (file, column) in [
        (&b.raw.customers, "created_at"),
        (&b.raw.transactions, "occurred_at"),
        (&b.raw.interactions, "occurred_at"),
    ] {
        for r in rows(file) {
            let t: jiff::Timestamp = r[column].parse().unwrap();
            assert!(t <= now, "{column} {t} is after the demo's now {now}");
            latest = latest.max(t);
        }
    }
    assert!(
        now.duration_since(latest) < jiff::SignedDuration::from_hours(24),
        "the history reaches up to now: the latest row is {latest}"
    );
    // Refunds only of sales that were written.
    let sales: std::collections::HashSet<String> = rows(&b.raw.transactions)
        .into_iter()
        .map(|r| r["transaction_id"].clone())
        .collect();
    for r in rows(&b.raw.transactions) {
        let of = &r["refund_of"];
        assert!(
            of.is_empty() || sales.contains(of),
            "a refund of {of}, which is not there"
        );
    }
    // Without a now, the whole last day is history (as before).
    let whole = run(&config(1500, 3));
    assert!(whole.stats.transactions > b.stats.transactions);
}
