//! Cross-sell report: for each rule, the customers who have its antecedents but not its
//! consequents, and the revenue expected if the rule's confidence held for them

use rayon::prelude::*;

use crate::mine::{MineResult, Rule};

/// One line of the cross-sell report.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossSellRow {
    /// Index into [`MineResult::rules`].
    pub rule: usize,
    /// Customers who bought every antecedent item.
    pub with_antecedents: usize,
    /// Of those, customers missing at least one consequent item.
    pub missing_consequents: usize,
    /// `missing_consequents × confidence × consequent value`, rounded to minor units.
    pub expected_incremental_minor: i64,
}

/// For each rule: how many customers have the antecedents but not the consequents, and the
/// expected incremental revenue (minor units) = that count × confidence × the average value
/// of a basket line for the consequents, as returned by `consequent_value_minor` (the caller
/// knows prices; e.g. the mean spend on the consequent items per basket that contains them).
///
/// `customers` holds each customer's item set (item strings; unknown items are ignored).
/// Rows are in descending expected revenue, then rule index.
pub fn cross_sell_report<C, S>(
    result: &MineResult,
    customers: &[C],
    consequent_value_minor: impl Fn(&Rule) -> i64 + Sync,
) -> Vec<CrossSellRow>
where
    C: AsRef<[S]>,
    S: AsRef<str>,
{
    let sets: Vec<Vec<u32>> = customers
        .iter()
        .map(|c| {
            let mut ids: Vec<u32> = c.as_ref().iter().filter_map(|s| result.item_id(s.as_ref())).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        })
        .collect();
    let mut rows: Vec<CrossSellRow> = result
        .rules
        .par_iter()
        .enumerate()
        .map(|(r, rule)| {
            let mut with = 0usize;
            let mut missing = 0usize;
            for set in &sets {
                if contains_all(set, &rule.antecedents) {
                    with += 1;
                    if !contains_all(set, &rule.consequents) {
                        missing += 1;
                    }
                }
            }
            let value = consequent_value_minor(rule) as f64;
            let expected = (missing as f64 * rule.confidence * value).round();
            CrossSellRow {
                rule: r,
                with_antecedents: with,
                missing_consequents: missing,
                // `as` saturates; a non-finite estimate becomes 0.
                expected_incremental_minor: if expected.is_finite() { expected as i64 } else { 0 },
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.expected_incremental_minor
            .cmp(&a.expected_incremental_minor)
            .then(a.rule.cmp(&b.rule))
    });
    rows
}

/// Both slices sorted ascending: is every element of `needles` in `set`?
fn contains_all(set: &[u32], needles: &[u32]) -> bool {
    let mut i = 0;
    for &n in needles {
        while i < set.len() && set[i] < n {
            i += 1;
        }
        if i == set.len() || set[i] != n {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(a: &[u32], c: &[u32], confidence: f64) -> Rule {
        Rule {
            antecedents: a.to_vec(),
            consequents: c.to_vec(),
            support: 0.1,
            antecedent_support: 0.2,
            consequent_support: 0.3,
            confidence,
            lift: 1.0,
            leverage: 0.0,
            conviction: 1.0,
        }
    }

    #[test]
    fn counts_customers_missing_the_consequent() {
        let result = MineResult {
            items: ["a", "b", "c"].map(str::to_owned).to_vec(),
            baskets: 4,
            itemsets: Vec::new(),
            rules: vec![rule(&[0], &[1], 0.5), rule(&[0, 1], &[2], 0.25)],
        };
        let customers: Vec<Vec<&str>> = vec![
            vec!["a"],
            vec!["a", "b"],
            vec!["b", "a", "zzz"],
            vec!["a", "b", "c"],
            vec!["c"],
        ];
        // 1000 minor units per consequent line for rule 0, 2000 for rule 1.
        let rows = cross_sell_report(&result, &customers, |r| if r.consequents == [1] { 1000 } else { 2000 });
        assert_eq!(
            rows,
            vec![
                CrossSellRow {
                    rule: 1,
                    with_antecedents: 3,
                    missing_consequents: 2,
                    expected_incremental_minor: 1000,
                },
                CrossSellRow {
                    rule: 0,
                    with_antecedents: 4,
                    missing_consequents: 1,
                    expected_incremental_minor: 500,
                },
            ]
        );
    }

    #[test]
    fn subset_check() {
        assert!(contains_all(&[1, 3, 5], &[1, 5]));
        assert!(contains_all(&[1, 3, 5], &[]));
        assert!(!contains_all(&[1, 3, 5], &[2]));
        assert!(!contains_all(&[1, 3], &[3, 4]));
    }
}
