-- kesher schema on PostgreSQL, version 5: share of wallet beside each customer's scores. wallet
-- is the estimated annual spend found in the customer's attributes (`estimated_annual_spend`,
-- minor units); share_of_wallet the actual spend of the year up to the run's date divided by
-- it; both NULL when no estimate is known. (Versions 3 and 4 belong to other changes.)
ALTER TABLE customer_scores ADD COLUMN wallet bigint, ADD COLUMN share_of_wallet double precision;
