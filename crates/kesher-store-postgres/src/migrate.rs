//! Versioned schema migrations, applied in order on open; applied versions live in `schema_migrations`.

use crate::convert::{Ctx, col, describe};
use kesher_store::{Result, StoreError};
use postgres::Client;

/// Every migration, in order: the same numbered steps as SQLite's (a step may do nothing on one
/// of them, its file says why). Never edit one that has shipped: add the next.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_scores.sql")),
    (3, include_str!("../migrations/0003_sale_cost.sql")),
    (4, include_str!("../migrations/0004_accounts.sql")),
    (5, include_str!("../migrations/0005_share_of_wallet.sql")),
    (6, include_str!("../migrations/0006_integer_sale_keys.sql")),
    (7, include_str!("../migrations/0007_implicit_prospects.sql")),
    (8, include_str!("../migrations/0008_points.sql")),
    (9, include_str!("../migrations/0009_sale_lines_customer.sql")),
    (10, include_str!("../migrations/0010_partial_parent_index.sql")),
    (11, include_str!("../migrations/0011_jobs.sql")),
    (12, include_str!("../migrations/0012_import_slices.sql")),
    (13, include_str!("../migrations/0013_loyalty.sql")),
    (14, include_str!("../migrations/0014_customer_search.sql")),
    (15, include_str!("../migrations/0015_points_expiry.sql")),
    (16, include_str!("../migrations/0016_benefits.sql")),
    (17, include_str!("../migrations/0017_segment_history.sql")),
    (18, include_str!("../migrations/0018_campaigns.sql")),
    (19, include_str!("../migrations/0019_campaign_occurrence.sql")),
    (20, include_str!("../migrations/0020_campaign_clicks.sql")),
    (21, include_str!("../migrations/0021_audit_pages.sql")),
];

/// Serialises migrations of one database between processes opening it at the same time.
const MIGRATION_LOCK: i64 = 7_306_264_850;

/// The latest schema version this build knows.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

pub(crate) fn migrate(conn: &mut Client) -> Result<()> {
    let mut tx = conn.transaction().be()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .be()?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    bigint PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .be()?;
    let row = tx
        .query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[])
        .be()?;
    let current: i64 = col(&row, 0)?;
    let latest = latest();
    if current > latest {
        return Err(StoreError::Backend(format!(
            "database schema version {current} is newer than this kesher ({latest}); upgrade kesher"
        )));
    }
    // Until the two backends shared one history, PostgreSQL's step 3 was the accounts and its
    // step 4 the sale cost (SQLite's are the other way round). A database that stopped between
    // them has the accounts recorded as 3: record them under their number now.
    let legacy_3: bool = col(
        &tx.query_one(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 3)
                AND NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 4)
                AND to_regclass('users') IS NOT NULL",
            &[],
        )
        .be()?,
        0,
    )?;
    if legacy_3 {
        tx.execute("UPDATE schema_migrations SET version = 4 WHERE version = 3", &[])
            .be()?;
    }
    // Every known migration not yet applied, in order: a version numbered below the highest
    // applied one (migrations written on parallel branches, merged later) is applied too.
    let applied: Vec<i64> = tx
        .query("SELECT version FROM schema_migrations", &[])
        .be()?
        .iter()
        .map(|r| col(r, 0))
        .collect::<Result<_>>()?;
    for (version, sql) in MIGRATIONS.iter().filter(|m| !applied.contains(&m.0)) {
        tx.batch_execute(sql)
            .map_err(|e| StoreError::Backend(format!("migration {version} failed: {}", describe(&e))))?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[version])
            .be()?;
    }
    tx.commit().be()
}

/// The highest applied version.
pub(crate) fn current<C: postgres::GenericClient>(conn: &mut C) -> Result<i64> {
    let row = conn
        .query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[])
        .be()?;
    col(&row, 0)
}
