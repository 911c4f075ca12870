-- Each sale keeps its cost of goods (Σ quantity × the product's unit cost at the time of the
-- sale), NULL when a line has no product or no known cost. The analytics read margin from here
-- instead of joining every line with its product.
ALTER TABLE transactions ADD COLUMN cost INTEGER;
UPDATE transactions SET cost = (
    SELECT CASE WHEN min(p.unit_cost IS NOT NULL) = 1 THEN sum(l.quantity * p.unit_cost) END
    FROM transaction_lines l LEFT JOIN products p ON p.id = l.product_id
    WHERE l.transaction_id = transactions.id
);
