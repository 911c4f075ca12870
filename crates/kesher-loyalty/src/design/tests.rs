use super::*;
use jiff::civil::date;

fn ils() -> Currency {
    Currency::parse("ILS").unwrap()
}

fn customer(n: u8) -> CustomerId {
    CustomerId::from_bytes([n; 16])
}

fn day(d: i64) -> Timestamp {
    date(2026, 1, 1)
        .at(12, 0, 0, 0)
        .to_zoned(TimeZone::UTC)
        .unwrap()
        .timestamp()
        + days(d)
}

/// A sale of one line; `cost` in minor units when known.
fn sale(c: u8, d: i64, net: i64, cost: Option<i64>) -> DesignSale {
    DesignSale {
        customer: customer(c),
        at: day(d),
        currency: ils(),
        net,
        lines: vec![DesignLine {
            category: Some("wine".to_string()),
            net,
            cost,
        }],
    }
}

fn options(months: i64) -> DesignOptions {
    DesignOptions {
        currency: ils(),
        time_zone: TimeZone::UTC,
        redemption_permille: 600,
        margin_share_permille: 100,
        point_value: 1,
        months,
    }
}

#[test]
fn nearest_rank_percentiles_and_interpolated_quartiles() {
    let v: Vec<i64> = (1..=100).collect();
    assert_eq!(percentile(&v, 50), 50);
    assert_eq!(percentile(&v, 95), 95);
    assert_eq!(percentile(&v, 99), 99);
    assert_eq!(percentile(&[10, 20, 30, 40], 75), 30);
    assert_eq!(percentile(&[7], 99), 7);
    assert_eq!(percentile(&[], 50), 0);
    let g = [10.0, 20.0, 30.0, 40.0];
    assert_eq!(quantile(&g, 0.25), Some(17.5));
    assert_eq!(quantile(&g, 0.5), Some(25.0));
    assert_eq!(quantile(&g, 0.75), Some(32.5));
    assert_eq!(quantile(&[], 0.5), None);
}

#[test]
fn amounts_round_to_two_significant_digits_of_major_units() {
    assert_eq!(round_amount(ils(), 345_678), 350_000);
    assert_eq!(round_amount(ils(), 98_765), 99_000);
    assert_eq!(round_amount(ils(), 1_234), 1_200);
    assert_eq!(round_amount(ils(), 40), 100);
    assert_eq!(round_amount(ils(), 0), 0);
}

#[test]
fn parameters_are_read_exactly_and_refused_with_their_field() {
    assert_eq!(parse_share("redemption_rate", "0.6", true).unwrap(), 600);
    assert_eq!(parse_share("redemption_rate", ".125", true).unwrap(), 125);
    assert_eq!(parse_share("redemption_rate", "1", true).unwrap(), 1000);
    assert_eq!(parse_share("redemption_rate", "0", true).unwrap(), 0);
    for bad in ["1.5", "-0.1", "abc", "", "0.1234", "."] {
        let e = parse_share("redemption_rate", bad, true).unwrap_err();
        assert_eq!(
            (e.field(), e.code()),
            ("redemption_rate", "loyalty.design.parameter"),
            "{bad}"
        );
    }
    assert_eq!(
        parse_share("margin_share", "0", false).unwrap_err().field(),
        "margin_share"
    );
    assert_eq!(parse_months("12").unwrap(), 12);
    for bad in ["0", "121", "x", "-1"] {
        assert_eq!(parse_months(bad).unwrap_err().field(), "months");
    }
    assert_eq!(parse_point_value(ils(), "0.05").unwrap(), 5);
    assert_eq!(parse_point_value(ils(), "0").unwrap_err().field(), "point_value");
    assert_eq!(parse_point_value(ils(), "0.001").unwrap_err().field(), "point_value");
}

#[test]
fn repeat_rate_gaps_and_revenue_share_on_known_data() {
    // A: days 0, 10, 30 (gaps 10, 20); B: days 5, 45 (gap 40); C and D once.
    let sales = vec![
        sale(1, 0, 10_000, None),
        sale(1, 10, 10_000, None),
        sale(1, 30, 10_000, None),
        sale(2, 5, 20_000, None),
        sale(2, 45, 20_000, None),
        sale(3, 20, 100_000, None),
        sale(4, 50, 30_000, None),
    ];
    let d = design(&sales, &options(12)).unwrap();
    let r = &d.repeat;
    assert_eq!((r.buyers_year, r.repeat_buyers_year), (4, 2));
    assert_eq!(r.repeat_rate_year, 0.5);
    assert_eq!((r.buyers_all, r.repeat_buyers_all), (4, 2));
    assert_eq!(r.gaps.count, 3);
    assert_eq!(r.gaps.q1_days, Some(15.0));
    assert_eq!(r.gaps.median_days, Some(20.0));
    assert_eq!(r.gaps.q3_days, Some(30.0));
    assert_eq!(r.repeat_revenue_share_year, 0.35);
    assert_eq!(r.verdict, Verdict::Yes);
    assert!(
        r.reason.contains("50%") && r.reason.contains("median gap 20 days"),
        "{}",
        r.reason
    );
    assert!(r.rule.contains("25%") && r.rule.contains("120 days"));
    assert_eq!(d.thresholds.visits.p50, 1);
    assert_eq!(d.thresholds.visits.p75, 2);
    assert_eq!(d.thresholds.visits.p99, 3);
    // Few buyers are said.
    assert!(d.warnings.iter().any(|w| w.contains("only 4 buyers")));
}

#[test]
fn the_year_is_the_365_days_before_the_last_sale() {
    // A bought twice long ago, once in the year; B twice in the year.
    let sales = vec![
        sale(1, 0, 10_000, None),
        sale(1, 20, 10_000, None),
        sale(1, 500, 10_000, None),
        sale(2, 400, 10_000, None),
        sale(2, 600, 10_000, None),
    ];
    let d = design(&sales, &options(12)).unwrap();
    assert_eq!(d.history.year_from, day(600 - 365));
    assert_eq!((d.repeat.buyers_year, d.repeat.repeat_buyers_year), (2, 1));
    assert_eq!((d.repeat.buyers_all, d.repeat.repeat_buyers_all), (2, 2));
    assert_eq!(d.margin.revenue, 30_000);
}

#[test]
fn one_purchase_per_customer_says_no() {
    let sales: Vec<DesignSale> = (1..=40).map(|c| sale(c, i64::from(c), 5_000, Some(3_000))).collect();
    let d = design(&sales, &options(12)).unwrap();
    assert_eq!(d.repeat.verdict, Verdict::No);
    assert_eq!(d.repeat.repeat_rate_year, 0.0);
    assert_eq!(d.repeat.gaps.median_days, None);
    assert!(d.repeat.reason.contains("no customer ever bought twice"));
    assert!(d.thresholds.joining.reason.contains("too rare"));
}

#[test]
fn rare_repeat_buying_says_no_and_moderate_says_borderline() {
    // 1 of 20 came back: 5%.
    let mut sales: Vec<DesignSale> = (1..=20).map(|c| sale(c, i64::from(c), 5_000, None)).collect();
    sales.push(sale(1, 200, 5_000, None));
    assert_eq!(design(&sales, &options(12)).unwrap().repeat.verdict, Verdict::No);
    // 6 of 20 came back (30%), but after 200 days.
    for c in 2..=6 {
        sales.push(sale(c, 200 + i64::from(c), 5_000, None));
    }
    let d = design(&sales, &options(12)).unwrap();
    assert_eq!(d.repeat.repeat_rate_year, 0.3);
    assert_eq!(d.repeat.verdict, Verdict::Borderline);
}

#[test]
fn tiers_sit_at_the_spend_percentiles_with_their_shares_and_the_rate_the_margin_carries() {
    // 20 customers spending 100.00, 200.00 … 2000.00 in the year, at a cost of 60%.
    let sales: Vec<DesignSale> = (1..=20u8)
        .map(|c| sale(c, i64::from(c), i64::from(c) * 10_000, Some(i64::from(c) * 6_000)))
        .collect();
    let d = design(&sales, &options(12)).unwrap();
    let t = &d.thresholds;
    assert_eq!(
        t.spend,
        Percentiles {
            p50: 100_000,
            p75: 150_000,
            p90: 180_000,
            p95: 190_000,
            p99: 200_000
        }
    );
    let tiers: Vec<(&str, i64, u64)> = t
        .tiers
        .iter()
        .map(|x| (x.key.as_str(), x.threshold, x.customers))
        .collect();
    assert_eq!(
        tiers,
        vec![("member", 0, 14), ("silver", 150_000, 4), ("gold", 190_000, 2)]
    );
    let shares: Vec<f64> = t.tiers.iter().map(|x| x.customer_share).collect();
    assert_eq!(shares, vec![0.7, 0.2, 0.1]);
    assert!((t.tiers[0].revenue_share - 0.5).abs() < 1e-12);
    assert!((t.tiers[1].revenue_share - 6_600.0 / 21_000.0).abs() < 1e-12);
    assert!((t.tiers[2].revenue_share - 3_900.0 / 21_000.0).abs() < 1e-12);
    assert_eq!(t.joining.min_spend, None);
    assert_eq!(t.joining.premium_min_spend, 150_000);
    assert_eq!(t.joining.premium_customer_share, 0.3);
    // Margin 40%; 10% of it is 4% of revenue; over the multipliers weighted by revenue
    // (0.5 × 1 + 0.314 × 1.5 + 0.186 × 2 = 1.343) the base rate is 2.98%: 2.98 points per
    // shekel at 0.01 a point, rounded down to 2 per 1.00.
    let m = &d.margin;
    assert_eq!(
        (m.revenue, m.known_cost_revenue, m.gross_margin),
        (2_100_000, 2_100_000, Some(840_000))
    );
    assert_eq!(m.known_cost_share, 1.0);
    assert!((m.margin_rate.unwrap() - 0.4).abs() < 1e-12);
    assert!((m.affordable_rate.unwrap() - 0.04).abs() < 1e-12);
    assert!((m.base_rate.unwrap() - 0.04 / (0.5 + 1.5 * 6.6 / 21.0 + 2.0 * 3.9 / 21.0)).abs() < 1e-12);
    assert_eq!((m.earn_points, m.earn_per), (2, 100));
    assert_eq!(t.tiers[2].benefit_rate, Some(0.04));
    // The program is ready to set, and parses back.
    let json = serde_json::to_string(&d.program).unwrap();
    let p = Program::parse(&json).unwrap();
    let thresholds: Vec<i64> = p.tiers().iter().map(|x| x.threshold).collect();
    assert_eq!(thresholds, vec![0, 150_000, 190_000]);
    assert!(json.contains(r#""threshold":"1500.00""#), "{json}");
    assert!(json.contains(r#""base":{"points":2,"per":"1.00"}"#), "{json}");
}

#[test]
fn margins_per_category_count_known_costs_only() {
    let mut s = sale(1, 0, 15_000, None);
    s.lines = vec![
        DesignLine {
            category: Some("wine".to_string()),
            net: 10_000,
            cost: Some(6_000),
        },
        DesignLine {
            category: Some("coffee".to_string()),
            net: 5_000,
            cost: None,
        },
    ];
    let d = design(&[s], &options(12)).unwrap();
    let m = &d.margin;
    assert_eq!(
        (m.revenue, m.known_cost_revenue, m.gross_margin),
        (15_000, 10_000, Some(4_000))
    );
    assert!((m.known_cost_share - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(m.margin_rate, Some(0.4));
    let cats: Vec<(Option<&str>, i64, Option<i64>)> = m
        .categories
        .iter()
        .map(|c| (c.category.as_deref(), c.revenue, c.gross_margin))
        .collect();
    assert_eq!(
        cats,
        vec![(Some("coffee"), 5_000, None), (Some("wine"), 10_000, Some(4_000))]
    );
    assert!(d.warnings.iter().any(|w| w.contains("only 1 buyers")));
}

#[test]
fn no_known_cost_says_so_instead_of_a_margin() {
    let sales = vec![
        sale(1, 0, 10_000, None),
        sale(1, 30, 10_000, None),
        sale(2, 3, 5_000, None),
    ];
    let d = design(&sales, &options(12)).unwrap();
    let m = &d.margin;
    assert_eq!(
        (m.gross_margin, m.margin_rate, m.affordable_rate, m.base_rate),
        (None, None, None, None)
    );
    assert_eq!(m.known_cost_share, 0.0);
    assert!(
        m.note.contains("no sale line in the year has a known cost"),
        "{}",
        m.note
    );
    assert!(d.warnings.iter().any(|w| w.contains("no sale line has a known cost")));
    assert_eq!(d.simulation.total.gross_margin, None);
    assert_eq!(d.simulation.total.cost_share_of_margin, None);
    assert_eq!(d.simulation.within_budget, None);
    assert!(
        d.thresholds
            .tiers
            .iter()
            .all(|t| t.margin_rate.is_none() && t.affordable_rate.is_none())
    );
    assert!(render_text(&d).contains("gross margin unknown"));
}

#[test]
fn one_customer_gets_a_report() {
    let sales = vec![sale(1, 0, 10_000, Some(5_000)), sale(1, 40, 30_000, Some(15_000))];
    let d = design(&sales, &options(12)).unwrap();
    assert_eq!(d.repeat.repeat_rate_year, 1.0);
    assert_eq!(d.repeat.gaps.median_days, Some(40.0));
    // p75 and p95 are the same customer: the middle tier is left out.
    let keys: Vec<&str> = d.thresholds.tiers.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, vec!["member", "gold"]);
    assert_eq!(d.thresholds.tiers[1].threshold, 40_000);
    assert_eq!(d.simulation.customers, 1);
    Program::check(d.program.clone()).unwrap();
    assert!(render_text(&d).contains("1. Is there enough repeat buying? YES"));
}

#[test]
fn no_sales_or_only_other_currencies_is_an_error_naming_the_currency() {
    let e = design(&[], &options(12)).unwrap_err();
    assert_eq!((e.code(), e.field()), ("loyalty.design.no_sales", "currency"));
    assert!(e.to_string().contains("ILS"));
    let mut s = sale(1, 0, 10_000, None);
    s.currency = Currency::parse("USD").unwrap();
    let e = design(&[s], &options(12)).unwrap_err();
    assert_eq!(e.code(), "loyalty.design.no_sales");
}

#[test]
fn sales_at_the_edges_of_time_do_not_panic() {
    let early = DesignSale {
        at: Timestamp::MIN,
        ..sale(1, 0, 10_000, Some(1))
    };
    let late = DesignSale {
        at: Timestamp::MAX,
        ..sale(1, 0, 10_000, Some(1))
    };
    let d = design(&[early.clone(), late.clone()], &options(120)).unwrap();
    assert_eq!(d.history.sales, 2);
    let d = design(&[late], &options(1)).unwrap();
    assert_eq!(d.simulation.customers, 1);
}

fn hand_program() -> Program {
    Program::parse(
        r#"{"name": "Test", "currency": "ILS", "earning": {"base": {"points": 1, "per": "1.00"}},
            "qualification": {"by": "spend", "days": 365},
            "tiers": [{"key": "member", "name": "Member", "threshold": "0"},
                      {"key": "gold", "name": "Gold", "threshold": "100.00", "multiplier": "2"}]}"#,
    )
    .unwrap()
}

#[test]
fn the_simulation_replays_points_tiers_and_reviews_as_counted_by_hand() {
    // A: 60 (member: 60), 50 (member: 50; now 110 → gold), 30 (gold: 60) = 170.
    // B: 200 (member: 200; → gold) = 200.
    // C: 150 on day 0 (member: 150; → gold, review on day 365, run on day 366: the window
    // [day 1, day 366] holds nothing → member), 10 on day 400 (member: 10) = 160.
    let sales = [
        sale(1, 0, 6_000, Some(3_000)),
        sale(1, 10, 5_000, Some(2_500)),
        sale(1, 20, 3_000, Some(1_500)),
        sale(2, 5, 20_000, Some(10_000)),
        sale(3, 0, 15_000, Some(7_500)),
        sale(3, 400, 1_000, Some(500)),
    ];
    let mut refs: Vec<&DesignSale> = sales.iter().collect();
    refs.sort_by_key(|s| s.at);
    let s = simulate(&hand_program(), &refs, day(400), &options(24)).unwrap();
    let months: Vec<(&str, u64, i64, i64, i64)> = s
        .periods
        .iter()
        .map(|p| (p.month.as_str(), p.sales, p.points_issued, p.points_redeemed, p.cost))
        .collect();
    assert_eq!(months, vec![("2026-01", 5, 520, 312, 312), ("2027-02", 1, 10, 6, 6)]);
    assert_eq!(
        (s.total.points_issued, s.total.points_redeemed, s.total.cost),
        (530, 318, 318)
    );
    assert_eq!((s.total.revenue, s.total.gross_margin), (50_000, Some(25_000)));
    assert_eq!(s.total.cost_share_of_margin, Some(318.0 / 25_000.0));
    assert_eq!(s.within_budget, Some(true));
    assert_eq!(s.customers, 3);
    let reach: Vec<(&str, u64)> = s.tiers.iter().map(|t| (t.key.as_str(), t.customers)).collect();
    assert_eq!(reach, vec![("member", 3), ("gold", 3)]);
}

#[test]
fn the_simulation_places_members_by_the_history_before_it() {
    // E spent 120 on day 300, before the last month: at the first replayed sale (day 400) the
    // window already reaches gold, so the 10 earn 20. C's day-0 sale is out of the window.
    let sales = [
        sale(5, 300, 12_000, None),
        sale(5, 400, 1_000, None),
        sale(3, 0, 15_000, None),
    ];
    let mut refs: Vec<&DesignSale> = sales.iter().collect();
    refs.sort_by_key(|s| s.at);
    let s = simulate(&hand_program(), &refs, day(400), &options(1)).unwrap();
    assert_eq!(s.customers, 1);
    assert_eq!(s.total.points_issued, 20);
    assert_eq!(s.total.sales, 1);
    assert_eq!(s.tiers[1].share, 1.0);
    assert_eq!(
        s.from,
        day(400)
            .to_zoned(TimeZone::UTC)
            .checked_sub(1.month())
            .unwrap()
            .timestamp()
    );
}

#[test]
fn huge_spends_and_a_tiny_margin_still_give_a_program_that_checks() {
    // Customers spending far beyond the largest sale in a year, at a margin of a hair.
    let sales: Vec<DesignSale> = (1..=4u8)
        .flat_map(|c| {
            (0..30).map(move |d| {
                sale(
                    c,
                    d,
                    kesher_core::money::MAX_SALE_TOTAL,
                    Some(kesher_core::money::MAX_SALE_TOTAL - 1),
                )
            })
        })
        .collect();
    let d = design(&sales, &options(12)).unwrap();
    assert!(
        d.thresholds
            .tiers
            .iter()
            .all(|t| t.threshold <= kesher_core::money::MAX_SALE_TOTAL)
    );
    assert!(d.margin.earn_per <= crate::MAX_RATE_PER_MINOR);
    Program::check(d.program.clone()).unwrap();
}
