-- Accounts (users, API tokens, sessions), privacy (erasures, settings), and where an audited
-- change came from. The audit log stays append-only; the one change it accepts is the
-- redaction of an entry's before/after when the customer it is about is erased.
ALTER TABLE audit_log ADD COLUMN origin text;
CREATE INDEX audit_log_entity ON audit_log(entity_id);
DROP TRIGGER audit_log_no_update ON audit_log;
CREATE FUNCTION audit_log_redact_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.seq = OLD.seq AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.action = OLD.action
       AND NEW.entity = OLD.entity AND NEW.entity_id = OLD.entity_id
       AND NEW.origin IS NOT DISTINCT FROM OLD.origin
       AND (NEW.before IS NOT DISTINCT FROM OLD.before OR NEW.before = '{"erased": true}'::jsonb)
       AND (NEW.after IS NOT DISTINCT FROM OLD.after OR NEW.after = '{"erased": true}'::jsonb) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_redact_only();

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    display_name  text,
    role          text NOT NULL,
    branch_id     uuid REFERENCES branches(id),
    password_hash text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL
);
CREATE TABLE api_tokens (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    role       text NOT NULL,
    branch_id  uuid REFERENCES branches(id),
    scopes     text NOT NULL DEFAULT '',
    digest     text NOT NULL UNIQUE,
    hint       text NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz
);
CREATE TABLE sessions (
    digest      text PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users(id),
    csrf_digest text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE erasures (
    customer_id uuid PRIMARY KEY REFERENCES customers(id),
    at          timestamptz NOT NULL
);
CREATE TABLE settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);
