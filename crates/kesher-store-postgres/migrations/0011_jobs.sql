-- The job queue (kesher-app's runner, docs/jobs.md). The same step as SQLite's 0011.
CREATE TABLE jobs (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL,
    args         jsonb NOT NULL,
    run_at       timestamptz NOT NULL,
    state        text NOT NULL CHECK (state IN ('scheduled', 'running', 'done', 'failed', 'cancelled')),
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL CHECK (max_attempts >= 1),
    last_error   text,
    lease_owner  text,
    lease_until  timestamptz,
    created_at   timestamptz NOT NULL,
    started_at   timestamptz,
    finished_at  timestamptz,
    result       jsonb,
    -- A schedule's occurrence (`schedule:<name>:<instant>`): enqueued once whoever enqueues it.
    dedupe_key   text UNIQUE
);
-- The claim's two searches: due scheduled jobs by run_at, running ones by lease expiry.
CREATE INDEX jobs_scheduled ON jobs(run_at) WHERE state = 'scheduled';
CREATE INDEX jobs_running ON jobs(lease_until) WHERE state = 'running';
-- Listing, newest first, with or without a state.
CREATE INDEX jobs_created ON jobs(created_at, id);
CREATE INDEX jobs_state_created ON jobs(state, created_at, id);
