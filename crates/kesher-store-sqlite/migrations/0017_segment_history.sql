-- kesher schema on SQLite, version 17: saved segments over time. Who is in each saved segment now
-- (`segment_members`) and when each customer entered and left it (`segment_events`), written by
-- the segments' refresh (`App::refresh_segment_history`: a scheduled job and the end of each
-- `kesher analyze`) and by the deletion of a saved segment, which ends its members' time in it.
--
-- The current members: one row per (segment, customer), `since` the instant of the refresh that
-- found them entering (microseconds). A segment is named as saved (`segment.<name>` in settings).
CREATE TABLE segment_members (
    segment     TEXT NOT NULL,
    customer_id BLOB NOT NULL REFERENCES customers(id),
    since       INTEGER NOT NULL,
    PRIMARY KEY (segment, customer_id)
) WITHOUT ROWID;
-- A customer's memberships (export, merge, deletion).
CREATE INDEX segment_members_customer ON segment_members(customer_id);
-- The history: `entered` or `left`, when, and the refresh run that found it. Append-only like the
-- membership events of 0013: a merge moves a dropped customer's events to the kept customer, and
-- nothing else changes a row. A row goes only with its customer (a customer deleted as created
-- by mistake): the guard lets a row be deleted once its customer row is gone, which the reference
-- allows until the commit (DEFERRABLE INITIALLY DEFERRED), so that the deletion removes the
-- customer first and its history after.
CREATE TABLE segment_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    segment     TEXT NOT NULL,
    customer_id BLOB NOT NULL REFERENCES customers(id) DEFERRABLE INITIALLY DEFERRED,
    kind        TEXT NOT NULL CHECK (kind IN ('entered', 'left')),
    at          INTEGER NOT NULL,
    run_id      BLOB NOT NULL
);
-- A segment's history newest first (keyset on seq); a customer's history (export, merge).
CREATE INDEX segment_events_segment ON segment_events(segment, seq);
CREATE INDEX segment_events_customer ON segment_events(customer_id, seq);
CREATE TRIGGER segment_events_no_delete BEFORE DELETE ON segment_events
    WHEN EXISTS (SELECT 1 FROM customers WHERE id = OLD.customer_id)
    BEGIN SELECT RAISE(ABORT, 'segment events are append-only'); END;
CREATE TRIGGER segment_events_no_update BEFORE UPDATE OF seq, segment, kind, at, run_id ON segment_events
    BEGIN SELECT RAISE(ABORT, 'segment events are append-only'); END;
