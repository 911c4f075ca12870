-- kesher schema on PostgreSQL, version 3 (the same step as SQLite's 0003): each sale keeps its cost of
-- goods, as SQLite's migration 0003 does. Σ quantity × the product's unit cost at the time of the
-- sale, NULL when a line has no product or no known cost (or the sum leaves bigint). The
-- analytics read the cost from the sale's own row: the per-customer summary then reads one table,
-- which is what lets a sharded set-up run it on each shard (docs/scaling.md).
ALTER TABLE transactions ADD COLUMN cost bigint;
UPDATE transactions t SET cost = (
    SELECT CASE WHEN bool_and(l.product_id IS NOT NULL AND p.unit_cost IS NOT NULL)
                     AND sum(l.quantity::numeric * p.unit_cost) BETWEEN -9223372036854775808 AND 9223372036854775807
                THEN sum(l.quantity::numeric * p.unit_cost)::bigint END
    FROM transaction_lines l LEFT JOIN products p ON p.id = l.product_id
    WHERE l.transaction_id = t.id
);
