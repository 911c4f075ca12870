//! Basket analysis over the store's sales: frequent itemsets and association rules at the
//! product or category level, for all branches or one; each customer's next best offers.

use crate::App;
use kesher_baskets::{
    Baskets, MineParams, MineResult, OfferParams, Purchase, cross_sell_report, mine, next_best_offers,
};
use kesher_core::CustomerId;
use kesher_store::StoreError;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Mine at the product (sku) or the category level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    #[default]
    Product,
    Category,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "product" => Some(Level::Product),
            "category" => Some(Level::Category),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BasketsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Mining(#[from] kesher_baskets::BasketError),
}

impl BasketsError {
    /// The stable code a translated interface looks the message up by.
    pub fn code(&self) -> &'static str {
        match self {
            BasketsError::Store(e) => e.code(),
            BasketsError::Mining(e) => e.code(),
        }
    }
    /// The message's named arguments.
    pub fn params(&self) -> kesher_core::Params {
        match self {
            BasketsError::Store(e) => e.params(),
            BasketsError::Mining(e) => e.params(),
        }
    }
}

impl App {
    /// Every product, read page by page.
    pub fn all_products(&self) -> Result<Vec<kesher_core::Product>, StoreError> {
        kesher_store::all_pages(|offset| self.store.list_products(1000, offset))
    }

    /// The store's baskets at `level` (a product without a category counts as "uncategorised"),
    /// for one branch (external id) or all, within the period.
    pub fn baskets(&self, level: Level, scope: &Scope) -> Result<Baskets, StoreError> {
        let mut baskets = Baskets::new();
        self.store.for_each_basket(scope.branch.as_deref(), &mut |b| {
            if scope.admits(b.customer_id, b.occurred_at) {
                baskets.push_basket(b.items.iter().map(|(sku, cat)| item_of(level, sku, cat)));
            }
        })?;
        Ok(baskets)
    }

    /// Frequent itemsets and rules over the store's sales.
    pub fn basket_rules(&self, level: Level, scope: &Scope, params: &MineParams) -> Result<MineResult, BasketsError> {
        let baskets = self.baskets(level, scope)?;
        Ok(mine(&baskets, params)?)
    }

    /// For each rule, the customers who bought its antecedents but never its consequents, and the
    /// revenue expected if the rule's confidence held for them (at list prices), best first.
    pub fn cross_sell(
        &self,
        level: Level,
        scope: &Scope,
        params: &MineParams,
    ) -> Result<Vec<CrossSellView>, BasketsError> {
        let rules = self.basket_rules(level, scope, params)?;
        let mut owned: HashMap<CustomerId, Vec<String>> = HashMap::new();
        self.store.for_each_basket(scope.branch.as_deref(), &mut |b| {
            if let Some(c) = b.customer_id
                && scope.admits(b.customer_id, b.occurred_at)
            {
                let set = owned.entry(c).or_default();
                for (sku, cat) in b.items {
                    let item = item_of(level, sku, cat);
                    if !set.iter().any(|s| s == item) {
                        set.push(item.to_string());
                    }
                }
            }
        })?;
        // The value of one more purchase of an item: its list price, or a category's mean price.
        let mut prices: HashMap<String, (i64, i64)> = HashMap::new();
        for p in &self.all_products()? {
            let key = match level {
                Level::Product => p.sku.clone(),
                Level::Category => p.category.clone().unwrap_or_else(|| "uncategorised".into()),
            };
            let e = prices.entry(key).or_default();
            // Saturating: a price stored before kesher's bounds must not stop the report.
            e.0 = e.0.saturating_add(p.list_price.minor);
            e.1 += 1;
        }
        let value = |item: &str| prices.get(item).map(|(sum, n)| sum / (*n).max(1)).unwrap_or(0);
        let customers: Vec<Vec<String>> = owned.into_values().collect();
        let report = cross_sell_report(&rules, &customers, |r| {
            r.consequents
                .iter()
                .map(|i| value(rules.item_name(*i)))
                .fold(0i64, i64::saturating_add)
        });
        let names = |ids: &[u32]| ids.iter().map(|i| rules.item_name(*i).to_string()).collect::<Vec<_>>();
        Ok(report
            .into_iter()
            .filter_map(|row| {
                let r = rules.rules.get(row.rule)?;
                Some(CrossSellView {
                    antecedents: names(&r.antecedents),
                    consequents: names(&r.consequents),
                    confidence: r.confidence,
                    lift: r.lift,
                    with_antecedents: row.with_antecedents,
                    missing_consequents: row.missing_consequents,
                    expected_incremental_minor: row.expected_incremental_minor,
                })
            })
            .collect())
    }
}

/// The cross-sell report's rows for one branch and one category of offer.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossSellGroup {
    /// External id of the branch.
    pub branch: String,
    pub branch_name: String,
    /// The category of what the rule offers (the consequent's, "uncategorised" without one).
    pub category: String,
    /// Expected incremental revenue of the rows shown, minor units.
    pub expected_incremental_minor: i64,
    /// The group's best rules by expected incremental revenue.
    pub rows: Vec<CrossSellView>,
}

impl App {
    /// The cross-sell report for every branch at once, each branch's rules grouped by the
    /// category of what they offer; `top` rules per group, groups by expected revenue.
    pub fn cross_sell_by_branch_and_category(
        &self,
        level: Level,
        scope: &Scope,
        params: &MineParams,
        top: usize,
    ) -> Result<Vec<CrossSellGroup>, BasketsError> {
        let mut category: HashMap<String, String> = HashMap::new();
        for p in &self.all_products()? {
            category.insert(
                p.sku.clone(),
                p.category.clone().unwrap_or_else(|| "uncategorised".into()),
            );
        }
        let mut out = Vec::new();
        for b in self.store.list_branches()? {
            let here = Scope {
                branch: Some(b.external_id.clone()),
                ..scope.clone()
            };
            let rows = match self.cross_sell(level, &here, params) {
                Ok(r) => r,
                // A branch without sales in the period has no report, not an error.
                Err(BasketsError::Mining(_)) => continue,
                Err(e) => return Err(e),
            };
            let mut groups: std::collections::BTreeMap<String, Vec<CrossSellView>> = Default::default();
            for r in rows {
                let offer = r.consequents.first().cloned().unwrap_or_default();
                let cat = match level {
                    Level::Product => category.get(&offer).cloned().unwrap_or_else(|| "uncategorised".into()),
                    Level::Category => offer,
                };
                groups.entry(cat).or_default().push(r);
            }
            let mut these: Vec<CrossSellGroup> = groups
                .into_iter()
                .map(|(cat, mut rows)| {
                    rows.sort_by_key(|r| std::cmp::Reverse(r.expected_incremental_minor));
                    rows.truncate(top);
                    CrossSellGroup {
                        branch: b.external_id.clone(),
                        branch_name: b.name.clone(),
                        category: cat,
                        expected_incremental_minor: rows.iter().map(|r| r.expected_incremental_minor).sum(),
                        rows,
                    }
                })
                .collect();
            these.sort_by(|a, b| {
                b.expected_incremental_minor
                    .cmp(&a.expected_incremental_minor)
                    .then_with(|| a.category.cmp(&b.category))
            });
            out.extend(these);
        }
        Ok(out)
    }
}

fn item_of<'a>(level: Level, sku: &'a str, cat: &'a Option<String>) -> &'a str {
    match level {
        Level::Product => sku,
        Level::Category => cat.as_deref().unwrap_or("uncategorised"),
    }
}

/// Which sales to mine: one branch or all, and a period.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// External id of the branch.
    pub branch: Option<String>,
    /// Sales at or after this instant.
    pub since: Option<jiff::Timestamp>,
    /// Sales before this instant.
    pub until: Option<jiff::Timestamp>,
    /// Only the sales of these customers (a segment's members; anonymous sales left out).
    pub customers: Option<Arc<HashSet<CustomerId>>>,
}

impl Scope {
    pub fn contains(&self, at: jiff::Timestamp) -> bool {
        self.since.is_none_or(|s| at >= s) && self.until.is_none_or(|u| at < u)
    }

    /// Whether a basket of `customer` at `at` is in scope.
    pub fn admits(&self, customer: Option<CustomerId>, at: jiff::Timestamp) -> bool {
        self.contains(at)
            && self
                .customers
                .as_ref()
                .is_none_or(|set| customer.is_some_and(|c| set.contains(&c)))
    }
}

/// One line of the cross-sell report.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossSellView {
    pub antecedents: Vec<String>,
    pub consequents: Vec<String>,
    pub confidence: f64,
    pub lift: f64,
    /// Customers who bought every antecedent.
    pub with_antecedents: usize,
    /// Of those, customers who never bought a consequent.
    pub missing_consequents: usize,
    /// missing × confidence × the consequents' list price, minor units.
    pub expected_incremental_minor: i64,
}

/// Rules mined for next best offers, kept for `OFFER_RULES_TTL` so that a customer page does
/// not mine every basket on each request; and the segment sample the live count evaluates
/// (`crate::segments`).
#[derive(Default)]
pub(crate) struct Caches {
    offer_rules: std::sync::Mutex<Option<(jiff::Timestamp, Arc<OfferModel>)>>,
    /// Held while the offer rules are mined: one mining at a time, the others wait for its
    /// result or keep using the model they have.
    pub(crate) mining: std::sync::Mutex<()>,
    pub(crate) segment_sample: crate::segments::SampleCache,
}

/// How long mined offer rules are reused before they are mined again.
pub const OFFER_RULES_TTL: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);

/// Rules over product baskets plus each product's unit margin (major units).
pub struct OfferModel {
    pub rules: MineResult,
    pub margins: HashMap<String, f64>,
    pub names: HashMap<String, String>,
    pub categories: HashMap<String, String>,
}

/// A product a customer has not bought (or not lately) that their own purchases point to.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferView {
    pub sku: String,
    pub name: Option<String>,
    pub category: Option<String>,
    pub score: f64,
    /// The strongest rule behind it: "P1 + P2 → P3".
    pub because: Vec<String>,
    pub confidence: f64,
    pub lift: f64,
}

/// Thresholds for the offer rules: frequent enough to trust, strong enough to act on.
fn offer_params() -> MineParams {
    let mut p = MineParams::new(0.002);
    p.min_confidence = 0.2;
    p.min_lift = Some(1.2);
    p.max_len = Some(3);
    p
}

impl App {
    /// The mined offer model, from the cache when fresh. A stale one is mined again by the
    /// first caller that finds it so while any other caller keeps the stale one (no request
    /// waits for a mining another runs, except when there is no model yet); the server mines
    /// ahead of expiry (`App::warm_caches`), so its requests find a fresh model.
    pub fn offer_model(&self) -> Result<Arc<OfferModel>, BasketsError> {
        let now = self.now();
        let cached = self.cached_offer_model();
        if let Some((at, m)) = &cached {
            if now.duration_since(*at) < OFFER_RULES_TTL {
                return Ok(m.clone());
            }
            return match self.caches.mining.try_lock() {
                Ok(_mining) => self.mine_offer_model(),
                Err(_) => Ok(m.clone()),
            };
        }
        let _mining = self.caches.mining.lock();
        // Another caller may have mined while this one waited.
        if let Some((at, m)) = self.cached_offer_model()
            && self.now().duration_since(at) < OFFER_RULES_TTL
        {
            return Ok(m);
        }
        self.mine_offer_model()
    }

    /// The cached offer model and when it was mined.
    fn cached_offer_model(&self) -> Option<(jiff::Timestamp, Arc<OfferModel>)> {
        self.caches.offer_rules.lock().ok().and_then(|g| g.clone())
    }

    /// Mine the offer model again if it is missing or older than half `OFFER_RULES_TTL`.
    pub(crate) fn warm_offer_model(&self) -> Result<(), BasketsError> {
        let now = self.now();
        let half = OFFER_RULES_TTL / 2;
        if self
            .cached_offer_model()
            .is_some_and(|(at, _)| now.duration_since(at) < half)
        {
            return Ok(());
        }
        let _mining = self.caches.mining.lock();
        self.mine_offer_model().map(|_| ())
    }

    /// Mine the offer rules over every basket and cache the model (the caller holds `mining`).
    fn mine_offer_model(&self) -> Result<Arc<OfferModel>, BasketsError> {
        let now = self.now();
        let rules = self.basket_rules(Level::Product, &Scope::default(), &offer_params())?;
        let mut margins = HashMap::new();
        let mut names = HashMap::new();
        let mut categories = HashMap::new();
        for p in &self.all_products()? {
            let margin = p
                .unit_cost
                .map(|c| p.list_price.minor - c)
                .unwrap_or(p.list_price.minor);
            let scale = 10f64.powi(p.list_price.currency.exponent() as i32);
            margins.insert(p.sku.clone(), (margin.max(0) as f64) / scale);
            names.insert(p.sku.clone(), p.name.clone());
            if let Some(c) = &p.category {
                categories.insert(p.sku.clone(), c.clone());
            }
        }
        let m = Arc::new(OfferModel {
            rules,
            margins,
            names,
            categories,
        });
        if let Ok(mut guard) = self.caches.offer_rules.lock() {
            *guard = Some((now, m.clone()));
        }
        Ok(m)
    }

    /// The customer's next best offers as `next_best_offers`, or `None` when no offer model
    /// has been mined yet and another caller (the server's cache warmer, right after a start)
    /// is mining it: a page shows the customer at once rather than wait for the mining.
    pub fn next_best_offers_if_mined(
        &self,
        customer: CustomerId,
        top_k: usize,
    ) -> Result<Option<Vec<OfferView>>, BasketsError> {
        if self.cached_offer_model().is_none() {
            let Ok(_mining) = self.caches.mining.try_lock() else {
                return Ok(None);
            };
            if self.cached_offer_model().is_none() {
                self.mine_offer_model()?;
            }
        }
        self.next_best_offers(customer, top_k).map(Some)
    }

    /// The customer's next best offers: products their purchase history points to by the
    /// mined rules, weighted by margin; products bought within `repurchase_after_days` are not
    /// offered again.
    pub fn next_best_offers(&self, customer: CustomerId, top_k: usize) -> Result<Vec<OfferView>, BasketsError> {
        let model = self.offer_model()?;
        let now = self.now();
        let mut last: HashMap<String, jiff::Timestamp> = HashMap::new();
        let mut offset = 0;
        loop {
            let page = self.store.list_transactions(Some(customer), 500, offset)?;
            for t in page.items.iter().filter(|t| t.refund_of.is_none()) {
                for l in &t.lines {
                    if let Some(sku) = &l.sku {
                        let e = last.entry(sku.clone()).or_insert(t.occurred_at);
                        *e = (*e).max(t.occurred_at);
                    }
                }
            }
            offset += page.items.len() as u64;
            if page.items.is_empty() || offset >= page.total || offset >= 5000 {
                break;
            }
        }
        Ok(offers_for(
            &model,
            last.iter().map(|(sku, at)| (sku.as_str(), *at)),
            now,
            top_k,
        ))
    }
}

/// The best `top_k` offers for one customer from the mined model and the customer's own
/// purchases (each product with the time it was last bought), as of `now`.
pub(crate) fn offers_for<'a>(
    model: &OfferModel,
    last_bought: impl Iterator<Item = (&'a str, jiff::Timestamp)>,
    now: jiff::Timestamp,
    top_k: usize,
) -> Vec<OfferView> {
    let purchases: Vec<Purchase<'_>> = last_bought
        .map(|(sku, at)| Purchase {
            item: sku,
            days_since_last: u32::try_from(now.duration_since(at).as_secs().max(0) / 86_400).ok(),
        })
        .collect();
    let params = OfferParams {
        top_k,
        repurchase_after_days: Some(120),
        ..OfferParams::default()
    };
    let offers = next_best_offers(&model.rules, &purchases, &model.margins, &params);
    let names = |ids: &[u32]| {
        ids.iter()
            .map(|i| model.rules.item_name(*i).to_string())
            .collect::<Vec<_>>()
    };
    offers
        .into_iter()
        .map(|o| {
            let rule = model.rules.rules.get(o.rule);
            OfferView {
                name: model.names.get(&o.item).cloned(),
                category: model.categories.get(&o.item).cloned(),
                sku: o.item,
                score: o.score,
                because: rule.map(|r| names(&r.antecedents)).unwrap_or_default(),
                confidence: rule.map(|r| r.confidence).unwrap_or(0.0),
                lift: rule.map(|r| r.lift).unwrap_or(0.0),
            }
        })
        .collect()
}
