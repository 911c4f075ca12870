-- kesher schema on SQLite, version 9: nothing to do. PostgreSQL's step 9 makes a sale's lines
-- carry the sale's customer, the key that distributes them across shards; a SQLite file is never
-- sharded and reads a line's customer from its sale. The step exists so that both backends share
-- one history (a file at version 10 or later skips it: it changes nothing).
SELECT 1;
