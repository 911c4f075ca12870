-- kesher schema on PostgreSQL, version 17: saved segments over time. The same step as SQLite's
-- 0017 (that file says what each table holds).
CREATE TABLE segment_members (
    segment     text NOT NULL,
    customer_id uuid NOT NULL REFERENCES customers(id),
    since       timestamptz NOT NULL,
    PRIMARY KEY (segment, customer_id)
);
CREATE INDEX segment_members_customer ON segment_members(customer_id);
-- Append-only like the membership events of 0013; a row goes only once its customer row is gone
-- (a customer deleted as created by mistake), which the deferred reference allows until commit.
CREATE TABLE segment_events (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    segment     text NOT NULL,
    customer_id uuid NOT NULL REFERENCES customers(id) DEFERRABLE INITIALLY DEFERRED,
    kind        text NOT NULL CHECK (kind IN ('entered', 'left')),
    at          timestamptz NOT NULL,
    run_id      uuid NOT NULL
);
CREATE INDEX segment_events_segment ON segment_events(segment, seq);
CREATE INDEX segment_events_customer ON segment_events(customer_id, seq);
CREATE FUNCTION segment_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.seq = OLD.seq AND NEW.segment = OLD.segment AND NEW.kind = OLD.kind
       AND NEW.at = OLD.at AND NEW.run_id = OLD.run_id THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM customers WHERE id = OLD.customer_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'segment events are append-only';
END
$$;
CREATE TRIGGER segment_events_append_only BEFORE UPDATE OR DELETE ON segment_events
    FOR EACH ROW EXECUTE FUNCTION segment_events_append_only();
