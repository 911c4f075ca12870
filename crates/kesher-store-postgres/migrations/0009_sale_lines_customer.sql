-- kesher schema on PostgreSQL, version 9: a sale's lines carry the sale's customer.
--
-- transaction_lines.customer_id repeats transactions.customer_id (NULL for an anonymous sale) so
-- that the lines can be distributed by customer beside their sale: hash-partitioned by customer
-- across shards (scripts/postgres-sharded.sh) or co-located in Citus, the lines must carry the
-- distribution key themselves, since a row is routed before any join could find it. The store
-- writes it with every line (a sale, an import's COPY, `kesher copy`) and moves it with the sale
-- when customers are merged. (Version 6 belongs to SQLite only.)
ALTER TABLE transaction_lines ADD COLUMN customer_id uuid;
UPDATE transaction_lines l SET customer_id = t.customer_id
FROM transactions t
WHERE t.id = l.transaction_id AND t.customer_id IS NOT NULL;
