-- kesher schema on SQLite, version 18: campaigns and their outbox. (Version 17 belongs to another
-- change.)
--
-- A campaign: its definition exactly as given (JSON text, read by kesher_campaign::Campaign::parse),
-- its state, and the seed of its draws (a u64 as decimal text: PostgreSQL has no unsigned 64-bit
-- integer, and both backends keep it alike).
CREATE TABLE campaigns (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL CHECK (json_valid(definition)),
    state       TEXT NOT NULL CHECK (state IN ('draft', 'launched', 'paused', 'done')),
    seed        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    launched_at INTEGER
) WITHOUT ROWID;
CREATE INDEX campaigns_created ON campaigns(created_at);
-- The outbox: one message per (campaign, customer), written before it is sent, the control group's
-- and the suppressed ones too (with the reason). message_id is stable per (campaign, customer), so
-- that a message sent twice (a crash between the server's acceptance and this row's record)
-- carries the same id. Queued: next_attempt_at is when it may go; sending: when its lease ends.
CREATE TABLE campaign_messages (
    campaign_id     BLOB NOT NULL REFERENCES campaigns(id),
    customer_id     BLOB NOT NULL REFERENCES customers(id),
    arm             TEXT NOT NULL,
    channel         TEXT CHECK (channel IN ('email', 'sms', 'log')),
    state           TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'suppressed')),
    suppression     TEXT,
    language        TEXT,
    subject         TEXT,
    body            TEXT,
    message_id      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    sent_at         INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX campaign_messages_customer ON campaign_messages(customer_id, sent_at);
CREATE INDEX campaign_messages_due ON campaign_messages(next_attempt_at) WHERE state IN ('queued', 'sending');
