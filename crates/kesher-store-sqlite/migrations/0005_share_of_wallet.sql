-- Share of wallet beside each customer's scores: the estimated annual spend the analysis found
-- in the customer's attributes (`estimated_annual_spend`, minor units) and the actual spend of
-- the year up to the run's date divided by it; both NULL when no estimate is known.
-- (Version 4 is another change's; SQLite applies the versions in order.)
ALTER TABLE customer_scores ADD COLUMN wallet INTEGER;
ALTER TABLE customer_scores ADD COLUMN share_of_wallet REAL;
