-- kesher schema on PostgreSQL, version 1: the same tables as the SQLite schema, in native types.
-- Ids are uuid; instants are timestamptz (microseconds, UTC); money is bigint minor units beside
-- an ISO currency code; free-form attributes are jsonb.
--
-- import_xact: the top-level transaction id (pg_current_xact_id) of the import unit of work that
-- wrote the row, NULL for rows written by the ordinary store methods. An import tells a key its
-- own unit wrote earlier (`Repeated`) from one present before it began (`AlreadyPresent`) by
-- comparing it with its own id. The row's xmin cannot serve: the importer wraps each row in a
-- SAVEPOINT, and rows written inside one carry the subtransaction's id.
CREATE TABLE branches (
    id          uuid PRIMARY KEY,
    external_id text NOT NULL UNIQUE,
    name        text NOT NULL,
    region      text,
    time_zone   text NOT NULL,
    import_xact bigint
);
CREATE TABLE employees (
    id          uuid PRIMARY KEY,
    external_id text NOT NULL UNIQUE,
    name        text NOT NULL,
    branch_id   uuid REFERENCES branches(id),
    import_xact bigint
);
CREATE TABLE products (
    id          uuid PRIMARY KEY,
    sku         text NOT NULL UNIQUE,
    name        text NOT NULL,
    category    text,
    list_price  bigint NOT NULL,
    currency    text NOT NULL,
    unit_cost   bigint,
    import_xact bigint
);
CREATE TABLE customers (
    id              uuid PRIMARY KEY,
    member_no       text UNIQUE,
    kind            text NOT NULL,
    parent_id       uuid REFERENCES customers(id),
    name            text,
    name_norm       text,
    phone           text UNIQUE,
    email           text UNIQUE,
    card            text UNIQUE,
    language        text,
    birth_date      date,
    gender          text,
    city            text,
    region          text,
    household_size  integer,
    income_band     text,
    attributes      jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL,
    source_branch   uuid REFERENCES branches(id),
    source_employee uuid REFERENCES employees(id),
    import_xact     bigint
);
CREATE INDEX customers_name_norm ON customers(name_norm);
CREATE INDEX customers_parent ON customers(parent_id);
-- Identifiers a customer is also known by (those of records merged into it).
CREATE TABLE customer_aliases (
    kind        text NOT NULL,
    value       text NOT NULL,
    customer_id uuid NOT NULL REFERENCES customers(id),
    PRIMARY KEY (kind, value)
);
CREATE INDEX customer_aliases_customer ON customer_aliases(customer_id);
CREATE TABLE consents (
    customer_id uuid NOT NULL REFERENCES customers(id),
    channel     text NOT NULL,
    state       text NOT NULL,
    at          timestamptz NOT NULL,
    source      text NOT NULL,
    PRIMARY KEY (customer_id, channel)
);
CREATE TABLE consent_history (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id uuid NOT NULL,
    channel     text NOT NULL,
    state       text NOT NULL,
    at          timestamptz NOT NULL,
    source      text NOT NULL
);
CREATE INDEX consent_history_customer ON consent_history(customer_id);
CREATE TABLE transactions (
    id          uuid PRIMARY KEY,
    external_id text NOT NULL UNIQUE,
    customer_id uuid REFERENCES customers(id),
    branch_id   uuid NOT NULL REFERENCES branches(id),
    employee_id uuid REFERENCES employees(id),
    occurred_at timestamptz NOT NULL,
    currency    text NOT NULL,
    total       bigint NOT NULL,
    refund_of   uuid REFERENCES transactions(id),
    import_xact bigint
);
CREATE INDEX transactions_customer ON transactions(customer_id, occurred_at);
CREATE TABLE transaction_lines (
    transaction_id uuid NOT NULL REFERENCES transactions(id),
    line_no        integer NOT NULL,
    product_id     uuid REFERENCES products(id),
    quantity       bigint NOT NULL,
    unit_price     bigint NOT NULL,
    discount       bigint NOT NULL,
    PRIMARY KEY (transaction_id, line_no)
);
CREATE TABLE interactions (
    id           uuid PRIMARY KEY,
    external_id  text UNIQUE,
    customer_id  uuid NOT NULL REFERENCES customers(id),
    channel      text NOT NULL,
    kind         text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    text         text,
    employee_id  uuid REFERENCES employees(id),
    satisfaction integer,
    status       text,
    import_xact  bigint
);
CREATE INDEX interactions_customer ON interactions(customer_id, occurred_at);
CREATE TABLE merges (
    dropped_id uuid PRIMARY KEY,
    kept_id    uuid NOT NULL,
    at         timestamptz NOT NULL
);
-- Append-only: the store never updates or deletes a row here, and the triggers refuse to.
CREATE TABLE audit_log (
    seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL,
    actor     text NOT NULL,
    action    text NOT NULL,
    entity    text NOT NULL,
    entity_id text NOT NULL,
    before    jsonb,
    after     jsonb
);
CREATE INDEX audit_log_action ON audit_log(action);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
