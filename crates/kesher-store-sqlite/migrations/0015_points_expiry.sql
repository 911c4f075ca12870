-- kesher schema on SQLite, version 15: the points ledger gains the entry kind `expire` (points
-- of lots older than the program's lifetime, kesher_loyalty::expiry) and `available_at`: the
-- instant a pending entry's points become spendable (NULL: at once; docs/loyalty.md, "Pending
-- points"). SQLite cannot change a CHECK in place: the table is rebuilt with the same columns,
-- rows, sequence numbers, indexes and append-only triggers (version 14 belongs to another
-- change).
CREATE TABLE points_ledger_new (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id     BLOB NOT NULL REFERENCES customers(id),
    kind            TEXT NOT NULL CHECK (kind IN ('earn', 'redeem', 'adjust', 'reverse', 'merge', 'expire')),
    points          INTEGER NOT NULL,
    balance_after   INTEGER NOT NULL,
    reason          TEXT,
    idempotency_key TEXT,
    transaction_id  BLOB REFERENCES transactions(id),
    branch_id       BLOB REFERENCES branches(id),
    actor           TEXT NOT NULL,
    origin          TEXT,
    at              INTEGER NOT NULL,
    breakdown       TEXT CHECK (breakdown IS NULL OR json_valid(breakdown)),
    available_at    INTEGER
);
INSERT INTO points_ledger_new (seq, customer_id, kind, points, balance_after, reason, idempotency_key,
        transaction_id, branch_id, actor, origin, at, breakdown)
    SELECT seq, customer_id, kind, points, balance_after, reason, idempotency_key, transaction_id, branch_id,
        actor, origin, at, breakdown FROM points_ledger ORDER BY seq;
DROP TABLE points_ledger;
ALTER TABLE points_ledger_new RENAME TO points_ledger;
CREATE INDEX points_ledger_customer ON points_ledger(customer_id, seq);
CREATE UNIQUE INDEX points_ledger_one_earn ON points_ledger(transaction_id) WHERE kind = 'earn';
CREATE UNIQUE INDEX points_ledger_one_reverse ON points_ledger(transaction_id) WHERE kind = 'reverse';
CREATE UNIQUE INDEX points_ledger_key ON points_ledger(customer_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE TRIGGER points_ledger_no_delete BEFORE DELETE ON points_ledger
    BEGIN SELECT RAISE(ABORT, 'points ledger is append-only'); END;
CREATE TRIGGER points_ledger_no_update BEFORE UPDATE OF seq, kind, points, balance_after, idempotency_key,
        transaction_id, branch_id, actor, origin, at, breakdown, available_at ON points_ledger
    BEGIN SELECT RAISE(ABORT, 'points ledger is append-only'); END;
-- A customer's pending points: their entries not yet available.
CREATE INDEX points_ledger_pending ON points_ledger(customer_id, available_at) WHERE available_at IS NOT NULL;
