//! kesher on a coordinator whose customer-keyed tables are hash-partitioned by customer across
//! two shard clusters (postgres_fdw; `scripts/postgres-sharded.sh start`): the store's read paths
//! and the summary pushdown give the single server's results, and the per-customer aggregate runs
//! on the shards.
//!
//! Needs `KESHER_TEST_SHARDED_URL` (the coordinator) beside `KESHER_TEST_POSTGRES_URL`, and the
//! feature `pg-sharded-tests`; without the URL the test fails.

use crate::summary::{configs, in_process, load_sample, pushed_down};
use crate::{TestDb, actor};
use kesher_core::{
    Channel, Consent, ConsentChannel, ConsentState, Currency, CustomerId, Interaction, InteractionId, InteractionKind,
};
use kesher_loyalty::{EarnRate, EarningRule};
use kesher_store::bulk::TABLES;
use kesher_store::{CustomerQuery, CustomerScore, Identifier, PointsRequest, Store, SummaryPeriod};
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
    // The workflows (contacts, record changes, points) on a second pool over the same database.
    let app = kesher_app::App::new(std::sync::Arc::new(db.store()), kesher_app::Settings::default());
    // KESHER_SHARDED_CUSTOMERS enlarges the sample to time the summary (docs/scaling.md).
    let n = std::env::var("KESHER_SHARDED_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    load_sample(&db, n);
    let ids = s.customer_ids().unwrap();
    for (n, id) in ids.iter().enumerate().take(120) {
        app.record_interaction(
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
    app.update_customer(&c, &actor()).unwrap();
    // Consents: granted, then some withdrawn (history on the shards).
    for (n, id) in ids.iter().enumerate().take(40) {
        let mut c = customer_for(&s, *id);
        c.consents = vec![Consent {
            channel: if n % 2 == 0 {
                ConsentChannel::Sms
            } else {
                ConsentChannel::Email
            },
            state: ConsentState::Granted,
            at: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
            source: "import".into(),
        }];
        app.update_customer(&c, &actor()).unwrap();
        if n % 3 == 0 {
            c.consents[0].state = ConsentState::Withdrawn;
            c.consents[0].at = jiff::Timestamp::from_second(1_710_000_000).unwrap();
            app.update_customer(&c, &actor()).unwrap();
        }
    }
    // Points: every sale earns, some customers redeem and some are adjusted.
    let ils = Currency::parse("ILS").unwrap();
    app.set_earning_rule(
        &EarningRule::new().with(ils, EarnRate::per_whole_unit(ils, 1).unwrap()),
        &actor(),
    )
    .unwrap();
    app.award_points(None, &actor()).unwrap();
    for (n, id) in ids.iter().enumerate().skip(2).take(30) {
        let req = |points: i64, key: Option<String>, reason: Option<&str>| PointsRequest {
            points,
            reason: reason.map(str::to_string),
            idempotency_key: key,
            branch_id: None,
        };
        if app.points_balance(*id).unwrap() >= 5 {
            app.redeem_points(*id, &req(5, Some(format!("r{n}")), None), &actor())
                .unwrap();
        }
        app.adjust_points(*id, &req(n as i64 + 1, None, Some("goodwill")), &actor())
            .unwrap();
    }
    // Two analysis runs a month apart: scores, and the stage history of both months.
    let stages = ["first_time", "core", "at_risk", "defected"];
    for (run, as_of) in ["2025-01-05T00:00:00Z", "2025-02-05T00:00:00Z"].iter().enumerate() {
        let as_of: jiff::Timestamp = as_of.parse().unwrap();
        let scores: Vec<CustomerScore> = ids
            .iter()
            .enumerate()
            .filter(|(n, _)| n % 4 != 3)
            .map(|(n, id)| CustomerScore {
                customer_id: *id,
                as_of,
                model: "bgnbd".into(),
                stage: stages[(n + run * (n % 3)) % 4].into(),
                frequency: (n % 7) as f64,
                recency: (n % 11) as f64,
                t: 30.0 + (n % 13) as f64,
                monetary: 1000.0 + n as f64,
                revenue: 5000 + n as i64,
                margin: Some(1000 + n as i64),
                p_alive: Some(0.5 + (n % 5) as f64 / 10.0),
                expected_purchases: Some((n % 9) as f64 / 3.0),
                clv: Some(100.0 * n as f64),
                rfm: Some(format!("{}{}{}", n % 5 + 1, n % 4 + 1, n % 3 + 1).into()),
                segment: Some("loyal".into()),
                tier: Some(["top", "middle", "rest"][n % 3].into()),
                wallet: (n % 5 == 0).then_some(100_000),
                share_of_wallet: (n % 5 == 0).then_some(0.25),
            })
            .collect();
        s.replace_customer_scores(as_of, "bgnbd", &scores).unwrap();
    }
    (db, s)
}

fn customer_for(s: &dyn Store, id: CustomerId) -> kesher_core::Customer {
    s.get_customer(id).unwrap().unwrap()
}

/// The tables `scripts/postgres-sharded.sh` partitions by customer across the shards.
const SHARDED: [&str; 10] = [
    "customers",
    "transactions",
    "transaction_lines",
    "interactions",
    "consents",
    "consent_history",
    "customer_scores",
    "customer_stages",
    "points_ledger",
    "points_balances",
];

/// Empty the coordinator's tables (the audit log is append-only and is not copied) and copy the
/// single server's rows into it with the store's bulk writer (`kesher copy`).
fn load_coordinator(single: &PgStore, url: &str) -> PgStore {
    let mut c = Client::connect(url, NoTls).unwrap();
    let names: Vec<&str> = TABLES.iter().map(|t| t.name).filter(|n| *n != "audit_log").collect();
    // Sessions are not copied (they belong to one server) but reference users.
    c.batch_execute(&format!("TRUNCATE sessions, {}", names.join(", ")))
        .unwrap();
    // `kesher copy`'s writer: the store itself gives each line its sale's customer, the key that
    // routes it to the customer's shard.
    let coord = PgStore::open(url).unwrap();
    crate::copy_tables(single, &coord);
    // Foreign tables are analysed only when named.
    let parts: Vec<String> = SHARDED
        .iter()
        .flat_map(|t| [format!("{t}_p0"), format!("{t}_p1")])
        .collect();
    c.batch_execute(&format!("ANALYZE; ANALYZE {}", parts.join(", ")))
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
        out.push(format!("{:?}", s.points_balance(*id).unwrap()));
        out.push(format!("{:?}", s.points_ledger(*id, 50, 0).unwrap()));
        out.push(format!("{:?}", s.customer_score(*id).unwrap()));
    }
    out.push(format!("{:?}", s.points_totals().unwrap()));
    let mut scores = s.list_customer_scores().unwrap();
    scores.sort_by_key(|c| c.customer_id);
    out.push(format!("{scores:?}"));
    let mut counts = s.stage_counts().unwrap();
    counts.sort();
    out.push(format!("{counts:?}"));
    let mut moves = s.stage_transitions("2025-01", "2025-02").unwrap();
    moves.sort();
    out.push(format!("{moves:?}"));
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
    let coord = load_coordinator(&single, &url);
    let _keep = single_db;

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
    // Every customer-keyed table is spread too, each row on its customer's shard: the lines sit
    // with their sale, the ledger and scores with their customer.
    for t in SHARDED.iter().filter(|t| **t != "transactions") {
        let counts: Vec<i64> = ["p0", "p1"]
            .iter()
            .map(|p| {
                c.query_one(&format!("SELECT count(*) FROM {t}_{p}"), &[])
                    .unwrap()
                    .get(0)
            })
            .collect();
        assert!(counts.iter().all(|n| *n > 0), "{t}: {counts:?}");
    }
    for (child, key) in [
        ("transaction_lines", "l.transaction_id = p.id"),
        ("points_ledger", "l.customer_id = p.customer_id"),
    ] {
        let parent = if child == "transaction_lines" {
            "transactions"
        } else {
            "points_balances"
        };
        for part in ["p0", "p1"] {
            let other = if part == "p0" { "p1" } else { "p0" };
            let misplaced: i64 = c
                .query_one(
                    &format!("SELECT count(*) FROM {child}_{part} l JOIN {parent}_{other} p ON {key}"),
                    &[],
                )
                .unwrap()
                .get(0);
            assert_eq!(misplaced, 0, "{child} rows on another shard than their {parent}");
        }
    }

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
