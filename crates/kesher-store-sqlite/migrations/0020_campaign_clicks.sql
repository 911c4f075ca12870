-- kesher schema on SQLite, version 20: clicks on campaign messages' links, through the server's
-- own tracked redirect (GET /c/{token}). One row per (message, link) — the message being
-- (campaign, customer, occurrence) —: the rows count unique clicks, `clicks` every one. The link
-- is its number in the stored message (kesher_campaign::links' order); the address is read back
-- from the message, never stored or carried by the token.
CREATE TABLE campaign_clicks (
    campaign_id BLOB NOT NULL REFERENCES campaigns(id),
    customer_id BLOB NOT NULL REFERENCES customers(id),
    occurrence  INTEGER NOT NULL,
    link        INTEGER NOT NULL CHECK (link >= 0),
    clicks      INTEGER NOT NULL CHECK (clicks >= 1),
    first_at    INTEGER NOT NULL,
    last_at     INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, customer_id, occurrence, link)
) WITHOUT ROWID;
CREATE INDEX campaign_clicks_customer ON campaign_clicks(customer_id);
