//! What the app's unit tests share: an `App` over a fresh SQLite file in a temporary folder
//! (removed on drop), and a CSV import that creates missing references.

use crate::import::{ImportKind, ImportOptions};
use crate::{App, Settings};
use kesher_store_sqlite::SqliteStore;
use std::sync::Arc;

pub(crate) struct TestApp {
    pub app: App,
    dir: std::path::PathBuf,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh app; `what` names the temporary folder.
pub(crate) fn app_named(what: &str) -> TestApp {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "kesher-{what}-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(dir.join("k.db")).unwrap();
    TestApp {
        app: App::new(Arc::new(store), Settings::default()),
        dir,
    }
}

/// Import `text` as `kind`, creating missing customers, branches and employees.
pub(crate) fn import(app: &App, kind: ImportKind, text: &str) {
    let opts = ImportOptions {
        create_missing: true,
        ..ImportOptions::default()
    };
    app.import_csv(kind, text.as_bytes(), "test.csv", opts, &mut |_| {})
        .unwrap();
}
