//! Unit tests of mining against brute force and hand-checked examples

use super::*;

/// mlxtend's documentation example.
fn dataset() -> Baskets {
    Baskets::from_lists([
        vec!["Milk", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
        vec!["Dill", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
        vec!["Milk", "Apple", "Kidney Beans", "Eggs"],
        vec!["Milk", "Unicorn", "Corn", "Kidney Beans", "Yogurt"],
        vec!["Corn", "Onion", "Onion", "Kidney Beans", "Ice cream", "Eggs"],
    ])
}

fn named(result: &MineResult) -> Vec<(Vec<&str>, u32)> {
    let mut v: Vec<(Vec<&str>, u32)> = result
        .itemsets
        .iter()
        .map(|s| (result.names(&s.items), s.count))
        .collect();
    v.sort();
    v
}

/// Every itemset with count / n >= s, by enumeration over the basket subsets.
fn brute_force(baskets: &Baskets, s: f64, max_len: Option<usize>) -> Vec<(Vec<String>, u32)> {
    let mut counts: std::collections::BTreeMap<Vec<String>, u32> = Default::default();
    for basket in baskets.iter() {
        let mut names: Vec<String> = basket
            .iter()
            .map(|&id| baskets.item_name(id).unwrap().to_owned())
            .collect();
        names.sort();
        let k = names.len();
        for mask in 1u32..(1 << k) {
            if max_len.is_some_and(|m| mask.count_ones() as usize > m) {
                continue;
            }
            let set: Vec<String> = (0..k)
                .filter(|b| mask >> b & 1 == 1)
                .map(|b| names[b].clone())
                .collect();
            *counts.entry(set).or_default() += 1;
        }
    }
    let n = baskets.len() as f64;
    counts.into_iter().filter(|(_, c)| f64::from(*c) / n >= s).collect()
}

fn lcg_baskets(n: usize, items: u64, seed: u64) -> Baskets {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 33
    };
    let mut lists = Vec::new();
    for _ in 0..n {
        let size = 1 + next() % 7;
        // Skewed item popularity: min of two draws.
        let basket: Vec<String> = (0..size)
            .map(|_| format!("i{}", (next() % items).min(next() % items)))
            .collect();
        lists.push(basket);
    }
    Baskets::from_lists(lists)
}

#[test]
fn matches_mlxtend_documentation_example() {
    let mut params = MineParams::new(0.6);
    params.min_confidence = 0.7;
    let result = mine(&dataset(), &params).unwrap();
    assert_eq!(
        named(&result),
        vec![
            (vec!["Eggs"], 4),
            (vec!["Eggs", "Kidney Beans"], 4),
            (vec!["Eggs", "Kidney Beans", "Onion"], 3),
            (vec!["Eggs", "Onion"], 3),
            (vec!["Kidney Beans"], 5),
            (vec!["Kidney Beans", "Milk"], 3),
            (vec!["Kidney Beans", "Onion"], 3),
            (vec!["Kidney Beans", "Yogurt"], 3),
            (vec!["Milk"], 3),
            (vec!["Onion"], 3),
            (vec!["Yogurt"], 3),
        ]
    );
    // mlxtend's association_rules(metric="confidence", min_threshold=0.7) gives 12 rules.
    assert_eq!(result.rules.len(), 12);
    let first = &result.rules[0];
    assert_eq!(result.names(&first.antecedents), ["Kidney Beans", "Onion"]);
    assert_eq!(result.names(&first.consequents), ["Eggs"]);
    assert_eq!(first.confidence, 1.0);
    assert_eq!(first.lift, 1.25);
    assert_eq!(first.conviction, f64::INFINITY);
    let onion_eggs = result
        .rules
        .iter()
        .find(|r| result.names(&r.antecedents) == ["Eggs"] && result.names(&r.consequents) == ["Onion"])
        .unwrap();
    assert_eq!(onion_eggs.confidence, 0.6 / 0.8);
    assert_eq!(onion_eggs.lift, 0.6 / 0.8 / 0.6);
    assert_eq!(onion_eggs.leverage, 0.6 - 0.8 * 0.6);
    assert_eq!(onion_eggs.conviction, (1.0 - 0.6) / (1.0 - 0.6 / 0.8));
}

#[test]
fn equals_brute_force_at_every_support_and_length() {
    let baskets = lcg_baskets(400, 24, 7);
    for s in [0.01, 0.02, 0.05, 0.1, 0.3] {
        for max_len in [None, Some(1), Some(2), Some(3)] {
            for parallel in [false, true] {
                let mut params = MineParams::new(s);
                params.max_len = max_len;
                params.parallel = parallel;
                params.min_confidence = 0.0;
                let result = mine(&baskets, &params).unwrap();
                let got: Vec<(Vec<String>, u32)> = named(&result)
                    .into_iter()
                    .map(|(v, c)| (v.into_iter().map(str::to_owned).collect(), c))
                    .collect();
                assert_eq!(got, brute_force(&baskets, s, max_len), "s={s} {max_len:?}");
                // Every split of every itemset is a rule at confidence 0.
                let expected: usize = result.itemsets.iter().map(|s| (1usize << s.items.len()) - 2).sum();
                assert_eq!(result.rules.len(), expected);
            }
        }
    }
}

#[test]
fn single_path_database() {
    // Nested baskets make a single-path tree: every combination is frequent.
    let baskets = Baskets::from_lists([vec!["a", "b", "c"], vec!["a", "b"], vec!["a"]]);
    let mut params = MineParams::new(0.3);
    params.min_confidence = 0.0;
    let result = mine(&baskets, &params).unwrap();
    assert_eq!(
        named(&result),
        vec![
            (vec!["a"], 3),
            (vec!["a", "b"], 2),
            (vec!["a", "b", "c"], 1),
            (vec!["a", "c"], 1),
            (vec!["b"], 2),
            (vec!["b", "c"], 1),
            (vec!["c"], 1),
        ]
    );
    params.max_len = Some(2);
    assert_eq!(mine(&baskets, &params).unwrap().itemsets.len(), 6);
}

#[test]
fn excluded_items_vanish_but_still_count_baskets() {
    let mut params = MineParams::new(0.6);
    params.exclude = vec!["Kidney Beans".to_owned(), "Not an item".to_owned()];
    let result = mine(&dataset(), &params).unwrap();
    assert_eq!(
        named(&result),
        vec![
            (vec!["Eggs"], 4),
            (vec!["Eggs", "Onion"], 3),
            (vec!["Milk"], 3),
            (vec!["Onion"], 3),
            (vec!["Yogurt"], 3),
        ]
    );
    assert_eq!(result.itemsets[0].support, 0.8);
}

#[test]
fn rule_filters() {
    let mut params = MineParams::new(0.6);
    params.min_confidence = 0.0;
    let all = mine(&dataset(), &params).unwrap();
    assert_eq!(all.rules.len(), 5 * 2 + 6);
    params.min_lift = Some(1.1);
    let lifted = mine(&dataset(), &params).unwrap();
    assert!(!lifted.rules.is_empty());
    assert!(lifted.rules.iter().all(|r| r.lift >= 1.1));
    assert!(lifted.rules.len() < all.rules.len());
    // Sorted by confidence, then lift, descending.
    assert!(all.rules.windows(2).all(|w| w[0].confidence >= w[1].confidence));
}

#[test]
fn order_is_deterministic() {
    let baskets = lcg_baskets(300, 20, 3);
    let mut params = MineParams::new(0.02);
    params.min_confidence = 0.1;
    let a = mine(&baskets, &params).unwrap();
    params.parallel = false;
    let b = mine(&baskets, &params).unwrap();
    assert_eq!(a, b);
    assert!(a.itemsets.windows(2).all(|w| w[0].count >= w[1].count));
}

#[test]
fn rejects_bad_parameters() {
    let b = dataset();
    for (params, message) in [
        (MineParams::new(0.0), "parameter min_support: must be in (0, 1], got 0"),
        (
            MineParams::new(1.5),
            "parameter min_support: must be in (0, 1], got 1.5",
        ),
        (
            MineParams::new(f64::NAN),
            "parameter min_support: must be in (0, 1], got NaN",
        ),
        (
            MineParams {
                max_len: Some(0),
                ..MineParams::new(0.5)
            },
            "parameter max_len: must be at least 1",
        ),
        (
            MineParams {
                min_confidence: f64::NAN,
                ..MineParams::new(0.5)
            },
            "parameter min_confidence: must be a finite number, got NaN",
        ),
    ] {
        assert_eq!(mine(&b, &params).unwrap_err().to_string(), message);
    }
}

#[test]
fn empty_input_mines_nothing() {
    let result = mine(&Baskets::new(), &MineParams::new(0.5)).unwrap();
    assert!(result.itemsets.is_empty() && result.rules.is_empty());
}

/// 0.07 * 100 = 7.000000000000001 in f64: mlxtend keeps items with 7 / 100 >= 0.07, but its
/// conditional trees need ceil(7.000000000000001) = 8, so a pair seen 7 times is dropped,
/// unless the whole tree is a single path (outputs checked with mlxtend 0.25).
#[test]
fn pairs_need_mlxtend_integer_minsup_while_items_use_the_fraction() {
    let mut lists: Vec<Vec<&str>> = Vec::new();
    lists.extend(std::iter::repeat_n(vec!["a", "b"], 7));
    lists.extend(std::iter::repeat_n(vec!["c", "d"], 9));
    lists.extend(std::iter::repeat_n(vec!["a", "c"], 2));
    lists.extend(std::iter::repeat_n(vec!["x"], 82));
    let result = mine(&Baskets::from_lists(lists), &MineParams::new(0.07)).unwrap();
    assert_eq!(
        named(&result),
        vec![
            (vec!["a"], 9),
            (vec!["b"], 7),
            (vec!["c"], 11),
            (vec!["c", "d"], 9),
            (vec!["d"], 9),
            (vec!["x"], 82),
        ]
    );

    let mut lists: Vec<Vec<&str>> = Vec::new();
    lists.extend(std::iter::repeat_n(vec!["a", "b"], 7));
    lists.extend(std::iter::repeat_n(vec!["x"], 93));
    let result = mine(&Baskets::from_lists(lists), &MineParams::new(0.07)).unwrap();
    assert_eq!(named(&result), vec![(vec!["a"], 7), (vec!["b"], 7), (vec!["x"], 93)]);

    // A single-path tree yields every combination, checked with the fraction only.
    let mut lists: Vec<Vec<&str>> = Vec::new();
    lists.extend(std::iter::repeat_n(vec!["a", "b"], 7));
    lists.extend(std::iter::repeat_n(Vec::new(), 93));
    let result = mine(&Baskets::from_lists(lists), &MineParams::new(0.07)).unwrap();
    assert_eq!(
        named(&result),
        vec![(vec!["a"], 7), (vec!["a", "b"], 7), (vec!["b"], 7)]
    );
}
