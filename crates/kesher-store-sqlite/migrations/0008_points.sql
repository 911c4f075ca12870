-- The points ledger (kesher-loyalty). Versions 6 and 7 belong to other changes; SQLite applies
-- the versions above the file's in order.
--
-- How sales earn: points for every whole `per_minor` minor units of a sale's net amount, per
-- currency; a currency without a row earns nothing.
CREATE TABLE points_rules (
    currency  TEXT PRIMARY KEY,
    points    INTEGER NOT NULL CHECK (points >= 0),
    per_minor INTEGER NOT NULL CHECK (per_minor >= 1)
);
-- A refund's reversal reads the other refunds of the same sale.
CREATE INDEX transactions_refund_of ON transactions(refund_of) WHERE refund_of IS NOT NULL;
-- Append-only, like the audit log: a merge moves entries to the kept customer and erasure clears
-- the reason text; nothing else changes a row, and no row is deleted.
CREATE TABLE points_ledger (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id     BLOB NOT NULL REFERENCES customers(id),
    kind            TEXT NOT NULL CHECK (kind IN ('earn', 'redeem', 'adjust', 'reverse', 'merge')),
    points          INTEGER NOT NULL,
    balance_after   INTEGER NOT NULL,
    reason          TEXT,
    idempotency_key TEXT,
    transaction_id  BLOB REFERENCES transactions(id),
    branch_id       BLOB REFERENCES branches(id),
    actor           TEXT NOT NULL,
    origin          TEXT,
    at              INTEGER NOT NULL
);
CREATE INDEX points_ledger_customer ON points_ledger(customer_id, seq);
-- One accrual per sale and one reversal per refund, ever: retries and parallel duplicates of the
-- same sale cannot earn twice.
CREATE UNIQUE INDEX points_ledger_one_earn ON points_ledger(transaction_id) WHERE kind = 'earn';
CREATE UNIQUE INDEX points_ledger_one_reverse ON points_ledger(transaction_id) WHERE kind = 'reverse';
-- A retried redemption or adjustment finds the first one by its key.
CREATE UNIQUE INDEX points_ledger_key ON points_ledger(customer_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE TRIGGER points_ledger_no_delete BEFORE DELETE ON points_ledger
    BEGIN SELECT RAISE(ABORT, 'points ledger is append-only'); END;
CREATE TRIGGER points_ledger_no_update BEFORE UPDATE OF seq, kind, points, balance_after, idempotency_key,
        transaction_id, branch_id, actor, origin, at ON points_ledger
    BEGIN SELECT RAISE(ABORT, 'points ledger is append-only'); END;
-- Each customer's balance: the sum of their entries, kept beside the ledger so that a balance
-- is one row to read (and, on PostgreSQL, one row to lock).
CREATE TABLE points_balances (
    customer_id BLOB PRIMARY KEY REFERENCES customers(id),
    balance     INTEGER NOT NULL
) WITHOUT ROWID;
