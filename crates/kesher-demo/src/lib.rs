//! Deterministic generator of a realistic demo business, written as kesher's six import CSV files
//!
//! A coffee, deli and home-goods chain with three branches (Tel Aviv and Haifa in
//! `Asia/Jerusalem`, Tehran in `Asia/Tehran`), 20 employees, 200 products in 10 categories and
//! two years of history ending on [`DemoConfig::end`]. Customers carry Hebrew, Persian or English
//! names; buyers follow a buy-till-you-die process (gamma-distributed purchase rates, a beta
//! dropout probability after each repeat purchase), baskets contain planted product bundles,
//! traffic has weekly and annual seasonality, and a share of sales is anonymous.
//!
//! The output is a pure function of the configuration: the crate reads no clock and opens no
//! file. Customers are generated twice from `(seed, index)` — once for the customers file, once
//! for transactions and interactions — so memory stays constant for any number of customers.
//!
//! Import the files in the order of [`FILES`]. The sinks need no buffering of their own: rows
//! reach them in chunks of about 64 KiB. One million customers take a few seconds and a few
//! megabytes of memory (about 22 million transaction lines, 1.8 GB of CSV).

mod calendar;
mod catalog;
mod names;
mod out;
mod people;
mod rng;
mod sales;
mod world;

use std::io::{self, Write};

use crate::catalog::{BRANCHES, CATEGORIES, EMPLOYEES};
use crate::out::{CsvOut, push_money, push_text};
use crate::world::World;

/// The six file names, in import order.
pub const FILES: [&str; 6] = [
    "branches.csv",
    "employees.csv",
    "products.csv",
    "customers.csv",
    "transactions.csv",
    "interactions.csv",
];

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    /// Number of customer records (prospects, intermediaries and internal customers included).
    pub customers: usize,
    /// Seed: the same configuration always produces byte-identical files.
    pub seed: u64,
    /// The last day of the two-year history (730 days ending here); pass today's date in
    /// `Asia/Jerusalem` so that the demo looks current.
    pub end: jiff::civil::Date,
    /// The demo's "now", on `end`'s day: no sale, refund or contact is later, and a customer
    /// registered later that day is registered at it. `None`: the whole of `end` is history.
    pub now: Option<jiff::Timestamp>,
}

impl Default for DemoConfig {
    /// 20,000 customers, seed 42, history ending on 2025-12-31 (the whole day).
    fn default() -> Self {
        DemoConfig {
            customers: 20_000,
            seed: 42,
            end: jiff::civil::date(2025, 12, 31),
            now: None,
        }
    }
}

/// One writer per file, named like the files in [`FILES`].
#[derive(Debug)]
pub struct DemoSinks<W> {
    pub branches: W,
    pub employees: W,
    pub products: W,
    pub customers: W,
    pub transactions: W,
    pub interactions: W,
}

impl<W> DemoSinks<W> {
    /// Builds the sinks by calling `open` once per name in [`FILES`], in that order.
    pub fn try_new<E>(mut open: impl FnMut(&'static str) -> Result<W, E>) -> Result<Self, E> {
        Ok(DemoSinks {
            branches: open(FILES[0])?,
            employees: open(FILES[1])?,
            products: open(FILES[2])?,
            customers: open(FILES[3])?,
            transactions: open(FILES[4])?,
            interactions: open(FILES[5])?,
        })
    }
}

/// Counts of what [`generate`] wrote (rows, not counting header rows, unless noted).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DemoStats {
    pub branches: u64,
    pub employees: u64,
    pub products: u64,
    /// All customer rows.
    pub customers: u64,
    /// Consumers registered without ever buying.
    pub prospects: u64,
    /// Distributor accounts (`kind = intermediary`).
    pub intermediaries: u64,
    /// Employees as customers (`kind = internal`).
    pub internal: u64,
    /// Consumers attached to an intermediary through `parent_id`.
    pub end_customers: u64,
    /// Records that are the same person as an earlier record (for duplicate detection).
    pub planted_duplicates: u64,
    /// Customers with at least one purchase.
    pub buyers: u64,
    /// Buyers who dropped out and bought nothing in the last 90 days of the history.
    pub defected: u64,
    /// Transactions (baskets), refunds and anonymous sales included.
    pub transactions: u64,
    /// Rows of the transactions file.
    pub transaction_lines: u64,
    /// Transactions without a customer.
    pub anonymous_transactions: u64,
    /// Refund transactions (negative quantities, `refund_of` set).
    pub refunds: u64,
    pub interactions: u64,
}

/// Writes the demo business to the six sinks (header rows included) and flushes them.
///
/// Memory use does not depend on `cfg.customers`; the only errors are the sinks' write errors.
pub fn generate<W: Write>(cfg: &DemoConfig, out: &mut DemoSinks<W>) -> io::Result<DemoStats> {
    let end = (i32::from(cfg.end.year()), cfg.end.month() as u32, cfg.end.day() as u32);
    let mut w = World::new(cfg.customers, cfg.seed, end);
    w.until = cfg.now.map_or(i64::MAX, |t| t.as_second());
    let mut stats = DemoStats::default();

    let mut f = CsvOut::new(&mut out.branches);
    f.header(&["branch_id", "name", "region", "time_zone"])?;
    for b in &BRANCHES {
        for (n, field) in [b.id, b.name, b.region, b.zone.name()].iter().enumerate() {
            if n > 0 {
                f.buf.push(b',');
            }
            push_text(&mut f.buf, field);
        }
        f.end_row()?;
    }
    f.finish()?;
    stats.branches = f.rows;

    let mut f = CsvOut::new(&mut out.employees);
    f.header(&["employee_id", "name", "branch_id"])?;
    for (id, name, branch, _) in EMPLOYEES {
        for (n, field) in [id, name, BRANCHES[branch].id].iter().enumerate() {
            if n > 0 {
                f.buf.push(b',');
            }
            push_text(&mut f.buf, field);
        }
        f.end_row()?;
    }
    f.finish()?;
    stats.employees = f.rows;

    let mut f = CsvOut::new(&mut out.products);
    f.header(&["sku", "name", "category", "list_price", "unit_cost", "currency"])?;
    for p in &w.products {
        push_text(&mut f.buf, &p.sku);
        f.buf.push(b',');
        push_text(&mut f.buf, p.name);
        f.buf.push(b',');
        push_text(&mut f.buf, CATEGORIES[p.category].name);
        f.buf.push(b',');
        push_money(&mut f.buf, p.price);
        f.buf.push(b',');
        push_money(&mut f.buf, p.cost);
        f.buf.extend_from_slice(b",ILS");
        f.end_row()?;
    }
    f.finish()?;
    stats.products = f.rows;

    let mut f = CsvOut::new(&mut out.customers);
    let (prospects, duplicates, end_customers) = people::write_customers(&w, &mut f)?;
    f.finish()?;
    stats.customers = f.rows;
    stats.prospects = prospects;
    stats.planted_duplicates = duplicates;
    stats.end_customers = end_customers;
    stats.intermediaries = w.n_intermediaries as u64;
    stats.internal = w.n_internal as u64;

    let mut tx = CsvOut::new(&mut out.transactions);
    let mut ix = CsvOut::new(&mut out.interactions);
    let s = sales::write_sales(&w, &mut tx, &mut ix)?;
    tx.finish()?;
    ix.finish()?;
    stats.buyers = s.buyers;
    stats.defected = s.defected;
    stats.transactions = s.transactions;
    stats.transaction_lines = s.lines;
    stats.anonymous_transactions = s.anonymous;
    stats.refunds = s.refunds;
    stats.interactions = s.interactions;
    Ok(stats)
}
