-- kesher schema on PostgreSQL, version 15: the points ledger gains the entry kind `expire`
-- (points of lots older than the program's lifetime, kesher_loyalty::expiry). The same step as
-- SQLite's 0015, which must rebuild its table; here the CHECK is replaced in place (its name is
-- the one PostgreSQL gave the inline check of version 8).
ALTER TABLE points_ledger DROP CONSTRAINT points_ledger_kind_check;
ALTER TABLE points_ledger ADD CONSTRAINT points_ledger_kind_check
    CHECK (kind IN ('earn', 'redeem', 'adjust', 'reverse', 'merge', 'expire'));
