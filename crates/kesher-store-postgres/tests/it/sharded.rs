//! kesher on a coordinator whose customer-keyed tables are hash-partitioned by customer across
//! two shard clusters (postgres_fdw; `scripts/postgres-sharded.sh start`): the store's read paths
//! and the summary pushdown give the single server's results, and the per-customer aggregate runs
//! on the shards.
//!
//! Needs `KESHER_TEST_SHARDED_URL` (the coordinator) beside `KESHER_TEST_POSTGRES_URL`, and the
//! feature `pg-sharded-tests`; without the URL the test fails.

use crate::summary::{configs, in_process, load_sample, pushed_down};
use crate::{TestDb, actor};
use kesher_core::{Channel, CustomerId, Interaction, InteractionId, InteractionKind};
use kesher_store::bulk::{TABLES, Value};
use kesher_store::{CustomerQuery, Identifier, Store, SummaryPeriod};
use kesher_store_postgres::{PgStore, summary_sql};
use postgres::{Client, NoTls};
use uuid::Uuid;

fn coordinator_url() -> String {
    match std::env::var("KESHER_TEST_SHARDED_URL") {
        Ok(u) if !u.trim().is_empty() => u,
        _ => panic!(
            "KESHER_TEST_SHARDED_URL is not set: the sharded tests need the coordinator that \
             `scripts/postgres-sharded.sh start` sets up (it prints the export line)"
        ),
    }
}

/// The sample business on the single server, plus interactions.
fn single() -> (TestDb, PgStore) {
    let db = TestDb::new();
    let s = db.store();
    // KESHER_SHARDED_CUSTOMERS enlarges the sample to time the summary (docs/scaling.md).
    let n = std::env::var("KESHER_SHARDED_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    load_sample(&s, n);
    let ids = s.customer_ids().unwrap();
    for (n, id) in ids.iter().enumerate().take(120) {
        s.record_interaction(
            &Interaction {
                id: InteractionId(Uuid::from_u128(0x1_0000 + n as u128)),
                external_id: Some(format!("I{n}")),
                customer_id: *id,
                channel: if n % 2 == 0 { Channel::Store } else { Channel::Phone },
                kind: InteractionKind::Complaint,
                occurred_at: jiff::Timestamp::from_second(1_700_000_000 + n as i64 * 3_600).unwrap(),
                text: Some(format!("note {n}")),
                employee_id: None,
                satisfaction: Some((n % 5) as u8 + 1),
                status: None,
            },
            &actor(),
        )
        .unwrap();
    }
    let mut c = customer_for(&s, ids[7]);
    c.phone = Some(kesher_core::Phone::parse("050-1112233", kesher_core::Country::israel()).unwrap());
    s.update_customer(&c, &actor()).unwrap();
    (db, s)
}

fn customer_for(s: &dyn Store, id: CustomerId) -> kesher_core::Customer {
    s.get_customer(id).unwrap().unwrap()
}

/// Empty the coordinator's tables (the audit log is append-only and is not copied) and copy the
/// single server's rows into it; transaction lines get their sale's customer, their partition key.
fn load_coordinator(single_db: &TestDb, single: &PgStore, url: &str) -> PgStore {
    let mut c = Client::connect(url, NoTls).unwrap();
    let names: Vec<&str> = TABLES.iter().map(|t| t.name).filter(|n| *n != "audit_log").collect();
    // Sessions are not copied (they belong to one server) but reference users.
    c.batch_execute(&format!("TRUNCATE sessions, {}", names.join(", ")))
        .unwrap();
    let coord = PgStore::open(url).unwrap();
    let mut w = coord.begin_bulk_write().unwrap();
    for t in TABLES
        .iter()
        .filter(|t| !matches!(t.name, "audit_log" | "transaction_lines"))
    {
        let mut rows: Vec<Vec<Value>> = Vec::new();
        single.bulk_read(t, &mut |r| rows.push(r.to_vec())).unwrap();
        w.write_table(t, &mut rows.into_iter()).unwrap();
    }
    w.commit().unwrap();
    let lines = single_db
        .client()
        .query(
            "SELECT array_agg(l.transaction_id), array_agg(l.line_no), array_agg(l.product_id), array_agg(l.quantity),
                    array_agg(l.unit_price), array_agg(l.discount), array_agg(t.customer_id)
             FROM transaction_lines l JOIN transactions t ON t.id = l.transaction_id",
            &[],
        )
        .unwrap();
    let r = &lines[0];
    let (a, b, p, q, u, d, k): (
        Vec<Uuid>,
        Vec<i32>,
        Vec<Option<Uuid>>,
        Vec<i64>,
        Vec<i64>,
        Vec<i64>,
        Vec<Option<Uuid>>,
    ) = (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6));
    c.execute(
        "INSERT INTO transaction_lines (transaction_id, line_no, product_id, quantity, unit_price, discount, customer_id)
         SELECT * FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::bigint[], $5::bigint[], $6::bigint[], $7::uuid[])",
        &[&a, &b, &p, &q, &u, &d, &k],
    )
    .unwrap();
    // Foreign tables are analysed only when named.
    c.batch_execute(
        "ANALYZE; ANALYZE customers_p0, customers_p1, transactions_p0, transactions_p1, transaction_lines_p0,
         transaction_lines_p1, interactions_p0, interactions_p1",
    )
    .unwrap();
    coord
}

/// Every read path the HTTP API and the analytics use, as comparable values.
fn reads(s: &dyn Store) -> Vec<String> {
    let mut out = vec![format!("{:?}", s.counts().unwrap())];
    let mut ids = s.customer_ids().unwrap();
    ids.sort();
    out.push(format!("{ids:?}"));
    for id in ids.iter().step_by(ids.len() / 20 + 1) {
        out.push(format!("{:?}", s.get_customer(*id).unwrap()));
        out.push(format!("{:?}", s.list_transactions(Some(*id), 50, 0).unwrap()));
        out.push(format!("{:?}", s.list_interactions(Some(*id), 50, 0).unwrap()));
        out.push(format!("{:?}", s.consent_history(*id).unwrap()));
    }
    out.push(format!("{:?}", s.list_transactions(None, 30, 10).unwrap()));
    out.push(format!("{:?}", s.list_interactions(None, 30, 0).unwrap()));
    out.push(format!(
        "{:?}",
        s.lookup_customer(&Identifier::Member("M10".into())).unwrap()
    ));
    // M1 was merged into M0: its member number still finds M0.
    out.push(format!(
        "{:?}",
        s.lookup_customer(&Identifier::Member("M1".into())).unwrap()
    ));
    out.push(format!(
        "{:?}",
        s.search_customers(&CustomerQuery {
            text: Some("M2".into()),
            limit: 20,
            ..Default::default()
        })
        .unwrap()
    ));
    let mut dups = s.duplicate_candidates().unwrap();
    dups.sort_by_key(|d| d.id);
    out.push(format!("{dups:?}"));
    let mut purchases = Vec::new();
    s.for_each_purchase(&mut |p| purchases.push(format!("{p:?}"))).unwrap();
    out.push(purchases.join("\n"));
    let mut baskets = Vec::new();
    s.for_each_basket(None, &mut |b| baskets.push(format!("{b:?}")))
        .unwrap();
    baskets.sort();
    out.push(baskets.join("\n"));
    out
}

fn explain(c: &mut Client, p: SummaryPeriod) -> String {
    c.batch_execute("DEALLOCATE ALL").unwrap();
    c.batch_execute(&format!(
        "PREPARE summary(timestamptz, timestamptz) AS {}",
        summary_sql(p)
    ))
    .unwrap();
    c.query(
        "EXPLAIN (VERBOSE) EXECUTE summary('2025-01-01T00:00:00Z', '2024-09-01T00:00:00Z')",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get::<_, String>(0))
    .collect::<Vec<_>>()
    .join("\n")
}

#[test]
fn sharded_reads_and_summary_equal_the_single_server() {
    let url = coordinator_url();
    let (single_db, single) = single();
    let coord = load_coordinator(&single_db, &single, &url);

    let (a, b) = (reads(&single), reads(&coord));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    for (what, cfg) in configs() {
        let t = std::time::Instant::now();
        let on_single = pushed_down(&single, &cfg);
        let t_single = t.elapsed();
        let t = std::time::Instant::now();
        let on_coord = pushed_down(&coord, &cfg);
        eprintln!(
            "summary ({what}): {} customers, single server {t_single:?}, sharded {:?}",
            on_coord.len(),
            t.elapsed()
        );
        assert_eq!(on_single, on_coord, "{what}");
        crate::summary::assert_same(&in_process(&coord, &cfg), &on_coord, &what);
    }

    // The rows really are spread over the shards, anonymous sales on the first.
    let mut c = Client::connect(&url, NoTls).unwrap();
    let per_shard: Vec<(i64, i64, i64)> = ["transactions_p0", "transactions_p1"]
        .iter()
        .map(|p| {
            let r = c
                .query_one(
                    &format!("SELECT count(*), count(*) FILTER (WHERE customer_id IS NULL), count(DISTINCT customer_id) FROM {p}"),
                    &[],
                )
                .unwrap();
            (r.get(0), r.get(1), r.get(2))
        })
        .collect();
    assert!(per_shard.iter().all(|s| s.0 > 100 && s.2 > 50), "{per_shard:?}");
    assert!(per_shard[0].1 > 0 && per_shard[1].1 == 0, "{per_shard:?}");

    // The per-customer aggregate runs on the shards: one remote aggregate per partition.
    for p in [SummaryPeriod::Day, SummaryPeriod::Week] {
        let plan = explain(&mut c, p);
        for part in ["transactions_p0", "transactions_p1"] {
            assert!(
                plan.contains(&format!("Relations: Aggregate on (public.{part} ")),
                "the aggregate over {part} is not pushed to its shard:\n{plan}"
            );
        }
        let remote: Vec<&str> = plan.lines().filter(|l| l.contains("Remote SQL:")).collect();
        assert_eq!(remote.len(), 2, "{plan}");
        assert!(
            remote
                .iter()
                .all(|l| l.contains("GROUP BY 1, 2") && l.contains("sum(total) FILTER")),
            "{plan}"
        );
        eprintln!("{plan}");
    }
}
