-- kesher schema on PostgreSQL, version 10: the index of a customer's parent account holds only
-- the customers that have one.
--
-- Most customers have no parent; an index of every customer kept their NULLs too, and each
-- customer written paid for it. The queries that read it ask for one parent (`parent_id = $1`),
-- which implies a non-NULL parent: the partial index serves them as before.
DROP INDEX customers_parent;
CREATE INDEX customers_parent ON customers (parent_id) WHERE parent_id IS NOT NULL;
