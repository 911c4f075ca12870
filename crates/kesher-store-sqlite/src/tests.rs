//! The backend contract suite run against SQLite, plus SQLite-only checks.

use super::*;

fn fresh() -> (tempdir::Dir, SqliteStore) {
    let dir = tempdir::Dir::new();
    let store = SqliteStore::open(dir.path().join("k.db")).unwrap();
    (dir, store)
}

#[test]
fn contract_suite() {
    kesher_store::contract::run_all(&|| {
        let (dir, store) = fresh();
        (
            Box::new(dir) as Box<dyn std::any::Any>,
            Box::new(store) as Box<dyn Store>,
        )
    });
}

#[test]
fn migrations_are_versioned_and_reopen_cleanly() {
    let (dir, store) = fresh();
    assert_eq!(store.schema_version().unwrap(), 4);
    drop(store);
    let again = SqliteStore::open(dir.path().join("k.db")).unwrap();
    assert_eq!(again.schema_version().unwrap(), 4);
}

#[test]
fn audit_log_is_append_only() {
    let (_dir, store) = fresh();
    let c = store.write().unwrap();
    c.execute(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id) VALUES (0, 'a', 'x', 'e', '1')",
        [],
    )
    .unwrap();
    assert!(c.execute("UPDATE audit_log SET actor = 'b'", []).is_err());
    assert!(c.execute("DELETE FROM audit_log", []).is_err());
    // The one change allowed: redacting before/after to the erasure marker, nothing else.
    assert!(c.execute("UPDATE audit_log SET after = '{\"x\":1}'", []).is_err());
    assert!(
        c.execute("UPDATE audit_log SET after = '{\"erased\":true}', actor = 'b'", [])
            .is_err()
    );
    assert_eq!(
        c.execute("UPDATE audit_log SET after = '{\"erased\":true}'", [])
            .unwrap(),
        1
    );
}

mod tempdir {
    use std::path::{Path, PathBuf};

    /// A directory removed on drop (no external crate needed).
    pub struct Dir(PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let p = std::env::temp_dir().join(format!(
                "kesher-store-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
