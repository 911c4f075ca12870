//! Identify: likely duplicates with a score and reason, and merging two records.

use crate::App;
use kesher_core::{CustomerId, DuplicatePair, find_duplicates};
use kesher_store::{Actor, MergeReport, Result};

impl App {
    /// Likely duplicate pairs with a score of at least `min_score`, best first.
    pub fn duplicates(&self, min_score: f64) -> Result<Vec<DuplicatePair>> {
        let cands = self.store.duplicate_candidates()?;
        Ok(find_duplicates(&cands, min_score))
    }

    /// Merge `drop` into `keep` (one transaction, audited).
    pub fn merge(&self, keep: CustomerId, drop: CustomerId, who: &str) -> Result<MergeReport> {
        self.store
            .merge_customers(keep, drop, &Actor::new(who, self.now()).from("cli"))
    }
}
