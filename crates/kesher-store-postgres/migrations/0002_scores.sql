-- kesher schema on PostgreSQL, version 2: the results of `kesher analyze`.
--
-- customer_scores: one row per customer, replaced wholesale by every analysis run (binary COPY).
-- customer_stages: each customer's stage per month ("YYYY-MM" of the run's as_of in UTC), the
-- stage history; a re-run in the same month replaces that month's rows.
-- Neither table references customers: a run writes up to millions of rows at once and the
-- foreign-key checks would cost more than the copy. The store removes a customer's rows here when
-- it deletes the customer or merges it into another. Month and stage compare bytewise (COLLATE
-- "C"): the key is maintained for a million rows per run, and locale comparison costs twice as
-- much. No index on month alone: one more index to maintain per run would cost more than the
-- scans of the history that a run's DELETE and a transition report make.
CREATE TABLE customer_scores (
    customer_id        uuid PRIMARY KEY,
    as_of              timestamptz NOT NULL,
    model              text NOT NULL,
    stage              text NOT NULL,
    frequency          double precision NOT NULL,
    recency            double precision NOT NULL,
    t                  double precision NOT NULL,
    monetary           double precision NOT NULL,
    revenue            bigint NOT NULL,
    margin             bigint,
    p_alive            double precision,
    expected_purchases double precision,
    clv                double precision,
    rfm                text,
    segment            text,
    tier               text
);
CREATE TABLE customer_stages (
    customer_id uuid NOT NULL,
    month       text COLLATE "C" NOT NULL,
    stage       text COLLATE "C" NOT NULL,
    PRIMARY KEY (customer_id, month)
);
