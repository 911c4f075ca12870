-- kesher schema on SQLite, version 16: the benefits a customer was granted
-- (kesher_loyalty::benefits::Grant) and the surprise draws that granted some of them.
-- (Version 14 belongs to another change.)
--
-- A surprise draw: the benefit, its seed, its parameters (JSON: the segment or the random size,
-- the budget, the no-repeat period), who drew it and when, and the members it drew (a JSON
-- array of customer ids, in the order drawn).
CREATE TABLE loyalty_surprise_draws (
    id          BLOB PRIMARY KEY,
    benefit     TEXT NOT NULL,
    seed        TEXT NOT NULL,
    parameters  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(parameters)),
    actor       TEXT NOT NULL,
    at          INTEGER NOT NULL,
    members     TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(members))
) WITHOUT ROWID;
-- A grant: available from granted_at until available_until, then used (who honoured it, where,
-- with which key) or expired. The idempotency key is unique per customer (a retried grant, a
-- redemption, a tier entry's grant, a draw's).
CREATE TABLE loyalty_benefit_grants (
    id              BLOB PRIMARY KEY,
    customer_id     BLOB NOT NULL REFERENCES customers(id),
    benefit         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('available', 'used', 'expired')),
    granted_at      INTEGER NOT NULL,
    available_until INTEGER NOT NULL,
    granted_by      TEXT NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('redeemed', 'tier', 'surprise', 'manual')),
    used_at         INTEGER,
    honoured_by     TEXT,
    honoured_branch BLOB REFERENCES branches(id),
    honour_key      TEXT,
    points_seq      INTEGER,
    draw_id         BLOB REFERENCES loyalty_surprise_draws(id),
    idempotency_key TEXT
) WITHOUT ROWID;
CREATE INDEX loyalty_benefit_grants_customer ON loyalty_benefit_grants(customer_id, granted_at);
CREATE UNIQUE INDEX loyalty_benefit_grants_key ON loyalty_benefit_grants(customer_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- The expiry job's look-up, and the no-repeat look-up of a surprise.
CREATE INDEX loyalty_benefit_grants_due ON loyalty_benefit_grants(available_until) WHERE state = 'available';
CREATE INDEX loyalty_benefit_grants_surprise ON loyalty_benefit_grants(benefit, granted_at)
    WHERE source = 'surprise';
