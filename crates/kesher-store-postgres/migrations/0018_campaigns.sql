-- kesher schema on PostgreSQL, version 18: campaigns and their outbox. The same step as SQLite's
-- 0018 (that file says what each column is); JSON as text, byte for byte, as in 0013.
CREATE TABLE campaigns (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    definition  text NOT NULL CHECK (definition::jsonb IS NOT NULL),
    state       text NOT NULL CHECK (state IN ('draft', 'launched', 'paused', 'done')),
    seed        text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    launched_at timestamptz
);
CREATE INDEX campaigns_created ON campaigns(created_at);
CREATE TABLE campaign_messages (
    campaign_id     uuid NOT NULL REFERENCES campaigns(id),
    customer_id     uuid NOT NULL REFERENCES customers(id),
    arm             text NOT NULL,
    channel         text CHECK (channel IN ('email', 'sms', 'log')),
    state           text NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'suppressed')),
    suppression     text,
    language        text,
    subject         text,
    body            text,
    message_id      text NOT NULL,
    attempts        bigint NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    sent_at         timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, customer_id)
);
CREATE INDEX campaign_messages_customer ON campaign_messages(customer_id, sent_at);
CREATE INDEX campaign_messages_due ON campaign_messages(next_attempt_at) WHERE state IN ('queued', 'sending');
