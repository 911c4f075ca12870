//! Rules mined from the demo CSV feed the cross-sell report and next best offers

use std::collections::HashMap;
use std::path::PathBuf;

use kesher_baskets::{
    Baskets, CsvOptions, Grouping, MineParams, OfferParams, Purchase, cross_sell_report, mine, next_best_offers,
};

fn demo() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo_baskets_3000.csv");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn offers_and_cross_sell_from_the_demo_business() {
    let text = demo();
    let baskets = Baskets::from_kesher_csv_str(&text, &CsvOptions::default()).unwrap();
    let mut params = MineParams::new(0.005);
    params.min_confidence = 0.3;
    let result = mine(&baskets, &params).unwrap();
    assert!(!result.rules.is_empty());

    let by_customer = CsvOptions {
        group_by: Grouping::Customer,
        ..CsvOptions::default()
    };
    let customers = Baskets::from_kesher_csv_str(&text, &by_customer).unwrap();
    let sets: Vec<Vec<&str>> = (0..customers.len())
        .map(|i| customers.basket_items(i).collect())
        .collect();

    let rows = cross_sell_report(&result, &sets, |_| 1_000);
    assert_eq!(rows.len(), result.rules.len());
    assert!(
        rows.windows(2)
            .all(|w| { w[0].expected_incremental_minor >= w[1].expected_incremental_minor })
    );
    for row in &rows {
        assert!(row.missing_consequents <= row.with_antecedents);
        let rule = &result.rules[row.rule];
        let expected = (row.missing_consequents as f64 * rule.confidence * 1_000.0).round() as i64;
        assert_eq!(row.expected_incremental_minor, expected);
    }

    // Every customer who got an offer: not an item they bought, explained by a rule whose
    // antecedents they all bought and whose consequents contain the item.
    let mut offered = 0;
    for set in &sets {
        let history: Vec<Purchase<'_>> = set
            .iter()
            .map(|&item| Purchase {
                item,
                days_since_last: None,
            })
            .collect();
        let offers = next_best_offers(&result, &history, &HashMap::new(), &OfferParams::default());
        assert!(offers.len() <= 3);
        for offer in &offers {
            offered += 1;
            assert!(!set.contains(&offer.item.as_str()));
            let rule = &result.rules[offer.rule];
            assert!(result.names(&rule.antecedents).iter().all(|a| set.contains(a)));
            assert!(result.names(&rule.consequents).contains(&offer.item.as_str()));
            assert!(offer.score >= offer.rule_score - 1e-12);
        }
    }
    assert!(offered > 0);
}
