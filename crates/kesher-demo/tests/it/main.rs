//! Integration tests of the demo generator: the CSV contract of docs/import-formats.md and the
//! behaviour the demo business promises (BTYD dropout, bundles, anonymous sales, duplicates)

// Test helpers outside `#[test]` functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod behaviour;
mod contract;
mod support;
