//! Basket analysis over the store's sales: frequent itemsets and association rules at the
//! product or category level, for all branches or one.

use crate::App;
use kesher_baskets::{Baskets, MineParams, MineResult, mine};
use kesher_store::StoreError;

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

impl App {
    /// The store's baskets at `level` (a product without a category counts as "uncategorised"),
    /// for one branch (external id) or all.
    pub fn baskets(&self, level: Level, branch: Option<&str>) -> Result<Baskets, StoreError> {
        let mut baskets = Baskets::new();
        self.store.for_each_basket(branch, &mut |b| {
            baskets.push_basket(b.items.iter().map(|(sku, cat)| match level {
                Level::Product => sku.as_str(),
                Level::Category => cat.as_deref().unwrap_or("uncategorised"),
            }));
        })?;
        Ok(baskets)
    }

    /// Frequent itemsets and rules over the store's sales.
    pub fn basket_rules(
        &self,
        level: Level,
        branch: Option<&str>,
        params: &MineParams,
    ) -> Result<MineResult, BasketsError> {
        let baskets = self.baskets(level, branch)?;
        Ok(mine(&baskets, params)?)
    }
}
