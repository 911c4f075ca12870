//! Versioned schema migrations, applied in order on open; applied versions live in `schema_migrations`.

use crate::convert::{Ctx, col, describe};
use kesher_store::{Result, StoreError};
use postgres::Client;

/// Every migration, in order. Never edit one that has shipped: add the next.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_scores.sql")),
    (3, include_str!("../migrations/0003_accounts.sql")),
    (4, include_str!("../migrations/0004_sale_cost.sql")),
    (5, include_str!("../migrations/0005_share_of_wallet.sql")),
    (7, include_str!("../migrations/0007_implicit_prospects.sql")),
    (8, include_str!("../migrations/0008_points.sql")),
    (9, include_str!("../migrations/0009_sale_lines_customer.sql")),
    (10, include_str!("../migrations/0010_partial_parent_index.sql")),
    (11, include_str!("../migrations/0011_jobs.sql")),
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
