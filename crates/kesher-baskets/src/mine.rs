//! Mining entry point: parameters, frequent itemsets and association rules, mlxtend semantics

use rayon::prelude::*;

use crate::baskets::Baskets;
use crate::error::BasketError;
use crate::fpgrowth::{self, NO_RANK, Thresholds};
use crate::hash::FxHashMap;

/// What to mine. Semantics are those of mlxtend 0.25:
/// `fpgrowth(df, min_support, use_colnames=True, max_len)` then
/// `association_rules(itemsets, metric="confidence", min_threshold=min_confidence)`.
#[derive(Debug, Clone, PartialEq)]
pub struct MineParams {
    /// Keep itemsets with `count / baskets >= min_support` (in (0, 1]).
    pub min_support: f64,
    /// Keep rules with `confidence >= min_confidence`; default 0.8, mlxtend's default
    /// `min_threshold`. 0.0 keeps every rule.
    pub min_confidence: f64,
    /// Keep rules with `lift >= min_lift` (applied after the confidence filter).
    pub min_lift: Option<f64>,
    /// Longest itemset (>= 1); rules come from itemsets, so this bounds them too.
    pub max_len: Option<usize>,
    /// Items removed before mining (as if their column were dropped from mlxtend's frame;
    /// the number of baskets does not change).
    pub exclude: Vec<String>,
    /// Mine the top-level items on the rayon pool; results do not depend on it.
    pub parallel: bool,
}

impl MineParams {
    /// Defaults: min confidence 0.8, no lift filter, no max length, nothing excluded, parallel.
    pub fn new(min_support: f64) -> Self {
        MineParams {
            min_support,
            min_confidence: 0.8,
            min_lift: None,
            max_len: None,
            exclude: Vec::new(),
            parallel: true,
        }
    }

    fn validate(&self) -> Result<(), BasketError> {
        let bad = |name, reason: String| Err(BasketError::InvalidParameter { name, reason });
        if !(self.min_support > 0.0 && self.min_support <= 1.0) {
            return bad("min_support", format!("must be in (0, 1], got {}", self.min_support));
        }
        if !self.min_confidence.is_finite() {
            return bad(
                "min_confidence",
                format!("must be a finite number, got {}", self.min_confidence),
            );
        }
        if let Some(lift) = self.min_lift
            && !lift.is_finite()
        {
            return bad("min_lift", format!("must be a finite number, got {lift}"));
        }
        if self.max_len == Some(0) {
            return bad("max_len", "must be at least 1".to_owned());
        }
        Ok(())
    }
}

/// A frequent itemset; `items` are ids into [`MineResult::items`], ascending (so in the
/// byte order of the item strings).
#[derive(Debug, Clone, PartialEq)]
pub struct Itemset {
    pub items: Vec<u32>,
    /// Number of baskets containing every item.
    pub count: u32,
    /// `count / baskets`.
    pub support: f64,
}

/// An association rule `antecedents -> consequents`, metrics as mlxtend computes them
/// from supports: confidence = sAC / sA, lift = confidence / sC, leverage = sAC - sA * sC,
/// conviction = (1 - sC) / (1 - confidence), or +inf when confidence >= 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub antecedents: Vec<u32>,
    pub consequents: Vec<u32>,
    /// Support of antecedents ∪ consequents.
    pub support: f64,
    pub antecedent_support: f64,
    pub consequent_support: f64,
    pub confidence: f64,
    pub lift: f64,
    pub leverage: f64,
    pub conviction: f64,
}

/// Itemsets and rules, in a deterministic order:
/// itemsets by support descending, then length ascending, then items (byte order of the
/// item strings, element by element); rules by confidence descending, then lift
/// descending, then support descending, then antecedents, then consequents (same item order).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MineResult {
    /// The frequent items' strings, sorted by byte order; ids index into this.
    pub items: Vec<String>,
    /// Number of baskets mined (the support denominator).
    pub baskets: usize,
    pub itemsets: Vec<Itemset>,
    pub rules: Vec<Rule>,
}

impl MineResult {
    /// The string of an item id.
    pub fn item_name(&self, id: u32) -> &str {
        self.items.get(id as usize).map_or("", String::as_str)
    }

    /// The id of an item string, if it is frequent.
    pub fn item_id(&self, name: &str) -> Option<u32> {
        self.items
            .binary_search_by(|s| s.as_str().cmp(name))
            .ok()
            .map(|i| i as u32)
    }

    /// Item strings of a list of ids.
    pub fn names<'a>(&'a self, ids: &[u32]) -> Vec<&'a str> {
        ids.iter().map(|&id| self.item_name(id)).collect()
    }
}

/// Mines frequent itemsets and association rules (see [`MineParams`] for the semantics).
pub fn mine(baskets: &Baskets, params: &MineParams) -> Result<MineResult, BasketError> {
    params.validate()?;
    let n = baskets.len();
    if n == 0 {
        return Ok(MineResult::default());
    }
    if u32::try_from(n).is_err() {
        return Err(BasketError::InvalidParameter {
            name: "baskets",
            reason: format!("at most {} baskets, got {n}", u32::MAX),
        });
    }
    let th = Thresholds::new(n, params.min_support, params.max_len);

    // Item counts, exclusions and the dense rank by descending frequency.
    let mut count = vec![0u32; baskets.item_count()];
    let mut total = 0usize;
    for basket in baskets.iter() {
        total += basket.len();
        for &id in basket {
            count[id as usize] += 1;
        }
    }
    let mut excluded = vec![false; baskets.item_count()];
    for name in &params.exclude {
        if let Some(id) = baskets.item_id(name) {
            excluded[id as usize] = true;
        }
    }
    let mut ranked: Vec<u32> = (0..baskets.item_count() as u32)
        .filter(|&id| !excluded[id as usize] && th.passes(count[id as usize]))
        .collect();
    ranked.sort_by(|&a, &b| count[b as usize].cmp(&count[a as usize]).then(a.cmp(&b)));
    let mut rank_of = vec![NO_RANK; baskets.item_count()];
    for (r, &id) in ranked.iter().enumerate() {
        rank_of[id as usize] = r as u32;
    }

    let paths = fpgrowth::ranked_paths(baskets.iter(), &rank_of, (n, total));
    let found = fpgrowth::mine_ranked(paths, ranked.len(), &th, params.parallel);

    // Final ids: the ranked items in byte order of their strings.
    let mut by_name: Vec<u32> = (0..ranked.len() as u32).collect();
    by_name.sort_by(|&a, &b| {
        let na = baskets.item_name(ranked[a as usize]).unwrap_or("");
        let nb = baskets.item_name(ranked[b as usize]).unwrap_or("");
        na.cmp(nb)
    });
    let mut final_of_rank = vec![0u32; ranked.len()];
    let mut items = Vec::with_capacity(ranked.len());
    for (f, &r) in by_name.iter().enumerate() {
        final_of_rank[r as usize] = f as u32;
        items.push(baskets.item_name(ranked[r as usize]).unwrap_or("").to_owned());
    }

    let mut itemsets = Vec::with_capacity(found.counts.len());
    let mut start = 0usize;
    for (&len, &c) in found.lens.iter().zip(&found.counts) {
        let end = start + len as usize;
        let mut ids: Vec<u32> = found.items[start..end]
            .iter()
            .map(|&r| final_of_rank[r as usize])
            .collect();
        ids.sort_unstable();
        start = end;
        itemsets.push(Itemset {
            items: ids,
            count: c,
            support: f64::from(c) / n as f64,
        });
    }
    itemsets.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.items.len().cmp(&b.items.len()))
            .then_with(|| a.items.cmp(&b.items))
    });

    let mut rules = generate_rules(&itemsets, n, params);
    rules.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(b.lift.total_cmp(&a.lift))
            .then(b.support.total_cmp(&a.support))
            .then_with(|| a.antecedents.cmp(&b.antecedents))
            .then_with(|| a.consequents.cmp(&b.consequents))
    });
    Ok(MineResult {
        items,
        baskets: n,
        itemsets,
        rules,
    })
}

/// mlxtend's `association_rules`: every split of every frequent itemset of two or more
/// items into non-empty antecedents and consequents whose supports are known.
fn generate_rules(itemsets: &[Itemset], n: usize, params: &MineParams) -> Vec<Rule> {
    let index: FxHashMap<&[u32], u32> = itemsets.iter().map(|s| (s.items.as_slice(), s.count)).collect();
    let support = |c: u32| f64::from(c) / n as f64;
    let rules_of = |set: &Itemset| -> Vec<Rule> {
        let k = set.items.len();
        let mut out = Vec::new();
        // 2^k - 2 splits; an itemset of 64 or more items cannot be enumerated (nor be mined).
        if !(2..64).contains(&k) {
            return out;
        }
        let mut ante = Vec::with_capacity(k);
        let mut cons = Vec::with_capacity(k);
        let s_ac = set.support;
        for mask in 1..(1u64 << k) - 1 {
            ante.clear();
            cons.clear();
            for (bit, &item) in set.items.iter().enumerate() {
                if mask >> bit & 1 == 1 {
                    ante.push(item);
                } else {
                    cons.push(item);
                }
            }
            let (Some(&c_a), Some(&c_c)) = (index.get(ante.as_slice()), index.get(cons.as_slice())) else {
                continue;
            };
            let s_a = support(c_a);
            let s_c = support(c_c);
            let confidence = s_ac / s_a;
            if confidence < params.min_confidence {
                continue;
            }
            let lift = confidence / s_c;
            if params.min_lift.is_some_and(|m| lift < m) {
                continue;
            }
            let conviction = if confidence < 1.0 {
                (1.0 - s_c) / (1.0 - confidence)
            } else {
                f64::INFINITY
            };
            out.push(Rule {
                antecedents: ante.clone(),
                consequents: cons.clone(),
                support: s_ac,
                antecedent_support: s_a,
                consequent_support: s_c,
                confidence,
                lift,
                leverage: s_ac - s_a * s_c,
                conviction,
            });
        }
        out
    };
    if params.parallel {
        itemsets.par_iter().flat_map_iter(rules_of).collect()
    } else {
        itemsets.iter().flat_map(rules_of).collect()
    }
}

#[cfg(test)]
mod tests;
