-- kesher schema on PostgreSQL, version 7: prospects are implicit. An analysis run stores a row
-- only for the customers it scored (buyers, and prospects with a wallet estimate); every other
-- customer that existed when the run was stored is a prospect of that run, in customer_scores
-- as in the month's stages. (Version 6 belongs to another change.)
--
-- customers.runs_before: how many analysis runs had been stored when the customer was inserted
-- (the store's INSERT sets it); run n's customers are those with runs_before < n. The index
-- serves the count of a run's prospects.
ALTER TABLE customers ADD COLUMN runs_before bigint NOT NULL DEFAULT 0;
CREATE INDEX customers_runs_before ON customers (runs_before);
-- One row per stored run (replace_customer_scores), numbered from 1; the latest one wrote
-- customer_scores, and its as_of and model describe its implicit prospects.
CREATE TABLE analysis_runs (
    run   bigint PRIMARY KEY,
    as_of timestamptz NOT NULL,
    model text NOT NULL
);
-- Every month of the stage history. run: the run whose customers without a row in the month are
-- its prospects; NULL when every customer of the month has a row (a backfilled month, or a month
-- stored before version 7, whose prospect rows stay as they were).
CREATE TABLE stage_months (
    month text COLLATE "C" PRIMARY KEY,
    run   bigint
);
INSERT INTO stage_months (month, run) SELECT DISTINCT month, NULL::bigint FROM customer_stages;
-- The stage history keyed by month first: a run's rows are one range of the key, appended in
-- order and deleted as a range on a re-run.
ALTER TABLE customer_stages DROP CONSTRAINT customer_stages_pkey;
ALTER TABLE customer_stages ADD PRIMARY KEY (month, customer_id);
-- customer_scores keeps the rows written before version 7 (prospects included) until the next
-- run replaces them: without an analysis_runs row no customer is an implicit prospect.
