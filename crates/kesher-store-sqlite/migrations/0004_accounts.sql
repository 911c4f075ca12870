-- Accounts (users, API tokens, sessions), privacy (erasures, settings), and where an audited
-- change came from. The audit log stays append-only; the one change it accepts is the
-- redaction of an entry's before/after when the customer it is about is erased.
ALTER TABLE audit_log ADD COLUMN origin TEXT;
CREATE INDEX audit_log_entity ON audit_log(entity_id);
DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (NEW.seq = OLD.seq AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.action = OLD.action
          AND NEW.entity = OLD.entity AND NEW.entity_id = OLD.entity_id AND NEW.origin IS OLD.origin
          AND (NEW.before IS OLD.before OR NEW.before = '{"erased":true}')
          AND (NEW.after IS OLD.after OR NEW.after = '{"erased":true}'))
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT,
    role          TEXT NOT NULL,
    branch_id     BLOB REFERENCES branches(id),
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);
CREATE TABLE api_tokens (
    id         BLOB PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    branch_id  BLOB REFERENCES branches(id),
    scopes     TEXT NOT NULL DEFAULT '',
    digest     TEXT NOT NULL UNIQUE,
    hint       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);
CREATE TABLE sessions (
    digest      TEXT PRIMARY KEY,
    user_id     BLOB NOT NULL REFERENCES users(id),
    csrf_digest TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE erasures (
    customer_id BLOB PRIMARY KEY REFERENCES customers(id),
    at          INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
