-- kesher schema on PostgreSQL, version 15: the points ledger gains the entry kind `expire`
-- (points of lots older than the program's lifetime, kesher_loyalty::expiry) and `available_at`:
-- the instant a pending entry's points become spendable (NULL: at once). The same step as
-- SQLite's 0015, which must rebuild its table; here the CHECK is replaced in place (its name is
-- the one PostgreSQL gave the inline check of version 8) and the append-only guard covers the
-- new column.
ALTER TABLE points_ledger DROP CONSTRAINT points_ledger_kind_check;
ALTER TABLE points_ledger ADD CONSTRAINT points_ledger_kind_check
    CHECK (kind IN ('earn', 'redeem', 'adjust', 'reverse', 'merge', 'expire'));
ALTER TABLE points_ledger ADD COLUMN available_at timestamptz;
CREATE INDEX points_ledger_pending ON points_ledger(customer_id, available_at) WHERE available_at IS NOT NULL;
CREATE OR REPLACE FUNCTION points_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.seq = OLD.seq AND NEW.kind = OLD.kind AND NEW.points = OLD.points
       AND NEW.balance_after = OLD.balance_after AND NEW.at = OLD.at AND NEW.actor = OLD.actor
       AND NEW.origin IS NOT DISTINCT FROM OLD.origin
       AND NEW.idempotency_key IS NOT DISTINCT FROM OLD.idempotency_key
       AND NEW.transaction_id IS NOT DISTINCT FROM OLD.transaction_id
       AND NEW.branch_id IS NOT DISTINCT FROM OLD.branch_id
       AND NEW.breakdown IS NOT DISTINCT FROM OLD.breakdown
       AND NEW.available_at IS NOT DISTINCT FROM OLD.available_at THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'points ledger is append-only';
END
$$;
