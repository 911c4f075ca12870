-- kesher schema on PostgreSQL, version 16: the benefits a customer was granted
-- (kesher_loyalty::benefits::Grant) and the surprise draws that granted some of them. The same
-- step as SQLite's 0016; JSON as text, as in 0013 (that file says why).
CREATE TABLE loyalty_surprise_draws (
    id          uuid PRIMARY KEY,
    benefit     text NOT NULL,
    seed        text NOT NULL,
    parameters  text NOT NULL DEFAULT '{}' CHECK (parameters::jsonb IS NOT NULL),
    actor       text NOT NULL,
    at          timestamptz NOT NULL,
    members     text NOT NULL DEFAULT '[]' CHECK (members::jsonb IS NOT NULL)
);
CREATE TABLE loyalty_benefit_grants (
    id              uuid PRIMARY KEY,
    customer_id     uuid NOT NULL REFERENCES customers(id),
    benefit         text NOT NULL,
    state           text NOT NULL CHECK (state IN ('available', 'used', 'expired')),
    granted_at      timestamptz NOT NULL,
    available_until timestamptz NOT NULL,
    granted_by      text NOT NULL,
    source          text NOT NULL CHECK (source IN ('redeemed', 'tier', 'surprise', 'manual')),
    used_at         timestamptz,
    honoured_by     text,
    honoured_branch uuid REFERENCES branches(id),
    honour_key      text,
    points_seq      bigint,
    draw_id         uuid REFERENCES loyalty_surprise_draws(id),
    idempotency_key text
);
CREATE INDEX loyalty_benefit_grants_customer ON loyalty_benefit_grants(customer_id, granted_at);
CREATE UNIQUE INDEX loyalty_benefit_grants_key ON loyalty_benefit_grants(customer_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX loyalty_benefit_grants_due ON loyalty_benefit_grants(available_until) WHERE state = 'available';
CREATE INDEX loyalty_benefit_grants_surprise ON loyalty_benefit_grants(benefit, granted_at)
    WHERE source = 'surprise';
