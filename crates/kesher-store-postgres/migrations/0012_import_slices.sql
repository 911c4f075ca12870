-- kesher schema on PostgreSQL, version 12: nothing to do. SQLite's step 12 records an import that
-- commits in slices, so that a till's sale need not wait for a whole file behind SQLite's single
-- writer lock; on PostgreSQL an import is one transaction that takes row locks only, and a
-- sale's transaction runs beside it. The step exists so that both backends share one history.
SELECT 1;
