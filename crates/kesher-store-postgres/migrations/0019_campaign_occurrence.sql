-- kesher schema on PostgreSQL, version 19: the outbox keyed by (campaign, customer, occurrence).
-- The same step as SQLite's 0019 (that file says why): existing rows take occurrence 0, which
-- keeps them unique (one row per (campaign, customer) already). PostgreSQL changes the key in
-- place.
ALTER TABLE campaign_messages ADD COLUMN occurrence bigint NOT NULL DEFAULT 0;
ALTER TABLE campaign_messages DROP CONSTRAINT campaign_messages_pkey;
ALTER TABLE campaign_messages ADD PRIMARY KEY (campaign_id, customer_id, occurrence);
