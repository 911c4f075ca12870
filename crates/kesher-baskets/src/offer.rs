//! Next best offer: score the items a customer has not bought (or not recently) by the
//! rules their own purchases fire, weighted by margin

use std::collections::HashMap;

use crate::mine::MineResult;

/// One item in a customer's history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Purchase<'a> {
    /// The item string, as in the mined baskets (a sku or a category).
    pub item: &'a str,
    /// Days since the customer last bought it, if known.
    pub days_since_last: Option<u32>,
}

/// How the rules that point to one item are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aggregation {
    /// Sum of the rule scores: many weak signals add up.
    #[default]
    Sum,
    /// The strongest rule only.
    Max,
}

/// Scoring knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferParams {
    /// How many offers to return.
    pub top_k: usize,
    pub aggregation: Aggregation,
    /// An item bought more than this many days ago may be offered again; `None` (or an
    /// unknown age) means an item once bought is never offered.
    pub repurchase_after_days: Option<u32>,
    /// Margin of items absent from the margin map.
    pub default_margin: f64,
}

impl Default for OfferParams {
    fn default() -> Self {
        OfferParams {
            top_k: 3,
            aggregation: Aggregation::Sum,
            repurchase_after_days: None,
            default_margin: 1.0,
        }
    }
}

/// One recommended item, with the rule that explains it.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub item: String,
    /// Aggregated rule score × margin.
    pub score: f64,
    /// Index into [`MineResult::rules`] of the strongest rule that fired for this item.
    pub rule: usize,
    /// That rule's score, confidence × lift.
    pub rule_score: f64,
}

/// Scores the items the customer may be offered and returns the best `top_k`.
///
/// A rule fires when the customer bought every antecedent item (at any time). Its score is
/// confidence × lift and it counts towards each consequent item that is eligible: never
/// bought, or bought more than `repurchase_after_days` ago. An item's score is the sum
/// (or max) of its rules' scores times its margin (`margins`, else `default_margin`).
/// Only positive, finite scores are offered; order: score descending, then item string.
pub fn next_best_offers(
    result: &MineResult,
    purchases: &[Purchase<'_>],
    margins: &HashMap<String, f64>,
    params: &OfferParams,
) -> Vec<Offer> {
    #[derive(Clone, Copy, PartialEq)]
    enum Owned {
        No,
        Recent,
        Stale,
    }
    let mut owned = vec![Owned::No; result.items.len()];
    for p in purchases {
        let Some(id) = result.item_id(p.item) else {
            continue;
        };
        let stale = matches!(
            (params.repurchase_after_days, p.days_since_last),
            (Some(limit), Some(days)) if days > limit
        );
        let slot = &mut owned[id as usize];
        // A recent purchase of the same item wins over an old one.
        if !stale || *slot == Owned::No {
            *slot = if stale { Owned::Stale } else { Owned::Recent };
        }
    }
    // Per item: aggregated score, best rule and its score.
    let mut acc: Vec<Option<(f64, usize, f64)>> = vec![None; result.items.len()];
    for (r, rule) in result.rules.iter().enumerate() {
        if !rule.antecedents.iter().all(|&a| owned[a as usize] != Owned::No) {
            continue;
        }
        let score = rule.confidence * rule.lift;
        if !score.is_finite() {
            continue;
        }
        for &c in &rule.consequents {
            if owned[c as usize] == Owned::Recent {
                continue;
            }
            let entry = &mut acc[c as usize];
            *entry = Some(match *entry {
                None => (score, r, score),
                Some((total, best, best_score)) => {
                    let total = match params.aggregation {
                        Aggregation::Sum => total + score,
                        Aggregation::Max => total.max(score),
                    };
                    if score > best_score {
                        (total, r, score)
                    } else {
                        (total, best, best_score)
                    }
                }
            });
        }
    }
    let mut offers: Vec<Offer> = acc
        .iter()
        .enumerate()
        .filter_map(|(id, entry)| {
            let (total, rule, rule_score) = (*entry)?;
            let item = result.item_name(id as u32);
            let margin = margins.get(item).copied().unwrap_or(params.default_margin);
            let score = total * margin;
            (score.is_finite() && score > 0.0).then(|| Offer {
                item: item.to_owned(),
                score,
                rule,
                rule_score,
            })
        })
        .collect();
    offers.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.item.cmp(&b.item)));
    offers.truncate(params.top_k);
    offers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::Rule;

    fn rule(a: &[u32], c: &[u32], confidence: f64, lift: f64) -> Rule {
        Rule {
            antecedents: a.to_vec(),
            consequents: c.to_vec(),
            support: 0.1,
            antecedent_support: 0.2,
            consequent_support: 0.3,
            confidence,
            lift,
            leverage: 0.0,
            conviction: 1.0,
        }
    }

    /// items: 0 beans, 1 filter, 2 grinder, 3 milk, 4 mug
    fn result() -> MineResult {
        MineResult {
            items: ["beans", "filter", "grinder", "milk", "mug"]
                .map(str::to_owned)
                .to_vec(),
            baskets: 10,
            itemsets: Vec::new(),
            rules: vec![
                rule(&[0], &[1], 0.5, 2.0),    // beans -> filter: 1.0
                rule(&[0], &[2], 0.4, 3.0),    // beans -> grinder: 1.2
                rule(&[3], &[1], 0.6, 1.5),    // milk -> filter: 0.9
                rule(&[0, 3], &[4], 0.9, 1.0), // beans, milk -> mug: 0.9
                rule(&[4], &[0], 0.9, 5.0),    // mug -> beans: does not fire
            ],
        }
    }

    fn bought(items: &[&'static str]) -> Vec<Purchase<'static>> {
        items
            .iter()
            .map(|&item| Purchase {
                item,
                days_since_last: Some(10),
            })
            .collect()
    }

    #[test]
    fn sums_fired_rules_and_explains_with_the_strongest() {
        let offers = next_best_offers(
            &result(),
            &bought(&["beans", "milk"]),
            &HashMap::new(),
            &OfferParams::default(),
        );
        let got: Vec<(&str, f64, usize)> = offers.iter().map(|o| (o.item.as_str(), o.score, o.rule)).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, "filter");
        assert!((got[0].1 - 1.9).abs() < 1e-12);
        assert_eq!(got[0].2, 0);
        assert_eq!((got[1].0, got[1].2), ("grinder", 1));
        assert_eq!((got[2].0, got[2].2), ("mug", 3));
    }

    #[test]
    fn max_aggregation_and_margins() {
        let margins: HashMap<String, f64> = [("grinder".to_owned(), 2.0), ("mug".to_owned(), 0.0)].into();
        let params = OfferParams {
            top_k: 10,
            aggregation: Aggregation::Max,
            ..OfferParams::default()
        };
        let offers = next_best_offers(&result(), &bought(&["beans", "milk"]), &margins, &params);
        let got: Vec<(&str, f64)> = offers.iter().map(|o| (o.item.as_str(), o.score)).collect();
        // grinder 1.2 × 2, filter max(1.0, 0.9); the mug has zero margin.
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "grinder");
        assert!((got[0].1 - 2.4).abs() < 1e-12);
        assert_eq!(got[1].0, "filter");
        assert!((got[1].1 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bought_items_are_offered_again_only_when_stale() {
        let mut history = bought(&["beans", "filter"]);
        let none = next_best_offers(&result(), &history, &HashMap::new(), &OfferParams::default());
        assert_eq!(none.iter().map(|o| o.item.as_str()).collect::<Vec<_>>(), ["grinder"]);
        history[1].days_since_last = Some(90);
        let params = OfferParams {
            repurchase_after_days: Some(60),
            ..OfferParams::default()
        };
        let again = next_best_offers(&result(), &history, &HashMap::new(), &params);
        assert_eq!(
            again.iter().map(|o| o.item.as_str()).collect::<Vec<_>>(),
            ["grinder", "filter"]
        );
        // Unknown items in the history and top_k = 0 are harmless.
        let history = bought(&["caviar"]);
        assert!(next_best_offers(&result(), &history, &HashMap::new(), &params).is_empty());
        let zero = OfferParams {
            top_k: 0,
            ..OfferParams::default()
        };
        assert!(next_best_offers(&result(), &bought(&["beans"]), &HashMap::new(), &zero).is_empty());
    }
}
