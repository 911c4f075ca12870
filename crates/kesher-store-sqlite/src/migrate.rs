//! Versioned schema migrations, applied in order on open; the version lives in `PRAGMA user_version`.

use crate::convert::Ctx;
use kesher_store::{Result, StoreError};
use rusqlite::{Connection, OptionalExtension};

/// Every migration, in order: the same numbered steps as PostgreSQL's (a step may do nothing on
/// one of them, its file says why). Never edit one that has shipped: add the next.
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

pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).be()?;
    let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if current > latest {
        return Err(StoreError::Backend(format!(
            "database schema version {current} is newer than this kesher ({latest}); upgrade kesher"
        )));
    }
    if current == latest {
        return Ok(());
    }
    // A migration may rebuild a table that others reference (SQLite's way to change a key):
    // foreign keys are off while it runs (SQLite only switches them outside a transaction) and
    // every reference is checked before it commits.
    let fk: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).be()?;
    conn.execute_batch("PRAGMA foreign_keys = OFF").be()?;
    let result = apply(conn, current);
    if fk {
        conn.execute_batch("PRAGMA foreign_keys = ON").be()?;
    }
    result
}

fn apply(conn: &mut Connection, current: i64) -> Result<()> {
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let tx = conn.transaction().be()?;
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Backend(format!("migration {version} failed: {e}")))?;
        let broken: Option<String> = tx
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()
            .be()?;
        if let Some(table) = broken {
            return Err(StoreError::Backend(format!(
                "migration {version} failed: a row of {table} references a missing row"
            )));
        }
        tx.pragma_update(None, "user_version", version).be()?;
        tx.commit().be()?;
    }
    Ok(())
}
