-- kesher schema on PostgreSQL, version 13: a loyalty program's members (kesher_loyalty::member),
-- the history of their memberships, and the breakdown of a points entry by the rules that gave
-- it. The same step as SQLite's 0013.
--
-- JSON columns (`quality_missing`, `detail`, `breakdown`) are text, not jsonb: the records carry
-- them as text and get them back byte for byte, the same on both backends (jsonb would rewrite
-- an event's detail, its key order and spacing, so that it reads back other than it was written
-- and other than on SQLite), and nothing reads inside them in SQL (no rule is computed in the
-- database). A check keeps each one JSON (the cast to jsonb refuses anything else).
--
-- One row per customer who ever joined, kept when they leave (statistics: `left_at`).
CREATE TABLE loyalty_members (
    customer_id     uuid PRIMARY KEY REFERENCES customers(id),
    status          text NOT NULL CHECK (status IN ('active', 'left')),
    tier            text,
    tier_since      timestamptz,
    tier_review_at  timestamptz,
    enrolled_at     timestamptz NOT NULL,
    branch_id       uuid REFERENCES branches(id),
    employee_id     uuid REFERENCES employees(id),
    quality         integer NOT NULL CHECK (quality BETWEEN 0 AND 100),
    quality_missing text NOT NULL DEFAULT '[]' CHECK (quality_missing::jsonb IS NOT NULL),
    invited_by      uuid REFERENCES customers(id),
    fee_paid        bigint NOT NULL DEFAULT 0 CHECK (fee_paid >= 0),
    left_at         timestamptz
);
-- Listing by status and tier, paged by customer id; the tier reviews that are due.
CREATE INDEX loyalty_members_status_tier ON loyalty_members(status, tier, customer_id);
CREATE INDEX loyalty_members_review ON loyalty_members(status, tier_review_at);
-- Who invited whom: a merge repoints the invitations of the customer it drops.
CREATE INDEX loyalty_members_invited_by ON loyalty_members(invited_by) WHERE invited_by IS NOT NULL;
-- A membership's history (numbered like the points ledger, by an identity column). Append-only
-- like the ledger: a merge moves the events to the kept customer and erasure replaces their
-- detail with {"erased":true}; nothing else changes a row, and no row is deleted.
CREATE TABLE loyalty_member_events (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers(id),
    kind        text NOT NULL CHECK (kind IN ('enrol', 'leave', 'rejoin', 'tier_up', 'tier_down')),
    at          timestamptz NOT NULL,
    branch_id   uuid REFERENCES branches(id),
    employee_id uuid REFERENCES employees(id),
    actor       text NOT NULL,
    detail      text NOT NULL DEFAULT '{}' CHECK (detail::jsonb IS NOT NULL)
);
CREATE INDEX loyalty_member_events_customer ON loyalty_member_events(customer_id, seq);
CREATE FUNCTION loyalty_member_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.seq = OLD.seq AND NEW.kind = OLD.kind AND NEW.at = OLD.at AND NEW.actor = OLD.actor
       AND NEW.branch_id IS NOT DISTINCT FROM OLD.branch_id
       AND NEW.employee_id IS NOT DISTINCT FROM OLD.employee_id THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'membership events are append-only';
END
$$;
CREATE TRIGGER loyalty_member_events_append_only BEFORE UPDATE OR DELETE ON loyalty_member_events
    FOR EACH ROW EXECUTE FUNCTION loyalty_member_events_append_only();
-- Which rule gave how many of an entry's points: a JSON array of {rule, points}, NULL when one
-- rule gave them all (and for the entries written before this step, which the check therefore
-- need not read: NOT VALID spares a scan of the ledger and still checks every new row). The
-- append-only guard covers the new column.
ALTER TABLE points_ledger ADD COLUMN breakdown text;
ALTER TABLE points_ledger ADD CONSTRAINT points_ledger_breakdown_json
    CHECK (breakdown IS NULL OR breakdown::jsonb IS NOT NULL) NOT VALID;
CREATE OR REPLACE FUNCTION points_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.seq = OLD.seq AND NEW.kind = OLD.kind AND NEW.points = OLD.points
       AND NEW.balance_after = OLD.balance_after AND NEW.at = OLD.at AND NEW.actor = OLD.actor
       AND NEW.origin IS NOT DISTINCT FROM OLD.origin
       AND NEW.idempotency_key IS NOT DISTINCT FROM OLD.idempotency_key
       AND NEW.transaction_id IS NOT DISTINCT FROM OLD.transaction_id
       AND NEW.branch_id IS NOT DISTINCT FROM OLD.branch_id
       AND NEW.breakdown IS NOT DISTINCT FROM OLD.breakdown THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'points ledger is append-only';
END
$$;
