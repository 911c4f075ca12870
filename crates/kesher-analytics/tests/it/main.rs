//! Integration tests of kesher-analytics: published CDNOW results, lifetimes reference values,
//! the summary of the CDNOW transactions, property tests on extreme inputs.

// Helpers outside `#[test]` functions unwrap fixture data too: a broken fixture should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cdnow;
mod holdout;
mod props;
mod reference;
mod summary_props;
mod transactions;
