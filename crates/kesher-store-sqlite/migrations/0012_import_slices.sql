-- kesher schema on SQLite, version 12: an import that commits in slices (another connection has
-- the file open while it runs, so that a till's sale need not wait for the whole file) records
-- itself in `imports`, with the highest row number of the tables that rows outside it may refer
-- from when it began, and the rows each committed slice wrote as row-number ranges (lo, hi] per
-- table in `import_slices`. Its last slice deletes both; an import still listed when no process
-- runs it is removed, range by range (kesher-store-sqlite's `import::remove_import`). A sale of a
-- running import that a till was answered with (`Tx::keep_sale`) is listed in
-- `import_pinned_sales`: the removal keeps it.
CREATE TABLE imports (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    sale_mark        INTEGER NOT NULL,
    customer_mark    INTEGER NOT NULL,
    interaction_mark INTEGER NOT NULL,
    ledger_mark      INTEGER NOT NULL
);
CREATE TABLE import_slices (
    import_id INTEGER NOT NULL REFERENCES imports(id),
    tbl       TEXT NOT NULL,
    lo        INTEGER NOT NULL,
    hi        INTEGER NOT NULL,
    PRIMARY KEY (import_id, tbl, lo)
) WITHOUT ROWID;
CREATE TABLE import_pinned_sales (
    seq INTEGER PRIMARY KEY
);
