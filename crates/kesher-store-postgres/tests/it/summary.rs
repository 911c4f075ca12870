//! The per-customer summary computed inside PostgreSQL equals the analytics' in-process summary
//! over the same sales.

use crate::{TestDb, actor};
use kesher_analytics::{CustomerSummary, PeriodUnit, SummaryConfig, Transaction as Purchase, summarize};
use kesher_app::analyze::summary_from_store;
use kesher_app::contract::seed_reference;
use kesher_core::{Currency, Customer, CustomerId, Line, Money, Product, ProductId, Transaction, TransactionId};
use kesher_store::{Store, SummaryPeriod, SummaryRequest};
use uuid::Uuid;

/// A small deterministic generator (SplitMix64).
pub(crate) struct Rng(u64);
impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Customers with scattered ids, sales over two years at awkward instants (UTC midnight to the
/// microsecond, the last microsecond of a day, Sunday night / Monday morning), lines with and
/// without a known cost, amount-only lines, refunds, anonymous sales and a merge. Returns the
/// number of sales written.
pub(crate) fn load_sample(db: &TestDb, customers: u64) -> usize {
    let app = kesher_app::App::new(std::sync::Arc::new(db.store()), kesher_app::Settings::default());
    let store = db.store();
    let s: &dyn Store = &store;
    let (b, _, p1) = seed_reference(s);
    let p2 = Product {
        id: ProductId(Uuid::from_u128(0xC0FFEE)),
        sku: "P2".into(),
        name: "Cups".into(),
        category: Some("Ware".into()),
        list_price: Money::new(1250, Currency::parse("ILS").unwrap()),
        unit_cost: None,
    };
    s.insert_product(&p2).unwrap();
    let mut rng = Rng(42);
    let mut ids = Vec::new();
    let mut imp = s.begin_import().unwrap();
    for n in 0..customers {
        let id = CustomerId(Uuid::from_u128(u128::from(rng.next()) << 64 | u128::from(n)));
        let c = Customer::bare(id, Some(format!("M{n}")), "2022-12-01T00:00:00Z".parse().unwrap());
        imp.insert_customer(&c).unwrap();
        ids.push(id);
    }
    let start = jiff::Timestamp::from_second(1_672_531_200).unwrap(); // 2023-01-01T00:00:00Z (a Sunday)
    let mut written = 0;
    let mut sales: Vec<TransactionId> = Vec::new();
    for k in 0..customers * 8 {
        let who = match rng.below(20) {
            0 => None,
            _ => Some(ids[rng.below(customers) as usize]),
        };
        let day = rng.below(730) as i64;
        let micros: i64 = match rng.below(6) {
            0 => 0,
            1 => 86_400_000_000 - 1,
            2 => rng.below(1_000_000) as i64,
            _ => rng.below(86_400_000_000) as i64,
        };
        let at = start
            .checked_add(jiff::SignedDuration::from_micros(day * 86_400_000_000 + micros))
            .unwrap();
        let refund = !sales.is_empty() && rng.below(25) == 0;
        let lines: Vec<Line> = (0..1 + rng.below(3))
            .map(|_| {
                let (product_id, sku) = match rng.below(8) {
                    0 => (None, None),
                    1 => (Some(p2.id), Some("P2".to_string())),
                    _ => (Some(p1), Some("P1".to_string())),
                };
                let q = 1 + rng.below(3) as i64;
                Line {
                    product_id,
                    sku,
                    quantity: if refund { -q } else { q },
                    unit_price: 100 + rng.below(20_000) as i64,
                    discount: 0,
                }
            })
            .collect();
        let t = Transaction {
            id: TransactionId(Uuid::from_u128(0xABCD_0000_0000 + u128::from(k))),
            external_id: format!("S{k}"),
            customer_id: who,
            branch_id: b,
            employee_id: None,
            occurred_at: at,
            currency: Currency::parse("ILS").unwrap(),
            lines,
            refund_of: refund.then(|| sales[rng.below(sales.len() as u64) as usize]),
        };
        imp.insert_transaction(&t).unwrap();
        if !refund {
            sales.push(t.id);
        }
        written += 1;
    }
    imp.commit().unwrap();
    // The second customer's sales now count under the first.
    app.merge_customers(ids[0], ids[1], &actor()).unwrap();
    written
}

/// `summarize` over `for_each_purchase`, as `App::analyze` does.
pub(crate) fn in_process(s: &dyn Store, cfg: &SummaryConfig) -> Vec<CustomerSummary<CustomerId>> {
    let mut txs = Vec::new();
    s.for_each_purchase(&mut |p| {
        let at = p.occurred_at.as_second();
        if at <= cfg.observation_end {
            txs.push(Purchase {
                customer: p.customer_id,
                at,
                amount_minor: p.amount,
                cost_minor: p.cost,
            });
        }
    })
    .unwrap();
    summarize(txs, cfg).unwrap()
}

pub(crate) fn pushed_down(s: &dyn Store, cfg: &SummaryConfig) -> Vec<CustomerSummary<CustomerId>> {
    let req = SummaryRequest {
        period: match cfg.unit {
            PeriodUnit::Day => SummaryPeriod::Day,
            PeriodUnit::Week => SummaryPeriod::Week,
        },
        observation_end: cfg.observation_end,
        calibration_end: cfg.calibration_end,
    };
    let mut out = Vec::new();
    assert!(
        s.purchase_summaries(&req, &mut |p| out.push(summary_from_store(p, cfg)))
            .unwrap()
    );
    out
}

/// Integer fields exactly, floats to 1e-9 (relative).
pub(crate) fn assert_same(a: &[CustomerSummary<CustomerId>], b: &[CustomerSummary<CustomerId>], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: customer count");
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0);
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.customer, y.customer, "{what}");
        let ints = |s: &CustomerSummary<CustomerId>| {
            (
                s.frequency,
                s.total_revenue_minor,
                s.total_margin_minor,
                s.visits,
                s.first_purchase,
                s.last_purchase,
                s.holdout.map(|h| h.frequency),
            )
        };
        assert_eq!(ints(x), ints(y), "{what}: customer {}", x.customer);
        assert!(close(x.recency, y.recency), "{what}: recency of {}", x.customer);
        assert!(close(x.t, y.t), "{what}: T of {}", x.customer);
        assert!(
            close(x.monetary_value, y.monetary_value),
            "{what}: monetary of {}",
            x.customer
        );
        if let (Some(h), Some(k)) = (x.holdout, y.holdout) {
            assert!(close(h.monetary_value, k.monetary_value), "{what}: holdout monetary");
            assert!(close(h.duration, k.duration), "{what}: holdout duration");
        }
    }
}

/// Every configuration the analytics use: day and week periods, an observation end on a sale's
/// second and mid-data, with and without a calibration split.
pub(crate) fn configs() -> Vec<(String, SummaryConfig)> {
    let mut out = Vec::new();
    // 2024-06-30T23:59:59Z (a Sunday), 2024-09-02T00:00:00Z (a Monday), past the data.
    for end in [1_719_791_999i64, 1_725_235_200, 1_767_225_600] {
        for unit in [PeriodUnit::Day, PeriodUnit::Week] {
            for cal in [None, Some(end - 120 * 86_400 - 1)] {
                out.push((
                    format!("{unit:?} end {end} calibration {cal:?}"),
                    SummaryConfig {
                        unit,
                        multiplier: 1.0,
                        observation_end: end,
                        calibration_end: cal,
                    },
                ));
            }
        }
    }
    out
}

#[test]
fn summary_pushdown_equals_the_in_process_summary() {
    let db = TestDb::new();
    let s = db.store();
    let n = load_sample(&db, 400);
    assert!(n > 3000);
    let mut margins = 0;
    for (what, cfg) in configs() {
        let a = in_process(&s, &cfg);
        let b = pushed_down(&s, &cfg);
        assert!(a.len() > 100, "{what}: {} customers", a.len());
        assert_same(&a, &b, &what);
        margins += a.iter().filter(|s| s.total_margin_minor.is_some()).count();
    }
    // The sample exercises both sides of the margin rule.
    assert!(margins > 0);
}

#[test]
fn sale_cost_is_kept_on_the_sale() {
    let db = TestDb::new();
    drop(db.store());
    load_sample(&db, 50);
    // The cost written with each sale equals the one worked out from its lines.
    let mut c = db.client();
    let differing: i64 = c
        .query_one(
            "SELECT count(*) FROM transactions t WHERE cost IS DISTINCT FROM (
                 SELECT CASE WHEN bool_and(l.product_id IS NOT NULL AND p.unit_cost IS NOT NULL)
                             THEN sum(l.quantity * p.unit_cost)::bigint END
                 FROM transaction_lines l LEFT JOIN products p ON p.id = l.product_id
                 WHERE l.transaction_id = t.id)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(differing, 0);
    let costed: i64 = c
        .query_one("SELECT count(*) FROM transactions WHERE cost IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(costed > 0);
}
