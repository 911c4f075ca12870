-- kesher schema on SQLite, version 13: a loyalty program's members (kesher_loyalty::member), the
-- history of their memberships, and the breakdown of a points entry by the rules that gave it.
--
-- JSON is stored as text here as on PostgreSQL (the same step's file there says why), checked to
-- parse as JSON.
--
-- One row per customer who ever joined, kept when they leave (statistics: `left_at`).
CREATE TABLE loyalty_members (
    customer_id     BLOB PRIMARY KEY REFERENCES customers(id),
    status          TEXT NOT NULL CHECK (status IN ('active', 'left')),
    tier            TEXT,
    tier_since      INTEGER,
    tier_review_at  INTEGER,
    enrolled_at     INTEGER NOT NULL,
    branch_id       BLOB REFERENCES branches(id),
    employee_id     BLOB REFERENCES employees(id),
    quality         INTEGER NOT NULL CHECK (quality BETWEEN 0 AND 100),
    quality_missing TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(quality_missing)),
    invited_by      BLOB REFERENCES customers(id),
    fee_paid        INTEGER NOT NULL DEFAULT 0 CHECK (fee_paid >= 0),
    left_at         INTEGER
) WITHOUT ROWID;
-- Listing by status and tier, paged by customer id; the tier reviews that are due.
CREATE INDEX loyalty_members_status_tier ON loyalty_members(status, tier, customer_id);
CREATE INDEX loyalty_members_review ON loyalty_members(status, tier_review_at);
-- Who invited whom: a merge repoints the invitations of the customer it drops.
CREATE INDEX loyalty_members_invited_by ON loyalty_members(invited_by) WHERE invited_by IS NOT NULL;
-- A membership's history. Append-only like the points ledger: a merge moves the events to the
-- kept customer and erasure replaces their detail with {"erased":true}; nothing else changes a
-- row, and no row is deleted.
CREATE TABLE loyalty_member_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id BLOB NOT NULL REFERENCES customers(id),
    kind        TEXT NOT NULL CHECK (kind IN ('enrol', 'leave', 'rejoin', 'tier_up', 'tier_down')),
    at          INTEGER NOT NULL,
    branch_id   BLOB REFERENCES branches(id),
    employee_id BLOB REFERENCES employees(id),
    actor       TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);
CREATE INDEX loyalty_member_events_customer ON loyalty_member_events(customer_id, seq);
CREATE TRIGGER loyalty_member_events_no_delete BEFORE DELETE ON loyalty_member_events
    BEGIN SELECT RAISE(ABORT, 'membership events are append-only'); END;
CREATE TRIGGER loyalty_member_events_no_update BEFORE UPDATE OF seq, kind, at, branch_id, employee_id, actor
        ON loyalty_member_events
    BEGIN SELECT RAISE(ABORT, 'membership events are append-only'); END;
-- Which rule gave how many of an entry's points: a JSON array of {rule, points}, NULL when one
-- rule gave them all (and for the entries written before this step). The append-only guard
-- covers it: the trigger is made again with the new column in its list.
ALTER TABLE points_ledger ADD COLUMN breakdown TEXT CHECK (breakdown IS NULL OR json_valid(breakdown));
DROP TRIGGER points_ledger_no_update;
CREATE TRIGGER points_ledger_no_update BEFORE UPDATE OF seq, kind, points, balance_after, idempotency_key,
        transaction_id, branch_id, actor, origin, at, breakdown ON points_ledger
    BEGIN SELECT RAISE(ABORT, 'points ledger is append-only'); END;
