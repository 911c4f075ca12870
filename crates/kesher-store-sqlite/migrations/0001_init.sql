-- kesher schema, version 1. Ids are 16-byte UUIDs; instants are microseconds since the Unix
-- epoch (UTC); money is integer minor units beside an ISO currency code.
CREATE TABLE branches (
    id          BLOB PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    region      TEXT,
    time_zone   TEXT NOT NULL
);
CREATE TABLE employees (
    id          BLOB PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    branch_id   BLOB REFERENCES branches(id)
);
CREATE TABLE products (
    id          BLOB PRIMARY KEY,
    sku         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    category    TEXT,
    list_price  INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    unit_cost   INTEGER
);
CREATE TABLE customers (
    id              BLOB PRIMARY KEY,
    member_no       TEXT UNIQUE,
    kind            TEXT NOT NULL,
    parent_id       BLOB REFERENCES customers(id),
    name            TEXT,
    name_norm       TEXT,
    phone           TEXT UNIQUE,
    email           TEXT UNIQUE,
    card            TEXT UNIQUE,
    language        TEXT,
    birth_date      TEXT,
    gender          TEXT,
    city            TEXT,
    region          TEXT,
    household_size  INTEGER,
    income_band     TEXT,
    attributes      TEXT NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL,
    source_branch   BLOB REFERENCES branches(id),
    source_employee BLOB REFERENCES employees(id)
);
CREATE INDEX customers_name_norm ON customers(name_norm);
CREATE INDEX customers_parent ON customers(parent_id);
-- Identifiers a customer is also known by (those of records merged into it).
CREATE TABLE customer_aliases (
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    customer_id BLOB NOT NULL REFERENCES customers(id),
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;
CREATE INDEX customer_aliases_customer ON customer_aliases(customer_id);
CREATE TABLE consents (
    customer_id BLOB NOT NULL REFERENCES customers(id),
    channel     TEXT NOT NULL,
    state       TEXT NOT NULL,
    at          INTEGER NOT NULL,
    source      TEXT NOT NULL,
    PRIMARY KEY (customer_id, channel)
) WITHOUT ROWID;
CREATE TABLE consent_history (
    seq         INTEGER PRIMARY KEY,
    customer_id BLOB NOT NULL,
    channel     TEXT NOT NULL,
    state       TEXT NOT NULL,
    at          INTEGER NOT NULL,
    source      TEXT NOT NULL
);
CREATE INDEX consent_history_customer ON consent_history(customer_id);
CREATE TABLE transactions (
    id          BLOB PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,
    customer_id BLOB REFERENCES customers(id),
    branch_id   BLOB NOT NULL REFERENCES branches(id),
    employee_id BLOB REFERENCES employees(id),
    occurred_at INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    total       INTEGER NOT NULL,
    refund_of   BLOB REFERENCES transactions(id)
);
CREATE INDEX transactions_customer ON transactions(customer_id, occurred_at);
CREATE TABLE transaction_lines (
    transaction_id BLOB NOT NULL REFERENCES transactions(id),
    line_no        INTEGER NOT NULL,
    product_id     BLOB REFERENCES products(id),
    quantity       INTEGER NOT NULL,
    unit_price     INTEGER NOT NULL,
    discount       INTEGER NOT NULL,
    PRIMARY KEY (transaction_id, line_no)
) WITHOUT ROWID;
CREATE TABLE interactions (
    id           BLOB PRIMARY KEY,
    external_id  TEXT UNIQUE,
    customer_id  BLOB NOT NULL REFERENCES customers(id),
    channel      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL,
    text         TEXT,
    employee_id  BLOB REFERENCES employees(id),
    satisfaction INTEGER,
    status       TEXT
);
CREATE INDEX interactions_customer ON interactions(customer_id, occurred_at);
CREATE TABLE merges (
    dropped_id BLOB PRIMARY KEY,
    kept_id    BLOB NOT NULL,
    at         INTEGER NOT NULL
);
-- Append-only: the store never updates or deletes a row here.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before    TEXT,
    after     TEXT
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
