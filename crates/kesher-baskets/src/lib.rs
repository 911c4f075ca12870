//! Market-basket analysis for kesher: FP-growth frequent itemsets, association rules,
//! next best offers and cross-sell estimates; pure functions, no I/O, clock or randomness
//!
//! - [`Baskets`] holds baskets of item strings: [`Baskets::from_fimi_reader`] (one basket a
//!   line), [`Baskets::from_kesher_csv_reader`] (kesher's transactions CSV, rows grouped by
//!   `transaction_id`, items = `sku` or its category via [`CsvOptions`]) or
//!   [`Baskets::from_lists`] / [`Baskets::push_basket`] for baskets a caller selected by
//!   period, branch or segment.
//! - [`mine()`] runs our FP-growth and rule generation with the semantics of Python mlxtend
//!   0.25 `fpgrowth(df, min_support, use_colnames=True, max_len)` +
//!   `association_rules(itemsets, metric="confidence", min_threshold)`; the same itemsets,
//!   the same supports (count / baskets, in f64) and the same rule metrics, computed with
//!   the same floating-point operations. Checked in tests/it against reference files made
//!   by tests/fixtures/make_reference.py.
//! - [`to_json`] renders the `kesher baskets mine --json` document (conviction +inf is the
//!   string `"inf"`); [`run_mine_command`] is the whole command without clap.
//! - [`next_best_offers`] and [`cross_sell_report`] turn rules into per-customer offers and
//!   an expected-revenue report.

mod baskets;
mod command;
mod cross_sell;
mod error;
mod fpgrowth;
mod hash;
mod json;
mod mine;
mod offer;

pub use baskets::{Baskets, CsvOptions, Grouping};
pub use command::{InputFormat, read_baskets, run_mine_command};
pub use cross_sell::{CrossSellRow, cross_sell_report};
pub use error::BasketError;
pub use json::to_json;
pub use mine::{Itemset, MineParams, MineResult, Rule, mine};
pub use offer::{Aggregation, Offer, OfferParams, Purchase, next_best_offers};
