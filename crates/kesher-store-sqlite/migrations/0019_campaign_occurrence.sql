-- kesher schema on SQLite, version 19: the outbox keyed by (campaign, customer, occurrence).
--
-- A recurring campaign (a birthday, a membership anniversary) greets a customer once a year: its
-- rows carry the anniversary's year as their occurrence, so that the same customer is written
-- again next year and never twice in one year, however often the daily run is repeated. Every
-- other campaign reaches a customer once: occurrence 0, which every existing row takes (one row
-- per (campaign, customer) already, so the new key stays unique).
--
-- SQLite cannot change a primary key in place: the table is rebuilt (foreign keys are off while a
-- migration runs and checked before it commits; nothing references this table yet).
CREATE TABLE campaign_messages_next (
    campaign_id     BLOB NOT NULL REFERENCES campaigns(id),
    customer_id     BLOB NOT NULL REFERENCES customers(id),
    occurrence      INTEGER NOT NULL DEFAULT 0,
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
    PRIMARY KEY (campaign_id, customer_id, occurrence)
) WITHOUT ROWID;
INSERT INTO campaign_messages_next (campaign_id, customer_id, occurrence, arm, channel, state, suppression,
    language, subject, body, message_id, attempts, next_attempt_at, sent_at, last_error, created_at)
SELECT campaign_id, customer_id, 0, arm, channel, state, suppression, language, subject, body, message_id,
    attempts, next_attempt_at, sent_at, last_error, created_at
FROM campaign_messages;
DROP TABLE campaign_messages;
ALTER TABLE campaign_messages_next RENAME TO campaign_messages;
CREATE INDEX campaign_messages_customer ON campaign_messages(customer_id, sent_at);
CREATE INDEX campaign_messages_due ON campaign_messages(next_attempt_at) WHERE state IN ('queued', 'sending');
