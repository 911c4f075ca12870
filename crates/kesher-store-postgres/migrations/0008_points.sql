-- The points ledger (kesher-loyalty). Versions 6 and 7 belong to other changes; the migrator
-- applies every known version not yet applied.
--
-- How sales earn: points for every whole `per_minor` minor units of a sale's net amount, per
-- currency; a currency without a row earns nothing.
CREATE TABLE points_rules (
    currency  text PRIMARY KEY,
    points    bigint NOT NULL CHECK (points >= 0),
    per_minor bigint NOT NULL CHECK (per_minor >= 1)
);
-- A refund's reversal reads the other refunds of the same sale.
CREATE INDEX transactions_refund_of ON transactions(refund_of) WHERE refund_of IS NOT NULL;
-- Append-only, like the audit log: a merge moves entries to the kept customer and erasure clears
-- the reason text; nothing else changes a row, and no row is deleted (the trigger below).
CREATE TABLE points_ledger (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id     uuid NOT NULL REFERENCES customers(id),
    kind            text NOT NULL CHECK (kind IN ('earn', 'redeem', 'adjust', 'reverse', 'merge')),
    points          bigint NOT NULL,
    balance_after   bigint NOT NULL,
    reason          text,
    idempotency_key text,
    transaction_id  uuid REFERENCES transactions(id),
    branch_id       uuid REFERENCES branches(id),
    actor           text NOT NULL,
    origin          text,
    at              timestamptz NOT NULL
);
CREATE INDEX points_ledger_customer ON points_ledger(customer_id, seq);
-- One accrual per sale and one reversal per refund, ever: retries and parallel duplicates of the
-- same sale cannot earn twice.
CREATE UNIQUE INDEX points_ledger_one_earn ON points_ledger(transaction_id) WHERE kind = 'earn';
CREATE UNIQUE INDEX points_ledger_one_reverse ON points_ledger(transaction_id) WHERE kind = 'reverse';
-- A retried redemption or adjustment finds the first one by its key.
CREATE UNIQUE INDEX points_ledger_key ON points_ledger(customer_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE FUNCTION points_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.seq = OLD.seq AND NEW.kind = OLD.kind AND NEW.points = OLD.points
       AND NEW.balance_after = OLD.balance_after AND NEW.at = OLD.at AND NEW.actor = OLD.actor
       AND NEW.origin IS NOT DISTINCT FROM OLD.origin
       AND NEW.idempotency_key IS NOT DISTINCT FROM OLD.idempotency_key
       AND NEW.transaction_id IS NOT DISTINCT FROM OLD.transaction_id
       AND NEW.branch_id IS NOT DISTINCT FROM OLD.branch_id THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'points ledger is append-only';
END
$$;
CREATE TRIGGER points_ledger_append_only BEFORE UPDATE OR DELETE ON points_ledger
    FOR EACH ROW EXECUTE FUNCTION points_ledger_append_only();
-- Each customer's balance: the sum of their entries. Every write that reads a balance locks this
-- row first (SELECT … FOR UPDATE), which serialises the writers of one customer and nobody else.
CREATE TABLE points_balances (
    customer_id uuid PRIMARY KEY REFERENCES customers(id),
    balance     bigint NOT NULL
);
