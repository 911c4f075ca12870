-- kesher schema on PostgreSQL, version 20: clicks on campaign messages' links. The same step as
-- SQLite's 0020 (that file says what each column is).
CREATE TABLE campaign_clicks (
    campaign_id uuid NOT NULL REFERENCES campaigns(id),
    customer_id uuid NOT NULL REFERENCES customers(id),
    occurrence  bigint NOT NULL,
    link        bigint NOT NULL CHECK (link >= 0),
    clicks      bigint NOT NULL CHECK (clicks >= 1),
    first_at    timestamptz NOT NULL,
    last_at     timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, customer_id, occurrence, link)
);
CREATE INDEX campaign_clicks_customer ON campaign_clicks(customer_id);
