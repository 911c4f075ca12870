-- kesher schema on PostgreSQL, version 6: nothing to do. SQLite's step 6 keys sales by an
-- integer `seq` (its storage layout: lines compare integers instead of 16-byte blobs); PostgreSQL
-- keys them by their UUID as before. The step exists so that both backends share one history.
SELECT 1;
