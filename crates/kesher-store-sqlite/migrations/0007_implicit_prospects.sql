-- Prospects are implicit (version 7): an analysis run stores a row only for the customers it
-- scored (buyers, and prospects with a wallet estimate); every other customer that existed when
-- the run was stored is a prospect of that run, in `customer_scores` as in the month's stages.
-- (Version 6 is another change's; SQLite applies the versions in order.)
--
-- customers.runs_before: how many analysis runs had been stored when the customer was inserted.
-- Run n's customers are those with runs_before < n. The index serves the count of a run's
-- prospects (it appends: the value only grows).
ALTER TABLE customers ADD COLUMN runs_before INTEGER NOT NULL DEFAULT 0;
CREATE INDEX customers_runs_before ON customers(runs_before);
-- One row per stored run (`replace_customer_scores`), numbered from 1; the latest one wrote
-- `customer_scores`, and its as_of and model describe its implicit prospects.
CREATE TABLE analysis_runs (
    run   INTEGER PRIMARY KEY,
    as_of INTEGER NOT NULL,
    model TEXT NOT NULL
);
-- Every month of the stage history. run: the run whose customers without a row in the month are
-- its prospects; NULL when every customer of the month has a row (a backfilled month, or a month
-- stored before version 7, whose prospect rows stay as they were).
CREATE TABLE stage_months (
    month TEXT PRIMARY KEY,
    run   INTEGER
) WITHOUT ROWID;
INSERT INTO stage_months (month, run) SELECT DISTINCT month, NULL FROM customer_stages;
-- The stage history keyed by month first: a run writes and replaces one month's rows as one
-- contiguous range (appended in key order, deleted as a range) instead of one row in every
-- customer's run of months; the (month, stage) index is no longer needed.
CREATE TABLE customer_stages_by_month (
    month       TEXT NOT NULL,
    customer_id BLOB NOT NULL,
    stage       TEXT NOT NULL,
    PRIMARY KEY (month, customer_id)
) WITHOUT ROWID;
INSERT INTO customer_stages_by_month (month, customer_id, stage)
    SELECT month, customer_id, stage FROM customer_stages ORDER BY month, customer_id;
DROP TABLE customer_stages;
ALTER TABLE customer_stages_by_month RENAME TO customer_stages;
-- customer_scores keeps the rows written before version 7 (prospects included) until the next
-- run replaces them: without an `analysis_runs` row no customer is an implicit prospect.
