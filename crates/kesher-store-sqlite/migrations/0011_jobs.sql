-- The job queue (kesher-app's runner, docs/jobs.md). Instants are microseconds since the epoch,
-- as everywhere in this schema; arguments and results are JSON text.
CREATE TABLE jobs (
    id           BLOB PRIMARY KEY,
    kind         TEXT NOT NULL,
    args         TEXT NOT NULL,
    run_at       INTEGER NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('scheduled', 'running', 'done', 'failed', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
    last_error   TEXT,
    lease_owner  TEXT,
    lease_until  INTEGER,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    result       TEXT,
    -- A schedule's occurrence (`schedule:<name>:<instant>`): enqueued once whoever enqueues it.
    dedupe_key   TEXT UNIQUE
);
-- The claim's two searches: due scheduled jobs by run_at, running ones by lease expiry.
CREATE INDEX jobs_scheduled ON jobs(run_at) WHERE state = 'scheduled';
CREATE INDEX jobs_running ON jobs(lease_until) WHERE state = 'running';
-- Listing, newest first, with or without a state.
CREATE INDEX jobs_created ON jobs(created_at, id);
CREATE INDEX jobs_state_created ON jobs(state, created_at, id);
